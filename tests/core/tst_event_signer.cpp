// Signing (NIP-42 AUTH events).
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
        QCOMPARE(s.error().code, SignerErrorCode::Key);
    }
};

QTEST_GUILESS_MAIN(TestEventSigner)
#include "tst_event_signer.moc"
