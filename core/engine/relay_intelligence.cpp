#include "core/engine/relay_intelligence.h"

#include <QDateTime>
#include <QMetaObject>
#include <QThread>
#include <algorithm>
#include <cmath>

#include "core/net/address_policy.h"
#include "core/net/relay_pool.h"
#include "core/net/relay_prober.h"
#include "core/observe/log.h"
#include "core/observe/metrics.h"
#include "core/relays/hourly_stats.h"
#include "core/relays/relay_optimizer.h"
#include "core/relays/relay_score.h"
#include "core/relays/relay_state_store.h"

namespace archivist::engine {

namespace {

int64_t nowMs() { return QDateTime::currentMSecsSinceEpoch(); }

constexpr int64_t kDiscoveryFlushMs = 2000;

bool isActiveState(net::RelayState s) {
    switch (s) {
    case net::RelayState::Resolving:
    case net::RelayState::FetchingInfo:
    case net::RelayState::Connecting:
    case net::RelayState::Open:
    case net::RelayState::BackingOff:
    case net::RelayState::Failing: return true;
    default: return false;
    }
}

QString directoryStatus(const net::RelayStatusView& s) {
    switch (s.state) {
    case net::RelayState::Open: return QStringLiteral("connected");
    case net::RelayState::BackingOff: return QStringLiteral("backing off");
    case net::RelayState::Failing: return QStringLiteral("failing");
    case net::RelayState::Blocked: return QStringLiteral("blocked");
    default: return QString::fromUtf8(net::relayStateName(s.state));
    }
}

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

RelayIntelligence::RelayIntelligence(IntelligenceOptions options, relays::RelayStateStore& store,
                                     net::RelayPool* pool, std::shared_ptr<const net::AddressPolicy> policy,
                                     observe::MetricsRegistry& metrics, DirectoryAnswer answer)
    : m_opts(options), m_store(store), m_pool(pool), m_policy(std::move(policy)), m_metrics(metrics),
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
    m_pendingUrls.reserve(256);

    metrics.gaugeFn("archivist_cache_entries", "Entries in a bounded cache", {{"cache", "discovered_urls"}},
                    [this] {
                        std::lock_guard lock(m_discoveryMutex);
                        return double(m_pendingUrls.size());
                    },
                    this);
    metrics.gaugeFn("archivist_cache_capacity", "Capacity of a bounded cache", {{"cache", "discovered_urls"}},
                    [] { return double(kMaxPendingUrls); }, this);
    metrics.gaugeFn("archivist_queue_depth", "Items waiting in a bounded queue", {{"queue", "relay_commands"}},
                    [this] { return double(m_commandDepth.load()); }, this);
    metrics.gaugeFn("archivist_queue_capacity", "Capacity of a bounded queue", {{"queue", "relay_commands"}},
                    [] { return double(kCommandCapacity); }, this);
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
                    "Connection outcomes not recorded because the pending set was full", {}, [this] {
                        std::lock_guard lock(m_statusMutex);
                        return double(m_outcomeOverflow);
                    },
                    this);
    metrics.gaugeFn("archivist_relay_stats_overflow_total",
                    "Relay statistics updates not kept (more relays in an hour than the bound)", {},
                    [this] { return double(m_hourly->overflowUpdates()); }, this);
    metrics.gaugeFn("archivist_relay_stats_flush_failures_total", "Failed writes of hourly relay statistics (retried)",
                    {}, [this] { return double(m_hourly->flushFailures()); }, this);
}

RelayIntelligence::~RelayIntelligence() {
    stop();
    m_metrics.removeGaugeFns(this);
}

void RelayIntelligence::start() {
    if (m_started) return;
    m_started = true;
    if (m_opts.auto_relays && m_pool) startProber();
    m_thread = std::thread([this] { run(); });
}

void RelayIntelligence::stop() {
    {
        std::lock_guard lock(m_mutex);
        if (m_stopping) return;
        m_stopping = true;
    }
    m_cv.notify_all();
    if (m_thread.joinable()) m_thread.join();
    stopProber();
    // Whatever was counted since the last flush.
    if (m_started) {
        flushOutcomes();
        if (auto r = m_hourly->flush(m_store, nowMs()); !r)
            qCWarning(lcRelays) << "relay statistics not flushed at shutdown:" << r.error().message.c_str();
    }
}

void RelayIntelligence::startProber() {
    net::ProberOptions po;
    po.policy = m_policy;
    m_proberThread = new QThread();
    m_proberThread->setObjectName(QStringLiteral("relay-probes"));
    m_proberThread->start();
    // Created on its own thread, so every timer and socket it makes lives there.
    m_proberContext = new QObject();
    m_proberContext->moveToThread(m_proberThread);
    QMetaObject::invokeMethod(
        m_proberContext,
        [this, po] {
            m_prober = new net::RelayProber(po, &m_metrics);
            QObject::connect(m_prober, &net::RelayProber::probeFinished, m_prober,
                             [this](const net::ProbeResult& r) { onProbe(r); }, Qt::DirectConnection);
        },
        Qt::BlockingQueuedConnection);
}

void RelayIntelligence::stopProber() {
    if (!m_proberThread) return;
    QMetaObject::invokeMethod(
        m_proberContext,
        [this] {
            if (m_prober) m_prober->stop();
            delete m_prober;
            m_prober = nullptr;
        },
        Qt::BlockingQueuedConnection);
    m_proberThread->quit();
    m_proberThread->wait();
    delete m_proberContext;  // its thread has finished: deleting it here is safe
    m_proberContext = nullptr;
    delete m_proberThread;
    m_proberThread = nullptr;
}

void RelayIntelligence::onProbe(const net::ProbeResult& r) {
    // Prober thread: the store is thread-safe and these are short single-row writes.
    if (auto w = m_store.recordOutcome(r.url, r.at_ms, "probe", r.ok, r.open_rtt_ms, r.read_rtt_ms, r.error); !w)
        qCWarning(lcRelays) << "probe of" << r.url.c_str() << "not recorded:" << w.error().message.c_str();
    if (!r.nip11_json.empty()) {
        if (auto w = m_store.saveRelayInfo(r.url, r.nip11_json, r.at_ms); !w)
            qCInfo(lcRelays) << "NIP-11 document of" << r.url.c_str() << "not kept:" << w.error().message.c_str();
    }
}

void RelayIntelligence::observeStoredEvent(const protocol::Event& ev) {
    if (!m_opts.discovery) return;
    std::lock_guard lock(m_discoveryMutex);
    auto found = relays::discoverRelays(ev, m_discoveryCounters, m_discoveryOptions);
    for (auto& d : found) {
        if (m_pendingSet.count(d.url)) continue;
        if (m_pendingUrls.size() >= kMaxPendingUrls) {
            ++m_discoveryOverflow;
            continue;
        }
        m_pendingSet.insert(d.url);
        m_pendingUrls.push_back(std::move(d));
        if (m_pendingUrls.size() == kMaxPendingUrls / 2) {
            // Flush early rather than overflow during a fast import.
            {
                std::lock_guard flush(m_mutex);
                m_flushRequested = true;
            }
            m_cv.notify_all();
        }
    }
}

void RelayIntelligence::observeStatuses(const std::vector<net::RelayStatusView>& statuses, int64_t now_ms) {
    std::lock_guard lock(m_statusMutex);
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
            if (s.state == net::RelayState::Open) {
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
    m_lastStatuses = statuses;
}

quint64 RelayIntelligence::requestDirectory(const DirectoryRequest& request) {
    const quint64 id = m_nextRequestId.fetch_add(1);
    {
        std::lock_guard lock(m_mutex);
        m_directoryRequest = std::make_pair(id, request);  // a newer request replaces an unanswered one
    }
    m_cv.notify_all();
    return id;
}

quint64 RelayIntelligence::requestRelayInfo(const std::string& url) {
    const quint64 id = m_nextRequestId.fetch_add(1);
    {
        std::lock_guard lock(m_mutex);
        m_infoRequest = std::make_pair(id, url);
    }
    m_cv.notify_all();
    return id;
}

void RelayIntelligence::notePinned(const std::string& url, bool pinned) {
    std::lock_guard lock(m_viewMutex);
    m_briefs[url].pinned = pinned;
    for (auto& r : m_view.scored)
        if (r.url.toStdString() == url) r.pinned = pinned;
}

bool RelayIntelligence::postCommand(Command command) {
    {
        std::lock_guard lock(m_mutex);
        if (m_stopping || m_commands.size() >= kCommandCapacity) return false;
        m_commands.push_back(std::move(command));
        m_commandDepth.store(m_commands.size());
    }
    m_cv.notify_all();
    return true;
}

Expected<void> RelayIntelligence::execute(const Command& c) {
    if (!m_pool) return makeError("no_network", "the relay network is not running");
    switch (c.kind) {
    case CommandKind::Add: {
        auto r = m_pool->addRelay(c.url, "user");
        if (!r && r.error().code != "exists") return r.error();
        return {};
    }
    case CommandKind::Pin:
    case CommandKind::Unpin: {
        const bool pin = c.kind == CommandKind::Pin;
        if (pin)
            if (auto up = m_store.upsert(c.url, "user", nowMs()); !up) return up.error();
        if (auto r = m_store.setPinned(c.url, pin); !r) return r;
        notePinned(c.url, pin);
        if (pin) {
            // A pinned relay is connected at once (the optimizer makes room at its next cycle).
            auto added = m_pool->addRelay(c.url, "user");
            if (!added && added.error().code != "exists") return added.error();
        }
        return {};
    }
    case CommandKind::Connect: return m_pool->connectRelay(c.url);
    case CommandKind::Disconnect: return m_pool->disconnectRelay(c.url);
    case CommandKind::Block: return m_pool->blockRelay(c.url);
    case CommandKind::Unblock: return m_pool->unblockRelay(c.url);
    case CommandKind::BackfillNow: return m_pool->backfillNow(c.url);
    case CommandKind::Remove: return m_pool->removeRelay(c.url);
    }
    return {};
}

void RelayIntelligence::executeAll(std::deque<Command>& commands) {
    for (const Command& c : commands) {
        auto r = execute(c);
        if (r) continue;
        qCWarning(lcRelays) << "relay action on" << c.url.c_str() << "failed:" << r.error().message.c_str();
        if (m_commandFailed) m_commandFailed(c, r.error().message);
    }
    commands.clear();
}

void RelayIntelligence::cycleNow() {
    {
        std::lock_guard lock(m_mutex);
        m_cycleRequested = true;
    }
    m_cv.notify_all();
}

RelayIntelligenceView RelayIntelligence::view() const {
    std::lock_guard lock(m_viewMutex);
    return m_view;
}

std::unordered_map<std::string, RelayBrief> RelayIntelligence::briefs() const {
    std::lock_guard lock(m_viewMutex);
    return m_briefs;
}

void RelayIntelligence::run() {
    int64_t nextCycle = nowMs() + m_opts.first_cycle_ms;
    {
        std::lock_guard lock(m_viewMutex);
        m_view.next_cycle_ms = nextCycle;
    }
    int64_t nextFlush = nowMs() + kDiscoveryFlushMs;
    constexpr int64_t kHourMs = 3600 * 1000;
    int64_t nextHour = (nowMs() / kHourMs + 1) * kHourMs;  // statistics are flushed on the hour too
    for (;;) {
        std::optional<std::pair<quint64, DirectoryRequest>> request;
        std::optional<std::pair<quint64, std::string>> info;
        std::deque<Command> commands;
        bool runCycle = false;
        bool stopNow = false;
        {
            std::unique_lock lock(m_mutex);
            const int64_t wake = std::min({nextCycle, nextFlush, nextHour});
            m_cv.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(wake - nowMs(), 1)), [&] {
                return m_stopping || m_directoryRequest || m_infoRequest || m_cycleRequested || m_flushRequested ||
                       !m_commands.empty();
            });
            commands.swap(m_commands);
            m_commandDepth.store(0);
            stopNow = m_stopping;
            if (m_flushRequested) nextFlush = 0;
            m_flushRequested = false;
            request.swap(m_directoryRequest);
            info.swap(m_infoRequest);
            runCycle = m_cycleRequested;
            m_cycleRequested = false;
        }
        executeAll(commands);  // before stopping too: the operator's last clicks still count
        if (stopNow) break;
        const int64_t now = nowMs();
        if (request) answerDirectory(request->first, request->second, now);
        if (info) {
            auto doc = m_store.relayInfo(info->second);
            if (!doc) qCWarning(lcRelays) << "NIP-11 document of" << info->second.c_str() << "not read:" << doc.error().message.c_str();
            if (m_infoAnswer) m_infoAnswer(info->first, info->second, doc ? *doc : std::string());
        }
        if (now >= nextFlush) {
            flushDiscoveries(now);
            flushOutcomes();
            nextFlush = now + kDiscoveryFlushMs;
        }
        if (now >= nextHour) {
            if (auto r = m_hourly->flush(m_store, now); !r)
                qCWarning(lcRelays) << "relay statistics not flushed on the hour (kept):" << r.error().message.c_str();
            nextHour = (now / kHourMs + 1) * kHourMs;
        }
        if (runCycle || now >= nextCycle) {
            flushDiscoveries(now);
            flushOutcomes();
            cycle(now);
            nextCycle = nowMs() + m_opts.cycle_ms;
            std::lock_guard lock(m_viewMutex);
            m_view.next_cycle_ms = nextCycle;
        }
    }
    flushDiscoveries(nowMs());
}

void RelayIntelligence::flushDiscoveries(int64_t now_ms) {
    std::vector<relays::DiscoveredUrl> batch;
    {
        std::lock_guard lock(m_discoveryMutex);
        batch.swap(m_pendingUrls);
        m_pendingSet.clear();
    }
    if (batch.empty()) return;
    auto added = m_store.upsertDiscovered(batch, now_ms);
    if (!added) {
        qCWarning(lcRelays) << batch.size() << "discovered relay URLs not written:" << added.error().message.c_str();
        return;
    }
    if (*added) qCInfo(lcRelays) << *added << "new relays discovered";
}

void RelayIntelligence::flushOutcomes() {
    std::vector<Outcome> outcomes;
    {
        std::lock_guard lock(m_statusMutex);
        outcomes.swap(m_outcomes);
    }
    for (const auto& o : outcomes) {
        if (auto r = m_store.recordOutcome(o.url, o.at_ms, "connect", o.ok, o.rtt_ms, -1, o.error); !r) {
            qCWarning(lcRelays) << "connection outcome of" << o.url.c_str() << "not recorded:" << r.error().message.c_str();
            return;
        }
    }
}

void RelayIntelligence::answerDirectory(quint64 id, const DirectoryRequest& request, int64_t now_ms) {
    relays::DirectoryQuery q;
    q.text = request.text.toStdString();
    q.source = request.source.toStdString();
    q.status = request.status.toStdString();
    q.include_blocked = request.include_blocked;
    q.offset = size_t(std::max(0, request.offset));
    q.limit = size_t(std::clamp(request.limit, 1, 5000));
    q.order = request.order == QLatin1String("url")         ? relays::DirectoryQuery::Order::Url
              : request.order == QLatin1String("last_seen") ? relays::DirectoryQuery::Order::LastSeen
                                                            : relays::DirectoryQuery::Order::Score;
    q.now_ms = now_ms;
    DirectoryPage page;
    auto r = m_store.page(q);
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
            v.status = QString::fromStdString(row.record.status);
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

void RelayIntelligence::cycle(int64_t now_ms) {
    if (auto r = m_hourly->flush(m_store, now_ms); !r)
        qCWarning(lcRelays) << "relay statistics not flushed (kept for the next cycle):" << r.error().message.c_str();

    // The pool's own view is the current truth (its methods are thread-safe); without a pool, the
    // last statuses the engine reported.
    std::vector<net::RelayStatusView> statuses;
    if (m_pool) {
        statuses = m_pool->statuses();
    } else {
        std::lock_guard lock(m_statusMutex);
        statuses = m_lastStatuses;
    }
    // Directory facts of the pool's relays (pinned, source, tries, failure block).
    std::unordered_map<std::string, relays::RelayRecord> records;
    for (const auto& s : statuses) {
        auto rec = m_store.find(s.url);
        if (rec && *rec) records.emplace(s.url, **rec);
    }

    // Statistics of every relay with data in the window, and the network median of novelty.
    auto aggregates = m_store.aggregates({}, now_ms, m_opts.window_hours);
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
        auto rec = m_store.find(a.url);
        const relays::RelayRecord* r = rec && *rec ? &**rec : nullptr;
        scored[a.url] = relays::scoreRelay(inputsFor(a.url, r, r ? r->consecutive_failures : 0), params);
    }

    // The optimizer: the active set and the best candidates.
    std::vector<relays::OptimizerRelay> active;
    std::set<std::string> activeUrls;
    for (const auto& s : statuses) {
        activeUrls.insert(s.url);
        if (!isActiveState(s.state) && s.state != net::RelayState::Idle) continue;
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
    if (auto best = m_store.bestCandidates(RelayIntelligenceView::kTopCandidates, activeUrls, now_ms); best) {
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
    if (auto w = m_store.saveScores(updates, now_ms); !w)
        qCWarning(lcRelays) << "relay scores not saved:" << w.error().message.c_str();

    // With auto_relays off the optimizer does not run: nothing it decided would be applied, and
    // the console must not show swaps that never happened.
    const bool optimize = m_opts.auto_relays && m_pool;
    const relays::OptimizerPlan plan = optimize ? m_optimizer->runCycle(active, candidates, now_ms) : relays::OptimizerPlan{};
    if (optimize) {
        for (const auto& [url, until] : plan.block)
            if (auto r = m_store.setFailureBlock(url, until); !r)
                qCWarning(lcRelays) << "failure block of" << url.c_str() << "not saved:" << r.error().message.c_str();
        for (const auto& url : plan.disconnect)
            if (auto r = m_pool->removeRelay(url); !r)
                qCInfo(lcRelays) << "optimizer: could not drop" << url.c_str() << r.error().message.c_str();
        for (const auto& url : plan.connect) {
            std::string source = "discovered";
            for (const auto& rec : candidateRecords)
                if (rec.url == url) source = rec.source;
            if (auto r = m_pool->addRelay(url, source); !r && r.error().code != "exists")
                qCInfo(lcRelays) << "optimizer: could not add" << url.c_str() << r.error().message.c_str();
        }
        for (const auto& s : plan.swaps)
            qCInfo(lcRelays).noquote() << "optimizer:" << QString::fromStdString(s.removed) << "→"
                                       << QString::fromStdString(s.added) << QString::fromStdString(s.reason);
        // Probe the candidates that were not probed recently (the prober bounds rate and concurrency).
        if (m_prober) {
            size_t queued = 0;
            for (const auto& rec : candidateRecords) {
                if (queued >= m_opts.probes_per_cycle) break;
                if (rec.last_probe_ms && now_ms - rec.last_probe_ms < m_opts.reprobe_after_ms) continue;
                const std::string url = rec.url;
                net::RelayProber* prober = m_prober;
                QMetaObject::invokeMethod(prober, [prober, url] { prober->enqueue(url); }, Qt::QueuedConnection);
                ++queued;
            }
        }
    }

    // The view.
    RelayIntelligenceView v;
    v.max_relays = int(m_opts.max_relays);
    v.optimizer_enabled = optimize;
    v.last_cycle_ms = now_ms;
    v.connected = 0;
    std::unordered_map<std::string, RelayBrief> briefs;
    auto scoreView = [&](const std::string& url, const relays::RelayRecord* rec, const net::RelayStatusView* st) {
        RelayScoreView r;
        r.url = QString::fromStdString(url);
        const auto& b = scored[url];
        r.score = toView(b);
        if (rec) {
            r.source = QString::fromStdString(rec->source);
            r.status = QString::fromStdString(rec->status);
            r.pinned = rec->pinned;
            r.blocked = rec->blocked;
        }
        if (st) {
            r.connected = st->state == net::RelayState::Open;
            r.status = directoryStatus(*st);
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
        if (s.state == net::RelayState::Open) ++v.connected;
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
    if (auto n = m_store.count(); n) v.discovery.directory_size = *n;
    if (auto counts = m_store.discoveryCounts(); counts)
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
