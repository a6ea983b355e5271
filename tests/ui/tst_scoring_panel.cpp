// The Scoring panel: the scored-relays model and the swaps model under the model tester (in-place
// updates, newest swaps inserted on top, bounded), the header line, the score distribution, the
// swaps table, sorting by score and the relaySelected/highlightRelay wiring.
#include <QAbstractItemModelTester>
#include <QDateTime>
#include <QLocale>
#include <QSignalSpy>
#include <QTableView>
#include <QtTest>

#include "fake_engine.h"
#include "ui/panels/scoring_panel.h"
#include "ui/relays_model.h"
#include "ui/scoring_model.h"
#include "ui/swaps_model.h"

using namespace archivist;

namespace {
constexpr qint64 kNow = 1'700'000'000'000;

engine::EngineSnapshot snap(const engine::RelayIntelligenceView& in, qint64 at_ms = kNow) {
    engine::EngineSnapshot s;
    s.taken_at_ms = at_ms;
    s.intelligence = in;
    return s;
}
engine::OptimizerSwapView swapAt(qint64 at_ms, const char* removed, const char* added, const char* reason) {
    engine::OptimizerSwapView v;
    v.at_ms = at_ms;
    v.removed = QString::fromLatin1(removed);
    v.added = QString::fromLatin1(added);
    v.removed_score = 0.1;
    v.added_score = 0.7;
    v.reason = QString::fromLatin1(reason);
    return v;
}
int rowOfUrl(const QAbstractItemModel* m, const QString& url) {
    for (int r = 0; r < m->rowCount(); ++r)
        if (m->index(r, 0).data(ui::ScoringModel::UrlRole).toString() == url) return r;
    return -1;
}
}  // namespace

class TestScoringPanel : public QObject {
    Q_OBJECT
private slots:
    void scoredRelaysUpdateInPlace() {
        ui::ScoringModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
        auto in = cannedIntelligence(kNow);
        model.applyScored(in.scored);
        QCOMPARE(model.rowCount(), 3);
        const int pinned = model.rowOf("wss://pinned.example");
        QVERIFY(pinned >= 0);
        QVERIFY(model.index(pinned, ui::ScoringModel::Total).data().toString().contains("(floor)"));
        QCOMPARE(model.index(pinned, ui::ScoringModel::Pinned).data().toString(), QString("pinned"));
        // Unknown components are blank, not 0 or -1.
        const int fresh = model.rowOf("wss://new.example");
        QCOMPARE(model.index(fresh, ui::ScoringModel::Novelty).data().toString(), QString());
        QCOMPARE(model.index(fresh, ui::ScoringModel::Uptime24h).data().toString(), QString());
        QCOMPARE(model.index(fresh, ui::ScoringModel::Rtt).data().toString(), QString());
        QCOMPARE(model.index(model.rowOf("wss://best.example"), ui::ScoringModel::Uptime24h).data().toString(),
                 QString("99 %"));
        // States in the one vocabulary, with the Relays panel's texts.
        QCOMPARE(model.index(model.rowOf("wss://best.example"), ui::ScoringModel::Status).data().toString(),
                 ui::relayStateText(observe::RelayState::Connected));
        QCOMPARE(model.index(fresh, ui::ScoringModel::Status).data().toString(),
                 ui::relayStateText(observe::RelayState::Candidate));

        // One relay leaves, one arrives, one changes its score.
        in.scored.removeAt(1);
        in.scored[0].score.total = 0.42;
        engine::RelayScoreView other;
        other.url = "wss://other.example";
        in.scored << other;
        model.applyScored(in.scored);
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(model.rowOf("wss://pinned.example"), -1);
        QVERIFY(model.rowOf("wss://other.example") >= 0);
        QCOMPARE(model.index(model.rowOf("wss://best.example"), ui::ScoringModel::Total).data(ui::ScoringModel::SortRole).toDouble(), 0.42);
        model.applyScored({});
        QCOMPARE(model.rowCount(), 0);
        QCOMPARE(resets.count(), 0);
    }

    void newSwapsAreInsertedOnTopAndBounded() {
        ui::SwapsModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
        QSignalSpy resets(&model, &QAbstractItemModel::modelReset);
        const auto a = swapAt(1000, "wss://a", "wss://b", "exploration");
        const auto b = swapAt(2000, "wss://c", "wss://d", "score 0.10 < candidate 0.70");
        const auto c = swapAt(3000, "", "wss://e", "headroom");
        model.applySwaps({b, a});
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(resets.count(), 1);
        model.applySwaps({c, b, a});
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(inserted.count(), 1);
        QCOMPARE(inserted[0][1].toInt(), 0);  // at the top
        QCOMPARE(model.swap(0)->at_ms, qint64(3000));
        QCOMPARE(model.index(0, ui::SwapsModel::Removed).data().toString(), QString("—"));
        QCOMPARE(model.index(0, ui::SwapsModel::RemovedScore).data().toString(), QString());
        // Never more than the engine's capacity, oldest dropped.
        QVector<engine::OptimizerSwapView> many;
        for (int i = 0; i < ui::SwapsModel::kMaxRows + 20; ++i)
            many << swapAt(100'000 - i, "wss://x", "wss://y", "score");
        model.applySwaps(many);
        QCOMPARE(model.rowCount(), ui::SwapsModel::kMaxRows);
        QCOMPARE(model.swap(0)->at_ms, qint64(100'000));
        model.applySwaps({});
        QCOMPARE(model.rowCount(), 0);
    }

    void panelShowsHeaderDistributionAndSwaps() {
        FakeEngine engine;
        ui::ScoringPanel panel(&engine);
        panel.resize(900, 600);
        panel.show();
        QVERIFY(panel.headerText().contains("No optimizer cycle"));
        const auto in = cannedIntelligence(kNow);
        panel.applySnapshot(snap(in));
        const QString last = QLocale().toString(QDateTime::fromMSecsSinceEpoch(kNow - 60'000), QStringLiteral("HH:mm:ss"));
        QCOMPARE(panel.headerText(), QString("2 of 150 connected · last cycle %1 · next cycle in 4 min 00 s").arg(last));
        QCOMPARE(panel.histogram(), in.score_histogram);
        // Newest swap first, with its relays, scores and reason.
        auto* swaps = panel.swapsView()->model();
        QCOMPARE(swaps->rowCount(), 2);
        QCOMPARE(swaps->index(0, ui::SwapsModel::Removed).data().toString(), QString("wss://slow.example"));
        QCOMPARE(swaps->index(0, ui::SwapsModel::Added).data().toString(), QString("wss://best.example"));
        QCOMPARE(swaps->index(0, ui::SwapsModel::RemovedScore).data().toString(), QLocale().toString(0.12, 'f', 2));
        QCOMPARE(swaps->index(0, ui::SwapsModel::Reason).data().toString(), QString("score 0.12 < candidate 0.61"));
        QCOMPARE(swaps->index(1, ui::SwapsModel::Reason).data().toString(), QString("exploration"));

        // A later snapshot: the histogram follows, the countdown too.
        auto later = in;
        later.score_histogram = {0, 0, 0, 0, 0, 0, 0, 0, 0, 3};
        panel.applySnapshot(snap(later, kNow + 200'000));
        QCOMPARE(panel.histogram(), later.score_histogram);
        QVERIFY2(panel.headerText().endsWith("next cycle in 40 s"), qPrintable(panel.headerText()));

        // With the optimizer off (auto_relays false) the header says so.
        auto off = later;
        off.optimizer_enabled = false;
        panel.applySnapshot(snap(off, kNow + 200'000));
        QVERIFY2(panel.headerText().contains("optimizer off"), qPrintable(panel.headerText()));
    }

    void sortedByScoreAndSortable() {
        FakeEngine engine;
        ui::ScoringPanel panel(&engine);
        auto in = cannedIntelligence(kNow);
        std::reverse(in.scored.begin(), in.scored.end());
        panel.applySnapshot(snap(in));
        auto* m = panel.view()->model();
        QCOMPARE(m->index(0, ui::ScoringModel::Url).data().toString(), QString("wss://best.example"));
        QCOMPARE(m->index(2, ui::ScoringModel::Url).data().toString(), QString("wss://pinned.example"));
        panel.view()->sortByColumn(ui::ScoringModel::Exploration, Qt::DescendingOrder);
        QCOMPARE(m->index(0, ui::ScoringModel::Url).data().toString(), QString("wss://new.example"));
        panel.view()->sortByColumn(ui::ScoringModel::Novelty, Qt::AscendingOrder);  // unknown first
        QCOMPARE(m->index(0, ui::ScoringModel::Url).data().toString(), QString("wss://new.example"));
    }

    void selectionAnnouncesAndHighlightSelects() {
        FakeEngine engine;
        ui::ScoringPanel panel(&engine);
        QSignalSpy selected(&panel, &ui::ScoringPanel::relaySelected);
        panel.applySnapshot(snap(cannedIntelligence(kNow)));
        auto* m = panel.view()->model();
        panel.view()->selectRow(rowOfUrl(m, "wss://new.example"));
        QCOMPARE(selected.count(), 1);
        QCOMPARE(selected[0][0].toString(), QString("wss://new.example"));
        panel.highlightRelay("wss://pinned.example");
        QCOMPARE(panel.currentUrl(), QString("wss://pinned.example"));
        // The selection follows the relay when a snapshot reorders the rows.
        auto in = cannedIntelligence(kNow);
        in.scored[1].score.total = 0.99;
        panel.applySnapshot(snap(in));
        QCOMPARE(panel.currentUrl(), QString("wss://pinned.example"));
        QCOMPARE(rowOfUrl(m, "wss://pinned.example"), 0);
    }
};

QTEST_MAIN(TestScoringPanel)
#include "tst_scoring_panel.moc"
