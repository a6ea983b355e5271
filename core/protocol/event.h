#pragma once
// The Nostr event (NIP-01) as the engine holds it: binary id/pubkey/sig, 64-bit created_at.
// Value type; copied freely between threads.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace archivist::protocol {

using Bytes32 = std::array<uint8_t, 32>;
using Bytes64 = std::array<uint8_t, 64>;

struct Event {
    Bytes32 id{};
    Bytes32 pubkey{};
    Bytes64 sig{};
    int64_t created_at = 0;  // seconds; 0 … 2^63−1, never truncated
    uint16_t kind = 0;       // 0 … 65535
    std::vector<std::vector<std::string>> tags;
    std::string content;     // UTF-8

    bool operator==(const Event&) const = default;
};

// Why an event was refused. Names (rejectName) are stable: they appear in `import --json`,
// metrics labels and the console. Documented in docs/validation-policy.md.
enum class Reject : uint8_t {
    None = 0,
    NotJson,           // "not_json": the line/frame is not one JSON value
    NotObject,         // "not_object": valid JSON but not an object
    MissingField,      // "missing_field": one of the seven NIP-01 fields is absent
    DuplicateField,    // "duplicate_field": a NIP-01 field appears twice
    InvalidId,         // "invalid_id": not 64 lowercase hex characters
    InvalidPubkey,     // "invalid_pubkey": not 64 lowercase hex characters
    InvalidSig,        // "invalid_sig": not 128 lowercase hex characters
    InvalidCreatedAt,  // "invalid_created_at": not an integer in 0 … 2^63−1 (string, fraction, exponent)
    InvalidKind,       // "invalid_kind": not an integer in 0 … 65535
    InvalidTags,       // "invalid_tags": not an array of arrays of strings
    InvalidContent,    // "invalid_content": not a string
    InvalidUtf8,       // "invalid_utf8": a string is not valid UTF-8 (incl. lone surrogate escapes)
    TooLarge,          // "too_large": the event JSON exceeds the configured size limit
    IdMismatch,        // "id_mismatch": id is not the SHA-256 of the serialised event
    BadSignature,      // "bad_signature": BIP-340 verification failed
    Count
};

const char* rejectName(Reject r);
// Inverse of rejectName; Reject::Count when unknown.
Reject rejectFromName(std::string_view name);

// Flags stored with an accepted event.
enum EventFlag : uint32_t {
    kFlagFutureTimestamp = 1u << 0,  // created_at further ahead of the receive time than the policy allows
    kFlagNip01TextId = 1u << 1,      // id matched only the NIP-01 text escaping, not JSON.stringify's
    kFlagUnverified = 1u << 2,       // stored without signature verification (import --no-verify)
};

}  // namespace archivist::protocol
