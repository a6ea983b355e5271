#pragma once
// The index's own rate, measured in the same run as the verification limit (docs/benchmarks.md,
// decisions 0010 and 0011).
//
// Every imported event costs one signature verification and its share of the index's work. If
// the index alone takes w events/s of the machine, then on C cores, whatever else happens,
//     rate <= C / (1/v + C/w)    i.e.   ratio = rate / (v·C) <= w / (w + C·v)
// where v is raw verifications/s on one core. w is measured with nothing else timed (no parsing,
// hashing, verification, compression or fsync):
//   indexAloneRate — the partitioned index (decision 0011) taking parsed events in groups of 4,096:
//                    its lanes, hot files, full-text files, flushes and merges, on every core.
#include <algorithm>
#include <chrono>
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

inline double ratioCeiling(double verify_per_core, double index_rate, unsigned cores) {
    return index_rate / (index_rate + double(cores) * verify_per_core);
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

// Events/s of the index alone: the events, parsed beforehand, handed to IndexWriter in groups of
// 4,096 (its writer lanes commit them in parallel, the background flushes and merges run as they
// would); nothing else is timed (no parsing, hashing, verification, compression or fsync of the
// archive).
inline double indexAloneRate(const fs::path& events, const fs::path& dir) {
    uint64_t n = 0;
    fs::remove_all(dir);
    auto opened = index::IndexWriter::open(dir);
    if (!opened) die("open " + dir.string() + ": " + opened.error().message);
    index::IndexWriter& w = **opened;
    auto source = w.sourceId("import:bench");
    if (!source) die("source: " + source.error().message);
    std::vector<index::NewEvent> rows;
    uint64_t offset = 0;
    const double seconds = forEachGroup(events, 4096, [&](std::vector<protocol::Event>& group) {
        rows.clear();
        n += group.size();
        for (uint32_t i = 0; i < group.size(); ++i) {
            index::NewEvent ne;
            ne.event = std::move(group[i]);
            ne.line = i;
            ne.first_seen_at_ms = 1700000000000;
            ne.source = *source;
            rows.push_back(std::move(ne));
        }
        archive::AppendedFrame frame;
        frame.ref = archive::FrameRef{1, offset, 100000};
        frame.events = uint32_t(rows.size());
        offset += frame.ref.length;
        if (auto r = w.submit(&frame, rows, {}); !r) die("submit: " + r.error().message);
        w.completed(std::chrono::milliseconds(0));
    });
    const double t0 = now();
    while (w.pendingTickets()) w.completed(std::chrono::milliseconds(20));
    return double(n) / (seconds + (now() - t0));
}

}  // namespace archivist::bench
