#pragma once
// IndexRebuild: rebuilds the index from the archive while the engine keeps running (File →
// Rebuild index…; decision 0009).
//
// A WriterTask (core/ingest/writer_task.h): on the writer thread, in slices between commit groups,
// it reads the archive's frames in order into a second index file (DataDirPaths::index_rebuild),
// following the archive as it grows. The live index keeps deduplicating and answering queries all
// the while. Once the new index has caught up with the archive's end — which, between groups, is
// exactly the live index's watermark — it replaces the live index's content in one transaction
// (IndexWriter::replaceWith) and the work file is removed. What the archive does not hold is
// carried over from the old index by event id: first-seen time and the sightings (which relays
// carried each event). Events the old index did not know get the source "reindex".
//
// Cancel, an error or a shutdown leave the live index untouched and remove the work file; a
// work file left by a crash is removed at the next open. Thread: constructed anywhere; step()
// and finish() on the writer thread; the callbacks run there too and must be quick.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "core/archive/segment_reader.h"
#include "core/engine/data_dir.h"
#include "core/ingest/writer_task.h"

namespace archivist::engine {

struct RebuildProgress {
    uint64_t bytes_done = 0;   // archive bytes read
    uint64_t bytes_total = 0;  // archive bytes now (grows while intake runs)
    uint64_t events = 0;       // events in the new index so far
    bool replacing = false;    // the final copy into the live index
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

    // Removes the work file and its journals (a crash may leave them); true if something was removed.
    static bool removeWorkFiles(const DataDirPaths& paths);

private:
    Expected<void> begin(index::IndexWriter& live);
    // Reads frames until the deadline; true once the new index has reached `target`.
    Expected<bool> scan(index::IndexWriter& live, archive::Watermark target,
                        std::chrono::steady_clock::time_point deadline, const std::atomic<bool>& cancel);
    Expected<void> openSegment(uint32_t segment, uint64_t offset);
    Expected<void> replace(index::IndexWriter& live, const std::atomic<bool>& cancel);
    void report(archive::Watermark target, bool force);

    DataDirPaths m_paths;
    ProgressFn m_progress;
    FinishFn m_finish;
    std::unique_ptr<index::IndexWriter> m_rebuild;
    uint32_t m_reindexSource = 0;
    std::unique_ptr<archive::SegmentReader> m_reader;
    uint32_t m_segment = 0;                              // segment being read (0: none yet)
    RebuildReport m_report;
    int64_t m_startedMs = 0;
    int64_t m_lastReportMs = 0;
    bool m_started = false;
};

}  // namespace archivist::engine
