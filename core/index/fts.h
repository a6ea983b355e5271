#pragma once
// Full-text search over event content (docs/index-schema.md "Full-text search", decision 0011).
//
// Each writer lane owns one FTS5 file, fts-<lane>.sqlite: a contentless table with detail=none
// whose rowid is the event's row key rk (layout.h), so its posting lists are ordered by
// created_at and a "newest first" search reads them backwards and stops when the page is full.
// The tokenizer "archivist" is FTS5's unicode61 (remove_diacritics 2) plus one thing: while a
// TermSink is installed on the inserting thread it records every token of the documents being
// inserted, and the lane keeps the distinct terms in a `vocab` table. A query word is a word
// PREFIX; instead of FTS5's prefix query (which merges every matching term's postings into
// memory before returning the first row) the word is expanded through `vocab` into the terms it
// is a prefix of, ORed — FTS5 then streams those postings lazily.
//
// Thread: registerTokenizer per connection; the rest on the thread using that connection.
#include <sqlite3.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/index/sqlite_util.h"
#include "core/util/expected.h"

namespace archivist::index {

// columnsize=0: no `fts_docsize` table. Its rows are keyed by rowid = rk, so in a backfill
// (created_at spread over years) every document was a random insert into a B-tree as big as the
// file, and a document's cost grew with the file (decision 0027). Nothing reads it: searches
// rank by rk, never by bm25. A file created before keeps its table; both are read the same way.
inline constexpr const char* kFtsCreateSql =
    "CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(content, content='', detail=none, columnsize=0, "
    "tokenize='archivist remove_diacritics 2');"
    "CREATE TABLE IF NOT EXISTS vocab(term TEXT PRIMARY KEY) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS vocab_runs(run INTEGER NOT NULL, term TEXT NOT NULL, PRIMARY KEY(run, term)) "
    "WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS vocab_frequent(term TEXT PRIMARY KEY) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;";

// A lane's vocabulary (the terms its documents hold, for prefix expansion) is written in runs
// (decision 0035): `vocab_runs` keyed by (run, term), new terms going into the newest run, which
// closes at `run_terms` terms. An insert only touches the newest run's pages, so a new term costs
// the same in a file of a million terms as in one of a hundred million (the one growing table of
// before: ≈ 4.6 µs a term up to a million; in Python's sqlite3 ≈ 7 µs below a million and 18–25
// at 4–8 million). A term may sit in several runs; readers take the union (matchExpression).
// `vocab`, the single table files had before, is still read and no longer written.
inline constexpr uint64_t kVocabRunTerms = uint64_t(1) << 19;

// A term the writer has counted this many times (in its term cache, since the cache last took it
// in) is written to `vocab_frequent` (decision 0037): a search that splits a prefix goes down
// towards the frequent terms it holds, so that their postings are streamed, not gathered by an
// FTS5 prefix query. A hint for the cost of a search, never for its rows: a file without the
// table, or a frequent term missing from it, finds the same rows.
inline constexpr uint32_t kFrequentTermOccurrences = 256;

// The number of documents in a full-text file, as FTS5 keeps it (the first varint of its
// "averages" record, fts_data row 1, updated in every transaction that adds or deletes one).
// A contentless table without `fts_docsize` cannot be scanned, so `count(*)` is not an option.
Expected<uint64_t> ftsDocumentCount(Db& db);

class TermSet;

// Inserts terms into the newest vocabulary run of one full-text file, in the caller's
// transaction. Thread: the one that owns the file's write connection.
class VocabWriter {
public:
    VocabWriter() = default;
    // Reads the newest run and how many terms it holds (the tables exist).
    static Expected<VocabWriter> open(Db& db, uint64_t run_terms = kVocabRunTerms);
    // Inserts `terms` in key order (a term already in the newest run is skipped); a full run is
    // closed first. A rolled-back transaction leaves the count high: the run closes a little early.
    Expected<void> insert(Db& db, const TermSet& terms);
    // Records `terms` as frequent (those recorded already are skipped) and clears the vector.
    Expected<void> insertFrequent(Db& db, std::vector<std::string>& terms);

private:
    Stmt m_ins;
    Stmt m_insFrequent;
    int64_t m_run = 0;
    uint64_t m_terms = 0;  // in m_run
    uint64_t m_runTerms = kVocabRunTerms;
    std::vector<std::string_view> m_sorted;  // scratch, cleared after each insert
};

// Registers the "archivist" tokenizer on this connection (needed by every connection that
// inserts into or queries an fts-<lane>.sqlite file).
Expected<void> registerTokenizer(sqlite3* db);

// A set of terms, asked once for every token the tokenizer sees (the lanes' hottest loop after
// SQLite itself): open addressing with linear probing over 16-byte slots, a hash seeded per
// process (content comes from the network: no fixed hash for anyone to collide), the bytes in one
// arena. A lookup costs one hash and, at most 70 % full, about one slot; no node is allocated.
// Each term carries the number of times it was inserted or hit (saturating at 2^24 − 1).
// Thread: one.
class TermSet {
public:
    TermSet();
    bool contains(std::string_view term) const;
    // Counts one more occurrence of `term`, adding it when absent; returns its count.
    uint32_t insert(std::string_view term);  // `term` is not empty
    // Counts one more occurrence of `term` when present; returns its count, 0 when absent.
    uint32_t hit(std::string_view term);
    uint32_t count(std::string_view term) const;  // 0 when absent
    size_t size() const { return m_size; }
    bool empty() const { return m_size == 0; }
    void clear();
    // Adds every term of `other` with its count (added to the count here), and empties `other`.
    void absorb(TermSet& other);
    template <typename F>
    void forEach(F&& f) const {
        for (const Slot& s : m_slots)
            if (s.len) f(std::string_view(m_arena.data() + s.off, s.len));
    }

private:
    static constexpr uint32_t kMaxCount = (uint32_t(1) << 24) - 1;
    struct Slot {
        uint64_t off : 40 = 0;    // of its bytes in m_arena
        uint64_t count : 24 = 0;  // occurrences counted
        uint32_t len = 0;         // 0: empty
        uint32_t tag = 0;         // the low 32 bits of its hash
    };
    static_assert(sizeof(Slot) == 16);
    uint64_t hashOf(std::string_view term) const;
    // The slot holding `term`, or the empty slot where it belongs.
    size_t slotOf(std::string_view term, uint64_t hash) const;
    void rehash(size_t slots);
    std::vector<Slot> m_slots;  // a power of two
    std::string m_arena;
    size_t m_size = 0;
    uint64_t m_seed = 0;
};

// Distinct terms of the documents inserted on this thread while installed, less those already
// in `known` (when given): a token costs one hash lookup, a string only when it is new. Each
// token is counted where its term is (in `known` or in `terms`); a term whose count reaches
// `frequent_at` is appended to `frequent` (once per count: again only after a cleared set has
// counted it up anew).
struct TermSink {
    TermSet terms;
    TermSet* known = nullptr;
    std::vector<std::string> frequent;
    uint32_t frequent_at = kFrequentTermOccurrences;
};
// Installs `sink` (nullptr: none) for the calling thread; returns the previous one.
TermSink* setThreadTermSink(TermSink* sink);

// The folded tokens of `text` as FTS5 would see them in a query (registerTokenizer first).
Expected<std::vector<std::string>> queryTokens(sqlite3* db, std::string_view text);

// One user word: its tokens, the last of which is matched as a prefix.
struct SearchWord {
    std::vector<std::string> exact;   // tokens before the last one (each must occur)
    std::string prefix;               // the last token: some term starting with it must occur
};
// Splits the user's text at whitespace and tokenizes each word. An empty vector: nothing to match
// (every event matches, as an empty search).
Expected<std::vector<SearchWord>> parseSearch(sqlite3* db, std::string_view text);

// A MATCH expression for `words` (connection `db`: a full-text file with the vocabulary of
// `vocab` and every run of `vocab_runs`): a prefix that begins at most `max_expansion` terms is
// spelled out, ("t1" OR "t2" …), which FTS5 streams newest first. A prefix that begins more is
// split (decision 0036): its own term spelled out, each prefix one character longer an FTS5
// prefix query ("p"*) — or spelled out if it begins one term, or split in its turn if it begins
// a frequent term (`vocab_frequent`, decision 0037; these first) or is a term itself — with at
// most `max_phrases` phrases and vocabulary lookups, past which a longer prefix stays one prefix
// query. A word of one ASCII letter or digit matches that whole word.
// Returns an empty string when some prefix matches no term at all (then nothing matches).
Expected<std::string> matchExpression(sqlite3* db, const std::vector<SearchWord>& words, size_t max_expansion = 64,
                                      size_t max_phrases = 128);

// Documents into one lane's full-text file in one transaction, with their vocabulary (repairs,
// backfills, bulk builds). Thread: one.
class FtsBulkWriter {
public:
    static Expected<FtsBulkWriter> open(const std::filesystem::path& path, uint64_t vocab_run_terms = kVocabRunTerms,
                                        uint32_t frequent_at = kFrequentTermOccurrences);
    Expected<void> add(int64_t rk, std::string_view content);
    // Writes the vocabulary, `applied_batch` (when given), commits; then a new transaction starts
    // unless `last`.
    Expected<void> commit(std::optional<uint64_t> applied_batch, bool last = true);
    uint64_t docs() const { return m_docs; }

private:
    Db m_db;
    Stmt m_doc;
    VocabWriter m_vocab;
    TermSink m_sink;
    uint64_t m_docs = 0;
};

}  // namespace archivist::index
