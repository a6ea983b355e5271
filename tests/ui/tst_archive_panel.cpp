// The archive browser against a fake engine that serves keyset pages from a vector of a few
// thousand synthetic rows: the model loads pages on demand (never everything), the filter bar
// builds the right NIP-01 filter from text (incl. npub), bad input shows an error and sends
// nothing, stale pages are ignored, copy as nevent/note/JSON put valid values on the clipboard,
// and export reaches the engine with progress and cancel.
#include <QAbstractItemModelTester>
#include <QCheckBox>
#include <QClipboard>
#include <QDateTimeEdit>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QComboBox>
#include <QPlainTextEdit>
#include <QProgressDialog>
#include <QTableWidget>
#include <QPushButton>
#include <QScrollBar>
#include <QSet>
#include <QTableView>
#include <QtTest>
#include <algorithm>
#include <functional>

#include "core/engine/engine.h"
#include "core/protocol/hex.h"
#include "core/protocol/nip19.h"
#include "ui/archive_model.h"
#include "ui/event_detail_view.h"
#include "ui/panels/archive_panel.h"

#include "fake_engine.h"

using namespace archivist;

namespace {

constexpr int kRows = 3000;

engine::EventRowView synthRow(int i) {
    engine::EventRowView r;
    r.id_hex = QString("%1").arg(i * 7919 % 100003, 64, 16, QChar('0'));
    r.pubkey_hex = QString(63, 'b') + QString::number(i % 4);
    r.kind = i % 5 == 0 ? 7 : 1;
    r.created_at = 1700000000 + (kRows - i) / 3;  // three events per second: equal timestamps
    r.content_preview = QString("note %1").arg(i);
    r.first_seen_ms = r.created_at * 1000 + 250;
    return r;
}

bool before(const engine::EventRowView& a, const engine::EventRowView& b) {  // newest first
    if (a.created_at != b.created_at) return a.created_at > b.created_at;
    return a.id_hex < b.id_hex;
}

bool beforeOldest(const engine::EventRowView& a, const engine::EventRowView& b) {  // oldest first
    if (a.created_at != b.created_at) return a.created_at < b.created_at;
    return a.id_hex < b.id_hex;
}

}  // namespace

class ArchiveEngine : public FakeEngine {
public:
    ArchiveEngine() {
        for (int i = 0; i < kRows; ++i) rows.push_back(synthRow(i));
        std::sort(rows.begin(), rows.end(), before);
    }
    QVector<engine::EventRowView> rows;  // newest first
    QVector<engine::PageRequest> pages;
    QVector<engine::QueryFilter> counts;
    QStringList details;
    QVector<QPair<engine::QueryFilter, QString>> exports;
    quint64 next = 1;

    QVector<engine::EventRowView> matching(const engine::QueryFilter& q) const {
        QVector<engine::EventRowView> out;
        for (const auto& r : rows)
            if (q.filter.kinds.empty() ||
                std::find(q.filter.kinds.begin(), q.filter.kinds.end(), uint16_t(r.kind)) != q.filter.kinds.end())
                out.push_back(r);
        return out;
    }

    quint64 requestPage(const engine::PageRequest& req) override {
        pages.push_back(req);
        const quint64 id = next++;
        auto all = matching(req.query);
        engine::PageResult res;
        std::function<bool(const engine::EventRowView&, const engine::EventRowView&)> order =
            req.oldest_first ? beforeOldest : before;  // the index's two keyset orders
        if (req.sort != engine::PageSort::CreatedAt) {
            // As the engine: one month (the one asked for, else the newest matching event's),
            // ordered by the key, then newest first.
            const qint64 at = req.month_of ? *req.month_of : (all.isEmpty() ? 0 : all.first().created_at);
            const QDate d = QDateTime::fromSecsSinceEpoch(at, Qt::UTC).date();
            res.window_since = QDateTime(QDate(d.year(), d.month(), 1), QTime(0, 0), Qt::UTC).toSecsSinceEpoch();
            res.window_until = QDateTime(QDate(d.year(), d.month(), 1).addMonths(1), QTime(0, 0), Qt::UTC).toSecsSinceEpoch() - 1;
            all.erase(std::remove_if(all.begin(), all.end(), [&](const auto& r) {
                          return r.created_at < res.window_since || r.created_at > res.window_until;
                      }), all.end());
            const bool byKind = req.sort == engine::PageSort::Kind, desc = req.descending;
            order = [byKind, desc](const engine::EventRowView& a, const engine::EventRowView& b) {
                if (byKind ? a.kind != b.kind : a.pubkey_hex != b.pubkey_hex) {
                    const bool less = byKind ? a.kind < b.kind : a.pubkey_hex < b.pubkey_hex;
                    return desc ? !less : less;
                }
                return before(a, b);
            };
        }
        std::sort(all.begin(), all.end(), order);
        int start = 0;
        if (req.after) {
            engine::EventRowView key;
            key.created_at = req.after->created_at;
            key.id_hex = req.after->id_hex;
            key.kind = req.after->kind;
            key.pubkey_hex = req.after->pubkey_hex;
            start = int(std::upper_bound(all.begin(), all.end(), key, order) - all.begin());
        }
        res.rows = all.mid(start, req.page_size);
        res.at_end = res.rows.size() < req.page_size;
        QMetaObject::invokeMethod(this, [this, id, res] { emit pageReady(id, res); }, Qt::QueuedConnection);
        return id;
    }
    quint64 requestDetail(const QString& id_hex) override {
        details << id_hex;
        const quint64 id = next++;
        engine::EventDetail d;
        d.id_hex = id_hex;
        auto it = std::find_if(rows.begin(), rows.end(), [&](const auto& r) { return r.id_hex == id_hex; });
        if (it != rows.end()) {
            d.found = true;
            d.pubkey_hex = it->pubkey_hex;
            d.kind = it->kind;
            d.created_at = it->created_at;
            d.json = QString(R"({"id":"%1","pubkey":"%2","created_at":%3,"kind":%4,"tags":[["t","nostr"]],"content":"x","sig":"%5"})")
                         .arg(it->id_hex, it->pubkey_hex)
                         .arg(it->created_at)
                         .arg(it->kind)
                         .arg(QString(128, 'f'));
            d.pretty_json = d.json;
            d.tags = {QStringList{"t", "nostr"}};
            d.sightings = {{"wss://relay.one.example", it->created_at * 1000 + 300},
                           {"import:dump.jsonl", it->created_at * 1000 + 9000},
                           {"wss://relay.two.example", it->created_at * 1000 + 1200}};
            d.signature_valid = true;
            d.verification = "Valid: id and BIP-340 signature verified.";
        }
        QMetaObject::invokeMethod(this, [this, id, d] { emit detailReady(id, d); }, Qt::QueuedConnection);
        return id;
    }
    quint64 requestCount(const engine::QueryFilter& q) override {
        counts.push_back(q);
        const quint64 id = next++;
        engine::CountResult c;
        c.count = quint64(matching(q).size());
        QMetaObject::invokeMethod(this, [this, id, c] { emit countReady(id, c); }, Qt::QueuedConnection);
        return id;
    }
    void startExport(const engine::QueryFilter& q, const QString& path) override {
        exports.push_back({q, path});
        running = true;
    }
};

Q_DECLARE_METATYPE(protocol::Filter)

namespace {
// The NIP-19 specification's example key pair (npub ↔ hex).
const char* kSpecNpub = "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg";
const char* kSpecHex = "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e";

protocol::Bytes32 bytes(const std::string& hex) {
    protocol::Bytes32 b{};
    if (!protocol::fromHex(hex, b.data(), 32)) qFatal("bad hex in test");
    return b;
}

void setText(ui::ArchivePanel& p, const char* name, const QString& text) {
    auto* e = p.findChild<QLineEdit*>(name);
    QVERIFY2(e, name);
    e->setText(text);
}
}  // namespace

class TestArchivePanel : public QObject {
    Q_OBJECT
private slots:
    void modelLoadsPagesOnDemandUnderTheTester() {
        ArchiveEngine engine;
        ui::ArchiveModel model(&engine);
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setPageSize(100);
        QVERIFY(!model.canFetchMore());  // nothing asked yet
        model.setQuery({});
        QCOMPARE(engine.pages.size(), 1);
        QVERIFY(!model.canFetchMore());  // a page is in flight: no second request
        QTRY_COMPARE(model.rowCount(), 100);
        QVERIFY(model.canFetchMore());
        model.fetchMore();
        model.fetchMore();  // ignored while the first is in flight
        QCOMPARE(engine.pages.size(), 2);
        QTRY_COMPARE(model.rowCount(), 200);
        QVERIFY(engine.pages[1].after.has_value());
        QCOMPARE(engine.pages[1].after->id_hex, engine.rows[99].id_hex);
        // Walk to the end: every row exactly once, in order, page by page.
        int guard = 0;
        while (model.canFetchMore() && ++guard < 100) {
            const int before = model.rowCount();
            model.fetchMore();
            QTRY_VERIFY(model.rowCount() > before || model.atEnd());
        }
        QCOMPARE(model.rowCount(), kRows);
        QCOMPARE(engine.pages.size(), kRows / 100 + 1);  // the last answer is empty and ends it
        for (int r = 0; r < kRows; ++r) QCOMPARE(model.row(r)->id_hex, engine.rows[r].id_hex);
        QVERIFY(!model.canFetchMore());
    }

    void aStalePageIsIgnored() {
        ArchiveEngine engine;
        ui::ArchiveModel model(&engine);
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setPageSize(50);
        model.setQuery({});  // answered later, but superseded by the next query
        engine::QueryFilter reactions;
        reactions.filter.kinds = {7};
        model.setQuery(reactions);
        QTRY_COMPARE(model.rowCount(), 50);
        QCoreApplication::processEvents();
        QCOMPARE(model.rowCount(), 50);
        for (int r = 0; r < model.rowCount(); ++r) QCOMPARE(model.row(r)->kind, 7);
    }

    void theViewFetchesOnlyWhatItShows() {
        ArchiveEngine engine;
        ui::ArchivePanel panel(&engine);
        panel.resize(900, 700);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        QVERIFY(panel.applyFilter());
        QTRY_COMPARE(panel.model()->rowCount(), ui::ArchiveModel::kDefaultPageSize);
        QCoreApplication::processEvents();
        QCOMPARE(panel.model()->rowCount(), ui::ArchiveModel::kDefaultPageSize);  // the page fills the view
        auto* table = panel.findChild<QTableView*>("archiveTable");
        table->scrollToBottom();
        QTRY_COMPARE(panel.model()->rowCount(), 2 * ui::ArchiveModel::kDefaultPageSize);
        QVERIFY(panel.model()->rowCount() < kRows);
        QTRY_VERIFY(panel.findChild<QLabel*>("countLabel")->text().contains(QString::number(kRows)));
    }

    // Clicking the Created header sorts on the server (keyset pages in the other order): the
    // oldest of thousands of events is one request away; again → newest first. The other
    // columns do not sort. Jump buttons and "go to date" start the pages where asked.
    void sortingByCreatedAtIsServerSide() {
        ArchiveEngine engine;
        ui::ArchivePanel panel(&engine);
        QAbstractItemModelTester tester(panel.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        panel.resize(900, 700);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        // The first row's fields; empty while the model is between queries.
        const auto firstId = [&] { return panel.model()->row(0) ? panel.model()->row(0)->id_hex : QString(); };
        const auto firstCreated = [&] { return panel.model()->row(0) ? panel.model()->row(0)->created_at : qint64(-1); };
        QVERIFY(panel.applyFilter());
        QTRY_VERIFY(panel.model()->rowCount() > 0);
        QCOMPARE(panel.model()->row(0)->id_hex, engine.rows.first().id_hex);  // newest
        auto* table = panel.findChild<QTableView*>("archiveTable");
        auto* header = table->horizontalHeader();
        const int pagesBefore = int(engine.pages.size());
        QTest::mouseClick(header->viewport(), Qt::LeftButton, {},
                          QPoint(header->sectionViewportPosition(ui::ArchiveModel::CreatedAt) + 5, header->height() / 2));
        QTRY_VERIFY(panel.model()->rowCount() > 0 && engine.pages.last().oldest_first);
        // The oldest rows come with the first request in the new order, not after a walk.
        int firstOldest = pagesBefore;
        while (firstOldest < engine.pages.size() && !engine.pages[firstOldest].oldest_first) ++firstOldest;
        QVERIFY(firstOldest < engine.pages.size() && !engine.pages[firstOldest].after);
        QTRY_COMPARE(firstCreated(), engine.rows.last().created_at);  // the oldest
        QCOMPARE(header->sortIndicatorOrder(), Qt::AscendingOrder);
        for (int r = 1; r < panel.model()->rowCount(); ++r)
            QVERIFY(panel.model()->row(r - 1)->created_at <= panel.model()->row(r)->created_at);
        // Another column: no sort, the indicator stays on Created.
        QTest::mouseClick(header->viewport(), Qt::LeftButton, {},
                          QPoint(header->sectionViewportPosition(ui::ArchiveModel::Content) + 5, header->height() / 2));
        QCOMPARE(header->sortIndicatorSection(), int(ui::ArchiveModel::CreatedAt));
        QCOMPARE(panel.model()->sortOrder(), Qt::AscendingOrder);
        // Newest again.
        panel.findChild<QPushButton*>("jumpNewest")->click();
        QTRY_COMPARE(firstId(), engine.rows.first().id_hex);
        QVERIFY(!engine.pages.last().oldest_first);
        // Go to a date: the first row is the newest created at or before it.
        const qint64 t = engine.rows[1500].created_at;
        panel.findChild<QDateTimeEdit*>("jumpDate")->setDateTime(QDateTime::fromSecsSinceEpoch(t, Qt::UTC));
        panel.findChild<QPushButton*>("jumpGo")->click();
        QTRY_VERIFY(firstCreated() >= 0 && engine.pages.last().after.has_value());
        QVERIFY(firstCreated() <= t);
        QVERIFY(firstCreated() > t - 60);  // the editor keeps minutes
    }

    // Clicking Kind or Author sorts on the server too (keyset pages carrying the kind or author),
    // within one month that the note under the filter names; clicking again reverses; walking
    // every page gives the month's rows once each in that order (under the model tester).
    void sortingByKindAndAuthorIsServerSideWithinAMonth_data() {
        QTest::addColumn<int>("column");
        QTest::newRow("kind") << int(ui::ArchiveModel::Kind);
        QTest::newRow("author") << int(ui::ArchiveModel::Author);
    }
    void sortingByKindAndAuthorIsServerSideWithinAMonth() {
        QFETCH(int, column);
        ArchiveEngine engine;
        ui::ArchivePanel panel(&engine);
        QAbstractItemModelTester tester(panel.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        panel.model()->setPageSize(500);
        panel.resize(900, 700);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        QVERIFY(panel.applyFilter());
        QTRY_VERIFY(panel.model()->rowCount() > 0);
        auto* table = panel.findChild<QTableView*>("archiveTable");
        auto* header = table->horizontalHeader();
        auto* note = panel.findChild<QLabel*>("sortNote");
        QVERIFY(note && !note->isVisible());
        QVERIFY(header->toolTip().contains("one month"));
        const auto click = [&](int section) {
            QTest::mouseClick(header->viewport(), Qt::LeftButton, {},
                              QPoint(header->sectionViewportPosition(section) + 5, header->height() / 2));
        };
        const auto key = [&](const engine::EventRowView& r) {
            return column == ui::ArchiveModel::Kind ? QString::number(r.kind).rightJustified(5, '0') : r.pubkey_hex;
        };
        const engine::PageSort sort = column == ui::ArchiveModel::Kind ? engine::PageSort::Kind : engine::PageSort::Author;
        for (const Qt::SortOrder order : {Qt::AscendingOrder, Qt::DescendingOrder}) {
            const int pagesBefore = int(engine.pages.size());
            click(column);  // first click ascending, the second descending
            QTRY_VERIFY(panel.model()->rowCount() > 0 && engine.pages.last().sort == sort &&
                        engine.pages.last().descending == (order == Qt::DescendingOrder));
            QCOMPARE(header->sortIndicatorSection(), column);
            QCOMPARE(header->sortIndicatorOrder(), order);
            QCOMPARE(panel.model()->sortColumn(), column);
            QVERIFY(!engine.pages[pagesBefore].month_of && !engine.pages[pagesBefore].after);  // the newest month, from its start
            QTRY_VERIFY(note->isVisible() && note->text().contains("2023-11"));
            // Walk every page: keyset cursors carry the key, each row once, in order.
            int guard = 0;
            while (panel.model()->canFetchMore() && ++guard < 50) {
                const int before = panel.model()->rowCount();
                panel.model()->fetchMore(QModelIndex());
                QTRY_VERIFY(panel.model()->rowCount() > before || panel.model()->atEnd());
            }
            QCOMPARE(panel.model()->rowCount(), kRows);
            const auto& last = engine.pages.last();
            QVERIFY(last.after.has_value());
            QVERIFY(sort == engine::PageSort::Kind ? last.after->kind != 0 : !last.after->pubkey_hex.isEmpty());
            QSet<QString> ids;
            for (int r = 0; r < kRows; ++r) {
                const auto* row = panel.model()->row(r);
                ids.insert(row->id_hex);
                if (r == 0) continue;
                const auto* prev = panel.model()->row(r - 1);
                if (key(*prev) != key(*row)) {
                    QVERIFY2(order == Qt::AscendingOrder ? key(*prev) < key(*row) : key(*prev) > key(*row), qPrintable(QString::number(r)));
                } else {
                    QVERIFY(prev->created_at >= row->created_at);  // newest first within one value
                }
            }
            QCOMPARE(ids.size(), kRows);
        }
        // Go to a date: that month is sorted.
        panel.findChild<QDateTimeEdit*>("jumpDate")->setDateTime(QDateTime(QDate(2023, 11, 20), QTime(12, 0), Qt::UTC));
        panel.findChild<QPushButton*>("jumpGo")->click();
        QTRY_VERIFY(engine.pages.last().month_of.has_value() && engine.pages.last().sort == sort);
        QTRY_VERIFY(panel.model()->rowCount() > 0);
        // Created again: the whole archive by time, the note goes.
        click(ui::ArchiveModel::CreatedAt);
        QTRY_VERIFY(engine.pages.last().sort == engine::PageSort::CreatedAt && panel.model()->rowCount() > 0);
        QCOMPARE(header->sortIndicatorSection(), int(ui::ArchiveModel::CreatedAt));
        QCOMPARE(header->sortIndicatorOrder(), Qt::DescendingOrder);
        QVERIFY(!note->isVisible());
        QTRY_COMPARE(panel.model()->row(0)->id_hex, engine.rows.first().id_hex);
    }

    void filterBarBuildsTheFilter_data() {
        QTest::addColumn<QString>("kinds");
        QTest::addColumn<QString>("authors");
        QTest::addColumn<QString>("tags");
        QTest::addColumn<QString>("search");
        QTest::addColumn<protocol::Filter>("expected");
        protocol::Filter none;
        QTest::newRow("empty = everything") << "" << "" << "" << "" << none;
        protocol::Filter kinds;
        kinds.kinds = {1, 7};
        QTest::newRow("kinds 1,7") << "1,7" << "" << "" << "" << kinds;
        QTest::newRow("kinds with spaces, duplicates") << " 1 , 7 7" << "" << "" << "" << kinds;
        protocol::Filter npub;
        npub.authors = {bytes(kSpecHex)};
        QTest::newRow("npub") << "" << kSpecNpub << "" << "" << npub;
        QTest::newRow("nostr:npub") << "" << QString("nostr:") + kSpecNpub << "" << "" << npub;
        QTest::newRow("hex author") << "" << kSpecHex << "" << "" << npub;
        QTest::newRow("npub and hex of the same key") << "" << QString(kSpecNpub) + ", " + kSpecHex << "" << "" << npub;
        protocol::Filter tags;
        tags.tags['t'] = {"nostr", "bitcoin"};
        tags.tags['e'] = {std::string(64, 'a')};
        QTest::newRow("tags") << "" << "" << "t=nostr e=" + QString(64, 'a') + " #t=bitcoin" << "" << tags;
        protocol::Filter ptag;
        ptag.tags['p'] = {kSpecHex};
        QTest::newRow("p tag as npub") << "" << "" << QString("p=") + kSpecNpub << "" << ptag;
        protocol::Filter etag;
        etag.tags['e'] = {std::string(64, 'a')};
        QTest::newRow("e tag as note") << "" << ""
                                       << "e=" + QString::fromStdString(protocol::encodeNote(bytes(std::string(64, 'a'))))
                                       << "" << etag;
        protocol::Filter search;
        search.search = "hello world";
        search.kinds = {1};
        QTest::newRow("search, spaces collapsed") << "1" << "" << "" << "  hello   world " << search;
    }
    void filterBarBuildsTheFilter() {
        QFETCH(QString, kinds);
        QFETCH(QString, authors);
        QFETCH(QString, tags);
        QFETCH(QString, search);
        QFETCH(protocol::Filter, expected);
        ArchiveEngine engine;
        ui::ArchivePanel panel(&engine);
        setText(panel, "filterKinds", kinds);
        setText(panel, "filterAuthors", authors);
        setText(panel, "filterTags", tags);
        setText(panel, "filterSearch", search);
        QTest::mouseClick(panel.findChild<QPushButton*>("applyFilter"), Qt::LeftButton);
        QCOMPARE(engine.pages.size(), 1);
        QVERIFY(engine.pages[0].query.filter == expected);
        QVERIFY(engine.pages[0].query.relay.isEmpty());
        QCOMPARE(engine.counts.size(), 1);
        QVERIFY(engine.counts[0].filter == expected);
        QVERIFY(panel.findChild<QLabel*>("filterError")->isHidden());
    }

    void timeRangeAndRelay() {
        ArchiveEngine engine;
        ui::ArchivePanel panel(&engine);
        engine::EngineSnapshot s;
        engine::RelayRow a, b;
        a.url = "wss://a.example";
        b.url = "wss://b.example";
        s.relays = {a, b};
        panel.applySnapshot(s);
        auto* relay = panel.findChild<QComboBox*>("filterRelay");
        QCOMPARE(relay->count(), 3);
        relay->setCurrentIndex(relay->findData("wss://b.example"));
        panel.applySnapshot(s);  // unchanged relays keep the choice
        QCOMPARE(relay->currentData().toString(), QString("wss://b.example"));
        panel.findChild<QCheckBox*>("filterSinceEnabled")->setChecked(true);
        panel.findChild<QDateTimeEdit*>("filterSince")->setDateTime(QDateTime::fromSecsSinceEpoch(1700000000, Qt::UTC));
        panel.findChild<QCheckBox*>("filterUntilEnabled")->setChecked(true);
        panel.findChild<QDateTimeEdit*>("filterUntil")->setDateTime(QDateTime::fromSecsSinceEpoch(1700003600, Qt::UTC));
        QVERIFY(panel.applyFilter());
        QCOMPARE(engine.pages.size(), 1);
        QCOMPARE(engine.pages[0].query.relay, QString("wss://b.example"));
        QCOMPARE(engine.pages[0].query.filter.since, std::optional<int64_t>(1700000000));
        QCOMPARE(engine.pages[0].query.filter.until, std::optional<int64_t>(1700003600));
        // Reversed range: an error, nothing sent.
        panel.findChild<QDateTimeEdit*>("filterUntil")->setDateTime(QDateTime::fromSecsSinceEpoch(1600000000, Qt::UTC));
        QVERIFY(!panel.applyFilter());
        QCOMPARE(engine.pages.size(), 1);
        QVERIFY(!panel.findChild<QLabel*>("filterError")->isHidden());
    }

    void badInputShowsAnErrorAndSendsNothing_data() {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("kind not a number") << "filterKinds" << "1,x" << "\"x\"";
        QTest::newRow("kind too large") << "filterKinds" << "70000" << "70000";
        QTest::newRow("author: bad checksum") << "filterAuthors" << QString(kSpecNpub).replace("ptg", "ptq") << "npub";
        QTest::newRow("author: short hex") << "filterAuthors" << QString(63, 'a') << "aaaa";
        QTest::newRow("author: note is no key") << "filterAuthors"
                                                << QString::fromStdString(protocol::encodeNote(bytes(kSpecHex))) << "note1";
        QTest::newRow("tag without =") << "filterTags" << "nostr" << "nostr";
        QTest::newRow("tag name two letters") << "filterTags" << "tt=x" << "tt=x";
        QTest::newRow("e tag not an id") << "filterTags" << "e=abc" << "e=abc";
    }
    void badInputShowsAnErrorAndSendsNothing() {
        QFETCH(QString, field);
        QFETCH(QString, text);
        QFETCH(QString, mentions);
        ArchiveEngine engine;
        ui::ArchivePanel panel(&engine);
        panel.show();
        setText(panel, field.toLatin1().constData(), text);
        QTest::keyClick(panel.findChild<QLineEdit*>(field), Qt::Key_Return);
        QVERIFY(engine.pages.isEmpty());
        QVERIFY(engine.counts.isEmpty());
        auto* error = panel.findChild<QLabel*>("filterError");
        QVERIFY(error->isVisible());
        QVERIFY2(error->text().contains(mentions), qPrintable(error->text()));
        // Fixing the input clears the error and sends the query.
        setText(panel, field.toLatin1().constData(), "");
        QVERIFY(panel.applyFilter());
        QVERIFY(error->isHidden());
        QCOMPARE(engine.pages.size(), 1);
    }

    void copyActionsPutValidEntitiesOnTheClipboard() {
        ArchiveEngine engine;
        ui::ArchivePanel panel(&engine);
        panel.show();
        QVERIFY(panel.applyFilter());
        QTRY_VERIFY(panel.model()->rowCount() > 0);
        auto* table = panel.findChild<QTableView*>("archiveTable");
        table->selectRow(3);
        const auto* row = panel.model()->row(3);
        QTRY_VERIFY(panel.detailView()->detail().found);
        QCOMPARE(engine.details.back(), row->id_hex);
        QVERIFY(panel.findChild<QPlainTextEdit*>("detailJson")->toPlainText().contains(row->id_hex));
        auto* relays = panel.findChild<QTableWidget*>("detailRelays");
        QCOMPARE(relays->rowCount(), 3);
        QCOMPARE(relays->item(0, 2)->text(), QString("+0.30 s"));  // first seen 300 ms after created_at
        QCOMPARE(relays->item(1, 2)->text(), QString::fromUtf8("—"));  // an import has no delivery latency
        QSignalSpy relaySelected(&panel, &ui::ArchivePanel::relaySelected);
        emit relays->cellDoubleClicked(2, 0);
        QCOMPARE(relaySelected.count(), 1);
        QCOMPARE(relaySelected[0][0].toString(), QString("wss://relay.two.example"));

        panel.copyAsNevent();
        const QString nevent = QGuiApplication::clipboard()->text();
        QVERIFY2(nevent.startsWith("nevent1"), qPrintable(nevent));
        auto decoded = protocol::decodeNip19(nevent.toStdString());
        QVERIFY(decoded.ok());
        const auto* ref = std::get_if<protocol::Nip19EventRef>(&*decoded);
        QVERIFY(ref);
        QCOMPARE(QString::fromStdString(protocol::toHex(ref->id)), row->id_hex);
        QVERIFY(ref->author);
        QCOMPARE(QString::fromStdString(protocol::toHex(*ref->author)), row->pubkey_hex);
        QCOMPARE(ref->kind, std::optional<uint32_t>(uint32_t(row->kind)));
        // Relays that carried it (not the import source).
        QCOMPARE(ref->relays, (std::vector<std::string>{"wss://relay.one.example", "wss://relay.two.example"}));

        panel.copyAsNote();
        auto note = protocol::decodeNip19(QGuiApplication::clipboard()->text().toStdString());
        QVERIFY(note.ok());
        QCOMPARE(QString::fromStdString(protocol::toHex(std::get<protocol::Nip19Note>(*note).id)), row->id_hex);

        panel.copyAsJson();
        QCOMPARE(QGuiApplication::clipboard()->text(), panel.detailView()->detail().json);
    }

    void latencyIsRelativeToCreatedAt() {
        QCOMPARE(ui::EventDetailView::latencyText(1700000001250, 1700000000), QString("+1.25 s"));
        QCOMPARE(ui::EventDetailView::latencyText(1700000000000 + 90'000, 1700000000), QString("+1.5 min"));
        QVERIFY(ui::EventDetailView::latencyText(1699999998000, 1700000000).endsWith("2.00 s"));
    }

    void exportRunsTheAppliedFilterWithProgressAndCancel() {
        ArchiveEngine engine;
        ui::ArchivePanel panel(&engine);
        panel.show();
        setText(panel, "filterKinds", "7");
        QVERIFY(panel.applyFilter());
        setText(panel, "filterKinds", "1");  // typed but not applied: the export follows the table
        panel.exportTo("/tmp/archivist-export-test.jsonl");
        QCOMPARE(engine.exports.size(), 1);
        QCOMPARE(engine.exports[0].second, QString("/tmp/archivist-export-test.jsonl"));
        QCOMPARE(engine.exports[0].first.filter.kinds, std::vector<uint16_t>{7});
        auto* progress = panel.findChild<QProgressDialog*>("exportProgress");
        QVERIFY(progress);
        QTRY_VERIFY(progress->isVisible());
        emit engine.jobProgress("export", 0.5, "1500 of 3000 events written");
        QCOMPARE(progress->value(), 500);
        emit engine.jobProgress("import", 0.9, "not ours");
        QCOMPARE(progress->value(), 500);
        auto* cancel = progress->findChild<QPushButton*>();
        QVERIFY(cancel);
        QTest::mouseClick(cancel, Qt::LeftButton);
        QVERIFY(engine.cancelled);
        emit engine.jobFinished("export", false, "Export cancelled.");
        QVERIFY(!progress->isVisible());
        QVERIFY(panel.findChild<QLabel*>("archiveStatus")->text().contains("cancelled"));
    }
};

QTEST_MAIN(TestArchivePanel)
#include "tst_archive_panel.moc"
