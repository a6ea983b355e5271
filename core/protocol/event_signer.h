#pragma once
// Signs events with a BIP-340 key (libsecp256k1): used for NIP-42 AUTH with an ephemeral key
// (one per engine run unless a key is configured).
// Thread: one instance per thread (owns a secp256k1 context; not thread-safe).
#include <memory>
#include <optional>

#include "core/protocol/event.h"
#include "core/util/expected.h"

namespace archivist::protocol {

class EventSigner {
public:
    // A fresh random key (OS randomness).
    static Expected<std::unique_ptr<EventSigner>> generate();
    // A configured 32-byte secret key; error "key" when it is not a valid secp256k1 secret key.
    static Expected<std::unique_ptr<EventSigner>> fromSecret(const Bytes32& secret);
    ~EventSigner();
    EventSigner(const EventSigner&) = delete;
    EventSigner& operator=(const EventSigner&) = delete;

    const Bytes32& pubkey() const { return m_pubkey; }
    // Sets e.pubkey, e.id (JSON.stringify form) and e.sig. Error "sign" if libsecp256k1 fails.
    Expected<void> sign(Event& e);

private:
    EventSigner();
    struct Impl;
    std::unique_ptr<Impl> m;
    Bytes32 m_pubkey{};
};

// NIP-42: the kind-22242 event answering `challenge` for `relay_url`, created now.
Event makeAuthEvent(std::string_view relay_url, std::string_view challenge, int64_t created_at);

// The fields of an event object a relay connection needs for pagination and cursors, read by a
// structural scan of the top-level keys without building a DOM (the verify stage parses fully).
// nullopt when the text is not an object or a key is missing/mistyped.
struct EventKeys {
    Bytes32 id{};
    int64_t created_at = 0;
    uint16_t kind = 0;
};
std::optional<EventKeys> peekEventKeys(std::string_view json);

}  // namespace archivist::protocol
