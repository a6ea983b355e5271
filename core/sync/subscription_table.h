#pragma once
// SubscriptionTable: the REQ subscriptions open on one relay session and what each asked for —
// the ground truth of subscription discipline. An EVENT is admitted when it arrives on a
// subscription we opened (or closed moments ago: a relay may have sent it before our CLOSE
// arrived) and matches that subscription's filters: ids, authors, kinds, #tags and the REQ's own
// since/until. A NIP-50 search term is left to the relay (its matching is fuzzy by design).
// An event whose keys cannot even be read is admitted: the verify stage rejects it with the
// precise reason (invalid_created_at, not_json, …) and counts it against the relay.
//
// Bounded: open subscriptions are bounded by the session's cap (the driver opens at most
// max_subscriptions); kRecentlyClosed closed ones are remembered, oldest forgotten first.
// Thread: one (the relay's network thread).
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/observe/relay_state.h"
#include "core/protocol/event_codec.h"
#include "core/protocol/filter.h"

namespace archivist::sync {

class SubscriptionTable {
public:
    static constexpr size_t kRecentlyClosed = 16;

    void open(const std::string& id, std::vector<protocol::Filter> filters);
    void close(const std::string& id);  // no-op for ids not open
    void clear();                       // the session ended: nothing is open any more
    bool isOpen(const std::string& id) const { return m_open.count(id) > 0; }
    size_t openCount() const { return m_open.size(); }

    // `keys`: peekEventKeys(event_json), read by the caller (the message parse reads them).
    observe::EventRefusal admit(std::string_view id, std::string_view event_json,
                                const std::optional<protocol::EventKeys>& keys) const;

private:
    struct Entry {
        std::string id;
        std::vector<protocol::Filter> filters;
        bool has_tags = false;     // some filter matches on #tags: the whole event decides
        bool has_authors = false;  // some filter matches on authors (read from the peek when present)
    };
    static Entry makeEntry(const std::string& id, std::vector<protocol::Filter> filters);
    const Entry* find(std::string_view id) const;

    std::unordered_map<std::string, Entry> m_open;
    std::deque<Entry> m_closed;  // ≤ kRecentlyClosed, newest last
};

}  // namespace archivist::sync
