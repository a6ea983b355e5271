// EngineImpl's ClickHouse sink (docs/clickhouse.md) and the helpers it shares with `archivist ship`.
#include <QDir>
#include <QSysInfo>
#include <fstream>

#include "core/archive/segment_writer.h"
#include "core/engine/engine_impl.h"
#include "core/engine/sink_setup.h"
#include "core/engine/store.h"
#include "core/net/address_policy.h"
#include "core/observe/metrics.h"
#include "core/protocol/hex.h"
#include "core/protocol/sha256.h"

namespace archivist::engine {

Expected<sink::ClickHouseSinkOptions> clickHouseSinkOptions(const ClickHouseConfig& c,
                                                            const std::filesystem::path& data_dir,
                                                            std::shared_ptr<const net::AddressPolicy> policy) {
    if (auto why = checkClickHouseConfig(c); !why.empty()) return makeError("config", "clickhouse: " + why);
    sink::ClickHouseSinkOptions o;
    o.url = QUrl(QString::fromStdString(c.url), QUrl::StrictMode);
    o.database = c.database;
    o.table_prefix = c.table_prefix;
    o.user = c.user;
    if (!c.password_file.empty()) {
        std::ifstream in(c.password_file, std::ios::binary);
        if (!in) return makeError("config", "clickhouse: password_file " + c.password_file + " cannot be read");
        std::getline(in, o.password);
        if (!o.password.empty() && o.password.back() == '\r') o.password.pop_back();
    }
    std::error_code ec;
    const auto absolute = std::filesystem::weakly_canonical(std::filesystem::absolute(data_dir, ec), ec);
    if (c.node.empty()) {
        const auto digest = protocol::sha256(absolute.string());
        QString host = QSysInfo::machineHostName();
        if (host.isEmpty()) host = "archivist";
        o.node = host.toStdString() + "-" + protocol::toHex(digest.data(), 4);
    } else {
        o.node = c.node;
    }
    o.archive_dir = data_dir / "archive";
    o.state_dir = data_dir / "sinks";
    o.sightings_dir = data_dir / "sightings";
    o.batch_bytes = size_t(c.batch_bytes);
    o.policy = std::move(policy);
    return o;
}

archive::Watermark archiveEnd(const std::filesystem::path& archive_dir) {
    const auto segments = archive::listSegments(archive_dir);
    if (segments.empty()) return {};
    std::error_code ec;
    const auto size = std::filesystem::file_size(archive::segmentPath(archive_dir, segments.back()), ec);
    return archive::Watermark{segments.back(), ec ? 0 : uint64_t(size)};
}

SinkView sinkView(const sink::SinkStatus& s) {
    SinkView v;
    v.configured = true;
    v.target = QString::fromStdString(s.target);
    v.node = QString::fromStdString(s.node);
    v.phase = QString::fromLatin1(sink::sinkPhaseName(s.phase));
    v.lag_events = s.lag_events;
    v.lag_seconds = s.lag_seconds;
    v.lag_archive_bytes = s.lag_archive_bytes;
    v.pending = s.pending || s.sightings_pending;
    v.lag_sightings_bytes = s.lag_sightings_bytes;
    v.shipped_sightings = s.shipped_sightings;
    v.shipped_events = s.shipped_events;
    v.events_per_s = s.events_per_s;
    v.wire_bytes_per_s = s.wire_bytes_per_s;
    v.wire_bytes = s.wire_bytes;
    v.archive_bytes = s.archive_bytes;
    v.errors = s.errors;
    v.consecutive_failures = s.consecutive_failures;
    v.last_error = QString::fromStdString(s.last_error);
    v.last_error_at_ms = s.last_error_at_ms;
    v.last_ack_at_ms = s.last_ack_at_ms;
    return v;
}

Expected<void> EngineImpl::startSink() {
    const ClickHouseConfig& c = m_opts.config.clickhouse;
    if (c.url.empty()) return {};
    if (!m_policy) {  // the relay network (started later) shares it
        m_policy = std::make_shared<net::AddressPolicy>();
        for (const auto& cidr : m_opts.config.allow_addresses)
            if (auto r = m_policy->allowText(cidr); !r)
                return makeError("config", "allowed address \"" + cidr + "\": " + r.error().message);
    }
    auto options = clickHouseSinkOptions(c, m_store->paths().root, m_policy);
    if (!options) return options.error();
    auto sink = sink::ClickHouseSink::create(std::move(*options), &m_metrics);
    if (!sink) return sink.error();
    m_chSink = std::move(*sink);
    return {};
}

void EngineImpl::snapshotSink(EngineSnapshot& s) const {
    if (!m_chSink) return;
    const sink::SinkStatus st = m_chSink->status();
    s.sink = sinkView(st);
    s.queues.push_back({"clickhouse batch", qint64(st.buffer_bytes), qint64(st.buffer_capacity)});
}

}  // namespace archivist::engine
