#pragma once
// RecordingReports: a test double of the owner of relay state — both report interfaces
// (net::ConnectionReports, sync::SyncReports) kept in memory, so relay connections and the pool
// run in tests without any database. Thread-safe like the real owner; never blocks.
// refuse(true) makes it refuse every report (a full inbox): producers must keep and re-offer them.
#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/net/connection_reports.h"
#include "core/sync/sync_reports.h"

namespace archivist::testing {

class RecordingReports final : public net::ConnectionReports, public sync::SyncReports {
public:
    struct Relay {
        std::vector<observe::RelayState> states;  // every status taken, in order
        std::optional<net::StatusReport> status;  // the newest
        std::vector<net::Nip11Report> nip11;
        std::optional<int64_t> live_cursor;
        std::optional<std::string> backfill_checkpoint;
        bool backfill_done = false;
        std::vector<sync::BackfillGap> gaps;
        std::vector<net::ProbeResult> probes;
    };

    bool reportStatus(const net::StatusReport& r) override {
        std::lock_guard lock(m_mutex);
        if (m_refuse) return refused();
        auto& rel = m_relays[r.url];
        rel.states.push_back(r.state);
        rel.status = r;
        return true;
    }
    bool reportNip11(const net::Nip11Report& r) override {
        std::lock_guard lock(m_mutex);
        if (m_refuse) return refused();
        m_relays[r.url].nip11.push_back(r);
        return true;
    }
    bool reportProbe(const net::ProbeResult& r) override {
        std::lock_guard lock(m_mutex);
        if (m_refuse) return refused();
        m_relays[r.url].probes.push_back(r);
        return true;
    }
    bool reportProgress(const sync::SyncProgress& p) override {
        std::lock_guard lock(m_mutex);
        if (m_refuse) return refused();
        auto& rel = m_relays[p.url];
        if (p.live_cursor) rel.live_cursor = std::max(rel.live_cursor.value_or(*p.live_cursor), *p.live_cursor);
        if (p.backfill_checkpoint) {
            rel.backfill_checkpoint = p.backfill_checkpoint;
            rel.backfill_done = p.backfill_done;
        }
        rel.gaps.insert(rel.gaps.end(), p.gaps.begin(), p.gaps.end());
        return true;
    }

    void refuse(bool on) {
        std::lock_guard lock(m_mutex);
        m_refuse = on;
    }
    uint64_t refusedCount() const {
        std::lock_guard lock(m_mutex);
        return m_refused;
    }
    Relay relay(const std::string& url) const {
        std::lock_guard lock(m_mutex);
        auto it = m_relays.find(url);
        return it == m_relays.end() ? Relay{} : it->second;
    }

private:
    bool refused() {
        ++m_refused;
        return false;
    }
    mutable std::mutex m_mutex;
    std::map<std::string, Relay> m_relays;
    bool m_refuse = false;
    uint64_t m_refused = 0;
};

}  // namespace archivist::testing
