#include "core/engine/incident_rules.h"

#include <cstdio>
#include <unordered_map>

namespace archivist::engine {

namespace {

using observe::IncidentKind;
using observe::IncidentSeverity;

uint64_t grew(uint64_t before, uint64_t after) { return after > before ? after - before : 0; }

bool isStalled(const std::string& last_error) { return last_error.rfind("stalled", 0) == 0; }

uint64_t badSignatures(const net::RelayStatusView& r) {
    return r.invalid_by_reason[size_t(protocol::Reject::BadSignature)];
}

std::string fmtMiB(qint64 bytes) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.0f MiB", double(bytes) / double(1 << 20));
    return buf;
}

}  // namespace

std::vector<RaisedIncident> evaluateIncidentRules(const EngineSnapshot& prev, const EngineSnapshot& cur,
                                                  const IncidentThresholds& t, IncidentRuleState& state) {
    std::vector<RaisedIncident> out;
    auto raise = [&out](IncidentKind k, IncidentSeverity s, std::string relay, std::string msg) {
        out.push_back({k, s, std::move(relay), std::move(msg)});
    };

    // Per relay: deltas against the same relay in the previous snapshot.
    std::unordered_map<std::string, const net::RelayStatusView*> before;
    before.reserve(size_t(prev.relays.size()));
    for (const auto& r : prev.relays) before.emplace(r.url, &r);
    for (const auto& r : cur.relays) {
        const auto it = before.find(r.url);
        if (it == before.end()) continue;
        const net::RelayStatusView& p = *it->second;

        if (const auto n = grew(p.read_pauses, r.read_pauses); n >= t.flooding_read_pauses_per_tick && n > 0)
            raise(IncidentKind::RelayFlooding, IncidentSeverity::Warning, r.url,
                  "reading paused " + std::to_string(n) + " times in one tick (rate limit or full pipeline)");
        if (const auto n = grew(p.rate_limited, r.rate_limited); n >= t.rate_limited_per_tick && n > 0)
            raise(IncidentKind::RelayRateLimited, IncidentSeverity::Info, r.url,
                  std::to_string(n) + " rate-limit pauses or rate-limited answers");
        if (isStalled(r.last_error) &&
            (!isStalled(p.last_error) || p.consecutive_failures != r.consecutive_failures))
            raise(IncidentKind::RelayStalled, IncidentSeverity::Warning, r.url, r.last_error);

        const uint64_t bad = grew(badSignatures(p), badSignatures(r));
        const uint64_t seen = grew(p.stored + p.duplicate + p.invalid, r.stored + r.duplicate + r.invalid);
        const bool spike = bad > 0 && (bad >= t.invalid_sig_per_tick ||
                                       (bad >= t.invalid_sig_share_min && seen > 0 &&
                                        double(bad) >= t.invalid_sig_share * double(seen)));
        if (spike)
            raise(IncidentKind::InvalidSignatureSpike, IncidentSeverity::Warning, r.url,
                  std::to_string(bad) + " events with bad signatures out of " + std::to_string(seen));
        if (const auto n = grew(p.auth_failures, r.auth_failures); n >= t.auth_failures_per_tick && n > 0)
            raise(IncidentKind::AuthFailures, IncidentSeverity::Warning, r.url,
                  std::to_string(n) + " failed authentication attempts" +
                      (r.last_error.empty() ? std::string() : " (" + r.last_error + ")"));
    }

    if (const auto n = grew(prev.address_refusals, cur.address_refusals); n >= t.address_refusals_per_tick && n > 0)
        raise(IncidentKind::AddressRefused, IncidentSeverity::Info, {},
              std::to_string(n) + " connection attempts refused by the address policy");

    // Queues: near capacity continuously for queue_hold_ms.
    std::map<QString, IncidentRuleState::QueueHigh> queues;
    for (const auto& q : cur.queues) {
        if (q.capacity <= 0) continue;
        if (isCacheGauge(q.name)) continue;  // a cache fills by design
        const bool high = double(q.depth) >= t.queue_fraction * double(q.capacity);
        if (!high) continue;
        auto old = state.queues.find(q.name);
        IncidentRuleState::QueueHigh h = old != state.queues.end() ? old->second
                                                                   : IncidentRuleState::QueueHigh{cur.taken_at_ms, false};
        if (!h.raised && cur.taken_at_ms - h.since_ms >= t.queue_hold_ms) {
            h.raised = true;
            raise(IncidentKind::QueueNearCapacity, IncidentSeverity::Warning, {},
                  "queue \"" + q.name.toStdString() + "\" at " + std::to_string(q.depth) + " of " +
                      std::to_string(q.capacity) + " for " + std::to_string(cur.taken_at_ms - h.since_ms) + " ms");
        }
        queues.emplace(q.name, h);
    }
    state.queues = std::move(queues);

    // Commits: mean duration of the commit groups finished in this tick.
    if (const auto n = grew(prev.commits_total, cur.commits_total); n > 0) {
        const double mean = (cur.commit_seconds_total - prev.commit_seconds_total) / double(n);
        if (mean >= t.slow_commit_mean_s) {
            char buf[96];
            std::snprintf(buf, sizeof buf, "mean commit time %.0f ms over %llu commits", mean * 1000.0,
                          static_cast<unsigned long long>(n));
            raise(IncidentKind::SlowCommits, IncidentSeverity::Warning, {}, buf);
        }
    }

    // Disk.
    if (cur.disk_free_bytes >= 0) {
        const bool low = cur.disk_free_bytes < t.low_disk_bytes ||
                         (cur.disk_capacity_bytes > 0 &&
                          double(cur.disk_free_bytes) < t.low_disk_fraction * double(cur.disk_capacity_bytes));
        if (low && !state.low_disk)
            raise(IncidentKind::LowDisk, IncidentSeverity::Critical, {},
                  "only " + fmtMiB(cur.disk_free_bytes) + " free in " + cur.data_dir.toStdString());
        state.low_disk = low;
    }

    if (const auto n = grew(prev.write_errors_total, cur.write_errors_total); n >= t.write_errors_per_tick && n > 0)
        raise(IncidentKind::WriteErrors, IncidentSeverity::Critical, {},
              std::to_string(n) + " failed commit attempts" +
                  (cur.last_error.isEmpty() ? std::string() : ": " + cur.last_error.toStdString()) +
                  (cur.writer_paused ? " (writer paused, retrying)" : ""));
    else if (cur.writer_paused && !prev.writer_paused)
        raise(IncidentKind::WriteErrors, IncidentSeverity::Critical, {},
              "writer paused" + (cur.last_error.isEmpty() ? std::string() : ": " + cur.last_error.toStdString()));
    return out;
}

}  // namespace archivist::engine
