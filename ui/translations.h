// The console's language: the application's catalogue (embedded as :/i18n/archivist_<lang>.qm;
// English carries the plural forms) and Qt's own (qtbase_<lang>.qm in Qt's translations directory,
// Debian: qt6-translations-l10n) for the texts Qt draws itself, such as the standard buttons.
// Command-line and core messages stay English by design (docs/translations.md).
#pragma once

#include <QLocale>
#include <QString>

class QCoreApplication;
class QTranslator;

namespace archivist::ui {

struct InstalledTranslations {
    QLocale locale;                     // the language asked for (setting or system)
    QTranslator* app = nullptr;         // installed, a child of the application; null if none
    QTranslator* qt = nullptr;          // Qt's qtbase catalogue; null if the system lacks it
    QString qt_dir;                     // where Qt's catalogue was looked for
    bool qt_needed = false;             // the console speaks a language other than English
};

// Installs the catalogues for `chosen` ("de", "en"; empty = the system's language). A chosen
// language also becomes the default QLocale, so numbers and dates match it. A language without a
// catalogue falls back to English.
InstalledTranslations installTranslations(QCoreApplication& app, const QString& chosen);

}  // namespace archivist::ui
