#include "ui/panels/relays_panel.h"

#include <QAction>
#include <QClipboard>
#include <QDialog>
#include <QDialogButtonBox>
#include <QGuiApplication>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QJsonDocument>
#include <QLineEdit>
#include <QMenu>
#include <QPlainTextEdit>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

#include "core/engine/engine.h"
#include "ui/allow_address.h"
#include "ui/relay_properties_view.h"
#include "ui/relays_model.h"

namespace archivist::ui {

using RelayAction = engine::Engine::RelayAction;

RelaysPanel::RelaysPanel(engine::Engine* engine, QWidget* parent)
    : Panel(parent), m_engine(engine), m_model(new RelaysModel(this)), m_proxy(new QSortFilterProxyModel(this)) {
    setObjectName("relaysPanel");
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(RelaysModel::SortRole);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_proxy->setFilterKeyColumn(-1);  // any column: URL, status, error, source
    m_proxy->setDynamicSortFilter(true);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    m_filter = new QLineEdit(this);
    m_filter->setObjectName("relayFilter");
    m_filter->setPlaceholderText(tr("Filter relays (URL, status, error, source)…"));
    m_filter->setClearButtonEnabled(true);
    layout->addWidget(m_filter);
    m_view = new QTableView(this);
    m_view->setObjectName("relaysTable");
    m_view->setModel(m_proxy);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(RelaysModel::Url, Qt::AscendingOrder);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->verticalHeader()->hide();
    m_view->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->setTextElideMode(Qt::ElideMiddle);  // local relays differ at the end (the port)
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 6);
    {
        // The key columns (relay, status, stored/s, RTT, backfill, last error) fit in 1280 px.
        const QFontMetrics fm = m_view->fontMetrics();
        const auto w = [&fm](const char* sample) { return fm.horizontalAdvance(QString::fromUtf8(sample)) + 24; };
        const auto tight = [&fm](const char* sample) { return fm.horizontalAdvance(QString::fromUtf8(sample)) + 10; };
        m_view->setColumnWidth(RelaysModel::Url, w("wss://relay.example.com"));
        m_view->setColumnWidth(RelaysModel::Status, tight("address refused") + 18);
        m_view->setColumnWidth(RelaysModel::StoredPerSecond, tight("Stored/s"));
        m_view->setColumnWidth(RelaysModel::Rtt, tight("999 ms"));
        m_view->setColumnWidth(RelaysModel::Backfill, tight("running 99 %"));
        m_view->setColumnWidth(RelaysModel::LastError, w("connect_failed: refused"));
    }
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    m_properties = new RelayPropertiesView(this);
    connect(m_properties, &RelayPropertiesView::showDocumentRequested, this, [this](const QString& url) {
        highlightRelay(url);
        showInfoDocument();
    });
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(m_view);
    split->addWidget(m_properties);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 1);
    layout->addWidget(split, 1);

    auto make = [this](const QString& text, const char* name) {
        auto* a = new QAction(text, this);
        a->setObjectName(QString::fromLatin1(name));
        return a;
    };
    m_connect = make(tr("&Connect"), "actionRelayConnect");
    m_disconnect = make(tr("&Disconnect"), "actionRelayDisconnect");
    m_block = make(tr("&Block"), "actionRelayBlock");
    m_unblock = make(tr("&Unblock"), "actionRelayUnblock");
    m_backfill = make(tr("Back&fill now"), "actionRelayBackfill");
    m_pin = make(tr("P&in (never dropped by the optimizer)"), "actionRelayPin");
    m_unpin = make(tr("Un&pin"), "actionRelayUnpin");
    m_allowAddress = make(tr("&Allow this address…"), "actionRelayAllowAddress");
    m_allowAddress->setToolTip(tr("The address policy refused this relay's address: add it to the allow list"));
    connect(m_allowAddress, &QAction::triggered, this, [this] {
        const int row = m_model->rowOf(currentUrl());
        const engine::RelayRow* r = m_model->relay(row);
        if (!r) return;
        QString message;
        allowRefusedAddress(this, m_engine, currentUrl(), QString::fromStdString(r->last_error), &message);
        if (!message.isEmpty()) emit statusMessage(message, 15000);
    });
    m_remove = make(tr("&Remove"), "actionRelayRemove");
    m_remove->setShortcut(QKeySequence::Delete);
    m_remove->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    m_remove->setToolTip(tr("Stop and unpin the relay; it is not added again at the next start (its history stays)"));
    addAction(m_remove);
    m_copyUrl = make(tr("Copy &URL"), "actionRelayCopyUrl");
    m_showInfo = make(tr("Show &NIP-11 document…"), "actionRelayShowInfo");
    connect(m_connect, &QAction::triggered, this, [this] { act(int(RelayAction::Connect)); });
    connect(m_disconnect, &QAction::triggered, this, [this] { act(int(RelayAction::Disconnect)); });
    connect(m_block, &QAction::triggered, this, [this] { act(int(RelayAction::Block)); });
    connect(m_unblock, &QAction::triggered, this, [this] { act(int(RelayAction::Unblock)); });
    connect(m_backfill, &QAction::triggered, this, [this] { act(int(RelayAction::BackfillNow)); });
    connect(m_pin, &QAction::triggered, this, [this] { act(int(RelayAction::Pin)); });
    connect(m_unpin, &QAction::triggered, this, [this] { act(int(RelayAction::Unpin)); });
    connect(m_remove, &QAction::triggered, this, [this] { act(int(RelayAction::Remove)); });
    connect(m_copyUrl, &QAction::triggered, this, [this] {
        const QString url = currentUrl();
        if (url.isEmpty()) return;
        QGuiApplication::clipboard()->setText(url);
        emit statusMessage(tr("Copied %1").arg(url), 3000);
    });
    connect(m_showInfo, &QAction::triggered, this, &RelaysPanel::showInfoDocument);
    if (m_engine) connect(m_engine, &engine::Engine::relayInfoReady, this, &RelaysPanel::onRelayInfo);

    m_menu = new QMenu(this);
    m_menu->setObjectName("relaysContextMenu");
    m_menu->addActions({m_connect, m_disconnect});
    m_menu->addSeparator();
    m_menu->addActions({m_block, m_unblock});
    m_menu->addActions({m_pin, m_unpin});
    m_menu->addAction(m_remove);
    m_menu->addAction(m_allowAddress);
    m_menu->addSeparator();
    m_menu->addAction(m_backfill);
    m_menu->addSeparator();
    m_menu->addActions({m_copyUrl, m_showInfo});

    connect(m_filter, &QLineEdit::textChanged, m_proxy, &QSortFilterProxyModel::setFilterFixedString);
    connect(m_view, &QWidget::customContextMenuRequested, this, [this](const QPoint& pos) {
        const QModelIndex idx = m_view->indexAt(pos);
        if (!idx.isValid()) return;
        m_view->setCurrentIndex(idx);
        contextMenu()->popup(m_view->viewport()->mapToGlobal(pos));
    });
    connect(m_view->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this] {
        updateActions();
        const QString url = currentUrl();
        m_properties->showRelay(url);
        if (!url.isEmpty()) emit relaySelected(url);
    });
    updateActions();
}

QString RelaysPanel::currentUrl() const {
    const QModelIndex idx = m_view->currentIndex();
    return idx.isValid() ? idx.data(RelaysModel::UrlRole).toString() : QString();
}

QMenu* RelaysPanel::contextMenu() {
    updateActions();
    return m_menu;
}

void RelaysPanel::updateActions() {
    const QModelIndex idx = m_view->currentIndex();
    const bool any = idx.isValid();
    const auto state = observe::RelayState(idx.data(RelaysModel::StateRole).toInt());
    const bool blocked = any && state == observe::RelayState::Blocked;
    const bool open = any && state == observe::RelayState::Connected;
    m_connect->setEnabled(any && !blocked && !open);
    m_disconnect->setEnabled(any && !blocked && state != observe::RelayState::Stopped);
    m_block->setEnabled(any && !blocked);
    m_unblock->setEnabled(blocked);
    m_backfill->setEnabled(any && !blocked);
    const bool pinned = any && idx.data(RelaysModel::PinnedRole).toBool();
    m_pin->setEnabled(any && !pinned && !blocked);
    m_unpin->setEnabled(pinned);
    m_copyUrl->setEnabled(any);
    m_showInfo->setEnabled(any);
    m_remove->setEnabled(any);
    m_allowAddress->setEnabled(any && state == observe::RelayState::Refused);
    m_allowAddress->setVisible(m_allowAddress->isEnabled());
}

void RelaysPanel::act(int action) {
    const QString url = currentUrl();
    if (url.isEmpty()) return;
    QString error;
    if (!m_engine->relayAction(url, RelayAction(action), &error)) {
        emit statusMessage(tr("%1: %2").arg(url, error.isEmpty() ? tr("failed") : error), 10000);
        return;
    }
    QString done;
    switch (RelayAction(action)) {
    case RelayAction::Connect: done = tr("Connecting to %1"); break;
    case RelayAction::Disconnect: done = tr("Disconnected from %1"); break;
    case RelayAction::Block: done = tr("Blocked %1"); break;
    case RelayAction::Unblock: done = tr("Unblocked %1"); break;
    case RelayAction::BackfillNow: done = tr("Backfill of %1 started"); break;
    case RelayAction::Remove: done = tr("Removed %1"); break;
    case RelayAction::Pin: done = tr("Pinned %1"); break;
    case RelayAction::Unpin: done = tr("Unpinned %1"); break;
    }
    emit statusMessage(done.arg(url), 5000);
}

void RelaysPanel::showInfoDocument() {
    const QString url = currentUrl();
    if (url.isEmpty()) return;
    // Looked up on an engine thread; the answer opens the dialog (a newer request wins).
    m_infoRequest = m_engine->requestRelayInfo(url);
    if (!m_infoRequest) emit statusMessage(tr("No NIP-11 document is stored for %1.").arg(url), 8000);
}

void RelaysPanel::onRelayInfo(quint64 id, const QString& url, const QString& doc) {
    if (id != m_infoRequest) return;
    m_infoRequest = 0;
    if (doc.isEmpty()) {
        emit statusMessage(tr("No NIP-11 document is stored for %1.").arg(url), 8000);
        return;
    }
    QJsonParseError err{};
    const QJsonDocument json = QJsonDocument::fromJson(doc.toUtf8(), &err);
    auto* dialog = new QDialog(this);
    dialog->setObjectName("relayInfoDialog");
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(tr("NIP-11 document of %1").arg(url));
    dialog->resize(560, 480);
    auto* layout = new QVBoxLayout(dialog);
    auto* text = new QPlainTextEdit(dialog);
    text->setObjectName("relayInfoText");
    text->setReadOnly(true);
    text->setPlainText(json.isNull() ? doc : QString::fromUtf8(json.toJson(QJsonDocument::Indented)));
    layout->addWidget(text);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, dialog);
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::close);
    layout->addWidget(buttons);
    dialog->show();
}

void RelaysPanel::applySnapshot(const engine::EngineSnapshot& s) {
    m_model->applyRelays(s.relays, s.taken_at_ms);
    m_properties->applySnapshot(s);
    updateActions();
}

void RelaysPanel::highlightRelay(const QString& url) {
    const int row = m_model->rowOf(url);
    if (row < 0) return;
    QModelIndex idx = m_proxy->mapFromSource(m_model->index(row, RelaysModel::Url));
    if (!idx.isValid()) {
        m_filter->clear();
        idx = m_proxy->mapFromSource(m_model->index(row, RelaysModel::Url));
    }
    if (!idx.isValid()) return;
    m_view->setCurrentIndex(idx);
    m_view->scrollTo(idx);
}

}  // namespace archivist::ui
