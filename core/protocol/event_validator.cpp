#include "core/protocol/event_validator.h"

namespace archivist::protocol {

EventValidator::EventValidator(ValidationPolicy policy) : m_policy(policy) {}

Reject EventValidator::validate(std::string_view json, int64_t received_at_s, Event& out, uint32_t& flags) {
    if (const Reject r = validateExceptSignature(json, received_at_s, out, flags); r != Reject::None) return r;
    return checkSignature(out, flags);
}

Reject EventValidator::checkParsed(int64_t received_at_s, Event& out, uint32_t& flags) {
    const IdForm form = checkId(out, m_idText);
    if (form == IdForm::Mismatch) return Reject::IdMismatch;
    if (form == IdForm::Nip01Text) flags |= kFlagNip01TextId;
    if (received_at_s > 0 && out.created_at > received_at_s &&
        out.created_at - received_at_s > m_policy.future_tolerance_s)
        flags |= kFlagFutureTimestamp;
    return Reject::None;
}

Reject EventValidator::checkSignature(const Event& e, uint32_t& flags) {
    if (!m_policy.verify_signatures) {
        flags |= kFlagUnverified;
        return Reject::None;
    }
    return m_verifier.verify(e.id, e.pubkey, e.sig) ? Reject::None : Reject::BadSignature;
}

}  // namespace archivist::protocol
