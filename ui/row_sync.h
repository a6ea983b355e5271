#pragma once
// Helpers for table models that follow a keyed list from snapshot to snapshot (rows keep their
// identity, so selection and scroll position survive an update).
#include <QHash>
#include <QString>

namespace archivist::ui {

// Removes every row whose key is not in `keep`, in contiguous runs from the end; each run is
// announced with remove(first, last), which must call the model's beginRemoveRows/endRemoveRows
// around the erase it performs on `rows`.
template <typename Rows, typename KeyOf, typename Remove>
void removeRowsNotIn(const Rows& rows, const QHash<QString, int>& keep, KeyOf keyOf, Remove remove) {
    for (int row = int(rows.size()) - 1; row >= 0;) {
        if (keep.contains(keyOf(rows[row]))) {
            --row;
            continue;
        }
        int first = row;
        while (first > 0 && !keep.contains(keyOf(rows[first - 1]))) --first;
        remove(first, row);
        row = first - 1;
    }
}

}  // namespace archivist::ui
