#include "core/protocol/event_codec.h"

#include "core/protocol/hex.h"
#include "core/protocol/json.h"
#include "core/protocol/sha256.h"

namespace archivist::protocol {

namespace {

// A JSON integer literal of digits only (no '-', '.', 'e') that fits in max.
void appendNip01Text(std::string& out, std::string_view s) {
    out += '"';
    for (char c : s) {
        switch (c) {
        case '\n': out += "\\n"; break;
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default: out += c;
        }
    }
    out += '"';
}

void appendString(std::string& out, std::string_view s, IdForm form) {
    if (form == IdForm::Nip01Text) appendNip01Text(out, s);
    else json::appendQuoted(out, s);
}

void appendTags(std::string& out, const Event& e, IdForm form) {
    out += '[';
    for (size_t i = 0; i < e.tags.size(); ++i) {
        if (i) out += ',';
        out += '[';
        for (size_t k = 0; k < e.tags[i].size(); ++k) {
            if (k) out += ',';
            appendString(out, e.tags[i][k], form);
        }
        out += ']';
    }
    out += ']';
}

bool hasOtherControl(std::string_view s) {
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\b' && c != '\f') return true;
    }
    return false;
}

}  // namespace

Reject parseEvent(std::string_view text, Event& out) {
    // One pass over the text straight into `out`, no DOM. The answer is the one a DOM would
    // give: a text that is not JSON is not_json / invalid_utf8 whatever its fields, so a field of
    // the wrong type is only noted and the text read to its end; then duplicate_field,
    // missing_field, and the first bad field in the order id, pubkey, sig, created_at, kind, tags,
    // content.
    json::ParseError err;
    json::Reader r(text, &err, 64);
    auto notJson = [&] { return err.invalid_utf8 ? Reject::InvalidUtf8 : Reject::NotJson; };
    r.skipWs();
    if (r.peek() != '{') {
        if (!r.skip(0) || !r.finish()) return notJson();
        return Reject::NotObject;
    }
    enum Field { Id, Pubkey, CreatedAt, Kind, Tags, Content, Sig, N };
    static constexpr std::string_view kKeys[N] = {"id", "pubkey", "created_at", "kind", "tags", "content", "sig"};
    bool seen[N] = {}, good[N] = {}, duplicate = false;
    thread_local std::string key, hex;
    out.tags.clear();
    auto readHex = [&](uint8_t* dst, size_t n, bool& ok) {
        if (r.peek() != '"') return r.skip(1);
        if (!r.string(&hex)) return false;
        ok = fromHex(hex, dst, n);
        return true;
    };
    auto readUnsigned = [&](uint64_t max, uint64_t& v, bool& ok) {
        const char c = r.peek();
        if (c != '-' && (c < '0' || c > '9')) return r.skip(1);
        std::string_view raw;
        if (!r.number(raw)) return false;
        ok = json::parseUnsigned(raw, max, v);
        return true;
    };
    auto readTags = [&](bool& ok) {
        if (r.peek() != '[') return r.skip(1);
        if (!r.enter(1)) return false;
        r.expect('[', "");
        ok = true;
        if (r.accept(']')) return true;
        for (;;) {
            r.skipWs();
            if (r.peek() != '[') {
                ok = false;
                if (!r.skip(2)) return false;
            } else {
                if (!r.enter(2)) return false;
                r.expect('[', "");
                auto& tag = out.tags.emplace_back();
                if (!r.accept(']')) {
                    for (;;) {
                        r.skipWs();
                        if (r.peek() != '"') {
                            ok = false;
                            if (!r.skip(3)) return false;
                        } else if (!r.string(&tag.emplace_back())) {
                            return false;
                        }
                        if (r.accept(',')) continue;
                        if (r.accept(']')) break;
                        return r.atEnd() ? r.fail("unterminated array") : r.fail("expected ',' or ']'");
                    }
                }
            }
            if (r.accept(',')) continue;
            if (r.accept(']')) return true;
            return r.atEnd() ? r.fail("unterminated array") : r.fail("expected ',' or ']'");
        }
    };
    r.expect('{', "");
    if (!r.accept('}')) {
        for (;;) {
            r.skipWs();
            if (r.peek() != '"') {
                r.fail("expected a string key");
                return notJson();
            }
            if (!r.string(&key) || !r.expect(':', "expected ':'")) return notJson();
            r.skipWs();
            int k = 0;
            while (k < N && key != kKeys[k]) ++k;
            bool ok = true;
            if (k == N || seen[k]) {
                duplicate = duplicate || k < N;
                ok = r.skip(1);
            } else {
                seen[k] = true;
                uint64_t n = 0;
                switch (k) {
                case Id: ok = readHex(out.id.data(), 32, good[k]); break;
                case Pubkey: ok = readHex(out.pubkey.data(), 32, good[k]); break;
                case Sig: ok = readHex(out.sig.data(), 64, good[k]); break;
                case CreatedAt:
                    ok = readUnsigned(uint64_t(INT64_MAX), n, good[k]);
                    out.created_at = int64_t(n);
                    break;
                case Kind:
                    ok = readUnsigned(65535, n, good[k]);
                    out.kind = uint16_t(n);
                    break;
                case Tags: ok = readTags(good[k]); break;
                case Content:
                    if (r.peek() != '"') ok = r.skip(1);
                    else ok = good[k] = r.string(&out.content);
                    break;
                }
            }
            if (!ok) return notJson();
            if (r.accept(',')) continue;
            if (r.accept('}')) break;
            r.fail(r.atEnd() ? "unterminated object" : "expected ',' or '}'");
            return notJson();
        }
    }
    if (!r.finish()) return notJson();
    if (duplicate) return Reject::DuplicateField;
    for (int k = 0; k < N; ++k)
        if (!seen[k]) return Reject::MissingField;
    static constexpr std::pair<Field, Reject> kOrder[] = {
        {Id, Reject::InvalidId},          {Pubkey, Reject::InvalidPubkey}, {Sig, Reject::InvalidSig},
        {CreatedAt, Reject::InvalidCreatedAt}, {Kind, Reject::InvalidKind},   {Tags, Reject::InvalidTags},
        {Content, Reject::InvalidContent}};
    for (const auto& [field, reject] : kOrder)
        if (!good[field]) return reject;
    return Reject::None;
}

namespace {

// {"id":"…","pubkey":"…","created_at":N,"kind":K,"tags":  …  ,"sig":"…"}
void appendEventHead(std::string& out, const Event& e) {
    out += "{\"id\":\"";
    appendHex(out, e.id.data(), e.id.size());
    out += "\",\"pubkey\":\"";
    appendHex(out, e.pubkey.data(), e.pubkey.size());
    out += "\",\"created_at\":";
    out += std::to_string(e.created_at);
    out += ",\"kind\":";
    out += std::to_string(e.kind);
    out += ",\"tags\":";
}

void appendEventTail(std::string& out, const Event& e) {
    out += ",\"sig\":\"";
    appendHex(out, e.sig.data(), e.sig.size());
    out += "\"}";
}

// [0,"pubkey",created_at,kind,TAGS,CONTENT] in `form`; where TAGS begins and ends in `out`.
void appendSerialized(std::string& out, const Event& e, IdForm form, size_t& tags_begin, size_t& tags_end) {
    out += "[0,\"";
    appendHex(out, e.pubkey.data(), e.pubkey.size());
    out += "\",";
    out += std::to_string(e.created_at);
    out += ',';
    out += std::to_string(e.kind);
    out += ',';
    tags_begin = out.size();
    appendTags(out, e, form);
    tags_end = out.size();
    out += ',';
    appendString(out, e.content, form);
    out += ']';
}

Bytes32 computeIdText(const Event& e, IdForm form, IdText& t) {
    t.text.clear();
    appendSerialized(t.text, e, form, t.tags_begin, t.tags_end);
    t.form = form;
    t.id = e.id;
    return sha256(t.text);
}

}  // namespace

void appendEventJson(std::string& out, const Event& e) {
    appendEventHead(out, e);
    appendTags(out, e, IdForm::JsonStringify);
    out += ",\"content\":";
    json::appendQuoted(out, e.content);
    appendEventTail(out, e);
}

void appendSerializedForId(std::string& out, const Event& e, IdForm form) {
    size_t begin = 0, end = 0;
    appendSerialized(out, e, form, begin, end);
}

Bytes32 computeId(const Event& e, IdForm form) {
    thread_local std::string buf;
    buf.clear();
    appendSerializedForId(buf, e, form);
    return sha256(buf);
}

IdForm checkId(const Event& e, IdText& t) {
    if (computeIdText(e, IdForm::JsonStringify, t) == e.id) return IdForm::JsonStringify;
    bool other = hasOtherControl(e.content);
    for (const auto& tag : e.tags)
        for (const auto& s : tag) other = other || hasOtherControl(s);
    if (other && computeIdText(e, IdForm::Nip01Text, t) == e.id) return IdForm::Nip01Text;
    return IdForm::Mismatch;
}

IdForm checkId(const Event& e) {
    thread_local IdText t;
    return checkId(e, t);
}

void appendEventJson(std::string& out, const Event& e, const IdText& t) {
    // t.text is [0,"pubkey",created_at,kind,TAGS,CONTENT]: TAGS and CONTENT escaped as the
    // canonical JSON escapes them (JsonStringify).
    if (t.form != IdForm::JsonStringify || t.id != e.id || t.tags_end <= t.tags_begin || t.text.size() < t.tags_end + 2) {
        appendEventJson(out, e);
        return;
    }
    const std::string_view text(t.text);
    appendEventHead(out, e);
    out += text.substr(t.tags_begin, t.tags_end - t.tags_begin);
    out += ",\"content\":";
    out += text.substr(t.tags_end + 1, text.size() - 1 - (t.tags_end + 1));
    appendEventTail(out, e);
}

namespace {

// Minimal structural scanner over one JSON object's top level (peekEventKeys).
class Scanner {
public:
    explicit Scanner(std::string_view s) : m_s(s) {}
    void ws() {
        while (m_i < m_s.size() && (m_s[m_i] == ' ' || m_s[m_i] == '\t' || m_s[m_i] == '\n' || m_s[m_i] == '\r')) ++m_i;
    }
    bool eat(char c) {
        ws();
        if (m_i < m_s.size() && m_s[m_i] == c) {
            ++m_i;
            return true;
        }
        return false;
    }
    // A string token; raw (escapes left as written). Returns false if unterminated.
    bool string(std::string_view& raw) {
        ws();
        if (m_i >= m_s.size() || m_s[m_i] != '"') return false;
        const size_t start = ++m_i;
        for (m_i = json::findQuoteOrBackslash(m_s, m_i); m_i < m_s.size(); m_i = json::findQuoteOrBackslash(m_s, m_i + 2))
            if (m_s[m_i] == '"') {
                raw = m_s.substr(start, m_i - start);
                ++m_i;
                return true;
            }
        m_i = m_s.size();
        return false;
    }
    // Skips any value; scalar values' raw text is returned.
    bool value(std::string_view& scalar, bool& is_string) {
        ws();
        is_string = false;
        if (m_i >= m_s.size()) return false;
        const char c = m_s[m_i];
        if (c == '"') {
            is_string = true;
            return string(scalar);
        }
        if (c == '{' || c == '[') {
            int depth = 0;
            while (m_i < m_s.size()) {
                const char d = m_s[m_i];
                if (d == '"') {
                    std::string_view ignored;
                    if (!string(ignored)) return false;
                    continue;
                }
                if (d == '{' || d == '[') ++depth;
                if (d == '}' || d == ']') {
                    if (--depth == 0) {
                        ++m_i;
                        scalar = {};
                        return true;
                    }
                }
                ++m_i;
            }
            return false;
        }
        // A scalar ends at the first character no scalar holds: with brackets and quotes among
        // them, an object this scanner reads whole ends where a bracket count ends it.
        const size_t start = m_i;
        while (m_i < m_s.size() && !isScalarEnd(m_s[m_i])) ++m_i;
        scalar = m_s.substr(start, m_i - start);
        return !scalar.empty();
    }
    size_t pos() const { return m_i; }

private:
    static bool isScalarEnd(char c) {
        return c == ',' || c == '}' || c == ']' || c == '{' || c == '[' || c == '"' || c == ' ' || c == '\n' ||
               c == '\r' || c == '\t';
    }

    std::string_view m_s;
    size_t m_i = 0;
};

}  // namespace

std::optional<EventKeys> peekEventObject(std::string_view text, size_t& end) {
    end = std::string_view::npos;
    Scanner sc(text);
    if (!sc.eat('{')) return std::nullopt;
    EventKeys keys;
    bool valid = true, haveId = false, haveCreated = false, haveKind = false;
    if (!sc.eat('}')) {
        do {
            std::string_view key, value;
            bool isString = false;
            if (!sc.string(key) || !sc.eat(':') || !sc.value(value, isString)) return std::nullopt;
            if (key == "id") {
                haveId = isString && value.size() == 64 && fromHex(value, keys.id.data(), keys.id.size());
                valid = valid && haveId;
            } else if (key == "created_at") {
                uint64_t v = 0;
                haveCreated = !isString && json::parseUnsigned(value, uint64_t(INT64_MAX), v);
                keys.created_at = int64_t(v);
                valid = valid && haveCreated;
            } else if (key == "pubkey") {
                Bytes32 pk{};
                if (isString && value.size() == 64 && fromHex(value, pk.data(), pk.size())) keys.pubkey = pk;
            } else if (key == "kind") {
                uint64_t v = 0;
                haveKind = !isString && json::parseUnsigned(value, 65535, v);
                keys.kind = uint16_t(v);
                valid = valid && haveKind;
            }
        } while (sc.eat(','));
        if (!sc.eat('}')) return std::nullopt;
    } else {
        valid = false;  // {}: no keys at all
    }
    end = sc.pos();
    if (!valid || !haveId || !haveCreated || !haveKind) return std::nullopt;
    return keys;
}

std::optional<EventKeys> peekEventKeys(std::string_view json) {
    size_t end = 0;
    return peekEventObject(json, end);
}

}  // namespace archivist::protocol
