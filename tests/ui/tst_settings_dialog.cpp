// Settings dialog: every bad input disables OK and names the problem; a good configuration is
// saved to config.json and reads back the same.
#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QSignalSpy>
#include <QtTest>

#include "core/engine/config.h"
#include "fake_engine.h"
#include "ui/settings_dialog.h"

using namespace archivist;

namespace {

class ConfigEngine : public FakeEngine {
public:
    QString path;
    QString configPath() const override { return path; }
    engine::EngineConfig currentConfig() const override {
        auto c = engine::loadConfig(path.toStdString());
        return c ? *c : engine::EngineConfig{};
    }
};

QPushButton* okButton(QDialog& d) {
    return d.findChild<QDialogButtonBox*>("buttons")->button(QDialogButtonBox::Ok);
}

}  // namespace

class TstSettingsDialog : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    ConfigEngine m_engine;

private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        QCoreApplication::setOrganizationName("archivist-test");
        QSettings::setDefaultFormat(QSettings::IniFormat);
        QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, m_dir.filePath("settings"));
        m_engine.path = m_dir.filePath("config.json");
    }

    void badInputDisablesOkAndNamesTheProblem_data() {
        QTest::addColumn<QString>("field");      // objectName of the input
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("errorLabel"); // objectName of the label that must explain it
        QTest::addColumn<QString>("mentions");   // text the explanation must contain
        QTest::newRow("filter not json") << "filter" << "{\"kinds\":[1" << "filterError" << "not valid JSON";
        QTest::newRow("filter not object") << "filter" << "[1,2]" << "filterError" << "one JSON object";
        QTest::newRow("filter bad field") << "filter" << "{\"kinds\":\"one\"}" << "filterError" << "Filter:";
        QTest::newRow("filter bad author") << "filter" << "{\"authors\":[\"xyz\"]}" << "filterError" << "Filter:";
        QTest::newRow("cidr garbage on line 2") << "allowAddresses" << "10.0.0.0/8\nnot-an-address" << "allowError"
                                                << "line 2 (\"not-an-address\")";
        QTest::newRow("cidr prefix too long") << "allowAddresses" << "192.168.0.0/33" << "allowError" << "line 1";
        QTest::newRow("metrics no port") << "metricsListen" << "127.0.0.1" << "metricsError" << "HOST:PORT";
        QTest::newRow("metrics port too big") << "metricsListen" << "127.0.0.1:70000" << "metricsError" << "port";
        QTest::newRow("metrics empty host") << "metricsListen" << ":9100" << "metricsError" << "host";
        QTest::newRow("metrics bare ipv6") << "metricsListen" << "::1:9100" << "metricsError" << "brackets";
        QTest::newRow("rate bytes words") << "rateBytes" << "lots" << "rateBytesError" << "whole number";
        QTest::newRow("rate bytes too big") << "rateBytes" << "99999999999999" << "rateBytesError" << "whole number";
    }
    void badInputDisablesOkAndNamesTheProblem() {
        QFETCH(QString, field);
        QFETCH(QString, input);
        QFETCH(QString, errorLabel);
        QFETCH(QString, mentions);
        ui::SettingsDialog d(&m_engine);
        QVERIFY(okButton(d)->isEnabled());
        QVERIFY(d.problems().isEmpty());
        auto* label = d.findChild<QLabel*>(errorLabel);
        QVERIFY(label);
        QVERIFY(label->isHidden());
        if (auto* line = d.findChild<QLineEdit*>(field)) {
            line->clear();
            QTest::keyClicks(line, input);
        } else {
            auto* text = d.findChild<QPlainTextEdit*>(field);
            QVERIFY(text);
            text->setPlainText(input);
        }
        QVERIFY(!okButton(d)->isEnabled());
        QVERIFY2(label->text().contains(mentions), qPrintable(label->text()));
        QVERIFY(!label->isHidden());
        QCOMPARE(d.problems().size(), 1);
        // Clicking OK anyway saves nothing.
        QTest::mouseClick(okButton(d), Qt::LeftButton);
        QVERIFY(!QFile::exists(m_engine.path));
        QCOMPARE(d.result(), int(QDialog::Rejected));
    }

    void goodConfigurationIsSavedAndReadsBack() {
        ui::SettingsDialog d(&m_engine);
        QVERIFY(d.findChild<QLabel*>("dataDir")->text() == m_dir.path());
        d.findChild<QSpinBox*>("maxRelays")->setValue(40);
        d.findChild<QSpinBox*>("networkThreads")->setValue(3);
        d.findChild<QSpinBox*>("rateEvents")->setValue(500);
        d.findChild<QLineEdit*>("rateBytes")->setText("1048576");
        d.findChild<QPlainTextEdit*>("filter")->setPlainText("{\"kinds\":[0,1,3]}");
        d.findChild<QCheckBox*>("backfill")->setChecked(true);
        d.findChild<QSpinBox*>("backfillDays")->setValue(30);
        d.findChild<QSpinBox*>("backfillLimit")->setValue(250);
        d.findChild<QSpinBox*>("backfillSlots")->setValue(4);
        d.findChild<QPlainTextEdit*>("allowAddresses")->setPlainText("10.0.0.0/8\n\n fd00::/8 \n");
        d.findChild<QCheckBox*>("seedRelays")->setChecked(false);
        d.findChild<QLineEdit*>("metricsListen")->setText("127.0.0.1:9100");
        auto* lang = d.findChild<QComboBox*>("language");
        lang->setCurrentIndex(lang->findData("de"));
        QVERIFY2(okButton(d)->isEnabled(), qPrintable(d.problems().join('\n')));
        QTest::mouseClick(okButton(d), Qt::LeftButton);
        QCOMPARE(d.result(), int(QDialog::Accepted));

        auto back = engine::loadConfig(m_engine.path.toStdString());
        QVERIFY2(back.ok(), back.ok() ? "" : back.error().message.c_str());
        QCOMPARE(back->max_relays, 40u);
        QCOMPARE(back->network_threads, 3u);
        QCOMPARE(back->rate_events_per_s, 500u);
        QCOMPARE(back->rate_bytes_per_s, uint64_t(1048576));
        QCOMPARE(back->filter_json, std::string("{\"kinds\":[0,1,3]}"));
        QVERIFY(back->backfill);
        QCOMPARE(back->backfill_depth_days, int64_t(30));
        QCOMPARE(back->backfill_limit, 250u);
        QCOMPARE(back->backfill_slots, 4u);
        QCOMPARE(back->allow_addresses, (std::vector<std::string>{"10.0.0.0/8", "fd00::/8"}));
        QVERIFY(!back->seed_relays);
        QCOMPARE(back->metrics_listen, std::string("127.0.0.1:9100"));
        QCOMPARE(QSettings().value(ui::SettingsDialog::kLanguageKey).toString(), QString("de"));
        QVERIFY(!QFile::exists(m_engine.path + ".tmp"));

        // Reopened, the dialog shows what was saved, and saving unchanged leaves the same config.
        ui::SettingsDialog again(&m_engine);
        QCOMPARE(again.findChild<QSpinBox*>("maxRelays")->value(), 40);
        QCOMPARE(again.findChild<QComboBox*>("language")->currentData().toString(), QString("de"));
        QCOMPARE(again.editedConfig(), *back);
    }

    void configRoundTripsThroughTheFile_data() {
        QTest::addColumn<int>("variant");
        QTest::newRow("defaults") << 0;
        QTest::newRow("everything set") << 1;
        QTest::newRow("quotes and unicode") << 2;
    }
    void configRoundTripsThroughTheFile() {
        QFETCH(int, variant);
        engine::EngineConfig c;
        if (variant >= 1) {
            c.relays = {"wss://relay.example.com", "ws://10.0.0.5:7777"};
            c.allow_addresses = {"10.0.0.0/8"};
            c.seed_relays = false;
            c.max_relays = 7;
            c.backfill = false;
            c.backfill_depth_days = 365;
            c.backfill_limit = 1;
            c.backfill_slots = 1000;
            c.network_threads = 16;
            c.rate_events_per_s = 0;
            c.rate_bytes_per_s = uint64_t(1) << 40;
            c.filter_json = "{\"kinds\":[1,7],\"#t\":[\"nostr\"]}";
            c.metrics_listen = "[::1]:0";
        }
        if (variant == 2) c.filter_json = "{\"#t\":[\"a\\\"b\",\"grüße ✨\"]}";
        const std::string file = m_dir.filePath("roundtrip.json").toStdString();
        QVERIFY(engine::saveConfig(file, c).ok());
        auto back = engine::loadConfig(file);
        QVERIFY2(back.ok(), back.ok() ? "" : back.error().message.c_str());
        QVERIFY(*back == c);
    }

    // Human sizes in and out; the running values (command line included) are shown; Save and
    // restart saves and asks for the restart.
    void humanSizesRunningValuesAndRestart() {
        QCOMPARE(ui::SettingsDialog::parseByteSize("8 MiB"), std::optional<quint64>(8u << 20));
        QCOMPARE(ui::SettingsDialog::parseByteSize("512KiB/s"), std::optional<quint64>(512u << 10));
        QCOMPARE(ui::SettingsDialog::parseByteSize("2M"), std::optional<quint64>(2000000));
        QCOMPARE(ui::SettingsDialog::parseByteSize("8388608"), std::optional<quint64>(8388608));
        QVERIFY(!ui::SettingsDialog::parseByteSize("lots"));
        QVERIFY(!ui::SettingsDialog::parseByteSize("1.5"));
        QCOMPARE(ui::SettingsDialog::formatByteSize(8u << 20), QString("8 MiB"));
        QCOMPARE(ui::SettingsDialog::formatByteSize(1000), QString("1000"));
        m_engine.runningCfg.allow_addresses = {"127.0.0.1/32"};
        m_engine.runningCfg.metrics_listen = "127.0.0.1:9466";
        ui::SettingsDialog d(&m_engine);
        QVERIFY(d.findChild<QLineEdit*>("rateBytes")->text().endsWith(" MiB"));  // not "8388608"
        const QString running = d.findChild<QLabel*>("runningValues")->text();
        QVERIFY2(running.contains("127.0.0.1/32") && running.contains("127.0.0.1:9466"), qPrintable(running));
        d.findChild<QLineEdit*>("rateBytes")->setText("4 MiB");
        QSignalSpy restart(&d, &ui::SettingsDialog::restartRequested);
        auto* button = d.findChild<QPushButton*>("saveAndRestart");
        QVERIFY(button && button->isEnabled());
        QTest::mouseClick(button, Qt::LeftButton);
        QCOMPARE(restart.count(), 1);
        auto back = engine::loadConfig(m_engine.path.toStdString());
        QVERIFY(back.ok());
        QCOMPARE(back->rate_bytes_per_s, uint64_t(4u << 20));
    }
};

QTEST_MAIN(TstSettingsDialog)
#include "tst_settings_dialog.moc"
