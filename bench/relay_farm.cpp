// relay_farm — N simulated Nostr relays on 127.0.0.1 for bench_relays (a separate process, so its
// CPU is never charged to the archivist being measured).
//
// Each relay is a tests/support FakeRelay (a correct NIP-01 relay: REQ → matching events newest
// first, at most min(limit, max_limit 500) per filter → EOSE; NIP-11 on the same port) on its own
// free port. With --events FILE, the JSONL events are dealt round-robin over the relays (event i
// → relay i mod N) and every `dup_every`-th event is also given to relay (i+1) mod N, so relays
// overlap like real ones; each relay's slice is then fully reachable by since/until/limit
// pagination. Without --events every relay is empty (REQ → EOSE at once, then silence).
//
// Protocol with the driver (stdout, one line each, flushed):
//   ready <distinct> <copies> <port> <port> ...   once every relay listens
//   status open=<websockets open> reqs=<REQs received> sent=<EVENTs sent> eose=<EOSEs sent>
//                                                 every 200 ms
// The farm exits when its standard input reaches end of file (the driver closes it) or on SIGTERM.
//
// With --copies K (K > 1) every event is given to K consecutive relays instead (i, i+1, …, i+K−1
// mod N): the same event arriving from K relays.
//
// Live traffic for soaks (scripts/soak.sh), each paced every 100 ms:
//   --new-per-s R      R freshly signed kind-1 events a second, each added to one relay (round robin)
//                      and pushed to its live subscriptions;
//   --replay-pool N    a fixed pool of N signed events made at start, dated 2–3 hours ahead so that
//                      they match every live subscription (since = session start − margin) for the
//                      whole soak; --replay-per-s R of them a second, in a cycle, are pushed live by
//                      one relay each (round robin): the first pass is new, every later one is
//                      duplicates;
//   --storm-every S    every S seconds a disconnect storm: a random --storm-fraction F (default 0.3)
//                      of the relays drop every connection (they keep listening).
// Status lines then also carry new=<added> replayed=<pushed> storms=<count>.
//
// Usage: relay_farm --relays N [--events FILE] [--dup-every K (default 10, 0 = none)] [--copies K]
//                   [--new-per-s R] [--replay-pool N --replay-per-s R] [--storm-every S]
//                   [--storm-fraction F]
#include <QCoreApplication>
#include <QSocketNotifier>
#include <QTimer>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <random>

#include "core/protocol/event_codec.h"
#include "fake_relay.h"
#include "signed_events.h"

using namespace archivist;

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    size_t relays = 0;
    std::string eventsPath;
    uint64_t dupEvery = 10;
    double newPerS = 0, replayPerS = 0, stormEvery = 0, stormFraction = 0.3;
    uint64_t replayPool = 0;
    uint64_t copiesEach = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--relays" && i + 1 < argc) relays = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--events" && i + 1 < argc) eventsPath = argv[++i];
        else if (a == "--dup-every" && i + 1 < argc) dupEvery = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--copies" && i + 1 < argc) copiesEach = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--new-per-s" && i + 1 < argc) newPerS = std::strtod(argv[++i], nullptr);
        else if (a == "--replay-per-s" && i + 1 < argc) replayPerS = std::strtod(argv[++i], nullptr);
        else if (a == "--replay-pool" && i + 1 < argc) replayPool = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--storm-every" && i + 1 < argc) stormEvery = std::strtod(argv[++i], nullptr);
        else if (a == "--storm-fraction" && i + 1 < argc) stormFraction = std::strtod(argv[++i], nullptr);
        else {
            std::fprintf(stderr,
                         "usage: relay_farm --relays N [--events FILE] [--dup-every K] [--copies K] [--new-per-s R] "
                         "[--replay-pool N --replay-per-s R] [--storm-every S] [--storm-fraction F]\n");
            return 2;
        }
    }
    if (relays == 0 || relays > 5000) {
        std::fprintf(stderr, "relay_farm: --relays wants 1 … 5000\n");
        return 2;
    }
    if (copiesEach == 0 || copiesEach > relays) {
        std::fprintf(stderr, "relay_farm: --copies wants 1 … the number of relays\n");
        return 2;
    }
    if (copiesEach > 1) dupEvery = 0;
    // Each relay holds a listening socket, its connections and NIP-11 requests.
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }

    // The replay pool is made before the relays listen (signing takes a few seconds).
    testing::EventSigner signer(424242);
    std::mt19937_64 rng(7);
    std::vector<protocol::Event> pool;
    pool.reserve(replayPool);
    const int64_t poolBase = int64_t(std::time(nullptr)) + 7200;
    for (uint64_t i = 0; i < replayPool; ++i)
        pool.push_back(signer.make(poolBase + int64_t(i % 3600), 1,
                                   "replayed pool event " + std::to_string(i) + " " + std::string(size_t(40 + i % 300), 'p')));

    std::vector<std::unique_ptr<testing::FakeRelay>> farm;
    farm.reserve(relays);
    for (size_t r = 0; r < relays; ++r) farm.push_back(std::make_unique<testing::FakeRelay>());

    uint64_t distinct = 0, copies = 0;
    if (!eventsPath.empty()) {
        std::ifstream in(eventsPath, std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "relay_farm: cannot read %s\n", eventsPath.c_str());
            return 1;
        }
        std::string line;
        protocol::Event e;
        for (uint64_t i = 0; std::getline(in, line); ++i) {
            if (line.empty()) continue;
            if (protocol::parseEvent(line, e) != protocol::Reject::None) {
                std::fprintf(stderr, "relay_farm: line %llu is not an event\n", (unsigned long long)i + 1);
                return 1;
            }
            if (!farm[i % relays]->addEvent(e)) {
                std::fprintf(stderr, "relay_farm: relay %zu refused event %llu (full or duplicate)\n", size_t(i % relays),
                             (unsigned long long)i + 1);
                return 1;
            }
            ++distinct;
            ++copies;
            for (uint64_t k = 1; k < copiesEach; ++k)
                if (farm[(i + k) % relays]->addEvent(e)) ++copies;
            if (dupEvery && relays > 1 && i % dupEvery == 0 && farm[(i + 1) % relays]->addEvent(e)) ++copies;
        }
    }
    for (auto& r : farm) {
        if (auto ok = r->start(); !ok) {
            std::fprintf(stderr, "relay_farm: %s\n", ok.error().message.c_str());
            return 1;
        }
    }
    std::string ready = "ready " + std::to_string(distinct) + " " + std::to_string(copies);
    for (auto& r : farm) ready += " " + std::to_string(r->port());
    std::printf("%s\n", ready.c_str());
    std::fflush(stdout);

    // Live traffic: new events, replays of the pool, disconnect storms.
    uint64_t added = 0, replayed = 0, storms = 0, nextRelay = 0, nextReplay = 0;
    double newDebt = 0, replayDebt = 0;
    QTimer pace;
    QObject::connect(&pace, &QTimer::timeout, [&] {
        newDebt += newPerS / 10.0;
        for (; newDebt >= 1; newDebt -= 1) {
            const auto e = signer.make(int64_t(std::time(nullptr)), 1,
                                       "soak event " + std::to_string(added) + " " + std::to_string(rng()));
            if (farm[nextRelay++ % relays]->addEvent(e)) ++added;
        }
        replayDebt += replayPerS / 10.0;
        for (; replayDebt >= 1 && !pool.empty(); replayDebt -= 1) {
            const uint64_t k = nextReplay++;
            farm[k % relays]->pushEvent(pool[k % pool.size()]);
            ++replayed;
        }
    });
    if (newPerS > 0 || replayPerS > 0) pace.start(100);
    QTimer storm;
    QObject::connect(&storm, &QTimer::timeout, [&] {
        for (auto& r : farm)
            if (double(rng() % 10000) / 10000.0 < stormFraction) r->dropConnections();
        ++storms;
    });
    if (stormEvery > 0) storm.start(int(stormEvery * 1000));

    QTimer status;
    QObject::connect(&status, &QTimer::timeout, [&] {
        uint64_t open = 0, reqs = 0, sent = 0, eose = 0;
        for (auto& r : farm) {
            open += r->openWebSockets();
            reqs += r->reqsReceived();
            sent += r->eventsSent();
            eose += r->eosesSent();
        }
        std::printf("status open=%llu reqs=%llu sent=%llu eose=%llu new=%llu replayed=%llu storms=%llu\n",
                    (unsigned long long)open, (unsigned long long)reqs, (unsigned long long)sent,
                    (unsigned long long)eose, (unsigned long long)added, (unsigned long long)replayed,
                    (unsigned long long)storms);
        std::fflush(stdout);
    });
    status.start(200);

    QSocketNotifier stdinWatch(STDIN_FILENO, QSocketNotifier::Read);
    QObject::connect(&stdinWatch, &QSocketNotifier::activated, [&] {
        char buf[256];
        if (::read(STDIN_FILENO, buf, sizeof buf) <= 0) app.quit();
    });
    const int code = app.exec();
    for (auto& r : farm) r->stop();
    return code;
}
