// Relay discovery from archived events: which URLs each event shape yields, and which junk is
// refused for which reason.
#include <QtTest>

#include "core/net/address_policy.h"
#include "core/relays/relay_discovery.h"

using namespace archivist;
using relays::DiscoveryJunk;

namespace {

protocol::Event makeEvent(uint16_t kind, std::vector<std::vector<std::string>> tags, std::string content = {}) {
    protocol::Event ev;
    ev.kind = kind;
    ev.created_at = 1700000000;
    ev.tags = std::move(tags);
    ev.content = std::move(content);
    return ev;
}

const std::string kPk(64, 'a');

QStringList urlsOf(const std::vector<relays::DiscoveredUrl>& found) {
    QStringList out;
    for (const auto& d : found) out << QString::fromStdString(d.source + " " + d.url);
    return out;
}

}  // namespace

class TestRelayDiscovery : public QObject {
    Q_OBJECT
private slots:
    void junkTable_data() {
        QTest::addColumn<QByteArray>("input");
        QTest::addColumn<QString>("reason");    // "" = accepted
        QTest::addColumn<QString>("expected");  // normalised URL when accepted
        QTest::newRow("trailing slash and space") << QByteArray("wss://relay.damus.io/ ") << "" << "wss://relay.damus.io";
        QTest::newRow("upper case, default port") << QByteArray("WSS://Nos.LOL:443/") << "" << "wss://nos.lol";
        QTest::newRow("public ipv4") << QByteArray("wss://8.8.8.8") << "" << "wss://8.8.8.8";
        QTest::newRow("path kept") << QByteArray("wss://relay.example.com/inbox") << "" << "wss://relay.example.com/inbox";
        QTest::newRow("two urls glued") << QByteArray("wss://relay.damus.io,wss://nos.lol") << "unparsable" << "";
        QTest::newRow("loopback literal") << QByteArray("ws://127.0.0.1:7777") << "address_refused" << "";
        QTest::newRow("private literal") << QByteArray("wss://10.0.0.1") << "address_refused" << "";
        QTest::newRow("ipv6 loopback") << QByteArray("wss://[::1]") << "address_refused" << "";
        QTest::newRow("v4-mapped loopback") << QByteArray("wss://[::ffff:127.0.0.1]") << "address_refused" << "";
        QTest::newRow("cloud metadata") << QByteArray("ws://169.254.169.254") << "address_refused" << "";
        QTest::newRow("credentials") << QByteArray("wss://user:pw@host") << "credentials" << "";
        QTest::newRow("user only") << QByteArray("wss://user@relay.example.com") << "credentials" << "";
        QTest::newRow("https") << QByteArray("https://x") << "not_ws" << "";
        QTest::newRow("bare host") << QByteArray("relay.damus.io") << "not_ws" << "";
        QTest::newRow("nostr uri") << QByteArray("nostr:npub1xyz") << "not_ws" << "";
        QTest::newRow("no host") << QByteArray("wss://") << "no_host" << "";
        QTest::newRow("no host, path") << QByteArray("wss:///relay") << "no_host" << "";
        QTest::newRow("port only") << QByteArray("wss://:443") << "no_host" << "";
        QTest::newRow("port out of range") << QByteArray("wss://relay.example.com:99999") << "unparsable" << "";
        QTest::newRow("missing slashes") << QByteArray("wss:relay.example.com") << "unparsable" << "";
        QTest::newRow("fragment") << QByteArray("wss://relay.example.com/#x") << "unparsable" << "";
        QTest::newRow("numeric shorthand") << QByteArray("ws://127.1") << "unparsable" << "";
        QTest::newRow("too long") << QByteArray("wss://" + QByteArray(250, 'a') + ".com") << "too_long" << "";
        QTest::newRow("nul inside") << QByteArray("wss://relay.damus.io\0x", 22) << "control_chars" << "";
        QTest::newRow("tab inside") << QByteArray("wss://relay\t.damus.io") << "control_chars" << "";
        QTest::newRow("space inside") << QByteArray("wss://relay.damus.io wss://nos.lol") << "control_chars" << "";
        QTest::newRow("localhost") << QByteArray("ws://localhost:7777") << "local_name" << "";
        QTest::newRow("sub.localhost") << QByteArray("ws://relay.localhost") << "local_name" << "";
        QTest::newRow("mdns") << QByteArray("wss://printer.local") << "local_name" << "";
        QTest::newRow("single label") << QByteArray("wss://nostr") << "local_name" << "";
        QTest::newRow("onion") << QByteArray("ws://abcdefghijklmnop.onion") << "onion" << "";
    }
    void junkTable() {
        QFETCH(QByteArray, input);
        QFETCH(QString, reason);
        QFETCH(QString, expected);
        const auto v = relays::checkDiscoveredUrl(std::string_view(input.constData(), size_t(input.size())), {});
        if (reason.isEmpty()) {
            QVERIFY2(v.ok, relays::discoveryJunkName(v.reason));
            QCOMPARE(QString::fromStdString(v.url), expected);
        } else {
            QVERIFY2(!v.ok, v.url.c_str());
            QCOMPARE(QString(relays::discoveryJunkName(v.reason)), reason);
        }
    }

    void policyAndOnionOptions() {
        net::AddressPolicy policy;
        QVERIFY(policy.allowText("10.0.0.0/8").ok());
        relays::DiscoveryOptions opt;
        opt.policy = &policy;
        auto lan = relays::checkDiscoveredUrl("wss://10.0.0.1", opt);
        QVERIFY(lan.ok);
        QCOMPARE(lan.url, std::string("wss://10.0.0.1"));
        // Not covered by the allow list: refused, and the policy counts the refusal.
        QVERIFY(!relays::checkDiscoveredUrl("wss://192.168.1.1", opt).ok);
        QCOMPARE(policy.refusals(net::AddressClass::Private), uint64_t(1));
        opt.allow_onion = true;
        QVERIFY(relays::checkDiscoveredUrl("ws://abcdefghijklmnop.onion", opt).ok);
    }

    void nip65RelayList() {
        relays::DiscoveryCounters c;
        auto ev = makeEvent(10002, {{"r", "wss://a.example", "read"},
                                    {"r", "wss://b.example/"},
                                    {"r", "https://x"},
                                    {"r", "WSS://A.example:443"},
                                    {"r"},
                                    {"p", kPk}});
        const auto found = relays::discoverRelays(ev, c);
        QCOMPARE(urlsOf(found), (QStringList{"nip65 wss://a.example", "nip65 wss://b.example"}));
        QCOMPARE(c.foundCount(relays::DiscoverySource::Nip65), uint64_t(2));
        QCOMPARE(c.junkCount(DiscoveryJunk::NotWebsocket), uint64_t(1));
        QCOMPARE(c.junkCount(DiscoveryJunk::Duplicate), uint64_t(1));
        QCOMPARE(c.junkTotal(), uint64_t(2));
        QCOMPARE(found[0].reported_at, int64_t(1700000000));
    }

    void kind3ContentAndHints() {
        relays::DiscoveryCounters c;
        const std::string relay_map =
            "{\"wss://c.example\":{\"read\":true,\"write\":true},\"ws://localhost:8080\":{\"read\":true}}";
        auto ev = makeEvent(3, {{"p", kPk, "wss://d.example"}, {"p", kPk, ""}, {"p", kPk}}, relay_map);
        const auto found = relays::discoverRelays(ev, c);
        QCOMPARE(urlsOf(found), (QStringList{"kind3 wss://c.example", "hint wss://d.example"}));
        QCOMPARE(c.junkCount(DiscoveryJunk::LocalName), uint64_t(1));
        QCOMPARE(c.junkTotal(), uint64_t(1));  // the empty hint is not junk

        // Not a relay map: counted once, nothing found.
        relays::DiscoveryCounters bad;
        QVERIFY(relays::discoverRelays(makeEvent(3, {}, "{not json"), bad).empty());
        QCOMPARE(bad.junkCount(DiscoveryJunk::Unparsable), uint64_t(1));
        // The usual modern kind 3: empty content.
        relays::DiscoveryCounters none;
        QVERIFY(relays::discoverRelays(makeEvent(3, {{"p", kPk}}, ""), none).empty());
        QCOMPARE(none.junkTotal(), uint64_t(0));
    }

    void nip66Report() {
        relays::DiscoveryCounters c;
        auto ev = makeEvent(30166, {{"d", "wss://e.example/"},
                                    {"rtt-open", "120"},
                                    {"rtt-read", "80"},
                                    {"rtt-write", "oops"},
                                    {"R", "auth"},
                                    {"R", "!payment"},
                                    {"n", "clearnet"},
                                    {"N", "11"}});
        const auto found = relays::discoverRelays(ev, c);
        QCOMPARE(found.size(), size_t(1));
        const auto& d = found[0];
        QCOMPARE(d.url, std::string("wss://e.example"));
        QCOMPARE(d.source, std::string("nip66"));
        QCOMPARE(d.rtt_open_ms, int64_t(120));
        QCOMPARE(d.rtt_read_ms, int64_t(80));
        QCOMPARE(d.rtt_write_ms, int64_t(-1));
        QCOMPARE(d.requires_auth, int8_t(1));
        QCOMPARE(d.requires_payment, int8_t(0));
        QCOMPARE(d.restricts_writes, int8_t(-1));
        QCOMPARE(d.network, std::string("clearnet"));
        // A report about a junk URL yields nothing.
        relays::DiscoveryCounters j;
        QVERIFY(relays::discoverRelays(makeEvent(30166, {{"d", "ws://192.168.0.2"}, {"rtt-open", "5"}}), j).empty());
        QCOMPARE(j.junkCount(DiscoveryJunk::AddressRefused), uint64_t(1));
    }

    void hintsInAnyEvent() {
        relays::DiscoveryCounters c;
        auto ev = makeEvent(1, {{"e", kPk, "wss://f.example", "reply"},
                                {"a", "30023:" + kPk + ":x", "wss://g.example/"},
                                {"q", kPk, "wss://f.example"},
                                {"r", "wss://not-a-hint.example"},
                                {"t", "nostr", "wss://not-a-hint-either.example"}});
        const auto found = relays::discoverRelays(ev, c);
        QCOMPARE(urlsOf(found), (QStringList{"hint wss://f.example", "hint wss://g.example"}));
        QCOMPARE(c.junkCount(DiscoveryJunk::Duplicate), uint64_t(1));
        QCOMPARE(c.events_with_urls, uint64_t(1));
    }

    void eventsWithoutCandidatesCostNothing() {
        relays::DiscoveryCounters c;
        QVERIFY(relays::discoverRelays(makeEvent(1, {}), c).empty());
        QVERIFY(relays::discoverRelays(makeEvent(1, {{"e", kPk}, {"p", kPk, ""}, {"r", "wss://x.example"}}), c).empty());
        QVERIFY(relays::discoverRelays(makeEvent(7, {{"e", kPk}}, "+"), c).empty());
        QCOMPARE(c.junkTotal(), uint64_t(0));
        QCOMPARE(c.events_with_urls, uint64_t(0));
    }

    void perEventBound() {
        std::string content = "{";
        for (int i = 0; i < 300; ++i) {
            if (i) content += ",";
            content += "\"wss://r" + std::to_string(i) + ".example\":{}";
        }
        content += "}";
        relays::DiscoveryCounters c;
        const auto found = relays::discoverRelays(makeEvent(3, {}, content), c);
        QCOMPARE(found.size(), relays::kMaxUrlsPerEvent);
        QCOMPARE(c.junkCount(DiscoveryJunk::TooMany), uint64_t(300 - relays::kMaxUrlsPerEvent));
    }
};

QTEST_GUILESS_MAIN(TestRelayDiscovery)
#include "tst_relay_discovery.moc"
