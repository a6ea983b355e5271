#include "core/relays/nip11_table.h"

#include "core/protocol/json.h"
#include "core/protocol/sha256.h"

namespace archivist::relays {

using sql::Savepoint;
using sql::Stmt;

StateResult<void> Nip11Table::save(const std::string& url, const std::string& document, int64_t fetched_ms) {
    Stmt sel(m_db, "SELECT id FROM relays WHERE url = ?1");
    if (!sel.ok()) return sel.error("prepare relay information");
    sel.bind(1, url);
    const int rc = sel.step();
    if (rc == SQLITE_DONE) return {};
    if (rc != SQLITE_ROW) return sel.error("find relay");
    return save(sel.int64(0), document, fetched_ms);
}

StateResult<void> Nip11Table::save(int64_t relay_id, const std::string& document, int64_t fetched_ms) {
    if (document.size() > kMaxDocumentBytes)
        return stateError(StateErrorCode::TooLarge, "NIP-11 document of " + std::to_string(document.size()) +
                                                        " bytes (limit " + std::to_string(kMaxDocumentBytes) + ")");
    protocol::json::Value doc;
    if (!protocol::json::parse(document, doc, nullptr, 32) || doc.type != protocol::json::Type::Object)
        return stateError(StateErrorCode::Json, "NIP-11 document is not a JSON object");
    std::string canonical;
    canonical.reserve(document.size());
    protocol::json::appendCanonical(canonical, doc);
    const protocol::Bytes32 sha = protocol::sha256(canonical);
    const std::vector<uint8_t> shaBlob(sha.begin(), sha.end());

    Savepoint sp(m_db);
    if (auto b = sp.begun(); !b) return b;
    Stmt ins(m_db, "INSERT OR IGNORE INTO nip11_documents(sha256, canonical_json) VALUES(?1, ?2)");
    ins.bindBlob(1, sha.data(), sha.size()).bind(2, canonical);
    if (auto r = sql::run(ins, "store NIP-11 document"); !r) return r;

    std::vector<std::vector<uint8_t>> doomed;
    Stmt newestRow(m_db, "SELECT fetched_ms, sha256 FROM relay_nip11_history WHERE relay = ?1 ORDER BY fetched_ms DESC LIMIT 1");
    if (!newestRow.ok()) return newestRow.error("prepare NIP-11 history");
    newestRow.bind(1, relay_id);
    int rc = newestRow.step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return newestRow.error("read NIP-11 history");
    if (rc == SQLITE_ROW && newestRow.blob(1) == shaBlob) {
        // Same document again: the history records changes; move its confirmation time.
        Stmt up(m_db, "UPDATE relay_nip11_history SET fetched_ms = ?3 WHERE relay = ?1 AND fetched_ms = ?2 AND ?3 > ?2");
        up.bind(1, relay_id).bind(2, newestRow.int64(0)).bind(3, fetched_ms);
        if (auto r = sql::run(up, "update NIP-11 history"); !r) return r;
        return sp.commit();
    }
    {
        Stmt same(m_db, "SELECT sha256 FROM relay_nip11_history WHERE relay = ?1 AND fetched_ms = ?2");
        if (!same.ok()) return same.error("prepare NIP-11 history");
        same.bind(1, relay_id).bind(2, fetched_ms);
        while ((rc = same.step()) == SQLITE_ROW) doomed.push_back(same.blob(0));
        if (rc != SQLITE_DONE) return same.error("read NIP-11 history");
    }
    Stmt hist(m_db, "INSERT OR REPLACE INTO relay_nip11_history(relay, fetched_ms, sha256) VALUES(?1, ?2, ?3)");
    hist.bind(1, relay_id).bind(2, fetched_ms).bindBlob(3, sha.data(), sha.size());
    if (auto r = sql::run(hist, "record NIP-11 history"); !r) return r;
    {
        Stmt old(m_db, "SELECT fetched_ms, sha256 FROM relay_nip11_history WHERE relay = ?1 ORDER BY fetched_ms DESC "
                       "LIMIT -1 OFFSET ?2");
        if (!old.ok()) return old.error("prepare NIP-11 history");
        old.bind(1, relay_id).bind(2, int64_t(kHistoryPerRelay));
        std::vector<int64_t> times;
        while ((rc = old.step()) == SQLITE_ROW) {
            times.push_back(old.int64(0));
            doomed.push_back(old.blob(1));
        }
        if (rc != SQLITE_DONE) return old.error("read NIP-11 history");
        Stmt del(m_db, "DELETE FROM relay_nip11_history WHERE relay = ?1 AND fetched_ms = ?2");
        for (int64_t t : times) {
            del.reset();
            del.bind(1, relay_id).bind(2, t);
            if (auto r = sql::run(del, "trim NIP-11 history"); !r) return r;
        }
    }
    Stmt gc(m_db, "DELETE FROM nip11_documents WHERE sha256 = ?1 AND NOT EXISTS "
                  "(SELECT 1 FROM relay_nip11_history WHERE sha256 = ?1)");
    for (const auto& d : doomed) {
        gc.reset();
        gc.bindBlob(1, d.data(), d.size());
        if (auto r = sql::run(gc, "delete unused NIP-11 document"); !r) return r;
    }
    return sp.commit();
}

StateResult<std::string> Nip11Table::newest(const std::string& url) {
    Stmt sel(m_db,
             "SELECT d.canonical_json FROM relays r JOIN relay_nip11_history h ON h.relay = r.id "
             "JOIN nip11_documents d ON d.sha256 = h.sha256 WHERE r.url = ?1 ORDER BY h.fetched_ms DESC LIMIT 1");
    if (!sel.ok()) return sel.error("prepare relay information");
    sel.bind(1, url);
    const int rc = sel.step();
    if (rc == SQLITE_DONE) return std::string();
    if (rc != SQLITE_ROW) return sel.error("read relay information");
    return sel.text(0);
}

StateResult<std::vector<std::pair<int64_t, std::string>>> Nip11Table::history(const std::string& url, size_t limit) {
    Stmt sel(m_db,
             "SELECT h.fetched_ms, d.canonical_json FROM relays r JOIN relay_nip11_history h ON h.relay = r.id "
             "JOIN nip11_documents d ON d.sha256 = h.sha256 WHERE r.url = ?1 ORDER BY h.fetched_ms DESC LIMIT ?2");
    if (!sel.ok()) return sel.error("prepare NIP-11 history");
    sel.bind(1, url).bind(2, int64_t(limit));
    std::vector<std::pair<int64_t, std::string>> out;
    int rc;
    while ((rc = sel.step()) == SQLITE_ROW) out.emplace_back(sel.int64(0), sel.text(1));
    if (rc != SQLITE_DONE) return sel.error("read NIP-11 history");
    return out;
}

StateResult<uint64_t> Nip11Table::documentCount() {
    Stmt st(m_db, "SELECT count(*) FROM nip11_documents");
    if (!st.ok() || st.step() != SQLITE_ROW) return st.error("count NIP-11 documents");
    return uint64_t(st.int64(0));
}

net::RelayInfoSummary Nip11Table::summarize(const std::string& document) {
    auto info = net::parseRelayInfo(document);
    return info ? net::summarizeRelayInfo(*info) : net::RelayInfoSummary{};
}

}  // namespace archivist::relays
