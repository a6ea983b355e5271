#pragma once
// The cells the two event tables share (Archive browser: ArchiveModel; Newest events:
// NewestEventsModel): created_at, kind, author, content, id — shown the same way in both.
#include <QDateTime>
#include <QString>
#include <QVariant>
#include <optional>

#include "ui/kind_names.h"

namespace archivist::ui::event_cells {

enum class Field { CreatedAt, Kind, Author, Content, Id };

// UTC "yyyy-MM-dd HH:mm:ss" of seconds since the epoch.
inline QString utcSeconds(qint64 s) {
    return QDateTime::fromSecsSinceEpoch(s, Qt::UTC).toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"));
}

// The value of `field` for `role` (display, tool tip, alignment); an invalid QVariant for other
// roles. Row: any type with created_at (seconds), kind, pubkey_hex, content_preview and id_hex.
template <typename Row>
QVariant cell(const Row& e, Field field, int role) {
    const auto shortHex = [](const QString& hex) { return hex.left(16) + QChar(0x2026); };
    if (role == Qt::DisplayRole) {
        switch (field) {
        case Field::CreatedAt: return utcSeconds(e.created_at);
        case Field::Kind: return kindLabel(e.kind);
        case Field::Author: return shortHex(e.pubkey_hex);
        case Field::Content: return QString(e.content_preview).replace('\n', ' ');
        case Field::Id: return shortHex(e.id_hex);
        }
    } else if (role == Qt::ToolTipRole) {
        switch (field) {
        case Field::CreatedAt: return QString::number(e.created_at);
        case Field::Author: return e.pubkey_hex;
        case Field::Content: return e.content_preview;
        case Field::Id: return e.id_hex;
        case Field::Kind: return kindName(e.kind).isEmpty() ? QVariant() : QVariant(kindName(e.kind));
        }
    }
    return {};
}

}  // namespace archivist::ui::event_cells
