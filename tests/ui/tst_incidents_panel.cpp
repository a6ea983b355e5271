// Incidents panel against a fake engine: the model passes the model tester across inserts,
// updates and removals; selecting an incident emits relaySelected and timeSelected;
// Acknowledge and Clear reach the engine facade; a selection survives later snapshots.
#include <QAbstractItemModelTester>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableView>
#include <QtTest>

#include "core/engine/engine.h"
#include "ui/incidents_model.h"
#include "ui/panels/incidents_panel.h"

#include "fake_engine.h"

using namespace archivist;
using observe::IncidentKind;
using observe::IncidentSeverity;


namespace {
observe::Incident inc(quint64 id, IncidentKind kind, const std::string& relay, qint64 last_ms, uint64_t count = 1) {
    observe::Incident i;
    i.id = id;
    i.kind = kind;
    i.severity = kind == IncidentKind::LowDisk ? IncidentSeverity::Critical : IncidentSeverity::Warning;
    i.first_ms = last_ms - 1000;
    i.last_ms = last_ms;
    i.relay = relay;
    i.count = count;
    i.message = "message " + std::to_string(id);
    return i;
}
engine::EngineSnapshot snap(QVector<observe::Incident> incidents) {
    engine::EngineSnapshot s;
    s.taken_at_ms = 1700000000000;
    s.incidents = std::move(incidents);
    return s;
}
}  // namespace

class TestIncidentsPanel : public QObject {
    Q_OBJECT
private slots:
    void modelPassesTheModelTester() {
        ui::IncidentsModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setIncidents({inc(1, IncidentKind::RelayStalled, "wss://a", 1000), inc(2, IncidentKind::LowDisk, "", 2000)});
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(model.data(model.index(0, ui::IncidentsModel::Kind)).toString(), QString("Low disk"));  // newest first
        // Insert in the middle, update one, remove one.
        model.setIncidents({inc(3, IncidentKind::AuthFailures, "wss://b", 3000), inc(1, IncidentKind::RelayStalled, "wss://a", 4000, 7)});
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(model.data(model.index(0, ui::IncidentsModel::Relay)).toString(), QString("wss://b"));
        QCOMPARE(model.data(model.index(1, ui::IncidentsModel::Count)).toULongLong(), 7ull);
        QVERIFY(model.data(model.index(1, ui::IncidentsModel::Severity), Qt::DecorationRole).canConvert<QColor>());
        model.setIncidents({inc(5, IncidentKind::SlowCommits, "", 1), inc(4, IncidentKind::WriteErrors, "", 1),
                            inc(3, IncidentKind::AuthFailures, "wss://b", 3000), inc(2, IncidentKind::LowDisk, "", 2)});
        QCOMPARE(model.rowCount(), 4);
        QCOMPARE(model.data(model.index(3, 0), ui::IncidentsModel::IdRole).toULongLong(), 2ull);
        // Alert 5 resolves: it moves below the firing ones (still newest first within each group).
        auto resolved = inc(5, IncidentKind::SlowCommits, "", 1);
        resolved.resolved_ms = 5000;
        model.setIncidents({inc(4, IncidentKind::WriteErrors, "", 1), inc(3, IncidentKind::AuthFailures, "wss://b", 3000),
                            inc(2, IncidentKind::LowDisk, "", 2), resolved});
        QCOMPARE(model.rowCount(), 4);
        QCOMPARE(model.data(model.index(3, 0), ui::IncidentsModel::IdRole).toULongLong(), 5ull);
        QVERIFY(!model.data(model.index(3, 0), ui::IncidentsModel::FiringRole).toBool());
        QVERIFY(model.data(model.index(3, ui::IncidentsModel::State)).toString().startsWith("Resolved"));
        QCOMPARE(model.data(model.index(0, ui::IncidentsModel::State)).toString(), QString("Firing"));
        model.setIncidents({});
        QCOMPARE(model.rowCount(), 0);
    }

    void selectingAnIncidentEmitsRelayAndTime() {
        FakeEngine engine;
        ui::IncidentsPanel panel(&engine);
        // The main window wires snapshots to panels (MainWindow::addPanelDock); a bare panel is wired here.
        QObject::connect(&engine, &engine::Engine::snapshotReady, &panel, &ui::IncidentsPanel::applySnapshot);
        panel.show();
        QSignalSpy relaySpy(&panel, &ui::IncidentsPanel::relaySelected);
        QSignalSpy timeSpy(&panel, &ui::IncidentsPanel::timeSelected);
        engine.publish(snap({inc(2, IncidentKind::LowDisk, "", 2000), inc(1, IncidentKind::RelayStalled, "wss://a", 1000)}));
        QCOMPARE(panel.model()->rowCount(), 2);
        QTableView* view = panel.findChild<QTableView*>("incidentsTable");
        QVERIFY(view);
        view->selectRow(1);
        QCOMPARE(relaySpy.count(), 1);
        QCOMPARE(relaySpy.at(0).at(0).toString(), QString("wss://a"));
        QCOMPARE(timeSpy.count(), 1);
        QCOMPARE(timeSpy.at(0).at(0).toLongLong(), 1000ll);
        // An engine-wide incident has no relay: only the time.
        view->selectRow(0);
        QCOMPARE(relaySpy.count(), 1);
        QCOMPARE(timeSpy.count(), 2);
        QCOMPARE(timeSpy.at(1).at(0).toLongLong(), 2000ll);
        // The selection follows its incident when a newer one appears above it, without re-emitting.
        engine.publish(snap({inc(3, IncidentKind::AuthFailures, "wss://c", 3000), inc(2, IncidentKind::LowDisk, "", 2500),
                             inc(1, IncidentKind::RelayStalled, "wss://a", 1000)}));
        QCOMPARE(view->selectionModel()->currentIndex().data(ui::IncidentsModel::IdRole).toULongLong(), 2ull);
        QCOMPARE(timeSpy.count(), 2);
    }

    void buttonsCallTheFacade() {
        FakeEngine engine;
        ui::IncidentsPanel panel(&engine);
        // The main window wires snapshots to panels (MainWindow::addPanelDock); a bare panel is wired here.
        QObject::connect(&engine, &engine::Engine::snapshotReady, &panel, &ui::IncidentsPanel::applySnapshot);
        panel.show();
        auto* ack = panel.findChild<QPushButton*>("acknowledgeButton");
        auto* clear = panel.findChild<QPushButton*>("clearButton");
        auto* clearAll = panel.findChild<QPushButton*>("clearAllButton");
        QVERIFY(ack && clear && clearAll);
        QVERIFY(!ack->isEnabled());  // nothing selected
        engine.publish(snap({inc(7, IncidentKind::RelayFlooding, "wss://f", 1000), inc(6, IncidentKind::LowDisk, "", 900)}));
        panel.view()->selectRow(1);
        QVERIFY(ack->isEnabled());
        QTest::mouseClick(ack, Qt::LeftButton);
        QCOMPARE(engine.acknowledged, QList<quint64>{6});
        // The engine reports it acknowledged: Acknowledge disables, Clear (acknowledged) enables.
        auto acked = inc(6, IncidentKind::LowDisk, "", 900);
        acked.acknowledged = true;
        engine.publish(snap({inc(7, IncidentKind::RelayFlooding, "wss://f", 1000), acked}));
        QVERIFY(!ack->isEnabled());
        QVERIFY(clear->isEnabled());
        QTest::mouseClick(clear, Qt::LeftButton);
        QTest::mouseClick(clearAll, Qt::LeftButton);
        QCOMPARE(engine.cleared, (QList<bool>{false, true}));
        engine.publish(snap({}));
        QVERIFY(!clearAll->isEnabled());
    }
};

QTEST_MAIN(TestIncidentsPanel)
#include "tst_incidents_panel.moc"
