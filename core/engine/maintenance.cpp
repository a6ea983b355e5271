#include "core/engine/maintenance.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <string_view>
#include <unordered_map>

#include "core/archive/quarantine.h"
#include "core/archive/segment_reader.h"
#include "core/archive/segment_writer.h"
#include "core/engine/frame_indexer.h"
#include "core/index/index_reader.h"
#include "core/index/tag_key.h"
#include "core/observe/log.h"
#include "core/protocol/event_codec.h"
#include "core/protocol/hex.h"

namespace archivist::engine {

namespace {

class Ticker {
public:
    Ticker(const ProgressFn& fn, std::string phase) : m_fn(fn), m_start(std::chrono::steady_clock::now()) {
        m_p.phase = std::move(phase);
    }
    void set(uint64_t done, uint64_t total, bool force = false) {
        m_p.done = done;
        m_p.total = total;
        const auto now = std::chrono::steady_clock::now();
        if (!m_fn || (!force && now - m_last < std::chrono::milliseconds(500))) return;
        m_last = now;
        m_p.seconds = std::chrono::duration<double>(now - m_start).count();
        m_fn(m_p);
    }

private:
    const ProgressFn& m_fn;
    WorkProgress m_p;
    std::chrono::steady_clock::time_point m_start, m_last{};
};

bool cancelled(const std::atomic<bool>* c) { return c && c->load(); }

// Splits frame text into lines (without '\n').
std::vector<std::string_view> splitLines(std::string_view text) {
    std::vector<std::string_view> lines;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        lines.push_back(text.substr(pos, end - pos));
        pos = end + 1;
    }
    return lines;
}

struct FrameKey {
    uint32_t segment;
    uint64_t offset;
    bool operator<(const FrameKey& o) const { return segment != o.segment ? segment < o.segment : offset < o.offset; }
};

std::string describe(const archive::FrameRef& r) {
    return "segment " + std::to_string(r.segment) + " offset " + std::to_string(r.offset);
}

}  // namespace

Expected<VerifyReport> verifyStore(Store& store, const ProgressFn& progress, const std::atomic<bool>* cancel) {
    VerifyReport rep;
    auto problem = [&](std::string text) {
        ++rep.problems;
        if (rep.details.size() < VerifyReport::kMaxDetails) rep.details.push_back(std::move(text));
    };
    auto reader = index::IndexReader::open(store.paths().index);
    if (!reader) return reader.error();
    auto stats = (*reader)->stats();
    if (!stats) return stats.error();
    rep.indexed_events = stats->events;

    std::map<FrameKey, index::FrameRow> indexedFrames;
    auto frames = (*reader)->forEachFrame([&](const index::FrameRow& f) {
        indexedFrames.emplace(FrameKey{f.frame.ref.segment, f.frame.ref.offset}, f);
        return true;
    });
    if (!frames) return frames.error();

    Ticker tick(progress, "verify");
    const auto segments = archive::listSegments(store.paths().archive);
    rep.segments = segments.size();
    std::map<FrameKey, bool> seenFrames;
    for (uint32_t seg : segments) {
        archive::SegmentReader sr;
        if (auto r = sr.open(archive::segmentPath(store.paths().archive, seg), seg); !r) {
            problem("segment " + std::to_string(seg) + ": " + r.error().message);
            continue;
        }
        archive::Frame frame;
        // At a stop: damage is reported and the check goes on after it (the frames behind it are
        // checked too); false at the end of the segment.
        auto goOnAfterStop = [&] {
            if (sr.stop() == archive::ScanStop::End) return false;
            if (sr.readFailed()) {
                problem("segment " + std::to_string(seg) + ": read error at offset " + std::to_string(sr.stopOffset()) +
                        ": " + sr.stopMessage());
                return false;
            }
            const auto region = archive::describeDamage(sr, seg);
            ++rep.damaged_regions;
            problem("segment " + std::to_string(seg) + ": " + region.why + " at offset " + std::to_string(region.offset) +
                    " — " + std::to_string(region.length) + " damaged bytes" +
                    (region.at_end ? " up to the end of the file" : " up to the next intact frame") +
                    " (run `archivist salvage` to quarantine them and recover what they hold)");
            sr.seek(region.offset + region.length);
            return true;
        };
        for (;;) {
            if (!sr.next(frame)) {
                if (goOnAfterStop()) continue;
                break;
            }
            if (cancelled(cancel)) return makeError("cancelled", "verify cancelled");
            ++rep.frames;
            const FrameKey key{frame.ref.segment, frame.ref.offset};
            auto it = indexedFrames.find(key);
            const auto lines = splitLines(frame.text);
            rep.archived_events += lines.size();
            if (it == indexedFrames.end()) {
                problem("frame at " + describe(frame.ref) + " (" + std::to_string(lines.size()) +
                        " events) is not in the index");
                continue;
            }
            seenFrames[key] = true;
            const archive::AppendedFrame& idx = it->second.frame;
            if (idx.ref.length != frame.ref.length) problem("frame at " + describe(frame.ref) + ": length differs from the index");
            if (idx.checksum != frame.checksum) problem("frame at " + describe(frame.ref) + ": checksum differs from the index");
            if (idx.events != lines.size()) problem("frame at " + describe(frame.ref) + ": line count differs from the index");
            for (size_t i = 0; i < lines.size(); ++i) {
                protocol::Event ev;
                if (protocol::parseEvent(lines[i], ev) != protocol::Reject::None) {
                    problem("frame at " + describe(frame.ref) + " line " + std::to_string(i) + ": not a valid event");
                    continue;
                }
                if (protocol::checkId(ev) == protocol::IdForm::Mismatch)
                    problem("event " + protocol::toHex(ev.id) + ": id does not match its content");
                auto row = (*reader)->findById(ev.id);
                if (!row) return row.error();
                if (!*row) {
                    problem("event " + protocol::toHex(ev.id) + " at " + describe(frame.ref) + " is not indexed");
                } else if (!((*row)->frame == frame.ref) || (*row)->line != i) {
                    problem("event " + protocol::toHex(ev.id) + " at " + describe(frame.ref) + " line " +
                            std::to_string(i) + " is indexed at " + describe((*row)->frame) + " line " +
                            std::to_string((*row)->line) + " (archived twice?)");
                }
            }
            tick.set(rep.archived_events, rep.indexed_events);
        }
    }
    auto quarantine = archive::listQuarantine(store.paths().archive);
    if (!quarantine) problem("quarantine: " + quarantine.error().message);
    for (const auto& e : quarantine ? *quarantine : std::vector<archive::QuarantineEntry>{}) {
        if (e.state == archive::QuarantineState::Pending) {
            ++rep.quarantine_pending;
            problem("quarantined, awaiting salvage: " + archive::describeEntry(e) +
                    " (run `archivist salvage`, or `archivist salvage --accept-loss` if it cannot be read)");
        } else {
            ++rep.quarantine_done;
            rep.notes.push_back(std::string("quarantine ") + archive::quarantineStateName(e.state) + ": " +
                                archive::describeEntry(e) + " — " + std::to_string(e.recovered_events) +
                                " events recovered, " + (e.lost_is_estimate ? "about " : "") +
                                std::to_string(e.lost_events) + " lost");
        }
    }
    for (const auto& [key, row] : indexedFrames)
        if (!seenFrames.count(key)) problem("indexed frame at " + describe(row.frame.ref) + " is missing from the archive");
    if (rep.archived_events != rep.indexed_events)
        problem("the archive holds " + std::to_string(rep.archived_events) + " events, the index " +
                std::to_string(rep.indexed_events));
    tick.set(rep.archived_events, rep.indexed_events, true);
    return rep;
}

Expected<ReindexReport> reindexStore(Store& store, const ProgressFn& progress, const std::atomic<bool>* cancel) {
    ReindexReport rep;
    index::IndexWriter& writer = store.indexWriter();
    if (auto r = writer.resetForReindex(); !r) return r.error();
    auto source = writer.sourceId("reindex");
    if (!source) return source.error();
    uint64_t totalBytes = 0;
    for (uint32_t seg : archive::listSegments(store.paths().archive)) {
        std::error_code ec;
        totalBytes += std::filesystem::file_size(archive::segmentPath(store.paths().archive, seg), ec);
    }
    Ticker tick(progress, "reindex");
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    uint64_t bytes = 0;
    auto recovered = archive::recover(store.paths().archive, archive::Watermark{},
                                      [&](const archive::Frame& frame) -> Expected<void> {
                                          if (cancelled(cancel)) return makeError("cancelled", "reindex cancelled");
                                          auto r = indexFrame(writer, frame, *source, now);
                                          if (!r) return r.error();
                                          ++rep.frames;
                                          rep.events += r->indexed;
                                          rep.damaged_lines += r->damaged_lines;
                                          rep.duplicate_lines += r->already_indexed;
                                          bytes += frame.ref.length;
                                          tick.set(bytes, totalBytes);
                                          return {};
                                      },
                                      store.fileSystem());
    if (!recovered) return recovered.error();
    rep.recovery = *recovered;
    tick.set(totalBytes, totalBytes, true);
    return rep;
}

Expected<uint64_t> exportEvents(Store& store, const std::vector<protocol::Filter>& filters, std::FILE* out,
                                const ProgressFn& progress, const std::atomic<bool>* cancel, const std::string& seen_by,
                                uint64_t* skipped_damaged) {
    auto reader = index::IndexReader::open(store.paths().index);
    if (!reader) return reader.error();
    auto total = seen_by.empty() ? (*reader)->count(filters) : (*reader)->countSeenBy(filters, seen_by);
    if (!total) return total.error();
    Ticker tick(progress, "export");
    // Pages in (created_at, id) order; within a page, each frame is decompressed once.
    constexpr size_t kPage = 32768;
    std::optional<index::Cursor> cursor;
    uint64_t written = 0;
    uint64_t read = 0;
    // `#x` conditions are matched by key in the index; each candidate is confirmed exactly here.
    const std::vector<protocol::Filter> recheck = index::tagRecheckFilters(filters);
    uint64_t unconfirmed = 0;
    for (;;) {
        if (cancelled(cancel)) return makeError("cancelled", "export cancelled");
        auto page = seen_by.empty() ? (*reader)->query(filters, cursor, kPage, index::Order::OldestFirst)
                                    : (*reader)->querySeenBy(filters, seen_by, cursor, kPage, index::Order::OldestFirst);
        if (!page) return page.error();
        if (page->empty()) break;
        std::map<FrameKey, std::vector<size_t>> byFrame;  // frame → row positions in the page
        for (size_t i = 0; i < page->size(); ++i)
            byFrame[FrameKey{(*page)[i].frame.segment, (*page)[i].frame.offset}].push_back(i);
        std::vector<std::string> lines(page->size());
        std::vector<bool> skip(page->size(), false);
        for (const auto& [key, rows] : byFrame) {
            auto text = archive::readFrame(store.paths().archive, (*page)[rows.front()].frame);
            if (!text && text.error().code == "corrupt" && skipped_damaged) {
                for (size_t i : rows) skip[i] = true;
                *skipped_damaged += rows.size();
                continue;
            }
            if (!text) {
                if (text.error().code != "corrupt") return text.error();
                return makeError("corrupt", text.error().message +
                                                " (run `archivist salvage`, or export around the damage with --skip-damaged)");
            }
            const auto split = splitLines(*text);
            for (size_t i : rows) {
                const auto& row = (*page)[i];
                if (row.line >= split.size())
                    return makeError("corrupt", "event " + protocol::toHex(row.id) + " points past the end of its frame at " +
                                                    describe(row.frame) + " (run `archivist verify`)");
                lines[i].assign(split[row.line]);
            }
        }
        for (size_t i = 0; i < lines.size(); ++i) {
            if (skip[i]) continue;
            const std::string& line = lines[i];
            if (!recheck.empty()) {
                protocol::Event ev;
                if (protocol::parseEvent(line, ev) != protocol::Reject::None)
                    return makeError("corrupt", "event " + protocol::toHex((*page)[i].id) + " at " +
                                                    describe((*page)[i].frame) +
                                                    " is not a valid event (run `archivist verify`)");
                if (!index::tagsConfirmed(recheck, ev)) {
                    ++unconfirmed;
                    continue;
                }
            }
            if (std::fwrite(line.data(), 1, line.size(), out) != line.size() || std::fputc('\n', out) == EOF)
                return makeError("io", "cannot write the export output");
            ++written;
        }
        read += page->size();
        cursor = index::Cursor{page->back().created_at, page->back().id};
        tick.set(read, *total);
        if (page->size() < kPage) break;
    }
    std::fflush(out);
    tick.set(read, *total, true);
    if (unconfirmed)
        qCWarning(lcIndex).noquote() << unconfirmed
                                     << "events matched a tag condition by key only and were left out of the export";
    return written;
}

Expected<StoreStats> storeStats(Store& store) {
    auto reader = index::IndexReader::open(store.paths().index);
    if (!reader) return reader.error();
    auto st = (*reader)->stats();
    if (!st) return st.error();
    StoreStats s;
    s.events = st->events;
    s.frames = st->frames;
    s.kinds = st->kinds;
    s.index_bytes = st->index_bytes;
    s.fts = st->fts;
    const auto segs = archive::listSegments(store.paths().archive);
    s.segments = static_cast<uint32_t>(segs.size());
    for (uint32_t seg : segs) {
        std::error_code ec;
        const auto size = std::filesystem::file_size(archive::segmentPath(store.paths().archive, seg), ec);
        if (!ec) s.archive_bytes += size;
    }
    return s;
}

std::string statsJson(const StoreStats& s) {
    std::string out = "{\"events\":" + std::to_string(s.events) + ",\"segments\":" + std::to_string(s.segments) +
                      ",\"frames\":" + std::to_string(s.frames) +
                      ",\"archive_bytes\":" + std::to_string(s.archive_bytes) +
                      ",\"index_bytes\":" + std::to_string(s.index_bytes) +
                      ",\"fts\":" + (s.fts ? "true" : "false") + ",\"kinds\":{";
    for (size_t i = 0; i < s.kinds.size(); ++i) {
        if (i) out += ',';
        out += "\"" + std::to_string(s.kinds[i].first) + "\":" + std::to_string(s.kinds[i].second);
    }
    out += "}}";
    return out;
}

}  // namespace archivist::engine
