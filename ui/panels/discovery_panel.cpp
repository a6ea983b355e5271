#include "ui/panels/discovery_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QSet>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>

#include "core/engine/engine.h"
#include "ui/directory_model.h"
#include "ui/relays_model.h"

namespace archivist::ui {

using RelayAction = engine::Engine::RelayAction;
using observe::RelayState;

DiscoveryPanel::DiscoveryPanel(engine::Engine* engine, QWidget* parent)
    : Panel(parent), m_engine(engine), m_model(new DirectoryModel(engine, this)), m_debounce(new QTimer(this)) {
    setObjectName("discoveryPanel");
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);

    auto* bar = new QHBoxLayout;
    m_text = new QLineEdit(this);
    m_text->setObjectName("directoryText");
    m_text->setPlaceholderText(tr("URL contains…"));
    m_text->setClearButtonEnabled(true);
    bar->addWidget(m_text, 2);
    m_source = new QComboBox(this);
    m_source->setObjectName("directorySource");
    m_source->addItem(tr("Any source"), QString());
    m_source->addItem(tr("seed"), QStringLiteral("seed"));
    m_source->addItem(tr("user"), QStringLiteral("user"));
    m_source->addItem(tr("command line"), QStringLiteral("cli"));
    m_source->addItem(tr("config"), QStringLiteral("config"));
    m_source->addItem(tr("NIP-65 relay list"), QStringLiteral("nip65"));
    m_source->addItem(tr("kind 3 relay map"), QStringLiteral("kind3"));
    m_source->addItem(tr("NIP-66 report"), QStringLiteral("nip66"));
    m_source->addItem(tr("tag hint"), QStringLiteral("hint"));
    bar->addWidget(m_source);
    m_status = new QComboBox(this);
    m_status->setObjectName("directoryStatus");
    m_status->addItem(tr("Any status"), QString());
    for (auto st : {RelayState::Candidate, RelayState::Connected, RelayState::BackingOff, RelayState::Failing,
                    RelayState::Refused, RelayState::Restricted, RelayState::Blocked, RelayState::Stopped})
        m_status->addItem(relayStateText(st), QString::fromLatin1(observe::relayStateName(st)));
    bar->addWidget(m_status);
    m_order = new QComboBox(this);
    m_order->setObjectName("directoryOrder");
    m_order->addItem(tr("Best score first"), QStringLiteral("score"));
    m_order->addItem(tr("By URL"), QStringLiteral("url"));
    m_order->addItem(tr("Recently seen first"), QStringLiteral("last_seen"));
    bar->addWidget(m_order);
    m_includeBlocked = new QCheckBox(tr("Include blocked"), this);
    m_includeBlocked->setObjectName("directoryIncludeBlocked");
    m_includeBlocked->setChecked(true);
    bar->addWidget(m_includeBlocked);
    layout->addLayout(bar);

    m_view = new QTableView(this);
    m_view->setObjectName("directoryTable");
    m_view->setModel(m_model);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->verticalHeader()->hide();
    m_view->setColumnWidth(DirectoryModel::Url, 240);
    m_view->horizontalHeader()->setStretchLastSection(true);
    layout->addWidget(m_view, 1);

    auto* buttons = new QHBoxLayout;
    auto make = [this, buttons](const QString& text, const char* name) {
        auto* b = new QPushButton(text, this);
        b->setObjectName(QString::fromLatin1(name));
        buttons->addWidget(b);
        return b;
    };
    m_add = make(tr("&Add"), "directoryAdd");
    m_pin = make(tr("&Pin"), "directoryPin");
    m_unpin = make(tr("U&npin"), "directoryUnpin");
    m_block = make(tr("&Block"), "directoryBlock");
    m_unblock = make(tr("&Unblock"), "directoryUnblock");
    m_match = new QLabel(this);
    m_match->setObjectName("directoryMatch");
    buttons->addStretch(1);
    buttons->addWidget(m_match);
    layout->addLayout(buttons);
    m_statusLine = new QLabel(this);
    m_statusLine->setObjectName("directoryStatusLine");
    m_statusLine->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_statusLine);
    m_counts = new QLabel(this);
    m_counts->setObjectName("discoveryCounts");
    m_counts->setWordWrap(true);
    layout->addWidget(m_counts);

    m_debounce->setSingleShot(true);
    m_debounce->setInterval(kTextDebounceMs);
    connect(m_debounce, &QTimer::timeout, this, &DiscoveryPanel::applyFilter);
    connect(m_text, &QLineEdit::textChanged, m_debounce, qOverload<>(&QTimer::start));
    connect(m_text, &QLineEdit::returnPressed, this, &DiscoveryPanel::applyFilter);
    for (auto* combo : {m_source, m_status, m_order})
        connect(combo, &QComboBox::currentIndexChanged, this, &DiscoveryPanel::applyFilter);
    connect(m_includeBlocked, &QCheckBox::toggled, this, &DiscoveryPanel::applyFilter);

    connect(m_add, &QPushButton::clicked, this, &DiscoveryPanel::addSelected);
    connect(m_pin, &QPushButton::clicked, this, [this] { actOnSelected(int(RelayAction::Pin)); });
    connect(m_unpin, &QPushButton::clicked, this, [this] { actOnSelected(int(RelayAction::Unpin)); });
    connect(m_block, &QPushButton::clicked, this, [this] { actOnSelected(int(RelayAction::Block)); });
    connect(m_unblock, &QPushButton::clicked, this, [this] { actOnSelected(int(RelayAction::Unblock)); });

    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this, &DiscoveryPanel::updateButtons);
    connect(m_view->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this](const QModelIndex& current) {
        if (current.isValid()) emit relaySelected(current.data(DirectoryModel::UrlRole).toString());
    });
    connect(m_model, &QAbstractItemModel::dataChanged, this, &DiscoveryPanel::updateButtons);
    connect(m_model, &QAbstractItemModel::modelReset, this, &DiscoveryPanel::updateButtons);
    connect(m_model, &DirectoryModel::pageLoaded, this, &DiscoveryPanel::reselect);
    connect(m_model, &DirectoryModel::pageLoaded, this, &DiscoveryPanel::updateMatchText);
    connect(m_model, &DirectoryModel::loadingChanged, this, &DiscoveryPanel::updateMatchText);
    connect(m_model, &DirectoryModel::errorOccurred, this, [this](const QString& message) {
        m_statusLine->setText(message);
        emit statusMessage(message, 10000);
    });

    updateButtons();
    applyFilter();
}

engine::DirectoryRequest DiscoveryPanel::filterRequest() const {
    engine::DirectoryRequest r;
    r.text = m_text->text().trimmed();
    r.source = m_source->currentData().toString();
    if (const QString st = m_status->currentData().toString(); !st.isEmpty()) {
        const auto state = observe::relayStateFromName(st.toStdString());
        if (state != RelayState::Count) r.status = state;
    }
    r.include_blocked = m_includeBlocked->isChecked();
    r.order = m_order->currentData().toString();
    return r;
}

void DiscoveryPanel::applyFilter() {
    m_debounce->stop();
    m_reselect.clear();
    m_model->setRequest(filterRequest());
    updateMatchText();
}

QStringList DiscoveryPanel::selectedUrls() const {
    QStringList out;
    const auto rows = m_view->selectionModel()->selectedRows(DirectoryModel::Url);
    for (const auto& idx : rows) out << idx.data(DirectoryModel::UrlRole).toString();
    return out;
}

QString DiscoveryPanel::statusText() const { return m_statusLine->text(); }
QString DiscoveryPanel::countsText() const { return m_counts->text(); }
QString DiscoveryPanel::matchText() const { return m_match->text(); }

void DiscoveryPanel::updateMatchText() {
    const QLocale loc;
    QString text = tr("%1 of %2 matching relays loaded")
                       .arg(loc.toString(m_model->rowCount()), loc.toString(qulonglong(m_model->totalMatching())));
    if (m_model->loading()) text += QStringLiteral(" · ") + tr("loading…");
    m_match->setText(text);
}

void DiscoveryPanel::updateButtons() {
    bool any = false, unpinned = false, pinned = false, blocked = false, unblocked = false;
    for (const auto& idx : m_view->selectionModel()->selectedRows(DirectoryModel::Url)) {
        any = true;
        const bool p = idx.data(DirectoryModel::PinnedRole).toBool();
        const bool b = idx.data(DirectoryModel::BlockedRole).toBool();
        pinned = pinned || p;
        unpinned = unpinned || !p;
        blocked = blocked || b;
        unblocked = unblocked || !b;
    }
    m_add->setEnabled(unblocked);
    m_pin->setEnabled(any && unpinned);
    m_unpin->setEnabled(pinned);
    m_block->setEnabled(unblocked);
    m_unblock->setEnabled(blocked);
}

void DiscoveryPanel::report(const QString& done_label, const QStringList& done, const QStringList& failures) {
    QStringList parts;
    auto bounded = [](const QStringList& items) {
        QString s = items.mid(0, kMaxUrlsInMessage).join(QStringLiteral(", "));
        if (items.size() > kMaxUrlsInMessage) s += QStringLiteral(" ") + tr("and %1 more").arg(items.size() - kMaxUrlsInMessage);
        return s;
    };
    if (!done.isEmpty()) parts << tr("%1: %2").arg(done_label, bounded(done));
    if (!failures.isEmpty()) parts << tr("Failed: %1").arg(bounded(failures));
    const QString text = parts.join(QStringLiteral(" · "));
    m_statusLine->setText(text);
    emit statusMessage(text, failures.isEmpty() ? 5000 : 10000);
    if (!done.isEmpty()) refreshKeepingSelection();
}

void DiscoveryPanel::refreshKeepingSelection() {
    m_reselect = selectedUrls();
    m_model->refresh();
}

void DiscoveryPanel::reselect() {
    if (m_reselect.isEmpty()) return;
    const QSet<QString> wanted(m_reselect.begin(), m_reselect.end());
    const QString current = m_view->currentIndex().isValid() ? m_view->currentIndex().data(DirectoryModel::UrlRole).toString() : QString();
    m_reselect.clear();
    QItemSelection selection;
    QModelIndex currentIdx;
    for (int row = 0; row < m_model->rowCount(); ++row) {
        const QString& url = m_model->entry(row)->url;
        if (!wanted.contains(url)) continue;
        selection.select(m_model->index(row, 0), m_model->index(row, DirectoryModel::ColumnCount - 1));
        if (url == current) currentIdx = m_model->index(row, DirectoryModel::Url);
    }
    auto* sm = m_view->selectionModel();
    if (currentIdx.isValid()) sm->setCurrentIndex(currentIdx, QItemSelectionModel::NoUpdate);
    sm->select(selection, QItemSelectionModel::ClearAndSelect);
}

void DiscoveryPanel::addSelected() {
    QStringList done, failures;
    for (const QString& url : selectedUrls()) {
        QString normalized, error;
        if (m_engine->addRelay(url, &normalized, &error)) {
            done << (normalized.isEmpty() ? url : normalized);
        } else {
            failures << tr("%1 (%2)").arg(url, error.isEmpty() ? tr("failed") : error);
        }
    }
    report(tr("Added"), done, failures);
}

void DiscoveryPanel::actOnSelected(int action) {
    const auto a = RelayAction(action);
    QStringList done, failures;
    for (int row = 0; row < m_model->rowCount(); ++row) {
        if (!m_view->selectionModel()->isRowSelected(row, {})) continue;
        const auto* e = m_model->entry(row);
        // Only the rows the action changes: pinning a pinned relay is not asked again.
        if ((a == RelayAction::Pin && e->pinned) || (a == RelayAction::Unpin && !e->pinned) ||
            (a == RelayAction::Block && e->blocked) || (a == RelayAction::Unblock && !e->blocked))
            continue;
        QString error;
        if (m_engine->relayAction(e->url, a, &error)) {
            done << e->url;
        } else {
            failures << tr("%1 (%2)").arg(e->url, error.isEmpty() ? tr("failed") : error);
        }
    }
    QString label;
    switch (a) {
    case RelayAction::Pin: label = tr("Pinned"); break;
    case RelayAction::Unpin: label = tr("Unpinned"); break;
    case RelayAction::Block: label = tr("Blocked"); break;
    case RelayAction::Unblock: label = tr("Unblocked"); break;
    default: label = tr("Done"); break;
    }
    report(label, done, failures);
}

void DiscoveryPanel::applySnapshot(const engine::EngineSnapshot& s) {
    const auto& d = s.intelligence.discovery;
    const QLocale loc;
    QStringList sources;
    for (const auto& [name, count] : d.by_source) sources << tr("%1 %2").arg(name, loc.toString(qulonglong(count)));
    QStringList junk;
    for (const auto& [reason, count] : d.junk_by_reason) junk << tr("%1 %2").arg(reason, loc.toString(qulonglong(count)));
    QString text = tr("%1 relays in the directory").arg(loc.toString(qulonglong(d.directory_size)));
    if (!sources.isEmpty()) text += QStringLiteral(" · ") + tr("discovered: %1").arg(sources.join(QStringLiteral(", ")));
    text += QStringLiteral(" · ") + tr("junk rejected: %1").arg(loc.toString(qulonglong(d.junk_rejected)));
    if (!junk.isEmpty()) text += QStringLiteral(" (") + junk.join(QStringLiteral(", ")) + QStringLiteral(")");
    if (m_counts->text() != text) m_counts->setText(text);

    if (!m_sizeKnown) {
        m_sizeKnown = true;
        m_seenSize = d.directory_size;
        m_lastRefreshMs = s.taken_at_ms;
        return;
    }
    if (d.directory_size != m_seenSize && s.taken_at_ms - m_lastRefreshMs >= kRefreshIntervalMs) {
        m_seenSize = d.directory_size;
        m_lastRefreshMs = s.taken_at_ms;
        refreshKeepingSelection();
    }
}

void DiscoveryPanel::highlightRelay(const QString& url) {
    for (int row = 0; row < m_model->rowCount(); ++row) {
        if (m_model->entry(row)->url != url) continue;
        const QModelIndex idx = m_model->index(row, DirectoryModel::Url);
        m_view->selectionModel()->setCurrentIndex(idx, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        m_view->scrollTo(idx);
        return;
    }
}

}  // namespace archivist::ui
