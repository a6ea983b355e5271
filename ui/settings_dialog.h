#pragma once
// SettingsDialog: edits the data directory's config.json (engine::Engine::configPath()) and the
// console language (QSettings "ui/language": "" = system, "en", "de"). Every input is validated
// live; OK stays disabled while any is invalid and each problem is named next to its field.
// Saving writes config.json atomically (engine::saveConfig); the engine reads it at start, so
// changes take effect at the next start (the dialog says so); "Save and restart" saves and asks
// the application to restart (restartRequested()). An "In effect now" section shows the running
// values (config.json as read at start + the command line). Byte limits read and show human
// sizes ("8 MiB").
// Thread: GUI. Does not own the engine.
#include <QDialog>
#include <QStringList>
#include <optional>

#include "core/engine/config.h"

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;

namespace archivist::engine {
class Engine;
}

namespace archivist::ui {

class SettingsDialog : public QDialog {
    Q_OBJECT
public:
    explicit SettingsDialog(engine::Engine* engine, QWidget* parent = nullptr);

    // What is wrong now, one line per problem ("" list = OK is enabled).
    QStringList problems() const { return m_problems; }
    // The configuration the inputs describe (valid only when problems() is empty). Keys the dialog
    // does not show (relays) keep the values read from the file.
    engine::EngineConfig editedConfig() const;

    static constexpr const char* kLanguageKey = "ui/language";
    // "8388608", "8 MiB", "512KiB", "1.5 GiB/s", "2M" (SI: 2,000,000) → bytes; nullopt when unreadable.
    static std::optional<quint64> parseByteSize(const QString& text);
    // 8388608 → "8 MiB" (exact binary units only; otherwise the plain number).
    static QString formatByteSize(quint64 bytes);

signals:
    void restartRequested();

public slots:
    void accept() override;

private slots:
    void validate();

private:
    void load(const engine::EngineConfig& cfg);
    void showRunning(const engine::EngineConfig& running);

    engine::Engine* m_engine;
    QString m_configPath;
    engine::EngineConfig m_loaded;
    QStringList m_problems;

    QLabel* m_dataDir = nullptr;
    QSpinBox* m_maxRelays = nullptr;
    QSpinBox* m_networkThreads = nullptr;
    QSpinBox* m_rateEvents = nullptr;
    QLineEdit* m_rateBytes = nullptr;
    QLabel* m_rateBytesError = nullptr;
    QPlainTextEdit* m_filter = nullptr;
    QLabel* m_filterError = nullptr;
    QCheckBox* m_backfill = nullptr;
    QSpinBox* m_backfillDays = nullptr;
    QSpinBox* m_backfillLimit = nullptr;
    QSpinBox* m_backfillSlots = nullptr;
    QPlainTextEdit* m_allow = nullptr;
    QLabel* m_allowError = nullptr;
    QCheckBox* m_seedRelays = nullptr;
    QLineEdit* m_metricsListen = nullptr;
    QLabel* m_metricsError = nullptr;
    QComboBox* m_language = nullptr;
    QLabel* m_loadError = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
    QPushButton* m_restart = nullptr;
    QLabel* m_running = nullptr;
    bool m_restartRequested = false;
};

}  // namespace archivist::ui
