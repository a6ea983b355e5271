#pragma once
// Lane: one writer lane of the Index (index.h) — a thread that commits its share of each commit
// group to its active hot file, then the full-text documents to its fts-<lane>.sqlite, and
// freezes the hot file at the size or age bound (waiting, never dropping, while too many frozen
// files wait for the flusher).
//
// Order of one batch: (1) the hot file transaction — rows, tags, sightings, kind and bucket
// counts, the lane watermark, the number of the batch whose full-text documents are still to be
// written and the archive frames of every batch whose documents are still to be written
// (synchronous=FULL: durable before step 2); (2) the full-text transaction — the documents, new
// vocabulary terms and "applied batch = n". A crash between the two leaves the batches pending;
// Index::repairFts() writes their documents from the archive at the next open, so the full-text
// index never holds a document without its row nor misses one. The batches queued behind a
// commit are committed as one (their rows and sightings together, the last one's watermark),
// then every one of them is reported committed.
//
// Step (2) waits for more batches during a bulk load (decision 0031): a batch of
// IndexOptions::fts_bulk_docs documents or more leaves them in a bounded buffer, written in one
// transaction, sorted by row key, once the buffer holds kFtsBufferDocs documents or
// kFtsBufferBytes of text, its oldest document is fts_delay_ms old, a smaller batch comes, the
// hot file is frozen, the lane stops or commitFullText() asks. FTS5 writes a level-0 segment per
// transaction (and whenever row keys stop ascending), and its merges rewrite each posting about
// log16(documents / segment size) times: bigger segments, fewer rewrites. Smaller batches (live
// relays) are written at once, as before.
// Thread: owned by the Index; push() from the writer thread.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <array>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/index/fts.h"
#include "core/index/index.h"
#include "core/index/lookup.h"
#include "core/index/rollups.h"
#include "core/ingest/bounded_queue.h"
#include "core/util/fifo_table.h"

namespace archivist::index {

// What a further sighting's rollup needs of an event (Lane::rollupSighting): its created_at, its
// first-seen time and the sources that have sighted it. A lane's recent events and those copies
// asked about are remembered here, so that most copies' rollups read nothing back from SQLite.
// The lane is the only writer of its events' sightings, so an entry stays exact while its lane
// commits; a failed commit forgets every entry (the transaction's sources may not have landed).
// Bounded: FIFO eviction at capacity (0: off). An event with more than kSources sources keeps
// an entry that says so, and its sightings read back as before. Thread: the lane's.
class RollupFactsCache {
public:
    static constexpr uint8_t kSources = 6;
    static constexpr uint8_t kTooMany = 0xFF;
    struct Facts {
        int64_t created_at = 0;
        int64_t first_seen_ms = 0;
        std::array<uint32_t, kSources> sources{};
        uint8_t count = 0;  // sources above, or kTooMany
    };
    explicit RollupFactsCache(size_t capacity) : m_table(capacity) {}
    Facts* find(int64_t rk) { return m_table.find(rk); }
    void prefetchSlot(int64_t rk) const { m_table.prefetchSlot(rk); }
    void prefetchEntry(int64_t rk) const { m_table.prefetchEntry(rk); }
    // Remembers an event not remembered yet (an event already there stays as it is).
    void remember(int64_t rk, const Facts& f) {
        m_table.insert(rk, f);
        m_size.store(m_table.size(), std::memory_order_relaxed);
    }
    void clear() {
        m_table.clear();
        m_size.store(0, std::memory_order_relaxed);
    }
    size_t size() const { return m_size.load(std::memory_order_relaxed); }
    size_t capacity() const { return m_table.capacity(); }

private:
    struct RkHash {  // keyed: row keys follow created_at, which events choose
        size_t operator()(int64_t rk) const noexcept;
    };
    FifoTable<int64_t, Facts, RkHash> m_table;
    std::atomic<size_t> m_size{0};  // for the gauge (read on other threads)
};

class Lane {
public:
    Lane(Index& index, uint32_t lane, FilePtr active, archive::Watermark wm, uint64_t fts_batch);
    ~Lane();
    Lane(const Lane&) = delete;
    Lane& operator=(const Lane&) = delete;

    Expected<void> start();
    // Closes the queue; the thread commits what is queued and exits. join() waits.
    void stop();
    void join();
    bool push(LaneBatch&& batch) { return m_queue.push(std::move(batch)); }
    size_t depth() const { return m_queue.depth(); }
    size_t capacity() const { return m_queue.capacity(); }
    archive::Watermark watermark() const;
    // Freezes the active hot file now if it holds events (on the lane thread, at its next wake-up).
    // Returns the request's number; freezeHandled() reaches it once the lane acted on it.
    uint64_t requestFreeze() { return ++m_freezeRequests; }
    uint64_t freezeHandled() const { return m_freezeHandled.load(); }
    // Writes the buffered full-text documents now (on the lane thread, at its next wake-up).
    // Returns the request's number; ftsCommitHandled() reaches it once the lane acted on it.
    uint64_t requestFtsCommit() { return ++m_ftsRequests; }
    uint64_t ftsCommitHandled() const { return m_ftsHandled.load(); }
    size_t knownTerms() const { return m_knownTermsSize.load(); }
    size_t ftsBufferedBytes() const { return m_ftsBytesGauge.load(); }
    size_t rollupConnections() const { return m_othersSize.load(); }
    size_t rollupConnectionCapacity() const { return m_others.capacity(); }
    size_t rollupFacts() const { return m_facts.size(); }
    size_t rollupFactsCapacity() const { return m_facts.capacity(); }
    static constexpr size_t kKnownTermsMax = 200000;
    static constexpr size_t kFtsBufferDocs = 16384;
    static constexpr size_t kFtsBufferBytes = size_t(4) << 20;

private:
    void run();
    Expected<void> openHot();
    Expected<void> openFts();
    Expected<void> commit(LaneBatch& batch);
    Expected<void> commitHot(LaneBatch& batch, bool has_docs);
    // Writes the buffered documents in one full-text transaction (kept on failure: a retry
    // writes them again).
    Expected<void> commitFts();
    bool ftsDue() const;
    Expected<void> maybeFreeze(bool force);
    // The rollup deltas of a further sighting (rollups.h): a new distinct source of a stored
    // event counts once, on the event's day. Reads the active hot file inside the open transaction
    // and, when the event's row is not there, the lane's other hot files and the parts of its month.
    Expected<void> rollupSighting(int64_t rk, const protocol::Bytes32& id, uint32_t source, RollupDelta& delta);
    void trimWal();
    template <typename Fn>
    bool retry(const char* what, Fn&& fn);

    Index& m_index;
    const uint32_t m_lane;
    FilePtr m_active;
    ingest::BoundedQueue<LaneBatch> m_queue;
    std::thread m_thread;

    Db m_hot;
    Stmt m_insEvent, m_insTag, m_upSighting, m_upKind, m_upBucket, m_setMeta;
    Stmt m_rowOf, m_sourcesOf;  // rollups: an event's row and its sources in the active hot file
    FileConnections m_others;  // rollups: the lane's frozen hot files and the parts (rollup_connections)
    SnapshotPtr m_othersSnap;
    std::atomic<size_t> m_othersSize{0};
    RollupFactsCache m_facts;
    Db m_fts;
    Stmt m_insDoc, m_setFtsMeta;
    VocabWriter m_vocab;
    TermSink m_sink;
    TermSet m_knownTerms;  // bounded: cleared at kKnownTermsMax
    std::atomic<size_t> m_knownTermsSize{0};
    struct FtsDoc {
        int64_t rk;
        std::string content;
    };
    std::vector<FtsDoc> m_ftsDocs;  // rows committed, documents not yet: bounded (kFtsBuffer*)
    size_t m_ftsBytes = 0;
    std::atomic<size_t> m_ftsBytesGauge{0};
    int64_t m_ftsSinceMs = 0;   // steady clock: when the oldest buffered document was committed
    size_t m_lastBatchDocs = 0; // documents of the last batch committed
    // The archive frames of the buffered documents (what the hot file records as pending).
    std::pair<uint32_t, uint64_t> m_ftsFirst{}, m_ftsLast{};
    std::atomic<uint64_t> m_ftsRequests{0};
    std::atomic<uint64_t> m_ftsHandled{0};

    mutable std::mutex m_wmMutex;
    archive::Watermark m_watermark;        // committed
    archive::Watermark m_pendingWatermark;  // from empty batches, committed with the next one
    bool m_watermarkDirty = false;
    uint64_t m_ftsBatch = 0;
    uint64_t m_hotEvents = 0;
    int64_t m_firstCommitMs = 0;
    int64_t m_lastCommitMs = 0;
    std::atomic<uint64_t> m_freezeRequests{0};
    std::atomic<uint64_t> m_freezeHandled{0};
};

}  // namespace archivist::index
