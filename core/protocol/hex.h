#pragma once
// Lowercase hex. Parsing is strict: Nostr ids, keys and signatures are lowercase, so uppercase
// digits are an error.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace archivist::protocol {

std::string toHex(const uint8_t* data, size_t n);
// Appends 2n lowercase hex characters to out (no temporary string; hot-path serialisation).
void appendHex(std::string& out, const uint8_t* data, size_t n);
template <size_t N>
std::string toHex(const std::array<uint8_t, N>& a) {
    return toHex(a.data(), N);
}
// True only for exactly 2n lowercase hex characters (on false, `out` holds no useful value).
bool fromHex(std::string_view hex, uint8_t* out, size_t n);

}  // namespace archivist::protocol
