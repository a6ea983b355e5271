#pragma once
// Value types of the relay directory, scoring and optimizer as the console sees them (issue 5).
// They cross threads by copy (snapshots, queued signals): no pointers into the engine.
#include <QMetaType>
#include <QString>
#include <QVector>
#include <optional>
#include <utility>

#include "core/observe/relay_state.h"

namespace archivist::engine {

// One relay's score and the parts it is made of (docs/relay-scoring.md gives the formula).
// Every component is in 0 … 1 except `total`; -1 = unknown (no observation yet).
struct ScoreView {
    double total = 0;          // what the optimizer ranks by
    double novelty = -1;       // novel-event rate relative to the network median, squashed to 0 … 1
    double uptime = -1;        // 24 h / 7 d blend
    double latency = -1;       // 1 = fast
    double rejection = -1;     // 1 = nothing rejected
    double confidence = 0;     // weight of the observations against the cold-start prior
    double exploration = 0;    // decaying bonus for relays not tried much yet
    bool floor_applied = false;  // seed or pinned relay held at the floor
};

// A relay in the optimizer's view: connected ones and the best candidates.
struct RelayScoreView {
    QString url;
    QString source;            // seed, user, cli, config, nip65, kind3, nip66, hint
    observe::RelayState status = observe::RelayState::Candidate;  // the connection's when in the pool, else the directory's
    bool connected = false;
    bool pinned = false;
    bool blocked = false;
    ScoreView score;
    double novel_per_hour = 0;     // over the scoring window
    double received_per_hour = 0;
    double uptime_24h = -1;        // 0 … 1, -1 unknown
    double uptime_7d = -1;
    qint64 rtt_ms = -1;            // open round trip (probe or connection), -1 unknown
};

// One decision of an optimizer cycle.
struct OptimizerSwapView {
    qint64 at_ms = 0;
    QString removed;           // "" when the cycle only filled headroom
    QString added;             // "" when it only dropped a relay (blocked, failing)
    double removed_score = 0;
    double added_score = 0;
    QString reason;            // human readable: "score 0.12 < candidate 0.61", "exploration", "blocked after 10 failures"
};

struct DiscoveryStatsView {
    quint64 directory_size = 0;                    // relays known
    QVector<std::pair<QString, quint64>> by_source;  // URLs discovered per source since the directory was created
    quint64 junk_rejected = 0;                     // URLs rejected by discovery (this run)
    QVector<std::pair<QString, quint64>> junk_by_reason;
};

// The scoring/optimizer part of EngineSnapshot (small: bounded by max_relays + kTopCandidates).
struct RelayIntelligenceView {
    int max_relays = 0;
    int connected = 0;
    qint64 last_cycle_ms = 0;           // 0 = no cycle yet
    qint64 next_cycle_ms = 0;
    QVector<RelayScoreView> scored;     // connected relays, then the best candidates; by score, best first
    QVector<double> score_histogram;    // all scored relays in the directory, 10 buckets over 0 … 1 (counts)
    QVector<OptimizerSwapView> recent_swaps;  // newest first, at most kSwapCapacity
    DiscoveryStatsView discovery;
    bool optimizer_enabled = true;      // false: scores only, the optimizer neither connects nor drops (auto_relays off)
    static constexpr int kTopCandidates = 50;
    static constexpr int kSwapCapacity = 100;
};

// Directory browsing (the Discovery panel, `archivist relays`): a page of the persisted directory.
struct DirectoryRequest {
    QString text;              // substring of the URL, "" = all
    QString source;            // "" = any
    std::optional<observe::RelayState> status;  // nullopt = any
    bool include_blocked = true;
    int offset = 0;
    int limit = 200;           // clamped to 1 … 5000
    QString order = QStringLiteral("score");  // "score" (best first), "url", "last_seen"
};

struct DirectoryEntryView {
    QString url;
    QString source;
    observe::RelayState status = observe::RelayState::Candidate;
    bool pinned = false;
    bool blocked = false;
    int consecutive_failures = 0;
    QString last_error;
    qint64 first_seen_ms = 0;
    qint64 last_seen_ms = 0;
    double score = -1;             // -1 = not scored yet
    double uptime_24h = -1;
    double uptime_7d = -1;
    qint64 open_rtt_ms = -1;       // last probe
    qint64 read_rtt_ms = -1;
    qint64 last_probe_ms = 0;      // 0 = never probed
    bool last_probe_ok = false;
    QString nip11_name;            // NIP-11 summary of the newest document
    QString nip11_software;
    QString nip11_summary;         // "NIPs 1, 11, 42 · auth · paid · max_limit 500"
};

struct DirectoryPage {
    bool ok = true;
    QString error;
    QVector<DirectoryEntryView> rows;
    quint64 total_matching = 0;
};

}  // namespace archivist::engine

Q_DECLARE_METATYPE(archivist::engine::RelayIntelligenceView)
Q_DECLARE_METATYPE(archivist::engine::DirectoryRequest)
Q_DECLARE_METATYPE(archivist::engine::DirectoryPage)
