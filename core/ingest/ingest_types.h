#pragma once
// Value types that travel through the ingest pipeline's bounded queues.
//   producers (import reader, relay connections) → RawBatch → verify pool → VerifiedBatch → commit writer
// Every item carries the id of the SourceTable entry it came from, so counts and rejections are
// attributed to a relay or an import job.
#include <cstdint>
#include <string>
#include <vector>

#include "core/archive/archive_types.h"
#include "core/protocol/event.h"

namespace archivist::ingest {

using SourceId = uint32_t;  // index into the SourceTable (not the index database's source id)

struct RawItem {
    std::string json;            // one event object, exactly as received
    int64_t received_at_ms = 0;  // wall clock when it arrived
};

struct RawBatch {
    SourceId source = 0;
    std::vector<RawItem> items;
    // Whether byte-identical copies of these events are likely to follow from other sources (a
    // relay's: the same event from many relays). Only then are they worth remembering in the
    // copies cache and the lanes' rollup facts cache (decision 0034); a file import or a salvage
    // says false, and its events cost those caches neither time nor memory.
    bool copies_expected = true;
};

struct VerifiedItem {
    protocol::Event event;
    std::string canonical;  // canonical event JSON (protocol::appendEventJson), no newline; empty
                            // for a known duplicate (it is not archived)
    uint32_t flags = 0;     // protocol::EventFlag bits
    int64_t received_at_ms = 0;
    int64_t sighash = 0;    // index::sigHash(event.sig)
    std::vector<int64_t> tag_keys;  // index::indexTagKeys(event): worked out here, in parallel
    // What the verify thread found out (advisory: the commit writer's deduplication decides).
    int64_t known_rk = 0;            // the id is stored under this row key (0: not found)
    archive::EventPos known_pos;     // and archived there
    bool signature_skipped = false;  // a stored copy has the same signature hash: BIP-340 not run
    // The stored copy's file already holds this source's sighting of it, seen no later than this
    // copy: the copy adds nothing but a duplicate count (used only within lookup_generation).
    bool sighted_by_source = false;
    bool absent = false;             // not stored as of the cache epoch below (RecentIdCache)
    uint64_t absent_epoch = 0;
    uint64_t lookup_generation = 0;  // RecentIdCache::generation() when looked up (index replaced since: void)
    // Not empty: the item repeats JSON handled lately (CopyCache) and was not parsed; `event` holds
    // only its id and created_at, and this is its JSON, for the writer to parse if it must store it.
    std::string unparsed;
};

struct VerifiedBatch {
    SourceId source = 0;
    std::vector<VerifiedItem> items;
    bool copies_expected = true;  // RawBatch::copies_expected
};

}  // namespace archivist::ingest
