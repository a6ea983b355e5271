#include <QtTest>

#include <algorithm>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "core/protocol/hex.h"
#include "core/protocol/sha256.h"
#include "core/sync/negentropy.h"

using archivist::protocol::Bytes32;
using archivist::sync::Negentropy;
using archivist::sync::NegentropyItem;

namespace {

struct VectorCase {
    std::string name;
    std::vector<NegentropyItem> a, b;
    std::string initiate_hex, reply_hex;
};

std::vector<VectorCase> loadVectors() {
    std::vector<VectorCase> out;
    std::ifstream in(std::string(ARCHIVIST_FIXTURES) + "/negentropy/vectors.txt");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string tag;
        ls >> tag;
        if (tag == "case") {
            out.emplace_back();
            ls >> out.back().name;
        } else if (tag == "a" || tag == "b") {
            NegentropyItem item;
            std::string hex;
            ls >> item.timestamp >> hex;
            if (!archivist::protocol::fromHex(hex, item.id.data(), 32)) return {};
            (tag == "a" ? out.back().a : out.back().b).push_back(item);
        } else if (tag == "initiate") {
            ls >> out.back().initiate_hex;
        } else if (tag == "reply") {
            ls >> out.back().reply_hex;
        }
    }
    return out;
}

std::string hexOf(const std::string& bytes) {
    return archivist::protocol::toHex(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

Bytes32 randomId(std::mt19937_64& rng) {
    Bytes32 id{};
    for (auto& b : id) b = uint8_t(rng());
    return id;
}

struct Outcome {
    std::set<Bytes32> have, need;
    int rounds = 0;
    bool ok = true;
    size_t max_message = 0;
};

// Runs a full exchange between an initiator over `a` and a responder over `b`.
Outcome exchange(const std::vector<NegentropyItem>& a, const std::vector<NegentropyItem>& b, uint64_t frame_limit) {
    Outcome o;
    auto ini = Negentropy::create(a, frame_limit);
    auto resp = Negentropy::create(b, frame_limit);
    if (!ini || !resp) return {{}, {}, 0, false};
    auto msg = ini->initiate();
    if (!msg) return {{}, {}, 0, false};
    std::string next = msg.value();
    std::vector<Bytes32> have, need;
    for (o.rounds = 1; o.rounds < 1000; ++o.rounds) {
        o.max_message = std::max(o.max_message, next.size());
        auto reply = resp->respond(next);
        if (!reply) {
            qWarning("respond: %s", reply.error().message.c_str());
            return {{}, {}, o.rounds, false};
        }
        o.max_message = std::max(o.max_message, reply->size());
        auto r = ini->reconcile(reply.value(), have, need);
        if (!r) {
            qWarning("reconcile: %s", r.error().message.c_str());
            return {{}, {}, o.rounds, false};
        }
        if (!r.value()) break;
        next = *r.value();
    }
    o.have.insert(have.begin(), have.end());
    o.need.insert(need.begin(), need.end());
    o.ok = o.have.size() == have.size() && o.need.size() == need.size();  // no id reported twice
    if (!o.ok) qWarning("rounds %d have %zu/%zu need %zu/%zu", o.rounds, o.have.size(), have.size(), o.need.size(), need.size());
    return o;
}

}  // namespace

class TestNegentropy : public QObject {
    Q_OBJECT
private slots:
    void varints_data() {
        QTest::addColumn<quint64>("value");
        QTest::addColumn<QString>("hex");
        QTest::newRow("0") << quint64(0) << "00";
        QTest::newRow("127") << quint64(127) << "7f";
        QTest::newRow("128") << quint64(128) << "8100";
        QTest::newRow("16383") << quint64(16383) << "ff7f";
        QTest::newRow("16384") << quint64(16384) << "818000";
        QTest::newRow("max") << quint64(~0ull) << "81ffffffffffffffff7f";
    }
    void varints() {
        QFETCH(quint64, value);
        QFETCH(QString, hex);
        std::string out;
        Negentropy::appendVarint(out, value);
        QCOMPARE(QString::fromStdString(hexOf(out)), hex);
        std::string_view in(out);
        uint64_t back = 1;
        QVERIFY(Negentropy::readVarint(in, back));
        QCOMPARE(back, uint64_t(value));
        QVERIFY(in.empty());
        std::string_view truncated = std::string_view(out).substr(0, out.size() - 1);
        QVERIFY(truncated.empty() || !Negentropy::readVarint(truncated, back));
    }

    void fingerprintDefinition() {
        // Empty set: SHA-256 of 32 zero bytes and varint(0), first 16 bytes.
        auto empty = Negentropy::create({});
        QVERIFY(empty);
        const auto digest = archivist::protocol::sha256(std::string(33, '\0'));
        auto fp = empty->fingerprint(0, 0);
        QVERIFY(std::equal(fp.begin(), fp.end(), digest.begin()));
        // Sum wraps mod 2^256 with little-endian carries: 0xff..ff + 1 = 0, count 2.
        NegentropyItem x, y;
        x.id.fill(0xff);
        y.id[0] = 1;
        y.timestamp = 1;
        auto two = Negentropy::create({x, y});
        std::string input(32, '\0');
        input += char(2);
        const auto expect = archivist::protocol::sha256(input);
        fp = two->fingerprint(0, 2);
        QVERIFY(std::equal(fp.begin(), fp.end(), expect.begin()));
    }

    // Byte-for-byte agreement with the reference implementation's messages.
    void referenceVectors() {
        const auto cases = loadVectors();
        QCOMPARE(cases.size(), size_t(4));
        for (const auto& c : cases) {
            auto ini = Negentropy::create(c.a);
            QVERIFY(ini);
            auto q = ini->initiate();
            QVERIFY(q);
            QCOMPARE(QString::fromStdString(hexOf(q.value())), QString::fromStdString(c.initiate_hex));
            auto resp = Negentropy::create(c.b);
            std::string query(c.initiate_hex.size() / 2, '\0');
            QVERIFY(archivist::protocol::fromHex(c.initiate_hex, reinterpret_cast<uint8_t*>(query.data()), query.size()));
            auto reply = resp->respond(query);
            QVERIFY(reply);
            QCOMPARE(QString::fromStdString(hexOf(reply.value())), QString::fromStdString(c.reply_hex));
            // And the full exchange finds the exact differences.
            std::set<Bytes32> sa, sb;
            for (const auto& i : c.a) sa.insert(i.id);
            for (const auto& i : c.b) sb.insert(i.id);
            std::set<Bytes32> have, need;
            std::set_difference(sa.begin(), sa.end(), sb.begin(), sb.end(), std::inserter(have, have.end()));
            std::set_difference(sb.begin(), sb.end(), sa.begin(), sa.end(), std::inserter(need, need.end()));
            auto o = exchange(c.a, c.b, 0);
            QVERIFY(o.ok);
            QCOMPARE(o.have, have);
            QCOMPARE(o.need, need);
        }
    }

    void randomSets_data() {
        QTest::addColumn<int>("shared");
        QTest::addColumn<int>("onlyA");
        QTest::addColumn<int>("onlyB");
        QTest::addColumn<int>("timestamps");
        QTest::addColumn<quint64>("frameLimit");
        QTest::newRow("identical") << 5000 << 0 << 0 << 100000 << quint64(0);
        QTest::newRow("both-empty") << 0 << 0 << 0 << 10 << quint64(0);
        QTest::newRow("a-empty") << 0 << 0 << 700 << 100 << quint64(0);
        QTest::newRow("b-empty") << 0 << 700 << 0 << 100 << quint64(0);
        QTest::newRow("few-differences") << 20000 << 5 << 7 << 1000000 << quint64(0);
        QTest::newRow("many-differences") << 3000 << 1500 << 2000 << 50000 << quint64(0);
        QTest::newRow("one-timestamp") << 2000 << 300 << 300 << 1 << quint64(0);
        QTest::newRow("frame-limit") << 20000 << 3000 << 3000 << 200000 << quint64(4096);
        QTest::newRow("frame-limit-b-heavy") << 1000 << 0 << 8000 << 5000 << quint64(4096);
    }

    // After the exchange the initiator knows exactly which ids it lacks and which the peer lacks.
    void randomSets() {
        QFETCH(int, shared);
        QFETCH(int, onlyA);
        QFETCH(int, onlyB);
        QFETCH(int, timestamps);
        QFETCH(quint64, frameLimit);
        for (uint64_t seed = 1; seed <= 3; ++seed) {
            std::mt19937_64 rng(seed);
            std::vector<NegentropyItem> a, b;
            std::set<Bytes32> expect_have, expect_need;
            auto item = [&] { return NegentropyItem{1'600'000'000ull + rng() % uint64_t(timestamps), randomId(rng)}; };
            for (int i = 0; i < shared; ++i) {
                auto it = item();
                a.push_back(it);
                b.push_back(it);
            }
            for (int i = 0; i < onlyA; ++i) {
                auto it = item();
                a.push_back(it);
                expect_have.insert(it.id);
            }
            for (int i = 0; i < onlyB; ++i) {
                auto it = item();
                b.push_back(it);
                expect_need.insert(it.id);
            }
            auto o = exchange(a, b, frameLimit);
            QVERIFY(o.ok);
            QCOMPARE(o.have, expect_have);
            QCOMPARE(o.need, expect_need);
            if (frameLimit) QVERIFY2(o.max_message <= frameLimit, qPrintable(QString::number(o.max_message)));
            QVERIFY2(o.rounds < (frameLimit ? 300 : 20), qPrintable(QString::number(o.rounds)));
        }
    }

    void malformedMessagesAreErrors_data() {
        QTest::addColumn<QString>("hex");
        QTest::newRow("empty") << "";
        QTest::newRow("bad-version") << "11";
        QTest::newRow("truncated-bound") << "6181";
        QTest::newRow("prefix-too-long") << "610021";
        QTest::newRow("truncated-fingerprint") << "61000001aabb";
        QTest::newRow("id-list-too-long") << "6100000205aa";
        QTest::newRow("unknown-mode") << "61000003";
    }
    void malformedMessagesAreErrors() {
        QFETCH(QString, hex);
        const std::string h = hex.toStdString();
        std::string bytes(h.size() / 2, '\0');
        QVERIFY(archivist::protocol::fromHex(h, reinterpret_cast<uint8_t*>(bytes.data()), bytes.size()));
        auto resp = Negentropy::create({{1, Bytes32{}}});
        auto r = resp->respond(bytes);
        QVERIFY(!r);
        QCOMPARE(r.error().code, std::string("negentropy"));
    }

    void versionNegotiationAndRoles() {
        auto resp = Negentropy::create({});
        auto r = resp->respond(std::string(1, char(0x62)));
        QVERIFY(r);
        QCOMPARE(r.value(), std::string(1, char(0x61)));
        auto ini = Negentropy::create({});
        QVERIFY(ini->initiate());
        QVERIFY(!ini->initiate());
        std::vector<Bytes32> have, need;
        QVERIFY(!ini->reconcile(std::string(1, char(0x62)), have, need));
        QVERIFY(!ini->respond(std::string(1, char(0x61))));
        QVERIFY(!Negentropy::create({}, 1000));
        QVERIFY(!Negentropy::create({{~0ull, Bytes32{}}}));
    }

    void differingIdsBounded() {
        std::mt19937_64 rng(3);
        std::vector<NegentropyItem> b;
        for (int i = 0; i < 500; ++i) b.push_back({uint64_t(i), randomId(rng)});
        auto ini = Negentropy::create({}, 0, 100);
        auto resp = Negentropy::create(b);
        std::string next = ini->initiate().value();
        std::vector<Bytes32> have, need;
        bool failed = false;
        for (int round = 0; round < 20 && !failed; ++round) {
            auto reply = resp->respond(next);
            QVERIFY(reply);
            auto r = ini->reconcile(reply.value(), have, need);
            if (!r) { failed = true; break; }
            if (!r.value()) break;
            next = *r.value();
        }
        QVERIFY(failed);
        QVERIFY(need.size() <= 100);
    }
};

QTEST_GUILESS_MAIN(TestNegentropy)
#include "tst_negentropy.moc"
