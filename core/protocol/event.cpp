#include "core/protocol/event.h"

namespace archivist::protocol {

namespace {
constexpr const char* kNames[] = {
    "none",          "not_json",       "not_object",         "missing_field",  "duplicate_field",
    "invalid_id",    "invalid_pubkey", "invalid_sig",        "invalid_created_at", "invalid_kind",
    "invalid_tags",  "invalid_content", "invalid_utf8",      "too_large",      "id_mismatch",
    "bad_signature",
};
static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<size_t>(Reject::Count));
}  // namespace

const char* rejectName(Reject r) {
    const auto i = static_cast<size_t>(r);
    return i < static_cast<size_t>(Reject::Count) ? kNames[i] : "unknown";
}

Reject rejectFromName(std::string_view name) {
    for (size_t i = 0; i < static_cast<size_t>(Reject::Count); ++i)
        if (name == kNames[i]) return static_cast<Reject>(i);
    return Reject::Count;
}

}  // namespace archivist::protocol
