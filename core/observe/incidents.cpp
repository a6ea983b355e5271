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
    "data_set_aside", "intake_paused", "relay_down", "connection_refused", "dns_failure", "offline", "index_behind"};
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
        m_openGauges.push_back(&metrics->gauge("archivist_incidents_open", "Firing alerts by kind (not dismissed)",
                                               {{"kind", kKindNames[i]}}));
}

IncidentLog::~IncidentLog() = default;

uint64_t IncidentLog::raise(IncidentKind kind, IncidentSeverity severity, const std::string& relay,
                            const std::string& message, int64_t now_ms, bool level) {
    std::lock_guard lock(m_mutex);
    for (auto it = m_rows.rbegin(); it != m_rows.rend(); ++it) {
        if (!it->firing() || it->cleared || it->kind != kind || it->relay != relay) continue;
        if (!level) ++it->count;
        it->last_ms = std::max(it->last_ms, now_ms);
        if (it->message != message || severity > it->severity || !level) m_changed.insert(it->id);
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
    inc.level = level;
    m_rows.push_back(std::move(inc));
    m_changed.insert(m_rows.back().id);
    updateGaugesLocked();
    return m_rows.back().id;
}

size_t IncidentLog::resolveQuiet(int64_t now_ms, std::vector<Incident>* resolved) {
    std::lock_guard lock(m_mutex);
    size_t n = 0;
    for (auto& r : m_rows) {
        if (!r.firing() || now_ms - r.last_ms < (r.level ? kLevelQuietMs : kEventQuietMs)) continue;
        r.resolved_ms = std::max(now_ms, r.last_ms);
        m_changed.insert(r.id);
        if (resolved) resolved->push_back(r);
        ++n;
    }
    if (n) updateGaugesLocked();
    return n;
}

void IncidentLog::restore(std::vector<Incident> rows) {
    std::sort(rows.begin(), rows.end(), [](const Incident& a, const Incident& b) { return a.id < b.id; });
    if (rows.size() > m_capacity) rows.erase(rows.begin(), rows.end() - ptrdiff_t(m_capacity));
    std::lock_guard lock(m_mutex);
    for (auto& r : rows) {
        if (r.id == 0 || r.kind >= IncidentKind::Count) continue;
        if (r.firing()) {
            r.resolved_ms = std::max<int64_t>(r.last_ms, 1);
            m_changed.insert(r.id);
        }
        m_nextId = std::max(m_nextId, r.id + 1);
        if (m_rows.size() >= m_capacity) evictOneLocked();
        m_rows.push_back(std::move(r));
    }
    updateGaugesLocked();
}

void IncidentLog::evictOneLocked() {
    // Oldest cleared, then oldest resolved, then oldest acknowledged, then oldest firing.
    auto pick = [this](auto pred) { return std::find_if(m_rows.begin(), m_rows.end(), pred); };
    auto it = pick([](const Incident& i) { return i.cleared; });
    if (it == m_rows.end()) it = pick([](const Incident& i) { return !i.firing(); });
    if (it == m_rows.end()) it = pick([](const Incident& i) { return i.acknowledged; });
    if (it == m_rows.end()) it = m_rows.begin();
    m_changed.erase(it->id);
    m_rows.erase(it);
    ++m_evicted;
}

bool IncidentLog::acknowledge(uint64_t id) {
    std::lock_guard lock(m_mutex);
    bool any = false;
    for (auto& r : m_rows) {
        if (r.cleared || (id != 0 && r.id != id)) continue;
        if (!r.acknowledged) m_changed.insert(r.id);
        r.acknowledged = true;
        any = true;
    }
    return any;
}

bool IncidentLog::clear(uint64_t id) {
    std::lock_guard lock(m_mutex);
    for (auto& r : m_rows) {
        if (r.id != id || !clearable(r)) continue;
        r.cleared = true;
        m_changed.insert(r.id);
        updateGaugesLocked();
        return true;
    }
    return false;
}

size_t IncidentLog::clearAll(bool all) {
    std::lock_guard lock(m_mutex);
    size_t n = 0;
    for (auto& r : m_rows) {
        if (!clearable(r) || (!all && !r.acknowledged)) continue;
        r.cleared = true;
        m_changed.insert(r.id);
        ++n;
    }
    if (n) updateGaugesLocked();
    return n;
}

std::vector<Incident> IncidentLog::open(size_t max) const {
    std::lock_guard lock(m_mutex);
    std::vector<Incident> out;
    for (int pass = 0; pass < 2; ++pass)
        for (auto it = m_rows.rbegin(); it != m_rows.rend() && out.size() < max; ++it)
            if (!it->cleared && it->firing() == (pass == 0)) out.push_back(*it);
    return out;
}

std::vector<Incident> IncidentLog::all() const {
    std::lock_guard lock(m_mutex);
    return {m_rows.begin(), m_rows.end()};
}

size_t IncidentLog::firingCount() const {
    std::lock_guard lock(m_mutex);
    return size_t(std::count_if(m_rows.begin(), m_rows.end(), [](const Incident& i) { return i.firing(); }));
}

std::vector<Incident> IncidentLog::takeChanges() {
    std::lock_guard lock(m_mutex);
    std::vector<Incident> out;
    if (m_changed.empty()) return out;
    for (const auto& r : m_rows)
        if (m_changed.count(r.id)) out.push_back(r);
    m_changed.clear();
    return out;
}

void IncidentLog::markChanged(const std::vector<uint64_t>& ids) {
    std::lock_guard lock(m_mutex);
    for (uint64_t id : ids)
        if (std::any_of(m_rows.begin(), m_rows.end(), [id](const Incident& r) { return r.id == id; }))
            m_changed.insert(id);
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
        if (r.firing() && !r.cleared && r.kind < IncidentKind::Count) ++open[size_t(r.kind)];
    for (size_t i = 0; i < open.size(); ++i) m_openGauges[i]->set(double(open[i]));
}

}  // namespace archivist::observe
