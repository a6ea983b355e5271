#pragma once
// The Relays panel's properties pane (like a torrent client's "General" tab): everything known
// about the selected relay — state, last error and notice, NIP-11 summary, backfill and catch-up
// progress, a stored-events/s sparkline and an RTT history (the last kHistory seconds, one sample
// a second, kept for every relay in the snapshot), and the alerts that name it.
// Bounded: kHistory samples per relay in the newest snapshot (relays that leave are dropped).
// Thread: GUI only.
#include <QHash>
#include <QString>
#include <QVector>
#include <QWidget>

#include "core/engine/engine.h"

class QLabel;
class QListWidget;

namespace archivist::ui {

// A small line chart of one series (latest on the right), its latest value and maximum.
class Sparkline : public QWidget {
    Q_OBJECT
public:
    explicit Sparkline(QWidget* parent = nullptr);
    void setValues(const QVector<double>& values, const QString& caption);
    QSize sizeHint() const override { return {220, 44}; }

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    QVector<double> m_values;
    QString m_caption;
};

class RelayPropertiesView : public QWidget {
    Q_OBJECT
public:
    static constexpr int kHistory = 120;  // seconds

    explicit RelayPropertiesView(QWidget* parent = nullptr);

    // Every snapshot (history for all relays; the shown one redrawn).
    void applySnapshot(const engine::EngineSnapshot& s);
    void showRelay(const QString& url);
    QString relay() const { return m_url; }
    QString text() const;  // what the pane says (for tests and copy)

signals:
    void showDocumentRequested(const QString& url);

private:
    struct History {
        QVector<double> stored_per_s;  // ≤ kHistory
        QVector<double> rtt_ms;        // ≤ kHistory; -1 = not connected
        qint64 last_ms = 0;
        quint64 last_stored = 0;
    };
    void render();

    QString m_url;
    QHash<QString, History> m_history;
    engine::EngineSnapshot m_last;
    QLabel* m_title;
    QLabel* m_details;
    Sparkline* m_rate;
    Sparkline* m_rtt;
    QListWidget* m_alerts;
};

}  // namespace archivist::ui
