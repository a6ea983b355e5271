#include "ui/panels/log_panel.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QScrollBar>
#include <QTableView>
#include <QVBoxLayout>

#include "core/engine/engine.h"
#include "core/observe/log_ring.h"
#include "ui/log_filter_proxy.h"
#include "ui/log_model.h"

namespace archivist::ui {

LogPanel::LogPanel(engine::Engine* engine, observe::LogRing* ring, QWidget* parent)
    : Panel(parent),
      m_engine(engine),
      m_ring(ring),
      m_model(new LogModel(ring ? ring->capacity() : 1000, this)),
      m_proxy(new LogFilterProxy(this)) {
    setObjectName("logPanel");
    m_proxy->setSourceModel(m_model);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Category:"), this));
    m_category = new QComboBox(this);
    m_category->setObjectName("logCategory");
    m_category->addItem(tr("All"), QString());
    m_category->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    bar->addWidget(m_category);
    bar->addWidget(new QLabel(tr("Level at least:"), this));
    m_level = new QComboBox(this);
    m_level->setObjectName("logLevel");
    for (int level = 0; level <= 3; ++level) m_level->addItem(logLevelText(level), level);
    bar->addWidget(m_level);
    m_missedLabel = new QLabel(this);
    m_missedLabel->setObjectName("logMissed");
    bar->addWidget(m_missedLabel);
    bar->addStretch(1);
    layout->addLayout(bar);

    m_view = new QTableView(this);
    m_view->setObjectName("logView");
    m_view->setModel(m_proxy);
    m_view->verticalHeader()->hide();
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 4);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setWordWrap(false);
    m_view->horizontalHeader()->setSectionResizeMode(LogModel::Message, QHeaderView::Stretch);
    m_view->horizontalHeader()->setSectionResizeMode(LogModel::Time, QHeaderView::ResizeToContents);
    layout->addWidget(m_view, 1);

    connect(m_model, &LogModel::categoryAdded, this, &LogPanel::addCategory);
    connect(m_category, &QComboBox::currentIndexChanged, this,
            [this] { m_proxy->setCategory(m_category->currentData().toString()); });
    connect(m_level, &QComboBox::currentIndexChanged, this,
            [this] { m_proxy->setMinimumLevel(m_level->currentData().toInt()); });
    if (!m_ring) m_missedLabel->setText(tr("No log is attached."));
    poll();
}

void LogPanel::addCategory(const QString& category) {
    // Kept sorted after "All".
    int i = 1;
    while (i < m_category->count() && m_category->itemText(i) < category) ++i;
    m_category->insertItem(i, category, category);
}

void LogPanel::applySnapshot(const engine::EngineSnapshot&) { poll(); }

void LogPanel::poll() {
    if (!m_ring) return;
    auto records = m_ring->since(m_lastSeq, kPollMax);
    if (records.empty()) return;
    if (records.front().seq > m_lastSeq + 1) m_missed += records.front().seq - m_lastSeq - 1;
    m_lastSeq = records.back().seq;
    QScrollBar* bar = m_view->verticalScrollBar();
    const bool follow = bar->value() >= bar->maximum();
    m_model->append(records);
    if (follow) m_view->scrollToBottom();
    if (m_missed) m_missedLabel->setText(tr("%n record(s) dropped before display", nullptr, int(std::min<uint64_t>(m_missed, INT32_MAX))));
}

}  // namespace archivist::ui
