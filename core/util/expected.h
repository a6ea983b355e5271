#pragma once
// A small std::expected stand-in (GCC 12 has no <expected> in C++20 mode).
// Public core APIs return Expected<T> so that no exception crosses a thread or a slot.
// Components whose callers branch on the kind of failure return Expected<T, CodedError<Code>>
// with an enum Code of their own (callers switch on it; no string compares), and convert to a
// plain Error with toError() where only the message travels on.
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

// An error whose kind is an enum of the component that raised it. The component provides
// `const char* errorCodeName(Code)` (found by argument-dependent lookup) for toError().
template <typename Code>
struct CodedError {
    Code code;
    std::string message;
};

template <typename Code>
CodedError<Code> makeCodedError(Code code, std::string message) {
    return CodedError<Code>{code, std::move(message)};
}

template <typename Code>
Error toError(const CodedError<Code>& e) {
    return Error{errorCodeName(e.code), e.message};
}

template <typename T, typename E = Error>
class [[nodiscard]] Expected {
public:
    Expected(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
    Expected(E error) : m_v(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return m_v.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { assert(ok()); return std::get<0>(m_v); }
    const T& value() const& { assert(ok()); return std::get<0>(m_v); }
    T&& value() && { assert(ok()); return std::get<0>(std::move(m_v)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    const E& error() const { assert(!ok()); return std::get<1>(m_v); }

private:
    std::variant<T, E> m_v;
};

template <typename E>
class [[nodiscard]] Expected<void, E> {
public:
    Expected() = default;
    Expected(E error) : m_ok(false), m_error(std::move(error)) {}
    bool ok() const { return m_ok; }
    explicit operator bool() const { return m_ok; }
    const E& error() const { assert(!m_ok); return m_error; }

private:
    bool m_ok = true;
    E m_error{};
};

}  // namespace archivist
