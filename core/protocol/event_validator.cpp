#include "core/protocol/event_validator.h"

namespace archivist::protocol {

EventValidator::EventValidator(ValidationPolicy policy) : m_policy(policy) {}

Reject EventValidator::validate(std::string_view json, int64_t received_at_s, Event& out, uint32_t& flags) {
    flags = 0;
    if (json.size() > m_policy.max_event_bytes) return Reject::TooLarge;
    if (const Reject r = parseEvent(json, out); r != Reject::None) return r;
    const IdForm form = checkId(out);
    if (form == IdForm::Mismatch) return Reject::IdMismatch;
    if (form == IdForm::Nip01Text) flags |= kFlagNip01TextId;
    if (m_policy.verify_signatures) {
        if (!m_verifier.verify(out.id, out.pubkey, out.sig)) return Reject::BadSignature;
    } else {
        flags |= kFlagUnverified;
    }
    if (received_at_s > 0 && out.created_at > received_at_s &&
        out.created_at - received_at_s > m_policy.future_tolerance_s)
        flags |= kFlagFutureTimestamp;
    return Reject::None;
}

}  // namespace archivist::protocol
