#pragma once
// The index's ceiling, measured in the same run as the verification limit (docs/benchmarks.md,
// docs/decisions/0010-throughput-ceiling.md).
//
// Every imported event costs one signature verification and one trip through the index writer,
// which is one SQLite connection on one thread. Whatever else the pipeline does, on C cores
//     rate <= C / (1/v + 1/w)     and, with one writer thread,  rate <= w
// where v is raw verifications/s on one core and w the writer's events/s. As a ratio to the
// verification limit v·C that is  ratio <= w / (v + w)  — independent of the number of cores.
// Two values of w are measured here, both with nothing else timed (no parsing, hashing,
// verification, compression or fsync):
//   indexAloneRate  — IndexWriter::commit of parsed events in groups of 4,096: the project's schema
//                     (events and its four indexes, tags, FTS5, sightings);
//   sqliteFloorRate — bare SQLite inserting only the `events` rows of that schema (its four
//                     indexes, sorted by id per group as the writer does): no tags, FTS or sightings.
#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/archive/archive_types.h"
#include "core/index/index_writer.h"
#include "core/protocol/event.h"
#include "core/protocol/event_codec.h"
#include "verify_limit.h"

namespace archivist::bench {

namespace fs = std::filesystem;

inline double ratioCeiling(double verify_per_core, double writer_rate) {
    return writer_rate / (verify_per_core + writer_rate);
}

// Reads the JSONL file in groups of `group` parsed events and hands each group to `fn`; returns
// the seconds spent inside `fn` only.
template <class Fn>
double forEachGroup(const fs::path& file, size_t group, Fn&& fn) {
    std::ifstream in(file);
    std::string line;
    std::vector<protocol::Event> events;
    double timed = 0;
    auto flush = [&] {
        if (events.empty()) return;
        const double t0 = now();
        fn(events);
        timed += now() - t0;
        events.clear();
    };
    while (std::getline(in, line)) {
        protocol::Event e;
        if (protocol::parseEvent(line, e) != protocol::Reject::None) continue;
        events.push_back(std::move(e));
        if (events.size() == group) flush();
    }
    flush();
    return timed;
}

[[noreturn]] inline void die(const std::string& what) {
    std::fprintf(stderr, "bench: %s\n", what.c_str());
    std::exit(1);
}

// Events/s of IndexWriter::commit alone.
inline double indexAloneRate(const fs::path& events, const fs::path& db) {
    uint64_t n = 0;
    fs::remove(db);
    auto opened = index::IndexWriter::open(db);
    if (!opened) die("open " + db.string() + ": " + opened.error().message);
    index::IndexWriter& w = **opened;
    auto source = w.sourceId("import:bench");
    if (!source) die("source: " + source.error().message);
    std::vector<index::NewEvent> rows;
    uint64_t offset = 0;
    const double seconds = forEachGroup(events, 4096, [&](std::vector<protocol::Event>& group) {
        rows.clear();
        n += group.size();
        for (uint32_t i = 0; i < group.size(); ++i)
            rows.push_back(index::NewEvent{std::move(group[i]), i, 0, 1700000000000, *source});
        archive::AppendedFrame frame;
        frame.ref = archive::FrameRef{1, offset, 100000};
        frame.events = uint32_t(rows.size());
        offset += frame.ref.length;
        if (auto r = w.commit(&frame, rows, {}); !r) die("commit: " + r.error().message);
    });
    return double(n) / seconds;
}

// Events/s of bare SQLite inserting only the `events` rows (the table and its four indexes as the
// schema creates them; no tags, FTS or sightings), sorted by id per group as the writer does.
inline double sqliteFloorRate(const fs::path& events, const fs::path& db) {
    uint64_t n = 0;
    fs::remove(db);
    {
        auto created = index::IndexWriter::open(db, index::IndexOptions{.fts = false});
        if (!created) die("open " + db.string() + ": " + created.error().message);
    }
    sqlite3* s = nullptr;
    if (sqlite3_open(db.c_str(), &s) != SQLITE_OK) die("sqlite3_open");
    sqlite3_exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;", nullptr,
                 nullptr, nullptr);
    sqlite3_stmt* ins = nullptr;
    if (sqlite3_prepare_v2(s,
                           "INSERT INTO events(id, pubkey, kind, created_at, first_seen_at, frame, line, flags) "
                           "VALUES (?,?,?,?,?,?,?,0)",
                           -1, &ins, nullptr) != SQLITE_OK)
        die(std::string("prepare: ") + sqlite3_errmsg(s));
    int64_t frame = 0;
    const double seconds = forEachGroup(events, 4096, [&](std::vector<protocol::Event>& group) {
        n += group.size();
        std::sort(group.begin(), group.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
        ++frame;
        sqlite3_exec(s, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
        int line = 0;
        for (const protocol::Event& e : group) {
            sqlite3_bind_blob(ins, 1, e.id.data(), 32, SQLITE_STATIC);
            sqlite3_bind_blob(ins, 2, e.pubkey.data(), 32, SQLITE_STATIC);
            sqlite3_bind_int(ins, 3, e.kind);
            sqlite3_bind_int64(ins, 4, e.created_at);
            sqlite3_bind_int64(ins, 5, 1700000000000);
            sqlite3_bind_int64(ins, 6, frame);
            sqlite3_bind_int64(ins, 7, line++);
            if (sqlite3_step(ins) != SQLITE_DONE) die(std::string("insert: ") + sqlite3_errmsg(s));
            sqlite3_reset(ins);
        }
        if (sqlite3_exec(s, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) die("commit");
    });
    sqlite3_finalize(ins);
    sqlite3_close(s);
    return double(n) / seconds;
}

}  // namespace archivist::bench
