#pragma once
// Negentropy range-based set reconciliation, protocol v1 (NIP-77 payloads), over a sorted
// in-memory set of (timestamp, id) items. Wire format: docs/backfill.md and
// hoytech/negentropy docs/negentropy-protocol-v1.md. Messages here are binary; NIP-77 carries
// them hex-encoded (protocol::toHex / fromHex) in NEG-OPEN / NEG-MSG.
//
// One instance plays one role for one reconciliation: the initiator (client) calls initiate()
// then reconcile() on each reply until it returns no further message; the responder (relay side,
// used by tests and by a future local relay) answers each message with respond().
// Errors (malformed or oversized message, wrong version, role misuse): code "negentropy".
// Thread: not thread-safe; one owner.
#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/protocol/event.h"
#include "core/util/expected.h"

namespace archivist::sync {

struct NegentropyItem {
    uint64_t timestamp = 0;  // < 2^64 − 1 (reserved for "infinity")
    protocol::Bytes32 id{};

    auto operator<=>(const NegentropyItem&) const = default;
};

using NegentropyFingerprint = std::array<uint8_t, 16>;

class Negentropy {
public:
    static constexpr uint8_t kProtocolVersion = 0x61;
    static constexpr uint64_t kMinFrameSizeLimit = 4096;

    // items: any order; sorted and de-duplicated here. frame_size_limit: 0 = unlimited, else
    // ≥ kMinFrameSizeLimit bytes per outgoing message. max_ids: bound on have + need ids one
    // reconciliation may report (the caller's memory budget).
    static Expected<Negentropy> create(std::vector<NegentropyItem> items, uint64_t frame_size_limit = 0,
                                       size_t max_ids = 1'000'000);

    // Initiator: the first message (NEG-OPEN payload).
    Expected<std::string> initiate();
    // Initiator: processes a reply, appends ids we have and they lack (have) and ids they have
    // and we lack (need). Returns the next message, or nullopt when reconciliation is complete.
    Expected<std::optional<std::string>> reconcile(std::string_view reply, std::vector<protocol::Bytes32>& have,
                                                   std::vector<protocol::Bytes32>& need);
    // Responder: the reply to one initiator message. A message with an unsupported version byte
    // (0x60…0x6f) is answered with the single byte of our version, as the spec asks.
    Expected<std::string> respond(std::string_view message);

    size_t size() const { return m_items.size(); }
    // Fingerprint of items [begin, end): SHA-256(Σ ids mod 2^256 as 32 LE bytes ‖ varint(count))[0..16).
    NegentropyFingerprint fingerprint(size_t begin, size_t end) const;

    // Encoding helpers, exposed for tests.
    static void appendVarint(std::string& out, uint64_t n);
    static bool readVarint(std::string_view& in, uint64_t& out);

private:
    enum class Role : uint8_t { None, Initiator, Responder };
    struct Bound {
        uint64_t timestamp = 0;
        protocol::Bytes32 prefix{};  // trailing bytes beyond prefix_len are zero
        uint8_t prefix_len = 0;
    };

    Negentropy() = default;
    Expected<std::string> process(std::string_view msg, std::vector<protocol::Bytes32>* have,
                                  std::vector<protocol::Bytes32>* need);
    void splitRange(std::string& out, size_t lower, size_t upper, const Bound& upper_bound);
    void encodeBound(std::string& out, const Bound& b);
    bool decodeBound(std::string_view& in, Bound& b);
    size_t lowerBound(size_t from, size_t to, const Bound& b) const;
    bool overLimit(size_t bytes) const;

    std::vector<NegentropyItem> m_items;
    uint64_t m_frame_size_limit = 0;
    size_t m_max_ids = 0;
    std::set<protocol::Bytes32> m_reported;  // have ∪ need so far; ≤ max_ids + one id list
    Role m_role = Role::None;
    uint64_t m_last_ts_in = 0;
    uint64_t m_last_ts_out = 0;
};

}  // namespace archivist::sync
