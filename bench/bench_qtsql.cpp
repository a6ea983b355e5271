// SQLite's C API against Qt Sql (QSqlQuery over the QSQLITE driver, which on Debian runs the same
// system libsqlite3) on the index's own statements (docs/decisions/0012-sqlite-c-api.md).
//
// In one process, alternating the two (A, B, A, B …), on identical fresh files in /tmp:
//   write: N events inserted into a hot file as a lane commits them — one `events` row (four
//          secondary indexes), three `tags` rows and one `sightings` row each — in transactions of
//          4,096 events, prepared statements each way: the commit path;
//   read:  pages of 100 rows by (created_at, id) keyset, as the browser's page query asks for
//          them, every column read — the read-only panels' path.
// Prints the time per event (write) and per row read, and the difference: what Qt Sql would add.
//
// Usage: bench_qtsql [--rows N] [--rounds R]
#include <QCoreApplication>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>
#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <vector>

#include "core/index/schema.h"
#include "bench_util.h"

using namespace archivist;
namespace fs = std::filesystem;

namespace {

struct Row {
    int64_t rk, kind, created_at, first_seen, segment, offset, length, line, flags, sighash;
    int64_t tags[3];
    int64_t source, seen_at;
    QByteArray id, pubkey;
};

std::vector<Row> makeRows(size_t n) {
    std::mt19937_64 rng(7);
    std::vector<Row> rows(n);
    std::vector<QByteArray> authors;
    for (int a = 0; a < 2000; ++a) {
        QByteArray k(32, 0);
        for (auto& c : k) c = char(rng());
        authors.push_back(k);
    }
    for (size_t i = 0; i < n; ++i) {
        Row& r = rows[i];
        r.created_at = 1700000000 + int64_t(i / 3);
        r.rk = (r.created_at << 31) | int64_t(i + 1);
        r.id = QByteArray(32, 0);
        for (auto& c : r.id) c = char(rng());
        r.pubkey = authors[rng() % authors.size()];
        r.kind = 1;
        r.first_seen = 1700000000000 + int64_t(i);
        r.segment = 1;
        r.offset = int64_t(i / 4096) * 1000000;
        r.length = 1000000;
        r.line = int64_t(i % 4096);
        r.flags = 0;
        r.sighash = int64_t(rng());
        for (auto& t : r.tags) t = int64_t(rng());
        r.source = 1 + int64_t(i % 7);
        r.seen_at = r.first_seen;
    }
    return rows;
}

void createSchema(const fs::path& file) {
    fs::remove(file);
    sqlite3* db = nullptr;
    sqlite3_open(file.c_str(), &db);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    if (sqlite3_exec(db, index::kEventTablesSql, nullptr, nullptr, nullptr) != SQLITE_OK ||
        sqlite3_exec(db, index::kPartTagsSql, nullptr, nullptr, nullptr) != SQLITE_OK ||
        sqlite3_exec(db, index::kIdIndexSql, nullptr, nullptr, nullptr) != SQLITE_OK ||
        sqlite3_exec(db, index::kSecondaryIndexesSql, nullptr, nullptr, nullptr) != SQLITE_OK)
        std::abort();
    sqlite3_close(db);
}

const char* kPragmas[] = {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=OFF", "PRAGMA cache_size=-16384"};
const char* kInsert = "INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?,?)";
const char* kInsertTag = "INSERT OR IGNORE INTO tags(key, rk) VALUES (?,?)";
const char* kInsertSighting =
    "INSERT INTO sightings(rk, source, seen_at) VALUES (?,?,?) "
    "ON CONFLICT(rk, source) DO UPDATE SET seen_at = min(seen_at, excluded.seen_at)";
const char* kPage =
    "SELECT rk, id, pubkey, kind, created_at, first_seen_at, flags, segment, offset, length, line FROM events "
    "WHERE created_at <= ? AND (created_at < ? OR id > ?) ORDER BY created_at DESC, id ASC LIMIT 100";

// Seconds per event to insert `rows` (and their tags and sightings) through the C API.
double writeC(const fs::path& file, const std::vector<Row>& rows) {
    createSchema(file);
    sqlite3* db = nullptr;
    sqlite3_open(file.c_str(), &db);
    for (const char* p : kPragmas) sqlite3_exec(db, p, nullptr, nullptr, nullptr);
    sqlite3_stmt* st = nullptr;
    sqlite3_stmt* tag = nullptr;
    sqlite3_stmt* sight = nullptr;
    sqlite3_prepare_v2(db, kInsert, -1, &st, nullptr);
    sqlite3_prepare_v2(db, kInsertTag, -1, &tag, nullptr);
    sqlite3_prepare_v2(db, kInsertSighting, -1, &sight, nullptr);
    const double t0 = bench::now();
    for (size_t i = 0; i < rows.size(); ++i) {
        if (i % 4096 == 0) sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
        const Row& r = rows[i];
        sqlite3_bind_int64(st, 1, r.rk);
        sqlite3_bind_blob(st, 2, r.id.constData(), 32, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, r.pubkey.constData(), 32, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, r.kind);
        sqlite3_bind_int64(st, 5, r.created_at);
        sqlite3_bind_int64(st, 6, r.first_seen);
        sqlite3_bind_int64(st, 7, r.segment);
        sqlite3_bind_int64(st, 8, r.offset);
        sqlite3_bind_int64(st, 9, r.length);
        sqlite3_bind_int64(st, 10, r.line);
        sqlite3_bind_int64(st, 11, r.flags);
        sqlite3_bind_int64(st, 12, r.sighash);
        if (sqlite3_step(st) != SQLITE_DONE) std::abort();
        sqlite3_reset(st);
        for (int64_t key : r.tags) {
            sqlite3_bind_int64(tag, 1, key);
            sqlite3_bind_int64(tag, 2, r.rk);
            if (sqlite3_step(tag) != SQLITE_DONE) std::abort();
            sqlite3_reset(tag);
        }
        sqlite3_bind_int64(sight, 1, r.rk);
        sqlite3_bind_int64(sight, 2, r.source);
        sqlite3_bind_int64(sight, 3, r.seen_at);
        if (sqlite3_step(sight) != SQLITE_DONE) std::abort();
        sqlite3_reset(sight);
        if (i % 4096 == 4095 || i + 1 == rows.size()) sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    }
    const double t = bench::now() - t0;
    sqlite3_finalize(st);
    sqlite3_finalize(tag);
    sqlite3_finalize(sight);
    sqlite3_close(db);
    return t / double(rows.size());
}

double writeQt(const fs::path& file, const std::vector<Row>& rows) {
    createSchema(file);
    double t = 0;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase("QSQLITE", "bench");
        db.setDatabaseName(QString::fromStdString(file.string()));
        if (!db.open()) std::abort();
        QSqlQuery q(db);
        for (const char* p : kPragmas) q.exec(p);
        QSqlQuery ins(db), tag(db), sight(db);
        if (!ins.prepare(kInsert) || !tag.prepare(kInsertTag) || !sight.prepare(kInsertSighting)) std::abort();
        const double t0 = bench::now();
        for (size_t i = 0; i < rows.size(); ++i) {
            if (i % 4096 == 0) db.transaction();
            const Row& r = rows[i];
            ins.bindValue(0, qint64(r.rk));
            ins.bindValue(1, r.id);
            ins.bindValue(2, r.pubkey);
            ins.bindValue(3, qint64(r.kind));
            ins.bindValue(4, qint64(r.created_at));
            ins.bindValue(5, qint64(r.first_seen));
            ins.bindValue(6, qint64(r.segment));
            ins.bindValue(7, qint64(r.offset));
            ins.bindValue(8, qint64(r.length));
            ins.bindValue(9, qint64(r.line));
            ins.bindValue(10, qint64(r.flags));
            ins.bindValue(11, qint64(r.sighash));
            if (!ins.exec()) {
                std::fprintf(stderr, "qt insert: %s\n", ins.lastError().text().toLocal8Bit().constData());
                std::abort();
            }
            for (int64_t key : r.tags) {
                tag.bindValue(0, qint64(key));
                tag.bindValue(1, qint64(r.rk));
                if (!tag.exec()) std::abort();
            }
            sight.bindValue(0, qint64(r.rk));
            sight.bindValue(1, qint64(r.source));
            sight.bindValue(2, qint64(r.seen_at));
            if (!sight.exec()) std::abort();
            if (i % 4096 == 4095 || i + 1 == rows.size()) db.commit();
        }
        t = bench::now() - t0;
        db.close();
    }
    QSqlDatabase::removeDatabase("bench");
    return t / double(rows.size());
}

// Seconds per row read: `pages` keyset pages of 100 from random starting seconds.
double readC(const fs::path& file, const std::vector<Row>& rows, int pages, uint64_t& sink) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, kPage, -1, &st, nullptr);
    std::mt19937_64 rng(3);
    size_t n = 0;
    const double t0 = bench::now();
    for (int p = 0; p < pages; ++p) {
        const Row& from = rows[rng() % rows.size()];
        sqlite3_bind_int64(st, 1, from.created_at);
        sqlite3_bind_int64(st, 2, from.created_at);
        sqlite3_bind_blob(st, 3, from.id.constData(), 32, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW) {
            sink += uint64_t(sqlite3_column_int64(st, 0)) + uint64_t(sqlite3_column_bytes(st, 1)) +
                    uint64_t(sqlite3_column_bytes(st, 2));
            for (int c = 3; c < 11; ++c) sink += uint64_t(sqlite3_column_int64(st, c));
            ++n;
        }
        sqlite3_reset(st);
    }
    const double t = bench::now() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return t / double(std::max<size_t>(n, 1));
}

double readQt(const fs::path& file, const std::vector<Row>& rows, int pages, uint64_t& sink) {
    double t = 0;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase("QSQLITE", "benchr");
        db.setDatabaseName(QString::fromStdString(file.string()));
        db.setConnectOptions("QSQLITE_OPEN_READONLY");
        if (!db.open()) std::abort();
        QSqlQuery q(db);
        q.setForwardOnly(true);
        q.prepare(kPage);
        std::mt19937_64 rng(3);
        size_t n = 0;
        const double t0 = bench::now();
        for (int p = 0; p < pages; ++p) {
            const Row& from = rows[rng() % rows.size()];
            q.bindValue(0, qint64(from.created_at));
            q.bindValue(1, qint64(from.created_at));
            q.bindValue(2, from.id);
            if (!q.exec()) std::abort();
            while (q.next()) {
                sink += uint64_t(q.value(0).toLongLong()) + uint64_t(q.value(1).toByteArray().size()) +
                        uint64_t(q.value(2).toByteArray().size());
                for (int c = 3; c < 11; ++c) sink += uint64_t(q.value(c).toLongLong());
                ++n;
            }
        }
        t = (bench::now() - t0) / double(std::max<size_t>(n, 1));
        db.close();
    }
    QSqlDatabase::removeDatabase("benchr");
    return t;
}

}  // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    if (!QSqlDatabase::isDriverAvailable("QSQLITE")) {
        std::fprintf(stderr, "bench_qtsql: Qt's SQLite driver (QSQLITE) is not installed (Debian: libqt6sql6-sqlite)\n");
        return 1;
    }
    size_t n = 200000;
    int rounds = 3;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--rows" && i + 1 < argc) n = std::strtoull(argv[++i], nullptr, 10);
        else if (a == "--rounds" && i + 1 < argc) rounds = std::atoi(argv[++i]);
        else {
            std::fprintf(stderr, "usage: bench_qtsql [--rows N] [--rounds R]\n");
            return 2;
        }
    }
    const auto rows = makeRows(n);
    const fs::path dir = fs::temp_directory_path() / "archivist-bench-qtsql";
    fs::create_directories(dir);
    const int pages = 2000;
    uint64_t sink = 0;
    std::vector<double> wc, wq, rc, rq;
    for (int r = 0; r < rounds; ++r) {
        wc.push_back(writeC(dir / "c.sqlite", rows));
        wq.push_back(writeQt(dir / "qt.sqlite", rows));
        rc.push_back(readC(dir / "c.sqlite", rows, pages, sink));
        rq.push_back(readQt(dir / "c.sqlite", rows, pages, sink));
    }
    auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v[v.size() / 2];
    };
    std::printf("events %zu, %d rounds (median), SQLite %s, Qt %s, load %s\n", n, rounds, sqlite3_libversion(), qVersion(),
                bench::loadAverage().c_str());
    std::printf("insert (commit path)  C API %.2f us/event QSqlQuery %.2f us/event Qt adds %.2f us/event (%.0f%%)\n",
                1e6 * median(wc), 1e6 * median(wq), 1e6 * (median(wq) - median(wc)),
                100.0 * (median(wq) / median(wc) - 1));
    std::printf("read (a page of 100)  C API %.2f us/row   QSqlQuery %.2f us/row   Qt adds %.2f us/row (%.0f%%)\n",
                1e6 * median(rc), 1e6 * median(rq), 1e6 * (median(rq) - median(rc)),
                100.0 * (median(rq) / median(rc) - 1));
    fs::remove_all(dir);
    return sink == 42 ? 1 : 0;
}
