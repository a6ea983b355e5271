#pragma once
// A small std::expected stand-in (GCC 12 has no <expected> in C++20 mode).
// Public core APIs return Expected<T> so that no exception crosses a thread or a slot.
#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace archivist {

// An error with a stable machine-readable code and a human message.
struct Error {
    std::string code;     // e.g. "io", "corrupt", "locked", "usage", "sqlite"
    std::string message;  // for people; names the file, relay or value involved
};

inline Error makeError(std::string code, std::string message) {
    return Error{std::move(code), std::move(message)};
}

template <typename T>
class [[nodiscard]] Expected {
public:
    Expected(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
    Expected(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return m_v.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { assert(ok()); return std::get<0>(m_v); }
    const T& value() const& { assert(ok()); return std::get<0>(m_v); }
    T&& value() && { assert(ok()); return std::get<0>(std::move(m_v)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    const Error& error() const { assert(!ok()); return std::get<1>(m_v); }

private:
    std::variant<T, Error> m_v;
};

template <>
class [[nodiscard]] Expected<void> {
public:
    Expected() = default;
    Expected(Error error) : m_ok(false), m_error(std::move(error)) {}
    bool ok() const { return m_ok; }
    explicit operator bool() const { return m_ok; }
    const Error& error() const { assert(!m_ok); return m_error; }

private:
    bool m_ok = true;
    Error m_error;
};

}  // namespace archivist
