#include "core/sync/backfill_planner.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace archivist::sync {

namespace {

constexpr uint32_t kKindCount = 65536;
// Gaps not yet taken by the caller; next() pauses (returns nullopt) while this many are pending.
constexpr size_t kMaxPendingGaps = 4096;
constexpr std::string_view kCheckpointMagic = "bf1";
// Smallest answer size that can be taken for a silent relay cap when the evidence is ambiguous
// (docs/backfill.md, "silent caps").
constexpr uint32_t kMinSilentCap = 10;

uint64_t prefixOf(const protocol::Bytes32& id) {
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i) v = (v << 8) | id[i];
    return v;
}

bool startsWith(std::string_view s, std::string_view p) {
    return s.size() >= p.size() && s.substr(0, p.size()) == p;
}

void sortUnique(std::vector<uint16_t>& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
}

template <typename T>
void appendList(std::string& out, const std::vector<T>& v, char sep, bool hex) {
    char buf[32];
    for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += sep;
        auto r = std::to_chars(buf, buf + sizeof buf, v[i], hex ? 16 : 10);
        out.append(buf, r.ptr);
    }
}

template <typename T>
bool parseNumber(std::string_view s, T& out, int base = 10) {
    if (s.empty()) return false;
    auto r = std::from_chars(s.data(), s.data() + s.size(), out, base);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

template <typename T>
bool parseList(std::string_view s, char sep, std::vector<T>& out, int base = 10) {
    out.clear();
    if (s.empty()) return true;
    size_t pos = 0;
    while (pos <= s.size()) {
        size_t end = s.find(sep, pos);
        if (end == std::string_view::npos) end = s.size();
        T v{};
        if (!parseNumber(s.substr(pos, end - pos), v, base)) return false;
        out.push_back(v);
        pos = end + 1;
    }
    return true;
}

}  // namespace

BackfillPlanner::BackfillPlanner(BackfillConfig config, protocol::Filter base, int64_t start_until)
    : m_config(config), m_base(std::move(base)), m_start_until(start_until) {
    m_base.since.reset();
    m_base.until.reset();
    m_base.limit.reset();
    sortUnique(m_base.kinds);
    if (m_config.limit == 0) m_config.limit = 1;
    if (m_config.max_kinds_per_filter == 0) m_config.max_kinds_per_filter = 1;
    m_cap = m_config.limit;
    m_until = start_until;
    if (start_until < m_config.floor) m_phase = Phase::Done;
}

std::vector<uint16_t> BackfillPlanner::baseKinds() const { return m_base.kinds; }

BackfillQuery BackfillPlanner::buildQuery() const {
    Query q;
    q.filter = m_base;
    q.seq = m_queries;
    if (m_phase == Phase::Walk) {
        q.filter.since = m_config.floor;
        q.filter.until = m_until;
        q.filter.limit = m_config.limit;
        return q;
    }
    q.filter.since = m_split_t;
    q.filter.until = m_split_t;
    if (m_neg_kind) {
        q.type = Query::Type::Negentropy;
        q.filter.kinds = {*m_neg_kind};
    } else {
        q.filter.kinds = m_stack.back();
        q.filter.limit = m_config.limit;
    }
    return q;
}

bool BackfillPlanner::prepareSplitChunk() {
    if (m_neg_kind || !m_stack.empty()) return true;
    std::vector<uint16_t> chunk;
    const size_t want = m_config.max_kinds_per_filter;
    if (!m_base.kinds.empty()) {
        while (m_universe_pos < m_base.kinds.size() && chunk.size() < want) {
            uint16_t k = m_base.kinds[m_universe_pos++];
            if (!std::binary_search(m_seen_kinds.begin(), m_seen_kinds.end(), k)) chunk.push_back(k);
        }
    } else {
        while (m_universe_pos < kKindCount && chunk.size() < want) {
            uint16_t k = uint16_t(m_universe_pos++);
            if (!std::binary_search(m_seen_kinds.begin(), m_seen_kinds.end(), k)) chunk.push_back(k);
        }
    }
    if (chunk.empty()) return false;
    m_stack.push_back(std::move(chunk));
    return true;
}

std::optional<BackfillQuery> BackfillPlanner::next() {
    if (m_in_flight || m_phase == Phase::Done || m_gaps.size() >= kMaxPendingGaps) return std::nullopt;
    while (m_phase == Phase::Split && !prepareSplitChunk()) finishSecond(m_split_t);
    if (m_phase == Phase::Done) return std::nullopt;
    if (m_queries >= m_config.max_queries) {
        stopWithGap("query_budget");
        return std::nullopt;
    }
    ++m_queries;
    m_in_flight = true;
    resetAnswer();
    return buildQuery();
}

void BackfillPlanner::resetAnswer() {
    m_answer_count = 0;
    m_answer_new = 0;
    m_answer_oldest.reset();
    m_answer_ids_at_oldest.clear();
    m_answer_kinds.clear();
}

void BackfillPlanner::onEvent(const protocol::Bytes32& id, int64_t created_at, uint16_t kind) {
    if (!m_in_flight) return;
    ++m_events;
    if (m_phase == Phase::Split && m_neg_kind) return;  // Negentropy fetch: nothing to plan from
    // Events outside the window asked for are a relay bug: stored by the caller, not planned on.
    const int64_t lo = m_phase == Phase::Walk ? m_config.floor : m_split_t;
    const int64_t hi = m_phase == Phase::Walk ? m_until : m_split_t;
    if (created_at < lo || created_at > hi) return;
    ++m_answer_count;
    const uint64_t prefix = prefixOf(id);
    if (created_at != m_until || !std::binary_search(m_known.begin(), m_known.end(), prefix)) ++m_answer_new;
    if (!m_answer_oldest || created_at < *m_answer_oldest) {
        m_answer_oldest = created_at;
        m_answer_ids_at_oldest.clear();
        m_answer_kinds.clear();
    }
    if (created_at == *m_answer_oldest && m_answer_ids_at_oldest.size() <= m_cap) {
        m_answer_ids_at_oldest.push_back(prefix);
        if (std::find(m_answer_kinds.begin(), m_answer_kinds.end(), kind) == m_answer_kinds.end())
            m_answer_kinds.push_back(kind);
    }
}

void BackfillPlanner::onEose() {
    if (!m_in_flight) return;
    m_in_flight = false;
    m_retries = 0;
    if (m_phase == Phase::Walk) completeWalk();
    else if (m_phase == Phase::Split) completeSplit();
}

void BackfillPlanner::completeWalk() {
    const uint32_t n = m_answer_count;
    if (n == 0) {  // nothing left in [floor, until]
        m_phase = Phase::Done;
        m_known.clear();
        return;
    }
    if (m_answer_new == 0) {
        // Only ids already seen at second m_until came back: either that second holds more
        // events than one answer carries (overfull), or the window is exhausted.
        if (n >= m_cap) {
            startSplit(m_until);
        } else if (m_last_short > 0 && n == m_last_short && m_known.size() == n &&
                   n >= m_max_answer && n >= kMinSilentCap) {
            // The previous short answer lay wholly in this second and the relay repeated exactly
            // it, and no answer was ever larger: as consistent with a silent cap of n as with
            // "nothing left". Assume the cap.
            m_cap = n;
            startSplit(m_until);
        } else {
            m_phase = Phase::Done;
            m_known.clear();
        }
        return;
    }
    // A short answer followed by new events means the relay caps answers below `limit` without
    // saying so: saturation is judged against the smallest such answer from now on.
    // (Not when a larger answer came before: then the short one was no cap.)
    if (m_last_short > 0 && m_last_short >= m_max_answer) m_cap = std::min(m_cap, m_last_short);
    m_max_answer = std::max(m_max_answer, n);
    const int64_t t = *m_answer_oldest;
    std::vector<uint64_t> known;
    if (t == m_until) known = m_known;
    known.insert(known.end(), m_answer_ids_at_oldest.begin(), m_answer_ids_at_oldest.end());
    std::sort(known.begin(), known.end());
    known.erase(std::unique(known.begin(), known.end()), known.end());
    if (known.size() > m_cap) {
        // More distinct events at second t than one answer holds: no REQ at until=t can finish it.
        startSplit(t);
        return;
    }
    // Saturated: (t, until] is covered, continue at until = t remembering t's ids. Short: one
    // confirmation query at until = t (answers only known ids when the relay really ran out).
    m_last_short = n >= m_cap ? 0 : n;
    m_until = t;
    m_known = std::move(known);
}

void BackfillPlanner::startSplit(int64_t second) {
    m_phase = Phase::Split;
    m_split_t = second;
    m_known.clear();
    m_last_short = 0;
    m_stack.clear();
    m_neg_kind.reset();
    m_universe_pos = 0;
    m_seen_kinds = m_answer_kinds;
    if (!m_base.kinds.empty()) {
        std::erase_if(m_seen_kinds, [&](uint16_t k) {
            return !std::binary_search(m_base.kinds.begin(), m_base.kinds.end(), k);
        });
    }
    sortUnique(m_seen_kinds);
    for (auto it = m_seen_kinds.rbegin(); it != m_seen_kinds.rend(); ++it) m_stack.push_back({*it});
}

void BackfillPlanner::completeSplit() {
    if (m_neg_kind) {  // the Negentropy window for (m_split_t, kind) is complete
        m_neg_kind.reset();
        return;
    }
    std::vector<uint16_t> chunk = std::move(m_stack.back());
    m_stack.pop_back();
    if (m_answer_count < m_cap) return;  // the chunk is complete at this second
    if (chunk.size() > 1) {
        const size_t half = chunk.size() / 2;
        m_stack.emplace_back(chunk.begin() + long(half), chunk.end());
        m_stack.emplace_back(chunk.begin(), chunk.begin() + long(half));
        return;
    }
    if (m_config.negentropy) m_neg_kind = chunk.front();
    else addGap(m_split_t, m_split_t, chunk, "overfull_second");
}

void BackfillPlanner::finishSecond(int64_t second) {
    m_stack.clear();
    m_seen_kinds.clear();
    m_neg_kind.reset();
    m_universe_pos = 0;
    if (second <= m_config.floor) {
        m_phase = Phase::Done;
        return;
    }
    m_phase = Phase::Walk;
    m_until = second - 1;
    m_known.clear();
    m_last_short = 0;
}

void BackfillPlanner::onClosed(std::string_view reason) {
    if (!m_in_flight) return;
    m_in_flight = false;
    if (startsWith(reason, "rate-limited:") || startsWith(reason, "auth-required:")) {
        if (m_retries < m_config.max_retries) {
            ++m_retries;
            return;  // next() hands out the same query again
        }
        m_retries = 0;
        stopWithGap("retries_exhausted: " + std::string(reason));
        return;
    }
    m_retries = 0;
    if (m_phase == Phase::Split && m_neg_kind) {
        addGap(m_split_t, m_split_t, {*m_neg_kind}, "negentropy: " + std::string(reason));
        m_neg_kind.reset();
        return;
    }
    stopWithGap("closed: " + std::string(reason));
}

bool BackfillPlanner::onKindsListTooLong(size_t max_kinds) {
    if (!m_in_flight || m_phase != Phase::Split || m_neg_kind || m_stack.empty() || max_kinds == 0) return false;
    if (m_stack.back().size() <= max_kinds) return false;
    m_config.max_kinds_per_filter = std::min(m_config.max_kinds_per_filter, max_kinds);
    std::vector<uint16_t> chunk = std::move(m_stack.back());
    m_stack.pop_back();
    // LIFO: push the pieces last-first so the first piece is asked next.
    const size_t pieces = (chunk.size() + max_kinds - 1) / max_kinds;
    for (size_t i = pieces; i-- > 0;) {
        const size_t begin = i * max_kinds;
        const size_t end = std::min(chunk.size(), begin + max_kinds);
        m_stack.emplace_back(chunk.begin() + long(begin), chunk.begin() + long(end));
    }
    m_in_flight = false;
    resetAnswer();
    return true;
}

void BackfillPlanner::addGap(int64_t since, int64_t until, std::vector<uint16_t> kinds, std::string reason) {
    ++m_gap_count;
    m_gaps.push_back(BackfillGap{since, until, std::move(kinds), std::move(reason)});
}

void BackfillPlanner::stopWithGap(std::string reason) {
    if (m_phase == Phase::Done) return;
    // Split: the whole second is reported (some of its chunks may be covered already).
    const int64_t until = m_phase == Phase::Walk ? m_until : m_split_t;
    addGap(m_config.floor, until, baseKinds(), std::move(reason));
    m_phase = Phase::Done;
    m_stack.clear();
    m_known.clear();
    m_neg_kind.reset();
}

std::vector<BackfillGap> BackfillPlanner::takeGaps() {
    std::vector<BackfillGap> out;
    out.swap(m_gaps);
    return out;
}

BackfillProgress BackfillPlanner::progress() const {
    Progress p;
    p.queries = m_queries;
    p.events = m_events;
    p.gaps = m_gap_count;
    p.cap = m_cap;
    p.cursor = m_phase == Phase::Walk ? m_until : m_phase == Phase::Split ? m_split_t : m_config.floor - 1;
    const long double span = (long double)m_start_until - (long double)m_config.floor + 1.0L;
    const long double doneSpan = (long double)m_start_until - (long double)p.cursor;
    p.fraction = span <= 0 ? 1.0 : double(std::clamp(doneSpan / span, 0.0L, 1.0L));
    return p;
}

// Checkpoint text: "bf1" then space-separated key=value tokens. Lists are comma-separated
// (known: 64-bit id prefixes in hex), stack chunks are separated by ';' and their kinds by ','.
std::string BackfillPlanner::checkpoint() const {
    std::string out(kCheckpointMagic);
    auto num = [&](std::string_view key, auto v) {
        out += ' ';
        out += key;
        out += '=';
        out += std::to_string(v);
    };
    out += " phase=";
    out += m_phase == Phase::Walk ? "walk" : m_phase == Phase::Split ? "split" : "done";
    num("start", m_start_until);
    num("until", m_until);
    num("cap", m_cap);
    num("short", m_last_short);
    num("maxans", m_max_answer);
    num("t", m_split_t);
    num("upos", m_universe_pos);
    num("neg", m_neg_kind ? int32_t(*m_neg_kind) : -1);
    num("q", m_queries);
    num("ev", m_events);
    num("gaps", m_gap_count);
    out += " known=";
    appendList(out, m_known, ',', true);
    out += " seen=";
    appendList(out, m_seen_kinds, ',', false);
    out += " stack=";
    for (size_t i = 0; i < m_stack.size(); ++i) {
        if (i) out += ';';
        appendList(out, m_stack[i], ',', false);
    }
    return out;
}

Expected<BackfillPlanner> BackfillPlanner::resume(BackfillConfig config, protocol::Filter base,
                                                  std::string_view checkpoint) {
    auto bad = [&](std::string_view what) {
        return makeError("checkpoint", "backfill checkpoint: bad " + std::string(what));
    };
    if (!startsWith(checkpoint, kCheckpointMagic)) return bad("magic");
    BackfillPlanner p(config, std::move(base), 0);
    std::string_view rest = checkpoint.substr(kCheckpointMagic.size());
    int32_t neg = -1;
    bool have_phase = false, have_start = false;
    while (!rest.empty()) {
        if (rest.front() != ' ') return bad("separator");
        rest.remove_prefix(1);
        size_t end = rest.find(' ');
        std::string_view tok = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
        size_t eq = tok.find('=');
        if (eq == std::string_view::npos) return bad("token");
        std::string_view key = tok.substr(0, eq), val = tok.substr(eq + 1);
        bool ok = true;
        if (key == "phase") {
            have_phase = true;
            if (val == "walk") p.m_phase = Phase::Walk;
            else if (val == "split") p.m_phase = Phase::Split;
            else if (val == "done") p.m_phase = Phase::Done;
            else ok = false;
        } else if (key == "start") {
            have_start = ok = parseNumber(val, p.m_start_until);
        } else if (key == "until") ok = parseNumber(val, p.m_until);
        else if (key == "cap") ok = parseNumber(val, p.m_cap) && p.m_cap > 0;
        else if (key == "short") ok = parseNumber(val, p.m_last_short);
        else if (key == "maxans") ok = parseNumber(val, p.m_max_answer);
        else if (key == "t") ok = parseNumber(val, p.m_split_t);
        else if (key == "upos") ok = parseNumber(val, p.m_universe_pos) && p.m_universe_pos <= kKindCount;
        else if (key == "neg") ok = parseNumber(val, neg) && neg >= -1 && neg < int32_t(kKindCount);
        else if (key == "q") ok = parseNumber(val, p.m_queries);
        else if (key == "ev") ok = parseNumber(val, p.m_events);
        else if (key == "gaps") ok = parseNumber(val, p.m_gap_count);
        else if (key == "known") {
            ok = parseList(val, ',', p.m_known, 16) && p.m_known.size() <= size_t(p.m_cap) + 1;
            std::sort(p.m_known.begin(), p.m_known.end());
        } else if (key == "seen") {
            ok = parseList(val, ',', p.m_seen_kinds) && p.m_seen_kinds.size() <= kKindCount;
            sortUnique(p.m_seen_kinds);
        } else if (key == "stack") {
            p.m_stack.clear();
            size_t pos = 0;
            while (ok && pos < val.size()) {
                size_t semi = val.find(';', pos);
                if (semi == std::string_view::npos) semi = val.size();
                std::vector<uint16_t> chunk;
                ok = parseList(val.substr(pos, semi - pos), ',', chunk) && !chunk.empty() &&
                     p.m_stack.size() < kKindCount;
                p.m_stack.push_back(std::move(chunk));
                pos = semi + 1;
            }
        }  // unknown keys: written by a newer version, ignored
        if (!ok) return bad(key);
    }
    if (!have_phase || !have_start) return bad("missing phase/start");
    p.m_cap = std::min(p.m_cap, p.m_config.limit);
    if (neg >= 0) p.m_neg_kind = uint16_t(neg);
    if (p.m_phase == Phase::Walk && p.m_until < p.m_config.floor) p.m_phase = Phase::Done;
    return p;
}

}  // namespace archivist::sync
