// Strict event parsing, canonical JSON and the two id serialisations.
#include <QtTest>

#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/protocol/event_codec.h"
#include "core/protocol/hex.h"
#include "core/protocol/sha256.h"
#include "tests/support/event_dom_model.h"

using namespace archivist::protocol;

Q_DECLARE_METATYPE(archivist::protocol::Reject)

namespace {
constexpr const char* kId = "68bef14db60cb60aa9d160259a60f33ed356dc3492247d7847d7878a564ff156";
constexpr const char* kPubkey = "695c0ecaa72feb4d7e3c4f3d5f9f16875d8d168f05674b12c13c09a70850908b";
constexpr const char* kSig =
    "fff48a25d4b64eb5495ebecfc09291cf7ce9256e1258e0ed4abb05fb369025d0e23006d647188d4c9717c04da3622464b98726621ab487830c07a81790d84638";

// An event object whose members are given as raw JSON text, in the given order.
using Members = std::vector<std::pair<std::string, std::string>>;

Members baseMembers() {
    return {{"id", std::string("\"") + kId + "\""},
            {"pubkey", std::string("\"") + kPubkey + "\""},
            {"created_at", "1700000000"},
            {"kind", "1"},
            {"tags", "[]"},
            {"content", "\"hello nostr\""},
            {"sig", std::string("\"") + kSig + "\""}};
}

std::string render(const Members& m) {
    std::string s = "{";
    for (size_t i = 0; i < m.size(); ++i) {
        if (i) s += ',';
        s += '"' + m[i].first + "\":" + m[i].second;
    }
    return s + "}";
}

std::string with(const std::string& key, const std::string& raw) {
    Members m = baseMembers();
    for (auto& [k, v] : m)
        if (k == key) v = raw;
    return render(m);
}

std::string without(const std::string& key) {
    Members m = baseMembers();
    std::erase_if(m, [&](const auto& kv) { return kv.first == key; });
    return render(m);
}

std::string duplicated(const std::string& key) {
    Members m = baseMembers();
    for (const auto& kv : baseMembers())
        if (kv.first == key) m.push_back(kv);
    return render(m);
}

std::vector<std::string> nostrToolsLines() {
    std::ifstream in(ARCHIVIST_FIXTURES "/nostr_tools_events.jsonl");
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);)
        if (!l.empty()) lines.push_back(l);
    return lines;
}

Event sample(int64_t created_at, uint16_t kind, std::string content, std::vector<std::vector<std::string>> tags) {
    Event e;
    for (size_t i = 0; i < 32; ++i) e.pubkey[i] = uint8_t(i * 7 + 1);
    for (size_t i = 0; i < 64; ++i) e.sig[i] = uint8_t(255 - i);
    e.created_at = created_at;
    e.kind = kind;
    e.content = std::move(content);
    e.tags = std::move(tags);
    e.id = computeId(e);
    return e;
}

// A random edit of `s`: bytes replaced, inserted or removed, a slice repeated, the text cut.
std::string mutate(std::string s, std::mt19937& rng) {
    static constexpr char kRaw[] = "{}[],:\"\\ \t\n0123456789abcdefu-.eE+tfnrl\x01\x7f\xc3\xa9\xff\xed\xa0\x80";
    static const std::string kBytes(kRaw, sizeof kRaw - 1);
    const int edits = 1 + int(rng() % 3);
    for (int e = 0; e < edits && !s.empty(); ++e) {
        const size_t at = rng() % s.size();
        switch (rng() % 6) {
        case 0:
        case 1: s[at] = kBytes[rng() % kBytes.size()]; break;
        case 2: s.insert(s.begin() + long(at), kBytes[rng() % kBytes.size()]); break;
        case 3: s.erase(at, 1 + rng() % 4); break;
        case 4: {
            const size_t len = std::min<size_t>(s.size() - at, 1 + rng() % 24);
            const std::string slice = s.substr(at, len);
            s.insert(rng() % (s.size() + 1), slice);
            break;
        }
        default: s.resize(at); break;
        }
    }
    return s;
}
}  // namespace

class TestEventCodec : public QObject {
    Q_OBJECT
private slots:
    void rejects_data();
    void rejects();
    void accepts_data();
    void accepts();
    void readerAgreesWithTheDom();
    void rejectNamesRoundTrip();
    void hexDecodesOnlyLowerCase();
    void canonicalJsonIsByteExact();
    void canonicalRoundTrip_data();
    void canonicalRoundTrip();
    void nostrToolsIdsMatch();
    void serialisationFormsDiffer();
    void nip01TextIdDetected();
    void tamperedIdMismatches();
    // The structural peek relay sessions use (moved here with peekEventKeys).
    void peekReadsTheKeysOfAnyLayout_data();
    void peekReadsTheKeysOfAnyLayout();
    void peekRefusesBrokenObjects_data();
    void peekRefusesBrokenObjects();
};

void TestEventCodec::rejects_data() {
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<Reject>("expected");
    auto row = [](const char* name, const std::string& json, Reject r) {
        QTest::newRow(name) << QByteArray::fromStdString(json) << r;
    };
    const std::string upper = std::string(kId).substr(0, 2) + "BEF" + std::string(kId).substr(5);
    row("uppercase hex id", with("id", '"' + upper + '"'), Reject::InvalidId);
    row("63-char id", with("id", '"' + std::string(kId).substr(1) + '"'), Reject::InvalidId);
    row("non-hex id", with("id", '"' + std::string(63, '0') + "g\""), Reject::InvalidId);
    row("numeric id", with("id", "12"), Reject::InvalidId);
    row("63-char pubkey", with("pubkey", '"' + std::string(kPubkey).substr(1) + '"'), Reject::InvalidPubkey);
    row("65-char pubkey", with("pubkey", '"' + std::string(kPubkey) + "0\""), Reject::InvalidPubkey);
    row("uppercase pubkey", with("pubkey", "\"" + std::string(64, 'A') + "\""), Reject::InvalidPubkey);
    row("127-char sig", with("sig", '"' + std::string(kSig).substr(1) + '"'), Reject::InvalidSig);
    row("null sig", with("sig", "null"), Reject::InvalidSig);
    row("string created_at", with("created_at", "\"1700000000\""), Reject::InvalidCreatedAt);
    row("fractional created_at", with("created_at", "1.5"), Reject::InvalidCreatedAt);
    row("integral fraction created_at", with("created_at", "1700000000.0"), Reject::InvalidCreatedAt);
    row("exponent created_at", with("created_at", "1e3"), Reject::InvalidCreatedAt);
    row("negative created_at", with("created_at", "-1"), Reject::InvalidCreatedAt);
    row("negative zero created_at", with("created_at", "-0"), Reject::InvalidCreatedAt);
    row("2^63 created_at", with("created_at", "9223372036854775808"), Reject::InvalidCreatedAt);
    row("2^64 created_at", with("created_at", "18446744073709551616"), Reject::InvalidCreatedAt);
    row("null created_at", with("created_at", "null"), Reject::InvalidCreatedAt);
    row("kind 65536", with("kind", "65536"), Reject::InvalidKind);
    row("kind -1", with("kind", "-1"), Reject::InvalidKind);
    row("kind 1.0", with("kind", "1.0"), Reject::InvalidKind);
    row("string kind", with("kind", "\"1\""), Reject::InvalidKind);
    row("huge kind", with("kind", "99999999999999999999999"), Reject::InvalidKind);
    row("non-string tag value", with("tags", "[[\"e\",1]]"), Reject::InvalidTags);
    row("null tag value", with("tags", "[[null]]"), Reject::InvalidTags);
    row("tag not an array", with("tags", "[\"e\"]"), Reject::InvalidTags);
    row("tags an object", with("tags", "{}"), Reject::InvalidTags);
    row("nested tag array", with("tags", "[[[\"e\"]]]"), Reject::InvalidTags);
    row("numeric content", with("content", "5"), Reject::InvalidContent);
    row("null content", with("content", "null"), Reject::InvalidContent);
    for (const char* f : {"id", "pubkey", "created_at", "kind", "tags", "content", "sig"}) {
        QTest::addRow("missing %s", f) << QByteArray::fromStdString(without(f)) << Reject::MissingField;
        QTest::addRow("duplicate %s", f) << QByteArray::fromStdString(duplicated(f)) << Reject::DuplicateField;
    }
    row("empty input", "", Reject::NotJson);
    row("garbage", "hello", Reject::NotJson);
    row("truncated object", with("kind", "1").substr(0, 40), Reject::NotJson);
    row("trailing garbage", with("kind", "1") + "x", Reject::NotJson);
    row("two objects", with("kind", "1") + with("kind", "1"), Reject::NotJson);
    row("raw newline in content", with("content", "\"a\nb\""), Reject::NotJson);
    row("array instead of object", "[" + with("kind", "1") + "]", Reject::NotObject);
    row("string instead of object", "\"event\"", Reject::NotObject);
    row("null", "null", Reject::NotObject);
    row("invalid UTF-8 in content", with("content", "\"\xff\xfe\""), Reject::InvalidUtf8);
    row("overlong UTF-8 in tag", with("tags", "[[\"\xc0\xaf\"]]"), Reject::InvalidUtf8);
    row("lone surrogate in content", with("content", "\"\\ud800\""), Reject::InvalidUtf8);
    row("lone surrogate in unknown field", render([] {
            Members m = baseMembers();
            m.push_back({"extra", "\"\\udc00\""});
            return m;
        }()), Reject::InvalidUtf8);
}

void TestEventCodec::rejects() {
    QFETCH(QByteArray, json);
    QFETCH(Reject, expected);
    Event e;
    const Reject got = parseEvent(json.toStdString(), e);
    QCOMPARE(rejectName(got), rejectName(expected));
}

void TestEventCodec::accepts_data() {
    QTest::addColumn<QByteArray>("json");
    QTest::addColumn<qint64>("createdAt");
    QTest::addColumn<int>("kind");
    auto row = [](const char* name, const std::string& json, qint64 created, int kind) {
        QTest::newRow(name) << QByteArray::fromStdString(json) << created << kind;
    };
    row("base", render(baseMembers()), 1700000000, 1);
    row("created_at 0", with("created_at", "0"), 0, 1);
    row("created_at above 2^32", with("created_at", "4294967297"), 4294967297LL, 1);
    row("created_at 2^63-1", with("created_at", "9223372036854775807"), INT64_MAX, 1);
    row("kind 0", with("kind", "0"), 1700000000, 0);
    row("kind 65535", with("kind", "65535"), 1700000000, 65535);
    row("unknown fields ignored", render([] {
            Members m = baseMembers();
            m.insert(m.begin() + 2, {"relay", "\"wss://x\""});
            m.push_back({"seen", "[1,{\"a\":null}]"});
            m.push_back({"seen", "2"});  // duplicates of unknown members do not matter
            return m;
        }()), 1700000000, 1);
    row("other key order", [] {
            Members m = baseMembers();
            std::reverse(m.begin(), m.end());
            return render(m);
        }(), 1700000000, 1);
    row("whitespace", "  {\n \"id\" : \"" + std::string(kId) + "\",\t\"pubkey\":\"" + kPubkey +
            "\", \"created_at\" : 1700000000 , \"kind\":1,\"tags\":[ ],\"content\":\"hello nostr\",\"sig\":\"" + kSig +
            "\"\r\n}\n", 1700000000, 1);
}

void TestEventCodec::accepts() {
    QFETCH(QByteArray, json);
    QFETCH(qint64, createdAt);
    QFETCH(int, kind);
    Event e;
    QCOMPARE(rejectName(parseEvent(json.toStdString(), e)), "none");
    QCOMPARE(e.created_at, createdAt);
    QCOMPARE(int(e.kind), kind);
    QCOMPARE(toHex(e.id), std::string(kId));
    QCOMPARE(toHex(e.pubkey), std::string(kPubkey));
    QCOMPARE(toHex(e.sig), std::string(kSig));
    QCOMPARE(e.content, std::string("hello nostr"));
    // Whatever the input's shape, the canonical form re-parses to the same event.
    std::string canon;
    appendEventJson(canon, e);
    Event back;
    QCOMPARE(rejectName(parseEvent(canon, back)), "none");
    QVERIFY(back == e);
}

void TestEventCodec::hexDecodesOnlyLowerCase() {
    uint8_t b[8] = {};
    QVERIFY(fromHex("0123456789abcdef", b, 8));
    QCOMPARE(toHex(b, 8), std::string("0123456789abcdef"));
    QVERIFY(fromHex("ff00", b, 2));
    QCOMPARE(int(b[0]), 0xff);
    QCOMPARE(int(b[1]), 0);
    for (const char* bad : {"0A", "g0", "0/", ":0", "`0", " 0", "0\xff", "0\x80"}) QVERIFY2(!fromHex(bad, b, 1), bad);
    for (int c = 0; c < 256; ++c) {
        const char text[2] = {'0', char(c)};
        const bool digit = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        QCOMPARE(fromHex(std::string_view(text, 2), b, 1), digit);
    }
    QVERIFY(!fromHex("abc", b, 1));
    QVERIFY(!fromHex("", b, 1));
}

void TestEventCodec::readerAgreesWithTheDom() {
    // Seeds: the base event, events with tags, escapes and unknown members, a few rows of
    // rejects() and the nostr-tools lines; each is checked as is and after 60,000 random edits.
    std::vector<std::string> seeds = {render(baseMembers()),
                                      with("tags", "[[\"e\",\"ab\",\"\\u00e9\"],[],[\"t\",\"x\"]]"),
                                      with("content", "\"a\\nb\\\\\\\"\\ud83d\\ude00\\u0000 caf\xc3\xa9\""),
                                      render([] {
                                          Members m = baseMembers();
                                          m.insert(m.begin() + 3, {"x", "{\"a\":[1,2.5e-3,true,false,null,{}]}"});
                                          return m;
                                      }()),
                                      "{\"\\u0069d\":\"" + std::string(kId) + "\"}", "[[[[[[]]]]]]", "",
                                      with("content", "5"), with("sig", "null"), with("tags", "[[\"e\",1]]"),
                                      with("created_at", "1.5"), with("kind", "\"1\""), duplicated("kind")};
    for (const auto& l : nostrToolsLines()) seeds.push_back(l);
    std::mt19937 rng(20261204);
    size_t checked = 0, accepted = 0;
    std::map<std::string, size_t> answers;
    auto check = [&](const std::string& text) {
        Event a, b;
        const Reject ra = parseEvent(text, a);
        const Reject rb = archivist::testing::parseEventThroughDom(text, b);
        if (ra != rb) qWarning("input: %s", text.c_str());
        QCOMPARE(rejectName(ra), rejectName(rb));
        if (ra == Reject::None) {
            QVERIFY(a == b);
            ++accepted;
        }
        ++answers[rejectName(ra)];
        ++checked;
    };
    for (const auto& seed : seeds) {
        check(seed);
        if (QTest::currentTestFailed()) return;
    }
    // Every set of fields of the wrong type, in shuffled member order: the first bad field in
    // the documented order decides.
    for (unsigned mask = 0; mask < 128; ++mask) {
        Members m = baseMembers();
        for (size_t k = 0; k < m.size(); ++k)
            if (mask & (1u << k)) m[k].second = k == 4 ? "[1]" : k == 2 || k == 3 ? "\"1\"" : "2";
        std::shuffle(m.begin(), m.end(), rng);
        check(render(m));
        if (QTest::currentTestFailed()) return;
    }
    for (int i = 0; i < 60000; ++i) {
        check(mutate(seeds[size_t(i) % seeds.size()], rng));
        if (QTest::currentTestFailed()) return;
    }
    // The edits reach most answers, so the agreement is not only on not_json.
    for (const char* r : {"none", "not_json", "invalid_utf8", "not_object", "missing_field", "duplicate_field",
                          "invalid_id", "invalid_created_at", "invalid_kind", "invalid_tags", "invalid_content"})
        QVERIFY2(answers[r] > 0, r);
    QVERIFY(accepted > 100);
    QVERIFY(checked > 60000);
}

void TestEventCodec::rejectNamesRoundTrip() {
    QCOMPARE(rejectName(Reject::None), "none");
    QCOMPARE(rejectName(Reject::InvalidCreatedAt), "invalid_created_at");
    QCOMPARE(rejectName(Reject::BadSignature), "bad_signature");
    for (int i = 0; i < int(Reject::Count); ++i) {
        const Reject r = Reject(i);
        QCOMPARE(int(rejectFromName(rejectName(r))), i);
    }
    QCOMPARE(int(rejectFromName("no_such_reason")), int(Reject::Count));
    QCOMPARE(rejectName(Reject::Count), "unknown");
}

void TestEventCodec::canonicalJsonIsByteExact() {
    Event e = sample(5, 7, "a\"b\\c\nd\x01\x7f", {{"e", "x"}, {}});
    std::string out;
    appendEventJson(out, e);
    const std::string expected = "{\"id\":\"" + toHex(e.id) + "\",\"pubkey\":\"" + toHex(e.pubkey) +
                                 "\",\"created_at\":5,\"kind\":7,\"tags\":[[\"e\",\"x\"],[]],\"content\":"
                                 "\"a\\\"b\\\\c\\nd\\u0001\x7f\",\"sig\":\"" + toHex(e.sig) + "\"}";
    QCOMPARE(QByteArray::fromStdString(out), QByteArray::fromStdString(expected));
    // Appends, never overwrites.
    std::string two = "X";
    appendEventJson(two, e);
    QCOMPARE(two, "X" + expected);
}

void TestEventCodec::canonicalRoundTrip_data() {
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<qint64>("createdAt");
    QTest::addColumn<int>("kind");
    QTest::newRow("empty") << QByteArray() << qint64(0) << 0;
    QTest::newRow("all controls") << QByteArray("\x00\x01\x08\x09\x0a\x0b\x0c\x0d\x1f", 9) << qint64(1) << 1;
    QTest::newRow("separators and emoji") << QByteArray("\xe2\x80\xa8\xe2\x80\xa9\xf0\x9f\x8e\x89\x7f")
                                          << qint64(INT64_MAX) << 65535;
    QTest::newRow("quotes and slashes") << QByteArray("\"\\/\"") << qint64(4294967297LL) << 30023;
}

void TestEventCodec::canonicalRoundTrip() {
    QFETCH(QByteArray, content);
    QFETCH(qint64, createdAt);
    QFETCH(int, kind);
    const std::string c = content.toStdString();
    Event e = sample(createdAt, uint16_t(kind), c, {{"t", c}, {}, {"p", "", c, c}});
    std::string json;
    appendEventJson(json, e);
    Event back;
    QCOMPARE(rejectName(parseEvent(json, back)), "none");
    QVERIFY(back == e);
    std::string again;
    appendEventJson(again, back);
    QCOMPARE(again, json);
    QCOMPARE(int(checkId(back)), int(IdForm::JsonStringify));
    // The canonical JSON built from the id's serialisation is the same bytes.
    IdText text;
    QCOMPARE(int(checkId(back, text)), int(IdForm::JsonStringify));
    std::string fromText;
    appendEventJson(fromText, back, text);
    QCOMPARE(fromText, json);
}

void TestEventCodec::nostrToolsIdsMatch() {
    // Events made by nostr-tools 2.x finalizeEvent (tests/fixtures/nostr_tools_events.jsonl): our
    // JsonStringify serialisation must hash to the ids nostr-tools computed, including events whose
    // strings hold control characters (escaped as \u00xx), U+2028/U+2029, DEL and emoji.
    const auto lines = nostrToolsLines();
    QVERIFY(lines.size() >= 3);
    bool sawControl = false, sawSeparator = false, sawBeyond32Bits = false, sawEmptyTag = false;
    for (const auto& line : lines) {
        Event e;
        QCOMPARE(rejectName(parseEvent(line, e)), "none");
        QCOMPARE(toHex(computeId(e, IdForm::JsonStringify)), toHex(e.id));
        QCOMPARE(int(checkId(e)), int(IdForm::JsonStringify));
        IdText text;
        QCOMPARE(int(checkId(e, text)), int(IdForm::JsonStringify));
        std::string canonical, fromText;
        appendEventJson(canonical, e);
        appendEventJson(fromText, e, text);
        QCOMPARE(fromText, canonical);
        const bool control = std::any_of(e.content.begin(), e.content.end(), [](char c) {
            return uint8_t(c) < 0x20 && c != '\n' && c != '\t' && c != '\r' && c != '\b' && c != '\f';
        });
        if (control) {
            sawControl = true;
            QVERIFY(computeId(e, IdForm::Nip01Text) != e.id);  // the forms really differ here
        }
        sawSeparator = sawSeparator || e.content.find("\xe2\x80\xa8") != std::string::npos;
        sawBeyond32Bits = sawBeyond32Bits || e.created_at > int64_t(UINT32_MAX);
        for (const auto& t : e.tags) sawEmptyTag = sawEmptyTag || t.empty();
    }
    QVERIFY(sawControl);
    QVERIFY(sawSeparator);
    QVERIFY(sawBeyond32Bits);
    QVERIFY(sawEmptyTag);
}

void TestEventCodec::serialisationFormsDiffer() {
    Event e = sample(10, 1, std::string("x\x01y\n\"\xe2\x80\xa8", 8), {{"t", "\x1f"}});
    std::string js, text;
    appendSerializedForId(js, e, IdForm::JsonStringify);
    appendSerializedForId(text, e, IdForm::Nip01Text);
    const std::string pk = toHex(e.pubkey);
    QCOMPARE(js, "[0,\"" + pk + "\",10,1,[[\"t\",\"\\u001f\"]],\"x\\u0001y\\n\\\"\xe2\x80\xa8\"]");
    QCOMPARE(text, "[0,\"" + pk + "\",10,1,[[\"t\",\"\x1f\"]],\"x\x01y\\n\\\"\xe2\x80\xa8\"]");
    QCOMPARE(computeId(e, IdForm::JsonStringify), sha256(js));
    QCOMPARE(computeId(e, IdForm::Nip01Text), sha256(text));
    // Without other control characters both forms are the same bytes.
    Event plain = sample(10, 1, "tab\there\b\f\r\n\"\\", {{"x", "\t"}});
    std::string a, b;
    appendSerializedForId(a, plain, IdForm::JsonStringify);
    appendSerializedForId(b, plain, IdForm::Nip01Text);
    QCOMPARE(a, b);
}

void TestEventCodec::nip01TextIdDetected() {
    // An id hashed over the NIP-01 text form (control bytes verbatim) is recognised as such.
    for (const std::string content : {std::string("bell\x07"), std::string("nul\0!", 5)}) {
        Event e = sample(1700000000, 1, content, {});
        e.id = computeId(e, IdForm::Nip01Text);
        QVERIFY(e.id != computeId(e, IdForm::JsonStringify));
        QCOMPARE(int(checkId(e)), int(IdForm::Nip01Text));
    }
    Event tagged = sample(1700000000, 1, "plain", {{"t", "esc\x1b"}});
    tagged.id = computeId(tagged, IdForm::Nip01Text);
    QCOMPARE(int(checkId(tagged)), int(IdForm::Nip01Text));
    // Survives a canonical round trip (the archive re-serialises with JsonStringify escaping).
    std::string json;
    appendEventJson(json, tagged);
    Event back;
    QCOMPARE(rejectName(parseEvent(json, back)), "none");
    QCOMPARE(int(checkId(back)), int(IdForm::Nip01Text));
    // Its serialisation holds the control bytes verbatim: the canonical JSON is escaped afresh.
    IdText text;
    QCOMPARE(int(checkId(back, text)), int(IdForm::Nip01Text));
    std::string fromText;
    appendEventJson(fromText, back, text);
    QCOMPARE(fromText, json);
    // A serialisation of another event is never used.
    IdText other;
    QCOMPARE(int(checkId(sample(5, 1, "other", {}), other)), int(IdForm::JsonStringify));
    fromText.clear();
    appendEventJson(fromText, back, other);
    QCOMPARE(fromText, json);
}

void TestEventCodec::tamperedIdMismatches() {
    Event e = sample(1, 1, "content", {{"e", "x"}});
    QCOMPARE(int(checkId(e)), int(IdForm::JsonStringify));
    Event t = e;
    t.content += "!";
    QCOMPARE(int(checkId(t)), int(IdForm::Mismatch));
    t = e;
    t.created_at += 1;
    QCOMPARE(int(checkId(t)), int(IdForm::Mismatch));
    t = e;
    t.tags[0][1] = "y";
    QCOMPARE(int(checkId(t)), int(IdForm::Mismatch));
    t = e;
    t.id[31] ^= 1;
    QCOMPARE(int(checkId(t)), int(IdForm::Mismatch));
    // With a control character, neither form matching is still a mismatch.
    Event c = sample(1, 1, "a\x01", {});
    c.id[0] ^= 0x80;
    QCOMPARE(int(checkId(c)), int(IdForm::Mismatch));
}

void TestEventCodec::peekReadsTheKeysOfAnyLayout_data() {
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
void TestEventCodec::peekReadsTheKeysOfAnyLayout() {
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

void TestEventCodec::peekRefusesBrokenObjects_data() {
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
void TestEventCodec::peekRefusesBrokenObjects() {
    QFETCH(QString, json);
    QVERIFY(!peekEventKeys(json.toStdString()));
}

QTEST_GUILESS_MAIN(TestEventCodec)
#include "tst_event_codec.moc"
