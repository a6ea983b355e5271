#pragma once
// "Add relays…": a text box for one or many relay URLs (separated by any whitespace or commas),
// validated live as the user types by the engine's own check (Engine::checkRelayUrls: URL syntax
// and, for literal IP hosts, the address policy with the engine's allow list) — with a ✓/✗ and
// reason per entry. Add (or Enter in the text box; Shift+Enter starts a new line) adds the valid
// entries through Engine::addRelay; when every one was added the dialog closes, else it stays
// open listing each URL's result ("Close" ends it).
// Bounded: at most kMaxEntries entries are considered; the rest are reported as ignored.
// Thread: GUI only. The engine is not owned and must outlive the dialog.
#include <QDialog>
#include <QStringList>
#include <QVector>

class QDialogButtonBox;
class QLabel;
class QListWidget;
class QPushButton;
class QPlainTextEdit;

namespace archivist::engine {
class Engine;
}

namespace archivist::ui {

class AddRelaysDialog : public QDialog {
    Q_OBJECT
public:
    static constexpr int kMaxEntries = 1000;

    struct Entry {
        QString input;       // as typed
        QString normalized;  // canonical URL when valid
        bool valid = false;
        QString reason;      // why not (or a note, e.g. "allowed by 127.0.0.0/8")
        bool address_refused = false;  // the address policy refused it (it can be allowed)
    };
    struct Result {
        QString input;
        QString normalized;
        bool added = false;
        QString error;
    };

    explicit AddRelaysDialog(engine::Engine* engine, QWidget* parent = nullptr);
    ~AddRelaysDialog() override;

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

public:

    // Splits text into entries and validates them with the engine's check (duplicates of an
    // earlier entry are invalid: "listed twice").
    static QVector<Entry> validate(const QString& text, const engine::Engine& engine);

    void setText(const QString& text);
    QString text() const;
    const QVector<Entry>& entries() const { return m_entries; }
    int validCount() const;
    // Adds every valid entry through the engine and shows the results. Called by OK.
    QVector<Result> addValid();
    const QVector<Result>& results() const { return m_results; }

signals:
    // After addValid(): how many were added and how many failed.
    void relaysAdded(int added, int failed);

private:
    void revalidate();

    engine::Engine* m_engine;
    QPlainTextEdit* m_edit;
    QListWidget* m_list;
    QLabel* m_summary;
    QDialogButtonBox* m_buttons;
    QPushButton* m_allow;  // "Allow this address…" for the first refused entry
    QVector<Entry> m_entries;
    QVector<Result> m_results;
};

}  // namespace archivist::ui
