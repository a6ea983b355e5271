#include "core/sink/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

namespace archivist::sink {

namespace {
constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip wrapper
constexpr int kAutoWindowBits = 15 + 32;  // inflate: detect gzip or zlib wrapper
constexpr size_t kStep = size_t(1) << 30;  // zlib counts in uInt: feed at most 1 GiB per call

std::string zlibMessage(const z_stream& z, int rc) {
    return std::string(z.msg ? z.msg : zError(rc));
}
}  // namespace

Expected<std::string> gzipCompress(std::string_view data, int level) {
    z_stream z{};
    int rc = deflateInit2(&z, std::clamp(level, 1, 9), Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) return makeError("gzip", "deflateInit2: " + zlibMessage(z, rc));
    std::string out;
    out.resize(deflateBound(&z, uLong(std::min<size_t>(data.size(), std::numeric_limits<uLong>::max()))));
    size_t in_pos = 0;
    size_t out_pos = 0;
    for (;;) {
        const size_t in_step = std::min(kStep, data.size() - in_pos);
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + in_pos));
        z.avail_in = uInt(in_step);
        if (out.size() - out_pos < 64) out.resize(out.size() * 2 + 64);
        z.next_out = reinterpret_cast<Bytef*>(out.data() + out_pos);
        z.avail_out = uInt(std::min(kStep, out.size() - out_pos));
        const bool last = in_pos + in_step == data.size();
        const uInt avail_out_before = z.avail_out;
        rc = deflate(&z, last ? Z_FINISH : Z_NO_FLUSH);
        in_pos += in_step - z.avail_in;
        out_pos += avail_out_before - z.avail_out;
        if (rc == Z_STREAM_END) break;
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            const std::string why = zlibMessage(z, rc);
            deflateEnd(&z);
            return makeError("gzip", "deflate: " + why);
        }
    }
    deflateEnd(&z);
    out.resize(out_pos);
    return out;
}

Expected<std::string> gzipDecompress(std::string_view gz, size_t max_bytes) {
    std::string out;
    size_t in_pos = 0;
    while (in_pos < gz.size()) {  // one member per round
        z_stream z{};
        int rc = inflateInit2(&z, kAutoWindowBits);
        if (rc != Z_OK) return makeError("gzip", "inflateInit2: " + zlibMessage(z, rc));
        for (;;) {
            const size_t in_step = std::min(kStep, gz.size() - in_pos);
            z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data() + in_pos));
            z.avail_in = uInt(in_step);
            char buf[64 * 1024];
            z.next_out = reinterpret_cast<Bytef*>(buf);
            z.avail_out = sizeof buf;
            rc = inflate(&z, Z_NO_FLUSH);
            in_pos += in_step - z.avail_in;
            const size_t produced = sizeof buf - z.avail_out;
            if (out.size() + produced > max_bytes) {
                inflateEnd(&z);
                return makeError("gzip", "inflated data exceeds " + std::to_string(max_bytes) + " bytes");
            }
            out.append(buf, produced);
            if (rc == Z_STREAM_END) break;
            if (rc == Z_BUF_ERROR && in_pos == gz.size() && produced == 0) {
                inflateEnd(&z);
                return makeError("gzip", "truncated gzip data");
            }
            if (rc != Z_OK && rc != Z_BUF_ERROR) {
                const std::string why = zlibMessage(z, rc);
                inflateEnd(&z);
                return makeError("gzip", "inflate: " + why);
            }
        }
        inflateEnd(&z);
    }
    return out;
}

}  // namespace archivist::sink
