// Query benchmark (docs/benchmarks.md "Queries"; decision 0011): the archive browser's pages over a
// large index.
//
// Opens the data directory's index read-only (it must not be in use) and its archive, samples
// events (reservoir over every event; their JSON read from the archive) and runs --queries random
// browser filters, round-robin over eleven kinds: an author's newest 100, kinds in a week's range,
// a `#p` value, a `#t` value, a word of full text, an id lookup, the 10th keyset page of the
// timeline, and the list sorted by kind and by author (the first and the 10th keyset page of a
// sampled event's month: those sorts cover one month at a time, docs/index-schema.md). Each is one IndexReader (kept open across queries, as the browser's query thread
// keeps its own) asked for a page of --page rows; "page" time adds what the browser does with the
// rows: each row's line read from the archive (a bounded frame cache) and `#x` conditions
// confirmed on the event. Prints p50/p95/p99/max per kind and overall.
//
// Usage: bench_query --data-dir DIR [--queries N] [--page N] [--seed S]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench_util.h"
#include "core/archive/segment_reader.h"
#include "core/index/index.h"
#include "core/index/index_reader.h"
#include "core/index/lookup.h"
#include "core/index/tag_key.h"
#include "core/protocol/event_codec.h"
#include "core/observe/sqlite_heap.h"
#include "verify_limit.h"

using namespace archivist;
using namespace archivist::bench;
namespace fs = std::filesystem;

namespace {

struct Sampled {
    index::EventRow row;
    protocol::Event event;
};

double percentile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5));
    return v[i];
}

}  // namespace

int main(int argc, char** argv) {
    fs::path dir;
    uint64_t queries = 200, page = 100, seed = 1;
    if (!bench::parseDataDirArgs(argc, argv, "bench_query", "bench_query --data-dir DIR [--queries N] [--page N] [--seed S]",
                                 dir, {{"--queries", &queries}, {"--page", &page}, {"--seed", &seed}}))
        return 2;
    index::IndexOptions ro;
    // As the engine's store does: ARCHIVIST_INDEX_TUNING reaches the reader's options too.
    if (!bench::applyTuningFromEnvironment("bench_query", ro)) return 2;
    ro.read_only = true;
    auto idx = index::Index::open(dir / "index", ro);
    if (!idx) {
        std::fprintf(stderr, "bench_query: %s\n", idx.error().message.c_str());
        return 1;
    }
    auto reader = index::IndexReader::open(*idx);
    if (!reader) return 1;
    auto st = (*reader)->stats();
    if (!st) return 1;
    std::printf("index                 %llu events, %llu parts in %llu months, %llu hot files; load %s\n",
                (unsigned long long)st->events, (unsigned long long)st->parts, (unsigned long long)st->buckets,
                (unsigned long long)st->hot_files, loadAverage().c_str());

    // A sample of events, with their JSON.
    std::mt19937_64 rng(seed);
    std::vector<index::EventRow> rows;
    const size_t want = 4000;
    uint64_t seen = 0;
    const double s0 = now();
    auto each = (*reader)->forEachEvent([&](const index::EventRow& r) {
        ++seen;
        if (rows.size() < want) rows.push_back(r);
        else if (rng() % seen < want) rows[rng() % want] = r;
        return true;
    });
    if (!each) return 1;
    archive::FrameCache frames(dir / "archive", 32u << 20);
    std::vector<Sampled> sample;
    for (const auto& r : rows) {
        auto line = frames.line(r.frame, r.line);
        protocol::Event e;
        if (line && protocol::parseEvent(*line, e) == protocol::Reject::None) sample.push_back({r, e});
    }
    std::printf("sample                %zu events (reservoir over %llu, %.1f s)\n", sample.size(),
                (unsigned long long)seen, now() - s0);

    const char* kinds[] = {"author newest", "kinds + week", "#p",          "#t",
                           "full text",     "id lookup",    "keyset page 10", "by kind",
                           "by kind p10",   "by author",    "by author p10"};
    constexpr size_t kKinds = sizeof(kinds) / sizeof(kinds[0]);
    std::map<std::string, std::vector<double>> idxMs, pageMs;
    std::map<std::string, uint64_t> rowsOf;
    archive::FrameCache browserFrames(dir / "archive", 32u << 20);
    auto pick = [&]() -> const Sampled& { return sample[rng() % sample.size()]; };
    auto tagValue = [&](char name) -> std::optional<std::string> {
        for (int tries = 0; tries < 200; ++tries) {
            const auto& s = pick();
            for (const auto& t : s.event.tags)
                if (t.size() >= 2 && t[0].size() == 1 && t[0][0] == name) return t[1];
        }
        return std::nullopt;
    };
    for (size_t q = 0; q < queries; ++q) {
        const std::string kind = kinds[q % kKinds];
        protocol::Filter f;
        std::optional<index::Cursor> cursor;
        int pagesBefore = 0;
        const Sampled& s = pick();
        if (kind == "author newest") f.authors = {s.event.pubkey};
        else if (kind == "kinds + week") {
            f.kinds = {s.event.kind};
            f.since = s.event.created_at - 3 * 86400;
            f.until = s.event.created_at + 4 * 86400;
        } else if (kind == "#p") {
            if (auto v = tagValue('p')) f.tags['p'] = {*v};
        } else if (kind == "#t") {
            if (auto v = tagValue('t')) f.tags['t'] = {*v};
        } else if (kind == "full text") {
            std::istringstream words(s.event.content);
            std::vector<std::string> all;
            for (std::string w; words >> w;) all.push_back(w);
            f.search = all.empty() ? "nostr" : all[rng() % all.size()];
        } else if (kind == "id lookup") {
            f.ids = {s.event.id};
        } else if (kind == "keyset page 10" || kind.find("p10") != std::string::npos) {
            pagesBefore = 9;
        }
        // Sorted by kind or author: the sampled event's month, ascending.
        const bool sorted = kind.rfind("by ", 0) == 0;
        index::SortSpec spec;
        spec.key = kind.find("author") != std::string::npos ? index::SortKey::Author : index::SortKey::Kind;
        const index::Bucket month = index::bucketOf(std::max<int64_t>(0, s.event.created_at));
        spec.since = index::bucketLo(month);
        spec.until = index::bucketHi(month);
        std::optional<index::SortCursor> sortCursor;
        const std::vector<protocol::Filter> filters{f};
        auto run = [&]() {
            return sorted ? (*reader)->querySorted(filters, spec, sortCursor, page)
                          : (*reader)->query(filters, cursor, page, index::Order::NewestFirst);
        };
        for (int p = 0; p < pagesBefore; ++p) {
            auto r = run();
            if (!r || r->empty()) break;
            cursor = index::Cursor{r->back().created_at, r->back().id};
            sortCursor = index::SortCursor{r->back().kind, r->back().pubkey, r->back().created_at, r->back().id};
        }
        const double t0 = now();
        auto r = run();
        const double t1 = now();
        if (!r) {
            std::fprintf(stderr, "query failed: %s\n", r.error().message.c_str());
            return 1;
        }
        // What the browser does with the page: each row's line, `#x` confirmed on the event.
        const auto recheck = index::tagRecheckFilters(filters);
        for (const auto& row : *r) {
            auto line = browserFrames.line(row.frame, row.line);
            protocol::Event e;
            if (line && protocol::parseEvent(*line, e) == protocol::Reject::None) (void)index::tagsConfirmed(recheck, e);
        }
        const double t2 = now();
        idxMs[kind].push_back(1000 * (t1 - t0));
        pageMs[kind].push_back(1000 * (t2 - t0));
        rowsOf[kind] += r->size();
    }
    std::printf("%-16s %6s %8s %8s %8s %8s   %s\n", "query", "pages", "p50 ms", "p95 ms", "p99 ms", "max ms",
                "(index alone p99 ms, rows/page)");
    std::vector<double> allPages, allIndex;
    for (const char* k : kinds) {
        const auto& v = pageMs[k];
        if (v.empty()) continue;
        allPages.insert(allPages.end(), v.begin(), v.end());
        allIndex.insert(allIndex.end(), idxMs[k].begin(), idxMs[k].end());
        std::printf("%-16s %6zu %8.2f %8.2f %8.2f %8.2f   (%.2f, %.1f)\n", k, v.size(), percentile(v, 0.5),
                    percentile(v, 0.95), percentile(v, 0.99), percentile(v, 1.0), percentile(idxMs[k], 0.99),
                    double(rowsOf[k]) / double(v.size()));
    }
    const auto over = std::count_if(allPages.begin(), allPages.end(), [](double ms) { return ms > 50; });
    std::printf("%-16s %6zu %8.2f %8.2f %8.2f %8.2f   (%.2f)   pages over 50 ms: %ld (target: p99 <= 50 ms)\n", "all",
                allPages.size(), percentile(allPages, 0.5), percentile(allPages, 0.95), percentile(allPages, 0.99),
                percentile(allPages, 1.0), percentile(allIndex, 0.99), long(over));
    const auto heap = archivist::observe::readSqliteHeap();
    const auto conns = archivist::index::FileConnections::totals();
    std::printf("sqlite heap           %.1f MiB now, %.1f MiB peak (limit %.0f MiB); %lld connections open (bound %lld)\n",
                double(heap.used_bytes) / (1 << 20), double(heap.peak_bytes) / (1 << 20),
                double(heap.limit_bytes) / (1 << 20), (long long)conns.open, (long long)conns.capacity);
    std::printf("load average          %s at the end\n", loadAverage().c_str());
    return 0;
}
