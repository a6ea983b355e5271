#include "ui/panels/archive_panel.h"

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDateTimeEdit>
#include <QFileDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QProgressDialog>
#include <QPushButton>
#include <QRegularExpression>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>
#include <climits>

#include "core/protocol/hex.h"
#include "core/protocol/nip19.h"
#include "ui/archive_model.h"
#include "ui/event_detail_view.h"

namespace archivist::ui {

namespace {

QStringList tokens(const QString& text) {
    static const QRegularExpression sep(QStringLiteral("[,\\s]+"));
    return text.split(sep, Qt::SkipEmptyParts);
}

bool hexId(const QString& text, protocol::Bytes32& out) {
    return protocol::fromHex(text.toLower().toStdString(), out.data(), out.size());
}

// e=<hex|note|nevent>, p=<hex|npub|nprofile>: normalised to lowercase hex; other tags verbatim.
std::optional<std::string> tagValue(QChar name, const QString& value) {
    if (name == QLatin1Char('e')) {
        protocol::Bytes32 id{};
        if (hexId(value, id)) return protocol::toHex(id);
        auto d = protocol::decodeNip19(value.toStdString());
        if (d) {
            if (auto* n = std::get_if<protocol::Nip19Note>(&*d)) return protocol::toHex(n->id);
            if (auto* n = std::get_if<protocol::Nip19EventRef>(&*d)) return protocol::toHex(n->id);
        }
        return std::nullopt;
    }
    if (name == QLatin1Char('p')) {
        auto pk = protocol::decodePubkeyInput(value.toStdString());
        if (!pk) return std::nullopt;
        return protocol::toHex(*pk);
    }
    return value.toStdString();
}

}  // namespace

std::optional<engine::QueryFilter> ArchivePanel::buildQuery(const FilterInputs& in, QString* error) {
    auto fail = [&](const QString& text) -> std::optional<engine::QueryFilter> {
        if (error) *error = text;
        return std::nullopt;
    };
    engine::QueryFilter q;
    for (const QString& k : tokens(in.kinds)) {
        bool ok = false;
        const uint v = k.toUInt(&ok);
        if (!ok || v > 65535) return fail(tr("Kind \"%1\" is not a number from 0 to 65535.").arg(k));
        if (std::find(q.filter.kinds.begin(), q.filter.kinds.end(), uint16_t(v)) == q.filter.kinds.end())
            q.filter.kinds.push_back(uint16_t(v));
    }
    for (const QString& a : tokens(in.authors)) {
        auto pk = protocol::decodePubkeyInput(a.toStdString());
        if (!pk)
            return fail(tr("Author \"%1\" is not an npub, nprofile or 64-character hex key (%2).")
                            .arg(a, QString::fromStdString(pk.error().message)));
        if (std::find(q.filter.authors.begin(), q.filter.authors.end(), *pk) == q.filter.authors.end())
            q.filter.authors.push_back(*pk);
    }
    static const QRegularExpression tagRe(QStringLiteral("^#?([A-Za-z])=(.+)$"));
    for (const QString& t : tokens(in.tags)) {
        const auto m = tagRe.match(t);
        if (!m.hasMatch())
            return fail(tr("Tag \"%1\" must look like t=value (one letter, \"=\", a value).").arg(t));
        const QChar name = m.captured(1).at(0);
        const auto value = tagValue(name, m.captured(2));
        if (!value) {
            return fail(name == QLatin1Char('e')
                            ? tr("Tag \"%1\": an e tag needs an event id (64 hex, note or nevent).").arg(t)
                            : tr("Tag \"%1\": a p tag needs a public key (64 hex, npub or nprofile).").arg(t));
        }
        auto& list = q.filter.tags[char(name.toLatin1())];
        if (std::find(list.begin(), list.end(), *value) == list.end()) list.push_back(*value);
    }
    if (in.since) q.filter.since = std::max<qint64>(0, in.since->toSecsSinceEpoch());
    if (in.until) q.filter.until = std::max<qint64>(0, in.until->toSecsSinceEpoch());
    if (q.filter.since && q.filter.until && *q.filter.since > *q.filter.until)
        return fail(tr("The start of the time range is after its end."));
    const QString search = in.search.simplified();
    if (!search.isEmpty()) q.filter.search = search.toStdString();
    q.relay = in.relay.trimmed();
    if (error) error->clear();
    return q;
}

ArchivePanel::ArchivePanel(engine::Engine* engine, QWidget* parent)
    : Panel(parent), m_engine(engine), m_model(new ArchiveModel(engine, this)) {
    setObjectName("archivePanel");
    auto* layout = new QVBoxLayout(this);

    // Filter bar.
    auto* bar = new QGridLayout();
    auto lineEdit = [this](const char* name, const QString& placeholder) {
        auto* e = new QLineEdit(this);
        e->setObjectName(name);
        e->setPlaceholderText(placeholder);
        e->setClearButtonEnabled(true);
        connect(e, &QLineEdit::returnPressed, this, &ArchivePanel::applyFilter);
        return e;
    };
    m_kinds = lineEdit("filterKinds", tr("Kinds, e.g. 1,7"));
    m_authors = lineEdit("filterAuthors", tr("Authors: npub… or hex"));
    m_tags = lineEdit("filterTags", tr("Tags, e.g. t=nostr e=<id>"));
    m_search = lineEdit("filterSearch", tr("Search the content"));
    m_search->setToolTip(tr("Every word must occur. A word also finds the words it begins (zap: zaps, zapping); "
                            "a single letter or digit finds only itself. Case and accents are ignored."));
    m_sinceOn = new QCheckBox(tr("From"), this);
    m_sinceOn->setObjectName("filterSinceEnabled");
    m_since = new QDateTimeEdit(QDateTime::currentDateTimeUtc().addDays(-1), this);
    m_since->setObjectName("filterSince");
    m_untilOn = new QCheckBox(tr("To"), this);
    m_untilOn->setObjectName("filterUntilEnabled");
    m_until = new QDateTimeEdit(QDateTime::currentDateTimeUtc(), this);
    m_until->setObjectName("filterUntil");
    for (auto* dt : {m_since, m_until}) {
        dt->setTimeSpec(Qt::UTC);
        dt->setDisplayFormat("yyyy-MM-dd HH:mm:ss");
        dt->setCalendarPopup(true);
        dt->setEnabled(false);
    }
    connect(m_sinceOn, &QCheckBox::toggled, m_since, &QWidget::setEnabled);
    connect(m_untilOn, &QCheckBox::toggled, m_until, &QWidget::setEnabled);
    m_relay = new QComboBox(this);
    m_relay->setObjectName("filterRelay");
    m_relay->addItem(tr("Any relay"), QString());
    m_apply = new QPushButton(tr("Apply"), this);
    m_apply->setObjectName("applyFilter");
    m_apply->setDefault(true);
    connect(m_apply, &QPushButton::clicked, this, &ArchivePanel::applyFilter);
    // Three short rows, so the panel fits a narrow dock: what, where and when.
    for (auto* e : {m_kinds, m_authors, m_tags, m_search}) e->setMinimumWidth(60);
    m_relay->setMinimumContentsLength(12);
    m_relay->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    bar->addWidget(m_kinds, 0, 0);
    bar->addWidget(m_authors, 0, 1);
    bar->addWidget(m_tags, 0, 2);
    bar->addWidget(m_search, 1, 0, 1, 2);
    bar->addWidget(m_relay, 1, 2);
    auto* range = new QHBoxLayout();
    range->addWidget(m_sinceOn);
    range->addWidget(m_since);
    range->addWidget(m_untilOn);
    range->addWidget(m_until);
    range->addStretch(1);
    range->addWidget(m_apply);
    bar->addLayout(range, 2, 0, 1, 3);
    bar->setColumnStretch(0, 1);
    bar->setColumnStretch(1, 2);
    bar->setColumnStretch(2, 2);
    layout->addLayout(bar);
    m_error = new QLabel(this);
    m_error->setObjectName("filterError");
    m_error->setStyleSheet(QStringLiteral("color: #b00020;"));
    m_error->setWordWrap(true);
    m_error->hide();
    layout->addWidget(m_error);
    m_sortNote = new QLabel(this);
    m_sortNote->setObjectName("sortNote");
    m_sortNote->setStyleSheet(QStringLiteral("color: #475569;"));
    m_sortNote->setWordWrap(true);  // a long note must not widen the panel
    m_sortNote->hide();
    layout->addWidget(m_sortNote);
    connect(m_model, &ArchiveModel::sortWindowChanged, this, &ArchivePanel::updateSortNote);

    // Table and detail.
    auto* split = new QSplitter(Qt::Vertical, this);
    m_table = new QTableView(split);
    m_table->setObjectName("archiveTable");
    m_table->setModel(m_model);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->verticalHeader()->hide();
    // One line per event, like a packet list: fixed row height, no wrapping, Content stretches.
    m_table->setWordWrap(false);
    m_table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 6);
    auto* header = m_table->horizontalHeader();
    header->setStretchLastSection(false);
    const QFontMetrics fm = m_table->fontMetrics();
    header->setSectionResizeMode(QHeaderView::Interactive);
    header->resizeSection(ArchiveModel::CreatedAt, fm.horizontalAdvance(QStringLiteral("2026-12-31 23:59:59")) + 24);
    header->resizeSection(ArchiveModel::Kind, fm.horizontalAdvance(QStringLiteral("1 · Short Text Note")) + 12);
    header->resizeSection(ArchiveModel::Author, fm.horizontalAdvance(QStringLiteral("0123456789ab…")) + 12);
    header->resizeSection(ArchiveModel::FirstSeen, fm.horizontalAdvance(QStringLiteral("2026-12-31 23:59:59")) + 12);
    header->resizeSection(ArchiveModel::Id, fm.horizontalAdvance(QStringLiteral("0123456789ab…")) + 12);
    // When it arrived is in the detail (Relays tab); the list keeps its width for Content.
    m_table->setColumnHidden(ArchiveModel::FirstSeen, true);
    header->setSectionResizeMode(ArchiveModel::Content, QHeaderView::Stretch);
    // Sorting, server-side with a keyset: by created_at over the whole archive; by kind or author
    // one month (UTC) at a time — the index keeps a month's events together, so every page stays
    // one month's work (docs/index-schema.md "Sorted pages"). The other columns do not sort.
    header->setSectionsClickable(true);
    header->setSortIndicatorShown(true);
    header->setSortIndicator(ArchiveModel::CreatedAt, Qt::DescendingOrder);
    connect(header, &QHeaderView::sectionClicked, this, &ArchivePanel::sortByColumn);
    header->setToolTip(tr("Click Created, Kind or Author to sort. Created sorts the whole archive; Kind and Author "
                          "sort one month (UTC) at a time: the newest month with a matching event, or the month of "
                          "\"Go to date\"."));
    // A click on an author filters by that author.
    connect(m_table, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
        if (index.column() != ArchiveModel::Author && index.column() != ArchiveModel::Kind) return;
        if (index.column() == ArchiveModel::Author) m_authors->setText(index.data(ArchiveModel::PubkeyRole).toString());
        else m_kinds->setText(QString::number(index.data(ArchiveModel::KindRole).toInt()));
        applyFilter();
    });
    m_table->setContextMenuPolicy(Qt::ActionsContextMenu);
    m_detail = new EventDetailView(split);
    m_detail->setObjectName("archiveDetail");
    // "N new events — show": the list is not refreshed under the reader's eyes.
    m_newBar = new QPushButton(split);
    m_newBar->setObjectName("newEventsBar");
    m_newBar->setFlat(true);
    m_newBar->setStyleSheet(QStringLiteral("QPushButton { background: #dbeafe; color: #1e3a8a; padding: 3px; }"));
    m_newBar->hide();
    connect(m_newBar, &QPushButton::clicked, this, [this] {
        setOrder(Qt::DescendingOrder);
        applyFilter();
    });
    auto* listBox = new QWidget(split);
    auto* listLayout = new QVBoxLayout(listBox);
    listLayout->setContentsMargins(0, 0, 0, 0);
    listLayout->setSpacing(0);
    // Jump: newest, oldest, a date.
    auto* jump = new QHBoxLayout();
    auto* newest = new QPushButton(tr("Newest"), listBox);
    newest->setObjectName("jumpNewest");
    newest->setToolTip(tr("Newest events first, from the newest"));
    connect(newest, &QPushButton::clicked, this, [this] { setOrder(Qt::DescendingOrder); });
    auto* oldest = new QPushButton(tr("Oldest"), listBox);
    oldest->setObjectName("jumpOldest");
    oldest->setToolTip(tr("Oldest events first, from the oldest"));
    connect(oldest, &QPushButton::clicked, this, [this] { setOrder(Qt::AscendingOrder); });
    m_jumpDate = new QDateTimeEdit(QDateTime::currentDateTimeUtc(), listBox);
    m_jumpDate->setObjectName("jumpDate");
    m_jumpDate->setTimeSpec(Qt::UTC);
    m_jumpDate->setDisplayFormat("yyyy-MM-dd HH:mm");
    m_jumpDate->setCalendarPopup(true);
    auto* go = new QPushButton(tr("Go to date"), listBox);
    go->setObjectName("jumpGo");
    go->setToolTip(tr("Show the events created at this time and (in the current order) after it"));
    connect(go, &QPushButton::clicked, this, [this] { m_model->setStart(m_jumpDate->dateTime().toSecsSinceEpoch()); });
    jump->addWidget(newest);
    jump->addWidget(oldest);
    jump->addStretch(1);
    jump->addWidget(m_jumpDate);
    jump->addWidget(go);
    listLayout->addLayout(jump);
    listLayout->addWidget(m_newBar);
    m_table->setParent(listBox);
    listLayout->addWidget(m_table, 1);
    split->addWidget(listBox);
    split->addWidget(m_detail);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    layout->addWidget(split, 1);

    // Actions.
    auto addAction = [this](const char* name, const QString& text, void (ArchivePanel::*slot)()) {
        auto* a = new QAction(text, this);
        a->setObjectName(name);
        connect(a, &QAction::triggered, this, slot);
        m_table->addAction(a);
        return a;
    };
    addAction("actionCopyJson", tr("Copy as JSON"), &ArchivePanel::copyAsJson);
    addAction("actionCopyNevent", tr("Copy as nevent"), &ArchivePanel::copyAsNevent);
    addAction("actionCopyNote", tr("Copy as note"), &ArchivePanel::copyAsNote);
    addAction("actionExportFilter", tr("Export this filter…"), &ArchivePanel::exportFilter);
    auto* foot = new QHBoxLayout();
    m_count = new QLabel(this);
    m_count->setObjectName("countLabel");
    m_status = new QLabel(this);
    m_status->setObjectName("archiveStatus");
    auto* exportButton = new QPushButton(tr("Export this filter…"), this);
    exportButton->setObjectName("exportFilter");
    connect(exportButton, &QPushButton::clicked, this, &ArchivePanel::exportFilter);
    foot->addWidget(m_count);
    foot->addWidget(m_status, 1);
    foot->addWidget(exportButton);
    layout->addLayout(foot);

    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this, &ArchivePanel::onSelectionChanged);
    connect(m_model, &ArchiveModel::errorOccurred, this, [this](const QString& e) { setStatus(tr("Query failed: %1").arg(e)); });
    connect(m_model, &ArchiveModel::loadingChanged, this, [this](bool loading) {
        if (loading) setStatus(tr("Loading…"));
        else if (m_model->lastError().isEmpty())
            setStatus(m_model->limitReached() ? tr("%1 rows shown (the limit); narrow the filter to see more.")
                                                    .arg(m_model->rowCount())
                                              : tr("%1 rows shown").arg(m_model->rowCount()));
    });
    connect(m_detail, &EventDetailView::relayActivated, this, &ArchivePanel::relaySelected);
    connect(m_detail, &EventDetailView::tagActivated, this, [this](const QString& name, const QString& value) {
        m_tags->setText(name + QLatin1Char('=') + value);
        applyFilter();
    });
    connect(m_engine, &engine::Engine::detailReady, this, &ArchivePanel::onDetail);
    connect(m_engine, &engine::Engine::countReady, this, &ArchivePanel::onCount);
    connect(m_engine, &engine::Engine::jobProgress, this, &ArchivePanel::onJobProgress);
    connect(m_engine, &engine::Engine::jobFinished, this, &ArchivePanel::onJobFinished);
}

FilterInputs ArchivePanel::inputs() const {
    FilterInputs in;
    in.kinds = m_kinds->text();
    in.authors = m_authors->text();
    in.tags = m_tags->text();
    in.search = m_search->text();
    in.relay = m_relay->currentData().toString();
    if (m_sinceOn->isChecked()) in.since = m_since->dateTime();
    if (m_untilOn->isChecked()) in.until = m_until->dateTime();
    return in;
}

bool ArchivePanel::applyFilter() {
    QString error;
    const auto q = buildQuery(inputs(), &error);
    if (!q) {
        showError(error);
        return false;
    }
    showError({});
    m_applied = true;
    m_detailPending = 0;
    m_detail->clear();
    m_eventsAtLastApply = m_eventsTotal;
    m_newBar->hide();
    m_model->setQuery(*q);
    m_countPending = m_engine->requestCount(*q);
    m_count->setText(m_countPending ? tr("Counting…") : QString());
    return true;
}

void ArchivePanel::showError(const QString& text) {
    m_error->setText(text);
    m_error->setVisible(!text.isEmpty());
}

void ArchivePanel::setStatus(const QString& text) { m_status->setText(text); }

void ArchivePanel::setOrder(Qt::SortOrder order) {
    m_table->horizontalHeader()->setSortIndicator(ArchiveModel::CreatedAt, order);
    m_model->setStart(std::nullopt);
    m_model->sort(ArchiveModel::CreatedAt, order);
    updateSortNote();
}

void ArchivePanel::sortByColumn(int column) {
    auto* header = m_table->horizontalHeader();
    if (column != ArchiveModel::CreatedAt && column != ArchiveModel::Kind && column != ArchiveModel::Author) {
        header->setSortIndicator(m_model->sortColumn(), m_model->sortOrder());  // not sortable: unchanged
        return;
    }
    // The same column again flips the order; another one starts newest first (Created) or
    // ascending (Kind, Author).
    Qt::SortOrder order = column == ArchiveModel::CreatedAt ? Qt::DescendingOrder : Qt::AscendingOrder;
    if (column == m_model->sortColumn())
        order = m_model->sortOrder() == Qt::AscendingOrder ? Qt::DescendingOrder : Qt::AscendingOrder;
    header->setSortIndicator(column, order);
    m_model->setStart(std::nullopt);
    m_model->sort(column, order);
    updateSortNote();
}

void ArchivePanel::updateSortNote() {
    if (m_model->sortKey() == engine::PageSort::CreatedAt) {
        m_sortNote->hide();
        return;
    }
    const QString column = m_model->sortKey() == engine::PageSort::Kind ? tr("kind") : tr("author");
    const qint64 since = m_model->sortWindowSince(), until = m_model->sortWindowUntil();
    QString month;
    if (since || until) {
        const QDate first = QDateTime::fromSecsSinceEpoch(since, Qt::UTC).date();
        // The index's first bucket holds everything before 2020 as one "month".
        month = first.year() < 2020 ? tr("before 2020") : first.toString(QStringLiteral("yyyy-MM"));
    }
    m_sortNote->setText(month.isEmpty()
                            ? tr("Sorted by %1 within one month (UTC) at a time.").arg(column)
                            : tr("Sorted by %1 within %2 (UTC) — one month at a time; \"Go to date\" picks another "
                                 "month, \"Newest\" sorts the whole archive by time again.")
                                  .arg(column, month));
    m_sortNote->show();
}

void ArchivePanel::applySnapshot(const engine::EngineSnapshot& s) {
    m_eventsTotal = s.events_total;
    if (m_applied && m_model->rowCount() > 0 && s.events_total > m_eventsAtLastApply) {
        const quint64 n = s.events_total - m_eventsAtLastApply;
        m_newBar->setText(tr("%n new event(s) in the archive since this list was loaded — show", nullptr,
                             int(std::min<quint64>(n, INT_MAX))));
        m_newBar->show();
    }
    // An applied query that found nothing is asked again once the archive has grown (the first
    // events of a new archive, or a filter that starts matching); a non-empty table is left alone
    // so browsing is never disturbed.
    if (m_applied && m_model->rowCount() == 0 && !m_model->loading() && s.events_total != m_eventsAtLastApply &&
        s.events_total > 0) {
        m_eventsAtLastApply = s.events_total;
        applyFilter();
    }
    QStringList urls;
    urls.reserve(s.relays.size());
    for (const auto& r : s.relays) urls << QString::fromStdString(r.url);
    if (urls == m_relayUrls) return;
    m_relayUrls = urls;
    const QString current = m_relay->currentData().toString();
    m_relay->blockSignals(true);
    m_relay->clear();
    m_relay->addItem(tr("Any relay"), QString());
    for (const auto& u : urls) m_relay->addItem(u, u);
    // A relay that left the snapshot stays selectable while it is the applied choice.
    if (!current.isEmpty() && !urls.contains(current)) m_relay->addItem(current, current);
    m_relay->setCurrentIndex(std::max(0, m_relay->findData(current)));
    m_relay->blockSignals(false);
}

void ArchivePanel::highlightRelay(const QString& url) {
    int i = m_relay->findData(url);
    if (i < 0) {
        m_relay->addItem(url, url);
        i = m_relay->count() - 1;
    }
    m_relay->setCurrentIndex(i);
}

void ArchivePanel::showQuery(const engine::QueryFilter& query) {
    QStringList kinds;
    for (uint16_t k : query.filter.kinds) kinds << QString::number(k);
    m_kinds->setText(kinds.join(", "));
    m_authors->clear();
    m_tags->clear();
    m_search->clear();
    if (query.relay.isEmpty()) m_relay->setCurrentIndex(0);
    else highlightRelay(query.relay);
    m_sinceOn->setChecked(bool(query.filter.since));
    if (query.filter.since) m_since->setDateTime(QDateTime::fromSecsSinceEpoch(*query.filter.since, Qt::UTC));
    m_untilOn->setChecked(bool(query.filter.until));
    if (query.filter.until) m_until->setDateTime(QDateTime::fromSecsSinceEpoch(*query.filter.until, Qt::UTC));
    applyFilter();
}

const engine::EventRowView* ArchivePanel::selectedRow() const {
    const auto rows = m_table->selectionModel()->selectedRows();
    return rows.isEmpty() ? nullptr : m_model->row(rows.front().row());
}

void ArchivePanel::onSelectionChanged() {
    const auto* row = selectedRow();
    if (!row) {
        m_detailPending = 0;
        m_detail->clear();
        return;
    }
    m_detail->showLoading(row->id_hex);
    m_detailPending = m_engine->requestDetail(row->id_hex);
    emit timeSelected(row->created_at * 1000);
}

void ArchivePanel::onDetail(quint64 id, const engine::EventDetail& detail) {
    if (id == 0 || id != m_detailPending) return;
    m_detailPending = 0;
    m_detail->showDetail(detail);
}

void ArchivePanel::onCount(quint64 id, const engine::CountResult& result) {
    if (id == 0 || id != m_countPending) return;
    m_countPending = 0;
    m_count->setText(result.ok ? tr("%n event(s) match", nullptr, int(std::min<quint64>(result.count, INT_MAX)))
                               : tr("Count failed: %1").arg(result.error));
}

QString ArchivePanel::selectedJson() const {
    const auto* row = selectedRow();
    const auto& d = m_detail->detail();
    if (!row || !d.found || d.id_hex != row->id_hex) return {};
    return d.json;
}

QString ArchivePanel::selectedNevent() const {
    const auto* row = selectedRow();
    if (!row) return {};
    protocol::Nip19EventRef ref;
    protocol::Bytes32 pk{};
    if (!hexId(row->id_hex, ref.id) || !hexId(row->pubkey_hex, pk)) return {};
    ref.author = pk;
    ref.kind = uint32_t(row->kind);
    // Up to three relays that carried it, when the detail is loaded.
    const auto& d = m_detail->detail();
    if (d.found && d.id_hex == row->id_hex)
        for (const auto& s : d.sightings)
            if (s.relay.startsWith("wss://") || s.relay.startsWith("ws://"))
                if (ref.relays.size() < 3) ref.relays.push_back(s.relay.toStdString());
    return QString::fromStdString(protocol::encodeNevent(ref));
}

QString ArchivePanel::selectedNote() const {
    const auto* row = selectedRow();
    protocol::Bytes32 id{};
    if (!row || !hexId(row->id_hex, id)) return {};
    return QString::fromStdString(protocol::encodeNote(id));
}

void ArchivePanel::copyAsJson() {
    const QString json = selectedJson();
    if (json.isEmpty()) {
        setStatus(selectedRow() ? tr("The event is still loading; try again in a moment.") : tr("Select an event first."));
        return;
    }
    QApplication::clipboard()->setText(json);
    setStatus(tr("Copied the event as JSON."));
}

void ArchivePanel::copyAsNevent() {
    const QString s = selectedNevent();
    if (s.isEmpty()) return setStatus(tr("Select an event first."));
    QApplication::clipboard()->setText(s);
    setStatus(tr("Copied %1").arg(s.left(24) + QChar(0x2026)));
}

void ArchivePanel::copyAsNote() {
    const QString s = selectedNote();
    if (s.isEmpty()) return setStatus(tr("Select an event first."));
    QApplication::clipboard()->setText(s);
    setStatus(tr("Copied %1").arg(s.left(24) + QChar(0x2026)));
}

void ArchivePanel::exportFilter() {
    const QString path = QFileDialog::getSaveFileName(this, tr("Export events"), QStringLiteral("events.jsonl"),
                                                      tr("JSON Lines (*.jsonl);;All files (*)"));
    if (!path.isEmpty()) exportTo(path);
}

void ArchivePanel::exportTo(const QString& path) {
    // The applied filter (what the table shows); without one, what the bar says now.
    std::optional<engine::QueryFilter> q;
    if (m_applied) q = m_model->query();
    QString error;
    if (!q) q = buildQuery(inputs(), &error);
    if (!q) return showError(error);
    if (m_engine->jobRunning()) return setStatus(tr("Another job is still running."));
    m_exporting = true;
    if (!m_progress) {
        m_progress = new QProgressDialog(tr("Exporting events…"), tr("Cancel"), 0, 1000, this);
        m_progress->setObjectName("exportProgress");
        m_progress->setWindowModality(Qt::WindowModal);
        m_progress->setMinimumDuration(0);
        m_progress->setAutoClose(false);
        m_progress->setAutoReset(false);
        connect(m_progress, &QProgressDialog::canceled, this, [this] {
            if (m_exporting) m_engine->cancelJob();
        });
    }
    m_progress->setLabelText(tr("Exporting events to %1…").arg(path));
    m_progress->setValue(0);
    m_progress->show();
    m_engine->startExport(*q, path);
}

void ArchivePanel::onJobProgress(const QString& kind, double fraction, const QString& text) {
    if (kind != QLatin1String("export") || !m_exporting || !m_progress) return;
    if (fraction < 0) m_progress->setRange(0, 0);
    else {
        m_progress->setRange(0, 1000);
        m_progress->setValue(int(fraction * 1000));
    }
    m_progress->setLabelText(text);
}

void ArchivePanel::onJobFinished(const QString& kind, bool ok, const QString& summary) {
    if (kind != QLatin1String("export") || !m_exporting) return;
    m_exporting = false;
    if (m_progress) m_progress->hide();
    setStatus(ok ? summary : tr("Export failed: %1").arg(summary));
}

}  // namespace archivist::ui
