#include "core/observe/log_ring.h"

#include <QDateTime>
#include <QtGlobal>
#include <atomic>

namespace archivist::observe {

LogRing::LogRing(size_t capacity) : m_capacity(capacity ? capacity : 1) {}

void LogRing::append(LogRecord r) {
    std::lock_guard lock(m_mutex);
    r.seq = m_nextSeq++;
    if (m_records.size() >= m_capacity) {
        m_records.pop_front();
        ++m_evicted;
    }
    m_records.push_back(std::move(r));
}

std::vector<LogRecord> LogRing::since(uint64_t seq, size_t max) const {
    std::lock_guard lock(m_mutex);
    std::vector<LogRecord> out;
    if (m_records.empty()) return out;
    // seqs in the ring are contiguous: jump straight to the first newer record.
    const uint64_t first = m_records.front().seq;
    size_t i = seq < first ? 0 : size_t(seq - first + 1);
    for (; i < m_records.size() && out.size() < max; ++i) out.push_back(m_records[i]);
    return out;
}

size_t LogRing::size() const {
    std::lock_guard lock(m_mutex);
    return m_records.size();
}

uint64_t LogRing::evicted() const {
    std::lock_guard lock(m_mutex);
    return m_evicted;
}

namespace {
std::atomic<LogRing*> g_ring{nullptr};
std::atomic<QtMessageHandler> g_previous{nullptr};

void handler(QtMsgType type, const QMessageLogContext& ctx, const QString& msg) {
    if (LogRing* ring = g_ring.load()) {
        LogRecord r;
        r.time_ms = QDateTime::currentMSecsSinceEpoch();
        switch (type) {
        case QtDebugMsg: r.level = 0; break;
        case QtInfoMsg: r.level = 1; break;
        case QtWarningMsg: r.level = 2; break;
        case QtCriticalMsg: r.level = 3; break;
        case QtFatalMsg: r.level = 4; break;
        }
        r.category = ctx.category ? ctx.category : "default";
        r.message = msg.toStdString();
        ring->append(std::move(r));
    }
    if (QtMessageHandler prev = g_previous.load()) prev(type, ctx, msg);
}
}  // namespace

void installLogRingHandler(LogRing* ring) {
    g_ring.store(ring);
    // Re-installing (for another ring) keeps the original handler as the one chained to.
    QtMessageHandler prev = qInstallMessageHandler(handler);
    if (prev != handler) g_previous.store(prev);
}

void uninstallLogRingHandler() {
    g_ring.store(nullptr);
    const QtMessageHandler current = qInstallMessageHandler(g_previous.load());
    if (current != handler) qInstallMessageHandler(current);  // someone installed theirs after ours: keep it
    g_previous.store(nullptr);
}

}  // namespace archivist::observe
