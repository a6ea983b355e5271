// make_events OUT N [SEED [SPREAD_DAYS]]: writes N realistic signed events as JSONL (deterministic
// for SEED); with SPREAD_DAYS their created_at is spread over that many days before 2023-11-14.
// Used by the crash tests and available for trying Archivist on synthetic data.
#include <cstdio>
#include <cstdlib>

#include "event_factory.h"

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: make_events OUT N [SEED [SPREAD_DAYS]]\n");
        return 2;
    }
    const uint64_t n = std::strtoull(argv[2], nullptr, 10);
    const uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;
    const int64_t spread_days = argc > 4 ? std::strtoll(argv[4], nullptr, 10) : 0;
    const auto r = archivist::testing::writeRandomEvents(argv[1], n, seed, 500, 0, 10000, spread_days * 86400);
    std::fprintf(stderr, "wrote %llu events (%llu bytes) to %s\n", (unsigned long long)r.events,
                 (unsigned long long)r.bytes, argv[1]);
    return 0;
}
