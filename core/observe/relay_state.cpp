#include "core/observe/relay_state.h"

#include <array>

namespace archivist::observe {

namespace {
constexpr std::array<const char*, kRelayStateCount> kStateNames = {
    "candidate", "resolving", "fetching_info", "connecting", "connected", "backing_off",
    "failing",   "refused",   "restricted",    "blocked",    "stopped"};
constexpr std::array<const char*, size_t(BackfillState::Count)> kBackfillNames = {"not_started", "waiting", "running",
                                                                                  "done", "disabled"};
constexpr std::array<const char*, size_t(NegentropySupport::Count)> kNegentropyNames = {"unknown", "usable", "unusable"};
constexpr std::array<const char*, size_t(SyncMethod::Count)> kSyncMethodNames = {"negentropy", "req"};
}  // namespace

const char* relayStateName(RelayState s) {
    const auto i = size_t(s);
    return i < kStateNames.size() ? kStateNames[i] : "unknown";
}

RelayState relayStateFromName(std::string_view name) {
    for (size_t i = 0; i < kStateNames.size(); ++i)
        if (name == kStateNames[i]) return RelayState(i);
    return RelayState::Count;
}

bool isLiveState(RelayState s) {
    switch (s) {
    case RelayState::Resolving:
    case RelayState::FetchingInfo:
    case RelayState::Connecting:
    case RelayState::Connected:
    case RelayState::BackingOff:
    case RelayState::Failing: return true;
    default: return false;
    }
}

bool isUnreachableState(RelayState s) {
    switch (s) {
    case RelayState::Refused:
    case RelayState::Restricted:
    case RelayState::Blocked:
    case RelayState::Stopped:
    case RelayState::Failing: return true;
    default: return false;
    }
}

const char* eventRefusalName(EventRefusal r) {
    switch (r) {
    case EventRefusal::None: return "accepted";
    case EventRefusal::UnknownSubscription: return "unknown_subscription";
    case EventRefusal::OutsideFilter: return "outside_filter";
    case EventRefusal::Count: break;
    }
    return "unknown";
}

const char* backfillStateName(BackfillState s) {
    const auto i = size_t(s);
    return i < kBackfillNames.size() ? kBackfillNames[i] : "unknown";
}

const char* negentropySupportName(NegentropySupport s) {
    const auto i = size_t(s);
    return i < kNegentropyNames.size() ? kNegentropyNames[i] : "unknown";
}

NegentropySupport negentropySupportFromName(std::string_view name) {
    for (size_t i = 0; i < kNegentropyNames.size(); ++i)
        if (name == kNegentropyNames[i]) return NegentropySupport(i);
    return NegentropySupport::Unknown;
}

const char* syncMethodName(SyncMethod m) {
    const auto i = size_t(m);
    return i < kSyncMethodNames.size() ? kSyncMethodNames[i] : "unknown";
}

}  // namespace archivist::observe
