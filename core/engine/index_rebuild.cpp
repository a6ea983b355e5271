#include "core/engine/index_rebuild.h"

#include <QLoggingCategory>
#include <algorithm>
#include <system_error>

#include "core/archive/segment_writer.h"
#include "core/engine/frame_indexer.h"
#include "core/index/index_reader.h"
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

IndexRebuild::~IndexRebuild() {
    m_buildCancel.store(true);
    if (m_build.joinable()) m_build.join();
}

Expected<void> IndexRebuild::begin(index::IndexWriter& live) {
    m_started = true;
    m_startedMs = steadyMs();
    std::shared_ptr<index::Index> liveIndex = live.index();
    index::IndexOptions opts = liveIndex->options();
    opts.read_only = false;
    opts.lanes = liveIndex->lanes();
    opts.fts = liveIndex->fts();
    auto gen = index::Index::createGeneration(m_paths.index, opts);
    if (!gen) return gen.error();
    m_gen = std::move(*gen);
    auto journal = index::SightingJournal::create(m_gen->dir() / "journal.sqlite");
    if (!journal) return journal.error();
    m_journal = std::move(*journal);
    m_live = &live;
    live.setJournal(m_journal);
    const archive::Watermark target = live.watermark();
    qCInfo(lcIndex).noquote() << "rebuilding the index while running, into"
                              << QString::fromStdString(m_gen->dir().string());
    index::BulkOptions bo;
    bo.seen_at_ms = wallMs();
    bo.until = target;
    // Sightings and first-seen times from the durable log; events archived before it existed keep
    // what the live index knows of them.
    bo.provenance = index::logProvenance(m_paths.sightings, index::indexProvenance(liveIndex));
    bo.cancel = &m_buildCancel;
    bo.progress = [this](const index::BulkProgress& p) {
        std::lock_guard lock(m_buildMutex);
        m_buildProgress = p;
    };
    // Two threads at most: intake goes on beside the rebuild.
    bo.threads = 1;
    const std::filesystem::path archiveDir = m_paths.archive;
    m_build = std::thread([this, bo, archiveDir] {
        auto r = index::bulkBuild(*m_gen, archiveDir, bo);
        std::lock_guard lock(m_buildMutex);
        m_buildResult = std::move(r);
        m_buildDone.store(true);
    });
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

Expected<bool> IndexRebuild::catchUp(index::IndexWriter& live, archive::Watermark target,
                                     std::chrono::steady_clock::time_point deadline, const std::atomic<bool>& cancel) {
    const int64_t now = wallMs();
    auto reader = index::IndexReader::open(live.index());
    if (!reader) return reader.error();
    std::optional<Error> carryError;
    const CarryOverFn carryOver = [&](index::NewEvent& ne, std::vector<index::Sighting>& sightings) {
        auto row = (*reader)->findById(ne.event.id);
        if (!row) {
            if (!carryError) carryError = row.error();
            return;
        }
        if (!*row) {
            ++m_report.not_in_old_index;
            return;
        }
        ne.first_seen_at_ms = (*row)->first_seen_at_ms;
        ne.source = 0;  // its sightings are exactly the old ones
        auto seen = (*reader)->sightings((*row)->rowid);
        if (!seen) {
            if (!carryError) carryError = seen.error();
            return;
        }
        for (const auto& s : *seen) {
            auto source = m_genWriter->sourceId(s.source);
            if (!source) {
                if (!carryError) carryError = source.error();
                return;
            }
            sightings.push_back(index::Sighting{ne.event.id, *source, s.seen_at_ms, 0, ne.event.created_at});
            ++m_report.sightings_carried;
        }
    };
    archive::Frame frame;
    while (before(m_genWriter->watermark(), target)) {
        if (cancel.load()) return makeError("cancelled", "cancelled");
        if (std::chrono::steady_clock::now() >= deadline) return false;
        if (!m_reader) {
            const archive::Watermark at = m_genWriter->watermark();
            const auto segments = archive::listSegments(m_paths.archive);
            if (segments.empty()) return makeError("corrupt", "the archive has no segment but the index has a watermark");
            if (auto r = openSegment(at.segment ? at.segment : segments.front(), at.segment ? at.offset : 0); !r)
                return r.error();
        }
        if (m_reader->next(frame)) {
            if (frame.ref.segment == target.segment && frame.ref.offset >= target.offset)
                return makeError("corrupt", "a frame at " + std::to_string(frame.ref.offset) + " of segment " +
                                                std::to_string(frame.ref.segment) + " lies beyond the index watermark");
            auto r = indexFrame(*m_genWriter, frame, m_reindexSource, now, carryOver);
            if (carryError) return makeError(carryError->code, "reading the old index: " + carryError->message);
            if (!r) return r.error();
            ++m_report.frames;
            m_report.damaged_lines += r->damaged_lines;
            m_report.duplicate_lines += r->already_indexed;
            continue;
        }
        const auto path = archive::segmentPath(m_paths.archive, m_segment);
        const std::string where = path.string();
        if (m_reader->stop() != archive::ScanStop::End)
            return makeError(m_reader->readFailed() ? "io" : "corrupt",
                             where + " @" + std::to_string(m_reader->stopOffset()) + ": " + m_reader->stopMessage());
        // The reader sees a file as long as it was at open: a segment that has grown since is opened
        // again where the rebuild stands.
        if (fileBytes(path) > m_reader->fileBytes()) {
            const archive::Watermark at = m_genWriter->watermark();
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
        const auto segments = archive::listSegments(m_paths.archive);
        const auto next = std::upper_bound(segments.begin(), segments.end(), m_segment);
        if (next == segments.end() || *next > target.segment)
            return makeError("corrupt", "no segment after " + where + " although the index reaches segment " +
                                            std::to_string(target.segment));
        if (auto r = openSegment(*next, 0); !r) return r.error();
    }
    return true;
}

void IndexRebuild::report(bool force) {
    if (!m_progress) return;
    const int64_t now = steadyMs();
    if (!force && now - m_lastReportMs < kReportEveryMs) return;
    m_lastReportMs = now;
    RebuildProgress p;
    index::BulkProgress b;
    {
        std::lock_guard lock(m_buildMutex);
        b = m_buildProgress;
    }
    p.bytes_done = b.bytes_done;
    p.bytes_total = b.bytes_total;
    p.events = b.events;
    // Reading is most of the work; merging the runs and catching up are given the last 20 %.
    p.fraction = b.bytes_total ? 0.8 * double(b.bytes_done) / double(b.bytes_total) : 0.0;
    if (b.merging) p.fraction = 0.85;
    if (m_buildDone.load()) p.fraction = 0.95;
    m_progress(p);
}

Expected<ingest::WriterTask::Step> IndexRebuild::step(index::IndexWriter& live, std::chrono::milliseconds budget,
                                                      const std::atomic<bool>& cancel) {
    const auto deadline = std::chrono::steady_clock::now() + budget;
    if (!m_started) {
        if (auto r = begin(live); !r) return r.error();
        return Step::More;
    }
    if (cancel.load()) return makeError("cancelled", "cancelled");
    if (!m_buildDone.load()) {
        report(false);
        // The writer runs this between groups: do not hold it while the build runs.
        std::this_thread::sleep_for(std::min(budget, std::chrono::milliseconds(20)));
        return Step::More;
    }
    if (!m_genWriter) {
        if (m_build.joinable()) m_build.join();
        {
            std::lock_guard lock(m_buildMutex);
            if (!*m_buildResult) return m_buildResult->error();
            const index::BulkReport& b = **m_buildResult;
            m_report.frames += b.frames;
            m_report.damaged_lines += b.damaged_lines;
            m_report.duplicate_lines += b.duplicate_lines;
            m_report.sightings_carried += b.sightings_carried;
            m_report.not_in_old_index += b.not_in_old_index;
        }
        if (auto r = m_gen->start(); !r) return r.error();
        m_genWriter = std::make_unique<index::IndexWriter>(m_gen, false);
        auto source = m_genWriter->sourceId("reindex");
        if (!source) return source.error();
        m_reindexSource = *source;
        report(true);
    }
    // Between groups the archive ends exactly at the live watermark.
    const archive::Watermark target = live.watermark();
    auto caughtUp = catchUp(live, target, deadline, cancel);
    if (!caughtUp) return caughtUp.error();
    if (!*caughtUp) return Step::More;
    // Switch. First the sightings the live index recorded since the rebuild began (the archive does
    // not hold them; applying one twice keeps the earliest seen_at).
    live.setJournal(nullptr);
    {
        std::vector<index::Sighting> batch;
        auto flush = [&]() -> Expected<void> {
            if (batch.empty()) return {};
            auto r = m_genWriter->commit(nullptr, {}, batch);
            batch.clear();
            if (!r) return r.error();
            return {};
        };
        auto applied = m_journal->forEach([&](const index::SightingJournal::Entry& e) -> Expected<void> {
            auto source = m_genWriter->sourceId(e.source);
            if (!source) return source.error();
            batch.push_back(index::Sighting{e.id, *source, e.seen_at_ms, 0, e.created_at});
            m_report.sightings_carried++;
            if (batch.size() >= 4096) return flush();
            return {};
        });
        if (!applied) return applied.error();
        if (auto r = flush(); !r) return r.error();
        m_journal.reset();
        std::error_code ec;
        for (const char* suffix : {"", "-wal", "-shm"})
            std::filesystem::remove(m_gen->dir() / (std::string("journal.sqlite") + suffix), ec);
    }
    // The segments table records when each segment was sealed: not in the archive, carried.
    auto sealed = live.sealedSegments();
    if (!sealed) return sealed.error();
    for (const auto& s : *sealed)
        if (auto r = m_gen->markSegmentSealed(s.segment, s.bytes, s.sealed_at_s); !r) return r.error();
    if (m_progress) {
        RebuildProgress p;
        p.replacing = true;
        p.events = m_gen->eventCount();
        p.fraction = 0.99;
        m_progress(p);
    }
    auto before = live.countEventRows();
    if (!before) return before.error();
    m_report.events_before = *before;
    m_genWriter.reset();  // committed everything; the live writer takes the generation over
    if (auto r = m_gen->promote(live.index()); !r) return r.error();
    if (auto r = live.replace(m_gen); !r) return r.error();
    m_switched = true;
    m_report.events = m_gen->eventCount();
    return Step::IndexReplaced;
}

void IndexRebuild::finish(const Expected<void>& outcome) {
    if (m_live && !m_switched) m_live->setJournal(nullptr);
    m_journal.reset();
    m_buildCancel.store(true);
    if (m_build.joinable()) m_build.join();
    m_reader.reset();
    m_genWriter.reset();
    if (!m_switched && m_gen) {
        m_gen->close();
        const std::filesystem::path dir = m_gen->dir();
        m_gen.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    m_gen.reset();
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
