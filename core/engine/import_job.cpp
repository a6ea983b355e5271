#include "core/engine/import_job.h"

#include <chrono>
#include <filesystem>
#include <sys/stat.h>
#include <thread>
#include <algorithm>

#include "core/engine/line_reader.h"
#include "core/util/clock.h"

namespace archivist::engine {

namespace {
// A batch is cut at 256 events or 1 MiB of JSON, whichever comes first, so the pipeline's queues
// (counted in batches) stay bounded in bytes too: 64 batches ≈ 64 MiB at most per queue.
constexpr size_t kBatchItems = 256;
constexpr size_t kBatchBytes = 1u << 20;

struct SourceBaseline {
    ingest::SourceId id;
    ingest::SourceSnapshot base;
    uint64_t read = 0;
};

void accumulate(ImportProgress& p, const ingest::SourceTable& table, const std::vector<SourceBaseline>& sources) {
    p.stored = p.duplicate = p.invalid = 0;
    p.invalid_by_reason.fill(0);
    for (const auto& s : sources) {
        const auto now = table.snapshot(s.id);
        p.stored += now.stored - s.base.stored;
        p.duplicate += now.duplicate - s.base.duplicate;
        p.invalid += now.invalid - s.base.invalid;
        for (size_t i = 0; i < p.invalid_by_reason.size(); ++i)
            p.invalid_by_reason[i] += now.invalid_by_reason[i] - s.base.invalid_by_reason[i];
    }
}
}  // namespace

std::string importSummaryJson(const ImportProgress& p) {
    std::string out = "{\"read\":" + std::to_string(p.read) + ",\"stored\":" + std::to_string(p.stored) +
                      ",\"duplicate\":" + std::to_string(p.duplicate) + ",\"invalid\":" + std::to_string(p.invalid) +
                      ",\"invalid_by_reason\":{";
    bool first = true;
    for (size_t i = 1; i < p.invalid_by_reason.size(); ++i) {
        if (!p.invalid_by_reason[i]) continue;
        if (!first) out += ',';
        first = false;
        out += '"';
        out += protocol::rejectName(static_cast<protocol::Reject>(i));
        out += "\":" + std::to_string(p.invalid_by_reason[i]);
    }
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.3f", p.seconds);
    out += "},\"seconds\":";
    out += secs;
    out += '}';
    return out;
}

Expected<ImportProgress> runImport(Store& store, const std::vector<std::string>& files,
                                   const std::function<void(const ImportProgress&)>& progress,
                                   const std::atomic<bool>* cancel, int progress_interval_ms) {
    ImportProgress p;
    p.file_count = files.size();
    const auto started = std::chrono::steady_clock::now();
    for (const auto& f : files) {
        struct stat st{};
        if (f != "-" && ::stat(f.c_str(), &st) == 0) p.bytes_total += uint64_t(st.st_size);
    }
    std::vector<SourceBaseline> sources;
    auto lastReport = std::chrono::steady_clock::now();
    uint64_t bytesDone = 0;

    auto report = [&](bool force) {
        const auto now = std::chrono::steady_clock::now();
        if (!force && now - lastReport < std::chrono::milliseconds(progress_interval_ms)) return;
        lastReport = now;
        accumulate(p, store.sources(), sources);
        p.seconds = std::chrono::duration<double>(now - started).count();
        if (progress) progress(p);
    };

    for (size_t fi = 0; fi < files.size(); ++fi) {
        const std::string& path = files[fi];
        p.file_index = fi;
        p.current_file = path;
        const std::string name = path == "-" ? "stdin" : std::filesystem::path(path).filename().string();
        auto source = store.addSource("import:" + name);
        if (!source) return source.error();
        if (std::none_of(sources.begin(), sources.end(), [&](const SourceBaseline& s) { return s.id == *source; }))
            sources.push_back(SourceBaseline{*source, store.sources().snapshot(*source), 0});
        auto& counters = store.sources().counters(*source);

        // Lines somewhat above the event size limit are read whole so the validator can name them
        // too_large; anything longer is skipped while reading (memory stays bounded).
        LineReader reader(1u << 20);
        if (auto r = reader.open(path); !r) return r.error();
        ingest::RawBatch batch;
        batch.source = *source;
        size_t batchBytes = 0;
        std::string_view line;
        bool tooLong = false;
        while (reader.next(line, tooLong)) {
            if (cancel && cancel->load()) break;
            if (tooLong) {
                ++p.read;
                counters.received.fetch_add(1);
                counters.invalid_by_reason[size_t(protocol::Reject::TooLarge)].fetch_add(1);
                counters.invalid.fetch_add(1, std::memory_order_release);
                continue;
            }
            // Skip blank lines (whitespace only).
            if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
            ++p.read;
            batch.items.push_back(ingest::RawItem{std::string(line), wallMs()});
            batchBytes += line.size();
            if (batch.items.size() >= kBatchItems || batchBytes >= kBatchBytes) {
                batchBytes = 0;
                if (!store.submit(std::move(batch)))
                    return makeError("io", "the writer stopped: " + store.lastError());
                batch = ingest::RawBatch{};
                batch.source = *source;
                p.bytes_read = bytesDone + reader.bytesRead();
                report(false);
            }
        }
        if (!reader.error().empty()) return makeError("io", path + ": " + reader.error());
        if (!batch.items.empty() && !store.submit(std::move(batch)))
            return makeError("io", "the writer stopped: " + store.lastError());
        bytesDone += reader.bytesRead();
        p.bytes_read = bytesDone;
        if (cancel && cancel->load()) break;
    }

    // Wait until every line read has settled: the summary then reports durable facts.
    auto settledAll = [&] {
        uint64_t settled = 0;
        for (const auto& s : sources) settled += store.sources().counters(s.id).settled() - s.base.stored -
                                                 s.base.duplicate - s.base.invalid;
        return settled;
    };
    while (settledAll() < p.read) {
        if (store.failed()) return makeError("io", "events could not be stored: " + store.lastError());
        if (cancel && cancel->load()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        report(false);
    }
    p.finished = true;
    report(true);
    return p;
}

}  // namespace archivist::engine
