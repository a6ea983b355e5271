#pragma once
// Relays panel: every relay of the engine's snapshot in a sortable, filterable table (RelaysModel
// behind a QSortFilterProxyModel; status colour and icon, key columns first), a properties pane
// for the selected relay (RelayPropertiesView), and a context menu that acts through Engine::relayAction(),
// copies the URL or shows the stored NIP-11 document. The actions act on the current row and
// are public (objectNames "actionRelayConnect", …, "actionRelayPin", "actionRelayUnpin") so the window and tests can reach them.
// Errors are reported through statusMessage(); the panel never blocks on the engine except for
// the NIP-11 document, a short directory lookup.
// Thread: GUI only. The engine is not owned and must outlive the panel.
#include "ui/panels/panel.h"

class QAction;
class QLineEdit;
class QMenu;
class QSortFilterProxyModel;
class QTableView;

namespace archivist::engine {
class Engine;
struct EngineSnapshot;
}  // namespace archivist::engine

namespace archivist::ui {

class RelaysModel;
class RelayPropertiesView;

class RelaysPanel : public Panel {
    Q_OBJECT
public:
    explicit RelaysPanel(engine::Engine* engine, QWidget* parent = nullptr);

    RelaysModel* model() const { return m_model; }
    QSortFilterProxyModel* proxy() const { return m_proxy; }
    QTableView* view() const { return m_view; }
    RelayPropertiesView* properties() const { return m_properties; }
    // The URL of the current row, "" when none.
    QString currentUrl() const;
    // The context menu for the current row (actions enabled for its state). Owned by the panel.
    QMenu* contextMenu();

    QAction* connectAction() const { return m_connect; }
    QAction* disconnectAction() const { return m_disconnect; }
    QAction* blockAction() const { return m_block; }
    QAction* unblockAction() const { return m_unblock; }
    QAction* backfillAction() const { return m_backfill; }
    QAction* pinAction() const { return m_pin; }
    QAction* unpinAction() const { return m_unpin; }
    QAction* removeAction() const { return m_remove; }
    QAction* allowAddressAction() const { return m_allowAddress; }
    QAction* copyUrlAction() const { return m_copyUrl; }
    QAction* showInfoAction() const { return m_showInfo; }

public slots:
    void applySnapshot(const archivist::engine::EngineSnapshot& s) override;
    // Selects and shows the relay's row (clears the filter if it hides the relay).
    void highlightRelay(const QString& url) override;

signals:
    // A result or error to show in the status bar.
    void statusMessage(const QString& text, int timeout_ms);

private:
    void act(int action);  // engine::Engine::RelayAction
    void updateActions();
    void showInfoDocument();
    void onRelayInfo(quint64 id, const QString& url, const QString& document);

    engine::Engine* m_engine;
    quint64 m_infoRequest = 0;  // the NIP-11 lookup whose answer opens the dialog
    RelaysModel* m_model;
    QSortFilterProxyModel* m_proxy;
    QLineEdit* m_filter;
    QTableView* m_view;
    QMenu* m_menu;
    QAction* m_connect;
    QAction* m_disconnect;
    QAction* m_block;
    QAction* m_unblock;
    QAction* m_backfill;
    QAction* m_pin;
    QAction* m_unpin;
    QAction* m_remove;
    QAction* m_allowAddress;
    QAction* m_copyUrl;
    QAction* m_showInfo;
    RelayPropertiesView* m_properties;
};

}  // namespace archivist::ui
