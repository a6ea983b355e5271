#include "ui/scoring_model.h"

#include <QLocale>

#include "ui/relays_model.h"
#include "ui/row_sync.h"

namespace archivist::ui {

QString scoreText(double value) { return value < 0 ? QString() : QLocale().toString(value, 'f', 2); }

QString fractionText(double value) {
    return value < 0 ? QString() : ScoringModel::tr("%1 %").arg(QLocale().toString(value * 100.0, 'f', 0));
}

ScoringModel::ScoringModel(QObject* parent) : QAbstractTableModel(parent) {}

int ScoringModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_rows.size()); }
int ScoringModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }
int ScoringModel::rowOf(const QString& url) const { return m_index.value(url, -1); }

const engine::RelayScoreView* ScoringModel::relay(int row) const {
    return row >= 0 && row < m_rows.size() ? &m_rows[row] : nullptr;
}

QVariant ScoringModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal) return {};
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case Total: return tr("What the optimizer ranks by (docs/relay-scoring.md)");
        case Novelty: return tr("Novel-event rate relative to the network median (0 … 1)");
        case Uptime: return tr("Blend of the 24 h and 7 d uptime (0 … 1)");
        case Latency: return tr("1 = fast round trips");
        case Rejection: return tr("1 = nothing rejected");
        case Confidence: return tr("Weight of the observations against the cold-start prior");
        case Exploration: return tr("Decaying bonus for relays not tried much yet");
        default: return {};
        }
    }
    if (role != Qt::DisplayRole) return {};
    switch (section) {
    case Url: return tr("Relay");
    case Status: return tr("Status");
    case Connected: return tr("Connected");
    case Pinned: return tr("Pinned");
    case Total: return tr("Score");
    case Novelty: return tr("Novelty");
    case Uptime: return tr("Uptime");
    case Latency: return tr("Latency");
    case Rejection: return tr("Rejection");
    case Confidence: return tr("Confidence");
    case Exploration: return tr("Exploration");
    case NovelPerHour: return tr("Novel/h");
    case Uptime24h: return tr("Uptime 24 h");
    case Uptime7d: return tr("Uptime 7 d");
    case Rtt: return tr("RTT");
    }
    return {};
}

QVariant ScoringModel::display(const engine::RelayScoreView& r, int column) const {
    const QLocale loc;
    switch (column) {
    case Url: return r.url;
    case Status: return relayStateText(r.status);
    case Connected: return r.connected ? tr("yes") : QString();
    case Pinned: return r.pinned ? tr("pinned") : QString();
    case Total:
        return r.score.floor_applied ? tr("%1 (floor)").arg(loc.toString(r.score.total, 'f', 2))
                                     : loc.toString(r.score.total, 'f', 2);
    case Novelty: return scoreText(r.score.novelty);
    case Uptime: return scoreText(r.score.uptime);
    case Latency: return scoreText(r.score.latency);
    case Rejection: return scoreText(r.score.rejection);
    case Confidence: return scoreText(r.score.confidence);
    case Exploration: return scoreText(r.score.exploration);
    case NovelPerHour: return loc.toString(r.novel_per_hour, 'f', r.novel_per_hour < 10 ? 1 : 0);
    case Uptime24h: return fractionText(r.uptime_24h);
    case Uptime7d: return fractionText(r.uptime_7d);
    case Rtt: return r.rtt_ms >= 0 ? tr("%1 ms").arg(r.rtt_ms) : QString();
    }
    return {};
}

QVariant ScoringModel::sortKey(const engine::RelayScoreView& r, int column) const {
    switch (column) {
    case Connected: return int(r.connected);
    case Pinned: return int(r.pinned);
    case Total: return r.score.total;
    case Novelty: return r.score.novelty;
    case Uptime: return r.score.uptime;
    case Latency: return r.score.latency;
    case Rejection: return r.score.rejection;
    case Confidence: return r.score.confidence;
    case Exploration: return r.score.exploration;
    case NovelPerHour: return r.novel_per_hour;
    case Uptime24h: return r.uptime_24h;
    case Uptime7d: return r.uptime_7d;
    case Rtt: return qint64(r.rtt_ms);
    default: return display(r, column);
    }
}

QVariant ScoringModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
    const auto& r = m_rows[index.row()];
    switch (role) {
    case Qt::DisplayRole: return display(r, index.column());
    case SortRole: return sortKey(r, index.column());
    case UrlRole: return r.url;
    case Qt::ToolTipRole:
        if (index.column() == Total && r.score.floor_applied) return tr("Held at the floor: a seed or pinned relay");
        if (index.column() == Url && !r.source.isEmpty()) return tr("Source: %1").arg(r.source);
        return {};
    case Qt::TextAlignmentRole:
        return index.column() >= Total ? QVariant(int(Qt::AlignRight | Qt::AlignVCenter)) : QVariant();
    }
    return {};
}

void ScoringModel::reindex() {
    m_index.clear();
    m_index.reserve(m_rows.size());
    for (int i = 0; i < m_rows.size(); ++i) m_index.insert(m_rows[i].url, i);
}

void ScoringModel::applyScored(const QVector<engine::RelayScoreView>& scored) {
    QHash<QString, int> incoming;
    incoming.reserve(scored.size());
    for (int i = 0; i < scored.size(); ++i) incoming.insert(scored[i].url, i);

    // Rows of relays that left, removed in contiguous runs from the end.
    removeRowsNotIn(m_rows, incoming, [](const auto& r) { return r.url; }, [this](int first, int last) {
        beginRemoveRows({}, first, last);
        m_rows.remove(first, last - first + 1);
        endRemoveRows();
    });
    reindex();

    if (!m_rows.isEmpty()) {
        for (auto& r : m_rows) r = scored[incoming.value(r.url)];
        emit dataChanged(index(0, 0), index(int(m_rows.size()) - 1, ColumnCount - 1));
    }

    QVector<engine::RelayScoreView> added;
    for (const auto& v : scored) {
        if (m_index.contains(v.url)) continue;
        added.push_back(v);
        m_index.insert(v.url, -1);  // guards duplicates within one snapshot
    }
    if (!added.isEmpty()) {
        beginInsertRows({}, int(m_rows.size()), int(m_rows.size() + added.size() - 1));
        m_rows += added;
        endInsertRows();
    }
    reindex();
}

}  // namespace archivist::ui
