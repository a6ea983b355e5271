#include "core/engine/coverage.h"

#include <algorithm>
#include <ctime>
#include <unordered_map>

#include "core/archive/segment_reader.h"
#include "core/index/index_reader.h"
#include "core/index/rollups.h"
#include "core/ingest/recent_id_cache.h"
#include "core/protocol/event_codec.h"
#include "core/protocol/hex.h"
#include "core/util/clock.h"

namespace archivist::engine {

namespace {

std::string monthOf(int64_t t) {
    const std::time_t tt = std::time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m", &tm);
    return buf;
}

}  // namespace

Expected<CoverageReport> computeCoverage(const std::shared_ptr<index::Index>& idx, const std::filesystem::path& archive_dir,
                                         const CoverageRequest& q, const CoverageProgress& progress,
                                         const std::atomic<bool>* cancel) {
    auto reader = index::IndexReader::open(idx);
    if (!reader) return reader.error();
    archive::FrameCache frames(archive_dir, 32 << 20);
    return computeCoverage(**reader, frames, q, progress, cancel);
}

Expected<CoverageReport> computeCoverage(index::IndexReader& rd, archive::FrameCache& frames, const CoverageRequest& q,
                                         const CoverageProgress& progress, const std::atomic<bool>* cancel) {
    index::IndexReader* reader = &rd;
    protocol::Filter f;
    if (q.since) f.since = std::max<int64_t>(0, index::dayOf(*q.since) * 86400);
    if (q.until) f.until = index::dayOf(*q.until) * 86400 + 86399;
    std::map<std::pair<std::string, uint16_t>, std::vector<protocol::Bytes32>> perMonth;
    std::unordered_map<protocol::Bytes32, bool, ingest::IdHash> distinct;
    CoverageReport rep;
    std::optional<index::Cursor> after;
    std::string lastMonth;
    uint64_t done = 0;
    size_t sincePrune = 0;
    for (;;) {
        if (cancel && cancel->load()) return makeError("cancelled", "cancelled");
        auto page = reader->query({f}, after, 2000, index::Order::OldestFirst);
        if (!page) return page.error();
        if (page->empty()) break;
        for (const auto& row : *page) {
            auto line = frames.line(row.frame, row.line);
            if (!line) return line.error();
            protocol::Event e;
            if (protocol::parseEvent(*line, e) != protocol::Reject::None)
                return makeError("corrupt", "an indexed line does not parse (run `archivist verify`)");
            bool refs = false;
            const std::string month = monthOf(e.created_at);
            for (const auto& tag : e.tags) {
                if (tag.size() < 2 || (tag[0] != "e" && tag[0] != "q") || tag[1].size() != 64) continue;
                protocol::Bytes32 id;
                if (!protocol::fromHex(tag[1], id.data(), 32)) continue;
                perMonth[{month, e.kind}].push_back(id);
                ++sincePrune;
                distinct.emplace(id, false);
                refs = true;
            }
            rep.referencing_events += refs;
            if (distinct.size() > kCoverageMaxIds)
                return makeError("usage", "more than " + std::to_string(kCoverageMaxIds) +
                                              " distinct referenced ids in range: narrow it with --since/--until");
            ++done;
            if (progress && month != lastMonth) {
                progress(month, done);
                lastMonth = month;
            }
        }
        after = index::Cursor{page->back().created_at, page->back().id};
        // Repeats of an id within a month are dropped now and then, so memory follows the
        // distinct ids (bounded above), not the references.
        if (sincePrune > (1u << 20)) {
            size_t kept = 0;
            for (auto& [key, ids] : perMonth) {
                std::sort(ids.begin(), ids.end());
                ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
                kept += ids.size();
            }
            if (kept > 2 * kCoverageMaxIds)
                return makeError("usage", "too many referenced ids in range: narrow it with --since/--until");
            sincePrune = 0;
        }
    }
    for (auto& [id, held] : distinct) {
        if (cancel && cancel->load()) return makeError("cancelled", "cancelled");
        auto found = reader->findById(id);
        if (!found) return found.error();
        held = found->has_value();
        rep.held += held;
        if (!held && q.want_missing) rep.missing.push_back(id);
    }
    rep.referenced = distinct.size();
    std::sort(rep.missing.begin(), rep.missing.end());
    std::map<std::string, std::vector<protocol::Bytes32>> monthIds;
    for (auto& [key, ids] : perMonth) {
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        auto& m = monthIds[key.first];
        m.insert(m.end(), ids.begin(), ids.end());
        CoverageRow r;
        r.month = key.first;
        r.kind = key.second;
        r.referenced = ids.size();
        for (const auto& id : ids) r.held += distinct[id];
        rep.rows.push_back(r);
    }
    for (auto& [month, ids] : monthIds) {
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        CoverageRow r;
        r.month = month;
        r.referenced = ids.size();
        for (const auto& id : ids) r.held += distinct[id];
        rep.by_month.push_back(r);
    }
    rep.as_of_ms = wallMs();
    for (auto& m : rep.by_month) m.as_of_ms = rep.as_of_ms;
    return rep;
}

std::string coverageJson(const CoverageReport& r) {
    char pct[32];
    std::snprintf(pct, sizeof pct, "%.6f", r.coverage());
    std::string out = "{\"as_of_ms\":" + std::to_string(r.as_of_ms) + ",\"referenced\":" + std::to_string(r.referenced) +
                      ",\"held\":" + std::to_string(r.held) + ",\"missing\":" + std::to_string(r.referenced - r.held) +
                      ",\"coverage\":" + pct + ",\"referencing_events\":" + std::to_string(r.referencing_events) +
                      ",\"months\":[";
    for (size_t i = 0; i < r.rows.size(); ++i) {
        const auto& x = r.rows[i];
        out += std::string(i ? "," : "") + "{\"month\":\"" + x.month + "\",\"kind\":" + std::to_string(x.kind) +
               ",\"referenced\":" + std::to_string(x.referenced) + ",\"held\":" + std::to_string(x.held) + "}";
    }
    out += "],\"by_month\":[";
    for (size_t i = 0; i < r.by_month.size(); ++i) {
        const auto& x = r.by_month[i];
        out += std::string(i ? "," : "") + "{\"month\":\"" + x.month + "\",\"referenced\":" + std::to_string(x.referenced) +
               ",\"held\":" + std::to_string(x.held) + ",\"as_of_ms\":" + std::to_string(x.as_of_ms) + "}";
    }
    out += "],\"summed_months\":" + std::string(r.summed_months ? "true" : "false") +
           ",\"months_pending\":" + std::to_string(r.months_pending);
    return out + "}";
}

std::string coverageText(const CoverageReport& r) {
    std::string out;
    char buf[160];
    std::snprintf(buf, sizeof buf, "%-8s %6s %11s %9s %9s\n", "month", "kind", "referenced", "held", "coverage");
    out += buf;
    for (const auto& x : r.rows) {
        std::snprintf(buf, sizeof buf, "%-8s %6u %11llu %9llu %8.1f%%\n", x.month.c_str(), unsigned(x.kind),
                      (unsigned long long)x.referenced, (unsigned long long)x.held,
                      x.referenced ? 100.0 * double(x.held) / double(x.referenced) : 100.0);
        out += buf;
    }
    std::snprintf(buf, sizeof buf, "%-15s %11llu %9llu %8.1f%%  (distinct over the range; %llu referencing events)\n",
                  "all", (unsigned long long)r.referenced, (unsigned long long)r.held, 100.0 * r.coverage(),
                  (unsigned long long)r.referencing_events);
    out += buf;
    return out;
}

}  // namespace archivist::engine
