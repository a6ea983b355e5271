// "Add relays…": many URLs pasted at once, each validated live with a reason (the engine's check:
// URL syntax and the address policy), and OK adding exactly the valid ones through the engine
// with per-URL results; Enter submits and a full success closes the dialog.
#include <QDialogButtonBox>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QMessageBox>
#include <QTemporaryDir>
#include <QtTest>

#include "fake_engine.h"
#include "core/engine/config.h"
#include "ui/add_relays_dialog.h"
#include "ui/allow_address.h"

using namespace archivist;

class TestAddRelaysDialog : public QObject {
    Q_OBJECT
private slots:
    void validatesEachEntry_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("allow");
        QTest::addColumn<QStringList>("expected");  // per entry: "+normalized" or "-reason fragment"
        QTest::newRow("one") << "wss://Relay.Example.COM/" << "" << QStringList{"+wss://relay.example.com"};
        QTest::newRow("separators") << " wss://a.example,wss://b.example\n\twss://c.example ,, " << ""
                                    << QStringList{"+wss://a.example", "+wss://b.example", "+wss://c.example"};
        QTest::newRow("scheme") << "https://relay.example.com" << "" << QStringList{"-ws://"};
        QTest::newRow("garbage") << "not-a-url" << "" << QStringList{"-"};
        QTest::newRow("loopback refused")
            << "ws://127.0.0.1:7777" << "" << QStringList{"-loopback address 127.0.0.1 refused (allow with --allow-address"};
        QTest::newRow("private refused") << "ws://192.168.1.10" << "" << QStringList{"-private"};
        QTest::newRow("loopback allowed") << "ws://127.0.0.1:7777" << "127.0.0.1/32" << QStringList{"+ws://127.0.0.1:7777"};
        QTest::newRow("public literal") << "wss://1.1.1.1" << "" << QStringList{"+wss://1.1.1.1"};
        QTest::newRow("twice") << "wss://a.example wss://A.example:443" << ""
                               << QStringList{"+wss://a.example", "-listed twice"};
    }
    void validatesEachEntry() {
        QFETCH(QString, text);
        QFETCH(QString, allow);
        QFETCH(QStringList, expected);
        FakeEngine engine;  // checks with the engine's own function and these allow rules
        if (!allow.isEmpty()) engine.allowList = {allow};
        const auto entries = ui::AddRelaysDialog::validate(text, engine);
        QCOMPARE(entries.size(), expected.size());
        for (int i = 0; i < entries.size(); ++i) {
            const QString& want = expected[i];
            QCOMPARE(entries[i].valid, want.startsWith('+'));
            if (entries[i].valid) QCOMPARE(entries[i].normalized, want.mid(1));
            else {
                QVERIFY2(!entries[i].reason.isEmpty(), "an invalid entry needs a reason");
                QVERIFY2(entries[i].reason.contains(want.mid(1)), qPrintable(entries[i].reason));
            }
        }
    }

    void validatesLiveAsTheUserTypes() {
        FakeEngine engine;
        ui::AddRelaysDialog dialog(&engine);
        dialog.show();
        auto* edit = dialog.findChild<QPlainTextEdit*>("relayUrlsEdit");
        auto* list = dialog.findChild<QListWidget*>("validationList");
        auto* buttons = dialog.findChild<QDialogButtonBox*>();
        QVERIFY(edit && list && buttons);
        QVERIFY(!buttons->button(QDialogButtonBox::Ok)->isEnabled());
        QTest::keyClicks(edit, "wss://good.example");
        QCOMPARE(list->count(), 1);
        QVERIFY(list->item(0)->text().startsWith(QString::fromUtf8("✓")));
        QVERIFY(buttons->button(QDialogButtonBox::Ok)->isEnabled());
        QTest::keyClicks(edit, " ws://10.0.0.1");
        QCOMPARE(list->count(), 2);
        QVERIFY(list->item(1)->text().startsWith(QString::fromUtf8("✗")));
        QVERIFY(list->item(1)->text().contains("private address 10.0.0.1 refused"));
        QVERIFY(dialog.findChild<QLabel*>("validationSummary")->text().contains("1 invalid"));
    }

    void okAddsTheValidOnesAndReportsEach() {
        FakeEngine engine;
        engine.allowList = {"127.0.0.1/32"};  // the engine's --allow-address reaches the dialog
        engine.refuseAdd = {"wss://known.example"};
        ui::AddRelaysDialog dialog(&engine);
        QSignalSpy done(&dialog, &ui::AddRelaysDialog::relaysAdded);
        dialog.show();
        dialog.setText("wss://new.example\nhttp://wrong.example\nwss://known.example\nws://127.0.0.1:7777\nws://[::1]:7777");
        QCOMPARE(dialog.validCount(), 3);
        auto* buttons = dialog.findChild<QDialogButtonBox*>();
        QTest::mouseClick(buttons->button(QDialogButtonBox::Ok), Qt::LeftButton);
        QCOMPARE(engine.added, (QStringList{"wss://new.example", "wss://known.example", "ws://127.0.0.1:7777"}));
        QCOMPARE(done.count(), 1);
        QCOMPARE(done[0][0].toInt(), 2);
        QCOMPARE(done[0][1].toInt(), 1);
        auto* list = dialog.findChild<QListWidget*>("validationList");
        QCOMPARE(list->count(), 3);
        QVERIFY(list->item(1)->text().contains("already in the pool"));
        QVERIFY(dialog.isVisible());  // results stay on screen
        QVERIFY(!buttons->button(QDialogButtonBox::Ok)->isEnabled());
    }

    // By keyboard only: type, Shift+Enter for a second line, Enter adds; every relay added, so
    // the dialog closes.
    void enterSubmitsAndASuccessCloses() {
        FakeEngine engine;
        ui::AddRelaysDialog dialog(&engine);
        QSignalSpy done(&dialog, &ui::AddRelaysDialog::relaysAdded);
        dialog.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dialog));
        auto* edit = dialog.findChild<QPlainTextEdit*>("relayUrlsEdit");
        edit->setFocus();
        QTest::keyClicks(edit, "wss://one.example");
        QTest::keyClick(edit, Qt::Key_Return, Qt::ShiftModifier);
        QTest::keyClicks(edit, "wss://two.example");
        QCOMPARE(edit->toPlainText(), QString("wss://one.example\nwss://two.example"));
        QVERIFY(engine.added.isEmpty());
        QTest::keyClick(edit, Qt::Key_Return);
        QCOMPARE(engine.added, (QStringList{"wss://one.example", "wss://two.example"}));
        QCOMPARE(done.count(), 1);
        QVERIFY(!dialog.isVisible());
        QCOMPARE(dialog.result(), int(QDialog::Accepted));
    }

    void enterWithNothingValidAddsNothing() {
        FakeEngine engine;
        ui::AddRelaysDialog dialog(&engine);
        dialog.show();
        auto* edit = dialog.findChild<QPlainTextEdit*>("relayUrlsEdit");
        QTest::keyClicks(edit, "http://wrong.example");
        QTest::keyClick(edit, Qt::Key_Enter);
        QVERIFY(engine.added.isEmpty());
        QVERIFY(dialog.isVisible());
    }

    void theRefusedAddressIsNamed() {
        QCOMPARE(ui::refusedAddressCidr("ws://127.0.0.1:7777", "loopback address 127.0.0.1 refused"), QString("127.0.0.1/32"));
        QCOMPARE(ui::refusedAddressCidr("wss://lan.example", "address_refused: 10.1.2.3 is private"), QString("10.1.2.3/32"));
        QCOMPARE(ui::refusedAddressCidr("ws://[::1]:80", "refused"), QString("::1/128"));
        QCOMPARE(ui::refusedAddressCidr("wss://lan.example", "refused"), QString());
    }

    // A refused loopback relay: "Allow this address…" asks, then saves it to the allow list and
    // hands it to the running engine (no restart).
    void allowThisAddressAsksThenSaves() {
        QTemporaryDir dir;
        FakeEngine engine;
        engine.configFile = dir.filePath("config.json");
        ui::AddRelaysDialog dialog(&engine);
        dialog.show();
        dialog.setText("ws://127.0.0.1:7777");
        auto* allow = dialog.findChild<QPushButton*>("allowAddress");
        QVERIFY(allow && allow->isVisible());
        QTimer::singleShot(50, [] {
            if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) box->button(QMessageBox::Yes)->click();
        });
        allow->click();
        auto cfg = engine::loadConfig(engine.configFile.toStdString());
        QVERIFY(cfg.ok());
        QCOMPARE(cfg->allow_addresses, std::vector<std::string>{"127.0.0.1/32"});
        // The running engine has the rule at once: the entry is valid now, Add takes it.
        QCOMPARE(engine.allowedLive, QStringList{"127.0.0.1/32"});
        QVERIFY(dialog.findChild<QLabel*>("validationSummary")->text().contains("127.0.0.1/32"));
        QVERIFY(dialog.findChild<QLabel*>("validationSummary")->text().contains("retried now"));
        QVERIFY(!allow->isVisible());
        QVERIFY(dialog.entries().size() == 1 && dialog.entries().front().valid);
    }

    void tooManyEntriesAreBounded() {
        QString text;
        for (int i = 0; i < ui::AddRelaysDialog::kMaxEntries + 50; ++i) text += QString("wss://r%1.example ").arg(i);
        FakeEngine engine;
        const auto entries = ui::AddRelaysDialog::validate(text, engine);
        QCOMPARE(entries.size(), ui::AddRelaysDialog::kMaxEntries + 1);
        QVERIFY(!entries.last().valid);
        QVERIFY(entries.last().reason.contains("at most"));
    }
};

QTEST_MAIN(TestAddRelaysDialog)
#include "tst_add_relays_dialog.moc"
