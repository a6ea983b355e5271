#include "ui/translations.h"

#include <QCoreApplication>
#include <QLibraryInfo>
#include <QTranslator>
#include <cstdio>

namespace archivist::ui {

InstalledTranslations installTranslations(QCoreApplication& qapp, const QString& chosen_raw) {
    InstalledTranslations out;
    const QString chosen = chosen_raw.trimmed();
    out.locale = QLocale::system();
    if (!chosen.isEmpty()) {
        const QLocale wanted(chosen);
        if (wanted.language() == QLocale::C) {
            std::fprintf(stderr, "archivist: ui/language '%s' is not a language; using the system's\n",
                         chosen.toLocal8Bit().constData());
        } else {
            out.locale = wanted;
            QLocale::setDefault(wanted);  // numbers and dates follow the chosen language too
        }
    }
    auto* app = new QTranslator(&qapp);
    // load(QLocale, …) walks the locale's UI languages (de_AT → de); unknown ones fall back to English.
    if (app->load(out.locale, "archivist", "_", ":/i18n") || app->load(":/i18n/archivist_en.qm")) {
        qapp.installTranslator(app);
        out.app = app;
    } else {
        std::fprintf(stderr, "archivist: the embedded translations are missing\n");
        delete app;
    }
    // Qt's texts in the language the console speaks: a French system gets an English console,
    // and then English buttons, not French ones beside English menus.
    const QLocale spoken = out.app && !out.app->language().isEmpty() ? QLocale(out.app->language()) : out.locale;
    out.qt_needed = spoken.language() != QLocale::English && spoken.language() != QLocale::C;
    out.qt_dir = QLibraryInfo::path(QLibraryInfo::TranslationsPath);
    if (!out.qt_needed) return out;
    auto* qt = new QTranslator(&qapp);
    if (qt->load(spoken, "qtbase", "_", out.qt_dir)) {
        qapp.installTranslator(qt);
        out.qt = qt;
    } else {
        delete qt;
        const QByteArray lang = spoken.name().section('_', 0, 0).toLocal8Bit();
        std::fprintf(stderr,
                     "archivist: Qt's own catalogue qtbase_%s.qm is not in %s, so Qt's buttons and dialogs "
                     "stay English (Debian: install qt6-translations-l10n)\n",
                     lang.constData(), out.qt_dir.toLocal8Bit().constData());
    }
    return out;
}

}  // namespace archivist::ui
