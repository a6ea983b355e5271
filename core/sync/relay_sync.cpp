#include "core/sync/relay_sync.h"

#include <QDateTime>
#include <QPointer>
#include <algorithm>

#include "core/observe/log.h"
#include "core/protocol/hex.h"
#include "core/protocol/relay_message.h"
#include "core/sync/backfill_planner.h"
#include "core/sync/backfill_slots.h"
#include "core/sync/id_fetch.h"
#include "core/sync/local_set.h"
#include "core/sync/negentropy.h"
#include "core/sync/reconcile_plan.h"
#include "core/util/clock.h"

namespace archivist::sync {

namespace {

int64_t nowMs() { return QDateTime::currentMSecsSinceEpoch(); }
int64_t nowS() { return QDateTime::currentSecsSinceEpoch(); }

constexpr const char* kLiveSub = "live";
constexpr int64_t kLiveCheckpointEvery_ms = 1000;
constexpr int64_t kRateLimitedCap_ms = 300000;
constexpr int64_t kNoticeGrace_ms = 5000;
constexpr int64_t kLiveRetry_ms = 60000;
constexpr int64_t kPump_ms = 1000;
constexpr size_t kMaxUnreportedGaps = 4096;

std::string bounded(std::string_view s, size_t n) { return std::string(s.substr(0, n)); }

// A NEG-ERR that refuses the window for its size (strfry: "blocked: too many query results";
// older strfry: "RESULTS_TOO_BIG"): split, it says nothing about support.
bool isSizeRefusal(std::string_view message) {
    std::string m(message.substr(0, 300));
    std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return m.find("too many") != std::string::npos || m.find("too big") != std::string::npos ||
           m.find("too large") != std::string::npos || m.find("results_too_big") != std::string::npos;
}

}  // namespace

RelaySync::RelaySync(std::string url, SyncOptions options, SyncResume resume, SyncReports& reports, BackfillSlots& backfill_slots,
                     LocalSetSource* local_set, BackfillSlots* reconcile_slots, IdFetch* id_fetch)
    : m_url(std::move(url)),
      m_opts(std::move(options)),
      m_reports(reports),
      m_slots(backfill_slots),
      m_local(local_set && reconcile_slots ? local_set : nullptr),
      m_reconcileSlots(local_set && reconcile_slots ? reconcile_slots : nullptr),
      m_idFetch(id_fetch) {
    if (resume.live_cursor) m_status.live_cursor = *resume.live_cursor;
    m_verdict = resume.negentropy;
    m_reconciled_ms = resume.reconciled_ms;
    m_status.reconciled_ms = resume.reconciled_ms;
    m_status.late_events = resume.late_events;
    m_backfillCheckpoint = std::move(resume.backfill_checkpoint);
    m_backfillDone = resume.backfill_done;
    m_status.backfill = !m_opts.backfill      ? observe::BackfillState::Disabled
                        : m_backfillDone      ? observe::BackfillState::Done
                                              : observe::BackfillState::NotStarted;
    m_queryTimer.setSingleShot(true);
    connect(&m_queryTimer, &QTimer::timeout, this, &RelaySync::onQueryTimeout);
    connect(&m_pumpTimer, &QTimer::timeout, this, &RelaySync::pump);
    connect(&m_settleTimer, &QTimer::timeout, this, &RelaySync::settle);
    m_settleTimer.start(int(m_opts.settle_check_ms));
}

RelaySync::~RelaySync() {
    if (m_idFetch) m_idFetch->leave(this);
    if (m_local) m_local->cancel(this);
    m_slots.forget(m_url);
    if (m_reconcileSlots) m_reconcileSlots->forget(m_url);
}

// ---------------------------------------------------------------- session

void RelaySync::opened(net::RelayLink& link, const net::SessionInfo& session) {
    ++m_generation;
    ++m_sessions;
    m_link = &link;
    m_closing = false;
    m_session = session;
    m_subs.clear();
    m_liveOpen = m_liveEose = false;
    m_queryInFlight = false;
    m_rateLimitDelay_ms = 0;
    // NIP-11 max_message_length bounds our REQs: a kinds list costs at most 6 bytes per kind plus
    // the rest of the filter (≈ 300 bytes with authors/tags of a typical base filter).
    if (session.info && session.info->limitation.max_message_length) {
        const uint64_t len = *session.info->limitation.max_message_length;
        const uint64_t room = len > 600 ? len - 600 : 0;
        m_kindsPerFilter = std::clamp<size_t>(size_t(room / 6), 1, m_kindsPerFilter);
    }
    m_idsSettle.reset();
    if (m_idFetch) m_idFetch->join(this, m_url);
    if (!m_opts.sync) {  // ids only
        pump();
        m_pumpTimer.start(int(kPump_ms));
        return;
    }
    // Catch-up: a reconciliation pass over the whole history when NIP-77 may be used (it finds
    // what arrived late or backdated too), else REQ from the persisted live cursor (minus the
    // margin) up to this session's start.
    if (negentropyAllowed() && (m_opts.backfill || m_status.live_cursor >= 0)) startPass(false, session.opened_s);
    else startReqCatchUp();
    m_liveFromStart = m_pass != nullptr;
    if (m_backfillStart_s == 0) m_backfillStart_s = m_status.live_cursor >= 0 ? m_status.live_cursor : session.opened_s;
    const uint32_t cap = std::min(session.max_subscriptions, m_opts.max_subscriptions);
    // With a single subscription allowed, history first; live follows when sync has finished.
    if (cap >= 2 || (!m_catchUp && !m_pass && (m_backfillDone || !m_opts.backfill))) openLive();
    pump();
    m_pumpTimer.start(int(kPump_ms));
}

void RelaySync::startReqCatchUp() {
    if (m_status.live_cursor < 0 || m_catchUp) return;
    BackfillConfig cfg;
    cfg.floor = std::max<int64_t>(0, m_status.live_cursor - m_opts.live_margin_s);
    cfg.limit = queryLimit();
    cfg.max_kinds_per_filter = m_kindsPerFilter;
    m_catchUp = std::make_unique<BackfillPlanner>(cfg, m_opts.filter, m_session.opened_s);
}

void RelaySync::closing() {
    if (!sessionOpen()) return;
    m_closing = true;
    m_pumpTimer.stop();
    stopQueryTimer();
    if (m_liveOpen) closeSubscription(kLiveSub);
    if (m_queryInFlight) {
        send(m_neg ? protocol::makeNegClose(m_querySub) : protocol::makeClose(m_querySub));
        m_subs.close(m_querySub);
    }
    m_liveOpen = false;
    m_queryInFlight = false;
    abortPass();
    releaseSlot();
    m_slots.forget(m_url);
}

void RelaySync::closed() {
    ++m_generation;
    m_link = nullptr;
    m_idsSettle.reset();
    if (m_idFetch) m_idFetch->leave(this);
    m_closing = false;
    m_subs.clear();
    stopQueryTimer();
    m_pumpTimer.stop();
    m_liveOpen = false;
    m_queryInFlight = false;
    // The query in flight is abandoned: planners restart from their last completed query.
    m_catchUp.reset();
    m_backfill.reset();
    abortPass();
    releaseSlot();
    m_slots.forget(m_url);
}

bool RelaySync::send(const std::string& text) { return m_link && m_link->send(text); }

void RelaySync::releaseSlot() {
    if (m_haveSlot) m_slots.release(m_url);
    m_haveSlot = false;
}

uint32_t RelaySync::queryLimit() const {
    const uint32_t relayMax =
        m_session.info && m_session.info->limitation.max_limit ? *m_session.info->limitation.max_limit : UINT32_MAX;
    return std::max<uint32_t>(1, std::min(m_opts.backfill_limit, relayMax == 0 ? UINT32_MAX : relayMax));
}

// ---------------------------------------------------------------- messages

observe::EventRefusal RelaySync::admit(std::string_view subscription, std::string_view event_json,
                                       const std::optional<protocol::EventKeys>& keys) {
    const observe::EventRefusal verdict = m_subs.admit(subscription, event_json, keys);
    if (verdict != observe::EventRefusal::None) return verdict;
    if (m_queryInFlight && subscription == m_querySub) {
        if (m_negFetching && keys) {
            ++m_status.reconcile_missing;
            if (keys->created_at < m_passLateBefore) ++m_passLate;
        }
        if (m_queryOf == QueryOf::Ids && keys) {
            auto it = std::lower_bound(m_idsPending.begin(), m_idsPending.end(), keys->id);
            if (it != m_idsPending.end() && *it == keys->id) {  // each id counted once
                m_idsPending.erase(it);
                m_idFetch->returned(this);
            }
        }
        if (BackfillPlanner* p = queryPlanner(); p && keys) p->onEvent(keys->id, keys->created_at, keys->kind);
        ++m_queryEvents;
        // Activity: not stalled. Noted, not a timer restart per event (a restart re-sorts the
        // thread's timer list); the timeout re-arms itself from the last activity when it fires.
        if (m_queryTimer.isActive()) m_queryActiveUntilMs = steadyMs() + int64_t(m_opts.query_timeout_ms);
        else armQueryTimer(int(m_opts.query_timeout_ms));
    }
    return verdict;
}

bool RelaySync::solicited(std::string_view subscription) const {
    return m_queryInFlight && subscription == m_querySub;
}

void RelaySync::eose(const std::string& sub) {
    if (sub == kLiveSub) {
        m_liveEose = true;
        return;
    }
    if (!m_queryInFlight || sub != m_querySub) return;
    closeSubscription(sub);  // NIP-01: a subscription stays open after EOSE
    if (m_queryOf == QueryOf::Ids) {
        // Some but not all: the rest again (a silent cap), until a REQ brings none of them.
        if (m_queryEvents > 0 && !m_idsPending.empty() && sendIds()) return;
        idsEnded(true, {});
        pump();
        return;
    }
    if (m_negFetching) {
        if (m_negFetched < m_negNeed.size()) sendNegentropyFetch();  // next chunk of the window's ids
        else windowCovered();
        return;
    }
    finishQuery(true, {});
    pump();
}

void RelaySync::refused(const std::string& sub, const std::string& prefix, const std::string& message) {
    const bool isQuery = m_queryInFlight && sub == m_querySub;
    if (isQuery && m_queryOf == QueryOf::Ids) {
        // A REQ for ids refused: counted against the relay; its next chunk follows (a pause first
        // when it asked for one).
        m_subs.close(sub);
        idsEnded(false, "closed: " + (prefix.empty() ? std::string() : prefix + ": ") + bounded(message, 200));
        if (prefix == "restricted" || prefix == "blocked" || prefix == "auth-required") return;
        if (prefix == "rate-limited")
            m_rateLimitDelay_ms = std::min(kRateLimitedCap_ms, std::max<int64_t>(1000, m_rateLimitDelay_ms * 2));
        QPointer<RelaySync> self(this);
        const uint64_t gen = m_generation;
        QTimer::singleShot(int(prefix == "rate-limited" ? m_rateLimitDelay_ms : 0), this, [self, gen] {
            if (self && gen == self->m_generation) self->pump();
        });
        return;
    }
    if (isQuery && m_neg) {
        // CLOSED for a NIP-77 session: the relay does not do NIP-77 (unless it wants AUTH or a pause).
        m_subs.close(sub);
        const bool transient = prefix == "auth-required" || prefix == "rate-limited";
        if (transient) {
            endNegentropySession();
            m_queryInFlight = false;
            stopQueryTimer();
        } else {
            judgeUnusable("closed: " + bounded(message, 200));
        }
        if (prefix == "restricted" || prefix == "blocked" || prefix == "auth-required") return;
        QPointer<RelaySync> self(this);
        const uint64_t gen = m_generation;
        QTimer::singleShot(int(transient ? std::max<int64_t>(1000, m_rateLimitDelay_ms) : 0), this, [self, gen] {
            if (self && gen == self->m_generation) self->pump();
        });
        return;
    }
    if (isQuery && m_negFetching) {
        // The fetch of a window's ids was refused: REQ pagination covers that window instead.
        m_subs.close(sub);
        stopQueryTimer();
        m_queryInFlight = false;
        m_negFetching = false;
        windowRefused("fetch refused: " + bounded(message, 200));
        pump();
        return;
    }
    m_subs.close(sub);
    if (sub == kLiveSub) m_liveOpen = false;
    if (isQuery) finishQuery(false, message);
    if (prefix == "restricted" || prefix == "blocked" || prefix == "auth-required") return;  // the connection acts
    if (prefix == "rate-limited") {
        m_rateLimitDelay_ms = std::min(kRateLimitedCap_ms, std::max<int64_t>(1000, m_rateLimitDelay_ms * 2));
        QPointer<RelaySync> self(this);
        const uint64_t gen = m_generation;
        QTimer::singleShot(int(m_rateLimitDelay_ms), this, [self, gen, sub] {
            if (!self || gen != self->m_generation) return;
            if (sub == kLiveSub) self->openLive();
            else self->pump();
        });
        return;
    }
    if (sub == kLiveSub) {
        // The relay refused the live subscription for another reason: try again later.
        QPointer<RelaySync> self(this);
        const uint64_t gen = m_generation;
        QTimer::singleShot(int(kLiveRetry_ms), this, [self, gen] {
            if (self && gen == self->m_generation) self->openLive();
        });
        return;
    }
    if (isQuery) pump();
}

void RelaySync::notice(const std::string& message) {
    // A NOTICE while a NIP-77 session has had no answer at all: the relay did not understand
    // NEG-OPEN (the commonest sign of fake support).
    if (m_queryInFlight && m_neg && !m_negAnswered) {
        judgeUnusable("notice: " + bounded(message, 200));
        pump();
        return;
    }
    // Many relays answer a REQ they refuse with a NOTICE instead of CLOSED. A NOTICE while a query
    // has had no answer at all is taken as that refusal: a split chunk with a long kinds list is
    // re-asked in short pieces (the commonest cause); otherwise the query gives up soon instead of
    // waiting for the full query timeout.
    if (!m_queryInFlight || m_queryEvents != 0 || m_neg || m_negFetching || m_queryOf == QueryOf::Window) return;
    BackfillPlanner* p = queryPlanner();
    if (p && m_queryKinds > kFallbackKindsPerFilter && p->onKindsListTooLong(kFallbackKindsPerFilter)) {
        closeSubscription(m_querySub);
        stopQueryTimer();
        m_queryInFlight = false;
        m_kindsPerFilter = kFallbackKindsPerFilter;
        pump();
        return;
    }
    armQueryTimer(int(std::min<int64_t>(m_opts.query_timeout_ms, kNoticeGrace_ms)));
}

void RelaySync::authenticated() {
    if (!m_liveOpen) openLive();
    pump();
}

// ---------------------------------------------------------------- subscriptions

void RelaySync::openLive() {
    if (m_liveOpen || !sessionOpen() || m_closing || !m_opts.sync) return;  // !sync: ids only
    protocol::Filter f = m_opts.filter;
    // With a reconciliation pass covering everything up to the session start, live asks for
    // nothing older (no overlap); REQ catch-up needs the margin (clock skew, late publishing).
    f.since = std::max<int64_t>(0, m_session.opened_s - (m_liveFromStart ? 0 : m_opts.live_margin_s));
    f.until.reset();
    f.limit.reset();
    if (send(protocol::makeReq(kLiveSub, {f}))) {
        m_subs.open(kLiveSub, {f});
        m_liveOpen = true;
    }
}

void RelaySync::closeSubscription(const std::string& id) {
    send(protocol::makeClose(id));
    m_subs.close(id);
}

BackfillPlanner* RelaySync::queryPlanner() const {
    switch (m_queryOf) {
    case QueryOf::CatchUp: return m_catchUp.get();
    case QueryOf::Backfill: return m_backfill.get();
    case QueryOf::Window: return m_windowPlanner.get();
    case QueryOf::Ids: return nullptr;
    }
    return nullptr;
}

void RelaySync::pump() {
    if (!sessionOpen() || m_closing || m_queryInFlight || m_link->authenticating()) return;
    // -1. Exactly the ids an operator asked for (short, bounded by the batch) go first.
    if (pumpIds() || !m_opts.sync) return;
    // 0. A reconciliation pass (restart catch-up, first sync, periodic) holds the query slot.
    if (m_pass && pumpPass()) return;
    // 1. Catch-up of what the relay got while we were away.
    if (m_catchUp) {
        if (!m_catchUp->done()) {
            m_queryOf = QueryOf::CatchUp;
            sendQuery();
            if (m_queryInFlight) return;
        }
        if (m_catchUp && m_catchUp->done()) finishCatchUp();
    }
    // 2. Historical backfill, one slot-holder at a time per the global scheduler.
    if (!m_opts.backfill || m_backfillDone) {
        if (!m_liveOpen) openLive();
        // 3. Periodic re-reconciliation of the whole history, lowest priority.
        if (!m_pass && !m_catchUp && m_opts.backfill && m_opts.reconcile_interval_s > 0 && negentropyAllowed() &&
            nowMs() - m_reconciled_ms >= m_opts.reconcile_interval_s * 1000) {
            startPass(true, nowS());
            pumpPass();
        }
        return;
    }
    if (!m_backfill) {
        const int64_t behind = std::max<int64_t>(1, m_backfillStart_s - m_opts.backfill_floor);
        if (!m_haveSlot && !m_slots.tryAcquire(m_url, behind)) {
            m_status.backfill = observe::BackfillState::Waiting;
            return;  // m_pumpTimer asks again
        }
        m_haveSlot = true;
        BackfillConfig cfg;
        cfg.floor = m_opts.backfill_floor;
        cfg.limit = queryLimit();
        cfg.max_kinds_per_filter = m_kindsPerFilter;
        if (!m_backfillCheckpoint.empty()) {
            auto resumed = BackfillPlanner::resume(cfg, m_opts.filter, m_backfillCheckpoint);
            if (resumed) m_backfill = std::make_unique<BackfillPlanner>(std::move(*resumed));
            else qCWarning(lcSync) << m_url.c_str() << "backfill checkpoint unreadable, restarting:"
                                   << resumed.error().message.c_str();
        }
        if (!m_backfill) m_backfill = std::make_unique<BackfillPlanner>(cfg, m_opts.filter, m_backfillStart_s);
    }
    m_status.backfill = observe::BackfillState::Running;
    m_queryOf = QueryOf::Backfill;
    if (!m_backfill->done()) sendQuery();
    if (m_backfill && m_backfill->done() && !m_queryInFlight) finishBackfill();
}

void RelaySync::finishBackfill() {
    takeGaps();
    m_backfillDone = true;
    m_backfillCheckpoint = m_backfill->checkpoint();
    pushCheckpoint(false, 0, m_backfillCheckpoint, true);
    m_status.backfill = observe::BackfillState::Done;
    m_status.backfill_fraction = 1.0;
    m_backfill.reset();
    releaseSlot();
    if (!m_liveOpen) openLive();
}

void RelaySync::finishCatchUp() {
    takeGaps();
    m_catchUp.reset();
    // Everything up to the session start is now received; once settled, the cursor moves there.
    pushCheckpoint(true, m_session.opened_s, {}, false);
    if (!m_liveOpen && (m_backfillDone || !m_opts.backfill)) openLive();
}

void RelaySync::sendQuery() {
    BackfillPlanner* p = queryPlanner();
    if (!p || m_queryInFlight) return;
    auto q = p->next();
    if (!q) return;
    m_querySub = (m_queryOf == QueryOf::CatchUp ? "cu" : m_queryOf == QueryOf::Backfill ? "bf" : "rw") + std::to_string(++m_querySeq);
    m_queryKinds = q->filter.kinds.size();
    if (!send(protocol::makeReq(m_querySub, {q->filter}))) return;
    m_subs.open(m_querySub, {q->filter});
    m_queryInFlight = true;
    m_queryEvents = 0;
    armQueryTimer(int(m_opts.query_timeout_ms));
}

void RelaySync::armQueryTimer(int ms) {
    m_queryActiveUntilMs = 0;
    m_queryTimer.start(ms);
}

void RelaySync::stopQueryTimer() {
    m_queryActiveUntilMs = 0;
    m_queryTimer.stop();
}

void RelaySync::onQueryTimeout() {
    if (!m_queryInFlight) return;
    if (m_queryActiveUntilMs) {
        // Events came since the timer was armed: the query has until the last one + the timeout.
        const int64_t left = m_queryActiveUntilMs - steadyMs();
        if (left > 0) {
            armQueryTimer(int(left));
            return;
        }
        m_queryActiveUntilMs = 0;
    }
    if (m_neg) {
        judgeUnusable("timeout: no NIP-77 answer within " + std::to_string(m_opts.negentropy_timeout_ms) + " ms");
        pump();
        return;
    }
    closeSubscription(m_querySub);
    if (m_queryOf == QueryOf::Ids) {
        idsEnded(false, "timeout: no answer within " + std::to_string(m_opts.query_timeout_ms) + " ms");
        pump();
        return;
    }
    if (m_negFetching) {
        stopQueryTimer();
        m_queryInFlight = false;
        m_negFetching = false;
        windowRefused("fetch timeout");
        pump();
        return;
    }
    finishQuery(false, "timeout: no answer within " + std::to_string(m_opts.query_timeout_ms) + " ms");
    pump();
}

void RelaySync::finishQuery(bool completed, const std::string& reason) {
    stopQueryTimer();
    m_queryInFlight = false;
    BackfillPlanner* p = queryPlanner();
    if (!p) return;
    if (completed) p->onEose();
    else p->onClosed(reason);
    takeGaps();
    if (m_queryOf == QueryOf::Backfill) {
        m_backfillCheckpoint = p->checkpoint();
        pushCheckpoint(false, 0, m_backfillCheckpoint, p->done());
    }
}

void RelaySync::takeGaps() {
    for (BackfillPlanner* p : {m_catchUp.get(), m_backfill.get(), m_windowPlanner.get()}) {
        // While the owner refuses reports the gaps stay with the planner (it pauses at its bound).
        if (!p || m_unreported.gaps.size() >= kMaxUnreportedGaps) continue;
        for (auto& g : p->takeGaps()) {
            ++m_status.backfill_gaps;
            m_unreported.gaps.push_back(std::move(g));
            m_haveUnreported = true;
        }
    }
    if (m_haveUnreported) {
        m_unreported.at_ms = nowMs();
        report();
    }
}

// ---------------------------------------------------------------- NIP-77

bool RelaySync::negentropyAllowed() const {
    return m_local && (m_verdict.support != observe::NegentropySupport::Unusable || nowMs() >= m_verdict.retry_after_ms);
}

void RelaySync::startPass(bool periodic, int64_t top) {
    if (!m_local || m_pass) return;
    int64_t floor = m_opts.backfill ? m_opts.backfill_floor : std::max<int64_t>(0, m_status.live_cursor - m_opts.live_margin_s);
    // A reconnect within this run, soon after a completed pass: only what the connection missed
    // (the periodic pass looks at the whole history again).
    if (!periodic && m_sessions > 1 && m_status.live_cursor >= 0 && m_reconciled_ms > 0 &&
        nowMs() - m_reconciled_ms < m_opts.reconcile_interval_s * 1000)
        floor = std::max(floor, m_status.live_cursor - m_opts.live_margin_s);
    m_pass = std::make_unique<ReconcilePlan>(floor, top, m_opts.reconcile_max_splits);
    m_passPeriodic = periodic;
    m_passTop = top;
    m_passFloor = floor;
    m_passLateBefore = m_status.live_cursor >= 0 ? m_status.live_cursor - m_opts.live_margin_s : -1;
    m_passLate = 0;
    m_status.reconciling = true;
    m_status.reconcile_periodic = periodic;
}

bool RelaySync::pumpPass() {
    if (!m_pass) return false;
    // A window the relay refused (after bounded splits) is covered by REQ pagination.
    if (m_windowPlanner) {
        m_queryOf = QueryOf::Window;
        if (!m_windowPlanner->done()) {
            sendQuery();
            if (m_queryInFlight || !m_windowPlanner->done()) return true;
        }
        takeGaps();
        m_windowPlanner.reset();
        m_pass->completed();
    }
    if (m_pass->done()) {
        finishPass();
        return false;
    }
    if (!m_haveReconcileSlot) {
        // First sync and restart catch-up by how much history they cover; the periodic pass last.
        const int64_t priority = m_passPeriodic ? 0 : std::max<int64_t>(1, m_passTop - m_passFloor);
        if (!m_reconcileSlots->tryAcquire(m_url, priority)) return true;  // m_pumpTimer asks again
        m_haveReconcileSlot = true;
    }
    if (auto range = m_pass->needLocalSet()) {
        if (m_localPending) return true;
        LocalSetRequest req;
        req.filter = m_opts.filter;
        req.filter.since = range->first;
        req.filter.until = range->second;
        req.filter.limit.reset();
        req.max_items = m_opts.reconcile_max_items;
        QPointer<RelaySync> self(this);
        const uint64_t seq = ++m_localSeq;
        m_localPending = m_local->request(std::move(req), this, [self, seq](Expected<LocalSet> answer) {
            if (!self || seq != self->m_localSeq) return;
            self->m_localPending = false;
            self->onLocalSet(std::move(answer));
        });
        return true;  // refused (queue full): the pump timer asks again
    }
    startWindowSession();
    return true;
}

void RelaySync::onLocalSet(Expected<LocalSet> answer) {
    if (!m_pass || !sessionOpen()) return;
    if (!answer) {
        qCWarning(lcSync) << m_url.c_str() << "local set for reconciliation unreadable (asked again):" << answer.error().message.c_str();
        return;  // the pump timer asks again
    }
    ++m_status.reconcile_windows;
    const bool overfull = answer->overfull;
    m_pass->setLocalSet(answer->since, std::move(answer->items));
    // One second holding more than a window of ours: REQ pagination covers it.
    if (overfull) windowRefused("local second holds more than " + std::to_string(m_opts.reconcile_max_items) + " events");
    pump();
}

void RelaySync::startWindowSession() {
    const ReconcileWindow* w = m_pass ? m_pass->current() : nullptr;
    if (!w || m_queryInFlight) return;
    // Our messages stay within what the relay accepts (hex doubles the payload; JSON adds the rest).
    uint64_t frame = m_opts.negentropy_frame_bytes;
    if (m_session.info && m_session.info->limitation.max_message_length) {
        const uint64_t len = *m_session.info->limitation.max_message_length;
        frame = std::min(frame, len > 2048 ? (len - 1024) / 2 : 0);
    }
    frame = std::max<uint64_t>(frame, Negentropy::kMinFrameSizeLimit);
    auto neg = Negentropy::create(w->items, frame, kMaxNegentropyIds);
    if (!neg) {
        windowRefused("negentropy: " + neg.error().message);
        return;
    }
    auto first = neg->initiate();
    if (!first) {
        windowRefused("negentropy: " + first.error().message);
        return;
    }
    protocol::Filter f = m_opts.filter;
    f.since = w->since;
    f.until = w->until;
    f.limit.reset();
    m_querySub = "ng" + std::to_string(++m_querySeq);
    const std::string hex = protocol::toHex(reinterpret_cast<const uint8_t*>(first->data()), first->size());
    if (!send(protocol::makeNegOpen(m_querySub, f, hex))) return;  // the pump timer tries again
    m_neg = std::make_unique<Negentropy>(std::move(*neg));
    if (!m_negLimitRaised && m_session.max_message_bytes < kNegentropyMessageBytes) {
        m_link->setMessageLimit(kNegentropyMessageBytes);
        m_negLimitRaised = true;
    }
    m_queryOf = QueryOf::Window;
    m_queryInFlight = true;
    m_queryEvents = 0;
    m_negAnswered = false;
    m_negNeed.clear();
    m_negFetched = 0;
    m_negFetching = false;
    armQueryTimer(int(m_opts.negentropy_timeout_ms));
}

void RelaySync::negentropy(const protocol::RelayMessage& msg) {
    if (!m_queryInFlight || !m_neg || msg.subscription_id != m_querySub) return;
    m_negAnswered = true;
    if (msg.type == protocol::RelayMsgType::NegErr) {
        if (isSizeRefusal(msg.message)) windowRefused("neg-err: " + bounded(msg.message, 200));
        else judgeUnusable("neg-err: " + bounded(msg.message, 200));
        pump();
        return;
    }
    std::string reply(msg.message.size() / 2, '\0');
    if (msg.message.size() % 2 ||
        !protocol::fromHex(msg.message, reinterpret_cast<uint8_t*>(reply.data()), reply.size())) {
        judgeUnusable("malformed: NEG-MSG is not hex");
        pump();
        return;
    }
    std::vector<protocol::Bytes32> have;
    auto next = m_neg->reconcile(reply, have, m_negNeed);
    if (!next) {
        // More differing ids than one window may hold is a size problem (split); anything else
        // means the relay does not speak the protocol.
        if (next.error().message.find("bound") != std::string::npos) {
            send(protocol::makeNegClose(m_querySub));
            windowRefused("more than " + std::to_string(kMaxNegentropyIds) + " differing ids");
        } else {
            judgeUnusable("malformed: " + bounded(next.error().message, 200));
        }
        pump();
        return;
    }
    if (*next) {
        armQueryTimer(int(m_opts.negentropy_timeout_ms));
        send(protocol::makeNegMsg(m_querySub, protocol::toHex(reinterpret_cast<const uint8_t*>((*next)->data()),
                                                              (*next)->size())));
        return;
    }
    send(protocol::makeNegClose(m_querySub));
    endNegentropySession();
    judgeUsable();
    m_negFetching = true;
    m_negFetched = 0;
    if (m_negNeed.empty()) windowCovered();
    else sendNegentropyFetch();
}

size_t RelaySync::idsPerRequest() const {
    size_t chunk = std::min<size_t>(queryLimit(), kMaxIdsPerFetch);
    if (m_session.info && m_session.info->limitation.max_message_length) {
        const uint64_t len = *m_session.info->limitation.max_message_length;  // 67 bytes per quoted id
        chunk = std::min<size_t>(chunk, size_t(len > 512 ? (len - 512) / 67 : 1));
    }
    return std::max<size_t>(1, chunk);
}

bool RelaySync::pumpIds() {
    if (!m_idFetch || m_idsSettle) return false;
    uint64_t generation = 0;
    m_idsPending = m_idFetch->nextChunk(this, idsPerRequest(), &generation);
    if (m_idsPending.empty()) return false;
    m_queryOf = QueryOf::Ids;
    m_idsGeneration = generation;
    m_idsChunk = m_idsPending.size();
    if (!sendIds()) {  // the socket is closing: closed() leaves the fetch
        m_idFetch->ended(this, generation, 0, false, "not sent: the connection is closing");
        return false;
    }
    return true;
}

bool RelaySync::sendIds() {
    protocol::Filter f;
    f.ids = m_idsPending;
    f.limit = uint32_t(f.ids.size());
    m_querySub = "id" + std::to_string(++m_querySeq);
    m_queryInFlight = false;
    if (!send(protocol::makeReq(m_querySub, {f}))) return false;
    m_subs.open(m_querySub, {f});
    m_queryInFlight = true;
    m_queryEvents = 0;
    armQueryTimer(int(m_opts.query_timeout_ms));
    return true;
}

void RelaySync::idsEnded(bool ok, const std::string& error) {
    stopQueryTimer();
    m_queryInFlight = false;
    m_idFetch->ended(this, m_idsGeneration, m_idsChunk, ok, error);
    m_idsChunk = 0;
    m_idsPending = {};
    // Every id of the batch asked: the part is done once what the relay sent has settled.
    if (!m_idFetch->hasWork(this) && m_link) m_idsSettle = std::make_pair(m_idsGeneration, m_link->receivedMark());
}

void RelaySync::sendNegentropyFetch() {
    const size_t chunk = idsPerRequest();
    protocol::Filter f;
    const size_t end = std::min(m_negNeed.size(), m_negFetched + chunk);
    f.ids.assign(m_negNeed.begin() + long(m_negFetched), m_negNeed.begin() + long(end));
    f.limit = uint32_t(f.ids.size());
    m_negFetched = end;
    m_queryOf = QueryOf::Window;
    m_querySub = "nf" + std::to_string(++m_querySeq);
    m_queryInFlight = true;
    m_queryEvents = 0;
    if (!send(protocol::makeReq(m_querySub, {f}))) return;  // the socket is closing: closed() ends the pass
    m_subs.open(m_querySub, {f});
    armQueryTimer(int(m_opts.query_timeout_ms));
}

void RelaySync::windowCovered() {
    stopQueryTimer();
    m_queryInFlight = false;
    m_negFetching = false;
    m_negNeed = {};
    m_pass->completed();
    // The root window and its pieces are done: the session slot goes to the next relay in line.
    if (!m_pass->current() && m_haveReconcileSlot) {
        m_reconcileSlots->release(m_url);
        m_haveReconcileSlot = false;
    }
    pump();
}

void RelaySync::windowRefused(const std::string& reason) {
    if (m_neg) send(protocol::makeNegClose(m_querySub));
    endNegentropySession();
    stopQueryTimer();
    m_queryInFlight = false;
    m_negFetching = false;
    m_negNeed = {};
    if (!m_pass || !m_pass->current()) return;
    if (m_pass->split()) {
        ++m_status.reconcile_splits;
        qCInfo(lcSync) << m_url.c_str() << "reconciliation window split in two:" << reason.c_str();
        return;  // the caller pumps
    }
    const ReconcileWindow* w = m_pass->current();
    qCInfo(lcSync) << m_url.c_str() << "reconciliation window" << w->since << "…" << w->until << "refused (" << reason.c_str()
                   << "): REQ pagination covers it";
    BackfillConfig cfg;
    cfg.floor = w->since;
    cfg.limit = queryLimit();
    cfg.max_kinds_per_filter = m_kindsPerFilter;
    m_windowPlanner = std::make_unique<BackfillPlanner>(cfg, m_opts.filter, w->until);
}

void RelaySync::judgeUsable() {
    if (m_verdict.support == observe::NegentropySupport::Usable) return;
    m_verdict = NegentropyVerdict{observe::NegentropySupport::Usable, {}, 0};
    m_unreported.negentropy = m_verdict;
    m_haveUnreported = true;
    report();
}

void RelaySync::judgeUnusable(const std::string& reason) {
    if (m_neg) send(protocol::makeNegClose(m_querySub));
    stopQueryTimer();
    m_queryInFlight = false;
    m_verdict = NegentropyVerdict{observe::NegentropySupport::Unusable, bounded(reason, 300),
                                  nowMs() + m_opts.negentropy_retry_s * 1000};
    m_unreported.negentropy = m_verdict;
    m_haveUnreported = true;
    report();
    qCInfo(lcSync) << m_url.c_str() << "NIP-77 unusable (" << reason.c_str() << "): synced by REQ, NIP-77 tried again in"
                   << m_opts.negentropy_retry_s << "s";
    const bool periodic = m_passPeriodic;
    abortPass();
    // The relay is synced by REQ instead: catch-up from the live cursor; backfill when not done.
    if (!periodic) startReqCatchUp();
}

void RelaySync::endNegentropySession() {
    m_neg.reset();
    if (m_negLimitRaised && m_link) m_link->setMessageLimit(m_session.max_message_bytes);
    m_negLimitRaised = false;
}

void RelaySync::finishPass() {
    if (m_haveReconcileSlot) m_reconcileSlots->release(m_url);
    m_haveReconcileSlot = false;
    const int64_t now = nowMs();
    // Everything the relay holds in [floor, top] is received; once settled the reconciliation (and,
    // for a catch-up pass, the live cursor at the top) is durable.
    pushCheckpoint(true, m_passPeriodic ? 0 : m_passTop, {}, false, now, m_passLate);
    if (m_opts.backfill && !m_backfillDone && m_passFloor <= m_opts.backfill_floor) {
        m_backfillDone = true;
        m_backfillCheckpoint.clear();
        m_backfill.reset();
        releaseSlot();
        pushCheckpoint(false, 0, m_backfillCheckpoint, true);
        m_status.backfill = observe::BackfillState::Done;
        m_status.backfill_fraction = 1.0;
    }
    m_reconciled_ms = now;
    qCInfo(lcSync) << m_url.c_str() << (m_passPeriodic ? "periodic" : "catch-up") << "reconciliation done:"
                   << m_pass->windows() << "windows," << m_pass->splits() << "splits," << m_passLate << "late events";
    m_pass.reset();
    m_status.reconciling = false;
    m_status.reconcile_periodic = false;
    if (!m_liveOpen) openLive();
}

void RelaySync::abortPass() {
    endNegentropySession();
    m_negNeed = {};
    m_negFetching = false;
    m_windowPlanner.reset();
    m_pass.reset();
    m_status.reconciling = false;
    m_status.reconcile_periodic = false;
    ++m_localSeq;  // an answer still on its way is ignored
    m_localPending = false;
    if (m_haveReconcileSlot) m_reconcileSlots->release(m_url);
    m_haveReconcileSlot = false;
}

// ---------------------------------------------------------------- operator

void RelaySync::backfillNow() {
    if (!m_opts.backfill || !m_opts.sync) return;
    m_backfillCheckpoint.clear();
    m_backfillDone = false;
    m_backfill.reset();
    m_backfillStart_s = nowS();
    m_status.backfill = observe::BackfillState::NotStarted;
    m_status.backfill_gaps = 0;
    // Restarting is itself a checkpoint: nothing before it needs to settle.
    m_backfillCheckpoints.clear();
    m_unreported.url = m_url;
    m_unreported.backfill_checkpoint = std::string();
    m_unreported.backfill_done = false;
    m_haveUnreported = true;
    report();
    // With NIP-77: a reconciliation of the whole history now (it replaces the REQ backfill).
    if (sessionOpen() && negentropyAllowed() && !m_pass && !m_queryInFlight) startPass(false, nowS());
    if (sessionOpen()) pump();
}

// ---------------------------------------------------------------- cursors and checkpoints

void RelaySync::pushCheckpoint(bool live, int64_t cursor, std::string backfill, bool backfill_done, int64_t reconciled_ms,
                               uint64_t late) {
    Checkpoint c;
    c.required = m_link ? m_link->receivedMark() : 0;
    c.cursor = cursor;
    c.backfill = std::move(backfill);
    c.backfill_done = backfill_done;
    c.reconciled_ms = reconciled_ms;
    c.late = late;
    // Checkpoints only move forward, so when a queue is full its newest pending entry is replaced
    // by this newer one: reporting is delayed, never wrong (a replaced entry's counts carry over).
    auto& queue = live ? m_liveCheckpoints : m_backfillCheckpoints;
    if (queue.size() >= kMaxCheckpoints) {
        c.cursor = std::max(c.cursor, queue.back().cursor);
        c.reconciled_ms = std::max(c.reconciled_ms, queue.back().reconciled_ms);
        c.late += queue.back().late;
        queue.back() = std::move(c);
    }
    else queue.push_back(std::move(c));
}

void RelaySync::settle() {
    // A live checkpoint every second once the live subscription is caught up and no catch-up is pending.
    const int64_t now = nowMs();
    if (m_liveOpen && m_liveEose && !m_catchUp && sessionOpen() && !m_closing &&
        now - m_lastLiveCheckpoint_ms >= kLiveCheckpointEvery_ms) {
        m_lastLiveCheckpoint_ms = now;
        pushCheckpoint(true, now / 1000, {}, false);
    }
    if (m_link) {
        const uint64_t settled = m_link->settledCount();
        if (m_idsSettle && m_idsSettle->second <= settled) {
            m_idFetch->partDone(this, m_idsSettle->first);
            m_idsSettle.reset();
            pump();  // the next batch may be waiting
        }
        while (!m_liveCheckpoints.empty() && m_liveCheckpoints.front().required <= settled) {
            const Checkpoint& c = m_liveCheckpoints.front();
            const int64_t cursor = c.cursor;
            if (cursor > m_status.live_cursor) {
                m_status.live_cursor = cursor;
                m_unreported.live_cursor = std::max(m_unreported.live_cursor.value_or(cursor), cursor);
                m_haveUnreported = true;
            }
            if (c.reconciled_ms) {
                m_status.reconciled_ms = std::max(m_status.reconciled_ms, c.reconciled_ms);
                m_status.late_events += c.late;
                m_unreported.reconciled_ms = std::max(m_unreported.reconciled_ms.value_or(c.reconciled_ms), c.reconciled_ms);
                m_unreported.late_events += c.late;
                m_haveUnreported = true;
            }
            m_liveCheckpoints.pop_front();
        }
        while (!m_backfillCheckpoints.empty() && m_backfillCheckpoints.front().required <= settled) {
            m_unreported.backfill_checkpoint = std::move(m_backfillCheckpoints.front().backfill);
            m_unreported.backfill_done = m_backfillCheckpoints.front().backfill_done;
            m_haveUnreported = true;
            m_backfillCheckpoints.pop_front();
        }
    }
    takeGaps();
    if (m_haveUnreported) report();
}

void RelaySync::flush() { settle(); }

void RelaySync::report() {
    if (!m_haveUnreported) return;
    m_unreported.url = m_url;
    if (!m_reports.reportProgress(m_unreported)) return;  // kept; offered again at the next settle tick
    m_unreported = SyncProgress{};
    m_haveUnreported = false;
}

void RelaySync::describe(net::SyncStatus& out) const {
    out = m_status;
    if (m_backfill) {
        const auto p = m_backfill->progress();
        out.backfill_fraction = p.fraction;
        out.backfill_cursor = p.cursor;
        out.backfill_queries = p.queries;
    }
    out.catching_up = m_catchUp != nullptr || (m_pass && !m_passPeriodic);
    out.method = negentropyAllowed() ? observe::SyncMethod::Negentropy : observe::SyncMethod::Req;
    out.negentropy = m_verdict.support;
    out.negentropy_reason = m_verdict.reason;
    out.negentropy_retry_after_ms = m_verdict.retry_after_ms;
    out.reconcile_fraction = m_pass ? m_pass->fraction() : 0.0;
    out.subscriptions = m_subs.openCount();
}

}  // namespace archivist::sync
