#include "ui/directory_model.h"

#include "ui/relays_model.h"

#include <QDateTime>
#include <QLocale>
#include <algorithm>

#include "core/engine/engine.h"
#include "ui/scoring_model.h"

namespace archivist::ui {

namespace {
QString timeText(qint64 ms) {
    return ms > 0 ? QLocale().toString(QDateTime::fromMSecsSinceEpoch(ms), QLocale::ShortFormat) : QString();
}
}  // namespace

DirectoryModel::DirectoryModel(engine::Engine* engine, QObject* parent) : QAbstractTableModel(parent), m_engine(engine) {
    connect(m_engine, &engine::Engine::directoryReady, this, &DirectoryModel::onDirectory);
}

int DirectoryModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_rows.size()); }
int DirectoryModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

const engine::DirectoryEntryView* DirectoryModel::entry(int row) const {
    return row >= 0 && row < m_rows.size() ? &m_rows[row] : nullptr;
}

QVariant DirectoryModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
    case Url: return tr("Relay");
    case Source: return tr("Source");
    case Status: return tr("Status");
    case Pinned: return tr("Pinned");
    case Score: return tr("Score");
    case Uptime24h: return tr("Uptime 24 h");
    case Uptime7d: return tr("Uptime 7 d");
    case OpenRtt: return tr("Open RTT");
    case ReadRtt: return tr("Read RTT");
    case LastProbe: return tr("Last probe");
    case Nip11Name: return tr("Name");
    case Nip11Software: return tr("Software");
    case Nip11Summary: return tr("NIP-11");
    case FirstSeen: return tr("First seen");
    case LastSeen: return tr("Last seen");
    case Failures: return tr("Failures");
    case LastError: return tr("Last error");
    }
    return {};
}

QVariant DirectoryModel::display(const engine::DirectoryEntryView& e, int column) const {
    switch (column) {
    case Url: return e.url;
    case Source: return e.source;
    case Status: return relayStateText(e.status);
    case Pinned: return e.pinned ? tr("pinned") : QString();
    case Score: return scoreText(e.score);
    case Uptime24h: return fractionText(e.uptime_24h);
    case Uptime7d: return fractionText(e.uptime_7d);
    case OpenRtt: return e.open_rtt_ms >= 0 ? tr("%1 ms").arg(e.open_rtt_ms) : QString();
    case ReadRtt: return e.read_rtt_ms >= 0 ? tr("%1 ms").arg(e.read_rtt_ms) : QString();
    case LastProbe:
        if (e.last_probe_ms <= 0) return tr("never");
        return e.last_probe_ok ? timeText(e.last_probe_ms) : tr("%1 (failed)").arg(timeText(e.last_probe_ms));
    case Nip11Name: return e.nip11_name;
    case Nip11Software: return e.nip11_software;
    case Nip11Summary: return e.nip11_summary;
    case FirstSeen: return timeText(e.first_seen_ms);
    case LastSeen: return timeText(e.last_seen_ms);
    case Failures: return e.consecutive_failures > 0 ? QLocale().toString(e.consecutive_failures) : QString();
    case LastError: return e.last_error;
    }
    return {};
}

QVariant DirectoryModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
    const auto& e = m_rows[index.row()];
    switch (role) {
    case Qt::DisplayRole: return display(e, index.column());
    case UrlRole: return e.url;
    case PinnedRole: return e.pinned;
    case BlockedRole: return e.blocked;
    case Qt::ToolTipRole:
        if (index.column() == LastError && !e.last_error.isEmpty()) return e.last_error;
        if (index.column() == Nip11Summary && !e.nip11_summary.isEmpty()) return e.nip11_summary;
        return {};
    case Qt::TextAlignmentRole:
        switch (index.column()) {
        case Score:
        case Uptime24h:
        case Uptime7d:
        case OpenRtt:
        case ReadRtt:
        case Failures: return int(Qt::AlignRight | Qt::AlignVCenter);
        default: return {};
        }
    }
    return {};
}

bool DirectoryModel::canFetchMore(const QModelIndex& parent) const {
    return !parent.isValid() && m_active && !m_atEnd && m_pending == 0 && m_rows.size() < kMaxRows;
}

void DirectoryModel::fetchMore(const QModelIndex& parent) {
    if (!canFetchMore(parent)) return;
    send(int(m_rows.size()), std::min(m_pageSize, kMaxRows - int(m_rows.size())), Pending::Append);
}

void DirectoryModel::setRequest(const engine::DirectoryRequest& request) {
    const bool wasLoading = m_pending != 0;
    beginResetModel();
    m_rows.clear();
    m_rows.squeeze();
    m_request = request;
    m_active = true;
    m_atEnd = false;
    m_total = 0;
    m_error.clear();
    m_pending = 0;  // an answer to the old request is now stale
    m_pendingKind = Pending::None;
    endResetModel();
    // A view (or the model tester) may already have fetched the first page on the reset.
    if (m_pending == 0) send(0, m_pageSize, Pending::Append);
    if (wasLoading && m_pending == 0) emit loadingChanged(false);
}

void DirectoryModel::refresh() {
    if (!m_active) return;
    const int limit = std::clamp(int(m_rows.size()), m_pageSize, kMaxRefreshRows);
    send(0, limit, Pending::Refresh);
}

void DirectoryModel::send(int offset, int limit, Pending kind) {
    engine::DirectoryRequest req = m_request;
    req.offset = offset;
    req.limit = limit;
    const bool wasLoading = m_pending != 0;
    m_pending = m_engine->requestDirectory(req);
    if (m_pending == 0) {
        m_pendingKind = Pending::None;
        m_atEnd = true;
        m_error = tr("This engine has no relay directory.");
        if (wasLoading) emit loadingChanged(false);
        emit errorOccurred(m_error);
        return;
    }
    m_pendingKind = kind;
    m_pendingOffset = offset;
    if (!wasLoading) emit loadingChanged(true);
}

void DirectoryModel::onDirectory(quint64 id, const engine::DirectoryPage& page) {
    if (id == 0 || id != m_pending) return;  // stale: a newer request was sent since
    const Pending kind = m_pendingKind;
    if (!page.ok) {
        m_pending = 0;
        m_pendingKind = Pending::None;
        m_atEnd = true;
        m_error = page.error.isEmpty() ? tr("The directory query failed.") : page.error;
        emit loadingChanged(false);
        emit errorOccurred(m_error);
        return;
    }
    m_error.clear();
    m_total = page.total_matching;
    // m_pending stays set while rows change: a fetchMore() from a rowsInserted handler must not
    // ask for the same offset again.
    if (kind == Pending::Append && m_pendingOffset == m_rows.size()) {
        const int n = std::min<int>(kMaxRows - int(m_rows.size()), int(page.rows.size()));
        if (n > 0) {
            beginInsertRows({}, int(m_rows.size()), int(m_rows.size()) + n - 1);
            m_rows.append(page.rows.mid(0, n));
            endInsertRows();
        }
        m_atEnd = n == 0 || quint64(m_rows.size()) >= m_total;
    } else if (kind == Pending::Refresh) {
        const int common = std::min<int>(int(m_rows.size()), int(page.rows.size()));
        for (int i = 0; i < common; ++i) m_rows[i] = page.rows[i];
        if (common > 0) emit dataChanged(index(0, 0), index(common - 1, ColumnCount - 1));
        const bool whole = int(page.rows.size()) < kMaxRefreshRows || m_rows.size() <= page.rows.size();
        if (page.rows.size() > m_rows.size()) {
            const int n = std::min<int>(kMaxRows, int(page.rows.size())) - int(m_rows.size());
            beginInsertRows({}, int(m_rows.size()), int(m_rows.size()) + n - 1);
            m_rows.append(page.rows.mid(m_rows.size(), n));
            endInsertRows();
        } else if (whole && page.rows.size() < m_rows.size()) {
            // The answer covered every row we held: the ones beyond it no longer match.
            beginRemoveRows({}, int(page.rows.size()), int(m_rows.size()) - 1);
            m_rows.resize(page.rows.size());
            endRemoveRows();
        }
        m_atEnd = quint64(m_rows.size()) >= m_total;
    }
    m_pending = 0;
    m_pendingKind = Pending::None;
    emit loadingChanged(false);
    emit pageLoaded();
}

}  // namespace archivist::ui
