#pragma once
// IdFetch: a fetch of exactly these event ids from the open relays (`archivist fetch-ids FILE`,
// the console's File → Fetch events by id…), shared by the job that reads the ids and every
// relay's sync (RelaySync), which asks its relay for them with REQ {"ids": […]} on its query slot,
// in chunks within the relay's limits (the same sizing as a NIP-77 fetch of missing ids).
//
// The job hands over one batch at a time (bounded: kMaxBatch ids) and waits. Every relay whose
// session is open (join() … leave()) asks for every id of the batch, so each relay's count says
// how many of them it holds; a relay that opens while a batch is under way takes part in it too.
// A relay's part is done once its last chunk ended (EOSE, CLOSED or timeout) *and* every event it
// sent before has settled in the pipeline (the cursor rule, docs/relay-network.md): when the batch
// is done, what came back is stored (or counted invalid) and the job can look the ids up in the
// index. A relay that closes in the middle leaves the batch (its unasked ids count as not asked).
//
// Bounded: one batch; at most kMaxRelays participants (more are refused and not asked); every
// tally has one entry per participating relay URL (≤ kMaxRelays).
// Thread: any (one mutex). The job waits on a condition variable; drivers never block.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/protocol/event.h"

namespace archivist::sync {

struct IdFetchRelayTally {
    std::string url;
    uint64_t asked = 0;     // ids sent in REQs that ended (EOSE, CLOSED, timeout)
    uint64_t returned = 0;  // events it sent for them (admitted: one of the ids asked)
    uint64_t failed = 0;    // REQs that ended without EOSE (CLOSED, timeout)
    uint64_t batches = 0;   // batches it completed
    std::string last_error;
};

class IdFetch {
public:
    static constexpr size_t kMaxBatch = 10000;
    static constexpr size_t kMaxRelays = 4096;

    // ---- the job
    // Starts a batch (sorted ids, ≤ kMaxBatch); the previous one must be done (or abandoned).
    void publish(std::vector<protocol::Bytes32> ids);
    enum class Wait { Done, NoRelay, Cancelled };
    // Until the batch is done, `cancel` is set, or no relay session was open for `no_relay_ms`.
    Wait wait(const std::atomic<bool>* cancel, int64_t no_relay_ms);
    // No batch under way (drivers ask for nothing); the tallies stay until the next start().
    void stop();
    void start();  // clears the tallies
    std::vector<IdFetchRelayTally> tallies() const;  // by URL
    size_t participants() const;

    // ---- relay syncs (network threads); `who` identifies one session
    void join(const void* who, const std::string& url);
    void leave(const void* who);
    // The next ids (≤ max) of the current batch this session has not asked for; empty: none now.
    // *generation names the batch (pass it back to ended()/partDone()).
    std::vector<protocol::Bytes32> nextChunk(const void* who, size_t max, uint64_t* generation);
    bool hasWork(const void* who) const;
    void returned(const void* who);
    void ended(const void* who, uint64_t generation, size_t ids, bool ok, const std::string& error);
    // Its last chunk ended and what it sent has settled.
    void partDone(const void* who, uint64_t generation);

private:
    struct Part {
        std::string url;
        uint64_t generation = 0;  // the batch it is on
        size_t next = 0;          // ids of that batch asked so far
        bool done = false;
    };
    bool batchDoneLocked() const;
    IdFetchRelayTally& tallyLocked(const std::string& url);

    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_active = false;
    uint64_t m_generation = 0;
    std::vector<protocol::Bytes32> m_batch;
    std::map<const void*, Part> m_parts;
    std::map<std::string, IdFetchRelayTally> m_tallies;
};

}  // namespace archivist::sync
