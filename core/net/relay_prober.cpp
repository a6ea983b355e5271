#include "core/net/relay_prober.h"

#include <QUrl>
#include <algorithm>
#include <cmath>

#include "core/net/http_get.h"
#include "core/net/relay_info.h"
#include "core/observe/log.h"
#include "core/observe/metrics.h"
#include "core/protocol/relay_message.h"
#include "core/util/clock.h"

namespace archivist::net {

namespace {

constexpr const char* kSubId = "probe";
constexpr int64_t kMaxCloseTimeout_ms = 5000;
constexpr int64_t kResolveGrace_ms = 1000;  // beyond the resolver's own lookup timeout
constexpr size_t kMaxDetailBytes = 300;
constexpr int64_t kMaxPumpDelay_ms = 3600 * 1000;

const char* const kResults[] = {"ok", "refused", "dns", "busy", "timeout", "websocket", "closed", "aborted", "other"};
const char* const kRejections[] = {"invalid_url", "duplicate", "queue_full", "stopped"};

std::string bounded(std::string s) {
    if (s.size() > kMaxDetailBytes) s.resize(kMaxDetailBytes);
    return s;
}

}  // namespace

RelayProber::RelayProber(ProberOptions options, observe::MetricsRegistry* metrics, QObject* parent)
    : QObject(parent), m_options(std::move(options)), m_metrics(metrics) {
    qRegisterMetaType<archivist::net::ProbeResult>();
    m_options.max_concurrent = std::max(1, m_options.max_concurrent);
    m_options.timeout_ms = std::max(1, m_options.timeout_ms);
    if (!m_options.policy) m_options.policy = std::make_shared<AddressPolicy>();
    if (!m_metrics) {
        m_ownMetrics = std::make_unique<observe::MetricsRegistry>();
        m_metrics = m_ownMetrics.get();
    }
    CheckedResolverOptions ro = m_options.resolver;
    ro.lookup_timeout_ms = m_options.timeout_ms;
    m_resolver = std::make_unique<CheckedResolver>(m_options.policy, ro);

    for (const char* r : kResults)
        m_results[r] = &m_metrics->counter("archivist_probes_total", "Relay probes finished, by result", {{"result", r}});
    for (const char* r : kRejections)
        m_rejections[r] = &m_metrics->counter("archivist_probe_enqueue_rejected_total",
                                              "Relay URLs refused by the prober queue, by reason", {{"reason", r}});
    m_nip11Failures = &m_metrics->counter("archivist_probe_nip11_failures_total",
                                          "Probes that got no usable NIP-11 document (the probe itself may be ok)");
    m_queueDepth = &m_metrics->gauge("archivist_probe_queue_depth", "Relay URLs waiting for a probe");
    m_metrics->gauge("archivist_probe_queue_capacity", "Capacity of the probe queue").set(double(m_options.max_queued));
    m_inFlight = &m_metrics->gauge("archivist_probes_in_flight", "Relay probes in flight");
    m_metrics->gauge("archivist_probes_in_flight_capacity", "Most relay probes in flight at once")
        .set(double(m_options.max_concurrent));
    m_openRtt = &m_metrics->histogram("archivist_probe_open_rtt_ms", "Probe open round trip (resolve+TCP+TLS+upgrade), ms");
    m_readRtt = &m_metrics->histogram("archivist_probe_read_rtt_ms", "Probe read round trip (REQ → first answer), ms");

    m_pumpTimer.setSingleShot(true);
    m_pumpTimer.setTimerType(Qt::PreciseTimer);
    connect(&m_pumpTimer, &QTimer::timeout, this, &RelayProber::pump);
    m_refill_ms = steadyMs();
}

RelayProber::~RelayProber() {
    stop();
    // The resolver answers outstanding requests ("cancelled") from its destructor: m_stopped
    // makes those callbacks no-ops while every member they could touch is still alive.
    m_resolver.reset();
}

RelayProber::Stats RelayProber::stats() const {
    Stats s = m_stats;
    s.queued = m_queue.size();
    s.in_flight = m_probes.size();
    return s;
}

bool RelayProber::enqueue(const std::string& url) {
    auto reject = [this](const char* reason) {
        ++m_stats.rejected;
        m_rejections[reason]->inc();
        return false;
    };
    if (m_stopped) return reject("stopped");
    auto normalized = normalizeRelayUrl(url);
    if (!normalized) return reject("invalid_url");
    if (m_known.count(normalized->text)) return reject("duplicate");
    if (m_queue.size() >= m_options.max_queued) return reject("queue_full");
    m_known.insert(normalized->text);
    m_queue.push_back(std::move(*normalized));
    ++m_stats.enqueued;
    updateGauges();
    schedulePump();
    return true;
}

void RelayProber::stop() {
    if (m_stopped) return;
    m_stopped = true;
    m_pumpTimer.stop();
    m_queue.clear();
    m_known.clear();
    for (auto& [id, p] : m_probes) {
        release(*p);
        ++m_stats.aborted;
        m_results["aborted"]->inc();
    }
    m_probes.clear();
    updateGauges();
}

// ---------------------------------------------------------------- scheduling

void RelayProber::schedulePump(int delay_ms) {
    if (m_stopped) return;
    if (!m_pumpTimer.isActive() || m_pumpTimer.remainingTime() > delay_ms) m_pumpTimer.start(std::max(0, delay_ms));
}

bool RelayProber::takeToken() {
    if (m_options.probes_per_second <= 0) return true;
    const int64_t now = steadyMs();
    m_tokens = std::min(1.0, m_tokens + double(now - m_refill_ms) * m_options.probes_per_second / 1000.0);
    m_refill_ms = now;
    if (m_tokens < 1.0 - 1e-9) return false;
    m_tokens = std::max(0.0, m_tokens - 1.0);
    return true;
}

int64_t RelayProber::msUntilToken() const {
    const double missing = std::max(0.0, 1.0 - m_tokens);
    const double ms = std::ceil(missing * 1000.0 / m_options.probes_per_second);
    return std::clamp<int64_t>(int64_t(std::min(ms, double(kMaxPumpDelay_ms))), 1, kMaxPumpDelay_ms);
}

void RelayProber::pump() {
    while (!m_stopped && !m_queue.empty() && m_probes.size() < size_t(m_options.max_concurrent)) {
        if (!takeToken()) {
            schedulePump(int(msUntilToken()));
            break;
        }
        RelayUrl url = std::move(m_queue.front());
        m_queue.pop_front();
        startProbe(std::move(url));
    }
    updateGauges();
}

// ---------------------------------------------------------------- one probe

RelayProber::Probe* RelayProber::find(uint64_t id) {
    if (m_stopped) return nullptr;
    auto it = m_probes.find(id);
    return it == m_probes.end() ? nullptr : it->second.get();
}

void RelayProber::armTimer(Probe& p, int64_t ms) {
    if (!p.timer) {
        p.timer = new QTimer(this);
        p.timer->setSingleShot(true);
        const uint64_t id = p.id;
        connect(p.timer, &QTimer::timeout, this, [this, id] { onTimeout(id); });
    }
    p.timer->start(int(std::min<int64_t>(ms, INT32_MAX)));
}

void RelayProber::startProbe(RelayUrl url) {
    auto probe = std::make_unique<Probe>();
    Probe& p = *probe;
    p.id = m_nextId++;
    p.url = std::move(url);
    p.started_ms = p.phase_ms = steadyMs();
    p.result.url = p.url.text;
    p.result.at_ms = wallMs();
    const uint64_t id = p.id;
    m_probes.emplace(id, std::move(probe));
    ++m_stats.started;
    updateGauges();
    const std::string started = p.result.url;  // a slot may stop() and so free the probe
    emit probeStarted(started);
    Probe* live = find(id);
    if (!live) return;
    armTimer(*live, m_options.timeout_ms + kResolveGrace_ms);
    // "busy" is answered synchronously: the callback may finish this probe before resolve() returns.
    m_resolver->resolve(live->url, [this, id](Resolved address) { onResolved(id, std::move(address)); });
}

void RelayProber::onResolved(uint64_t id, Resolved address) {
    Probe* p = find(id);
    if (!p || p->phase != Phase::Resolving) return;
    if (!address) {
        const ResolveError& e = address.error();
        switch (e.code) {
        case ResolveErrorCode::AddressRefused: return fail(id, "refused", e.message);
        case ResolveErrorCode::Busy: return fail(id, "busy", e.message);
        default: return fail(id, "dns", std::string(errorCodeName(e.code)) + ": " + e.message);
        }
    }
    p->timer->stop();
    const int64_t now = steadyMs();
    p->resolve_ms = now - p->started_ms;
    p->address = *address;
    p->phase = Phase::FetchingInfo;
    p->phase_ms = now;
    HttpGetOptions ho;
    ho.timeout_ms = m_options.timeout_ms;
    ho.extra_ca_certificates = m_options.extra_ca_certificates;
    p->http = new HttpGet(ho, this);
    connect(p->http, &HttpGet::finished, this,
            [this, id](int status, const QByteArray& body, const QString& error) { onInfo(id, status, body, error); });
    p->http->start(QUrl(QString::fromStdString(relayInfoUrl(p->url.text))), p->address,
                   {{QByteArray("Accept"), QByteArray("application/nostr+json")}});
}

void RelayProber::onInfo(uint64_t id, int status, const QByteArray& body, const QString& error) {
    Probe* p = find(id);
    if (!p || p->phase != Phase::FetchingInfo) return;
    p->http->disconnect(this);
    p->http->deleteLater();
    p->http = nullptr;
    auto& r = p->result;
    r.nip11_status = status;
    if (!error.isEmpty()) {
        r.nip11_error = bounded(error.toStdString());
    } else if (status != 200) {
        r.nip11_error = "http: " + std::to_string(status);
    } else if (auto info = parseRelayInfo(std::string_view(body.constData(), size_t(body.size()))); !info) {
        r.nip11_error = bounded("json: " + info.error().message);
    } else {
        r.nip11_json = body.toStdString();
    }
    if (!r.nip11_error.empty()) m_nip11Failures->inc();
    // A missing or broken NIP-11 document does not fail the probe: many relays have none.
    openSocket(*p);
}

void RelayProber::openSocket(Probe& p) {
    p.phase = Phase::Opening;
    p.phase_ms = steadyMs();
    WebSocketOptions wo;
    wo.connect_timeout_ms = m_options.timeout_ms;
    wo.close_timeout_ms = std::min<int64_t>(m_options.timeout_ms, kMaxCloseTimeout_ms);
    wo.extra_ca_certificates = m_options.extra_ca_certificates;
    p.ws = new WebSocketClient(wo, this);
    const uint64_t id = p.id;
    connect(p.ws, &WebSocketClient::opened, this, [this, id] { onOpened(id); });
    connect(p.ws, &WebSocketClient::textMessage, this, [this, id](QByteArrayView text) { onText(id, text); });
    connect(p.ws, &WebSocketClient::closed, this,
            [this, id](WsError error, const QString& detail) { onWsClosed(id, error, detail); });
    p.ws->open(p.url.toQUrl(), p.address);
}

void RelayProber::onOpened(uint64_t id) {
    Probe* p = find(id);
    if (!p || p->phase != Phase::Opening) return;
    const int64_t now = steadyMs();
    p->result.open_rtt_ms = p->resolve_ms + (now - p->phase_ms);
    p->phase = Phase::Reading;
    p->phase_ms = now;
    protocol::Filter f;
    f.limit = 1;
    if (!p->ws->sendText(QByteArray::fromStdString(protocol::makeReq(kSubId, {f})))) {
        return fail(id, "closed", "the REQ could not be sent");
    }
    armTimer(*p, m_options.timeout_ms);
}

void RelayProber::onText(uint64_t id, QByteArrayView text) {
    Probe* p = find(id);
    if (!p || p->phase != Phase::Reading) return;
    const auto msg = protocol::parseRelayMessage(std::string_view(text.data(), size_t(text.size())));
    if (msg.subscription_id != kSubId) return;  // NOTICE, AUTH, other noise: keep waiting (bounded by the timer)
    switch (msg.type) {
    case protocol::RelayMsgType::Event:
    case protocol::RelayMsgType::Eose: return answer(*p, {});
    case protocol::RelayMsgType::Closed: return answer(*p, msg.message.empty() ? std::string("(no message)") : msg.message);
    default: return;
    }
}

void RelayProber::answer(Probe& p, const std::string& closed_message) {
    p.timer->stop();
    p.result.read_rtt_ms = steadyMs() - p.phase_ms;
    p.result.ok = true;
    p.result.req_closed = bounded(closed_message);
    p.phase = Phase::Closing;
    p.phase_ms = steadyMs();
    // A socket that cannot take the CLOSE is going away already: the close below ends the probe.
    if (closed_message.empty() && !p.ws->sendText(QByteArray::fromStdString(protocol::makeClose(kSubId))))
        qCDebug(lcNet) << "probe" << p.url.text.c_str() << "CLOSE not sent: the socket is closing";
    // Last: close() may report closed() before it returns, which finishes (and frees) the probe.
    p.ws->close(1000, "probe done");
}

void RelayProber::onWsClosed(uint64_t id, WsError error, const QString& detail) {
    Probe* p = find(id);
    if (!p) return;
    const std::string what = std::string(wsErrorName(error)) + ": " + detail.toStdString();
    switch (p->phase) {
    case Phase::Opening:
        if (error == WsError::ConnectTimeout) return fail(id, "timeout", "open");
        return fail(id, "websocket", what);
    case Phase::Reading: return fail(id, "closed", what);
    case Phase::Closing: return finish(id);
    case Phase::Resolving:
    case Phase::FetchingInfo: return;
    }
}

void RelayProber::onTimeout(uint64_t id) {
    Probe* p = find(id);
    if (!p) return;
    if (p->phase == Phase::Resolving) return fail(id, "dns", "no answer from the resolver");
    if (p->phase == Phase::Reading) return fail(id, "timeout", "read");
}

void RelayProber::fail(uint64_t id, const std::string& reason, const std::string& detail) {
    Probe* p = find(id);
    if (!p) return;
    p->result.ok = false;
    p->result.error = bounded(reason + ": " + detail);
    finish(id);
}

void RelayProber::finish(uint64_t id) {
    auto it = m_probes.find(id);
    if (it == m_probes.end()) return;
    std::unique_ptr<Probe> p = std::move(it->second);
    m_probes.erase(it);
    m_known.erase(p->url.text);
    release(*p);
    ProbeResult result = std::move(p->result);
    const std::string label = result.ok ? std::string("ok") : result.error.substr(0, result.error.find(':'));
    countResult(label);
    if (result.ok) {
        ++m_stats.ok;
        m_openRtt->observe(double(result.open_rtt_ms));
        m_readRtt->observe(double(result.read_rtt_ms));
    }
    ++m_stats.finished;
    qCDebug(lcNet) << "probe" << result.url.c_str() << (result.ok ? "ok" : result.error.c_str());
    updateGauges();
    schedulePump();
    emit probeFinished(result);
}

void RelayProber::release(Probe& p) {
    if (p.timer) {
        p.timer->stop();
        p.timer->disconnect(this);
        p.timer->deleteLater();
        p.timer = nullptr;
    }
    if (p.http) {
        p.http->disconnect(this);
        p.http->abort();
        p.http->deleteLater();
        p.http = nullptr;
    }
    if (p.ws) {
        p.ws->disconnect(this);
        p.ws->abort();
        p.ws->deleteLater();
        p.ws = nullptr;
    }
}

void RelayProber::countResult(const std::string& result) {
    auto it = m_results.find(result);
    if (it != m_results.end()) {
        it->second->inc();
        return;
    }
    qCWarning(lcNet) << "probe result without a metrics label:" << result.c_str();
    m_results["other"]->inc();
}

void RelayProber::updateGauges() {
    m_queueDepth->set(double(m_queue.size()));
    m_inFlight->set(double(m_probes.size()));
}

}  // namespace archivist::net
