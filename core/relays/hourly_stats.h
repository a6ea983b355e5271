#pragma once
// HourlyStats: per relay, per hour traffic counters accumulated in memory by the engine and
// flushed into RelayStateStore::addHourly() on the hour and on every optimizer cycle, so scoring
// sees data from the first minutes (issue 5, part 4; docs/relay-directory.md).
//
// Contract
// - The hour of an update is the clock's hour at the time of the call (clock_ms, default wall
//   clock). Rows of the current hour accumulate across flushes: the store adds them up.
// - Bounded: at most max_relays relays per hour and at most kMaxHours hours are held (the open
//   hour plus hours kept after failed flushes). An update for a relay beyond max_relays in its
//   hour is not stored: it is counted in overflowUpdates()/overflowEvents() and logged (at most
//   once per hour). When a new hour needs room beyond kMaxHours (flushes failing for two days),
//   the oldest hour is dropped, counted in droppedEntries() and logged.
// - flush() takes everything held, writes it in one store transaction and, if the write fails,
//   puts it back (adding to what arrived meanwhile, within the same bounds), so the next flush
//   retries it. Rows of relays not in the directory are skipped by the store and counted in
//   unknownRelayRows().
// - entries()/capacity() is the fill gauge (capacity = max_relays × kMaxHours).
// Thread: any; all methods take an internal mutex (the store write in flush() runs outside it,
// on the store's owner thread).
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/observe/relay_state.h"
#include "core/protocol/event.h"
#include "core/util/expected.h"

namespace archivist::relays {

class RelayStateStore;

using RejectCounts = std::array<uint64_t, size_t(protocol::Reject::Count)>;
// Events the connection refused by subscription discipline, by observe::EventRefusal (index = value − 1).
using RefusalCounts = std::array<uint64_t, observe::kEventRefusalReasons>;

class HourlyStats {
public:
    static constexpr size_t kMaxHours = 48;

    explicit HourlyStats(size_t max_relays = 1000, std::function<int64_t()> clock_ms = {});
    HourlyStats(const HourlyStats&) = delete;
    HourlyStats& operator=(const HourlyStats&) = delete;

    void addReceived(const std::string& url, uint64_t events, uint64_t bytes);
    // stored = novel events (first sighting in the archive); rejected counts by protocol::Reject.
    void addOutcome(const std::string& url, uint64_t stored, uint64_t duplicates, const RejectCounts& rejected = {});
    void addRejected(const std::string& url, protocol::Reject reason, uint64_t n = 1);
    // Refused before the pipeline (subscription discipline): rejected, under the refusal's name.
    void addRefused(const std::string& url, const RefusalCounts& refused);
    void addConnectedSeconds(const std::string& url, int64_t seconds);
    void addFailure(const std::string& url, uint64_t n = 1);

    // Writes every held row (all hours touched) and resets; returns the number of rows written.
    // On error the data is kept for the next flush and the error is returned (and counted).
    Expected<size_t> flush(RelayStateStore& store, int64_t now_ms);

    size_t entries() const;
    size_t capacity() const { return m_maxRelays * kMaxHours; }
    uint64_t overflowUpdates() const;
    uint64_t overflowEvents() const;
    uint64_t droppedEntries() const;
    uint64_t flushFailures() const;
    uint64_t unknownRelayRows() const;
    int64_t lastFlushMs() const;  // 0 = never flushed successfully

private:
    struct Acc {
        uint64_t received = 0, bytes = 0, novel = 0, duplicates = 0, failures = 0;
        int64_t connected_s = 0;
        RejectCounts rejected{};
        RefusalCounts refused{};
        void add(const Acc& o);
    };
    using Hour = std::unordered_map<std::string, Acc>;

    // Returns null (and counts the overflow) when the relay does not fit. Lock held.
    Acc* slot(const std::string& url, int64_t hour, uint64_t events);
    Acc* slotNow(const std::string& url, uint64_t events = 0);

    const size_t m_maxRelays;
    const std::function<int64_t()> m_clock;
    mutable std::mutex m_mutex;
    std::map<int64_t, Hour> m_hours;
    size_t m_entries = 0;
    uint64_t m_overflowUpdates = 0;
    uint64_t m_overflowEvents = 0;
    uint64_t m_droppedEntries = 0;
    uint64_t m_flushFailures = 0;
    uint64_t m_unknownRows = 0;
    int64_t m_lastFlushMs = 0;
    int64_t m_overflowLoggedHour = -1;
};

}  // namespace archivist::relays
