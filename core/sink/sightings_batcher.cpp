#include "core/sink/sightings_batcher.h"

#include <algorithm>

#include "core/archive/segment_format.h"
#include "core/archive/segment_reader.h"
#include "core/archive/segment_writer.h"
#include "core/archive/sightings_log.h"
#include "core/protocol/event_codec.h"
#include "core/protocol/hex.h"
#include "core/protocol/json.h"

namespace archivist::sink {

namespace {

std::string positionText(const SourcePosition& p) { return std::to_string(p.segment) + ":" + std::to_string(p.offset); }

uint64_t fnv(uint64_t h, const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

}  // namespace

SightingsBatcher::SightingsBatcher(std::filesystem::path archive_dir, std::filesystem::path log_dir, std::string node)
    : m_archiveDir(std::move(archive_dir)), m_logDir(std::move(log_dir)), m_node(std::move(node)), m_reader(m_logDir) {}

const std::vector<std::string>* SightingsBatcher::frameIds(uint32_t segment, uint64_t offset, std::string& why) {
    const auto key = std::make_pair(segment, offset);
    if (auto it = m_ids.find(key); it != m_ids.end()) return &it->second;
    archive::SegmentReader reader;
    if (auto r = reader.open(archive::segmentPath(m_archiveDir, segment), segment); !r) {
        why = r.error().message;
        return nullptr;
    }
    reader.seek(offset);
    archive::Frame frame;
    if (!reader.next(frame) || frame.ref.offset != offset) {
        why = "archive frame " + std::to_string(segment) + ":" + std::to_string(offset) + " unreadable: " +
              (reader.stopMessage().empty() ? std::string("quarantined") : reader.stopMessage());
        return nullptr;
    }
    std::vector<std::string> ids;
    std::string_view text(frame.text);
    for (size_t pos = 0; pos < text.size();) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        protocol::Event e;
        ids.push_back(protocol::parseEvent(text.substr(pos, end - pos), e) == protocol::Reject::None ? protocol::toHex(e.id)
                                                                                                        : std::string());
        pos = end + 1;
    }
    while (!m_order.empty() && m_cachedIds + ids.size() > kMaxCachedIds) {
        auto old = m_ids.find(m_order.front());
        if (old != m_ids.end()) {
            m_cachedIds -= old->second.size();
            m_ids.erase(old);
        }
        m_order.pop_front();
    }
    m_cachedIds += ids.size();
    m_order.push_back(key);
    return &m_ids.emplace(key, std::move(ids)).first->second;
}

Expected<SightingsBatch> SightingsBatcher::build(SourcePosition from, SourcePosition horizon, size_t max_rows,
                                                 std::optional<SourcePosition> exact_end) {
    SightingsBatch b;
    b.start = from;
    b.end = from;
    struct Row {
        const std::string* id;
        uint32_t source;
        int64_t seen_at_ms;
    };
    std::vector<Row> rows;
    std::optional<Error> error;
    uint64_t hash = 1469598103934665603ull;
    archive::SightingsLogReader& reader = m_reader;
    auto scanned = reader.scan(
        [&](const archive::SightingsLogReader::Frame& f) {
            const SourcePosition at{f.at.file, f.at.offset};
            const SourcePosition next{f.next.file, f.next.offset};
            if (positionLess(at, from)) return true;
            if (exact_end) {
                if (!positionLess(at, *exact_end)) return false;
            } else {
                if (positionLess(horizon, next)) return false;  // not durable yet
                if (!rows.empty() && rows.size() + f.records.size() > max_rows) {
                    b.full = true;
                    return false;
                }
            }
            for (const auto& rec : f.records) {
                std::string why;
                const auto* ids = frameIds(rec.pos.segment, rec.pos.offset, why);
                const std::string* id = ids && rec.pos.line < ids->size() && !(*ids)[rec.pos.line].empty()
                                            ? &(*ids)[rec.pos.line]
                                            : nullptr;
                if (!id || reader.name(rec.source).empty()) {
                    ++b.skipped;
                    if (b.skipped_example.empty())
                        b.skipped_example = !id ? (why.empty() ? "no event at line " + std::to_string(rec.pos.line) : why)
                                                : "unknown source code " + std::to_string(rec.source);
                    continue;
                }
                rows.push_back(Row{id, rec.source, rec.seen_at_ms});
                hash = fnv(hash, id->data(), id->size());
                hash = fnv(hash, &rec.source, sizeof rec.source);
                hash = fnv(hash, &rec.seen_at_ms, sizeof rec.seen_at_ms);
            }
            b.log_bytes += next.segment == at.segment ? next.offset - at.offset : 0;
            b.end = next;
            return true;
        },
        archive::LogCursor{from.segment, from.offset}, m_primed);
    if (!scanned) return scanned.error();
    m_primed = true;
    if (error) return *error;
    if (exact_end && b.end != *exact_end)
        return makeError("corrupt", "no sightings log frame ends at " + positionText(*exact_end) + " (read up to " +
                                        positionText(b.end) + ")");
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
    b.id = "s" + positionText(b.start) + "-" + positionText(b.end) + "-" + hex;
    b.rows.reserve(rows.size() * 160);
    for (const Row& r : rows) {
        b.rows += "{\"id\":\"" + *r.id + "\",\"relay\":";
        protocol::json::appendQuoted(b.rows, reader.name(r.source));
        b.rows += ",\"seen_at\":" + std::to_string(r.seen_at_ms) + ",\"node\":";
        protocol::json::appendQuoted(b.rows, m_node);
        b.rows += ",\"batch\":\"" + b.id + "\"}\n";
    }
    b.row_count = rows.size();
    return b;
}

SourcePosition SightingsBatcher::positionForTime(int64_t since_s) const {
    SourcePosition out;
    for (uint32_t f : archive::listSightingsFiles(m_logDir)) {
        archive::SegmentReader reader;
        if (!reader.open(archive::sightingsFilePath(m_logDir, f), f)) continue;
        const std::string head = reader.peek(0, archive::kHeaderBytes);
        auto h = archive::parseSegmentHeader(head);
        if (h && h->created_at_s <= since_s) out = SourcePosition{f, 0};
    }
    return out;
}

uint64_t sightingsLagBytes(const std::filesystem::path& log_dir, SourcePosition from, SourcePosition to) {
    return frameBytesBetween(from, to, [&](uint32_t f) {
        std::error_code ec;
        const auto size = std::filesystem::file_size(archive::sightingsFilePath(log_dir, f), ec);
        return ec ? uint64_t(0) : uint64_t(size);
    });
}

}  // namespace archivist::sink
