#pragma once
// LocalSetSource: what we hold in one time window, as NIP-77 items (created_at, id) — the local
// side of a reconciliation window (docs/backfill.md, "Reconciliation windows"). The one narrow
// door from the sync layer to the archive's index: whoever changes the index re-implements this
// and nothing else (the engine's implementation, core/engine/local_sets.h, reads the index).
//
// Contract
// - request() never blocks: the answer comes later, on the thread of `context`, through `reply`
//   (queued, never from inside request()); it is dropped when `context` is gone. false when the
//   source cannot take the request now (its bounded queue is full or it is stopping): ask again
//   later.
// - The answer describes the newest part of [filter.since, filter.until] (both inclusive, like
//   NIP-01) holding at most max_items events that match the filter: `since` is the lowest
//   second of that part and `items` every matching event in [since, until]. since == the
//   request's since: the whole range fits. A single second at `until` holding more than
//   max_items events: overfull = true, since = until and items is empty (the caller covers that
//   second another way).
// - Items are what the index holds when the request runs (events committed but not yet indexed
//   count as missing: at worst fetched again and dropped as duplicates).
// Thread: any.
#include <QObject>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/protocol/filter.h"
#include "core/sync/negentropy.h"
#include "core/util/expected.h"

namespace archivist::sync {

struct LocalSetRequest {
    protocol::Filter filter;  // the relay's base filter with since and until set (limit ignored)
    size_t max_items = 100000;
};

struct LocalSet {
    int64_t since = 0;
    std::vector<NegentropyItem> items;  // any order
    bool overfull = false;
};

class LocalSetSource {
public:
    using Reply = std::function<void(Expected<LocalSet>)>;
    virtual ~LocalSetSource() = default;
    virtual bool request(LocalSetRequest request, QObject* context, Reply reply) = 0;
    // No reply reaches `context` once this returns (call it before destroying the context; a
    // reply already posted is discarded with the object's pending events).
    virtual void cancel(QObject* context) = 0;
};

}  // namespace archivist::sync
