#include "core/protocol/schnorr_verifier.h"

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include <cstring>
#include <unordered_map>
#include <vector>

namespace archivist::protocol {

namespace {
struct KeyHash {
    size_t operator()(const Bytes32& k) const noexcept {
        uint64_t a;
        std::memcpy(&a, k.data() + 3, 8);  // x-only keys are uniformly distributed
        return size_t(a * 0x9e3779b97f4a7c15ull);
    }
};
}  // namespace

struct SchnorrVerifier::Impl {
    secp256k1_context* ctx = nullptr;
    size_t capacity;
    std::unordered_map<Bytes32, secp256k1_xonly_pubkey, KeyHash> cache;
    std::vector<Bytes32> ring;
    size_t next = 0;

    const secp256k1_xonly_pubkey* pubkey(const Bytes32& raw, secp256k1_xonly_pubkey& scratch) {
        if (capacity) {
            auto it = cache.find(raw);
            if (it != cache.end()) return &it->second;
        }
        if (!secp256k1_xonly_pubkey_parse(ctx, &scratch, raw.data())) return nullptr;
        if (capacity) {
            if (ring.size() < capacity) {
                ring.push_back(raw);
            } else {
                cache.erase(ring[next]);
                ring[next] = raw;
                next = (next + 1) % capacity;
            }
            cache.emplace(raw, scratch);
        }
        return &scratch;
    }
};

SchnorrVerifier::SchnorrVerifier(size_t pubkey_cache_capacity) : m(std::make_unique<Impl>()) {
    m->ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    m->capacity = pubkey_cache_capacity;
    m->cache.reserve(pubkey_cache_capacity);
}

SchnorrVerifier::~SchnorrVerifier() { secp256k1_context_destroy(m->ctx); }

bool SchnorrVerifier::verify(const Bytes32& msg32, const Bytes32& xonly_pubkey, const Bytes64& sig) {
    return verifyMessage(msg32.data(), msg32.size(), xonly_pubkey, sig);
}

bool SchnorrVerifier::verifyMessage(const uint8_t* msg, size_t msg_len, const Bytes32& xonly_pubkey,
                                    const Bytes64& sig) {
    secp256k1_xonly_pubkey scratch;
    const secp256k1_xonly_pubkey* pk = m->pubkey(xonly_pubkey, scratch);
    if (!pk) return false;
    return secp256k1_schnorrsig_verify(m->ctx, sig.data(), msg, msg_len, pk) == 1;
}

size_t SchnorrVerifier::cacheSize() const { return m->cache.size(); }
size_t SchnorrVerifier::cacheCapacity() const { return m->capacity; }

}  // namespace archivist::protocol
