#include <QtTest>

#include <atomic>
#include <thread>
#include <vector>

#include "core/net/address_policy.h"

using archivist::net::AddressClass;
using archivist::net::addressClassFromName;
using archivist::net::addressClassName;
using archivist::net::AddressPolicy;

class TestAddressPolicy : public QObject {
    Q_OBJECT
private slots:
    void classifies_data() {
        QTest::addColumn<QString>("address");
        QTest::addColumn<QString>("cls");
        // IPv4
        QTest::newRow("public v4") << "1.1.1.1" << "public";
        QTest::newRow("public v4 near private") << "172.32.0.1" << "public";
        QTest::newRow("public v4 near cgnat") << "100.128.0.1" << "public";
        QTest::newRow("loopback") << "127.0.0.1" << "loopback";
        QTest::newRow("loopback other") << "127.255.1.2" << "loopback";
        QTest::newRow("10/8") << "10.1.2.3" << "private";
        QTest::newRow("172.16/12 low") << "172.16.0.1" << "private";
        QTest::newRow("172.16/12 high") << "172.31.255.254" << "private";
        QTest::newRow("192.168/16") << "192.168.1.1" << "private";
        QTest::newRow("link local v4") << "169.254.1.1" << "link_local";
        QTest::newRow("cgnat") << "100.64.0.1" << "cgnat";
        QTest::newRow("cgnat high") << "100.127.255.255" << "cgnat";
        QTest::newRow("multicast v4") << "224.0.0.251" << "multicast";
        QTest::newRow("multicast v4 high") << "239.255.255.250" << "multicast";
        QTest::newRow("unspecified v4") << "0.0.0.0" << "unspecified";
        QTest::newRow("this network") << "0.1.2.3" << "unspecified";
        QTest::newRow("broadcast") << "255.255.255.255" << "broadcast";
        QTest::newRow("class E") << "240.0.0.1" << "reserved";
        QTest::newRow("class E high") << "255.255.255.254" << "reserved";
        QTest::newRow("192.0.0/24") << "192.0.0.8" << "reserved";
        QTest::newRow("benchmarking") << "198.19.0.1" << "reserved";
        QTest::newRow("test-net-1") << "192.0.2.10" << "reserved";
        QTest::newRow("test-net-2") << "198.51.100.7" << "reserved";
        QTest::newRow("test-net-3") << "203.0.113.200" << "reserved";
        QTest::newRow("aws metadata") << "169.254.169.254" << "cloud_metadata";
        QTest::newRow("ecs metadata") << "169.254.170.2" << "cloud_metadata";
        QTest::newRow("alibaba metadata") << "100.100.100.200" << "cloud_metadata";
        // IPv6
        QTest::newRow("public v6") << "2606:4700:4700::1111" << "public";
        QTest::newRow("loopback v6") << "::1" << "loopback";
        QTest::newRow("unspecified v6") << "::" << "unspecified";
        QTest::newRow("ula fc") << "fc00::1" << "private";
        QTest::newRow("ula fd") << "fd12:3456::1" << "private";
        QTest::newRow("site local") << "fec0::1" << "private";
        QTest::newRow("link local v6") << "fe80::1" << "link_local";
        QTest::newRow("link local v6 scoped") << "fe80::1%1" << "link_local";
        QTest::newRow("multicast v6") << "ff02::1" << "multicast";
        QTest::newRow("documentation v6") << "2001:db8::1" << "reserved";
        QTest::newRow("documentation v6 new") << "3fff::1" << "reserved";
        QTest::newRow("teredo") << "2001:0:4136:e378::1" << "reserved";
        QTest::newRow("discard") << "100::1" << "reserved";
        QTest::newRow("ipv4-compatible") << "::7f00:1" << "reserved";
        QTest::newRow("unassigned v6") << "4000::1" << "reserved";
        QTest::newRow("v6 metadata") << "fd00:ec2::254" << "cloud_metadata";
        // Embedded IPv4
        QTest::newRow("mapped loopback") << "::ffff:127.0.0.1" << "loopback";
        QTest::newRow("mapped private") << "::ffff:10.0.0.1" << "private";
        QTest::newRow("mapped metadata") << "::ffff:169.254.169.254" << "cloud_metadata";
        QTest::newRow("mapped public") << "::ffff:8.8.8.8" << "public";
        QTest::newRow("nat64 private") << "64:ff9b::192.168.0.1" << "private";
        QTest::newRow("nat64 loopback") << "64:ff9b::7f00:1" << "loopback";
        QTest::newRow("nat64 public") << "64:ff9b::8.8.8.8" << "public";
        QTest::newRow("6to4 private") << "2002:c0a8:0101::1" << "private";
        QTest::newRow("6to4 loopback") << "2002:7f00:1::" << "loopback";
        QTest::newRow("6to4 public") << "2002:0808:0808::1" << "public";
        QTest::newRow("null") << "" << "invalid";
    }
    void classifies() {
        QFETCH(QString, address);
        QFETCH(QString, cls);
        const QHostAddress a(address);
        QVERIFY(address.isEmpty() || !a.isNull());
        const auto c = AddressPolicy::classify(a);
        QCOMPARE(QString::fromUtf8(addressClassName(c.cls).data()), cls);

        AddressPolicy policy;
        const auto v = policy.check(a);
        QCOMPARE(v.allowed, cls == "public");
        QCOMPARE(v.cls, c.cls);
        QCOMPARE(policy.refusals(c.cls), uint64_t(cls == "public" ? 0 : 1));
        QCOMPARE(policy.refusalsTotal(), uint64_t(cls == "public" ? 0 : 1));
        if (!v.allowed) QVERIFY(v.reason.find("refused") != std::string::npos);
    }

    void reasonNamesAddressAndRule() {
        AddressPolicy policy;
        auto v = policy.check(QHostAddress("127.0.0.1"));
        QVERIFY(!v.allowed);
        QCOMPARE(v.reason, std::string("loopback address 127.0.0.1 refused (allow with --allow-address 127.0.0.0/8)"));
        v = policy.check(QHostAddress("::ffff:192.168.1.5"));
        QCOMPARE(v.reason, std::string("private address ::ffff:192.168.1.5 (embeds 192.168.1.5) refused "
                                       "(allow with --allow-address 192.168.0.0/16)"));
        v = policy.check(QHostAddress("::1"));
        QCOMPARE(v.reason, std::string("loopback address ::1 refused (allow with --allow-address ::1/128)"));
    }

    void parseCidr_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<bool>("ok");
        QTest::addColumn<QString>("canonical");
        QTest::newRow("v4 /32") << "127.0.0.1/32" << true << "127.0.0.1/32";
        QTest::newRow("v4 bare") << "127.0.0.1" << true << "127.0.0.1/32";
        QTest::newRow("v4 /8") << "10.0.0.0/8" << true << "10.0.0.0/8";
        QTest::newRow("host bits cleared") << "127.0.0.1/8" << true << "127.0.0.0/8";
        QTest::newRow("odd prefix") << "172.31.255.255/12" << true << "172.16.0.0/12";
        QTest::newRow("v6 /128") << "::1/128" << true << "::1/128";
        QTest::newRow("v6 bare") << "::1" << true << "::1/128";
        QTest::newRow("v6 /7") << "fdff::1/7" << true << "fc00::/7";
        QTest::newRow("v4 /0") << "0.0.0.0/0" << true << "0.0.0.0/0";
        QTest::newRow("spaces") << " 10.0.0.0/8 " << true << "10.0.0.0/8";
        QTest::newRow("v4 prefix too big") << "10.0.0.0/33" << false << "";
        QTest::newRow("v6 prefix too big") << "::/129" << false << "";
        QTest::newRow("empty prefix") << "10.0.0.0/" << false << "";
        QTest::newRow("negative prefix") << "10.0.0.0/-1" << false << "";
        QTest::newRow("name") << "localhost" << false << "";
        QTest::newRow("empty") << "" << false << "";
        QTest::newRow("zone") << "fe80::1%eth0/128" << false << "";
        QTest::newRow("short v4") << "10.1/8" << false << "";
    }
    void parseCidr() {
        QFETCH(QString, text);
        QFETCH(bool, ok);
        QFETCH(QString, canonical);
        const auto c = AddressPolicy::parseCidr(text.toStdString());
        QCOMPARE(c.ok(), ok);
        if (ok) QCOMPARE(QString::fromStdString(c->toString()), canonical);
        else QCOMPARE(c.error().code, std::string("cidr"));
    }

    void allowList_data() {
        QTest::addColumn<QString>("rule");
        QTest::addColumn<QString>("address");
        QTest::addColumn<bool>("allowed");
        QTest::newRow("loopback /8") << "127.0.0.0/8" << "127.0.0.1" << true;
        QTest::newRow("loopback /8 other") << "127.0.0.0/8" << "127.1.2.3" << true;
        QTest::newRow("loopback /8 not v6") << "127.0.0.0/8" << "::1" << false;
        QTest::newRow("loopback /8 covers mapped") << "127.0.0.0/8" << "::ffff:127.0.0.1" << true;
        QTest::newRow("v6 loopback") << "::1/128" << "::1" << true;
        QTest::newRow("v6 loopback not v4") << "::1" << "127.0.0.1" << false;
        QTest::newRow("exact v4") << "127.0.0.1" << "127.0.0.2" << false;
        QTest::newRow("lan") << "10.0.0.0/8" << "10.9.8.7" << true;
        QTest::newRow("lan not other private") << "10.0.0.0/8" << "192.168.1.1" << false;
        QTest::newRow("lan nat64") << "10.0.0.0/8" << "64:ff9b::10.0.0.5" << true;
        QTest::newRow("ula") << "fd00::/8" << "fd12::1" << true;
        QTest::newRow("metadata not by link-local") << "169.254.0.0/16" << "169.254.169.254" << false;
        QTest::newRow("metadata not by everything") << "0.0.0.0/0" << "169.254.169.254" << false;
        QTest::newRow("metadata by exact") << "169.254.169.254/32" << "169.254.169.254" << true;
        QTest::newRow("metadata mapped by exact") << "169.254.169.254" << "::ffff:169.254.169.254" << true;
        QTest::newRow("link-local by /16") << "169.254.0.0/16" << "169.254.1.1" << true;
        QTest::newRow("everything v4") << "0.0.0.0/0" << "192.168.1.1" << true;
    }
    void allowList() {
        QFETCH(QString, rule);
        QFETCH(QString, address);
        QFETCH(bool, allowed);
        AddressPolicy policy;
        QVERIFY(policy.allowText(rule.toStdString()).ok());
        const auto v = policy.check(QHostAddress(address));
        QCOMPARE(v.allowed, allowed);
        if (allowed) {
            QVERIFY2(v.reason.find("allowed by") != std::string::npos, v.reason.c_str());
            QCOMPARE(policy.refusalsTotal(), uint64_t(0));
        } else {
            QCOMPARE(policy.refusalsTotal(), uint64_t(1));
        }
    }

    void allowTextErrors() {
        AddressPolicy policy;
        const auto bad = policy.allowText("not-an-address");
        QVERIFY(!bad.ok());
        QCOMPARE(bad.error().code, std::string("cidr"));
        QVERIFY(policy.allowList().empty());
        QVERIFY(policy.allowText("10.0.0.0/8").ok());
        QVERIFY(policy.allowText("10.1.0.0/8").ok());  // same network after masking: not duplicated
        QCOMPARE(policy.allowList().size(), size_t(1));
    }

    void allowListBounded() {
        AddressPolicy policy;
        for (size_t i = 0; i < AddressPolicy::kMaxAllowRules; ++i) {
            QVERIFY(policy.allowText("10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/24").ok());
        }
        const auto over = policy.allowText("192.168.0.0/16");
        QVERIFY(!over.ok());
        QCOMPARE(over.error().code, std::string("too_many"));
        policy.allow(AddressPolicy::parseCidr("172.16.0.0/12").value());
        QCOMPARE(policy.droppedRules(), uint64_t(1));
        QCOMPARE(policy.allowList().size(), AddressPolicy::kMaxAllowRules);
        QVERIFY(!policy.check(QHostAddress("172.16.0.1")).allowed);
    }

    // The running engine adds a rule the operator allowed while connection threads check: a check
    // sees the list before or after the new rule (run under the sanitizers: no data race).
    void allowWhileOtherThreadsCheck() {
        AddressPolicy policy;
        std::atomic<bool> stop{false}, sawAllowed{false};
        std::vector<std::thread> checkers;
        for (int t = 0; t < 2; ++t)
            checkers.emplace_back([&] {
                while (!stop.load()) {
                    if (policy.check(QHostAddress("127.0.0.1")).allowed) sawAllowed.store(true);
                    (void)policy.allowList();
                }
            });
        for (int i = 0; i < 200; ++i) QVERIFY(policy.allowText("10." + std::to_string(i) + ".0.0/16").ok());
        QVERIFY(policy.allowText("127.0.0.1").ok());
        QTRY_VERIFY_WITH_TIMEOUT(sawAllowed.load(), 5000);
        stop.store(true);
        for (auto& t : checkers) t.join();
        QCOMPARE(policy.allowList().size(), size_t(201));
        QVERIFY(policy.check(QHostAddress("127.0.0.1")).allowed);
    }

    void refusalsCountedPerClass() {
        AddressPolicy policy;
        (void)policy.check(QHostAddress("127.0.0.1"));
        (void)policy.check(QHostAddress("::1"));
        (void)policy.check(QHostAddress("10.0.0.1"));
        (void)policy.check(QHostAddress("8.8.8.8"));
        QCOMPARE(policy.refusals(AddressClass::Loopback), uint64_t(2));
        QCOMPARE(policy.refusals(AddressClass::Private), uint64_t(1));
        QCOMPARE(policy.refusals(AddressClass::Public), uint64_t(0));
        QCOMPARE(policy.refusalsTotal(), uint64_t(3));
    }

    void concurrentChecks() {
        AddressPolicy policy;
        QVERIFY(policy.allowText("10.0.0.0/8").ok());
        constexpr int kThreads = 4;
        constexpr int kPerThread = 20000;
        std::vector<std::thread> threads;
        std::atomic<int> wrong{0};
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&] {
                for (int i = 0; i < kPerThread; ++i) {
                    if (policy.check(QHostAddress(quint32(0x7f000001))).allowed) ++wrong;
                    if (!policy.check(QHostAddress(quint32(0x0a000001))).allowed) ++wrong;
                }
            });
        }
        for (auto& th : threads) th.join();
        QCOMPARE(wrong.load(), 0);
        QCOMPARE(policy.refusals(AddressClass::Loopback), uint64_t(kThreads) * kPerThread);
    }

    void classNamesRoundTrip() {
        for (size_t i = 0; i < archivist::net::kAddressClassCount; ++i) {
            const auto cls = static_cast<AddressClass>(i);
            QCOMPARE(addressClassFromName(addressClassName(cls)), std::optional<AddressClass>(cls));
        }
        QVERIFY(!addressClassFromName("nope").has_value());
    }
};

QTEST_GUILESS_MAIN(TestAddressPolicy)
#include "tst_address_policy.moc"
