#pragma once
// The full acceptance check of one event (docs/validation-policy.md).
// Thread: one instance per thread (owns a SchnorrVerifier).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/protocol/event.h"
#include "core/protocol/event_codec.h"
#include "core/protocol/schnorr_verifier.h"

namespace archivist::protocol {

struct ValidationPolicy {
    size_t max_event_bytes = 512 * 1024;  // larger event JSON → TooLarge (checked before parsing)
    bool verify_signatures = true;        // false: import --no-verify (ids still checked; kFlagUnverified)
    int64_t future_tolerance_s = 900;     // created_at beyond receive time + this → kFlagFutureTimestamp
};

class EventValidator {
public:
    explicit EventValidator(ValidationPolicy policy = {});
    // size → strict parse → id (either escaping form) → signature. On success returns
    // Reject::None and fills out/flags; far-future events are flagged, never dropped.
    Reject validate(std::string_view json, int64_t received_at_s, Event& out, uint32_t& flags);
    // validate() in two steps, so that a caller can recognise a copy of a stored event between
    // them: everything but the signature (flags as validate(), kFlagUnverified not yet set) …
    Reject validateExceptSignature(std::string_view json, int64_t received_at_s, Event& out, uint32_t& flags) {
        return validateExceptSignature(json, received_at_s, out, flags, [](const Event&) {});
    }
    // The same, calling `parsed(out)` between the parse and the id check (which serialises the
    // event and hashes it: a microsecond or two): a caller starts loading the memory it will read
    // for the claimed id next (a cache slot), which then arrives while the id is checked.
    template <typename Parsed>
    Reject validateExceptSignature(std::string_view json, int64_t received_at_s, Event& out, uint32_t& flags,
                                   Parsed&& parsed) {
        flags = 0;
        if (json.size() > m_policy.max_event_bytes) return Reject::TooLarge;
        if (const Reject r = parseEvent(json, out); r != Reject::None) return r;
        parsed(static_cast<const Event&>(out));
        return checkParsed(received_at_s, out, flags);
    }
    // … then the signature per the policy (verifies, or flags kFlagUnverified with verify off).
    Reject checkSignature(const Event& e, uint32_t& flags);
    // The canonical JSON of the event validated last (appendEventJson's bytes), from the
    // serialisation its id was checked with: tags and content are copied, not escaped again.
    void appendCanonical(std::string& out, const Event& e) const { appendEventJson(out, e, m_idText); }
    const ValidationPolicy& policy() const { return m_policy; }

private:
    Reject checkParsed(int64_t received_at_s, Event& out, uint32_t& flags);
    ValidationPolicy m_policy;
    IdText m_idText;  // the last id check's serialisation
    SchnorrVerifier m_verifier;
};

}  // namespace archivist::protocol
