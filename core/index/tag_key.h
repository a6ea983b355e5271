#pragma once
// The key a single-letter tag is indexed under (schema version 2; docs/index-schema.md,
// docs/decisions/0010-throughput-ceiling.md): the first 8 bytes of SHA-256(name ‖ 0x00 ‖ value),
// read little-endian as a signed 64-bit integer. The tags table stores (key, event) instead of the
// text, which makes its rows 4–5 times smaller and its inserts several times cheaper.
//
// Two different (name, value) pairs share a key with probability 2^-64 (and finding one that
// shares a given key takes about 2^64 SHA-256 evaluations), so a `#x` condition matched through
// the key is exact for every practical purpose; callers that load the event anyway confirm it
// exactly with tagsConfirmed() (export, the archive browser).
// Thread: any.
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/protocol/filter.h"

namespace archivist::index {

// Values longer than this are not indexed, and a `#x` condition never matches them through the
// index (they can still be found by exporting without the tag condition).
inline constexpr size_t kMaxTagValueBytes = 512;

int64_t tagKey(char name, std::string_view value);

// The filters with their NIP-50 `search` removed (full-text search has its own matching rules
// in the index) — what tagsConfirmed() compares against; empty when no filter has a tag
// condition, i.e. nothing needs confirming.
std::vector<protocol::Filter> tagRecheckFilters(const std::vector<protocol::Filter>& filters);

// True when the event really matches one of `recheck` (from tagRecheckFilters), or when
// `recheck` is empty.
bool tagsConfirmed(const std::vector<protocol::Filter>& recheck, const protocol::Event& e);

}  // namespace archivist::index
