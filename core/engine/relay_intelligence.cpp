#include "core/engine/relay_intelligence.h"

#include <QDateTime>
#include <QMetaObject>
#include <QThread>
#include <QTimer>
#include <algorithm>
#include <cmath>
#include <deque>

#include "core/engine/relay_rows.h"
#include "core/net/address_policy.h"
#include "core/net/relay_pool.h"
#include "core/net/relay_prober.h"
#include "core/observe/log.h"
#include "core/observe/metrics.h"
#include "core/relays/hourly_stats.h"
#include "core/relays/relay_optimizer.h"
#include "core/relays/relay_score.h"
#include "core/relays/relay_state_owner.h"
#include "core/relays/relay_state_store.h"
#include "core/util/clock.h"

namespace archivist::engine {

// The prober on its own network thread; hands every result to the owner of relay state.
// Results the owner cannot take now wait here (bounded: while kMaxUnsent wait, no new probe is
// started, so the prober's own bounds hold the rest).
class ProberHost : public QObject {
public:
    static constexpr size_t kMaxUnsent = 256;
    ProberHost(net::ProberOptions options, observe::MetricsRegistry* metrics, net::ConnectionReports& reports)
        : m_options(std::move(options)), m_metrics(metrics), m_reports(reports) {}
    // On the host's thread, before anything else.
    void init() {
        m_prober = new net::RelayProber(m_options, m_metrics, this);
        QObject::connect(m_prober, &net::RelayProber::probeFinished, this,
                         [this](const net::ProbeResult& r) { deliver(r); });
        m_retry = new QTimer(this);  // created here: it must live on this thread
        QObject::connect(m_retry, &QTimer::timeout, this, [this] { retry(); });
        m_retry->start(1000);
    }
    void enqueue(const std::vector<std::string>& urls) {
        if (!m_prober || m_unsent.size() >= kMaxUnsent) return;
        for (const auto& u : urls) m_prober->enqueue(u);
    }
    void shutdown() {
        if (m_retry) m_retry->stop();
        retry();
        if (m_prober) m_prober->stop();
        if (!m_unsent.empty())
            qCWarning(lcRelays) << m_unsent.size() << "probe results not recorded: the relay-state owner refused them";
    }

private:
    void deliver(const net::ProbeResult& r) {
        if (m_unsent.empty() && m_reports.reportProbe(r)) return;
        m_unsent.push_back(r);
    }
    void retry() {
        while (!m_unsent.empty() && m_reports.reportProbe(m_unsent.front())) m_unsent.pop_front();
    }
    net::ProberOptions m_options;
    observe::MetricsRegistry* m_metrics;
    net::ConnectionReports& m_reports;
    net::RelayProber* m_prober = nullptr;
    QTimer* m_retry = nullptr;
    std::deque<net::ProbeResult> m_unsent;
};

namespace {

constexpr int64_t kDiscoveryFlushMs = 2000;
constexpr int64_t kHourMs = 3600 * 1000;

ScoreView toView(const relays::ScoreBreakdown& b) {
    ScoreView v;
    v.total = b.total;
    v.novelty = b.novelty;
    v.uptime = b.uptime;
    v.latency = b.latency;
    v.rejection = b.rejection;
    v.confidence = b.confidence;
    v.exploration = b.exploration;
    v.floor_applied = b.floor_applied;
    return v;
}

std::string scoreJson(const relays::ScoreBreakdown& b) {
    auto num = [](double d) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.6g", d);
        return std::string(buf);
    };
    return "{\"total\":" + num(b.total) + ",\"novelty\":" + num(b.novelty) + ",\"uptime\":" + num(b.uptime) +
           ",\"latency\":" + num(b.latency) + ",\"rejection\":" + num(b.rejection) + ",\"confidence\":" +
           num(b.confidence) + ",\"exploration\":" + num(b.exploration) + ",\"floor\":" +
           (b.floor_applied ? "true" : "false") + "}";
}

}  // namespace

RelayIntelligence::RelayIntelligence(IntelligenceOptions options, relays::RelayStateOwner& owner, net::RelayPool* pool,
                                     std::shared_ptr<const net::AddressPolicy> policy, observe::MetricsRegistry& metrics,
                                     DirectoryAnswer answer)
    : m_opts(std::move(options)), m_owner(owner), m_pool(pool), m_policy(std::move(policy)), m_metrics(metrics),
      m_answer(std::move(answer)) {
    m_hourly = std::make_unique<relays::HourlyStats>(std::max<size_t>(m_opts.max_relays, 1) * 2);
    relays::OptimizerParams op;
    op.max_relays = m_opts.max_relays;
    op.block_after_failures = m_opts.block_after_failures;
    op.block_retry_ms = m_opts.block_retry_ms;
    m_optimizer = std::make_unique<relays::Optimizer>(op);
    m_discoveryOptions.policy = m_policy.get();
    m_view.max_relays = int(m_opts.max_relays);
    m_view.optimizer_enabled = m_opts.auto_relays && m_pool;
    m_view.next_cycle_ms = wallMs() + m_opts.first_cycle_ms;
    m_pendingUrls.reserve(256);
    m_owner.setTicker([this](relays::RelayStateStore& store, int64_t now_ms) { return tick(store, now_ms); });

    metrics.gaugeFn("archivist_cache_entries", "Entries in a bounded cache", {{"cache", "discovered_urls"}},
                    [this] {
                        std::lock_guard lock(m_discoveryMutex);
                        return double(m_pendingUrls.size());
                    },
                    this);
    metrics.gaugeFn("archivist_cache_capacity", "Capacity of a bounded cache", {{"cache", "discovered_urls"}},
                    [] { return double(kMaxPendingUrls); }, this);
    metrics.gaugeFn("archivist_cache_entries", "Entries in a bounded cache", {{"cache", "relay_hourly_stats"}},
                    [this] { return double(m_hourly->entries()); }, this);
    metrics.gaugeFn("archivist_cache_capacity", "Capacity of a bounded cache", {{"cache", "relay_hourly_stats"}},
                    [this] { return double(m_hourly->capacity()); }, this);
    metrics.gaugeFn("archivist_discovery_overflow_total", "Discovered relay URLs not queued because the set was full",
                    {}, [this] {
                        std::lock_guard lock(m_discoveryMutex);
                        return double(m_discoveryOverflow);
                    },
                    this);
    for (size_t i = 0; i < relays::kDiscoveryJunkCount; ++i) {
        metrics.gaugeFn("archivist_discovery_rejected_total", "Relay URLs found in events and rejected, by reason",
                        {{"reason", relays::discoveryJunkName(relays::DiscoveryJunk(i))}},
                        [this, i] {
                            std::lock_guard lock(m_discoveryMutex);
                            return double(m_discoveryCounters.junk[i]);
                        },
                        this);
    }
    for (size_t i = 0; i < relays::kDiscoverySourceCount; ++i) {
        metrics.gaugeFn("archivist_discovery_found_total", "Relay URLs found in stored events, by source",
                        {{"source", relays::discoverySourceName(relays::DiscoverySource(i))}},
                        [this, i] {
                            std::lock_guard lock(m_discoveryMutex);
                            return double(m_discoveryCounters.found[i]);
                        },
                        this);
    }
    metrics.gaugeFn("archivist_optimizer_cycles_total", "Relay optimizer cycles run", {},
                    [this] { return double(m_cycles.load()); }, this);
    metrics.gaugeFn("archivist_relay_outcomes_overflow_total",
                    "Connection outcomes not recorded because the pending set was full", {},
                    [this] { return double(m_outcomeOverflow.load()); }, this);
    metrics.gaugeFn("archivist_relay_stats_overflow_total",
                    "Relay statistics updates not kept (more relays in an hour than the bound)", {},
                    [this] { return double(m_hourly->overflowUpdates()); }, this);
    metrics.gaugeFn("archivist_relay_stats_flush_failures_total", "Failed writes of hourly relay statistics (retried)",
                    {}, [this] { return double(m_hourly->flushFailures()); }, this);
}

RelayIntelligence::~RelayIntelligence() {
    stop();
    m_owner.stop();  // no job of ours may run after this object is gone
    m_metrics.removeGaugeFns(this);
}

void RelayIntelligence::start() {
    if (m_started) return;
    m_started = true;
    if (!m_opts.auto_relays || !m_pool) return;
    net::ProberOptions po;
    po.policy = m_policy;
    m_proberThread = new QThread();
    m_proberThread->setObjectName(QStringLiteral("relay-probes"));
    m_prober = new ProberHost(po, &m_metrics, m_owner);
    m_prober->moveToThread(m_proberThread);
    QObject::connect(m_proberThread, &QThread::finished, m_prober, &QObject::deleteLater);
    m_proberThread->start();
    std::lock_guard lock(m_proberMutex);
    ProberHost* host = m_prober;
    QMetaObject::invokeMethod(host, [host] { host->init(); }, Qt::QueuedConnection);
}

void RelayIntelligence::stop() {
    if (m_stopped) return;
    m_stopped = true;
    if (m_proberThread) {
        ProberHost* host = nullptr;
        {
            std::lock_guard lock(m_proberMutex);  // the owner thread posts probes under it
            std::swap(host, m_prober);
        }
        QThread* thread = m_proberThread;
        // The host's last job: stop probing, hand over what it holds, end the thread's loop.
        QMetaObject::invokeMethod(host, [host, thread] {
            host->shutdown();
            thread->quit();
        }, Qt::QueuedConnection);
        thread->wait();
        delete thread;  // the host was deleted on its thread when the loop ended
        m_proberThread = nullptr;
    }
    // Whatever was counted since the last flush, written by the owner before it stops.
    if (m_started && !m_owner.post([this](relays::RelayStateStore& store) {
            processStatuses();
            flushDiscoveries(store, wallMs());
            flushOutcomes(store);
            flushStatistics(store, wallMs(), "at shutdown");
        }))
        qCWarning(lcRelays) << "relay statistics of the last minutes not written: the relay-state owner is not running";
}

// ---------------------------------------------------------------- other threads

void RelayIntelligence::observeStoredEvent(const protocol::Event& ev) {
    if (!m_opts.discovery) return;
    std::lock_guard lock(m_discoveryMutex);
    auto found = relays::discoverRelays(ev, m_discoveryCounters, m_discoveryOptions);
    for (auto& d : found) {
        if (!queueDiscovered(std::move(d))) continue;
        if (m_pendingUrls.size() == kMaxPendingUrls / 2) {
            // Flush early rather than overflow during a fast import.
            m_flushRequested.store(true);
            m_owner.nudge();
        }
    }
}

bool RelayIntelligence::queueDiscovered(relays::DiscoveredUrl&& d) {
    if (m_pendingSet.count(d.url)) return false;
    if (m_pendingUrls.size() >= kMaxPendingUrls) {
        ++m_discoveryOverflow;
        return false;
    }
    m_pendingSet.insert(d.url);
    m_pendingUrls.push_back(std::move(d));
    return true;
}

void RelayIntelligence::observeStatuses(std::vector<RelayRow> statuses, int64_t now_ms) {
    {
        std::lock_guard lock(m_statusMutex);
        m_latestStatuses = std::make_pair(std::move(statuses), now_ms);
    }
    // Processed promptly: a relay's first snapshot is the baseline of its deltas.
    m_owner.nudge();
}


quint64 RelayIntelligence::requestDirectory(const DirectoryRequest& request) {
    const quint64 id = m_nextRequestId.fetch_add(1);
    m_latestDirectory.store(id);  // a newer request supersedes this one if it is still waiting
    const bool posted = m_owner.post([this, id, request](relays::RelayStateStore& store) {
        if (m_latestDirectory.load() == id) answerDirectory(store, id, request);
    });
    if (!posted && m_answer) {
        DirectoryPage busy;
        busy.ok = false;
        busy.error = QStringLiteral("the relay directory is busy; try again");
        m_answer(id, busy);
    }
    return id;
}

quint64 RelayIntelligence::requestRelayInfo(const std::string& url) {
    const quint64 id = m_nextRequestId.fetch_add(1);
    m_latestInfo.store(id);
    const bool posted = m_owner.post([this, id, url](relays::RelayStateStore& store) {
        if (m_latestInfo.load() != id) return;
        auto doc = store.nip11().newest(url);
        if (!doc) qCWarning(lcRelays) << "NIP-11 document of" << url.c_str() << "not read:" << doc.error().message.c_str();
        if (m_infoAnswer) m_infoAnswer(id, url, doc ? *doc : std::string());
    });
    if (!posted && m_infoAnswer) m_infoAnswer(id, url, std::string());
    return id;
}

bool RelayIntelligence::postCommand(Command command) {
    return m_owner.post([this, command = std::move(command)](relays::RelayStateStore& store) {
        auto r = execute(store, command);
        if (r) return;
        qCWarning(lcRelays) << "relay action on" << command.url.text.c_str() << "failed:" << r.error().message.c_str();
        if (m_commandFailed) m_commandFailed(command, r.error().message);
    });
}

bool RelayIntelligence::addStartupRelays(std::vector<std::pair<net::RelayUrl, std::string>> relays) {
    return m_owner.post([this, relays = std::move(relays)](relays::RelayStateStore& store) {
        for (const auto& [url, source] : relays)
            if (auto r = addToPool(store, url, source); !r)
                qCWarning(lcNet) << "relay" << url.text.c_str() << "not added:" << r.error().message.c_str();
        m_startupAdded.store(true);
    });
}

void RelayIntelligence::cycleNow() {
    m_cycleRequested.store(true);
    m_owner.nudge();
}

RelayIntelligenceView RelayIntelligence::view() const {
    std::lock_guard lock(m_viewMutex);
    return m_view;
}

std::unordered_map<std::string, RelayBrief> RelayIntelligence::briefs() const {
    std::lock_guard lock(m_viewMutex);
    return m_briefs;
}

void RelayIntelligence::notePinned(const std::string& url, bool pinned) {
    std::lock_guard lock(m_viewMutex);
    m_briefs[url].pinned = pinned;
    for (auto& r : m_view.scored)
        if (r.url.toStdString() == url) r.pinned = pinned;
}

// ---------------------------------------------------------------- owner thread

int64_t RelayIntelligence::tick(relays::RelayStateStore& store, int64_t now) {
    if (!m_timersSet) {
        m_timersSet = true;
        m_nextCycle = now + m_opts.first_cycle_ms;
        m_nextFlush = now + kDiscoveryFlushMs;
        m_nextHour = (now / kHourMs + 1) * kHourMs;  // statistics are flushed on the hour too
        std::lock_guard lock(m_viewMutex);
        m_view.next_cycle_ms = m_nextCycle;
    }
    processStatuses();
    if (m_flushRequested.exchange(false) || now >= m_nextFlush) {
        flushDiscoveries(store, now);
        flushOutcomes(store);
        m_nextFlush = now + kDiscoveryFlushMs;
    }
    if (now >= m_nextHour) {
        flushStatistics(store, now, "on the hour");
        m_nextHour = (now / kHourMs + 1) * kHourMs;
    }
    if (m_cycleRequested.exchange(false) || now >= m_nextCycle) {
        flushDiscoveries(store, now);
        flushOutcomes(store);
        cycle(store, now);
        m_nextCycle = wallMs() + m_opts.cycle_ms;
        std::lock_guard lock(m_viewMutex);
        m_view.next_cycle_ms = m_nextCycle;
    }
    return std::min({m_nextCycle, m_nextFlush, m_nextHour});
}

void RelayIntelligence::processStatuses() {
    std::vector<RelayRow> statuses;
    int64_t now_ms = 0;
    {
        std::lock_guard lock(m_statusMutex);
        if (!m_latestStatuses) return;
        statuses = std::move(m_latestStatuses->first);
        now_ms = m_latestStatuses->second;
        m_latestStatuses.reset();
    }
    std::unordered_map<std::string, Previous> next;
    next.reserve(statuses.size());
    for (const auto& s : statuses) {
        Previous cur;
        cur.events = s.events_received;
        cur.bytes = s.bytes_received;
        cur.stored = s.stored;
        cur.duplicate = s.duplicate;
        cur.connects = s.connects;
        cur.invalid = s.invalid_by_reason;
        cur.refused = s.refused_by_reason;
        cur.failures = s.consecutive_failures;
        cur.seen_ms = now_ms;
        // A relay new to the pool: its connection's counters start from zero (a new connection
        // object), but the pipeline's per-source counters live as long as the process — a relay
        // dropped and added again must not count its old events twice — so they are the baseline.
        auto it = m_previous.find(s.url);
        Previous fresh;
        fresh.seen_ms = now_ms;
        fresh.stored = cur.stored;
        fresh.duplicate = cur.duplicate;
        fresh.invalid = cur.invalid;
        const Previous& p = it != m_previous.end() ? it->second : fresh;
        {
            auto delta = [](uint64_t now, uint64_t before) { return now >= before ? now - before : now; };
            const uint64_t events = delta(cur.events, p.events);
            const uint64_t bytes = delta(cur.bytes, p.bytes);
            if (events || bytes) m_hourly->addReceived(s.url, events, bytes);
            relays::RejectCounts rejected{};
            bool anyRejected = false;
            for (size_t i = 0; i < rejected.size(); ++i) {
                rejected[i] = delta(cur.invalid[i], p.invalid[i]);
                anyRejected = anyRejected || rejected[i];
            }
            const uint64_t stored = delta(cur.stored, p.stored);
            const uint64_t dups = delta(cur.duplicate, p.duplicate);
            if (stored || dups || anyRejected) m_hourly->addOutcome(s.url, stored, dups, rejected);
            relays::RefusalCounts refused{};
            bool anyRefused = false;
            for (size_t i = 0; i < refused.size(); ++i) {
                refused[i] = delta(cur.refused[i], p.refused[i]);
                anyRefused = anyRefused || refused[i];
            }
            if (anyRefused) m_hourly->addRefused(s.url, refused);
            if (s.state == observe::RelayState::Connected) {
                cur.connected_ms_carry = p.connected_ms_carry + std::max<int64_t>(0, now_ms - p.seen_ms);
                if (cur.connected_ms_carry >= 1000) {
                    m_hourly->addConnectedSeconds(s.url, cur.connected_ms_carry / 1000);
                    cur.connected_ms_carry %= 1000;
                }
            }
            auto outcome = [&](bool ok, const std::string& error) {
                if (m_outcomes.size() >= kMaxPendingOutcomes) {
                    ++m_outcomeOverflow;
                    return;
                }
                m_outcomes.push_back(Outcome{s.url, now_ms, ok, ok ? s.rtt_ms : -1, error});
            };
            if (cur.connects > p.connects) outcome(true, {});
            if (cur.failures > p.failures) {
                m_hourly->addFailure(s.url, uint64_t(cur.failures - p.failures));
                outcome(false, s.last_error);
            }
        }
        next.emplace(s.url, cur);
    }
    m_previous = std::move(next);  // relays no longer in the pool are forgotten: bounded by the pool
    m_lastStatuses = std::move(statuses);
}

void RelayIntelligence::flushStatistics(relays::RelayStateStore& store, int64_t now_ms, const char* when) {
    // HourlyStats keeps the rows of a failed flush for the next one.
    if (auto r = m_hourly->flush(store, now_ms); !r)
        m_owner.countWriteError(std::string("hourly relay statistics ") + when, r.error().message);
}

void RelayIntelligence::flushDiscoveries(relays::RelayStateStore& store, int64_t now_ms) {
    std::vector<relays::DiscoveredUrl> batch;
    {
        std::lock_guard lock(m_discoveryMutex);
        batch.swap(m_pendingUrls);
        m_pendingSet.clear();
    }
    if (batch.empty()) return;
    auto added = store.directory().upsertDiscovered(batch, now_ms);
    if (!added) {
        m_owner.countWriteError(std::to_string(batch.size()) + " discovered relay URLs", added.error().message);
        // Kept for the next flush, within the bound (what does not fit counts as overflow).
        std::lock_guard lock(m_discoveryMutex);
        for (auto& d : batch) queueDiscovered(std::move(d));
        return;
    }
    if (*added) qCInfo(lcRelays) << *added << "new relays discovered";
}

void RelayIntelligence::flushOutcomes(relays::RelayStateStore& store) {
    std::vector<Outcome> outcomes;
    outcomes.swap(m_outcomes);
    for (size_t i = 0; i < outcomes.size(); ++i) {
        const auto& o = outcomes[i];
        if (auto r = store.observations().recordOutcome(o.url, o.at_ms, relays::OutcomeKind::Connect, o.ok, o.rtt_ms, -1,
                                                        o.error);
            !r) {
            m_owner.countWriteError("connection outcome of " + o.url, r.error().message);
            m_outcomes.insert(m_outcomes.begin(), outcomes.begin() + ptrdiff_t(i), outcomes.end());
            return;
        }
    }
}

Expected<void> RelayIntelligence::addToPool(relays::RelayStateStore& store, const net::RelayUrl& url,
                                            const std::string& source) {
    if (!m_pool) return makeError("no_network", "the relay network is not running");
    auto& dir = store.directory();
    auto rec = dir.find(url.text);
    if (!rec) return toError(rec.error());
    const bool blocked = *rec && (*rec)->blocked;
    if (blocked && source != "user") return makeError("blocked", url.text + " is blocked (unblock it first)");
    auto up = dir.upsert(url.text, source, wallMs());
    if (!up) return toError(up.error());
    if (blocked)  // the operator added it by hand: that lifts the block
        if (auto r = dir.setBlocked(url.text, false); !r) return toError(r.error());
    auto resume = store.sync().resume(url.text);
    if (!resume) return toError(resume.error());
    net::RelayAdd add;
    add.url = url;
    add.start.source = source;
    add.start.consecutive_failures = up->consecutive_failures;
    if (m_opts.make_driver)
        add.driver = [make = m_opts.make_driver, u = url.text, r = resume->value_or(sync::SyncResume{})] {
            return make(u, r);
        };
    auto added = m_pool->addRelay(std::move(add));
    if (added || added.error().code == net::PoolErrorCode::Exists) return {};
    return toError(added.error());
}

Expected<void> RelayIntelligence::execute(relays::RelayStateStore& store, const Command& c) {
    if (!m_pool) return makeError("no_network", "the relay network is not running");
    const auto pooled = [](Expected<void, net::PoolError> r) -> Expected<void> {
        if (r) return {};
        return toError(r.error());
    };
    switch (c.kind) {
    case CommandKind::Add: return addToPool(store, c.url, "user");
    case CommandKind::Pin:
    case CommandKind::Unpin: {
        const bool pin = c.kind == CommandKind::Pin;
        if (pin)
            if (auto up = store.directory().upsert(c.url.text, "user", wallMs()); !up) return toError(up.error());
        if (auto r = store.directory().setPinned(c.url.text, pin); !r) return toError(r.error());
        notePinned(c.url.text, pin);
        // A pinned relay is connected at once (the optimizer makes room at its next cycle).
        if (pin) return addToPool(store, c.url, "user");
        return {};
    }
    case CommandKind::Connect: return pooled(m_pool->connectRelay(c.url.text));
    case CommandKind::Disconnect: return pooled(m_pool->disconnectRelay(c.url.text));
    case CommandKind::Block:
    case CommandKind::Unblock: {
        // The directory's block (the operator's decision) here; the connection reports its own state.
        const bool block = c.kind == CommandKind::Block;
        if (auto r = store.directory().setBlocked(c.url.text, block); !r) return toError(r.error());
        return pooled(block ? m_pool->blockRelay(c.url.text) : m_pool->unblockRelay(c.url.text));
    }
    case CommandKind::BackfillNow: return pooled(m_pool->backfillNow(c.url.text));
    case CommandKind::Remove:
        if (auto r = store.directory().markRemoved(c.url.text); !r) return toError(r.error());
        notePinned(c.url.text, false);
        return pooled(m_pool->removeRelay(c.url.text));
    }
    return {};
}

void RelayIntelligence::answerDirectory(relays::RelayStateStore& store, quint64 id, const DirectoryRequest& request) {
    relays::DirectoryQuery q;
    q.text = request.text.toStdString();
    q.source = request.source.toStdString();
    q.status = request.status;
    q.include_blocked = request.include_blocked;
    q.offset = size_t(std::max(0, request.offset));
    q.limit = size_t(std::clamp(request.limit, 1, 5000));
    q.order = request.order == QLatin1String("url")         ? relays::DirectoryQuery::Order::Url
              : request.order == QLatin1String("last_seen") ? relays::DirectoryQuery::Order::LastSeen
                                                            : relays::DirectoryQuery::Order::Score;
    q.now_ms = wallMs();
    DirectoryPage page;
    auto r = store.directory().page(q);
    if (!r) {
        page.ok = false;
        page.error = QString::fromStdString(r.error().message);
    } else {
        page.total_matching = r->total_matching;
        page.rows.reserve(int(r->rows.size()));
        for (const auto& row : r->rows) {
            DirectoryEntryView v;
            v.url = QString::fromStdString(row.record.url);
            v.source = QString::fromStdString(row.record.source);
            v.status = row.record.status;
            v.pinned = row.record.pinned;
            v.blocked = row.record.blocked;
            v.consecutive_failures = row.record.consecutive_failures;
            v.last_error = QString::fromStdString(row.record.last_error);
            v.first_seen_ms = row.record.first_seen_ms;
            v.last_seen_ms = row.record.last_seen_ms;
            v.score = row.score.value_or(-1);
            v.uptime_24h = row.uptime_24h;
            v.uptime_7d = row.uptime_7d;
            v.open_rtt_ms = row.last_probe.open_rtt_ms;
            v.read_rtt_ms = row.last_probe.read_rtt_ms;
            v.last_probe_ms = row.last_probe.at_ms;
            v.last_probe_ok = row.last_probe.ok;
            v.nip11_name = QString::fromStdString(row.nip11.name);
            v.nip11_software = QString::fromStdString(row.nip11.software);
            v.nip11_summary = QString::fromStdString(row.nip11.summary);
            page.rows.push_back(std::move(v));
        }
    }
    if (m_answer) m_answer(id, page);
}

void RelayIntelligence::cycle(relays::RelayStateStore& store, int64_t now_ms) {
    flushStatistics(store, now_ms, "for the cycle");

    // The pool's own view is the current truth (its methods are thread-safe); without a pool, the
    // last statuses the engine reported.
    std::vector<RelayRow> statuses;
    if (m_pool)
        for (const auto& st : m_pool->statuses()) statuses.push_back(relayRow(st));
    else
        statuses = m_lastStatuses;
    // Directory facts of the pool's relays (pinned, source, tries, failure block).
    std::unordered_map<std::string, relays::RelayRecord> records;
    for (const auto& s : statuses) {
        auto rec = store.directory().find(s.url);
        if (rec && *rec) records.emplace(s.url, **rec);
    }

    // Statistics of every relay with data in the window, and the network median of novelty.
    auto aggregates = store.observations().aggregates({}, now_ms, m_opts.window_hours);
    if (!aggregates) {
        qCWarning(lcRelays) << "relay statistics not readable, cycle skipped:" << aggregates.error().message.c_str();
        return;
    }
    std::unordered_map<std::string, const relays::RelayAggregate*> byUrl;
    std::vector<double> rates;
    for (const auto& a : *aggregates) {
        byUrl.emplace(a.url, &a);
        // Relays with at least an hour connected: shorter windows are too noisy for the median.
        if (a.connected_s >= 3600) rates.push_back(double(a.novel) * 3600.0 / double(a.connected_s));
    }
    double median = 0;
    if (!rates.empty()) {
        std::nth_element(rates.begin(), rates.begin() + ptrdiff_t(rates.size() / 2), rates.end());
        median = rates[rates.size() / 2];
    }

    relays::ScoreParams params;
    auto inputsFor = [&](const std::string& url, const relays::RelayRecord* rec, int failures) {
        relays::ScoreInputs in;
        in.network_median_novel_per_hour = median;
        in.consecutive_failures = failures;
        if (rec) {
            in.seed = rec->source == "seed";
            in.pinned = rec->pinned;
            in.tries = rec->tries;
        }
        // A NIP-66 report's round trip stands in until we measured our own (a prefilter, never the truth).
        if (rec && rec->nip66_reported_at > 0 && rec->nip66_rtt_open_ms >= 0) in.rtt_ms = rec->nip66_rtt_open_ms;
        auto it = byUrl.find(url);
        if (it != byUrl.end()) {
            const auto& a = *it->second;
            const double hours = double(a.connected_s) / 3600.0;
            in.observed_hours = hours;
            in.novel_per_hour = hours > 0 ? double(a.novel) / hours : 0;
            in.rejected_fraction = a.received ? double(a.rejected) / double(a.received) : -1;
            in.uptime_24h = a.uptime_24h;
            in.uptime_7d = a.uptime_7d;
            if (a.median_open_rtt_ms >= 0) in.rtt_ms = a.median_open_rtt_ms;
        }
        return in;
    };

    // Score everything with data plus the pool's relays.
    std::vector<relays::ScoreUpdate> updates;
    std::unordered_map<std::string, relays::ScoreBreakdown> scored;
    for (const auto& s : statuses) {
        auto rit = records.find(s.url);
        const relays::RelayRecord* rec = rit == records.end() ? nullptr : &rit->second;
        const auto b = relays::scoreRelay(inputsFor(s.url, rec, s.consecutive_failures), params);
        scored[s.url] = b;
    }
    for (const auto& a : *aggregates) {
        if (scored.count(a.url)) continue;
        auto rec = store.directory().find(a.url);
        const relays::RelayRecord* r = rec && *rec ? &**rec : nullptr;
        scored[a.url] = relays::scoreRelay(inputsFor(a.url, r, r ? r->consecutive_failures : 0), params);
    }

    // The optimizer: the active set and the best candidates.
    std::vector<relays::OptimizerRelay> active;
    std::set<std::string> activeUrls;
    for (const auto& s : statuses) {
        activeUrls.insert(s.url);
        if (!observe::isLiveState(s.state) && s.state != observe::RelayState::Candidate) continue;
        relays::OptimizerRelay o;
        o.url = s.url;
        o.score = scored[s.url].total;
        o.connected = true;
        auto rit = records.find(s.url);
        if (rit != records.end()) {
            o.pinned = rit->second.pinned;
            o.blocked = rit->second.blocked;
            o.tries = rit->second.tries;
            o.last_attempt_ms = rit->second.last_attempt_ms;
            o.blocked_until_ms = rit->second.blocked_until_ms;
        }
        // The pool knows sources the directory may not (cli/config relays are operator choices).
        if (s.source == "cli" || s.source == "config" || s.source == "user") o.pinned = true;
        o.consecutive_failures = s.consecutive_failures;
        active.push_back(std::move(o));
    }
    std::vector<relays::OptimizerRelay> candidates;
    std::vector<relays::RelayRecord> candidateRecords;
    if (auto best = store.directory().bestCandidates(RelayIntelligenceView::kTopCandidates, activeUrls, now_ms); best) {
        candidateRecords = std::move(*best);
        for (const auto& rec : candidateRecords) {
            // NIP-66 prefilter: a relay reported to require payment is not tried before our own
            // probe has looked at it (it is probed below; the probe, not the report, decides).
            if (rec.tries == 0 && rec.nip66_requires_payment == 1 && rec.last_probe_ms == 0) continue;
            relays::OptimizerRelay o;
            o.url = rec.url;
            auto sit = scored.find(rec.url);
            if (sit == scored.end())
                sit = scored.emplace(rec.url, relays::scoreRelay(inputsFor(rec.url, &rec, rec.consecutive_failures),
                                                                 params)).first;
            o.score = sit->second.total;
            o.pinned = rec.pinned;
            o.blocked = rec.blocked;
            o.consecutive_failures = rec.consecutive_failures;
            o.tries = rec.tries;
            o.last_attempt_ms = rec.last_attempt_ms;
            o.blocked_until_ms = rec.blocked_until_ms;
            candidates.push_back(std::move(o));
        }
    } else {
        qCWarning(lcRelays) << "relay candidates not readable:" << best.error().message.c_str();
    }

    // Every relay scored this cycle, candidates included, so the directory shows what was decided on.
    updates.reserve(scored.size());
    for (const auto& [url, b] : scored) updates.push_back(relays::ScoreUpdate{url, b.total, scoreJson(b)});
    if (auto w = store.directory().saveScores(updates, now_ms); !w)
        m_owner.countWriteError("relay scores (saved again at the next cycle)", w.error().message);

    // With auto_relays off the optimizer does not run: nothing it decided would be applied, and
    // the console must not show swaps that never happened.
    const bool optimize = m_opts.auto_relays && m_pool;
    const relays::OptimizerPlan plan = optimize ? m_optimizer->runCycle(active, candidates, now_ms) : relays::OptimizerPlan{};
    if (optimize) {
        for (const auto& [url, until] : plan.block)
            if (auto r = store.directory().setFailureBlock(url, until); !r)
                m_owner.countWriteError("failure block of " + url, r.error().message);
        for (const auto& url : plan.disconnect)
            if (auto r = m_pool->removeRelay(url); !r)
                qCInfo(lcRelays) << "optimizer: could not drop" << url.c_str() << r.error().message.c_str();
        for (const auto& url : plan.connect) {
            std::string source = "discovered";
            for (const auto& rec : candidateRecords)
                if (rec.url == url) source = rec.source;
            // The directory holds canonical URLs: this parses one, it checks nothing anew.
            auto parsed = net::normalizeRelayUrl(url);
            auto r = parsed ? addToPool(store, *parsed, source) : Expected<void>(toError(parsed.error()));
            if (!r) qCInfo(lcRelays) << "optimizer: could not add" << url.c_str() << r.error().message.c_str();
        }
        for (const auto& s : plan.swaps)
            qCInfo(lcRelays).noquote() << "optimizer:" << QString::fromStdString(s.removed) << "→"
                                       << QString::fromStdString(s.added) << QString::fromStdString(s.reason);
        // Probe the candidates that were not probed recently (the prober bounds rate and concurrency).
        std::vector<std::string> probe;
        for (const auto& rec : candidateRecords) {
            if (probe.size() >= m_opts.probes_per_cycle) break;
            if (rec.last_probe_ms && now_ms - rec.last_probe_ms < m_opts.reprobe_after_ms) continue;
            probe.push_back(rec.url);
        }
        std::lock_guard lock(m_proberMutex);
        if (m_prober && !probe.empty()) {
            ProberHost* host = m_prober;
            QMetaObject::invokeMethod(host, [host, probe] { host->enqueue(probe); }, Qt::QueuedConnection);
        }
    }

    // The view.
    RelayIntelligenceView v;
    v.max_relays = int(m_opts.max_relays);
    v.optimizer_enabled = optimize;
    v.last_cycle_ms = now_ms;
    v.connected = 0;
    std::unordered_map<std::string, RelayBrief> briefs;
    auto scoreView = [&](const std::string& url, const relays::RelayRecord* rec, const RelayRow* st) {
        RelayScoreView r;
        r.url = QString::fromStdString(url);
        const auto& b = scored[url];
        r.score = toView(b);
        if (rec) {
            r.source = QString::fromStdString(rec->source);
            r.status = rec->status;
            r.pinned = rec->pinned;
            r.blocked = rec->blocked;
        }
        if (st) {
            // The connection's own state: the Relays panel shows the same.
            r.connected = st->state == observe::RelayState::Connected;
            r.status = st->state;
            if (r.source.isEmpty()) r.source = QString::fromStdString(st->source);
        }
        auto it = byUrl.find(url);
        if (it != byUrl.end()) {
            const auto& a = *it->second;
            const double hours = double(a.connected_s) / 3600.0;
            r.novel_per_hour = hours > 0 ? double(a.novel) / hours : 0;
            r.received_per_hour = hours > 0 ? double(a.received) / hours : 0;
            r.uptime_24h = a.uptime_24h;
            r.uptime_7d = a.uptime_7d;
            r.rtt_ms = a.median_open_rtt_ms;
        }
        briefs[url] = RelayBrief{r.pinned, r.score.total, r.uptime_24h};
        return r;
    };
    for (const auto& s : statuses) {
        auto rit = records.find(s.url);
        v.scored.push_back(scoreView(s.url, rit == records.end() ? nullptr : &rit->second, &s));
        if (s.state == observe::RelayState::Connected) ++v.connected;
    }
    for (const auto& rec : candidateRecords) v.scored.push_back(scoreView(rec.url, &rec, nullptr));
    std::stable_sort(v.scored.begin(), v.scored.end(),
                     [](const RelayScoreView& a, const RelayScoreView& b) { return a.score.total > b.score.total; });
    v.score_histogram = QVector<double>(10, 0.0);
    for (const auto& [url, b] : scored) {
        const int bucket = std::clamp(int(std::floor(b.total * 10.0)), 0, 9);
        v.score_histogram[bucket] += 1;
    }
    for (const auto& s : m_optimizer->recentSwaps()) {
        if (v.recent_swaps.size() >= RelayIntelligenceView::kSwapCapacity) break;
        OptimizerSwapView sv;
        sv.at_ms = s.at_ms;
        sv.removed = QString::fromStdString(s.removed);
        sv.added = QString::fromStdString(s.added);
        sv.removed_score = s.removed_score;
        sv.added_score = s.added_score;
        sv.reason = QString::fromStdString(s.reason);
        v.recent_swaps.push_back(std::move(sv));
    }
    if (auto n = store.directory().count(); n) v.discovery.directory_size = *n;
    if (auto counts = store.directory().discoveryCounts(); counts)
        for (const auto& [source, n] : *counts) v.discovery.by_source.push_back({QString::fromStdString(source), n});
    {
        std::lock_guard lock(m_discoveryMutex);
        v.discovery.junk_rejected = m_discoveryCounters.junkTotal();
        for (size_t i = 0; i < relays::kDiscoveryJunkCount; ++i)
            if (m_discoveryCounters.junk[i])
                v.discovery.junk_by_reason.push_back(
                    {QString::fromUtf8(relays::discoveryJunkName(relays::DiscoveryJunk(i))), m_discoveryCounters.junk[i]});
    }
    {
        std::lock_guard lock(m_viewMutex);
        v.next_cycle_ms = m_view.next_cycle_ms;
        m_view = std::move(v);
        m_briefs = std::move(briefs);
    }
    m_cycles.fetch_add(1);
}

}  // namespace archivist::engine
