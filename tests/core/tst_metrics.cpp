#include <QtTest>
#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "core/observe/metrics.h"

using namespace archivist::observe;

namespace {
// A strict reader of the Prometheus text format 0.0.4, enough to prove that what we render is
// what a scraper would read back.
struct ParsedSample {
    std::string name;
    Labels labels;
    std::string value;
};
struct Parsed {
    std::map<std::string, std::string> help;
    std::map<std::string, std::string> type;
    std::vector<ParsedSample> samples;
    std::string error;  // empty when the whole text parsed
};

bool isNameChar(char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

Parsed parsePrometheus(const std::string& text) {
    Parsed p;
    if (!text.empty() && text.back() != '\n') p.error = "no trailing newline";
    size_t pos = 0;
    std::string currentFamily;
    while (pos < text.size() && p.error.empty()) {
        const size_t eol = text.find('\n', pos);
        const std::string line = text.substr(pos, eol - pos);
        pos = eol == std::string::npos ? text.size() : eol + 1;
        if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
            const bool help = line[2] == 'H';
            const size_t sp = line.find(' ', 7);
            const std::string name = line.substr(7, sp - 7);
            const std::string rest = sp == std::string::npos ? "" : line.substr(sp + 1);
            auto& dst = help ? p.help : p.type;
            if (dst.count(name)) p.error = "duplicate " + std::string(help ? "HELP" : "TYPE") + " for " + name;
            dst[name] = rest;
            if (!help && rest != "counter" && rest != "gauge" && rest != "summary") p.error = "bad TYPE " + rest;
            currentFamily = name;
            continue;
        }
        if (line.empty() || line[0] == '#') {
            p.error = "unexpected line: " + line;
            break;
        }
        ParsedSample s;
        size_t i = 0;
        while (i < line.size() && isNameChar(line[i], i == 0)) ++i;
        s.name = line.substr(0, i);
        if (s.name.empty()) p.error = "no metric name: " + line;
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (p.error.empty() && i < line.size() && line[i] != '}') {
                size_t k = i;
                while (k < line.size() && isNameChar(line[k], k == i) && line[k] != ':') ++k;
                const std::string key = line.substr(i, k - i);
                if (key.empty() || k + 1 >= line.size() || line[k] != '=' || line[k + 1] != '"') {
                    p.error = "bad label in: " + line;
                    break;
                }
                k += 2;
                std::string value;
                while (k < line.size() && line[k] != '"') {
                    if (line[k] == '\\') {
                        if (k + 1 >= line.size()) break;
                        const char e = line[k + 1];
                        if (e == 'n') value += '\n';
                        else if (e == '\\' || e == '"') value += e;
                        else p.error = "bad escape in: " + line;
                        k += 2;
                    } else {
                        value += line[k++];
                    }
                }
                if (k >= line.size()) {
                    p.error = "unterminated label value: " + line;
                    break;
                }
                s.labels.emplace_back(key, value);
                i = k + 1;
                if (i < line.size() && line[i] == ',') ++i;
            }
            if (i >= line.size()) p.error = "unterminated label set: " + line;
            ++i;
        }
        if (i >= line.size() || line[i] != ' ') p.error = "no value separator: " + line;
        else s.value = line.substr(i + 1);
        bool numeric = !s.value.empty();
        if (s.value != "NaN" && s.value != "+Inf" && s.value != "-Inf") {
            char* end = nullptr;
            std::strtod(s.value.c_str(), &end);
            numeric = numeric && end && *end == '\0';
        }
        if (p.error.empty() && !numeric) p.error = "bad value: " + line;
        const bool inFamily = s.name == currentFamily ||
                              (p.type[currentFamily] == "summary" &&
                               (s.name == currentFamily + "_sum" || s.name == currentFamily + "_count"));
        if (p.error.empty() && !inFamily) p.error = "sample outside its family: " + line;
        p.samples.push_back(std::move(s));
    }
    return p;
}

const ParsedSample* findSample(const Parsed& p, const std::string& name, const Labels& labels) {
    for (const auto& s : p.samples)
        if (s.name == name && s.labels == labels) return &s;
    return nullptr;
}
}  // namespace

class TestMetrics : public QObject {
    Q_OBJECT
private slots:
    void countersAndGaugesHoldTheirValues() {
        MetricsRegistry r;
        Counter& c = r.counter("archivist_events_stored_total", "Events stored");
        QCOMPARE(c.value(), uint64_t(0));
        c.inc();
        c.inc(41);
        QCOMPARE(c.value(), uint64_t(42));
        Gauge& g = r.gauge("archivist_queue_depth_now", "Depth");
        g.set(10.5);
        g.add(-0.5);
        g.add(3);
        QCOMPARE(g.value(), 13.0);
        QCOMPARE(r.total("archivist_events_stored_total"), 42.0);
        QCOMPARE(r.total("archivist_queue_depth_now"), 13.0);
        QCOMPARE(r.total("unknown_metric"), 0.0);
    }

    void sameNameAndLabelsIsSameSeries() {
        MetricsRegistry r;
        Counter& a = r.counter("x_total", "help", {{"k", "v"}, {"z", "1"}});
        Counter& b = r.counter("x_total", "help", {{"z", "1"}, {"k", "v"}});  // order does not matter
        Counter& c = r.counter("x_total", "help", {{"k", "w"}, {"z", "1"}});
        QCOMPARE(&a, &b);
        QVERIFY(&a != &c);
        a.inc(3);
        c.inc();
        QCOMPARE(r.total("x_total"), 4.0);
        QCOMPARE(r.seriesCount(), size_t(2 + 2));  // + the registry's own two counters
        // References stay valid while many more series are registered (no reallocation moves them).
        for (int i = 0; i < 2000; ++i) r.counter("x_total", "help", {{"k", std::to_string(i)}});
        a.inc();
        QCOMPARE(b.value(), uint64_t(4));
    }

    void concurrentUpdatesAreExact() {
        MetricsRegistry r;
        Counter& c = r.counter("c_total", "h");
        Gauge& g = r.gauge("g", "h");
        Histogram& h = r.histogram("h_seconds", "h");
        std::vector<std::thread> ts;
        for (int t = 0; t < 4; ++t)
            ts.emplace_back([&] {
                for (int i = 0; i < 100000; ++i) {
                    c.inc();
                    g.add(1);
                    h.observe(0.5);
                }
            });
        for (auto& t : ts) t.join();
        QCOMPARE(c.value(), uint64_t(400000));
        QCOMPARE(g.value(), 400000.0);
        QCOMPARE(h.count(), uint64_t(400000));
        QCOMPARE(h.sum(), 200000.0);
    }

    void concurrentRegistrationAndScrapes() {
        MetricsRegistry r;
        std::atomic<bool> stop{false};
        std::thread scraper([&] {
            while (!stop.load()) (void)r.renderPrometheus();
        });
        std::vector<std::thread> ts;
        for (int t = 0; t < 4; ++t)
            ts.emplace_back([&r, t] {
                for (int i = 0; i < 500; ++i) r.counter("reg_total", "h", {{"t", std::to_string(t)}, {"i", std::to_string(i % 50)}}).inc();
            });
        for (auto& t : ts) t.join();
        stop = true;
        scraper.join();
        QCOMPARE(r.total("reg_total"), 2000.0);
        QCOMPARE(r.seriesCount(), size_t(200 + 2));
    }

    void histogramQuantilesWithinDocumentedError_data() {
        QTest::addColumn<QString>("distribution");
        QTest::newRow("uniform 1ms..1s") << "uniform";
        QTest::newRow("exponential mean 50ms") << "exponential";
        QTest::newRow("lognormal wide (µs..s)") << "lognormal";
        QTest::newRow("large values (bytes)") << "bytes";
        QTest::newRow("constant") << "constant";
    }
    void histogramQuantilesWithinDocumentedError() {
        QFETCH(QString, distribution);
        Histogram h;
        std::mt19937 rng(7);
        std::uniform_real_distribution<double> uni(0.001, 1.0);
        std::exponential_distribution<double> expo(20.0);
        std::lognormal_distribution<double> logn(std::log(0.01), 2.0);
        std::uniform_real_distribution<double> bytes(1e3, 9e5);
        std::vector<double> values;
        double sum = 0;
        for (int i = 0; i < 50000; ++i) {
            double v = 0.125;
            if (distribution == "uniform") v = uni(rng);
            else if (distribution == "exponential") v = expo(rng);
            else if (distribution == "lognormal") v = std::clamp(logn(rng), 2e-6, 5e5);
            else if (distribution == "bytes") v = bytes(rng);
            values.push_back(v);
            sum += v;
            h.observe(v);
        }
        std::sort(values.begin(), values.end());
        for (double q : {0.1, 0.5, 0.9, 0.99}) {
            const double truth = values[size_t(q * double(values.size() - 1))];
            const double est = h.quantile(q);
            // Documented: within ~7.5% (half a bucket of 10^(1/16)); allow 10%.
            QVERIFY2(std::abs(est - truth) / truth < 0.10,
                     qPrintable(QString("q%1 est %2 truth %3").arg(q).arg(est).arg(truth)));
        }
        QCOMPARE(h.count(), uint64_t(values.size()));
        QVERIFY(std::abs(h.sum() - sum) / sum < 1e-9);
    }

    void histogramEdges() {
        Histogram h;
        QCOMPARE(h.quantile(0.5), 0.0);  // empty
        h.observe(0);
        h.observe(-3);
        QCOMPARE(h.quantile(0.99), 0.0);  // underflow bucket
        Histogram big;
        big.observe(5e7);
        QCOMPARE(big.quantile(0.5), 1e6);  // overflow bucket reports its lower edge
        QCOMPARE(big.sum(), 5e7);          // but the sum is exact
    }

    void prometheusTextParsesAndEscapes() {
        MetricsRegistry r;
        const std::string nasty = "wss://a\"b\\c\nd";
        r.counter("events_total", "Events seen\nper relay \\ reason", {{"relay", nasty}, {"reason", "bad_signature"}}).inc(2);
        r.counter("events_total", "Events seen", {{"relay", "wss://plain"}, {"reason", "ok"}}).inc(5);
        r.gauge("depth", "Queue depth").set(5);
        r.gauge("ratio", "A ratio").set(0.25);
        Histogram& lat = r.histogram("lat_seconds", "Latency", {{"stage", "commit"}});
        for (int i = 0; i < 100; ++i) lat.observe(0.25);
        r.gaugeFn("fn_gauge", "Callback", {}, [] { return 42.0; });
        r.gauge("bad name-with.dots", "sanitized").set(1);
        const std::string text = r.renderPrometheus();
        const Parsed p = parsePrometheus(text);
        QVERIFY2(p.error.empty(), p.error.c_str());

        QCOMPARE(p.type.at("events_total"), std::string("counter"));
        QCOMPARE(p.type.at("depth"), std::string("gauge"));
        QCOMPARE(p.type.at("fn_gauge"), std::string("gauge"));
        QCOMPARE(p.type.at("lat_seconds"), std::string("summary"));
        QCOMPARE(p.help.at("events_total"), std::string("Events seen\\nper relay \\\\ reason"));
        QVERIFY(p.type.count("bad_name_with_dots"));

        // Label values come back byte-for-byte after unescaping (labels sorted by name).
        const ParsedSample* s = findSample(p, "events_total", {{"reason", "bad_signature"}, {"relay", nasty}});
        QVERIFY(s);
        QCOMPARE(s->value, std::string("2"));
        QVERIFY(QString::fromStdString(text).contains("relay=\"wss://a\\\"b\\\\c\\nd\""));
        QCOMPARE(findSample(p, "events_total", {{"reason", "ok"}, {"relay", "wss://plain"}})->value, std::string("5"));
        QCOMPARE(findSample(p, "depth", {})->value, std::string("5"));
        QCOMPARE(std::strtod(findSample(p, "ratio", {})->value.c_str(), nullptr), 0.25);
        QCOMPARE(findSample(p, "fn_gauge", {})->value, std::string("42"));
        for (const char* q : {"0.5", "0.9", "0.99"}) {
            const ParsedSample* qs = findSample(p, "lat_seconds", {{"stage", "commit"}, {"quantile", q}});
            QVERIFY2(qs, q);
            QVERIFY(std::abs(std::strtod(qs->value.c_str(), nullptr) - 0.25) / 0.25 < 0.1);
        }
        QCOMPARE(findSample(p, "lat_seconds_count", {{"stage", "commit"}})->value, std::string("100"));
        QCOMPARE(std::strtod(findSample(p, "lat_seconds_sum", {{"stage", "commit"}})->value.c_str(), nullptr), 25.0);
    }

    void samplesMirrorTheExposition() {
        MetricsRegistry r;
        r.counter("a_total", "h", {{"x", "1"}}).inc(7);
        r.histogram("b_seconds", "h").observe(2);
        r.gaugeFn("c", "h", {}, [] { return -1.5; });
        std::map<std::string, double> byKey;
        for (const auto& s : r.samples()) {
            std::string key = s.name;
            for (const auto& [k, v] : s.labels) key += "," + k + "=" + v;
            byKey[key] = s.value;
        }
        QCOMPARE(byKey.at("a_total,x=1"), 7.0);
        QCOMPARE(byKey.at("b_seconds_count"), 1.0);
        QCOMPARE(byKey.at("b_seconds_sum"), 2.0);
        QVERIFY(std::abs(byKey.at("b_seconds,quantile=0.5") - 2.0) / 2.0 < 0.1);
        QCOMPARE(byKey.at("c"), -1.5);
    }

    void seriesAreBoundedAndFoldIntoOverflow() {
        MetricsRegistry r(50);
        for (int i = 0; i < 500; ++i) r.counter("per_relay_total", "h", {{"relay", std::to_string(i)}}).inc();
        for (int i = 0; i < 500; ++i) r.histogram("per_relay_seconds", "h", {{"relay", std::to_string(i)}}).observe(1);
        int fnCalls = 0;
        for (int i = 0; i < 500; ++i)
            r.gaugeFn("per_relay_depth", "h", {{"relay", std::to_string(i)}}, [&fnCalls, i] { ++fnCalls; return double(i); });
        QVERIFY2(r.seriesCount() <= 50 + 3, qPrintable(QString::number(r.seriesCount())));  // + one overflow per name
        QCOMPARE(r.total("per_relay_total"), 500.0);  // nothing lost, folded
        QVERIFY(r.total("archivist_metrics_series_folded_total") >= 1000);
        const Parsed p = parsePrometheus(r.renderPrometheus());
        QVERIFY2(p.error.empty(), p.error.c_str());
        const ParsedSample* over = findSample(p, "per_relay_total", {{"overflow", "true"}});
        QVERIFY(over);
        QVERIFY(std::stod(over->value) > 400);
        QVERIFY(findSample(p, "per_relay_seconds_count", {{"overflow", "true"}}));
        // Folded callbacks do not pile up: one overflow callback, the last one registered.
        QCOMPARE(findSample(p, "per_relay_depth", {{"overflow", "true"}})->value, std::string("499"));
        QCOMPARE(fnCalls, 1);
        // Existing series still update in place.
        r.counter("per_relay_total", "h", {{"relay", "0"}}).inc();
        QCOMPARE(r.total("per_relay_total"), 501.0);
    }

    void kindConflictDoesNotCorruptExistingSeries() {
        MetricsRegistry r;
        Counter& c = r.counter("dual", "h");
        c.inc(3);
        Gauge& g = r.gauge("dual", "h");
        g.set(9);
        QCOMPARE(c.value(), uint64_t(3));
        QCOMPARE(r.total("archivist_metrics_kind_conflicts_total"), 1.0);
        const Parsed p = parsePrometheus(r.renderPrometheus());
        QVERIFY2(p.error.empty(), p.error.c_str());
        QCOMPARE(p.type.at("dual"), std::string("counter"));
        QCOMPARE(p.type.at("dual_gauge"), std::string("gauge"));
        QCOMPARE(findSample(p, "dual_gauge", {})->value, std::string("9"));
    }

    void removedGaugeFnsAreNeverCalledAgain() {
        MetricsRegistry r;
        int owner = 0;
        int other = 0;
        std::atomic<int> calls{0};
        r.gaugeFn("g", "h", {{"q", "a"}}, [&] { ++calls; return 1.0; }, &owner);
        r.gaugeFn("g", "h", {{"q", "b"}}, [] { return 2.0; }, &other);
        const size_t before = r.seriesCount();
        r.renderPrometheus();
        QCOMPARE(calls.load(), 1);
        r.removeGaugeFns(&owner);
        QCOMPARE(r.seriesCount(), before - 1);
        const std::string text = r.renderPrometheus();
        QCOMPARE(calls.load(), 1);
        QVERIFY(!QString::fromStdString(text).contains("g{q=\"a\"}"));
        QVERIFY(QString::fromStdString(text).contains("g{q=\"b\"} 2\n"));
        // Same name + labels replaces the callback instead of adding a series.
        r.gaugeFn("g", "h", {{"q", "b"}}, [] { return 3.0; }, &other);
        QCOMPARE(r.seriesCount(), before - 1);
        QVERIFY(QString::fromStdString(r.renderPrometheus()).contains("g{q=\"b\"} 3\n"));
    }
};

QTEST_GUILESS_MAIN(TestMetrics)
#include "tst_metrics.moc"
