#include "core/protocol/json.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace archivist::protocol::json {

Value::Value() = default;
Value::~Value() = default;
Value::Value(const Value&) = default;
Value::Value(Value&&) noexcept = default;
Value& Value::operator=(const Value&) = default;
Value& Value::operator=(Value&&) noexcept = default;

const Value* Value::find(std::string_view key) const {
    for (const auto& [k, v] : members)
        if (k == key) return &v;
    return nullptr;
}

namespace {

// Eight bytes at a time (every relay message passes these scans, a copy of an event from a second
// relay included): the first position at or after i where a string's plain run may end — a
// quote, a backslash, a control character and, with `high`, a byte >= 0x80 — or the last block
// of fewer than eight bytes. The word tests may fire early, never late; the caller's byte loop
// decides exactly.
constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;
inline uint64_t zeroByte(uint64_t w) { return (w - kOnes) & ~w & kHighs; }

#if defined(__SSE2__)
// Sixteen bytes at a time where the target has SSE2 (every x86-64 does): the same stops, found
// exactly. Unaligned loads never cross the end of the text; the tail goes to the word loops.
inline __m128i load16(const char* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
inline unsigned quoteOrBackslash16(__m128i v) {
    return unsigned(_mm_movemask_epi8(
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')))));
}
inline unsigned control16(__m128i v) {  // bytes below 0x20 (unsigned): max(v, 0x1F) == 0x1F
    const __m128i ctl = _mm_set1_epi8(0x1F);
    return unsigned(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(v, ctl), ctl)));
}
#endif

inline size_t skipPlain(const char* p, size_t i, size_t n, bool high) {
#if defined(__SSE2__)
    while (i + 16 <= n) {
        const __m128i v = load16(p + i);
        unsigned stop = quoteOrBackslash16(v) | control16(v);
        if (high) stop |= unsigned(_mm_movemask_epi8(v));
        if (stop) return i + unsigned(__builtin_ctz(stop));
        i += 16;
    }
#endif
    while (i + 8 <= n) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        uint64_t stop = zeroByte(w ^ (kOnes * '"')) | zeroByte(w ^ (kOnes * '\\')) | ((w - kOnes * 0x20) & ~w & kHighs);
        if (high) stop |= w & kHighs;
        if (stop) break;
        i += 8;
    }
    return i;
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid.
size_t utf8Len(std::string_view s, size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return 1;
    size_t n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; }
    else return 0;
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return 0;  // overlong
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

void appendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) out += char(cp);
    else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

}  // namespace

bool Reader::fail(const char* msg, bool utf8) {
    if (m_err) {
        m_err->offset = m_i;
        m_err->message = msg;
        m_err->invalid_utf8 = utf8;
    }
    return false;
}

void Reader::skipWs() {
    while (m_i < m_t.size()) {
        const char c = m_t[m_i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') ++m_i;
        else break;
    }
}

bool Reader::expect(char c, const char* what) {
    skipWs();
    if (m_i >= m_t.size() || m_t[m_i] != c) return fail(what);
    ++m_i;
    return true;
}

bool Reader::accept(char c) {
    skipWs();
    if (m_i >= m_t.size() || m_t[m_i] != c) return false;
    ++m_i;
    return true;
}

bool Reader::finish() {
    skipWs();
    return m_i == m_t.size() ? true : fail("trailing characters after the JSON value");
}

bool Reader::literal(std::string_view word) {
    if (m_t.substr(m_i, word.size()) != word) return fail("invalid literal");
    m_i += word.size();
    return true;
}

namespace {

int hexVal(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

bool Reader::hex4(uint32_t& v) {
    if (m_i + 4 > m_t.size()) return fail("truncated \\u escape");
    v = 0;
    for (int k = 0; k < 4; ++k) {
        const int h = hexVal(m_t[m_i + size_t(k)]);
        if (h < 0) return fail("invalid \\u escape");
        v = (v << 4) | uint32_t(h);
    }
    m_i += 4;
    return true;
}

bool Reader::string(std::string* out) {
    ++m_i;  // opening quote
    if (out) out->clear();
    for (;;) {
        // Take a run of plain characters at once.
        size_t j = skipPlain(m_t.data(), m_i, m_t.size(), true);
        while (j < m_t.size()) {
            const auto c = static_cast<unsigned char>(m_t[j]);
            if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
            ++j;
        }
        if (out) out->append(m_t.data() + m_i, j - m_i);
        m_i = j;
        if (m_i >= m_t.size()) return fail("unterminated string");
        const auto c = static_cast<unsigned char>(m_t[m_i]);
        if (c == '"') {
            ++m_i;
            return true;
        }
        if (c < 0x20) return fail("raw control character in string");
        if (c >= 0x80) {
            const size_t n = utf8Len(m_t, m_i);
            if (!n) return fail("invalid UTF-8 in string", true);
            if (out) out->append(m_t.data() + m_i, n);
            m_i += n;
            continue;
        }
        // Escape.
        ++m_i;
        if (m_i >= m_t.size()) return fail("unterminated escape");
        const char e = m_t[m_i++];
        char plain = 0;
        switch (e) {
        case '"': plain = '"'; break;
        case '\\': plain = '\\'; break;
        case '/': plain = '/'; break;
        case 'b': plain = '\b'; break;
        case 'f': plain = '\f'; break;
        case 'n': plain = '\n'; break;
        case 'r': plain = '\r'; break;
        case 't': plain = '\t'; break;
        case 'u': {
            uint32_t cp;
            if (!hex4(cp)) return false;
            if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("lone low surrogate escape", true);
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t lo;
                if (m_i + 2 > m_t.size() || m_t[m_i] != '\\' || m_t[m_i + 1] != 'u')
                    return fail("lone high surrogate escape", true);
                m_i += 2;
                if (!hex4(lo)) return false;
                if (lo < 0xDC00 || lo > 0xDFFF) return fail("lone high surrogate escape", true);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (out) appendUtf8(*out, cp);
            continue;
        }
        default: return fail("invalid escape");
        }
        if (out) *out += plain;
    }
}

bool Reader::number(std::string_view& raw) {
    const size_t start = m_i;
    if (m_i < m_t.size() && m_t[m_i] == '-') ++m_i;
    if (m_i >= m_t.size()) return fail("invalid number");
    if (m_t[m_i] == '0') {
        ++m_i;
    } else if (m_t[m_i] >= '1' && m_t[m_i] <= '9') {
        while (m_i < m_t.size() && m_t[m_i] >= '0' && m_t[m_i] <= '9') ++m_i;
    } else {
        return fail("invalid number");
    }
    if (m_i < m_t.size() && m_t[m_i] == '.') {
        ++m_i;
        const size_t d = m_i;
        while (m_i < m_t.size() && m_t[m_i] >= '0' && m_t[m_i] <= '9') ++m_i;
        if (m_i == d) return fail("invalid number: no digits after '.'");
    }
    if (m_i < m_t.size() && (m_t[m_i] == 'e' || m_t[m_i] == 'E')) {
        ++m_i;
        if (m_i < m_t.size() && (m_t[m_i] == '+' || m_t[m_i] == '-')) ++m_i;
        const size_t d = m_i;
        while (m_i < m_t.size() && m_t[m_i] >= '0' && m_t[m_i] <= '9') ++m_i;
        if (m_i == d) return fail("invalid number: no exponent digits");
    }
    raw = m_t.substr(start, m_i - start);
    return true;
}

bool Reader::skip(size_t depth) {
    if (m_i >= m_t.size()) return fail("unexpected end of input");
    const char c = m_t[m_i];
    switch (c) {
    case '"': return string(nullptr);
    case 't': return literal("true");
    case 'f': return literal("false");
    case 'n': return literal("null");
    case '[':
    case '{': {
        if (!enter(depth)) return false;
        const bool object = c == '{';
        const char close = object ? '}' : ']';
        ++m_i;
        if (accept(close)) return true;
        for (;;) {
            skipWs();
            if (object) {
                if (m_i >= m_t.size() || m_t[m_i] != '"') return fail("expected a string key");
                if (!string(nullptr) || !expect(':', "expected ':'")) return false;
                skipWs();
            }
            if (!skip(depth + 1)) return false;
            skipWs();
            if (m_i >= m_t.size()) return fail(object ? "unterminated object" : "unterminated array");
            if (m_t[m_i] == ',') { ++m_i; continue; }
            if (m_t[m_i] == close) { ++m_i; return true; }
            return fail(object ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    default: {
        if (c != '-' && (c < '0' || c > '9')) return fail("unexpected character");
        std::string_view raw;
        return number(raw);
    }
    }
}

bool Reader::value(Value& out, size_t depth) {
    if (m_i >= m_t.size()) return fail("unexpected end of input");
    const size_t start = m_i;
    const char c = m_t[m_i];
    bool ok;
    switch (c) {
    case '"':
        out.type = Type::String;
        ok = string(&out.str);
        break;
    case 't': out.type = Type::Bool; out.boolean = true; ok = literal("true"); break;
    case 'f': out.type = Type::Bool; out.boolean = false; ok = literal("false"); break;
    case 'n': out.type = Type::Null; ok = literal("null"); break;
    case '[':
    case '{': {
        ok = enter(depth);
        if (!ok) break;
        const bool object = c == '{';
        const char close = object ? '}' : ']';
        out.type = object ? Type::Object : Type::Array;
        ++m_i;
        if (accept(close)) break;
        for (;;) {
            skipWs();
            Value* item;
            if (object) {
                if (m_i >= m_t.size() || m_t[m_i] != '"') { ok = fail("expected a string key"); break; }
                out.members.emplace_back();
                if (!string(&out.members.back().first) || !expect(':', "expected ':'")) { ok = false; break; }
                skipWs();
                item = &out.members.back().second;
            } else {
                item = &out.items.emplace_back();
            }
            if (!value(*item, depth + 1)) { ok = false; break; }
            skipWs();
            if (m_i >= m_t.size()) { ok = fail(object ? "unterminated object" : "unterminated array"); break; }
            if (m_t[m_i] == ',') { ++m_i; continue; }
            if (m_t[m_i] == close) { ++m_i; break; }
            ok = fail(object ? "expected ',' or '}'" : "expected ',' or ']'");
            break;
        }
        break;
    }
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            out.type = Type::Number;
            ok = number(out.raw);
        } else {
            ok = fail("unexpected character");
        }
    }
    if (ok) out.raw = m_t.substr(start, m_i - start);
    return ok;
}

bool parse(std::string_view text, Value& out, ParseError* err, size_t max_depth) {
    out = Value{};
    Reader r(text, err, max_depth);
    r.skipWs();
    return r.value(out, 0) && r.finish();
}

void appendQuoted(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    size_t run = 0;
    for (size_t i = skipPlain(s.data(), 0, s.size(), false); i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    out.append(s.data() + run, s.size() - run);
    out += '"';
}

bool parseUnsigned(std::string_view raw, uint64_t max, uint64_t& out) {
    if (raw.empty()) return false;
    uint64_t v = 0;
    for (char c : raw) {
        if (c < '0' || c > '9') return false;
        const uint64_t d = uint64_t(c - '0');
        if (v > (max - d) / 10) return false;
        v = v * 10 + d;
    }
    out = v;
    return true;
}

size_t findQuoteOrBackslash(std::string_view s, size_t i) {
    const size_t n = s.size();
#if defined(__SSE2__)
    while (i + 16 <= n) {
        if (const unsigned stop = quoteOrBackslash16(load16(s.data() + i))) return i + unsigned(__builtin_ctz(stop));
        i += 16;
    }
#endif
    while (i + 8 <= n) {
        uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        if (zeroByte(w ^ (kOnes * '"')) | zeroByte(w ^ (kOnes * '\\'))) break;
        i += 8;
    }
    while (i < n && s[i] != '"' && s[i] != '\\') ++i;
    return i;
}

bool isValidUtf8(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        // ASCII sixteen (SSE2) or eight bytes at a time.
#if defined(__SSE2__)
        while (i + 16 <= s.size() && !_mm_movemask_epi8(load16(s.data() + i))) i += 16;
#endif
        while (i + 8 <= s.size()) {
            uint64_t w;
            std::memcpy(&w, s.data() + i, 8);
            if (w & kHighs) break;
            i += 8;
        }
        if (i >= s.size()) break;
        if (static_cast<unsigned char>(s[i]) < 0x80) {
            ++i;
            continue;
        }
        const size_t n = utf8Len(s, i);
        if (!n) return false;
        i += n;
    }
    return true;
}

void appendCanonical(std::string& out, const Value& v) {
    switch (v.type) {
    case Type::Null: out += "null"; return;
    case Type::Bool: out += v.boolean ? "true" : "false"; return;
    case Type::Number: out.append(v.raw); return;
    case Type::String: appendQuoted(out, v.str); return;
    case Type::Array:
        out.push_back('[');
        for (size_t i = 0; i < v.items.size(); ++i) {
            if (i) out.push_back(',');
            appendCanonical(out, v.items[i]);
        }
        out.push_back(']');
        return;
    case Type::Object: {
        std::vector<size_t> order(v.members.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(),
                         [&](size_t a, size_t b) { return v.members[a].first < v.members[b].first; });
        out.push_back('{');
        bool first = true;
        const std::string* prev = nullptr;
        for (size_t i : order) {
            const auto& [key, value] = v.members[i];
            if (prev && *prev == key) continue;  // duplicate key: the first in source order wins
            prev = &key;
            if (!first) out.push_back(',');
            first = false;
            appendQuoted(out, key);
            out.push_back(':');
            appendCanonical(out, value);
        }
        out.push_back('}');
        return;
    }
    }
}

Expected<std::string> canonicalJson(std::string_view text, size_t max_depth) {
    Value v;
    ParseError err;
    if (!parse(text, v, &err, max_depth))
        return makeError("json", "not JSON at byte " + std::to_string(err.offset) + ": " + err.message);
    std::string out;
    out.reserve(text.size());
    appendCanonical(out, v);
    return out;
}

}  // namespace archivist::protocol::json
