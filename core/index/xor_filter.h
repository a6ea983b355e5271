#pragma once
// XorFilter: an immutable approximate-membership filter over 64-bit keys (Graf & Lemire, "Xor
// Filters: Faster and Smaller Than Bloom and Cuckoo Filters", 2020): 8- or 16-bit fingerprints
// in an array of ≈ 1.23 × n of them; no false negatives, false positives with probability
// ≈ 1/256 or ≈ 1/65,536. Each part carries one over the ids it holds (key = layout.h idKey, 16
// bits: decision 0028), so a lookup opens the part's SQLite file only when the filter says the
// id may be there, and one over its orphan sightings (8 bits).
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

class XorFilter {
public:
    static constexpr size_t kShardKeys = size_t(1) << 20;

    XorFilter() = default;  // the empty filter: contains nothing
    // Builds over `keys` (duplicates allowed; the vector is sorted and deduplicated in place)
    // with fingerprints of `bits` bits: 8 or 16.
    static XorFilter build(std::vector<uint64_t>& keys, int bits = 8);
    bool mayContain(uint64_t key) const {
        if (m_shardBits == 64) return true;
        if (m_shards.empty()) return false;
        const Shard& s = m_shards[m_shardBits ? size_t(key >> (64 - m_shardBits)) : 0];
        if (!s.block_length) return false;
        const uint64_t hash = mix64(key + s.seed);
        const Slots p = slotsFor(hash, s.block_length);
        const uint8_t* fp = m_fingerprints.data() + s.offset * m_width;
        if (m_width == 1) return uint8_t(hash ^ (hash >> 32)) == uint8_t(fp[p.h0] ^ fp[p.h1] ^ fp[p.h2]);
        return uint16_t(hash ^ (hash >> 32)) == uint16_t(load16(fp, p.h0) ^ load16(fp, p.h1) ^ load16(fp, p.h2));
    }
    // Starts loading the cache lines mayContain(key) will read. A lookup that asks several
    // filters for one key (the parts of a month) prefetches them all first: the loads then
    // overlap instead of missing the cache one after another.
    void prefetch(uint64_t key) const {
        if (m_shardBits == 64 || m_shards.empty()) return;
        const Shard& s = m_shards[m_shardBits ? size_t(key >> (64 - m_shardBits)) : 0];
        if (!s.block_length) return;
        const Slots p = slotsFor(mix64(key + s.seed), s.block_length);
        const uint8_t* fp = m_fingerprints.data() + s.offset * m_width;
        __builtin_prefetch(fp + size_t(p.h0) * m_width);
        __builtin_prefetch(fp + size_t(p.h1) * m_width);
        __builtin_prefetch(fp + size_t(p.h2) * m_width);
    }
    size_t bytes() const { return m_fingerprints.size(); }
    uint64_t keys() const { return m_keys; }
    int bits() const { return 8 * m_width; }

    // Stored form: "XOR8" (8-bit) or "XR16" (16-bit), version 1, shard bits, key count, then per
    // shard seed, block length and first slot, then the fingerprints (16-bit ones little-endian).
    // deserialize() refuses anything malformed.
    std::string serialize() const;
    static std::optional<XorFilter> deserialize(std::string_view data);

private:
    struct Shard {
        uint64_t seed = 0;
        uint32_t block_length = 0;  // 0: an empty shard
        uint64_t offset = 0;        // its first slot (of 3 × block_length) in m_fingerprints
    };
    struct Slots {
        uint32_t h0, h1, h2;
    };
    // A key's three slots, one in each third of its shard's 3 × `block` fingerprints.
    static Slots slotsFor(uint64_t hash, uint32_t block) {
        auto rotl = [](uint64_t x, int r) { return (x << r) | (x >> (64 - r)); };
        auto reduce = [](uint32_t h, uint32_t n) { return uint32_t((uint64_t(h) * n) >> 32); };
        return {reduce(uint32_t(hash), block), reduce(uint32_t(rotl(hash, 21)), block) + block,
                reduce(uint32_t(rotl(hash, 42)), block) + 2 * block};
    }
    static uint16_t load16(const uint8_t* fp, uint32_t slot) {
        return uint16_t(fp[2 * size_t(slot)] | (uint16_t(fp[2 * size_t(slot) + 1]) << 8));
    }
    template <typename F>
    static bool buildShard(const uint64_t* keys, size_t n, Shard& shard, std::vector<uint8_t>& out);
    uint32_t m_shardBits = 0;
    uint32_t m_width = 1;  // bytes per fingerprint
    uint64_t m_keys = 0;
    std::vector<Shard> m_shards;
    std::vector<uint8_t> m_fingerprints;
};

}  // namespace archivist::index
