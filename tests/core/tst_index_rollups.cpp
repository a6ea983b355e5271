// The rollups (decision 0017) against counts known from the corpus that produced them: events per
// day and kind, distinct authors per day, the publication-delay histogram (backdated and
// future-dated events included), distinct sources per day and the replication histogram — with
// copies arriving while the event is in its hot file and after it was flushed into parts and
// merged, with repeated (event, source) pairs that must not count twice, under both day bases,
// before and after the background work, and after reopening the index. Also the sketch itself, and
// the hot files' delta log (decision 0033) next to the tables of hot files written before it.
#include <QTemporaryDir>
#include <QtTest>
#include <cstring>
#include <map>
#include <set>

#include "core/index/index_writer.h"
#include "core/index/rollups.h"

using namespace archivist;
using namespace archivist::index;
using namespace std::chrono_literals;

namespace {

constexpr int64_t kDay0 = 19700;  // 2023-12-09
constexpr int64_t kSeenBaseMs = (kDay0 + 3) * 86400 * 1000;

protocol::Bytes32 idOf(uint32_t n) {
    protocol::Bytes32 b{};
    uint32_t h = n * 2654435761u + 0x51;
    std::memcpy(b.data(), &h, 4);
    std::memcpy(b.data() + 28, &n, 4);
    return b;
}

struct Spec {
    uint32_t n;
    int64_t created_at;
    int64_t first_seen_ms;
    uint16_t kind;
    uint32_t author;
};

// Event n: 10 days of created_at; every 7th backdated by ~a year, every 11th dated 1–3 hours in
// the future of its first sighting; first sightings spread over 4 days.
Spec specOf(uint32_t n) {
    Spec s;
    s.n = n;
    s.first_seen_ms = kSeenBaseMs + int64_t(n) * 500 * 1000;  // 500 s apart: 600 events ≈ 3.5 days
    const int64_t seen_s = s.first_seen_ms / 1000;
    if (n % 7 == 0) s.created_at = seen_s - 365 * 86400 - int64_t(n) * 13;
    else if (n % 11 == 0) s.created_at = seen_s + 3600 + int64_t(n) * 17;
    else s.created_at = seen_s - int64_t(n % 9) * int64_t(n % 5) * 997;
    s.kind = uint16_t(n % 4 == 3 ? 7 : n % 4);
    s.author = (n * 7) % 37;
    return s;
}

NewEvent eventOf(const Spec& s, uint32_t source) {
    NewEvent ne;
    ne.event.id = idOf(s.n);
    ne.event.pubkey = idOf(100000 + s.author);
    ne.event.created_at = s.created_at;
    ne.event.kind = s.kind;
    ne.event.sig[0] = uint8_t(s.n);
    ne.first_seen_at_ms = s.first_seen_ms;
    ne.source = source;
    return ne;
}

int oracleBin(int64_t d) {
    if (d == 0) return 0;
    uint64_t a = d < 0 ? uint64_t(-d) : uint64_t(d);
    int k = 0;
    while (a) {
        ++k;
        a >>= 1;
    }
    return d < 0 ? -k : k;
}

// What the rollups must say, computed from the corpus alone.
struct Oracle {
    std::map<uint32_t, Spec> events;
    std::map<uint32_t, std::vector<uint32_t>> sources;  // distinct, in arrival order

    int64_t dayOfEvent(const Spec& s, int basis) const {
        return basis == 0 ? s.created_at / 86400 : s.first_seen_ms / 86400000;
    }
    std::map<std::pair<int64_t, uint16_t>, uint64_t> kinds(int basis) const {
        std::map<std::pair<int64_t, uint16_t>, uint64_t> m;
        for (const auto& [n, s] : events) ++m[{dayOfEvent(s, basis), s.kind}];
        return m;
    }
    std::map<int64_t, uint64_t> authors(int basis) const {
        std::map<int64_t, std::set<uint32_t>> m;
        for (const auto& [n, s] : events) m[dayOfEvent(s, basis)].insert(s.author);
        std::map<int64_t, uint64_t> out;
        for (const auto& [d, set] : m) out[d] = set.size();
        return out;
    }
    std::map<std::pair<int64_t, int>, uint64_t> delay(int basis) const {
        std::map<std::pair<int64_t, int>, uint64_t> m;
        for (const auto& [n, s] : events) ++m[{dayOfEvent(s, basis), oracleBin(s.first_seen_ms / 1000 - s.created_at)}];
        return m;
    }
    std::map<std::pair<int64_t, int>, uint64_t> repl(int basis) const {
        std::map<std::pair<int64_t, int>, uint64_t> m;
        for (const auto& [n, s] : events) ++m[{dayOfEvent(s, basis), int(sources.at(n).size())}];
        return m;
    }
    std::map<std::pair<int64_t, std::string>, std::pair<uint64_t, uint64_t>> relays(
        int basis, const std::map<uint32_t, std::string>& names) const {
        std::map<std::pair<int64_t, std::string>, std::pair<uint64_t, uint64_t>> m;
        for (const auto& [n, s] : events) {
            const auto& src = sources.at(n);
            for (size_t i = 0; i < src.size(); ++i) {
                auto& v = m[{dayOfEvent(s, basis), names.at(src[i])}];
                ++v.first;
                if (i == 0) ++v.second;
            }
        }
        return m;
    }
};

IndexOptions tiny(const char* more = "") {
    IndexOptions o;
    if (!o.applyTuning("lanes=3,hot_events=50,fanin=2,max_parts=30,threads=2")) qFatal("tuning");
    if (!o.applyTuning(more)) qFatal("tuning");
    return o;
}

}  // namespace

class TestIndexRollups : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;

    // Events per day and kind over the days [lo, hi] only, against the corpus.
    void compareKindRange(const std::shared_ptr<Index>& index, const Oracle& o, DayBasis basis, int64_t lo, int64_t hi) {
        std::map<std::pair<int64_t, uint16_t>, uint64_t> want;
        for (const auto& [k, v] : o.kinds(int(basis)))
            if (k.first >= lo && k.first <= hi) want[k] = v;
        auto r = readRollups(index, RollupQuery{basis, lo, hi});
        QVERIFY(r);
        std::map<std::pair<int64_t, uint16_t>, uint64_t> got;
        for (const auto& k : r->kinds) got[{k.day, k.kind}] = k.events;
        QCOMPARE(got, want);
        QVERIFY(!want.empty());
    }
    void compare(const std::shared_ptr<Index>& index, const Oracle& o, const std::map<uint32_t, std::string>& names) {
        for (int basis = 0; basis < 2; ++basis) {
            auto r = readRollups(index, RollupQuery{DayBasis(basis), std::nullopt, std::nullopt});
            QVERIFY2(r, r ? "" : r.error().message.c_str());
            std::map<std::pair<int64_t, uint16_t>, uint64_t> kinds;
            for (const auto& k : r->kinds) kinds[{k.day, k.kind}] = k.events;
            QCOMPARE(kinds, o.kinds(basis));
            std::map<int64_t, uint64_t> authors;
            for (const auto& [d, s] : r->authors) {
                QVERIFY(s.exact());
                authors[d] = s.count();
            }
            QCOMPARE(authors, o.authors(basis));
            QCOMPARE(r->delay, o.delay(basis));
            QCOMPARE(r->repl, o.repl(basis));
            std::map<std::pair<int64_t, std::string>, std::pair<uint64_t, uint64_t>> relays;
            for (const auto& x : r->relays) relays[{x.day, x.source}] = {x.events, x.novel};
            QCOMPARE(relays, o.relays(basis, names));
        }
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void delayBins() {
        QCOMPARE(delayBin(0), 0);
        QCOMPARE(delayBin(1), 1);
        QCOMPARE(delayBin(2), 2);
        QCOMPARE(delayBin(3), 2);
        QCOMPARE(delayBin(4), 3);
        QCOMPARE(delayBin(-1), -1);
        QCOMPARE(delayBin(-4), -3);
        QCOMPARE(delayBin(INT64_MIN), -64);
        for (int64_t d : {1ll, 5ll, 86400ll, 31536000ll, -7ll, -3600ll}) {
            QCOMPARE(delayBin(d), oracleBin(d));
            const auto [lo, hi] = delayBinRange(delayBin(d));
            const int64_t a = d < 0 ? -d : d;
            QVERIFY(lo <= a && a < hi);
        }
        QCOMPARE(dayOf(-1), int64_t(-1));
        QCOMPARE(dayOf(86399), int64_t(0));
        QCOMPARE(dayOfMs(-1), int64_t(-1));
    }

    void sketchExactThenApproximate() {
        AuthorSketch a, b;
        for (uint32_t i = 0; i < 300; ++i) a.add(AuthorSketch::hashOf(idOf(i)));
        for (uint32_t i = 200; i < 500; ++i) b.add(AuthorSketch::hashOf(idOf(i)));
        AuthorSketch u = a;
        u.merge(b);
        QVERIFY(u.exact());
        QCOMPARE(u.count(), uint64_t(500));
        QCOMPARE(AuthorSketch::deserialize(u.serialize()).count(), uint64_t(500));
        // Past 512 distinct authors: the HyperLogLog, within 5 % at 20,000 (σ ≈ 1.6 %).
        AuthorSketch big;
        for (uint32_t i = 0; i < 20000; ++i) big.add(AuthorSketch::hashOf(idOf(i)));
        QVERIFY(!big.exact());
        QVERIFY2(std::abs(double(big.count()) - 20000.0) < 1000.0, std::to_string(big.count()).c_str());
        // Merging is idempotent and order-free.
        AuthorSketch x = big;
        x.merge(a);
        x.merge(big);
        QCOMPARE(x.count(), big.count());
        QCOMPARE(AuthorSketch::deserialize(x.serialize()).count(), big.count());
    }

    // A delta survives its stored form exactly; a hot file's deltas are its tables' rows plus its
    // log's (a hot file written before the log has only the first); a damaged log entry is an
    // error, not a silent zero.
    void deltaLogRoundTripsAndAddsToTheTables() {
        auto same = [](const RollupDelta& x, const RollupDelta& y) {
            if (x.kind != y.kind || x.relay != y.relay || x.delay != y.delay || x.repl != y.repl) return false;
            if (x.authors.size() != y.authors.size()) return false;
            for (const auto& [k, v] : x.authors) {
                auto it = y.authors.find(k);
                if (it == y.authors.end() || it->second.serialize() != v.serialize()) return false;
            }
            return true;
        };
        RollupDelta a, b;
        for (uint32_t n = 0; n < 1300; ++n) {  // past 512 authors on one day: a dense sketch too
            const Spec s = specOf(n);
            std::vector<uint32_t> sources{1 + n % 3};
            if (n % 4 == 0) sources.push_back(7);
            (n % 2 ? a : b).addEvent(s.kind, idOf(100000 + n), n < 1100 ? kDay0 * 86400 : s.created_at, s.first_seen_ms, sources);
        }
        a.addSource(kDay0 * 86400 - 5, -1500, 9, 2);  // negative times and a negative day
        QVERIFY(!a.authors.empty() && !a.relay.empty());
        auto back = deserializeRollupDelta(serializeRollupDelta(a));
        QVERIFY2(back, back ? "" : back.error().message.c_str());
        QVERIFY(same(*back, a));
        auto none = deserializeRollupDelta(serializeRollupDelta(RollupDelta()));
        QVERIFY(none && none->empty());
        const std::string blob = serializeRollupDelta(b);
        QVERIFY(!deserializeRollupDelta(blob.substr(0, blob.size() - 1)));
        QVERIFY(!deserializeRollupDelta(blob + "x"));
        QVERIFY(!deserializeRollupDelta("RL"));
        RollupDelta one;
        one.addEvent(1, idOf(5), kDay0 * 86400, kSeenBaseMs, {1});
        std::string wrongBasis = serializeRollupDelta(one);
        QVERIFY(deserializeRollupDelta(wrongBasis));
        QCOMPARE(int(wrongBasis[3]), 2);  // two kind entries (one per basis) …
        wrongBasis[4] = char(2);          // … the first of which claims basis 2
        QVERIFY(!deserializeRollupDelta(wrongBasis));

        const auto path = std::filesystem::path(m_dir.path().toStdString()) / "log.sqlite";
        auto db = Db::open(path, Db::Mode::Create);
        QVERIFY(db);
        QVERIFY(db->exec(kRollupTablesSql));
        // Without a log (a hot file of an earlier version): the tables alone.
        QVERIFY(applyRollupDelta(*db, a));
        auto old = readRollupDelta(*db);
        QVERIFY(old && same(*old, a));
        QVERIFY(db->exec(kRollupLogSql));
        QVERIFY(appendRollupLog(*db, b));
        QVERIFY(appendRollupLog(*db, RollupDelta()));  // nothing to log: no row
        QVERIFY(appendRollupLog(*db, a));
        QCOMPARE(db->scalar("SELECT count(*) FROM r_log")->value_or(0), int64_t(2));
        RollupDelta want = a;
        want.merge(b);
        want.merge(a);
        auto got = readRollupDelta(*db);
        QVERIFY2(got, got ? "" : got.error().message.c_str());
        QVERIFY(same(*got, want));
        QVERIFY(db->exec("UPDATE r_log SET delta = x'524c0105' WHERE n = 1"));
        auto broken = readRollupDelta(*db);
        QVERIFY(!broken);
        QCOMPARE(broken.error().code, std::string("index_corrupt"));
    }

    // The lanes' rollup facts cache: off (every copy reads back), a few entries (copies of recent
    // events hit it, older ones were evicted and read back) and as configured by default.
    void rollupsEqualTheCorpusThroughFlushesMergesAndReopen_data() {
        QTest::addColumn<QString>("tuning");
        QTest::newRow("facts cache off") << "rollup_facts=0";
        QTest::newRow("facts cache of 16") << "rollup_facts=16";
        QTest::newRow("facts cache default") << "";
    }

    void rollupsEqualTheCorpusThroughFlushesMergesAndReopen() {
        QFETCH(QString, tuning);
        const std::string more = tuning.toStdString();
        auto tiny = [&more] { return ::tiny(more.c_str()); };
        const auto dir = std::filesystem::path(m_dir.path().toStdString()) / ("idx" + more);
        Oracle o;
        std::map<uint32_t, std::string> names;
        uint64_t offset = 16;
        {
            auto w = IndexWriter::open(dir, tiny());
            QVERIFY(w);
            uint32_t relay[3];
            for (int i = 0; i < 3; ++i) {
                const std::string name = "wss://r" + std::to_string(i) + ".example";
                relay[i] = *(*w)->sourceId(name);
                names[relay[i]] = name;
            }
            // Each frame: new events from their first relay, plus copies of recent events from
            // other relays (hot path) and repeats of pairs already recorded (must not count).
            auto feed = [&](const std::vector<uint32_t>& fresh_ns, const std::vector<std::pair<uint32_t, uint32_t>>& copies) {
                std::vector<NewEvent> fresh;
                std::vector<Sighting> seen;
                for (uint32_t n : fresh_ns) {
                    const Spec s = specOf(n);
                    NewEvent ne = eventOf(s, relay[n % 3]);
                    ne.line = uint32_t(fresh.size());
                    fresh.push_back(std::move(ne));
                    o.events[n] = s;
                    o.sources[n].push_back(relay[n % 3]);
                }
                for (const auto& [n, r] : copies) {
                    const Spec s = specOf(n);
                    seen.push_back(Sighting{idOf(n), relay[r], s.first_seen_ms + 60000, 0, s.created_at});
                    auto& v = o.sources[n];
                    if (std::find(v.begin(), v.end(), relay[r]) == v.end()) v.push_back(relay[r]);
                }
                archive::AppendedFrame frame;
                frame.ref = {1, offset, 100};
                frame.events = uint32_t(fresh.size());
                offset += 100;
                auto r = (*w)->commit(&frame, fresh, seen);
                QVERIFY2(r, r ? "" : r.error().message.c_str());
            };
            for (uint32_t f = 0; f < 20; ++f) {
                std::vector<uint32_t> ns;
                for (uint32_t i = 0; i < 20; ++i) ns.push_back(f * 20 + i);
                std::vector<std::pair<uint32_t, uint32_t>> copies;
                if (f) {
                    for (uint32_t i = 0; i < 20; i += 4) copies.emplace_back((f - 1) * 20 + i, ((f - 1) * 20 + i + 1) % 3);
                    copies.emplace_back((f - 1) * 20 + 5, ((f - 1) * 20 + 5) % 3);  // the pair it arrived with
                }
                // A copy inside its own frame (the row is in the same transaction).
                copies.emplace_back(f * 20 + 2, (f * 20 + 2 + 2) % 3);
                feed(ns, copies);
            }
            compare((*w)->index(), o, names);
            // A range while every delta is still in hot files' logs.
            compareKindRange((*w)->index(), o, DayBasis::FirstSeen, kDay0 + 3, kDay0 + 3);
            // Flushed into parts and merged: copies now take the slow path, through the parts.
            QVERIFY((*w)->index()->freezeAll());
            QVERIFY((*w)->index()->waitIdle(60s));
            QVERIFY((*w)->index()->gauges().parts > 0);
            compare((*w)->index(), o, names);
            std::vector<std::pair<uint32_t, uint32_t>> late;
            for (uint32_t n = 0; n < 400; n += 3) late.emplace_back(n, 2);
            late.emplace_back(8, 2);  // twice in one group
            feed({400, 401, 402}, late);
            compare((*w)->index(), o, names);
            QVERIFY((*w)->index()->freezeAll());
            QVERIFY((*w)->index()->waitIdle(60s));
            compare((*w)->index(), o, names);
            // Copies once more, now that the late ones sit in parts without their events' rows
            // (orphan sightings, found through the parts' orphan filters): a source already
            // recorded there must not count again, a new one must.
            std::vector<std::pair<uint32_t, uint32_t>> again;
            for (uint32_t n = 0; n < 400; n += 3) again.emplace_back(n, 2);
            for (uint32_t n = 1; n < 400; n += 6) again.emplace_back(n, (n + 2) % 3);
            feed({403}, again);
            compare((*w)->index(), o, names);
            QVERIFY((*w)->index()->freezeAll());
            QVERIFY((*w)->index()->waitIdle(60s));
            compare((*w)->index(), o, names);
            // A range: the two middle days only.
            compareKindRange((*w)->index(), o, DayBasis::CreatedAt, kDay0 + 3, kDay0 + 4);
        }
        // Reopened: the same totals (catalog + hot files on disk).
        auto idx = Index::open(dir, tiny());
        QVERIFY(idx);
        compare(*idx, o, names);
        // Sanity of the corpus: backdated, future-dated and replicated events are all there.
        const auto d = o.delay(0);
        bool future = false, year = false;
        for (const auto& [k, v] : d) {
            future |= k.second < 0;
            year |= k.second >= 25;
        }
        QVERIFY(future && year);
        bool three = false;
        for (const auto& [k, v] : o.repl(0)) three |= k.second == 3;
        QVERIFY(three);
    }

    // Events sighted by more sources than a facts cache entry holds: the entry says so, and
    // those events' further sightings are read back (each source still counted once).
    void eventsWithManySources() {
        const auto dir = std::filesystem::path(m_dir.path().toStdString()) / "many";
        Oracle o;
        std::map<uint32_t, std::string> names;
        auto w = IndexWriter::open(dir, tiny());
        QVERIFY(w);
        std::vector<uint32_t> relay;
        for (int i = 0; i < 9; ++i) {
            const std::string name = "wss://m" + std::to_string(i) + ".example";
            relay.push_back(*(*w)->sourceId(name));
            names[relay.back()] = name;
        }
        uint64_t offset = 16;
        std::vector<NewEvent> fresh;
        for (uint32_t n = 0; n < 5; ++n) {
            const Spec sp = specOf(n);
            NewEvent ne = eventOf(sp, relay[0]);
            ne.line = n;
            fresh.push_back(std::move(ne));
            o.events[n] = sp;
            o.sources[n] = {relay[0]};
        }
        archive::AppendedFrame frame;
        frame.ref = {1, offset, 100};
        frame.events = uint32_t(fresh.size());
        QVERIFY((*w)->commit(&frame, fresh, {}));
        // Every relay twice, one group each.
        for (int round = 0; round < 2; ++round)
            for (size_t r = 1; r < relay.size(); ++r) {
                std::vector<Sighting> seen;
                for (uint32_t n = 0; n < 5; ++n) {
                    const Spec sp = specOf(n);
                    seen.push_back(Sighting{idOf(n), relay[r], sp.first_seen_ms + 1000 * int64_t(r), 0, sp.created_at});
                    if (!round) o.sources[n].push_back(relay[r]);
                }
                QVERIFY((*w)->commit(nullptr, {}, seen));
            }
        compare((*w)->index(), o, names);
    }

    void anIndexFromBeforeRollupsSaysSo() {
        const auto dir = std::filesystem::path(m_dir.path().toStdString()) / "old";
        {
            auto idx = Index::open(dir, tiny());
            QVERIFY(idx);
            auto cat = Db::open((*idx)->dir() / "catalog.sqlite", Db::Mode::ReadWrite);
            QVERIFY(cat);
            QVERIFY(cat->exec("DELETE FROM meta WHERE key = 'rollups'"));
            auto r = readRollups(*idx, RollupQuery{});
            QVERIFY(!r);
            QCOMPARE(r.error().code, std::string("rollups_missing"));
        }
    }
};

QTEST_GUILESS_MAIN(TestIndexRollups)
#include "tst_index_rollups.moc"
