#include "core/ingest/verify_pool.h"

#include <QLoggingCategory>
#include <optional>

#include "core/index/layout.h"
#include "core/index/index_writer.h"
#include "core/index/lookup.h"
#include "core/observe/log.h"
#include "core/observe/metrics.h"
#include "core/protocol/event_codec.h"
#include "core/util/thread_name.h"
#include "core/util/thread_priority.h"

namespace archivist::ingest {

VerifyPool::VerifyPool(BoundedQueue<RawBatch>& in, BoundedQueue<VerifiedBatch>& out, SourceTable& sources,
                       protocol::ValidationPolicy policy, size_t threads, observe::MetricsRegistry& metrics,
                       const RecentIdCache* recent, std::shared_ptr<index::Index> index, CopyCache* copies)
    : m_in(in), m_out(out), m_sources(sources), m_policy(policy), m_threadCount(threads ? threads : 1),
      m_recent(recent), m_copies(copies), m_index(std::move(index)), m_metrics(metrics) {
    m_verified = &metrics.counter("archivist_events_valid_total",
                                  "Events that passed validation (before deduplication)");
    m_sigSkipped = &metrics.counter("archivist_signature_checks_skipped_total",
                                    "Copies accepted without a BIP-340 check (the same signature bytes as the "
                                    "stored copy, or the same JSON as an event verified lately)");
    m_copiesRecognised = &metrics.counter("archivist_copies_recognised_total",
                                          "Items whose JSON repeats, byte for byte, an event handled lately "
                                          "(neither parsed nor hashed into its id again)");
    if (m_copies) {
        metrics.gaugeFn("archivist_cache_entries", "Entries in a bounded cache", {{"cache", "copies"}},
                        [c = m_copies] { return double(c->size()); }, this);
        metrics.gaugeFn("archivist_cache_capacity", "Capacity of a bounded cache", {{"cache", "copies"}},
                        [c = m_copies] { return double(c->capacity()); }, this);
    }
    m_lookupErrors = &metrics.counter("archivist_verify_lookup_errors_total",
                                      "Failed duplicate lookups in the verify pool (the event is verified instead)");
    m_lookupStored = &idLookupCounter(metrics, "verify", "stored");
    m_lookupAbsent = &idLookupCounter(metrics, "verify", "absent");
    m_lookupsLeft = &metrics.counter("archivist_id_lookups_left_to_writer_total",
                                     "Copies recognised by their bytes whose id no recent commit holds: not looked up "
                                     "in the index by the verify pool (their first copy is on its way to the writer)");
    for (size_t r = 0; r < static_cast<size_t>(protocol::Reject::Count); ++r) {
        const auto reason = static_cast<protocol::Reject>(r);
        m_rejected.push_back(r == 0 ? nullptr
                                    : &metrics.counter("archivist_events_rejected_total",
                                                       "Events rejected, by reason",
                                                       {{"reason", protocol::rejectName(reason)}}));
    }
}

VerifyPool::~VerifyPool() {
    join();
    m_metrics.removeGaugeFns(this);
}

void VerifyPool::start() {
    // Each thread holds the index through its own Lookup, which follows a rebuild's replacement;
    // the pool keeps no reference (a replaced generation is removed once its last user goes).
    for (size_t i = 0; i < m_threadCount; ++i)
        m_threads.emplace_back([this, idx = m_index] {
            lowerThisThreadPriority();  // the console's GUI thread comes first
            run(idx);
        });
    m_index.reset();
}

void VerifyPool::join() {
    if (m_threads.empty()) return;
    for (auto& t : m_threads)
        if (t.joinable()) t.join();
    m_threads.clear();
    m_out.close();
}

void VerifyPool::run(std::shared_ptr<index::Index> idx) {
    setThreadName("verify");
    protocol::EventValidator validator(m_policy);
    std::optional<index::Lookup> lookup;
    if (idx) lookup.emplace(std::move(idx));
    RawBatch batch;
    std::vector<protocol::Bytes32> keys;                  // per item of the batch (reused)
    std::vector<std::optional<CopyCache::Entry>> copies;  // per item of the batch (reused)
    while (m_in.pop(batch)) {
        SourceCounters& counters = m_sources.counters(batch.source);
        VerifiedBatch out;
        out.source = batch.source;
        out.copies_expected = batch.copies_expected;
        out.items.reserve(batch.items.size());
        uint64_t invalid = 0;
        // Read the cache epoch BEFORE the lookups (see RecentIdCache::absentStillValid).
        const uint64_t epoch = m_recent ? m_recent->epoch() : 0;
        const uint64_t generation = m_recent ? m_recent->generation() : 0;
        if (lookup) lookup->refresh();
        const std::string sourceName = lookup ? m_sources.name(batch.source) : std::string();
        auto reject = [&](protocol::Reject r) {
            ++invalid;
            counters.invalid_by_reason[static_cast<size_t>(r)].fetch_add(1, std::memory_order_relaxed);
            m_rejected[static_cast<size_t>(r)]->inc();
        };
        // A copy of JSON handled lately: its id, time and signature hash without a parse. The
        // batch's keys first, each cache slot asked for as its key is known; then the entries
        // those slots point to; then the lookups, each asking for the slot its id has in the
        // recent-ids cache: the cache lines arrive while other items hash or are looked up
        // instead of one miss after another.
        const size_t count = batch.items.size();
        const bool keying = m_copies && batch.copies_expected;
        keys.resize(keying ? count : 0);
        copies.assign(keying ? count : 0, std::nullopt);
        if (keying) {
            for (size_t i = 0; i < count; ++i)
                if (batch.items[i].json.size() <= m_policy.max_event_bytes) {
                    keys[i] = CopyCache::keyOf(batch.items[i].json);
                    m_copies->prefetch(keys[i]);
                }
            for (size_t i = 0; i < count; ++i)
                if (batch.items[i].json.size() <= m_policy.max_event_bytes) m_copies->prefetchEntry(keys[i]);
            for (size_t i = 0; i < count; ++i)
                if (batch.items[i].json.size() <= m_policy.max_event_bytes) {
                    copies[i] = m_copies->find(keys[i]);
                    if (copies[i] && m_recent) m_recent->prefetch(copies[i]->id);
                }
        }
        for (size_t index = 0; index < count; ++index) {
            RawItem& raw = batch.items[index];
            VerifiedItem item;
            const int64_t receivedS = raw.received_at_ms / 1000;
            const bool keyed = keying && raw.json.size() <= m_policy.max_event_bytes;
            const protocol::Bytes32 key = keyed ? keys[index] : protocol::Bytes32{};
            std::optional<CopyCache::Entry> copy = keyed ? copies[index] : std::nullopt;
            // Not there at the first lookup: maybe now (an item of this batch, or another verify
            // thread, handled the same bytes meanwhile). A hit stays true: entries only leave.
            if (keyed && !copy) copy = m_copies->find(key);
            protocol::Reject r = protocol::Reject::None;
            if (copy) {
                item.event.id = copy->id;
                item.event.created_at = copy->created_at;
                item.sighash = copy->sighash;
                item.flags = copy->flags;  // the time's flag is the writer's to set if it stores the event
            } else {
                // The recent-ids slot of the claimed id, asked for as soon as it is parsed,
                // arrives while the id is checked (it was a cache miss an event: 0.4 µs).
                r = validator.validateExceptSignature(raw.json, receivedS, item.event, item.flags,
                                                      [&](const protocol::Event& e) {
                                                          if (m_recent) m_recent->prefetch(e.id);
                                                      });
                if (r != protocol::Reject::None) {
                    reject(r);
                    continue;
                }
                item.sighash = index::sigHash(item.event.sig);
            }
            std::optional<std::pair<int64_t, int64_t>> known;  // rk, sighash
            archive::EventPos knownPos;
            bool looked = false;
            if (m_recent)
                if (auto e = m_recent->findEntry(item.event.id)) {
                    known = std::make_pair(e->rk, e->sighash);
                    knownPos = e->pos;
                }
            // JSON that passed BIP-340 here lately, whose id no recent commit holds: its first copy
            // is on its way to the writer (most often: a copy from another relay arriving while
            // the first is in a batch or a commit group). An index lookup would then only prove
            // the id absent; the writer's in-flight set knows it, and the writer asks the index
            // itself when neither it nor the recent ids do.
            const bool leftToWriter = !known && lookup && copy && copy->signature_checked;
            if (leftToWriter) m_lookupsLeft->inc();
            if (!known && lookup && !leftToWriter) {
                auto found = lookup->find(item.event.id, item.event.created_at, sourceName);
                if (found) {
                    looked = true;
                    (*found ? m_lookupStored : m_lookupAbsent)->inc();
                    if (*found) {
                        known = std::make_pair((*found)->rk, (*found)->sighash);
                        knownPos = (*found)->pos;
                        item.sighted_by_source =
                            (*found)->source_seen_at && *(*found)->source_seen_at <= raw.received_at_ms;
                    }
                } else {
                    m_lookupErrors->inc();
                }
            }
            item.lookup_generation = generation;
            bool checkSignature = true;
            if (copy && copy->signature_checked) {
                // The same bytes passed BIP-340 here lately: stored or not, they are valid.
                checkSignature = false;
                m_sigSkipped->inc();
            }
            if (known) {
                item.known_rk = known->first;
                item.known_pos = knownPos;
                if (checkSignature && known->second == item.sighash) {
                    // The writer checks it after all if it finds the event not stored.
                    item.signature_skipped = true;
                    checkSignature = false;
                    if (!m_policy.verify_signatures) item.flags |= protocol::kFlagUnverified;
                    m_sigSkipped->inc();
                }
            } else if (looked && m_recent) {
                item.absent = true;
                item.absent_epoch = epoch;
            }
            if (checkSignature && copy) {
                // The cached bytes were taken for a stored copy, never checked: this one is parsed.
                copy.reset();
                r = validator.validateExceptSignature(raw.json, receivedS, item.event, item.flags);
                if (r != protocol::Reject::None) {
                    reject(r);
                    continue;
                }
            }
            if (checkSignature) {
                r = validator.checkSignature(item.event, item.flags);
                if (r != protocol::Reject::None) {
                    reject(r);
                    continue;
                }
            }
            item.received_at_ms = raw.received_at_ms;
            if (copy) {
                m_copiesRecognised->inc();
                item.unparsed = std::move(raw.json);
            } else {
                // At once: a copy another thread is handling now need not verify these bytes
                // again (the writer parses it if it comes first there).
                if (keyed)
                    m_copies->insert(key, CopyCache::Entry{item.event.id, item.event.created_at, item.sighash,
                                                           item.flags & ~uint32_t(protocol::kFlagFutureTimestamp),
                                                           !item.signature_skipped});
                if (!item.known_rk) {
                    validator.appendCanonical(item.canonical, item.event);
                    item.tag_keys = index::indexTagKeys(item.event);
                }
            }
            out.items.push_back(std::move(item));
        }
        if (lookup) lookup->refresh();  // no read transaction stays open while the thread waits
        m_verified->inc(out.items.size());
        // Count invalid only now, after the reasons: a waiter that sees settled() == received
        // must also see every reason.
        if (invalid) counters.invalid.fetch_add(invalid, std::memory_order_release);
        if (!out.items.empty() && !m_out.push(std::move(out))) {
            // The writer is gone (fatal error); these items can never be stored. The owner reports
            // the failure; nothing is counted as stored.
            return;
        }
    }
}

}  // namespace archivist::ingest
