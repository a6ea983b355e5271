#include "ui/relays_model.h"

#include <QPainter>
#include <QPixmap>

#include <QDateTime>
#include <QLocale>
#include <algorithm>

#include "core/protocol/event.h"
#include "ui/row_sync.h"
#include "ui/scoring_model.h"

namespace archivist::ui {

namespace {
// Rejected by validation in the pipeline, or refused before it (subscription discipline).
uint64_t rejectionsTotal(const engine::RelayRow& v) { return v.invalid + v.refused(); }

double novelShare(const engine::RelayRow& v) {
    const double seen = double(v.stored) + double(v.duplicate);
    return seen > 0 ? double(v.stored) / seen : -1.0;
}
}  // namespace

QString relayStateText(observe::RelayState s) {
    using S = observe::RelayState;
    switch (s) {
    case S::Candidate: return RelaysModel::tr("candidate");
    case S::Resolving: return RelaysModel::tr("resolving");
    case S::FetchingInfo: return RelaysModel::tr("fetching NIP-11");
    case S::Connecting: return RelaysModel::tr("connecting");
    case S::Connected: return RelaysModel::tr("connected");
    case S::BackingOff: return RelaysModel::tr("backing off");
    case S::Failing: return RelaysModel::tr("failing");
    case S::Refused: return RelaysModel::tr("address refused");
    case S::Restricted: return RelaysModel::tr("restricted");
    case S::Blocked: return RelaysModel::tr("blocked");
    case S::Stopped: return RelaysModel::tr("stopped");
    case S::Count: break;
    }
    return {};
}

QString backfillStateText(observe::BackfillState s) {
    using B = observe::BackfillState;
    switch (s) {
    case B::NotStarted: return RelaysModel::tr("not started");
    case B::Waiting: return RelaysModel::tr("waiting");
    case B::Running: return RelaysModel::tr("running");
    case B::Done: return RelaysModel::tr("done");
    case B::Disabled: return RelaysModel::tr("off");
    case B::Count: break;
    }
    return {};
}

QString eventRefusalText(observe::EventRefusal r) {
    using R = observe::EventRefusal;
    switch (r) {
    case R::UnknownSubscription: return RelaysModel::tr("not on a subscription we opened");
    case R::OutsideFilter: return RelaysModel::tr("outside the subscription's filter");
    case R::None:
    case R::Count: break;
    }
    return {};
}

QColor relayStateColor(observe::RelayState s) {
    using S = observe::RelayState;
    switch (s) {
    case S::Connected: return QColor(0x16, 0xa3, 0x4a);
    case S::Resolving:
    case S::FetchingInfo:
    case S::Connecting:
    case S::BackingOff: return QColor(0xf5, 0x9e, 0x0b);
    case S::Failing:
    case S::Refused:
    case S::Restricted: return QColor(0xdc, 0x26, 0x26);
    case S::Blocked: return QColor(0x37, 0x41, 0x51);
    case S::Candidate:
    case S::Stopped:
    case S::Count: break;
    }
    return QColor(0x9c, 0xa3, 0xaf);
}

QIcon relayStateIcon(observe::RelayState s) {
    static QHash<int, QIcon> cache;  // GUI thread only; one per state
    auto it = cache.find(int(s));
    if (it != cache.end()) return *it;
    QPixmap pm(12, 12);
    pm.fill(Qt::transparent);
    QPainter p(&pm);
    p.setRenderHint(QPainter::Antialiasing);
    p.setPen(Qt::NoPen);
    p.setBrush(relayStateColor(s));
    if (s == observe::RelayState::Blocked) p.drawRect(2, 2, 8, 8);  // a square: the operator's stop
    else p.drawEllipse(1, 1, 10, 10);
    return *cache.insert(int(s), QIcon(pm));
}

RelaysModel::RelaysModel(QObject* parent) : QAbstractTableModel(parent) {}

int RelaysModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_rows.size()); }
int RelaysModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

int RelaysModel::rowOf(const QString& url) const { return m_index.value(url, -1); }

const engine::RelayRow* RelaysModel::relay(int row) const {
    return row >= 0 && row < m_rows.size() ? &m_rows[row].view : nullptr;
}

double RelaysModel::storedPerSecond(int row) const {
    return row >= 0 && row < m_rows.size() ? m_rows[row].stored_per_s : 0.0;
}

QVariant RelaysModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation == Qt::Horizontal && role == Qt::ToolTipRole && section == StoredPerSecond)
        return tr("Events stored per second, moving average over the last %1 s").arg(kRateWindowMs / 1000);
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    switch (section) {
    case Url: return tr("Relay");
    case Status: return tr("Status");
    case ConnectedSince: return tr("Connected since");
    case StoredPerSecond: return tr("Stored/s");
    case NovelShare: return tr("Novel");
    case Duplicates: return tr("Duplicates");
    case Rejections: return tr("Rejected");
    case Rtt: return tr("RTT");
    case LastError: return tr("Last error");
    case Source: return tr("Source");
    case Backfill: return tr("Backfill");
    case Score: return tr("Score");
    case Uptime24h: return tr("Uptime 24 h");
    case Pinned: return tr("Pinned");
    case Sync: return tr("Sync");
    }
    return {};
}

QVariant RelaysModel::display(const Row& r, int column) const {
    const auto& v = r.view;
    const QLocale loc;
    switch (column) {
    case Url: return r.url;
    case Status: return relayStateText(v.state);
    case ConnectedSince:
        return v.connected_since_ms > 0
                   ? loc.toString(QDateTime::fromMSecsSinceEpoch(v.connected_since_ms), QLocale::ShortFormat)
                   : QString();
    case StoredPerSecond: return loc.toString(r.stored_per_s, 'f', 1);
    case NovelShare: {
        const double share = novelShare(v);
        return share < 0 ? QString() : tr("%1 %").arg(loc.toString(share * 100.0, 'f', 0));
    }
    case Duplicates: return loc.toString(qulonglong(v.duplicate));
    case Rejections: return loc.toString(qulonglong(rejectionsTotal(v)));
    // A round trip measured on a connection that is gone says nothing about the relay now.
    case Rtt: return v.rtt_ms >= 0 && v.state == observe::RelayState::Connected ? tr("%1 ms").arg(v.rtt_ms) : QString();
    case LastError: return QString::fromStdString(v.last_error);
    case Source: return QString::fromStdString(v.source);
    case Backfill:
        if (v.backfill == observe::BackfillState::Running || v.backfill == observe::BackfillState::Waiting)
            return tr("%1 %2 %").arg(backfillStateText(v.backfill), loc.toString(v.backfill_fraction * 100.0, 'f', 0));
        return backfillStateText(v.backfill);
    case Score: return scoreText(v.score);
    case Uptime24h: return fractionText(v.uptime_24h);
    case Pinned: return v.pinned ? tr("pinned") : QString();
    case Sync: {
        QString text = v.method == observe::SyncMethod::Negentropy ? tr("NIP-77") : tr("REQ");
        if (v.negentropy == observe::NegentropySupport::Unusable) text = tr("REQ (NIP-77 unusable)");
        if (v.reconciling)
            text += tr(", reconciling %1 %").arg(loc.toString(v.reconcile_fraction * 100.0, 'f', 0));
        if (v.late_events) text += tr(", %1 late").arg(loc.toString(qulonglong(v.late_events)));
        if (v.backfill_gaps) text += tr(", %1 gaps").arg(loc.toString(qulonglong(v.backfill_gaps)));
        return text;
    }
    }
    return {};
}

QString RelaysModel::syncTooltip(const Row& r) const {
    const auto& v = r.view;
    const QLocale loc;
    QStringList lines;
    lines << tr("Method: %1").arg(v.method == observe::SyncMethod::Negentropy ? tr("NIP-77 reconciliation") : tr("REQ pagination"));
    lines << tr("NIP-77 support (judged by behaviour): %1").arg(QString::fromLatin1(observe::negentropySupportName(v.negentropy)));
    if (v.negentropy == observe::NegentropySupport::Unusable) {
        lines << tr("Why: %1").arg(QString::fromStdString(v.negentropy_reason));
        lines << tr("Tried again after: %1")
                     .arg(loc.toString(QDateTime::fromMSecsSinceEpoch(v.negentropy_retry_after_ms), QLocale::ShortFormat));
    }
    lines << tr("Last reconciliation of the whole history: %1")
                 .arg(v.reconciled_ms > 0 ? loc.toString(QDateTime::fromMSecsSinceEpoch(v.reconciled_ms), QLocale::ShortFormat)
                                          : tr("never"));
    lines << tr("Found missing and fetched (this run): %1").arg(loc.toString(qulonglong(v.reconcile_missing)));
    lines << tr("Late events (older than the live cursor when found): %1").arg(loc.toString(qulonglong(v.late_events)));
    lines << tr("Windows: %1, halved after a size refusal: %2")
                 .arg(loc.toString(qulonglong(v.reconcile_windows)), loc.toString(qulonglong(v.reconcile_splits)));
    lines << tr("Gaps: %1").arg(loc.toString(qulonglong(v.backfill_gaps)));
    return lines.join('\n');
}

QVariant RelaysModel::sortKey(const Row& r, int column) const {
    const auto& v = r.view;
    switch (column) {
    case Status: return int(v.state);
    case ConnectedSince: return qint64(v.connected_since_ms);
    case StoredPerSecond: return r.stored_per_s;
    case NovelShare: return novelShare(v);
    case Duplicates: return qulonglong(v.duplicate);
    case Rejections: return qulonglong(rejectionsTotal(v));
    case Rtt: return v.state == observe::RelayState::Connected ? qint64(v.rtt_ms) : qint64(-1);
    case Backfill: return int(v.backfill) * 1000 + int(v.backfill_fraction * 999);
    case Score: return v.score;
    case Uptime24h: return v.uptime_24h;
    case Pinned: return int(v.pinned);
    default: return display(r, column);
    }
}

QString RelaysModel::rejectionTooltip(const Row& r) const {
    QStringList lines;
    const auto& by = r.view.invalid_by_reason;
    for (size_t i = 0; i < by.size(); ++i) {
        if (by[i] == 0) continue;
        lines << tr("%1: %2").arg(QString::fromLatin1(protocol::rejectName(protocol::Reject(i))))
                     .arg(QLocale().toString(qulonglong(by[i])));
    }
    const auto& refused = r.view.refused_by_reason;
    for (size_t i = 0; i < refused.size(); ++i) {
        if (refused[i] == 0) continue;
        const auto why = observe::EventRefusal(i + 1);
        lines << tr("%1 (%2): %3")
                     .arg(QString::fromLatin1(observe::eventRefusalName(why)), eventRefusalText(why))
                     .arg(QLocale().toString(qulonglong(refused[i])));
    }
    if (r.view.auth_failures) lines << tr("auth failures: %1").arg(r.view.auth_failures);
    if (r.view.rate_limited) lines << tr("rate-limited by the relay: %1").arg(r.view.rate_limited);
    if (r.view.flood_pauses) lines << tr("paused by our flood limit: %1").arg(r.view.flood_pauses);
    if (r.view.bad_messages) lines << tr("unparseable messages: %1").arg(r.view.bad_messages);
    return lines.isEmpty() ? tr("No rejections") : lines.join('\n');
}

QVariant RelaysModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
    const Row& r = m_rows[index.row()];
    switch (role) {
    case Qt::DisplayRole: return display(r, index.column());
    case SortRole: return sortKey(r, index.column());
    case UrlRole: return r.url;
    case StateRole: return int(r.view.state);
    case PinnedRole: return r.view.pinned;
    case Qt::DecorationRole:
        if (index.column() == Status) return relayStateIcon(r.view.state);
        return {};
    case Qt::ForegroundRole:
        if (index.column() == Status) return relayStateColor(r.view.state).darker(130);
        return {};
    case Qt::ToolTipRole:
        if (index.column() == Rejections) return rejectionTooltip(r);
        if (index.column() == Sync) return syncTooltip(r);
        if (index.column() == LastError || index.column() == Status) {
            QString tip = QString::fromStdString(r.view.last_error);
            if (!r.view.last_notice.empty()) tip += (tip.isEmpty() ? "" : "\n") + tr("Notice: %1").arg(QString::fromStdString(r.view.last_notice));
            return tip.isEmpty() ? QVariant() : QVariant(tip);
        }
        if (index.column() == Url && !r.view.info_name.empty())
            return tr("%1 (%2)").arg(QString::fromStdString(r.view.info_name), QString::fromStdString(r.view.info_software));
        return {};
    case Qt::TextAlignmentRole:
        switch (index.column()) {
        case StoredPerSecond:
        case NovelShare:
        case Duplicates:
        case Rejections:
        case Rtt:
        case Score:
        case Uptime24h: return int(Qt::AlignRight | Qt::AlignVCenter);
        default: return {};
        }
    }
    return {};
}

void RelaysModel::reindex() {
    m_index.clear();
    m_index.reserve(m_rows.size());
    for (int i = 0; i < m_rows.size(); ++i) m_index.insert(m_rows[i].url, i);
}

void RelaysModel::applyRelays(const QVector<engine::RelayRow>& relays, qint64 taken_at_ms) {
    QHash<QString, int> incoming;
    incoming.reserve(relays.size());
    for (int i = 0; i < relays.size(); ++i) incoming.insert(QString::fromStdString(relays[i].url), i);

    // 1. Rows of relays that left: removed in contiguous runs, from the end.
    removeRowsNotIn(m_rows, incoming, [](const auto& r) { return r.url; }, [this](int first, int last) {
        beginRemoveRows({}, first, last);
        m_rows.remove(first, last - first + 1);
        endRemoveRows();
    });
    reindex();

    // 2. Existing rows updated in place.
    int firstChanged = -1, lastChanged = -1;
    for (int row = 0; row < m_rows.size(); ++row) {
        Row& r = m_rows[row];
        const auto& v = relays[incoming.value(r.url)];
        if (taken_at_ms > r.taken_at_ms && r.taken_at_ms > 0) {
            if (v.stored < r.view.stored) r.samples.clear();  // a counter that went back: a new connection's
            while (!r.samples.isEmpty() && (taken_at_ms - r.samples.front().first > kRateWindowMs ||
                                            r.samples.size() >= kMaxSamples))
                r.samples.removeFirst();
            const auto& [from_ms, from_stored] = r.samples.isEmpty() ? qMakePair(r.taken_at_ms, quint64(r.view.stored))
                                                                     : r.samples.front();
            const double dt_s = double(taken_at_ms - from_ms) / 1000.0;
            r.stored_per_s = dt_s > 0 && v.stored >= from_stored ? double(v.stored - from_stored) / dt_s : 0.0;
        }
        if (taken_at_ms > 0) {
            if (r.samples.isEmpty() && r.taken_at_ms > 0) r.samples.push_back({r.taken_at_ms, quint64(r.view.stored)});
            r.samples.push_back({taken_at_ms, quint64(v.stored)});
            r.taken_at_ms = taken_at_ms;
        }
        r.view = v;
        if (firstChanged < 0) firstChanged = row;
        lastChanged = row;
    }
    if (firstChanged >= 0) emit dataChanged(index(firstChanged, 0), index(lastChanged, ColumnCount - 1));

    // 3. New relays appended (the view's proxy sorts them).
    QVector<Row> added;
    for (const auto& v : relays) {
        const QString url = QString::fromStdString(v.url);
        if (m_index.contains(url)) continue;
        Row r;
        r.view = v;
        r.url = url;
        r.taken_at_ms = taken_at_ms;
        added.push_back(std::move(r));
        m_index.insert(url, -1);  // guards duplicates within one snapshot
    }
    if (!added.isEmpty()) {
        beginInsertRows({}, int(m_rows.size()), int(m_rows.size() + added.size() - 1));
        m_rows += added;
        endInsertRows();
    }
    reindex();
}

}  // namespace archivist::ui
