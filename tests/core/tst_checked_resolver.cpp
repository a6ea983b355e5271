#include <QtTest>

#include <map>
#include <memory>
#include <optional>

#include "core/net/checked_resolver.h"

using archivist::Expected;
using archivist::net::Resolved;
using archivist::net::AddressClass;
using archivist::net::AddressPolicy;
using archivist::net::CheckedResolver;
using archivist::net::normalizeRelayUrl;
using archivist::net::RelayUrl;

namespace {

struct Outcome {
    std::optional<Resolved> result;
    int calls = 0;
    CheckedResolver::Callback callback() {
        return [this](Resolved r) {
            ++calls;
            result.emplace(std::move(r));
        };
    }
    bool ok() const { return result && result->ok(); }
    std::string code() const { return result && !result->ok() ? errorCodeName(result->error().code) : std::string(); }
    QHostAddress address() const { return ok() ? result->value() : QHostAddress(); }
};

RelayUrl url(const char* text) {
    auto u = normalizeRelayUrl(text);
    if (!u.ok()) qFatal("bad url %s", text);
    return u.value();
}

// A host name that goes through the lookup path but that QHostInfo answers locally (an address
// written as a name): lets the real backend run without any network traffic.
RelayUrl nameUrl(const char* host) {
    RelayUrl u;
    u.scheme = "ws";
    u.host = host;
    u.port = 7777;
    u.text = std::string("ws://") + host + ":7777";
    return u;
}

std::shared_ptr<AddressPolicy> policyAllowing(std::initializer_list<const char*> rules) {
    auto p = std::make_shared<AddressPolicy>();
    for (const char* r : rules) {
        if (!p->allowText(r).ok()) qFatal("bad rule %s", r);
    }
    return p;
}

// Fake DNS: records lookups; the test answers them.
struct FakeDns {
    struct Pending {
        QString host;
        std::function<void(const QHostInfo&)> done;
    };
    std::map<int, Pending> pending;
    std::vector<int> aborted;
    int next = 100;
    void install(CheckedResolver::Options& o) {
        o.lookup = [this](const QString& host, QObject*, std::function<void(const QHostInfo&)> done) {
            pending[next] = Pending{host, std::move(done)};
            return next++;
        };
        o.abort = [this](int id) {
            aborted.push_back(id);
            pending.erase(id);
        };
    }
    void answer(int id, QList<QHostAddress> addresses) {
        auto p = std::move(pending.at(id));
        pending.erase(id);
        QHostInfo info(id);
        info.setHostName(p.host);
        info.setAddresses(addresses);
        p.done(info);
    }
    void fail(int id) {
        auto p = std::move(pending.at(id));
        pending.erase(id);
        QHostInfo info(id);
        info.setError(QHostInfo::HostNotFound);
        info.setErrorString("Host not found");
        p.done(info);
    }
};

}  // namespace

class TestCheckedResolver : public QObject {
    Q_OBJECT
private slots:
    void literals_data() {
        QTest::addColumn<QString>("relay");
        QTest::addColumn<QString>("rule");
        QTest::addColumn<QString>("expected");  // address, or error code
        QTest::newRow("v4 loopback refused") << "ws://127.0.0.1:7777" << "" << "address_refused";
        QTest::newRow("v4 loopback allowed") << "ws://127.0.0.1:7777" << "127.0.0.0/8" << "127.0.0.1";
        QTest::newRow("v6 loopback refused") << "ws://[::1]:7777" << "127.0.0.0/8" << "address_refused";
        QTest::newRow("v6 loopback allowed") << "ws://[::1]:7777" << "::1/128" << "::1";
        QTest::newRow("private refused") << "ws://192.168.1.10" << "" << "address_refused";
        QTest::newRow("metadata refused") << "ws://169.254.169.254" << "169.254.0.0/16" << "address_refused";
        QTest::newRow("mapped refused") << "ws://[::ffff:10.0.0.1]" << "" << "address_refused";
        QTest::newRow("public allowed") << "wss://1.1.1.1" << "" << "1.1.1.1";
    }
    void literals() {
        QFETCH(QString, relay);
        QFETCH(QString, rule);
        QFETCH(QString, expected);
        auto policy = std::make_shared<AddressPolicy>();
        if (!rule.isEmpty()) QVERIFY(policy->allowText(rule.toStdString()).ok());
        CheckedResolver::Options o;
        o.lookup = [](const QString&, QObject*, std::function<void(const QHostInfo&)>) -> int {
            qFatal("literal host must not be looked up");
            return -1;
        };
        CheckedResolver resolver(policy, o);
        Outcome out;
        resolver.resolve(url(relay.toUtf8().constData()), out.callback());
        QCOMPARE(out.calls, 0);  // never inside resolve()
        QTRY_COMPARE(out.calls, 1);
        if (expected == "address_refused") {
            QCOMPARE(out.code(), std::string("address_refused"));
            QVERIFY2(out.result->error().message.find("refused (allow with --allow-address") != std::string::npos,
                     out.result->error().message.c_str());
            QCOMPARE(policy->refusalsTotal(), uint64_t(1));
            QCOMPARE(resolver.stats().refused, uint64_t(1));
        } else {
            QVERIFY(out.ok());
            QCOMPARE(out.address(), QHostAddress(expected));
        }
        QCOMPARE(resolver.stats().lookups, uint64_t(0));
    }

    void localhostNeedsAllowRule() {
        {
            auto policy = std::make_shared<AddressPolicy>();
            CheckedResolver resolver(policy);
            Outcome out;
            resolver.resolve(url("ws://localhost:7777"), out.callback());
            QTRY_COMPARE(out.calls, 1);
            QCOMPARE(out.code(), std::string("address_refused"));
            QVERIFY(out.result->error().message.find("loopback address") != std::string::npos);
            QVERIFY(policy->refusals(AddressClass::Loopback) >= 1);
        }
        {
            auto policy = policyAllowing({"127.0.0.0/8"});
            CheckedResolver resolver(policy);
            Outcome first;
            resolver.resolve(url("ws://localhost:7777"), first.callback());
            QTRY_COMPARE(first.calls, 1);
            QVERIFY2(first.ok(), first.result->ok() ? "" : first.result->error().message.c_str());
            QCOMPARE(first.address(), QHostAddress(QHostAddress::LocalHost));
            // Second request for the same host: served from the cache.
            Outcome second;
            resolver.resolve(url("wss://localhost/other"), second.callback());
            QCOMPARE(second.calls, 0);
            QTRY_COMPARE(second.calls, 1);
            QCOMPARE(second.address(), QHostAddress(QHostAddress::LocalHost));
            QCOMPARE(resolver.stats().lookups, uint64_t(1));
            QCOMPARE(resolver.stats().cache_hits, uint64_t(1));
        }
    }

    void firstAllowedInResolverOrder_data() {
        QTest::addColumn<QStringList>("answer");
        QTest::addColumn<QString>("expected");
        QTest::newRow("skips refused") << QStringList{"::1", "10.0.0.1", "127.0.0.3"} << "127.0.0.3";
        QTest::newRow("keeps order") << QStringList{"127.0.0.2", "127.0.0.1"} << "127.0.0.2";
        QTest::newRow("public first") << QStringList{"9.9.9.9", "127.0.0.1"} << "9.9.9.9";
        QTest::newRow("all refused") << QStringList{"::1", "10.0.0.1"} << "address_refused";
    }
    void firstAllowedInResolverOrder() {
        QFETCH(QStringList, answer);
        QFETCH(QString, expected);
        FakeDns dns;
        CheckedResolver::Options o;
        dns.install(o);
        auto policy = policyAllowing({"127.0.0.0/8"});
        CheckedResolver resolver(policy, o);
        Outcome out;
        resolver.resolve(url("wss://relay.example.com"), out.callback());
        QCOMPARE(dns.pending.size(), size_t(1));
        QCOMPARE(dns.pending.begin()->second.host, QString("relay.example.com"));
        QList<QHostAddress> addresses;
        for (const QString& a : answer) addresses.append(QHostAddress(a));
        dns.answer(dns.pending.begin()->first, addresses);
        QTRY_COMPARE(out.calls, 1);
        if (expected == "address_refused") {
            QCOMPARE(out.code(), std::string("address_refused"));
            const std::string& msg = out.result->error().message;
            QVERIFY2(msg.find("relay.example.com") != std::string::npos, msg.c_str());
            QVERIFY2(msg.find("loopback address ::1 refused") != std::string::npos, msg.c_str());
            QVERIFY2(msg.find("all 2 resolved addresses refused") != std::string::npos, msg.c_str());
        } else {
            QCOMPARE(out.address(), QHostAddress(expected));
        }
    }

    void dnsFailureIsReportedAndNotCached() {
        FakeDns dns;
        CheckedResolver::Options o;
        dns.install(o);
        CheckedResolver resolver(std::make_shared<AddressPolicy>(), o);
        Outcome a, b;
        resolver.resolve(url("wss://nowhere.example"), a.callback());
        resolver.resolve(url("wss://nowhere.example/x"), b.callback());  // joins the same lookup
        QCOMPARE(dns.pending.size(), size_t(1));
        dns.fail(dns.pending.begin()->first);
        QTRY_COMPARE(a.calls + b.calls, 2);
        QCOMPARE(a.code(), std::string("dns"));
        QCOMPARE(b.code(), std::string("dns"));
        QVERIFY(a.result->error().message.find("nowhere.example") != std::string::npos);
        QCOMPARE(resolver.stats().dns_failures, uint64_t(2));
        Outcome c;
        resolver.resolve(url("wss://nowhere.example"), c.callback());
        QCOMPARE(dns.pending.size(), size_t(1));  // failure was not cached: looked up again
        QCOMPARE(resolver.stats().lookups, uint64_t(2));
    }

    void emptyAnswerIsDnsError() {
        FakeDns dns;
        CheckedResolver::Options o;
        dns.install(o);
        CheckedResolver resolver(std::make_shared<AddressPolicy>(), o);
        Outcome out;
        resolver.resolve(url("wss://empty.example"), out.callback());
        dns.answer(dns.pending.begin()->first, {});
        QTRY_COMPARE(out.calls, 1);
        QCOMPARE(out.code(), std::string("dns"));
    }

    void lookupTimesOut() {
        FakeDns dns;
        CheckedResolver::Options o;
        dns.install(o);
        o.lookup_timeout_ms = 50;
        CheckedResolver resolver(std::make_shared<AddressPolicy>(), o);
        Outcome out;
        resolver.resolve(url("wss://slow.example"), out.callback());
        const int id = dns.pending.begin()->first;
        QTRY_COMPARE(out.calls, 1);
        QCOMPARE(out.code(), std::string("dns"));
        QVERIFY(out.result->error().message.find("timed out") != std::string::npos);
        QCOMPARE(dns.aborted, std::vector<int>{id});
        QCOMPARE(resolver.stats().timeouts, uint64_t(1));
        QCOMPARE(resolver.stats().in_flight, size_t(0));
    }

    void concurrencyBoundedAndQueueDrains() {
        FakeDns dns;
        CheckedResolver::Options o;
        dns.install(o);
        o.max_concurrent = 2;
        o.max_queued = 10;
        CheckedResolver resolver(policyAllowing({"127.0.0.0/8"}), o);
        std::vector<Outcome> outs(5);
        const char* hosts[] = {"wss://a.example", "wss://b.example", "wss://c.example", "wss://d.example",
                               "wss://e.example"};
        for (int i = 0; i < 5; ++i) resolver.resolve(url(hosts[i]), outs[size_t(i)].callback());
        QCOMPARE(dns.pending.size(), size_t(2));
        QCOMPARE(resolver.stats().in_flight, size_t(2));
        QCOMPARE(resolver.stats().waiting, size_t(3));
        int answered = 0;
        while (!dns.pending.empty()) {
            QVERIFY(dns.pending.size() <= 2);
            const int id = dns.pending.begin()->first;
            dns.answer(id, {QHostAddress(quint32(0x7f000001 + answered))});
            ++answered;
        }
        QCOMPARE(answered, 5);
        for (auto& out : outs) QTRY_COMPARE(out.calls, 1);
        for (auto& out : outs) QVERIFY(out.ok());
        QCOMPARE(resolver.stats().waiting, size_t(0));
    }

    void busyWhenQueueFull() {
        FakeDns dns;
        CheckedResolver::Options o;
        dns.install(o);
        o.max_concurrent = 1;
        o.max_queued = 2;
        CheckedResolver resolver(std::make_shared<AddressPolicy>(), o);
        Outcome first, queued1, queued2, over, literal;
        resolver.resolve(url("wss://a.example"), first.callback());
        resolver.resolve(url("wss://b.example"), queued1.callback());
        resolver.resolve(url("wss://a.example/joined"), queued2.callback());
        resolver.resolve(url("wss://c.example"), over.callback());
        QCOMPARE(over.calls, 1);  // reported at once
        QCOMPARE(over.code(), std::string("busy"));
        resolver.resolve(url("wss://1.1.1.1"), literal.callback());
        QCOMPARE(literal.code(), std::string("busy"));
        QCOMPARE(resolver.stats().busy, uint64_t(2));
        // The others still complete.
        dns.answer(dns.pending.begin()->first, {QHostAddress("9.9.9.9")});
        QTRY_COMPARE(first.calls + queued2.calls, 2);
        QCOMPARE(dns.pending.size(), size_t(1));
        dns.answer(dns.pending.begin()->first, {QHostAddress("9.9.9.8")});
        QTRY_COMPARE(queued1.calls, 1);
        QCOMPARE(queued1.address(), QHostAddress("9.9.9.8"));
        QCOMPARE(queued2.address(), QHostAddress("9.9.9.9"));
    }

    void cacheExpiresAndIsBounded() {
        FakeDns dns;
        CheckedResolver::Options o;
        dns.install(o);
        int64_t clock = 1'000'000;
        o.clock_ms = [&clock] { return clock; };
        o.cache_ttl_ms = 1000;
        o.cache_capacity = 2;
        CheckedResolver resolver(std::make_shared<AddressPolicy>(), o);
        auto lookupOnce = [&](const char* relay) {
            Outcome out;
            resolver.resolve(url(relay), out.callback());
            if (!dns.pending.empty()) dns.answer(dns.pending.begin()->first, {QHostAddress("9.9.9.9")});
            QTRY_COMPARE(out.calls, 1);
            QVERIFY(out.ok());
        };
        lookupOnce("wss://a.example");
        lookupOnce("wss://a.example");
        QCOMPARE(resolver.stats().lookups, uint64_t(1));
        clock += 999;
        lookupOnce("wss://a.example");
        QCOMPARE(resolver.stats().lookups, uint64_t(1));
        clock += 1;  // TTL reached
        lookupOnce("wss://a.example");
        QCOMPARE(resolver.stats().lookups, uint64_t(2));
        lookupOnce("wss://b.example");
        lookupOnce("wss://c.example");  // evicts a (oldest)
        QCOMPARE(resolver.stats().cached, size_t(2));
        QCOMPARE(resolver.stats().cache_evictions, uint64_t(1));
        lookupOnce("wss://c.example");
        QCOMPARE(resolver.stats().lookups, uint64_t(4));
        lookupOnce("wss://a.example");
        QCOMPARE(resolver.stats().lookups, uint64_t(5));
    }

    void realBackendWithAddressNames() {
        // Names QHostInfo answers without any network traffic; with concurrency 1 they queue.
        CheckedResolver::Options o;
        o.max_concurrent = 1;
        CheckedResolver resolver(policyAllowing({"127.0.0.0/8"}), o);
        std::vector<Outcome> outs(4);
        const char* hosts[] = {"127.0.0.1", "127.0.0.2", "10.0.0.1", "127.0.0.4"};
        for (int i = 0; i < 4; ++i) resolver.resolve(nameUrl(hosts[i]), outs[size_t(i)].callback());
        QCOMPARE(resolver.stats().in_flight, size_t(1));
        for (auto& out : outs) QTRY_COMPARE(out.calls, 1);
        QCOMPARE(outs[0].address(), QHostAddress("127.0.0.1"));
        QCOMPARE(outs[1].address(), QHostAddress("127.0.0.2"));
        QCOMPARE(outs[2].code(), std::string("address_refused"));
        QCOMPARE(outs[3].address(), QHostAddress("127.0.0.4"));
    }

    void destructionCancelsOutstanding() {
        FakeDns dns;
        CheckedResolver::Options o;
        dns.install(o);
        Outcome pending, ready;
        {
            CheckedResolver resolver(policyAllowing({"127.0.0.0/8"}), o);
            resolver.resolve(url("wss://a.example"), pending.callback());
            resolver.resolve(url("ws://127.0.0.1"), ready.callback());
        }
        QCOMPARE(pending.calls, 1);
        QCOMPARE(pending.code(), std::string("cancelled"));
        QCOMPARE(ready.calls, 1);
        QVERIFY(ready.ok());
        QCOMPARE(dns.aborted.size(), size_t(1));
    }
};

QTEST_GUILESS_MAIN(TestCheckedResolver)
#include "tst_checked_resolver.moc"
