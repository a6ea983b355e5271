#include "core/sink/sink_state.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "core/archive/segment_format.h"
#include "core/protocol/json.h"

namespace archivist::sink {

namespace pj = protocol::json;

namespace {

Error corrupt(const std::filesystem::path& file, const std::string& why) {
    return makeError("corrupt", file.string() + ": " + why);
}

bool readUnsigned(const pj::Value& obj, const char* key, uint64_t max, uint64_t& out) {
    const pj::Value* v = obj.find(key);
    return v && v->type == pj::Type::Number && pj::parseUnsigned(v->raw, max, out);
}

std::string errnoText() { return std::strerror(errno); }

}  // namespace

uint64_t frameBytesBetween(const SourcePosition& from, const SourcePosition& to,
                           const std::function<uint64_t(uint32_t)>& file_bytes) {
    if (!positionLess(from, to)) return 0;
    // Frame bytes only: a file's frames start after its header.
    const auto span = [](uint64_t a, uint64_t b) {
        a = std::max<uint64_t>(a, archive::kHeaderBytes);
        return b > a ? b - a : 0;
    };
    if (from.segment == to.segment) return span(from.offset, to.offset);
    uint64_t n = 0;
    for (uint32_t s = std::max<uint32_t>(from.segment, 1); s < to.segment; ++s)
        n += span(s == from.segment ? from.offset : 0, file_bytes(s));
    return n + span(0, to.offset);
}

std::string sinkStateJson(const SinkState& s) {
    std::string out = "{\"version\":1,\"target\":";
    pj::appendQuoted(out, s.target);
    out += ",\"node\":";
    pj::appendQuoted(out, s.node);
    out += ",\"updated_at_ms\":" + std::to_string(s.updated_at_ms < 0 ? 0 : s.updated_at_ms);
    auto stream = [&](const char* name, const StreamCursor& c) {
        out += std::string(",\"") + name + "\":{\"segment\":" + std::to_string(c.position.segment) +
               ",\"offset\":" + std::to_string(c.position.offset) + ",\"rows_before\":" + std::to_string(c.rows_before) +
               ",\"pending\":";
        if (c.pending) {
            out += "{\"end_segment\":" + std::to_string(c.pending->end.segment) +
                   ",\"end_offset\":" + std::to_string(c.pending->end.offset) + ",\"batch\":";
            pj::appendQuoted(out, c.pending->batch);
            out += ",\"rows\":" + std::to_string(c.pending->rows) + "}";
        } else {
            out += "null";
        }
        out += "}";
    };
    stream("events", s.events);
    stream("sightings", s.sightings);
    out += "}\n";
    return out;
}

Expected<std::optional<SinkState>> loadSinkState(const std::filesystem::path& file) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) return std::optional<SinkState>{};
    std::ifstream in(file, std::ios::binary);
    if (!in) return makeError("io", file.string() + ": cannot be read");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    if (text.size() > 64 * 1024) return corrupt(file, "larger than 64 KiB");
    pj::Value doc;
    pj::ParseError err;
    if (!pj::parse(text, doc, &err)) return corrupt(file, "not JSON: " + err.message);
    if (doc.type != pj::Type::Object) return corrupt(file, "not a JSON object");
    uint64_t version = 0;
    if (!readUnsigned(doc, "version", 1000, version) || version != 1) return corrupt(file, "unknown version");
    SinkState s;
    const pj::Value* target = doc.find("target");
    const pj::Value* node = doc.find("node");
    const pj::Value* events = doc.find("events");
    if (!target || target->type != pj::Type::String || !node || node->type != pj::Type::String || !events ||
        events->type != pj::Type::Object)
        return corrupt(file, "target, node or events missing");
    s.target = target->str;
    s.node = node->str;
    uint64_t n = 0;
    if (readUnsigned(doc, "updated_at_ms", uint64_t(INT64_MAX), n)) s.updated_at_ms = int64_t(n);
    auto stream = [&](const char* name, const pj::Value& obj, StreamCursor& c) -> Expected<void> {
        uint64_t segment = 0;
        if (!readUnsigned(obj, "segment", UINT32_MAX, segment) ||
            !readUnsigned(obj, "offset", uint64_t(INT64_MAX), c.position.offset) ||
            !readUnsigned(obj, "rows_before", uint64_t(INT64_MAX), c.rows_before))
            return corrupt(file, std::string(name) + " position missing or invalid");
        c.position.segment = uint32_t(segment);
        const pj::Value* pending = obj.find("pending");
        if (pending && pending->type == pj::Type::Object) {
            PendingBatch p;
            const pj::Value* batch = pending->find("batch");
            if (!readUnsigned(*pending, "end_segment", UINT32_MAX, segment) ||
                !readUnsigned(*pending, "end_offset", uint64_t(INT64_MAX), p.end.offset) ||
                !readUnsigned(*pending, "rows", uint64_t(INT64_MAX), p.rows) || !batch || batch->type != pj::Type::String)
                return corrupt(file, std::string(name) + " pending batch invalid");
            p.end.segment = uint32_t(segment);
            p.batch = batch->str;
            if (!positionLess(c.position, p.end))
                return corrupt(file, std::string(name) + " pending batch ends before it starts");
            c.pending = std::move(p);
        } else if (pending && pending->type != pj::Type::Null) {
            return corrupt(file, std::string(name) + " pending batch invalid");
        }
        return {};
    };
    if (auto r = stream("events", *events, s.events); !r) return r.error();
    // A file written before sightings were shipped has no entry: they start from the beginning.
    if (const pj::Value* sightings = doc.find("sightings"); sightings && sightings->type == pj::Type::Object)
        if (auto r = stream("sightings", *sightings, s.sightings); !r) return r.error();
    return std::optional<SinkState>(std::move(s));
}

Expected<void> saveSinkState(const std::filesystem::path& file, const SinkState& state) {
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    if (ec) return makeError("io", "create " + file.parent_path().string() + ": " + ec.message());
    const std::string text = sinkStateJson(state);
    const std::filesystem::path tmp = file.string() + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return makeError("io", "write " + tmp.string() + ": " + errnoText());
    size_t done = 0;
    while (done < text.size()) {
        const ssize_t w = ::write(fd, text.data() + done, text.size() - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            const std::string why = errnoText();
            ::close(fd);
            ::unlink(tmp.c_str());
            return makeError("io", "write " + tmp.string() + ": " + why);
        }
        done += size_t(w);
    }
    if (::fsync(fd) != 0) {
        const std::string why = errnoText();
        ::close(fd);
        ::unlink(tmp.c_str());
        return makeError("io", "fsync " + tmp.string() + ": " + why);
    }
    ::close(fd);
    if (::rename(tmp.c_str(), file.c_str()) != 0) {
        const std::string why = errnoText();
        ::unlink(tmp.c_str());
        return makeError("io", "rename " + tmp.string() + ": " + why);
    }
    const int dfd = ::open(file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return makeError("io", "open " + file.parent_path().string() + ": " + errnoText());
    const int rc = ::fsync(dfd);
    const std::string why = rc != 0 ? errnoText() : std::string();
    ::close(dfd);
    if (rc != 0) return makeError("io", "fsync " + file.parent_path().string() + ": " + why);
    return {};
}

}  // namespace archivist::sink
