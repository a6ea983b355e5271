#include "core/sync/relay_sync.h"

#include <QDateTime>
#include <QPointer>
#include <algorithm>

#include "core/observe/log.h"
#include "core/protocol/hex.h"
#include "core/protocol/relay_message.h"
#include "core/sync/backfill_planner.h"
#include "core/sync/backfill_slots.h"
#include "core/sync/negentropy.h"

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

}  // namespace

RelaySync::RelaySync(std::string url, SyncOptions options, SyncResume resume, SyncReports& reports, BackfillSlots& backfill_slots)
    : m_url(std::move(url)), m_opts(std::move(options)), m_reports(reports), m_slots(backfill_slots) {
    if (resume.live_cursor) m_status.live_cursor = *resume.live_cursor;
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

RelaySync::~RelaySync() { m_slots.forget(m_url); }

// ---------------------------------------------------------------- session

void RelaySync::opened(net::RelayLink& link, const net::SessionInfo& session) {
    ++m_generation;
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
    // Catch-up: from the persisted live cursor (minus the margin) up to this session's start.
    if (m_status.live_cursor >= 0) {
        BackfillConfig cfg;
        cfg.floor = std::max<int64_t>(0, m_status.live_cursor - m_opts.live_margin_s);
        cfg.limit = queryLimit();
        cfg.negentropy = session.info && session.info->supports(77);
        cfg.max_kinds_per_filter = m_kindsPerFilter;
        m_catchUp = std::make_unique<BackfillPlanner>(cfg, m_opts.filter, session.opened_s);
    }
    if (m_backfillStart_s == 0) m_backfillStart_s = m_status.live_cursor >= 0 ? m_status.live_cursor : session.opened_s;
    const uint32_t cap = std::min(session.max_subscriptions, m_opts.max_subscriptions);
    // With a single subscription allowed, history first; live follows when sync has finished.
    if (cap >= 2 || (!m_catchUp && (m_backfillDone || !m_opts.backfill))) openLive();
    pump();
    m_pumpTimer.start(int(kPump_ms));
}

void RelaySync::closing() {
    if (!sessionOpen()) return;
    m_closing = true;
    m_pumpTimer.stop();
    m_queryTimer.stop();
    if (m_liveOpen) closeSubscription(kLiveSub);
    if (m_queryInFlight) {
        send(m_neg ? protocol::makeNegClose(m_querySub) : protocol::makeClose(m_querySub));
        m_subs.close(m_querySub);
    }
    m_liveOpen = false;
    m_queryInFlight = false;
    releaseSlot();
    m_slots.forget(m_url);
}

void RelaySync::closed() {
    ++m_generation;
    m_link = nullptr;
    m_closing = false;
    m_subs.clear();
    m_queryTimer.stop();
    m_pumpTimer.stop();
    m_liveOpen = false;
    m_queryInFlight = false;
    // The query in flight is abandoned: planners restart from their last completed query.
    m_catchUp.reset();
    m_backfill.reset();
    m_neg.reset();
    m_negNeed.clear();
    m_negFetching = false;
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

observe::EventRefusal RelaySync::admit(std::string_view subscription, std::string_view event_json) {
    std::optional<protocol::EventKeys> keys;
    const observe::EventRefusal verdict = m_subs.admit(subscription, event_json, keys);
    if (verdict != observe::EventRefusal::None) return verdict;
    if (m_queryInFlight && subscription == m_querySub) {
        if (BackfillPlanner* p = queryPlanner(); p && keys) p->onEvent(keys->id, keys->created_at, keys->kind);
        ++m_queryEvents;
        m_queryTimer.start(int(m_opts.query_timeout_ms));  // activity: not stalled
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
    if (m_negFetching && m_negFetched < m_negNeed.size()) {
        sendNegentropyFetch();  // next chunk of the window's ids
        return;
    }
    finishQuery(true, {});
    pump();
}

void RelaySync::refused(const std::string& sub, const std::string& prefix, const std::string& message) {
    const bool isQuery = m_queryInFlight && sub == m_querySub;
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

void RelaySync::notice(const std::string&) {
    // Many relays answer a REQ they refuse with a NOTICE instead of CLOSED. A NOTICE while a query
    // has had no answer at all is taken as that refusal: a split chunk with a long kinds list is
    // re-asked in short pieces (the commonest cause); otherwise the query gives up soon instead of
    // waiting for the full query timeout.
    if (!m_queryInFlight || m_queryEvents != 0 || m_neg || m_negFetching) return;
    BackfillPlanner* p = queryPlanner();
    if (p && m_queryKinds > kFallbackKindsPerFilter && p->onKindsListTooLong(kFallbackKindsPerFilter)) {
        closeSubscription(m_querySub);
        m_queryTimer.stop();
        m_queryInFlight = false;
        m_kindsPerFilter = kFallbackKindsPerFilter;
        pump();
        return;
    }
    m_queryTimer.start(int(std::min<int64_t>(m_opts.query_timeout_ms, kNoticeGrace_ms)));
}

void RelaySync::authenticated() {
    if (!m_liveOpen) openLive();
    pump();
}

// ---------------------------------------------------------------- subscriptions

void RelaySync::openLive() {
    if (m_liveOpen || !sessionOpen() || m_closing) return;
    protocol::Filter f = m_opts.filter;
    f.since = std::max<int64_t>(0, m_session.opened_s - m_opts.live_margin_s);
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

BackfillPlanner* RelaySync::queryPlanner() const { return m_queryIsCatchUp ? m_catchUp.get() : m_backfill.get(); }

void RelaySync::pump() {
    if (!sessionOpen() || m_closing || m_queryInFlight || m_link->authenticating()) return;
    // 1. Catch-up of what the relay got while we were away.
    if (m_catchUp) {
        if (!m_catchUp->done()) {
            m_queryIsCatchUp = true;
            sendQuery();
            if (m_queryInFlight) return;
        }
        if (m_catchUp && m_catchUp->done()) finishCatchUp();
    }
    // 2. Historical backfill, one slot-holder at a time per the global scheduler.
    if (!m_opts.backfill || m_backfillDone) {
        if (!m_liveOpen) openLive();
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
        cfg.negentropy = m_session.info && m_session.info->supports(77);
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
    m_queryIsCatchUp = false;
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
    m_querySub = (m_queryIsCatchUp ? "cu" : "bf") + std::to_string(++m_querySeq);
    if (q->type == BackfillQuery::Type::Negentropy) {
        startNegentropy(q->filter);
        return;
    }
    m_queryKinds = q->filter.kinds.size();
    if (!send(protocol::makeReq(m_querySub, {q->filter}))) return;
    m_subs.open(m_querySub, {q->filter});
    m_queryInFlight = true;
    m_queryEvents = 0;
    m_queryTimer.start(int(m_opts.query_timeout_ms));
}

void RelaySync::onQueryTimeout() {
    if (!m_queryInFlight) return;
    if (m_neg) send(protocol::makeNegClose(m_querySub));
    else closeSubscription(m_querySub);
    finishQuery(false, "timeout: no answer within " + std::to_string(m_opts.query_timeout_ms) + " ms");
    pump();
}

void RelaySync::finishQuery(bool completed, const std::string& reason) {
    m_queryTimer.stop();
    m_queryInFlight = false;
    m_neg.reset();
    m_negNeed.clear();
    m_negFetching = false;
    BackfillPlanner* p = queryPlanner();
    if (!p) return;
    if (completed) p->onEose();
    else p->onClosed(reason);
    takeGaps();
    if (!m_queryIsCatchUp) {
        m_backfillCheckpoint = p->checkpoint();
        pushCheckpoint(false, 0, m_backfillCheckpoint, p->done());
    }
}

void RelaySync::takeGaps() {
    for (BackfillPlanner* p : {m_catchUp.get(), m_backfill.get()}) {
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

bool RelaySync::startNegentropy(const protocol::Filter& window) {
    auto neg = Negentropy::create({}, 0, kMaxNegentropyIds);
    if (!neg) return false;
    m_neg = std::make_unique<Negentropy>(std::move(*neg));
    auto first = m_neg->initiate();
    if (!first) {
        m_neg.reset();
        return false;
    }
    protocol::Filter f = window;
    f.limit.reset();
    m_negNeed.clear();
    m_negFetched = 0;
    m_negFetching = false;
    const std::string hex = protocol::toHex(reinterpret_cast<const uint8_t*>(first->data()), first->size());
    if (!send(protocol::makeNegOpen(m_querySub, f, hex))) {
        m_neg.reset();
        return false;
    }
    m_queryInFlight = true;
    m_queryEvents = 0;
    m_queryTimer.start(int(m_opts.query_timeout_ms));
    return true;
}

void RelaySync::negentropy(const protocol::RelayMessage& msg) {
    if (!m_queryInFlight || !m_neg || msg.subscription_id != m_querySub) return;
    if (msg.type == protocol::RelayMsgType::NegErr) {
        finishQuery(false, "negentropy: " + bounded(msg.message, 200));
        pump();
        return;
    }
    std::string reply(msg.message.size() / 2, '\0');
    if (msg.message.size() % 2 ||
        !protocol::fromHex(msg.message, reinterpret_cast<uint8_t*>(reply.data()), reply.size())) {
        send(protocol::makeNegClose(m_querySub));
        finishQuery(false, "negentropy: reply is not hex");
        pump();
        return;
    }
    std::vector<protocol::Bytes32> have;
    auto next = m_neg->reconcile(reply, have, m_negNeed);
    if (!next) {
        send(protocol::makeNegClose(m_querySub));
        finishQuery(false, "negentropy: " + next.error().message);
        pump();
        return;
    }
    m_queryTimer.start(int(m_opts.query_timeout_ms));
    if (*next) {
        send(protocol::makeNegMsg(m_querySub, protocol::toHex(reinterpret_cast<const uint8_t*>((*next)->data()),
                                                              (*next)->size())));
        return;
    }
    send(protocol::makeNegClose(m_querySub));
    m_neg.reset();
    m_negFetching = true;
    m_negFetched = 0;
    if (m_negNeed.empty()) {
        finishQuery(true, {});
        pump();
        return;
    }
    sendNegentropyFetch();
}

void RelaySync::sendNegentropyFetch() {
    const size_t chunk = std::max<size_t>(1, std::min<size_t>(queryLimit(), 500));
    protocol::Filter f;
    const size_t end = std::min(m_negNeed.size(), m_negFetched + chunk);
    f.ids.assign(m_negNeed.begin() + long(m_negFetched), m_negNeed.begin() + long(end));
    f.limit = uint32_t(f.ids.size());
    m_negFetched = end;
    m_querySub = (m_queryIsCatchUp ? "cn" : "bn") + std::to_string(++m_querySeq);
    if (!send(protocol::makeReq(m_querySub, {f}))) return;
    m_subs.open(m_querySub, {f});
    m_queryTimer.start(int(m_opts.query_timeout_ms));
}

// ---------------------------------------------------------------- operator

void RelaySync::backfillNow() {
    if (!m_opts.backfill) return;
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
    if (sessionOpen()) pump();
}

// ---------------------------------------------------------------- cursors and checkpoints

void RelaySync::pushCheckpoint(bool live, int64_t cursor, std::string backfill, bool backfill_done) {
    Checkpoint c;
    c.required = m_link ? m_link->receivedMark() : 0;
    c.cursor = cursor;
    c.backfill = std::move(backfill);
    c.backfill_done = backfill_done;
    // Checkpoints only move forward, so when a queue is full its newest pending entry is replaced
    // by this newer one: reporting is delayed, never wrong.
    auto& queue = live ? m_liveCheckpoints : m_backfillCheckpoints;
    if (queue.size() >= kMaxCheckpoints) queue.back() = std::move(c);
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
        while (!m_liveCheckpoints.empty() && m_liveCheckpoints.front().required <= settled) {
            const int64_t cursor = m_liveCheckpoints.front().cursor;
            if (cursor > m_status.live_cursor) {
                m_status.live_cursor = cursor;
                m_unreported.live_cursor = std::max(m_unreported.live_cursor.value_or(cursor), cursor);
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
    out.catching_up = m_catchUp != nullptr;
    out.subscriptions = m_subs.openCount();
}

}  // namespace archivist::sync
