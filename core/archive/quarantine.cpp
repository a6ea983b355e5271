#include "core/archive/quarantine.h"

#include <openssl/evp.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <system_error>
#include <unistd.h>

#include "core/archive/segment_format.h"
#include "core/archive/segment_writer.h"
#include "core/protocol/json.h"

namespace archivist::archive {

namespace {

namespace pj = protocol::json;

constexpr size_t kCopyChunk = 1 << 20;
constexpr std::string_view kRewriteSuffix = ".rewrite";
constexpr std::string_view kTmpSuffix = ".tmp";

int64_t nowSeconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string hex(const unsigned char* p, size_t n) {
    static const char* d = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        out.push_back(d[p[i] >> 4]);
        out.push_back(d[p[i] & 15]);
    }
    return out;
}

struct MdCtxDeleter {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// A read-only descriptor, closed on scope exit.
class ReadFd {
public:
    explicit ReadFd(const std::filesystem::path& p) : m_fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC)) {}
    ~ReadFd() {
        if (m_fd >= 0) ::close(m_fd);
    }
    ReadFd(const ReadFd&) = delete;
    ReadFd& operator=(const ReadFd&) = delete;
    int fd() const { return m_fd; }

private:
    int m_fd;
};

// Reads [offset, offset + length) of `src` in chunks, handing each to `sink`.
template <typename Sink>
Expected<void> copyRange(const ReadFd& src, const std::filesystem::path& path, uint64_t offset, uint64_t length,
                         Sink&& sink) {
    std::string buf(size_t(std::min<uint64_t>(length, kCopyChunk)), '\0');
    uint64_t done = 0;
    while (done < length) {
        const size_t want = size_t(std::min<uint64_t>(length - done, buf.size()));
        const ssize_t n = ::pread(src.fd(), buf.data(), want, off_t(offset + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            return fileError(path, "read", errno);
        }
        if (n == 0) return makeError("io", "read " + path.string() + ": the file ended at " + std::to_string(offset + done));
        if (auto r = sink(std::string_view(buf.data(), size_t(n))); !r) return r;
        done += uint64_t(n);
    }
    return {};
}

// Writes `path` atomically: <path>.tmp, synced, renamed over `path`. The directory is not synced.
template <typename Fill>
Expected<void> writeAtomically(FileSystem* fs, const std::filesystem::path& path, Fill&& fill) {
    const std::filesystem::path tmp = path.string() + std::string(kTmpSuffix);
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    auto f = fs->openAppend(tmp);
    if (!f) return f.error();
    WritableFile& file = **f;
    auto r = fill(file);
    if (r) r = file.sync();
    auto c = file.close();
    if (r && !c) r = c;
    if (r) r = fs->rename(tmp, path);
    if (!r) std::filesystem::remove(tmp, ec);
    return r;
}

std::string manifestJson(const QuarantineEntry& e) {
    std::string out = "{\"name\":";
    pj::appendQuoted(out, e.name);
    out += ",\"segment\":" + std::to_string(e.segment) + ",\"offset\":" + std::to_string(e.offset) +
           ",\"length\":" + std::to_string(e.length) + ",\"reason\":";
    pj::appendQuoted(out, e.reason);
    out += ",\"detected_at\":" + std::to_string(e.detected_at_s) + ",\"sha256\":";
    pj::appendQuoted(out, e.sha256);
    out += ",\"indexed_events\":" + std::to_string(e.indexed_events) +
           ",\"declared_content_bytes\":" + std::to_string(e.declared_content_bytes) + ",\"state\":";
    pj::appendQuoted(out, quarantineStateName(e.state));
    out += ",\"processed_at\":" + std::to_string(e.processed_at_s) +
           ",\"recovered_events\":" + std::to_string(e.recovered_events) +
           ",\"restored_events\":" + std::to_string(e.restored_events) +
           ",\"lost_events\":" + std::to_string(e.lost_events) +
           ",\"lost_is_estimate\":" + (e.lost_is_estimate ? "true" : "false") + ",\"note\":";
    pj::appendQuoted(out, e.note);
    out += "}\n";
    return out;
}

bool readInt(const pj::Value& doc, const char* key, int64_t& out) {
    const pj::Value* v = doc.find(key);
    if (!v || v->type != pj::Type::Number) return false;
    const std::string raw(v->raw);
    char* end = nullptr;
    errno = 0;
    const long long n = std::strtoll(raw.c_str(), &end, 10);
    if (errno || !end || *end) return false;
    out = n;
    return true;
}

Expected<QuarantineEntry> parseManifest(const std::filesystem::path& file, const std::string& text) {
    pj::Value doc;
    auto bad = [&](const std::string& why) { return makeError("corrupt", "quarantine manifest " + file.string() + ": " + why); };
    if (!pj::parse(text, doc) || doc.type != pj::Type::Object) return bad("not a JSON object");
    QuarantineEntry e;
    int64_t seg = 0, off = 0, len = 0;
    auto str = [&](const char* key, std::string& out) {
        const pj::Value* v = doc.find(key);
        if (v && v->type == pj::Type::String) out = v->str;
    };
    str("name", e.name);
    if (e.name.empty() || !readInt(doc, "segment", seg) || !readInt(doc, "offset", off) || !readInt(doc, "length", len) ||
        seg <= 0 || off < 0 || len <= 0)
        return bad("name, segment, offset or length is missing");
    e.segment = uint32_t(seg);
    e.offset = uint64_t(off);
    e.length = uint64_t(len);
    str("reason", e.reason);
    str("sha256", e.sha256);
    str("note", e.note);
    std::string state;
    str("state", state);
    if (state == "pending") e.state = QuarantineState::Pending;
    else if (state == "torn") e.state = QuarantineState::Torn;
    else if (state == "salvaged") e.state = QuarantineState::Salvaged;
    else if (state == "accepted") e.state = QuarantineState::Accepted;
    else return bad("unknown state \"" + state + "\"");
    int64_t n = 0;
    if (readInt(doc, "detected_at", n)) e.detected_at_s = n;
    if (readInt(doc, "indexed_events", n)) e.indexed_events = n;
    if (readInt(doc, "declared_content_bytes", n) && n >= 0) e.declared_content_bytes = uint64_t(n);
    if (readInt(doc, "processed_at", n)) e.processed_at_s = n;
    if (readInt(doc, "recovered_events", n) && n >= 0) e.recovered_events = uint64_t(n);
    if (readInt(doc, "restored_events", n) && n >= 0) e.restored_events = uint64_t(n);
    if (readInt(doc, "lost_events", n) && n >= 0) e.lost_events = uint64_t(n);
    if (const pj::Value* v = doc.find("lost_is_estimate"); v && v->type == pj::Type::Bool) e.lost_is_estimate = v->boolean;
    return e;
}

Expected<std::string> readWhole(const std::filesystem::path& file, size_t max_bytes) {
    ReadFd in(file);
    if (in.fd() < 0) return fileError(file, "open", errno);
    std::string out;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(in.fd(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fileError(file, "read", errno);
        }
        if (n == 0) break;
        out.append(buf, size_t(n));
        if (out.size() > max_bytes) return makeError("corrupt", file.string() + " is larger than expected");
    }
    return out;
}

std::string entryStem(uint32_t segment, uint64_t offset, int attempt) {
    char name[64];
    std::snprintf(name, sizeof name, "q-%06u-%012llu", unsigned(segment), static_cast<unsigned long long>(offset));
    std::string out = name;
    if (attempt > 1) out += "-" + std::to_string(attempt);
    return out;
}

// Writes the segment again with markers over [region.offset, region.offset + region.length).
Expected<void> rewriteSegment(const std::filesystem::path& archive_dir, const DamagedRegion& region,
                              const std::string& entry_name, uint64_t file_bytes, FileSystem* fs) {
    const auto path = segmentPath(archive_dir, region.segment);
    const std::filesystem::path tmp = path.string() + std::string(kRewriteSuffix);
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    ReadFd src(path);
    if (src.fd() < 0) return fileError(path, "open", errno);
    auto f = fs->openAppend(tmp);
    if (!f) return f.error();
    WritableFile& out = **f;
    auto append = [&out](std::string_view bytes) { return out.append(bytes); };
    auto r = copyRange(src, path, 0, region.offset, append);
    // Markers cover the region; a region longer than one marker gets several (the last ≥ 8 bytes).
    uint64_t at = region.offset;
    const uint64_t end = region.offset + region.length;
    const std::string zeros(kCopyChunk, '\0');
    while (r && at < end) {
        uint64_t piece = std::min(end - at, kMaxTombstoneBytes);
        if (end - at - piece != 0 && end - at - piece < kMinTombstoneBytes) piece -= kMinTombstoneBytes;
        const std::string start = encodeTombstoneStart(at, piece, entry_name);
        r = out.append(start);
        for (uint64_t left = piece - start.size(); r && left > 0;) {
            const size_t n = size_t(std::min<uint64_t>(left, zeros.size()));
            r = out.append(std::string_view(zeros.data(), n));
            left -= n;
        }
        at += piece;
    }
    if (r && file_bytes > end) r = copyRange(src, path, end, file_bytes - end, append);
    if (r) r = out.sync();
    auto c = out.close();
    if (r && !c) r = c;
    if (r) r = fs->rename(tmp, path);
    if (!r) {
        std::filesystem::remove(tmp, ec);
        return r;
    }
    return fs->syncDir(archive_dir);
}

}  // namespace

const char* quarantineStateName(QuarantineState s) {
    switch (s) {
    case QuarantineState::Pending: return "pending";
    case QuarantineState::Torn: return "torn";
    case QuarantineState::Salvaged: return "salvaged";
    case QuarantineState::Accepted: return "accepted";
    }
    return "?";
}

std::filesystem::path quarantineDir(const std::filesystem::path& archive_dir) { return archive_dir / "quarantine"; }

DamagedRegion describeDamage(SegmentReader& reader, uint32_t segment) {
    DamagedRegion d;
    d.segment = segment;
    d.offset = reader.stopOffset();
    d.why = reader.stopMessage();
    const uint64_t fileBytes = reader.fileBytes();
    uint64_t end = reader.resync(d.offset);
    if (end < fileBytes && end - d.offset < kMinTombstoneBytes) {
        // Too short for a marker (not a frame either: a frame is longer): take the next frame along.
        end = reader.resync(end);
        d.why += " (extended over the following frame to make room for the quarantine marker)";
    }
    d.length = end - d.offset;
    d.at_end = end == fileBytes;
    const std::string head = reader.peek(d.offset, 18);
    if (head.size() >= 4) {
        const unsigned long long fcs = ZSTD_getFrameContentSize(head.data(), head.size());
        if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != ZSTD_CONTENTSIZE_ERROR && fcs <= kMaxFrameBytes)
            d.declared_content_bytes = fcs;
    }
    const bool oneFrame = d.length <= maxCompressedFrameBytes();
    const bool interrupted = reader.stop() == ScanStop::Torn || d.length < kMinTombstoneBytes || reader.zeroFrom(d.offset);
    d.torn = d.at_end && oneFrame && interrupted;
    return d;
}

namespace {

// Copies the region's bytes and its manifest into the quarantine (or finds them there already).
Expected<QuarantineEntry> copyToQuarantine(const std::filesystem::path& archive_dir, const DamagedRegion& region,
                                           int64_t indexed_events, QuarantineState state, FileSystem* fs,
                                           uint64_t& file_bytes) {
    const auto path = segmentPath(archive_dir, region.segment);
    std::error_code ec;
    if (file_bytes == 0) file_bytes = std::filesystem::file_size(path, ec);
    if (ec) return makeError("io", "stat " + path.string() + ": " + ec.message());
    if (region.offset + region.length > file_bytes)
        return makeError("usage", "quarantine: the region ends past the end of " + path.string());

    const auto qdir = quarantineDir(archive_dir);
    const bool existed = std::filesystem::is_directory(qdir, ec);
    std::filesystem::create_directories(qdir, ec);
    if (ec) return makeError("io", "cannot create " + qdir.string() + ": " + ec.message());
    if (!existed)
        if (auto r = fs->syncDir(archive_dir); !r) return r.error();

    // The hash first (one read), to recognise an entry already written for these bytes.
    ReadFd src(path);
    if (src.fd() < 0) return fileError(path, "open", errno);
    std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> md(EVP_MD_CTX_new());
    if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1) return makeError("io", "sha256: cannot start");
    auto hashed = copyRange(src, path, region.offset, region.length, [&](std::string_view b) -> Expected<void> {
        EVP_DigestUpdate(md.get(), b.data(), b.size());
        return {};
    });
    if (!hashed) return hashed.error();
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digestLen = 0;
    EVP_DigestFinal_ex(md.get(), digest, &digestLen);
    const std::string sha = hex(digest, digestLen);

    QuarantineEntry e;
    bool reuse = false;
    for (int attempt = 1;; ++attempt) {
        e.name = entryStem(region.segment, region.offset, attempt);
        const auto manifest = qdir / (e.name + ".json");
        if (!std::filesystem::exists(manifest, ec)) break;
        auto text = readWhole(manifest, 1 << 20);
        if (!text) return text.error();
        auto old = parseManifest(manifest, *text);
        if (!old) continue;  // an unreadable manifest is never overwritten: take the next name
        if (old->sha256 == sha && old->length == region.length && old->segment == region.segment &&
            old->offset == region.offset) {
            e = *old;  // the same damage seen again (a crash came between quarantine and rewrite)
            reuse = true;
            break;
        }
    }
    if (!reuse) {
        e.segment = region.segment;
        e.offset = region.offset;
        e.length = region.length;
        e.reason = region.why;
        e.detected_at_s = nowSeconds();
        e.sha256 = sha;
        e.indexed_events = indexed_events;
        e.declared_content_bytes = region.declared_content_bytes;
        e.state = state;
        auto wrote = writeAtomically(fs, qdir / (e.name + ".bin"), [&](WritableFile& out) {
            return copyRange(src, path, region.offset, region.length,
                             [&out](std::string_view b) { return out.append(b); });
        });
        if (!wrote) return wrote.error();
        if (auto r = saveQuarantineEntry(archive_dir, e, fs); !r) return r.error();
    }
    return e;
}

}  // namespace

Expected<QuarantineEntry> quarantineRegion(const std::filesystem::path& archive_dir, const DamagedRegion& region,
                                           int64_t indexed_events, FileSystem* fs, uint64_t file_bytes) {
    if (!fs) fs = defaultFileSystem();
    if (region.length < kMinTombstoneBytes)
        return makeError("usage", "quarantine: a region of " + std::to_string(region.length) + " bytes is too short");
    auto e = copyToQuarantine(archive_dir, region, indexed_events, QuarantineState::Pending, fs, file_bytes);
    if (!e) return e;
    if (auto r = rewriteSegment(archive_dir, region, e->name, file_bytes, fs); !r) return r.error();
    return e;
}

Expected<QuarantineEntry> keepTornTail(const std::filesystem::path& archive_dir, const DamagedRegion& region,
                                       FileSystem* fs) {
    if (!fs) fs = defaultFileSystem();
    uint64_t fileBytes = 0;
    return copyToQuarantine(archive_dir, region, -1, QuarantineState::Torn, fs, fileBytes);
}

Expected<void> saveQuarantineEntry(const std::filesystem::path& archive_dir, const QuarantineEntry& entry,
                                   FileSystem* fs) {
    if (!fs) fs = defaultFileSystem();
    const auto qdir = quarantineDir(archive_dir);
    const std::string text = manifestJson(entry);
    auto r = writeAtomically(fs, qdir / (entry.name + ".json"), [&](WritableFile& out) { return out.append(text); });
    if (!r) return r;
    return fs->syncDir(qdir);
}

Expected<std::vector<QuarantineEntry>> listQuarantine(const std::filesystem::path& archive_dir) {
    std::vector<QuarantineEntry> out;
    const auto qdir = quarantineDir(archive_dir);
    std::error_code ec;
    if (!std::filesystem::is_directory(qdir, ec)) return out;
    std::filesystem::directory_iterator it(qdir, ec), end;
    if (ec) return makeError("io", "cannot list " + qdir.string() + ": " + ec.message());
    for (; it != end; it.increment(ec)) {
        if (ec) return makeError("io", "cannot list " + qdir.string() + ": " + ec.message());
        const auto& p = it->path();
        if (p.extension() != ".json") continue;
        auto text = readWhole(p, 1 << 20);
        if (!text) return text.error();
        auto e = parseManifest(p, *text);
        if (!e) return e.error();
        out.push_back(std::move(*e));
    }
    std::sort(out.begin(), out.end(), [](const QuarantineEntry& a, const QuarantineEntry& b) {
        return a.segment != b.segment ? a.segment < b.segment : a.offset != b.offset ? a.offset < b.offset : a.name < b.name;
    });
    return out;
}

Expected<std::string> readQuarantinedBytes(const std::filesystem::path& archive_dir, const QuarantineEntry& entry) {
    const auto file = quarantineDir(archive_dir) / (entry.name + ".bin");
    auto bytes = readWhole(file, size_t(entry.length));
    if (!bytes) return bytes.error();
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(bytes->data(), bytes->size(), digest, &n, EVP_sha256(), nullptr);
    if (bytes->size() != entry.length || hex(digest, n) != entry.sha256)
        return makeError("corrupt", file.string() + " does not hold the bytes its manifest describes");
    return bytes;
}

RecoveredText recoverFrames(std::string_view bytes) {
    RecoveredText out;
    struct Free {
        void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
    };
    std::unique_ptr<ZSTD_DCtx, Free> dctx(ZSTD_createDCtx());
    if (!dctx) return out;
    auto magicAt = [&](size_t i) {
        const auto* u = reinterpret_cast<const unsigned char*>(bytes.data() + i);
        return (uint32_t(u[0]) | uint32_t(u[1]) << 8 | uint32_t(u[2]) << 16 | uint32_t(u[3]) << 24) == kZstdFrameMagic;
    };
    size_t pos = 0;
    while (pos + 4 <= bytes.size()) {
        if (!magicAt(pos)) {
            ++pos;
            continue;
        }
        const std::string_view rest = bytes.substr(pos);
        const unsigned long long fcs = ZSTD_getFrameContentSize(rest.data(), rest.size());
        const bool sized = fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != ZSTD_CONTENTSIZE_ERROR && fcs > 0 &&
                           fcs <= kMaxFrameBytes;
        const size_t csize = ZSTD_findFrameCompressedSize(rest.data(), rest.size());
        if (sized && !ZSTD_isError(csize)) {
            std::string text(size_t(fcs), '\0');
            const size_t d = ZSTD_decompressDCtx(dctx.get(), text.data(), text.size(), rest.data(), csize);
            if (!ZSTD_isError(d) && d == fcs && text.back() == '\n') {
                ++out.intact_frames;
                out.intact_bytes += csize;
                out.texts.push_back(std::move(text));
                pos += csize;
                continue;
            }
        }
        // A damaged frame: what streams out before the decoder gives up, cut to whole lines.
        if (sized) {
            ++out.damaged_frames;
            out.damaged_declared_bytes += fcs;
            ZSTD_DCtx_reset(dctx.get(), ZSTD_reset_session_only);
            // Fed in small pieces with a block-sized output buffer, so the decoder goes block by
            // block (given the whole frame and room for all of it, it decodes all or nothing).
            std::string text;
            std::string chunk(ZSTD_BLOCKSIZE_MAX, '\0');
            size_t fed = 0;
            while (fed < rest.size() && text.size() < kMaxFrameBytes) {
                const size_t piece = std::min<size_t>(rest.size() - fed, 16384);
                ZSTD_inBuffer in{rest.data() + fed, piece, 0};
                bool stop = false;
                while (!stop && text.size() < kMaxFrameBytes) {
                    ZSTD_outBuffer o{chunk.data(), chunk.size(), 0};
                    const size_t r = ZSTD_decompressStream(dctx.get(), &o, &in);
                    text.append(chunk.data(), std::min<size_t>(o.pos, size_t(kMaxFrameBytes) - text.size()));
                    if (ZSTD_isError(r) || r == 0) stop = true;          // damage, or the frame's end
                    else if (in.pos == in.size && o.pos < o.size) break;  // this piece is used up
                }
                fed += in.pos;
                if (stop || in.pos == 0) break;
            }
            const size_t lastNewline = text.rfind('\n');
            text.resize(lastNewline == std::string::npos ? 0 : lastNewline + 1);
            out.damaged_decoded_bytes += text.size();
            if (!text.empty()) out.texts.push_back(std::move(text));
        }
        ++pos;  // resynchronise: the next frame magic after this one
    }
    return out;
}

size_t removeQuarantineWorkFiles(const std::filesystem::path& archive_dir) {
    size_t removed = 0;
    auto sweep = [&](const std::filesystem::path& dir, std::string_view suffix) {
        std::error_code ec;
        std::filesystem::directory_iterator it(dir, ec), end;
        for (; !ec && it != end; it.increment(ec)) {
            const std::string name = it->path().filename().string();
            if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
                std::error_code rm;
                if (std::filesystem::remove(it->path(), rm)) ++removed;
            }
        }
    };
    sweep(archive_dir, kRewriteSuffix);
    sweep(quarantineDir(archive_dir), kTmpSuffix);
    return removed;
}

std::string describeEntry(const QuarantineEntry& e) {
    char size[32];
    if (e.length >= (1u << 20)) std::snprintf(size, sizeof size, "%.1f MiB", double(e.length) / double(1 << 20));
    else if (e.length >= 1024) std::snprintf(size, sizeof size, "%.1f KiB", double(e.length) / 1024.0);
    else std::snprintf(size, sizeof size, "%llu bytes", static_cast<unsigned long long>(e.length));
    return "segment " + std::to_string(e.segment) + " @" + std::to_string(e.offset) + " (" + size + ", " +
           e.name + "): " + e.reason;
}

}  // namespace archivist::archive
