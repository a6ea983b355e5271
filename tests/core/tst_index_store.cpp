// The partitioned index through the Store: migrating a schema 2 data directory (tests/fixtures/
// v2-datadir, written by the single-file index), `verify` finding a row in the wrong part, a part
// missing from the catalog and an orphan file, a damaged index moved aside and rebuilt, copies of
// stored events skipping BIP-340 only when their signature bytes are the stored ones, copies of
// JSON handled lately recognised without a parse (and parsed by the writer when it must store
// them), and one event arriving from many relays at once stored exactly once.
#include <sqlite3.h>

#include <QtTest>
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "core/engine/maintenance.h"
#include "core/engine/store.h"
#include "core/index/index.h"
#include "core/index/index_reader.h"
#include "core/index/layout.h"
#include "core/observe/metrics.h"
#include "core/protocol/filter.h"
#include "core/protocol/hex.h"
#include "signed_events.h"

using namespace archivist;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

engine::StoreOptions tinyOptions() {
    engine::StoreOptions o;
    o.verify_threads = 2;
    o.writer.group_ms = 10;
    o.writer.group_events = 64;
    if (!o.index.applyTuning("lanes=2,hot_events=60,fanin=2,max_parts=30,threads=2")) qFatal("tuning");
    return o;
}

ingest::RawBatch batchOf(ingest::SourceId source, const std::vector<std::string>& lines, int64_t received_ms = 1700000000000) {
    ingest::RawBatch b;
    b.source = source;
    for (const auto& l : lines) b.items.push_back(ingest::RawItem{l, received_ms});
    return b;
}

// n events over four months (November 2023 to February 2024).
std::vector<protocol::Event> corpus(const testing::EventSigner& s, int n) {
    std::vector<protocol::Event> out;
    for (int i = 0; i < n; ++i)
        out.push_back(s.make(1700000000 + int64_t(i % 4) * 31 * 86400 + i, uint16_t(i % 2), "event number " + std::to_string(i),
                             {{"t", "topic" + std::to_string(i % 3)}}));
    return out;
}

std::vector<std::string> linesOf(const testing::EventSigner& s, const std::vector<protocol::Event>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(s.json(e));
    return out;
}

engine::VerifyReport verifyDir(const fs::path& dir) {
    observe::MetricsRegistry m;
    auto store = engine::Store::open(dir, tinyOptions(), m);
    if (!store) qFatal("open %s: %s", dir.c_str(), store.error().message.c_str());
    auto v = engine::verifyStore(**store, {});
    if (!v) qFatal("verify: %s", v.error().message.c_str());
    return *v;
}

bool anyDetail(const engine::VerifyReport& v, const std::string& needle) {
    for (const auto& d : v.details)
        if (d.find(needle) != std::string::npos) return true;
    return false;
}

int exec(const fs::path& db, const std::string& sql) {
    sqlite3* h = nullptr;
    if (sqlite3_open(db.c_str(), &h) != SQLITE_OK) return -1;
    const int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr);
    const int changed = sqlite3_total_changes(h);
    sqlite3_close(h);
    return rc == SQLITE_OK ? changed : -1;
}

}  // namespace

class TestIndexStore : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    testing::EventSigner m_signer{5};
    fs::path m_parts;  // a data directory whose index holds parts in four months

    fs::path copyOf(const fs::path& from, const std::string& name) {
        const fs::path to = fs::path(m_dir.path().toStdString()) / name;
        fs::remove_all(to);
        fs::copy(from, to, fs::copy_options::recursive);
        fs::remove(to / "LOCK");
        return to;
    }

private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        m_parts = fs::path(m_dir.path().toStdString()) / "parts";
        observe::MetricsRegistry metrics;
        auto store = engine::Store::open(m_parts, tinyOptions(), metrics);
        QVERIFY(store);
        (*store)->start();
        const auto src = *(*store)->addSource("wss://a.example");
        const auto lines = linesOf(m_signer, corpus(m_signer, 400));
        for (size_t i = 0; i < lines.size(); i += 50)
            QVERIFY((*store)->submit(batchOf(src, {lines.begin() + long(i), lines.begin() + long(i + 50)})));
        QVERIFY((*store)->waitSettled(src, 400, 60s));
        QVERIFY((*store)->index()->freezeAll());
        QVERIFY((*store)->index()->waitIdle(60s));
        QVERIFY((*store)->shutdown());
        QCOMPARE((*store)->sources().snapshot(src).stored, uint64_t(400));
        store->reset();
        QVERIFY(verifyDir(m_parts).ok());
    }

    void migratesASchemaTwoDataDirectory() {
        const fs::path dir = copyOf(fs::path(ARCHIVIST_FIXTURES) / "v2-datadir", "migrate");
        // What the schema 2 index knows: first seen and the sources of every event.
        std::map<std::string, std::pair<int64_t, std::set<std::string>>> old;
        {
            sqlite3* db = nullptr;
            QCOMPARE(sqlite3_open_v2((dir / "index.sqlite").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
            sqlite3_stmt* st = nullptr;
            QCOMPARE(sqlite3_prepare_v2(db,
                                        "SELECT hex(e.id), e.first_seen_at, src.name FROM events e JOIN sightings s ON "
                                        "s.event = e.rowid JOIN sources src ON src.id = s.source",
                                        -1, &st, nullptr),
                     SQLITE_OK);
            while (sqlite3_step(st) == SQLITE_ROW) {
                auto& e = old[QString(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))).toLower().toStdString()];
                e.first = sqlite3_column_int64(st, 1);
                e.second.insert(reinterpret_cast<const char*>(sqlite3_column_text(st, 2)));
            }
            sqlite3_finalize(st);
            sqlite3_close(db);
        }
        QCOMPARE(old.size(), size_t(123));
        observe::MetricsRegistry metrics;
        engine::OpenReport report;
        auto store = engine::Store::open(dir, tinyOptions(), metrics, &report);
        QVERIFY2(store, store ? "" : store.error().message.c_str());
        QCOMPARE(report.index_action, std::string("migrated"));
        QCOMPARE(report.index_events, uint64_t(123));
        QVERIFY(!fs::exists(dir / "index.sqlite"));
        QVERIFY(index::Index::exists(dir / "index"));
        auto v = engine::verifyStore(**store, {});
        QVERIFY(v);
        QVERIFY2(v->ok(), v->details.empty() ? "" : v->details.front().c_str());
        QCOMPARE(v->indexed_events, uint64_t(123));
        auto rd = index::IndexReader::open((*store)->index());
        QVERIFY(rd);
        for (const auto& [hex, known] : old) {
            protocol::Bytes32 id{};
            QVERIFY(protocol::fromHex(hex, id.data(), 32));
            auto row = (*rd)->findById(id);
            QVERIFY(row && *row);
            QCOMPARE((*row)->first_seen_at_ms, known.first);
            auto seen = (*rd)->sightings((*row)->rowid);
            QVERIFY(seen);
            std::set<std::string> names;
            for (const auto& s : *seen) names.insert(s.source);
            QCOMPARE(names, known.second);
        }
        QCOMPARE(*(*rd)->countSeenBy({}, "import:a.jsonl"), uint64_t(80));
        QCOMPARE(*(*rd)->countSeenBy({}, "import:b.jsonl"), uint64_t(63));
        protocol::Filter f;
        f.search = "hello";
        QVERIFY(*(*rd)->count({f}) > 0);
    }

    void verifyFindsAnOrphanFile() {
        const fs::path dir = copyOf(m_parts, "orphan");
        fs::path gen;
        for (const auto& e : fs::directory_iterator(dir / "index"))
            if (e.is_directory()) gen = e.path();
        fs::path part;
        for (const auto& e : fs::directory_iterator(gen))
            if (e.path().filename().string().rfind("part-", 0) == 0) part = e.path();
        QVERIFY(!part.empty());
        fs::copy_file(part, gen / "part-2023-05-999.sqlite");
        const auto v = verifyDir(dir);
        QVERIFY(!v.ok());
        QVERIFY2(anyDetail(v, "part-2023-05-999.sqlite is in the index directory but not in its catalog"),
                 v.details.front().c_str());
    }

    void verifyFindsAPartMissingFromTheCatalog() {
        const fs::path dir = copyOf(m_parts, "missing");
        fs::path gen;
        for (const auto& e : fs::directory_iterator(dir / "index"))
            if (e.is_directory()) gen = e.path();
        QCOMPARE(exec(gen / "catalog.sqlite",
                      "DELETE FROM files WHERE id = (SELECT min(id) FROM files WHERE kind = 'part' AND state = 'live' "
                      "AND events > 0)"),
                 1);
        const auto v = verifyDir(dir);
        QVERIFY(!v.ok());
        QVERIFY(anyDetail(v, "is in the index directory but not in its catalog"));
        QVERIFY(anyDetail(v, "is not indexed"));
        QVERIFY(v.indexed_events < v.archived_events);
    }

    void verifyFindsARowInTheWrongPart() {
        const fs::path dir = copyOf(m_parts, "wrong");
        // Move one row (and its tags and sightings) from a November part into a December one.
        std::shared_ptr<index::Index> idx;
        fs::path nov, dec;
        {
            index::IndexOptions ro;
            ro.read_only = true;
            auto opened = index::Index::open(dir / "index", ro);
            QVERIFY(opened);
            for (const auto& [b, parts] : (*opened)->snapshot()->parts) {
                if (index::bucketName(b) == "2023-11") nov = parts.front()->path;
                if (index::bucketName(b) == "2023-12") dec = parts.front()->path;
            }
        }
        QVERIFY(!nov.empty() && !dec.empty());
        const std::string move =
            "ATTACH '" + nov.string() + "' AS nov;"
            "INSERT INTO main.events SELECT * FROM nov.events WHERE rk = (SELECT min(rk) FROM nov.events);"
            "INSERT INTO main.sightings SELECT * FROM nov.sightings WHERE rk = (SELECT min(rk) FROM nov.events);"
            "DELETE FROM nov.sightings WHERE rk = (SELECT min(rk) FROM nov.events);"
            "DELETE FROM nov.events WHERE rk = (SELECT min(rk) FROM nov.events);";
        QVERIFY(exec(dec, move) > 0);
        const auto v = verifyDir(dir);
        QVERIFY(!v.ok());
        QVERIFY2(anyDetail(v, "but belongs to 2023-11"), v.details.front().c_str());
    }

    void aDamagedIndexIsMovedAsideAndRebuilt_data() {
        QTest::addColumn<QString>("what");
        QTest::addColumn<QString>("how");
        QTest::newRow("catalog overwritten") << "catalog" << "overwrite";
        QTest::newRow("catalog truncated") << "catalog" << "truncate";
        QTest::newRow("part overwritten") << "part" << "overwrite";
        QTest::newRow("part missing") << "part" << "remove";
        QTest::newRow("hot file overwritten") << "hot" << "overwrite";
    }
    void aDamagedIndexIsMovedAsideAndRebuilt() {
        QFETCH(QString, what);
        QFETCH(QString, how);
        const fs::path dir = copyOf(m_parts, "damaged-" + what.toStdString() + "-" + how.toStdString());
        uint64_t expected = 400;
        if (what == "hot") {
            // Events left in the lanes' hot files (not frozen) by a clean shutdown.
            observe::MetricsRegistry m;
            auto store = engine::Store::open(dir, tinyOptions(), m);
            QVERIFY(store);
            (*store)->start();
            const auto src = *(*store)->addSource("wss://b.example");
            std::vector<protocol::Event> more;
            for (int i = 0; i < 30; ++i) more.push_back(m_signer.make(1700000000 + i, 1, "hot " + std::to_string(i), {}));
            QVERIFY((*store)->submit(batchOf(src, linesOf(m_signer, more))));
            QVERIFY((*store)->waitSettled(src, 30, 30s));
            QVERIFY((*store)->shutdown());
            expected += 30;
        }
        fs::path gen;
        for (const auto& e : fs::directory_iterator(dir / "index"))
            if (e.is_directory()) gen = e.path();
        fs::path victim = gen / "catalog.sqlite";
        if (what != "catalog") {
            const std::string prefix = what == "part" ? "part-" : "hot-";
            uintmax_t largest = 0;
            for (const auto& e : fs::directory_iterator(gen)) {
                const std::string name = e.path().filename().string();
                if (name.rfind(prefix, 0) == 0 && name.size() > 7 && name.substr(name.size() - 7) == ".sqlite" &&
                    e.file_size() > largest) {
                    largest = e.file_size();
                    victim = e.path();
                }
            }
            QVERIFY(largest > 0);
        }
        if (how == "remove") {
            QVERIFY(fs::remove(victim));
        } else if (how == "truncate") {
            fs::resize_file(victim, 1000);
        } else {
            // Overwrite the file's header and first pages with garbage.
            std::FILE* f = std::fopen(victim.c_str(), "r+b");
            QVERIFY(f);
            const std::string junk(8192, 'x');
            std::fwrite(junk.data(), 1, junk.size(), f);
            std::fclose(f);
        }
        observe::MetricsRegistry metrics;
        engine::OpenReport report;
        auto store = engine::Store::open(dir, tinyOptions(), metrics, &report);
        QVERIFY2(store, store ? "" : store.error().message.c_str());
        QCOMPARE(report.index_action, std::string("rebuilt (damaged)"));
        QCOMPARE(report.index_events, expected);
        bool aside = false;
        for (const auto& e : fs::directory_iterator(dir))
            if (e.path().filename().string().rfind("index.corrupt-", 0) == 0) aside = true;
        QVERIFY(aside);  // kept for inspection, never deleted
        auto v = engine::verifyStore(**store, {});
        QVERIFY(v && v->ok());
        QCOMPARE(v->indexed_events, expected);
    }

    void copiesSkipTheSignatureCheckOnlyWithTheStoredSignature() {
        const fs::path dir = fs::path(m_dir.path().toStdString()) / "sigs";
        observe::MetricsRegistry metrics;
        auto store = engine::Store::open(dir, tinyOptions(), metrics);
        QVERIFY(store);
        (*store)->start();
        const auto events = corpus(m_signer, 100);
        const auto a = *(*store)->addSource("wss://a.example");
        QVERIFY((*store)->submit(batchOf(a, linesOf(m_signer, events))));
        QVERIFY((*store)->waitSettled(a, 100, 30s));
        auto skipped = [&] { return uint64_t(metrics.total("archivist_signature_checks_skipped_total")); };
        QCOMPARE(skipped(), uint64_t(0));
        // The same bytes again: duplicates, no BIP-340 check.
        const auto b = *(*store)->addSource("wss://b.example");
        QVERIFY((*store)->submit(batchOf(b, linesOf(m_signer, events))));
        QVERIFY((*store)->waitSettled(b, 100, 30s));
        QCOMPARE((*store)->sources().snapshot(b).duplicate, uint64_t(100));
        QCOMPARE(skipped(), uint64_t(100));
        // … recognised as the bytes verified moments ago: not parsed again.
        QCOMPARE(uint64_t(metrics.total("archivist_copies_recognised_total")), uint64_t(100));
        // Signed again (other signature bytes, valid): verified, then a duplicate.
        // A forged signature on a stored id: verified, refused, not a sighting.
        std::vector<std::string> mixed;
        for (int i = 0; i < 10; ++i) mixed.push_back(m_signer.json(m_signer.resign(events[size_t(i)], uint8_t(i + 1))));
        for (int i = 10; i < 20; ++i) {
            auto forged = events[size_t(i)];
            forged.sig[7] ^= 0x40;
            mixed.push_back(m_signer.json(forged));
        }
        const auto c = *(*store)->addSource("wss://c.example");
        QVERIFY((*store)->submit(batchOf(c, mixed)));
        QVERIFY((*store)->waitSettled(c, 20, 30s));
        const auto sc = (*store)->sources().snapshot(c);
        QCOMPARE(sc.duplicate, uint64_t(10));
        QCOMPARE(sc.invalid, uint64_t(10));
        QCOMPARE(sc.invalid_by_reason[size_t(protocol::Reject::BadSignature)], uint64_t(10));
        QCOMPARE(skipped(), uint64_t(100));
        // Only the first copies asked the index (each absent); every later arrival's id was among
        // the recent commits.
        QCOMPARE(uint64_t(metrics.total("archivist_id_lookups_total")), uint64_t(100));
        QCOMPARE(uint64_t(metrics.total("archivist_id_lookups_left_to_writer_total")), uint64_t(0));
        QVERIFY((*store)->shutdown());
        auto rd = index::IndexReader::open((*store)->index());
        QCOMPARE(*(*rd)->countSeenBy({}, "wss://c.example"), uint64_t(10));
        QCOMPARE(*(*rd)->count({}), uint64_t(100));
    }

    // What the writer does with a recognised copy whose event is not stored: it parses the JSON
    // and stores the event whole (its tags, content and flags as a parse gives them). A cached
    // entry whose bytes never passed BIP-340 does not spare a copy the check.
    void recognisedCopiesTheWriterMustStoreAreParsedThere() {
        const fs::path dir = fs::path(m_dir.path().toStdString()) / "copies";
        observe::MetricsRegistry metrics;
        auto store = engine::Store::open(dir, tinyOptions(), metrics);
        QVERIFY(store);
        ingest::CopyCache* copies = (*store)->copies();
        QVERIFY(copies);
        (*store)->start();
        const int64_t receivedMs = 1700000000000;
        // Dated two days after it arrives: flagged as a far-future timestamp.
        const auto e = m_signer.make(receivedMs / 1000 + 2 * 86400, 1, "needle in the writer", {{"t", "writerparsed"}});
        const std::string json = m_signer.json(e);
        // As if a verify thread had handled these bytes and their batch had been lost on the way.
        copies->insert(ingest::CopyCache::keyOf(json),
                       ingest::CopyCache::Entry{e.id, e.created_at, index::sigHash(e.sig), 0, true});
        // Forged bytes under a stored-looking entry that was never checked: parsed and refused.
        auto forged = m_signer.make(1700000500, 1, "forged");
        forged.sig[9] ^= 0x10;
        const std::string forgedJson = m_signer.json(forged);
        copies->insert(ingest::CopyCache::keyOf(forgedJson),
                       ingest::CopyCache::Entry{forged.id, forged.created_at, index::sigHash(forged.sig), 0, false});
        const auto a = *(*store)->addSource("wss://a.example");
        QVERIFY((*store)->submit(batchOf(a, {json, forgedJson}, receivedMs)));
        QVERIFY((*store)->waitSettled(a, 2, 30s));
        const auto sa = (*store)->sources().snapshot(a);
        QCOMPARE(sa.stored, uint64_t(1));
        QCOMPARE(sa.invalid_by_reason[size_t(protocol::Reject::BadSignature)], uint64_t(1));
        QCOMPARE(uint64_t(metrics.total("archivist_copies_recognised_total")), uint64_t(1));
        QCOMPARE(uint64_t(metrics.total("archivist_copies_parsed_late_total")), uint64_t(1));
        // The recognised bytes' id was in no recent commit: the verify pool left it to the writer,
        // which asked the index itself (absent) before it parsed and stored the event. The forged
        // bytes' entry was never checked: looked up by the verify pool (absent), then refused.
        auto lookups = [&](const char* thread, const char* result) {
            return uint64_t(metrics.counter("archivist_id_lookups_total", "", {{"thread", thread}, {"result", result}}).value());
        };
        QCOMPARE(uint64_t(metrics.total("archivist_id_lookups_left_to_writer_total")), uint64_t(1));
        QCOMPARE(lookups("writer", "absent"), uint64_t(1));
        QCOMPARE(lookups("verify", "absent"), uint64_t(1));
        QCOMPARE(lookups("writer", "stored") + lookups("verify", "stored"), uint64_t(0));
        QVERIFY((*store)->shutdown());
        auto rd = index::IndexReader::open((*store)->index());
        QVERIFY(rd);
        const auto row = (*rd)->findById(e.id);
        QVERIFY(row && *row);
        QCOMPARE((*row)->pubkey, e.pubkey);
        QCOMPARE((*row)->kind, uint16_t(1));
        QCOMPARE((*row)->created_at, e.created_at);
        QCOMPARE((*row)->first_seen_at_ms, receivedMs);
        QVERIFY((*row)->flags & protocol::kFlagFutureTimestamp);
        // Its tags and content went into the index: found by both.
        auto byTag = protocol::parseFilter("{\"#t\":[\"writerparsed\"],\"search\":\"needle\"}");
        QVERIFY(byTag);
        QCOMPARE(*(*rd)->count({*byTag}), uint64_t(1));
        QVERIFY(!*(*rd)->findById(forged.id));
        store->reset();
        const auto v = verifyDir(dir);
        QVERIFY2(v.ok(), v.details.empty() ? "" : v.details.front().c_str());
        QCOMPARE(v.indexed_events, uint64_t(1));
    }

    void oneEventFromManyRelaysAtOnceIsStoredOnce() {
        const fs::path dir = fs::path(m_dir.path().toStdString()) / "many";
        observe::MetricsRegistry metrics;
        engine::StoreOptions o = tinyOptions();
        o.writer.group_events = 3;  // many groups in flight in the lanes at once
        o.writer.group_ms = 1;
        auto store = engine::Store::open(dir, o, metrics);
        QVERIFY(store);
        (*store)->start();
        const auto lines = linesOf(m_signer, corpus(m_signer, 60));
        std::vector<ingest::SourceId> sources;
        for (int r = 0; r < 4; ++r) sources.push_back(*(*store)->addSource("wss://relay" + std::to_string(r) + ".example"));
        std::vector<std::thread> relays;
        for (auto s : sources)
            relays.emplace_back([&, s] {
                for (size_t i = 0; i < lines.size(); i += 5)
                    (*store)->submit(batchOf(s, {lines.begin() + long(i), lines.begin() + long(i + 5)}));
            });
        for (auto& t : relays) t.join();
        uint64_t stored = 0, duplicate = 0;
        for (auto s : sources) {
            QVERIFY((*store)->waitSettled(s, 60, 30s));
            stored += (*store)->sources().snapshot(s).stored;
            duplicate += (*store)->sources().snapshot(s).duplicate;
        }
        QCOMPARE(stored, uint64_t(60));
        QCOMPARE(duplicate, uint64_t(180));
        QVERIFY((*store)->shutdown());
        store->reset();
        const auto v = verifyDir(dir);
        QVERIFY2(v.ok(), v.details.empty() ? "" : v.details.front().c_str());
        QCOMPARE(v.indexed_events, uint64_t(60));
    }
};

QTEST_GUILESS_MAIN(TestIndexStore)
#include "tst_index_store.moc"
