#pragma once
// Discovery panel: the relay directory browser. A filter bar (URL text, source, status, include
// blocked, order) builds an engine::DirectoryRequest for a lazily paged DirectoryModel; the
// buttons Add, Pin, Unpin, Block and Unblock act on the selected rows through
// Engine::addRelay()/relayAction() and report the outcome in a status line (and statusMessage()).
// Below the table: discovery counts per source and junk URLs per reason (intelligence.discovery).
//
// Contract
// - Text edits apply after kTextDebounceMs; combo boxes and the check box apply at once.
// - When intelligence.discovery.directory_size changes, the loaded rows are re-read, at most once
//   every kRefreshIntervalMs of snapshot time (a change inside the interval is picked up by the
//   first snapshot after it). An action on rows re-reads them at once.
// - Selecting a row emits relaySelected(url); highlightRelay(url) selects it when it is loaded.
// The window (or a test) feeds applySnapshot(); the panel does not connect to snapshotReady itself.
// Thread: GUI only. The engine is not owned and must outlive the panel.
#include "ui/panels/panel.h"

#include "core/engine/relay_directory_types.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableView;
class QTimer;

namespace archivist::engine {
class Engine;
struct EngineSnapshot;
}  // namespace archivist::engine

namespace archivist::ui {

class DirectoryModel;

class DiscoveryPanel : public Panel {
    Q_OBJECT
public:
    static constexpr qint64 kRefreshIntervalMs = 2000;
    static constexpr int kTextDebounceMs = 300;
    static constexpr int kMaxUrlsInMessage = 5;

    explicit DiscoveryPanel(engine::Engine* engine, QWidget* parent = nullptr);

    DirectoryModel* model() const { return m_model; }
    QTableView* view() const { return m_view; }
    // The request the filter bar describes now (offset 0, default limit).
    engine::DirectoryRequest filterRequest() const;
    QStringList selectedUrls() const;
    QString statusText() const;
    QString countsText() const;
    QString matchText() const;

    QPushButton* addButton() const { return m_add; }
    QPushButton* pinButton() const { return m_pin; }
    QPushButton* unpinButton() const { return m_unpin; }
    QPushButton* blockButton() const { return m_block; }
    QPushButton* unblockButton() const { return m_unblock; }

public slots:
    void applySnapshot(const archivist::engine::EngineSnapshot& s) override;
    // Sends the filter bar's request (the table starts over).
    void applyFilter();
    void highlightRelay(const QString& url) override;

signals:
    void statusMessage(const QString& text, int timeout_ms);

private:
    void addSelected();
    void actOnSelected(int action);  // engine::Engine::RelayAction
    void report(const QString& done_label, const QStringList& done, const QStringList& failures);
    void updateButtons();
    void updateMatchText();
    void refreshKeepingSelection();
    void reselect();

    engine::Engine* m_engine;
    DirectoryModel* m_model;
    QLineEdit* m_text;
    QComboBox* m_source;
    QComboBox* m_status;
    QComboBox* m_order;
    QCheckBox* m_includeBlocked;
    QTimer* m_debounce;
    QTableView* m_view;
    QLabel* m_match;
    QLabel* m_statusLine;
    QLabel* m_counts;
    QPushButton* m_add;
    QPushButton* m_pin;
    QPushButton* m_unpin;
    QPushButton* m_block;
    QPushButton* m_unblock;
    quint64 m_seenSize = 0;         // directory size at the last re-read (or the first snapshot)
    bool m_sizeKnown = false;
    qint64 m_lastRefreshMs = 0;     // snapshot time of the last re-read
    QStringList m_reselect;         // URLs selected before a re-read (rows may move), bounded by the rows loaded
};

}  // namespace archivist::ui
