#pragma once
// EventDetailView: one event as the archive holds it — pretty JSON, a tags table, the relays that
// carried it with first-seen time and latency relative to created_at, and the verification result.
// Shows values only (engine::EventDetail); it never queries anything itself.
// Thread: GUI only.
#include <QWidget>

#include "core/engine/query_types.h"

class QLabel;
class QPlainTextEdit;
class QTableWidget;

namespace archivist::ui {

class EventDetailView : public QWidget {
    Q_OBJECT
public:
    explicit EventDetailView(QWidget* parent = nullptr);

    void showDetail(const engine::EventDetail& detail);
    void showLoading(const QString& id_hex);
    void clear();
    // The detail currently shown (found == false when none).
    const engine::EventDetail& detail() const { return m_detail; }

    // "+1.25 s" / "−3 s" style latency text of seen_at_ms relative to created_at (seconds).
    static QString latencyText(qint64 seen_at_ms, qint64 created_at);

signals:
    // The operator double-clicked a relay that carried the event.
    void relayActivated(const QString& url);
    // A one-letter tag was double-clicked: filter by it.
    void tagActivated(const QString& name, const QString& value);

private:
    engine::EventDetail m_detail;
    QLabel* m_header;
    QLabel* m_verification;
    QPlainTextEdit* m_json;
    QTableWidget* m_tags;
    QTableWidget* m_relays;
};

}  // namespace archivist::ui
