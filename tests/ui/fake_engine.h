#pragma once
// A scriptable engine for UI tests: implements every pure virtual of engine::Engine, records
// what the window asked for and publishes snapshots on demand. Tests that need more override
// what they need. Header-only (no Q_OBJECT: it adds no signals).
#include <QPair>
#include <QSet>
#include <QStringList>
#include <QTimer>
#include <QVector>
#include <algorithm>

#include "core/engine/engine.h"

class FakeEngine : public archivist::engine::Engine {
public:
    using RelayAction = archivist::engine::Engine::RelayAction;
    QStringList imported;
    bool running = false;
    bool cancelled = false;
    archivist::engine::EngineSnapshot current;
    QStringList added;                         // addRelay calls (URLs as passed)
    QSet<QString> refuseAdd;                   // URLs addRelay fails for ("exists")
    QVector<QPair<QString, RelayAction>> actions;
    QString actionError;                       // non-empty: relayAction fails with it
    QHash<QString, QString> infoDocuments;
    QStringList allowList;                     // the engine's --allow-address rules (checkRelayUrls)
    QStringList allowedLive;                   // allowAddress() calls
    QString allowError;                        // non-empty: allowAddress fails with it
    QList<quint64> acknowledged;               // acknowledgeIncident calls
    QList<bool> cleared;                       // clearIncidents calls
    int verifyStarts = 0;
    QString configFile;                        // configPath(); "" = no config file
    archivist::engine::EngineConfig config;    // currentConfig()
    archivist::engine::EngineConfig runningCfg;  // runningConfig()
    // Relay directory: every request is recorded (ids 1, 2, … in order) and answered from
    // `directory`, filtered, ordered and paged like the engine does. Manual by default
    // (answerDirectory()); answerDirectoryQueued answers each request on the next loop turn.
    QVector<archivist::engine::DirectoryEntryView> directory;
    QVector<archivist::engine::DirectoryRequest> directoryRequests;  // index = id - 1
    bool answerDirectoryQueued = false;
    bool hasDirectory = true;  // false: requestDirectory() returns 0 like an engine without one

    void startImport(const QStringList& files) override {
        imported = files;
        running = true;
    }
    int reindexStarts = 0;
    void startReindex() override {
        ++reindexStarts;
        running = true;
    }
    int salvageStarts = 0;
    bool salvageAcceptLoss = false;
    void startSalvage(bool accept_loss) override {
        ++salvageStarts;
        salvageAcceptLoss = accept_loss;
        running = true;
    }
    QStringList fetchIdsPaths;
    void startFetchIds(const QString& path) override {
        fetchIdsPaths << path;
        running = true;
    }
    QStringList exportPaths;
    void startExport(const archivist::engine::QueryFilter&, const QString& path) override {
        exportPaths << path;
        running = true;
    }
    void cancelJob() override { cancelled = true; }
    bool jobRunning() const override { return running; }
    archivist::engine::EngineSnapshot snapshot() const override { return current; }
    bool addRelay(const QString& url, QString* normalized, QString* error) override {
        added << url;
        if (refuseAdd.contains(url)) {
            if (error) *error = url + " is already in the pool";
            return false;
        }
        if (normalized) *normalized = url;
        return true;
    }
    bool allowAddress(const QString& cidr, QString* error) override {
        allowedLive << cidr;
        if (!allowError.isEmpty()) {
            if (error) *error = allowError;
            return false;
        }
        if (!allowList.contains(cidr)) allowList << cidr;  // as the engine: checkRelayUrls sees it at once
        return true;
    }
    bool relayAction(const QString& url, RelayAction action, QString* error) override {
        actions.push_back({url, action});
        if (!actionError.isEmpty()) {
            if (error) *error = actionError;
            return false;
        }
        for (auto& e : directory) {
            if (e.url != url) continue;
            if (action == RelayAction::Pin || action == RelayAction::Unpin) e.pinned = action == RelayAction::Pin;
            if (action == RelayAction::Block || action == RelayAction::Unblock) {
                e.blocked = action == RelayAction::Block;
                e.status = e.blocked ? archivist::observe::RelayState::Blocked : archivist::observe::RelayState::Candidate;
            }
        }
        return true;
    }
    quint64 requestDirectory(const archivist::engine::DirectoryRequest& request) override {
        if (!hasDirectory) return 0;
        directoryRequests.push_back(request);
        const quint64 id = quint64(directoryRequests.size());
        if (answerDirectoryQueued) QTimer::singleShot(0, this, [this, id] { answerDirectory(id); });
        return id;
    }
    // The page the engine would give for `request`.
    archivist::engine::DirectoryPage directoryPage(const archivist::engine::DirectoryRequest& request) const {
        QVector<archivist::engine::DirectoryEntryView> match;
        for (const auto& e : directory) {
            if (!request.text.isEmpty() && !e.url.contains(request.text, Qt::CaseInsensitive)) continue;
            if (!request.source.isEmpty() && e.source != request.source) continue;
            if (request.status && e.status != *request.status) continue;
            if (!request.include_blocked && e.blocked) continue;
            match.push_back(e);
        }
        std::stable_sort(match.begin(), match.end(), [&](const auto& a, const auto& b) {
            if (request.order == "url") return a.url < b.url;
            if (request.order == "last_seen") return a.last_seen_ms > b.last_seen_ms;
            return a.score > b.score;
        });
        archivist::engine::DirectoryPage page;
        page.total_matching = quint64(match.size());
        const int limit = std::clamp(request.limit, 1, 5000);
        page.rows = match.mid(std::min<int>(request.offset, int(match.size())), limit);
        return page;
    }
    // Answers request `id` from the directory as it is now (or with `page` when given).
    void answerDirectory(quint64 id) { emit directoryReady(id, directoryPage(directoryRequests.value(int(id) - 1))); }
    void answerDirectory(quint64 id, const archivist::engine::DirectoryPage& page) { emit directoryReady(id, page); }
    quint64 lastDirectoryId() const { return quint64(directoryRequests.size()); }
    // Answered later, as the real engine does (queued to this object's thread).
    quint64 requestRelayInfo(const QString& url) override {
        const quint64 id = ++m_infoRequests;
        const QString doc = infoDocuments.value(url);
        QMetaObject::invokeMethod(this, [this, id, url, doc] { emit relayInfoReady(id, url, doc); }, Qt::QueuedConnection);
        return id;
    }
    quint64 m_infoRequests = 0;
    // The engine's own check, with this fake's allow list.
    QVector<archivist::engine::RelayUrlCheck> checkRelayUrls(const QStringList& urls) const override {
        return archivist::engine::checkRelayUrls(urls, allowList);
    }
    void acknowledgeIncident(quint64 id) override { acknowledged.push_back(id); }
    void clearIncidents(bool all) override { cleared.push_back(all); }
    // The archive browser: no rows (tests of the browser override these).
    quint64 requestPage(const archivist::engine::PageRequest&) override { return 0; }
    quint64 requestDetail(const QString&) override { return 0; }
    quint64 requestCount(const archivist::engine::QueryFilter&) override { return 0; }
    void startVerify() override {
        ++verifyStarts;
        running = true;
    }
    QString configPath() const override { return configFile; }
    archivist::engine::EngineConfig currentConfig() const override { return config; }
    archivist::engine::EngineConfig runningConfig() const override { return runningCfg; }
    // Statistics: answered on the next loop turn from `statsRollups` (every day), cut to the
    // request's range and turned into tables by the engine's own code.
    archivist::index::Rollups statsRollups;
    archivist::engine::CoverageReport coverageReport;
    QVector<archivist::engine::CoverageRequest> coverageRequests;  // index = id - 1
    quint64 requestCoverage(const archivist::engine::CoverageRequest& request) override {
        coverageRequests.push_back(request);
        const quint64 id = quint64(coverageRequests.size());
        QMetaObject::invokeMethod(
            this,
            [this, id, request] {
                archivist::engine::CoverageResult r;
                r.request = request;
                r.report = coverageReport;
                emit coverageReady(id, r);
            },
            Qt::QueuedConnection);
        return id;
    }
    QVector<archivist::engine::StatisticsRequest> statisticsRequests;  // index = id - 1
    quint64 requestStatistics(const archivist::engine::StatisticsRequest& request) override {
        statisticsRequests.push_back(request);
        const quint64 id = quint64(statisticsRequests.size());
        QMetaObject::invokeMethod(
            this,
            [this, id, request] {
                archivist::engine::StatsRequest q;
                q.since = request.since;
                q.until = request.until;
                const auto [lo, hi] = archivist::engine::dayRange(q);
                auto in = [&](int64_t d) { return (!lo || d >= *lo) && (!hi || d <= *hi); };
                archivist::index::Rollups r;
                for (const auto& k : statsRollups.kinds)
                    if (in(k.day)) r.kinds.push_back(k);
                for (const auto& x : statsRollups.relays)
                    if (in(x.day)) r.relays.push_back(x);
                for (const auto& [d, sk] : statsRollups.authors)
                    if (in(d)) r.authors.emplace(d, sk);
                for (const auto& [k, v] : statsRollups.delay)
                    if (in(k.first)) r.delay[k] = v;
                for (const auto& [k, v] : statsRollups.repl)
                    if (in(k.first)) r.repl[k] = v;
                emit statisticsReady(id, archivist::engine::statisticsFromRollups(r, request));
            },
            Qt::QueuedConnection);
        return id;
    }
    void publish(const archivist::engine::EngineSnapshot& s) {
        current = s;
        emit snapshotReady(s);
    }
};

// A canned relay-intelligence view: three scored relays (one pinned at the floor, one candidate
// with unknown components), a histogram, two swaps (newest first) and discovery counts.
inline archivist::engine::RelayIntelligenceView cannedIntelligence(qint64 now_ms) {
    using namespace archivist::engine;
    RelayIntelligenceView v;
    v.max_relays = 150;
    v.connected = 2;
    v.last_cycle_ms = now_ms - 60'000;
    v.next_cycle_ms = now_ms + 240'000;
    auto relay = [](const char* url, const char* status, bool connected, double total) {
        RelayScoreView r;
        r.url = QString::fromLatin1(url);
        r.source = QStringLiteral("nip65");
        r.status = archivist::observe::relayStateFromName(status);
        r.connected = connected;
        r.score.total = total;
        r.score.novelty = 0.8;
        r.score.uptime = 0.99;
        r.score.latency = 0.7;
        r.score.rejection = 1.0;
        r.score.confidence = 0.9;
        r.score.exploration = 0.05;
        r.novel_per_hour = 1200;
        r.uptime_24h = 0.99;
        r.uptime_7d = 0.97;
        r.rtt_ms = 85;
        return r;
    };
    v.scored << relay("wss://best.example", "connected", true, 0.91);
    auto pinned = relay("wss://pinned.example", "connected", true, 0.30);
    pinned.pinned = true;
    pinned.score.floor_applied = true;
    v.scored << pinned;
    auto fresh = relay("wss://new.example", "candidate", false, 0.55);
    fresh.score.novelty = fresh.score.uptime = fresh.score.latency = fresh.score.rejection = -1;
    fresh.score.confidence = 0;
    fresh.score.exploration = 0.5;
    fresh.novel_per_hour = 0;
    fresh.uptime_24h = fresh.uptime_7d = -1;
    fresh.rtt_ms = -1;
    v.scored << fresh;
    v.score_histogram = {5, 12, 30, 44, 20, 9, 4, 2, 1, 1};
    OptimizerSwapView newer;
    newer.at_ms = now_ms - 60'000;
    newer.removed = QStringLiteral("wss://slow.example");
    newer.added = QStringLiteral("wss://best.example");
    newer.removed_score = 0.12;
    newer.added_score = 0.61;
    newer.reason = QStringLiteral("score 0.12 < candidate 0.61");
    OptimizerSwapView older;
    older.at_ms = now_ms - 360'000;
    older.added = QStringLiteral("wss://new.example");
    older.added_score = 0.55;
    older.reason = QStringLiteral("exploration");
    v.recent_swaps << newer << older;
    v.discovery.directory_size = 2345;
    v.discovery.by_source = {{QStringLiteral("seed"), 12}, {QStringLiteral("nip65"), 2000}};
    v.discovery.junk_rejected = 77;
    v.discovery.junk_by_reason = {{QStringLiteral("bad scheme"), 70}, {QStringLiteral("private address"), 7}};
    return v;
}
