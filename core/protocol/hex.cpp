#include "core/protocol/hex.h"

#include <array>

namespace archivist::protocol {

namespace {
constexpr char kDigits[] = "0123456789abcdef";
// Lower-case hex digit -> value; everything else (upper case included: NIP-01 hex is lower
// case) -> 0xff. One table lookup per character on the parse path of every event.
constexpr auto kNibble = [] {
    std::array<uint8_t, 256> t{};
    t.fill(0xff);
    for (int c = '0'; c <= '9'; ++c) t[size_t(c)] = uint8_t(c - '0');
    for (int c = 'a'; c <= 'f'; ++c) t[size_t(c)] = uint8_t(c - 'a' + 10);
    return t;
}();
}  // namespace

std::string toHex(const uint8_t* data, size_t n) {
    std::string out(n * 2, '\0');
    for (size_t i = 0; i < n; ++i) {
        out[2 * i] = kDigits[data[i] >> 4];
        out[2 * i + 1] = kDigits[data[i] & 15];
    }
    return out;
}

void appendHex(std::string& out, const uint8_t* data, size_t n) {
    const size_t base = out.size();
    out.resize(base + n * 2);
    char* dst = out.data() + base;
    for (size_t i = 0; i < n; ++i) {
        dst[2 * i] = kDigits[data[i] >> 4];
        dst[2 * i + 1] = kDigits[data[i] & 15];
    }
}

bool fromHex(std::string_view hex, uint8_t* out, size_t n) {
    if (hex.size() != 2 * n) return false;
    uint8_t bad = 0;
    for (size_t i = 0; i < n; ++i) {
        const uint8_t hi = kNibble[uint8_t(hex[2 * i])], lo = kNibble[uint8_t(hex[2 * i + 1])];
        bad |= uint8_t(hi | lo);
        out[i] = uint8_t(hi << 4 | lo);
    }
    return !(bad & 0xf0);
}

}  // namespace archivist::protocol
