#pragma once
// Names the calling thread (at most 15 characters are kept), so `top -H`, `ps -L`, gdb and perf
// show which part of the engine a thread is.
#include <pthread.h>

#include <string>

namespace archivist {

inline void setThreadName(const std::string& name) {
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace archivist
