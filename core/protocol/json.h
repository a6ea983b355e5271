#pragma once
// A strict RFC 8259 JSON parser producing a small DOM, and JSON.stringify-compatible quoting.
//
// Strictness: exactly one value (whitespace around it allowed); no trailing commas, comments,
// leading zeros, raw control characters in strings, invalid UTF-8 or lone surrogate escapes
// (both reported with invalid_utf8 = true); nesting deeper than max_depth is an error.
// Numbers are not converted: `raw` keeps the literal so callers can tell 1, 1.0, 1e0 apart.
// Safe on any input (fuzzed). Thread: any.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/util/expected.h"

namespace archivist::protocol::json {

enum class Type : uint8_t { Null, Bool, Number, String, Array, Object };

struct Value {
    // Special members are defined out of line: the type is recursive through std::vector and
    // std::pair, which clang with libstdc++ rejects when they are generated inside the class.
    Value();
    ~Value();
    Value(const Value&);
    Value(Value&&) noexcept;
    Value& operator=(const Value&);
    Value& operator=(Value&&) noexcept;

    Type type = Type::Null;
    bool boolean = false;
    std::string_view raw;  // exact source text of this value (points into the parsed text)
    std::string str;       // strings: decoded UTF-8
    std::vector<Value> items;                             // arrays
    std::vector<std::pair<std::string, Value>> members;  // objects, in source order, duplicates kept
    const Value* find(std::string_view key) const;        // first member with that key
};

struct ParseError {
    size_t offset = 0;
    std::string message;
    bool invalid_utf8 = false;
};

bool parse(std::string_view text, Value& out, ParseError* err = nullptr, size_t max_depth = 64);

// The parser's cursor, for readers that build their own result instead of a DOM (parseEvent):
// the same strictness as parse(). Each call starts at the value it names (value(), skip() and
// number() at the first character of a value, string() at its opening quote) and returns false
// with the error recorded in the ParseError (a caller stops at the first). peek() is '\0' at the
// end. Container depth counts as in parse(): a value at depth d may open a container only when
// d + 1 <= max_depth.
class Reader {
public:
    Reader(std::string_view text, ParseError* err, size_t max_depth) : m_t(text), m_err(err), m_maxDepth(max_depth) {}

    void skipWs();
    bool atEnd() const { return m_i >= m_t.size(); }
    char peek() const { return m_i < m_t.size() ? m_t[m_i] : '\0'; }
    // Consumes c (after whitespace) or fails with `what`.
    bool expect(char c, const char* what);
    // After whitespace: consumes c and returns true when it is next; otherwise consumes nothing.
    bool accept(char c);
    // A container at `depth` may open (the depth limit).
    bool enter(size_t depth) { return depth + 1 > m_maxDepth ? fail("nesting too deep") : true; }
    // A string: decoded into *out (cleared first), or only validated when out is null.
    bool string(std::string* out);
    // A number literal: its exact text.
    bool number(std::string_view& raw);
    // Any value at `depth`, validated and discarded.
    bool skip(size_t depth);
    // Any value at `depth`, into a DOM.
    bool value(Value& out, size_t depth);
    // The whole text after the value was read: only whitespace may follow.
    bool finish();
    bool fail(const char* msg, bool utf8 = false);

private:
    bool literal(std::string_view word);
    bool hex4(uint32_t& v);

    std::string_view m_t;
    ParseError* m_err;
    size_t m_maxDepth;
    size_t m_i = 0;
};

// Appends s as a JSON string literal, exactly as JavaScript's JSON.stringify writes it:
// \" \\ \b \f \n \r \t escaped, other U+0000–U+001F as \u00xx (lowercase hex), everything else
// verbatim (U+2028/U+2029, DEL and astral characters as raw UTF-8).
void appendQuoted(std::string& out, std::string_view s);

// A number literal made of digits only (no sign, fraction or exponent) whose value is ≤ max.
// This is how Nostr's integer fields (created_at, kind, since, limit, COUNT) are read strictly.
bool parseUnsigned(std::string_view raw, uint64_t max, uint64_t& out);

// Validates UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF).
bool isValidUtf8(std::string_view s);
// The first index ≥ i of a '"' or a '\\' in s (s.size() when there is none), eight bytes at a
// time: how the message scanners skip a string's plain bytes.
size_t findQuoteOrBackslash(std::string_view s, size_t i);

// Canonical JSON: object keys sorted by their UTF-8 bytes, recursively; the first of duplicate
// keys kept; no whitespace; strings written as appendQuoted (escapes decoded, control characters
// escaped); numbers exactly as written (1, 1.0 and 1e0 stay different). Two texts with the same
// canonical form hold the same data. Error "json" (with the byte offset) when it does not parse;
// nesting deeper than max_depth is such an error.
Expected<std::string> canonicalJson(std::string_view text, size_t max_depth = 32);
void appendCanonical(std::string& out, const Value& value);

}  // namespace archivist::protocol::json
