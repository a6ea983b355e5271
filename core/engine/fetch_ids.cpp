#include "core/engine/fetch_ids.h"

#include <QDateTime>
#include <algorithm>
#include <fstream>

#include "core/index/index_reader.h"
#include "core/protocol/hex.h"

namespace archivist::engine {

namespace {

std::string jsonString(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') out += char('\\'), out += char(c);
        else if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else out += char(c);
    }
    return out + "\"";
}

}  // namespace

Expected<FetchIdsReport> runFetchIds(const std::shared_ptr<index::Index>& idx, sync::IdFetch& fetch,
                                     const std::filesystem::path& file, const FetchIdsProgress& progress,
                                     const std::atomic<bool>* cancel, int64_t no_relay_ms) {
    const int64_t started = QDateTime::currentMSecsSinceEpoch();
    std::ifstream in(file, std::ios::binary);
    if (!in) return makeError("io", "cannot open " + file.string());
    auto reader = index::IndexReader::open(idx);
    if (!reader) return reader.error();
    FetchIdsReport rep;
    std::error_code ec;
    rep.bytes_total = std::filesystem::file_size(file, ec);
    if (ec) rep.bytes_total = 0;
    fetch.start();
    auto held = [&](const protocol::Bytes32& id) -> Expected<bool> {
        auto found = (*reader)->findById(id);
        if (!found) return found.error();
        return found->has_value();
    };
    auto finish = [&](std::string stopped) -> Expected<FetchIdsReport> {
        fetch.stop();
        rep.stopped = std::move(stopped);
        rep.relays = fetch.tallies();
        rep.seconds = double(QDateTime::currentMSecsSinceEpoch() - started) / 1000.0;
        if (progress) progress(rep);
        return rep;
    };
    std::string line;
    bool eof = false;
    while (!eof) {
        if (cancel && cancel->load()) return finish("cancelled");
        std::vector<protocol::Bytes32> batch;
        while (batch.size() < sync::IdFetch::kMaxBatch) {
            if (!std::getline(in, line)) {
                eof = true;
                break;
            }
            ++rep.lines;
            rep.bytes_read += line.size() + 1;
            while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
            const size_t lead = line.find_first_not_of(" \t");
            if (lead == std::string::npos) continue;
            protocol::Bytes32 id;
            if (line.size() - lead != 64 || !protocol::fromHex(std::string_view(line).substr(lead), id.data(), 32)) {
                ++rep.invalid_lines;
                continue;
            }
            batch.push_back(id);
        }
        if (in.bad()) return makeError("io", "cannot read " + file.string());
        std::sort(batch.begin(), batch.end());
        batch.erase(std::unique(batch.begin(), batch.end()), batch.end());
        rep.ids += batch.size();
        std::vector<protocol::Bytes32> ask;
        for (const auto& id : batch) {
            auto h = held(id);
            if (!h) return h.error();
            if (*h) ++rep.already_held;
            else ask.push_back(id);
        }
        if (ask.empty()) continue;
        ++rep.batches;
        rep.asked += ask.size();
        fetch.publish(ask);
        switch (fetch.wait(cancel, no_relay_ms)) {
        case sync::IdFetch::Wait::Done: break;
        case sync::IdFetch::Wait::Cancelled: rep.asked -= ask.size(); return finish("cancelled");
        case sync::IdFetch::Wait::NoRelay: rep.asked -= ask.size(); return finish("no relay open");
        }
        for (const auto& id : ask) {
            auto h = held(id);
            if (!h) return h.error();
            ++(*h ? rep.found : rep.not_found);
        }
        rep.relays = fetch.tallies();
        rep.seconds = double(QDateTime::currentMSecsSinceEpoch() - started) / 1000.0;
        if (progress) progress(rep);
    }
    return finish("");
}

std::string fetchIdsJson(const FetchIdsReport& r) {
    std::string out = "{\"lines\":" + std::to_string(r.lines) + ",\"invalid_lines\":" + std::to_string(r.invalid_lines) +
                      ",\"ids\":" + std::to_string(r.ids) + ",\"already_held\":" + std::to_string(r.already_held) +
                      ",\"asked\":" + std::to_string(r.asked) + ",\"found\":" + std::to_string(r.found) +
                      ",\"not_found\":" + std::to_string(r.not_found) + ",\"batches\":" + std::to_string(r.batches) +
                      ",\"stopped\":" + (r.stopped.empty() ? std::string("null") : jsonString(r.stopped)) + ",\"relays\":[";
    for (size_t i = 0; i < r.relays.size(); ++i) {
        const auto& t = r.relays[i];
        out += std::string(i ? "," : "") + "{\"url\":" + jsonString(t.url) + ",\"asked\":" + std::to_string(t.asked) +
               ",\"returned\":" + std::to_string(t.returned) + ",\"failed_requests\":" + std::to_string(t.failed) +
               ",\"last_error\":" + (t.last_error.empty() ? std::string("null") : jsonString(t.last_error)) + "}";
    }
    return out + "]}";
}

std::string fetchIdsText(const FetchIdsReport& r) {
    std::string out = std::to_string(r.ids) + " ids: " + std::to_string(r.already_held) + " already held, " +
                      std::to_string(r.asked) + " asked, " + std::to_string(r.found) + " found, " +
                      std::to_string(r.not_found) + " not found";
    if (r.invalid_lines) out += ", " + std::to_string(r.invalid_lines) + " line(s) not an id";
    if (!r.stopped.empty()) out += " (stopped: " + r.stopped + ")";
    for (const auto& t : r.relays) {
        out += "\n  " + t.url + ": returned " + std::to_string(t.returned) + " of " + std::to_string(t.asked) + " asked";
        if (t.failed) out += ", " + std::to_string(t.failed) + " requests failed (" + t.last_error + ")";
    }
    return out;
}

}  // namespace archivist::engine
