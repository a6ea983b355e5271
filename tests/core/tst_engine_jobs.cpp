// Engine jobs from the File menu: verify, reindex and salvage on the running store, cancel. Against a temporary data directory with signed events (no network).
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>
#include <sqlite3.h>

#include <fstream>
#include <map>

#include "core/archive/quarantine.h"
#include "core/archive/segment_writer.h"
#include "core/engine/engine_impl.h"
#include "core/engine/store.h"
#include "core/index/index_reader.h"
#include "core/observe/metrics.h"
#include "core/observe/sqlite_heap.h"
#include "event_factory.h"

using namespace archivist;

class TstEngineJobs : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::string m_data;

    std::unique_ptr<engine::EngineImpl> openEngine(observe::MetricsRegistry& metrics) {
        engine::EngineOptions eo;
        eo.network = false;
        eo.snapshot_interval_ms = 1000;
        auto opened = engine::EngineImpl::open(m_data, eo, metrics);
        if (!opened) qWarning() << "open failed:" << opened.error().message.c_str();
        return opened ? std::move(*opened) : nullptr;
    }

    // Runs a job to its end: {ok, summary}.
    static QPair<bool, QString> finish(engine::Engine& eng, const QString& kind, QSignalSpy& spy) {
        if (spy.isEmpty() && !spy.wait(60000)) return {false, "no jobFinished"};
        const auto args = spy.takeFirst();
        if (args[0].toString() != kind) return {false, "wrong job " + args[0].toString()};
        (void)eng;
        return {args[1].toBool(), args[2].toString()};
    }

    // The index's generation directories (index/g<N>) present now.
    std::vector<std::string> generations() const {
        std::vector<std::string> out;
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(m_data + "/index", ec))
            if (e.is_directory()) out.push_back(e.path().filename().string());
        return out;
    }

    QPair<bool, QString> verify(engine::Engine& eng) {
        QSignalSpy spy(&eng, &engine::Engine::jobFinished);
        eng.startVerify();
        return finish(eng, "verify", spy);
    }

private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        m_data = m_dir.filePath("data").toStdString();
        const QString file = m_dir.filePath("events.jsonl");
        const auto made = testing::writeRandomEvents(file.toStdString(), 3000, 11, 40, 1, 0);
        QCOMPARE(made.events, uint64_t(3000));
        observe::MetricsRegistry metrics;
        auto eng = openEngine(metrics);
        QVERIFY(eng);
        QSignalSpy spy(eng.get(), &engine::Engine::jobFinished);
        eng->startImport({file});
        const auto r = finish(*eng, "import", spy);
        QVERIFY2(r.first, qPrintable(r.second));
        QVERIFY(eng->shutdown().ok());
    }

    // config.json's SQLite heap limit is in force from the moment the engine opens (before the
    // store's first connection), and the snapshot the Memory panel draws carries it with the heap
    // (and the rows of the deduplication caches).
    void sqliteHeapLimitFromTheConfigReachesSqliteAndTheSnapshot() {
        observe::MetricsRegistry metrics;
        engine::EngineOptions eo;
        eo.network = false;
        eo.snapshot_interval_ms = 100;
        eo.config.sqlite_heap_limit_bytes = uint64_t(40) << 20;
        auto opened = engine::EngineImpl::open(m_data, eo, metrics);
        QVERIFY(opened);
        auto& eng = *opened;
        QCOMPARE(observe::readSqliteHeap().limit_bytes, uint64_t(40) << 20);
        QSignalSpy snaps(eng.get(), &engine::Engine::snapshotReady);
        QVERIFY(snaps.wait(5000));
        const auto s = snaps.last()[0].value<engine::EngineSnapshot>();
        QCOMPARE(s.sqlite_heap_limit_bytes, quint64(40) << 20);
        QVERIFY(s.sqlite_heap_bytes > 0);
        QVERIFY(s.sqlite_heap_peak_bytes >= s.sqlite_heap_bytes);
        // The deduplication caches have their rows too, with their bounds.
        std::map<QString, qint64> capacity;
        for (const auto& q : s.queues) capacity[q.name] = q.capacity;
        QCOMPARE(capacity["recent ids cache"], qint64(engine::StoreOptions{}.writer.recent_cache));
        QCOMPARE(capacity["copies cache"], qint64(engine::StoreOptions{}.copy_cache));
        QVERIFY(eng->shutdown().ok());
        observe::setSqliteHeapLimit(observe::kDefaultSqliteHeapLimitBytes);
    }

    void verifyReportsAgreementOnAHealthyStore() {
        observe::MetricsRegistry metrics;
        auto eng = openEngine(metrics);
        QVERIFY(eng);
        QSignalSpy progress(eng.get(), &engine::Engine::jobProgress);
        const auto r = verify(*eng);
        QVERIFY2(r.first, qPrintable(r.second));
        QVERIFY2(r.second.contains("agree") && r.second.contains("3000 events"), qPrintable(r.second));
        QVERIFY(!progress.isEmpty());
        QCOMPARE(progress[0][0].toString(), QString("verify"));
        QVERIFY(!eng->jobRunning());
    }

    void cancelStopsVerify() {
        observe::MetricsRegistry metrics;
        auto eng = openEngine(metrics);
        QVERIFY(eng);
        QSignalSpy spy(eng.get(), &engine::Engine::jobFinished);
        eng->startVerify();
        eng->cancelJob();
        const auto r = finish(*eng, "verify", spy);
        QVERIFY(!r.first);
        QVERIFY2(r.second.contains("cancelled"), qPrintable(r.second));
        // A new job can start after a cancelled one, and the store is unharmed.
        const auto again = verify(*eng);
        QVERIFY2(again.first, qPrintable(again.second));
    }

    void verifyReportsACorruptedIndex() {
        // Remove one event's index row behind the engine's back (from the first index file that
        // holds events).
        {
            const auto gens = generations();
            QCOMPARE(gens.size(), size_t(1));
            bool removed = false;
            std::error_code ec;
            for (const auto& e : std::filesystem::directory_iterator(m_data + "/index/" + gens[0], ec)) {
                const std::string name = e.path().filename().string();
                if (removed || name.find(".sqlite") == std::string::npos || name.find("-wal") != std::string::npos ||
                    name.find("-shm") != std::string::npos || (name.rfind("hot-", 0) && name.rfind("part-", 0)))
                    continue;
                sqlite3* db = nullptr;
                QCOMPARE(sqlite3_open(e.path().c_str(), &db), SQLITE_OK);
                QCOMPARE(sqlite3_exec(db, "DELETE FROM events WHERE rk = (SELECT min(rk) FROM events)", nullptr,
                                      nullptr, nullptr),
                         SQLITE_OK);
                removed = sqlite3_changes(db) == 1;
                sqlite3_close(db);
            }
            QVERIFY(removed);
        }
        observe::MetricsRegistry metrics;
        auto eng = openEngine(metrics);
        QVERIFY(eng);
        const auto r = verify(*eng);
        QVERIFY(!r.first);
        QVERIFY2(r.second.contains("difference") && r.second.contains("is not indexed"), qPrintable(r.second));
    }

    void cancelledReindexLeavesTheIndexAsItWas() {
        observe::MetricsRegistry metrics;
        auto eng = openEngine(metrics);
        QVERIFY(eng);
        QSignalSpy spy(eng.get(), &engine::Engine::jobFinished);
        eng->startReindex();
        QVERIFY(eng->jobRunning());
        eng->cancelJob();
        const auto r = finish(*eng, "reindex", spy);
        QVERIFY(!r.first);
        QVERIFY2(r.second.contains("cancelled") && r.second.contains("unchanged"), qPrintable(r.second));
        QVERIFY(!eng->jobRunning());
        QCOMPARE(generations().size(), size_t(1));  // the rebuild's generation is gone
        // Still the damaged index of the previous test.
        const auto v = verify(*eng);
        QVERIFY(!v.first);
    }

    void reindexRepairsTheIndexWhileRunning() {
        observe::MetricsRegistry metrics;
        auto eng = openEngine(metrics);
        QVERIFY(eng);
        QSignalSpy progress(eng.get(), &engine::Engine::jobProgress);
        QSignalSpy spy(eng.get(), &engine::Engine::jobFinished);
        eng->startReindex();
        const auto r = finish(*eng, "reindex", spy);
        QVERIFY2(r.first, qPrintable(r.second));
        QVERIFY2(r.second.contains("3000 events") && r.second.contains("held 2999 events; 1 archived"),
                 qPrintable(r.second));
        QVERIFY(!progress.isEmpty());
        QCOMPARE(progress.last()[0].toString(), QString("reindex"));
        const auto v = verify(*eng);
        QVERIFY2(v.first, qPrintable(v.second));
        QVERIFY2(v.second.contains("3000 events"), qPrintable(v.second));
    }

    // File → Salvage… on the running engine: a damaged frame the index held is quarantined (the
    // open segment, while the writer has it open), the index is rebuilt live without it, what the
    // frame still holds is stored again, and the loss is exact (the index knew the count).
    void salvageRecoversADamagedFrameWhileRunning() {
        archive::FrameRef victim;
        uint64_t victimEvents = 0;
        {
            auto reader = index::IndexReader::open(m_data + "/index");
            QVERIFY(reader.ok());
            std::vector<index::FrameRow> frames;
            QVERIFY((*reader)->forEachFrame([&](const index::FrameRow& f) {
                frames.push_back(f);
                return true;
            }).ok());
            QVERIFY(!frames.empty());
            victim = frames[frames.size() / 2].frame.ref;
            victimEvents = frames[frames.size() / 2].frame.events;
        }
        const auto segment = archive::segmentPath(m_data + "/archive", victim.segment);
        const auto sizeBefore = std::filesystem::file_size(segment);
        {
            std::fstream f(segment, std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(std::streamoff(victim.offset + victim.length * 3 / 4));
            f.write("\xde\xad\xbe\xef\xde\xad\xbe\xef", 8);
        }
        observe::MetricsRegistry metrics;
        auto eng = openEngine(metrics);
        QVERIFY(eng);
        QVERIFY(!verify(*eng).first);  // the damage is seen
        QSignalSpy progress(eng.get(), &engine::Engine::jobProgress);
        QSignalSpy spy(eng.get(), &engine::Engine::jobFinished);
        eng->startSalvage(false);
        const auto r = finish(*eng, "salvage", spy);
        QVERIFY2(r.first, qPrintable(r.second));
        QVERIFY2(r.second.contains("the index was rebuilt without them"), qPrintable(r.second));
        QVERIFY(!progress.isEmpty());
        QVERIFY(std::filesystem::file_size(segment) >= sizeBefore);  // never shortened (recovered events are appended)
        auto entries = archive::listQuarantine(m_data + "/archive");
        QVERIFY(entries.ok());
        QCOMPARE(entries->size(), size_t(1));
        const auto& e = entries->front();
        QCOMPARE(e.state, archive::QuarantineState::Salvaged);
        QCOMPARE(e.indexed_events, int64_t(victimEvents));
        QVERIFY(!e.lost_is_estimate);
        QVERIFY(e.lost_events > 0 && e.lost_events <= victimEvents);
        QCOMPARE(e.recovered_events + e.lost_events, victimEvents);
        const auto v = verify(*eng);
        QVERIFY2(v.first && v.second.contains(QString::number(3000 - e.lost_events) + " events"), qPrintable(v.second));
        // Archiving goes on after it: the writer appends to the rewritten segment.
        const QString more = m_dir.filePath("more.jsonl");
        QCOMPARE(testing::writeRandomEvents(more.toStdString(), 200, 12, 40, 1, 0).events, uint64_t(200));
        QSignalSpy importSpy(eng.get(), &engine::Engine::jobFinished);
        eng->startImport({more});
        const auto imported = finish(*eng, "import", importSpy);
        QVERIFY2(imported.first, qPrintable(imported.second));
        const QString expected = QString::number(3200 - e.lost_events) + " events";
        const auto v1 = verify(*eng);
        QVERIFY2(v1.first && v1.second.contains(expected), qPrintable(v1.second));
        QVERIFY(eng->shutdown().ok());
        eng.reset();  // releases the data-directory lock
        observe::MetricsRegistry metrics2;
        auto again = openEngine(metrics2);
        QVERIFY(again);
        const auto v2 = verify(*again);
        QVERIFY2(v2.first && v2.second.contains(expected), qPrintable(v2.second));
    }

    // archive_damage is a condition: a region quarantined while the engine was closed (and not yet
    // salvaged) fires at open and stays firing; salvage recovers it and the alert resolves itself.
    void archiveDamageFiresWhilePendingAndResolvesAfterSalvage() {
        {
            observe::MetricsRegistry m;
            engine::StoreOptions so;
            auto store = engine::Store::open(m_data, so, m);
            QVERIFY2(store.ok(), store.ok() ? "" : store.error().message.c_str());
            auto reader = index::IndexReader::open(m_data + "/index");
            QVERIFY(reader.ok());
            std::vector<index::FrameRow> frames;
            QVERIFY((*reader)->forEachFrame([&](const index::FrameRow& f) {
                frames.push_back(f);
                return true;
            }).ok());
            QVERIFY(!frames.empty());
            const auto& victim = frames.back().frame;  // the newest frame (the import after salvage)
            archive::DamagedRegion region;
            region.segment = victim.ref.segment;
            region.offset = victim.ref.offset;
            region.length = victim.ref.length;
            region.why = "test";
            const auto events = int64_t(victim.events);
            reader->reset();
            auto entry = (*store)->quarantine(region, events);
            QVERIFY2(entry.ok(), entry.ok() ? "" : entry.error().message.c_str());
            QVERIFY((*store)->shutdown().ok());
        }
        auto firingDamage = [](const engine::EngineSnapshot& s) {
            return std::count_if(s.incidents.begin(), s.incidents.end(), [](const observe::Incident& i) {
                return i.kind == observe::IncidentKind::ArchiveDamage && i.firing();
            });
        };
        observe::MetricsRegistry metrics;
        auto eng = openEngine(metrics);
        QVERIFY(eng);
        QTRY_COMPARE_WITH_TIMEOUT(eng->snapshot().quarantine_pending, quint64(1), 5000);
        QTRY_COMPARE_WITH_TIMEOUT(firingDamage(eng->snapshot()), 1, 5000);
        // Ticks go by (longer than a level alert's quiet time): it keeps firing, one alert.
        QTest::qWait(int(observe::IncidentLog::kLevelQuietMs) + 1500);
        QCOMPARE(firingDamage(eng->snapshot()), 1);
        QSignalSpy spy(eng.get(), &engine::Engine::jobFinished);
        eng->startSalvage(false);
        const auto r = finish(*eng, "salvage", spy);
        QVERIFY2(r.first, qPrintable(r.second));
        QTRY_COMPARE_WITH_TIMEOUT(eng->snapshot().quarantine_pending, quint64(0), 5000);
        QTRY_COMPARE_WITH_TIMEOUT(firingDamage(eng->snapshot()), 0, 10000);
        QVERIFY(eng->shutdown().ok());
    }
};

QTEST_GUILESS_MAIN(TstEngineJobs)
#include "tst_engine_jobs.moc"
