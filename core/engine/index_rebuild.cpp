#include "core/engine/index_rebuild.h"

#include <QLoggingCategory>
#include <algorithm>
#include <system_error>

#include "core/archive/segment_writer.h"
#include "core/engine/frame_indexer.h"
#include "core/observe/log.h"
#include "core/util/clock.h"

namespace archivist::engine {

namespace {

bool before(const archive::Watermark& a, const archive::Watermark& b) {
    return a.segment != b.segment ? a.segment < b.segment : a.offset < b.offset;
}

uint64_t fileBytes(const std::filesystem::path& path) {
    std::error_code ec;
    const auto n = std::filesystem::file_size(path, ec);
    return ec ? 0 : uint64_t(n);
}

constexpr int64_t kReportEveryMs = 250;

}  // namespace

IndexRebuild::IndexRebuild(DataDirPaths paths, ProgressFn progress, FinishFn finish)
    : m_paths(std::move(paths)), m_progress(std::move(progress)), m_finish(std::move(finish)) {}

IndexRebuild::~IndexRebuild() = default;

bool IndexRebuild::removeWorkFiles(const DataDirPaths& paths) {
    bool removed = false;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        std::error_code ec;
        auto file = paths.index_rebuild;
        file += suffix;
        if (std::filesystem::remove(file, ec)) removed = true;
    }
    return removed;
}

Expected<void> IndexRebuild::begin(index::IndexWriter& live) {
    m_started = true;
    m_startedMs = steadyMs();
    removeWorkFiles(m_paths);
    index::IndexOptions opts;
    opts.fts = live.fts();  // the new index has what the live one has, so its statements stay valid
    opts.cache_mib = 32;
    auto rebuild = index::IndexWriter::open(m_paths.index_rebuild, opts);
    if (!rebuild) return rebuild.error();
    m_rebuild = std::move(*rebuild);
    auto source = m_rebuild->sourceId("reindex");
    if (!source) return source.error();
    m_reindexSource = *source;
    qCInfo(lcIndex).noquote() << "rebuilding the index while running, into"
                              << QString::fromStdString(m_paths.index_rebuild.string());
    return {};
}

Expected<void> IndexRebuild::openSegment(uint32_t segment, uint64_t offset) {
    auto reader = std::make_unique<archive::SegmentReader>();
    if (auto r = reader->open(archive::segmentPath(m_paths.archive, segment), segment); !r) return r;
    reader->seek(offset);
    m_reader = std::move(reader);
    m_segment = segment;
    return {};
}

Expected<bool> IndexRebuild::scan(index::IndexWriter& live, archive::Watermark target,
                                  std::chrono::steady_clock::time_point deadline, const std::atomic<bool>& cancel) {
    const int64_t now = wallMs();
    std::optional<Error> carryError;  // a failed lookup in the old index: the rebuild stops, nothing is lost silently
    // What the old index knew about an event, by id: first seen, and who carried it.
    const CarryOverFn carryOver = [&](index::NewEvent& ne, std::vector<index::Sighting>& sightings) {
        auto lookup = live.provenance(ne.event.id);
        if (!lookup) {
            if (!carryError) carryError = lookup.error();  // ends the rebuild after this frame's parse
            return;
        }
        const auto& known = *lookup;
        if (!known) {
            ++m_report.not_in_old_index;
            return;
        }
        ne.first_seen_at_ms = known->first_seen_at_ms;
        ne.source = 0;  // its sightings are exactly the old ones
        for (const auto& [name, seenAt] : known->sightings) {
            auto source = m_rebuild->sourceId(name);  // cached in the writer (bounded)
            if (!source) {
                if (!carryError) carryError = source.error();
                return;
            }
            sightings.push_back(index::Sighting{ne.event.id, *source, seenAt});
            ++m_report.sightings_carried;
        }
    };
    archive::Frame frame;
    while (before(m_rebuild->watermark(), target)) {
        if (cancel.load()) return makeError("cancelled", "cancelled");
        if (std::chrono::steady_clock::now() >= deadline) return false;
        if (!m_reader) {
            const auto segments = archive::listSegments(m_paths.archive);
            if (segments.empty()) return makeError("corrupt", "the archive has no segment but the index has a watermark");
            if (auto r = openSegment(segments.front(), 0); !r) return r.error();
        }
        if (m_reader->next(frame)) {
            if (frame.ref.segment == target.segment && frame.ref.offset >= target.offset)
                return makeError("corrupt", "a frame at " + std::to_string(frame.ref.offset) + " of segment " +
                                                std::to_string(frame.ref.segment) + " lies beyond the index watermark");
            auto r = indexFrame(*m_rebuild, frame, m_reindexSource, now, carryOver);
            if (carryError) return makeError(carryError->code, "reading the old index: " + carryError->message);
            if (!r) return r.error();
            ++m_report.frames;
            m_report.damaged_lines += r->damaged_lines;
            m_report.duplicate_lines += r->already_indexed;
            report(target, false);
            continue;
        }
        const auto path = archive::segmentPath(m_paths.archive, m_segment);
        const std::string where = path.string();
        if (m_reader->stop() != archive::ScanStop::End)
            return makeError(m_reader->readFailed() ? "io" : "corrupt",
                             where + " @" + std::to_string(m_reader->stopOffset()) + ": " + m_reader->stopMessage());
        // The reader sees a file as long as it was at open: a segment that has grown since (the
        // open one, or one sealed meanwhile) is opened again where the rebuild stands.
        if (fileBytes(path) > m_reader->fileBytes()) {
            const archive::Watermark at = m_rebuild->watermark();
            if (auto r = openSegment(m_segment, at.segment == m_segment ? at.offset : 0); !r) return r.error();
            continue;
        }
        // The live watermark lies at or inside quarantine markers (decision 0013) that end the
        // durable part of the segment: every frame up to it is indexed, so the rebuild has caught
        // up although its own watermark stays at the last frame before them.
        if (m_segment == target.segment && m_reader->fileBytes() >= target.offset) return true;
        if (m_segment >= target.segment)
            return makeError("corrupt", where + " ends at " + std::to_string(m_reader->fileBytes()) +
                                            " but the index reaches " + std::to_string(target.offset));
        // This segment is complete: go on with the next one that exists.
        const auto segments = archive::listSegments(m_paths.archive);
        const auto next = std::upper_bound(segments.begin(), segments.end(), m_segment);
        if (next == segments.end() || *next > target.segment)
            return makeError("corrupt", "no segment after " + where + " although the index reaches segment " +
                                            std::to_string(target.segment));
        if (auto r = openSegment(*next, 0); !r) return r.error();
    }
    return true;
}

void IndexRebuild::report(archive::Watermark target, bool force) {
    if (!m_progress) return;
    const int64_t now = steadyMs();
    if (!force && now - m_lastReportMs < kReportEveryMs) return;
    m_lastReportMs = now;
    RebuildProgress p;
    const archive::Watermark at = m_rebuild ? m_rebuild->watermark() : archive::Watermark{};
    for (uint32_t seg : archive::listSegments(m_paths.archive)) {
        if (seg > target.segment) break;
        // Earlier segments no longer change; the last counts up to the watermark.
        const uint64_t size =
            seg == target.segment ? target.offset : fileBytes(archive::segmentPath(m_paths.archive, seg));
        p.bytes_total += size;
        if (seg < at.segment) p.bytes_done += size;
        else if (seg == at.segment) p.bytes_done += std::min(at.offset, size);
    }
    p.events = m_rebuild ? m_rebuild->eventCount() : 0;
    // Reading is most of the work; the final copy is given the last 10 %.
    p.fraction = p.bytes_total ? 0.9 * double(p.bytes_done) / double(p.bytes_total) : 0.9;
    m_progress(p);
}

Expected<void> IndexRebuild::replace(index::IndexWriter& live, const std::atomic<bool>& cancel) {
    // The segments table records when each segment was sealed: not in the archive, carried over.
    auto sealed = live.sealedSegments();
    if (!sealed) return sealed.error();
    for (const auto& s : *sealed)
        if (auto r = m_rebuild->markSegmentSealed(s.segment, s.bytes, s.sealed_at_s); !r) return r;
    m_report.events = m_rebuild->eventCount();
    auto before = live.countEventRows();
    if (!before) return before.error();
    m_report.events_before = *before;
    if (auto r = m_rebuild->detachWal(); !r) return r;
    m_rebuild.reset();  // closed: one self-contained file
    const uint64_t events = m_report.events;
    auto copied = live.replaceWith(m_paths.index_rebuild, &cancel, [&](uint64_t done, uint64_t total) {
        if (!m_progress) return;
        RebuildProgress p;
        p.replacing = true;
        p.events = events;
        p.fraction = 0.9 + (total ? 0.1 * double(done) / double(total) : 0.1);
        m_progress(p);
    });
    if (!copied) return copied;
    // The copy went through the WAL: give that space back now rather than at shutdown.
    if (auto r = live.checkpoint(); !r)
        qCInfo(lcIndex).noquote() << "checkpoint after the rebuild deferred:" << QString::fromStdString(r.error().message);
    if (live.eventCount() != events)
        qCWarning(lcIndex) << "rebuilt index holds" << live.eventCount() << "events, expected" << events;
    return {};
}

Expected<ingest::WriterTask::Step> IndexRebuild::step(index::IndexWriter& live, std::chrono::milliseconds budget,
                                                      const std::atomic<bool>& cancel) {
    const auto deadline = std::chrono::steady_clock::now() + budget;
    if (!m_started)
        if (auto r = begin(live); !r) return r.error();
    const archive::Watermark target = live.watermark();
    auto caughtUp = scan(live, target, deadline, cancel);
    if (!caughtUp) return caughtUp.error();
    if (!*caughtUp) return Step::More;
    report(target, true);
    if (auto r = replace(live, cancel); !r) return r.error();
    return Step::IndexReplaced;
}

void IndexRebuild::finish(const Expected<void>& outcome) {
    m_reader.reset();
    m_rebuild.reset();
    removeWorkFiles(m_paths);
    m_report.seconds = double(steadyMs() - m_startedMs) / 1000.0;
    if (!outcome) {
        if (outcome.error().code == "cancelled") qCInfo(lcIndex) << "index rebuild cancelled; the index is unchanged";
        else
            qCWarning(lcIndex).noquote() << "index rebuild failed; the index is unchanged:"
                                         << QString::fromStdString(outcome.error().message);
        if (m_finish) m_finish(outcome.error());
        return;
    }
    qCInfo(lcIndex) << "index rebuilt:" << m_report.events << "events from" << m_report.frames << "frames in"
                    << m_report.seconds << "s (the old index held" << m_report.events_before << ";"
                    << m_report.not_in_old_index << "were not in it)";
    if (m_finish) m_finish(m_report);
}

}  // namespace archivist::engine
