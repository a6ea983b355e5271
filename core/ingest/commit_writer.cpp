#include "core/ingest/commit_writer.h"

#include "core/observe/memory_stats.h"

#include "core/util/thread_priority.h"

#include <QLoggingCategory>
#include <algorithm>
#include <chrono>

#include "core/index/layout.h"
#include "core/observe/log.h"
#include "core/observe/metrics.h"
#include "core/protocol/event_codec.h"
#include "core/util/clock.h"
#include "core/util/thread_name.h"

namespace archivist::ingest {

std::string contentPreview(const std::string& s) {
    constexpr size_t kMax = 160;
    if (s.size() <= kMax) return s;
    size_t cut = kMax;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
    return s.substr(0, cut);
}

CommitWriter::CommitWriter(BoundedQueue<VerifiedBatch>& in, archive::ArchiveWriter& archive,
                           index::IndexWriter& index, SourceTable& sources, RecentIdCache& recent,
                           WriterOptions options, observe::MetricsRegistry& metrics)
    : m_in(in), m_archive(archive), m_index(index), m_sources(sources), m_recent(recent), m_opts(options),
      m_validator(m_opts.policy), m_metrics(metrics) {
    m_storedTotal = &metrics.counter("archivist_events_stored_total", "New events committed to archive and index");
    m_duplicateTotal = &metrics.counter("archivist_events_duplicate_total", "Valid events that were already stored");
    m_sightedCopies = &metrics.counter("archivist_copies_already_sighted_total",
                                       "Copies of stored events whose source's sighting was stored already (logged, not indexed)");
    m_lookupStored = &idLookupCounter(metrics, "writer", "stored");
    m_lookupAbsent = &idLookupCounter(metrics, "writer", "absent");
    m_archiveErrors = &metrics.counter("archivist_write_errors_total", "Failed commit attempts (retried)", {{"stage", "archive"}});
    m_logErrors = &metrics.counter("archivist_write_errors_total", "Failed commit attempts (retried)", {{"stage", "sightings_log"}});
    m_logRecordsTotal = &metrics.counter("archivist_sightings_logged_total", "Sightings appended to the durable sightings log");
    m_logBytes = &metrics.counter("archivist_sightings_log_bytes_written_total", "Compressed bytes appended to the sightings log");
    m_logUnplaced = &metrics.counter("archivist_sightings_unplaced_total",
                                     "Sightings of stored events whose archive position was unknown (not logged)");
    m_indexErrors = &metrics.counter("archivist_write_errors_total", "Failed commit attempts (retried)", {{"stage", "index"}});
    m_bytesCompressed = &metrics.counter("archivist_archive_bytes_written_total", "Compressed bytes appended to segments");
    m_bytesRaw = &metrics.counter("archivist_archive_raw_bytes_total", "Uncompressed event JSON bytes archived");
    m_lateVerified = &metrics.counter("archivist_signature_checks_late_total",
                                      "Items the verify pool took for copies of stored events that the writer found new "
                                      "(verified on the writer thread)");
    m_lateParsed = &metrics.counter("archivist_copies_parsed_late_total",
                                    "Items the verify pool recognised as copies that the writer found new "
                                    "(parsed on the writer thread)");
    m_rejectedLate.assign(size_t(protocol::Reject::Count), nullptr);
    for (size_t r = 1; r < size_t(protocol::Reject::Count); ++r)
        m_rejectedLate[r] = &metrics.counter("archivist_events_rejected_total", "Events rejected, by reason",
                                             {{"reason", protocol::rejectName(protocol::Reject(r))}});
    m_commitSeconds = &metrics.histogram("archivist_commit_seconds", "Archive append + fdatasync + index commit time");
    m_groupEvents = &metrics.histogram("archivist_commit_group_events", "New events per commit group");
    metrics.gaugeFn("archivist_cache_entries", "Entries in a bounded cache", {{"cache", "recent_ids"}},
                    [this] { return double(m_recent.size()); }, this);
    metrics.gaugeFn("archivist_cache_capacity", "Capacity of a bounded cache", {{"cache", "recent_ids"}},
                    [this] { return double(m_recent.capacity()); }, this);
    metrics.gaugeFn("archivist_cache_entries", "Entries in a bounded cache", {{"cache", "in_flight_ids"}},
                    [this] { return double(m_inFlightSize.load()); }, this);
    metrics.gaugeFn("archivist_cache_capacity", "Capacity of a bounded cache", {{"cache", "in_flight_ids"}},
                    [this, &index] {
                        const auto o = index.currentIndex()->options();
                        return double(m_opts.group_events * (1 + o.lane_queue_batches + 1));
                    },
                    this);
    metrics.gaugeFn("archivist_writer_paused", "1 while the writer retries a failed commit (intake is paused)", {},
                    [this] { return paused() ? 1.0 : 0.0; }, this);
    metrics.gaugeFn("archivist_queue_depth", "Items (batches) waiting in a bounded queue", {{"queue", "index_groups"}},
                    [this] { return double(m_pendingSize.load()); }, this);
}

CommitWriter::~CommitWriter() {
    join();
    m_metrics.removeGaugeFns(this);
}

void CommitWriter::setCommitListener(std::function<void(const CommitNotice&)> listener) {
    m_listener = std::move(listener);
}

void CommitWriter::setEventObserver(EventObserver observer) { m_observer = std::move(observer); }

void CommitWriter::start() {
    m_thread = std::thread([this] {
        lowerThisThreadPriority();  // the console's GUI thread comes first
        run();
    });
}

void CommitWriter::join() {
    if (m_thread.joinable()) m_thread.join();
}

void CommitWriter::abandonRetries() {
    m_abandon.store(true);
    m_index.index()->abandonRetries();
}

std::string CommitWriter::lastError() const {
    std::lock_guard lock(m_errorMutex);
    if (!m_lastError.empty()) return m_lastError;
    return m_index.currentIndex()->lastError();
}

std::string CommitWriter::lastErrorCode() const {
    if (!m_paused.load()) {
        const auto idx = m_index.currentIndex();
        if (idx->laneRetrying()) return idx->lastErrorCode();
    }
    std::lock_guard lock(m_errorMutex);
    return m_lastErrorCode;
}

bool CommitWriter::paused() const { return m_paused.load() || m_index.currentIndex()->laneRetrying(); }

void CommitWriter::setError(const std::string& message, const std::string& code) {
    std::lock_guard lock(m_errorMutex);
    m_lastError = message;
    m_lastErrorCode = code;
}

uint32_t CommitWriter::indexSource(SourceId source) {
    uint32_t id = m_sources.indexSourceId(source);
    if (id) return id;
    auto r = retry("index", [&]() -> Expected<void> {
        auto got = m_index.sourceId(m_sources.name(source));
        if (!got) return got.error();
        id = *got;
        return {};
    });
    if (!r) return 0;
    m_sources.setIndexSourceId(source, id);
    return id;
}

bool CommitWriter::startTask(std::unique_ptr<WriterTask> task) {
    std::lock_guard lock(m_taskMutex);
    if (!m_acceptTasks || m_pendingTask || m_taskActive.load()) return false;
    m_taskCancel.store(false);
    m_pendingTask = std::move(task);
    m_taskActive.store(true);
    return true;
}

void CommitWriter::cancelTask() { m_taskCancel.store(true); }

void CommitWriter::endTask(const Expected<void>& outcome) {
    // Marked ended before finish(): whoever finish() notifies may start the next task at once
    // (it is picked up on this thread, after this one is gone).
    std::unique_ptr<WriterTask> task = std::move(m_task);
    m_taskActive.store(false);
    task->finish(outcome);
}

bool CommitWriter::runTaskSlice() {
    if (!m_task) {
        std::lock_guard lock(m_taskMutex);
        m_task = std::move(m_pendingTask);
    }
    if (!m_task) return true;
    if (m_taskCancel.load()) {
        endTask(makeError("cancelled", "cancelled"));
        return true;
    }
    // The task sees a quiet writer: the open group is committed first, and every lane has
    // committed what it was given.
    if (groupOpen() && !commitGroup()) return false;
    if (!waitAllCommitted()) return false;
    // Twice the last commit's time: the task gets about two thirds of the thread while intake
    // flows, and all of it while intake is idle.
    const auto budget = std::chrono::milliseconds(std::clamp<int64_t>(2 * m_lastCommitMs, 50, 1000));
    auto step = m_task->step(m_index, budget, m_taskCancel);
    if (!step) {
        endTask(step.error());
    } else if (*step == WriterTask::Step::IndexReplaced) {
        // Row keys and index source ids of the old content are void; the ids themselves are still
        // stored (the new index covers the same archive), so dedupe stays exact.
        m_recent.clear();
        m_sources.clearIndexSourceIds();
        endTask({});
    } else if (*step == WriterTask::Step::Done) {
        endTask({});
    }
    return true;
}

void CommitWriter::run() {
    setThreadName("writer");
    std::vector<VerifiedBatch> batches;
    bool alive = true;
    while (alive) {
        auto wait = std::chrono::milliseconds(m_opts.group_ms);
        if (groupOpen()) {
            const int64_t left = m_groupStartMs + m_opts.group_ms - steadyMs();
            wait = std::chrono::milliseconds(std::max<int64_t>(left, 0));
        }
        if (!m_pending.empty()) wait = std::min(wait, std::chrono::milliseconds(5));
        if (m_taskActive.load()) wait = std::chrono::milliseconds(0);  // slices run back to back
        batches.clear();
        m_in.popAll(batches, 64, wait);
        for (VerifiedBatch& b : batches) {
            // Every item asks the recent-ids cache: its slots' cache lines come in together.
            for (const VerifiedItem& item : b.items) m_recent.prefetch(item.event.id);
            for (VerifiedItem& item : b.items) {
                // After an abandoned commit nothing more is taken: the rest stays unacknowledged.
                if (!alive) break;
                addItem(b.source, std::move(item), b.copies_expected);
                if (m_newEvents.size() >= m_opts.group_events || m_frame.size() >= m_opts.group_bytes ||
                    m_sightings.size() + m_echoes.size() >= m_opts.group_events * m_opts.group_sightings_per_event) {
                    if (!commitGroup()) alive = false;
                }
            }
        }
        if (alive && groupOpen() && steadyMs() - m_groupStartMs >= m_opts.group_ms) {
            if (!commitGroup()) alive = false;
        }
        if (alive && !drainCompleted(std::chrono::milliseconds(0))) alive = false;
        // The pipeline frees whole groups' worth of events at a time, on several threads: give
        // the freed pages back about once a second so the resident size follows what is in use.
        if (const int64_t now = steadyMs(); now - m_lastTrimMs >= 1000) {
            observe::releaseFreeHeap();
            m_lastTrimMs = now;
        }
        if (alive && batches.empty() && m_in.closedAndEmpty()) {
            if (groupOpen()) {
                if (commitGroup()) waitAllCommitted();
            } else {
                waitAllCommitted();
            }
            alive = false;
        }
        if (alive && m_taskActive.load() && !runTaskSlice()) alive = false;
    }
    {
        std::lock_guard lock(m_taskMutex);
        m_acceptTasks = false;
        if (!m_task) m_task = std::move(m_pendingTask);
    }
    if (m_task) endTask(makeError("cancelled", "the writer stopped before the task was done"));
    if (m_failed.load()) {
        // Nothing more can be stored: unblock producers instead of leaving them waiting forever.
        m_in.close();
    }
}

void CommitWriter::addItem(SourceId source, VerifiedItem&& item, bool copies_expected) {
    if (!groupOpen()) m_groupStartMs = steadyMs();
    const protocol::Bytes32& id = item.event.id;
    const uint32_t indexSrc = indexSource(source);
    std::optional<int64_t> storedRk;  // 0: stored in the open group (key not yet assigned)
    archive::EventPos storedPos;
    if (auto it = m_inFlight.find(id); it != m_inFlight.end()) {
        storedRk = it->second.rk;
        storedPos = it->second.pos;
    }
    // One lock for the three questions to the cache (the verify threads ask it too).
    const RecentIdCache::Probe cached = m_recent.probe(id, item.absent_epoch, item.lookup_generation);
    if (!storedRk && cached.entry) {
        storedRk = cached.entry->rk;
        storedPos = cached.entry->pos;
    }
    if (!storedRk && item.known_rk && cached.same_generation) {
        storedRk = item.known_rk;
        storedPos = item.known_pos;
    }
    const bool provenAbsent = !storedRk && item.absent && cached.absent_still_valid;
    if (!storedRk && !provenAbsent) {
        std::optional<index::Found> found;
        retry("index", [&]() -> Expected<void> {
            auto r = m_index.lookup(id, item.event.created_at);
            if (!r) return r.error();
            found = *r;
            return {};
        });
        (found ? m_lookupStored : m_lookupAbsent)->inc();
        if (found) {
            storedRk = found->rk;
            storedPos = found->pos;
        }
    }
    if (storedRk && item.sighted_by_source && cached.same_generation && item.known_rk && *storedRk == item.known_rk) {
        // The stored copy's file holds this source's sighting, no later than this one: the index
        // gets nothing. The arrival is still logged (the log keeps every arrival, decision 0019)
        // and counted when its group is acknowledged.
        m_sightedCopies->inc();
        m_echoes.push_back(Echo{storedPos, source, item.received_at_ms});
        return;
    }
    if (storedRk) {
        m_sightings.push_back(index::Sighting{id, indexSrc, item.received_at_ms, *storedRk, item.event.created_at});
        m_sightingSources.push_back(source);
        m_sightingPos.push_back(storedPos);
        return;
    }
    auto refuse = [&](protocol::Reject r) {
        SourceCounters& c = m_sources.counters(source);
        c.invalid_by_reason[size_t(r)].fetch_add(1, std::memory_order_relaxed);
        m_rejectedLate[size_t(r)]->inc();
        c.invalid.fetch_add(1, std::memory_order_release);
    };
    if (!item.unparsed.empty()) {
        // The verify thread recognised the JSON and did not parse it; the event is not stored (its
        // first copy has not been, or the index was replaced meanwhile): parse it here. The same
        // bytes passed the same checks there, so this refuses nothing unless memory is corrupt.
        m_lateParsed->inc();
        uint32_t flags = 0;
        const protocol::Reject r =
            m_validator.validateExceptSignature(item.unparsed, item.received_at_ms / 1000, item.event, flags);
        if (r != protocol::Reject::None) {
            refuse(r);
            return;
        }
        item.flags = flags | (item.flags & protocol::kFlagUnverified);
        item.tag_keys = index::indexTagKeys(item.event);
        m_validator.appendCanonical(item.canonical, item.event);
        std::string().swap(item.unparsed);
    }
    if (item.signature_skipped) {
        // The verify thread took it for a copy of a stored event; it is not stored (the index was
        // replaced meanwhile): check the signature here before anything is archived.
        item.signature_skipped = false;
        m_lateVerified->inc();
        if (const protocol::Reject r = m_validator.checkSignature(item.event, item.flags); r != protocol::Reject::None) {
            refuse(r);
            return;
        }
    }
    if (item.canonical.empty()) protocol::appendEventJson(item.canonical, item.event);
    index::NewEvent ne;
    ne.line = static_cast<uint32_t>(m_newEvents.size());
    ne.flags = item.flags;
    ne.first_seen_at_ms = item.received_at_ms;
    ne.source = indexSrc;
    ne.sighash = item.sighash ? item.sighash : index::sigHash(item.event.sig);
    ne.tag_keys = std::move(item.tag_keys);
    ne.copies_expected = copies_expected;
    m_frame.append(item.canonical);
    m_frame.push_back('\n');
    ne.event = std::move(item.event);
    m_inFlight.emplace(ne.event.id, InFlight{0, archive::EventPos{0, 0, ne.line}});
    m_inFlightSize.store(m_inFlight.size(), std::memory_order_relaxed);
    m_newEvents.push_back(std::move(ne));
    m_newSources.push_back(source);
}

template <typename Fn>
bool CommitWriter::retry(const char* stage, Fn&& fn) {
    int delay_ms = m_opts.retry_initial_ms;
    for (;;) {
        auto r = fn();
        if (r) {
            if (m_paused.exchange(false))
                qCInfo(lcIngest) << "writer resumed after" << stage << "error";
            return true;
        }
        const std::string_view st(stage);
        (st == "archive" ? m_archiveErrors : st == "sightings log" ? m_logErrors : m_indexErrors)->inc();
        setError(std::string(stage) + ": " + r.error().message, r.error().code);
        if (!m_paused.exchange(true))
            qCWarning(lcIngest).noquote() << "writer paused, retrying:" << QString::fromStdString(r.error().message);
        if (m_abandon.load()) {
            // The groups before this one are durable: acknowledge what the lanes committed of them.
            waitAllCommitted();
            m_failed.store(true);
            qCCritical(lcIngest).noquote() << "commit abandoned at shutdown:" << QString::fromStdString(r.error().message);
            return false;
        }
        // Sleep in small steps so abandonRetries() takes effect promptly; meanwhile the groups
        // handed to the lanes before this one are acknowledged as they commit.
        for (int slept = 0; slept < delay_ms && !m_abandon.load(); slept += 20) {
            if (!drainCompleted(std::chrono::milliseconds(20))) {
                m_failed.store(true);
                return false;
            }
        }
        delay_ms = std::min(delay_ms * 2, m_opts.retry_max_ms);
    }
}

bool CommitWriter::commitGroup() {
    Pending p;
    p.started_ms = steadyMs();
    if (!m_newEvents.empty()) {
        const auto events = static_cast<uint32_t>(m_newEvents.size());
        if (!retry("archive", [&]() -> Expected<void> {
                auto r = m_archive.appendFrames(m_frame, events);
                if (!r) return r.error();
                p.frames = std::move(*r);
                return {};
            }))
            return false;
        // Each event's frame and line within it (NewEvent::line was its line in the group).
        size_t next = 0;
        for (uint32_t f = 0; f < p.frames.size(); ++f)
            for (uint32_t l = 0; l < p.frames[f].events && next < m_newEvents.size(); ++l, ++next) {
                m_newEvents[next].frame = f;
                m_newEvents[next].line = l;
            }
    }
    if (m_log) {
        buildLogRecords(p.frames);
        if (!m_logRecords.empty()) {
            const uint64_t before = m_log->bytesWritten();
            if (!retry("sightings log", [&]() -> Expected<void> {
                    auto r = m_log->append(m_logRecords);
                    if (!r) return r.error();
                    return {};
                }))
                return false;
            m_logRecordsTotal->inc(m_logRecords.size());
            m_logBytes->inc(m_log->bytesWritten() - before);
        }
        p.log_end = m_log->end();
    }
    if (!retry("index", [&]() -> Expected<void> {
            auto r = m_index.submit(p.frames, m_newEvents, m_sightings, &p.rks);
            if (!r) return r.error();
            p.ticket = *r;
            return {};
        }))
        return false;
    for (size_t i = 0; i < m_newEvents.size(); ++i) {
        const archive::FrameRef& ref = p.frames[m_newEvents[i].frame].ref;
        m_inFlight[m_newEvents[i].event.id] = InFlight{p.rks[i], archive::EventPos{ref.segment, ref.offset, m_newEvents[i].line}};
    }
    p.events = std::move(m_newEvents);
    // The next group is likely about this size: one array for it, not a doubling series of copies.
    m_newEvents.reserve(std::min<size_t>(m_opts.group_events, p.events.size() + p.events.size() / 4));
    p.sources = std::move(m_newSources);
    p.sighting_sources = std::move(m_sightingSources);
    for (const Echo& e : m_echoes) p.sighting_sources.push_back(e.source);
    m_pending.push_back(std::move(p));
    m_pendingSize.store(m_pending.size(), std::memory_order_relaxed);
    m_frame.clear();
    m_newEvents.clear();
    m_newSources.clear();
    m_sightings.clear();
    m_sightingSources.clear();
    m_sightingPos.clear();
    m_echoes.clear();

    if (m_archive.shouldSeal()) {
        const uint64_t bytes = m_archive.openSegmentBytes();
        auto sealed = m_archive.seal();
        if (!sealed) {
            m_archiveErrors->inc();
            setError("seal: " + sealed.error().message);
            qCWarning(lcArchive).noquote() << "sealing failed (will retry at the next commit):"
                                           << QString::fromStdString(sealed.error().message);
        } else {
            auto marked = m_index.markSegmentSealed(*sealed, bytes, wallMs() / 1000);
            if (!marked) {
                m_indexErrors->inc();
                qCWarning(lcIndex).noquote() << "could not record sealed segment:"
                                             << QString::fromStdString(marked.error().message);
            }
        }
    }
    return true;
}

void CommitWriter::buildLogRecords(const std::vector<archive::AppendedFrame>& frames) {
    m_logRecords.clear();
    auto code = [&](SourceId source) {
        auto it = m_logCodes.find(source);
        if (it == m_logCodes.end()) it = m_logCodes.emplace(source, m_log->code(m_sources.name(source))).first;
        return it->second;
    };
    auto placed = [&](const index::NewEvent& ne) {
        const archive::FrameRef& ref = frames[ne.frame].ref;
        return archive::EventPos{ref.segment, ref.offset, ne.line};
    };
    for (size_t i = 0; i < m_newEvents.size() && !frames.empty(); ++i)
        m_logRecords.push_back(
            archive::SightingRecord{placed(m_newEvents[i]), code(m_newSources[i]), m_newEvents[i].first_seen_at_ms, true});
    for (size_t i = 0; i < m_sightings.size(); ++i) {
        archive::EventPos pos = m_sightingPos[i];
        // A copy of an event of this group: pos.line is that event's line in the group.
        if (pos.segment == 0 && !frames.empty() && m_sightings[i].rk == 0 && pos.line < m_newEvents.size())
            pos = placed(m_newEvents[pos.line]);
        if (pos.segment == 0) {
            m_logUnplaced->inc();
            continue;
        }
        m_logRecords.push_back(
            archive::SightingRecord{pos, code(m_sightingSources[i]), m_sightings[i].seen_at_ms, false});
    }
    for (const Echo& e : m_echoes) {
        if (e.pos.segment == 0) {
            m_logUnplaced->inc();
            continue;
        }
        m_logRecords.push_back(archive::SightingRecord{e.pos, code(e.source), e.seen_at_ms, false});
    }
}

bool CommitWriter::drainCompleted(std::chrono::milliseconds wait) {
    for (uint64_t ticket : m_index.completed(wait)) {
        while (!m_pending.empty() && m_pending.front().ticket <= ticket) {
            acknowledge(m_pending.front());
            m_pending.pop_front();
        }
    }
    m_pendingSize.store(m_pending.size(), std::memory_order_relaxed);
    if (m_index.index()->laneFailed()) {
        m_failed.store(true);
        setError("index: " + m_index.index()->lastError());
        return false;
    }
    return true;
}

bool CommitWriter::waitAllCommitted() {
    while (!m_pending.empty()) {
        if (!drainCompleted(std::chrono::milliseconds(20))) return false;
        if (m_abandon.load() && !m_pending.empty()) {
            // Lanes that still retry have been told to give up (abandonRetries).
            if (m_index.index()->laneFailed()) {
                m_failed.store(true);
                return false;
            }
        }
    }
    return true;
}

void CommitWriter::acknowledge(Pending& p) {
    // Durable: from here on the events are stored. The cache first, then the in-flight set goes:
    // the id is never in neither.
    CommitNotice notice;
    notice.stored = p.events.size();
    notice.duplicates = p.sighting_sources.size();
    std::unordered_map<SourceId, std::pair<uint64_t, uint64_t>> perSource;
    m_recentBatch.clear();
    m_recentBatch.reserve(p.events.size());
    for (size_t i = 0; i < p.events.size(); ++i) {
        const archive::FrameRef& ref = p.frames[p.events[i].frame].ref;
        m_recentBatch.emplace_back(p.events[i].event.id,
                                   RecentIdCache::Entry{p.rks[i], p.events[i].sighash,
                                                        archive::EventPos{ref.segment, ref.offset, p.events[i].line}});
    }
    m_recent.insertMany(m_recentBatch);  // one lock for the group
    for (size_t i = 0; i < p.events.size(); ++i) {
        m_inFlight.erase(p.events[i].event.id);
        ++perSource[p.sources[i]].first;
    }
    m_inFlightSize.store(m_inFlight.size(), std::memory_order_relaxed);
    for (SourceId s : p.sighting_sources) ++perSource[s].second;
    const size_t firstNewest = p.events.size() > CommitNotice::kNoticeNewest ? p.events.size() - CommitNotice::kNoticeNewest : 0;
    for (size_t i = firstNewest; i < p.events.size(); ++i) {
        const auto& ne = p.events[i];
        notice.newest.push_back(CommittedEvent{ne.event.id, ne.event.pubkey, ne.event.created_at, ne.event.kind,
                                               contentPreview(ne.event.content), p.sources[i], ne.first_seen_at_ms});
    }
    // Metrics before the per-source counters: a waiter released by the counters then sees
    // consistent totals.
    m_storedTotal->inc(notice.stored);
    m_duplicateTotal->inc(notice.duplicates);
    if (!p.frames.empty()) {
        for (const archive::AppendedFrame& f : p.frames) {
            m_bytesCompressed->inc(f.ref.length);
            m_bytesRaw->inc(f.raw_bytes);
        }
        m_groupEvents->observe(double(notice.stored));
    }
    notice.sightings_end = p.log_end;
    if (!p.frames.empty())
        notice.archive_end = archive::Watermark{p.frames.back().ref.segment, p.frames.back().ref.offset + p.frames.back().ref.length};
    notice.commit_ms = steadyMs() - p.started_ms;
    m_lastCommitMs = notice.commit_ms;
    m_commitSeconds->observe(double(notice.commit_ms) / 1000.0);
    if (m_listener) m_listener(notice);
    if (m_observer)
        for (size_t i = 0; i < p.events.size(); ++i) m_observer(p.events[i].event, p.sources[i]);
    for (const auto& [source, counts] : perSource) {
        SourceCounters& c = m_sources.counters(source);
        if (counts.first) c.stored.fetch_add(counts.first, std::memory_order_release);
        if (counts.second) c.duplicate.fetch_add(counts.second, std::memory_order_release);
    }
}

}  // namespace archivist::ingest
