// BIP-340 verification against every official test vector (bitcoin/bips bip-0340/test-vectors.csv).
#include <QtTest>

#include <fstream>
#include <string>
#include <vector>

#include "core/protocol/hex.h"
#include "core/protocol/schnorr_verifier.h"

using namespace archivist::protocol;

namespace {
struct Vector {
    int index = -1;
    std::string pubkey, message, signature;  // lowercase hex
    bool expected = false;
    std::string comment;
};

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'F') c = char(c - 'A' + 'a');
    return s;
}

std::vector<Vector> loadVectors() {
    std::vector<Vector> out;
    std::ifstream in(ARCHIVIST_FIXTURES "/bip340_vectors.csv");
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        std::vector<std::string> cols;
        size_t start = 0;
        for (int k = 0; k < 7; ++k) {  // the comment (last column) may itself contain commas
            const size_t comma = line.find(',', start);
            cols.push_back(line.substr(start, comma - start));
            start = comma == std::string::npos ? line.size() : comma + 1;
        }
        cols.push_back(line.substr(start));
        Vector v;
        v.index = std::stoi(cols[0]);
        v.pubkey = lower(cols[2]);
        v.message = lower(cols[4]);
        v.signature = lower(cols[5]);
        v.expected = cols[6] == "TRUE";
        v.comment = cols[7];
        out.push_back(std::move(v));
    }
    return out;
}

bool runVector(SchnorrVerifier& verifier, const Vector& v) {
    Bytes32 pk;
    Bytes64 sig;
    std::vector<uint8_t> msg(v.message.size() / 2);
    if (!fromHex(v.pubkey, pk.data(), 32) || !fromHex(v.signature, sig.data(), 64) ||
        !fromHex(v.message, msg.data(), msg.size()))
        qFatal("malformed vector %d", v.index);
    if (msg.size() == 32) {
        Bytes32 m32;
        std::copy(msg.begin(), msg.end(), m32.begin());
        const bool fixed = verifier.verify(m32, pk, sig);
        if (fixed != verifier.verifyMessage(msg.data(), msg.size(), pk, sig)) qFatal("verify/verifyMessage disagree");
        return fixed;
    }
    return verifier.verifyMessage(msg.data(), msg.size(), pk, sig);
}
}  // namespace

class TestSchnorr : public QObject {
    Q_OBJECT
private slots:
    void fixtureIsComplete();
    void officialVectors_data();
    void officialVectors();
    void officialVectorsWithoutCache();
    void flippedBitsFail();
    void cacheIsBounded();
};

void TestSchnorr::fixtureIsComplete() {
    const auto vectors = loadVectors();
    QCOMPARE(vectors.size(), size_t(19));  // indices 0 … 18, incl. the variable-length messages (2022-12)
    for (size_t i = 0; i < vectors.size(); ++i) QCOMPARE(vectors[i].index, int(i));
    int valid = 0;
    for (const auto& v : vectors) valid += v.expected;
    QCOMPARE(valid, 9);
}

void TestSchnorr::officialVectors_data() {
    QTest::addColumn<int>("row");
    const auto vectors = loadVectors();
    for (const auto& v : vectors)
        QTest::addRow("%d %s", v.index, v.comment.empty() ? (v.expected ? "valid" : "invalid") : v.comment.c_str())
            << v.index;
}

void TestSchnorr::officialVectors() {
    QFETCH(int, row);
    static const auto vectors = loadVectors();
    static SchnorrVerifier verifier;  // shared across rows: second use of a key comes from the cache
    const Vector& v = vectors[size_t(row)];
    QCOMPARE(runVector(verifier, v), v.expected);
    QCOMPARE(runVector(verifier, v), v.expected);  // cached pubkey gives the same answer
}

void TestSchnorr::officialVectorsWithoutCache() {
    SchnorrVerifier verifier(0);
    QCOMPARE(verifier.cacheCapacity(), size_t(0));
    for (const auto& v : loadVectors()) QCOMPARE(runVector(verifier, v), v.expected);
    QCOMPARE(verifier.cacheSize(), size_t(0));
}

void TestSchnorr::flippedBitsFail() {
    // Every single-bit change of message, key or signature of a valid vector must fail.
    const auto vectors = loadVectors();
    const Vector& v = vectors[1];
    QVERIFY(v.expected);
    SchnorrVerifier verifier;
    Bytes32 pk, msg;
    Bytes64 sig;
    QVERIFY(fromHex(v.pubkey, pk.data(), 32) && fromHex(v.message, msg.data(), 32) && fromHex(v.signature, sig.data(), 64));
    QVERIFY(verifier.verify(msg, pk, sig));
    for (size_t bit = 0; bit < 256; bit += 7) {
        Bytes32 m2 = msg;
        m2[bit / 8] ^= uint8_t(1u << (bit % 8));
        QVERIFY(!verifier.verify(m2, pk, sig));
        Bytes32 p2 = pk;
        p2[bit / 8] ^= uint8_t(1u << (bit % 8));
        QVERIFY(!verifier.verify(msg, p2, sig));
    }
    for (size_t bit = 0; bit < 512; bit += 5) {
        Bytes64 s2 = sig;
        s2[bit / 8] ^= uint8_t(1u << (bit % 8));
        QVERIFY(!verifier.verify(msg, pk, s2));
    }
}

void TestSchnorr::cacheIsBounded() {
    const auto vectors = loadVectors();
    SchnorrVerifier verifier(2);
    QCOMPARE(verifier.cacheCapacity(), size_t(2));
    // Valid vectors 0, 1, 2, 3, 15 and 4 use six distinct keys: the cache keeps only the newest two.
    for (int round = 0; round < 3; ++round) {
        for (int i : {0, 1, 2, 3, 15, 4}) {
            QVERIFY(runVector(verifier, vectors[size_t(i)]));
            QVERIFY(verifier.cacheSize() <= 2);
        }
    }
    QCOMPARE(verifier.cacheSize(), size_t(2));
    // Keys that do not parse are never cached.
    SchnorrVerifier fresh(8);
    QVERIFY(!runVector(fresh, vectors[5]));
    QVERIFY(!runVector(fresh, vectors[14]));
    QCOMPARE(fresh.cacheSize(), size_t(0));
    QVERIFY(runVector(fresh, vectors[0]));
    QCOMPARE(fresh.cacheSize(), size_t(1));
}

QTEST_GUILESS_MAIN(TestSchnorr)
#include "tst_schnorr.moc"
