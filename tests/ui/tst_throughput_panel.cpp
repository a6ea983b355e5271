// Throughput panel, offscreen: snapshots add points to the stored/duplicate/rejected series, the
// ring stays bounded, the busiest relays (top 5 by stored rate) get series, and highlightTime /
// highlightRelay mark the chart.
#include <QDateTimeAxis>
#include <QLineSeries>
#include <QValueAxis>
#include <cmath>
#include <QtTest>

#include "core/engine/engine.h"
#include "ui/panels/throughput_panel.h"

#include "fake_engine.h"

using namespace archivist;


namespace {
constexpr qint64 kT0 = 1700000000000;
engine::EngineSnapshot snap(int tick) {
    engine::EngineSnapshot s;
    s.taken_at_ms = kT0 + tick * 1000;  // the chart keeps one point a second
    s.stored_per_s = 100 + tick;
    s.duplicate_per_s = 50;
    s.rejected_per_s = 2;
    // Relay i stores (i+1)*10 events per second: relay 7 is busiest, relays 0 and 1 are not in the top 5.
    for (int i = 0; i < 8; ++i) {
        engine::RelayRow r;
        r.url = "wss://relay" + std::to_string(i) + ".example";
        r.stored = uint64_t(tick) * uint64_t(i + 1) * 10;
        s.relays.push_back(r);
    }
    return s;
}
}  // namespace

class TestThroughputPanel : public QObject {
    Q_OBJECT
private slots:
    void snapshotsAddPoints() {
        FakeEngine engine;
        ui::ThroughputPanel panel(&engine);
        // The main window wires snapshots to panels (MainWindow::addPanelDock); a bare panel is wired here.
        QObject::connect(&engine, &engine::Engine::snapshotReady, &panel, &ui::ThroughputPanel::applySnapshot);
        panel.show();
        for (int i = 0; i < 3; ++i) engine.publish(snap(i));
        QCOMPARE(panel.storedSeries()->count(), 3);
        QCOMPARE(panel.duplicateSeries()->count(), 3);
        QCOMPARE(panel.rejectedSeries()->count(), 3);
        // A 10 s moving average: the mean of 100, 101 and 102.
        QCOMPARE(panel.storedSeries()->at(2), QPointF(double(kT0 + 2000), 101.0));
        QCOMPARE(panel.rejectedSeries()->at(0).y(), 2.0);
    }

    void shippedSeriesOnlyWithASink() {
        ui::ThroughputPanel panel(nullptr);
        panel.applySnapshot(snap(0));
        QVERIFY(!panel.shippedSeries()->isVisible());
        QCOMPARE(panel.shippedSeries()->count(), 0);
        for (int i = 1; i <= 3; ++i) {
            auto s = snap(i);
            s.sink.configured = true;
            s.sink.events_per_s = 1000.0 * i;
            panel.applySnapshot(s);
        }
        QVERIFY(panel.shippedSeries()->isVisible());
        QCOMPARE(panel.shippedSeries()->count(), 3);
        QCOMPARE(panel.shippedSeries()->at(2), QPointF(double(kT0 + 3000), 2000.0));  // mean of 1000, 2000, 3000
    }

    void ringStaysBounded() {
        ui::ThroughputPanel panel(nullptr);
        const int n = ui::ThroughputPanel::kMaxPoints + 300;
        for (int i = 0; i < n; ++i) panel.applySnapshot(snap(i));
        QCOMPARE(panel.storedSeries()->count(), ui::ThroughputPanel::kMaxPoints);
        QCOMPARE(panel.storedSeries()->at(panel.storedSeries()->count() - 1).x(), double(kT0 + qint64(n - 1) * 1000));
        for (auto* s : panel.relaySeries()) QVERIFY(s->count() <= ui::ThroughputPanel::kMaxPoints);
        // A gap longer than the window drops everything older than the window.
        auto late = snap(n + 60 * 10);  // ten minutes later
        panel.applySnapshot(late);
        QCOMPARE(panel.storedSeries()->count(), 1);
    }

    void busiestRelaysAreCharted() {
        ui::ThroughputPanel panel(nullptr);
        for (int i = 0; i < 5; ++i) panel.applySnapshot(snap(i));
        QStringList shown;
        for (auto* s : panel.relaySeries())
            if (s->isVisible()) shown << s->name();
        QCOMPARE(shown, (QStringList{"wss://relay7.example", "wss://relay6.example", "wss://relay5.example",
                                     "wss://relay4.example", "wss://relay3.example"}));
        // relay7 stores 80 events a second.
        QCOMPARE(panel.relaySeries()[0]->at(panel.relaySeries()[0]->count() - 1).y(), 80.0);
        // A relay that leaves the snapshot leaves the chart.
        auto s = snap(5);
        s.relays.removeLast();
        panel.applySnapshot(s);
        QCOMPARE(panel.relaySeries()[0]->name(), QString("wss://relay6.example"));
    }

    void highlightRelayEmphasisesItsSeries() {
        ui::ThroughputPanel panel(nullptr);
        for (int i = 0; i < 3; ++i) panel.applySnapshot(snap(i));
        panel.highlightRelay("wss://relay6.example");
        for (auto* s : panel.relaySeries()) {
            if (!s->isVisible()) continue;
            const bool target = s->name() == "wss://relay6.example";
            QCOMPARE(s->pen().widthF() > 2, target);
        }
        // A relay that is not shown changes nothing (and does not crash).
        panel.highlightRelay("wss://relay0.example");
        for (auto* s : panel.relaySeries()) QVERIFY(s->pen().widthF() <= 2);
    }

    void highlightTimeDrawsAMarker() {
        ui::ThroughputPanel panel(nullptr);
        panel.show();
        for (int i = 0; i < 10; ++i) panel.applySnapshot(snap(i));
        QVERIFY(!panel.timeMarker()->isVisible());
        const qint64 at = kT0 + 4000;
        panel.highlightTime(at);
        QVERIFY(panel.timeMarker()->isVisible());
        QCOMPARE(panel.timeMarker()->count(), 2);
        QCOMPARE(panel.timeMarker()->at(0).x(), double(at));
        QCOMPARE(panel.timeMarker()->at(1).x(), double(at));
        QVERIFY(panel.timeMarker()->at(1).y() >= 104.0);  // spans the plotted range
        panel.applySnapshot(snap(10));
        QCOMPARE(panel.timeMarker()->at(0).x(), double(at));  // stays while new points arrive
        QVERIFY(panel.markerNote().isEmpty());
        // A time outside the window (an event from years ago) does not stretch the axis.
        panel.highlightTime(kT0 - qint64(3) * 365 * 86400 * 1000);
        QVERIFY(!panel.timeMarker()->isVisible());
        QVERIFY(!panel.markerNote().isEmpty());
        QCOMPARE(panel.timeAxis()->min().toMSecsSinceEpoch(),
                 (kT0 + 10 * 1000) / ui::ThroughputPanel::kTickMs * ui::ThroughputPanel::kTickMs +
                     ui::ThroughputPanel::kTickMs - ui::ThroughputPanel::kWindowMs);
    }

    // Round ticks: the value axis ends on a round number; the time axis on round 30 s ticks with
    // the date in its title; the log scale keeps every series drawable.
    void roundTicksAndLogScale() {
        ui::ThroughputPanel panel(nullptr);
        panel.show();
        for (int i = 0; i < 8; ++i) {
            auto s = snap(i);
            s.stored_per_s = 4713;  // the kind of number that made ticks like 1178/2357/3535
            panel.applySnapshot(s);
        }
        auto* y = panel.valueAxis();
        QVERIFY(y);
        const double step = (y->max() - y->min()) / (y->tickCount() - 1);
        QVERIFY2(std::fmod(step, std::pow(10.0, std::floor(std::log10(step)))) == 0.0, qPrintable(QString::number(step)));
        QVERIFY(y->max() >= 4713);
        auto* x = panel.timeAxis();
        QCOMPARE(x->max().toMSecsSinceEpoch() % ui::ThroughputPanel::kTickMs, 0);
        QVERIFY(x->titleText().contains(QLocale().toString(QDateTime::fromMSecsSinceEpoch(kT0).date(), QLocale::ShortFormat)));
        panel.setLogScale(true);
        QVERIFY(panel.logScale());
        for (const auto& p : panel.rejectedSeries()->points()) QVERIFY(p.y() >= ui::ThroughputPanel::kLogFloor);
        panel.setLogScale(false);
        QVERIFY(!panel.logScale());
    }
};

QTEST_MAIN(TestThroughputPanel)
#include "tst_throughput_panel.moc"
