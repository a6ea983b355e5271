#include "core/engine/maintenance.h"

#include <algorithm>
#include <cstring>
#include <chrono>
#include <filesystem>
#include <map>
#include <string_view>
#include <unordered_map>

#include "core/archive/quarantine.h"
#include "core/archive/segment_reader.h"
#include "core/archive/segment_writer.h"
#include "core/engine/frame_indexer.h"
#include "core/index/bulk_build.h"
#include "core/index/fts.h"
#include "core/index/index_reader.h"
#include "core/index/layout.h"
#include "core/index/tag_key.h"
#include "core/observe/log.h"
#include "core/protocol/event_codec.h"
#include "core/protocol/hex.h"
#include "core/util/lines.h"

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
    auto reader = index::IndexReader::open(store.index());
    if (!reader) return reader.error();
    auto stats = (*reader)->stats();
    if (!stats) return stats.error();
    rep.indexed_events = stats->events;

    // The index's own files: every file of the directory is in the catalog, each catalog file is
    // intact, and every row of a part lies in the part's month.
    std::shared_ptr<index::Index> idx = (*reader)->index();
    for (const auto& f : idx->unknownFiles())
        problem("file " + f.string() + " is in the index directory but not in its catalog (an orphan: remove it, "
                "or run `archivist reindex` if it holds events the index is missing)");
    {
        auto snap = idx->snapshot();
        std::vector<index::FilePtr> files = snap->hot;
        for (const auto& [b, v] : snap->parts) files.insert(files.end(), v.begin(), v.end());
        for (const auto& f : files) {
            if (cancelled(cancel)) return makeError("cancelled", "verify cancelled");
            auto db = index::Db::open(f->path, index::Db::Mode::ReadOnly, f->kind == index::FileKind::Part);
            if (!db) {
                problem(f->path.string() + ": " + db.error().message);
                continue;
            }
            if (auto r = db->quickCheck(10); !r) {
                problem(r.error().message);
                continue;
            }
            if (f->kind != index::FileKind::Part) continue;
            auto misplaced = db->prepare("SELECT id, created_at FROM events WHERE created_at < ? OR created_at > ? LIMIT 20");
            if (!misplaced) return misplaced.error();
            misplaced->bind(1, index::bucketLo(f->bucket)).bind(2, index::bucketHi(f->bucket));
            while (misplaced->step() == SQLITE_ROW) {
                protocol::Bytes32 id{};
                if (auto b = misplaced->blob(0); b.size() == 32) std::memcpy(id.data(), b.data(), 32);
                problem("event " + protocol::toHex(id) + " (created_at " + std::to_string(misplaced->i64(1)) +
                        ") is in the part " + f->path.filename().string() + " of " + index::bucketName(f->bucket) +
                        " but belongs to " + index::bucketName(index::bucketOf(misplaced->i64(1))));
            }
        }
    }

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
    // Full-text documents each lane's file must hold: the indexed events with content.
    const uint32_t lanes = idx->lanes();
    std::vector<uint64_t> ftsExpected(lanes, 0);
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
            const auto lines = util::splitLines(frame.text);
            rep.archived_events += lines.size();
            if (it == indexedFrames.end()) {
                problem("frame at " + describe(frame.ref) + " (" + std::to_string(lines.size()) +
                        " events) is not in the index");
                continue;
            }
            seenFrames[key] = true;
            const archive::AppendedFrame& idxFrame = it->second.frame;
            if (idxFrame.ref.length != frame.ref.length) problem("frame at " + describe(frame.ref) + ": length differs from the index");
            if (idxFrame.checksum != frame.checksum) problem("frame at " + describe(frame.ref) + ": checksum differs from the index");
            if (idxFrame.events != lines.size()) problem("frame at " + describe(frame.ref) + ": line count differs from the index");
            for (size_t i = 0; i < lines.size(); ++i) {
                protocol::Event ev;
                if (protocol::parseEvent(lines[i], ev) != protocol::Reject::None) {
                    problem("frame at " + describe(frame.ref) + " line " + std::to_string(i) + ": not a valid event");
                    continue;
                }
                if (protocol::checkId(ev) == protocol::IdForm::Mismatch)
                    problem("event " + protocol::toHex(ev.id) + ": id does not match its content");
                auto rows = (*reader)->findAllById(ev.id);
                if (!rows) return rows.error();
                if (rows->empty()) {
                    problem("event " + protocol::toHex(ev.id) + " at " + describe(frame.ref) + " is not indexed");
                    continue;
                }
                if (!ev.content.empty()) ++ftsExpected[index::laneOf(ev.id, lanes)];
                if (rows->size() > 1) {
                    std::string where;
                    for (const auto& [row, place] : *rows) where += " " + place.file.filename().string();
                    problem("event " + protocol::toHex(ev.id) + " is indexed " + std::to_string(rows->size()) +
                            " times (in" + where + ")");
                }
                const auto& [row, place] = rows->front();
                if (!(row.frame == frame.ref) || row.line != i) {
                    problem("event " + protocol::toHex(ev.id) + " at " + describe(frame.ref) + " line " +
                            std::to_string(i) + " is indexed at " + describe(row.frame) + " line " +
                            std::to_string(row.line) + " (archived twice?)");
                }
                if (place.kind == index::FileKind::Part && place.bucket != index::bucketOf(ev.created_at))
                    problem("event " + protocol::toHex(ev.id) + " is in the part " + place.file.filename().string() +
                            " of " + index::bucketName(place.bucket) + " but belongs to " +
                            index::bucketName(index::bucketOf(ev.created_at)));
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
    if (idx->fts()) {
        // A live index's lanes may still hold documents of committed rows (a bulk load buffers
        // them for up to a second): written first, so that each file's count is final.
        if (auto r = idx->commitFullText(); !r) problem("full-text documents still buffered: " + r.error().message);
    }
    if (idx->fts())
        for (uint32_t l = 0; l < lanes; ++l) {
            auto db = index::Db::open(idx->ftsPath(l), index::Db::Mode::ReadOnly);
            if (!db) {
                problem(db.error().message);
                continue;
            }
            auto docs = index::ftsDocumentCount(*db);  // reads FTS5's record: no tokenizer needed
            if (!docs) {
                problem(idx->ftsPath(l).string() + ": " + docs.error().message);
                continue;
            }
            if (*docs != ftsExpected[l])
                problem("the full-text index of lane " + std::to_string(l) + " holds " + std::to_string(*docs) +
                        " documents; the archive has " + std::to_string(ftsExpected[l]) +
                        " indexed events with content in that lane");
        }
    if (rep.archived_events != rep.indexed_events)
        problem("the archive holds " + std::to_string(rep.archived_events) + " events, the index " +
                std::to_string(rep.indexed_events));
    tick.set(rep.archived_events, rep.indexed_events, true);
    return rep;
}

Expected<ReindexReport> reindexStore(Store& store, const ProgressFn& progress, const std::atomic<bool>* cancel) {
    std::shared_ptr<index::Index> live = store.index();
    index::IndexOptions opts = live->options();
    opts.read_only = false;
    opts.lanes = live->lanes();
    opts.fts = live->fts();
    auto gen = index::Index::createGeneration(store.paths().index, opts);
    if (!gen) return gen.error();
    const std::filesystem::path genDir = (*gen)->dir();
    auto discard = [&] {
        (*gen)->close();
        gen->reset();
        std::error_code ec;
        std::filesystem::remove_all(genDir, ec);
    };
    Ticker tick(progress, "reindex");
    index::BulkOptions bo;
    bo.seen_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count();
    bo.cancel = cancel;
    bo.progress = [&](const index::BulkProgress& p) { tick.set(p.bytes_done, p.bytes_total); };
    auto built = index::bulkBuild(**gen, store.paths().archive, bo);
    if (!built) {
        discard();
        return built.error();
    }
    // When each segment was sealed is not in the archive: carried over.
    auto sealed = store.indexWriter().sealedSegments();
    if (!sealed) {
        discard();
        return sealed.error();
    }
    for (const auto& s : *sealed)
        if (auto r = (*gen)->markSegmentSealed(s.segment, s.bytes, s.sealed_at_s); !r) {
            discard();
            return r.error();
        }
    if (auto r = store.replaceIndex(*gen); !r) {
        discard();
        return r.error();
    }
    ReindexReport rep;
    rep.frames = built->frames;
    rep.events = built->events;
    rep.damaged_lines = built->damaged_lines;
    rep.duplicate_lines = built->duplicate_lines;
    // The build stops at damage (or a torn tail): recovery goes on from where it stopped — it
    // quarantines the damaged bytes (decision 0013) and indexes the frames after them.
    auto source = store.indexWriter().sourceId("reindex");
    if (!source) return source.error();
    auto recovered = archive::recover(store.paths().archive, built->watermark,
                                      [&](const archive::Frame& frame) -> Expected<void> {
                                          if (cancelled(cancel)) return makeError("cancelled", "reindex cancelled");
                                          auto r = indexFrame(store.indexWriter(), frame, *source, bo.seen_at_ms);
                                          if (!r) return r.error();
                                          ++rep.frames;
                                          rep.events += r->indexed;
                                          rep.damaged_lines += r->damaged_lines;
                                          rep.duplicate_lines += r->already_indexed;
                                          return {};
                                      },
                                      store.fileSystem());
    if (!recovered) return recovered.error();
    rep.recovery = *recovered;
    tick.set(1, 1, true);
    return rep;
}

Expected<uint64_t> exportEvents(Store& store, const std::vector<protocol::Filter>& filters, std::FILE* out,
                                const ProgressFn& progress, const std::atomic<bool>* cancel, const std::string& seen_by,
                                uint64_t* skipped_damaged) {
    auto reader = index::IndexReader::open(store.index());
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
            const auto split = util::splitLines(*text);
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
    auto reader = index::IndexReader::open(store.index());
    if (!reader) return reader.error();
    auto st = (*reader)->stats();
    if (!st) return st.error();
    StoreStats s;
    s.events = st->events;
    s.frames = st->frames;
    s.kinds = st->kinds;
    s.index_bytes = st->index_bytes;
    s.fts = st->fts;
    s.parts = st->parts;
    s.buckets = st->buckets;
    s.hot_files = st->hot_files;
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
                      ",\"fts\":" + (s.fts ? "true" : "false") + ",\"parts\":" + std::to_string(s.parts) +
                      ",\"hot_files\":" + std::to_string(s.hot_files) + ",\"kinds\":{";
    for (size_t i = 0; i < s.kinds.size(); ++i) {
        if (i) out += ',';
        out += "\"" + std::to_string(s.kinds[i].first) + "\":" + std::to_string(s.kinds[i].second);
    }
    out += "}}";
    return out;
}

}  // namespace archivist::engine
