#include "core/protocol/sha256.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

namespace archivist::protocol {

namespace {

// OpenSSL 3's one-shot SHA256() fetches the algorithm on every call; fetching once and reusing a
// per-thread context keeps hashing a small fraction of the Schnorr verification it precedes.
const EVP_MD* sha256Md() {
    static const EVP_MD* md = [] {
        const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
        return fetched ? fetched : EVP_sha256();
    }();
    return md;
}

struct ThreadContext {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~ThreadContext() { EVP_MD_CTX_free(ctx); }
};

}  // namespace

Bytes32 sha256(std::string_view data) {
    Bytes32 out{};
    thread_local ThreadContext tc;
    unsigned int len = 0;
    if (tc.ctx && EVP_DigestInit_ex2(tc.ctx, sha256Md(), nullptr) == 1 &&
        EVP_DigestUpdate(tc.ctx, data.data(), data.size()) == 1 &&
        EVP_DigestFinal_ex(tc.ctx, out.data(), &len) == 1 && len == out.size())
        return out;
    // Only reachable if libcrypto cannot allocate a context; the one-shot call has no such state.
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
    return out;
}

}  // namespace archivist::protocol
