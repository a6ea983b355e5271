// Fuzzes NIP-19 decoding. Nothing may crash; whatever decodes must re-encode to a string that
// decodes to the same entity (unknown TLVs and TLV order are not preserved, the entity is).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/protocol/bech32.h"
#include "core/protocol/nip19.h"

using namespace archivist::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);

    auto d = decodeNip19(text);
    if (d) {
        const std::string again = encodeNip19(*d);
        if (again.empty()) std::abort();  // decoded TLV values are ≤ 255 bytes, so always encodable
        auto back = decodeNip19(again);
        if (!back || !(*back == *d)) std::abort();
    }
    (void)decodePubkeyInput(text);

    // The bech32 layer on its own: decode → encode must give the lowercase input back.
    auto b = bech32::decode(text);
    if (b) {
        const std::string enc = bech32::encode(b->hrp, b->data);
        auto back = bech32::decode(enc);
        if (!back || back->hrp != b->hrp || back->data != b->data) std::abort();
    }
    return 0;
}
