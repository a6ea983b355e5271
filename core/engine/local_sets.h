#pragma once
// IndexLocalSets: the engine's sync::LocalSetSource — the local side of NIP-77 reconciliation
// windows, read from the archive's index on its own thread ("local-sets"), so no network thread
// ever waits for SQLite. A relay synced whole (its filter has no condition but the window) costs
// a read of the window's keys alone (IndexReader::forEachKeyNewestFirst: the parts' created_at
// index, the hot files' row keys); a filter with conditions reads its rows through query(). The
// one place that knows how the index answers "what do we hold in [since, until]": an index with
// another layout re-implements load() and nothing else.
//
// Contract (sync::LocalSetSource, core/sync/local_set.h)
// - Bounded: at most kMaxQueued requests wait (request() returns false beyond: the relay asks
//   again); one answer is built at a time and holds ≤ max_items items plus one page of rows
//   (a filter with conditions) or one chunk of ≤ 8,192 keys per file of a month (the whole archive).
// - Replies are posted to the asker's thread while holding the queue lock, so cancel() ends all
//   replies to a context for good.
// - stop() (or the destructor) joins the thread; requests still queued get no reply.
// Thread: request(), cancel(), queued() from any thread; the reader lives on the worker thread.
#include <QObject>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include "core/sync/local_set.h"

namespace archivist::index {
class IndexReader;
}

namespace archivist::engine {

class IndexLocalSets final : public sync::LocalSetSource {
public:
    static constexpr size_t kMaxQueued = 64;
    static constexpr size_t kPageRows = 10000;

    explicit IndexLocalSets(std::filesystem::path index_file);
    ~IndexLocalSets() override;
    void start();
    void stop();

    bool request(sync::LocalSetRequest request, QObject* context, Reply reply) override;
    void cancel(QObject* context) override;

    size_t queued() const;
    uint64_t served() const;
    uint64_t errors() const;

    // The answer for one request over an open reader (exposed for tests).
    static Expected<sync::LocalSet> load(index::IndexReader& reader, const sync::LocalSetRequest& request);

private:
    struct Pending {
        sync::LocalSetRequest request;
        QObject* context = nullptr;
        Reply reply;
    };
    void run();

    const std::filesystem::path m_file;
    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<Pending> m_queue;
    QObject* m_busyWith = nullptr;  // the context whose request is being answered (null: none or cancelled)
    bool m_stopping = false;
    uint64_t m_served = 0, m_errors = 0;
    std::thread m_thread;
};

}  // namespace archivist::engine
