#pragma once
// The NIP-11 family of relays.sqlite: documents content-addressed by the SHA-256 of their
// canonical JSON (protocol::json::canonicalJson), and per relay the history of which document it
// served when (docs/relay-directory.md, "NIP-11 documents").
//
// Contract
// - A history row is added only when a relay's document changes; fetching the same document
//   again moves the newest row's fetched_ms. At most kHistoryPerRelay rows per relay; a document
//   no history row refers to is deleted. Documents above kMaxDocumentBytes are refused
//   (TooLarge), documents that are not a JSON object too (Json).
// Thread: the owner of the RelayStateStore (one thread).
#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/net/relay_info.h"
#include "core/relays/statement.h"

namespace archivist::relays {

class Nip11Table {
public:
    static constexpr size_t kHistoryPerRelay = 32;
    static constexpr size_t kMaxDocumentBytes = 64 * 1024;

    explicit Nip11Table(sqlite3* db) : m_db(db) {}

    // An unknown relay is a no-op.
    StateResult<void> save(const std::string& url, const std::string& document, int64_t fetched_ms);
    StateResult<void> save(int64_t relay_id, const std::string& document, int64_t fetched_ms);
    // The newest stored document in canonical JSON; "" when the relay is unknown or has none.
    StateResult<std::string> newest(const std::string& url);
    // (fetched_ms, canonical JSON) newest first, at most `limit`.
    StateResult<std::vector<std::pair<int64_t, std::string>>> history(const std::string& url, size_t limit);
    StateResult<uint64_t> documentCount();

    // The short summary tables show, from a stored (canonical) document; empty when unparsable.
    static net::RelayInfoSummary summarize(const std::string& document);

private:
    sqlite3* m_db;
};

}  // namespace archivist::relays
