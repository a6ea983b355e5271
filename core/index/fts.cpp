#include "core/index/fts.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <deque>
#include <iterator>
#include <limits>
#include <memory>
#include <random>
#include <set>

#include "core/index/xor_filter.h"

namespace archivist::index {

namespace {

thread_local TermSink* t_sink = nullptr;

fts5_api* fts5Api(sqlite3* db) {
    fts5_api* api = nullptr;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, nullptr) != SQLITE_OK) {
        sqlite3_finalize(st);
        return nullptr;
    }
    sqlite3_bind_pointer(st, 1, static_cast<void*>(&api), "fts5_api_ptr", nullptr);
    sqlite3_step(st);
    sqlite3_finalize(st);
    return api;
}

// The wrapped unicode61 instance.
struct Wrapped {
    fts5_tokenizer inner{};
    Fts5Tokenizer* instance = nullptr;
};

struct Forward {
    void* ctx;
    int (*token)(void*, int, const char*, int, int, int);
    bool record;
};

int forwardToken(void* p, int flags, const char* tok, int n, int start, int end) {
    auto* f = static_cast<Forward*>(p);
    if (f->record && t_sink && n > 0) {
        const std::string_view term(tok, size_t(n));
        uint32_t count = t_sink->known ? t_sink->known->hit(term) : 0;
        if (!count) count = t_sink->terms.insert(term);
        if (count == t_sink->frequent_at) t_sink->frequent.emplace_back(term);
    }
    return f->token(f->ctx, flags, tok, n, start, end);
}

int wrapCreate(void* user, const char** args, int nargs, Fts5Tokenizer** out) {
    auto* api = static_cast<fts5_api*>(user);
    auto w = std::make_unique<Wrapped>();
    void* innerUser = nullptr;
    if (int rc = api->xFindTokenizer(api, "unicode61", &innerUser, &w->inner); rc != SQLITE_OK) return rc;
    if (int rc = w->inner.xCreate(innerUser, args, nargs, &w->instance); rc != SQLITE_OK) return rc;
    *out = reinterpret_cast<Fts5Tokenizer*>(w.release());
    return SQLITE_OK;
}

void wrapDelete(Fts5Tokenizer* t) {
    auto* w = reinterpret_cast<Wrapped*>(t);
    if (w->instance) w->inner.xDelete(w->instance);
    delete w;
}

int wrapTokenize(Fts5Tokenizer* t, void* ctx, int flags, const char* text, int n,
                 int (*token)(void*, int, const char*, int, int, int)) {
    auto* w = reinterpret_cast<Wrapped*>(t);
    Forward f{ctx, token, (flags & FTS5_TOKENIZE_DOCUMENT) != 0};
    return w->inner.xTokenize(w->instance, &f, flags, text, n, forwardToken);
}

int collectToken(void* p, int, const char* tok, int n, int, int) {
    static_cast<std::vector<std::string>*>(p)->emplace_back(tok, size_t(n));
    return SQLITE_OK;
}

void appendQuoted(std::string& out, const std::string& term) {
    out += '"';
    for (char c : term) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
}

}  // namespace

Expected<uint64_t> ftsDocumentCount(Db& db) {
    auto st = db.prepare("SELECT block FROM fts_data WHERE id = 1");
    if (!st) return st.error();
    const int rc = st->step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db.error("full-text document count");
    const std::string_view block = rc == SQLITE_ROW ? st->blob(0) : std::string_view();
    if (block.empty()) return uint64_t(0);  // FTS5 creates it empty: nothing was ever written
    // An SQLite varint: big-endian groups of 7 bits, the high bit set on all but the last (the
    // ninth byte, if reached, carries 8 bits).
    uint64_t v = 0;
    for (size_t i = 0; i < block.size() && i < 9; ++i) {
        const auto b = uint8_t(block[i]);
        if (i == 8) return (v << 8) | b;
        v = (v << 7) | (b & 0x7f);
        if (!(b & 0x80)) return v;
    }
    return makeError("index_corrupt", "the full-text file's document count record is malformed");
}

Expected<void> registerTokenizer(sqlite3* db) {
    fts5_api* api = fts5Api(db);
    if (!api) return makeError("sqlite", "FTS5 is not available in this SQLite library");
    static fts5_tokenizer tokenizer{wrapCreate, wrapDelete, wrapTokenize};
    if (api->xCreateTokenizer(api, "archivist", api, &tokenizer, nullptr) != SQLITE_OK)
        return makeError("sqlite", "cannot register the full-text tokenizer");
    return {};
}

TermSet::TermSet() {
    static const uint64_t seed = [] {
        std::random_device rd;
        return (uint64_t(rd()) << 32) ^ rd();
    }();
    m_seed = seed;
}

uint64_t TermSet::hashOf(std::string_view t) const {
    uint64_t h = m_seed ^ (uint64_t(t.size()) * 0x9e3779b97f4a7c15ull);
    const char* p = t.data();
    size_t n = t.size();
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t w;
        std::memcpy(&w, p, 8);
        h = mix64(h ^ w);
    }
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    return mix64(h ^ w ^ (uint64_t(n) << 56));
}

size_t TermSet::slotOf(std::string_view t, uint64_t h) const {
    const size_t mask = m_slots.size() - 1;
    const uint32_t tag = uint32_t(h);
    for (size_t i = size_t(h >> 32) & mask;; i = (i + 1) & mask) {
        const Slot& s = m_slots[i];
        if (!s.len) return i;
        if (s.tag == tag && s.len == t.size() && std::memcmp(m_arena.data() + s.off, t.data(), t.size()) == 0) return i;
    }
}

bool TermSet::contains(std::string_view t) const {
    if (!m_size) return false;
    return m_slots[slotOf(t, hashOf(t))].len != 0;
}

uint32_t TermSet::insert(std::string_view t) {
    if (t.empty()) return 0;
    if ((m_size + 1) * 10 > m_slots.size() * 7) rehash(std::max<size_t>(64, m_slots.size() * 2));
    const uint64_t h = hashOf(t);
    Slot& s = m_slots[slotOf(t, h)];
    if (s.len) {
        if (s.count < kMaxCount) s.count = s.count + 1;
        return uint32_t(s.count);
    }
    s.off = m_arena.size();
    s.count = 1;
    s.len = uint32_t(t.size());
    s.tag = uint32_t(h);
    m_arena.append(t);
    ++m_size;
    return 1;
}

uint32_t TermSet::hit(std::string_view t) {
    if (!m_size) return 0;
    Slot& s = m_slots[slotOf(t, hashOf(t))];
    if (!s.len) return 0;
    if (s.count < kMaxCount) s.count = s.count + 1;
    return uint32_t(s.count);
}

uint32_t TermSet::count(std::string_view t) const {
    if (!m_size) return 0;
    return uint32_t(m_slots[slotOf(t, hashOf(t))].count);
}

void TermSet::rehash(size_t slots) {
    std::vector<Slot> old(slots);
    old.swap(m_slots);
    const size_t mask = m_slots.size() - 1;
    for (const Slot& s : old) {
        if (!s.len) continue;
        const uint64_t h = hashOf(std::string_view(m_arena.data() + s.off, s.len));
        size_t i = size_t(h >> 32) & mask;
        while (m_slots[i].len) i = (i + 1) & mask;
        m_slots[i] = s;
    }
}

void TermSet::clear() {
    std::vector<Slot>().swap(m_slots);
    std::string().swap(m_arena);
    m_size = 0;
}

void TermSet::absorb(TermSet& other) {
    for (const Slot& o : other.m_slots) {
        if (!o.len) continue;
        const std::string_view t(other.m_arena.data() + o.off, o.len);
        const uint32_t before = insert(t) - 1;  // its count here before (insert counted one)
        Slot& s = m_slots[slotOf(t, hashOf(t))];
        s.count = std::min<uint64_t>(kMaxCount, uint64_t(before) + o.count);
    }
    other.clear();
}

TermSink* setThreadTermSink(TermSink* sink) {
    TermSink* old = t_sink;
    t_sink = sink;
    return old;
}

Expected<std::vector<std::string>> queryTokens(sqlite3* db, std::string_view text) {
    fts5_api* api = fts5Api(db);
    if (!api) return makeError("sqlite", "FTS5 is not available in this SQLite library");
    void* user = nullptr;
    fts5_tokenizer tok{};
    if (api->xFindTokenizer(api, "unicode61", &user, &tok) != SQLITE_OK)
        return makeError("sqlite", "the unicode61 tokenizer is missing");
    const char* args[] = {"remove_diacritics", "2"};
    Fts5Tokenizer* inst = nullptr;
    if (tok.xCreate(user, args, 2, &inst) != SQLITE_OK) return makeError("sqlite", "cannot create the tokenizer");
    std::vector<std::string> out;
    const int rc = tok.xTokenize(inst, &out, FTS5_TOKENIZE_QUERY, text.data(), int(text.size()), collectToken);
    tok.xDelete(inst);
    if (rc != SQLITE_OK) return makeError("sqlite", "cannot tokenize the search text");
    return out;
}

Expected<std::vector<SearchWord>> parseSearch(sqlite3* db, std::string_view text) {
    std::vector<SearchWord> words;
    size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
        const size_t start = i;
        while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
        if (i == start) break;
        auto tokens = queryTokens(db, text.substr(start, i - start));
        if (!tokens) return tokens.error();
        if (tokens->empty()) continue;  // punctuation only: matches anything, as in FTS5
        SearchWord w;
        w.prefix = std::move(tokens->back());
        tokens->pop_back();
        w.exact = std::move(*tokens);
        words.push_back(std::move(w));
    }
    return words;
}

Expected<VocabWriter> VocabWriter::open(Db& db, uint64_t run_terms) {
    VocabWriter w;
    w.m_runTerms = std::max<uint64_t>(1, run_terms);
    auto newest = db.prepare("SELECT max(run) FROM vocab_runs");
    if (!newest) return newest.error();
    if (newest->step() != SQLITE_ROW) return db.error("vocabulary runs");
    w.m_run = newest->i64(0);  // NULL (no run yet) reads as 0
    auto count = db.prepare("SELECT count(*) FROM vocab_runs WHERE run = ?");
    if (!count) return count.error();
    count->bind(1, w.m_run);
    if (count->step() != SQLITE_ROW) return db.error("vocabulary run size");
    w.m_terms = uint64_t(count->i64(0));
    auto ins = db.prepare("INSERT OR IGNORE INTO vocab_runs(run, term) VALUES (?,?)", true);
    if (!ins) return ins.error();
    w.m_ins = std::move(*ins);
    auto frequent = db.prepare("INSERT OR IGNORE INTO vocab_frequent(term) VALUES (?)", true);
    if (!frequent) return frequent.error();
    w.m_insFrequent = std::move(*frequent);
    return w;
}

Expected<void> VocabWriter::insertFrequent(Db& db, std::vector<std::string>& terms) {
    std::sort(terms.begin(), terms.end());
    for (const std::string& t : terms) {
        StmtReset reset(m_insFrequent);
        m_insFrequent.bindText(1, t);
        if (m_insFrequent.step() != SQLITE_DONE) {
            terms.clear();
            return db.error("frequent term insert");
        }
    }
    terms.clear();
    return {};
}

Expected<void> VocabWriter::insert(Db& db, const TermSet& terms) {
    if (terms.empty()) return {};
    if (m_terms >= m_runTerms) {
        ++m_run;
        m_terms = 0;
    }
    // In key order: consecutive inserts land on the same or the next leaf page.
    m_sorted.clear();
    m_sorted.reserve(terms.size());
    terms.forEach([&](std::string_view t) { m_sorted.push_back(t); });
    std::sort(m_sorted.begin(), m_sorted.end());
    for (std::string_view t : m_sorted) {
        StmtReset reset(m_ins);
        m_ins.bind(1, m_run).bindText(2, t);
        if (m_ins.step() != SQLITE_DONE) {
            m_sorted.clear();
            return db.error("vocabulary insert");
        }
        m_terms += uint64_t(sqlite3_changes(db.get()));
    }
    m_sorted.clear();
    if (m_sorted.capacity() > (size_t(1) << 16)) m_sorted.shrink_to_fit();
    return {};
}

namespace {

struct StmtGuard {
    sqlite3_stmt* st = nullptr;
    ~StmtGuard() { sqlite3_finalize(st); }
};

// A full-text file's vocabulary as one sorted set: `vocab` (files made before the runs) and every
// run of `vocab_runs`, one seek each.
class VocabLookup {
public:
    Expected<void> open(sqlite3* db) {
        m_db = db;
        if (sqlite3_prepare_v2(db, "SELECT term FROM vocab WHERE term >= ?1 ORDER BY term LIMIT ?2", -1, &m_legacy.st,
                               nullptr) != SQLITE_OK)
            return makeError("sqlite", std::string("prepare vocabulary lookup: ") + sqlite3_errmsg(db));
        // A file written before the runs (opened read-only, so not given the table) has only `vocab`.
        StmtGuard nextRun;
        if (sqlite3_prepare_v2(db, "SELECT run FROM vocab_runs WHERE run > ?1 ORDER BY run LIMIT 1", -1, &nextRun.st,
                               nullptr) != SQLITE_OK) {
            if (std::string_view(sqlite3_errmsg(db)).find("no such table") != std::string_view::npos) return {};
            return makeError("sqlite", std::string("prepare vocabulary runs: ") + sqlite3_errmsg(db));
        }
        if (sqlite3_prepare_v2(db, "SELECT term FROM vocab_runs WHERE run = ?1 AND term >= ?2 ORDER BY term LIMIT ?3",
                               -1, &m_runs.st, nullptr) != SQLITE_OK)
            return makeError("sqlite", std::string("prepare vocabulary lookup: ") + sqlite3_errmsg(db));
        // Likewise a file written before the frequent terms (decision 0037): none are known.
        if (sqlite3_prepare_v2(db, "SELECT term FROM vocab_frequent WHERE term >= ?1 ORDER BY term LIMIT ?2", -1,
                               &m_frequent.st, nullptr) != SQLITE_OK &&
            std::string_view(sqlite3_errmsg(db)).find("no such table") == std::string_view::npos)
            return makeError("sqlite", std::string("prepare frequent terms: ") + sqlite3_errmsg(db));
        // One seek per run: the runs are few (a run holds kVocabRunTerms terms).
        int64_t after = std::numeric_limits<int64_t>::min();
        for (;;) {
            sqlite3_reset(nextRun.st);
            sqlite3_bind_int64(nextRun.st, 1, after);
            const int rc = sqlite3_step(nextRun.st);
            if (rc == SQLITE_DONE) break;
            if (rc != SQLITE_ROW) return makeError("sqlite", std::string("vocabulary runs: ") + sqlite3_errmsg(db));
            after = sqlite3_column_int64(nextRun.st, 0);
            m_runIds.push_back(after);
        }
        return {};
    }

    // The first `limit` terms (in byte order) that are ≥ `from` and begin with `prefix`. Each
    // source is asked for its first `limit`: the union's first `limit` are exact.
    Expected<std::set<std::string>> terms(std::string_view from, std::string_view prefix, size_t limit) {
        std::set<std::string> out;
        ++m_lookups;
        sqlite3_reset(m_legacy.st);
        sqlite3_bind_text(m_legacy.st, 1, from.data(), int(from.size()), SQLITE_STATIC);
        sqlite3_bind_int64(m_legacy.st, 2, int64_t(limit));
        if (auto r = collect(m_legacy.st, prefix, limit, out); !r) return r.error();
        for (int64_t run : m_runIds) {
            sqlite3_reset(m_runs.st);
            sqlite3_bind_int64(m_runs.st, 1, run);
            sqlite3_bind_text(m_runs.st, 2, from.data(), int(from.size()), SQLITE_STATIC);
            sqlite3_bind_int64(m_runs.st, 3, int64_t(limit));
            if (auto r = collect(m_runs.st, prefix, limit, out); !r) return r.error();
        }
        return out;
    }
    size_t lookups() const { return m_lookups; }

    // The first `limit` frequent terms that begin with `prefix`, in byte order.
    Expected<std::vector<std::string>> frequent(std::string_view prefix, size_t limit) {
        std::set<std::string> found;
        if (m_frequent.st) {
            sqlite3_reset(m_frequent.st);
            sqlite3_bind_text(m_frequent.st, 1, prefix.data(), int(prefix.size()), SQLITE_STATIC);
            sqlite3_bind_int64(m_frequent.st, 2, int64_t(limit));
            if (auto r = collect(m_frequent.st, prefix, limit, found); !r) return r.error();
        }
        return std::vector<std::string>(found.begin(), found.end());
    }

private:
    // Adds the terms `st` yields (in order) while they begin with `prefix`, keeping the least `limit`.
    Expected<void> collect(sqlite3_stmt* st, std::string_view prefix, size_t limit, std::set<std::string>& into) {
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
            const std::string_view term(p, size_t(sqlite3_column_bytes(st, 0)));
            if (term.substr(0, prefix.size()) != prefix) break;
            if (into.size() >= limit && term >= *into.rbegin()) break;  // the rest of this source is later still
            into.emplace(term);
            if (into.size() > limit) into.erase(std::prev(into.end()));
        }
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return makeError("sqlite", std::string("vocabulary lookup: ") + sqlite3_errmsg(m_db));
        return {};
    }

    sqlite3* m_db = nullptr;
    StmtGuard m_legacy, m_runs, m_frequent;
    std::vector<int64_t> m_runIds;
    size_t m_lookups = 0;
};

// The byte length of the UTF-8 sequence that begins with `lead` (1 for a stray byte).
size_t utf8Length(unsigned char lead) {
    if (lead >= 0xF0) return 4;
    if (lead >= 0xE0) return 3;
    if (lead >= 0xC0) return 2;
    return 1;
}

// The phrases of a prefix that begins more terms than one OR can spell out (decision 0036): the
// prefix's own term, spelled out, and each prefix one character longer — spelled out if it
// begins one term, else an FTS5 prefix query. FTS5 builds a prefix query's postings in memory
// before its first row; split like this, it only does so for terms longer than the search's word
// (`gm` itself is streamed, the thousands of rare `gm…` terms are not). Then, while the budget
// lasts, a longer prefix is split the same way when it begins a frequent term (decision 0037:
// `bitc`, which holds `bitcoin` and a thousand rare words; these first, breadth first) or is itself
// a term (`zaps` under `zap`), so that those postings stream too. The budget bounds phrases and
// vocabulary lookups; past it a longer prefix stays one prefix query. The rows are always those
// of `"prefix"*`.
class PrefixSplit {
public:
    // `frequent`: frequent terms that begin with the prefix, in byte order (any subset of them).
    PrefixSplit(VocabLookup& vocab, size_t budget, std::vector<std::string> frequent)
        : m_vocab(vocab), m_budget(budget), m_lookupsBefore(vocab.lookups()), m_frequent(std::move(frequent)) {}

    // `isTerm`: `prefix` is itself a term of the vocabulary.
    Expected<std::vector<std::string>> split(const std::string& prefix, bool isTerm) {
        std::vector<std::string> out;
        std::vector<Child> children;
        auto fits = oneLevel(prefix, isTerm, out, children);
        if (!fits) return fits.error();
        if (!*fits) return std::vector<std::string>{prefixQuery(prefix)};
        std::deque<Child> frequentFirst, terms;
        auto queue = [&](std::vector<Child>& cs) {
            for (Child& c : cs) (c.frequent ? frequentFirst : terms).push_back(std::move(c));
        };
        queue(children);
        while (!frequentFirst.empty() || !terms.empty()) {
            auto& from = frequentFirst.empty() ? terms : frequentFirst;
            const Child c = std::move(from.front());
            from.pop_front();
            std::vector<std::string> more;
            std::vector<Child> grandchildren;
            fits = oneLevel(c.prefix, c.term, more, grandchildren, out.size());
            if (!fits) return fits.error();
            if (!*fits) break;  // the budget is spent: the rest stay prefix queries
            out[c.phrase].clear();  // replaced by its own term and longer prefixes
            for (auto& g : grandchildren) g.phrase += out.size();
            std::move(more.begin(), more.end(), std::back_inserter(out));
            queue(grandchildren);
        }
        std::erase_if(out, [](const std::string& p) { return p.empty(); });
        return out;
    }

private:
    struct Child {
        std::string prefix;     // the beginning of two terms or more
        size_t phrase = 0;      // its prefix query's index in the output
        bool term = false;      // a term itself
        bool frequent = false;  // the beginning of a frequent term
    };

    static std::string prefixQuery(const std::string& prefix) {
        std::string p;
        appendQuoted(p, prefix);
        p += '*';
        return p;
    }

    bool beginsFrequent(const std::string& prefix) const {
        auto it = std::lower_bound(m_frequent.begin(), m_frequent.end(), prefix);
        return it != m_frequent.end() && it->compare(0, prefix.size(), prefix) == 0;
    }

    // Appends to `out` the phrases of `prefix` one level down, and to `children` the longer
    // prefixes that are terms themselves or begin a frequent term (their phrase indexes into
    // `out`). False when that would pass the budget (`used` phrases are out already); `out` and
    // `children` are then to be dropped.
    Expected<bool> oneLevel(const std::string& prefix, bool isTerm, std::vector<std::string>& out,
                            std::vector<Child>& children, size_t used = 0) {
        if (isTerm) {
            std::string p;
            appendQuoted(p, prefix);
            out.push_back(std::move(p));
        }
        // Longer prefixes in byte order: each is the prefix and the next character of its first
        // term. The first two terms tell whether it begins one term and whether it is a term.
        std::string from = prefix;
        from += '\x01';  // the least byte a longer term can have next (terms hold no NUL)
        for (;;) {
            if (used + out.size() >= m_budget || m_vocab.lookups() - m_lookupsBefore >= m_budget) return false;
            auto next = m_vocab.terms(from, prefix, 2);
            if (!next) return next.error();
            if (next->empty()) return true;
            const std::string& first = *next->begin();
            const size_t n =
                std::min(first.size() - prefix.size(), utf8Length(static_cast<unsigned char>(first[prefix.size()])));
            const std::string child = first.substr(0, prefix.size() + n);
            const bool one = next->size() == 1 || next->rbegin()->compare(0, child.size(), child) != 0;
            if (one) {
                std::string p;
                appendQuoted(p, first);
                out.push_back(std::move(p));
            } else {
                const bool term = first == child, frequent = beginsFrequent(child);
                if (term || frequent) children.push_back({child, out.size(), term, frequent});
                out.push_back(prefixQuery(child));
            }
            from = child;
            from += '\xff';  // past every term that begins with `child` (0xFF is never in UTF-8)
        }
    }

    VocabLookup& m_vocab;
    size_t m_budget;
    size_t m_lookupsBefore;  // the lookups of the search's earlier words, not counted against this one
    std::vector<std::string> m_frequent;
};

// One ASCII letter or digit: a search word of that is matched whole (decision 0036).
bool singleAsciiCharacter(std::string_view w) {
    return w.size() == 1 && std::isalnum(static_cast<unsigned char>(w[0]));
}

}  // namespace

Expected<std::string> matchExpression(sqlite3* db, const std::vector<SearchWord>& words, size_t max_expansion,
                                      size_t max_phrases) {
    VocabLookup vocab;
    if (auto r = vocab.open(db); !r) return r.error();
    std::string out;
    for (const SearchWord& w : words) {
        for (const std::string& t : w.exact) {
            if (!out.empty()) out += " AND ";
            appendQuoted(out, t);
        }
        if (singleAsciiCharacter(w.prefix)) {
            if (!out.empty()) out += " AND ";
            appendQuoted(out, w.prefix);
            continue;
        }
        auto terms = vocab.terms(w.prefix, w.prefix, max_expansion + 1);
        if (!terms) return terms.error();
        if (terms->empty()) return std::string();
        std::vector<std::string> phrases;
        if (terms->size() > max_expansion) {
            auto frequent = vocab.frequent(w.prefix, 4 * max_phrases);
            if (!frequent) return frequent.error();
            PrefixSplit splitter(vocab, max_phrases, std::move(*frequent));
            auto split = splitter.split(w.prefix, *terms->begin() == w.prefix);
            if (!split) return split.error();
            phrases = std::move(*split);
        } else {
            for (const std::string& t : *terms) {
                std::string p;
                appendQuoted(p, t);
                phrases.push_back(std::move(p));
            }
        }
        if (!out.empty()) out += " AND ";
        out += '(';
        for (size_t k = 0; k < phrases.size(); ++k) {
            if (k) out += " OR ";
            out += phrases[k];
        }
        out += ')';
    }
    return out;
}

Expected<FtsBulkWriter> FtsBulkWriter::open(const std::filesystem::path& path, uint64_t vocab_run_terms,
                                            uint32_t frequent_at) {
    FtsBulkWriter w;
    w.m_sink.frequent_at = frequent_at;
    auto db = Db::open(path, Db::Mode::ReadWrite);
    if (!db) return db.error();
    w.m_db = std::move(*db);
    if (auto r = registerTokenizer(w.m_db.get()); !r) return r.error();
    if (auto r = w.m_db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-16384; BEGIN IMMEDIATE;");
        !r)
        return r.error();
    auto doc = w.m_db.prepare("INSERT INTO fts(rowid, content) VALUES (?,?)", true);
    if (!doc) return doc.error();
    w.m_doc = std::move(*doc);
    auto vocab = VocabWriter::open(w.m_db, vocab_run_terms);
    if (!vocab) return vocab.error();
    w.m_vocab = std::move(*vocab);
    return w;
}

Expected<void> FtsBulkWriter::add(int64_t rk, std::string_view content) {
    if (content.empty()) return {};
    TermSink* old = setThreadTermSink(&m_sink);
    StmtReset reset(m_doc);
    m_doc.bind(1, rk).bindText(2, content);
    const int rc = m_doc.step();
    setThreadTermSink(old);
    if (rc != SQLITE_DONE) return m_db.error("full-text insert");
    ++m_docs;
    return {};
}

Expected<void> FtsBulkWriter::commit(std::optional<uint64_t> applied_batch, bool last) {
    if (auto r = m_vocab.insert(m_db, m_sink.terms); !r) return r;
    if (auto r = m_vocab.insertFrequent(m_db, m_sink.frequent); !r) return r;
    m_sink.terms.clear();
    if (applied_batch) {
        auto meta = m_db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('applied_batch', ?)");
        if (!meta) return meta.error();
        meta->bind(1, int64_t(*applied_batch));
        if (meta->step() != SQLITE_DONE) return m_db.error("full-text meta");
    }
    if (last) {
        m_doc = Stmt();
        m_vocab = VocabWriter();
        return m_db.exec("COMMIT");
    }
    return m_db.exec("COMMIT; BEGIN IMMEDIATE;");
}

}  // namespace archivist::index
