#include "ui/panels/scoring_panel.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QFont>
#include <QDateTime>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLocale>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QValueAxis>
#include <QVBoxLayout>
#include <algorithm>

#include "core/engine/engine.h"
#include "ui/scoring_model.h"
#include "ui/swaps_model.h"

namespace archivist::ui {

namespace {
constexpr int kBuckets = 10;

QString durationText(qint64 ms) {
    const qint64 s = std::max<qint64>(0, (ms + 999) / 1000);
    if (s < 60) return ScoringPanel::tr("%1 s").arg(s);
    return ScoringPanel::tr("%1 min %2 s").arg(s / 60).arg(s % 60, 2, 10, QChar('0'));
}
}  // namespace

ScoringPanel::ScoringPanel(engine::Engine* engine, QWidget* parent)
    : Panel(parent), m_model(new ScoringModel(this)), m_swaps(new SwapsModel(this)),
      m_proxy(new QSortFilterProxyModel(this)), m_histogram(kBuckets, 0.0) {
    (void)engine;  // the panel only shows snapshots; kept for the panel contract
    setObjectName("scoringPanel");
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(ScoringModel::SortRole);
    m_proxy->setDynamicSortFilter(true);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    m_header = new QLabel(this);
    m_header->setObjectName("scoringHeader");
    layout->addWidget(m_header);

    m_view = new QTableView(this);
    m_view->setObjectName("scoringTable");
    m_view->setModel(m_proxy);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(ScoringModel::Total, Qt::DescendingOrder);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->verticalHeader()->hide();
    m_view->setColumnWidth(ScoringModel::Url, 240);

    m_chart = new QChart;
    m_chart->setTitle(tr("Score distribution"));
    m_chart->legend()->hide();
    m_bars = new QBarSet(tr("Relays"));
    for (int i = 0; i < kBuckets; ++i) *m_bars << 0;
    auto* series = new QBarSeries;
    series->append(m_bars);
    m_chart->addSeries(series);
    auto* buckets = new QBarCategoryAxis;
    const QLocale loc;
    QStringList labels;
    // Short, unique labels ("0", ".1" … ".9"): long ones are elided to "…" in a narrow dock.
    for (int i = 0; i < kBuckets; ++i) {
        QString l = i == 0 ? QStringLiteral("0") : loc.toString(i / double(kBuckets), 'f', 1);
        if (i > 0 && l.startsWith(QLatin1Char('0'))) l.remove(0, 1);
        labels << l;
    }
    buckets->append(labels);
    buckets->setTitleText(tr("Score (bucket start; each bucket 0.1 wide)"));
    series->setLabelsVisible(true);  // each bar's count
    series->setLabelsPosition(QAbstractBarSeries::LabelsInsideEnd);
    series->setLabelsFormat(QStringLiteral("@value"));
    QFont small = buckets->labelsFont();
    small.setPointSizeF(small.pointSizeF() * 0.8);
    buckets->setLabelsFont(small);
    buckets->setTitleFont(small);
    m_countAxis = new QValueAxis;
    m_countAxis->setLabelFormat("%.0f");
    m_countAxis->setTitleText(tr("Relays"));
    m_countAxis->setRange(0, 1);
    m_chart->addAxis(buckets, Qt::AlignBottom);
    m_chart->addAxis(m_countAxis, Qt::AlignLeft);
    series->attachAxis(buckets);
    series->attachAxis(m_countAxis);
    m_chartView = new QChartView(m_chart, this);
    m_chartView->setObjectName("scoreHistogram");
    m_chartView->setRenderHint(QPainter::Antialiasing);
    m_chartView->setMinimumHeight(160);
    m_chartView->setMinimumWidth(360);

    m_swapsView = new QTableView(this);
    m_swapsView->setObjectName("swapsTable");
    m_swapsView->setModel(m_swaps);
    m_swapsView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_swapsView->setAlternatingRowColors(true);
    m_swapsView->setWordWrap(false);
    m_swapsView->verticalHeader()->hide();
    m_swapsView->horizontalHeader()->setStretchLastSection(true);

    auto* bottom = new QSplitter(Qt::Horizontal, this);
    bottom->addWidget(m_chartView);
    bottom->addWidget(m_swapsView);
    bottom->setStretchFactor(0, 1);
    bottom->setStretchFactor(1, 2);
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(m_view);
    split->addWidget(bottom);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    layout->addWidget(split, 1);

    connect(m_view->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this] {
        const QString url = currentUrl();
        if (!url.isEmpty()) emit relaySelected(url);
    });
    m_header->setText(tr("No optimizer cycle yet"));
}

QString ScoringPanel::headerText() const { return m_header->text(); }
QVector<double> ScoringPanel::histogram() const { return m_histogram; }

QString ScoringPanel::currentUrl() const {
    const QModelIndex idx = m_view->currentIndex();
    return idx.isValid() ? idx.data(ScoringModel::UrlRole).toString() : QString();
}

void ScoringPanel::applySnapshot(const engine::EngineSnapshot& s) {
    const auto& in = s.intelligence;
    m_model->applyScored(in.scored);
    m_swaps->applySwaps(in.recent_swaps);

    QStringList parts;
    parts << tr("%1 of %2 connected").arg(in.connected).arg(in.max_relays);
    if (in.last_cycle_ms > 0) {
        parts << tr("last cycle %1").arg(QLocale().toString(QDateTime::fromMSecsSinceEpoch(in.last_cycle_ms), QStringLiteral("HH:mm:ss")));
    } else {
        parts << tr("no cycle yet");
    }
    if (!in.optimizer_enabled) parts << tr("optimizer off: only the relays named are connected");
    if (in.next_cycle_ms > 0) {
        const qint64 now = s.taken_at_ms > 0 ? s.taken_at_ms : QDateTime::currentMSecsSinceEpoch();
        parts << tr("next cycle in %1").arg(durationText(in.next_cycle_ms - now));
    }
    m_header->setText(parts.join(QStringLiteral(" · ")));

    QVector<double> h(kBuckets, 0.0);
    for (int i = 0; i < std::min<int>(kBuckets, int(in.score_histogram.size())); ++i) h[i] = in.score_histogram[i];
    if (h != m_histogram) {
        m_histogram = h;
        double top = 1;
        for (int i = 0; i < kBuckets; ++i) {
            m_bars->replace(i, h[i]);
            top = std::max(top, h[i]);
        }
        m_countAxis->setRange(0, top * 1.1);
        m_countAxis->applyNiceNumbers();  // round ticks
    }
}

void ScoringPanel::highlightRelay(const QString& url) {
    const int row = m_model->rowOf(url);
    if (row < 0) return;
    const QModelIndex idx = m_proxy->mapFromSource(m_model->index(row, ScoringModel::Url));
    if (!idx.isValid()) return;
    m_view->setCurrentIndex(idx);
    m_view->scrollTo(idx);
}

}  // namespace archivist::ui
