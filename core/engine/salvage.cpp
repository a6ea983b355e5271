#include "core/engine/salvage.h"

#include <QLoggingCategory>
#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/archive/segment_writer.h"
#include "core/index/index_reader.h"
#include "core/observe/log.h"
#include "core/protocol/json.h"

namespace archivist::engine {

namespace {

int64_t nowSeconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

bool cancelled(const std::atomic<bool>* c) { return c && c->load(); }

void tick(const ProgressFn& progress, const char* phase, uint64_t done, uint64_t total,
          std::chrono::steady_clock::time_point started, std::chrono::steady_clock::time_point& last, bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (!progress || (!force && now - last < std::chrono::milliseconds(500))) return;
    last = now;
    WorkProgress p;
    p.phase = phase;
    p.done = done;
    p.total = total;
    p.seconds = std::chrono::duration<double>(now - started).count();
    progress(p);
}

// Events the index holds in frames that lie inside each region (-1 when the index cannot say).
std::vector<int64_t> indexedEventsIn(const DataDirPaths& paths, const std::vector<archive::DamagedRegion>& regions) {
    std::vector<int64_t> counts(regions.size(), 0);
    auto reader = index::IndexReader::open(paths.index);
    if (!reader) return std::vector<int64_t>(regions.size(), -1);
    auto scanned = (*reader)->forEachFrame([&](const index::FrameRow& f) {
        const auto& ref = f.frame.ref;
        for (size_t i = 0; i < regions.size(); ++i) {
            const auto& r = regions[i];
            if (ref.segment == r.segment && ref.offset < r.offset + r.length && ref.offset + ref.length > r.offset)
                counts[i] += f.frame.events;
        }
        return true;
    });
    if (!scanned) return std::vector<int64_t>(regions.size(), -1);
    return counts;
}

// Lines of the recovered texts (no newline).
std::vector<std::string> linesOf(const archive::RecoveredText& t) {
    std::vector<std::string> out;
    for (const auto& text : t.texts) {
        size_t pos = 0;
        while (pos < text.size()) {
            const size_t nl = text.find('\n', pos);
            const size_t end = nl == std::string::npos ? text.size() : nl;
            if (end > pos) out.emplace_back(text, pos, end - pos);
            pos = end + 1;
        }
    }
    return out;
}

}  // namespace

Expected<StoredCounts> storeLines(Store& store, const std::string& source, std::vector<std::string>&& lines,
                                  const std::atomic<bool>* cancel, bool stop_on_disk_trouble) {
    auto id = store.addSource(source);
    if (!id) return id.error();
    const auto before = store.sources().snapshot(*id);
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    const size_t n = lines.size();
    // Lines of our own archive: no copies from other sources are expected to follow them.
    const ingest::RawBatch empty{*id, {}, false};
    ingest::RawBatch batch = empty;
    for (size_t i = 0; i < n; ++i) {
        batch.items.push_back(ingest::RawItem{std::move(lines[i]), now});
        if (batch.items.size() == 256 || i + 1 == n) {
            if (!store.submit(std::move(batch))) return makeError("io", "the writer stopped: " + store.lastError());
            batch = empty;
        }
    }
    while (!store.waitSettled(*id, before.settled() + n, std::chrono::milliseconds(200), cancel)) {
        if (cancelled(cancel)) return makeError("cancelled", "salvage cancelled");
        if (store.failed() || (stop_on_disk_trouble && store.pausedOnDisk()))
            return makeError(store.lastErrorCode().empty() ? "io" : store.lastErrorCode(),
                             "recovered events cannot be stored: " + store.lastError());
    }
    const auto after = store.sources().snapshot(*id);
    return StoredCounts{after.stored - before.stored, after.duplicate - before.duplicate,
                        after.invalid - before.invalid};
}

Expected<SalvageReport> salvageStore(Store& store, const SalvageOptions& options, const SalvageHooks& hooks,
                                     const ProgressFn& progress, const std::atomic<bool>* cancel) {
    SalvageReport rep;
    const DataDirPaths& paths = store.paths();
    const auto started = std::chrono::steady_clock::now();
    auto last = started - std::chrono::seconds(1);
    const auto segments = archive::listSegments(paths.archive);
    rep.segments = segments.size();
    uint64_t totalBytes = 0;
    for (uint32_t seg : segments) {
        std::error_code ec;
        totalBytes += std::filesystem::file_size(archive::segmentPath(paths.archive, seg), ec);
    }

    // 1. Scan every segment; quarantine what is damaged.
    uint64_t doneBytes = 0, intactRaw = 0, intactLines = 0, intactCompressed = 0;
    bool indexHeldDamage = false;
    for (uint32_t seg : segments) {
        const auto path = archive::segmentPath(paths.archive, seg);
        archive::SegmentReader reader;
        if (auto r = reader.open(path, seg); !r) return r.error();  // a bad header is beyond salvage
        std::vector<archive::DamagedRegion> regions;
        archive::Frame frame;
        for (;;) {
            while (reader.next(frame)) {
                if (cancelled(cancel)) return makeError("cancelled", "salvage cancelled");
                ++rep.frames_scanned;
                intactRaw += frame.text.size();
                intactLines += frame.events;
                intactCompressed += frame.ref.length;
                tick(progress, "scan", doneBytes + frame.ref.offset, totalBytes, started, last, false);
            }
            if (reader.stop() == archive::ScanStop::End) break;
            if (reader.readFailed()) return makeError("io", "read " + path.string() + ": " + reader.stopMessage());
            regions.push_back(archive::describeDamage(reader, seg));
            reader.seek(regions.back().offset + regions.back().length);
        }
        doneBytes += reader.fileBytes();
        if (regions.empty()) continue;
        const auto indexed = indexedEventsIn(paths, regions);
        for (size_t i = 0; i < regions.size(); ++i) {
            auto entry = store.quarantine(regions[i], indexed[i]);
            if (!entry) return entry.error();
            ++rep.regions_quarantined;
            if (indexed[i] != 0) indexHeldDamage = true;  // -1: unknown, rebuild to be sure
            qCWarning(lcArchive).noquote() << "salvage: quarantined" << QString::fromStdString(archive::describeEntry(*entry));
        }
    }
    tick(progress, "scan", totalBytes, totalBytes, started, last, true);

    // 2. The index must forget what it held in quarantined bytes.
    if (indexHeldDamage) {
        if (!hooks.rebuild_index) return makeError("usage", "salvage: no way to rebuild the index");
        if (auto r = hooks.rebuild_index(progress); !r) return r.error();
        rep.index_rebuilt = true;
    }

    // 3. Salvage every pending entry.
    auto entries = archive::listQuarantine(paths.archive);
    if (!entries) return entries.error();
    const double meanLine = intactLines ? double(intactRaw) / double(intactLines) : 0.0;
    const double ratio = intactCompressed ? double(intactRaw) / double(intactCompressed) : 0.0;
    uint64_t done = 0, pending = 0;
    // Pending entries, and the copies of torn tails (never acknowledged, but their lines are events
    // like any other).
    auto toProcess = [](archive::QuarantineState s) {
        return s == archive::QuarantineState::Pending || s == archive::QuarantineState::Torn;
    };
    for (const auto& e : *entries)
        if (toProcess(e.state)) ++pending;
    for (auto& e : *entries) {
        if (!toProcess(e.state)) continue;
        if (cancelled(cancel)) return makeError("cancelled", "salvage cancelled");
        tick(progress, "salvage", done++, pending, started, last, true);
        SalvagedEntry out;
        auto bytes = archive::readQuarantinedBytes(paths.archive, e);
        if (!bytes) {
            out.error = bytes.error().message;
            if (e.state == archive::QuarantineState::Torn) {
                // A torn tail's copy: nothing was acknowledged in it; it stays as it is.
            } else if (options.accept_loss) {
                e.state = archive::QuarantineState::Accepted;
                e.processed_at_s = nowSeconds();
                e.note = "loss accepted by the operator; the quarantined bytes could not be read: " + out.error;
                if (auto r = archive::saveQuarantineEntry(paths.archive, e, store.fileSystem()); !r) return r.error();
                ++rep.accepted;
            } else {
                ++rep.still_pending;
            }
            out.entry = e;
            rep.processed.push_back(std::move(out));
            continue;
        }
        const archive::RecoveredText text = archive::recoverFrames(*bytes);
        out.intact_frames = text.intact_frames;
        out.damaged_frames = text.damaged_frames;
        std::vector<std::string> lines = linesOf(text);
        uint64_t lineBytes = 0;
        for (const auto& l : lines) lineBytes += l.size() + 1;
        const size_t decodedLines = lines.size();
        StoredCounts counts;
        if (!lines.empty()) {
            if (!hooks.store_lines) return makeError("usage", "salvage: no way to store recovered events");
            auto stored = hooks.store_lines("salvage:" + e.name, std::move(lines));
            if (!stored) return stored.error();
            counts = *stored;
        }
        out.invalid_lines = counts.invalid;
        e.recovered_events = counts.stored + counts.duplicate;
        e.restored_events = counts.stored;
        if (e.indexed_events >= 0) {
            e.lost_events = uint64_t(std::max<int64_t>(0, e.indexed_events - int64_t(e.recovered_events)));
            e.lost_is_estimate = false;
        } else {
            // The damaged frames declared more content than came out as whole lines; without a
            // readable frame header, the bytes that are not intact frames at the archive's ratio.
            const double mean = decodedLines ? double(lineBytes) / double(decodedLines) : meanLine;
            double missing = double(text.damaged_declared_bytes) - double(text.damaged_decoded_bytes);
            if (text.damaged_declared_bytes == 0) missing = double(bytes->size() - text.intact_bytes) * ratio;
            const uint64_t estimate = mean > 0 && missing > 0 ? uint64_t(std::ceil(missing / mean)) : 0;
            e.lost_events = estimate + counts.invalid;
            e.lost_is_estimate = true;
        }
        e.state = archive::QuarantineState::Salvaged;
        e.processed_at_s = nowSeconds();
        e.note = std::to_string(text.intact_frames) + " intact frames, " + std::to_string(text.damaged_frames) +
                 " damaged; " + std::to_string(text.damaged_decoded_bytes) + " of " +
                 std::to_string(text.damaged_declared_bytes) + " bytes of damaged content decoded; " +
                 std::to_string(counts.invalid) + " decoded lines were not valid events";
        if (auto r = archive::saveQuarantineEntry(paths.archive, e, store.fileSystem()); !r) return r.error();
        rep.recovered += e.recovered_events;
        rep.restored += e.restored_events;
        rep.lost += e.lost_events;
        rep.lost_is_estimate = rep.lost_is_estimate || e.lost_is_estimate;
        out.entry = e;
        qCInfo(lcArchive).noquote() << "salvage:" << QString::fromStdString(e.name) << "recovered" << e.recovered_events
                                    << "events (" << e.restored_events << "stored again), lost"
                                    << (e.lost_is_estimate ? "about" : "exactly") << e.lost_events;
        rep.processed.push_back(std::move(out));
    }
    tick(progress, "salvage", pending, pending, started, last, true);
    return rep;
}

std::vector<std::string> describeSalvage(const SalvageReport& r) {
    std::vector<std::string> out;
    out.push_back("scanned " + std::to_string(r.frames_scanned) + " intact frames in " + std::to_string(r.segments) +
                  " segments; " + std::to_string(r.regions_quarantined) + " damaged regions newly quarantined" +
                  (r.index_rebuilt ? "; the index was rebuilt without them" : ""));
    for (const auto& p : r.processed) {
        const auto& e = p.entry;
        std::string line = e.name + " (segment " + std::to_string(e.segment) + ", bytes " + std::to_string(e.offset) +
                           ".." + std::to_string(e.offset + e.length) + "): ";
        if (!p.error.empty()) {
            line += std::string(e.state == archive::QuarantineState::Accepted ? "loss accepted" : "NOT processed") +
                    " — " + p.error;
        } else {
            line += std::to_string(e.recovered_events) + " events recovered (" + std::to_string(e.restored_events) +
                    " stored again, " + std::to_string(e.recovered_events - e.restored_events) +
                    " were archived elsewhere), " + (e.lost_is_estimate ? "about " : "") + std::to_string(e.lost_events) +
                    " lost; " + std::to_string(p.intact_frames) + " intact and " + std::to_string(p.damaged_frames) +
                    " damaged frames";
        }
        out.push_back(line);
    }
    out.push_back("recovered " + std::to_string(r.recovered) + " events (" + std::to_string(r.restored) +
                  " stored again), lost " + (r.lost_is_estimate ? "about " : "") + std::to_string(r.lost) +
                  (r.accepted ? ", " + std::to_string(r.accepted) + " entries accepted as lost" : "") +
                  (r.still_pending ? ", " + std::to_string(r.still_pending) + " entries still pending" : ""));
    return out;
}

std::string salvageJson(const SalvageReport& r) {
    namespace pj = protocol::json;
    std::string out = "{\"segments\":" + std::to_string(r.segments) +
                      ",\"frames_scanned\":" + std::to_string(r.frames_scanned) +
                      ",\"regions_quarantined\":" + std::to_string(r.regions_quarantined) +
                      ",\"index_rebuilt\":" + (r.index_rebuilt ? "true" : "false") +
                      ",\"recovered\":" + std::to_string(r.recovered) + ",\"restored\":" + std::to_string(r.restored) +
                      ",\"lost\":" + std::to_string(r.lost) +
                      ",\"lost_is_estimate\":" + (r.lost_is_estimate ? "true" : "false") +
                      ",\"accepted\":" + std::to_string(r.accepted) +
                      ",\"still_pending\":" + std::to_string(r.still_pending) + ",\"entries\":[";
    for (size_t i = 0; i < r.processed.size(); ++i) {
        const auto& p = r.processed[i];
        const auto& e = p.entry;
        if (i) out += ',';
        out += "{\"name\":";
        pj::appendQuoted(out, e.name);
        out += ",\"segment\":" + std::to_string(e.segment) + ",\"offset\":" + std::to_string(e.offset) +
               ",\"length\":" + std::to_string(e.length) + ",\"state\":";
        pj::appendQuoted(out, archive::quarantineStateName(e.state));
        out += ",\"recovered\":" + std::to_string(e.recovered_events) +
               ",\"restored\":" + std::to_string(e.restored_events) + ",\"lost\":" + std::to_string(e.lost_events) +
               ",\"lost_is_estimate\":" + (e.lost_is_estimate ? "true" : "false") +
               ",\"intact_frames\":" + std::to_string(p.intact_frames) +
               ",\"damaged_frames\":" + std::to_string(p.damaged_frames) +
               ",\"invalid_lines\":" + std::to_string(p.invalid_lines) + ",\"error\":";
        pj::appendQuoted(out, p.error);
        out += '}';
    }
    out += "]}";
    return out;
}

}  // namespace archivist::engine
