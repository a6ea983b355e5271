#include "core/protocol/hex.h"

namespace archivist::protocol {

namespace {
constexpr char kDigits[] = "0123456789abcdef";
inline int nibble(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}
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
    for (size_t i = 0; i < n; ++i) {
        const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i] = uint8_t(hi << 4 | lo);
    }
    return true;
}

}  // namespace archivist::protocol
