// Relay state that cannot be rebuilt from the archive: the directory, cursors, checkpoints, gaps;
// plus the backfill slot scheduler and the config file.
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>
#include <sqlite3.h>

#include <fstream>

#include "core/engine/config.h"
#include "core/sync/backfill_slots.h"
#include "core/relays/relay_state_store.h"

using namespace archivist;

namespace {

constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kDayMs = 24 * kHourMs;
constexpr int64_t kNow = int64_t(20000) * kDayMs + 30 * 60'000;  // half past an hour

std::unique_ptr<relays::RelayStateStore> openStore(const QTemporaryDir& dir, const char* name = "r.sqlite") {
    auto s = relays::RelayStateStore::open(std::filesystem::path(dir.path().toStdString()) / name);
    if (!s) {
        qWarning("open: %s", s.error().message.c_str());
        return nullptr;
    }
    return std::move(*s);
}

relays::DiscoveredUrl discovered(const std::string& url, const std::string& source) {
    relays::DiscoveredUrl d;
    d.url = url;
    d.source = source;
    return d;
}

QStringList urlsOf(const std::vector<relays::RelayRecord>& rows) {
    QStringList out;
    for (const auto& r : rows) out << QString::fromStdString(r.url);
    return out;
}

QStringList urlsOf(const std::vector<relays::DirectoryRow>& rows) {
    QStringList out;
    for (const auto& r : rows) out << QString::fromStdString(r.record.url);
    return out;
}

}  // namespace

class TestRelayState : public QObject {
    Q_OBJECT
private slots:
    void directoryPersistsAcrossReopen() {
        QTemporaryDir dir;
        const auto file = std::filesystem::path(dir.path().toStdString()) / "relays.sqlite";
        {
            auto s = relays::RelayStateStore::open(file);
            QVERIFY2(s, s ? "" : s.error().message.c_str());
            auto r = (*s)->directory().upsert("wss://a.example", "user", 1000);
            QVERIFY(r);
            QCOMPARE(r->source, std::string("user"));
            QCOMPARE(r->first_seen_ms, int64_t(1000));
            // A later sighting keeps the first source and first_seen.
            r = (*s)->directory().upsert("wss://a.example", "seed", 2000);
            QCOMPARE(r->source, std::string("user"));
            QCOMPARE(r->first_seen_ms, int64_t(1000));
            QCOMPARE(r->last_seen_ms, int64_t(2000));
            QVERIFY((*s)->sync().saveLiveCursor("wss://a.example", 1700000000));
            QVERIFY((*s)->sync().saveBackfill("wss://a.example", "cp-1", false));
            QVERIFY((*s)->directory().saveStatus("wss://a.example", observe::RelayState::BackingOff, 3, "connect_failed: refused", std::nullopt));
            relays::GapRecord g{"wss://a.example", 5, 5, "1", "overfull_second", 3000};
            QVERIFY((*s)->sync().addGap(g));
        }
        auto s = relays::RelayStateStore::open(file);
        QVERIFY(s);
        auto rec = (*s)->directory().find("wss://a.example");
        QVERIFY(rec && *rec);
        QCOMPARE((*rec)->live_cursor.value_or(-1), int64_t(1700000000));
        QCOMPARE((*rec)->backfill_checkpoint, std::string("cp-1"));
        QCOMPARE((*rec)->consecutive_failures, 3);
        QCOMPARE((*rec)->status, observe::RelayState::BackingOff);
        auto gaps = (*s)->sync().gaps("", 10);
        QVERIFY(gaps);
        QCOMPARE(gaps->size(), size_t(1));
        QCOMPARE(gaps->front().reason, std::string("overfull_second"));
        QCOMPARE(gaps->front().kinds, std::string("1"));
    }

    void cursorNeverMovesBackwards() {
        QTemporaryDir dir;
        auto s = relays::RelayStateStore::open(std::filesystem::path(dir.path().toStdString()) / "r.sqlite");
        QVERIFY(s);
        QVERIFY((*s)->directory().upsert("wss://b.example", "cli", 1));
        QVERIFY((*s)->sync().saveLiveCursor("wss://b.example", 200));
        QVERIFY((*s)->sync().saveLiveCursor("wss://b.example", 100));
        QCOMPARE((*(*s)->directory().find("wss://b.example"))->live_cursor.value_or(-1), int64_t(200));
        // 64-bit created_at survives.
        QVERIFY((*s)->sync().saveLiveCursor("wss://b.example", int64_t(1) << 40));
        QCOMPARE((*(*s)->directory().find("wss://b.example"))->live_cursor.value_or(-1), int64_t(1) << 40);
    }

    void relayInfoDocumentReadsBack() {
        QTemporaryDir dir;
        auto s = relays::RelayStateStore::open(std::filesystem::path(dir.path().toStdString()) / "r.sqlite");
        QVERIFY(s.ok());
        QCOMPARE(*(*s)->nip11().newest("wss://unknown.example"), std::string());
        QVERIFY((*s)->directory().upsert("wss://a.example", "user", 1000).ok());
        QCOMPARE(*(*s)->nip11().newest("wss://a.example"), std::string());
        QVERIFY((*s)->nip11().save("wss://a.example", R"({"name":"A"})", 2000).ok());
        QCOMPARE(*(*s)->nip11().newest("wss://a.example"), std::string(R"({"name":"A"})"));
    }

    void blockedRelaysAreNotListed() {
        QTemporaryDir dir;
        auto s = relays::RelayStateStore::open(std::filesystem::path(dir.path().toStdString()) / "r.sqlite");
        QVERIFY(s);
        for (int i = 0; i < 5; ++i) QVERIFY((*s)->directory().upsert("wss://r" + std::to_string(i) + ".example", "seed", i));
        QVERIFY((*s)->directory().setBlocked("wss://r2.example", true));
        QVERIFY((*s)->directory().setPinned("wss://r4.example", true));
        auto list = (*s)->directory().list(10);
        QVERIFY(list);
        QCOMPARE(list->size(), size_t(4));
        QCOMPARE(list->front().url, std::string("wss://r4.example"));  // pinned first
        for (const auto& r : *list) QVERIFY(r.url != "wss://r2.example");
        QCOMPARE((*s)->directory().list(10, true)->size(), size_t(5));
        QCOMPARE(*(*s)->directory().count(), uint64_t(5));
    }

    void migratesVersion1Databases() {
        QTemporaryDir dir;
        const auto file = std::filesystem::path(dir.path().toStdString()) / "relays.sqlite";
        {
            // A relay state database as the first release wrote it.
            sqlite3* db = nullptr;
            QCOMPARE(sqlite3_open(file.c_str(), &db), SQLITE_OK);
            const char* v1 = R"SQL(
CREATE TABLE relays(id INTEGER PRIMARY KEY, url TEXT NOT NULL UNIQUE, source TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'candidate', pinned INTEGER NOT NULL DEFAULT 0, blocked INTEGER NOT NULL DEFAULT 0,
  consecutive_failures INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '', first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL, last_connected INTEGER, live_cursor INTEGER, backfill_checkpoint TEXT NOT NULL DEFAULT '',
  backfill_done INTEGER NOT NULL DEFAULT 0, nip11 TEXT, nip11_at INTEGER);
CREATE TABLE backfill_gaps(id INTEGER PRIMARY KEY, relay INTEGER NOT NULL, since INTEGER NOT NULL,
  until INTEGER NOT NULL, kinds TEXT NOT NULL, reason TEXT NOT NULL, recorded_at INTEGER NOT NULL);
CREATE UNIQUE INDEX backfill_gaps_key ON backfill_gaps(relay, since, until, kinds, reason);
INSERT INTO relays(url, source, first_seen, last_seen, pinned, live_cursor, nip11, nip11_at)
  VALUES('wss://old.example', 'user', 10, 20, 1, 1700000000, '{ "supported_nips": [1, 11], "name": "Old" }', 15);
INSERT INTO relays(url, source, first_seen, last_seen, nip11) VALUES('wss://junk.example', 'seed', 1, 1, 'not json');
INSERT INTO relays(url, source, first_seen, last_seen, status) VALUES('wss://flaky.example', 'seed', 1, 1, 'backing off');
INSERT INTO relays(url, source, first_seen, last_seen, status) VALUES('wss://odd.example', 'seed', 1, 1, 'zombie');
PRAGMA user_version = 1;
)SQL";
            QCOMPARE(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK);
            sqlite3_close(db);
        }
        auto s = relays::RelayStateStore::open(file);
        QVERIFY2(s, s ? "" : s.error().message.c_str());
        auto rec = (*s)->directory().find("wss://old.example");
        QVERIFY(rec && *rec);
        QVERIFY((*rec)->pinned);
        QCOMPARE((*rec)->live_cursor.value_or(0), int64_t(1700000000));
        QCOMPARE(*(*s)->nip11().newest("wss://old.example"), std::string(R"({"name":"Old","supported_nips":[1,11]})"));
        QCOMPARE(*(*s)->nip11().newest("wss://junk.example"), std::string());
        auto hist = (*s)->nip11().history("wss://old.example", 10);
        QVERIFY(hist);
        QCOMPARE(hist->size(), size_t(1));
        QCOMPARE(hist->front().first, int64_t(15));
        // Version 3: statuses in the one vocabulary (the old spelling renamed, unknown text reset).
        QCOMPARE((*(*s)->directory().find("wss://flaky.example"))->status, observe::RelayState::BackingOff);
        QCOMPARE((*(*s)->directory().find("wss://odd.example"))->status, observe::RelayState::Candidate);
        QVERIFY(*(*s)->directory().statusCounts() ==
                (std::vector<std::pair<std::string, uint64_t>>{{"backing_off", 1}, {"candidate", 3}}));
        // New columns work on the migrated table.
        QVERIFY((*s)->directory().saveScores({{"wss://old.example", 0.5, "{}"}}, 100));
        relays::DirectoryQuery q;
        auto page = (*s)->directory().page(q);
        QVERIFY(page);
        QCOMPARE(page->rows.front().record.url, std::string("wss://old.example"));
        QCOMPARE(page->rows.front().score.value_or(-1), 0.5);
    }

    void nip11DocumentsAreContentAddressed() {
        QTemporaryDir dir;
        auto s = openStore(dir);
        QVERIFY(s);
        QVERIFY(s->directory().upsert("wss://a.example", "seed", 1));
        QVERIFY(s->directory().upsert("wss://b.example", "seed", 1));
        // The same document, written differently, is stored once.
        QVERIFY(s->nip11().save("wss://a.example", R"({"name":"X","limitation":{"max_limit":500}})", 1000));
        QVERIFY(s->nip11().save("wss://b.example", "{ \"limitation\" : {\"max_limit\":500},\n \"name\":\"X\" }", 1000));
        QCOMPARE(*s->nip11().documentCount(), uint64_t(1));
        // Documents that differ only in a value's type do not collide.
        QVERIFY(s->nip11().save("wss://b.example", R"({"limitation":{"max_limit":"500"},"name":"X"})", 2000));
        QCOMPARE(*s->nip11().documentCount(), uint64_t(2));
        QCOMPARE(*s->nip11().newest("wss://b.example"), std::string(R"({"limitation":{"max_limit":"500"},"name":"X"})"));
        // History records changes; re-fetching the newest document moves its time only.
        QVERIFY(s->nip11().save("wss://a.example", R"({"name":"Y"})", 3000));
        QVERIFY(s->nip11().save("wss://a.example", R"({"name":"Y"})", 4000));
        auto hist = s->nip11().history("wss://a.example", 10);
        QVERIFY(hist);
        QCOMPARE(hist->size(), size_t(2));
        QCOMPARE((*hist)[0].first, int64_t(4000));
        QCOMPARE((*hist)[0].second, std::string(R"({"name":"Y"})"));
        QCOMPARE((*hist)[1].first, int64_t(1000));
        QCOMPARE(*s->nip11().newest("wss://a.example"), std::string(R"({"name":"Y"})"));
        // Bounded history; unreferenced documents are deleted.
        for (int i = 0; i < 40; ++i)
            QVERIFY(s->nip11().save("wss://a.example", "{\"name\":\"v" + std::to_string(i) + "\"}", 10000 + i));
        QCOMPARE(s->nip11().history("wss://a.example", 100)->size(), relays::Nip11Table::kHistoryPerRelay);
        // b's two documents + a's 32 newest ("X" is still b's, so it stays).
        QCOMPARE(*s->nip11().documentCount(), uint64_t(2 + relays::Nip11Table::kHistoryPerRelay));
        // Not a document.
        auto bad = s->nip11().save("wss://a.example", "<html>", 5000);
        QVERIFY(!bad);
        QCOMPARE(bad.error().code, relays::StateErrorCode::Json);
        QVERIFY(!s->nip11().save("wss://a.example", "{\"x\":\"" + std::string(70000, 'a') + "\"}", 5000));
    }

    void outcomesGiveUptimeAndArePruned() {
        QTemporaryDir dir;
        auto s = openStore(dir);
        QVERIFY(s);
        const std::string a = "wss://a.example";
        QVERIFY(s->directory().upsert(a, "seed", 1));
        QVERIFY(s->observations().recordOutcome(a, kNow - 9 * kDayMs, relays::OutcomeKind::Probe, true, 10, 10, ""));
        QVERIFY(s->observations().recordOutcome(a, kNow - 3 * kDayMs, relays::OutcomeKind::Connect, false, -1, -1, "connect_failed: refused"));
        QVERIFY(s->observations().recordOutcome(a, kNow - 2 * kHourMs, relays::OutcomeKind::Connect, false, -1, -1, "timeout"));
        QVERIFY(s->observations().recordOutcome(a, kNow - 90 * 60'000, relays::OutcomeKind::Connect, true, 300, -1, ""));
        QVERIFY(s->observations().recordOutcome(a, kNow - 60 * 60'000, relays::OutcomeKind::Probe, true, 100, 40, ""));
        QVERIFY(s->observations().recordOutcome(a, kNow - 30 * 60'000, relays::OutcomeKind::Probe, true, 200, 50, ""));
        QVERIFY(s->observations().recordOutcome("wss://unknown.example", kNow, relays::OutcomeKind::Probe, true, 1, 1, ""));  // ignored
        relays::DirectoryQuery q;
        q.now_ms = kNow;
        auto page = s->directory().page(q);
        QVERIFY(page);
        QCOMPARE(page->rows.size(), size_t(1));
        const auto& row = page->rows[0];
        QCOMPARE(row.uptime_24h, 0.75);       // 3 of 4 in the last day
        QCOMPARE(row.uptime_7d, 3.0 / 5.0);   // the 9-day-old one is outside
        QCOMPARE(row.last_probe.at_ms, kNow - 30 * 60'000);
        QVERIFY(row.last_probe.ok);
        QCOMPARE(row.last_probe.open_rtt_ms, int64_t(200));
        QCOMPARE(row.last_probe.read_rtt_ms, int64_t(50));
        QVERIFY(!row.score);
        auto agg = s->observations().aggregates({a}, kNow, 24);
        QVERIFY(agg);
        QCOMPARE(agg->size(), size_t(1));
        QCOMPARE(agg->front().median_open_rtt_ms, int64_t(200));  // 100, 200, 300 (failures have none)
        // Seen from two days ago the old probe is inside the week, until pruning removes it.
        QCOMPARE(s->observations().aggregates({a}, kNow - 2 * kDayMs, 24)->front().uptime_7d, 0.5);
        QVERIFY(s->observations().prune(kNow));
        QCOMPARE(s->observations().aggregates({a}, kNow - 2 * kDayMs, 24)->front().uptime_7d, 0.0);
        // No outcome at all: unknown.
        QVERIFY(s->directory().upsert("wss://new.example", "hint", 1));
        QCOMPARE(s->observations().aggregates({"wss://new.example"}, kNow, 24)->front().uptime_24h, -1.0);
    }

    void discoveredUrlsAreCountedPerSource() {
        QTemporaryDir dir;
        auto s = openStore(dir);
        QVERIFY(s);
        QVERIFY(s->directory().upsert("wss://seed.example", "seed", 1));
        auto n = s->directory().upsertDiscovered({discovered("wss://a.example", "nip65"), discovered("wss://b.example", "hint"),
                                      discovered("wss://a.example", "hint"), discovered("wss://seed.example", "hint")},
                                     500);
        QVERIFY(n);
        QCOMPARE(*n, uint64_t(2));
        n = s->directory().upsertDiscovered({discovered("wss://a.example", "kind3"), discovered("wss://c.example", "nip66")}, 900);
        QCOMPARE(*n, uint64_t(1));
        auto a = *s->directory().find("wss://a.example");
        QCOMPARE(a->source, std::string("nip65"));
        QCOMPARE(a->status, observe::RelayState::Candidate);
        QCOMPARE(a->first_seen_ms, int64_t(500));
        QCOMPARE(a->last_seen_ms, int64_t(900));
        QCOMPARE((*s->directory().find("wss://seed.example"))->source, std::string("seed"));
        auto counts = s->directory().discoveryCounts();
        QVERIFY(counts);
        using P = std::pair<std::string, uint64_t>;
        QCOMPARE(*counts, (std::vector<P>{{"hint", 1}, {"nip65", 1}, {"nip66", 1}}));
        QCOMPARE(*s->directory().count(), uint64_t(4));
        QVERIFY(s->directory().saveStatus("wss://a.example", observe::RelayState::Connected, 0, "", 1000));
        QVERIFY(s->directory().setBlocked("wss://b.example", true));
        QCOMPARE(*s->directory().statusCounts(), (std::vector<P>{{"blocked", 1}, {"candidate", 2}, {"connected", 1}}));
    }

    void pageFiltersOrdersAndClamps() {
        QTemporaryDir dir;
        auto s = openStore(dir);
        QVERIFY(s);
        std::vector<relays::DiscoveredUrl> batch;
        for (int i = 0; i < 10; ++i)
            batch.push_back(discovered("wss://r" + std::to_string(i) + ".example", i % 2 ? "hint" : "nip65"));
        QVERIFY(s->directory().upsertDiscovered(batch, 100));
        QVERIFY(s->directory().upsert("wss://r7.example", "x", 700));  // newest sighting
        QVERIFY(s->directory().saveScores({{"wss://r3.example", 0.2, "{}"}, {"wss://r5.example", 0.9, "{}"},
                               {"wss://r8.example", 0.5, "{\"novelty\":0.5}"}},
                              50));
        QVERIFY(s->directory().setBlocked("wss://r5.example", true));
        QVERIFY(s->nip11().save("wss://r8.example",
                                 R"({"name":"Eight","software":"strfry","version":"1.0","supported_nips":[1,11,42],)"
                                 R"("limitation":{"auth_required":true,"payment_required":true,"max_limit":500}})",
                                 60));
        relays::DirectoryQuery q;
        q.now_ms = kNow;
        q.limit = 4;
        auto p = s->directory().page(q);
        QVERIFY(p);
        QCOMPARE(p->total_matching, uint64_t(10));
        QCOMPARE(urlsOf(p->rows), (QStringList{"wss://r5.example", "wss://r8.example", "wss://r3.example",
                                               "wss://r0.example"}));  // scored best first, then unscored
        QCOMPARE(p->rows[1].nip11.name, std::string("Eight"));
        QCOMPARE(p->rows[1].nip11.software, std::string("strfry 1.0"));
        QCOMPARE(p->rows[1].nip11.summary, std::string("NIPs 1, 11, 42 · auth · paid · max_limit 500"));
        QCOMPARE(p->rows[1].scored_ms, int64_t(50));
        q.include_blocked = false;
        q.source = "hint";
        q.limit = 100;
        p = s->directory().page(q);
        QCOMPARE(p->total_matching, uint64_t(4));  // r1, r3, r7, r9 (r5 blocked)
        QCOMPARE(urlsOf(p->rows).front(), QString("wss://r3.example"));
        q = {};
        q.text = "r7";
        QCOMPARE(urlsOf(s->directory().page(q)->rows), QStringList{"wss://r7.example"});
        q = {};
        q.status = observe::RelayState::Blocked;
        QCOMPARE(urlsOf(s->directory().page(q)->rows), QStringList{"wss://r5.example"});
        q = {};
        q.order = relays::DirectoryQuery::Order::LastSeen;
        q.limit = 0;  // clamped to 1
        QCOMPARE(urlsOf(s->directory().page(q)->rows), QStringList{"wss://r7.example"});
        q = {};
        q.order = relays::DirectoryQuery::Order::Url;
        q.offset = 8;
        q.limit = 1000000;  // clamped to kMaxPageRows
        p = s->directory().page(q);
        QCOMPARE(urlsOf(p->rows), (QStringList{"wss://r8.example", "wss://r9.example"}));
        QCOMPARE(p->total_matching, uint64_t(10));
    }

    void nip66ReportsAreKeptNewestFirst() {
        QTemporaryDir dir;
        auto s = relays::RelayStateStore::open(dir.filePath("relays.sqlite").toStdString());
        QVERIFY(s);
        relays::DiscoveredUrl r{"wss://r.example", "nip66"};
        r.rtt_open_ms = 120;
        r.requires_payment = 0;
        r.requires_auth = 1;
        r.reported_at = 2000;
        QVERIFY((*s)->directory().upsertDiscovered({r}, 10));
        auto older = r;
        older.rtt_open_ms = 999;
        older.reported_at = 1000;  // an older report does not replace a newer one
        QVERIFY((*s)->directory().upsertDiscovered({older}, 20));
        auto rec = (*s)->directory().find("wss://r.example");
        QVERIFY(rec && *rec);
        QCOMPARE((*rec)->nip66_rtt_open_ms, int64_t(120));
        QCOMPARE((*rec)->nip66_requires_auth, int8_t(1));
        QCOMPARE((*rec)->nip66_requires_payment, int8_t(0));
        auto newer = r;
        newer.requires_payment = 1;
        newer.reported_at = 3000;
        QVERIFY((*s)->directory().upsertDiscovered({newer}, 30));
        QCOMPARE((*(*s)->directory().find("wss://r.example"))->nip66_requires_payment, int8_t(1));
        // A hint about the same relay changes nothing in the report.
        QVERIFY((*s)->directory().upsertDiscovered({{"wss://r.example", "hint"}}, 40));
        QCOMPARE((*(*s)->directory().find("wss://r.example"))->nip66_reported_at, int64_t(3000));
    }

    void bestCandidatesInterleaveUntriedRelays() {
        QTemporaryDir dir;
        auto s = openStore(dir);
        QVERIFY(s);
        QVERIFY(s->directory().upsertDiscovered({discovered("wss://u1.example", "hint"), discovered("wss://s1.example", "nip65"),
                                     discovered("wss://s2.example", "nip65"), discovered("wss://s3.example", "nip65"),
                                     discovered("wss://u3.example", "hint"), discovered("wss://x-blocked.example", "hint"),
                                     discovered("wss://x-conn.example", "hint")},
                                    100));
        QVERIFY(s->directory().upsert("wss://u2.example", "user", 200));  // an operator's relay goes first among the untried
        QVERIFY(s->directory().saveScores({{"wss://s1.example", 0.9, ""}, {"wss://s2.example", 0.5, ""}, {"wss://s3.example", 0.1, ""},
                               {"wss://x-blocked.example", 1.0, ""}, {"wss://x-conn.example", 1.0, ""}},
                              300));
        QVERIFY(s->directory().setBlocked("wss://x-blocked.example", true));
        QVERIFY(s->directory().saveStatus("wss://x-conn.example", observe::RelayState::Connected, 0, "", 300));
        auto best = s->directory().bestCandidates(10, {"wss://s2.example"});
        QVERIFY(best);
        QCOMPARE(urlsOf(*best), (QStringList{"wss://s1.example", "wss://u2.example", "wss://s3.example",
                                             "wss://u1.example", "wss://u3.example"}));
        QCOMPARE(urlsOf(*s->directory().bestCandidates(3, {})),
                 (QStringList{"wss://s1.example", "wss://u2.example", "wss://s2.example"}));
        QVERIFY(s->directory().setPinned("wss://s3.example", true));
        QCOMPARE(urlsOf(*s->directory().pinnedRelays()), QStringList{"wss://s3.example"});
    }

    void aggregatesOverEveryRelayWithData() {
        QTemporaryDir dir;
        auto s = openStore(dir);
        QVERIFY(s);
        for (const char* u : {"wss://a.example", "wss://b.example", "wss://c.example", "wss://idle.example"})
            QVERIFY(s->directory().upsert(u, "seed", 1));
        const int64_t hour = kNow / kHourMs;
        relays::HourlyRow r;
        r.url = "wss://a.example";
        r.hour = hour;
        r.received = 10;
        r.novel = 4;
        relays::HourlyRow old = r;
        old.hour = hour - 30;  // outside a 24 h window
        relays::HourlyRow b = r;
        b.url = "wss://b.example";
        b.hour = hour - 1;
        b.received = 3;
        QVERIFY(s->observations().addHourly({r, old, b}));
        for (int64_t rtt : {100, 300, 200, 50})
            QVERIFY(s->observations().recordOutcome("wss://a.example", kNow - rtt * 1000, relays::OutcomeKind::Probe, true, rtt, 1, ""));
        QVERIFY(s->observations().recordOutcome("wss://c.example", kNow - 1000, relays::OutcomeKind::Probe, false, -1, -1, "refused"));
        auto all = s->observations().aggregates({}, kNow, 24);
        QVERIFY(all);
        std::map<std::string, relays::RelayAggregate> by;
        for (const auto& a : *all) by[a.url] = a;
        QCOMPARE(by.size(), size_t(3));  // idle has no data
        QCOMPARE(by["wss://a.example"].received, uint64_t(10));
        QCOMPARE(by["wss://a.example"].novel, uint64_t(4));
        QCOMPARE(by["wss://a.example"].median_open_rtt_ms, int64_t(100));  // lower median of 50,100,200,300
        QCOMPARE(by["wss://a.example"].uptime_24h, 1.0);
        QCOMPARE(by["wss://b.example"].received, uint64_t(3));
        QCOMPARE(by["wss://b.example"].uptime_24h, -1.0);
        QCOMPARE(by["wss://c.example"].uptime_24h, 0.0);
        QCOMPARE(by["wss://c.example"].received, uint64_t(0));
        // The explicit path agrees.
        auto one = s->observations().aggregates({"wss://a.example", "wss://nope.example"}, kNow, 24);
        QCOMPARE(one->size(), size_t(1));
        QCOMPARE(one->front().median_open_rtt_ms, int64_t(100));
        QCOMPARE(one->front().received, uint64_t(10));
        QCOMPARE(s->observations().aggregates({"wss://a.example"}, kNow, 48)->front().received, uint64_t(20));
        // The limit bounds the all-relays answer.
        QCOMPARE(s->observations().aggregates({}, kNow, 24, 1)->size(), size_t(1));
    }

    void hundredThousandRelays() {
        QTemporaryDir dir;
        auto s = openStore(dir);
        QVERIFY(s);
        QElapsedTimer t;
        t.start();
        constexpr int kRelays = 100000;
        for (int base = 0; base < kRelays; base += 10000) {
            std::vector<relays::DiscoveredUrl> batch;
            for (int i = base; i < base + 10000; ++i)
                batch.push_back(discovered("wss://relay" + std::to_string(i) + ".example", i % 3 ? "hint" : "nip65"));
            auto n = s->directory().upsertDiscovered(batch, 1000 + base);
            QVERIFY(n);
            QCOMPARE(*n, uint64_t(10000));
        }
        const qint64 insert_ms = t.restart();
        std::vector<relays::ScoreUpdate> scores;
        for (int i = 0; i < kRelays; i += 2) scores.push_back({"wss://relay" + std::to_string(i) + ".example", (i % 997) / 997.0, "{}"});
        QVERIFY(s->directory().saveScores(scores, kNow));
        const qint64 score_ms = t.restart();
        // 2,000 relays with a day of hourly rows; 2,000 with 10 outcomes each.
        std::vector<relays::HourlyRow> rows;
        for (int i = 0; i < 2000; ++i) {
            for (int h = 0; h < 24; ++h) {
                relays::HourlyRow r;
                r.url = "wss://relay" + std::to_string(i * 7) + ".example";
                r.hour = kNow / kHourMs - h;
                r.received = 100;
                r.novel = uint64_t(i % 50);
                r.rejected = 1;
                r.rejected_by_reason = {{"bad_signature", 1}};
                rows.push_back(std::move(r));
            }
        }
        QVERIFY(s->observations().addHourly(rows));
        const qint64 hourly_ms = t.restart();
        for (int i = 0; i < 2000; ++i)
            for (int k = 0; k < 10; ++k)
                QVERIFY(s->observations().recordOutcome("wss://relay" + std::to_string(i * 11) + ".example",
                                                        kNow - k * kHourMs, relays::OutcomeKind::Probe, k % 4 != 0, 50 + k,
                                                        20, ""));
        const qint64 outcome_ms = t.restart();

        relays::DirectoryQuery q;
        q.now_ms = kNow;
        auto p = s->directory().page(q);
        QVERIFY(p);
        QCOMPARE(p->rows.size(), size_t(200));
        QCOMPARE(p->total_matching, uint64_t(kRelays));
        const qint64 page_score_ms = t.restart();
        q.order = relays::DirectoryQuery::Order::LastSeen;
        q.text = "relay9";
        q.offset = 1000;
        p = s->directory().page(q);
        QVERIFY(p);
        const qint64 page_text_ms = t.restart();
        q = {};
        q.now_ms = kNow;
        q.limit = 5000;
        q.order = relays::DirectoryQuery::Order::Url;
        QCOMPARE(s->directory().page(q)->rows.size(), size_t(5000));
        const qint64 page_5000_ms = t.restart();
        auto all = s->observations().aggregates({}, kNow, 24);
        QVERIFY(all);
        std::set<int> with_data;
        for (int i = 0; i < 2000; ++i) {
            with_data.insert(i * 7);
            with_data.insert(i * 11);
        }
        QCOMPARE(all->size(), with_data.size());
        const qint64 agg_all_ms = t.restart();
        std::vector<std::string> urls;
        for (int i = 0; i < 500; ++i) urls.push_back("wss://relay" + std::to_string(i * 7) + ".example");
        QCOMPARE(s->observations().aggregates(urls, kNow, 24)->size(), size_t(500));
        const qint64 agg_500_ms = t.restart();
        QCOMPARE(s->directory().bestCandidates(200, {})->size(), size_t(200));
        const qint64 best_ms = t.restart();
        QVERIFY(s->directory().statusCounts());
        const qint64 status_ms = t.restart();
        qInfo("100k relays: insert %lld ms, 50k scores %lld ms, 48k hourly rows %lld ms, 20k outcomes %lld ms",
              insert_ms, score_ms, hourly_ms, outcome_ms);
        qInfo("page(score, 200) %lld ms, page(text+last_seen+offset) %lld ms, page(url, 5000) %lld ms",
              page_score_ms, page_text_ms, page_5000_ms);
        qInfo("aggregates(all, 24h) %lld ms, aggregates(500 urls) %lld ms, bestCandidates(200) %lld ms, "
              "statusCounts %lld ms",
              agg_all_ms, agg_500_ms, best_ms, status_ms);
    }

    void slotsGoToTheMostBehindFirst() {
        sync::BackfillSlots s3(1);
        // Both wait; the free slot goes to the more-behind one.
        QVERIFY(s3.tryAcquire("holder", 5));  // nobody else waiting: granted
        QCOMPARE(s3.inUse(), size_t(1));
        QVERIFY(!s3.tryAcquire("a", 100));
        QVERIFY(!s3.tryAcquire("b", 50));
        s3.release("holder");
        QVERIFY(!s3.tryAcquire("b", 50));  // a is further behind
        QVERIFY(s3.tryAcquire("a", 100));
        QCOMPARE(s3.inUse(), size_t(1));
        s3.release("a");
        QVERIFY(s3.tryAcquire("b", 50));
        QCOMPARE(s3.waiting(), size_t(0));
        // A forgotten relay releases its slot and its place in the queue.
        s3.forget("b");
        QCOMPARE(s3.inUse(), size_t(0));
    }

    void configParsesAndRejectsTypos() {
        QTemporaryDir dir;
        const auto file = std::filesystem::path(dir.path().toStdString()) / "config.json";
        // Missing file: defaults.
        auto def = engine::loadConfig(file);
        QVERIFY(def);
        QVERIFY(def->seed_relays);
        QCOMPARE(def->max_relays, uint32_t(150));
        QCOMPARE(def->sqlite_heap_limit_bytes, observe::kDefaultSqliteHeapLimitBytes);
        {
            std::ofstream(file) << R"({"relays":["wss://x.example"],"seed_relays":false,"max_relays":20,)"
                                   R"("allow_addresses":["10.0.0.0/8"],"filter":{"kinds":[1,7]},"backfill_depth_days":3})";
        }
        auto cfg = engine::loadConfig(file);
        QVERIFY2(cfg, cfg ? "" : cfg.error().message.c_str());
        QCOMPARE(cfg->relays.size(), size_t(1));
        QVERIFY(!cfg->seed_relays);
        QCOMPARE(cfg->max_relays, uint32_t(20));
        QCOMPARE(cfg->backfill_depth_days, int64_t(3));
        QCOMPARE(cfg->filter_json, std::string(R"({"kinds":[1,7]})"));
        { std::ofstream(file) << R"({"max_relay": 5})"; }
        auto typo = engine::loadConfig(file);
        QVERIFY(!typo);
        QVERIFY(typo.error().message.find("max_relay") != std::string::npos);
        { std::ofstream(file) << R"({"filter": {"kinds": ["1"]}})"; }
        QVERIFY(!engine::loadConfig(file));
        { std::ofstream(file) << R"({"max_relays": 0})"; }
        QVERIFY(!engine::loadConfig(file));
        { std::ofstream(file) << R"({"sqlite_heap_limit_bytes": 33554432})"; }
        auto heap = engine::loadConfig(file);
        QVERIFY(heap);
        QCOMPARE(heap->sqlite_heap_limit_bytes, uint64_t(32) << 20);
        QVERIFY(engine::configToJson(*heap).find("\"sqlite_heap_limit_bytes\": 33554432") != std::string::npos);
        { std::ofstream(file) << R"({"sqlite_heap_limit_bytes": 0})"; }  // every cache has a bound
        auto none = engine::loadConfig(file);
        QVERIFY(!none);
        QVERIFY(none.error().message.find("at least 8388608") != std::string::npos);
        { std::ofstream(file) << "not json"; }
        QVERIFY(!engine::loadConfig(file));
    }
};

QTEST_GUILESS_MAIN(TestRelayState)
#include "tst_relay_state.moc"
