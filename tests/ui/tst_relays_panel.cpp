// The Relays panel: the model under the model tester, in-place updates that keep the selection,
// derived columns (stored/s, novel share, rejections by reason), filter and sort, and the context
// menu's actions reaching the engine.
#include <QAbstractItemModelTester>
#include <QLocale>
#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QLineEdit>
#include <QMenu>
#include <QPlainTextEdit>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QHeaderView>
#include <QListWidget>
#include <QtTest>

#include "fake_engine.h"
#include "ui/panels/relays_panel.h"
#include "ui/relay_properties_view.h"
#include "ui/relays_model.h"

using namespace archivist;
using RelayAction = engine::Engine::RelayAction;

Q_DECLARE_METATYPE(engine::Engine::RelayAction)

namespace {
engine::RelayRow relay(const char* url, uint64_t stored, uint64_t duplicate = 0,
                           observe::RelayState state = observe::RelayState::Connected) {
    engine::RelayRow v;
    v.url = url;
    v.source = "user";
    v.state = state;
    v.stored = stored;
    v.duplicate = duplicate;
    v.rtt_ms = 42;
    return v;
}
engine::EngineSnapshot snap(qint64 at_ms, QVector<engine::RelayRow> relays) {
    engine::EngineSnapshot s;
    s.taken_at_ms = at_ms;
    s.relays = std::move(relays);
    s.relays_known = int(s.relays.size());
    return s;
}
QString cell(const QAbstractItemModel* m, const QString& url, int column) {
    for (int r = 0; r < m->rowCount(); ++r)
        if (m->index(r, 0).data(ui::RelaysModel::UrlRole).toString() == url) return m->index(r, column).data().toString();
    return "<absent>";
}
}  // namespace

class TestRelaysPanel : public QObject {
    Q_OBJECT
private slots:
    void modelUpdatesInPlaceUnderTheModelTester() {
        ui::RelaysModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        QSignalSpy removed(&model, &QAbstractItemModel::rowsRemoved);
        model.applyRelays({relay("wss://a.example", 100, 100), relay("wss://b.example", 0)}, 1000);
        QCOMPARE(model.rowCount(), 2);
        model.applyRelays({relay("wss://a.example", 300, 100), relay("wss://b.example", 5), relay("wss://c.example", 1)}, 3000);
        QCOMPARE(model.rowCount(), 3);
        const int a = model.rowOf("wss://a.example");
        QVERIFY(a >= 0);
        // stored/s from the delta: 200 events in 2 s; novel share 300 / (300 + 100).
        QCOMPARE(model.storedPerSecond(a), 100.0);
        QVERIFY(model.index(a, ui::RelaysModel::NovelShare).data().toString().startsWith("75"));
        model.applyRelays({relay("wss://c.example", 1), relay("wss://a.example", 300, 100)}, 4000);
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(model.rowOf("wss://b.example"), -1);
        // A moving average over 10 s: 200 events since the sample at 1 s, 3 s ago.
        QCOMPARE(model.storedPerSecond(model.rowOf("wss://a.example")), 200.0 / 3.0);
        QVERIFY(!model.index(model.rowOf("wss://a.example"), ui::RelaysModel::Status).data(Qt::DecorationRole).isNull());
        model.applyRelays({}, 5000);
        QCOMPARE(model.rowCount(), 0);
        QCOMPARE(resets.count(), 0);
        QCOMPARE(inserted.count(), 2);
        QCOMPARE(removed.count(), 2);
    }

    void rejectionsTotalWithReasonsInTheTooltip() {
        ui::RelaysModel model;
        auto v = relay("wss://bad.example", 10);
        v.invalid = 7;
        v.invalid_by_reason[size_t(protocol::Reject::BadSignature)] = 5;
        v.invalid_by_reason[size_t(protocol::Reject::IdMismatch)] = 2;
        model.applyRelays({v}, 1000);
        const QModelIndex idx = model.index(0, ui::RelaysModel::Rejections);
        QCOMPARE(idx.data().toString(), QString("7"));
        const QString tip = idx.data(Qt::ToolTipRole).toString();
        QVERIFY2(tip.contains("bad_signature: 5") && tip.contains("id_mismatch: 2"), qPrintable(tip));
    }

    // Events the relay sent that nobody asked for (subscription discipline) are rejections too,
    // with their own reasons.
    void refusedEventsCountAsRejectionsWithTheirReasons() {
        ui::RelaysModel model;
        auto v = relay("wss://sloppy.example", 10);
        v.invalid = 1;
        v.invalid_by_reason[size_t(protocol::Reject::BadSignature)] = 1;
        v.refused_by_reason[size_t(observe::EventRefusal::UnknownSubscription) - 1] = 5;
        v.refused_by_reason[size_t(observe::EventRefusal::OutsideFilter) - 1] = 4;
        model.applyRelays({v}, 1000);
        const QModelIndex idx = model.index(0, ui::RelaysModel::Rejections);
        QCOMPARE(idx.data().toString(), QString("10"));
        const QString tip = idx.data(Qt::ToolTipRole).toString();
        QVERIFY2(tip.contains("unknown_subscription (not on a subscription we opened): 5"), qPrintable(tip));
        QVERIFY2(tip.contains("outside_filter (outside the subscription's filter): 4"), qPrintable(tip));
        QVERIFY2(tip.contains("bad_signature: 1"), qPrintable(tip));
    }

    // The one vocabulary: the state's text comes from the one translation table.
    void statesShowTheirOneText() {
        ui::RelaysModel model;
        auto stopped = relay("wss://s.example", 0, 0, observe::RelayState::Stopped);
        auto candidate = relay("wss://c.example", 0, 0, observe::RelayState::Candidate);
        model.applyRelays({stopped, candidate}, 1000);
        QCOMPARE(model.index(model.rowOf("wss://s.example"), ui::RelaysModel::Status).data().toString(), QString("stopped"));
        QCOMPARE(model.index(model.rowOf("wss://c.example"), ui::RelaysModel::Status).data().toString(),
                 QString("candidate"));
        QCOMPARE(ui::relayStateText(observe::RelayState::BackingOff), QString("backing off"));
    }

    void selectionSurvivesSnapshotsAndFilterWorks() {
        FakeEngine engine;
        ui::RelaysPanel panel(&engine);
        panel.show();
        panel.applySnapshot(snap(1000, {relay("wss://a.example", 1), relay("wss://damus.example", 2), relay("wss://z.example", 3)}));
        panel.highlightRelay("wss://damus.example");
        QCOMPARE(panel.currentUrl(), QString("wss://damus.example"));
        // A new relay sorting before it, and changed counters: the same relay stays selected.
        panel.applySnapshot(snap(2000, {relay("wss://0.example", 1), relay("wss://a.example", 9), relay("wss://damus.example", 50),
                                        relay("wss://z.example", 3)}));
        QCOMPARE(panel.currentUrl(), QString("wss://damus.example"));
        QCOMPARE(cell(panel.view()->model(), "wss://damus.example", ui::RelaysModel::StoredPerSecond).toDouble(), 48.0);

        auto* filter = panel.findChild<QLineEdit*>("relayFilter");
        QVERIFY(filter);
        QTest::keyClicks(filter, "DAMUS");
        QCOMPARE(panel.view()->model()->rowCount(), 1);
        filter->clear();
        QCOMPARE(panel.view()->model()->rowCount(), 4);
    }

    void sortsNumbersAsNumbers() {
        FakeEngine engine;
        ui::RelaysPanel panel(&engine);
        panel.applySnapshot(snap(1000, {relay("wss://a.example", 0, 9), relay("wss://b.example", 0, 10), relay("wss://c.example", 0, 100)}));
        panel.view()->sortByColumn(ui::RelaysModel::Duplicates, Qt::DescendingOrder);
        auto* m = panel.view()->model();
        QCOMPARE(m->index(0, ui::RelaysModel::Url).data().toString(), QString("wss://c.example"));
        QCOMPARE(m->index(2, ui::RelaysModel::Url).data().toString(), QString("wss://a.example"));
    }

    void contextMenuActionsReachTheEngine_data() {
        QTest::addColumn<QString>("actionName");
        QTest::addColumn<RelayAction>("expected");
        QTest::addColumn<int>("state");
        QTest::addColumn<bool>("pinned");
        QTest::newRow("connect") << "actionRelayConnect" << RelayAction::Connect << int(observe::RelayState::Stopped) << false;
        QTest::newRow("disconnect") << "actionRelayDisconnect" << RelayAction::Disconnect << int(observe::RelayState::Connected) << false;
        QTest::newRow("block") << "actionRelayBlock" << RelayAction::Block << int(observe::RelayState::Connected) << false;
        QTest::newRow("unblock") << "actionRelayUnblock" << RelayAction::Unblock << int(observe::RelayState::Blocked) << false;
        QTest::newRow("backfill") << "actionRelayBackfill" << RelayAction::BackfillNow << int(observe::RelayState::Connected) << false;
        QTest::newRow("pin") << "actionRelayPin" << RelayAction::Pin << int(observe::RelayState::Connected) << false;
        QTest::newRow("unpin") << "actionRelayUnpin" << RelayAction::Unpin << int(observe::RelayState::Connected) << true;
    }
    void contextMenuActionsReachTheEngine() {
        QFETCH(QString, actionName);
        QFETCH(RelayAction, expected);
        QFETCH(int, state);
        QFETCH(bool, pinned);
        FakeEngine engine;
        ui::RelaysPanel panel(&engine);
        panel.resize(900, 300);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        auto b = relay("wss://b.example", 1, 0, observe::RelayState(state));
        b.pinned = pinned;
        panel.applySnapshot(snap(1000, {relay("wss://a.example", 1), b}));
        // Right-click on b's row opens the menu; choose the action in it.
        const int row = panel.view()->model()->index(0, 0).data(ui::RelaysModel::UrlRole).toString() == "wss://b.example" ? 0 : 1;
        const QRect rect = panel.view()->visualRect(panel.view()->model()->index(row, ui::RelaysModel::Status));
        bool chosen = false;
        QTimer::singleShot(0, this, [&] {
            auto* menu = qobject_cast<QMenu*>(QApplication::activePopupWidget());
            QVERIFY(menu);
            QAction* action = nullptr;
            for (auto* a : menu->actions())
                if (a->objectName() == actionName) action = a;
            QVERIFY(action);
            QVERIFY(action->isEnabled());
            action->trigger();
            menu->close();
            chosen = true;
        });
        emit panel.view()->customContextMenuRequested(rect.center());
        QTRY_VERIFY(chosen);
        QCOMPARE(engine.actions.size(), 1);
        QCOMPARE(engine.actions[0].first, QString("wss://b.example"));
        QCOMPARE(engine.actions[0].second, expected);
    }

    void pinnedRelayOffersUnpinOnly() {
        FakeEngine engine;
        ui::RelaysPanel panel(&engine);
        auto a = relay("wss://a.example", 1);
        a.pinned = true;
        panel.applySnapshot(snap(1000, {a, relay("wss://b.example", 1)}));
        panel.highlightRelay("wss://a.example");
        panel.contextMenu();
        QVERIFY(!panel.pinAction()->isEnabled());
        QVERIFY(panel.unpinAction()->isEnabled());
        panel.highlightRelay("wss://b.example");
        panel.contextMenu();
        QVERIFY(panel.pinAction()->isEnabled());
        QVERIFY(!panel.unpinAction()->isEnabled());
    }

    void scoreUptimeAndPinnedColumns() {
        FakeEngine engine;
        ui::RelaysPanel panel(&engine);
        auto a = relay("wss://a.example", 1);
        a.pinned = true;
        a.score = 0.734;
        a.uptime_24h = 0.5;
        auto b = relay("wss://b.example", 1);  // not scored yet: blank cells
        auto c = relay("wss://c.example", 1);
        c.score = 0.2;
        panel.applySnapshot(snap(1000, {a, b, c}));
        auto* m = panel.view()->model();
        QCOMPARE(m->headerData(ui::RelaysModel::Score, Qt::Horizontal).toString(), QString("Score"));
        QCOMPARE(cell(m, "wss://a.example", ui::RelaysModel::Score), QLocale().toString(0.73, 'f', 2));
        QCOMPARE(cell(m, "wss://a.example", ui::RelaysModel::Uptime24h), QString("50 %"));
        QCOMPARE(cell(m, "wss://a.example", ui::RelaysModel::Pinned), QString("pinned"));
        QCOMPARE(cell(m, "wss://b.example", ui::RelaysModel::Score), QString());
        QCOMPARE(cell(m, "wss://b.example", ui::RelaysModel::Uptime24h), QString());
        QCOMPARE(cell(m, "wss://b.example", ui::RelaysModel::Pinned), QString());
        panel.view()->sortByColumn(ui::RelaysModel::Score, Qt::DescendingOrder);
        QCOMPARE(m->index(0, ui::RelaysModel::Url).data().toString(), QString("wss://a.example"));
        QCOMPARE(m->index(2, ui::RelaysModel::Url).data().toString(), QString("wss://b.example"));
    }

    void blockedRelayOffersUnblockOnly() {
        FakeEngine engine;
        ui::RelaysPanel panel(&engine);
        panel.applySnapshot(snap(1000, {relay("wss://b.example", 1, 0, observe::RelayState::Blocked)}));
        panel.highlightRelay("wss://b.example");
        panel.contextMenu();
        QVERIFY(!panel.blockAction()->isEnabled());
        QVERIFY(panel.unblockAction()->isEnabled());
        QVERIFY(!panel.connectAction()->isEnabled());
    }

    void actionErrorsAreReported() {
        FakeEngine engine;
        engine.actionError = "relay is not in the pool";
        ui::RelaysPanel panel(&engine);
        QSignalSpy messages(&panel, &ui::RelaysPanel::statusMessage);
        panel.applySnapshot(snap(1000, {relay("wss://a.example", 1)}));
        panel.highlightRelay("wss://a.example");
        panel.disconnectAction()->trigger();
        QCOMPARE(messages.count(), 1);
        QVERIFY(messages[0][0].toString().contains("relay is not in the pool"));
    }

    void copyUrlAndShowNip11Document() {
        FakeEngine engine;
        engine.infoDocuments["wss://a.example"] = R"({"name":"Relay A","supported_nips":[1,11]})";
        ui::RelaysPanel panel(&engine);
        QSignalSpy messages(&panel, &ui::RelaysPanel::statusMessage);
        panel.applySnapshot(snap(1000, {relay("wss://a.example", 1), relay("wss://b.example", 1)}));
        panel.highlightRelay("wss://a.example");
        panel.copyUrlAction()->trigger();
        QCOMPARE(QGuiApplication::clipboard()->text(), QString("wss://a.example"));

        panel.showInfoAction()->trigger();
        QVERIFY(!panel.findChild<QPlainTextEdit*>("relayInfoText"));  // asked, not waited for
        QTRY_VERIFY(panel.findChild<QPlainTextEdit*>("relayInfoText"));
        auto* text = panel.findChild<QPlainTextEdit*>("relayInfoText");
        QVERIFY(text->toPlainText().contains("\"name\": \"Relay A\""));  // pretty-printed

        panel.highlightRelay("wss://b.example");
        messages.clear();
        panel.showInfoAction()->trigger();
        QTRY_COMPARE(messages.count(), 1);
        QVERIFY(messages[0][0].toString().contains("No NIP-11 document"));
    }

    void selectingARowAnnouncesTheRelay() {
        FakeEngine engine;
        ui::RelaysPanel panel(&engine);
        QSignalSpy selected(&panel, &ui::RelaysPanel::relaySelected);
        panel.applySnapshot(snap(1000, {relay("wss://a.example", 1), relay("wss://b.example", 1)}));
        panel.view()->selectRow(1);
        QCOMPARE(selected.count(), 1);
        QCOMPARE(selected[0][0].toString(), QString("wss://b.example"));
    }

    // The properties pane follows the selection: state, last error, backfill, NIP-11, history and
    // the alerts naming the relay. Remove reaches the engine (Delete key too).
    void propertiesPaneAndRemove() {
        FakeEngine engine;
        ui::RelaysPanel panel(&engine);
        panel.resize(1280, 700);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        auto down = relay("ws://127.0.0.1:3001", 5, 0, observe::RelayState::BackingOff);
        down.last_error = "connect_failed: Connection refused";
        down.consecutive_failures = 3;
        down.info_name = "local test relay";
        auto s = snap(1000, {relay("ws://127.0.0.1:3000", 10), down});
        observe::Incident alert;
        alert.id = 7;
        alert.kind = observe::IncidentKind::ConnectionRefused;
        alert.relay = "ws://127.0.0.1:3001";
        alert.message = "connect_failed: Connection refused (3 failed attempts)";
        alert.first_ms = alert.last_ms = 900;
        s.incidents = {alert};
        for (qint64 t = 1000; t <= 4000; t += 250) {
            s.taken_at_ms = t;
            s.relays[0].stored += 5;
            panel.applySnapshot(s);
        }
        panel.highlightRelay("ws://127.0.0.1:3001");
        const QString text = panel.properties()->text();
        QVERIFY2(text.contains("ws://127.0.0.1:3001"), qPrintable(text));
        QVERIFY2(text.contains("Connection refused"), qPrintable(text));
        QVERIFY2(text.contains("local test relay"), qPrintable(text));
        auto* alerts = panel.properties()->findChild<QListWidget*>("relayAlerts");
        QVERIFY(alerts && alerts->count() == 1 && alerts->item(0)->text().contains("Connection refused"));
        // A disconnected relay shows no RTT; its status has the failing colour's icon.
        QCOMPARE(cell(panel.view()->model(), "ws://127.0.0.1:3001", ui::RelaysModel::Rtt), QString());
        QCOMPARE(cell(panel.view()->model(), "ws://127.0.0.1:3000", ui::RelaysModel::Rtt), QString("42 ms"));
        // The key columns fit in the panel at 1280 px.
        auto* header = panel.view()->horizontalHeader();
        const int right = header->sectionViewportPosition(ui::RelaysModel::LastError) + header->sectionSize(ui::RelaysModel::LastError);
        QVERIFY2(right <= panel.view()->viewport()->width(), qPrintable(QString("%1 > %2").arg(right).arg(panel.view()->viewport()->width())));
        // Remove.
        QVERIFY(panel.removeAction()->isEnabled());
        panel.view()->setFocus();
        QTest::keyClick(panel.view(), Qt::Key_Delete);
        QCOMPARE(engine.actions.size(), 1);
        QCOMPARE(engine.actions[0].first, QString("ws://127.0.0.1:3001"));
        QCOMPARE(engine.actions[0].second, RelayAction::Remove);
    }
};

QTEST_MAIN(TestRelaysPanel)
#include "tst_relays_panel.moc"
