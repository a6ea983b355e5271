// The partitioned index's pure functions (core/index/layout.h) and its id filter
// (core/index/xor_filter.h): month buckets at their exact UTC boundaries, the row key's order,
// lanes, and a filter with no false negatives, its false-positive rate, sharding and stored form;
// the full-text term set (core/index/fts.h) the tokenizer asks for every token.
#include <QtTest>
#include <random>
#include <set>

#include "core/index/fts.h"
#include "core/index/index.h"
#include "core/index/layout.h"
#include "core/index/xor_filter.h"

using namespace archivist::index;

class TestIndexLayout : public QObject {
    Q_OBJECT

private slots:
    void bucketsAreUtcMonths() {
        QCOMPARE(bucketOf(0), kBucketEarly);
        QCOMPARE(bucketOf(1577836799), kBucketEarly);      // 2019-12-31T23:59:59Z
        QCOMPARE(bucketOf(1577836800), Bucket(1));         // 2020-01-01T00:00:00Z
        QCOMPARE(bucketName(1), std::string("2020-01"));
        QCOMPARE(bucketOf(1700000000), bucketOf(1701388799));  // November 2023 …
        QCOMPARE(bucketName(bucketOf(1701388799)), std::string("2023-11"));
        QCOMPARE(bucketName(bucketOf(1701388800)), std::string("2023-12"));  // … ends at 2023-12-01T00:00:00Z
        QCOMPARE(bucketName(bucketOf(1709164800)), std::string("2024-02"));  // 2024-02-29 (leap day)
        QCOMPARE(bucketName(bucketOf(1709251199)), std::string("2024-02"));
        QCOMPARE(bucketName(bucketOf(1709251200)), std::string("2024-03"));
        QCOMPARE(bucketOf(4102444799), Bucket(kBucketLate - 1));  // 2099-12-31T23:59:59Z
        QCOMPARE(bucketName(kBucketLate - 1), std::string("2099-12"));
        QCOMPARE(bucketOf(4102444800), kBucketLate);
        QCOMPARE(bucketOf(std::numeric_limits<int64_t>::max()), kBucketLate);
        QCOMPARE(bucketName(kBucketEarly), std::string("early"));
        QCOMPARE(bucketName(kBucketLate), std::string("late"));
    }

    void bucketBoundsTileTheTimeLine() {
        QCOMPARE(bucketLo(kBucketEarly), int64_t(0));
        QCOMPARE(bucketHi(kBucketLate), std::numeric_limits<int64_t>::max());
        for (Bucket b = 0; b < kBucketLate; ++b) {
            QCOMPARE(bucketHi(b) + 1, bucketLo(Bucket(b + 1)));
            QCOMPARE(bucketOf(bucketLo(b)), b);
            QCOMPARE(bucketOf(bucketHi(b)), b);
        }
    }

    void rowKeysFollowCreatedAt() {
        const int64_t times[] = {0, 1, 1577836800, 1700000000, 1700000001, (int64_t(1) << 32) - 2};
        int64_t last = -1;
        for (int64_t t : times)
            for (uint64_t seq : {uint64_t(1), uint64_t(99), uint64_t(kSeqMask)}) {
                const int64_t rk = makeRk(t, seq);
                QVERIFY(rk > last);
                last = rk;
                QCOMPARE(rkCreatedAt(rk), t);
                QVERIFY(rk >= rkFloor(t) && rk <= rkCeil(t));
                QCOMPARE(bucketOfRk(rk), bucketOf(t));
            }
        // Beyond the row key's exact range every second shares one time (the late bucket).
        QCOMPARE(rkCreatedAt(makeRk(int64_t(1) << 40, 5)), kRkTimeMax);
        QCOMPARE(bucketOfRk(makeRk(int64_t(1) << 40, 5)), kBucketLate);
        QVERIFY(makeRk(std::numeric_limits<int64_t>::max(), kSeqMask) > 0);
    }

    void lanesSpreadIds() {
        std::mt19937_64 rng(7);
        std::array<int, 3> counts{};
        for (int i = 0; i < 30000; ++i) {
            archivist::protocol::Bytes32 id{};
            for (auto& b : id) b = uint8_t(rng());
            ++counts[laneOf(id, 3)];
            QCOMPARE(laneOf(id, 1), 0u);
        }
        for (int c : counts) QVERIFY2(c > 9000 && c < 11000, qPrintable(QString::number(c)));
    }

    void xorFilterHasNoFalseNegatives_data() {
        QTest::addColumn<int>("keys");
        QTest::newRow("empty") << 0;
        QTest::newRow("one") << 1;
        QTest::newRow("small") << 37;
        QTest::newRow("100k") << 100000;
        QTest::newRow("sharded (2^20 + 5000)") << int((1 << 20) + 5000);
    }
    void xorFilterHasNoFalseNegatives() {
        QFETCH(int, keys);
        std::mt19937_64 rng(uint64_t(keys) + 1);
        std::vector<uint64_t> in{};
        in.resize(size_t(keys));
        for (auto& k : in) k = rng();
        if (keys > 10) in[5] = in[3];  // duplicates are allowed
        for (int bits : {8, 16}) {
            std::vector<uint64_t> copy = in;
            const XorFilter f = XorFilter::build(copy, bits);
            QCOMPARE(f.bits(), bits);
            for (uint64_t k : in) QVERIFY(f.mayContain(k));
            QVERIFY(f.bytes() <= size_t(bits / 8) * (size_t(1.24 * double(keys)) + 64 * 32));
            int fp = 0;
            const int probes = 200000;
            for (int i = 0; i < probes; ++i) fp += f.mayContain(rng());
            if (keys == 0) QCOMPARE(fp, 0);
            else if (bits == 8) QVERIFY2(fp < probes / 150, qPrintable(QString::number(fp)));  // ≈ 1/256 expected
            else QVERIFY2(fp < 20, qPrintable(QString::number(fp)));  // ≈ 3 expected (1/65,536)
            // Stored form round trip; each width keeps its own tag (parts of both kinds are read).
            const std::string blob = f.serialize();
            QCOMPARE(blob.substr(0, 4), std::string(bits == 8 ? "XOR8" : "XR16"));
            auto back = XorFilter::deserialize(blob);
            QVERIFY(back);
            QCOMPARE(back->bits(), bits);
            for (size_t i = 0; i < in.size(); i += 7) QVERIFY(back->mayContain(in[i]));
            for (int i = 0; i < 1000; ++i) {
                const uint64_t k = rng();
                QCOMPARE(back->mayContain(k), f.mayContain(k));
            }
            QCOMPARE(back->bytes(), f.bytes());
            std::string broken = blob;
            QVERIFY(!XorFilter::deserialize(broken.substr(0, broken.size() - 1)));
            broken[0] = 'Y';
            QVERIFY(!XorFilter::deserialize(broken));
        }
    }
    // The term set: exactly the terms inserted (each once, whatever its length or bytes), through
    // growth, absorb and clear; forEach enumerates them all; each term counts its occurrences.
    void termSetHoldsExactlyItsTerms() {
        std::mt19937_64 rng(7);
        auto randomTerm = [&] {
            std::string t(size_t(1 + rng() % 40), '\0');
            for (auto& c : t) c = char(rng() % 7 == 0 ? 0xC3 : 'a' + int(rng() % 26));  // short alphabet: many shared prefixes
            return t;
        };
        TermSet a, b;
        std::set<std::string> ra, rb;
        QVERIFY(!a.contains("x"));
        for (int i = 0; i < 50000; ++i) {
            const std::string t = randomTerm();
            (i % 3 ? a : b).insert(t);
            (i % 3 ? ra : rb).insert(t);
            if (i % 5 == 0) {  // a second insert changes nothing
                (i % 3 ? a : b).insert(t);
            }
        }
        a.insert(std::string_view("exact\0byte", 10));
        ra.insert(std::string("exact\0byte", 10));
        QCOMPARE(a.size(), ra.size());
        QCOMPARE(b.size(), rb.size());
        for (const auto& t : ra) QVERIFY(a.contains(t));
        QVERIFY(!a.contains(std::string_view("exact\0bytf", 10)));
        QVERIFY(!a.contains("exact"));
        int absent = 0;
        for (int i = 0; i < 20000; ++i) {
            const std::string t = randomTerm() + "#";  // '#' is in no inserted term
            absent += a.contains(t);
        }
        QCOMPARE(absent, 0);
        std::set<std::string> seen;
        a.forEach([&](std::string_view t) { QVERIFY(seen.emplace(t).second); });
        QCOMPARE(seen, ra);
        a.absorb(b);
        QVERIFY(b.empty());
        QVERIFY(!b.contains(*rb.begin()));
        for (const auto& t : rb) QVERIFY(a.contains(t));
        ra.insert(rb.begin(), rb.end());
        QCOMPARE(a.size(), ra.size());
        a.clear();
        QCOMPARE(a.size(), size_t(0));
        QVERIFY(!a.contains(*ra.begin()));
        a.insert(*ra.begin());
        QVERIFY(a.contains(*ra.begin()));
        // Counts (decision 0037): an insert or a hit counts one occurrence; a hit adds nothing
        // absent; absorb adds the other set's counts to those here.
        TermSet c, d;
        QCOMPARE(c.hit("x"), uint32_t(0));
        QCOMPARE(c.insert("x"), uint32_t(1));
        QCOMPARE(c.insert("x"), uint32_t(2));
        QCOMPARE(c.hit("x"), uint32_t(3));
        QCOMPARE(c.hit("y"), uint32_t(0));
        QVERIFY(!c.contains("y"));
        for (int i = 0; i < 5; ++i) d.insert("x");
        d.insert("z");
        c.absorb(d);
        QCOMPARE(c.count("x"), uint32_t(8));
        QCOMPARE(c.count("z"), uint32_t(1));
        QCOMPARE(c.count("y"), uint32_t(0));
        for (int i = 0; i < 1000; ++i) c.insert(std::to_string(i));  // through growth: counts kept
        QCOMPARE(c.count("x"), uint32_t(8));
    }
    // A hot file's id Bloom filter: never a false "absent" (lookups skip the file's probe on it),
    // even past the size it was made for; ≈ 0.24 % false positives at 16 bits per id.
    void hotIdBloomHasNoFalseNegatives() {
        std::mt19937_64 rng(11);
        auto randomId = [&] {
            archivist::protocol::Bytes32 id{};
            for (auto& b : id) b = uint8_t(rng());
            return id;
        };
        HotIdBloom bloom(65536);
        QCOMPARE(bloom.bytes(), size_t(65536 * 2));
        std::vector<archivist::protocol::Bytes32> ids(65536 + 4096);  // a commit group past the freeze bound
        for (auto& id : ids) {
            id = randomId();
            bloom.add(id);
        }
        for (const auto& id : ids) QVERIFY(bloom.mayContain(id));
        int fp = 0;
        const int probes = 200000;
        for (int i = 0; i < probes; ++i) fp += bloom.mayContain(randomId());
        QVERIFY2(fp < probes / 200, qPrintable(QString::number(fp)));
        HotIdBloom empty(0);
        for (int i = 0; i < 1000; ++i) QVERIFY(!empty.mayContain(randomId()));
    }
};

QTEST_GUILESS_MAIN(TestIndexLayout)
#include "tst_index_layout.moc"
