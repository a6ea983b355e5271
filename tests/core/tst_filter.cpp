// NIP-01 filters: matching semantics, strict parsing, serialize → parse round trip.
#include <QtTest>

#include "core/protocol/filter.h"
#include "core/protocol/hex.h"

using namespace archivist;
using namespace archivist::protocol;

namespace {

Bytes32 b32(char fill) {
    Bytes32 b;
    b.fill(uint8_t(fill));
    return b;
}
std::string hex32(char fill) { return toHex(b32(fill)); }

// The event every matching row is tested against.
Event sampleEvent() {
    Event e;
    e.id = b32(0x11);
    e.pubkey = b32(0x22);
    e.created_at = 1700000000;
    e.kind = 1;
    e.tags = {{"e", "abc", "wss://relay"}, {"p", "def"}, {"t", "Nostr"}, {"x"}, {"long", "abc"}};
    e.content = "Hello, Archive World";
    return e;
}

Filter parsed(const std::string& json) {
    auto f = parseFilter(json);
    if (!f) qFatal("filter did not parse: %s: %s", json.c_str(), f.error().message.c_str());
    return *f;
}

}  // namespace

class TestFilter : public QObject {
    Q_OBJECT
private slots:
    void matching_data() {
        QTest::addColumn<QString>("filter");
        QTest::addColumn<bool>("match");
        const QString id = QString::fromStdString(hex32(0x11));
        const QString pk = QString::fromStdString(hex32(0x22));
        const QString other = QString::fromStdString(hex32(0x33));
        QTest::newRow("empty matches all") << "{}" << true;
        QTest::newRow("id listed") << "{\"ids\":[\"" + other + "\",\"" + id + "\"]}" << true;
        QTest::newRow("id not listed") << "{\"ids\":[\"" + other + "\"]}" << false;
        QTest::newRow("author listed") << "{\"authors\":[\"" + pk + "\"]}" << true;
        QTest::newRow("author not listed") << "{\"authors\":[\"" + other + "\"]}" << false;
        QTest::newRow("id of author field is not an author") << "{\"authors\":[\"" + id + "\"]}" << false;
        QTest::newRow("kind listed") << "{\"kinds\":[0,1,7]}" << true;
        QTest::newRow("kind not listed") << "{\"kinds\":[0,7]}" << false;
        QTest::newRow("since == created_at (inclusive)") << "{\"since\":1700000000}" << true;
        QTest::newRow("since one later") << "{\"since\":1700000001}" << false;
        QTest::newRow("until == created_at (inclusive)") << "{\"until\":1700000000}" << true;
        QTest::newRow("until one earlier") << "{\"until\":1699999999}" << false;
        QTest::newRow("since == until == created_at") << "{\"since\":1700000000,\"until\":1700000000}" << true;
        QTest::newRow("limit ignored") << "{\"limit\":0}" << true;
        QTest::newRow("#e value at index 1") << "{\"#e\":[\"zzz\",\"abc\"]}" << true;
        QTest::newRow("#e value at index 2 does not count") << "{\"#e\":[\"wss://relay\"]}" << false;
        QTest::newRow("#p") << "{\"#p\":[\"def\"]}" << true;
        QTest::newRow("#p other value") << "{\"#p\":[\"abc\"]}" << false;
        QTest::newRow("tag values are case-sensitive") << "{\"#t\":[\"nostr\"]}" << false;
        QTest::newRow("tag name is case-sensitive") << "{\"#E\":[\"abc\"]}" << false;
        QTest::newRow("tag with no value never matches") << "{\"#x\":[\"\"]}" << false;
        QTest::newRow("multi-letter tag names are not #l") << "{\"#l\":[\"abc\"]}" << false;
        QTest::newRow("two tag conditions ANDed, both hold") << "{\"#e\":[\"abc\"],\"#p\":[\"def\"]}" << true;
        QTest::newRow("two tag conditions ANDed, one fails") << "{\"#e\":[\"abc\"],\"#p\":[\"nope\"]}" << false;
        QTest::newRow("empty tag list matches nothing") << "{\"#e\":[]}" << false;
        QTest::newRow("all conditions hold")
            << "{\"ids\":[\"" + id + "\"],\"authors\":[\"" + pk + "\"],\"kinds\":[1],\"since\":1,\"until\":1800000000,\"#t\":[\"Nostr\"],\"limit\":5}"
            << true;
        QTest::newRow("all but kind hold")
            << "{\"ids\":[\"" + id + "\"],\"authors\":[\"" + pk + "\"],\"kinds\":[2],\"since\":1,\"until\":1800000000}" << false;
        QTest::newRow("search case-insensitive substring") << "{\"search\":\"archive world\"}" << true;
        QTest::newRow("search absent word") << "{\"search\":\"relay\"}" << false;
    }
    void matching() {
        QFETCH(QString, filter);
        QFETCH(bool, match);
        const Filter f = parsed(filter.toStdString());
        QCOMPARE(matches(f, sampleEvent()), match);
        QCOMPARE(matchesAny({f}, sampleEvent()), match);
    }

    void filtersAreOred() {
        const Event e = sampleEvent();
        const Filter no1 = parsed("{\"kinds\":[7]}");
        const Filter no2 = parsed("{\"since\":1800000000}");
        const Filter yes = parsed("{\"#p\":[\"def\"]}");
        QVERIFY(!matchesAny({no1, no2}, e));
        QVERIFY(matchesAny({no1, yes, no2}, e));
        QVERIFY(matchesAny({yes}, e));
        QVERIFY(!matchesAny({}, e));  // a REQ with no filters asks for nothing
    }

    void parsesFields() {
        const Filter f = parsed("{\"ids\":[\"" + hex32(0x11) + "\"],\"authors\":[\"" + hex32(0x22) + "\",\"" +
                                hex32(0x33) + "\"],\"kinds\":[0,65535],\"#e\":[\"a\",\"b\"],\"#Z\":[\"\\u00e9\"],"
                                "\"since\":0,\"until\":9223372036854775807,\"limit\":4294967295,\"search\":\"q\\\"x\"}");
        QCOMPARE(f.ids, std::vector<Bytes32>{b32(0x11)});
        QCOMPARE(f.authors, (std::vector<Bytes32>{b32(0x22), b32(0x33)}));
        QCOMPARE(f.kinds, (std::vector<uint16_t>{0, 65535}));
        QCOMPARE(f.tags.at('e'), (std::vector<std::string>{"a", "b"}));
        QCOMPARE(f.tags.at('Z'), std::vector<std::string>{"\xc3\xa9"});
        QCOMPARE(*f.since, int64_t(0));
        QCOMPARE(*f.until, INT64_MAX);
        QCOMPARE(*f.limit, UINT32_MAX);
        QCOMPARE(*f.search, std::string("q\"x"));
    }

    void parseErrors_data() {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("mentions");
        const QString pk = QString::fromStdString(hex32(0x22));
        QTest::newRow("not json") << "{\"kinds\":[1]" << "not JSON";
        QTest::newRow("array") << "[]" << "object";
        QTest::newRow("unknown key") << "{\"kind\":[1]}" << "kind";
        QTest::newRow("two-letter tag") << "{\"#ab\":[\"x\"]}" << "#ab";
        QTest::newRow("digit tag") << "{\"#1\":[\"x\"]}" << "#1";
        QTest::newRow("uppercase hex id") << "{\"ids\":[\"" + QString::fromStdString(hex32(char(0xab))).toUpper() + "\"]}" << "ids";
        QTest::newRow("short author") << "{\"authors\":[\"" + pk.left(62) + "\"]}" << "authors";
        QTest::newRow("prefix author (NIP-01 old)") << "{\"authors\":[\"abcd\"]}" << "authors";
        QTest::newRow("ids not array") << "{\"ids\":\"" + pk + "\"}" << "ids";
        QTest::newRow("kind too big") << "{\"kinds\":[65536]}" << "kinds";
        QTest::newRow("kind negative") << "{\"kinds\":[-1]}" << "kinds";
        QTest::newRow("kind fraction") << "{\"kinds\":[1.0]}" << "kinds";
        QTest::newRow("kind as string") << "{\"kinds\":[\"1\"]}" << "kinds";
        QTest::newRow("since negative") << "{\"since\":-5}" << "since";
        QTest::newRow("since exponent") << "{\"since\":1e9}" << "since";
        QTest::newRow("until overflow") << "{\"until\":9223372036854775808}" << "until";
        QTest::newRow("limit overflow") << "{\"limit\":4294967296}" << "limit";
        QTest::newRow("limit null") << "{\"limit\":null}" << "limit";
        QTest::newRow("search number") << "{\"search\":1}" << "search";
        QTest::newRow("tag value number") << "{\"#e\":[1]}" << "#e";
        QTest::newRow("duplicate key") << "{\"kinds\":[1],\"kinds\":[2]}" << "duplicate";
        QTest::newRow("duplicate tag key") << "{\"#e\":[\"a\"],\"#e\":[\"b\"]}" << "duplicate";
    }
    void parseErrors() {
        QFETCH(QString, json);
        QFETCH(QString, mentions);
        auto f = parseFilter(json.toStdString());
        QVERIFY(!f.ok());
        QCOMPARE(QString::fromStdString(f.error().code), QString("filter"));
        QVERIFY2(QString::fromStdString(f.error().message).contains(mentions), f.error().message.c_str());
    }

    void roundTrip_data() {
        QTest::addColumn<int>("which");
        for (int i = 0; i < 5; ++i) QTest::newRow(QByteArray::number(i).constData()) << i;
    }
    void roundTrip() {
        QFETCH(int, which);
        std::vector<Filter> cases(5);
        cases[1].kinds = {1, 7, 30023};
        cases[1].limit = 500;
        cases[2].ids = {b32(0x01), b32(0x7f)};
        cases[2].authors = {b32(0xab)};
        cases[2].since = 0;
        cases[2].until = INT64_MAX;
        cases[3].tags['e'] = {"x", "quote\" back\\ slash \n newline \x01 ctl", ""};
        cases[3].tags['T'] = {"\xf0\x9f\x98\x80"};
        cases[4].search = "full \"text\" query";
        cases[4].kinds = {0};
        const Filter& in = cases[size_t(which)];
        const std::string json = serializeFilter(in);
        auto out = parseFilter(json);
        QVERIFY2(out.ok(), (json + ": " + (out.ok() ? "" : out.error().message)).c_str());
        QVERIFY2(*out == in, json.c_str());
    }

    void serializesCompactly() {
        Filter f;
        f.kinds = {1};
        f.tags['p'] = {"a"};
        f.since = 5;
        f.limit = 10;
        QCOMPARE(serializeFilter(f), std::string("{\"kinds\":[1],\"#p\":[\"a\"],\"since\":5,\"limit\":10}"));
        QCOMPARE(serializeFilter(Filter{}), std::string("{}"));
    }
};

QTEST_GUILESS_MAIN(TestFilter)
#include "tst_filter.moc"
