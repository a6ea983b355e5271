// bench_stats --data-dir DIR [--runs N]: how long the Statistics dock's request takes on the real
// index of a data directory (read-only): engine::statisticsFor() — the rollups read once, every
// table built — for the ranges of the dock's selector, N runs each, minimum / median / maximum.
// The drawing side is timed by tests/ui/tst_statistics_panel (a year of 1M events' rollups).
// Results: docs/benchmarks.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/engine/query_types.h"
#include "core/engine/research_stats.h"
#include "core/index/index.h"

using namespace archivist;

int main(int argc, char** argv) {
    std::string dir;
    int runs = 5;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--data-dir" && i + 1 < argc) dir = argv[++i];
        else if (a == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    }
    if (dir.empty()) {
        std::fprintf(stderr, "usage: bench_stats --data-dir DIR [--runs N]\n");
        return 2;
    }
    index::IndexOptions o;
    o.read_only = true;
    auto idx = index::Index::open(std::filesystem::path(dir) / "index", o);
    if (!idx) {
        std::fprintf(stderr, "bench_stats: %s\n", idx.error().message.c_str());
        return 1;
    }
    std::printf("events in the index: %llu\n", (unsigned long long)(*idx)->eventCount());
    // "Now" is the newest day with events, so that the short ranges hold data.
    engine::StatisticsRequest all;
    auto probe = engine::statisticsFor(*idx, all);
    if (!probe.ok) {
        std::fprintf(stderr, "bench_stats: %s\n", probe.error.toStdString().c_str());
        return 1;
    }
    const int64_t last = probe.day.rows.empty() ? 0 : probe.day.rows.back().day;
    struct Case {
        const char* name;
        std::optional<qint64> since;
    } cases[] = {{"all", std::nullopt}, {"30 days", (last - 29) * 86400}, {"7 days", (last - 6) * 86400},
                 {"24 hours", (last - 1) * 86400}};
    for (const auto& c : cases) {
        std::vector<double> ms;
        size_t days = 0, relays = 0;
        for (int r = 0; r < runs; ++r) {
            engine::StatisticsRequest q;
            q.since = c.since;
            const auto t0 = std::chrono::steady_clock::now();
            auto res = engine::statisticsFor(*idx, q);
            ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
            if (!res.ok) return 1;
            days = res.day.rows.size();
            relays = res.relay.rows.size();
        }
        std::sort(ms.begin(), ms.end());
        std::printf("%-9s %5zu days %4zu relays   min %7.2f ms  median %7.2f ms  max %7.2f ms\n", c.name, days, relays,
                    ms.front(), ms[ms.size() / 2], ms.back());
    }
    return 0;
}
