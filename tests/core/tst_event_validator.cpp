#include <QtTest>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include <fstream>
#include <string>
#include <vector>

#include "core/protocol/event_codec.h"
#include "core/protocol/event_validator.h"
#include "core/protocol/hex.h"

using namespace archivist::protocol;

namespace {

std::vector<std::string> nostrToolsLines() {
    std::ifstream in(ARCHIVIST_FIXTURES "/nostr_tools_events.jsonl", std::ios::binary);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
    return lines;
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
    const size_t at = s.find(from);
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
}

// Signs e (its id already set) with a fixed test key; fills pubkey first if asked.
struct Signer {
    secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    secp256k1_keypair kp{};
    Signer() {
        uint8_t sk[32] = {};
        sk[31] = 7;
        QVERIFY(secp256k1_keypair_create(ctx, &kp, sk));
    }
    ~Signer() { secp256k1_context_destroy(ctx); }
    Bytes32 pubkey() const {
        secp256k1_xonly_pubkey pk;
        Bytes32 out{};
        if (!secp256k1_keypair_xonly_pub(ctx, &pk, nullptr, &kp) ||
            !secp256k1_xonly_pubkey_serialize(ctx, out.data(), &pk))
            out.fill(0);  // makes every later verification fail loudly
        return out;
    }
    void sign(Event& e) const {
        QVERIFY(secp256k1_schnorrsig_sign32(ctx, e.sig.data(), e.id.data(), &kp, nullptr));
    }
};

const int64_t kReceived = 1700000000;

}  // namespace

class TestEventValidator : public QObject {
    Q_OBJECT
private slots:
    void validEventsPass() {
        EventValidator v;
        for (const auto& line : nostrToolsLines()) {
            Event e;
            uint32_t flags = 123;
            QCOMPARE(v.validate(line, kReceived, e, flags), Reject::None);
            Event direct;
            QCOMPARE(parseEvent(line, direct), Reject::None);
            QCOMPARE(e, direct);
            if (e.created_at <= kReceived + 900) QCOMPARE(flags, uint32_t(0));
        }
    }

    void tamperedContentIsIdMismatch() {
        const std::string line = nostrToolsLines().at(0);
        EventValidator v;
        Event e;
        uint32_t flags = 0;
        QCOMPARE(v.validate(replaced(line, "hello nostr", "hello nostR"), kReceived, e, flags), Reject::IdMismatch);
        EventValidator noVerify(ValidationPolicy{512 * 1024, false, 900});
        QCOMPARE(noVerify.validate(replaced(line, "hello nostr", "hello nostR"), kReceived, e, flags),
                 Reject::IdMismatch);
    }

    void tamperedSignatureIsBadSignature() {
        const std::string line = nostrToolsLines().at(0);
        Event e;
        QCOMPARE(parseEvent(line, e), Reject::None);
        const std::string sig = toHex(e.sig);
        std::string badSig = sig;
        badSig[10] = badSig[10] == '0' ? '1' : '0';
        EventValidator v;
        uint32_t flags = 0;
        QCOMPARE(v.validate(replaced(line, sig, badSig), kReceived, e, flags), Reject::BadSignature);
        // Someone else's valid signature over a different id is still a bad signature.
        Event other;
        QCOMPARE(parseEvent(nostrToolsLines().at(1), other), Reject::None);
        QCOMPARE(v.validate(replaced(line, sig, toHex(other.sig)), kReceived, e, flags), Reject::BadSignature);
    }

    void noVerifySetsUnverified() {
        const std::string line = nostrToolsLines().at(0);
        Event e;
        QCOMPARE(parseEvent(line, e), Reject::None);
        const std::string sig = toHex(e.sig);
        EventValidator v(ValidationPolicy{512 * 1024, false, 900});
        QCOMPARE(v.policy().verify_signatures, false);
        uint32_t flags = 0;
        QCOMPARE(v.validate(replaced(line, sig, std::string(128, '0')), kReceived, e, flags), Reject::None);
        QCOMPARE(flags, uint32_t(kFlagUnverified));
        QCOMPARE(v.validate(line, kReceived, e, flags), Reject::None);
        QCOMPARE(flags, uint32_t(kFlagUnverified));
    }

    void futureTimestampFlaggedNotDropped_data() {
        QTest::addColumn<int>("line");
        QTest::addColumn<qint64>("receivedAt");
        QTest::addColumn<bool>("flagged");
        // Line 0 has created_at 1700000000, line 2 has 5000000000 (year 2128).
        QTest::newRow("same time") << 0 << qint64(1700000000) << false;
        QTest::newRow("exactly at tolerance") << 0 << qint64(1700000000 - 900) << false;
        QTest::newRow("one second beyond tolerance") << 0 << qint64(1700000000 - 901) << true;
        QTest::newRow("past event") << 0 << qint64(1800000000) << false;
        QTest::newRow("far future") << 2 << qint64(1700000000) << true;
    }
    void futureTimestampFlaggedNotDropped() {
        QFETCH(int, line);
        QFETCH(qint64, receivedAt);
        QFETCH(bool, flagged);
        EventValidator v;
        Event e;
        uint32_t flags = 0;
        QCOMPARE(v.validate(nostrToolsLines().at(size_t(line)), receivedAt, e, flags), Reject::None);
        QCOMPARE((flags & kFlagFutureTimestamp) != 0, flagged);
        QCOMPARE(flags & ~uint32_t(kFlagFutureTimestamp), uint32_t(0));
    }

    void tooLargeCheckedBeforeParsing() {
        ValidationPolicy p;
        p.max_event_bytes = 100;
        EventValidator v(p);
        Event e;
        uint32_t flags = 0;
        QCOMPARE(v.validate(std::string(101, 'x'), kReceived, e, flags), Reject::TooLarge);
        QCOMPARE(v.validate(std::string(100, 'x'), kReceived, e, flags), Reject::NotJson);
        const std::string line = nostrToolsLines().at(0);
        QVERIFY(line.size() > 100);
        QCOMPARE(v.validate(line, kReceived, e, flags), Reject::TooLarge);
        EventValidator defaults;
        QCOMPARE(defaults.policy().max_event_bytes, size_t(512 * 1024));
        QCOMPARE(defaults.policy().future_tolerance_s, int64_t(900));
        QVERIFY(defaults.policy().verify_signatures);
        std::string huge = line;
        huge.insert(huge.size() - 1, ",\"pad\":\"" + std::string(512 * 1024, 'p') + "\"");
        QCOMPARE(defaults.validate(huge, kReceived, e, flags), Reject::TooLarge);
    }

    // The verify pool starts its lookups' loads from the callback: it sees the claimed id and
    // created_at of every event that parses — before the id check, so also of a forged one — and
    // nothing of what does not parse; the result is validateExceptSignature's without it.
    void parsedCallbackSeesTheClaimedIdBeforeTheCheck() {
        const std::string line = nostrToolsLines().at(0);
        Event direct;
        QCOMPARE(parseEvent(line, direct), Reject::None);
        EventValidator v;
        Event e;
        uint32_t flags = 0;
        std::vector<std::pair<Bytes32, int64_t>> seen;
        auto note = [&](const Event& p) { seen.emplace_back(p.id, p.created_at); };
        QCOMPARE(v.validateExceptSignature(line, kReceived, e, flags, note), Reject::None);
        QCOMPARE(e, direct);
        const std::string forged = replaced(line, "hello nostr", "hello nostR");
        QCOMPARE(v.validateExceptSignature(forged, kReceived, e, flags, note), Reject::IdMismatch);
        QCOMPARE(v.validateExceptSignature("{", kReceived, e, flags, note), Reject::NotJson);
        std::string huge = line;
        huge.insert(huge.size() - 1, ",\"pad\":\"" + std::string(512 * 1024, 'p') + "\"");
        QCOMPARE(v.validateExceptSignature(huge, kReceived, e, flags, note), Reject::TooLarge);
        QCOMPARE(seen.size(), size_t(2));
        QCOMPARE(seen[0].first, direct.id);
        QCOMPARE(seen[0].second, direct.created_at);
        QCOMPARE(seen[1].first, direct.id);  // the forged copy claims the original's id
    }

    void structuralRejectsPassThrough() {
        EventValidator v;
        Event e;
        uint32_t flags = 0;
        QCOMPARE(v.validate("[1]", kReceived, e, flags), Reject::NotObject);
        QCOMPARE(v.validate("{", kReceived, e, flags), Reject::NotJson);
        QCOMPARE(v.validate(replaced(nostrToolsLines().at(0), "\"kind\":1", "\"kind\":1.0"), kReceived, e, flags),
                 Reject::InvalidKind);
    }

    void nip01TextIdSignedEventAccepted() {
        Signer signer;
        Event e;
        e.pubkey = signer.pubkey();
        e.created_at = 1690000000;
        e.kind = 1;
        e.tags = {{"t", "bell\x07"}};
        e.content = "vertical tab \x0b here";
        e.id = computeId(e, IdForm::Nip01Text);
        signer.sign(e);
        std::string json;
        appendEventJson(json, e);
        EventValidator v;
        Event out;
        uint32_t flags = 0;
        QCOMPARE(v.validate(json, kReceived, out, flags), Reject::None);
        QCOMPARE(flags, uint32_t(kFlagNip01TextId));
        QCOMPARE(out, e);
        // The same event hashed the JSON.stringify way carries no flag.
        e.id = computeId(e, IdForm::JsonStringify);
        signer.sign(e);
        json.clear();
        appendEventJson(json, e);
        QCOMPARE(v.validate(json, kReceived, out, flags), Reject::None);
        QCOMPARE(flags, uint32_t(0));
    }
};

QTEST_GUILESS_MAIN(TestEventValidator)
#include "tst_event_validator.moc"
