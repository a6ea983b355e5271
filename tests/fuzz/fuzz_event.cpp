// Fuzzes the strict JSON parser and the event path: the input goes through json::parse (at the
// default and a tiny depth limit) and EventValidator::validate (with and without signature checks).
// parseEvent's one-pass reader must give the DOM model's answer and event. Whenever parseEvent
// accepts the input, the canonical JSON must parse back to the same event and re-serialise to the
// same bytes, and both id forms must be computable; any mismatch aborts.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/protocol/event_codec.h"
#include "core/protocol/event_validator.h"
#include "core/protocol/json.h"
#include "tests/support/event_dom_model.h"

using namespace archivist::protocol;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    json::Value v;
    json::ParseError err;
    const bool parsed = json::parse(text, v, &err);
    if (!parsed) check(err.offset <= size && !err.message.empty());
    json::Value shallow;
    if (json::parse(text, shallow, nullptr, 2)) check(parsed);  // a tighter limit never accepts more

    static EventValidator verifying;
    static EventValidator unverified(ValidationPolicy{512 * 1024, false, 900});
    Event e;
    uint32_t flags = 0;
    const Reject r1 = verifying.validate(text, 1700000000, e, flags);
    const Reject r2 = unverified.validate(text, 1700000000, e, flags);
    check(r1 < Reject::Count && r2 < Reject::Count);
    if (r1 == Reject::None) check(r2 == Reject::None);

    Event ev;
    const Reject r = parseEvent(text, ev);
    check(parsed || r == Reject::NotJson || r == Reject::InvalidUtf8);
    Event model;
    const Reject rm = archivist::testing::parseEventThroughDom(text, model);
    check(rm == r);
    if (r == Reject::None) check(model == ev);
    if (r != Reject::None) return 0;
    check(parsed && v.type == json::Type::Object);

    std::string canonical;
    appendEventJson(canonical, ev);
    Event back;
    check(parseEvent(canonical, back) == Reject::None);
    check(back == ev);
    std::string again;
    appendEventJson(again, back);
    check(again == canonical);
    check(json::isValidUtf8(canonical));

    const IdForm form = checkId(ev);
    if (form != IdForm::Mismatch) check(computeId(ev, form) == ev.id);
    return 0;
}
