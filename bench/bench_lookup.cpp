// bench_lookup: what an exact id lookup (index::Lookup::find, the deduplication of every new
// event) costs on an existing index, for ids that are not stored (every new event) and ids that are
// (every copy). It opens the index for writing, as the engine does — so the background threads do
// what they would at open (flushes and merges due) — waits until they are idle, then times rounds
// of lookups on one thread.
//
//   build/bench/bench_lookup --data-dir DIR [--probes N] [--rounds R] [--seed S]
//
// ARCHIVIST_INDEX_TUNING applies (`reader_connections`: the connections a lookup keeps open). The
// index is changed as an engine's open would change it (hot files, due merges): run it on a copy.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "bench_util.h"
#include "core/index/index.h"
#include "core/index/index_reader.h"
#include "core/index/layout.h"
#include "core/index/lookup.h"
#include "verify_limit.h"

using namespace archivist;
using archivist::bench::now;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
    fs::path dir;
    uint64_t probes = 200000, rounds = 5, seed = 1;
    if (!bench::parseDataDirArgs(argc, argv, "bench_lookup",
                                 "bench_lookup --data-dir DIR [--probes N] [--rounds R] [--seed S]", dir,
                                 {{"--probes", &probes}, {"--rounds", &rounds}, {"--seed", &seed}}))
        return 2;
    index::IndexOptions opts;
    if (!bench::applyTuningFromEnvironment("bench_lookup", opts)) return 2;
    auto idx = index::Index::open(dir / "index", opts);
    if (!idx) {
        std::fprintf(stderr, "bench_lookup: %s\n", idx.error().message.c_str());
        return 1;
    }
    const double t0 = now();
    if (auto r = (*idx)->start(); !r) {
        std::fprintf(stderr, "bench_lookup: %s\n", r.error().message.c_str());
        return 1;
    }
    if (!(*idx)->waitIdle(std::chrono::minutes(30))) {
        std::fprintf(stderr, "bench_lookup: the background work did not finish\n");
        return 1;
    }
    const auto g = (*idx)->gauges();
    auto snap = (*idx)->snapshot();
    size_t most = 0;
    for (const auto& [b, v] : snap->parts) most = std::max(most, v.size());
    std::printf("index       %llu parts in %zu months (at most %zu in one), %llu hot files; id filters %.1f MB; "
                "background work at open %.1f s; lookups keep %zu connections\n",
                (unsigned long long)g.parts, snap->parts.size(), most, (unsigned long long)g.hot_files,
                double(g.filter_bytes) / 1e6, now() - t0, opts.reader_connections);

    // Stored ids: a sample of the index's rows.
    auto reader = index::IndexReader::open(*idx);
    if (!reader) return 1;
    std::mt19937_64 rng(seed);
    std::vector<std::pair<protocol::Bytes32, int64_t>> stored;
    uint64_t seen = 0;
    auto each = (*reader)->forEachEvent([&](const index::EventRow& r) {
        ++seen;
        if (stored.size() < probes) stored.emplace_back(r.id, r.created_at);
        else if (rng() % seen < probes) stored[rng() % probes] = {r.id, r.created_at};
        return true;
    });
    if (!each) return 1;
    if (stored.empty()) {
        std::fprintf(stderr, "bench_lookup: the index holds no events\n");
        return 1;
    }
    std::shuffle(stored.begin(), stored.end(), rng);
    // Absent ids: random bytes, created_at of a stored event (so in a month that has parts).
    std::vector<std::pair<protocol::Bytes32, int64_t>> absent;
    for (size_t i = 0; i < stored.size(); ++i) {
        protocol::Bytes32 id;
        for (auto& b : id) b = uint8_t(rng());
        absent.emplace_back(id, stored[(i * 7919) % stored.size()].second);
    }

    index::Lookup lookup(*idx);
    std::vector<double> absentNs, storedNs;
    for (size_t r = 0; r < rounds; ++r) {
        for (int kind = 0; kind < 2; ++kind) {
            const auto& set = kind == 0 ? absent : stored;
            size_t found = 0;
            const double s = now();
            for (const auto& [id, created] : set) {
                auto f = lookup.find(id, created);
                if (!f) {
                    std::fprintf(stderr, "bench_lookup: %s\n", f.error().message.c_str());
                    return 1;
                }
                found += f->has_value() ? 1 : 0;
            }
            const double ns = 1e9 * (now() - s) / double(set.size());
            (kind == 0 ? absentNs : storedNs).push_back(ns);
            if ((kind == 0 && found != 0) || (kind == 1 && found != set.size())) {
                std::fprintf(stderr, "bench_lookup: %zu of %zu %s ids found\n", found, set.size(),
                             kind == 0 ? "absent" : "stored");
                return 1;
            }
        }
    }
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    std::printf("lookups     %zu absent ids: median %.0f ns each (rounds:", absent.size(), median(absentNs));
    for (double x : absentNs) std::printf(" %.0f", x);
    std::printf(")\n            %zu stored ids: median %.0f ns each (rounds:", stored.size(), median(storedNs));
    for (double x : storedNs) std::printf(" %.0f", x);
    std::printf(")\n");
    return 0;
}
