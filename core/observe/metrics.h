#pragma once
// Metrics registry: counters, gauges, histograms and scrape-time gauge callbacks, rendered as
// Prometheus text (format 0.0.4) and as flat samples for the console.
//
// Contract
// - Updates (inc/set/observe) are lock-free atomics: safe on any hot path, any thread.
// - Registration takes a mutex; the returned reference stays valid for the registry's lifetime.
//   Same name + labels → the same object.
// - Bounded: at most max_series series (plus one overflow series per name). Beyond it, new
//   registrations of a name fold into one series labelled overflow="true" and are counted in
//   archivist_metrics_series_folded_total. Folded counters/gauges/histograms share that one object
//   (a folded counter still sums every increment); a folded gaugeFn replaces the overflow
//   series' callback (last registration wins).
// - Names and label names are made Prometheus-legal (invalid characters become '_'); label sets
//   are identified regardless of their order (they are sorted by label name).
// - A name keeps the kind it was first registered with. Registering it again as another kind is
//   a programming error: it is counted in archivist_metrics_kind_conflicts_total, logged, and
//   the series lives under "<name>_<kind>" instead, so no existing reference is disturbed.
// - gaugeFn callbacks run during a scrape, on the scraping thread, while the registry mutex is
//   held: they must be thread-safe and cheap, and must not take a lock that a thread may hold
//   while registering metrics. An owner whose callbacks capture it must call
//   removeGaugeFns(owner) before it dies; removal waits for a scrape in progress.
// Thread: any.
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace archivist::observe {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
public:
    void inc(uint64_t n = 1) { m_v.fetch_add(n, std::memory_order_relaxed); }
    uint64_t value() const { return m_v.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> m_v{0};
};

class Gauge {
public:
    void set(double v) { m_v.store(v, std::memory_order_relaxed); }
    void add(double d);
    double value() const { return m_v.load(std::memory_order_relaxed); }

private:
    std::atomic<double> m_v{0};
};

// Log-scaled buckets, 16 per decade from 1e-6 to 1e6 (plus under/overflow): a quantile estimate
// is within ~7.5% (half a bucket's width) of the true value inside that range.
// Observations below 1e-6 (including 0 and negatives) land in an underflow bucket reported as 0;
// those ≥ 1e6 in an overflow bucket reported as 1e6. sum() is exact (all observations).
class Histogram {
public:
    static constexpr int kPerDecade = 16;
    static constexpr int kDecades = 12;
    static constexpr int kBuckets = kPerDecade * kDecades + 2;
    void observe(double v);
    double quantile(double q) const;
    uint64_t count() const { return m_count.load(std::memory_order_relaxed); }
    double sum() const { return m_sum.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> m_buckets[kBuckets] = {};
    std::atomic<uint64_t> m_count{0};
    std::atomic<double> m_sum{0};
};

class MetricsRegistry {
public:
    explicit MetricsRegistry(size_t max_series = 20000);
    ~MetricsRegistry();
    MetricsRegistry(const MetricsRegistry&) = delete;
    MetricsRegistry& operator=(const MetricsRegistry&) = delete;

    Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
    Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
    Histogram& histogram(const std::string& name, const std::string& help, const Labels& labels = {});
    void gaugeFn(const std::string& name, const std::string& help, const Labels& labels,
                 std::function<double()> fn, const void* owner = nullptr);
    void removeGaugeFns(const void* owner);

    std::string renderPrometheus() const;
    struct Sample {
        std::string name;
        Labels labels;
        double value = 0;
    };
    std::vector<Sample> samples() const;
    // Sum of every series of a counter or gauge name (0 when unknown).
    double total(const std::string& name) const;
    size_t seriesCount() const;
    size_t maxSeries() const { return m_maxSeries; }

private:
    enum class Kind { Counter, Gauge, Histogram, GaugeFn };
    struct Series {
        Labels labels;
        std::unique_ptr<Counter> counter;
        std::unique_ptr<Gauge> gauge;
        std::unique_ptr<Histogram> histogram;
        std::function<double()> fn;
        const void* owner = nullptr;
    };
    struct Family {
        std::string help;
        Kind kind;
        std::deque<Series> series;  // deque: stable addresses
        // Labels → position in `series`: a lookup costs log(series), not a scan (the console
        // exports a dozen series per relay every second, for hundreds of relays).
        std::map<Labels, size_t> positions;
    };
    Series& find(const std::string& name, const std::string& help, Kind kind, const Labels& labels);

    const size_t m_maxSeries;
    mutable std::mutex m_mutex;  // registration, removal and scrapes
    std::map<std::string, Family> m_families;
    size_t m_seriesCount = 0;
    Counter* m_folded = nullptr;
    Counter* m_kindConflicts = nullptr;
};

// Prometheus text-format escaping of a label value: backslash, double quote and newline.
std::string escapeLabelValue(const std::string& v);
// name with every character outside [a-zA-Z0-9_:] replaced by '_' (and a leading digit prefixed
// with '_'); label_name additionally turns ':' into '_'.
std::string sanitizeMetricName(const std::string& name, bool label_name = false);

}  // namespace archivist::observe
