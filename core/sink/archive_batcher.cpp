#include "core/sink/archive_batcher.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "core/archive/segment_format.h"
#include "core/archive/segment_reader.h"
#include "core/archive/segment_writer.h"
#include "core/protocol/event.h"
#include "core/protocol/event_codec.h"
#include "core/protocol/json.h"
#include "core/sink/clickhouse_schema.h"

namespace archivist::sink {

namespace {

// Byte layout of a canonical event line (core/protocol/event_codec.h):
// {"id":"<64 hex>","pubkey":"<64 hex>","created_at":<digits>,"kind":…
constexpr std::string_view kIdKey = "{\"id\":\"";
constexpr size_t kIdAt = 7;
constexpr std::string_view kPubkeyKey = "\",\"pubkey\":\"";
constexpr size_t kPubkeyKeyAt = kIdAt + 64;
constexpr size_t kPubkeyAt = kPubkeyKeyAt + 12;
constexpr std::string_view kCreatedKey = "\",\"created_at\":";
constexpr size_t kCreatedKeyAt = kPubkeyAt + 64;
constexpr size_t kCreatedAt = kCreatedKeyAt + 15;

bool canonicalFields(std::string_view line, int64_t& created_at, std::string_view& pubkey) {
    if (line.size() < kCreatedAt + 2 || line.back() != '}') return false;
    if (line.substr(0, kIdAt) != kIdKey || line.substr(kPubkeyKeyAt, kPubkeyKey.size()) != kPubkeyKey ||
        line.substr(kCreatedKeyAt, kCreatedKey.size()) != kCreatedKey)
        return false;
    const size_t comma = line.find(',', kCreatedAt);
    if (comma == std::string_view::npos) return false;
    uint64_t v = 0;
    if (!protocol::json::parseUnsigned(line.substr(kCreatedAt, comma - kCreatedAt), uint64_t(INT64_MAX), v))
        return false;
    created_at = int64_t(v);
    pubkey = line.substr(kPubkeyAt, 64);
    return true;
}

uint64_t mixHash(uint64_t h, uint64_t v) {
    // FNV-1a over the 8 bytes of v: the frame checksums are already SHA-256 prefixes, so this only
    // needs to be order-sensitive, not cryptographic.
    for (int i = 0; i < 8; ++i) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 0x100000001b3ull;
    }
    return h;
}

std::string positionText(const SourcePosition& p) {
    return std::to_string(p.segment) + ":" + std::to_string(p.offset);
}

}  // namespace

bool appendShipRow(std::string& out, std::string_view line, std::string_view node, std::string_view batch,
                   int64_t& created_at, std::string& pubkey_hex) {
    std::string_view pubkey;
    std::string canonical;
    if (!canonicalFields(line, created_at, pubkey)) {
        // Not in canonical form (never written so by this version): ship the canonical
        // serialisation of the same event, which ClickHouse reads the same way.
        protocol::Event ev;
        if (protocol::parseEvent(line, ev) != protocol::Reject::None) return false;
        protocol::appendEventJson(canonical, ev);
        if (!canonicalFields(canonical, created_at, pubkey)) return false;
        line = canonical;
    }
    pubkey_hex.assign(pubkey);
    out.append(line.data(), line.size() - 1);
    out += ",\"node\":";
    protocol::json::appendQuoted(out, node);
    out += ",\"batch\":";
    protocol::json::appendQuoted(out, batch);
    out += "}\n";
    return true;
}

std::string ShipBatch::unconfirmedRows() const {
    bool anyConfirmed = false;
    for (const auto& [p, part] : parts) anyConfirmed = anyConfirmed || part.confirmed;
    if (!anyConfirmed) return rows;
    std::string out;
    for (const RowRef& r : refs) {
        auto it = parts.find(r.partition);
        if (it != parts.end() && it->second.confirmed) continue;
        out.append(rows, r.begin, r.length);
    }
    return out;
}

uint64_t ShipBatch::unconfirmedRowCount() const {
    uint64_t n = 0;
    for (const auto& [p, part] : parts)
        if (!part.confirmed) n += part.rows;
    return n;
}

size_t ShipBatch::memoryBytes() const {
    size_t n = rows.capacity() + refs.capacity() * sizeof(RowRef) + skipped_example.capacity();
    for (const auto& [p, part] : parts) n += part.pubkeys.size() * (64 + 48);
    return n;
}

ArchiveBatcher::ArchiveBatcher(std::filesystem::path archive_dir, std::string node)
    : m_dir(std::move(archive_dir)), m_node(std::move(node)) {}

int64_t ArchiveBatcher::segmentCreatedAt(uint32_t segment) {
    if (auto it = m_createdAt.find(segment); it != m_createdAt.end()) return it->second;
    std::ifstream in(archive::segmentPath(m_dir, segment), std::ios::binary);
    std::string head(archive::kHeaderBytes, '\0');
    in.read(head.data(), std::streamsize(head.size()));
    head.resize(size_t(std::max<std::streamsize>(0, in.gcount())));
    auto h = archive::parseSegmentHeader(head);
    const int64_t t = h ? h->created_at_s : 0;
    if (h) m_createdAt[segment] = t;
    return t;
}

SourcePosition ArchiveBatcher::positionForTime(int64_t since_s) {
    SourcePosition best{};
    for (uint32_t s : archive::listSegments(m_dir)) {
        if (segmentCreatedAt(s) > since_s) break;
        best = SourcePosition{s, 0};
    }
    return best;
}

Expected<ShipBatch> ArchiveBatcher::build(SourcePosition from, SourcePosition horizon, const BatchLimits& limits,
                                          std::optional<SourcePosition> exact_end) {
    const SourcePosition stop_at = exact_end ? *exact_end : horizon;
    if (positionLess(stop_at, from))
        return makeError("ahead", "the sink's position " + positionText(from) + " lies beyond the archive's end " +
                                      positionText(stop_at));
    ShipBatch b;
    b.start = from;
    b.end = from;
    std::vector<archive::Frame> frames;
    size_t raw = 0;
    uint64_t lines = 0;
    uint64_t hash = 0xcbf29ce484222325ull;
    archive::SegmentReader reader;
    const std::vector<uint32_t> segments = archive::listSegments(m_dir);
    uint32_t segment = std::max<uint32_t>(from.segment, segments.empty() ? 0 : segments.front());
    bool opened = false;
    bool reached_stop = false;
    uint64_t at = 0;  // where the next frame starts in `segment`
    while (segment != 0 && segment <= stop_at.segment) {
        const bool last = segment == stop_at.segment;
        if (!opened) {
            const auto path = archive::segmentPath(m_dir, segment);
            std::error_code ec;
            if (!std::filesystem::exists(path, ec))
                return makeError("corrupt", "archive segment " + std::to_string(segment) + " is missing");
            if (auto r = reader.open(path, segment); !r) return r.error();
            opened = true;
            at = std::max(segment == from.segment ? from.offset : 0, reader.firstFrameOffset());
            reader.seek(at);
        }
        // Past the durable end the writer may be appending: never read there.
        if (last && at >= stop_at.offset) {
            reached_stop = true;
            break;
        }
        archive::Frame f;
        if (!reader.next(f)) {
            if (reader.stop() == archive::ScanStop::End && !last) {
                // A sealed segment read to its end: go on with the next one.
                b.end = SourcePosition{segment, reader.fileBytes()};
                ++segment;
                opened = false;
                continue;
            }
            if (reader.stop() == archive::ScanStop::End)
                return makeError("corrupt", "archive segment " + std::to_string(segment) + " ends at " +
                                                std::to_string(reader.fileBytes()) + ", before its durable end " +
                                                std::to_string(stop_at.offset));
            return makeError("corrupt", reader.path().string() + " @" + std::to_string(reader.stopOffset()) + ": " +
                                            reader.stopMessage() + (reader.readFailed() ? " (read error)" : ""));
        }
        const uint64_t frame_end = f.ref.offset + f.ref.length;
        if (last && frame_end > stop_at.offset)
            return makeError("corrupt", "no frame of segment " + std::to_string(segment) + " ends at " +
                                            std::to_string(stop_at.offset));
        at = frame_end;
        b.end = SourcePosition{segment, frame_end};
        b.archive_bytes += f.ref.length;
        ++b.frames;
        lines += f.events;
        raw += f.text.size();
        hash = mixHash(hash, f.checksum);
        frames.push_back(std::move(f));
        if (last && frame_end == stop_at.offset) {
            reached_stop = true;
            break;
        }
        if (!exact_end && (raw >= limits.max_bytes || lines >= limits.max_rows)) {
            b.full = true;
            break;
        }
    }
    // Between the last frame and the stop there is no frame (a segment header, or nothing): the
    // position may move there, so that a caught-up sink stands exactly at the horizon.
    if (reached_stop && positionLess(b.end, stop_at)) b.end = stop_at;
    if (exact_end && b.end != *exact_end)
        return makeError("corrupt", "the archive has no frame boundary at " + positionText(*exact_end));
    if (b.frames == 0) return b;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
    b.id = positionText(b.start) + "-" + positionText(b.end) + "-" + hex;
    b.rows.reserve(raw + size_t(lines) * (m_node.size() + b.id.size() + 24));
    b.refs.reserve(size_t(lines));
    std::string pubkey;
    for (archive::Frame& f : frames) {
        const std::string_view text = f.text;
        size_t pos = 0;
        while (pos < text.size()) {
            const size_t nl = text.find('\n', pos);
            const size_t end = nl == std::string_view::npos ? text.size() : nl;
            const std::string_view line = text.substr(pos, end - pos);
            pos = end + 1;
            int64_t created_at = 0;
            const size_t begin = b.rows.size();
            if (!appendShipRow(b.rows, line, m_node, b.id, created_at, pubkey)) {
                b.rows.resize(begin);
                if (b.skipped_lines++ == 0)
                    b.skipped_example = "segment " + std::to_string(f.ref.segment) + " frame @" +
                                        std::to_string(f.ref.offset) + ": a line that is not an event (" +
                                        std::string(line.substr(0, 80)) + ")";
                continue;
            }
            const uint32_t partition = monthPartition(created_at);
            b.refs.push_back({uint32_t(begin), uint32_t(b.rows.size() - begin), partition});
            BatchPart& part = b.parts[partition];
            ++part.rows;
            part.pubkeys.insert(pubkey);
            ++b.row_count;
        }
        std::string().swap(f.text);  // free each frame as soon as its rows exist
    }
    return b;
}

Expected<uint64_t> ArchiveBatcher::countRows(SourcePosition from, SourcePosition to) {
    uint64_t n = 0;
    SourcePosition at = from;
    BatchLimits limits;
    limits.max_bytes = 64u << 20;
    limits.max_rows = 1u << 20;
    while (positionLess(at, to)) {
        auto b = build(at, to, limits);
        if (!b) return b.error();
        if (b->end == at) break;
        n += b->row_count + b->skipped_lines;
        at = b->end;
    }
    return n;
}

}  // namespace archivist::sink
