#pragma once
// Test/bench helper: realistic signed events in bulk (deterministic for a seed).
// Mostly kind 1, 0–5 tags, 40–600 bytes of content, `authors` distinct keys. created_at: three
// events a second from 1700000000 in file order (per writer thread: the file is written thread by
// thread), or with `spread_s` > 0 uniform over [1700000000 − spread_s, 1700000000) — what a
// backfill of old history looks like. `unique_terms` > 0 appends that many random 16-character
// words to each event's content — tokens no other event has, as image file names, cipher texts,
// invoices and bech32 references are on the real network (the 20-word vocabulary alone leaves a
// full-text index's term list at 20 entries however big the archive).
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/protocol/hex.h"
#include "signed_events.h"

namespace archivist::testing {

struct FactoryResult {
    uint64_t events = 0;
    uint64_t bytes = 0;
    std::vector<protocol::Event> sample;  // up to sample_size events, for measurements
};

inline FactoryResult writeRandomEvents(const std::string& path, uint64_t n, uint64_t seed = 1,
                                       size_t authors = 2000, unsigned threads = 0, size_t sample_size = 10000,
                                       int64_t spread_s = 0, unsigned unique_terms = 0) {
    static const char* kWords[] = {"nostr", "relay", "archive", "zap", "bitcoin", "gm", "note", "event", "signal",
                                   "protocol", "freedom", "keys", "client", "the", "a", "of", "to", "and", "🌍", "✨"};
    if (!threads) threads = std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::string> chunks(threads);
    std::vector<std::vector<protocol::Event>> samples(threads);
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            std::vector<std::unique_ptr<EventSigner>> signers;  // each thread signs with its own contexts
            for (size_t a = 0; a < authors; ++a) signers.push_back(std::make_unique<EventSigner>(int(seed * 100000 + a)));
            std::mt19937_64 rng(seed * 7919 + t);
            for (uint64_t i = t; i < n; i += threads) {
                const size_t author = rng() % authors;
                const unsigned r = unsigned(rng() % 100);
                const uint16_t kind = r < 70 ? 1 : r < 80 ? 7 : r < 88 ? 6 : r < 94 ? 0 : r < 97 ? 3 : 30023;
                std::vector<std::vector<std::string>> tags;
                const int ntags = int(rng() % 6);
                for (int k = 0; k < ntags; ++k) {
                    tags.push_back({k % 2 ? "p" : "e", protocol::toHex(protocol::sha256(std::to_string(rng())))});
                    if (k == 0 && rng() % 3 == 0) tags.back().push_back("wss://relay.example.com");
                }
                if (rng() % 4 == 0) tags.push_back({"t", kWords[rng() % 18]});
                std::string content;
                const size_t target = 40 + rng() % 560;
                while (content.size() < target) {
                    content += kWords[rng() % 20];
                    content += (rng() % 12 == 0) ? "\n" : " ";
                }
                for (unsigned u = 0; u < unique_terms; ++u) {
                    static const char kAlnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
                    uint64_t bits = rng();
                    content += ' ';
                    for (int c = 0; c < 16; ++c, bits /= 36) content += kAlnum[bits % 36];
                }
                const int64_t created = spread_s > 0 ? 1700000000 - 1 - int64_t(rng() % uint64_t(spread_s))
                                                     : 1700000000 + int64_t(i / 3);
                auto e = signers[author]->make(created, kind, std::move(content), std::move(tags));
                protocol::appendEventJson(chunks[t], e);
                chunks[t].push_back('\n');
                if (samples[t].size() < sample_size / threads) samples[t].push_back(std::move(e));
            }
        });
    }
    for (auto& w : workers) w.join();
    FactoryResult res;
    std::ofstream f(path, std::ios::binary);
    for (auto& c : chunks) {
        f.write(c.data(), std::streamsize(c.size()));
        res.bytes += c.size();
    }
    res.events = n;
    for (auto& s : samples) res.sample.insert(res.sample.end(), s.begin(), s.end());
    return res;
}

}  // namespace archivist::testing
