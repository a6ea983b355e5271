#pragma once
// The partitioned index's pure functions (docs/index-schema.md, decision 0011):
//
// - bucket(created_at): where an event's row lives once its hot file is flushed. A pure function
//   of created_at — never of the clock — so every copy of an event (the id commits to created_at)
//   falls in the same bucket and deduplication only ever looks in one bucket's parts.
//   Bucket 0 holds everything before 2020-01-01 ("early"), buckets 1…960 the UTC months
//   2020-01 … 2099-12, bucket 961 everything from 2100-01-01 on ("late").
// - the row key rk: (min(created_at, 2^32 − 1) << 31) | (seq mod 2^31), seq being the index's
//   own counter of stored events. Unique while fewer than 2^31 sequence numbers have been
//   handed out; ordered by created_at (then by arrival), which lets full-text search walk its
//   posting lists newest first. It is the rowid of `events` in hot files and parts, the rowid of
//   the full-text index, and the key of `sightings` and `tags`.
// - lane(id): the writer lane (and full-text shard) of an event, from its id.
// Thread: any.
#include <cstdint>
#include <string>

#include "core/protocol/event.h"

namespace archivist::index {

using Bucket = uint16_t;

inline constexpr Bucket kBucketEarly = 0;
inline constexpr Bucket kBucketLate = 961;
inline constexpr Bucket kBucketCount = 962;
inline constexpr int64_t kFirstMonthStart = 1577836800;  // 2020-01-01T00:00:00Z
inline constexpr int64_t kLateStart = 4102444800;        // 2100-01-01T00:00:00Z

Bucket bucketOf(int64_t created_at);
// Inclusive created_at bounds of a bucket (early: 0 …; late: … 2^63 − 1).
int64_t bucketLo(Bucket b);
int64_t bucketHi(Bucket b);
// "early", "2023-11", "late".
std::string bucketName(Bucket b);

inline constexpr int kSeqBits = 31;
inline constexpr int64_t kSeqMask = (int64_t(1) << kSeqBits) - 1;
inline constexpr int64_t kRkTimeMax = (int64_t(1) << 32) - 1;

inline int64_t rkTime(int64_t created_at) { return created_at < kRkTimeMax ? created_at : kRkTimeMax; }
inline int64_t makeRk(int64_t created_at, uint64_t seq) {
    return (rkTime(created_at) << kSeqBits) | (int64_t(seq) & kSeqMask);
}
// The created_at of a row key (exact below 2^32 − 1; 2^32 − 1 stands for every later value).
inline int64_t rkCreatedAt(int64_t rk) { return rk >> kSeqBits; }
// Smallest / largest rk of rows whose created_at is `t` (t < 2^32 − 1).
inline int64_t rkFloor(int64_t t) { return rkTime(t) << kSeqBits; }
inline int64_t rkCeil(int64_t t) { return (rkTime(t) << kSeqBits) | kSeqMask; }
inline Bucket bucketOfRk(int64_t rk) { return bucketOf(rkCreatedAt(rk)); }

// The first 8 bytes of an id, little-endian: the key of the id filters and of lane().
uint64_t idKey(const protocol::Bytes32& id);
inline uint32_t laneOf(const protocol::Bytes32& id, uint32_t lanes) {
    return lanes <= 1 ? 0 : uint32_t((idKey(id) >> 8) % lanes);
}

// A short hash of the signature bytes (first 8 bytes of SHA-256(sig), as a signed integer): a
// copy whose signature hashes the same as the stored copy's is the same signed event.
int64_t sigHash(const protocol::Bytes64& sig);

}  // namespace archivist::index
