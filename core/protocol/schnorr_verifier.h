#pragma once
// BIP-340 verification with libsecp256k1.
// Thread: one instance per thread (owns a secp256k1 context and a pubkey cache; not thread-safe).
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/protocol/event.h"

namespace archivist::protocol {

class SchnorrVerifier {
public:
    // pubkey_cache_capacity bounds the cache of parsed x-only pubkeys (authors repeat; parsing
    // costs ~10% of a verification). FIFO eviction.
    explicit SchnorrVerifier(size_t pubkey_cache_capacity = 16384);
    ~SchnorrVerifier();
    SchnorrVerifier(const SchnorrVerifier&) = delete;
    SchnorrVerifier& operator=(const SchnorrVerifier&) = delete;

    bool verify(const Bytes32& msg32, const Bytes32& xonly_pubkey, const Bytes64& sig);
    // BIP-340 with a message of any length (the official test vectors include such messages).
    bool verifyMessage(const uint8_t* msg, size_t msg_len, const Bytes32& xonly_pubkey, const Bytes64& sig);
    size_t cacheSize() const;
    size_t cacheCapacity() const;

private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

}  // namespace archivist::protocol
