#pragma once
// LineReader: streams lines from a .jsonl file, a .jsonl.zst file (zstd detected by magic bytes,
// any number of frames, skippable frames ignored) or standard input ("-").
// Memory is bounded: a line longer than max_line_bytes is not kept; next() reports it as
// too_long and skips to its end.
// Thread: owner thread only.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "core/util/expected.h"

typedef struct ZSTD_DCtx_s ZSTD_DCtx;

namespace archivist::engine {

class LineReader {
public:
    explicit LineReader(size_t max_line_bytes);
    ~LineReader();
    LineReader(const LineReader&) = delete;
    LineReader& operator=(const LineReader&) = delete;

    Expected<void> open(const std::string& path);  // "-" = stdin
    // Next line without its '\n' (and without a trailing '\r'). Returns false at the end or on an
    // error (see error()). too_long is set for a line that exceeded the limit (line is then empty).
    bool next(std::string_view& line, bool& too_long);
    const std::string& error() const { return m_error; }
    uint64_t bytesRead() const { return m_bytesRead; }    // of the file as stored (compressed)
    uint64_t totalBytes() const { return m_totalBytes; }  // 0 when unknown (stdin, pipes)
    bool compressed() const { return m_zstd != nullptr; }

private:
    bool fill();  // appends decoded bytes to m_buf; false at EOF/error

    const size_t m_maxLine;
    FILE* m_file = nullptr;
    bool m_ownsFile = false;
    ZSTD_DCtx* m_zstd = nullptr;
    std::string m_in;        // compressed input buffer
    size_t m_inPos = 0;
    std::string m_buf;       // decoded text not yet returned
    size_t m_pos = 0;
    bool m_eof = false;
    bool m_skipping = false; // inside an over-long line
    bool m_frameOpen = false; // zstd: inside a frame that has not ended yet
    uint64_t m_bytesRead = 0;
    uint64_t m_totalBytes = 0;
    std::string m_error;
    std::string m_line;
};

}  // namespace archivist::engine
