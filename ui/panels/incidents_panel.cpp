#include "ui/panels/incidents_panel.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

#include "core/engine/engine.h"
#include "ui/incidents_model.h"

namespace archivist::ui {

IncidentsPanel::IncidentsPanel(engine::Engine* engine, QWidget* parent)
    : Panel(parent), m_engine(engine), m_model(new IncidentsModel(this)), m_view(new QTableView(this)) {
    setObjectName("incidentsPanel");
    m_view->setObjectName("incidentsTable");
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->verticalHeader()->hide();
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->setAlternatingRowColors(true);
    // Two local relays differ only at the end of their URL (the port): elide in the middle.
    m_view->setTextElideMode(Qt::ElideMiddle);
    m_view->setWordWrap(false);
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 6);
    auto* header = m_view->horizontalHeader();
    for (int c : {IncidentsModel::Severity, IncidentsModel::State, IncidentsModel::Time, IncidentsModel::Kind,
                  IncidentsModel::Count})
        header->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    header->setSectionResizeMode(IncidentsModel::Relay, QHeaderView::Interactive);
    header->resizeSection(IncidentsModel::Relay, m_view->fontMetrics().horizontalAdvance("wss://relay.example.com:4848") + 12);

    m_ack = new QPushButton(tr("&Acknowledge"), this);
    m_ack->setObjectName("acknowledgeButton");
    m_ack->setToolTip(tr("Mark the selected alert as seen"));
    m_clear = new QPushButton(tr("&Clear acknowledged"), this);
    m_clear->setObjectName("clearButton");
    m_clear->setToolTip(tr("Dismiss the acknowledged alerts (a firing condition stays until it resolves; the history is kept)"));
    m_clearAll = new QPushButton(tr("Clear a&ll"), this);
    m_clearAll->setObjectName("clearAllButton");
    m_clearAll->setToolTip(tr("Dismiss every alert except firing conditions (the history is kept)"));

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_ack);
    buttons->addWidget(m_clear);
    buttons->addWidget(m_clearAll);
    buttons->addStretch(1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_view, 1);
    layout->addLayout(buttons);

    connect(m_view->selectionModel(), &QItemSelectionModel::currentRowChanged, this, &IncidentsPanel::onCurrentChanged);
    connect(m_ack, &QPushButton::clicked, this, &IncidentsPanel::acknowledgeSelected);
    connect(m_clear, &QPushButton::clicked, this, [this] {
        if (m_engine) m_engine->clearIncidents(false);
    });
    connect(m_clearAll, &QPushButton::clicked, this, [this] {
        if (m_engine) m_engine->clearIncidents(true);
    });
    updateButtons();
}

void IncidentsPanel::applySnapshot(const engine::EngineSnapshot& s) {
    m_model->setIncidents(s.incidents);
    updateButtons();
}

void IncidentsPanel::onCurrentChanged() {
    const QModelIndex cur = m_view->selectionModel()->currentIndex();
    updateButtons();
    if (!cur.isValid()) {
        m_currentId = 0;
        return;
    }
    const auto id = m_model->data(cur, IncidentsModel::IdRole).toULongLong();
    if (id == m_currentId) return;  // same incident, row merely updated
    m_currentId = id;
    const QString relay = m_model->data(cur, IncidentsModel::RelayUrlRole).toString();
    if (!relay.isEmpty()) emit relaySelected(relay);
    emit timeSelected(m_model->data(cur, IncidentsModel::LastMsRole).toLongLong());
}

void IncidentsPanel::acknowledgeSelected() {
    const QModelIndex cur = m_view->selectionModel()->currentIndex();
    if (!cur.isValid() || !m_engine) return;
    m_engine->acknowledgeIncident(m_model->data(cur, IncidentsModel::IdRole).toULongLong());
}

void IncidentsPanel::updateButtons() {
    const QModelIndex cur = m_view->selectionModel()->currentIndex();
    m_ack->setEnabled(cur.isValid() && !m_model->data(cur, IncidentsModel::AcknowledgedRole).toBool());
    bool anyAck = false;
    for (int i = 0; i < m_model->rowCount() && !anyAck; ++i) anyAck = m_model->incident(i).acknowledged;
    m_clear->setEnabled(anyAck);
    m_clearAll->setEnabled(m_model->rowCount() > 0);
}

}  // namespace archivist::ui
