#pragma once
// parseEvent as a DOM reader would write it: the model the one-pass reader (event_codec.cpp) must
// agree with, answer and event, on every input (tst_event_codec, fuzz_event).
#include <cstdint>
#include <string_view>

#include "core/protocol/event.h"
#include "core/protocol/hex.h"
#include "core/protocol/json.h"

namespace archivist::testing {

inline protocol::Reject parseEventThroughDom(std::string_view text, protocol::Event& out) {
    namespace json = protocol::json;
    using protocol::Reject;
    json::Value v;
    json::ParseError err;
    if (!json::parse(text, v, &err)) return err.invalid_utf8 ? Reject::InvalidUtf8 : Reject::NotJson;
    if (v.type != json::Type::Object) return Reject::NotObject;
    static constexpr std::string_view kKeys[] = {"id", "pubkey", "created_at", "kind", "tags", "content", "sig"};
    const json::Value* f[7] = {};
    for (const auto& [key, val] : v.members)
        for (int k = 0; k < 7; ++k)
            if (key == kKeys[k]) {
                if (f[k]) return Reject::DuplicateField;
                f[k] = &val;
            }
    for (const auto* p : f)
        if (!p) return Reject::MissingField;
    auto hexField = [](const json::Value* p, uint8_t* dst, size_t n) {
        return p->type == json::Type::String && protocol::fromHex(p->str, dst, n);
    };
    if (!hexField(f[0], out.id.data(), 32)) return Reject::InvalidId;
    if (!hexField(f[1], out.pubkey.data(), 32)) return Reject::InvalidPubkey;
    if (!hexField(f[6], out.sig.data(), 64)) return Reject::InvalidSig;
    uint64_t n = 0;
    if (f[2]->type != json::Type::Number || !json::parseUnsigned(f[2]->raw, uint64_t(INT64_MAX), n))
        return Reject::InvalidCreatedAt;
    out.created_at = int64_t(n);
    if (f[3]->type != json::Type::Number || !json::parseUnsigned(f[3]->raw, 65535, n)) return Reject::InvalidKind;
    out.kind = uint16_t(n);
    if (f[4]->type != json::Type::Array) return Reject::InvalidTags;
    out.tags.clear();
    for (const auto& tag : f[4]->items) {
        if (tag.type != json::Type::Array) return Reject::InvalidTags;
        auto& t = out.tags.emplace_back();
        for (const auto& s : tag.items) {
            if (s.type != json::Type::String) return Reject::InvalidTags;
            t.push_back(s.str);
        }
    }
    if (f[5]->type != json::Type::String) return Reject::InvalidContent;
    out.content = f[5]->str;
    return Reject::None;
}

}  // namespace archivist::testing
