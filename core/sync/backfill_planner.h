#pragma once
// Backfill planner: which REQ (or NIP-77 window) to send next so that a catch-up from one relay,
// newest to oldest, covers every event in [floor, start_until] exactly, never loops and never
// silently skips. Pure logic, no sockets: the connection code drives it (docs/backfill.md).
//
// Driving contract (one query in flight at a time):
//   while (!p.done()) { q = p.next(); send q; for each EVENT: p.onEvent(...);
//                       then exactly one of p.onEose() / p.onClosed(reason); }
// For a Negentropy query the caller runs NIP-77 for q.filter, fetches the missing ids, reports
// every event received through onEvent and then calls onEose (or onClosed on NEG-ERR/timeout).
//
// Checkpoints: checkpoint() describes the state after the last *completed* query. The caller
// must persist it only after every event received up to that point is durably committed, and
// must persist the gaps returned by takeGaps() in the same transaction (take them first).
//
// Thread: not thread-safe; owned and used by one thread (the relay connection's).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/protocol/event.h"
#include "core/protocol/filter.h"
#include "core/util/expected.h"

namespace archivist::sync {

struct BackfillConfig {
    int64_t floor = 0;                   // oldest created_at to reach (inclusive)
    uint32_t limit = 500;                // per query; the caller passes min(own, relay NIP-11 max_limit)
    size_t max_kinds_per_filter = 500;   // explicit kinds list size when splitting an overfull second
    uint64_t max_queries = 1'000'000;    // hard stop: then a "query_budget" gap and done()
    uint32_t max_retries = 5;            // rate-limited/auth-required retries of one query
    bool negentropy = false;             // relay advertises NIP-77: used for (second, kind) windows
};

struct BackfillGap {
    int64_t since = 0;
    int64_t until = 0;
    std::vector<uint16_t> kinds;  // empty = every kind the base filter allows
    std::string reason;           // "overfull_second", "query_budget", "closed:<relay message>", ...

    bool operator==(const BackfillGap&) const = default;
};

struct BackfillQuery {
    enum class Type : uint8_t { Req, Negentropy };
    Type type = Type::Req;
    protocol::Filter filter;  // base ∩ window; Req: limit set; Negentropy: no limit
    uint64_t seq = 0;         // 1-based number of this query (retries get a new number)
};

struct BackfillProgress {
    int64_t cursor = 0;      // every second in (cursor, start_until] is covered
    double fraction = 0.0;   // 0 … 1 of [floor, start_until]
    uint64_t queries = 0;
    uint64_t events = 0;     // onEvent calls (duplicates across queries included)
    uint64_t gaps = 0;
    uint32_t cap = 0;        // current saturation threshold (see docs/backfill.md, "silent caps")
};

class BackfillPlanner {
public:
    using Query = BackfillQuery;
    using Progress = BackfillProgress;

    // base: the subscription's own filter (kinds, authors, tags); its since/until/limit are ignored.
    BackfillPlanner(BackfillConfig config, protocol::Filter base, int64_t start_until);
    // Continues from a checkpoint() string. Errors: code "checkpoint" when it does not parse.
    static Expected<BackfillPlanner> resume(BackfillConfig config, protocol::Filter base,
                                            std::string_view checkpoint);

    // The query to send now; nullopt while one is in flight or when done().
    std::optional<Query> next();
    void onEvent(const protocol::Bytes32& id, int64_t created_at, uint16_t kind);
    void onEose();
    // Relay refused or ended the query: "rate-limited:"/"auth-required:" → the same query again
    // from next() (the caller delays or authenticates first; bounded by max_retries); anything
    // else → a gap for what is left and done() (a failed Negentropy window only gaps that window).
    void onClosed(std::string_view reason);
    // The relay refused the query in flight because its kinds list is too long (relays cap the
    // list length without advertising it; the refusal typically arrives as a NOTICE). If that
    // query is a split chunk longer than max_kinds, it is cut into pieces of ≤ max_kinds that are
    // asked instead (nothing is skipped), later chunks use the new size, and true is returned.
    bool onKindsListTooLong(size_t max_kinds);

    bool done() const { return m_phase == Phase::Done; }
    bool inFlight() const { return m_in_flight; }
    std::string checkpoint() const;
    Progress progress() const;
    std::vector<BackfillGap> takeGaps();

private:
    enum class Phase : uint8_t { Walk, Split, Done };

    BackfillPlanner() = default;
    Query buildQuery() const;
    void completeWalk();
    void completeSplit();
    void startSplit(int64_t second);
    void finishSecond(int64_t second);
    bool prepareSplitChunk();
    void addGap(int64_t since, int64_t until, std::vector<uint16_t> kinds, std::string reason);
    void stopWithGap(std::string reason);
    void resetAnswer();
    std::vector<uint16_t> baseKinds() const;

    BackfillConfig m_config;
    protocol::Filter m_base;
    int64_t m_start_until = 0;
    Phase m_phase = Phase::Walk;
    uint32_t m_cap = 0;            // saturation threshold: min(limit, learned silent cap)

    // Walk: the next window is [floor, m_until]; m_known holds 64-bit id prefixes already
    // received at second m_until (≤ cap entries), m_last_short the size of a short answer whose
    // confirmation is pending (0 = none).
    int64_t m_until = 0;
    std::vector<uint64_t> m_known;
    uint32_t m_last_short = 0;
    uint32_t m_max_answer = 0;     // largest walk answer so far: a silent cap is never below it

    // Split of the overfull second m_split_t: chunks to query (LIFO), kinds seen in the saturated
    // answers (queried alone first, skipped in the universe), the next universe position, and a
    // single kind waiting for a Negentropy window.
    int64_t m_split_t = 0;
    std::vector<std::vector<uint16_t>> m_stack;
    std::vector<uint16_t> m_seen_kinds;
    uint32_t m_universe_pos = 0;
    std::optional<uint16_t> m_neg_kind;

    // The answer in flight.
    bool m_in_flight = false;
    uint32_t m_retries = 0;
    uint32_t m_answer_count = 0;
    uint32_t m_answer_new = 0;
    std::optional<int64_t> m_answer_oldest;
    std::vector<uint64_t> m_answer_ids_at_oldest;   // bounded by cap + 1
    std::vector<uint16_t> m_answer_kinds;           // distinct, bounded by cap

    uint64_t m_queries = 0;
    uint64_t m_events = 0;
    uint64_t m_gap_count = 0;
    std::vector<BackfillGap> m_gaps;  // until takeGaps(); bounded by the split stack + 2
};

}  // namespace archivist::sync
