// The Discovery panel: the directory model under the model tester with lazy offset paging, the
// filter bar's DirectoryRequest, stale answers ignored, re-reads when the directory grows (at most
// every 2 s), the Add/Pin/Unpin/Block/Unblock buttons reaching the engine with the selected URLs
// and their outcome in the status line, and the discovery counts.
#include <QAbstractItemModelTester>
#include <QCheckBox>
#include <QComboBox>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableView>
#include <QtTest>

#include "fake_engine.h"
#include "ui/directory_model.h"
#include "ui/panels/discovery_panel.h"

using namespace archivist;
using RelayAction = engine::Engine::RelayAction;

Q_DECLARE_METATYPE(engine::Engine::RelayAction)

namespace {
constexpr qint64 kNow = 1'700'000'000'000;

engine::DirectoryEntryView entry(int i, const char* source = "nip65", const char* status = "candidate") {
    engine::DirectoryEntryView e;
    e.url = QStringLiteral("wss://relay%1.example").arg(i, 4, 10, QChar('0'));
    e.source = QString::fromLatin1(source);
    e.status = observe::relayStateFromName(status);
    e.blocked = e.status == observe::RelayState::Blocked;
    e.score = 1.0 - i / 10000.0;  // relay0000 best
    e.first_seen_ms = kNow - 86'400'000;
    e.last_seen_ms = kNow - i * 1000;
    e.uptime_24h = 0.5;
    e.open_rtt_ms = 120;
    e.read_rtt_ms = 240;
    e.last_probe_ms = kNow - 5000;
    e.last_probe_ok = true;
    e.nip11_name = QStringLiteral("Relay %1").arg(i);
    e.nip11_software = "strfry";
    e.nip11_summary = "NIPs 1, 11 · max_limit 500";
    return e;
}
QVector<engine::DirectoryEntryView> entries(int n) {
    QVector<engine::DirectoryEntryView> out;
    for (int i = 0; i < n; ++i) out << entry(i);
    return out;
}
engine::EngineSnapshot sizeSnap(qint64 at_ms, quint64 directory_size) {
    engine::EngineSnapshot s;
    s.taken_at_ms = at_ms;
    s.intelligence.discovery.directory_size = directory_size;
    return s;
}
int rowOfUrl(const ui::DirectoryModel* m, const QString& url) {
    for (int r = 0; r < m->rowCount(); ++r)
        if (m->entry(r)->url == url) return r;
    return -1;
}
}  // namespace

class TestDiscoveryPanel : public QObject {
    Q_OBJECT
private slots:
    void modelPagesLazilyUnderTheModelTester() {
        FakeEngine engine;
        engine.directory = entries(450);
        engine.answerDirectoryQueued = true;
        ui::DirectoryModel model(&engine);
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        engine::DirectoryRequest r;
        r.order = "url";
        model.setRequest(r);
        QTRY_COMPARE(model.rowCount(), 200);
        QCOMPARE(model.totalMatching(), quint64(450));
        QVERIFY(model.canFetchMore());
        model.fetchMore();
        QTRY_COMPARE(model.rowCount(), 400);
        model.fetchMore();
        QTRY_COMPARE(model.rowCount(), 450);
        QVERIFY(model.atEnd());
        QVERIFY(!model.canFetchMore());
        QCOMPARE(model.index(0, ui::DirectoryModel::Url).data().toString(), QString("wss://relay0000.example"));
        QCOMPARE(model.index(449, ui::DirectoryModel::Url).data().toString(), QString("wss://relay0449.example"));
        QCOMPARE(model.index(0, ui::DirectoryModel::OpenRtt).data().toString(), QString("120 ms"));
        QCOMPARE(model.index(0, ui::DirectoryModel::Nip11Software).data().toString(), QString("strfry"));
        // Every request after the first continued at the rows loaded.
        for (int i = 0; i < engine.directoryRequests.size(); ++i)
            QCOMPARE(engine.directoryRequests[i].offset, 200 * i);
    }

    void pagingAsksForOffsetEqualToRowsLoaded() {
        FakeEngine engine;
        engine.directory = entries(300);
        ui::DiscoveryPanel panel(&engine);
        panel.model()->setPageSize(120);
        panel.applyFilter();
        const quint64 first = engine.lastDirectoryId();
        QCOMPARE(engine.directoryRequests.last().offset, 0);
        QCOMPARE(engine.directoryRequests.last().limit, 120);
        engine.answerDirectory(first);
        QCOMPARE(panel.model()->rowCount(), 120);
        QVERIFY(panel.matchText().startsWith(QStringLiteral("120 of 300")));
        panel.model()->fetchMore();
        QCOMPARE(engine.directoryRequests.last().offset, 120);
        // A second fetchMore while one is in flight asks nothing.
        const int asked = int(engine.directoryRequests.size());
        panel.model()->fetchMore();
        QCOMPARE(int(engine.directoryRequests.size()), asked);
        engine.answerDirectory(engine.lastDirectoryId());
        QCOMPARE(panel.model()->rowCount(), 240);
        panel.model()->fetchMore();
        QCOMPARE(engine.directoryRequests.last().offset, 240);
    }

    void filterBarProducesTheRequest_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("source");
        QTest::addColumn<QString>("status");
        QTest::addColumn<bool>("includeBlocked");
        QTest::addColumn<QString>("order");
        QTest::newRow("defaults") << "" << "" << "" << true << "score";
        QTest::newRow("text") << "damus" << "" << "" << true << "score";
        QTest::newRow("source+status") << "" << "nip65" << "failing" << true << "url";
        QTest::newRow("no blocked") << "nos" << "hint" << "" << false << "last_seen";
    }
    void filterBarProducesTheRequest() {
        QFETCH(QString, text);
        QFETCH(QString, source);
        QFETCH(QString, status);
        QFETCH(bool, includeBlocked);
        QFETCH(QString, order);
        FakeEngine engine;
        ui::DiscoveryPanel panel(&engine);
        panel.show();
        auto* edit = panel.findChild<QLineEdit*>("directoryText");
        auto* sourceBox = panel.findChild<QComboBox*>("directorySource");
        auto* statusBox = panel.findChild<QComboBox*>("directoryStatus");
        auto* orderBox = panel.findChild<QComboBox*>("directoryOrder");
        auto* blocked = panel.findChild<QCheckBox*>("directoryIncludeBlocked");
        QVERIFY(edit && sourceBox && statusBox && orderBox && blocked);
        sourceBox->setCurrentIndex(sourceBox->findData(source));
        statusBox->setCurrentIndex(statusBox->findData(status));
        orderBox->setCurrentIndex(orderBox->findData(order));
        blocked->setChecked(includeBlocked);
        if (!text.isEmpty()) {
            const int before = int(engine.directoryRequests.size());
            QTest::keyClicks(edit, text);
            // Debounced: one request for the whole word, not one per key.
            QTRY_COMPARE(int(engine.directoryRequests.size()), before + 1);
        }
        const auto r = engine.directoryRequests.last();
        QCOMPARE(r.text, text);
        QCOMPARE(r.source, source);
        QCOMPARE(r.status ? QString::fromLatin1(observe::relayStateName(*r.status)) : QString(), status);
        QCOMPARE(r.include_blocked, includeBlocked);
        QCOMPARE(r.order, order);
        QCOMPARE(r.offset, 0);
    }

    void staleAnswersAreIgnored() {
        FakeEngine engine;
        engine.directory = entries(10);
        engine.directory << entry(10, "seed");
        ui::DiscoveryPanel panel(&engine);
        const quint64 stale = engine.lastDirectoryId();
        auto* sourceBox = panel.findChild<QComboBox*>("directorySource");
        sourceBox->setCurrentIndex(sourceBox->findData(QStringLiteral("seed")));
        const quint64 fresh = engine.lastDirectoryId();
        QVERIFY(fresh > stale);
        // The answer to the superseded request arrives late: nothing of it is shown.
        engine.answerDirectory(stale);
        QCOMPARE(panel.model()->rowCount(), 0);
        QVERIFY(panel.model()->loading());
        engine.answerDirectory(fresh);
        QCOMPARE(panel.model()->rowCount(), 1);
        QCOMPARE(panel.model()->entry(0)->source, QString("seed"));
        // An answer repeated after it was consumed is ignored too.
        engine.answerDirectory(stale);
        QCOMPARE(panel.model()->rowCount(), 1);

        // A page in flight superseded by a re-read: the page's answer is dropped.
        engine.directory = entries(400);
        for (auto& e : engine.directory) e.source = "seed";
        sourceBox->setCurrentIndex(0);
        engine.answerDirectory(engine.lastDirectoryId());
        QCOMPARE(panel.model()->rowCount(), 200);
        panel.model()->fetchMore();
        const quint64 page = engine.lastDirectoryId();
        panel.model()->refresh();
        engine.answerDirectory(page);
        QCOMPARE(panel.model()->rowCount(), 200);
        engine.answerDirectory(engine.lastDirectoryId());
        QCOMPARE(panel.model()->rowCount(), 200);
        QVERIFY(panel.model()->canFetchMore());
    }

    void pinReachesTheEngineWithTheRightUrl() {
        FakeEngine engine;
        engine.directory = entries(5);
        engine.answerDirectoryQueued = true;
        ui::DiscoveryPanel panel(&engine);
        panel.resize(1000, 500);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        QTRY_COMPARE(panel.model()->rowCount(), 5);
        QVERIFY(!panel.pinButton()->isEnabled());
        const int row = rowOfUrl(panel.model(), "wss://relay0003.example");
        panel.view()->selectRow(row);
        QVERIFY(panel.pinButton()->isEnabled());
        QVERIFY(!panel.unpinButton()->isEnabled());
        QTest::mouseClick(panel.pinButton(), Qt::LeftButton);
        QCOMPARE(engine.actions.size(), 1);
        QCOMPARE(engine.actions[0].first, QString("wss://relay0003.example"));
        QCOMPARE(engine.actions[0].second, RelayAction::Pin);
        QCOMPARE(panel.statusText(), QString("Pinned: wss://relay0003.example"));
        // The rows are re-read: the relay now shows pinned, still selected, and can be unpinned.
        QTRY_VERIFY(panel.unpinButton()->isEnabled());
        QCOMPARE(panel.selectedUrls(), QStringList{"wss://relay0003.example"});
        QCOMPARE(panel.model()->index(row, ui::DirectoryModel::Pinned).data().toString(), QString("pinned"));
        QVERIFY(!panel.pinButton()->isEnabled());
    }

    void buttonsActOnEverySelectedRow_data() {
        QTest::addColumn<QString>("button");
        QTest::addColumn<int>("action");  // -1 = addRelay
        QTest::newRow("add") << "directoryAdd" << -1;
        QTest::newRow("block") << "directoryBlock" << int(RelayAction::Block);
    }
    void buttonsActOnEverySelectedRow() {
        QFETCH(QString, button);
        QFETCH(int, action);
        FakeEngine engine;
        engine.directory = entries(4);
        ui::DiscoveryPanel panel(&engine);
        engine.answerDirectory(engine.lastDirectoryId());
        auto* sm = panel.view()->selectionModel();
        for (int r : {0, 2})
            sm->select(panel.model()->index(r, 0), QItemSelectionModel::Select | QItemSelectionModel::Rows);
        auto* b = panel.findChild<QPushButton*>(button);
        QVERIFY(b && b->isEnabled());
        b->click();
        const QStringList want{"wss://relay0000.example", "wss://relay0002.example"};
        if (action < 0) {
            QCOMPARE(engine.added, want);
            QVERIFY(panel.statusText().startsWith("Added: wss://relay0000.example, wss://relay0002.example"));
        } else {
            QCOMPARE(engine.actions.size(), 2);
            QCOMPARE((QStringList{engine.actions[0].first, engine.actions[1].first}), want);
            QCOMPARE(engine.actions[0].second, RelayAction(action));
        }
    }

    void failuresAreReported() {
        FakeEngine engine;
        engine.directory = entries(2);
        engine.refuseAdd.insert("wss://relay0001.example");
        ui::DiscoveryPanel panel(&engine);
        QSignalSpy messages(&panel, &ui::DiscoveryPanel::statusMessage);
        engine.answerDirectory(engine.lastDirectoryId());
        panel.view()->selectAll();
        panel.addButton()->click();
        QVERIFY2(panel.statusText().contains("Added: wss://relay0000.example"), qPrintable(panel.statusText()));
        QVERIFY2(panel.statusText().contains("Failed: wss://relay0001.example (wss://relay0001.example is already in the pool)"),
                 qPrintable(panel.statusText()));
        QCOMPARE(messages.count(), 1);

        engine.actionError = "refused";
        panel.blockButton()->click();
        QCOMPARE(panel.statusText(),
                 QString("Failed: wss://relay0000.example (refused), wss://relay0001.example (refused)"));
    }

    void blockedRowsOfferUnblock() {
        FakeEngine engine;
        engine.directory = {entry(0, "nip65", "blocked")};
        ui::DiscoveryPanel panel(&engine);
        engine.answerDirectory(engine.lastDirectoryId());
        panel.view()->selectRow(0);
        QVERIFY(panel.unblockButton()->isEnabled());
        QVERIFY(!panel.blockButton()->isEnabled());
        QVERIFY(!panel.addButton()->isEnabled());
        panel.unblockButton()->click();
        QCOMPARE(engine.actions.size(), 1);
        QCOMPARE(engine.actions[0].second, RelayAction::Unblock);
    }

    void growingDirectoryIsReReadAtMostEveryTwoSeconds() {
        FakeEngine engine;
        engine.directory = entries(3);
        ui::DiscoveryPanel panel(&engine);
        engine.answerDirectory(engine.lastDirectoryId());
        const int initial = int(engine.directoryRequests.size());
        panel.applySnapshot(sizeSnap(1000, 3));
        QCOMPARE(int(engine.directoryRequests.size()), initial);
        engine.directory << entry(3);
        panel.applySnapshot(sizeSnap(1500, 4));  // 0.5 s after the last read: not yet
        QCOMPARE(int(engine.directoryRequests.size()), initial);
        panel.applySnapshot(sizeSnap(3000, 4));  // 2 s: the change is picked up
        QCOMPARE(int(engine.directoryRequests.size()), initial + 1);
        QCOMPARE(engine.directoryRequests.last().offset, 0);
        engine.answerDirectory(engine.lastDirectoryId());
        QCOMPARE(panel.model()->rowCount(), 4);
        panel.applySnapshot(sizeSnap(3250, 4));  // unchanged: nothing asked
        panel.applySnapshot(sizeSnap(3500, 5));
        QCOMPARE(int(engine.directoryRequests.size()), initial + 1);
        panel.applySnapshot(sizeSnap(5000, 5));
        QCOMPARE(int(engine.directoryRequests.size()), initial + 2);
    }

    void discoveryCountsAreShown() {
        FakeEngine engine;
        ui::DiscoveryPanel panel(&engine);
        engine::EngineSnapshot s;
        s.taken_at_ms = kNow;
        s.intelligence = cannedIntelligence(kNow);
        panel.applySnapshot(s);
        const QLocale loc;
        const QString text = panel.countsText();
        QVERIFY2(text.startsWith(loc.toString(2345) + " relays in the directory"), qPrintable(text));
        QVERIFY2(text.contains("nip65 " + loc.toString(2000)), qPrintable(text));
        QVERIFY2(text.contains("junk rejected: 77 (bad scheme 70, private address 7)"), qPrintable(text));
    }

    void engineWithoutADirectorySaysSo() {
        FakeEngine engine;
        engine.hasDirectory = false;
        ui::DiscoveryPanel panel(&engine);
        QVERIFY(panel.statusText().contains("no relay directory"));
        QVERIFY(!panel.model()->canFetchMore());
    }
};

QTEST_MAIN(TestDiscoveryPanel)
#include "tst_discovery_panel.moc"
