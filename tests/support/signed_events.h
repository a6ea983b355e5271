#pragma once
// Test helper: deterministic signed Nostr events made with libsecp256k1 (header-only, tests only).
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "core/protocol/event.h"
#include "core/protocol/event_codec.h"
#include "core/protocol/sha256.h"

namespace archivist::testing {

class EventSigner {
public:
    explicit EventSigner(int key_index = 0) {
        m_ctx = secp256k1_context_create(SECP256K1_CONTEXT_SIGN | SECP256K1_CONTEXT_VERIFY);
        const protocol::Bytes32 sk = protocol::sha256("archivist-test-key-" + std::to_string(key_index));
        if (!secp256k1_keypair_create(m_ctx, &m_keypair, sk.data())) std::abort();
        secp256k1_xonly_pubkey xo;
        if (!secp256k1_keypair_xonly_pub(m_ctx, &xo, nullptr, &m_keypair)) std::abort();
        secp256k1_xonly_pubkey_serialize(m_ctx, m_pubkey.data(), &xo);
    }
    ~EventSigner() { secp256k1_context_destroy(m_ctx); }
    EventSigner(const EventSigner&) = delete;
    EventSigner& operator=(const EventSigner&) = delete;

    protocol::Event make(int64_t created_at, uint16_t kind, std::string content,
                         std::vector<std::vector<std::string>> tags = {}) const {
        protocol::Event e;
        e.pubkey = m_pubkey;
        e.created_at = created_at;
        e.kind = kind;
        e.content = std::move(content);
        e.tags = std::move(tags);
        e.id = protocol::computeId(e);
        unsigned char aux[32] = {};
        if (!secp256k1_schnorrsig_sign32(m_ctx, e.sig.data(), e.id.data(), &m_keypair, aux)) std::abort();
        return e;
    }

    // The same event signed again with other auxiliary randomness: same id, other signature bytes,
    // both valid (BIP-340 signatures are randomised).
    protocol::Event resign(protocol::Event e, uint8_t aux_byte) const {
        unsigned char aux[32] = {};
        aux[0] = aux_byte;
        if (!secp256k1_schnorrsig_sign32(m_ctx, e.sig.data(), e.id.data(), &m_keypair, aux)) std::abort();
        return e;
    }

    std::string json(const protocol::Event& e) const {
        std::string out;
        protocol::appendEventJson(out, e);
        return out;
    }

    const protocol::Bytes32& pubkey() const { return m_pubkey; }

private:
    secp256k1_context* m_ctx = nullptr;
    secp256k1_keypair m_keypair{};
    protocol::Bytes32 m_pubkey{};
};

}  // namespace archivist::testing
