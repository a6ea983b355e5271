// Statistics panel, offscreen, over the rollups of a 1M-event year (365 days, 20 kinds, 150
// relays): every plot holds the numbers of the engine's tables (the ones `archivist stats --by`
// prints), a range change sends one new request and a stale answer is not drawn, a bar click asks
// for the matching archive filter, PNG and CSV exports write what is shown, and the time from
// request to every plot drawn (rendered) is measured — the figure docs/benchmarks.md records.
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QImage>
#include <QLineSeries>
#include <QStackedBarSeries>
#include <QTemporaryDir>
#include <QtTest>

#include "fake_engine.h"
#include "ui/panels/statistics_panel.h"

using namespace archivist;
using archivist::ui::StatisticsPanel;

namespace {

constexpr int64_t kFirstDay = 19723;  // 2024-01-01

// A year of rollups adding up to ~1M events.
index::Rollups yearOfRollups() {
    index::Rollups r;
    for (int64_t d = kFirstDay; d < kFirstDay + 365; ++d) {
        for (int k = 0; k < 20; ++k) {
            const uint16_t kind = uint16_t(k == 0 ? 1 : k == 1 ? 7 : k == 2 ? 6 : 1000 + k);
            r.kinds.push_back({d, kind, uint64_t((k == 0 ? 1500 : k == 1 ? 600 : 40) + (d % 7) * 3)});
        }
        for (int rel = 0; rel < 150; ++rel)
            r.relays.push_back({d, "wss://relay" + std::to_string(rel) + ".example", uint64_t(300 + rel), uint64_t(rel % 40)});
        index::AuthorSketch s;
        for (uint32_t a = 0; a < 300 + uint32_t(d % 400); ++a) {
            protocol::Bytes32 pk{};
            std::memcpy(pk.data(), &a, 4);
            s.add(index::AuthorSketch::hashOf(pk));
        }
        r.authors.emplace(d, s);
        for (int bin = -20; bin <= 30; ++bin) r.delay[{d, bin}] = uint64_t(bin < 0 ? 2 : 50 + bin);
        for (int n = 0; n <= 8; ++n) r.repl[{d, n}] = uint64_t(1000 >> n);
    }
    return r;
}

template <typename T>
T* seriesOf(QChart* c) {
    for (auto* s : c->series())
        if (auto* t = qobject_cast<T*>(s)) return t;
    return nullptr;
}

}  // namespace

class TestStatisticsPanel : public QObject {
    Q_OBJECT
private slots:
    void drawsTheEngineTablesAndAnswersClicks() {
        FakeEngine engine;
        engine.statsRollups = yearOfRollups();
        for (int m = 1; m <= 12; ++m) {
            engine::CoverageRow row;
            row.month = QString("2024-%1").arg(m, 2, 10, QChar('0')).toStdString();
            row.referenced = 1000;
            row.held = 700 + uint64_t(m);
            engine.coverageReport.by_month.push_back(row);
            engine.coverageReport.referenced += row.referenced;
            engine.coverageReport.held += row.held;
        }
        engine.coverageReport.as_of_ms = QDateTime(QDate(2025, 1, 2), QTime(3, 4), Qt::UTC).toMSecsSinceEpoch();
        StatisticsPanel panel(&engine);
        panel.resize(1200, 1000);
        panel.show();
        QSignalSpy drawn(&panel, &StatisticsPanel::drawn);
        QVERIFY(drawn.wait(5000));  // the first range (last 30 days: none of 2024 here)
        QCOMPARE(engine.statisticsRequests.size(), 1);

        // The whole year: time from the request to every plot rendered.
        QElapsedTimer timer;
        timer.start();
        panel.setRange(StatisticsPanel::Range::All);
        QVERIFY(drawn.wait(5000));
        for (int p = 0; p < StatisticsPanel::PlotCount; ++p)
            QVERIFY(!panel.chartView(StatisticsPanel::Plot(p))->grab().isNull());
        const qint64 ms = timer.elapsed();
        qInfo("Statistics panel, 1M events over 365 days: answer drawn %lld ms after the request, every plot "
              "rendered after %lld ms",
              (long long)drawn.last().at(0).toLongLong(), (long long)ms);
        QCOMPARE(engine.statisticsRequests.size(), 2);
        QVERIFY(!engine.statisticsRequests.last().since);
        // Coverage: the engine's kept months, asked with each refresh, drawn by month.
        QTRY_COMPARE(engine.coverageRequests.size(), 2);
        QVERIFY(!engine.coverageRequests.last().since);
        QTRY_VERIFY(panel.chart(StatisticsPanel::Coverage)->title().contains("as of"));
        auto* cov = seriesOf<QStackedBarSeries>(panel.chart(StatisticsPanel::Coverage));
        QVERIFY(cov);
        QCOMPARE(cov->barSets().at(0)->count(), 12);
        QCOMPARE(qint64(cov->barSets().at(0)->at(0)), qint64(701));
        QCOMPARE(qint64(cov->barSets().at(1)->at(0)), qint64(299));
        // Months changed since their as-of time are said to be computed again.
        engine.coverageReport.months_pending = 2;
        panel.refresh();
        QVERIFY(drawn.wait(5000));
        QTRY_COMPARE(engine.coverageRequests.size(), 3);
        QTRY_VERIFY(panel.chart(StatisticsPanel::Coverage)->title().contains("2 month(s) changed since"));

        // The stacked plot holds the day-kind table: per day, the sum of its sets = the day's events.
        const auto& res = panel.result();
        auto* stacked = seriesOf<QStackedBarSeries>(panel.chart(StatisticsPanel::EventsPerDay));
        QVERIFY(stacked);
        QCOMPARE(size_t(stacked->count()), res.day_kind.columns.size());
        QCOMPARE(res.day_kind.columns.size(), size_t(StatisticsPanel::kTopKinds + 1));  // + "other"
        QCOMPARE(res.day_kind.columns.back(), std::string("other"));
        QCOMPARE(res.day.rows.size(), size_t(365));
        for (int day : {0, 100, 364}) {
            qreal sum = 0;
            for (QBarSet* set : stacked->barSets()) sum += set->at(day);
            QCOMPARE(qint64(sum), *res.day.rows[size_t(day)].values[0]);
        }
        uint64_t total = 0;
        for (const auto& k : engine.statsRollups.kinds) total += k.events;
        QVERIFY(total > 900000);
        QCOMPARE(res.kind.rows.size(), size_t(20));
        // Authors: one point per day, the sketch's counts (exact below 512 a day).
        auto* authors = seriesOf<QLineSeries>(panel.chart(StatisticsPanel::Authors));
        QVERIFY(authors);
        QCOMPARE(authors->count(), 365);
        QCOMPARE(qint64(authors->at(0).y()), *res.day.rows[0].values[1]);

        // A bar of the stacked plot: that day and that kind.
        QSignalSpy show(&panel, &StatisticsPanel::showEvents);
        emit stacked->barSets().at(0)->clicked(10);
        QCOMPARE(show.size(), 1);
        const auto q = show.last().at(0).value<engine::QueryFilter>();
        QCOMPARE(q.filter.kinds, std::vector<uint16_t>{1});
        QCOMPARE(*q.filter.since, (kFirstDay + 10) * 86400);
        QCOMPARE(*q.filter.until, (kFirstDay + 10) * 86400 + 86399);
        // "other": every kind not stacked by name.
        const auto other = panel.queryForBar(StatisticsPanel::EventsPerDay, int(res.day_kind.columns.size()) - 1, 0);
        QVERIFY(other);
        QCOMPARE(other->filter.kinds.size(), size_t(20 - StatisticsPanel::kTopKinds));
        // A relay of the contribution plot: that relay.
        const auto relay = panel.queryForBar(StatisticsPanel::Relays, 0, 0);
        QVERIFY(relay);
        QCOMPARE(relay->relay, QString::fromStdString(res.relay.rows[0].key));

        // Exports: the PNG is the plot, the CSV the table.
        QTemporaryDir dir;
        const QString png = dir.filePath("kinds.png"), csv = dir.filePath("kinds.csv");
        QVERIFY(panel.savePng(StatisticsPanel::Kinds, png));
        QVERIFY(!QImage(png).isNull());
        QVERIFY(panel.saveCsv(StatisticsPanel::Kinds, csv));
        QFile f(csv);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll().toStdString(), engine::statsTableCsv(res.kind));

        // A custom range: one request; an answer to a superseded request is not drawn.
        panel.setCustomRange(QDate(2024, 2, 1), QDate(2024, 2, 29));
        panel.setFirstSeenDays(true);
        QVERIFY(drawn.wait(5000));
        QTRY_COMPARE(panel.result().day.rows.size(), size_t(29));
        QVERIFY(panel.result().request.first_seen_days);
        QCOMPARE(*engine.statisticsRequests.last().since, QDateTime(QDate(2024, 2, 1), QTime(0, 0), Qt::UTC).toSecsSinceEpoch());
    }
};

QTEST_MAIN(TestStatisticsPanel)
#include "tst_statistics_panel.moc"
