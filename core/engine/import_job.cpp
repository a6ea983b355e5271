#include "core/engine/import_job.h"

#include <chrono>
#include <filesystem>
#include <sys/stat.h>
#include <thread>
#include <algorithm>

#include "core/engine/line_reader.h"
#include "core/index/index.h"
#include "core/util/clock.h"

namespace archivist::engine {

namespace {
// A batch is cut at 256 events or 1 MiB of JSON, whichever comes first, so the pipeline's queues
// (counted in batches) stay bounded in bytes too: 64 batches ≈ 64 MiB at most per queue.
constexpr size_t kBatchItems = 256;
constexpr size_t kBatchBytes = 1u << 20;

}  // namespace

void refreshImportCounts(ImportProgress& p, const ingest::SourceTable& table) {
    p.stored = p.duplicate = p.invalid = 0;
    p.invalid_by_reason.fill(0);
    for (const auto& s : p.sources) {
        const auto now = table.snapshot(s.id);
        p.stored += now.stored - s.base.stored;
        p.duplicate += now.duplicate - s.base.duplicate;
        p.invalid += now.invalid - s.base.invalid;
        for (size_t i = 0; i < p.invalid_by_reason.size(); ++i)
            p.invalid_by_reason[i] += now.invalid_by_reason[i] - s.base.invalid_by_reason[i];
    }
    const uint64_t settled = p.stored + p.duplicate + p.invalid;
    p.not_stored = p.read > settled ? p.read - settled : 0;
}

std::string importSummaryJson(const ImportProgress& p) {
    std::string out = "{\"read\":" + std::to_string(p.read) + ",\"stored\":" + std::to_string(p.stored) +
                      ",\"duplicate\":" + std::to_string(p.duplicate) + ",\"invalid\":" + std::to_string(p.invalid) +
                      ",\"not_stored\":" + std::to_string(p.not_stored) + ",\"invalid_by_reason\":{";
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
                                   const std::atomic<bool>* cancel, int progress_interval_ms,
                                   bool stop_on_disk_trouble) {
    ImportProgress p;
    p.file_count = files.size();
    const auto started = std::chrono::steady_clock::now();
    bool sizeKnown = true;
    for (const auto& f : files) {
        struct stat st{};
        if (f != "-" && ::stat(f.c_str(), &st) == 0 && S_ISREG(st.st_mode)) p.bytes_total += uint64_t(st.st_size);
        else sizeKnown = false;  // stdin, a pipe or a device: progress has no total
    }
    if (!sizeKnown) p.bytes_total = 0;
    auto lastReport = std::chrono::steady_clock::now();
    uint64_t bytesDone = 0;

    auto report = [&](bool force) {
        const auto now = std::chrono::steady_clock::now();
        if (!force && now - lastReport < std::chrono::milliseconds(progress_interval_ms)) return;
        lastReport = now;
        refreshImportCounts(p, store.sources());
        p.seconds = std::chrono::duration<double>(now - started).count();
        p.writer_paused = store.paused();
        p.writer_error = p.writer_paused ? store.lastError() : std::string();
        if (progress) progress(p);
    };
    // Why intake must stop now ("" = go on).
    auto stopReason = [&]() -> std::string {
        if (cancel && cancel->load()) return "cancelled";
        if (stop_on_disk_trouble && store.pausedOnDisk()) return store.lastError();
        return {};
    };
    // Hands a batch to the pipeline, waiting while it is full, but never past a stop.
    auto submit = [&](ingest::RawBatch& batch) -> Expected<bool> {
        while (!store.trySubmit(batch)) {
            if (!store.accepting()) return makeError("io", "the writer stopped: " + store.lastError());
            if (p.stopped = stopReason(); !p.stopped.empty()) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            report(false);
        }
        return true;
    };

    for (size_t fi = 0; fi < files.size() && p.stopped.empty(); ++fi) {
        const std::string& path = files[fi];
        p.file_index = fi;
        p.current_file = path;
        const std::string name = path == "-" ? "stdin" : std::filesystem::path(path).filename().string();
        auto source = store.addSource("import:" + name);
        if (!source) return source.error();
        if (std::none_of(p.sources.begin(), p.sources.end(), [&](const ImportProgress::Baseline& s) { return s.id == *source; }))
            p.sources.push_back(ImportProgress::Baseline{*source, store.sources().snapshot(*source)});
        auto& counters = store.sources().counters(*source);

        // Lines somewhat above the event size limit are read whole so the validator can name them
        // too_large; anything longer is skipped while reading (memory stays bounded).
        LineReader reader(1u << 20);
        if (auto r = reader.open(path); !r) {
            if (p.stopped = stopReason(); !p.stopped.empty()) break;  // a signal interrupted the first read
            return r.error();
        }
        // A file's lines: no copies from other sources are expected to follow them.
        const ingest::RawBatch empty{*source, {}, false};
        ingest::RawBatch batch = empty;
        size_t batchBytes = 0;
        std::string_view line;
        bool tooLong = false;
        while (reader.next(line, tooLong)) {
            if (p.stopped = stopReason(); !p.stopped.empty()) break;
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
                auto taken = submit(batch);
                if (!taken) return taken.error();
                if (!*taken) break;  // read but never handed over: counted as not stored
                batch = empty;
                p.bytes_read = bytesDone + reader.bytesRead();
                report(false);
            }
        }
        if (p.stopped.empty()) p.stopped = stopReason();  // a signal may have ended a blocked read
        if (p.stopped.empty() && !reader.error().empty()) return makeError("io", path + ": " + reader.error());
        if (!batch.items.empty() && p.stopped.empty()) {
            auto taken = submit(batch);
            if (!taken) return taken.error();
        }
        bytesDone += reader.bytesRead();
        p.bytes_read = bytesDone;
    }

    // Wait until every line read has settled: the summary then reports durable facts.
    auto settledAll = [&] {
        uint64_t settled = 0;
        for (const auto& s : p.sources)
            settled += store.sources().counters(s.id).settled() - s.base.stored - s.base.duplicate - s.base.invalid;
        return settled;
    };
    while (p.stopped.empty() && settledAll() < p.read) {
        if (store.failed()) return makeError("io", "events could not be stored: " + store.lastError());
        if (p.stopped = stopReason(); !p.stopped.empty()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        report(false);
    }
    // A bulk load's full-text documents may wait up to a second in the index's lanes (decision
    // 0031): written now, so that a search right after the import finds every event it stored.
    // A lane that failed has said so itself; its documents are written again at the next open.
    if (p.stopped.empty())
        if (auto idx = store.index()) (void)idx->commitFullText();
    p.finished = true;
    report(true);
    return p;
}

}  // namespace archivist::engine
