#pragma once
// ArchivePanel ("dock-archive"): the archive browser. A filter bar (kinds, authors as npub/hex,
// #tags, optional time range, full-text search, relay) builds a NIP-01 filter; a lazily paged
// table (ArchiveModel) shows the matching events by created_at (newest or oldest first, a click
// on its header; jump to newest / oldest / a date) or by kind or author (one month at a time, a
// note says which), one line each; a detail pane (EventDetailView)
// shows the selected one. Actions: copy as JSON / nevent / note, export the applied filter.
// Everything reaches the engine through engine::Engine requests answered by queued signals; the
// panel never waits.
// Thread: GUI only.
#include <QDateTime>
#include <QStringList>
#include "ui/panels/panel.h"
#include <optional>

#include "core/engine/engine.h"

class QCheckBox;
class QComboBox;
class QDateTimeEdit;
class QLabel;
class QLineEdit;
class QProgressDialog;
class QPushButton;
class QTableView;

namespace archivist::ui {

class ArchiveModel;
class EventDetailView;

// The filter bar's text, as typed.
struct FilterInputs {
    QString kinds;    // "1, 7"
    QString authors;  // npub… / nprofile… / 64 hex, separated by commas or spaces
    QString tags;     // "t=nostr e=<hex|note1…> p=<hex|npub1…>", separated by spaces or commas
    QString search;
    QString relay;    // "" = any
    std::optional<QDateTime> since, until;
};

class ArchivePanel : public Panel {
    Q_OBJECT
public:
    explicit ArchivePanel(engine::Engine* engine, QWidget* parent = nullptr);

    // The query the inputs describe, or nullopt with a message for the user in *error.
    static std::optional<engine::QueryFilter> buildQuery(const FilterInputs& in, QString* error);

    FilterInputs inputs() const;
    ArchiveModel* model() const { return m_model; }
    EventDetailView* detailView() const { return m_detail; }
    // What the actions produce for the selected event ("" when nothing is selected / loaded).
    QString selectedJson() const;
    QString selectedNevent() const;
    QString selectedNote() const;

    // A header click: Created, Kind or Author sorts (the same column again reverses the order);
    // the other columns do not.
    void sortByColumn(int column);

public slots:
    void applySnapshot(const archivist::engine::EngineSnapshot& s) override;
    // Builds the query from the bar; on bad input shows the error and sends nothing.
    bool applyFilter();
    void highlightRelay(const QString& url) override;
    // Fills the filter bar with `query`'s kinds, relay and time range (clearing the other fields)
    // and applies it — the Statistics panel's "show these events".
    void showQuery(const archivist::engine::QueryFilter& query);
    void copyAsJson();
    void copyAsNevent();
    void copyAsNote();
    void exportFilter();                    // asks for a file, then exportTo()
    void exportTo(const QString& path);     // starts the export job with the applied filter

private:
    void onSelectionChanged();
    void onDetail(quint64 id, const engine::EventDetail& detail);
    void onCount(quint64 id, const engine::CountResult& result);
    void onJobProgress(const QString& kind, double fraction, const QString& text);
    void onJobFinished(const QString& kind, bool ok, const QString& summary);
    void showError(const QString& text);
    void setOrder(Qt::SortOrder order);  // by created_at, from the start
    void updateSortNote();
    void setStatus(const QString& text);
    const engine::EventRowView* selectedRow() const;

    engine::Engine* m_engine;
    ArchiveModel* m_model;
    EventDetailView* m_detail;
    QLineEdit* m_kinds;
    QLineEdit* m_authors;
    QLineEdit* m_tags;
    QLineEdit* m_search;
    QCheckBox* m_sinceOn;
    QDateTimeEdit* m_since;
    QCheckBox* m_untilOn;
    QDateTimeEdit* m_until;
    QComboBox* m_relay;
    QPushButton* m_apply;
    QLabel* m_error;
    QLabel* m_sortNote;  // sorted by kind or author: which month
    QLabel* m_count;
    QLabel* m_status;
    QTableView* m_table;
    QStringList m_relayUrls;  // as last shown in the combo
    quint64 m_detailPending = 0;
    quint64 m_countPending = 0;
    bool m_applied = false;  // applyFilter() succeeded at least once
    quint64 m_eventsAtLastApply = 0;
    quint64 m_eventsTotal = 0;           // the newest snapshot's
    QPushButton* m_newBar = nullptr;     // "N new events — show"
    QDateTimeEdit* m_jumpDate = nullptr;
    bool m_exporting = false;
    QProgressDialog* m_progress = nullptr;
};

}  // namespace archivist::ui
