#include "core/archive/segment_reader.h"

#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>

#include "core/archive/segment_format.h"
#include "core/archive/segment_writer.h"

namespace archivist::archive {

namespace {

constexpr size_t kReadChunkBytes = 1 << 20;

uint32_t getLe32(const char* p) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    return uint32_t(u[0]) | uint32_t(u[1]) << 8 | uint32_t(u[2]) << 16 | uint32_t(u[3]) << 24;
}

// Reads exactly n bytes at offset or reports why not. Returns bytes read (< n only at EOF).
ssize_t preadFull(int fd, char* buf, size_t n, uint64_t offset) {
    size_t done = 0;
    while (done < n) {
        const ssize_t r = ::pread(fd, buf + done, n - done, off_t(offset + done));
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (r == 0) break;
        done += size_t(r);
    }
    return ssize_t(done);
}

enum class Verdict { Ok, Torn, Corrupt };

constexpr uint32_t kZstdMagic = kZstdFrameMagic;
constexpr size_t kZstdFrameHeaderMaxBytes = 18;  // RFC 8878: 4 magic + 14

// Inspects the frame header at `p` (avail bytes, at_eof = nothing follows them in the file).
// Parses the RFC 8878 header by hand (only the stable zstd API is used). On Ok, content_bytes is
// the declared uncompressed size.
Verdict checkFrameHeader(const char* p, size_t avail, bool at_eof, uint64_t& content_bytes, std::string& why) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    uint32_t magic = 0;
    for (size_t i = 0; i < 4 && i < avail; ++i) magic |= uint32_t(u[i]) << (8 * i);
    if (avail < 4) {
        const uint32_t mask = avail == 0 ? 0 : (0xFFFFFFFFu >> (8 * (4 - avail)));
        if ((magic & mask) == (kZstdMagic & mask) && at_eof) {
            why = "incomplete frame header at end of file";
            return Verdict::Torn;
        }
        why = "not a zstd frame";
        return Verdict::Corrupt;
    }
    if ((magic & 0xFFFFFFF0u) == 0x184D2A50u) {
        why = "unexpected skippable frame inside the segment";
        return Verdict::Corrupt;
    }
    if (magic != kZstdMagic) {
        why = "not a zstd frame (bad magic number)";
        return Verdict::Corrupt;
    }
    if (avail < 5) {
        why = "incomplete frame header at end of file";
        return at_eof ? Verdict::Torn : Verdict::Corrupt;
    }
    const unsigned fhd = u[4];
    const unsigned fcsFlag = fhd >> 6;
    const bool singleSegment = (fhd >> 5) & 1;
    const bool reserved = ((fhd >> 3) & 1) || ((fhd >> 4) & 1);  // reserved bit, and the unused bit we never set
    const bool checksum = (fhd >> 2) & 1;
    const unsigned dictFlag = fhd & 3;
    if (reserved) {
        why = "frame header has a reserved or unused bit set";
        return Verdict::Corrupt;
    }
    if (!checksum) {
        why = "frame has no content checksum";
        return Verdict::Corrupt;
    }
    if (dictFlag != 0) {
        why = "frame needs a dictionary";
        return Verdict::Corrupt;
    }
    if (fcsFlag == 0 && !singleSegment) {
        why = "frame does not declare its content size";
        return Verdict::Corrupt;
    }
    static constexpr size_t kFcsBytes[4] = {1, 2, 4, 8};
    const size_t headerBytes = 5 + (singleSegment ? 0 : 1) + kFcsBytes[fcsFlag];
    if (avail < headerBytes) {
        why = "incomplete frame header at end of file";
        return at_eof ? Verdict::Torn : Verdict::Corrupt;
    }
    const unsigned long long fcs = ZSTD_getFrameContentSize(p, avail);
    if (fcs == ZSTD_CONTENTSIZE_UNKNOWN || fcs == ZSTD_CONTENTSIZE_ERROR) {
        why = "frame does not declare a valid content size";
        return Verdict::Corrupt;
    }
    if (fcs == 0 || fcs > kMaxFrameBytes) {
        why = "frame content size " + std::to_string(fcs) + " is outside 1.." + std::to_string(kMaxFrameBytes);
        return Verdict::Corrupt;
    }
    content_bytes = fcs;
    return Verdict::Ok;
}

// Decompresses exactly one complete frame of `compressed` bytes into out (content_bytes long) and
// checks the frame rules on the result.
bool decodeFrame(ZSTD_DCtx* dctx, std::string_view compressed, uint64_t content_bytes, std::string& out,
                 std::string& why) {
    out.resize(size_t(content_bytes));
    const size_t d = ZSTD_decompressDCtx(dctx, out.data(), out.size(), compressed.data(), compressed.size());
    if (ZSTD_isError(d)) {
        why = std::string("frame does not decode: ") + ZSTD_getErrorName(d);
        return false;
    }
    if (d != content_bytes) {
        why = "frame decoded to " + std::to_string(d) + " bytes, header says " + std::to_string(content_bytes);
        return false;
    }
    if (out.empty() || out.back() != '\n') {
        why = "frame content does not end in a newline";
        return false;
    }
    return true;
}

struct DCtxDeleter {
    void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

}  // namespace

size_t maxCompressedFrameBytes() { return ZSTD_compressBound(kMaxFrameBytes); }

// ---------------------------------------------------------------- SegmentReader

SegmentReader::SegmentReader() = default;

SegmentReader::~SegmentReader() {
    closeFile();
    if (m_dctx) ZSTD_freeDCtx(m_dctx);
}

void SegmentReader::closeFile() {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = -1;
    m_bufStart = 0;
    m_bufLen = 0;
}

Expected<void> SegmentReader::open(const std::filesystem::path& path, uint32_t segment) {
    closeFile();
    m_path = path;
    m_segment = segment;
    m_stop = ScanStop::End;
    m_stopOffset = 0;
    m_stopMessage.clear();
    m_ioError = false;
    m_tombstones = 0;
    m_tombstoneBytes = 0;
    if (!m_dctx) {
        m_dctx = ZSTD_createDCtx();
        if (!m_dctx) return makeError("io", "zstd: cannot allocate a decompression context");
    }
    m_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (m_fd < 0) return makeError("io", "open " + path.string() + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(m_fd, &st) != 0) {
        const int err = errno;
        closeFile();
        return makeError("io", "fstat " + path.string() + ": " + std::strerror(err));
    }
    m_fileBytes = uint64_t(st.st_size);
    const size_t want = size_t(std::min<uint64_t>(m_fileBytes, 8 + kMaxHeaderPayloadBytes));
    const size_t have = ensure(0, want);
    if (m_ioError) {
        closeFile();
        return makeError("io", "read " + path.string() + ": " + m_stopMessage);
    }
    auto h = parseSegmentHeader(std::string_view(m_buf.data(), have));
    if (!h) {
        closeFile();
        return makeError("corrupt", path.string() + ": " + h.error().message);
    }
    if (h->segment != segment) {
        closeFile();
        return makeError("corrupt", path.string() + ": header names segment " + std::to_string(h->segment) +
                                        ", expected " + std::to_string(segment));
    }
    m_firstFrameOffset = h->header_bytes;
    m_pos = m_firstFrameOffset;
    return {};
}

void SegmentReader::seek(uint64_t offset) {
    m_pos = offset == 0 ? m_firstFrameOffset : offset;
    m_stop = ScanStop::End;
    m_stopOffset = 0;
    m_stopMessage.clear();
}

size_t SegmentReader::ensure(uint64_t offset, size_t want) {
    if (offset >= m_fileBytes) return 0;
    want = size_t(std::min<uint64_t>(want, m_fileBytes - offset));
    const uint64_t bufEnd = m_bufStart + m_bufLen;
    if (offset >= m_bufStart && offset + want <= bufEnd) return want;
    // Keep what we already have from `offset` on; drop the rest.
    if (offset >= m_bufStart && offset < bufEnd) {
        const size_t keep = size_t(bufEnd - offset);
        std::memmove(m_buf.data(), m_buf.data() + (offset - m_bufStart), keep);
        m_bufLen = keep;
    } else {
        m_bufLen = 0;
    }
    m_bufStart = offset;
    const size_t capacity = std::max(want, kReadChunkBytes);
    if (m_buf.size() < capacity) m_buf.resize(capacity);
    const uint64_t readFrom = m_bufStart + m_bufLen;
    const size_t toRead = size_t(std::min<uint64_t>(m_buf.size() - m_bufLen, m_fileBytes - readFrom));
    if (toRead > 0 && m_fd >= 0) {
        const ssize_t n = preadFull(m_fd, m_buf.data() + m_bufLen, toRead, readFrom);
        if (n < 0) {
            m_ioError = true;
            m_stopMessage = std::strerror(errno);
        } else {
            m_bufLen += size_t(n);
            // A file that shrank under us reads short; treat what is missing as absent.
            if (size_t(n) < toRead) m_fileBytes = readFrom + uint64_t(n);
        }
    }
    return size_t(std::min<uint64_t>(want, m_bufLen));
}

bool SegmentReader::stopAt(ScanStop stop, uint64_t offset, std::string message) {
    m_stop = stop;
    m_stopOffset = offset;
    m_stopMessage = std::move(message);
    return false;
}

SegmentReader::At SegmentReader::inspect(uint64_t pos, Frame* out, uint64_t& length, std::string& why) {
    const uint64_t remaining = m_fileBytes - pos;
    size_t avail = ensure(pos, kZstdFrameHeaderMaxBytes);
    if (m_ioError) {
        why = "read error: " + m_stopMessage;
        return At::Corrupt;
    }
    const char* p = m_buf.data() + (pos - m_bufStart);
    if (avail >= 4 && getLe32(p) == kTombstoneMagic) {
        // A marker is written whole (the segment is replaced by rename), so it is never torn.
        if (avail < 8) {
            why = "quarantine marker is cut short";
            return At::Corrupt;
        }
        length = kMinTombstoneBytes + getLe32(p + 4);
        if (length > remaining) {
            why = "quarantine marker runs past the end of the file";
            return At::Corrupt;
        }
        return At::Tombstone;
    }
    uint64_t contentBytes = 0;
    switch (checkFrameHeader(p, avail, avail == remaining, contentBytes, why)) {
    case Verdict::Ok: break;
    case Verdict::Torn: return At::Torn;
    case Verdict::Corrupt: return At::Corrupt;
    }
    const size_t bound = std::min(ZSTD_compressBound(size_t(contentBytes)), maxCompressedFrameBytes());
    const size_t want = size_t(std::min<uint64_t>(bound, remaining));
    avail = ensure(pos, want);
    if (m_ioError) {
        why = "read error: " + m_stopMessage;
        return At::Corrupt;
    }
    p = m_buf.data() + (pos - m_bufStart);
    const size_t csize = ZSTD_findFrameCompressedSize(p, avail);
    if (ZSTD_isError(csize)) {
        if (ZSTD_getErrorCode(csize) == ZSTD_error_srcSize_wrong && uint64_t(avail) == m_fileBytes - pos &&
            avail < bound) {
            why = "incomplete frame at end of file";
            return At::Torn;
        }
        why = std::string("frame structure is invalid: ") + ZSTD_getErrorName(csize);
        return At::Corrupt;
    }
    std::string scratch;
    std::string& text = out ? out->text : scratch;
    if (!decodeFrame(m_dctx, std::string_view(p, csize), contentBytes, text, why)) return At::Corrupt;
    length = csize;
    if (out) {
        out->ref = FrameRef{m_segment, pos, uint32_t(csize)};
        out->events = uint32_t(std::count(out->text.begin(), out->text.end(), '\n'));
        out->checksum = frameChecksum(out->text);
    }
    return At::Frame;
}

bool SegmentReader::next(Frame& out) {
    if (m_fd < 0) return stopAt(ScanStop::Corrupt, m_pos, "segment is not open");
    if (m_stop != ScanStop::End || !m_stopMessage.empty()) return false;  // already stopped
    for (;;) {
        const uint64_t pos = m_pos;
        if (pos == m_fileBytes) return stopAt(ScanStop::End, pos, {});
        if (pos > m_fileBytes) return stopAt(ScanStop::Torn, pos, "offset is past the end of the file");
        if (pos < m_firstFrameOffset) return stopAt(ScanStop::Corrupt, pos, "offset is inside the segment header");
        uint64_t length = 0;
        std::string why;
        switch (inspect(pos, &out, length, why)) {
        case At::Frame: m_pos = pos + length; return true;
        case At::Tombstone:
            ++m_tombstones;
            m_tombstoneBytes += length;
            m_pos = pos + length;
            continue;
        case At::Torn: return stopAt(ScanStop::Torn, pos, why);
        case At::Corrupt: return stopAt(ScanStop::Corrupt, pos, why);
        }
    }
}

uint64_t SegmentReader::resync(uint64_t after) {
    uint64_t pos = std::max(after + 1, m_firstFrameOffset);
    while (pos + 4 <= m_fileBytes) {
        const size_t avail = ensure(pos, kReadChunkBytes);
        if (m_ioError || avail < 4) break;
        const char* p = m_buf.data() + (pos - m_bufStart);
        size_t found = avail;
        for (size_t i = 0; i + 4 <= avail; ++i) {
            const uint32_t magic = getLe32(p + i);
            if (magic == kZstdFrameMagic || magic == kTombstoneMagic) {
                found = i;
                break;
            }
        }
        if (found == avail) {
            pos += avail - 3;
            continue;
        }
        const uint64_t candidate = pos + found;
        uint64_t length = 0;
        std::string why;
        const At at = inspect(candidate, nullptr, length, why);
        if (m_ioError) break;
        if (at == At::Frame || at == At::Tombstone) return candidate;
        pos = candidate + 1;
    }
    return m_fileBytes;
}

std::string SegmentReader::peek(uint64_t offset, size_t n) {
    const size_t avail = ensure(offset, n);
    if (m_ioError || avail == 0) return {};
    return std::string(m_buf.data() + (offset - m_bufStart), avail);
}

bool SegmentReader::zeroFrom(uint64_t offset) {
    for (uint64_t pos = offset; pos < m_fileBytes;) {
        const size_t avail = ensure(pos, kReadChunkBytes);
        if (m_ioError || avail == 0) return false;
        const char* p = m_buf.data() + (pos - m_bufStart);
        for (size_t i = 0; i < avail; ++i)
            if (p[i] != 0) return false;
        pos += avail;
    }
    return true;
}

// ---------------------------------------------------------------- readFrame

Expected<std::string> readFrame(const std::filesystem::path& dir, const FrameRef& ref) {
    const auto path = segmentPath(dir, ref.segment);
    const std::string where = path.string() + " @" + std::to_string(ref.offset);
    if (ref.length == 0 || ref.length > maxCompressedFrameBytes())
        return makeError("corrupt", where + ": invalid frame length " + std::to_string(ref.length));
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return makeError("io", "open " + path.string() + ": " + std::strerror(errno));
    std::string compressed(ref.length, '\0');
    const ssize_t n = preadFull(fd, compressed.data(), compressed.size(), ref.offset);
    const int err = errno;
    ::close(fd);
    if (n < 0) return makeError("io", "read " + where + ": " + std::strerror(err));
    if (size_t(n) != compressed.size())
        return makeError("corrupt", where + ": file ends inside the frame (" + std::to_string(n) + " of " +
                                        std::to_string(ref.length) + " bytes)");

    uint64_t contentBytes = 0;
    std::string why;
    if (compressed.size() >= 4 && getLe32(compressed.data()) == kTombstoneMagic)
        return makeError("corrupt", where + ": the frame was damaged and has been quarantined "
                                            "(archive/quarantine/; run `archivist salvage`)");
    if (checkFrameHeader(compressed.data(), compressed.size(), true, contentBytes, why) != Verdict::Ok)
        return makeError("corrupt", where + ": " + why);
    const size_t csize = ZSTD_findFrameCompressedSize(compressed.data(), compressed.size());
    if (ZSTD_isError(csize) || csize != compressed.size())
        return makeError("corrupt", where + ": frame length does not match the reference");

    thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx(ZSTD_createDCtx());
    if (!dctx) return makeError("io", "zstd: cannot allocate a decompression context");
    std::string text;
    if (!decodeFrame(dctx.get(), compressed, contentBytes, text, why)) return makeError("corrupt", where + ": " + why);
    return text;
}

// ---------------------------------------------------------------- FrameCache

FrameCache::FrameCache(std::filesystem::path dir, size_t max_bytes) : m_dir(std::move(dir)), m_capacity(max_bytes) {}

Expected<std::string_view> FrameCache::line(const FrameRef& ref, uint32_t line) {
    const Key key{ref.segment, ref.offset};
    auto it = m_map.find(key);
    if (it != m_map.end() && it->second->ref == ref) {
        ++m_hits;
        m_lru.splice(m_lru.begin(), m_lru, it->second);
    } else {
        ++m_misses;
        if (it != m_map.end()) {  // same place, different length: stale entry
            m_bytes -= it->second->cost;
            m_lru.erase(it->second);
            m_map.erase(it);
        }
        auto text = readFrame(m_dir, ref);
        if (!text) return text.error();
        Entry e;
        e.ref = ref;
        e.text = std::move(text.value());
        for (size_t i = 0; i < e.text.size();) {
            e.line_starts.push_back(uint32_t(i));
            const size_t nl = e.text.find('\n', i);
            i = nl == std::string::npos ? e.text.size() : nl + 1;
        }
        e.cost = e.text.size() + e.line_starts.size() * sizeof(uint32_t) + sizeof(Entry);
        while (!m_lru.empty() && m_bytes + e.cost > m_capacity) {
            m_bytes -= m_lru.back().cost;
            m_map.erase(Key{m_lru.back().ref.segment, m_lru.back().ref.offset});
            m_lru.pop_back();
        }
        m_bytes += e.cost;
        m_lru.push_front(std::move(e));
        it = m_map.emplace(key, m_lru.begin()).first;
    }
    const Entry& e = *it->second;
    if (line >= e.line_starts.size())
        return makeError("not_found", "frame " + std::to_string(ref.segment) + "@" + std::to_string(ref.offset) +
                                          " has " + std::to_string(e.line_starts.size()) + " lines, no line " +
                                          std::to_string(line));
    const size_t start = e.line_starts[line];
    const size_t end = line + 1 < e.line_starts.size() ? e.line_starts[line + 1] - 1 : e.text.size() - 1;
    return std::string_view(e.text.data() + start, end - start);
}

}  // namespace archivist::archive
