#pragma once
// Per-relay read rate limiter: events per second AND bytes per second over a sliding window.
//
// The window (default 1 s) is split into N sub-buckets (default 10); the window total is the sum
// of the last N buckets including the current, partly elapsed one, so it covers between
// (N-1)/N and all of window_ms. A steady rate at or below the limit therefore never pauses.
//
// Contract
// - Pure and deterministic: time is passed in (steady-clock milliseconds); no clock is read.
//   Times earlier than the latest one seen are treated as the latest one (never goes back).
// - O(1) memory: a fixed array of at most kMaxBuckets buckets, whatever the traffic.
// - Over the limit means the window holds MORE than limit × window. pauseFor_ms() returns how
//   long to stop reading until, with no new data, old buckets have left the window enough for
//   both totals to be within their limits (at most window_ms). 0 = read on.
// - A limit of 0 means unlimited for that dimension.
// - Not thread-safe: one limiter per relay, used from the relay's network thread.
// - Out-of-range options are clamped (buckets to [1, kMaxBuckets], window to at least one
//   millisecond per bucket, window rounded down to a whole number of buckets).
#include <array>
#include <cstdint>

namespace archivist::net {

class SlidingWindowRateLimiter {
public:
    static constexpr int kMaxBuckets = 64;

    struct Options {
        int64_t window_ms = 1000;
        int buckets = 10;
        double max_events_per_s = 2000;
        double max_bytes_per_s = 8.0 * 1024 * 1024;
    };

    SlidingWindowRateLimiter();
    explicit SlidingWindowRateLimiter(const Options& options);

    void record(int64_t now_ms, uint32_t events, uint64_t bytes);
    int64_t pauseFor_ms(int64_t now_ms) const;
    double eventsPerSecond(int64_t now_ms) const;
    double bytesPerSecond(int64_t now_ms) const;
    void reset();

    const Options& options() const { return m_options; }
    int64_t windowEventLimit() const { return m_eventLimit; }  // 0 = unlimited
    int64_t windowByteLimit() const { return m_byteLimit; }    // 0 = unlimited

private:
    struct Bucket {
        int64_t slot = INT64_MIN;  // which bucket_ms-wide time slot this bucket holds
        uint64_t events = 0;
        uint64_t bytes = 0;
    };
    int64_t slotOf(int64_t now_ms) const;
    int64_t effectiveNow(int64_t now_ms) const { return now_ms > m_latest_ms ? now_ms : m_latest_ms; }
    bool live(const Bucket& b, int64_t current_slot) const;

    Options m_options;
    int64_t m_bucket_ms = 100;
    int64_t m_eventLimit = 0;
    int64_t m_byteLimit = 0;
    int64_t m_latest_ms = INT64_MIN;
    std::array<Bucket, kMaxBuckets> m_buckets{};
};

}  // namespace archivist::net
