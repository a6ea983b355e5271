#include "core/protocol/bech32.h"

namespace archivist::protocol::bech32 {

namespace {

constexpr char kCharset[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
constexpr size_t kChecksumLength = 6;

int charValue(char c) {
    for (int i = 0; i < 32; ++i)
        if (kCharset[i] == c) return i;
    return -1;
}

uint32_t polymodStep(uint32_t chk, uint8_t v) {
    static constexpr uint32_t kGen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
    const uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (int i = 0; i < 5; ++i)
        if ((top >> i) & 1) chk ^= kGen[i];
    return chk;
}

uint32_t hrpPolymod(std::string_view hrp) {
    uint32_t chk = 1;
    for (char c : hrp) chk = polymodStep(chk, uint8_t(static_cast<unsigned char>(c) >> 5));
    chk = polymodStep(chk, 0);
    for (char c : hrp) chk = polymodStep(chk, uint8_t(static_cast<unsigned char>(c) & 31));
    return chk;
}

Error bechError(std::string msg) { return makeError("bech32", std::move(msg)); }

}  // namespace

std::string encode(std::string_view hrp, const uint8_t* data, size_t n) {
    if (hrp.empty() || hrp.size() > 83) return {};
    for (char c : hrp)
        if (c < 33 || c > 126 || (c >= 'A' && c <= 'Z')) return {};
    std::vector<uint8_t> values;
    values.reserve((n * 8 + 4) / 5 + kChecksumLength);
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; ++i) {
        acc = (acc << 8) | data[i];
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            values.push_back(uint8_t((acc >> bits) & 31));
        }
    }
    if (bits > 0) values.push_back(uint8_t((acc << (5 - bits)) & 31));
    uint32_t chk = hrpPolymod(hrp);
    for (uint8_t v : values) chk = polymodStep(chk, v);
    for (size_t i = 0; i < kChecksumLength; ++i) chk = polymodStep(chk, 0);
    chk ^= 1;
    std::string out;
    out.reserve(hrp.size() + 1 + values.size() + kChecksumLength);
    out += hrp;
    out += '1';
    for (uint8_t v : values) out += kCharset[v];
    for (size_t i = 0; i < kChecksumLength; ++i) out += kCharset[(chk >> (5 * (5 - i))) & 31];
    return out;
}

Expected<Decoded> decode(std::string_view s, size_t max_length) {
    if (s.size() > max_length)
        return bechError("too long: " + std::to_string(s.size()) + " characters (limit " +
                         std::to_string(max_length) + ")");
    bool lower = false, upper = false;
    for (char c : s) {
        if (c < 33 || c > 126) return bechError("invalid character (non-printable or non-ASCII)");
        if (c >= 'a' && c <= 'z') lower = true;
        if (c >= 'A' && c <= 'Z') upper = true;
    }
    if (lower && upper) return bechError("mixed case");
    const size_t sep = s.rfind('1');
    if (sep == std::string_view::npos) return bechError("no separator '1'");
    if (sep == 0) return bechError("empty hrp");
    if (s.size() - sep - 1 < kChecksumLength) return bechError("too short for a checksum");
    Decoded out;
    out.hrp.assign(s.substr(0, sep));
    for (char& c : out.hrp)
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    uint32_t chk = hrpPolymod(out.hrp);
    const std::string_view dataPart = s.substr(sep + 1);
    const size_t payloadChars = dataPart.size() - kChecksumLength;
    out.data.reserve(payloadChars * 5 / 8);
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < dataPart.size(); ++i) {
        char c = dataPart[i];
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
        const int v = charValue(c);
        if (v < 0) return bechError(std::string("invalid character '") + dataPart[i] + "'");
        chk = polymodStep(chk, uint8_t(v));
        if (i < payloadChars) {
            acc = ((acc << 5) | uint32_t(v)) & 0xfff;
            bits += 5;
            if (bits >= 8) {
                bits -= 8;
                out.data.push_back(uint8_t((acc >> bits) & 0xff));
            }
        }
    }
    if (chk != 1) return bechError("bad checksum");
    if (bits >= 5) return bechError("invalid padding: more than 4 leftover bits");
    if (acc & ((1u << bits) - 1)) return bechError("invalid padding: non-zero leftover bits");
    return out;
}

}  // namespace archivist::protocol::bech32
