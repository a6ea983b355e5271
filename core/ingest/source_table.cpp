#include "core/ingest/source_table.h"

namespace archivist::ingest {

SourceTable::SourceTable(size_t capacity) : m_capacity(capacity) {}

std::optional<SourceId> SourceTable::add(const std::string& name) {
    std::lock_guard lock(m_mutex);
    if (auto it = m_byName.find(name); it != m_byName.end()) return it->second;
    if (m_entries.size() >= m_capacity) return std::nullopt;
    const auto id = static_cast<SourceId>(m_entries.size());
    m_entries.emplace_back();
    m_entries.back().name = name;
    m_byName.emplace(name, id);
    m_size.store(m_entries.size(), std::memory_order_release);
    return id;
}

std::optional<SourceId> SourceTable::find(const std::string& name) const {
    std::lock_guard lock(m_mutex);
    auto it = m_byName.find(name);
    if (it == m_byName.end()) return std::nullopt;
    return it->second;
}

const std::string& SourceTable::name(SourceId id) const {
    std::lock_guard lock(m_mutex);
    return m_entries.at(id).name;
}

SourceCounters& SourceTable::counters(SourceId id) {
    std::lock_guard lock(m_mutex);
    return m_entries.at(id).counters;
}

const SourceCounters& SourceTable::counters(SourceId id) const {
    std::lock_guard lock(m_mutex);
    return m_entries.at(id).counters;
}

SourceSnapshot SourceTable::snapshot(SourceId id) const {
    std::lock_guard lock(m_mutex);
    const Entry& e = m_entries.at(id);
    SourceSnapshot s;
    s.id = id;
    s.name = e.name;
    s.received = e.counters.received.load();
    s.stored = e.counters.stored.load();
    s.duplicate = e.counters.duplicate.load();
    s.invalid = e.counters.invalid.load();
    for (size_t i = 0; i < s.invalid_by_reason.size(); ++i)
        s.invalid_by_reason[i] = e.counters.invalid_by_reason[i].load();
    return s;
}

std::vector<SourceSnapshot> SourceTable::snapshotAll() const {
    std::vector<SourceSnapshot> out;
    const size_t n = size();
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) out.push_back(snapshot(static_cast<SourceId>(i)));
    return out;
}

uint32_t SourceTable::indexSourceId(SourceId id) const {
    std::lock_guard lock(m_mutex);
    return m_entries.at(id).index_id.load();
}

void SourceTable::setIndexSourceId(SourceId id, uint32_t index_id) {
    std::lock_guard lock(m_mutex);
    m_entries.at(id).index_id.store(index_id);
}

void SourceTable::clearIndexSourceIds() {
    std::lock_guard lock(m_mutex);
    for (Entry& e : m_entries) e.index_id.store(0);
}

size_t SourceTable::size() const { return m_size.load(std::memory_order_acquire); }

}  // namespace archivist::ingest
