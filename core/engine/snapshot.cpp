#include "core/engine/snapshot.h"

#include <openssl/evp.h>

#include <chrono>
#include <fstream>
#include <memory>

#include "core/archive/segment_reader.h"
#include "core/archive/segment_writer.h"
#include "core/protocol/event_codec.h"
#include "core/protocol/hex.h"

namespace archivist::engine {

namespace fs = std::filesystem;

namespace {

constexpr size_t kFrameTarget = 1 << 20;  // uncompressed bytes per frame of a rewritten segment

Expected<std::string> fileSha256(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError("io", "cannot read " + path.string());
    std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return makeError("io", "sha256 unavailable");
    std::string buf(1 << 20, '\0');
    while (in) {
        in.read(buf.data(), std::streamsize(buf.size()));
        if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buf.data(), size_t(in.gcount()));
    }
    if (in.bad()) return makeError("io", "cannot read " + path.string());
    unsigned char md[32];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx.get(), md, &len);
    return protocol::toHex(md, len);
}

// New segments in a work directory, moved into the output at the end.
class SegmentSink {
public:
    // `first`: the number of the first segment written.
    static Expected<std::unique_ptr<SegmentSink>> create(const fs::path& work, uint32_t first) {
        std::error_code ec;
        fs::remove_all(work, ec);
        fs::create_directories(work, ec);
        if (ec) return makeError("io", "cannot create " + work.string() + ": " + ec.message());
        // The writer continues the highest segment it finds: an empty file makes it start at `first`.
        { std::ofstream touch(archive::segmentPath(work, first)); }
        auto s = std::unique_ptr<SegmentSink>(new SegmentSink(work));
        archive::ArchiveOptions o;
        o.sync = false;  // synced once, at close
        o.seal_age_s = INT64_MAX / 2;
        s->m_writer = std::make_unique<archive::ArchiveWriter>(work, o);
        if (auto r = s->m_writer->open(); !r) return r.error();
        return s;
    }
    Expected<void> add(std::string_view line) {
        m_buf.append(line);
        m_buf.push_back('\n');
        ++m_lines;
        if (m_buf.size() >= kFrameTarget) return flush();
        return {};
    }
    Expected<void> finish() {
        if (auto r = flush(); !r) return r;
        return m_writer->close();
    }
    const fs::path& dir() const { return m_dir; }

private:
    explicit SegmentSink(fs::path dir) : m_dir(std::move(dir)) {}
    Expected<void> flush() {
        if (m_buf.empty()) return {};
        if (m_writer->shouldSeal())
            if (auto r = m_writer->seal(); !r) return r.error();
        auto r = m_writer->append(m_buf, m_lines);
        if (!r) return r.error();
        m_buf.clear();
        m_lines = 0;
        return {};
    }
    fs::path m_dir;
    std::unique_ptr<archive::ArchiveWriter> m_writer;
    std::string m_buf;
    uint32_t m_lines = 0;
};

std::string jsonStr(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

}  // namespace

Expected<SnapshotReport> snapshotStore(Store& store, const SnapshotOptions& o, const ProgressFn& progress,
                                       const std::atomic<bool>* cancel) {
    const auto started = std::chrono::steady_clock::now();
    const bool filtered = o.since || o.until || !o.kinds.empty();
    std::error_code ec;
    if (fs::exists(o.output, ec) && !fs::is_empty(o.output, ec))
        return makeError("usage", o.output.string() + " exists and is not empty");
    fs::create_directories(o.output, ec);
    if (ec) return makeError("io", "cannot create " + o.output.string() + ": " + ec.message());

    StatsRequest range;
    range.by = StatsBy::Kind;
    range.since = o.since;
    range.until = o.until;
    range.kinds = o.kinds;
    const auto [loDay, hiDay] = dayRange(range);
    const int64_t lo = loDay ? *loDay * 86400 : INT64_MIN;
    const int64_t hi = hiDay ? *hiDay * 86400 + 86399 : INT64_MAX;
    auto wanted = [&](const protocol::Event& e) {
        if (e.created_at < lo || e.created_at > hi) return false;
        return o.kinds.empty() || std::find(o.kinds.begin(), o.kinds.end(), e.kind) != o.kinds.end();
    };

    const fs::path archiveDir = store.paths().archive;
    const auto segments = archive::listSegments(archiveDir);
    const archive::Watermark wm = store.indexWriter().watermark();
    uint64_t bytesTotal = 0, bytesDone = 0;
    for (uint32_t s : segments) bytesTotal += uint64_t(fs::file_size(archive::segmentPath(archiveDir, s), ec));

    SnapshotReport rep;
    const fs::path work = o.output / ".writing";
    std::unique_ptr<SegmentSink> sink;  // filtered: every segment written; unfiltered: the open one
    std::vector<uint32_t> linked;
    auto lastReport = std::chrono::steady_clock::now();
    for (size_t si = 0; si < segments.size(); ++si) {
        const uint32_t seg = segments[si];
        const bool open = si + 1 == segments.size();
        const fs::path path = archive::segmentPath(archiveDir, seg);
        archive::SegmentReader reader;
        if (auto r = reader.open(path, seg); !r) return r.error();
        const bool whole = !filtered && !open;
        if (!whole && !sink) {
            auto s = SegmentSink::create(work, filtered ? 1 : seg);
            if (!s) return s.error();
            sink = std::move(*s);
        }
        archive::Frame frame;
        uint64_t segEvents = 0;
        while (reader.next(frame)) {
            if (open && (seg > wm.segment || (seg == wm.segment && frame.ref.offset >= wm.offset))) break;
            if (cancel && cancel->load()) return makeError("cancelled", "cancelled");
            std::string_view text(frame.text);
            size_t pos = 0;
            while (pos < text.size()) {
                size_t end = text.find('\n', pos);
                if (end == std::string_view::npos) end = text.size();
                const std::string_view line = text.substr(pos, end - pos);
                pos = end + 1;
                protocol::Event e;
                if (protocol::parseEvent(line, e) != protocol::Reject::None ||
                    protocol::checkId(e) == protocol::IdForm::Mismatch)
                    return makeError("corrupt", path.filename().string() + " frame at " + std::to_string(frame.ref.offset) +
                                                    " holds a line that is not a valid event (run `archivist verify`)");
                if (!wanted(e)) continue;
                if (sink && !whole)
                    if (auto r = sink->add(line); !r) return r.error();
                ++segEvents;
                ++rep.kinds[e.kind];
                ++rep.days[dayName(index::dayOf(e.created_at))];
                if (!rep.created_min || e.created_at < *rep.created_min) rep.created_min = e.created_at;
                if (!rep.created_max || e.created_at > *rep.created_max) rep.created_max = e.created_at;
            }
            if (progress && std::chrono::steady_clock::now() - lastReport > std::chrono::seconds(1)) {
                lastReport = std::chrono::steady_clock::now();
                progress(WorkProgress{"snapshot", bytesDone + frame.ref.offset, bytesTotal,
                                      std::chrono::duration<double>(lastReport - started).count()});
            }
        }
        if (!open && reader.stop() != archive::ScanStop::End)
            return makeError("corrupt", "sealed segment " + path.filename().string() + ": " + reader.stopMessage());
        if (reader.stop() == archive::ScanStop::Corrupt)
            return makeError("corrupt", path.filename().string() + ": " + reader.stopMessage());
        rep.events += segEvents;
        bytesDone += reader.fileBytes();
        if (whole) {
            // Verified above: now the sealed file itself.
            const fs::path dst = o.output / path.filename();
            fs::create_hard_link(path, dst, ec);
            bool isLink = !ec;
            if (ec) {
                ec.clear();
                fs::copy_file(path, dst, ec);
                if (ec) return makeError("io", "cannot copy " + path.string() + ": " + ec.message());
            }
            rep.files.push_back({dst.filename().string(), 0, segEvents, {}, isLink});
        } else if (!filtered) {
            rep.files.push_back({archive::segmentPath(o.output, seg).filename().string(), 0, segEvents, {}, false});
        }
    }
    if (sink) {
        if (auto r = sink->finish(); !r) return r.error();
        if (!filtered) rep.files.pop_back();  // listed again below, as written
        for (uint32_t num : archive::listSegments(work)) {
            // Read back: the written file is a valid segment, and its events are counted.
            const fs::path p = archive::segmentPath(work, num);
            archive::SegmentReader check;
            if (auto r = check.open(p, num); !r) return r.error();
            archive::Frame f;
            uint64_t n = 0;
            while (check.next(f)) n += f.events;
            if (check.stop() != archive::ScanStop::End)
                return makeError("io", "the written segment " + p.string() + " does not read back: " + check.stopMessage());
            if (n == 0) continue;  // nothing committed in it: no header-only files
            fs::rename(p, o.output / p.filename(), ec);
            if (ec) return makeError("io", "cannot move " + p.string() + ": " + ec.message());
            rep.files.push_back({p.filename().string(), 0, n, {}, false});
        }
        fs::remove_all(work, ec);
    }
    for (auto& f : rep.files) {
        const fs::path p = o.output / f.name;
        f.bytes = uint64_t(fs::file_size(p, ec));
        auto sum = fileSha256(p);
        if (!sum) return sum.error();
        f.sha256 = *sum;
    }
    // The index's count for the same range: the manifest must match `archivist stats`.
    auto t = researchStats(store.index(), range);
    if (!t) return t.error();
    rep.index_events = t->events;
    if (rep.events > rep.index_events) rep.archived_duplicates = rep.events - rep.index_events;

    std::string m = "{\n  \"format\": \"archivist-snapshot/1\",\n";
    m += "  \"created_at\": " + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                   std::chrono::system_clock::now().time_since_epoch()).count()) + ",\n";
    m += "  \"source\": " + jsonStr(store.paths().root.string()) + ",\n";
    m += "  \"filter\": {\"since\": " + (loDay ? jsonStr(dayName(*loDay)) : "null") +
         ", \"until\": " + (hiDay ? jsonStr(dayName(*hiDay)) : "null") + ", \"kinds\": [";
    for (size_t i = 0; i < o.kinds.size(); ++i) m += (i ? ", " : "") + std::to_string(o.kinds[i]);
    m += "], \"days\": \"whole UTC days of created_at\"},\n";
    m += "  \"events\": " + std::to_string(rep.events) + ",\n";
    m += "  \"index_events\": " + std::to_string(rep.index_events) + ",\n";
    m += "  \"created_at_min\": " + (rep.created_min ? std::to_string(*rep.created_min) : "null") + ",\n";
    m += "  \"created_at_max\": " + (rep.created_max ? std::to_string(*rep.created_max) : "null") + ",\n";
    m += "  \"kinds\": {";
    bool first = true;
    for (const auto& [k, n] : rep.kinds) {
        m += std::string(first ? "" : ", ") + "\"" + std::to_string(k) + "\": " + std::to_string(n);
        first = false;
    }
    m += "},\n  \"days\": {";
    first = true;
    for (const auto& [d, n] : rep.days) {
        m += std::string(first ? "" : ", ") + "\"" + d + "\": " + std::to_string(n);
        first = false;
    }
    m += "},\n  \"files\": [";
    for (size_t i = 0; i < rep.files.size(); ++i) {
        const auto& f = rep.files[i];
        m += std::string(i ? "," : "") + "\n    {\"name\": " + jsonStr(f.name) + ", \"bytes\": " + std::to_string(f.bytes) +
             ", \"events\": " + std::to_string(f.events) + ", \"sha256\": " + jsonStr(f.sha256) +
             ", \"linked\": " + (f.linked ? "true" : "false") + "}";
    }
    m += "\n  ]\n}\n";
    rep.manifest = m;
    const fs::path manifest = o.output / "manifest.json";
    {
        std::ofstream out(manifest, std::ios::binary | std::ios::trunc);
        out << m;
        out.flush();
        if (!out) return makeError("io", "cannot write " + manifest.string());
    }
    if (progress)
        progress(WorkProgress{"snapshot", bytesTotal, bytesTotal,
                              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()});
    return rep;
}

}  // namespace archivist::engine
