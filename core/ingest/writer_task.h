#pragma once
// WriterTask: long work that must run on the commit writer's thread because it needs the index
// writer's connection (today: the live index rebuild, core/engine/index_rebuild.h).
//
// The writer runs one task at a time in slices between commit groups: before each slice it
// commits its open group, so the archive ends exactly at index.watermark() and nothing is in
// flight. Intake keeps flowing between slices (slower); producers feel the usual backpressure.
#include <atomic>
#include <chrono>

#include "core/index/index_writer.h"
#include "core/util/expected.h"

namespace archivist::ingest {

class WriterTask {
public:
    enum class Step {
        More,           // call again after the next group
        Done,           // finished; the index content is unchanged
        IndexReplaced,  // finished; the index content was replaced (rowids and source ids are void)
    };
    virtual ~WriterTask() = default;
    // One slice of about `budget` (a final step may take longer). `cancel` is set when the owner
    // cancels the task or the store shuts down. An error ends the task.
    virtual Expected<Step> step(index::IndexWriter& index, std::chrono::milliseconds budget,
                                const std::atomic<bool>& cancel) = 0;
    // Called exactly once on the writer thread when the task ends: success, the step's error, or
    // "cancelled" (cancelled, or the writer stopped before the task was done). Must be quick.
    virtual void finish(const Expected<void>& outcome) = 0;
};

}  // namespace archivist::ingest
