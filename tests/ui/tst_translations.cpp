// Translations: the embedded German catalogue turns the window's menus and dock titles German;
// translations/archivist_de.ts has no unfinished, empty or placeholder-losing entry and every one
// of its entries is found under the context tr() really uses; the English catalogue gives proper
// plurals ("Add 1 relay" / "Add 2 relays") in the Add relays dialog; what the console installs at
// start (ui::installTranslations) includes Qt's own German catalogue, so "Cancel" is "Abbrechen".
#include <QDialogButtonBox>
#include <QDockWidget>
#include <QFile>
#include <QMenuBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QScopeGuard>
#include <QTemporaryDir>
#include <QTranslator>
#include <QXmlStreamReader>
#include <QtTest>
#include <memory>

#include "fake_engine.h"
#include "ui/add_relays_dialog.h"
#include "ui/main_window.h"
#include "ui/translations.h"

using namespace archivist;

namespace {

struct TsMessage {
    QString context;
    QString source;
    QString comment;
    bool numerus = false;
    QString translation_type;  // "" = finished; "unfinished", "vanished", "obsolete"
    QStringList forms;         // the translation, or its numerus forms
    qint64 line = 0;
};

// Reads every <message> of a Qt Linguist .ts file; an XML error fails through `error`.
QVector<TsMessage> readTs(const QString& path, QString& error) {
    QVector<TsMessage> out;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        error = path + ": " + f.errorString();
        return out;
    }
    QXmlStreamReader xml(&f);
    QString context;
    TsMessage m;
    bool inMessage = false;
    while (!xml.atEnd()) {
        xml.readNext();
        if (xml.isStartElement()) {
            const auto name = xml.name();
            if (name == u"name" && !inMessage) {
                context = xml.readElementText();
            } else if (name == u"message") {
                inMessage = true;
                m = TsMessage{};
                m.context = context;
                m.numerus = xml.attributes().value("numerus") == u"yes";
                m.line = xml.lineNumber();
            } else if (name == u"source" && inMessage) {
                m.source = xml.readElementText();
            } else if (name == u"comment" && inMessage) {
                m.comment = xml.readElementText();
            } else if (name == u"translation" && inMessage) {
                m.translation_type = xml.attributes().value("type").toString();
                if (!m.numerus) m.forms << xml.readElementText();
            } else if (name == u"numerusform" && inMessage) {
                m.forms << xml.readElementText();
            }
        } else if (xml.isEndElement() && xml.name() == u"message") {
            inMessage = false;
            out << m;
        }
    }
    if (xml.hasError()) error = QStringLiteral("%1:%2: %3").arg(path).arg(xml.lineNumber()).arg(xml.errorString());
    return out;
}

QStringList placeholders(const QString& s) {
    QStringList out;
    static const QRegularExpression re(QStringLiteral("%(\\d+|n)"));
    for (auto it = re.globalMatch(s); it.hasNext();) out << it.next().captured(0);
    out.sort();
    out.removeDuplicates();
    return out;
}

QString tsPath(const char* lang) {
    return QFINDTESTDATA(QStringLiteral("../../translations/archivist_%1.ts").arg(QLatin1String(lang)));
}

// Runtime context of a class in the .ts (lupdate files them without their namespace).
QByteArray runtimeContext(const QString& ts_context) {
    return ts_context.contains("::") ? ts_context.toUtf8() : ("archivist::ui::" + ts_context).toUtf8();
}

}  // namespace

class TestTranslations : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<QTranslator> m_translator;

    void useCatalogue(const char* lang) {
        dropCatalogue();
        m_translator = std::make_unique<QTranslator>();
        QVERIFY2(m_translator->load(QStringLiteral(":/i18n/archivist_%1.qm").arg(QLatin1String(lang))),
                 "the catalogue is not embedded in archivist_ui");
        QVERIFY(QCoreApplication::installTranslator(m_translator.get()));
    }
    void dropCatalogue() {
        if (m_translator) QCoreApplication::removeTranslator(m_translator.get());
        m_translator.reset();
    }

private slots:
    void cleanup() { dropCatalogue(); }

    void germanWindowStrings_data() {
        QTest::addColumn<QString>("dock");
        QTest::addColumn<QString>("title");
        QTest::newRow("relays") << "dock-relays" << "Relays";
        QTest::newRow("newest") << "dock-newest" << "Neueste Events";
        QTest::newRow("throughput") << "dock-throughput" << "Durchsatz";
        QTest::newRow("memory") << "dock-memory" << "Speicher";
        QTest::newRow("incidents") << "dock-incidents" << "Vorfälle";
        QTest::newRow("archive") << "dock-archive" << "Archiv";
        QTest::newRow("log") << "dock-log" << "Protokoll";
        QTest::newRow("scoring") << "dock-scoring" << "Bewertung";
        QTest::newRow("discovery") << "dock-discovery" << "Entdeckung";
    }
    void germanWindowStrings() {
        QFETCH(QString, dock);
        QFETCH(QString, title);
        useCatalogue("de");
        FakeEngine engine;
        QTemporaryDir dir;
        ui::MainWindowOptions o;
        o.settings_file = dir.filePath("ui.ini");
        ui::MainWindow w(&engine, o);
        auto* d = w.findChild<QDockWidget*>(dock);
        QVERIFY2(d, qPrintable(dock));
        QCOMPARE(d->windowTitle(), title);
        // Its toggle in the View menu carries the same German title.
        bool toggled = false;
        for (auto* a : w.viewMenu()->actions()) toggled = toggled || a->text() == title;
        QVERIFY2(toggled, qPrintable(title));
        QStringList menus;
        for (auto* a : w.menuBar()->actions()) menus << a->text();
        QCOMPARE(menus, (QStringList{"&Datei", "&Relays", "&Ansicht", "&Hilfe"}));
        QVERIFY(w.viewMenu()->actions().last()->text() == "Layout &zurücksetzen");
    }

    void withoutACatalogueTheWindowIsEnglish() {
        FakeEngine engine;
        QTemporaryDir dir;
        ui::MainWindowOptions o;
        o.settings_file = dir.filePath("ui.ini");
        ui::MainWindow w(&engine, o);
        QCOMPARE(w.findChild<QDockWidget*>("dock-incidents")->windowTitle(), QString("Incidents"));
        QCOMPARE(w.menuBar()->actions().first()->text(), QString("&File"));
    }

    // What the console installs at start with German chosen: its own catalogue and Qt's, so the
    // texts Qt draws itself (standard buttons) are German too. Fails where Qt's catalogue is
    // missing (Debian: qt6-translations-l10n, which scripts/install-deps.sh installs).
    void consoleLoadsQtsOwnCatalogue_data() {
        QTest::addColumn<QString>("language");
        QTest::addColumn<bool>("qt_catalogue");
        QTest::addColumn<QString>("cancel");
        QTest::newRow("de") << "de" << true << "Abbrechen";
        QTest::newRow("de_AT") << "de_AT" << true << "Abbrechen";
        QTest::newRow("en") << "en" << false << "Cancel";
        QTest::newRow("fr (no console catalogue: English, and English buttons)") << "fr" << false << "Cancel";
    }
    void consoleLoadsQtsOwnCatalogue() {
        QFETCH(QString, language);
        QFETCH(bool, qt_catalogue);
        QFETCH(QString, cancel);
        const QLocale before;
        const auto t = ui::installTranslations(*QCoreApplication::instance(), language);
        const auto undo = qScopeGuard([&] {
            for (QTranslator* tr : {t.app, t.qt}) {
                if (!tr) continue;
                QCoreApplication::removeTranslator(tr);
                delete tr;
            }
            QLocale::setDefault(before);
        });
        QVERIFY(t.app);
        QCOMPARE(t.qt_needed, qt_catalogue);
        QVERIFY2(bool(t.qt) == qt_catalogue,
                 qPrintable("Qt's catalogue qtbase_de.qm is not in " + t.qt_dir +
                            ": install qt6-translations-l10n (scripts/install-deps.sh installs it)"));
        QDialogButtonBox box(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
        QCOMPARE(box.button(QDialogButtonBox::Cancel)->text(), cancel);
    }

    void germanTsIsCompleteAndLoaded() {
        QString error;
        const auto messages = readTs(tsPath("de"), error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        QVERIFY2(messages.size() >= 200, qPrintable(QString::number(messages.size())));
        useCatalogue("de");
        for (const auto& m : messages) {
            const QString where = QStringLiteral("line %1: %2 / \"%3\"").arg(m.line).arg(m.context, m.source);
            QVERIFY2(m.translation_type.isEmpty(), qPrintable(where + " is " + m.translation_type));
            QVERIFY2(!m.forms.isEmpty(), qPrintable(where));
            QCOMPARE(m.forms.size(), m.numerus ? 2 : 1);  // German: singular and plural
            QStringList wanted = placeholders(m.source);
            for (int i = 0; i < m.forms.size(); ++i) {
                QVERIFY2(!m.forms[i].trimmed().isEmpty(), qPrintable(where + " has an empty form"));
                QStringList got = placeholders(m.forms[i]);
                QStringList want = wanted;
                if (m.numerus && i == 0) {  // a singular may spell out the one ("die erste Datei")
                    got.removeAll("%n");
                    want.removeAll("%n");
                }
                QVERIFY2(got == want, qPrintable(where + " → \"" + m.forms[i] + "\" changes the placeholders"));
            }
            // The catalogue answers under the context tr() uses at run time.
            const int n = m.numerus ? 2 : -1;
            const QString tr = QCoreApplication::translate(runtimeContext(m.context).constData(),
                                                           m.source.toUtf8().constData(),
                                                           m.comment.isEmpty() ? nullptr : m.comment.toUtf8().constData(), n);
            QString expected = m.numerus ? m.forms[1] : m.forms[0];
            expected.replace("%n", "2");
            QVERIFY2(tr == expected, qPrintable(where + " translates to \"" + tr + "\""));
        }
    }

    void englishTsHasEveryPluralFinished() {
        QString error;
        const auto en = readTs(tsPath("en"), error);
        QVERIFY2(error.isEmpty(), qPrintable(error));
        const auto de = readTs(tsPath("de"), error);
        int plurals = 0;
        for (const auto& m : de) plurals += m.numerus;
        QCOMPARE(int(en.size()), plurals);  // -pluralonly: exactly the %n strings
        for (const auto& m : en) {
            QVERIFY2(m.numerus && m.translation_type.isEmpty() && m.forms.size() == 2 &&
                         !m.forms[0].isEmpty() && !m.forms[1].isEmpty(),
                     qPrintable(m.source));
        }
    }

    void englishPlurals_data() {
        QTest::addColumn<QString>("urls");
        QTest::addColumn<QString>("button");
        QTest::newRow("one") << "wss://relay.example.com" << "Add 1 relay";
        QTest::newRow("two") << "wss://relay.example.com\nwss://relay.example.org" << "Add 2 relays";
    }
    void englishPlurals() {
        QFETCH(QString, urls);
        QFETCH(QString, button);
        useCatalogue("en");
        QCOMPARE(QCoreApplication::translate("archivist::ui::MainWindow", "%n relay(s) added", nullptr, 1),
                 QString("1 relay added"));
        QCOMPARE(QCoreApplication::translate("archivist::ui::MainWindow", "%n relay(s) added", nullptr, 2),
                 QString("2 relays added"));
        FakeEngine engine;
        ui::AddRelaysDialog dialog(&engine);
        dialog.setText(urls);
        auto* ok = dialog.findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok);
        QVERIFY(ok);
        QCOMPARE(ok->text(), button);
    }

    void germanPluralsInTheDialog() {
        useCatalogue("de");
        FakeEngine engine;
        ui::AddRelaysDialog dialog(&engine);
        dialog.setText("wss://relay.example.com");
        auto* ok = dialog.findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok);
        QCOMPARE(ok->text(), QString("1 Relay hinzufügen"));
        dialog.setText("wss://relay.example.com wss://relay.example.org");
        QCOMPARE(ok->text(), QString("2 Relays hinzufügen"));
    }
};

QTEST_MAIN(TestTranslations)
#include "tst_translations.moc"
