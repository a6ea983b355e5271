// Relay ↔ client messages: every type in both directions, OK/CLOSED prefixes, the exact event
// span of EVENT frames, and malformed frames.
#include <QtTest>

#include "core/protocol/event_codec.h"
#include "core/protocol/hex.h"
#include "core/protocol/relay_message.h"

using namespace archivist;
using namespace archivist::protocol;

namespace {

Bytes32 b32(uint8_t fill) {
    Bytes32 b;
    b.fill(fill);
    return b;
}

Event tricky() {
    Event e;
    e.id = b32(0xa1);
    e.pubkey = b32(0xb2);
    e.sig.fill(0xc3);
    e.created_at = 1712345678;
    e.kind = 1;
    e.tags = {{"e", "]}\"[{", "wss://x/]"}, {"t", "\\"}};
    e.content = "brackets ] } [ { and \"quotes\" and a trailing backslash \\";
    return e;
}

std::string eventJson(const Event& e) {
    std::string s;
    appendEventJson(s, e);
    return s;
}

}  // namespace

class TestRelayMessage : public QObject {
    Q_OBJECT
private slots:
    void eventReturnsExactSpan_data() {
        QTest::addColumn<QByteArray>("before");
        QTest::addColumn<QByteArray>("after");
        QTest::newRow("compact") << QByteArray("[\"EVENT\",\"sub\",") << QByteArray("]");
        QTest::newRow("whitespace") << QByteArray(" [ \"EVENT\" ,\n \"sub\" ,\t") << QByteArray(" \r\n] \n");
        QTest::newRow("escaped type and id") << QByteArray("[\"\\u0045VENT\",\"s\\\"ub\",") << QByteArray("]");
        QTest::newRow("extra element ignored") << QByteArray("[\"EVENT\",\"sub\",") << QByteArray(",{\"x\":[1]}]");
    }
    void eventReturnsExactSpan() {
        QFETCH(QByteArray, before);
        QFETCH(QByteArray, after);
        const Event e = tricky();
        // Non-canonical spacing inside the object must be preserved byte for byte.
        std::string obj = eventJson(e);
        obj.insert(1, " ");
        obj.insert(obj.size() - 1, "\n");
        const std::string frame = before.toStdString() + obj + after.toStdString();
        const RelayMessage m = parseRelayMessage(frame);
        QCOMPARE(int(m.type), int(RelayMsgType::Event));
        QCOMPARE(std::string(m.event_json), obj);
        QVERIFY(m.event_json.data() >= frame.data() && m.event_json.data() < frame.data() + frame.size());
        QVERIFY(m.subscription_id == "sub" || m.subscription_id == "s\"ub");
        Event back;
        QCOMPARE(int(parseEvent(m.event_json, back)), int(Reject::None));
        QVERIFY(back == e);
    }

    // The parse reads the event's keys in the pass that finds the object's end: the same keys
    // peekEventKeys reads from the span, and the same span a bracket count finds, whatever the
    // object holds (brackets and quotes in strings, malformed scalars, bad keys, more elements).
    void eventKeysReadInTheSamePass_data() {
        QTest::addColumn<QString>("frame");
        QTest::addColumn<QString>("span");
        QTest::addColumn<bool>("keys");
        const std::string id(64, 'a');
        const std::string good = "{\"id\":\"" + id + "\",\"created_at\":5,\"kind\":1,\"pubkey\":\"" + std::string(64, 'b') +
                                 "\",\"tags\":[[\"e\",\"]}\\\"[{\"]],\"content\":\"} ] \\\" {\"}";
        auto row = [](const char* name, const std::string& frame, const std::string& span, bool keys) {
            QTest::newRow(name) << QString::fromStdString(frame) << QString::fromStdString(span) << keys;
        };
        row("tricky", "[\"EVENT\",\"s\"," + eventJson(tricky()) + "]", eventJson(tricky()), true);
        row("strings with brackets", "[\"EVENT\",\"s\"," + good + "]", good, true);
        row("spaces", "[ \"EVENT\" , \"s\" ,  " + good + "  ]", good, true);
        row("more elements", "[\"EVENT\",\"s\"," + good + ",{\"x\":[1]}]", good, true);
        row("bad id", "[\"EVENT\",\"s\",{\"id\":\"zz\",\"created_at\":5,\"kind\":1,\"t\":[\"}\"]}]",
            "{\"id\":\"zz\",\"created_at\":5,\"kind\":1,\"t\":[\"}\"]}", false);
        row("no kind", "[\"EVENT\",\"s\",{\"id\":\"" + id + "\",\"created_at\":5}]",
            "{\"id\":\"" + id + "\",\"created_at\":5}", false);
        row("empty object", "[\"EVENT\",\"s\",{}]", "{}", false);
        // A scalar that runs into a bracket: only the bracket count knows where this ends.
        row("bracket in a scalar", "[\"EVENT\",\"s\",{\"id\":\"" + id + "\",\"created_at\":5,\"kind\":1,\"x\":tru[e]}]",
            "{\"id\":\"" + id + "\",\"created_at\":5,\"kind\":1,\"x\":tru[e]}", false);
        row("not key-value", "[\"EVENT\",\"s\",{\"id\",[\"}\"]}]", "{\"id\",[\"}\"]}", false);
    }
    void eventKeysReadInTheSamePass() {
        QFETCH(QString, frame);
        QFETCH(QString, span);
        QFETCH(bool, keys);
        const std::string text = frame.toStdString();
        const RelayMessage m = parseRelayMessage(text);
        QCOMPARE(int(m.type), int(RelayMsgType::Event));
        QCOMPARE(std::string(m.event_json), span.toStdString());
        const auto peeked = peekEventKeys(m.event_json);
        QCOMPARE(m.event_keys.has_value(), keys);
        QCOMPARE(peeked.has_value(), keys);
        if (keys) {
            QVERIFY(m.event_keys->id == peeked->id);
            QCOMPARE(m.event_keys->created_at, peeked->created_at);
            QCOMPARE(m.event_keys->kind, peeked->kind);
            QCOMPARE(m.event_keys->pubkey.has_value(), peeked->pubkey.has_value());
        }
    }

    void eventObjectIsNotValidatedHere() {
        // The verify stage reports bad events (counted per reason); the codec only locates them.
        const RelayMessage m = parseRelayMessage("[\"EVENT\",\"s\",{\"id\":1,\"x\":{]}]");
        QCOMPARE(int(m.type), int(RelayMsgType::Event));
        QCOMPARE(std::string(m.event_json), std::string("{\"id\":1,\"x\":{]}"));
        Event e;
        QVERIFY(parseEvent(m.event_json, e) != Reject::None);
    }

    void okPrefixes_data() {
        QTest::addColumn<QString>("message");
        QTest::addColumn<QString>("prefix");
        QTest::newRow("none") << "" << "";
        QTest::newRow("plain text") << "stored" << "";
        QTest::newRow("duplicate") << "duplicate: already have this event" << "duplicate";
        QTest::newRow("pow") << "pow: difficulty 25>=24" << "pow";
        QTest::newRow("blocked") << "blocked: you are banned from posting here" << "blocked";
        QTest::newRow("rate-limited") << "rate-limited: slow down there chief" << "rate-limited";
        QTest::newRow("invalid") << "invalid: event creation date is too far off from the current time" << "invalid";
        QTest::newRow("restricted") << "restricted: not allowed to write." << "restricted";
        QTest::newRow("error") << "error: could not connect to the database" << "error";
        QTest::newRow("auth-required") << "auth-required: we only accept events from registered users" << "auth-required";
        QTest::newRow("unknown prefix") << "hello: world" << "";
        QTest::newRow("prefix without colon") << "duplicate" << "";
        QTest::newRow("prefix not at start") << "x duplicate: y" << "";
    }
    void okPrefixes() {
        QFETCH(QString, message);
        QFETCH(QString, prefix);
        for (bool accepted : {true, false}) {
            const RelayMessage ok = parseRelayMessage(makeOk(b32(0x5e), accepted, message.toStdString()));
            QCOMPARE(int(ok.type), int(RelayMsgType::Ok));
            QVERIFY(ok.event_id == b32(0x5e));
            QCOMPARE(ok.accepted, accepted);
            QCOMPARE(QString::fromStdString(ok.message), message);
            QCOMPARE(QString::fromStdString(ok.prefix), prefix);
        }
        const RelayMessage closed = parseRelayMessage(makeClosed("sub-1", message.toStdString()));
        QCOMPARE(int(closed.type), int(RelayMsgType::Closed));
        QCOMPARE(closed.subscription_id, std::string("sub-1"));
        QCOMPARE(QString::fromStdString(closed.message), message);
        QCOMPARE(QString::fromStdString(closed.prefix), prefix);
    }

    void okWithoutMessage() {  // some relays still send the 3-element form
        const RelayMessage m = parseRelayMessage("[\"OK\",\"" + toHex(b32(1)) + "\",true]");
        QCOMPARE(int(m.type), int(RelayMsgType::Ok));
        QVERIFY(m.accepted);
        QCOMPARE(m.message, std::string());
    }

    void otherRelayMessages() {
        RelayMessage m = parseRelayMessage(makeEose("a b"));
        QCOMPARE(int(m.type), int(RelayMsgType::Eose));
        QCOMPARE(m.subscription_id, std::string("a b"));

        m = parseRelayMessage(makeNotice("slow down \"now\"\n"));
        QCOMPARE(int(m.type), int(RelayMsgType::Notice));
        QCOMPARE(m.message, std::string("slow down \"now\"\n"));

        m = parseRelayMessage(makeAuthChallenge("challenge-123"));
        QCOMPARE(int(m.type), int(RelayMsgType::Auth));
        QCOMPARE(m.message, std::string("challenge-123"));

        m = parseRelayMessage(makeCountResult("c", 18446744073709551615ull));
        QCOMPARE(int(m.type), int(RelayMsgType::Count));
        QCOMPARE(m.subscription_id, std::string("c"));
        QCOMPARE(m.count, 18446744073709551615ull);
        QVERIFY(!m.approximate);

        m = parseRelayMessage("[\"COUNT\",\"c\",{\"count\":42,\"approximate\":true}]");
        QCOMPARE(int(m.type), int(RelayMsgType::Count));
        QCOMPARE(m.count, uint64_t(42));
        QVERIFY(m.approximate);

        const std::string evFrame = makeRelayEvent("s", eventJson(tricky()));
        m = parseRelayMessage(evFrame);
        QCOMPARE(int(m.type), int(RelayMsgType::Event));
        QCOMPARE(std::string(m.event_json), eventJson(tricky()));

        m = parseRelayMessage("[\"NEG-MSG\",\"neg1\",\"6100ff\"]");
        QCOMPARE(int(m.type), int(RelayMsgType::NegMsg));
        QCOMPARE(m.subscription_id, std::string("neg1"));
        QCOMPARE(m.message, std::string("6100ff"));

        m = parseRelayMessage(makeNegErr("neg1", "blocked: too big"));
        QCOMPARE(int(m.type), int(RelayMsgType::NegErr));
        QCOMPARE(m.message, std::string("blocked: too big"));
    }

    void malformedRelayMessages_data() {
        QTest::addColumn<QByteArray>("frame");
        const QByteArray id = QByteArray::fromStdString(toHex(b32(1)));
        QTest::newRow("empty") << QByteArray("");
        QTest::newRow("object") << QByteArray("{\"EVENT\":1}");
        QTest::newRow("empty array") << QByteArray("[]");
        QTest::newRow("type not string") << QByteArray("[1,\"x\"]");
        QTest::newRow("unknown type") << QByteArray("[\"HELLO\",\"x\"]");
        QTest::newRow("lowercase type") << QByteArray("[\"event\",\"s\",{}]");
        QTest::newRow("EVENT truncated") << QByteArray("[\"EVENT\",\"s\",{\"content\":\"]}\"");
        QTest::newRow("EVENT unterminated string") << QByteArray("[\"EVENT\",\"s\",{\"a\":\"\\\"}]");
        QTest::newRow("EVENT missing event") << QByteArray("[\"EVENT\",\"s\"]");
        QTest::newRow("EVENT array payload") << QByteArray("[\"EVENT\",\"s\",[]]");
        QTest::newRow("EVENT sub id number") << QByteArray("[\"EVENT\",5,{}]");
        QTest::newRow("trailing garbage") << QByteArray("[\"EOSE\",\"s\"]x");
        QTest::newRow("two arrays") << QByteArray("[\"EOSE\",\"s\"][\"EOSE\",\"s\"]");
        QTest::newRow("missing comma") << QByteArray("[\"EOSE\" \"s\"]");
        QTest::newRow("leading comma") << QByteArray("[,\"EOSE\",\"s\"]");
        QTest::newRow("OK short id") << QByteArray("[\"OK\",\"abcd\",true,\"\"]");
        QTest::newRow("OK uppercase id") << "[\"OK\",\"" + id.toUpper().replace('1', 'A') + "\",true,\"\"]";
        QTest::newRow("OK status string") << "[\"OK\",\"" + id + "\",\"true\",\"\"]";
        QTest::newRow("OK message number") << "[\"OK\",\"" + id + "\",true,5]";
        QTest::newRow("EOSE no id") << QByteArray("[\"EOSE\"]");
        QTest::newRow("NOTICE number") << QByteArray("[\"NOTICE\",1]");
        QTest::newRow("COUNT negative") << QByteArray("[\"COUNT\",\"c\",{\"count\":-1}]");
        QTest::newRow("COUNT fraction") << QByteArray("[\"COUNT\",\"c\",{\"count\":1.5}]");
        QTest::newRow("COUNT missing") << QByteArray("[\"COUNT\",\"c\",{}]");
        QTest::newRow("COUNT overflow") << QByteArray("[\"COUNT\",\"c\",{\"count\":18446744073709551616}]");
        QTest::newRow("NEG-MSG odd hex") << QByteArray("[\"NEG-MSG\",\"n\",\"abc\"]");
        QTest::newRow("NEG-MSG not hex") << QByteArray("[\"NEG-MSG\",\"n\",\"zz\"]");
        QTest::newRow("invalid utf8 notice") << QByteArray("[\"NOTICE\",\"\xff\xfe\"]");
        QTest::newRow("control char in string") << QByteArray("[\"NOTICE\",\"a\x01\"]");
        QTest::newRow("too many elements") << "[\"NOTICE\"" + QByteArray(",1").repeated(200) + "]";
        QTest::newRow("deep nesting") << "[\"EVENT\",\"s\"," + QByteArray(100000, '[');
    }
    void malformedRelayMessages() {
        QFETCH(QByteArray, frame);
        const RelayMessage m = parseRelayMessage(std::string_view(frame.constData(), size_t(frame.size())));
        QCOMPARE(int(m.type), int(RelayMsgType::Unknown));
        QVERIFY(!m.message.empty());
        QVERIFY(m.event_json.empty());
    }

    void clientRoundTrips() {
        Filter f1;
        f1.kinds = {1, 6};
        f1.since = 100;
        f1.limit = 500;
        Filter f2;
        f2.authors = {b32(0x22)};
        f2.tags['e'] = {"x\"]"};

        ClientMessage m = parseClientMessage(makeReq("live", {f1, f2}));
        QCOMPARE(int(m.type), int(ClientMsgType::Req));
        QCOMPARE(m.subscription_id, std::string("live"));
        QCOMPARE(m.filters.size(), size_t(2));
        QVERIFY(m.filters[0] == f1);
        QVERIFY(m.filters[1] == f2);

        m = parseClientMessage(makeCount("cnt", {f2}));
        QCOMPARE(int(m.type), int(ClientMsgType::Count));
        QCOMPARE(m.subscription_id, std::string("cnt"));
        QCOMPARE(m.filters.size(), size_t(1));
        QVERIFY(m.filters[0] == f2);

        m = parseClientMessage(makeClose("live"));
        QCOMPARE(int(m.type), int(ClientMsgType::Close));
        QCOMPARE(m.subscription_id, std::string("live"));

        const std::string evFrame = makeEventMsg(tricky());
        m = parseClientMessage(evFrame);
        QCOMPARE(int(m.type), int(ClientMsgType::Event));
        QCOMPARE(std::string(m.event_json), eventJson(tricky()));

        const std::string authFrame = makeAuth(tricky());
        m = parseClientMessage(authFrame);
        QCOMPARE(int(m.type), int(ClientMsgType::Auth));
        Event back;
        QCOMPARE(int(parseEvent(m.event_json, back)), int(Reject::None));
        QVERIFY(back == tricky());

        m = parseClientMessage(makeNegOpen("neg", f1, "61000a"));
        QCOMPARE(int(m.type), int(ClientMsgType::NegOpen));
        QCOMPARE(m.subscription_id, std::string("neg"));
        QCOMPARE(m.filters.size(), size_t(1));
        QVERIFY(m.filters[0] == f1);
        QCOMPARE(m.payload, std::string("61000a"));

        m = parseClientMessage(makeNegMsg("neg", "61"));
        QCOMPARE(int(m.type), int(ClientMsgType::NegMsg));
        QCOMPARE(m.payload, std::string("61"));

        m = parseClientMessage(makeNegClose("neg"));
        QCOMPARE(int(m.type), int(ClientMsgType::NegClose));
        QCOMPARE(m.subscription_id, std::string("neg"));
    }

    void serialisedForms() {
        Filter f;
        f.kinds = {1};
        QCOMPARE(makeReq("s", {f}), std::string("[\"REQ\",\"s\",{\"kinds\":[1]}]"));
        QCOMPARE(makeClose("s\"1"), std::string("[\"CLOSE\",\"s\\\"1\"]"));
        QCOMPARE(makeNegOpen("n", Filter{}, "ab"), std::string("[\"NEG-OPEN\",\"n\",{},\"ab\"]"));
        QCOMPARE(makeNegMsg("n", "ab"), std::string("[\"NEG-MSG\",\"n\",\"ab\"]"));
        QCOMPARE(makeNegClose("n"), std::string("[\"NEG-CLOSE\",\"n\"]"));
        QCOMPARE(makeEventMsg(tricky()), "[\"EVENT\"," + eventJson(tricky()) + "]");
    }

    void malformedClientMessages_data() {
        QTest::addColumn<QByteArray>("frame");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("not array") << QByteArray("\"REQ\"") << "array";
        QTest::newRow("unknown") << QByteArray("[\"SUBSCRIBE\",\"s\",{}]") << "unknown";
        QTest::newRow("REQ without filters") << QByteArray("[\"REQ\",\"s\"]") << "at least one filter";
        QTest::newRow("REQ bad filter") << QByteArray("[\"REQ\",\"s\",{\"kinds\":[1]},{\"kinds\":[\"x\"]}]") << "filter 2";
        QTest::newRow("REQ filter not object") << QByteArray("[\"REQ\",\"s\",[1]]") << "filter 1";
        QTest::newRow("REQ empty sub id") << QByteArray("[\"REQ\",\"\",{}]") << "subscription id";
        QTest::newRow("REQ sub id too long") << "[\"REQ\",\"" + QByteArray(65, 'x') + "\",{}]" << "subscription id";
        QTest::newRow("CLOSE number id") << QByteArray("[\"CLOSE\",1]") << "subscription id";
        QTest::newRow("EVENT string payload") << QByteArray("[\"EVENT\",\"{}\"]") << "event object";
        QTest::newRow("AUTH challenge string (relay form)") << QByteArray("[\"AUTH\",\"chal\"]") << "event object";
        QTest::newRow("NEG-OPEN missing hex") << QByteArray("[\"NEG-OPEN\",\"n\",{}]") << "initial message";
        QTest::newRow("NEG-OPEN bad hex") << QByteArray("[\"NEG-OPEN\",\"n\",{},\"xyz\"]") << "hex";
        QTest::newRow("NEG-MSG bad hex") << QByteArray("[\"NEG-MSG\",\"n\",\"a\"]") << "hex";
        QTest::newRow("truncated") << QByteArray("[\"REQ\",\"s\",{\"kinds\":[1]}") << "truncated";
    }
    void malformedClientMessages() {
        QFETCH(QByteArray, frame);
        QFETCH(QString, mentions);
        const ClientMessage m = parseClientMessage(frame.toStdString());
        QCOMPARE(int(m.type), int(ClientMsgType::Unknown));
        QVERIFY2(QString::fromStdString(m.error).contains(mentions), m.error.c_str());
    }

    void typeNames() {
        QCOMPARE(std::string(relayMsgTypeName(RelayMsgType::NegErr)), std::string("NEG-ERR"));
        QCOMPARE(std::string(clientMsgTypeName(ClientMsgType::NegOpen)), std::string("NEG-OPEN"));
        QCOMPARE(std::string(relayMsgTypeName(RelayMsgType::Unknown)), std::string("UNKNOWN"));
    }
};

QTEST_GUILESS_MAIN(TestRelayMessage)
#include "tst_relay_message.moc"
