#include "core/sync/subscription_table.h"

#include <algorithm>

namespace archivist::sync {

namespace {

template <typename T>
bool contains(const std::vector<T>& v, const T& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

// The filter's conditions that the peeked keys decide (everything but tags and search; authors
// only when the pubkey was read).
bool keysMatch(const protocol::Filter& f, const protocol::EventKeys& k) {
    if (!f.ids.empty() && !contains(f.ids, k.id)) return false;
    if (!f.kinds.empty() && !contains(f.kinds, k.kind)) return false;
    if (f.since && k.created_at < *f.since) return false;
    if (f.until && k.created_at > *f.until) return false;
    if (!f.authors.empty() && k.pubkey && !contains(f.authors, *k.pubkey)) return false;
    return true;
}

}  // namespace

SubscriptionTable::Entry SubscriptionTable::makeEntry(const std::string& id, std::vector<protocol::Filter> filters) {
    Entry e;
    e.id = id;
    for (auto& f : filters) {
        f.search.reset();  // left to the relay
        f.limit.reset();
        e.has_tags = e.has_tags || !f.tags.empty();
        e.has_authors = e.has_authors || !f.authors.empty();
    }
    e.filters = std::move(filters);
    return e;
}

void SubscriptionTable::open(const std::string& id, std::vector<protocol::Filter> filters) {
    m_open.insert_or_assign(id, makeEntry(id, std::move(filters)));
}

void SubscriptionTable::close(const std::string& id) {
    auto it = m_open.find(id);
    if (it == m_open.end()) return;
    m_closed.push_back(std::move(it->second));
    m_open.erase(it);
    while (m_closed.size() > kRecentlyClosed) m_closed.pop_front();
}

void SubscriptionTable::clear() {
    m_open.clear();
    m_closed.clear();
}

const SubscriptionTable::Entry* SubscriptionTable::find(std::string_view id) const {
    if (auto it = m_open.find(std::string(id)); it != m_open.end()) return &it->second;
    for (auto it = m_closed.rbegin(); it != m_closed.rend(); ++it)
        if (it->id == id) return &*it;
    return nullptr;
}

observe::EventRefusal SubscriptionTable::admit(std::string_view id, std::string_view event_json,
                                        const std::optional<protocol::EventKeys>& keys) const {
    const Entry* e = find(id);
    if (!e) return observe::EventRefusal::UnknownSubscription;
    if (!keys) return observe::EventRefusal::None;  // malformed: the verify stage names the reason
    bool anyByKeys = false;
    for (const auto& f : e->filters) anyByKeys = anyByKeys || keysMatch(f, *keys);
    if (!anyByKeys) return observe::EventRefusal::OutsideFilter;
    if (!e->has_tags && (!e->has_authors || keys->pubkey)) return observe::EventRefusal::None;
    // Tags (or an unreadable pubkey against an authors list): the whole event decides.
    protocol::Event ev;
    if (protocol::parseEvent(event_json, ev) != protocol::Reject::None) return observe::EventRefusal::None;
    return protocol::matchesAny(e->filters, ev) ? observe::EventRefusal::None : observe::EventRefusal::OutsideFilter;
}

}  // namespace archivist::sync
