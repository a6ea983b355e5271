#pragma once
// Rollups: the research statistics of the index (decision 0017, docs/index-schema.md "Rollups"),
// maintained in the same SQLite transaction as the events and sightings they count, so that a
// 100M-event archive answers "events per day by kind" without scanning anything.
//
// Tables (the same in a hot file, where they hold that file's deltas, and in the catalog, where
// they hold the totals of everything flushed or bulk-built):
//   r_kind(basis, day, kind, events)          events per day and kind
//   r_relay(basis, day, source, events, novel) distinct (event, source) sightings per day; novel:
//                                             the event's first source was this one
//   r_authors(basis, day, sketch)             distinct authors per day (AuthorSketch)
//   r_delay(basis, day, bin, events)          first_seen − created_at, log2 bins (delayBin)
//   r_repl(basis, day, n, events)             events carried by n distinct sources
// `day` is days since 1970-01-01 UTC of the event's created_at (basis 0) or of its first_seen_at
// (basis 1). Every number of an event counts on its own day, whatever the day of the sighting.
//
// Totals = catalog + every hot file the catalog has not folded yet. A flush folds the hot file's
// deltas into the catalog in the catalog transaction that retires the hot file (one place at
// every moment). A bulk build folds its runs into the catalog directly.
// Thread: RollupDelta and AuthorSketch are values; readRollups() from any thread.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/index/sqlite_util.h"
#include "core/protocol/event.h"
#include "core/util/expected.h"

namespace archivist::index {

class Index;

inline constexpr int kRollupVersion = 1;  // meta "rollups" of the catalog; absent: not maintained

inline constexpr const char* kRollupTablesSql = R"SQL(
CREATE TABLE IF NOT EXISTS r_kind(basis INTEGER NOT NULL, day INTEGER NOT NULL, kind INTEGER NOT NULL,
  events INTEGER NOT NULL, PRIMARY KEY(basis, day, kind)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS r_relay(basis INTEGER NOT NULL, day INTEGER NOT NULL, source INTEGER NOT NULL,
  events INTEGER NOT NULL, novel INTEGER NOT NULL, PRIMARY KEY(basis, day, source)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS r_authors(basis INTEGER NOT NULL, day INTEGER NOT NULL, sketch BLOB NOT NULL,
  PRIMARY KEY(basis, day)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS r_delay(basis INTEGER NOT NULL, day INTEGER NOT NULL, bin INTEGER NOT NULL,
  events INTEGER NOT NULL, PRIMARY KEY(basis, day, bin)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS r_repl(basis INTEGER NOT NULL, day INTEGER NOT NULL, n INTEGER NOT NULL,
  events INTEGER NOT NULL, PRIMARY KEY(basis, day, n)) WITHOUT ROWID;
)SQL";

enum class DayBasis : uint8_t { CreatedAt = 0, FirstSeen = 1 };

// Days since 1970-01-01 UTC (floor division: negative times fall on negative days).
inline int64_t dayOf(int64_t unix_s) { return unix_s >= 0 ? unix_s / 86400 : -((-unix_s + 86399) / 86400); }
inline int64_t dayOfMs(int64_t unix_ms) { return dayOf(unix_ms >= 0 ? unix_ms / 1000 : -((-unix_ms + 999) / 1000)); }

// The publication-delay bin of first_seen − created_at = d seconds: 0 for |d| < 1, else
// sign(d) · (1 + floor(log2 |d|)) — bin k > 0 holds d in [2^(k−1), 2^k) (seen after it was
// dated), bin −k the same for events dated in the future of their first sighting.
int delayBin(int64_t delay_s);
// The bin's bounds in seconds [lo, hi) (by absolute value; negative bins mirror).
std::pair<int64_t, int64_t> delayBinRange(int bin);
// "<1 s", "1–2 s", "8–16 min", "−1–2 h" …
std::string delayBinLabel(int bin);

// Distinct authors: exact while a day has at most kSparseMax authors (their 64-bit hashes kept
// sorted), a HyperLogLog of 2^12 registers beyond (standard error 1.04/√4096 ≈ 1.6 %). Merging
// is a set union, or a register-wise max — associative, commutative and idempotent, so deltas of
// hot files, lanes and runs fold in any order.
class AuthorSketch {
public:
    static constexpr int kP = 12;
    static constexpr size_t kRegisters = size_t(1) << kP;
    static constexpr size_t kSparseMax = 512;  // 4 KiB of hashes = the dense size

    static uint64_t hashOf(const protocol::Bytes32& pubkey);
    void add(uint64_t hash);
    void merge(const AuthorSketch& other);
    bool exact() const { return m_dense.empty(); }
    // Exact count while exact(), else the HyperLogLog estimate (with linear counting when small).
    uint64_t count() const;
    std::string serialize() const;
    static AuthorSketch deserialize(std::string_view blob);
    bool empty() const { return m_dense.empty() && m_sparse.empty(); }

private:
    void densify();
    void addDense(uint64_t hash);
    std::vector<uint64_t> m_sparse;  // sorted, distinct
    std::vector<uint8_t> m_dense;    // kRegisters when dense
};

// Deltas for the rollup tables, accumulated in memory (one lane batch, one hot file, one bulk
// run) and applied in one transaction.
struct RollupDelta {
    std::map<std::tuple<int, int64_t, int>, int64_t> kind;            // (basis, day, kind)
    std::map<std::tuple<int, int64_t, uint32_t>, std::pair<int64_t, int64_t>> relay;  // events, novel
    std::map<std::pair<int, int64_t>, AuthorSketch> authors;          // (basis, day)
    std::map<std::tuple<int, int64_t, int>, int64_t> delay;            // (basis, day, bin)
    std::map<std::tuple<int, int64_t, int>, int64_t> repl;             // (basis, day, n)

    bool empty() const { return kind.empty() && relay.empty() && authors.empty() && delay.empty() && repl.empty(); }
    size_t rows() const { return kind.size() + relay.size() + authors.size() + delay.size() + repl.size(); }
    void clear() { *this = RollupDelta(); }

    // A new event: its kind, author, delay; `sources` its distinct sources, the first one the
    // source that delivered it first (novel).
    void addEvent(uint16_t kind, const protocol::Bytes32& pubkey, int64_t created_at, int64_t first_seen_ms,
                  const std::vector<uint32_t>& sources);
    // A stored event gained a distinct source: it had `had` sources before.
    void addSource(int64_t created_at, int64_t first_seen_ms, uint32_t source, uint32_t had);
    void merge(const RollupDelta& o);
};

// Adds `d` into the rollup tables of `db` (inside the caller's transaction).
Expected<void> applyRollupDelta(Db& db, const RollupDelta& d);
// Reads every rollup row of `db` (a hot file: its deltas, those of its r_log included).
Expected<RollupDelta> readRollupDelta(Db& db);

// A hot file's log of deltas (decision 0033): one row per lane commit holding that commit's
// RollupDelta, serialised, written in the same transaction as the rows it counts. Adding each
// delta into the r_* tables cost an upsert per (basis, day, key) — in a backfill a commit's
// events fall on a thousand days: thousands of upserts per commit. The flush folds the log into
// the catalog's tables as it folds those. Hot files written before hold their deltas in the r_*
// tables (which every hot file still has); readers add both.
inline constexpr const char* kRollupLogSql = "CREATE TABLE IF NOT EXISTS r_log(n INTEGER PRIMARY KEY, delta BLOB NOT NULL);";
// "RL" 1, then per map (kind, relay, authors, delay, repl) a count and its entries as varints.
std::string serializeRollupDelta(const RollupDelta& d);
// Error "index_corrupt" for anything malformed.
Expected<RollupDelta> deserializeRollupDelta(std::string_view blob);
// Appends `d` (when not empty) to the r_log of `db`, inside the caller's transaction.
Expected<void> appendRollupLog(Db& db, const RollupDelta& d);

// The rollups over a range of days, for stats and the Statistics dock.
struct RollupQuery {
    DayBasis basis = DayBasis::CreatedAt;
    std::optional<int64_t> since_day;  // inclusive
    std::optional<int64_t> until_day;  // inclusive
};

struct Rollups {
    struct KindRow {
        int64_t day;
        uint16_t kind;
        uint64_t events;
    };
    struct RelayRow {
        int64_t day;
        std::string source;
        uint64_t events;
        uint64_t novel;
    };
    std::vector<KindRow> kinds;                          // by day, kind
    std::vector<RelayRow> relays;                        // by day, source
    std::map<int64_t, AuthorSketch> authors;             // by day
    std::map<std::pair<int64_t, int>, uint64_t> delay;   // (day, bin)
    std::map<std::pair<int64_t, int>, uint64_t> repl;    // (day, n)
};

// Totals over the index (catalog + unfolded hot files, consistent with one snapshot).
// Error "rollups_missing" when the index was built before rollups existed (`archivist reindex`).
Expected<Rollups> readRollups(const std::shared_ptr<Index>& index, const RollupQuery& q);

}  // namespace archivist::index
