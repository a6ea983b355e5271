#include "core/archive/segment_writer.h"

#include <openssl/sha.h>
#include <zstd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <system_error>

#include "core/archive/quarantine.h"
#include "core/archive/segment_format.h"
#include "core/observe/log.h"

namespace archivist::archive {

namespace {
// Clean-up on a path that already failed: the caller reports the first error; a failure of the
// clean-up itself is logged, never dropped unseen.
void logCleanupFailure(const Expected<void>& r, const char* what) {
    if (!r) qCWarning(lcArchive).noquote() << what << "failed:" << QString::fromStdString(r.error().message);
}
}  // namespace

namespace {

int64_t nowUnixSeconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Reads up to `max_bytes` from the start of a file; empty on error (the caller reports).
Expected<std::string> readPrefix(const std::filesystem::path& path, size_t max_bytes) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError("io", "cannot read " + path.string() + ": " + std::strerror(errno));
    std::string buf(max_bytes, '\0');
    in.read(buf.data(), std::streamsize(max_bytes));
    buf.resize(size_t(in.gcount()));
    return buf;
}

Error usage(const std::string& what) { return makeError("usage", "archive append: " + what); }

}  // namespace

std::filesystem::path segmentPath(const std::filesystem::path& dir, uint32_t segment) {
    char name[64];
    std::snprintf(name, sizeof name, "segment-%0*u.jsonl.zst", kSegmentNumberDigits, unsigned(segment));
    return dir / name;
}

std::vector<uint32_t> listSegments(const std::filesystem::path& dir) {
    std::vector<uint32_t> out;
    std::error_code ec;
    std::filesystem::directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.size() <= kSegmentPrefix.size() + kSegmentSuffix.size()) continue;
        if (name.compare(0, kSegmentPrefix.size(), kSegmentPrefix) != 0) continue;
        if (name.compare(name.size() - kSegmentSuffix.size(), kSegmentSuffix.size(), kSegmentSuffix) != 0) continue;
        const std::string_view digits(name.data() + kSegmentPrefix.size(),
                                      name.size() - kSegmentPrefix.size() - kSegmentSuffix.size());
        if (digits.size() < size_t(kSegmentNumberDigits)) continue;
        if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
        uint32_t n = 0;
        const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        if (r.ec != std::errc() || n == 0) continue;
        if (segmentPath(dir, n).filename() != it->path().filename()) continue;  // e.g. extra leading zeros
        out.push_back(n);
    }
    std::sort(out.begin(), out.end());
    return out;
}

uint64_t frameChecksum(std::string_view uncompressed) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(uncompressed.data()), uncompressed.size(), digest);
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | digest[i];
    return v;
}

ArchiveWriter::ArchiveWriter(std::filesystem::path dir, ArchiveOptions opts, FileSystem* fs)
    : m_dir(std::move(dir)), m_opts(opts), m_fs(fs ? fs : defaultFileSystem()) {}

ArchiveWriter::~ArchiveWriter() {
    if (m_file) logCleanupFailure(close(), "closing the archive writer");
    if (m_cctx) ZSTD_freeCCtx(m_cctx);
}

Expected<void> ArchiveWriter::writeHeader(WritableFile& file, uint32_t segment, int64_t created_at_s) {
    auto r = file.append(encodeSegmentHeader(segment, created_at_s));
    if (r) r = file.sync();
    if (r) r = m_fs->syncDir(m_dir);
    if (!r) {
        // Leave an empty file at worst: recover()/open() treat an empty last segment as new.
        logCleanupFailure(file.truncate(0), "truncating a segment whose header failed");
        return r.error();
    }
    return {};
}

Expected<void> ArchiveWriter::createSegment(uint32_t segment, std::unique_ptr<WritableFile>& out,
                                            int64_t& created_at_s) {
    const auto path = segmentPath(m_dir, segment);
    auto f = m_fs->openAppend(path);
    if (!f) return f.error();
    auto file = std::move(f.value());
    if (file->size() != 0) {
        logCleanupFailure(file->close(), "closing a segment after an error");
        return makeError("corrupt", "new segment " + path.string() + " already exists and is not empty");
    }
    created_at_s = nowUnixSeconds();
    if (auto r = writeHeader(*file, segment, created_at_s); !r) {
        logCleanupFailure(file->close(), "closing a segment after an error");
        return r.error();
    }
    out = std::move(file);
    return {};
}

Expected<void> ArchiveWriter::open() {
    if (m_file) return makeError("usage", "archive writer for " + m_dir.string() + " is already open");
    std::error_code ec;
    std::filesystem::create_directories(m_dir, ec);
    if (ec) return makeError("io", "cannot create archive directory " + m_dir.string() + ": " + ec.message());
    if (auto r = prepareFrameCompressor(m_cctx, m_opts.zstd_level); !r) return r.error();

    const auto segs = listSegments(m_dir);
    const uint32_t segment = segs.empty() ? 1 : segs.back();
    const auto path = segmentPath(m_dir, segment);
    auto f = m_fs->openAppend(path);
    if (!f) return f.error();
    auto file = std::move(f.value());
    int64_t createdAt = 0;
    uint64_t headerBytes = kHeaderBytes;
    if (file->size() == 0) {
        createdAt = nowUnixSeconds();
        if (auto r = writeHeader(*file, segment, createdAt); !r) {
            logCleanupFailure(file->close(), "closing a segment after an error");
            return r.error();
        }
    } else {
        auto prefix = readPrefix(path, 8 + kMaxHeaderPayloadBytes);
        if (!prefix) return prefix.error();
        auto h = parseSegmentHeader(prefix.value());
        if (!h) {
            logCleanupFailure(file->close(), "closing a segment after an error");
            return makeError("corrupt", path.string() + ": " + h.error().message + " (run recovery)");
        }
        if (h->segment != segment) {
            logCleanupFailure(file->close(), "closing a segment after an error");
            return makeError("corrupt", path.string() + ": header names segment " + std::to_string(h->segment));
        }
        createdAt = h->created_at_s;
        headerBytes = h->header_bytes;
    }
    m_file = std::move(file);
    m_segment = segment;
    m_createdAt = createdAt;
    m_firstFrameOffset = headerBytes;
    m_goodSize = m_file->size();
    m_needsRepair = false;
    return {};
}

Expected<void> ArchiveWriter::repairTail() {
    if (!m_needsRepair) return {};
    auto r = m_file->truncate(m_goodSize);
    if (!r) return r;
    m_needsRepair = false;
    return {};
}

Expected<void> ArchiveWriter::checkFreeSpace(uint64_t frame_bytes) {
    if (m_opts.min_free_bytes == 0) return {};
    auto avail = m_fs->availableBytes(m_dir);
    if (!avail) return {};  // cannot tell: the write itself will say if the disk is full
    if (*avail >= m_opts.min_free_bytes + frame_bytes) return {};
    auto mib = [](uint64_t b) { return std::to_string((b + (1u << 19)) >> 20) + " MiB"; };
    return makeError("disk_full", "only " + mib(*avail) + " free for " + m_dir.string() +
                                      ", below the low-disk threshold of " + mib(m_opts.min_free_bytes) +
                                      " (min_free_bytes in config.json); intake is paused until space is freed");
}

Expected<void> ArchiveWriter::checkInput(std::string_view jsonl, uint32_t events, uint64_t max_bytes,
                                         bool count_lines) const {
    if (!m_file) return usage("the archive writer is not open");
    if (jsonl.empty()) return usage("empty frame");
    if (jsonl.back() != '\n') return usage("frame does not end in a newline");
    if (jsonl.size() > max_bytes)
        return usage("frame of " + std::to_string(jsonl.size()) + " bytes exceeds " + std::to_string(max_bytes));
    if (count_lines) return checkLines(uint64_t(std::count(jsonl.begin(), jsonl.end(), '\n')), events);
    return {};
}

Expected<void> ArchiveWriter::checkLines(uint64_t lines, uint32_t events) const {
    if (lines != events)
        return usage("frame has " + std::to_string(lines) + " lines but events = " + std::to_string(events));
    return {};
}

Expected<size_t> ArchiveWriter::compressFrame(std::string_view chunk) {
    const size_t at = m_outUsed;
    const size_t bound = ZSTD_compressBound(chunk.size());
    if (m_out.size() < at + bound) m_out.resize(at + bound);
    const size_t csize = ZSTD_compress2(m_cctx, m_out.data() + at, bound, chunk.data(), chunk.size());
    if (ZSTD_isError(csize)) return makeError("io", std::string("zstd compression failed: ") + ZSTD_getErrorName(csize));
    m_outUsed = at + csize;
    return csize;
}

Expected<void> ArchiveWriter::writeOut(size_t bytes) {
    if (auto space = checkFreeSpace(bytes); !space) return space.error();
    const uint64_t before = m_goodSize;
    auto r = m_file->append(std::string_view(m_out.data(), bytes));
    if (r && m_opts.sync) r = m_file->sync();
    if (!r) {
        if (m_file->size() != before) {
            m_needsRepair = true;
            auto t = repairTail();
            if (!t) {
                return makeError("io", r.error().message + "; and the partial frame could not be cut off (" +
                                           t.error().message + "); it will be retried before the next append");
            }
        }
        return r.error();
    }
    m_goodSize = m_file->size();
    return {};
}

Expected<AppendedFrame> ArchiveWriter::append(std::string_view jsonl, uint32_t events) {
    std::lock_guard lock(m_fileMutex);
    if (auto r = reopenIfReplaced(); !r) return r.error();
    if (auto r = checkInput(jsonl, events, kMaxFrameBytes); !r) return r.error();
    if (auto r = repairTail(); !r) return r.error();
    m_outUsed = 0;
    auto csize = compressFrame(jsonl);
    if (!csize) return csize.error();
    const uint64_t before = m_goodSize;
    if (auto r = writeOut(*csize); !r) return r.error();
    AppendedFrame out;
    out.ref = FrameRef{m_segment, before, uint32_t(*csize)};
    out.events = events;
    out.raw_bytes = jsonl.size();
    out.checksum = frameChecksum(jsonl);
    return out;
}

Expected<std::vector<AppendedFrame>> ArchiveWriter::appendFrames(std::string_view jsonl, uint32_t events) {
    std::lock_guard lock(m_fileMutex);
    if (auto r = reopenIfReplaced(); !r) return r.error();
    // Every frame is bounded by kMaxFrameBytes; the group as a whole by what one write may carry.
    // The lines are counted while the frames are cut, and checked before anything is written.
    if (auto r = checkInput(jsonl, events, uint64_t(UINT32_MAX), false); !r) return r.error();
    if (auto r = repairTail(); !r) return r.error();
    const size_t target = std::max<size_t>(1, std::min<uint64_t>(m_opts.frame_bytes, kMaxFrameBytes));
    std::vector<AppendedFrame> frames;
    m_outUsed = 0;
    size_t pos = 0;
    uint64_t total = 0;
    while (pos < jsonl.size()) {
        // Whole lines up to `target` bytes; at least one line (a longer line is a frame alone).
        size_t end = jsonl.find('\n', pos) + 1;
        uint32_t lines = 1;
        while (end < jsonl.size()) {
            const size_t next = jsonl.find('\n', end) + 1;
            if (next - pos > target) break;
            end = next;
            ++lines;
        }
        if (end - pos > kMaxFrameBytes)
            return usage("a line of " + std::to_string(end - pos) + " bytes exceeds " + std::to_string(kMaxFrameBytes));
        const std::string_view chunk = jsonl.substr(pos, end - pos);
        const size_t at = m_outUsed;
        auto csize = compressFrame(chunk);
        if (!csize) return csize.error();
        AppendedFrame f;
        f.ref = FrameRef{m_segment, m_goodSize + at, uint32_t(*csize)};
        f.events = lines;
        f.raw_bytes = chunk.size();
        f.checksum = frameChecksum(chunk);
        frames.push_back(f);
        total += lines;
        pos = end;
    }
    if (auto r = checkLines(total, events); !r) return r.error();
    if (auto r = writeOut(m_outUsed); !r) return r.error();
    return frames;
}

bool ArchiveWriter::shouldSeal() const {
    std::lock_guard lock(m_fileMutex);
    if ((!m_file && !m_reopen) || m_goodSize <= m_firstFrameOffset) return false;
    if (m_goodSize >= m_opts.seal_bytes) return true;
    return nowUnixSeconds() - m_createdAt >= m_opts.seal_age_s;
}

uint64_t ArchiveWriter::openSegmentBytes() const {
    std::lock_guard lock(m_fileMutex);
    return m_file || m_reopen ? m_goodSize : 0;
}

Expected<uint32_t> ArchiveWriter::seal() {
    std::lock_guard lock(m_fileMutex);
    if (auto r = reopenIfReplaced(); !r) return r.error();
    if (!m_file) return makeError("usage", "archive seal: the archive writer is not open");
    auto r = repairTail();
    if (r) r = m_file->sync();
    if (!r) return r.error();
    std::unique_ptr<WritableFile> next;
    int64_t createdAt = 0;
    auto c = createSegment(m_segment + 1, next, createdAt);
    if (!c) return c.error();
    if (!m_file->close()) ++m_closeErrors;
    const uint32_t sealed = m_segment;
    m_file = std::move(next);
    m_segment = sealed + 1;
    m_createdAt = createdAt;
    m_firstFrameOffset = kHeaderBytes;
    m_goodSize = m_file->size();
    m_needsRepair = false;
    return sealed;
}

Expected<void> ArchiveWriter::close() {
    std::lock_guard lock(m_fileMutex);
    m_reopen = false;
    if (!m_file) return {};
    auto r = repairTail();
    if (r) r = m_file->sync();
    auto c = m_file->close();
    m_file.reset();
    if (!r) return r;
    return c;
}

}  // namespace archivist::archive

namespace archivist::archive {

Expected<QuarantineEntry> ArchiveWriter::quarantine(const DamagedRegion& region, int64_t indexed_events) {
    std::lock_guard lock(m_fileMutex);
    if (!m_file || region.segment != m_segment) return quarantineRegion(m_dir, region, indexed_events, m_fs);
    // The open segment: rewrite what is durable, then append to the new file.
    if (region.offset + region.length > m_goodSize)
        return makeError("usage", "quarantine: the region ends past the durable end of the open segment");
    auto q = quarantineRegion(m_dir, region, indexed_events, m_fs, m_goodSize);
    if (!q) return q;
    // Whatever happened, the descriptor may now name the replaced file: never append through it.
    logCleanupFailure(m_file->close(), "closing the replaced open segment");
    m_file.reset();
    m_reopen = true;
    logCleanupFailure(reopenIfReplaced(), "reopening the open segment");  // the next append retries it
    return q;
}

Expected<void> ArchiveWriter::reopenIfReplaced() {
    if (!m_reopen) return {};
    auto reopened = m_fs->openAppend(segmentPath(m_dir, m_segment));
    if (!reopened) return reopened.error();
    m_file = std::move(*reopened);
    m_reopen = false;
    m_needsRepair = m_file->size() != m_goodSize;
    return {};
}

}  // namespace archivist::archive
