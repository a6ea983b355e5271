#include "ui/panels/statistics_panel.h"

#include <QBarCategoryAxis>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QComboBox>
#include <QCursor>
#include <QDateEdit>
#include <QDateTime>
#include <QDateTimeAxis>
#include <QFile>
#include <QFileDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHorizontalBarSeries>
#include <QHorizontalStackedBarSeries>
#include <QLabel>
#include <QLineSeries>
#include <QPushButton>
#include <QScrollArea>
#include <QTimer>
#include <QToolTip>
#include <QStackedBarSeries>
#include <QBarSeries>
#include <QValueAxis>
#include <QVBoxLayout>

#include "core/engine/engine.h"
#include "core/index/rollups.h"

namespace archivist::ui {

namespace {

constexpr int kMaxCategoryLabels = 16;  // more days than this: the day axis names its span instead

QChart* newChart(const QString& title) {
    auto* c = new QChart;
    c->setTitle(title);
    c->legend()->setAlignment(Qt::AlignBottom);
    QFont f = c->legend()->font();
    f.setPointSizeF(f.pointSizeF() * 0.85);
    c->legend()->setFont(f);
    c->setMargins(QMargins(4, 4, 4, 4));
    c->setAnimationOptions(QChart::NoAnimation);
    return c;
}

QString dayLabel(int64_t day) { return QDate(1970, 1, 1).addDays(day).toString("MM-dd"); }

qreal niceMax(qreal v) { return v <= 0 ? 1 : v * 1.08; }

// A count axis from 0 to a little above `top`.
QValueAxis* countAxis(qreal top) {
    auto* a = new QValueAxis;
    a->setLabelFormat("%.0f");
    a->setRange(0, niceMax(top));
    return a;
}

// Adds `series` to the chart with its two axes.
void place(QChart* c, QAbstractSeries* series, QAbstractAxis* bottom, QAbstractAxis* left) {
    c->addSeries(series);
    c->addAxis(bottom, Qt::AlignBottom);
    c->addAxis(left, Qt::AlignLeft);
    series->attachAxis(bottom);
    series->attachAxis(left);
}

// The days a per-day plot spans: the request's bounds where it has them (today for an open end),
// else the first and last day with data; days without events are drawn as zero, not left out.
std::pair<int64_t, int64_t> daySpan(const engine::StatisticsResult& r, const std::vector<engine::StatsTable::Row>& rows) {
    engine::StatsRequest q;
    q.since = r.request.since;
    q.until = r.request.until;
    const auto [lo, hi] = engine::dayRange(q);
    int64_t first = lo ? *lo : (rows.empty() ? 0 : rows.front().day);
    int64_t last = hi ? *hi : (rows.empty() ? first : rows.back().day);
    if (!hi && lo) last = std::max(last, index::dayOf(QDateTime::currentSecsSinceEpoch()));
    if (!rows.empty()) {
        first = std::min(first, rows.front().day);
        last = std::max(last, rows.back().day);
    }
    constexpr int64_t kMaxDays = 20000;  // a plot of 55 years at most: the rest is clipped
    if (last - first >= kMaxDays) first = last - kMaxDays + 1;
    return {first, last};
}

// Replaces the view's chart (the old one is deleted) and returns the new one.
QChart* resetChart(QChartView* view) {
    QChart* old = view->chart();
    QChart* c = newChart(old->title());
    view->setChart(c);
    delete old;
    return c;
}

}  // namespace

StatisticsPanel::StatisticsPanel(engine::Engine* engine, QWidget* parent) : Panel(parent), m_engine(engine) {
    setObjectName("statisticsPanel");
    m_range = new QComboBox(this);
    m_range->setObjectName("statisticsRange");
    m_range->addItem(tr("Last 24 hours"));
    m_range->addItem(tr("Last 7 days"));
    m_range->addItem(tr("Last 30 days"));
    m_range->addItem(tr("All"));
    m_range->addItem(tr("Custom"));
    m_range->setCurrentIndex(int(Range::Month));
    const QDate today = QDateTime::currentDateTimeUtc().date();
    m_from = new QDateEdit(today.addDays(-30), this);
    m_to = new QDateEdit(today, this);
    for (QDateEdit* e : {m_from, m_to}) {
        e->setCalendarPopup(true);
        e->setDisplayFormat("yyyy-MM-dd");
        e->setEnabled(false);
    }
    m_from->setObjectName("statisticsFrom");
    m_to->setObjectName("statisticsTo");
    m_firstSeen = new QCheckBox(tr("Day of first sighting"), this);
    m_firstSeen->setObjectName("statisticsFirstSeen");
    m_firstSeen->setToolTip(tr("Count each event on the UTC day it reached the archive instead of the day of its created_at"));
    m_status = new QLabel(this);
    m_status->setObjectName("statisticsStatus");
    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Range:"), this));
    bar->addWidget(m_range);
    bar->addWidget(m_from);
    bar->addWidget(new QLabel(QStringLiteral("–"), this));
    bar->addWidget(m_to);
    bar->addWidget(m_firstSeen);
    bar->addStretch(1);
    bar->addWidget(m_status);

    auto* grid = new QGridLayout;
    const QString titles[PlotCount] = {tr("Events per day by kind"), tr("Active authors per day"), tr("Kinds"),
                                       tr("Relay contribution"), tr("Sources per event (replication)"),
                                       tr("Publication delay (first seen − created_at)"),
                                       tr("Coverage of referenced events (e, q tags) by month")};
    m_views.resize(PlotCount);
    for (int p = 0; p < PlotCount; ++p) grid->addWidget(plotBox(Plot(p), titles[p]), p / 2, p % 2, 1, p == Coverage ? 2 : 1);
    auto* inner = new QWidget(this);
    inner->setLayout(grid);
    auto* scroll = new QScrollArea(this);
    scroll->setWidgetResizable(true);
    scroll->setWidget(inner);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(bar);
    layout->addWidget(scroll, 1);

    connect(m_range, &QComboBox::currentIndexChanged, this, [this](int i) {
        m_from->setEnabled(i == int(Range::Custom));
        m_to->setEnabled(i == int(Range::Custom));
        refresh();
    });
    connect(m_from, &QDateEdit::dateChanged, this, [this] { refresh(); });
    connect(m_to, &QDateEdit::dateChanged, this, [this] { refresh(); });
    connect(m_firstSeen, &QCheckBox::toggled, this, [this] { refresh(); });
    connect(m_engine, &engine::Engine::statisticsReady, this, &StatisticsPanel::onStatistics);
    connect(m_engine, &engine::Engine::coverageReady, this, &StatisticsPanel::onCoverage);
    // New events change today's numbers: read again now and then while the panel is visible.
    auto* timer = new QTimer(this);
    connect(timer, &QTimer::timeout, this, [this] {
        if (isVisible() && !m_pending) refresh();
    });
    timer->start(kRefreshMs);
    refresh();
}

void StatisticsPanel::showEvent(QShowEvent* event) {
    Panel::showEvent(event);
    if (!m_pending) refresh();
}

QWidget* StatisticsPanel::plotBox(Plot plot, const QString& title) {
    auto* box = new QWidget(this);
    auto* v = new QVBoxLayout(box);
    v->setContentsMargins(0, 0, 0, 0);
    auto* view = new QChartView(newChart(title), box);
    view->setObjectName(QStringLiteral("statisticsChart%1").arg(int(plot)));
    view->setRenderHint(QPainter::Antialiasing);
    view->setMinimumSize(380, 260);
    m_views[plot] = view;
    auto* buttons = new QHBoxLayout;
    buttons->addStretch(1);
    auto* png = new QPushButton(tr("PNG…"), box);
    auto* csv = new QPushButton(tr("CSV…"), box);
    png->setToolTip(tr("Save this plot as a PNG image"));
    csv->setToolTip(tr("Save this plot's numbers as CSV (the output of `archivist stats --format csv`)"));
    connect(png, &QPushButton::clicked, this, [this, plot] { exportPlot(plot, true); });
    connect(csv, &QPushButton::clicked, this, [this, plot] { exportPlot(plot, false); });
    buttons->addWidget(png);
    buttons->addWidget(csv);
    v->addWidget(view, 1);
    v->addLayout(buttons);
    return box;
}

void StatisticsPanel::setRange(Range range) { m_range->setCurrentIndex(int(range)); }

void StatisticsPanel::setCustomRange(const QDate& from, const QDate& to) {
    const QSignalBlocker a(m_from), b(m_to), c(m_range);
    m_from->setDate(from);
    m_to->setDate(to);
    m_range->setCurrentIndex(int(Range::Custom));
    m_from->setEnabled(true);
    m_to->setEnabled(true);
    refresh();
}

void StatisticsPanel::setFirstSeenDays(bool on) { m_firstSeen->setChecked(on); }

engine::StatisticsRequest StatisticsPanel::currentRequest() const {
    engine::StatisticsRequest r;
    const qint64 now = QDateTime::currentSecsSinceEpoch();
    switch (Range(m_range->currentIndex())) {
    case Range::Day: r.since = now - 86400; break;
    case Range::Week: r.since = now - 7 * 86400; break;
    case Range::Month: r.since = now - 30 * 86400; break;
    case Range::All: break;
    case Range::Custom:
        r.since = QDateTime(m_from->date(), QTime(0, 0), Qt::UTC).toSecsSinceEpoch();
        r.until = QDateTime(m_to->date(), QTime(0, 0), Qt::UTC).toSecsSinceEpoch();
        break;
    }
    r.first_seen_days = m_firstSeen->isChecked();
    r.top_kinds = kTopKinds;
    return r;
}

void StatisticsPanel::refresh() {
    m_sent.start();
    const auto req = currentRequest();
    m_pending = m_engine->requestStatistics(req);
    // Coverage: the engine's kept months (cheap), asked with every refresh.
    if (!m_coveragePending) requestCoverage();
    m_status->setText(m_pending ? tr("Reading…") : tr("This engine keeps no statistics."));
}

void StatisticsPanel::onStatistics(quint64 id, const engine::StatisticsResult& r) {
    if (id != m_pending) return;  // an older range's answer
    m_pending = 0;
    if (!r.ok) {
        m_status->setText(r.error);
        return;
    }
    m_result = r;
    draw();
    qint64 events = 0;
    for (const auto& row : m_result.kind.rows) events += row.values[0].value_or(0);
    const qint64 elapsed = m_sent.elapsed();
    m_status->setText(tr("%1 events · read in %2 ms, drawn in %3 ms")
                          .arg(QLocale().toString(events))
                          .arg(double(r.elapsed_us) / 1000.0, 0, 'f', 1)
                          .arg(elapsed));
    emit drawn(elapsed);
}

void StatisticsPanel::requestCoverage() {
    const engine::StatisticsRequest req = currentRequest();
    engine::CoverageRequest q;
    q.since = req.since;
    q.until = req.until;
    m_coveragePending = m_engine->requestCoverage(q);
}

void StatisticsPanel::onCoverage(quint64 id, const engine::CoverageResult& r) {
    if (id != m_coveragePending) return;
    m_coveragePending = 0;
    if (!r.ok) {
        chart(Coverage)->setTitle(tr("Coverage of referenced events: %1").arg(r.error));
        return;
    }
    m_coverage = r;
    drawCoverage();
}

void StatisticsPanel::drawCoverage() {
    QChart* c = resetChart(m_views[Coverage]);
    const auto& rep = m_coverage.report;
    // Sums over the months (an id referenced in two months counts in each); the oldest month's as-of.
    QString title = rep.by_month.empty() && rep.months_pending
                        ? tr("Coverage of referenced events: computing %n month(s)…", nullptr, int(rep.months_pending))
                    : rep.by_month.empty()
                        ? tr("Coverage of referenced events: no event of this range references one")
                        : tr("Coverage of referenced events: %1 of %2 held (%3 %), as of %4")
                              .arg(QLocale().toString(qulonglong(rep.held)))
                              .arg(QLocale().toString(qulonglong(rep.referenced)))
                              .arg(100.0 * rep.coverage(), 0, 'f', 1)
                              .arg(QDateTime::fromMSecsSinceEpoch(rep.as_of_ms).toString("yyyy-MM-dd HH:mm"));
    if (!rep.by_month.empty() && rep.months_pending)
        title += tr(" · %n month(s) changed since, being computed again", nullptr, int(rep.months_pending));
    c->setTitle(title);
    auto* held = new QBarSet(tr("Held"));
    auto* missing = new QBarSet(tr("Missing"));
    missing->setColor(QColor(0xdc, 0x26, 0x26));
    QStringList cats;
    qreal top = 0;
    for (const auto& m : rep.by_month) {
        cats << QString::fromStdString(m.month);
        *held << qreal(m.held);
        *missing << qreal(m.referenced - m.held);
        top = std::max(top, qreal(m.referenced));
    }
    auto* series = new QStackedBarSeries;
    series->append(held);
    series->append(missing);
    // Each month's numbers are as of its own computation.
    connect(series, &QStackedBarSeries::hovered, c, [this](bool on, int index, QBarSet*) {
        const auto& months = m_coverage.report.by_month;
        if (!on || index < 0 || index >= int(months.size())) {
            QToolTip::hideText();
            return;
        }
        const auto& m = months[size_t(index)];
        QToolTip::showText(QCursor::pos(), tr("%1: %2 of %3 referenced ids held (%4 %), as of %5")
                                               .arg(QString::fromStdString(m.month))
                                               .arg(QLocale().toString(qulonglong(m.held)))
                                               .arg(QLocale().toString(qulonglong(m.referenced)))
                                               .arg(m.referenced ? 100.0 * double(m.held) / double(m.referenced) : 100.0, 0, 'f', 1)
                                               .arg(QDateTime::fromMSecsSinceEpoch(m.as_of_ms).toString("yyyy-MM-dd HH:mm")));
    });
    auto* x = new QBarCategoryAxis;
    x->append(cats);
    x->setLabelsVisible(cats.size() <= 24);
    auto* y = countAxis(top);
    y->setTitleText(tr("Referenced ids"));
    place(c, series, x, y);
}

void StatisticsPanel::draw() {
    drawEventsPerDay();
    drawAuthors();
    drawKinds();
    drawRelays();
    drawReplication();
    drawDelay();
}


void StatisticsPanel::drawEventsPerDay() {
    QChart* c = resetChart(m_views[EventsPerDay]);
    const auto& t = m_result.day_kind;
    const auto [first, last] = daySpan(m_result, t.rows);
    const size_t days = t.rows.empty() ? 0 : size_t(last - first + 1);
    m_dayKindRow.assign(days, -1);
    for (size_t i = 0; i < t.rows.size(); ++i)
        if (t.rows[i].day >= first && t.rows[i].day <= last) m_dayKindRow[size_t(t.rows[i].day - first)] = int(i);
    m_firstDay = first;
    auto* series = new QStackedBarSeries;
    QStringList cats;
    for (size_t d = 0; d < days; ++d) cats << dayLabel(first + int64_t(d));
    std::vector<qreal> sums(days, 0);
    for (size_t col = 0; col < t.columns.size(); ++col) {
        QString name = QString::fromStdString(t.columns[col]);
        if (name.startsWith(QStringLiteral("kind "))) name = name.mid(5);  // the plot's title says "by kind"
        auto* set = new QBarSet(name);
        QList<qreal> values;
        values.reserve(qsizetype(days));
        for (size_t d = 0; d < days; ++d) {
            const int row = m_dayKindRow[d];
            const qreal v = row < 0 ? 0 : qreal(t.rows[size_t(row)].values[col].value_or(0));
            values << v;
            sums[d] += v;
        }
        set->append(values);
        const int setIndex = int(col);
        connect(set, &QBarSet::clicked, this, [this, setIndex](int index) {
            if (auto q = queryForBar(EventsPerDay, setIndex, index)) emit showEvents(*q);
        });
        series->append(set);
    }
    qreal top = 0;
    for (qreal v : sums) top = std::max(top, v);
    series->setBarWidth(0.9);
    auto* x = new QBarCategoryAxis;
    x->append(cats);
    x->setLabelsAngle(-90);
    x->setLabelsVisible(cats.size() <= kMaxCategoryLabels);
    if (cats.size() > kMaxCategoryLabels) {
        x->setTitleText(dayLabel(first) + QStringLiteral(" … ") + dayLabel(last));
        m_views[EventsPerDay]->setToolTip(tr("%n days", "", int(cats.size())));
    }
    auto* y = countAxis(top);
    place(c, series, x, y);
}

void StatisticsPanel::drawAuthors() {
    QChart* c = resetChart(m_views[Authors]);
    const auto& t = m_result.day;
    auto* s = new QLineSeries;
    bool approx = false;
    qreal top = 0;
    QList<QPointF> pts;
    if (!t.rows.empty() && t.columns.size() >= 2) {
        const auto [first, last] = daySpan(m_result, t.rows);
        size_t i = 0;
        for (int64_t d = first; d <= last; ++d) {
            while (i < t.rows.size() && t.rows[i].day < d) ++i;
            qreal v = 0;
            if (i < t.rows.size() && t.rows[i].day == d && t.rows[i].values[1]) {
                v = qreal(*t.rows[i].values[1]);
                approx |= t.rows[i].approximate;
            }
            pts << QPointF(qreal(d) * 86400000.0 + 43200000.0, v);  // noon UTC: the same date in any zone
            top = std::max(top, v);
        }
    }
    s->replace(pts);
    s->setPointsVisible(pts.size() < 60);
    s->setName(approx ? tr("Distinct authors (≈: HyperLogLog estimate on busy days)") : tr("Distinct authors (exact)"));
    auto* x = new QDateTimeAxis;
    x->setFormat(pts.size() > 400 ? "yyyy-MM" : "MM-dd");
    if (!pts.isEmpty())
        x->setRange(QDateTime::fromMSecsSinceEpoch(qint64(pts.front().x()) - 43200000),
                    QDateTime::fromMSecsSinceEpoch(qint64(pts.back().x()) + 43200000));
    auto* y = countAxis(top);
    place(c, s, x, y);
}

void StatisticsPanel::drawKinds() {
    QChart* c = resetChart(m_views[Kinds]);
    const auto& t = m_result.kind;
    auto* set = new QBarSet(tr("Events"));
    QStringList cats;
    qreal top = 0;
    const size_t n = std::min<size_t>(t.rows.size(), 12);
    for (size_t i = n; i-- > 0;) {  // largest at the top
        cats << tr("kind %1").arg(QString::fromStdString(t.rows[i].key));
        const qreal v = qreal(t.rows[i].values[0].value_or(0));
        *set << v;
        top = std::max(top, v);
    }
    connect(set, &QBarSet::clicked, this, [this, n](int index) {
        if (auto q = queryForBar(Kinds, 0, int(n) - 1 - index)) emit showEvents(*q);
    });
    auto* series = new QHorizontalBarSeries;
    series->append(set);
    c->legend()->hide();
    auto* y = new QBarCategoryAxis;
    y->append(cats);
    auto* x = countAxis(top);
    place(c, series, x, y);
}

void StatisticsPanel::drawRelays() {
    QChart* c = resetChart(m_views[Relays]);
    const auto& t = m_result.relay;
    auto* novel = new QBarSet(tr("Novel (first to deliver)"));
    auto* dup = new QBarSet(tr("Duplicate"));
    QStringList cats;
    qreal top = 0;
    const size_t n = t.rows.size();
    for (size_t i = n; i-- > 0;) {
        QString name = QString::fromStdString(t.rows[i].key);
        if (name.size() > 32) name = name.left(30) + QStringLiteral("…");
        cats << name;
        *novel << qreal(t.rows[i].values[1].value_or(0));
        *dup << qreal(t.rows[i].values[2].value_or(0));
        top = std::max(top, qreal(t.rows[i].values[0].value_or(0)));
    }
    for (QBarSet* set : {novel, dup})
        connect(set, &QBarSet::clicked, this, [this, n](int index) {
            if (auto q = queryForBar(Relays, 0, int(n) - 1 - index)) emit showEvents(*q);
        });
    auto* series = new QHorizontalStackedBarSeries;
    series->append(novel);
    series->append(dup);
    auto* y = new QBarCategoryAxis;
    y->append(cats);
    auto* x = countAxis(top);
    place(c, series, x, y);
}

void StatisticsPanel::drawReplication() {
    QChart* c = resetChart(m_views[Replication]);
    const auto& t = m_result.replication;
    auto* set = new QBarSet(tr("Events"));
    QStringList cats;
    qreal top = 0;
    for (const auto& row : t.rows) {
        cats << QString::fromStdString(row.key);
        const qreal v = qreal(row.values[0].value_or(0));
        *set << v;
        top = std::max(top, v);
    }
    auto* series = new QBarSeries;
    series->append(set);
    c->legend()->hide();
    auto* x = new QBarCategoryAxis;
    x->append(cats);
    x->setTitleText(tr("Distinct sources that carried the event"));
    auto* y = countAxis(top);
    place(c, series, x, y);
}

void StatisticsPanel::drawDelay() {
    QChart* c = resetChart(m_views[Delay]);
    const auto& t = m_result.delay;
    // Two sets stacked on the same bins so that future-dated events stand out in their own colour.
    auto* future = new QBarSet(tr("Dated in the future"));
    auto* late = new QBarSet(tr("Seen after created_at"));
    future->setColor(QColor(0xdc, 0x26, 0x26));
    QStringList cats;
    qreal top = 0;
    for (const auto& row : t.rows) {
        cats << QString::fromStdString(row.key);
        const qreal v = qreal(row.values[0].value_or(0));
        *future << (row.code < 0 ? v : 0);
        *late << (row.code < 0 ? 0 : v);
        top = std::max(top, v);
    }
    auto* series = new QStackedBarSeries;
    series->append(future);
    series->append(late);
    auto* x = new QBarCategoryAxis;
    x->append(cats);
    x->setLabelsAngle(-60);
    x->setTitleText(tr("first seen − created_at (bins double in width)"));
    auto* y = countAxis(top);
    place(c, series, x, y);
}

const engine::StatsTable* StatisticsPanel::table(Plot plot) const {
    switch (plot) {
    case EventsPerDay: return &m_result.day_kind;
    case Authors: return &m_result.day;
    case Kinds: return &m_result.kind;
    case Relays: return &m_result.relay;
    case Replication: return &m_result.replication;
    case Delay: return &m_result.delay;
    case Coverage:
    case PlotCount: break;
    }
    return nullptr;
}

std::optional<engine::QueryFilter> StatisticsPanel::queryForBar(Plot plot, int set, int index) const {
    engine::QueryFilter q;
    const auto range = engine::dayRange([&] {
        engine::StatsRequest r;
        r.since = m_result.request.since;
        r.until = m_result.request.until;
        return r;
    }());
    const bool created = !m_result.request.first_seen_days;  // the archive filters by created_at only
    if (created) {
        if (range.first) q.filter.since = *range.first * 86400;
        if (range.second) q.filter.until = *range.second * 86400 + 86399;
    }
    switch (plot) {
    case EventsPerDay: {
        const auto& t = m_result.day_kind;
        if (index < 0 || size_t(index) >= m_dayKindRow.size() || set < 0 || size_t(set) >= t.columns.size())
            return std::nullopt;
        if (created) {
            const int64_t day = m_firstDay + index;
            q.filter.since = day * 86400;
            q.filter.until = day * 86400 + 86399;
        }
        const std::string& col = t.columns[size_t(set)];
        if (col.rfind("kind ", 0) == 0) {
            q.filter.kinds = {uint16_t(std::stoi(col.substr(5)))};
        } else {  // "other": every kind that is not a column
            for (const auto& row : m_result.kind.rows) {
                const std::string name = "kind " + row.key;
                if (std::find(t.columns.begin(), t.columns.end(), name) == t.columns.end())
                    q.filter.kinds.push_back(uint16_t(row.code));
            }
        }
        return q;
    }
    case Kinds: {
        const auto& t = m_result.kind;
        if (index < 0 || size_t(index) >= t.rows.size()) return std::nullopt;
        q.filter.kinds = {uint16_t(t.rows[size_t(index)].code)};
        return q;
    }
    case Relays: {
        const auto& t = m_result.relay;
        if (index < 0 || size_t(index) >= t.rows.size()) return std::nullopt;
        q.relay = QString::fromStdString(t.rows[size_t(index)].key);
        return q;
    }
    default: return std::nullopt;  // no archive filter expresses delay or replication
    }
}

QChart* StatisticsPanel::chart(Plot plot) const { return m_views[plot]->chart(); }
QChartView* StatisticsPanel::chartView(Plot plot) const { return m_views[plot]; }

bool StatisticsPanel::savePng(Plot plot, const QString& path) const { return m_views[plot]->grab().save(path, "PNG"); }

bool StatisticsPanel::saveCsv(Plot plot, const QString& path) const {
    const engine::StatsTable* t = table(plot);
    std::string csv;
    if (t) {
        csv = engine::statsTableCsv(*t);
    } else if (plot == Coverage) {
        csv = "month,referenced,held,as_of\n";
        for (const auto& m : m_coverage.report.by_month)
            csv += m.month + "," + std::to_string(m.referenced) + "," + std::to_string(m.held) + "," +
                   QDateTime::fromMSecsSinceEpoch(m.as_of_ms, Qt::UTC).toString(Qt::ISODate).toStdString() + "\n";
    } else {
        return false;
    }
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) return false;
    return f.write(csv.data(), qint64(csv.size())) == qint64(csv.size());
}

void StatisticsPanel::exportPlot(Plot plot, bool png) {
    const QString base = QStringLiteral("archivist-statistics-%1").arg(int(plot));
    const QString path = QFileDialog::getSaveFileName(this, png ? tr("Save plot as PNG") : tr("Save numbers as CSV"),
                                                      base + (png ? ".png" : ".csv"),
                                                      png ? tr("PNG images (*.png)") : tr("CSV files (*.csv)"));
    if (path.isEmpty()) return;
    const bool ok = png ? savePng(plot, path) : saveCsv(plot, path);
    m_status->setText(ok ? tr("Saved %1").arg(path) : tr("Could not write %1").arg(path));
}

}  // namespace archivist::ui
