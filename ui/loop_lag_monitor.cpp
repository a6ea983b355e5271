#include "ui/loop_lag_monitor.h"

#include <QTimer>
#include <algorithm>
#include <cmath>

#include "core/observe/metrics.h"

namespace archivist::ui {

namespace {
const char* kName = "archivist_ui_loop_lag_ms";
const char* kHelp = "GUI event loop lag in milliseconds over the last minute (how late a 50 ms timer fires)";
}  // namespace

LoopLagMonitor::LoopLagMonitor(observe::MetricsRegistry* metrics, QObject* parent, int interval_ms, int window_samples)
    : QObject(parent),
      m_intervalMs(std::max(1, interval_ms)),
      m_window(size_t(std::max(1, window_samples)), 0.0),
      m_timer(new QTimer(this)) {
    if (metrics) {
        m_p50 = &metrics->gauge(kName, kHelp, {{"quantile", "0.5"}});
        m_p99 = &metrics->gauge(kName, kHelp, {{"quantile", "0.99"}});
    }
    m_timer->setTimerType(Qt::PreciseTimer);
    m_timer->setInterval(m_intervalMs);
    connect(m_timer, &QTimer::timeout, this, &LoopLagMonitor::onTick);
    m_clock.start();
    m_lastTickNs = m_clock.nsecsElapsed();
    m_timer->start();
}

LoopLagMonitor::~LoopLagMonitor() = default;

void LoopLagMonitor::stop() { m_timer->stop(); }

void LoopLagMonitor::onTick() {
    const qint64 now = m_clock.nsecsElapsed();
    const double elapsed_ms = double(now - m_lastTickNs) / 1e6;
    m_lastTickNs = now;
    addSample(std::max(0.0, elapsed_ms - double(m_intervalMs)));
    if (++m_ticksSincePublish * m_intervalMs >= 1000) {
        m_ticksSincePublish = 0;
        publish();
    }
}

void LoopLagMonitor::addSample(double lag_ms) {
    m_window[m_next] = lag_ms;
    m_next = (m_next + 1) % m_window.size();
    m_count = std::min(m_count + 1, m_window.size());
}

double LoopLagMonitor::quantile(double q) const {
    if (m_count == 0) return 0;
    std::vector<double> v(m_window.begin(), m_window.begin() + long(m_count));
    // Nearest rank: the smallest value with at least q·n values at or below it.
    const size_t rank = size_t(std::max(1.0, std::ceil(std::clamp(q, 0.0, 1.0) * double(v.size()))));
    auto nth = v.begin() + long(rank - 1);
    std::nth_element(v.begin(), nth, v.end());
    return *nth;
}

void LoopLagMonitor::publish() {
    if (m_p50) m_p50->set(quantile(0.5));
    if (m_p99) m_p99->set(quantile(0.99));
}

}  // namespace archivist::ui
