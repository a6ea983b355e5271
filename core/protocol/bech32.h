#pragma once
// Bech32 (BIP-173; not bech32m) over 8-bit payloads, as NIP-19 uses it.
//
// Unlike BIP-173 the total length is not capped at 90 characters (NIP-19 TLV strings with relay
// hints are longer); decode() refuses inputs longer than max_length instead, so memory stays
// bounded. Decoding accepts all-lowercase or all-uppercase input (returned hrp is lowercase) and
// rejects mixed case, characters outside the bech32 alphabet, a bad checksum, and 5→8 bit
// conversion leftovers (more than 4 padding bits, or non-zero padding).
// Thread: any (no state).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/expected.h"

namespace archivist::protocol::bech32 {

inline constexpr size_t kDefaultMaxLength = 5000;

struct Decoded {
    std::string hrp;            // lowercase
    std::vector<uint8_t> data;  // the 8-bit payload
};

// hrp must be 1…83 printable ASCII characters (33…126), lowercase; returns "" otherwise.
std::string encode(std::string_view hrp, const uint8_t* data, size_t n);
inline std::string encode(std::string_view hrp, const std::vector<uint8_t>& data) {
    return encode(hrp, data.data(), data.size());
}

// Errors: code "bech32"; the message names the problem ("too long", "mixed case", "no separator",
// "invalid character", "checksum", "padding").
Expected<Decoded> decode(std::string_view s, size_t max_length = kDefaultMaxLength);

}  // namespace archivist::protocol::bech32
