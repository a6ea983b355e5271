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
    json::Value v;
    json::ParseError err;
    if (!json::parse(text, v, &err)) return err.invalid_utf8 ? Reject::InvalidUtf8 : Reject::NotJson;
    if (v.type != json::Type::Object) return Reject::NotObject;
    enum Field { Id, Pubkey, CreatedAt, Kind, Tags, Content, Sig, N };
    static constexpr std::string_view kKeys[N] = {"id", "pubkey", "created_at", "kind", "tags", "content", "sig"};
    json::Value* f[N] = {};
    for (auto& [key, val] : v.members) {
        for (int k = 0; k < N; ++k) {
            if (key == kKeys[k]) {
                if (f[k]) return Reject::DuplicateField;
                f[k] = &val;
            }
        }
    }
    for (int k = 0; k < N; ++k)
        if (!f[k]) return Reject::MissingField;
    if (f[Id]->type != json::Type::String || !fromHex(f[Id]->str, out.id.data(), 32)) return Reject::InvalidId;
    if (f[Pubkey]->type != json::Type::String || !fromHex(f[Pubkey]->str, out.pubkey.data(), 32))
        return Reject::InvalidPubkey;
    if (f[Sig]->type != json::Type::String || !fromHex(f[Sig]->str, out.sig.data(), 64)) return Reject::InvalidSig;
    uint64_t n = 0;
    if (f[CreatedAt]->type != json::Type::Number || !json::parseUnsigned(f[CreatedAt]->raw, uint64_t(INT64_MAX), n))
        return Reject::InvalidCreatedAt;
    out.created_at = int64_t(n);
    if (f[Kind]->type != json::Type::Number || !json::parseUnsigned(f[Kind]->raw, 65535, n)) return Reject::InvalidKind;
    out.kind = uint16_t(n);
    if (f[Tags]->type != json::Type::Array) return Reject::InvalidTags;
    out.tags.clear();
    out.tags.reserve(f[Tags]->items.size());
    for (auto& tag : f[Tags]->items) {
        if (tag.type != json::Type::Array) return Reject::InvalidTags;
        std::vector<std::string> t;
        t.reserve(tag.items.size());
        for (auto& s : tag.items) {
            if (s.type != json::Type::String) return Reject::InvalidTags;
            t.push_back(std::move(s.str));
        }
        out.tags.push_back(std::move(t));
    }
    if (f[Content]->type != json::Type::String) return Reject::InvalidContent;
    out.content = std::move(f[Content]->str);
    return Reject::None;
}

void appendEventJson(std::string& out, const Event& e) {
    out += "{\"id\":\"";
    appendHex(out, e.id.data(), e.id.size());
    out += "\",\"pubkey\":\"";
    appendHex(out, e.pubkey.data(), e.pubkey.size());
    out += "\",\"created_at\":";
    out += std::to_string(e.created_at);
    out += ",\"kind\":";
    out += std::to_string(e.kind);
    out += ",\"tags\":";
    appendTags(out, e, IdForm::JsonStringify);
    out += ",\"content\":";
    json::appendQuoted(out, e.content);
    out += ",\"sig\":\"";
    appendHex(out, e.sig.data(), e.sig.size());
    out += "\"}";
}

void appendSerializedForId(std::string& out, const Event& e, IdForm form) {
    out += "[0,\"";
    appendHex(out, e.pubkey.data(), e.pubkey.size());
    out += "\",";
    out += std::to_string(e.created_at);
    out += ',';
    out += std::to_string(e.kind);
    out += ',';
    appendTags(out, e, form);
    out += ',';
    appendString(out, e.content, form);
    out += ']';
}

Bytes32 computeId(const Event& e, IdForm form) {
    thread_local std::string buf;
    buf.clear();
    appendSerializedForId(buf, e, form);
    return sha256(buf);
}

IdForm checkId(const Event& e) {
    if (computeId(e, IdForm::JsonStringify) == e.id) return IdForm::JsonStringify;
    bool other = hasOtherControl(e.content);
    for (const auto& t : e.tags)
        for (const auto& s : t) other = other || hasOtherControl(s);
    if (other && computeId(e, IdForm::Nip01Text) == e.id) return IdForm::Nip01Text;
    return IdForm::Mismatch;
}

}  // namespace archivist::protocol
