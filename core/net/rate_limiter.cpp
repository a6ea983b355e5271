#include "core/net/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace archivist::net {

SlidingWindowRateLimiter::SlidingWindowRateLimiter() : SlidingWindowRateLimiter(Options{}) {}

SlidingWindowRateLimiter::SlidingWindowRateLimiter(const Options& options) : m_options(options) {
    m_options.buckets = std::clamp(m_options.buckets, 1, kMaxBuckets);
    m_options.window_ms = std::max<int64_t>(m_options.window_ms, m_options.buckets);
    m_bucket_ms = m_options.window_ms / m_options.buckets;
    m_options.window_ms = m_bucket_ms * m_options.buckets;
    const double seconds = double(m_options.window_ms) / 1000.0;
    // A positive limit never rounds down to "unlimited": at least one event/byte per window.
    auto windowLimit = [&](double per_s) -> int64_t {
        if (!(per_s > 0)) return 0;
        return std::max<int64_t>(1, int64_t(std::floor(per_s * seconds)));
    };
    m_eventLimit = windowLimit(m_options.max_events_per_s);
    m_byteLimit = windowLimit(m_options.max_bytes_per_s);
}

int64_t SlidingWindowRateLimiter::slotOf(int64_t now_ms) const {
    int64_t q = now_ms / m_bucket_ms;
    if (now_ms % m_bucket_ms < 0) --q;  // floor for negative times
    return q;
}

bool SlidingWindowRateLimiter::live(const Bucket& b, int64_t current_slot) const {
    return b.slot != INT64_MIN && b.slot <= current_slot && b.slot > current_slot - m_options.buckets;
}

void SlidingWindowRateLimiter::record(int64_t now_ms, uint32_t events, uint64_t bytes) {
    now_ms = effectiveNow(now_ms);
    m_latest_ms = now_ms;
    const int64_t slot = slotOf(now_ms);
    int64_t idx = slot % m_options.buckets;
    if (idx < 0) idx += m_options.buckets;
    Bucket& b = m_buckets[size_t(idx)];
    if (b.slot != slot) b = Bucket{slot, 0, 0};
    b.events += events;
    b.bytes += bytes;
}

int64_t SlidingWindowRateLimiter::pauseFor_ms(int64_t now_ms) const {
    now_ms = effectiveNow(now_ms);
    const int64_t current = slotOf(now_ms);
    // Live buckets oldest first (at most kMaxBuckets, on the stack).
    std::array<const Bucket*, kMaxBuckets> order{};
    int n = 0;
    uint64_t events = 0;
    uint64_t bytes = 0;
    for (int i = 0; i < m_options.buckets; ++i) {
        const Bucket& b = m_buckets[size_t(i)];
        if (!live(b, current)) continue;
        order[size_t(n++)] = &b;
        events += b.events;
        bytes += b.bytes;
    }
    auto within = [&] {
        return (m_eventLimit == 0 || events <= uint64_t(m_eventLimit)) &&
               (m_byteLimit == 0 || bytes <= uint64_t(m_byteLimit));
    };
    if (within()) return 0;
    std::sort(order.begin(), order.begin() + n, [](const Bucket* a, const Bucket* b) { return a->slot < b->slot; });
    for (int i = 0; i < n; ++i) {
        events -= order[size_t(i)]->events;
        bytes -= order[size_t(i)]->bytes;
        if (within()) {
            // Slot s stops counting once the current slot reaches s + buckets.
            const int64_t leaves_ms = (order[size_t(i)]->slot + m_options.buckets) * m_bucket_ms;
            return std::max<int64_t>(1, leaves_ms - now_ms);
        }
    }
    return m_options.window_ms;  // unreachable: an empty window is within any limit
}

double SlidingWindowRateLimiter::eventsPerSecond(int64_t now_ms) const {
    now_ms = effectiveNow(now_ms);
    const int64_t current = slotOf(now_ms);
    uint64_t events = 0;
    for (int i = 0; i < m_options.buckets; ++i) {
        if (live(m_buckets[size_t(i)], current)) events += m_buckets[size_t(i)].events;
    }
    return double(events) * 1000.0 / double(m_options.window_ms);
}

double SlidingWindowRateLimiter::bytesPerSecond(int64_t now_ms) const {
    now_ms = effectiveNow(now_ms);
    const int64_t current = slotOf(now_ms);
    uint64_t bytes = 0;
    for (int i = 0; i < m_options.buckets; ++i) {
        if (live(m_buckets[size_t(i)], current)) bytes += m_buckets[size_t(i)].bytes;
    }
    return double(bytes) * 1000.0 / double(m_options.window_ms);
}

void SlidingWindowRateLimiter::reset() {
    m_buckets = {};
    m_latest_ms = INT64_MIN;
}

}  // namespace archivist::net
