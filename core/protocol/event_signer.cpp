#include "core/protocol/event_signer.h"

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <openssl/rand.h>

#include "core/protocol/event_codec.h"
#include "core/protocol/hex.h"
#include "core/protocol/json.h"

namespace archivist::protocol {

const char* errorCodeName(SignerErrorCode code) { return code == SignerErrorCode::Key ? "key" : "sign"; }

struct EventSigner::Impl {
    secp256k1_context* ctx = nullptr;
    secp256k1_keypair keypair{};
    ~Impl() {
        if (ctx) secp256k1_context_destroy(ctx);
    }
};

EventSigner::EventSigner() : m(std::make_unique<Impl>()) {}
EventSigner::~EventSigner() = default;

Expected<std::unique_ptr<EventSigner>, SignerError> EventSigner::fromSecret(const Bytes32& secret) {
    std::unique_ptr<EventSigner> s(new EventSigner());
    s->m->ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (!s->m->ctx) return makeCodedError(SignerErrorCode::Sign, "cannot create a secp256k1 context");
    Bytes32 seed{};
    if (RAND_bytes(seed.data(), int(seed.size())) == 1) {
        // Side-channel hardening of signing; failure to randomise is not fatal.
        if (!secp256k1_context_randomize(s->m->ctx, seed.data())) return makeCodedError(SignerErrorCode::Sign, "context randomisation failed");
    }
    if (!secp256k1_keypair_create(s->m->ctx, &s->m->keypair, secret.data()))
        return makeCodedError(SignerErrorCode::Key, "not a valid secp256k1 secret key");
    secp256k1_xonly_pubkey xonly;
    if (!secp256k1_keypair_xonly_pub(s->m->ctx, &xonly, nullptr, &s->m->keypair))
        return makeCodedError(SignerErrorCode::Key, "cannot derive the public key");
    secp256k1_xonly_pubkey_serialize(s->m->ctx, s->m_pubkey.data(), &xonly);
    return s;
}

Expected<std::unique_ptr<EventSigner>, SignerError> EventSigner::generate() {
    for (int attempt = 0; attempt < 8; ++attempt) {
        Bytes32 secret{};
        if (RAND_bytes(secret.data(), int(secret.size())) != 1) return makeCodedError(SignerErrorCode::Sign, "no randomness for a key");
        auto s = fromSecret(secret);
        if (s || s.error().code != SignerErrorCode::Key) return s;  // an invalid scalar is astronomically rare: draw again
    }
    return makeCodedError(SignerErrorCode::Sign, "could not draw a valid key");
}

Expected<void, SignerError> EventSigner::sign(Event& e) {
    e.pubkey = m_pubkey;
    e.id = computeId(e);
    Bytes32 aux{};
    if (RAND_bytes(aux.data(), int(aux.size())) != 1) return makeCodedError(SignerErrorCode::Sign, "no randomness for the signature");
    if (!secp256k1_schnorrsig_sign32(m->ctx, e.sig.data(), e.id.data(), &m->keypair, aux.data()))
        return makeCodedError(SignerErrorCode::Sign, "BIP-340 signing failed");
    return {};
}

Event makeAuthEvent(std::string_view relay_url, std::string_view challenge, int64_t created_at) {
    Event e;
    e.kind = 22242;
    e.created_at = created_at;
    e.tags = {{"relay", std::string(relay_url)}, {"challenge", std::string(challenge)}};
    return e;
}

}  // namespace archivist::protocol
