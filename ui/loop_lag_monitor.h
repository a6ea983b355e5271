#pragma once
// LoopLagMonitor: measures how late the GUI event loop runs a periodic timer. Every interval_ms a
// precise QTimer fires; lag = (time since the previous firing) − interval_ms, floored at 0. The
// last window_samples lags form a sliding window whose median and 99th percentile (nearest rank)
// are exported once a second as the gauges
//   archivist_ui_loop_lag_ms{quantile="0.5"} and archivist_ui_loop_lag_ms{quantile="0.99"}.
// Bounded: the window is a fixed-size ring.
// Thread: the thread whose loop is measured (the GUI thread). The registry is not owned and must
// outlive the monitor (plain gauges: nothing is left behind when the monitor dies).
#include <QElapsedTimer>
#include <QObject>
#include <vector>

class QTimer;

namespace archivist::observe {
class Gauge;
class MetricsRegistry;
}  // namespace archivist::observe

namespace archivist::ui {

class LoopLagMonitor : public QObject {
    Q_OBJECT
public:
    static constexpr int kDefaultIntervalMs = 50;
    static constexpr int kDefaultWindowSamples = 1200;  // one minute at 50 ms

    // Starts measuring at once. metrics may be null (quantiles are still computed).
    explicit LoopLagMonitor(observe::MetricsRegistry* metrics, QObject* parent = nullptr,
                            int interval_ms = kDefaultIntervalMs, int window_samples = kDefaultWindowSamples);
    ~LoopLagMonitor() override;

    // Records one lag (what the timer does; public so tests can feed a known sequence).
    void addSample(double lag_ms);
    // Nearest-rank quantile (q in 0…1) of the window; 0 when empty.
    double quantile(double q) const;
    int sampleCount() const { return int(m_count); }
    // Sets the gauges from the current window (done every second while running).
    void publish();
    void stop();

private:
    void onTick();

    int m_intervalMs;
    std::vector<double> m_window;
    size_t m_next = 0;
    size_t m_count = 0;
    QTimer* m_timer;
    QElapsedTimer m_clock;
    qint64 m_lastTickNs = 0;
    int m_ticksSincePublish = 0;
    observe::Gauge* m_p50 = nullptr;
    observe::Gauge* m_p99 = nullptr;
};

}  // namespace archivist::ui
