#pragma once
// QueryService: the archive browser's query thread. It owns one read-only IndexReader (opened
// lazily on that thread, reopened after an error) and a bounded FrameCache, and answers page,
// detail and count requests one at a time.
//
// Contract
// - request*() may be called from any thread; they never wait for a query. Each returns a request
//   id (increasing, never 0).
// - The newest request per channel wins: a queued request is replaced by a newer one on the same
//   channel, and a running one's answer is dropped if a newer one arrived meanwhile (both counted
//   in superseded()). A superseded request gets no answer.
// - The queue holds at most `max_pending` requests (distinct channels). A request that finds it
//   full is refused: it is answered at once with ok=false ("too many pending queries"), on the
//   calling thread, and counted in refused().
// - Page and detail requests go before counts (which may be slow): a queued count waits, and a
//   running count is interrupted by a new page/detail request and runs again after it. A running
//   request superseded on its channel is interrupted too.
// - Every other request is answered exactly once through the callback, on the query thread.
// - stop() (and the destructor) drops what is queued and joins the thread; no callback runs after
//   it returns.
#include <QString>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "core/engine/query_types.h"

namespace archivist::index {
class IndexReader;
}

namespace archivist::engine {

struct QueryAnswer {
    enum class Kind : uint8_t { Page, Detail, Count, Statistics };
    Kind kind = Kind::Page;
    quint64 id = 0;
    PageResult page;      // Kind::Page
    EventDetail detail;   // Kind::Detail
    CountResult count;    // Kind::Count
    StatisticsResult statistics;  // Kind::Statistics
};

struct QueryServiceOptions {
    std::filesystem::path index;    // the index directory (DataDirPaths::index)
    std::filesystem::path archive;  // the segments' directory
    size_t frame_cache_bytes = 32u << 20;
    size_t max_pending = 16;
};

class QueryService {
public:
    using Callback = std::function<void(QueryAnswer&&)>;
    QueryService(QueryServiceOptions options, Callback callback);
    ~QueryService();
    QueryService(const QueryService&) = delete;
    QueryService& operator=(const QueryService&) = delete;

    void start();
    void stop();

    quint64 requestPage(const PageRequest& request);
    quint64 requestDetail(const QString& id_hex);  // channel "detail"
    quint64 requestCount(const QueryFilter& query);  // channel "count"
    // The Statistics dock's tables (rollups: milliseconds; served like pages). Channel "statistics".
    quint64 requestStatistics(const StatisticsRequest& request);

    uint64_t superseded() const { return m_superseded.load(); }
    uint64_t refused() const { return m_refused.load(); }
    uint64_t answered() const { return m_answered.load(); }
    size_t pendingDepth() const;
    size_t pendingCapacity() const { return m_opts.max_pending; }

private:
    struct Request {
        QueryAnswer::Kind kind = QueryAnswer::Kind::Page;
        quint64 id = 0;
        QString channel;
        PageRequest page;
        QString detail_id;
        QueryFilter count;
        StatisticsRequest statistics;
    };
    static bool slow(QueryAnswer::Kind k) { return k == QueryAnswer::Kind::Count; }
    struct Worker;  // thread-owned state (reader, frame cache, verifier)

    quint64 enqueue(Request&& r);
    void run();

    QueryServiceOptions m_opts;
    Callback m_callback;
    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<Request> m_queue;               // bounded: m_opts.max_pending
    std::map<QString, quint64> m_latest;       // channel → newest id; entries only for queued/running channels
    quint64 m_nextId = 1;
    bool m_stop = false;
    // The request being run (id 0 = none) and its reader, published so enqueue() can interrupt it.
    // m_runningReader is cleared (under m_mutex) before the worker destroys the reader.
    quint64 m_runningId = 0;
    QString m_runningChannel;
    QueryAnswer::Kind m_runningKind = QueryAnswer::Kind::Page;
    index::IndexReader* m_runningReader = nullptr;
    bool m_interrupted = false;
    std::thread m_thread;
    std::atomic<uint64_t> m_superseded{0}, m_refused{0}, m_answered{0};
};

}  // namespace archivist::engine
