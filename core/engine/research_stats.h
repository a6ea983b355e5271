#pragma once
// Research statistics over the index's rollups (core/index/rollups.h, decision 0017): the one
// code path behind `archivist stats --by …` and the console's Statistics dock.
//
// Every table but `author` is read from the rollups (milliseconds, whatever the archive's size);
// `author` is an exact scan of the events of the range (one GROUP BY per index file of the
// months in range, with progress). Ranges are whole UTC days: `since` counts from the start of
// its day, `until` to the end of its day.
// Thread: any (read-only connections of its own).
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/index/rollups.h"
#include "core/util/expected.h"

namespace archivist::index {
class Index;
}

namespace archivist::engine {

enum class StatsBy { Day, Week, Kind, Relay, Author, Delay, Replication, DayKind };
// "day", "week", "kind", "relay", "author", "delay", "replication", "day-kind".
std::optional<StatsBy> statsByFromName(const std::string& name);
std::string statsByName(StatsBy by);

struct StatsRequest {
    StatsBy by = StatsBy::Day;
    std::optional<int64_t> since;  // unix seconds (its whole UTC day counts)
    std::optional<int64_t> until;  // unix seconds (its whole UTC day counts)
    std::vector<uint16_t> kinds;   // empty: every kind (only `day`, `week`, `kind`, `author`, `day-kind`)
    size_t top = 0;                // keep the N largest rows (relay, author, kind; day-kind: N kinds + "other"); 0: all
    index::DayBasis basis = index::DayBasis::CreatedAt;
};

// A table: `key` names the first column; `columns` the numeric ones. A value may be absent
// (null in JSON, empty in CSV). `approximate` columns hold estimates for the rows flagged in
// `approx_rows` (distinct authors past the sketch's exact range).
struct StatsTable {
    std::string key;
    std::vector<std::string> columns;
    struct Row {
        std::string key;
        std::vector<std::optional<int64_t>> values;
        bool approximate = false;
        int64_t day = 0;      // day and week rows: days since 1970-01-01 (first day of the week)
        int64_t code = 0;     // kind, delay bin or source count of the row
    };
    std::vector<Row> rows;
    std::vector<std::string> notes;  // what the numbers mean, caveats (printed with the table)
    uint64_t events = 0;             // events in range (and kinds)
};

// Whole-day bounds of a request, inclusive, in days since 1970-01-01 (none: open).
std::pair<std::optional<int64_t>, std::optional<int64_t>> dayRange(const StatsRequest& r);
// "2023-12-09" of a day number.
std::string dayName(int64_t day);

using StatsProgress = std::function<void(uint64_t done, uint64_t total)>;

Expected<StatsTable> researchStats(const std::shared_ptr<index::Index>& index, const StatsRequest& request,
                                   const StatsProgress& progress = {}, const std::atomic<bool>* cancel = nullptr);
// The same from rollups already read (the dock reads once per range and builds every plot).
StatsTable statsFromRollups(const index::Rollups& r, const StatsRequest& request);

struct StatisticsRequest;
struct StatisticsResult;
// Every table of the Statistics dock for one range: the rollups read once.
StatisticsResult statisticsFor(const std::shared_ptr<index::Index>& index, const StatisticsRequest& request);
// The same from rollups already read for the request's range.
StatisticsResult statisticsFromRollups(const index::Rollups& r, const StatisticsRequest& request);

std::string statsTableText(const StatsTable& t);
std::string statsTableCsv(const StatsTable& t);
std::string statsTableJson(const StatsTable& t, const StatsRequest& request);

}  // namespace archivist::engine
