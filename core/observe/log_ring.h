#pragma once
// LogRing: a bounded ring buffer of structured log records; backs the console's Log panel.
// installLogRingHandler() routes Qt logging into a ring and on to the previous handler (stderr).
// Thread: any.
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace archivist::observe {

struct LogRecord {
    int64_t time_ms = 0;
    int level = 1;  // 0 debug, 1 info, 2 warning, 3 critical, 4 fatal
    std::string category;
    std::string message;
    uint64_t seq = 0;
};

class LogRing {
public:
    explicit LogRing(size_t capacity = 10000);
    void append(LogRecord r);  // assigns seq (1, 2, …); evicts the oldest record when full (counted)
    // Up to max records with seq > the given one, oldest first. Pass the last seq seen to poll;
    // a gap in seq means records were evicted before they were read.
    std::vector<LogRecord> since(uint64_t seq, size_t max) const;
    size_t size() const;
    size_t capacity() const { return m_capacity; }
    uint64_t evicted() const;

private:
    const size_t m_capacity;
    mutable std::mutex m_mutex;
    std::deque<LogRecord> m_records;
    uint64_t m_nextSeq = 1;
    uint64_t m_evicted = 0;
};

// Routes every Qt message (that its category lets through) into ring, then on to the handler
// that was installed before (Qt's default prints to stderr). One ring per process: installing
// again switches rings and keeps chaining to the original handler. The ring is not owned; call
// uninstallLogRingHandler() before destroying it, after threads that log have stopped.
// uninstall restores the previous handler (unless another handler was installed after ours).
void installLogRingHandler(LogRing* ring);
void uninstallLogRingHandler();

}  // namespace archivist::observe
