#include "core/index/xor_filter.h"

#include <algorithm>
#include <cstring>

namespace archivist::index {

namespace {

void put64(std::string& out, uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(char(v >> (8 * i)));
}

bool get64(std::string_view& in, uint64_t& v) {
    if (in.size() < 8) return false;
    v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | uint8_t(in[size_t(i)]);
    in.remove_prefix(8);
    return true;
}

}  // namespace

template <typename F>
bool XorFilter::buildShard(const uint64_t* keys, size_t n, Shard& shard, std::vector<uint8_t>& out) {
    shard.offset = out.size() / sizeof(F);
    if (n == 0) {
        shard.block_length = 0;
        return true;
    }
    const size_t capacity = (32 + size_t(1.23 * double(n)) + 2) / 3 * 3;
    const uint32_t block = uint32_t(capacity / 3);
    std::vector<uint64_t> xormask(capacity);
    std::vector<uint8_t> count(capacity);
    std::vector<uint32_t> queue;
    std::vector<std::pair<uint32_t, uint64_t>> stack;  // (slot, hash), in peeling order
    queue.reserve(capacity);
    stack.reserve(n);
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (int attempt = 0; attempt < 64; ++attempt) {
        seed = mix64(seed + uint64_t(attempt) + 1);
        std::fill(xormask.begin(), xormask.end(), 0);
        std::fill(count.begin(), count.end(), 0);
        bool overflow = false;
        for (size_t i = 0; i < n; ++i) {
            const uint64_t hash = mix64(keys[i] + seed);
            const Slots p = slotsFor(hash, block);
            for (uint32_t slot : {p.h0, p.h1, p.h2}) {
                xormask[slot] ^= hash;
                if (++count[slot] == 255) overflow = true;
            }
        }
        if (overflow) continue;
        queue.clear();
        stack.clear();
        for (uint32_t i = 0; i < capacity; ++i)
            if (count[i] == 1) queue.push_back(i);
        while (!queue.empty()) {
            const uint32_t slot = queue.back();
            queue.pop_back();
            if (count[slot] != 1) continue;
            const uint64_t hash = xormask[slot];
            stack.emplace_back(slot, hash);
            const Slots p = slotsFor(hash, block);
            for (uint32_t s : {p.h0, p.h1, p.h2}) {
                xormask[s] ^= hash;
                if (--count[s] == 1) queue.push_back(s);
            }
        }
        if (stack.size() != n) continue;
        std::vector<F> fp(capacity, 0);
        for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
            const Slots p = slotsFor(it->second, block);
            fp[it->first] = 0;
            fp[it->first] = F(F(it->second ^ (it->second >> 32)) ^ fp[p.h0] ^ fp[p.h1] ^ fp[p.h2]);
        }
        out.reserve(out.size() + capacity * sizeof(F));
        for (F v : fp)
            for (size_t b = 0; b < sizeof(F); ++b) out.push_back(uint8_t(v >> (8 * b)));  // little-endian
        shard.seed = seed;
        shard.block_length = block;
        return true;
    }
    return false;
}

XorFilter XorFilter::build(std::vector<uint64_t>& keys, int bits) {
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    XorFilter f;
    f.m_width = bits == 16 ? 2 : 1;
    f.m_keys = keys.size();
    while ((keys.size() >> f.m_shardBits) > kShardKeys && f.m_shardBits < 16) ++f.m_shardBits;
    const size_t shards = size_t(1) << f.m_shardBits;
    f.m_shards.resize(shards);
    size_t begin = 0;
    for (size_t s = 0; s < shards; ++s) {
        size_t end = begin;
        while (end < keys.size() && (f.m_shardBits == 0 || (keys[end] >> (64 - f.m_shardBits)) == s)) ++end;
        // Distinct keys always peel eventually; 64 failed seeds in a row do not happen in practice.
        const bool built = f.m_width == 2 ? buildShard<uint16_t>(keys.data() + begin, end - begin, f.m_shards[s], f.m_fingerprints)
                                          : buildShard<uint8_t>(keys.data() + begin, end - begin, f.m_shards[s], f.m_fingerprints);
        if (!built) {
            XorFilter always;  // cannot happen; a filter that says "maybe" to everything stays correct
            always.m_keys = keys.size();
            always.m_shards.push_back(Shard{0, 0, 0});
            always.m_shardBits = 64;
            return always;
        }
        begin = end;
    }
    return f;
}

std::string XorFilter::serialize() const {
    std::string out = m_width == 2 ? "XR16" : "XOR8";
    out.push_back(1);
    out.push_back(char(m_shardBits));
    put64(out, m_keys);
    for (const Shard& s : m_shards) {
        put64(out, s.seed);
        put64(out, s.block_length);
        put64(out, s.offset);
    }
    out.append(reinterpret_cast<const char*>(m_fingerprints.data()), m_fingerprints.size());
    return out;
}

std::optional<XorFilter> XorFilter::deserialize(std::string_view in) {
    if (in.size() < 6 || (in.substr(0, 4) != "XOR8" && in.substr(0, 4) != "XR16") || in[4] != 1) return std::nullopt;
    XorFilter f;
    f.m_width = in.substr(0, 4) == "XR16" ? 2 : 1;
    f.m_shardBits = uint8_t(in[5]);
    in.remove_prefix(6);
    if (f.m_shardBits > 16 && f.m_shardBits != 64) return std::nullopt;
    if (!get64(in, f.m_keys)) return std::nullopt;
    const size_t shards = f.m_shardBits == 64 ? 1 : size_t(1) << f.m_shardBits;
    f.m_shards.resize(shards);
    uint64_t expect = 0;
    for (Shard& s : f.m_shards) {
        uint64_t block = 0;
        if (!get64(in, s.seed) || !get64(in, block) || !get64(in, s.offset)) return std::nullopt;
        if (block > (uint64_t(1) << 30) || s.offset != expect) return std::nullopt;
        s.block_length = uint32_t(block);
        expect += 3 * block;
    }
    if (in.size() != expect * f.m_width) return std::nullopt;
    f.m_fingerprints.assign(in.begin(), in.end());
    return f;
}

}  // namespace archivist::index
