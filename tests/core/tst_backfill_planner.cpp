#include <QtTest>

#include <algorithm>
#include <functional>
#include <limits>
#include <random>
#include <set>

#include "core/sync/backfill_planner.h"

using archivist::protocol::Bytes32;
using archivist::protocol::Filter;
using archivist::sync::BackfillConfig;
using archivist::sync::BackfillGap;
using archivist::sync::BackfillPlanner;
using archivist::sync::BackfillQuery;

namespace {

struct SimEvent {
    int64_t created_at = 0;
    Bytes32 id{};
    uint16_t kind = 0;
};

enum class TieOrder { IdAsc, IdDesc, Random };

// A relay in memory: answers a REQ newest first, equal seconds in its own tie order, at most
// min(limit, cap) events (cap = a silent server-side cap; 0 = none). ignore_limit: answers
// `cap` events whatever limit was asked (some relays do).
struct SimRelay {
    std::vector<SimEvent> events;
    TieOrder order = TieOrder::IdAsc;
    uint32_t cap = 0;
    bool ignore_limit = false;
    std::mt19937_64 rng{7};
    // Returns a CLOSED reason instead of answering when set and returning non-empty.
    std::function<std::string(const BackfillQuery&)> close_hook;

    bool matches(const Filter& f, const SimEvent& e) const {
        if (f.since && e.created_at < *f.since) return false;
        if (f.until && e.created_at > *f.until) return false;
        if (!f.kinds.empty() && std::find(f.kinds.begin(), f.kinds.end(), e.kind) == f.kinds.end()) return false;
        return true;
    }

    std::vector<SimEvent> answer(const BackfillQuery& q) {
        std::vector<SimEvent> out;
        for (const auto& e : events)
            if (matches(q.filter, e)) out.push_back(e);
        if (order == TieOrder::Random) std::shuffle(out.begin(), out.end(), rng);
        std::stable_sort(out.begin(), out.end(), [&](const SimEvent& a, const SimEvent& b) {
            if (a.created_at != b.created_at) return a.created_at > b.created_at;
            if (order == TieOrder::IdAsc) return a.id < b.id;
            if (order == TieOrder::IdDesc) return a.id > b.id;
            return false;
        });
        if (q.type == BackfillQuery::Type::Req) {
            size_t n = out.size();
            if (q.filter.limit && !ignore_limit) n = std::min<size_t>(n, *q.filter.limit);
            if (cap) n = std::min<size_t>(n, cap);
            out.resize(std::min(n, out.size()));
        }
        return out;
    }
};

Bytes32 randomId(std::mt19937_64& rng) {
    Bytes32 id{};
    for (auto& b : id) b = uint8_t(rng());
    return id;
}

struct RunResult {
    std::set<Bytes32> received;
    std::vector<BackfillGap> gaps;
    uint64_t queries = 0;
    bool finished = false;
};

// Drives the planner to completion against the relay; with resume_every_step, each completed
// query is followed by checkpoint() → resume() into a fresh planner.
RunResult run(SimRelay& relay, const BackfillConfig& config, const Filter& base, int64_t start,
              bool resume_every_step = false, uint64_t step_bound = 100000) {
    RunResult r;
    BackfillPlanner p(config, base, start);
    for (uint64_t step = 0; step < step_bound && !p.done(); ++step) {
        auto q = p.next();
        if (!q) break;
        ++r.queries;
        std::string closed = relay.close_hook ? relay.close_hook(*q) : std::string();
        if (!closed.empty()) {
            p.onClosed(closed);
        } else {
            for (const auto& e : relay.answer(*q)) {
                r.received.insert(e.id);
                p.onEvent(e.id, e.created_at, e.kind);
            }
            p.onEose();
        }
        auto g = p.takeGaps();
        r.gaps.insert(r.gaps.end(), g.begin(), g.end());
        if (resume_every_step) {
            auto resumed = BackfillPlanner::resume(config, base, p.checkpoint());
            if (!resumed) {
                qWarning("resume failed: %s", resumed.error().message.c_str());
                return r;
            }
            p = std::move(resumed.value());
        }
    }
    auto g = p.takeGaps();
    r.gaps.insert(r.gaps.end(), g.begin(), g.end());
    r.finished = p.done();
    return r;
}

std::set<Bytes32> idsWhere(const SimRelay& relay, const std::function<bool(const SimEvent&)>& pred) {
    std::set<Bytes32> out;
    for (const auto& e : relay.events)
        if (pred(e)) out.insert(e.id);
    return out;
}

void addEvents(SimRelay& relay, std::mt19937_64& rng, size_t n, int64_t t0, int64_t span, uint16_t kinds) {
    for (size_t i = 0; i < n; ++i) {
        SimEvent e;
        e.created_at = t0 + int64_t(rng() % uint64_t(span));
        e.id = randomId(rng);
        e.kind = uint16_t(rng() % kinds);
        relay.events.push_back(e);
    }
}

}  // namespace

Q_DECLARE_METATYPE(TieOrder)

class TestBackfillPlanner : public QObject {
    Q_OBJECT
private slots:
    void randomSetsComplete_data() {
        QTest::addColumn<int>("events");
        QTest::addColumn<qint64>("span");
        QTest::addColumn<int>("kinds");
        QTest::addColumn<int>("limit");
        QTest::addColumn<TieOrder>("order");
        QTest::addColumn<int>("cap");
        QTest::addColumn<bool>("ignoreLimit");
        QTest::addColumn<bool>("resumeEveryStep");
        QTest::addColumn<int>("maxQueries");
        QTest::newRow("sparse") << 1000 << qint64(1000000) << 10 << 100 << TieOrder::IdAsc << 0 << false << false << 25;
        QTest::newRow("empty") << 0 << qint64(10) << 1 << 100 << TieOrder::IdAsc << 0 << false << false << 1;
        QTest::newRow("fewer-than-limit") << 40 << qint64(1000) << 3 << 100 << TieOrder::IdAsc << 0 << false << false << 2;
        QTest::newRow("ties-asc") << 1000 << qint64(50) << 10 << 100 << TieOrder::IdAsc << 0 << false << false << 40;
        QTest::newRow("ties-desc") << 1000 << qint64(50) << 10 << 100 << TieOrder::IdDesc << 0 << false << false << 40;
        QTest::newRow("ties-random") << 1000 << qint64(50) << 10 << 100 << TieOrder::Random << 0 << false << false << 60;
        QTest::newRow("dense-overfull") << 2000 << qint64(5) << 8 << 100 << TieOrder::IdAsc << 0 << false << false << 1000;
        QTest::newRow("dense-random") << 2000 << qint64(5) << 8 << 100 << TieOrder::Random << 0 << false << false << 1000;
        QTest::newRow("silent-cap") << 1000 << qint64(500) << 10 << 100 << TieOrder::IdAsc << 37 << false << false << 80;
        QTest::newRow("silent-cap-dense") << 480 << qint64(4) << 8 << 100 << TieOrder::IdDesc << 37 << false << false << 1000;
        QTest::newRow("ignores-limit") << 1000 << qint64(300) << 10 << 50 << TieOrder::IdAsc << 80 << true << false << 40;
        QTest::newRow("resume-sparse") << 1000 << qint64(1000000) << 10 << 100 << TieOrder::IdAsc << 0 << false << true << 25;
        QTest::newRow("resume-dense") << 2000 << qint64(5) << 8 << 100 << TieOrder::IdDesc << 0 << false << true << 1000;
        QTest::newRow("resume-silent-cap") << 600 << qint64(40) << 6 << 100 << TieOrder::Random << 23 << false << true << 1000;
    }

    // Property: everything the relay holds arrives, nothing loops, the query count is bounded.
    void randomSetsComplete() {
        QFETCH(int, events);
        QFETCH(qint64, span);
        QFETCH(int, kinds);
        QFETCH(int, limit);
        QFETCH(TieOrder, order);
        QFETCH(int, cap);
        QFETCH(bool, ignoreLimit);
        QFETCH(bool, resumeEveryStep);
        QFETCH(int, maxQueries);
        for (uint64_t seed = 1; seed <= 5; ++seed) {
            std::mt19937_64 rng(seed);
            SimRelay relay;
            relay.order = order;
            relay.cap = uint32_t(cap);
            relay.ignore_limit = ignoreLimit;
            addEvents(relay, rng, size_t(events), 1'700'000'000, span, uint16_t(kinds));
            BackfillConfig config;
            config.limit = uint32_t(limit);
            auto r = run(relay, config, Filter{}, 1'700'000'000 + span, resumeEveryStep);
            QVERIFY(r.finished);
            QVERIFY2(r.gaps.empty(), r.gaps.empty() ? "" : r.gaps.front().reason.c_str());
            QCOMPARE(r.received, idsWhere(relay, [](const SimEvent&) { return true; }));
            QVERIFY2(r.queries <= uint64_t(maxQueries), qPrintable(QString::number(r.queries)));
        }
    }

    // Checkpoint after every completed query and resume: same set, same number of queries.
    void resumeAtEveryStepMatchesStraightRun() {
        std::mt19937_64 rng(11);
        SimRelay relay;
        addEvents(relay, rng, 900, 1000, 6, 5);   // overfull seconds
        addEvents(relay, rng, 300, 0, 1000, 5);
        BackfillConfig config;
        config.limit = 60;
        const auto straight = run(relay, config, Filter{}, 2000, false);
        const auto resumed = run(relay, config, Filter{}, 2000, true);
        QVERIFY(straight.finished && resumed.finished);
        QCOMPARE(resumed.received, straight.received);
        QCOMPARE(resumed.received.size(), relay.events.size());
        QCOMPARE(resumed.queries, straight.queries);
    }

    void overfullSecondManyKindsIsComplete() {
        const uint32_t limit = 50;
        std::mt19937_64 rng(3);
        SimRelay relay;
        for (uint32_t i = 0; i < 3 * limit; ++i)
            relay.events.push_back({5000, randomId(rng), uint16_t(i % 6 == 5 ? 30000 : i % 6)});
        addEvents(relay, rng, 200, 4000, 2000, 3);
        BackfillConfig config;
        config.limit = limit;
        auto r = run(relay, config, Filter{}, 6000);
        QVERIFY(r.finished);
        QVERIFY(r.gaps.empty());
        QCOMPARE(r.received.size(), relay.events.size());
        QVERIFY(r.queries < 200);
    }

    void overfullSecondOneKindRecordsGap_data() {
        QTest::addColumn<TieOrder>("order");
        QTest::newRow("asc") << TieOrder::IdAsc;
        QTest::newRow("random") << TieOrder::Random;
    }

    void overfullSecondOneKindRecordsGap() {
        QFETCH(TieOrder, order);
        const uint32_t limit = 40;
        std::mt19937_64 rng(5);
        SimRelay relay;
        relay.order = order;
        for (uint32_t i = 0; i < 3 * limit; ++i) relay.events.push_back({7777, randomId(rng), 1});
        for (uint32_t i = 0; i < 10; ++i) relay.events.push_back({7777, randomId(rng), 7});  // same second, other kind
        addEvents(relay, rng, 300, 7000, 1500, 4);
        BackfillConfig config;
        config.limit = limit;
        auto r = run(relay, config, Filter{}, 9000);
        QVERIFY(r.finished);
        QCOMPARE(r.gaps.size(), size_t(1));
        QCOMPARE(r.gaps[0], (BackfillGap{7777, 7777, {1}, "overfull_second"}));
        // Everything outside the gap arrived.
        auto outside = idsWhere(relay, [](const SimEvent& e) { return !(e.created_at == 7777 && e.kind == 1); });
        for (const auto& id : outside) QVERIFY(r.received.count(id));
        QVERIFY(r.queries < 200);

        // With NIP-77 the same (second, kind) is fetched through a Negentropy window: complete.
        config.negentropy = true;
        auto n = run(relay, config, Filter{}, 9000);
        QVERIFY(n.finished);
        QVERIFY(n.gaps.empty());
        QCOMPARE(n.received.size(), relay.events.size());
    }

    void baseFilterKinds() {
        std::mt19937_64 rng(9);
        SimRelay relay;
        addEvents(relay, rng, 800, 100, 400, 12);
        for (int i = 0; i < 120; ++i) relay.events.push_back({300, randomId(rng), uint16_t(i % 3 == 0 ? 3 : i % 3 == 1 ? 9 : 11)});
        Filter base;
        base.kinds = {9, 3, 11};
        base.since = 12345;  // ignored
        BackfillConfig config;
        config.limit = 50;
        auto r = run(relay, config, base, 1000);
        QVERIFY(r.finished);
        QVERIFY(r.gaps.empty());
        QCOMPARE(r.received, idsWhere(relay, [](const SimEvent& e) { return e.kind == 3 || e.kind == 9 || e.kind == 11; }));
        // The overfull second splits over the three base kinds only, not all 65536.
        QVERIFY2(r.queries < 60, qPrintable(QString::number(r.queries)));
    }

    void floorAboveZero() {
        std::mt19937_64 rng(13);
        SimRelay relay;
        addEvents(relay, rng, 1000, 0, 10000, 4);
        BackfillConfig config;
        config.limit = 70;
        config.floor = 4000;
        auto r = run(relay, config, Filter{}, 8000);
        QVERIFY(r.finished);
        QCOMPARE(r.received, idsWhere(relay, [](const SimEvent& e) { return e.created_at >= 4000 && e.created_at <= 8000; }));
    }

    void extremeTimestamps() {
        std::mt19937_64 rng(17);
        SimRelay relay;
        const int64_t big = int64_t(1) << 40, huge = int64_t(1) << 62;
        for (int i = 0; i < 30; ++i) relay.events.push_back({0, randomId(rng), uint16_t(i % 2)});
        for (int i = 0; i < 30; ++i) relay.events.push_back({(int64_t(1) << 32) + 1, randomId(rng), uint16_t(i % 2)});
        for (int i = 0; i < 30; ++i) relay.events.push_back({big, randomId(rng), uint16_t(2 + i % 2)});
        for (int i = 0; i < 30; ++i) relay.events.push_back({huge, randomId(rng), uint16_t(i % 3)});
        BackfillConfig config;
        config.limit = 20;  // every one of these seconds is overfull
        auto r = run(relay, config, Filter{}, std::numeric_limits<int64_t>::max(), true);
        QVERIFY(r.finished);
        QVERIFY(r.gaps.empty());
        QCOMPARE(r.received.size(), relay.events.size());
    }

    void rateLimitedClosesRetrySameQuery() {
        std::mt19937_64 rng(19);
        SimRelay relay;
        addEvents(relay, rng, 500, 0, 5000, 3);
        std::optional<Filter> last_refused;
        int refusals = 0;
        bool retried_same = true;
        relay.close_hook = [&](const BackfillQuery& q) -> std::string {
            if (last_refused) {
                retried_same = retried_same && q.filter == *last_refused;
                last_refused.reset();
                return {};
            }
            if (++refusals % 2 == 0) return {};
            last_refused = q.filter;
            return refusals % 4 == 1 ? "rate-limited: slow down" : "auth-required: who are you";
        };
        BackfillConfig config;
        config.limit = 50;
        auto r = run(relay, config, Filter{}, 5000);
        QVERIFY(r.finished);
        QVERIFY(retried_same);
        QVERIFY(r.gaps.empty());
        QCOMPARE(r.received.size(), relay.events.size());
    }

    void retriesAreBounded() {
        SimRelay relay;
        relay.close_hook = [](const BackfillQuery&) { return std::string("rate-limited: go away"); };
        BackfillConfig config;
        config.max_retries = 3;
        config.floor = 10;
        auto r = run(relay, config, Filter{}, 500);
        QVERIFY(r.finished);
        QCOMPARE(r.queries, uint64_t(4));
        QCOMPARE(r.gaps.size(), size_t(1));
        QCOMPARE(r.gaps[0].since, int64_t(10));
        QCOMPARE(r.gaps[0].until, int64_t(500));
        QVERIFY(r.gaps[0].reason.starts_with("retries_exhausted"));
    }

    void refusedCloseRecordsRemainingRange() {
        std::mt19937_64 rng(23);
        SimRelay relay;
        addEvents(relay, rng, 300, 0, 3000, 3);
        int n = 0;
        relay.close_hook = [&](const BackfillQuery&) { return ++n == 3 ? std::string("restricted: members only") : std::string(); };
        BackfillConfig config;
        config.limit = 50;
        Filter base;
        base.kinds = {0, 1, 2};
        auto r = run(relay, config, base, 3000);
        QVERIFY(r.finished);
        QCOMPARE(r.queries, uint64_t(3));
        QCOMPARE(r.gaps.size(), size_t(1));
        QCOMPARE(r.gaps[0].since, int64_t(0));
        QCOMPARE(r.gaps[0].kinds, (std::vector<uint16_t>{0, 1, 2}));
        QCOMPARE(r.gaps[0].reason, std::string("closed: restricted: members only"));
        // Everything newer than the gap arrived.
        for (const auto& id : idsWhere(relay, [&](const SimEvent& e) { return e.created_at > r.gaps[0].until; }))
            QVERIFY(r.received.count(id));
    }

    void queryBudgetStopsWithGap() {
        std::mt19937_64 rng(29);
        SimRelay relay;
        addEvents(relay, rng, 1000, 0, 100000, 3);
        BackfillConfig config;
        config.limit = 10;
        config.max_queries = 7;
        auto r = run(relay, config, Filter{}, 100000);
        QVERIFY(r.finished);
        QCOMPARE(r.queries, uint64_t(7));
        QCOMPARE(r.gaps.size(), size_t(1));
        QCOMPARE(r.gaps[0].reason, std::string("query_budget"));
        for (const auto& id : idsWhere(relay, [&](const SimEvent& e) { return e.created_at > r.gaps[0].until; }))
            QVERIFY(r.received.count(id));
    }

    void progressAndCheckpointErrors() {
        BackfillConfig config;
        config.floor = 0;
        BackfillPlanner p(config, Filter{}, 99);
        QCOMPARE(p.progress().fraction, 0.0);
        auto q = p.next();
        QVERIFY(q);
        QVERIFY(!p.next());  // one in flight
        QCOMPARE(*q->filter.until, int64_t(99));
        QCOMPARE(*q->filter.since, int64_t(0));
        QCOMPARE(*q->filter.limit, uint32_t(500));
        p.onEose();
        QVERIFY(p.done());
        QCOMPARE(p.progress().fraction, 1.0);
        QVERIFY(!BackfillPlanner::resume(config, Filter{}, "nonsense"));
        QVERIFY(!BackfillPlanner::resume(config, Filter{}, "bf1 phase=walk start=1 cap=x"));
        QVERIFY(BackfillPlanner::resume(config, Filter{}, p.checkpoint()));
        QVERIFY(BackfillPlanner::resume(config, Filter{}, p.checkpoint())->done());
    }

    // A relay that refuses kinds lists longer than 20 (answering with a NOTICE, which the
    // connection reports as onKindsListTooLong): every kind of the overfull second is still asked
    // exactly once, in lists of at most 20.
    void longKindsListsAreCutIntoPieces() {
        using namespace archivist;
        sync::BackfillConfig cfg;
        cfg.limit = 2;
        sync::BackfillPlanner p(cfg, protocol::Filter{}, 100);
        auto id = [](int n) {
            protocol::Bytes32 b{};
            b[0] = uint8_t(n);
            b[1] = uint8_t(n >> 8);
            return b;
        };
        // Saturated walk answers at one second, then the same ids again: overfull second 100.
        for (int round = 0; round < 2; ++round) {
            auto q = p.next();
            QVERIFY(q);
            p.onEvent(id(1), 100, 1);
            p.onEvent(id(2), 100, 1);
            p.onEose();
        }
        std::vector<int> asked(65536, 0);
        int refusals = 0;
        for (int guard = 0; guard < 20000 && !p.done(); ++guard) {
            auto q = p.next();
            if (!q) break;
            if (q->filter.since != 100) {  // back to walking below the split second: nothing older
                p.onEose();
                continue;
            }
            if (q->type == sync::BackfillQuery::Type::Req && q->filter.kinds.size() > 20) {
                QVERIFY(p.onKindsListTooLong(20));
                ++refusals;
                continue;
            }
            for (uint16_t k : q->filter.kinds) ++asked[k];
            if (q->filter.kinds == std::vector<uint16_t>{1}) {
                p.onEvent(id(1), 100, 1);  // the kind seen alone: not saturated (1 < 2)
            }
            p.onEose();
        }
        QVERIFY(p.done());
        QVERIFY(refusals >= 1);
        for (int k = 0; k < 65536; ++k) QVERIFY2(asked[size_t(k)] == 1, qPrintable(QString("kind %1 asked %2 times").arg(k).arg(asked[size_t(k)])));
        // Not applicable outside a split chunk.
        sync::BackfillPlanner fresh(cfg, protocol::Filter{}, 100);
        QVERIFY(fresh.next());
        QVERIFY(!fresh.onKindsListTooLong(20));
    }
};

QTEST_GUILESS_MAIN(TestBackfillPlanner)
#include "tst_backfill_planner.moc"
