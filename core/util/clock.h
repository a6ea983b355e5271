#pragma once
// Milliseconds from the wall clock (timestamps people see) and from the steady clock (durations).
#include <chrono>
#include <cstdint>

namespace archivist {

inline int64_t wallMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch()).count();
}

inline int64_t steadyMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace archivist
