#include "core/engine/local_sets.h"

#include <QMetaObject>
#include <pthread.h>

#include "core/index/index_reader.h"
#include "core/observe/log.h"
#include "core/util/thread_priority.h"

namespace archivist::engine {

IndexLocalSets::IndexLocalSets(std::filesystem::path index_file) : m_file(std::move(index_file)) {}

IndexLocalSets::~IndexLocalSets() { stop(); }

void IndexLocalSets::start() {
    std::lock_guard lock(m_mutex);
    if (m_thread.joinable() || m_stopping) return;
    m_thread = std::thread([this] { run(); });
}

void IndexLocalSets::stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
        m_queue.clear();
    }
    m_cv.notify_all();
    if (m_thread.joinable()) m_thread.join();
}

bool IndexLocalSets::request(sync::LocalSetRequest request, QObject* context, Reply reply) {
    {
        std::lock_guard lock(m_mutex);
        if (m_stopping || !m_thread.joinable() || m_queue.size() >= kMaxQueued) return false;
        m_queue.push_back(Pending{std::move(request), context, std::move(reply)});
    }
    m_cv.notify_one();
    return true;
}

void IndexLocalSets::cancel(QObject* context) {
    std::lock_guard lock(m_mutex);
    std::erase_if(m_queue, [context](const Pending& p) { return p.context == context; });
    if (m_busyWith == context) m_busyWith = nullptr;
}

size_t IndexLocalSets::queued() const {
    std::lock_guard lock(m_mutex);
    return m_queue.size();
}

uint64_t IndexLocalSets::served() const {
    std::lock_guard lock(m_mutex);
    return m_served;
}

uint64_t IndexLocalSets::errors() const {
    std::lock_guard lock(m_mutex);
    return m_errors;
}

Expected<sync::LocalSet> IndexLocalSets::load(index::IndexReader& reader, const sync::LocalSetRequest& request) {
    const protocol::Filter& f = request.filter;
    const int64_t since = f.since.value_or(0);
    const int64_t until = f.until.value_or(INT64_MAX);
    sync::LocalSet out;
    out.since = since;
    std::vector<sync::NegentropyItem> items;
    // Newest first until max_items + 1 events say where the window must start: that event's second
    // is left out (all of it), and the window begins one second later.
    std::optional<int64_t> boundary;
    auto take = [&](int64_t created_at, const protocol::Bytes32& id) {
        if (items.size() == request.max_items) {
            boundary = created_at;
            return false;
        }
        items.push_back(sync::NegentropyItem{uint64_t(created_at), id});
        return true;
    };
    auto finish = [&]() -> Expected<sync::LocalSet> {
        if (boundary) {
            if (*boundary >= until) {
                out.overfull = true;
                out.since = until;
                return out;
            }
            const int64_t b = *boundary;
            std::erase_if(items, [b](const sync::NegentropyItem& i) { return int64_t(i.timestamp) <= b; });
            out.since = b + 1;
        }
        out.items = std::move(items);
        return out;
    };
    // The relay's filter is the whole archive (the usual case): the keys alone, read from the
    // created_at index (forEachKeyNewestFirst), not whole rows merged in (created_at, id) order.
    if (f.ids.empty() && f.authors.empty() && f.kinds.empty() && f.tags.empty() && !f.search) {
        if (auto r = reader.forEachKeyNewestFirst(since, until, take); !r) return r.error();
        return finish();
    }
    // Any other filter: its rows, newest first, one page at a time.
    std::optional<index::Cursor> after;
    while (true) {
        auto page = reader.query({f}, after, kPageRows, index::Order::NewestFirst);
        if (!page) return page.error();
        for (const auto& row : *page)
            if (!take(row.created_at, row.id)) return finish();
        if (page->size() < kPageRows) break;
        after = index::Cursor{page->back().created_at, page->back().id};
    }
    return finish();
}

void IndexLocalSets::run() {
    pthread_setname_np(pthread_self(), "local-sets");
    lowerThisThreadPriority();  // the console's GUI thread comes first
    std::unique_ptr<index::IndexReader> reader;
    std::unique_lock lock(m_mutex);
    while (true) {
        m_cv.wait(lock, [this] { return m_stopping || !m_queue.empty(); });
        if (m_stopping) break;
        Pending p = std::move(m_queue.front());
        m_queue.pop_front();
        m_busyWith = p.context;
        lock.unlock();
        Expected<sync::LocalSet> answer = makeError("index", "not opened");
        if (!reader) {
            auto r = index::IndexReader::open(m_file);
            if (r) reader = std::move(*r);
            else answer = r.error();
        }
        if (reader) answer = load(*reader, p.request);
        if (!answer) qCWarning(lcSync) << "local set for reconciliation:" << answer.error().message.c_str();
        lock.lock();
        if (answer) ++m_served;
        else ++m_errors;
        if (!answer) reader.reset();  // reopened for the next request
        if (m_busyWith == p.context && p.context) {
            QMetaObject::invokeMethod(
                p.context, [reply = std::move(p.reply), a = std::move(answer)]() mutable { reply(std::move(a)); },
                Qt::QueuedConnection);
        }
        m_busyWith = nullptr;
    }
}

}  // namespace archivist::engine
