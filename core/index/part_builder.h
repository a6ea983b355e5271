#pragma once
// PartBuilder: writes one immutable part (one bucket) rows first and indexes after
// (docs/index-schema.md "Parts"): no journal while building, rows appended in key order, the
// secondary indexes and the id filter built at the end, the file synced before it is registered.
// Used by the flush of a hot file, by merges and by bulk builds (reindex, migration, rebuild).
// Thread: one.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/archive/archive_types.h"
#include "core/index/layout.h"
#include "core/index/sqlite_util.h"
#include "core/index/xor_filter.h"
#include "core/protocol/event.h"
#include "core/util/expected.h"

namespace archivist::index {

// An `events` row as hot files and parts store it (kEventTablesSql's column order).
struct PartRow {
    int64_t rk = 0;
    protocol::Bytes32 id{};
    protocol::Bytes32 pubkey{};
    uint16_t kind = 0;
    int64_t created_at = 0;
    int64_t first_seen_at_ms = 0;
    archive::FrameRef frame;
    uint32_t line = 0;
    uint32_t flags = 0;
    int64_t sighash = 0;
};

struct BuiltPart {
    uint64_t events = 0;
    uint64_t bytes = 0;
    std::shared_ptr<const XorFilter> filter;
    std::shared_ptr<const XorFilter> orphans;  // orphanKey() of rks with sightings but no row here
    int64_t min_created = 0, max_created = -1;  // created_at range of its rows (min > max: none)
};

// The key of a row key in a part's orphan filter (the rks it holds sightings of but no event row
// for: copies seen after the event's own file was flushed). With the id filter it tells a lane
// which parts of a month can hold anything about an event (Lane::rollupSighting).
inline uint64_t orphanKey(int64_t rk) { return mix64(uint64_t(rk) ^ 0x6f727068616e73ull); }

// Reads `events` rows (rk order) of an open hot file or part: the columns of PartRow.
inline constexpr const char* kPartRowSelect =
    "SELECT rk, id, pubkey, kind, created_at, first_seen_at, segment, offset, length, line, flags, sighash "
    "FROM events";
PartRow readPartRow(const Stmt& st);
// Binds `row` to an `INSERT INTO events VALUES (?,…)` of the 12 columns, in table order.
void bindEventRow(Stmt& insert, const PartRow& row);

class PartBuilder {
public:
    // Creates `path` (it must not exist).
    static Expected<std::unique_ptr<PartBuilder>> create(const std::filesystem::path& path, Bucket bucket, int level,
                                                         int64_t file_id);
    // In increasing rk order, each rk once.
    Expected<void> addEvent(const PartRow& row);
    // In increasing (key, rk) order.
    Expected<void> addTag(int64_t key, int64_t rk);
    // In increasing (rk, source) order, each pair once.
    Expected<void> addSighting(int64_t rk, uint32_t source, int64_t seen_at_ms);
    // Instead of the add* calls (on a new builder, once): every row, tag and sighting of `from`
    // — a frozen hot file, all of whose rows and sightings belong to this part's bucket: the
    // events with their id index and the sightings copied by SQLite's transfer optimisation (in
    // key order, records not decoded), the tags sorted, then the secondary indexes built.
    Expected<void> copyAll(const std::filesystem::path& from);
    // Instead of the add* calls (on a new builder, once): every row, tag and sighting of the
    // parts `from` (all of this part's bucket, at most kMaxMergeInputs), merged by SQLite in key
    // order — a tag once, a sighting with its earliest seen_at. Stops with error "cancelled"
    // once `cancelled` returns true (asked before and every 1,000 SQLite steps).
    Expected<void> mergeAll(const std::vector<std::filesystem::path>& from, const std::function<bool()>& cancelled);
    // After mergeAll: none of the inputs holds a sighting without its event's row (their orphan
    // filters are empty), so the output holds none either and finish() does not look for them.
    void inputsHaveNoOrphans() { m_noOrphans = true; }
    // Secondary indexes, kind counts, the id and orphan filters, meta; then the file is synced
    // and closed.
    Expected<BuiltPart> finish();
    uint64_t events() const { return m_events; }

    // SQLite attaches at most 10 databases to a connection (SQLITE_MAX_ATTACHED's default).
    static constexpr size_t kMaxMergeInputs = 10;

private:
    PartBuilder() = default;
    Expected<void> readBackRows();  // count, kinds, created_at range and filter keys of the rows
    // The same facts of one row, as addEvent takes them.
    void noteRow(const protocol::Bytes32& id, uint16_t kind, int64_t created_at) {
        if (!m_events++) m_minCreated = m_maxCreated = created_at;
        m_minCreated = std::min(m_minCreated, created_at);
        m_maxCreated = std::max(m_maxCreated, created_at);
        ++m_kinds[kind];
        m_keys.push_back(idKey(id));
    }
    // ATTACH `file` (a path or a file: URI) as `name`, outside a transaction.
    Expected<void> attach(const std::string& file, const std::string& name);
    Db m_db;
    Stmt m_event, m_tag, m_sighting;
    std::filesystem::path m_path;
    Bucket m_bucket = 0;
    int m_level = 0;
    int64_t m_fileId = 0;
    uint64_t m_events = 0;
    bool m_indexed = false;  // copyAll built the indexes
    bool m_noOrphans = false;  // inputsHaveNoOrphans()
    int64_t m_minCreated = 0, m_maxCreated = 0;
    std::map<uint16_t, uint64_t> m_kinds;
    std::vector<uint64_t> m_keys;
};

// Reads the id filter stored in a part (nullptr: none, or unreadable).
std::shared_ptr<const XorFilter> readFilter(Db& part);
// Reads the orphan filter stored in a part (nullptr: none — a part built before it existed — or
// unreadable: then every sighting lookup must read the part).
std::shared_ptr<const XorFilter> readOrphanFilter(Db& part);

}  // namespace archivist::index
