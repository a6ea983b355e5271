#pragma once
// Signs events with a BIP-340 key (libsecp256k1): used for NIP-42 AUTH with an ephemeral key
// (one per engine run unless a key is configured).
// Thread: one instance per thread (owns a secp256k1 context; not thread-safe).
#include <memory>
#include <optional>

#include "core/protocol/event.h"
#include "core/util/expected.h"

namespace archivist::protocol {

enum class SignerErrorCode : uint8_t {
    Key,   // "key": not a valid secp256k1 secret key
    Sign,  // "sign": libsecp256k1 or the randomness source failed
};
const char* errorCodeName(SignerErrorCode code);
using SignerError = CodedError<SignerErrorCode>;

class EventSigner {
public:
    // A fresh random key (OS randomness).
    static Expected<std::unique_ptr<EventSigner>, SignerError> generate();
    // A configured 32-byte secret key; Key when it is not a valid secp256k1 secret key.
    static Expected<std::unique_ptr<EventSigner>, SignerError> fromSecret(const Bytes32& secret);
    ~EventSigner();
    EventSigner(const EventSigner&) = delete;
    EventSigner& operator=(const EventSigner&) = delete;

    const Bytes32& pubkey() const { return m_pubkey; }
    // Sets e.pubkey, e.id (JSON.stringify form) and e.sig. Sign if libsecp256k1 fails.
    Expected<void, SignerError> sign(Event& e);

private:
    EventSigner();
    struct Impl;
    std::unique_ptr<Impl> m;
    Bytes32 m_pubkey{};
};

// NIP-42: the kind-22242 event answering `challenge` for `relay_url`, created now.
Event makeAuthEvent(std::string_view relay_url, std::string_view challenge, int64_t created_at);

}  // namespace archivist::protocol
