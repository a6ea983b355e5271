#include "core/archive/sightings_log.h"

#include <zstd.h>

#include <QLoggingCategory>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>

#include "core/archive/segment_format.h"
#include "core/archive/segment_reader.h"
#include "core/observe/log.h"

namespace archivist::archive {

namespace fs = std::filesystem;

namespace {

void putVarint(std::string& out, uint64_t v) {
    while (v >= 0x80) {
        out.push_back(char(uint8_t(v) | 0x80));
        v >>= 7;
    }
    out.push_back(char(uint8_t(v)));
}

uint64_t zigzag(int64_t v) { return (uint64_t(v) << 1) ^ uint64_t(v >> 63); }
int64_t unzigzag(uint64_t v) { return int64_t(v >> 1) ^ -int64_t(v & 1); }

struct Cursor {
    std::string_view s;
    size_t pos = 0;
    bool ok = true;
    uint64_t varint() {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= s.size()) break;
            const uint8_t b = uint8_t(s[pos++]);
            v |= uint64_t(b & 0x7F) << shift;
            if (!(b & 0x80)) return v;
        }
        ok = false;
        return 0;
    }
};

int64_t nowUnixSeconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void setName(std::vector<std::string>& names, uint32_t code, std::string name) {
    if (code >= names.size()) names.resize(size_t(code) + 1);
    names[code] = std::move(name);
}

// Keeps a copy of bytes about to be cut (a torn tail) in <dir>/quarantine/.
void keepTornCopy(const fs::path& dir, uint32_t file, uint64_t offset, const std::string& bytes) {
    std::error_code ec;
    fs::create_directories(dir / "quarantine", ec);
    char name[96];
    std::snprintf(name, sizeof name, "torn-%06u-%llu.bin", unsigned(file), static_cast<unsigned long long>(offset));
    std::ofstream out(dir / "quarantine" / name, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    if (!out)
        qCWarning(lcArchive).noquote() << "could not keep a copy of the sightings log's torn tail in"
                                       << QString::fromStdString((dir / "quarantine" / name).string());
}

// Reads one file frame by frame: `fn` for each decoded frame; damaged regions skipped (listed);
// a torn tail reported through `torn_at` (its offset) instead of as damage when `tail_is_torn`.
struct FileScan {
    bool header_ok = false;
    bool first_frame_ok = false;  // the first frame after the header decoded (it restates the names)
    bool any_frame = false;
    std::optional<uint64_t> torn_at;
    uint64_t file_bytes = 0;
    std::vector<LogDamage> damage;
    std::string header_error;
};

// fn returns false to stop. start_offset > 0: after the first frame (which restates the
// dictionary), go straight to start_offset (a frame boundary).
FileScan scanFile(const fs::path& path, uint32_t number,
                  const std::function<bool(uint64_t at, uint64_t next, std::string_view content)>& fn,
                  uint64_t start_offset = 0) {
    FileScan out;
    SegmentReader reader;
    if (auto r = reader.open(path, number); !r) {
        out.header_error = r.error().message;
        std::error_code ec;
        out.file_bytes = uint64_t(fs::file_size(path, ec));
        return out;
    }
    out.header_ok = true;
    out.file_bytes = reader.fileBytes();
    Frame frame;
    bool first = true;
    for (;;) {
        if (reader.next(frame)) {
            const bool wasFirst = first;
            if (first) out.first_frame_ok = true;
            first = false;
            out.any_frame = true;
            if (!fn(frame.ref.offset, frame.ref.offset + frame.ref.length, frame.text)) break;
            if (wasFirst && start_offset > frame.ref.offset + frame.ref.length) reader.seek(start_offset);
            continue;
        }
        if (reader.stop() == ScanStop::End) break;
        const uint64_t stopAt = reader.stopOffset();
        first = false;
        if (reader.readFailed()) {
            out.damage.push_back(LogDamage{number, stopAt, reader.fileBytes() - stopAt, "read failed: " + reader.stopMessage()});
            break;
        }
        if (reader.stop() == ScanStop::Torn || reader.zeroFrom(stopAt)) {
            out.torn_at = stopAt;
            break;
        }
        const uint64_t next = reader.resync(stopAt);
        out.damage.push_back(LogDamage{number, stopAt, next - stopAt, reader.stopMessage()});
        if (next >= reader.fileBytes()) break;
        reader.seek(next);
    }
    return out;
}

}  // namespace

fs::path sightingsFilePath(const fs::path& dir, uint32_t file) {
    char name[64];
    std::snprintf(name, sizeof name, "sightings-%0*u.log.zst", kSegmentNumberDigits, unsigned(file));
    return dir / name;
}

std::vector<uint32_t> listSightingsFiles(const fs::path& dir) {
    std::vector<uint32_t> out;
    std::error_code ec;
    fs::directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.size() <= kSightingsPrefix.size() + kSightingsSuffix.size()) continue;
        if (name.compare(0, kSightingsPrefix.size(), kSightingsPrefix) != 0) continue;
        if (name.compare(name.size() - kSightingsSuffix.size(), kSightingsSuffix.size(), kSightingsSuffix) != 0) continue;
        const std::string_view digits(name.data() + kSightingsPrefix.size(),
                                      name.size() - kSightingsPrefix.size() - kSightingsSuffix.size());
        uint32_t n = 0;
        const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        if (r.ec != std::errc() || r.ptr != digits.data() + digits.size() || n == 0) continue;
        if (sightingsFilePath(dir, n).filename() != it->path().filename()) continue;
        out.push_back(n);
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string encodeSightingsFrame(const std::vector<std::pair<uint32_t, std::string>>& new_names,
                                 const std::vector<SightingRecord>& records) {
    std::string out;
    out.reserve(16 + records.size() * 8);
    out.push_back(char(kSightingsVersion));
    putVarint(out, new_names.size());
    for (const auto& [code, name] : new_names) {
        putVarint(out, code);
        putVarint(out, name.size());
        out.append(name);
    }
    putVarint(out, records.size());
    EventPos prev;
    int64_t prevSeen = 0;
    for (const SightingRecord& r : records) {
        putVarint(out, (zigzag(int64_t(r.pos.segment) - int64_t(prev.segment)) << 1) | (r.origin ? 1u : 0u));
        const bool sameSegment = r.pos.segment == prev.segment;
        putVarint(out, sameSegment ? zigzag(int64_t(r.pos.offset - prev.offset)) : r.pos.offset);
        const bool sameFrame = sameSegment && r.pos.offset == prev.offset;
        putVarint(out, sameFrame ? zigzag(int64_t(r.pos.line) - int64_t(prev.line)) : r.pos.line);
        putVarint(out, r.source);
        putVarint(out, zigzag(r.seen_at_ms - prevSeen));
        prev = r.pos;
        prevSeen = r.seen_at_ms;
    }
    out.push_back('\n');
    return out;
}

Expected<void> decodeSightingsFrame(std::string_view content, std::vector<std::pair<uint32_t, std::string>>& names,
                                    std::vector<SightingRecord>& records) {
    auto bad = [](const std::string& why) { return makeError("corrupt", "sightings frame: " + why); };
    if (content.size() < 2 || content.back() != '\n') return bad("too short or not ending in a newline");
    if (uint8_t(content[0]) != kSightingsVersion) return bad("unknown version " + std::to_string(uint8_t(content[0])));
    Cursor c{content.substr(0, content.size() - 1), 1};
    const uint64_t n = c.varint();
    if (!c.ok || n > content.size()) return bad("bad name count");
    for (uint64_t i = 0; i < n; ++i) {
        const uint64_t code = c.varint();
        const uint64_t len = c.varint();
        if (!c.ok || code > 0xFFFFFFFFu || len > c.s.size() - c.pos) return bad("bad name entry");
        names.emplace_back(uint32_t(code), std::string(c.s.substr(c.pos, len)));
        c.pos += len;
    }
    const uint64_t m = c.varint();
    if (!c.ok || m > content.size()) return bad("bad record count");
    EventPos prev;
    int64_t prevSeen = 0;
    for (uint64_t i = 0; i < m; ++i) {
        SightingRecord r;
        const uint64_t head = c.varint();
        r.origin = head & 1;
        r.pos.segment = uint32_t(int64_t(prev.segment) + unzigzag(head >> 1));
        const bool sameSegment = r.pos.segment == prev.segment;
        const uint64_t off = c.varint();
        r.pos.offset = sameSegment ? uint64_t(int64_t(prev.offset) + unzigzag(off)) : off;
        const bool sameFrame = sameSegment && r.pos.offset == prev.offset;
        const uint64_t line = c.varint();
        r.pos.line = sameFrame ? uint32_t(int64_t(prev.line) + unzigzag(line)) : uint32_t(line);
        r.source = uint32_t(c.varint());
        r.seen_at_ms = prevSeen + unzigzag(c.varint());
        if (!c.ok) return bad("record " + std::to_string(i) + " is cut short");
        prev = r.pos;
        prevSeen = r.seen_at_ms;
        records.push_back(r);
    }
    if (c.pos != c.s.size()) return bad("trailing bytes");
    return {};
}

// ---------------------------------------------------------------- SightingsLog

SightingsLog::SightingsLog(fs::path dir, SightingsLogOptions opts, FileSystem* fs)
    : m_dir(std::move(dir)), m_opts(opts), m_fs(fs ? fs : defaultFileSystem()) {}

SightingsLog::~SightingsLog() {
    if (m_writable)
        if (auto r = close(); !r)
            qCWarning(lcArchive).noquote() << "closing the sightings log:" << QString::fromStdString(r.error().message);
    if (m_cctx) ZSTD_freeCCtx(m_cctx);
}

Expected<void> SightingsLog::startFile(uint32_t number) {
    // The current file stays open (and in use) until the next one is ready.
    if (m_writable)
        if (auto r = m_writable->sync(); !r) return r;
    const fs::path path = sightingsFilePath(m_dir, number);
    auto f = m_fs->openAppend(path);
    if (!f) return f.error();
    auto file = std::move(*f);
    if (file->size() > 0 && file->size() < kHeaderBytes)
        if (auto r = file->truncate(0); !r) return r;  // a header a crash cut short
    if (file->size() == 0) {
        auto r = file->append(encodeSegmentHeader(number, nowUnixSeconds()));
        if (r) r = file->sync();
        if (r) r = m_fs->syncDir(m_dir);
        if (!r) {
            if (auto t = file->truncate(0); !t)
                qCWarning(lcArchive).noquote() << "truncating a sightings file whose header failed:"
                                               << QString::fromStdString(t.error().message);
            return r;
        }
        m_fileHasFrame = false;
    }
    if (m_writable)
        if (auto r = m_writable->close(); !r)
            qCWarning(lcArchive).noquote() << "closing a full sightings file (its data is synced):"
                                           << QString::fromStdString(r.error().message);
    m_goodSize = file->size();
    m_file = number;
    m_writable = std::move(file);
    m_needsCut = false;
    return {};
}

Expected<SightingsOpenReport> SightingsLog::open() {
    SightingsOpenReport rep;
    std::error_code ec;
    fs::create_directories(m_dir, ec);
    if (ec) return makeError("io", "cannot create the sightings log directory " + m_dir.string() + ": " + ec.message());
    if (auto r = prepareFrameCompressor(m_cctx, m_opts.zstd_level); !r) return r.error();

    m_names.clear();
    m_codes.clear();
    const auto files = listSightingsFiles(m_dir);
    rep.files = uint32_t(files.size());
    if (files.empty()) {
        if (auto r = startFile(1); !r) return r.error();
        return rep;
    }
    for (uint32_t f : files) rep.bytes += uint64_t(fs::file_size(sightingsFilePath(m_dir, f), ec));
    // The dictionary: the last file's first frame restates it; when that frame is damaged, the
    // files before it are read too (back to one whose first frame is whole).
    size_t startIdx = files.size() - 1;
    std::vector<FileScan> scans(files.size());
    std::vector<std::string> names;
    bool rollNeeded = false;
    for (;;) {
        const uint32_t number = files[startIdx];
        const bool last = startIdx + 1 == files.size();
        std::vector<std::string> fileNames;
        scans[startIdx] = scanFile(sightingsFilePath(m_dir, number), number,
                                   [&](uint64_t, uint64_t, std::string_view content) {
                                       std::vector<std::pair<uint32_t, std::string>> nn;
                                       std::vector<SightingRecord> recs;
                                       if (!decodeSightingsFrame(content, nn, recs)) return true;
                                       for (auto& [code, name] : nn) setName(fileNames, code, std::move(name));
                                       if (last)
                                           for (const auto& r : recs)
                                               if (r.origin && rep.last_origin < r.pos) rep.last_origin = r.pos;
                                       return true;
                                   });
        for (size_t c = 0; c < fileNames.size(); ++c)
            if (!fileNames[c].empty()) setName(names, uint32_t(c), fileNames[c]);
        if (scans[startIdx].first_frame_ok || startIdx == 0) break;
        --startIdx;
    }
    m_names = std::move(names);
    for (size_t c = 0; c < m_names.size(); ++c)
        if (!m_names[c].empty()) m_codes.emplace(m_names[c], uint32_t(c));
    m_durableNames = m_names.size();

    const uint32_t lastNumber = files.back();
    FileScan& lastScan = scans.back();
    const fs::path lastPath = sightingsFilePath(m_dir, lastNumber);
    rep.damage = lastScan.damage;
    if (!lastScan.header_ok) {
        if (lastScan.file_bytes < kHeaderBytes) {
            // A crash while the file was being created: startFile() writes the header again.
        } else {
            rep.damage.push_back(LogDamage{lastNumber, 0, lastScan.file_bytes, "bad file header: " + lastScan.header_error});
            rollNeeded = true;
        }
    }
    if (lastScan.torn_at) {
        const uint64_t at = *lastScan.torn_at;
        {
            SegmentReader reader;
            if (reader.open(lastPath, lastNumber)) keepTornCopy(m_dir, lastNumber, at, reader.peek(at, size_t(lastScan.file_bytes - at)));
        }
        if (auto r = m_fs->truncateFile(lastPath, at); !r) return r.error();
        rep.torn_bytes_cut = lastScan.file_bytes - at;
        qCWarning(lcArchive).noquote() << "sightings log: cut a torn tail of" << rep.torn_bytes_cut << "bytes at"
                                       << QString::fromStdString(lastPath.string()) << "@" << at;
    }
    if (!rep.damage.empty()) rollNeeded = true;
    for (const auto& d : rep.damage)
        qCCritical(lcArchive).noquote() << "sightings log: damaged bytes left in place and skipped:"
                                        << QString::fromStdString(sightingsFilePath(m_dir, d.file).string()) << "@"
                                        << d.offset << "+" << d.length << QString::fromStdString(d.why);
    m_fileHasFrame = lastScan.any_frame;
    if (auto r = startFile(rollNeeded ? lastNumber + 1 : lastNumber); !r) return r.error();
    if (rollNeeded) m_fileHasFrame = false;
    return rep;
}

uint32_t SightingsLog::code(std::string_view name) {
    if (auto it = m_codes.find(std::string(name)); it != m_codes.end()) return it->second;
    const auto c = uint32_t(m_names.size());
    m_names.emplace_back(name);
    m_codes.emplace(std::string(name), c);
    return c;
}

Expected<void> SightingsLog::cutBack() {
    if (!m_needsCut) return {};
    if (auto r = m_writable->truncate(m_goodSize); !r) return r;
    m_needsCut = false;
    return {};
}

Expected<LogCursor> SightingsLog::append(const std::vector<SightingRecord>& records) {
    if (!m_writable) return makeError("usage", "the sightings log is not open");
    if (records.empty()) return end();
    if (auto r = cutBack(); !r) return r.error();
    if (m_fileHasFrame && m_goodSize >= m_opts.file_bytes)
        if (auto r = startFile(m_file + 1); !r) return r.error();
    std::vector<std::pair<uint32_t, std::string>> newNames;
    for (size_t c = m_fileHasFrame ? m_durableNames : 0; c < m_names.size(); ++c)
        if (!m_names[c].empty()) newNames.emplace_back(uint32_t(c), m_names[c]);
    const std::string content = encodeSightingsFrame(newNames, records);
    if (content.size() > kMaxFrameBytes) return makeError("usage", "sightings frame too large");
    const size_t bound = ZSTD_compressBound(content.size());
    if (m_out.size() < bound) m_out.resize(bound);
    const size_t csize = ZSTD_compress2(m_cctx, m_out.data(), m_out.size(), content.data(), content.size());
    if (ZSTD_isError(csize)) return makeError("io", std::string("zstd compression failed: ") + ZSTD_getErrorName(csize));
    const LogCursor at{m_file, m_goodSize};
    auto r = m_writable->append(std::string_view(m_out.data(), csize));
    if (r && m_opts.sync) r = m_writable->sync();
    if (!r) {
        if (m_writable->size() != m_goodSize) {
            m_needsCut = true;
            if (auto t = cutBack(); !t)
                return makeError(r.error().code, r.error().message + "; and the partial sightings frame could not be cut off (" +
                                                     t.error().message + "); retried before the next append");
        }
        return r.error();
    }
    m_goodSize = m_writable->size();
    m_durableNames = m_names.size();
    m_fileHasFrame = true;
    m_bytesWritten += csize;
    m_recordsWritten += records.size();
    return at;
}

Expected<void> SightingsLog::close() {
    if (!m_writable) return {};
    auto r = m_writable->sync();
    auto c = m_writable->close();
    m_writable.reset();
    if (!r) return r;
    return c;
}

// ---------------------------------------------------------------- SightingsLogReader

const std::string& SightingsLogReader::name(uint32_t code) const {
    static const std::string kEmpty;
    return code < m_names.size() ? m_names[code] : kEmpty;
}

Expected<void> SightingsLogReader::scan(const std::function<bool(const Frame&)>& fn, LogCursor from, bool seek) {
    m_damage.clear();
    m_unknown = 0;
    const auto files = listSightingsFiles(m_dir);
    bool stop = false;
    for (size_t i = 0; i < files.size() && !stop; ++i) {
        const uint32_t number = files[i];
        if (number < from.file) continue;
        const bool last = i + 1 == files.size();
        Frame frame;
        std::optional<Error> decodeError;
        auto scan = scanFile(sightingsFilePath(m_dir, number), number,
                             [&](uint64_t at, uint64_t next, std::string_view content) {
                                 std::vector<std::pair<uint32_t, std::string>> nn;
                                 frame.records.clear();
                                 if (auto r = decodeSightingsFrame(content, nn, frame.records); !r) {
                                     m_damage.push_back(LogDamage{number, at, next - at, r.error().message});
                                     return true;
                                 }
                                 for (auto& [code, name] : nn) setName(m_names, code, std::move(name));
                                 if (number == from.file && at < from.offset) return true;
                                 for (const auto& r : frame.records)
                                     if (r.source >= m_names.size() || m_names[r.source].empty()) ++m_unknown;
                                 frame.at = LogCursor{number, at};
                                 frame.next = LogCursor{number, next};
                                 if (!fn(frame)) stop = true;
                                 return !stop;
                             },
                             seek && number == from.file ? from.offset : 0);
        if (!scan.header_ok) {
            if (last && scan.file_bytes < kHeaderBytes) break;  // being created
            m_damage.push_back(LogDamage{number, 0, scan.file_bytes, "bad file header: " + scan.header_error});
            continue;
        }
        for (auto& d : scan.damage) m_damage.push_back(std::move(d));
        if (scan.torn_at && !last)
            m_damage.push_back(LogDamage{number, *scan.torn_at, scan.file_bytes - *scan.torn_at, "torn tail of a closed file"});
        // The last file's torn tail is a frame being written (or one the next open cuts).
    }
    return {};
}

}  // namespace archivist::archive
