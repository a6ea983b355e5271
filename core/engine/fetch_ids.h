#pragma once
// fetch-ids: the events with exactly these ids, from the open relays — `archivist fetch-ids FILE`
// and the console's File → Fetch events by id… (FILE as `archivist coverage --missing` writes it:
// one 64-hex id per line).
//
// The file is streamed in batches of at most sync::IdFetch::kMaxBatch ids: ids the archive already
// holds are skipped; the rest go to every open relay (sync::IdFetch, REQ {"ids"} chunks within each
// relay's limits, through the normal verified pipeline); once every relay's part has settled, each
// id is looked up in the index again. "found" counts ids the archive holds after the batch and did
// not before — what was stored, not what was sent; every relay's tally says what it returned.
// Memory: one batch (≤ 10,000 ids) and one tally per relay.
// Thread: the engine's job thread (blocks while the relays work).
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/sync/id_fetch.h"
#include "core/util/expected.h"

namespace archivist::index {
class Index;
}

namespace archivist::engine {

struct FetchIdsReport {
    uint64_t lines = 0;          // lines read (blank lines included)
    uint64_t invalid_lines = 0;  // not a 64-hex id (blank lines are not counted)
    uint64_t ids = 0;            // distinct ids per batch
    uint64_t already_held = 0;   // held before they were asked for
    uint64_t asked = 0;          // handed to the relays
    uint64_t found = 0;          // held after their batch
    uint64_t not_found = 0;      // asked, still not held
    uint64_t batches = 0;
    uint64_t bytes_read = 0, bytes_total = 0;
    double seconds = 0;
    std::string stopped;         // "" completed; "cancelled"; "no relay open"
    std::vector<sync::IdFetchRelayTally> relays;
};

using FetchIdsProgress = std::function<void(const FetchIdsReport&)>;

Expected<FetchIdsReport> runFetchIds(const std::shared_ptr<index::Index>& index, sync::IdFetch& fetch,
                                     const std::filesystem::path& file, const FetchIdsProgress& progress,
                                     const std::atomic<bool>* cancel, int64_t no_relay_ms = 30000);

std::string fetchIdsJson(const FetchIdsReport& r);
std::string fetchIdsText(const FetchIdsReport& r);  // multi-line: the totals, then one line per relay

}  // namespace archivist::engine
