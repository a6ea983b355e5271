#include "core/engine/line_reader.h"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <zstd.h>

namespace archivist::engine {

namespace {
constexpr size_t kReadChunk = 1 << 20;
}

LineReader::LineReader(size_t max_line_bytes) : m_maxLine(max_line_bytes) {}

LineReader::~LineReader() {
    if (m_file && m_ownsFile) std::fclose(m_file);
    if (m_zstd) ZSTD_freeDCtx(m_zstd);
}

Expected<void> LineReader::open(const std::string& path) {
    if (path == "-") {
        m_file = stdin;
        m_ownsFile = false;
    } else {
        m_file = std::fopen(path.c_str(), "rb");
        if (!m_file) return makeError("io", "cannot open " + path + ": " + std::strerror(errno));
        m_ownsFile = true;
        struct stat st{};
        if (::fstat(fileno(m_file), &st) == 0 && S_ISREG(st.st_mode)) m_totalBytes = uint64_t(st.st_size);
    }
    // Sniff the first bytes for the zstd magic (or a skippable frame).
    m_in.resize(kReadChunk);
    const size_t n = std::fread(m_in.data(), 1, m_in.size(), m_file);
    if (n == 0 && std::ferror(m_file)) return makeError("io", "cannot read " + path + ": " + std::strerror(errno));
    m_in.resize(n);
    m_bytesRead = n;
    if (n >= 4) {
        uint32_t magic;
        std::memcpy(&magic, m_in.data(), 4);
        if (magic == ZSTD_MAGICNUMBER || (magic & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START)
            m_zstd = ZSTD_createDCtx();
    }
    if (!m_zstd) {
        m_buf = std::move(m_in);
        m_in.clear();
    }
    return {};
}

bool LineReader::fill() {
    if (m_eof) return false;
    // Drop what was already returned.
    if (m_pos > 0) {
        m_buf.erase(0, m_pos);
        m_pos = 0;
    }
    if (!m_zstd) {
        const size_t old = m_buf.size();
        m_buf.resize(old + kReadChunk);
        const size_t n = std::fread(m_buf.data() + old, 1, kReadChunk, m_file);
        m_buf.resize(old + n);
        m_bytesRead += n;
        if (n == 0) {
            if (std::ferror(m_file)) m_error = std::string("read error: ") + std::strerror(errno);
            m_eof = true;
            return false;
        }
        return true;
    }
    for (;;) {
        if (m_inPos >= m_in.size()) {
            m_in.resize(kReadChunk);
            const size_t n = std::fread(m_in.data(), 1, kReadChunk, m_file);
            m_in.resize(n);
            m_inPos = 0;
            m_bytesRead += n;
            if (n == 0) {
                if (std::ferror(m_file)) m_error = std::string("read error: ") + std::strerror(errno);
                else if (m_frameOpen) m_error = "zstd: truncated input (the last frame is incomplete)";
                m_eof = true;
                return false;
            }
        }
        const size_t old = m_buf.size();
        m_buf.resize(old + ZSTD_DStreamOutSize());
        ZSTD_outBuffer out{m_buf.data() + old, ZSTD_DStreamOutSize(), 0};
        ZSTD_inBuffer in{m_in.data(), m_in.size(), m_inPos};
        const size_t rc = ZSTD_decompressStream(m_zstd, &out, &in);
        m_inPos = in.pos;
        m_buf.resize(old + out.pos);
        m_frameOpen = rc != 0;
        if (ZSTD_isError(rc)) {
            m_error = std::string("zstd: ") + ZSTD_getErrorName(rc);
            m_eof = true;
            return false;
        }
        if (out.pos > 0) return true;
    }
}

bool LineReader::next(std::string_view& line, bool& too_long) {
    too_long = false;
    for (;;) {
        const size_t nl = m_buf.find('\n', m_pos);
        if (nl != std::string::npos) {
            if (m_skipping) {
                m_skipping = false;
                m_pos = nl + 1;
                too_long = true;
                line = {};
                return true;
            }
            size_t end = nl;
            if (end > m_pos && m_buf[end - 1] == '\r') --end;
            if (end - m_pos > m_maxLine) {
                m_pos = nl + 1;
                too_long = true;
                line = {};
                return true;
            }
            m_line.assign(m_buf, m_pos, end - m_pos);
            m_pos = nl + 1;
            line = m_line;
            return true;
        }
        // No newline in the buffer: bound the memory held for one line.
        if (m_buf.size() - m_pos > m_maxLine + 1) {
            m_skipping = true;
            m_buf.clear();
            m_pos = 0;
        }
        if (!fill()) {
            if (!m_error.empty()) return false;
            // Last line without a trailing newline.
            if (m_skipping) {
                m_skipping = false;
                m_pos = m_buf.size();
                too_long = true;
                line = {};
                return true;
            }
            if (m_pos < m_buf.size()) {
                size_t end = m_buf.size();
                if (end > m_pos && m_buf[end - 1] == '\r') --end;
                m_line.assign(m_buf, m_pos, end - m_pos);
                m_pos = m_buf.size();
                line = m_line;
                return true;
            }
            return false;
        }
    }
}

}  // namespace archivist::engine
