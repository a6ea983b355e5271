#pragma once
// Coverage: how complete is the archive? Of the event ids that archived events reference in `e`
// and `q` tags (64-hex values), how many does the archive hold — by the month (UTC, created_at)
// and kind of the referencing events. `archivist coverage` and the console's Statistics dock.
//
// Not a rollup (decision 0017): whether a referenced id is held changes when the referenced event
// arrives, possibly years later and in another month. It is computed per month by reading that
// month's events (index rows, then their lines from the archive) and looking every distinct
// referenced id up in the index; each month's result carries the time it was computed ("as of").
// Memory: the distinct referenced ids of the range (32 bytes each, at most kCoverageMaxIds:
// narrow the range beyond), each month's ids per kind (repeats dropped every 2^20 references; at
// most twice that) and one frame cache.
// Thread: any; read-only (its own index reader).
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/protocol/event.h"
#include "core/util/expected.h"

namespace archivist::index {
class Index;
class IndexReader;
}  // namespace archivist::index

namespace archivist::archive {
class FrameCache;
}

namespace archivist::engine {

struct CoverageRow {
    std::string month;  // "2024-03"
    uint16_t kind = 0;  // of the referencing events
    uint64_t referenced = 0;  // distinct ids referenced by this month's events of this kind
    uint64_t held = 0;
    int64_t as_of_ms = 0;  // by_month rows: when that month was computed
};

struct CoverageReport {
    std::vector<CoverageRow> rows;      // by month, kind
    std::vector<CoverageRow> by_month;  // by month, every kind together (kind 0)
    // Distinct over the whole range (an id referenced in two months counts once here).
    uint64_t referenced = 0;
    uint64_t held = 0;
    uint64_t referencing_events = 0;
    int64_t as_of_ms = 0;  // the oldest month's computation
    // Kept per month (CoverageMonitor): referenced/held are sums over the months (an id referenced
    // in two months counts in each), and months_pending months of the range changed since.
    bool summed_months = false;
    uint32_t months_pending = 0;
    std::vector<protocol::Bytes32> missing;  // sorted; filled when asked for
    double coverage() const { return referenced ? double(held) / double(referenced) : 1.0; }
};

struct CoverageRequest {
    std::optional<int64_t> since;  // unix seconds: from the start of its UTC day
    std::optional<int64_t> until;  // unix seconds: to the end of its UTC day
    bool want_missing = false;
};

inline constexpr size_t kCoverageMaxIds = 8'000'000;  // ≈ 300 MB with their bookkeeping

using CoverageProgress = std::function<void(const std::string& month, uint64_t events_done)>;

Expected<CoverageReport> computeCoverage(const std::shared_ptr<index::Index>& index,
                                         const std::filesystem::path& archive_dir, const CoverageRequest& request,
                                         const CoverageProgress& progress = {},
                                         const std::atomic<bool>* cancel = nullptr);
// The same with the caller's reader (IndexReader::interrupt() stops it: error "interrupted") and
// frame cache (the console's query thread).
Expected<CoverageReport> computeCoverage(index::IndexReader& reader, archive::FrameCache& frames,
                                         const CoverageRequest& request, const CoverageProgress& progress = {},
                                         const std::atomic<bool>* cancel = nullptr);

std::string coverageJson(const CoverageReport& r);
std::string coverageText(const CoverageReport& r);

}  // namespace archivist::engine
