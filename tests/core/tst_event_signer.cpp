// Signing (NIP-42 AUTH events) and the structural peek a relay connection uses for pagination.
#include <QtTest>

#include "core/protocol/event_codec.h"
#include "core/protocol/event_signer.h"
#include "core/protocol/hex.h"
#include "core/protocol/schnorr_verifier.h"

using namespace archivist::protocol;

class TestEventSigner : public QObject {
    Q_OBJECT
private slots:
    void signedAuthEventVerifies() {
        auto signer = EventSigner::generate();
        QVERIFY(signer);
        Event e = makeAuthEvent("wss://relay.example.com", "challenge-123", 1700000000);
        QVERIFY((*signer)->sign(e));
        QCOMPARE(e.kind, uint16_t(22242));
        QCOMPARE(e.pubkey, (*signer)->pubkey());
        QCOMPARE(e.id, computeId(e));
        SchnorrVerifier v;
        QVERIFY(v.verify(e.id, e.pubkey, e.sig));
        QCOMPARE(e.tags.size(), size_t(2));
        QCOMPARE(e.tags[0][0], std::string("relay"));
        QCOMPARE(e.tags[1][1], std::string("challenge-123"));
        // Tampering breaks it.
        e.tags[1][1] = "other";
        QVERIFY(!v.verify(computeId(e), e.pubkey, e.sig));
    }

    void twoGeneratedKeysDiffer() {
        auto a = EventSigner::generate();
        auto b = EventSigner::generate();
        QVERIFY(a && b);
        QVERIFY((*a)->pubkey() != (*b)->pubkey());
    }

    void invalidSecretIsRefused() {
        Bytes32 zero{};
        auto s = EventSigner::fromSecret(zero);
        QVERIFY(!s);
        QCOMPARE(s.error().code, std::string("key"));
    }

    void peekReadsTheKeysOfAnyLayout_data() {
        QTest::addColumn<QString>("json");
        QTest::addColumn<qint64>("created");
        QTest::addColumn<int>("kind");
        const QString id(64, 'a');
        QTest::newRow("canonical") << QString("{\"id\":\"%1\",\"pubkey\":\"%2\",\"created_at\":1700000000,\"kind\":1,\"tags\":[],\"content\":\"x\",\"sig\":\"%3\"}")
                                          .arg(id, QString(64, 'b'), QString(128, 'c'))
                                   << qint64(1700000000) << 1;
        QTest::newRow("reordered, spaced, tricky strings")
            << QString(" { \"content\" : \"}{\\\"id\\\":\\\"zz\\\"]\" , \"tags\" : [[\"e\",\"{[\\\"\",\"\"]] , \"kind\" : 65535 , \"created_at\" : 0 , \"id\" : \"%1\" } ").arg(id)
            << qint64(0) << 65535;
        QTest::newRow("created_at above 2^32") << QString("{\"id\":\"%1\",\"created_at\":4294967297,\"kind\":7}").arg(id)
                                               << qint64(4294967297LL) << 7;
    }
    void peekReadsTheKeysOfAnyLayout() {
        QFETCH(QString, json);
        QFETCH(qint64, created);
        QFETCH(int, kind);
        const std::string text = json.toStdString();
        auto keys = peekEventKeys(text);
        QVERIFY(keys);
        QCOMPARE(keys->created_at, int64_t(created));
        QCOMPARE(int(keys->kind), kind);
        QCOMPARE(toHex(keys->id), std::string(64, 'a'));
    }

    void peekRefusesBrokenObjects_data() {
        QTest::addColumn<QString>("json");
        const QString id(64, 'a');
        QTest::newRow("not an object") << QString("[1,2]");
        QTest::newRow("missing kind") << QString("{\"id\":\"%1\",\"created_at\":1}").arg(id);
        QTest::newRow("string created_at") << QString("{\"id\":\"%1\",\"created_at\":\"1\",\"kind\":1}").arg(id);
        QTest::newRow("fraction") << QString("{\"id\":\"%1\",\"created_at\":1.5,\"kind\":1}").arg(id);
        QTest::newRow("kind too big") << QString("{\"id\":\"%1\",\"created_at\":1,\"kind\":65536}").arg(id);
        QTest::newRow("short id") << QString("{\"id\":\"abc\",\"created_at\":1,\"kind\":1}");
        QTest::newRow("unterminated") << QString("{\"id\":\"%1\",\"created_at\":1,\"kind\":1,\"content\":\"x").arg(id);
        QTest::newRow("empty") << QString();
    }
    void peekRefusesBrokenObjects() {
        QFETCH(QString, json);
        QVERIFY(!peekEventKeys(json.toStdString()));
    }
};

QTEST_GUILESS_MAIN(TestEventSigner)
#include "tst_event_signer.moc"
