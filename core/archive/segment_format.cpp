#include "core/archive/segment_format.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>

namespace archivist::archive {

namespace {
void putLe(std::string& out, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
}

uint64_t getLe(std::string_view in, size_t at, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= uint64_t(uint8_t(in[at + size_t(i)])) << (8 * i);
    return v;
}
}  // namespace

std::string encodeSegmentHeader(uint32_t segment, int64_t created_at_s) {
    std::string out;
    out.reserve(kHeaderBytes);
    putLe(out, kHeaderMagic, 4);
    putLe(out, kHeaderPayloadBytes, 4);
    out.append(kHeaderAscii, kHeaderAsciiBytes);
    out.push_back(char(kFormatVersion));
    putLe(out, 0, 2);
    putLe(out, segment, 4);
    putLe(out, uint64_t(created_at_s), 8);
    putLe(out, 0, 8);
    return out;
}

std::string encodeTombstoneStart(uint64_t offset, uint64_t length, std::string_view entry_name) {
    std::string out;
    putLe(out, kTombstoneMagic, 4);
    putLe(out, length - kMinTombstoneBytes, 4);
    std::string info(kTombstoneAscii, kTombstoneAsciiBytes);
    info.push_back(char(1));
    putLe(info, 0, 3);
    putLe(info, offset, 8);
    putLe(info, length, 8);
    const size_t nameBytes = std::min<size_t>(entry_name.size(), 0xFFFF);
    putLe(info, nameBytes, 2);
    info.append(entry_name.substr(0, nameBytes));
    out.append(info.substr(0, size_t(std::min<uint64_t>(info.size(), length - out.size()))));
    return out;
}

Expected<SegmentHeader> parseSegmentHeader(std::string_view bytes) {
    // Compare whatever prefix we have against the fixed parts first, so that a short file that is
    // not even the start of a header is "corrupt", not "torn".
    std::string fixedStart;
    putLe(fixedStart, kHeaderMagic, 4);
    const size_t magicHave = std::min<size_t>(bytes.size(), 4);
    if (bytes.substr(0, magicHave) != std::string_view(fixedStart).substr(0, magicHave))
        return makeError("corrupt", "not an archive segment (bad header magic)");
    if (bytes.size() >= 8) {
        const uint64_t payload = getLe(bytes, 4, 4);
        if (payload < kMinHeaderPayloadBytes || payload > kMaxHeaderPayloadBytes)
            return makeError("corrupt", "segment header has an invalid payload size " + std::to_string(payload));
    }
    if (bytes.size() > 8) {
        const size_t asciiHave = std::min<size_t>(bytes.size() - 8, kHeaderAsciiBytes);
        if (bytes.substr(8, asciiHave) != std::string_view(kHeaderAscii, asciiHave))
            return makeError("corrupt", "segment header lacks the ARCHIVIST signature");
    }
    if (bytes.size() > 17 && uint8_t(bytes[17]) != kFormatVersion)
        return makeError("corrupt", "unsupported segment format version " + std::to_string(uint8_t(bytes[17])));
    if (bytes.size() < 8) return makeError("torn", "segment header is incomplete");
    const uint64_t payload = getLe(bytes, 4, 4);
    if (bytes.size() < 8 + payload) return makeError("torn", "segment header is incomplete");

    SegmentHeader h;
    h.version = uint8_t(bytes[17]);
    h.segment = uint32_t(getLe(bytes, 20, 4));
    h.created_at_s = int64_t(getLe(bytes, 24, 8));
    h.header_bytes = 8 + payload;
    if (h.segment == 0) return makeError("corrupt", "segment header names segment 0");
    return h;
}

Expected<void> prepareFrameCompressor(ZSTD_CCtx*& cctx, int level) {
    if (!cctx) {
        cctx = ZSTD_createCCtx();
        if (!cctx) return makeError("io", "zstd: cannot allocate a compression context");
    }
    ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_dictIDFlag, 0);
    return {};
}

}  // namespace archivist::archive
