#pragma once
// BoundedQueue<T>: a multi-producer, multi-consumer FIFO with a hard capacity.
//
// Contract
// - push() blocks while the queue is full: producers are slowed, nothing is ever dropped.
//   tryPush() never blocks; a caller that gets false must apply backpressure upstream
//   (e.g. stop reading a socket) and retry later.
// - close() wakes everybody; after it push() returns false and consumers drain what is left,
//   then pop() returns false. That is the shutdown path: close, drain, join.
// - depth() and capacity() are exported as gauges; blockedPushes() counts how often a
//   producer had to wait (a sign the consumer is the bottleneck).
// - popAllHeld() hands items over but keeps their places until release(): what a consumer is
//   still working on counts against the capacity (and in depth()).
// Thread: any. T must be a value type (no pointers to engine objects cross threads).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

namespace archivist::ingest {

template <typename T>
class BoundedQueue {
public:
    explicit BoundedQueue(size_t capacity) : m_capacity(capacity ? capacity : 1) {}
    BoundedQueue(const BoundedQueue&) = delete;
    BoundedQueue& operator=(const BoundedQueue&) = delete;

    // Blocks while full. Returns false if the queue was closed (the item is not taken).
    bool push(T item) {
        std::unique_lock lock(m_mutex);
        if (m_items.size() + m_held >= m_capacity && !m_closed) {
            m_blockedPushes.fetch_add(1, std::memory_order_relaxed);
            m_notFull.wait(lock, [&] { return m_items.size() + m_held < m_capacity || m_closed; });
        }
        if (m_closed) return false;
        m_items.push_back(std::move(item));
        m_depth.store(m_items.size() + m_held, std::memory_order_relaxed);
        lock.unlock();
        m_notEmpty.notify_one();
        return true;
    }

    // Never blocks. False when full or closed; the item is left with the caller.
    bool tryPush(T& item) {
        {
            std::lock_guard lock(m_mutex);
            if (m_closed || m_items.size() + m_held >= m_capacity) return false;
            m_items.push_back(std::move(item));
            m_depth.store(m_items.size() + m_held, std::memory_order_relaxed);
        }
        m_notEmpty.notify_one();
        return true;
    }

    // Blocks until an item is available or the queue is closed and empty (then returns false).
    bool pop(T& out) {
        std::unique_lock lock(m_mutex);
        m_notEmpty.wait(lock, [&] { return !m_items.empty() || m_closed; });
        if (m_items.empty()) return false;
        out = std::move(m_items.front());
        m_items.pop_front();
        m_depth.store(m_items.size() + m_held, std::memory_order_relaxed);
        lock.unlock();
        m_notFull.notify_one();
        return true;
    }

    // Waits up to `timeout` for at least one item, then moves up to `max` items into `out`.
    // Returns the number moved; 0 on timeout or when closed and empty (check closedAndEmpty()).
    size_t popAll(std::vector<T>& out, size_t max, std::chrono::milliseconds timeout) {
        return take(out, max, timeout, false);
    }

    // As popAll, but the items keep their places in the capacity until release(n).
    size_t popAllHeld(std::vector<T>& out, size_t max, std::chrono::milliseconds timeout) {
        return take(out, max, timeout, true);
    }

    // Gives back the places of `n` items taken with popAllHeld().
    void release(size_t n) {
        {
            std::lock_guard lock(m_mutex);
            m_held -= n < m_held ? n : m_held;
            m_depth.store(m_items.size() + m_held, std::memory_order_relaxed);
        }
        m_notFull.notify_all();
    }

    void close() {
        {
            std::lock_guard lock(m_mutex);
            m_closed = true;
        }
        m_notEmpty.notify_all();
        m_notFull.notify_all();
    }

    bool closed() const {
        std::lock_guard lock(m_mutex);
        return m_closed;
    }

    bool closedAndEmpty() const {
        std::lock_guard lock(m_mutex);
        return m_closed && m_items.empty();
    }

    size_t depth() const { return m_depth.load(std::memory_order_relaxed); }
    size_t capacity() const { return m_capacity; }
    uint64_t blockedPushes() const { return m_blockedPushes.load(std::memory_order_relaxed); }

private:
    size_t take(std::vector<T>& out, size_t max, std::chrono::milliseconds timeout, bool hold) {
        std::unique_lock lock(m_mutex);
        if (!m_notEmpty.wait_for(lock, timeout, [&] { return !m_items.empty() || m_closed; }))
            return 0;
        size_t n = 0;
        while (!m_items.empty() && n < max) {
            out.push_back(std::move(m_items.front()));
            m_items.pop_front();
            ++n;
        }
        if (hold) m_held += n;  // depth() unchanged: the places stay taken
        m_depth.store(m_items.size() + m_held, std::memory_order_relaxed);
        lock.unlock();
        if (n && !hold) m_notFull.notify_all();
        return n;
    }

    const size_t m_capacity;
    mutable std::mutex m_mutex;
    std::condition_variable m_notEmpty;
    std::condition_variable m_notFull;
    std::deque<T> m_items;
    size_t m_held = 0;  // taken by popAllHeld(), not yet released
    bool m_closed = false;
    std::atomic<size_t> m_depth{0};
    std::atomic<uint64_t> m_blockedPushes{0};
};

}  // namespace archivist::ingest
