#include "core/engine/incident_rules.h"

#include <cstdio>
#include <unordered_map>

namespace archivist::engine {

namespace {

using observe::IncidentKind;
using observe::IncidentSeverity;

uint64_t grew(uint64_t before, uint64_t after) { return after > before ? after - before : 0; }

bool startsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

bool isStalled(const std::string& last_error) { return startsWith(last_error, "stalled"); }

uint64_t badSignatures(const RelayRow& r) {
    return r.invalid_by_reason[size_t(protocol::Reject::BadSignature)];
}

std::string fmtMiB(qint64 bytes) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.0f MiB", double(bytes) / double(1 << 20));
    return buf;
}

// A relay whose reachability is worth an alert of its own: one the operator chose, or one that
// was connected in this run. Discovered and seed relays that never answered are summed up by the
// offline alert instead (with hundreds of candidates, one alert each would drown the rest).
bool watched(const RelayRow& r) {
    return r.source == "user" || r.source == "cli" || r.pinned || r.connects > 0;
}

// The relay is failing: tried and not connected, or refused for good. Stopped, blocked and
// never-tried relays are not failing.
bool failing(const RelayRow& r) {
    switch (r.state) {
    case RelayState::Refused:
    case RelayState::Restricted: return true;
    case RelayState::Connected:
    case RelayState::Candidate:
    case RelayState::Blocked:
    case RelayState::Stopped:
    case RelayState::Count: return false;
    default: return r.consecutive_failures > 0;
    }
}

// Keeps `key` in the state while `cond` holds; true once it held for hold_ms.
bool held(IncidentRuleState& state, std::map<std::string, qint64>& next, const std::string& key, bool cond,
          qint64 now, qint64 hold_ms) {
    if (!cond) return false;
    const auto it = state.holding.find(key);
    const qint64 since = it != state.holding.end() ? it->second : now;
    next.emplace(key, since);
    return now - since >= hold_ms;
}

}  // namespace

IncidentKind relayFailureKind(const RelayRow& r) {
    if (!failing(r)) return IncidentKind::Count;
    if (r.state == RelayState::Refused || startsWith(r.last_error, "address_refused"))
        return IncidentKind::ConnectionRefused;
    if (startsWith(r.last_error, "dns")) return IncidentKind::DnsFailure;
    if (startsWith(r.last_error, "connect_failed") && r.last_error.find("refused") != std::string::npos)
        return IncidentKind::ConnectionRefused;
    return IncidentKind::RelayDown;
}

std::vector<RaisedIncident> evaluateIncidentRules(const EngineSnapshot& prev, const EngineSnapshot& cur,
                                                  const IncidentThresholds& t, IncidentRuleState& state) {
    std::vector<RaisedIncident> out;
    auto raise = [&out](IncidentKind k, IncidentSeverity s, std::string relay, std::string msg) {
        out.push_back({k, s, std::move(relay), std::move(msg), false});
    };
    auto assertLevel = [&out](IncidentKind k, IncidentSeverity s, std::string relay, std::string msg) {
        out.push_back({k, s, std::move(relay), std::move(msg), true});
    };
    const qint64 now = cur.taken_at_ms;
    std::map<std::string, qint64> holding;  // the conditions holding after this tick

    // Per relay: conditions on the current row, deltas against the same relay in the previous one.
    std::unordered_map<std::string, const RelayRow*> before;
    before.reserve(size_t(prev.relays.size()));
    for (const auto& r : prev.relays) before.emplace(r.url, &r);
    bool operatorWork = cur.job_running;  // an import, verify or rebuild the operator started
    for (const auto& r : cur.relays) {
        if (r.backfill == BackfillState::Running || r.catching_up) operatorWork = true;

        const IncidentKind failure = relayFailureKind(r);
        const bool terminal = r.state == RelayState::Refused || r.state == RelayState::Restricted;
        if (failure != IncidentKind::Count && watched(r) &&
            held(state, holding, "reach|" + r.url, true, now, terminal ? 0 : t.relay_down_hold_ms)) {
            // No running duration in the text: a message that changes every tick would be
            // written to relays.sqlite every tick (the alert's first_ms says since when).
            std::string msg = r.last_error.empty() ? std::string("not connected") : r.last_error;
            if (!terminal) msg += " (" + std::to_string(r.consecutive_failures) + " failed attempts)";
            assertLevel(failure, IncidentSeverity::Warning, r.url, msg);
        }
        if (held(state, holding, "stalled|" + r.url, isStalled(r.last_error) && r.state != RelayState::Connected, now, 0))
            assertLevel(IncidentKind::RelayStalled, IncidentSeverity::Warning, r.url, r.last_error);

        const auto it = before.find(r.url);
        if (it == before.end()) continue;
        const RelayRow& p = *it->second;

        if (const auto n = grew(p.flood_pauses, r.flood_pauses); n >= t.flood_pauses_per_tick && n > 0)
            raise(IncidentKind::RelayFlooding, IncidentSeverity::Warning, r.url,
                  "unsolicited traffic over the flood limit: reading paused " + std::to_string(n) + " times");
        if (const auto n = grew(p.rate_limited, r.rate_limited); n >= t.rate_limited_per_tick && n > 0)
            raise(IncidentKind::RelayRateLimited, IncidentSeverity::Info, r.url,
                  "the relay answered \"rate-limited\" " + std::to_string(n) + " times");

        const uint64_t bad = grew(badSignatures(p), badSignatures(r));
        const uint64_t seen = grew(p.stored + p.duplicate + p.invalid, r.stored + r.duplicate + r.invalid);
        const bool spike = bad > 0 && (bad >= t.invalid_sig_per_tick ||
                                       (bad >= t.invalid_sig_share_min && seen > 0 &&
                                        double(bad) >= t.invalid_sig_share * double(seen)));
        if (spike)
            raise(IncidentKind::InvalidSignatureSpike, IncidentSeverity::Warning, r.url,
                  std::to_string(bad) + " events with bad signatures out of " + std::to_string(seen));
        if (const auto n = grew(p.refused(), r.refused()); n >= t.refused_events_per_tick && n > 0) {
            std::string why;
            for (size_t i = 0; i < r.refused_by_reason.size(); ++i)
                if (const auto k = grew(p.refused_by_reason[i], r.refused_by_reason[i]))
                    why += (why.empty() ? "" : ", ") + std::to_string(k) + " " +
                           observe::eventRefusalName(observe::EventRefusal(i + 1));
            raise(IncidentKind::EventsOffSubscription, IncidentSeverity::Warning, r.url,
                  std::to_string(n) + " events refused, not stored (" + why + ")");
        }
        if (const auto n = grew(p.auth_failures, r.auth_failures); n >= t.auth_failures_per_tick && n > 0)
            raise(IncidentKind::AuthFailures, IncidentSeverity::Warning, r.url,
                  std::to_string(n) + " failed authentication attempts" +
                      (r.last_error.empty() ? std::string() : " (" + r.last_error + ")"));
    }

    // Offline: relays are known and none is connected.
    if (held(state, holding, "offline", cur.relays_known > 0 && cur.relays_open == 0, now, t.offline_hold_ms)) {
        int dns = 0, refused = 0, other = 0, waiting = 0;
        for (const auto& r : cur.relays) {
            switch (relayFailureKind(r)) {
            case IncidentKind::DnsFailure: ++dns; break;
            case IncidentKind::ConnectionRefused: ++refused; break;
            case IncidentKind::RelayDown: ++other; break;
            default: ++waiting; break;
            }
        }
        assertLevel(IncidentKind::Offline, IncidentSeverity::Critical, {},
                    "no relay connected (" + std::to_string(cur.relays_known) +
                        " known: " + std::to_string(dns) + " failing DNS, " + std::to_string(refused) + " refused, " +
                        std::to_string(other) + " failing otherwise, " + std::to_string(waiting) + " not tried or stopped)");
    }

    if (const auto n = grew(prev.address_refusals, cur.address_refusals); n >= t.address_refusals_per_tick && n > 0)
        raise(IncidentKind::AddressRefused, IncidentSeverity::Info, {},
              std::to_string(n) + " connection attempts refused by the address policy");

    // Queues: near capacity continuously for queue_hold_ms, while no work the operator asked for
    // (an import, a backfill or catch-up) is what fills them: that is backpressure by design.
    // The backfill slots are a concurrency limit (relays wait their turn), not a queue.
    for (const auto& q : cur.queues) {
        if (q.capacity <= 0 || q.name == QLatin1String("backfill slots")) continue;
        if (isCacheGauge(q.name)) continue;  // a cache fills by design
        const bool high = !operatorWork && double(q.depth) >= t.queue_fraction * double(q.capacity);
        const std::string key = "queue|" + q.name.toStdString();
        if (held(state, holding, key, high, now, t.queue_hold_ms))
            assertLevel(IncidentKind::QueueNearCapacity, IncidentSeverity::Warning, {},
                        "queue \"" + q.name.toStdString() + "\" at 90 % of " + std::to_string(q.capacity) +
                            " or more, with only live traffic feeding it");
    }

    // Commits: mean duration of the commit groups finished in this tick, slow for their size.
    if (const auto n = grew(prev.commits_total, cur.commits_total); n > 0) {
        const double spent = cur.commit_seconds_total - prev.commit_seconds_total;
        const double mean = spent / double(n);
        const uint64_t events = grew(prev.stored_total + prev.duplicate_total, cur.stored_total + cur.duplicate_total);
        const double perEvent = spent / double(std::max<uint64_t>(1, events));
        if (mean >= t.slow_commit_mean_s && perEvent >= t.slow_commit_s_per_event) {
            char buf[128];
            std::snprintf(buf, sizeof buf, "mean commit time %.0f ms over %llu commits (%.1f ms per event)", mean * 1000.0,
                          static_cast<unsigned long long>(n), perEvent * 1000.0);
            raise(IncidentKind::SlowCommits, IncidentSeverity::Warning, {}, buf);
        }
    }

    // The index: verified events wait for the writer and it commits nothing.
    qint64 writerDepth = 0;
    for (const auto& q : cur.queues)
        if (q.name == QLatin1String("writer")) writerDepth = q.depth;
    const bool moved = cur.commits_total != state.writer_commits;
    state.writer_commits = cur.commits_total;
    if (held(state, holding, "index_behind", writerDepth > 0 && !moved, now, t.index_behind_hold_ms))
        assertLevel(IncidentKind::IndexBehind, IncidentSeverity::Critical, {},
                    "verified batches wait for the writer and it commits nothing" +
                        (cur.last_error.isEmpty() ? std::string() : " (" + cur.last_error.toStdString() + ")"));

    // Disk.
    if (cur.disk_free_bytes >= 0) {
        const bool low = cur.disk_free_bytes < t.low_disk_bytes ||
                         (cur.disk_capacity_bytes > 0 &&
                          double(cur.disk_free_bytes) < t.low_disk_fraction * double(cur.disk_capacity_bytes));
        if (low)
            assertLevel(IncidentKind::LowDisk, IncidentSeverity::Critical, {},
                        "only " + fmtMiB(cur.disk_free_bytes) + " free in " + cur.data_dir.toStdString());
    }

    // Archive damage (a condition): quarantined regions await salvage; it resolves itself once
    // salvage (or accepting the loss) leaves none pending.
    if (cur.quarantine_pending > 0)
        assertLevel(IncidentKind::ArchiveDamage, IncidentSeverity::Critical, {},
                    std::to_string(cur.quarantine_pending) +
                        " quarantined region(s) of the archive await salvage (File → Salvage…); the rest of the "
                        "archive is served as usual");

    if (const auto n = grew(prev.relay_state_write_errors_total, cur.relay_state_write_errors_total);
        n >= t.relay_state_errors_per_tick && n > 0)
        raise(IncidentKind::RelayStateWriteErrors, IncidentSeverity::Critical, {},
              std::to_string(n) + " failed writes of relay state (kept, retried)" +
                  (cur.relay_state_last_error.isEmpty() ? std::string() : ": " + cur.relay_state_last_error.toStdString()));
    // Intake paused (a condition): the writer cannot commit, so relays and imports wait.
    if (cur.writer_paused)
        assertLevel(IncidentKind::IntakePaused, IncidentSeverity::Critical, {},
                    "intake paused" + (cur.last_error.isEmpty() ? std::string() : ": " + cur.last_error.toStdString()) +
                        " — relays wait and nothing is dropped; archiving resumes by itself once writing succeeds again");

    if (const auto n = grew(prev.write_errors_total, cur.write_errors_total); n >= t.write_errors_per_tick && n > 0)
        raise(IncidentKind::WriteErrors, IncidentSeverity::Critical, {},
              std::to_string(n) + " failed commit attempts" +
                  (cur.last_error.isEmpty() ? std::string() : ": " + cur.last_error.toStdString()) +
                  (cur.writer_paused ? " (writer paused, retrying)" : ""));
    else if (cur.writer_paused)
        assertLevel(IncidentKind::WriteErrors, IncidentSeverity::Critical, {},
                    "writer paused" + (cur.last_error.isEmpty() ? std::string() : ": " + cur.last_error.toStdString()));

    // The ClickHouse sink (ingest goes on either way).
    const SinkView& sink = cur.sink;
    if (sink.configured && sink.consecutive_failures >= t.sink_failures)
        assertLevel(IncidentKind::SinkFailing, IncidentSeverity::Critical, {},
                    std::to_string(sink.consecutive_failures) + " failures in a row shipping to " +
                        sink.target.toStdString() + ": " + sink.last_error.toStdString() +
                        " (retrying; the archive keeps everything)");
    if (sink.configured && sink.lag_seconds >= t.sink_lag_s)
        assertLevel(IncidentKind::SinkBehind, IncidentSeverity::Warning, {},
                    "ClickHouse sink more than " + std::to_string(int64_t(t.sink_lag_s)) +
                        " s behind the archive (the status bar shows how far)");
    state.holding = std::move(holding);
    return out;
}

}  // namespace archivist::engine
