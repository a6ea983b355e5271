#pragma once
// Strict parsing of one NIP-01 event object, its canonical JSON, and its id.
// Thread: any (per-call state only; a thread_local buffer is reused for id serialisation).
#include <optional>
#include <string>
#include <string_view>

#include "core/protocol/event.h"

namespace archivist::protocol {

// Returns Reject::None and fills `out` on success. Rules (docs/validation-policy.md):
// id/pubkey 64 and sig 128 lowercase hex; created_at a JSON integer literal (no sign, fraction or
// exponent) in 0 … 2^63−1; kind an integer in 0 … 65535; tags an array of arrays of strings;
// content a string; all seven present (MissingField) and none twice (DuplicateField); other
// members are ignored. Not JSON → NotJson; not an object → NotObject; bad UTF-8 → InvalidUtf8.
Reject parseEvent(std::string_view json, Event& out);

// Canonical event JSON with JSON.stringify escaping; keys id, pubkey, created_at, kind, tags,
// content, sig; no whitespace, no newline. parseEvent(appendEventJson(e)) == e.
void appendEventJson(std::string& out, const Event& e);

// The NIP-01 serialisation [0,pubkey,created_at,kind,tags,content] in two escaping forms:
//  JsonStringify — JSON.stringify rules (what nostr-tools and most relays hash);
//  Nip01Text — only \n \" \\ \r \t \b \f escaped, every other byte verbatim.
enum class IdForm : uint8_t { Mismatch, JsonStringify, Nip01Text };
void appendSerializedForId(std::string& out, const Event& e, IdForm form);
Bytes32 computeId(const Event& e, IdForm form = IdForm::JsonStringify);
// Which form hashes to e.id. Nip01Text is tried only when a string holds a control character
// other than the seven (otherwise both forms are the same bytes).
IdForm checkId(const Event& e);

// The serialisation checkId hashed last, with where its tags array begins and ends: the
// canonical JSON of an event whose id is in the JsonStringify form holds the same bytes for tags
// and content, so appendEventJson(out, e, text) copies them instead of escaping them again.
struct IdText {
    std::string text;
    IdForm form = IdForm::Mismatch;  // the form of `text`
    Bytes32 id{};                    // the id of the event it serialises
    size_t tags_begin = 0, tags_end = 0;
};
IdForm checkId(const Event& e, IdText& text);
// appendEventJson(out, e), the same bytes; from `text` when it is e's JsonStringify serialisation.
void appendEventJson(std::string& out, const Event& e, const IdText& text);

// The fields of an event object that relay sessions need before the verify stage (pagination,
// cursors, whether it matches the subscription), read by a structural scan of the top-level keys
// without building a DOM (the verify stage parses fully). nullopt when the text is not an object
// or id, created_at or kind is missing or mistyped; pubkey is set when present as 64 hex.
struct EventKeys {
    Bytes32 id{};
    std::optional<Bytes32> pubkey;
    int64_t created_at = 0;
    uint16_t kind = 0;
};
std::optional<EventKeys> peekEventKeys(std::string_view json);
// The same, reading an object at the start of `text` that may go on after it (a relay message's
// rest): `end` is one past the object's closing brace once the scan has read the whole object
// (its keys valid or not), npos when it could not (then the text is not an object this scan
// reads; a structural skip by bracket count finds where it ends).
std::optional<EventKeys> peekEventObject(std::string_view text, size_t& end);

}  // namespace archivist::protocol
