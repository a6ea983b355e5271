#include <QtTest>

#include <string>
#include <vector>

#include "core/protocol/json.h"

using namespace archivist::protocol;

namespace {
std::string bytes(const QByteArray& b) { return std::string(b.constData(), size_t(b.size())); }
}  // namespace

class TestJson : public QObject {
    Q_OBJECT
private slots:
    void acceptsValid_data() {
        QTest::addColumn<QByteArray>("text");
        QTest::newRow("null") << QByteArray("null");
        QTest::newRow("true with spaces") << QByteArray(" \t\r\n true \n");
        QTest::newRow("empty object") << QByteArray("{}");
        QTest::newRow("empty array") << QByteArray("[ ]");
        QTest::newRow("zero") << QByteArray("0");
        QTest::newRow("negative zero") << QByteArray("-0");
        QTest::newRow("fraction exponent") << QByteArray("-12.5e+10");
        QTest::newRow("huge integer") << QByteArray("123456789012345678901234567890123456789");
        QTest::newRow("nested") << QByteArray(R"({"a":[1,{"b":null}],"c":"d"})");
        QTest::newRow("all escapes") << QByteArray("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\"");
        QTest::newRow("surrogate pair") << QByteArray(R"("\ud83d\ude00")");
        QTest::newRow("raw utf8") << QByteArray("\"\xc3\xa9\xe2\x80\xa8\xf0\x9f\x98\x80\"");
        QTest::newRow("DEL raw") << QByteArray("\"\x7f\"");
        QTest::newRow("duplicate keys") << QByteArray(R"({"a":1,"a":2})");
    }
    void acceptsValid() {
        QFETCH(QByteArray, text);
        json::Value v;
        json::ParseError err;
        QVERIFY2(json::parse(bytes(text), v, &err), err.message.c_str());
    }

    void rejectsInvalid_data() {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<bool>("invalidUtf8");
        QTest::newRow("empty") << QByteArray("") << false;
        QTest::newRow("whitespace only") << QByteArray("  ") << false;
        QTest::newRow("trailing garbage") << QByteArray("{} x") << false;
        QTest::newRow("two values") << QByteArray("1 2") << false;
        QTest::newRow("trailing comma array") << QByteArray("[1,]") << false;
        QTest::newRow("trailing comma object") << QByteArray(R"({"a":1,})") << false;
        QTest::newRow("leading zero") << QByteArray("01") << false;
        QTest::newRow("leading zero in array") << QByteArray("[01]") << false;
        QTest::newRow("plus sign") << QByteArray("+1") << false;
        QTest::newRow("bare minus") << QByteArray("-") << false;
        QTest::newRow("dot without digits") << QByteArray("1.") << false;
        QTest::newRow("exponent without digits") << QByteArray("1e") << false;
        QTest::newRow("leading dot") << QByteArray(".5") << false;
        QTest::newRow("NaN") << QByteArray("NaN") << false;
        QTest::newRow("single quotes") << QByteArray("'a'") << false;
        QTest::newRow("unquoted key") << QByteArray("{a:1}") << false;
        QTest::newRow("comment") << QByteArray("[1 /* c */]") << false;
        QTest::newRow("truncated literal") << QByteArray("tru") << false;
        QTest::newRow("unterminated string") << QByteArray("\"abc") << false;
        QTest::newRow("raw newline in string") << QByteArray("\"a\nb\"") << false;
        QTest::newRow("raw tab in string") << QByteArray("\"a\tb\"") << false;
        QTest::newRow("raw NUL in string") << QByteArray("\"a\0b\"", 5) << false;
        QTest::newRow("raw 0x1f in string") << QByteArray("\"\x1f\"") << false;
        QTest::newRow("bad escape") << QByteArray(R"("\x41")") << false;
        QTest::newRow("short unicode escape") << QByteArray(R"("\u12")") << false;
        QTest::newRow("unterminated array") << QByteArray("[1,2") << false;
        QTest::newRow("unterminated object") << QByteArray(R"({"a":1)") << false;
        QTest::newRow("missing colon") << QByteArray(R"({"a" 1})") << false;
        QTest::newRow("lone high surrogate") << QByteArray(R"("\ud83d")") << true;
        QTest::newRow("lone high surrogate then text") << QByteArray(R"("\ud83dx")") << true;
        QTest::newRow("high surrogate then non-low") << QByteArray(R"("\ud83d\u0041")") << true;
        QTest::newRow("lone low surrogate") << QByteArray(R"("\ude00")") << true;
        QTest::newRow("invalid byte 0xff") << QByteArray("\"\xff\"") << true;
        QTest::newRow("truncated 2-byte sequence") << QByteArray("\"\xc3\"") << true;
        QTest::newRow("overlong slash") << QByteArray("\"\xc0\xaf\"") << true;
        QTest::newRow("overlong 3-byte") << QByteArray("\"\xe0\x80\xaf\"") << true;
        QTest::newRow("encoded surrogate") << QByteArray("\"\xed\xa0\x80\"") << true;
        QTest::newRow("above U+10FFFF") << QByteArray("\"\xf4\x90\x80\x80\"") << true;
        QTest::newRow("stray continuation") << QByteArray("\"\x80\"") << true;
        QTest::newRow("invalid utf8 in key") << QByteArray("{\"\xff\":1}") << true;
    }
    void rejectsInvalid() {
        QFETCH(QByteArray, text);
        QFETCH(bool, invalidUtf8);
        json::Value v;
        json::ParseError err;
        QVERIFY(!json::parse(bytes(text), v, &err));
        QCOMPARE(err.invalid_utf8, invalidUtf8);
        QVERIFY(!err.message.empty());
        QVERIFY(err.offset <= size_t(text.size()));
        QVERIFY(!json::parse(bytes(text), v));  // no error sink: still safe
    }

    // The string scans go eight bytes at a time: one special byte at every offset of a long
    // string (and two in one word) must be found exactly where a byte-by-byte scan finds it.
    void specialBytesAtEveryOffset() {
        const std::vector<std::string> specials = {"\"", "\\", "\n", std::string(1, '\x01'), std::string(1, '\x1f'),
                                                   "\x7f", " ", "\xc3\xa9", "\xf0\x9f\x98\x80", "\xff", "\xc3",
                                                   "\xed\xa0\x80", "\"\\"};
        auto escaped = [](const std::string& t) {  // the NIP-01 escaping, byte by byte
            std::string out = "\"";
            for (unsigned char c : t) {
                if (c == '"') out += "\\\"";
                else if (c == '\\') out += "\\\\";
                else if (c == '\n') out += "\\n";
                else if (c < 0x20) {
                    static const char* hex = "0123456789abcdef";
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 15];
                } else out += char(c);
            }
            return out + "\"";
        };
        for (const auto& sp : specials) {
            const bool valid = sp != "\xff" && sp != "\xc3" && sp != "\xed\xa0\x80";
            for (size_t at = 0; at <= 40; ++at) {
                std::string t(41, 'a');
                t.replace(at, 1, sp);
                QCOMPARE(json::isValidUtf8(t), valid);
                const size_t qb = t.find_first_of("\"\\");
                QCOMPARE(json::findQuoteOrBackslash(t, 0), qb == std::string::npos ? t.size() : qb);
                std::string q;
                json::appendQuoted(q, t);
                QCOMPARE(q, escaped(t));
                json::Value v;
                QCOMPARE(json::parse(q, v), valid);
                if (valid) QCOMPARE(v.str, t);
                // Unescaped in the document: a raw quote ends the string early, a raw control
                // character or invalid UTF-8 is an error.
                const bool rawOk = valid && sp != "\"" && sp != "\\" && sp != "\n" && sp != "\x01" && sp != "\x1f" && sp != "\"\\";
                QCOMPARE(json::parse("\"" + t + "\"", v), rawOk);
                if (rawOk) QCOMPARE(v.str, t);
            }
        }
    }

    void domShape() {
        const std::string text = R"( {"s":"a\u00e9\ud83d\ude00","n":-1.5e3,"b":false,"z":null,"a":[1,"x",[]],"s":"dup"} )";
        json::Value v;
        QVERIFY(json::parse(text, v));
        QCOMPARE(v.type, json::Type::Object);
        QCOMPARE(v.members.size(), size_t(6));
        QCOMPARE(v.members[0].first, std::string("s"));
        QCOMPARE(v.members[5].first, std::string("s"));  // duplicates kept in source order
        const json::Value* s = v.find("s");
        QVERIFY(s);
        QCOMPARE(s->type, json::Type::String);
        QCOMPARE(s->str, std::string("a\xc3\xa9\xf0\x9f\x98\x80"));  // first occurrence wins
        QCOMPARE(s->raw, std::string_view(R"("a\u00e9\ud83d\ude00")"));
        const json::Value* n = v.find("n");
        QVERIFY(n);
        QCOMPARE(n->type, json::Type::Number);
        QCOMPARE(n->raw, std::string_view("-1.5e3"));
        QCOMPARE(v.find("b")->type, json::Type::Bool);
        QCOMPARE(v.find("b")->boolean, false);
        QCOMPARE(v.find("z")->type, json::Type::Null);
        const json::Value* a = v.find("a");
        QCOMPARE(a->items.size(), size_t(3));
        QCOMPARE(a->items[1].str, std::string("x"));
        QCOMPARE(a->items[2].type, json::Type::Array);
        QCOMPARE(a->raw, std::string_view(R"([1,"x",[]])"));
        QVERIFY(!v.find("missing"));
        QCOMPARE(v.raw, std::string_view(R"({"s":"a\u00e9\ud83d\ude00","n":-1.5e3,"b":false,"z":null,"a":[1,"x",[]],"s":"dup"})"));
    }

    void bigNumbersKeepTheirLiteral() {
        const std::string text = "[18446744073709551616,9223372036854775808,1e400,-0.0000000000000000000001]";
        json::Value v;
        QVERIFY(json::parse(text, v));
        QCOMPARE(v.items[0].raw, std::string_view("18446744073709551616"));
        QCOMPARE(v.items[1].raw, std::string_view("9223372036854775808"));
        QCOMPARE(v.items[2].raw, std::string_view("1e400"));
        QCOMPARE(v.items[3].raw, std::string_view("-0.0000000000000000000001"));
    }

    void escapedNulDecodes() {
        json::Value v;
        QVERIFY(json::parse(R"("a\u0000b")", v));
        QCOMPARE(v.str, std::string("a\0b", 3));
    }

    void depthLimit() {
        auto nested = [](size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
        json::Value v;
        QVERIFY(json::parse(nested(64), v));
        QVERIFY(!json::parse(nested(65), v));
        QVERIFY(json::parse(nested(3), v, nullptr, 3));
        QVERIFY(!json::parse(nested(4), v, nullptr, 3));
        std::string objs;
        for (int i = 0; i < 65; ++i) objs += "{\"a\":";
        objs += "1" + std::string(65, '}');
        QVERIFY(!json::parse(objs, v));
        // Far beyond the limit must fail cleanly, not overflow the stack.
        QVERIFY(!json::parse(std::string(1000000, '['), v));
    }

    // Expected output written out by hand from the ECMAScript JSON.stringify (QuoteJSONString) rules
    // and checked against node: JSON.stringify(String.fromCharCode(c)).
    void appendQuotedMatchesJsonStringify_data() {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<QByteArray>("expected");
        static const char* const kShort[] = {"\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005",
                                             "\\u0006", "\\u0007", "\\b",     "\\t",     "\\n",     "\\u000b",
                                             "\\f",     "\\r",     "\\u000e", "\\u000f", "\\u0010", "\\u0011",
                                             "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
                                             "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d",
                                             "\\u001e", "\\u001f"};
        for (int c = 0; c < 0x20; ++c) {
            QTest::newRow(qPrintable(QStringLiteral("U+%1").arg(c, 4, 16, QLatin1Char('0'))))
                << QByteArray(1, char(c)) << (QByteArray("\"") + kShort[c] + "\"");
        }
        QTest::newRow("quote") << QByteArray("\"") << QByteArray("\"\\\"\"");
        QTest::newRow("backslash") << QByteArray("\\") << QByteArray(R"("\\")");
        QTest::newRow("slash not escaped") << QByteArray("/") << QByteArray(R"("/")");
        QTest::newRow("DEL verbatim") << QByteArray("\x7f") << QByteArray("\"\x7f\"");
        QTest::newRow("U+2028 verbatim") << QByteArray("\xe2\x80\xa8") << QByteArray("\"\xe2\x80\xa8\"");
        QTest::newRow("U+2029 verbatim") << QByteArray("\xe2\x80\xa9") << QByteArray("\"\xe2\x80\xa9\"");
        QTest::newRow("emoji verbatim") << QByteArray("\xf0\x9f\x98\x80") << QByteArray("\"\xf0\x9f\x98\x80\"");
        QTest::newRow("mixed") << QByteArray("a\"b\\c\nd\x01" "e\xc3\xa9")
                               << QByteArray("\"a\\\"b\\\\c\\nd\\u0001e\xc3\xa9\"");
        QTest::newRow("empty") << QByteArray("") << QByteArray("\"\"");
    }
    void appendQuotedMatchesJsonStringify() {
        QFETCH(QByteArray, input);
        QFETCH(QByteArray, expected);
        std::string out = "prefix:";
        json::appendQuoted(out, bytes(input));
        QCOMPARE(out, "prefix:" + bytes(expected));
    }

    void quotedStringsParseBack() {
        std::string all;
        for (int c = 1; c < 0x80; ++c) all += char(c);
        all += std::string("\0\xe2\x80\xa8\xf0\x9f\x98\x80", 8);
        std::string quoted;
        json::appendQuoted(quoted, all);
        json::Value v;
        QVERIFY(json::parse(quoted, v));
        QCOMPARE(v.str, all);
    }

    // Canonical JSON (the relay directory keys NIP-11 documents by its SHA-256).
    void canonicalJson_data() {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("canonical");
        QTest::newRow("sorted, no space") << R"( { "b" : 1, "a" : [ 1, { "d": 2, "c": 3 } ] } )"
                                          << R"({"a":[1,{"c":3,"d":2}],"b":1})";
        QTest::newRow("first duplicate wins") << R"({"a":1,"a":2})" << R"({"a":1})";
        QTest::newRow("escapes decoded") << R"({"n":"\u00e9\/x"})" << R"({"n":"é/x"})";
        QTest::newRow("numbers as written") << R"({"x":1.0,"y":1e3})" << R"({"x":1.0,"y":1e3})";
        QTest::newRow("literals") << R"([true,false,null])" << R"([true,false,null])";
        QTest::newRow("byte order of keys") << R"({"b":0,"B":0,"é":0,"a":0})" << R"({"B":0,"a":0,"b":0,"é":0})";
    }
    void canonicalJson() {
        QFETCH(QString, input);
        QFETCH(QString, canonical);
        auto c = json::canonicalJson(input.toStdString());
        QVERIFY(c);
        QCOMPARE(QString::fromStdString(*c), canonical);
        QVERIFY(!json::canonicalJson("{\"a\":").ok());
    }
};

QTEST_GUILESS_MAIN(TestJson)
#include "tst_json.moc"
