#pragma once
// RelaySync: the query side of one relay (net::SessionDriver) — its subscriptions, what the
// relay may send on them, and what is asked next:
//   live       REQ "live" {filter, since: session start − live_margin_s}, kept open
//   catch-up   a BackfillPlanner window from the persisted live cursor (minus the margin) to the
//              session start, before anything else
//   backfill   a BackfillPlanner from the first session's start back to the floor, one query in
//              flight, when BackfillSlots grants a slot (most-behind relay first)
//   NIP-77     reconciliation passes over the whole history [floor, session start] (first sync,
//              restart catch-up) and periodically (reconcile_interval_s): windows sized by what we
//              hold (LocalSetSource, ≤ reconcile_max_items per window), each reconciled against
//              our items, only the missing ids fetched by REQ in batches; a window refused as too
//              large is halved (ReconcilePlan, bounded), then covered by REQ pagination. At most
//              ReconcileSlots sessions run at once across relays.
//   ids        an IdFetch under way (`archivist fetch-ids`, the console): REQ {"ids": […]} chunks
//              of its batch, before anything else on the query slot; the part is reported done
//              once the events sent for it have settled (core/sync/id_fetch.h)
//   support    judged by behaviour (NOTICE, CLOSED, NEG-ERR other than "too many", silence,
//              malformed replies → unusable with reason and retry-after, reported to the owner);
//              unusable relays are synced by REQ (live cursor catch-up and backfill) as before.
// and reports what settled through sync::SyncReports (cursor, checkpoint, gaps, reconciliation).
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
#include "core/util/expected.h"

namespace archivist::sync {

class BackfillPlanner;
class BackfillSlots;
class LocalSetSource;
class IdFetch;
class Negentropy;
class ReconcilePlan;
struct LocalSet;

struct SyncOptions {
    int64_t query_timeout_ms = 60000;       // a query without EOSE (or any event) this long
    int64_t live_margin_s = 300;            // live since / catch-up start: cursor minus this
    uint32_t backfill_limit = 500;          // per REQ; capped by the relay's max_limit
    int64_t backfill_floor = 0;             // oldest created_at to backfill (0 = everything)
    bool backfill = true;
    uint32_t max_subscriptions = 10;        // our own cap per relay; the relay's NIP-11 may lower it
    int64_t settle_check_ms = 250;          // how often settled cursors/checkpoints are reported
    protocol::Filter filter;                // what to archive (default: empty = everything); since/until/limit are ours
    // NIP-77 reconciliation (used when a LocalSetSource and ReconcileSlots are given).
    int64_t negentropy_timeout_ms = 30000;  // NEG-OPEN/NEG-MSG without a reply this long: unusable
    int64_t negentropy_retry_s = 7 * 86400; // an unusable relay is tried again after this
    int64_t reconcile_interval_s = 86400;   // periodic re-reconciliation of the whole history (0 = off)
    size_t reconcile_max_items = 100000;    // our side of one window (memory bound per session)
    uint32_t reconcile_max_splits = 32;     // splits of a refused window (per root window) before REQ covers the rest
    uint64_t negentropy_frame_bytes = 30000;  // our NEG-OPEN/NEG-MSG payload (binary; hex doubles it)
    // false: no live subscription, catch-up, backfill or reconciliation — only an IdFetch's REQs
    // (`archivist fetch-ids`).
    bool sync = true;
};

class RelaySync final : public QObject, public net::SessionDriver {
public:
    static constexpr size_t kMaxCheckpoints = 16;
    static constexpr size_t kMaxNegentropyIds = 100000;
    static constexpr size_t kFallbackKindsPerFilter = 20;
    // Incoming message limit while a NIP-77 session is open: khatru answers with up to 1 MiB of
    // binary (2 MiB of hex), strfry 500,000 bytes (≈ 1 MB of hex) — docs/backfill.md.
    static constexpr uint64_t kNegentropyMessageBytes = 2u * 1024 * 1024 + 256 * 1024;
    static constexpr size_t kMaxIdsPerFetch = 500;

    // local_set and reconcile_slots: both null = NIP-77 is never used (REQ only). id_fetch: the
    // engine's fetch of given ids (null: none).
    RelaySync(std::string url, SyncOptions options, SyncResume resume, SyncReports& reports, BackfillSlots& backfill_slots,
              LocalSetSource* local_set = nullptr, BackfillSlots* reconcile_slots = nullptr, IdFetch* id_fetch = nullptr);
    ~RelaySync() override;

    // net::SessionDriver
    void opened(net::RelayLink& link, const net::SessionInfo& session) override;
    void closing() override;
    void closed() override;
    observe::EventRefusal admit(std::string_view subscription, std::string_view event_json,
                                const std::optional<protocol::EventKeys>& keys) override;
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
    enum class QueryOf : uint8_t { CatchUp, Backfill, Window, Ids };  // which planner a REQ query serves

    bool sessionOpen() const { return m_link != nullptr; }
    bool send(const std::string& text);
    void openLive();
    void startReqCatchUp();
    void closeSubscription(const std::string& id);
    void pump();  // catch-up first, then historical backfill (slot permitting)
    void sendQuery();
    void onQueryTimeout();
    // NIP-77 reconciliation.
    bool negentropyAllowed() const;
    void startPass(bool periodic, int64_t top);
    bool pumpPass();  // true while the pass keeps the query slot (nothing else is asked)
    void onLocalSet(Expected<LocalSet> answer);
    void startWindowSession();
    void sendNegentropyFetch();
    size_t idsPerRequest() const;  // REQ {"ids"} chunk within the relay's limits
    // IdFetch: true while a chunk is in flight (it holds the query slot).
    bool pumpIds();
    bool sendIds();
    void idsEnded(bool ok, const std::string& error);
    void windowRefused(const std::string& reason);  // size refusal: split, else REQ for the window
    void windowCovered();
    void judgeUnusable(const std::string& reason);
    void judgeUsable();
    void endNegentropySession();
    void finishPass();
    void abortPass();
    void finishQuery(bool completed, const std::string& reason);
    void finishCatchUp();
    void finishBackfill();
    BackfillPlanner* queryPlanner() const;
    void takeGaps();
    void releaseSlot();
    uint32_t queryLimit() const;

    // Cursors and checkpoints: queued with the link's receivedMark(), reported when settled.
    void pushCheckpoint(bool live, int64_t cursor, std::string backfill, bool backfill_done, int64_t reconciled_ms = 0,
                        uint64_t late = 0);
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
    LocalSetSource* m_local;
    BackfillSlots* m_reconcileSlots;
    bool m_closing = false;     // the connection is closing the socket: nothing new is asked
    bool m_liveOpen = false;
    bool m_liveFromStart = false;  // a reconciliation pass covers history up to the session start: no margin
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
    QueryOf m_queryOf = QueryOf::CatchUp;
    std::string m_querySub;
    uint64_t m_querySeq = 0;
    uint64_t m_queryEvents = 0;
    size_t m_queryKinds = 0;
    // NIP-77: the pass, the window in flight (reconcile against our items, then fetch the ids
    // the relay has and we lack in chunks), and the REQ planner of a window the relay refused.
    std::unique_ptr<ReconcilePlan> m_pass;
    bool m_passPeriodic = false;
    int64_t m_passTop = 0;
    int64_t m_passFloor = 0;
    uint64_t m_sessions = 0;         // websocket sessions this run
    uint64_t m_localSeq = 0;         // the local-set request whose answer is awaited
    int64_t m_passLateBefore = -1;   // events older than this (the live cursor at the start) are "late"
    uint64_t m_passLate = 0;
    bool m_haveReconcileSlot = false;
    bool m_localPending = false;
    std::unique_ptr<BackfillPlanner> m_windowPlanner;
    std::unique_ptr<Negentropy> m_neg;
    bool m_negAnswered = false;      // the relay has answered this NIP-77 session at least once
    bool m_negLimitRaised = false;
    std::vector<protocol::Bytes32> m_negNeed;  // bounded by kMaxNegentropyIds
    size_t m_negFetched = 0;
    bool m_negFetching = false;
    NegentropyVerdict m_verdict;
    int64_t m_reconciled_ms = 0;
    // IdFetch: the chunk in flight, and a finished part waiting for its events to settle.
    IdFetch* m_idFetch;
    uint64_t m_idsGeneration = 0;
    size_t m_idsChunk = 0;
    // The chunk's ids not returned yet (sorted): asked again while a REQ brings some but not all
    // (a relay may cap a REQ's results below its ids without saying so).
    std::vector<protocol::Bytes32> m_idsPending;
    std::optional<std::pair<uint64_t, uint64_t>> m_idsSettle;  // (generation, receivedMark)

    struct Checkpoint {
        uint64_t required = 0;  // receivedMark() that must have settled
        int64_t cursor = 0;
        std::string backfill;
        bool backfill_done = false;
        int64_t reconciled_ms = 0;  // a pass completed (live checkpoints only)
        uint64_t late = 0;
    };
    std::deque<Checkpoint> m_liveCheckpoints;      // each bounded: kMaxCheckpoints
    std::deque<Checkpoint> m_backfillCheckpoints;
    int64_t m_lastLiveCheckpoint_ms = 0;
    SyncProgress m_unreported;                     // coalesced; empty when everything was taken
    bool m_haveUnreported = false;

    net::SyncStatus m_status;
    QTimer m_queryTimer, m_pumpTimer, m_settleTimer;
    // While m_queryTimer runs: the steady-clock ms until which the query's events keep it alive
    // (0: none came since it was armed). Every start and stop of the timer goes through these two.
    int64_t m_queryActiveUntilMs = 0;
    void armQueryTimer(int ms);
    void stopQueryTimer();
};

}  // namespace archivist::sync
