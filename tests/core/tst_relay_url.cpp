#include <QtTest>

#include "core/net/relay_url.h"

using archivist::net::normalizeRelayUrl;

class TestRelayUrl : public QObject {
    Q_OBJECT
private slots:
    void normalises_data() {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("expected");
        QTest::newRow("plain") << "wss://relay.damus.io" << "wss://relay.damus.io";
        QTest::newRow("trailing slash") << "wss://relay.damus.io/" << "wss://relay.damus.io";
        QTest::newRow("default port + slash") << "wss://relay.damus.io:443/" << "wss://relay.damus.io";
        QTest::newRow("ws default port") << "ws://relay.example.com:80" << "ws://relay.example.com";
        QTest::newRow("wss on 80 keeps port") << "wss://relay.example.com:80" << "wss://relay.example.com:80";
        QTest::newRow("ws on 443 keeps port") << "ws://relay.example.com:443" << "ws://relay.example.com:443";
        QTest::newRow("surrounding spaces") << "  wss://nos.lol  " << "wss://nos.lol";
        QTest::newRow("tabs and newline") << "\twss://nos.lol\n" << "wss://nos.lol";
        QTest::newRow("uppercase") << "WSS://Relay.Damus.IO" << "wss://relay.damus.io";
        QTest::newRow("mixed scheme") << "Ws://NOS.lol:7777/" << "ws://nos.lol:7777";
        QTest::newRow("path kept") << "wss://relay.example.com/nostr" << "wss://relay.example.com/nostr";
        QTest::newRow("path trailing slash kept") << "wss://relay.example.com/nostr/" << "wss://relay.example.com/nostr/";
        QTest::newRow("path case kept") << "wss://Relay.Example.com/Inbox" << "wss://relay.example.com/Inbox";
        QTest::newRow("query kept") << "wss://filter.nostr.wine/?global=all" << "wss://filter.nostr.wine?global=all";
        QTest::newRow("query without slash") << "wss://filter.nostr.wine?global=all" << "wss://filter.nostr.wine?global=all";
        QTest::newRow("path + query") << "wss://a.com/p?x=1&y=2" << "wss://a.com/p?x=1&y=2";
        QTest::newRow("escape hex uppercased") << "wss://a.com/p%2fq" << "wss://a.com/p%2Fq";
        QTest::newRow("unicode path encoded") << "wss://a.com/ü" << "wss://a.com/%C3%BC";
        QTest::newRow("trailing dot host") << "wss://relay.damus.io./" << "wss://relay.damus.io";
        QTest::newRow("idn") << "wss://bücher.example/" << "wss://xn--bcher-kva.example";
        QTest::newRow("idn upper") << "wss://BÜCHER.example" << "wss://xn--bcher-kva.example";
        QTest::newRow("idn emoji-free cjk") << "wss://中文.example" << "wss://xn--fiq228c.example";
        QTest::newRow("ipv6 loopback") << "ws://[::1]:7777" << "ws://[::1]:7777";
        QTest::newRow("ipv6 expanded") << "ws://[0:0:0:0:0:0:0:1]:7777/" << "ws://[::1]:7777";
        QTest::newRow("ipv6 upper") << "wss://[2001:DB8::A]:443" << "wss://[2001:db8::a]";
        QTest::newRow("ipv4") << "ws://127.0.0.1:7777" << "ws://127.0.0.1:7777";
        QTest::newRow("port leading zeros") << "ws://a.com:07777" << "ws://a.com:7777";
        QTest::newRow("empty port") << "wss://a.com:/" << "wss://a.com";
        QTest::newRow("underscore host") << "wss://my_relay.example" << "wss://my_relay.example";
        QTest::newRow("double slash path kept") << "wss://a.com//" << "wss://a.com//";
    }
    void normalises() {
        QFETCH(QString, input);
        QFETCH(QString, expected);
        const auto r = normalizeRelayUrl(input.toStdString());
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QCOMPARE(QString::fromStdString(r->text), expected);
        // Idempotent: the canonical text normalises to itself.
        const auto again = normalizeRelayUrl(r->text);
        QVERIFY(again.ok());
        QCOMPARE(QString::fromStdString(again->text), expected);
        // Qt agrees it is a valid URL with the same host and port.
        const QUrl q = r->toQUrl();
        QVERIFY2(q.isValid(), qPrintable(q.errorString()));
        QCOMPARE(q.port(r->tls ? 443 : 80), int(r->port));
    }

    void rejects_data() {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("code");
        QTest::newRow("https") << "https://x.com" << "scheme";
        QTest::newRow("http") << "http://x.com" << "scheme";
        QTest::newRow("no scheme") << "relay.damus.io" << "scheme";
        QTest::newRow("host:port no scheme") << "relay.damus.io:443" << "scheme";
        QTest::newRow("ftp") << "ftp://x.com" << "scheme";
        QTest::newRow("missing slashes") << "wss:x.com" << "syntax";
        QTest::newRow("userinfo") << "wss://user@x.com" << "userinfo";
        QTest::newRow("userinfo pass") << "wss://user:pw@x.com/" << "userinfo";
        QTest::newRow("fragment") << "wss://x.com#frag" << "fragment";
        QTest::newRow("empty fragment") << "wss://x.com/#" << "fragment";
        QTest::newRow("empty host") << "wss://" << "host";
        QTest::newRow("empty host with port") << "wss://:443" << "host";
        QTest::newRow("empty host path") << "wss:///path" << "host";
        QTest::newRow("port zero") << "wss://x.com:0" << "port";
        QTest::newRow("port too big") << "wss://x.com:65536" << "port";
        QTest::newRow("port letters") << "wss://x.com:44a" << "port";
        QTest::newRow("port huge") << "wss://x.com:99999999999999999999" << "port";
        QTest::newRow("space inside") << "wss://x .com" << "syntax";
        QTest::newRow("space in path") << "wss://x.com/a b" << "syntax";
        QTest::newRow("control char") << "wss://x.com/\x01" << "syntax";
        QTest::newRow("empty") << "   " << "syntax";
        QTest::newRow("unbracketed ipv6") << "ws://::1:7777" << "host";
        QTest::newRow("bad ipv6") << "ws://[::g]:7777" << "host";
        QTest::newRow("ipv4 in brackets") << "ws://[127.0.0.1]" << "host";
        QTest::newRow("unterminated bracket") << "ws://[::1:7777" << "host";
        QTest::newRow("zone id") << "ws://[fe80::1%25eth0]" << "host";
        QTest::newRow("short ipv4") << "ws://127.1" << "host";
        QTest::newRow("hex ipv4") << "ws://0x7f.0.0.1" << "host";
        QTest::newRow("integer ipv4") << "ws://2130706433" << "host";
        QTest::newRow("octal ipv4") << "ws://010.0.0.1" << "host";
        QTest::newRow("ipv4 out of range") << "ws://256.0.0.1" << "host";
        QTest::newRow("empty label") << "wss://a..com" << "host";
        QTest::newRow("bad char") << "wss://a!b.com" << "host";
        QTest::newRow("hyphen label") << "wss://-a.com" << "host";
        QTest::newRow("bad escape") << "wss://a.com/%zz" << "syntax";
        QTest::newRow("truncated escape") << "wss://a.com/%4" << "syntax";
        QTest::newRow("percent host") << "wss://%61.com" << "host";
        QTest::newRow("too long") << "wss://a.com/" + QString(2100, 'a') << "too_long";
        QTest::newRow("label too long") << "wss://" + QString(64, 'a') + ".com" << "host";
    }
    void rejects() {
        QFETCH(QString, input);
        QFETCH(QString, code);
        const auto r = normalizeRelayUrl(input.toStdString());
        QVERIFY2(!r.ok(), r.ok() ? r->text.c_str() : "");
        QCOMPARE(QString::fromLatin1(errorCodeName(r.error().code)), code);
        QVERIFY(!r.error().message.empty());
    }

    void fields() {
        const auto r = normalizeRelayUrl("WSS://[::1]:7777/Path?q=1");
        QVERIFY(r.ok());
        QCOMPARE(r->scheme, std::string("wss"));
        QCOMPARE(r->host, std::string("::1"));
        QCOMPARE(r->port, uint16_t(7777));
        QCOMPARE(r->path_and_query, std::string("/Path?q=1"));
        QVERIFY(r->tls);
        QVERIFY(r->literal.has_value());
        QCOMPARE(*r->literal, QHostAddress(QHostAddress::LocalHostIPv6));

        const auto d = normalizeRelayUrl("ws://relay.example.com");
        QVERIFY(d.ok());
        QCOMPARE(d->port, uint16_t(80));
        QVERIFY(!d->tls);
        QVERIFY(!d->literal.has_value());
        QCOMPARE(d->path_and_query, std::string());

        const auto v4 = normalizeRelayUrl("ws://127.0.0.1:7777");
        QVERIFY(v4.ok());
        QVERIFY(v4->literal.has_value());
        QCOMPARE(*v4->literal, QHostAddress(QHostAddress::LocalHost));
    }

    void sameRelayCompareEqual() {
        const char* spellings[] = {"wss://relay.damus.io", "wss://relay.damus.io/", "WSS://RELAY.DAMUS.IO:443",
                                   " wss://relay.damus.io:443/ ", "wss://relay.damus.io."};
        for (const char* s : spellings) {
            const auto r = normalizeRelayUrl(s);
            QVERIFY2(r.ok(), s);
            QCOMPARE(r->text, std::string("wss://relay.damus.io"));
        }
    }
};

QTEST_GUILESS_MAIN(TestRelayUrl)
#include "tst_relay_url.moc"
