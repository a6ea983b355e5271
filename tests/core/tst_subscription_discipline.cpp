// Subscription discipline end to end: the engine archives with config's filter {"kinds":[1]}
// from a relay that sends kind-0 events on a subscription id never opened, kind-4 events on the
// real subscription, and events older than the live REQ's since. Only the five kind-1 events it
// asked for are stored; the rest is counted against the relay by reason — in the snapshot's relay
// row (the Relays panel), on /metrics, as an incident, and in `archivist relays --json` (the
// real binary, reading relays.sqlite after the engine stopped).
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include "core/engine/engine_impl.h"
#include "core/index/index_reader.h"
#include "core/observe/metrics.h"
#include "tests/support/fake_relay.h"
#include "tests/support/signed_events.h"

using namespace archivist;
using archivist::testing::FakeRelay;
using archivist::testing::FakeRelayOptions;
using observe::EventRefusal;

class TestSubscriptionDiscipline : public QObject {
    Q_OBJECT
private slots:
    void eventsNotAskedForAreCountedAndNeverStored() {
        FakeRelayOptions fo;
        fo.ignore_filters = true;
        fo.foreign_subscription_events = 5;
        FakeRelay relay(fo);
        QVERIFY(relay.start());
        testing::EventSigner s(31);
        const int64_t now = QDateTime::currentSecsSinceEpoch();
        for (int i = 0; i < 5; ++i) QVERIFY(relay.addEvent(s.make(now - 20 - i, 1, "note " + std::to_string(i))));
        for (int i = 0; i < 5; ++i) QVERIFY(relay.addEvent(s.make(now - 20 - i, 4, "dm " + std::to_string(i))));
        for (int i = 0; i < 3; ++i) QVERIFY(relay.addEvent(s.make(1700000000 + i, 1, "old note " + std::to_string(i))));
        const std::string url = relay.url().toStdString();

        QTemporaryDir dir;
        const std::string data = dir.path().toStdString();
        observe::MetricsRegistry metrics;
        {
            engine::EngineOptions eo;
            eo.snapshot_interval_ms = 100;
            eo.config.filter_json = R"({"kinds":[1]})";
            eo.config.relays = {url};
            eo.config.allow_addresses = {"127.0.0.1/32"};
            eo.config.seed_relays = false;
            eo.config.auto_relays = false;
            eo.config.backfill = false;  // the live subscription only: since = session start − 5 min
            auto opened = engine::EngineImpl::open(data, eo, metrics);
            QVERIFY2(opened, opened ? "" : opened.error().message.c_str());
            auto& eng = **opened;
            const auto row = [&]() -> engine::RelayRow {
                const auto snap = eng.snapshot();
                return snap.relays.isEmpty() ? engine::RelayRow{} : snap.relays.front();
            };
            const auto refused = [&](EventRefusal r) { return row().refused_by_reason[size_t(r) - 1]; };
            QTRY_COMPARE_WITH_TIMEOUT(refused(EventRefusal::UnknownSubscription), uint64_t(5), 20000);
            QTRY_COMPARE_WITH_TIMEOUT(refused(EventRefusal::OutsideFilter), uint64_t(8), 20000);
            QTRY_COMPARE_WITH_TIMEOUT(row().stored, uint64_t(5), 20000);
            QCOMPARE(row().invalid, uint64_t(0));  // refused before the pipeline, not "invalid"
            const std::string text = metrics.renderPrometheus();
            const std::string label = "relay=\"" + url + "\"";
            QVERIFY2(text.find("archivist_relay_events_refused{reason=\"unknown_subscription\"," + label + "} 5") !=
                         std::string::npos,
                     text.c_str());
            QVERIFY2(text.find("archivist_relay_events_refused{reason=\"outside_filter\"," + label + "} 8") !=
                         std::string::npos,
                     text.c_str());
            QTRY_VERIFY_WITH_TIMEOUT(
                [&] {
                    for (const auto& i : eng.snapshot().incidents)
                        if (i.kind == observe::IncidentKind::EventsOffSubscription && i.relay == url) return true;
                    return false;
                }(),
                5000);
            QTest::qWait(500);  // one more tick for the statistics
            QVERIFY(eng.shutdown());
        }
        // Never stored: the index holds the five kind-1 events asked for.
        auto reader = index::IndexReader::open(std::filesystem::path(data) / "index");
        QVERIFY(reader);
        QCOMPARE(*(*reader)->count({}), uint64_t(5));

        // The command line shows the reasons from relays.sqlite.
        QProcess cli;
        cli.start(QStringLiteral(ARCHIVIST_BINARY), {"relays", "--json", "--data-dir", dir.path()});
        QVERIFY(cli.waitForFinished(60000));
        QCOMPARE(cli.exitCode(), 0);
        const QJsonObject doc = QJsonDocument::fromJson(cli.readAllStandardOutput()).object();
        const QJsonArray relays = doc["relays"].toArray();
        QCOMPARE(relays.size(), 1);
        const QJsonObject r = relays[0].toObject();
        QCOMPARE(r["url"].toString(), QString::fromStdString(url));
        QCOMPARE(r["status"].toString(), QString("stopped"));
        QCOMPARE(r["rejected"].toObject()["unknown_subscription"].toInt(), 5);
        QCOMPARE(r["rejected"].toObject()["outside_filter"].toInt(), 8);
    }
};

QTEST_GUILESS_MAIN(TestSubscriptionDiscipline)
#include "tst_subscription_discipline.moc"
