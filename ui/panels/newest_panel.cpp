#include "ui/panels/newest_panel.h"

#include <QFormLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QTableView>
#include <QVBoxLayout>

#include "core/engine/engine.h"
#include "ui/newest_events_model.h"

namespace archivist::ui {

namespace {
QString bytes(quint64 b) { return QLocale().formattedDataSize(qint64(b)); }
QString count(quint64 n) { return QLocale().toString(qulonglong(n)); }
}  // namespace

NewestPanel::NewestPanel(engine::Engine*, QWidget* parent) : Panel(parent), m_model(new NewestEventsModel(this)) {
    setObjectName("newestPanel");
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    auto* totals = new QGroupBox(tr("Archive"), this);
    auto* form = new QFormLayout(totals);
    m_events = new QLabel(totals);
    m_events->setObjectName("labelEvents");
    m_archive = new QLabel(totals);
    m_archive->setObjectName("labelArchive");
    m_rate = new QLabel(totals);
    m_rate->setObjectName("labelRate");
    m_memory = new QLabel(totals);
    m_memory->setObjectName("labelMemory");
    m_memory->setWordWrap(true);
    form->addRow(tr("Events stored:"), m_events);
    form->addRow(tr("Archive size:"), m_archive);
    form->addRow(tr("Throughput:"), m_rate);
    form->addRow(tr("Memory:"), m_memory);
    layout->addWidget(totals);

    m_table = new QTableView(this);
    m_table->setObjectName("newestEvents");
    m_table->setModel(m_model);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setAlternatingRowColors(true);
    m_table->verticalHeader()->hide();
    // One line per event; Content takes the spare width.
    m_table->setWordWrap(false);
    m_table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 6);
    m_table->setTextElideMode(Qt::ElideRight);
    {
        const QFontMetrics fm = m_table->fontMetrics();
        auto* header = m_table->horizontalHeader();
        header->resizeSection(NewestEventsModel::CreatedAt, fm.horizontalAdvance(QStringLiteral("2026-12-31 23:59:59")) + 16);
        header->resizeSection(NewestEventsModel::Kind, fm.horizontalAdvance(QStringLiteral("1 · Short Text Note")) + 12);
    }
    m_table->horizontalHeader()->setSectionResizeMode(NewestEventsModel::Content, QHeaderView::Stretch);
    layout->addWidget(m_table, 1);
}

void NewestPanel::applySnapshot(const engine::EngineSnapshot& s) {
    m_events->setText(count(s.events_total));
    m_archive->setText(bytes(s.archive_bytes));
    m_rate->setText(tr("%1 stored/s, %2 duplicate/s, %3 rejected/s")
                        .arg(s.stored_per_s, 0, 'f', 0)
                        .arg(s.duplicate_per_s, 0, 'f', 0)
                        .arg(s.rejected_per_s, 0, 'f', 0));
    QString queues;
    for (const auto& q : s.queues) queues += tr(", %1 queue %2/%3").arg(q.name).arg(q.depth).arg(q.capacity);
    m_memory->setText(tr("%1 resident, %2 heap").arg(bytes(s.rss_bytes), bytes(s.heap_bytes)) + queues);
    m_model->setEvents(s.newest);
}

}  // namespace archivist::ui
