#include "core/observe/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/observe/log.h"

namespace archivist::observe {

void Gauge::add(double d) {
    double cur = m_v.load(std::memory_order_relaxed);
    while (!m_v.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
    }
}

namespace {
int bucketOf(double v) {
    if (!(v >= 1e-6)) return 0;  // also NaN and negatives
    if (v >= 1e6) return Histogram::kBuckets - 1;
    const int b = int(std::floor((std::log10(v) + 6.0) * Histogram::kPerDecade)) + 1;
    return std::clamp(b, 1, Histogram::kBuckets - 2);
}
// Geometric middle of a bucket.
double bucketValue(int b) {
    if (b <= 0) return 0;
    if (b >= Histogram::kBuckets - 1) return 1e6;
    return std::pow(10.0, (double(b - 1) + 0.5) / Histogram::kPerDecade - 6.0);
}
}  // namespace

void Histogram::observe(double v) {
    m_buckets[bucketOf(v)].fetch_add(1, std::memory_order_relaxed);
    m_count.fetch_add(1, std::memory_order_relaxed);
    double cur = m_sum.load(std::memory_order_relaxed);
    while (!m_sum.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
    }
}

double Histogram::quantile(double q) const {
    uint64_t counts[kBuckets];
    uint64_t total = 0;
    for (int i = 0; i < kBuckets; ++i) total += counts[i] = m_buckets[i].load(std::memory_order_relaxed);
    if (!total) return 0;
    const double rank = std::clamp(q, 0.0, 1.0) * double(total);
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
        seen += counts[i];
        if (double(seen) >= rank && counts[i]) return bucketValue(i);
    }
    return bucketValue(kBuckets - 1);
}

MetricsRegistry::MetricsRegistry(size_t max_series) : m_maxSeries(max_series) {
    m_folded = &counter("archivist_metrics_series_folded_total",
                        "Metric series registrations folded into an overflow series (series bound reached)");
    m_kindConflicts = &counter("archivist_metrics_kind_conflicts_total",
                               "Metric registrations under a name already used by another metric kind");
}

MetricsRegistry::~MetricsRegistry() = default;

std::string sanitizeMetricName(const std::string& name, bool label_name) {
    std::string out = name.empty() ? std::string("_") : name;
    for (char& c : out) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                        (c == ':' && !label_name);
        if (!ok) c = '_';
    }
    if (out[0] >= '0' && out[0] <= '9') out.insert(out.begin(), '_');
    return out;
}

namespace {
const char* kindSuffix(int kind) {
    static const char* const kSuffixes[] = {"_counter", "_gauge", "_histogram", "_gauge_fn"};
    return kSuffixes[kind];
}
Labels canonicalLabels(const Labels& labels) {
    Labels out;
    out.reserve(labels.size());
    for (const auto& [k, v] : labels) out.emplace_back(sanitizeMetricName(k, true), v);
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return out;
}
}  // namespace

// Caller holds m_mutex.
MetricsRegistry::Series& MetricsRegistry::find(const std::string& rawName, const std::string& help, Kind kind,
                                               const Labels& rawLabels) {
    std::string name = sanitizeMetricName(rawName);
    if (auto it = m_families.find(name); it != m_families.end() && it->second.kind != kind) {
        if (m_kindConflicts) m_kindConflicts->inc();
        qCWarning(lcObserve).noquote() << "metric" << QString::fromStdString(name)
                                       << "registered again as another kind; using a suffixed name";
        name += kindSuffix(int(kind));
    }
    auto [it, inserted] = m_families.try_emplace(name);
    Family& fam = it->second;
    if (inserted) {
        fam.help = help;
        fam.kind = kind;
    }
    Labels labels = canonicalLabels(rawLabels);
    if (auto at = fam.positions.find(labels); at != fam.positions.end()) return fam.series[at->second];
    if (m_seriesCount >= m_maxSeries) {
        if (m_folded) m_folded->inc();
        labels = Labels{{"overflow", "true"}};
        if (auto at = fam.positions.find(labels); at != fam.positions.end()) return fam.series[at->second];
    }
    fam.positions.emplace(labels, fam.series.size());
    fam.series.emplace_back();
    fam.series.back().labels = std::move(labels);
    ++m_seriesCount;
    return fam.series.back();
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help, const Labels& labels) {
    std::lock_guard lock(m_mutex);
    Series& s = find(name, help, Kind::Counter, labels);
    if (!s.counter) s.counter = std::make_unique<Counter>();
    return *s.counter;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
    std::lock_guard lock(m_mutex);
    Series& s = find(name, help, Kind::Gauge, labels);
    if (!s.gauge) s.gauge = std::make_unique<Gauge>();
    return *s.gauge;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help, const Labels& labels) {
    std::lock_guard lock(m_mutex);
    Series& s = find(name, help, Kind::Histogram, labels);
    if (!s.histogram) s.histogram = std::make_unique<Histogram>();
    return *s.histogram;
}

void MetricsRegistry::gaugeFn(const std::string& name, const std::string& help, const Labels& labels,
                              std::function<double()> fn, const void* owner) {
    if (!fn) return;
    std::lock_guard lock(m_mutex);
    // A callback for the same name + labels (or folded into the overflow series) replaces the
    // previous one.
    Series& s = find(name, help, Kind::GaugeFn, labels);
    s.fn = std::move(fn);
    s.owner = owner;
}

void MetricsRegistry::removeGaugeFns(const void* owner) {
    if (!owner) return;
    std::lock_guard lock(m_mutex);  // waits for a scrape in progress
    for (auto& [name, fam] : m_families) {
        if (fam.kind != Kind::GaugeFn) continue;  // only callback families hold no handed-out references
        const auto before = fam.series.size();
        fam.series.erase(std::remove_if(fam.series.begin(), fam.series.end(),
                                        [&](const Series& s) { return s.fn && s.owner == owner; }),
                         fam.series.end());
        m_seriesCount -= before - fam.series.size();
        if (fam.series.size() != before) {
            fam.positions.clear();
            for (size_t i = 0; i < fam.series.size(); ++i) fam.positions.emplace(fam.series[i].labels, i);
        }
    }
}

std::string escapeLabelValue(const std::string& v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

namespace {
std::string labelText(const Labels& labels, const char* extraKey = nullptr, const std::string& extraValue = {}) {
    if (labels.empty() && !extraKey) return {};
    std::string out = "{";
    bool first = true;
    for (const auto& [k, v] : labels) {
        if (!first) out += ',';
        first = false;
        out += k + "=\"" + escapeLabelValue(v) + "\"";
    }
    if (extraKey) {
        if (!first) out += ',';
        out += std::string(extraKey) + "=\"" + extraValue + "\"";
    }
    return out + "}";
}
std::string number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    if (v == std::floor(v) && std::fabs(v) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", v);
    else std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}
std::string escapeHelp(const std::string& h) {
    std::string out;
    for (char c : h) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}
constexpr double kQuantiles[] = {0.5, 0.9, 0.99};
}  // namespace

std::string MetricsRegistry::renderPrometheus() const {
    std::lock_guard lock(m_mutex);
    std::string out;
    out.reserve(16384);
    for (const auto& [name, fam] : m_families) {
        if (fam.series.empty()) continue;
        const char* type = fam.kind == Kind::Counter ? "counter" : fam.kind == Kind::Histogram ? "summary" : "gauge";
        out += "# HELP " + name + " " + escapeHelp(fam.help) + "\n# TYPE " + name + " " + type + "\n";
        for (const auto& s : fam.series) {
            if (s.counter) out += name + labelText(s.labels) + " " + std::to_string(s.counter->value()) + "\n";
            else if (s.gauge) out += name + labelText(s.labels) + " " + number(s.gauge->value()) + "\n";
            else if (s.fn) out += name + labelText(s.labels) + " " + number(s.fn()) + "\n";
            else if (s.histogram) {
                for (double q : kQuantiles)
                    out += name + labelText(s.labels, "quantile", number(q)) + " " + number(s.histogram->quantile(q)) + "\n";
                out += name + "_sum" + labelText(s.labels) + " " + number(s.histogram->sum()) + "\n";
                out += name + "_count" + labelText(s.labels) + " " + std::to_string(s.histogram->count()) + "\n";
            }
        }
    }
    return out;
}

std::vector<MetricsRegistry::Sample> MetricsRegistry::samples() const {
    std::lock_guard lock(m_mutex);
    std::vector<Sample> out;
    for (const auto& [name, fam] : m_families) {
        for (const auto& s : fam.series) {
            if (s.counter) out.push_back({name, s.labels, double(s.counter->value())});
            else if (s.gauge) out.push_back({name, s.labels, s.gauge->value()});
            else if (s.fn) out.push_back({name, s.labels, s.fn()});
            else if (s.histogram) {
                for (double q : kQuantiles) {
                    Labels l = s.labels;
                    l.emplace_back("quantile", number(q));
                    out.push_back({name, l, s.histogram->quantile(q)});
                }
                out.push_back({name + "_sum", s.labels, s.histogram->sum()});
                out.push_back({name + "_count", s.labels, double(s.histogram->count())});
            }
        }
    }
    return out;
}

double MetricsRegistry::total(const std::string& name) const {
    std::lock_guard lock(m_mutex);
    auto it = m_families.find(sanitizeMetricName(name));
    if (it == m_families.end()) return 0;
    double sum = 0;
    for (const auto& s : it->second.series) {
        if (s.counter) sum += double(s.counter->value());
        else if (s.gauge) sum += s.gauge->value();
        else if (s.fn) sum += s.fn();
    }
    return sum;
}

size_t MetricsRegistry::seriesCount() const {
    std::lock_guard lock(m_mutex);
    return m_seriesCount;
}

}  // namespace archivist::observe
