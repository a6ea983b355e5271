#pragma once
// IndexRebuild: rebuilds the index from the archive while the engine keeps running (File →
// Rebuild index…; decisions 0009 and 0011).
//
// A WriterTask (core/ingest/writer_task.h). Its first slice notes the live index's watermark W
// and starts a bulk build (core/index/bulk_build.h) of a new index generation up to W on
// background threads — the live index keeps deduplicating and answering queries all the while,
// and intake continues. Later slices, on the writer thread between commit groups, wait for the
// build, then index the frames archived since W into the new generation (the same frame indexer
// as recovery) until it reaches the live watermark — which, between groups, is the archive's end —
// and then switch: the new generation becomes current (index/CURRENT renamed into place) and the
// writer continues on it. Readers move over at their next call; the old generation is removed
// when its last reader goes. What the archive does not hold is carried over from the old index by
// event id: first-seen time and the sightings (which relays carried each event) — those the live
// index records while the rebuild runs go to a journal that is applied just before the switch.
// Events the old index did not know get the source "reindex".
//
// Cancel, an error or a shutdown leave the live index untouched and remove the new generation;
// one left by a crash is removed at the next open. Thread: constructed anywhere; step() and
// finish() on the writer thread; the callbacks run on the writer thread or the build's thread
// and must be quick.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "core/archive/segment_reader.h"
#include "core/engine/data_dir.h"
#include "core/index/bulk_build.h"
#include "core/ingest/writer_task.h"

namespace archivist::engine {

struct RebuildProgress {
    uint64_t bytes_done = 0;   // archive bytes read
    uint64_t bytes_total = 0;  // archive bytes now (grows while intake runs)
    uint64_t events = 0;       // events in the new index so far
    bool replacing = false;    // the final switch
    double fraction = 0;       // 0…1 overall
};

struct RebuildReport {
    uint64_t frames = 0;
    uint64_t events = 0;            // events in the new index
    uint64_t events_before = 0;     // events the old index held when the rebuild ended
    uint64_t not_in_old_index = 0;  // archived events the old index did not know
    uint64_t sightings_carried = 0;
    uint64_t damaged_lines = 0;     // lines that are not a valid event (see `archivist verify`)
    uint64_t duplicate_lines = 0;   // events archived more than once (indexed once)
    double seconds = 0;
};

class IndexRebuild final : public ingest::WriterTask {
public:
    using ProgressFn = std::function<void(const RebuildProgress&)>;
    using FinishFn = std::function<void(const Expected<RebuildReport>&)>;

    IndexRebuild(DataDirPaths paths, ProgressFn progress, FinishFn finish);
    ~IndexRebuild() override;

    Expected<Step> step(index::IndexWriter& live, std::chrono::milliseconds budget,
                        const std::atomic<bool>& cancel) override;
    void finish(const Expected<void>& outcome) override;

private:
    Expected<void> begin(index::IndexWriter& live);
    // Indexes frames after the new generation's watermark until `target` or the deadline; true once
    // it reached `target`.
    Expected<bool> catchUp(index::IndexWriter& live, archive::Watermark target,
                           std::chrono::steady_clock::time_point deadline, const std::atomic<bool>& cancel);
    Expected<void> openSegment(uint32_t segment, uint64_t offset);
    void report(bool force);

    DataDirPaths m_paths;
    ProgressFn m_progress;
    FinishFn m_finish;
    std::shared_ptr<index::Index> m_gen;
    std::unique_ptr<index::IndexWriter> m_genWriter;
    // Sightings the live index records while the rebuild runs (applied to the new one at the switch).
    std::shared_ptr<index::SightingJournal> m_journal;
    index::IndexWriter* m_live = nullptr;  // writer thread only
    std::thread m_build;
    std::atomic<bool> m_buildCancel{false};
    std::atomic<bool> m_buildDone{false};
    std::mutex m_buildMutex;
    std::optional<Expected<index::BulkReport>> m_buildResult;
    index::BulkProgress m_buildProgress;
    uint32_t m_reindexSource = 0;
    std::unique_ptr<archive::SegmentReader> m_reader;
    uint32_t m_segment = 0;
    RebuildReport m_report;
    int64_t m_startedMs = 0;
    int64_t m_lastReportMs = 0;
    bool m_started = false;
    bool m_switched = false;
};

}  // namespace archivist::engine
