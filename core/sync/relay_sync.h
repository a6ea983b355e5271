#pragma once
// RelaySync: the query side of one relay (net::SessionDriver) — its subscriptions, what the
// relay may send on them, and what is asked next:
//   live       REQ "live" {filter, since: session start − live_margin_s}, kept open
//   catch-up   a BackfillPlanner window from the persisted live cursor (minus the margin) to the
//              session start, before anything else
//   backfill   a BackfillPlanner from the first session's start back to the floor, one query in
//              flight, when BackfillSlots grants a slot (most-behind relay first)
//   NIP-77     a planner's Negentropy window: NEG-OPEN with an empty local set, then the missing
//              ids fetched by REQ in chunks ≤ the query limit
// and reports what settled through sync::SyncReports (cursor, checkpoint, gaps).
//
// Guarantees
// - Subscription discipline: admit() accepts an EVENT only on a subscription it opened and
//   within that subscription's filters (SubscriptionTable); the connection drops the rest and
//   counts them against the relay.
// - The rule (docs/relay-network.md): a cursor or checkpoint is taken with the link's
//   receivedMark() and reported only once settledCount() reaches it — after the events before it
//   are durable. A crash means re-fetching, never losing.
// - Bounded: one query in flight; ≤ kMaxCheckpoints pending checkpoints per kind (the newest
//   replaces the last when full: delayed, never wrong); the negentropy id list ≤ kMaxNegentropyIds;
//   unreported progress is one coalesced SyncProgress (retried every settle tick).
// - A failed query never stalls the walk: CLOSED, NOTICE refusals, NEG-ERR and the query timeout
//   end it with a gap (or a retry for rate-limited:/auth-required:, bounded by the planner).
//
// For what comes next (NIP-77 reconciliation over time windows as the main catch-up, several
// sessions at once): queries are identified by subscription id through SubscriptionTable and
// every message reaches the driver by id, so more concurrent sessions are more entries, not a
// new shape; the per-relay negentropy support belongs with the report interface (owner-side).
//
// Thread: the relay's network thread (SessionDriver's contract). describe() too.
#include <QObject>
#include <QTimer>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/net/session_driver.h"
#include "core/protocol/filter.h"
#include "core/sync/subscription_table.h"
#include "core/sync/sync_reports.h"

namespace archivist::sync {

class BackfillPlanner;
class BackfillSlots;
class Negentropy;

struct SyncOptions {
    int64_t query_timeout_ms = 60000;       // a query without EOSE (or any event) this long
    int64_t live_margin_s = 300;            // live since / catch-up start: cursor minus this
    uint32_t backfill_limit = 500;          // per REQ; capped by the relay's max_limit
    int64_t backfill_floor = 0;             // oldest created_at to backfill (0 = everything)
    bool backfill = true;
    uint32_t max_subscriptions = 10;        // our own cap per relay; the relay's NIP-11 may lower it
    int64_t settle_check_ms = 250;          // how often settled cursors/checkpoints are reported
    protocol::Filter filter;                // what to archive (default: empty = everything); since/until/limit are ours
};

class RelaySync final : public QObject, public net::SessionDriver {
public:
    static constexpr size_t kMaxCheckpoints = 16;
    static constexpr size_t kMaxNegentropyIds = 100000;
    static constexpr size_t kFallbackKindsPerFilter = 20;

    RelaySync(std::string url, SyncOptions options, SyncResume resume, SyncReports& reports, BackfillSlots& backfill_slots);
    ~RelaySync() override;

    // net::SessionDriver
    void opened(net::RelayLink& link, const net::SessionInfo& session) override;
    void closing() override;
    void closed() override;
    observe::EventRefusal admit(std::string_view subscription, std::string_view event_json) override;
    bool solicited(std::string_view subscription) const override;
    void eose(const std::string& subscription) override;
    void refused(const std::string& subscription, const std::string& prefix, const std::string& message) override;
    void notice(const std::string& message) override;
    void negentropy(const protocol::RelayMessage& message) override;
    void authenticated() override;
    void backfillNow() override;
    void flush() override;
    void describe(net::SyncStatus& out) const override;

private:
    bool sessionOpen() const { return m_link != nullptr; }
    bool send(const std::string& text);
    void openLive();
    void closeSubscription(const std::string& id);
    void pump();  // catch-up first, then historical backfill (slot permitting)
    void sendQuery();
    void onQueryTimeout();
    bool startNegentropy(const protocol::Filter& window);
    void sendNegentropyFetch();
    void finishQuery(bool completed, const std::string& reason);
    void finishCatchUp();
    void finishBackfill();
    BackfillPlanner* queryPlanner() const;
    void takeGaps();
    void releaseSlot();
    uint32_t queryLimit() const;

    // Cursors and checkpoints: queued with the link's receivedMark(), reported when settled.
    void pushCheckpoint(bool live, int64_t cursor, std::string backfill, bool backfill_done);
    void settle();
    void report();  // offers m_unreported to the owner

    const std::string m_url;
    const SyncOptions m_opts;
    SyncReports& m_reports;
    BackfillSlots& m_slots;

    // Session (null link: no socket open).
    net::RelayLink* m_link = nullptr;
    net::SessionInfo m_session;
    uint64_t m_generation = 0;  // bumps per session: stale timers check it
    SubscriptionTable m_subs;
    bool m_closing = false;     // the connection is closing the socket: nothing new is asked
    bool m_liveOpen = false;
    bool m_liveEose = false;
    int64_t m_rateLimitDelay_ms = 0;

    // Catch-up and backfill.
    std::unique_ptr<BackfillPlanner> m_catchUp;
    std::unique_ptr<BackfillPlanner> m_backfill;
    std::string m_backfillCheckpoint;  // latest (in memory), reported via the checkpoint queue
    bool m_backfillDone = false;
    bool m_haveSlot = false;
    int64_t m_backfillStart_s = 0;
    size_t m_kindsPerFilter = 500;     // lowered to kFallbackKindsPerFilter when a relay refuses long lists

    // The query in flight.
    bool m_queryInFlight = false;
    bool m_queryIsCatchUp = false;
    std::string m_querySub;
    uint64_t m_querySeq = 0;
    uint64_t m_queryEvents = 0;
    size_t m_queryKinds = 0;
    // NIP-77 window in flight: reconcile (our side empty: the window is one second of one kind),
    // then fetch the ids the relay has in chunks of ≤ the query limit.
    std::unique_ptr<Negentropy> m_neg;
    std::vector<protocol::Bytes32> m_negNeed;  // bounded by kMaxNegentropyIds
    size_t m_negFetched = 0;
    bool m_negFetching = false;

    struct Checkpoint {
        uint64_t required = 0;  // receivedMark() that must have settled
        int64_t cursor = 0;
        std::string backfill;
        bool backfill_done = false;
    };
    std::deque<Checkpoint> m_liveCheckpoints;      // each bounded: kMaxCheckpoints
    std::deque<Checkpoint> m_backfillCheckpoints;
    int64_t m_lastLiveCheckpoint_ms = 0;
    SyncProgress m_unreported;                     // coalesced; empty when everything was taken
    bool m_haveUnreported = false;

    net::SyncStatus m_status;
    QTimer m_queryTimer, m_pumpTimer, m_settleTimer;
};

}  // namespace archivist::sync
