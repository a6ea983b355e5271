#include "core/observe/incidents.h"

#include <algorithm>
#include <array>

#include "core/observe/metrics.h"

namespace archivist::observe {

namespace {
constexpr std::array<const char*, size_t(IncidentKind::Count)> kKindNames = {
    "relay_flooding", "relay_rate_limited", "relay_stalled", "invalid_signature_spike", "auth_failures",
    "address_refused", "queue_near_capacity", "slow_commits", "low_disk", "write_errors",
    "sink_behind", "sink_failing", "relay_state_write_errors", "events_off_subscription", "archive_damage",
    "data_set_aside", "intake_paused"};
}  // namespace

const char* incidentKindName(IncidentKind k) {
    const auto i = size_t(k);
    return i < kKindNames.size() ? kKindNames[i] : "unknown";
}

IncidentKind incidentKindFromName(std::string_view name) {
    for (size_t i = 0; i < kKindNames.size(); ++i)
        if (name == kKindNames[i]) return IncidentKind(i);
    return IncidentKind::Count;
}

IncidentLog::IncidentLog(size_t capacity, MetricsRegistry* metrics) : m_capacity(std::max<size_t>(1, capacity)) {
    if (!metrics) return;
    for (size_t i = 0; i < size_t(IncidentKind::Count); ++i)
        m_openGauges.push_back(&metrics->gauge("archivist_incidents_open", "Open (not cleared) incidents by kind",
                                               {{"kind", kKindNames[i]}}));
}

IncidentLog::~IncidentLog() = default;

uint64_t IncidentLog::raise(IncidentKind kind, IncidentSeverity severity, const std::string& relay,
                            const std::string& message, int64_t now_ms) {
    std::lock_guard lock(m_mutex);
    for (auto it = m_rows.rbegin(); it != m_rows.rend(); ++it) {
        if (it->cleared || it->kind != kind || it->relay != relay) continue;
        ++it->count;
        it->last_ms = std::max(it->last_ms, now_ms);
        it->message = message;
        it->severity = std::max(it->severity, severity);
        return it->id;
    }
    if (m_rows.size() >= m_capacity) evictOneLocked();
    Incident inc;
    inc.id = m_nextId++;
    inc.kind = kind;
    inc.severity = severity;
    inc.first_ms = now_ms;
    inc.last_ms = now_ms;
    inc.relay = relay;
    inc.count = 1;
    inc.message = message;
    m_rows.push_back(std::move(inc));
    updateGaugesLocked();
    return m_rows.back().id;
}

void IncidentLog::evictOneLocked() {
    // Oldest cleared, then oldest acknowledged, then oldest open.
    auto pick = [this](auto pred) { return std::find_if(m_rows.begin(), m_rows.end(), pred); };
    auto it = pick([](const Incident& i) { return i.cleared; });
    if (it == m_rows.end()) it = pick([](const Incident& i) { return i.acknowledged; });
    if (it == m_rows.end()) it = m_rows.begin();
    m_rows.erase(it);
    ++m_evicted;
}

bool IncidentLog::acknowledge(uint64_t id) {
    std::lock_guard lock(m_mutex);
    bool any = false;
    for (auto& r : m_rows) {
        if (r.cleared || (id != 0 && r.id != id)) continue;
        r.acknowledged = true;
        any = true;
    }
    return any;
}

bool IncidentLog::clear(uint64_t id) {
    std::lock_guard lock(m_mutex);
    for (auto& r : m_rows) {
        if (r.id != id || r.cleared) continue;
        r.cleared = true;
        updateGaugesLocked();
        return true;
    }
    return false;
}

size_t IncidentLog::clearAll(bool all) {
    std::lock_guard lock(m_mutex);
    size_t n = 0;
    for (auto& r : m_rows) {
        if (r.cleared || (!all && !r.acknowledged)) continue;
        r.cleared = true;
        ++n;
    }
    if (n) updateGaugesLocked();
    return n;
}

std::vector<Incident> IncidentLog::open(size_t max) const {
    std::lock_guard lock(m_mutex);
    std::vector<Incident> out;
    for (auto it = m_rows.rbegin(); it != m_rows.rend() && out.size() < max; ++it)
        if (!it->cleared) out.push_back(*it);
    return out;
}

std::vector<Incident> IncidentLog::all() const {
    std::lock_guard lock(m_mutex);
    return {m_rows.begin(), m_rows.end()};
}

size_t IncidentLog::openCount() const {
    std::lock_guard lock(m_mutex);
    return size_t(std::count_if(m_rows.begin(), m_rows.end(), [](const Incident& i) { return !i.cleared; }));
}

size_t IncidentLog::size() const {
    std::lock_guard lock(m_mutex);
    return m_rows.size();
}

uint64_t IncidentLog::evicted() const {
    std::lock_guard lock(m_mutex);
    return m_evicted;
}

void IncidentLog::updateGaugesLocked() {
    if (m_openGauges.empty()) return;
    std::array<size_t, size_t(IncidentKind::Count)> open{};
    for (const auto& r : m_rows)
        if (!r.cleared && r.kind < IncidentKind::Count) ++open[size_t(r.kind)];
    for (size_t i = 0; i < open.size(); ++i) m_openGauges[i]->set(double(open[i]));
}

}  // namespace archivist::observe
