// The engine facade's relay calls against the real engine: URLs checked as the engine takes them
// (checkRelayUrls), a relay added in one hop (normalised and checked once, then carried out on the
// owner of relay state's thread), refused before any work when its literal address is refused or
// it is already in the pool, and operator actions reaching the pool and the directory in the one
// state vocabulary — also on a relay whose address the policy refuses.
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "core/engine/engine_impl.h"
#include "core/observe/metrics.h"
#include "tests/support/fake_relay.h"

using namespace archivist;
using archivist::testing::FakeRelay;
using observe::RelayState;
using Problem = engine::RelayUrlCheck::Problem;

class TestEngineRelays : public QObject {
    Q_OBJECT
private slots:
    void addCheckAndAct() {
        FakeRelay relay;
        QVERIFY(relay.start());
        const QString url = relay.url();
        QTemporaryDir dir;
        observe::MetricsRegistry metrics;
        engine::EngineOptions eo;
        eo.snapshot_interval_ms = 100;
        eo.config.allow_addresses = {"127.0.0.1/32"};
        eo.config.seed_relays = false;
        eo.config.auto_relays = false;
        eo.config.backfill = false;
        auto opened = engine::EngineImpl::open(dir.path().toStdString(), eo, metrics);
        QVERIFY2(opened, opened ? "" : opened.error().message.c_str());
        auto& eng = **opened;
        qRegisterMetaType<engine::DirectoryPage>();
        QSignalSpy failed(&eng, &engine::Engine::relayActionFailed);
        QSignalSpy pages(&eng, &engine::Engine::directoryReady);

        const auto checks = eng.checkRelayUrls({"wss://Relay.Example.COM/", "http://x.example", "ws://10.0.0.1", url});
        QCOMPARE(checks.size(), 4);
        QCOMPARE(checks[0].problem, Problem::None);
        QCOMPARE(checks[0].normalized, QString("wss://relay.example.com"));
        QCOMPARE(checks[1].problem, Problem::Scheme);
        QCOMPARE(checks[2].problem, Problem::AddressRefused);
        QVERIFY2(checks[2].detail.contains("private"), qPrintable(checks[2].detail));
        QCOMPARE(checks[3].problem, Problem::None);
        QVERIFY2(checks[3].detail.contains("allowed by 127.0.0.1/32"), qPrintable(checks[3].detail));

        const auto row = [&](const QString& u) -> std::optional<engine::RelayRow> {
            for (const auto& r : eng.snapshot().relays)
                if (QString::fromStdString(r.url) == u) return r;
            return std::nullopt;
        };
        QString normalized, error;
        QVERIFY2(eng.addRelay(url + "/", &normalized, &error), qPrintable(error));
        QCOMPARE(normalized, url);
        QTRY_VERIFY_WITH_TIMEOUT(row(url) && row(url)->state == RelayState::Connected, 10000);
        QCOMPARE(row(url)->source, std::string("user"));
        QVERIFY(!eng.addRelay(url, &normalized, &error));
        QVERIFY2(error.contains("already in the pool"), qPrintable(error));
        QVERIFY(!eng.addRelay("ws://10.0.0.1", &normalized, &error));
        QVERIFY2(error.contains("private"), qPrintable(error));

        // Block: the connection and the directory say the same.
        QVERIFY(eng.relayAction(url, engine::Engine::RelayAction::Block, &error));
        QTRY_VERIFY_WITH_TIMEOUT(row(url) && row(url)->state == RelayState::Blocked, 10000);
        engine::DirectoryRequest req;
        req.text = url;
        QTRY_VERIFY_WITH_TIMEOUT(
            [&] {
                const quint64 id = eng.requestDirectory(req);
                if (!pages.wait(5000)) return false;
                const auto args = pages.takeLast();
                const auto page = args[1].value<engine::DirectoryPage>();
                return args[0].toULongLong() == id && page.rows.size() == 1 && page.rows[0].blocked &&
                       page.rows[0].status == RelayState::Blocked;
            }(),
            10000);

        // Acting on a relay needs only its canonical URL, not the policy's blessing: an action on
        // a refused literal is accepted and fails where it is carried out (not in the pool).
        QVERIFY2(eng.relayAction("ws://10.0.0.2", engine::Engine::RelayAction::Remove, &error), qPrintable(error));
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 10000);
        QCOMPARE(failed[0][0].toString(), QString("ws://10.0.0.2"));
        QVERIFY(failed[0][1].toString().contains("not in the pool"));

        QVERIFY(eng.relayAction(url, engine::Engine::RelayAction::Remove, &error));
        QTRY_VERIFY_WITH_TIMEOUT(!row(url), 10000);
        QVERIFY(eng.shutdown());
    }

    // The relay goes away: "connection refused" fires after its hold time, resolves itself when
    // the relay is back, and the history survives a restart (relays.sqlite).
    // "Allow this address" without a restart: a configured loopback relay the policy refused
    // connects once the running engine is given the rule (and typed URLs are checked with it).
    void allowingAnAddressRetriesTheRefusedRelayAtOnce() {
        FakeRelay relay;
        QVERIFY(relay.start());
        const QString url = relay.url();
        QTemporaryDir dir;
        observe::MetricsRegistry metrics;
        engine::EngineOptions eo;
        eo.snapshot_interval_ms = 100;
        eo.config.relays = {url.toStdString()};  // no allow rule: refused
        eo.config.seed_relays = false;
        eo.config.auto_relays = false;
        eo.config.backfill = false;
        auto opened = engine::EngineImpl::open(dir.path().toStdString(), eo, metrics);
        QVERIFY2(opened, opened ? "" : opened.error().message.c_str());
        auto& eng = **opened;
        const auto state = [&]() -> std::optional<RelayState> {
            for (const auto& r : eng.snapshot().relays)
                if (QString::fromStdString(r.url) == url) return r.state;
            return std::nullopt;
        };
        QTRY_VERIFY_WITH_TIMEOUT(state() == RelayState::Refused, 10000);
        QCOMPARE(eng.checkRelayUrls({url})[0].problem, Problem::AddressRefused);
        QString error;
        QVERIFY(!eng.allowAddress("not an address", &error));
        QVERIFY(!error.isEmpty());
        QVERIFY2(eng.allowAddress("127.0.0.1/32", &error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(state() == RelayState::Connected, 10000);
        QCOMPARE(eng.checkRelayUrls({url})[0].problem, Problem::None);
        QCOMPARE(eng.runningConfig().allow_addresses, std::vector<std::string>{"127.0.0.1/32"});
        QVERIFY(eng.shutdown());
    }

    void anAlertFiresResolvesAndIsKeptAcrossARestart() {
        FakeRelay relay;
        QVERIFY(relay.start());
        const QString url = relay.url();
        const quint16 port = relay.port();
        QTemporaryDir dir;
        engine::EngineOptions eo;
        eo.snapshot_interval_ms = 100;
        eo.config.allow_addresses = {"127.0.0.1/32"};
        eo.config.seed_relays = false;
        eo.config.auto_relays = false;
        eo.config.backfill = false;
        eo.incidents.relay_down_hold_ms = 300;
        eo.incidents.offline_hold_ms = 300;
        const auto alerts = [](engine::EngineImpl& e, observe::IncidentKind kind, bool firing) {
            int n = 0;
            for (const auto& a : e.snapshot().incidents) n += a.kind == kind && a.firing() == firing;
            return n;
        };
        {
            observe::MetricsRegistry metrics;
            auto opened = engine::EngineImpl::open(dir.path().toStdString(), eo, metrics);
            QVERIFY2(opened, opened ? "" : opened.error().message.c_str());
            auto& eng = **opened;
            QString normalized, error;
            QVERIFY2(eng.addRelay(url, &normalized, &error), qPrintable(error));
            QTRY_COMPARE_WITH_TIMEOUT(eng.snapshot().relays_open, 1, 10000);
            QCOMPARE(eng.snapshot().incidents.size(), 0);  // healthy: nothing
            relay.stop();
            QTRY_COMPARE_WITH_TIMEOUT(alerts(eng, observe::IncidentKind::ConnectionRefused, true), 1, 15000);
            QTRY_COMPARE_WITH_TIMEOUT(alerts(eng, observe::IncidentKind::Offline, true), 1, 15000);
            QVERIFY(relay.start(port));
            QTRY_COMPARE_WITH_TIMEOUT(alerts(eng, observe::IncidentKind::ConnectionRefused, false), 1, 30000);
            QTRY_COMPARE_WITH_TIMEOUT(alerts(eng, observe::IncidentKind::Offline, false), 1, 10000);
            QCOMPARE(alerts(eng, observe::IncidentKind::ConnectionRefused, true), 0);
            QVERIFY(eng.shutdown());
        }
        observe::MetricsRegistry metrics;
        eo.network = true;
        auto opened = engine::EngineImpl::open(dir.path().toStdString(), eo, metrics);
        QVERIFY(opened);
        QTRY_VERIFY_WITH_TIMEOUT(!(*opened)->snapshot().incidents.isEmpty(), 5000);
        const auto history = (*opened)->snapshot().incidents;
        bool refused = false;
        for (const auto& a : history)
            if (a.kind == observe::IncidentKind::ConnectionRefused) {
                refused = true;
                QVERIFY(!a.firing());
                QCOMPARE(QString::fromStdString(a.relay), url);
            }
        QVERIFY(refused);
        QVERIFY((*opened)->shutdown());
    }
};

QTEST_GUILESS_MAIN(TestEngineRelays)
#include "tst_engine_relays.moc"
