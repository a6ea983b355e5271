#pragma once
// XorFilter8: an immutable approximate-membership filter over 64-bit keys (Graf & Lemire, "Xor
// Filters: Faster and Smaller Than Bloom and Cuckoo Filters", 2020): 8-bit fingerprints in an
// array of ≈ 1.23 × n bytes; no false negatives, false positives with probability ≈ 1/256.
// Each part carries one over the ids it holds (key = layout.h idKey), so a lookup opens the
// part's SQLite file only when the filter says the id may be there.
//
// Large key sets are split by their top bits into shards of at most kShardKeys keys, each its own
// xor filter: construction then needs ≈ 9 bytes per key of ONE shard as scratch (≈ 12 MiB),
// whatever the part's size.
// Thread: build on one thread; an immutable filter may be read from any thread.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace archivist::index {

// MurmurHash3's 64-bit finaliser: spreads every bit of `h` over all 64 (the filters' hashing).
inline uint64_t mix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

class XorFilter8 {
public:
    static constexpr size_t kShardKeys = size_t(1) << 20;

    XorFilter8() = default;  // the empty filter: contains nothing
    // Builds over `keys` (duplicates allowed; the vector is sorted and deduplicated in place).
    static XorFilter8 build(std::vector<uint64_t>& keys);
    bool mayContain(uint64_t key) const;
    size_t bytes() const { return m_fingerprints.size(); }
    uint64_t keys() const { return m_keys; }

    // Stored form: "XOR8", version 1, shard bits, key count, then per shard seed, block length and
    // fingerprints. deserialize() refuses anything malformed.
    std::string serialize() const;
    static std::optional<XorFilter8> deserialize(std::string_view data);

private:
    struct Shard {
        uint64_t seed = 0;
        uint32_t block_length = 0;  // 0: an empty shard
        uint64_t offset = 0;        // of its 3 × block_length fingerprints in m_fingerprints
    };
    static bool buildShard(const uint64_t* keys, size_t n, Shard& shard, std::vector<uint8_t>& out);
    uint32_t m_shardBits = 0;
    uint64_t m_keys = 0;
    std::vector<Shard> m_shards;
    std::vector<uint8_t> m_fingerprints;
};

}  // namespace archivist::index
