// NIP-19: the NIP's own examples, vectors produced by nostr-tools (tests/node_modules, v2.25.2),
// round trips, and the ways a pasted string can be wrong.
#include <QtTest>

#include "core/protocol/bech32.h"
#include "core/protocol/hex.h"
#include "core/protocol/nip19.h"

using namespace archivist;
using namespace archivist::protocol;

namespace {

Bytes32 b32(const char* hex) {
    Bytes32 b{};
    if (!fromHex(hex, b.data(), 32)) qFatal("bad test hex %s", hex);
    return b;
}

const char* kPk = "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d";
const char* kId = "b9f5441e45ca39179320e0031cfb18e34078673dcc3d3e3a3b3a981760aa5696";

// Builds a bech32 string over a hand-made TLV payload.
std::string tlvString(const char* hrp, const std::vector<uint8_t>& tlv) { return bech32::encode(hrp, tlv); }

void pushTlv(std::vector<uint8_t>& out, uint8_t type, const std::vector<uint8_t>& v) {
    out.push_back(type);
    out.push_back(uint8_t(v.size()));
    out.insert(out.end(), v.begin(), v.end());
}

std::vector<uint8_t> vec(const Bytes32& b) { return {b.begin(), b.end()}; }

}  // namespace

class TestNip19 : public QObject {
    Q_OBJECT
private slots:
    void nipExamplesBareKeys_data() {
        QTest::addColumn<QString>("bech");
        QTest::addColumn<QString>("hex");
        QTest::addColumn<int>("alternative");
        QTest::newRow("npub from text") << "npub180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6"
                                         << "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d" << 0;
        QTest::newRow("npub example") << "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg"
                                      << "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e" << 0;
        QTest::newRow("nsec example") << "nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5"
                                      << "67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa" << 1;
        QTest::newRow("note (nostr-tools)") << "note1h865g8j9egu30yequqp3e7ccudq8seeaes7nuw3m82vpwc9226tqtudlvp"
                                            << kId << 2;
    }
    void nipExamplesBareKeys() {
        QFETCH(QString, bech);
        QFETCH(QString, hex);
        QFETCH(int, alternative);
        const Bytes32 key = b32(hex.toLatin1().constData());
        auto d = decodeNip19(bech.toStdString());
        QVERIFY2(d.ok(), d.ok() ? "" : d.error().message.c_str());
        QCOMPARE(int(d->index()), alternative);
        Nip19Entity expected = alternative == 0   ? Nip19Entity(Nip19Pubkey{key})
                               : alternative == 1 ? Nip19Entity(Nip19SecretKey{key})
                                                  : Nip19Entity(Nip19Note{key});
        QVERIFY(*d == expected);
        // vice versa
        const std::string enc = alternative == 0 ? encodeNpub(key) : alternative == 1 ? encodeNsec(key) : encodeNote(key);
        QCOMPARE(QString::fromStdString(enc), bech);
        QCOMPARE(QString::fromStdString(encodeNip19(expected)), bech);
    }

    void nipExampleNprofile() {
        const std::string s =
            "nprofile1qqsrhuxx8l9ex335q7he0f09aej04zpazpl0ne2cgukyawd24mayt8gpp4mhxue69uhhytnc9e3k7mgpz4mhxue69uhkg6nzv9ejuumpv34kytnrdaksjlyr9p";
        auto d = decodeNip19(s);
        QVERIFY2(d.ok(), d.ok() ? "" : d.error().message.c_str());
        const auto* p = std::get_if<Nip19Profile>(&*d);
        QVERIFY(p);
        QCOMPARE(QString::fromStdString(toHex(p->pubkey)), QString(kPk));
        QCOMPARE(p->relays, (std::vector<std::string>{"wss://r.x.com", "wss://djbas.sadkb.com"}));
        QCOMPARE(encodeNprofile(*p), s);  // same TLV order as the NIP's example
        QCOMPARE(std::string(nip19Hrp(*d)), std::string("nprofile"));
    }

    // Strings produced by nostr-tools, which writes TLVs in a different order than we do.
    void nostrToolsVectors() {
        auto ev = decodeNip19(
            "nevent1qvzqqqr4gupzqwlsccluhy6xxsr6l9a9uhhxf75g85g8a709tprjcn4e42h053vaqythwumn8ghj7un9d3shjtn90psk6urvv5hxxmmdqqstna2yrezu5wghjvswqqculvvwxsrcvu7uc0f78gan4xqhvz49d9scvm92h");
        QVERIFY(ev.ok());
        const auto* e = std::get_if<Nip19EventRef>(&*ev);
        QVERIFY(e);
        QVERIFY(*e == (Nip19EventRef{b32(kId), {"wss://relay.example.com"}, b32(kPk), 30023u}));

        auto bare = decodeNip19("nevent1qqstna2yrezu5wghjvswqqculvvwxsrcvu7uc0f78gan4xqhvz49d9s5p05vw");
        QVERIFY(bare.ok());
        QVERIFY(*bare == Nip19Entity(Nip19EventRef{b32(kId), {}, std::nullopt, std::nullopt}));
        QCOMPARE(encodeNevent(std::get<Nip19EventRef>(*bare)),
                 std::string("nevent1qqstna2yrezu5wghjvswqqculvvwxsrcvu7uc0f78gan4xqhvz49d9s5p05vw"));

        auto na = decodeNip19(
            "naddr1qvzqqqr4gupzqwlsccluhy6xxsr6l9a9uhhxf75g85g8a709tprjcn4e42h053vaqy8hwumn8ghj7cfwv4uxzmtsd3jszrmhwden5te0vghx27rpd4cxcegqpfkhjttpwf6xjcmvv5u793z4");
        QVERIFY(na.ok());
        QVERIFY(*na == Nip19Entity(Nip19Addr{"my-article", b32(kPk), 30023, {"wss://a.example", "wss://b.example"}}));

        auto empty = decodeNip19("naddr1qvzqqqp8zgpzqwlsccluhy6xxsr6l9a9uhhxf75g85g8a709tprjcn4e42h053vaqqqq5nzc43");
        QVERIFY(empty.ok());
        QVERIFY(*empty == Nip19Entity(Nip19Addr{"", b32(kPk), 10002, {}}));
    }

    void roundTrips_data() {
        QTest::addColumn<int>("which");
        for (int i = 0; i < 8; ++i) QTest::newRow(QByteArray::number(i).constData()) << i;
    }
    void roundTrips() {
        QFETCH(int, which);
        const std::vector<Nip19Entity> cases = {
            Nip19Profile{b32(kPk), {}},
            Nip19Profile{b32(kPk), {"wss://one.example", "wss://two.example/path?x=1"}},
            Nip19EventRef{b32(kId), {}, std::nullopt, std::nullopt},
            Nip19EventRef{b32(kId), {"wss://r.example"}, b32(kPk), std::nullopt},
            Nip19EventRef{b32(kId), {}, std::nullopt, 0xfffffffeu},
            Nip19Addr{"", b32(kPk), 0, {}},
            Nip19Addr{std::string(255, 'x'), b32(kPk), 30000, {"wss://r.example"}},
            Nip19Addr{"ünïcode d-tag", b32(kId), 31337, {"wss://a", "wss://b", "wss://c"}},
        };
        const Nip19Entity& in = cases[size_t(which)];
        const std::string s = encodeNip19(in);
        QVERIFY(!s.empty());
        QVERIFY(s.rfind(nip19Hrp(in), 0) == 0);
        auto out = decodeNip19(s);
        QVERIFY2(out.ok(), out.ok() ? "" : out.error().message.c_str());
        QVERIFY(*out == in);
        auto prefixed = decodeNip19("nostr:" + s);
        QVERIFY(prefixed.ok());
        QVERIFY(*prefixed == in);
    }

    void tooLongTlvValueIsNotEncoded() {
        QCOMPARE(encodeNaddr(Nip19Addr{std::string(256, 'x'), b32(kPk), 1, {}}), std::string());
        QCOMPARE(encodeNprofile(Nip19Profile{b32(kPk), {std::string(300, 'r')}}), std::string());
    }

    void uppercaseAccepted() {
        const QString up = QString("NPUB10ELFCS4FR0L0R8AF98JLMGDH9C8TCXJVZ9QKW038JS35MP4DMA8QZVJPTG");
        auto d = decodeNip19(up.toStdString());
        QVERIFY(d.ok());
        QCOMPARE(QString::fromStdString(toHex(std::get<Nip19Pubkey>(*d).pubkey)),
                 QString("7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e"));
    }

    void errors_data() {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("mentions");
        const QString npub = "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg";
        QString badSum = npub;
        badSum[badSum.size() - 1] = 'h';
        QTest::newRow("bad checksum") << badSum << "checksum";
        QString flipped = npub;
        flipped[10] = flipped[10] == 'q' ? 'p' : 'q';
        QTest::newRow("flipped data char") << flipped << "checksum";
        QTest::newRow("mixed case") << "npub10ELFcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg" << "mixed case";
        QTest::newRow("truncated") << npub.left(npub.size() - 4) << "checksum";
        QTest::newRow("only hrp") << "npub1" << "too short";
        QTest::newRow("no separator") << "npubqqqqqq" << "separator";
        QTest::newRow("invalid char b") << "npub1bqqqqqqqqqq" << "invalid character";
        QTest::newRow("empty") << "" << "separator";
        QTest::newRow("unknown hrp") << QString::fromStdString(bech32::encode("nfoo", std::vector<uint8_t>(32, 1)))
                                     << "unsupported hrp";
        QTest::newRow("npub 31 bytes") << QString::fromStdString(bech32::encode("npub", std::vector<uint8_t>(31, 1)))
                                       << "32 bytes";
        QTest::newRow("note 33 bytes") << QString::fromStdString(bech32::encode("note", std::vector<uint8_t>(33, 1)))
                                       << "32 bytes";
        QTest::newRow("too long") << "npub1" + QString(6000, 'q') << "too long";
        {
            std::vector<uint8_t> tlv;
            pushTlv(tlv, 0, vec(b32(kPk)));
            tlv.push_back(1);
            tlv.push_back(40);  // relay claims 40 bytes, has 3
            tlv.insert(tlv.end(), {'w', 's', 's'});
            QTest::newRow("truncated TLV value") << QString::fromStdString(tlvString("nprofile", tlv)) << "truncated TLV";
        }
        {
            std::vector<uint8_t> tlv;
            pushTlv(tlv, 0, vec(b32(kPk)));
            tlv.push_back(1);  // type without length
            QTest::newRow("TLV without length") << QString::fromStdString(tlvString("nprofile", tlv)) << "truncated TLV";
        }
        {
            std::vector<uint8_t> tlv;
            pushTlv(tlv, 1, {'w', 's', 's'});
            QTest::newRow("nprofile without pubkey") << QString::fromStdString(tlvString("nprofile", tlv)) << "missing TLV 0";
        }
        {
            std::vector<uint8_t> tlv;
            pushTlv(tlv, 0, std::vector<uint8_t>(31, 7));
            QTest::newRow("nevent id 31 bytes") << QString::fromStdString(tlvString("nevent", tlv)) << "32 bytes";
        }
        {
            std::vector<uint8_t> tlv;
            pushTlv(tlv, 0, vec(b32(kId)));
            pushTlv(tlv, 3, {0, 1});
            QTest::newRow("nevent kind 2 bytes") << QString::fromStdString(tlvString("nevent", tlv)) << "kind must be 4 bytes";
        }
        {
            std::vector<uint8_t> tlv;
            pushTlv(tlv, 0, {'d'});
            pushTlv(tlv, 3, {0, 0, 0, 1});
            QTest::newRow("naddr without author") << QString::fromStdString(tlvString("naddr", tlv)) << "author";
        }
        {
            std::vector<uint8_t> tlv;
            pushTlv(tlv, 0, {'d'});
            pushTlv(tlv, 2, vec(b32(kPk)));
            QTest::newRow("naddr without kind") << QString::fromStdString(tlvString("naddr", tlv)) << "kind";
        }
    }
    void errors() {
        QFETCH(QString, input);
        QFETCH(QString, mentions);
        auto d = decodeNip19(input.toStdString());
        QVERIFY(!d.ok());
        QCOMPARE(QString::fromStdString(d.error().code), QString("nip19"));
        QVERIFY2(QString::fromStdString(d.error().message).contains(mentions),
                 d.error().message.c_str());
    }

    void unknownTlvTypesIgnored() {
        std::vector<uint8_t> tlv;
        pushTlv(tlv, 9, {1, 2, 3});  // before the special entry
        pushTlv(tlv, 0, vec(b32(kId)));
        pushTlv(tlv, 200, std::vector<uint8_t>(255, 0xee));
        pushTlv(tlv, 1, {'w', 's', 's', ':', '/', '/', 'x'});
        pushTlv(tlv, 7, {});
        auto d = decodeNip19(tlvString("nevent", tlv));
        QVERIFY2(d.ok(), d.ok() ? "" : d.error().message.c_str());
        QVERIFY(*d == Nip19Entity(Nip19EventRef{b32(kId), {"wss://x"}, std::nullopt, std::nullopt}));
    }

    void pubkeyInput_data() {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("expected");  // hex, or "" when it must fail
        const QString hex = kPk;
        QTest::newRow("hex") << hex << hex;
        QTest::newRow("hex uppercase") << hex.toUpper() << hex;
        QTest::newRow("hex with spaces") << "  " + hex + "\n" << hex;
        QTest::newRow("npub") << "npub180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6" << hex;
        QTest::newRow("nostr: npub") << "nostr:npub180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6" << hex;
        QTest::newRow("nprofile")
            << "nprofile1qqsrhuxx8l9ex335q7he0f09aej04zpazpl0ne2cgukyawd24mayt8gpp4mhxue69uhhytnc9e3k7mgpz4mhxue69uhkg6nzv9ejuumpv34kytnrdaksjlyr9p"
            << hex;
        QTest::newRow("nsec refused") << "nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5" << "";
        QTest::newRow("note refused") << "note1h865g8j9egu30yequqp3e7ccudq8seeaes7nuw3m82vpwc9226tqtudlvp" << "";
        QTest::newRow("63 hex") << hex.left(63) << "";
        QTest::newRow("non-hex 64") << QString(64, 'g') << "";
        QTest::newRow("empty") << "" << "";
    }
    void pubkeyInput() {
        QFETCH(QString, input);
        QFETCH(QString, expected);
        auto r = decodePubkeyInput(input.toStdString());
        if (expected.isEmpty()) {
            QVERIFY(!r.ok());
            QCOMPARE(QString::fromStdString(r.error().code), QString("nip19"));
        } else {
            QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
            QCOMPARE(QString::fromStdString(toHex(*r)), expected);
        }
    }
};

QTEST_GUILESS_MAIN(TestNip19)
#include "tst_nip19.moc"
