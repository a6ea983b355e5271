#include "core/index/index.h"
#include "core/index/lookup.h"

#include <QLoggingCategory>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <system_error>
#include <time.h>
#include <unordered_map>

#include "core/index/fts.h"
#include "core/index/lane.h"
#include "core/index/part_builder.h"
#include "core/index/rollups.h"
#include "core/index/schema.h"
#include "core/observe/log.h"
#include "core/observe/metrics.h"
#include "core/protocol/event_codec.h"
#include "core/util/clock.h"
#include "core/util/lines.h"
#include "core/util/thread_name.h"
#include "core/util/thread_priority.h"

namespace archivist::index {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kSeqBlock = 65536;
// quick_check at open reads whole files: the newest ones up to this many bytes in total; the
// others are opened and their header and meta read (damage there is what a crash or a bad disk
// most often leaves; SQLite reports anything else as "index_corrupt" when it meets it).
constexpr uint64_t kQuickCheckBudgetBytes = 64ull << 20;

std::mutex g_registryMutex;
std::map<std::string, std::weak_ptr<Index>>& registry() {
    static std::map<std::string, std::weak_ptr<Index>> r;
    return r;
}

std::string registryKey(const fs::path& dir) {
    std::error_code ec;
    auto canon = fs::weakly_canonical(dir, ec);
    return (ec ? dir : canon).string();
}

void removeWithJournals(const fs::path& p) {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        fs::path f = p;
        f += suffix;
        fs::remove(f, ec);
    }
}

Expected<std::optional<int64_t>> metaInt(Db& db, std::string_view key) {
    auto st = db.prepare("SELECT value FROM meta WHERE key = ?");
    if (!st) return st.error();
    st->bindText(1, key);
    const int rc = st->step();
    if (rc == SQLITE_ROW) return std::optional<int64_t>(st->i64(0));
    if (rc == SQLITE_DONE) return std::optional<int64_t>();
    return db.error("read meta " + std::string(key));
}

// A part's created_at range from its meta (PartBuilder writes events, min_created_at and
// max_created_at); left as "anything" when a part does not say.
Expected<void> readCreatedRange(Db& db, IndexFile& f) {
    auto events = metaInt(db, "events");
    auto lo = metaInt(db, "min_created_at");
    auto hi = metaInt(db, "max_created_at");
    if (!events) return events.error();
    if (!lo) return lo.error();
    if (!hi) return hi.error();
    if (!*events || !*lo || !*hi) return {};
    if (**events == 0) {
        f.min_created = 0;
        f.max_created = -1;
    } else if (**lo <= **hi) {
        f.min_created = **lo;
        f.max_created = **hi;
    }
    return {};
}

Expected<void> setMeta(Db& db, std::string_view key, int64_t value) {
    auto st = db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)");
    if (!st) return st.error();
    st->bindText(1, key).bind(2, value);
    if (st->step() != SQLITE_DONE) return db.error("write meta " + std::string(key));
    return {};
}

const char* kindName(FileKind k) { return k == FileKind::Hot ? "hot" : "part"; }

uint64_t fileBytes(const fs::path& p) {
    std::error_code ec;
    uint64_t n = 0;
    for (const char* suffix : {"", "-wal"}) {
        fs::path f = p;
        f += suffix;
        const auto s = fs::file_size(f, ec);
        if (!ec) n += s;
    }
    return n;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Options

Expected<void> IndexOptions::applyTuning(std::string_view spec) {
    size_t pos = 0;
    while (pos < spec.size()) {
        size_t end = spec.find(',', pos);
        if (end == std::string_view::npos) end = spec.size();
        const std::string_view item = spec.substr(pos, end - pos);
        pos = end + 1;
        if (item.empty()) continue;
        const size_t eq = item.find('=');
        if (eq == std::string_view::npos) return makeError("usage", "index tuning: '" + std::string(item) + "' is not key=value");
        const std::string key(item.substr(0, eq));
        const std::string value(item.substr(eq + 1));
        char* rest = nullptr;
        const long long v = std::strtoll(value.c_str(), &rest, 10);
        if (value.empty() || *rest || v < 0) return makeError("usage", "index tuning: bad value for " + key);
        if (key == "lanes" && v >= 1 && v <= 16) lanes = uint32_t(v);
        else if ((key == "hot_events" || key == "hot_max_events") && v >= 1) hot_max_events = uint64_t(v);
        else if ((key == "hot_age_ms" || key == "hot_max_age_ms") && v >= 1) hot_max_age_ms = v;
        else if (key == "max_frozen_per_lane" && v >= 1) max_frozen_per_lane = uint32_t(v);
        else if ((key == "fanin" || key == "merge_fanin") && v >= 2) merge_fanin = uint32_t(v);
        else if ((key == "part_cap" || key == "part_cap_events") && v >= 1) part_cap_events = uint64_t(v);
        else if ((key == "max_parts" || key == "max_parts_per_bucket") && v >= 2) max_parts_per_bucket = uint32_t(v);
        else if ((key == "threads" || key == "background_threads") && v >= 1 && v <= 16) background_threads = uint32_t(v);
        else if (key == "lane_queue_batches" && v >= 1) lane_queue_batches = size_t(v);
        else if (key == "reader_connections" && v >= 4) reader_connections = size_t(v);
        else if (key == "query_connections" && v >= 4) query_connections = size_t(v);
        else if (key == "rollup_connections" && v >= 4) rollup_connections = size_t(v);
        else if (key == "rollup_facts") rollup_facts = size_t(v);
        else if (key == "cache_mib" && v >= 1) cache_mib = int(v);
        else if (key == "fts_delay_ms" && v >= 0) fts_delay_ms = v;
        else if (key == "fts_bulk_docs" && v >= 1) fts_bulk_docs = size_t(v);
        else if (key == "vocab_run_terms" && v >= 1) vocab_run_terms = uint64_t(v);
        else if ((key == "frequent_at" || key == "frequent_term_occurrences") && v >= 1 && v < (1 << 24))
            frequent_term_occurrences = uint32_t(v);
        else if (key == "hot_page_kib" && v >= 1 && v <= 64 && (v & (v - 1)) == 0) hot_page_kib = int(v);
        else return makeError("usage", "index tuning: unknown key or value out of range: " + std::string(item));
    }
    return {};
}

// ---------------------------------------------------------------------------------------------
// Files and snapshots

namespace {
const uint64_t kBloomKey = [] {
    std::random_device rd;
    return (uint64_t(rd()) << 32) ^ rd();
}();
}  // namespace

HotIdBloom::HotIdBloom(uint64_t max_events) {
    uint64_t bits = 1024;
    while (bits < 16 * max_events && bits < (uint64_t(1) << 30)) bits <<= 1;
    m_words = std::vector<std::atomic<uint64_t>>(bits / 64);
    m_mask = bits - 1;
}

void HotIdBloom::add(const protocol::Bytes32& id) {
    const uint64_t a = mix64(idKey(id) ^ kBloomKey), b = mix64(a + 0x9e3779b97f4a7c15ull) | 1;
    for (int i = 0; i < 4; ++i) {
        const uint64_t bit = (a + uint64_t(i) * b) & m_mask;
        m_words[bit >> 6].fetch_or(uint64_t(1) << (bit & 63), std::memory_order_release);
    }
}

bool HotIdBloom::mayContain(const protocol::Bytes32& id) const {
    const uint64_t a = mix64(idKey(id) ^ kBloomKey), b = mix64(a + 0x9e3779b97f4a7c15ull) | 1;
    for (int i = 0; i < 4; ++i) {
        const uint64_t bit = (a + uint64_t(i) * b) & m_mask;
        if (!(m_words[bit >> 6].load(std::memory_order_acquire) & (uint64_t(1) << (bit & 63)))) return false;
    }
    return true;
}

IndexFile::~IndexFile() {
    if (!retired.load()) return;
    removeWithJournals(path);
    if (on_removed) on_removed(id);
}

std::vector<FilePtr> Snapshot::hotOfLane(uint32_t lane) const {
    std::vector<FilePtr> out;
    for (const auto& f : hot)
        if (f->lane == lane) out.push_back(f);
    return out;
}

uint64_t Snapshot::partCount() const {
    uint64_t n = 0;
    for (const auto& [b, v] : parts) n += v.size();
    return n;
}

// ---------------------------------------------------------------------------------------------
// Open / close

Index::Index(fs::path root, fs::path dir, IndexOptions opts, observe::MetricsRegistry* metrics)
    : m_root(std::move(root)), m_dir(std::move(dir)), m_opts(std::move(opts)), m_metrics(metrics) {}

std::shared_ptr<Index> Index::findOpen(const fs::path& root) {
    std::lock_guard lock(g_registryMutex);
    auto it = registry().find(registryKey(root));
    return it == registry().end() ? nullptr : it->second.lock();
}

fs::path Index::filePath(FileKind kind, int64_t id, uint32_t lane, Bucket bucket) const {
    if (kind == FileKind::Hot) return m_dir / ("hot-" + std::to_string(lane) + "-" + std::to_string(id) + ".sqlite");
    return m_dir / ("part-" + bucketName(bucket) + "-" + std::to_string(id) + ".sqlite");
}

fs::path Index::ftsPath(uint32_t lane) const { return m_dir / ("fts-" + std::to_string(lane) + ".sqlite"); }

namespace {

std::optional<std::string> readCurrent(const fs::path& root) {
    FILE* f = std::fopen((root / "CURRENT").c_str(), "rb");
    if (!f) return std::nullopt;
    char buf[64] = {};
    const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    std::string g(buf, n);
    while (!g.empty() && (g.back() == '\n' || g.back() == '\r' || g.back() == ' ')) g.pop_back();
    if (g.size() < 2 || g[0] != 'g' || g.find_first_not_of("0123456789", 1) != std::string::npos) return std::nullopt;
    return g;
}

Expected<void> writeCurrent(const fs::path& root, const std::string& generation) {
    const fs::path tmp = root / "CURRENT.tmp";
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) return makeError("io", "cannot write " + tmp.string());
    const std::string line = generation + "\n";
    const bool ok = std::fwrite(line.data(), 1, line.size(), f) == line.size();
    std::fclose(f);
    if (!ok) return makeError("io", "cannot write " + tmp.string());
    if (auto r = syncPath(tmp); !r) return r;
    std::error_code ec;
    fs::rename(tmp, root / "CURRENT", ec);
    if (ec) return makeError("io", "cannot replace " + (root / "CURRENT").string() + ": " + ec.message());
    return syncPath(root, true);
}

uint64_t generationNumber(const std::string& g) { return g.size() > 1 ? std::strtoull(g.c_str() + 1, nullptr, 10) : 0; }

}  // namespace

bool Index::exists(const fs::path& root) {
    auto g = readCurrent(root);
    std::error_code ec;
    return g && fs::exists(root / *g / "catalog.sqlite", ec);
}

Expected<std::shared_ptr<Index>> Index::open(const fs::path& root, IndexOptions opts, observe::MetricsRegistry* metrics) {
    if (auto existing = findOpen(root)) {
        if (!opts.read_only) return makeError("locked", "the index " + root.string() + " is already open for writing");
        return existing;
    }
    std::error_code ec;
    auto current = readCurrent(root);
    if (!current) {
        if (opts.read_only) return makeError("schema", "no index at " + root.string());
        fs::create_directories(root, ec);
        if (ec) return makeError("io", "cannot create " + root.string() + ": " + ec.message());
        current = "g1";
        fs::remove_all(root / *current, ec);
        fs::create_directories(root / *current, ec);
        if (ec) return makeError("io", "cannot create " + (root / *current).string() + ": " + ec.message());
        if (auto r = writeCurrent(root, *current); !r) return r.error();
    }
    if (!opts.read_only) {
        // Generations that are not current: a rebuild that did not finish, or one replaced.
        for (const auto& entry : fs::directory_iterator(root, ec)) {
            const std::string name = entry.path().filename().string();
            if (entry.is_directory() && name.size() > 1 && name[0] == 'g' && name != *current &&
                name.find_first_not_of("0123456789", 1) == std::string::npos) {
                std::error_code e2;
                fs::remove_all(entry.path(), e2);
                qCInfo(lcIndex).noquote() << "index: removed" << QString::fromStdString(entry.path().string())
                                          << "(a generation that is not in use)";
            }
        }
        fs::remove(root / "CURRENT.tmp", ec);
    }
    auto idx = openAt(root, *current, opts, metrics);
    if (!idx) return idx;
    if (!opts.read_only) {
        // Readers opened by path in this process share the writable index (and its snapshots).
        std::lock_guard lock(g_registryMutex);
        registry()[registryKey(root)] = *idx;
    }
    return idx;
}

Expected<std::shared_ptr<Index>> Index::createGeneration(const fs::path& root, IndexOptions opts,
                                                         observe::MetricsRegistry* metrics) {
    std::error_code ec;
    fs::create_directories(root, ec);
    uint64_t next = 1;
    if (auto cur = readCurrent(root)) next = generationNumber(*cur) + 1;
    for (const auto& entry : fs::directory_iterator(root, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.size() > 1 && name[0] == 'g') next = std::max(next, generationNumber(name) + 1);
    }
    const std::string gen = "g" + std::to_string(next);
    fs::remove_all(root / gen, ec);
    fs::create_directories(root / gen, ec);
    if (ec) return makeError("io", "cannot create " + (root / gen).string() + ": " + ec.message());
    opts.read_only = false;
    return openAt(root, gen, opts, metrics);
}

Expected<std::shared_ptr<Index>> Index::openAt(const fs::path& root, const std::string& generation, IndexOptions opts,
                                               observe::MetricsRegistry* metrics) {
    std::shared_ptr<Index> idx(new Index(root, root / generation, opts, metrics));
    if (auto r = idx->openCatalog(); !r) return r.error();
    if (auto r = idx->loadFiles(); !r) return r.error();
    if (!opts.read_only)
        if (auto r = idx->applyFtsOption(); !r) return r.error();
    if (metrics) idx->registerMetrics();
    return idx;
}

Expected<void> Index::promote(const std::shared_ptr<Index>& replaced) {
    if (auto r = writeCurrent(m_root, m_dir.filename().string()); !r) return r;
    {
        std::lock_guard lock(g_registryMutex);
        registry()[registryKey(m_root)] = shared_from_this();
    }
    if (replaced && replaced.get() != this) {
        {
            std::lock_guard lock(replaced->m_replacedMutex);
            replaced->m_replacement = shared_from_this();
        }
        replaced->m_superseded.store(true);
    }
    return {};
}

std::shared_ptr<Index> Index::replacement() const {
    std::lock_guard lock(m_replacedMutex);
    return m_replacement;
}

void Index::registerMetrics() {
    observe::MetricsRegistry* metrics = m_metrics;
    m_indexErrors = &metrics->counter("archivist_write_errors_total", "Failed commit attempts (retried)",
                                      {{"stage", "index"}});
    std::weak_ptr<Index> weak = weak_from_this();
    auto gauge = [metrics, weak, this](const std::string& name, const std::string& help, const observe::Labels& labels,
                                       auto fn) {
        metrics->gaugeFn(
            name, help, labels,
            [weak, fn] {
                auto i = weak.lock();
                return i ? double(fn(*i)) : 0.0;
            },
            this);
    };
    gauge("archivist_index_parts", "Immutable parts in the index", {}, [](const Index& i) { return i.gauges().parts; });
    gauge("archivist_index_hot_files", "Hot files (active and frozen) in the index", {},
          [](const Index& i) { return i.gauges().hot_files; });
    gauge("archivist_index_filter_bytes", "Memory held by the parts' id filters", {},
          [](const Index& i) { return i.gauges().filter_bytes; });
    gauge("archivist_index_flushes", "Hot files flushed into parts since start", {},
          [](const Index& i) { return i.m_flushes.load(); });
    gauge("archivist_index_merges", "Part merges since start", {}, [](const Index& i) { return i.m_merges.load(); });
    gauge("archivist_index_flushed_events", "Events written into parts by flushes since start", {},
          [](const Index& i) { return i.m_flushedEvents.load(); });
    gauge("archivist_index_merged_events",
          "Events written by part merges since start, once per merge each goes through (write amplification)", {},
          [](const Index& i) { return i.m_mergedEvents.load(); });
    const std::string cpuHelp = "CPU time of the index's background jobs since start, by job (flush, merge)";
    gauge("archivist_index_background_cpu_seconds", cpuHelp, {{"job", "flush"}},
          [](const Index& i) { return double(i.m_flushCpuUs.load()) / 1e6; });
    gauge("archivist_index_background_cpu_seconds", cpuHelp, {{"job", "merge"}},
          [](const Index& i) { return double(i.m_mergeCpuUs.load()) / 1e6; });
    gauge("archivist_index_stalled", "1 while a writer lane waits for the flusher (backpressure)", {},
          [](const Index& i) { return i.m_stalled.load() ? 1 : 0; });
    gauge("archivist_index_descriptor_shortfalls",
          "Times an index reader found the process out of file descriptors and closed half its connections", {},
          [](const Index&) { return FileConnections::totals().descriptor_shortfalls; });
}

Expected<void> Index::openCatalog() {
    const fs::path path = m_dir / "catalog.sqlite";
    std::error_code ec;
    const bool existed = fs::exists(path, ec);
    if (m_opts.read_only && !existed) return makeError("schema", "no index at " + m_dir.string());
    auto db = Db::open(path, m_opts.read_only ? Db::Mode::ReadOnly : Db::Mode::Create);
    if (!db) return db.error();
    m_catalog = std::move(*db);
    if (!m_opts.read_only)
        if (auto r = m_catalog.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY;"); !r)
            return r;
    if (existed)
        if (auto r = m_catalog.quickCheck(); !r) return r;
    auto version = m_catalog.scalar("PRAGMA user_version");
    if (!version) return version.error();
    const int64_t v = version->value_or(0);
    if (v > kSchemaVersion)
        return makeError("schema", "index was written by a newer Archivist (schema version " + std::to_string(v) +
                                       ", this build knows up to " + std::to_string(kSchemaVersion) + ")");
    if (v == 0) {
        if (m_opts.read_only) return makeError("schema", "the index at " + m_dir.string() + " is not initialised");
        auto txn = Txn::begin(m_catalog);
        if (!txn) return txn.error();
        if (auto r = m_catalog.exec(kCatalogSql); !r) return r;
        if (auto r = m_catalog.exec(kRollupTablesSql); !r) return r;
        if (auto r = setMeta(m_catalog, "rollups", kRollupVersion); !r) return r;
        const uint32_t lanes = std::max<uint32_t>(1, m_opts.lanes);
        const int64_t nowS = wallMs() / 1000;
        for (auto [k, val] : {std::pair<const char*, int64_t>{"lanes", lanes}, {"created_at", nowS}, {"fts", m_opts.fts.value_or(true)},
                              {"seq_next", 1}, {"fts_backfill_pending", 0}})
            if (auto r = setMeta(m_catalog, k, val); !r) return r;
        if (auto r = m_catalog.exec("PRAGMA user_version = 3"); !r) return r;
        if (auto r = txn->commit(); !r) return r;
    } else if (v < kSchemaVersion) {
        return makeError("schema", "unexpected catalog version " + std::to_string(v));
    } else if (!m_opts.read_only) {
        // An index from before the rollups: the tables exist from now on, but without meta
        // "rollups" readers say that `archivist reindex` is needed to fill them.
        if (auto r = m_catalog.exec(kRollupTablesSql); !r) return r;
    }
    auto lanes = metaInt(m_catalog, "lanes");
    auto fts = metaInt(m_catalog, "fts");
    auto seq = metaInt(m_catalog, "seq_next");
    if (!lanes) return lanes.error();
    if (!fts) return fts.error();
    if (!seq) return seq.error();
    m_lanes = uint32_t(std::clamp<int64_t>(lanes->value_or(1), 1, 16));
    m_fts.store(fts->value_or(0) != 0);
    m_seqNext = m_seqReserved = uint64_t(std::max<int64_t>(1, seq->value_or(1)));
    return {};
}

Expected<void> Index::loadFiles() {
    // Crash leftovers first: outputs that were never registered and inputs already replaced.
    if (!m_opts.read_only) {
        auto st = m_catalog.prepare(
            "SELECT id, kind, lane, bucket, state FROM files WHERE state IN ('building','retired')");
        if (!st) return st.error();
        size_t unfinished = 0, replaced = 0;
        int rc;
        while ((rc = st->step()) == SQLITE_ROW) {
            const FileKind kind = st->text(1) == "hot" ? FileKind::Hot : FileKind::Part;
            removeWithJournals(filePath(kind, st->i64(0), uint32_t(st->i64(2)), Bucket(st->i64(3))));
            ++(st->text(4) == "building" ? unfinished : replaced);
        }
        if (rc != SQLITE_DONE) return m_catalog.error("read files");
        st = Stmt();
        // Outputs never registered: the index closed or crashed during their flush or merge (a
        // close stops a merge where it is). Replaced inputs: still in use when the index closed.
        if (unfinished)
            qCInfo(lcIndex) << "index: removed" << unfinished
                            << "outputs of a flush or merge that did not finish (the index closed or crashed during it)";
        if (replaced)
            qCInfo(lcIndex) << "index: removed" << replaced << "files a flush or merge had replaced";
        if (unfinished + replaced)
            if (auto r = m_catalog.exec("DELETE FROM files WHERE state IN ('building','retired')"); !r) return r;
    }
    auto st = m_catalog.prepare(
        "SELECT id, kind, state, lane, bucket, level, events FROM files WHERE state IN ('active','frozen','live') "
        "ORDER BY id DESC");
    if (!st) return st.error();
    std::vector<FilePtr> files;
    m_activeHot.assign(m_lanes, nullptr);
    {
        // Where a bulk build left the archive indexed; hot files record later progress.
        auto seg = metaInt(m_catalog, "base_watermark_segment");
        auto off = metaInt(m_catalog, "base_watermark_offset");
        if (!seg) return seg.error();
        if (!off) return off.error();
        m_laneWatermark.assign(m_lanes, archive::Watermark{uint32_t(seg->value_or(0)), uint64_t(off->value_or(0))});
    }
    uint64_t checkedBytes = 0;
    int rc;
    while ((rc = st->step()) == SQLITE_ROW) {
        auto f = std::make_shared<IndexFile>();
        f->id = st->i64(0);
        f->kind = st->text(1) == "hot" ? FileKind::Hot : FileKind::Part;
        const std::string state(st->text(2));
        f->lane = uint32_t(st->i64(3));
        f->bucket = Bucket(st->i64(4));
        f->level = int(st->i64(5));
        f->events = uint64_t(st->i64(6));
        f->path = filePath(f->kind, f->id, f->lane, f->bucket);
        std::error_code ec;
        if (!fs::exists(f->path, ec))
            return makeError("index_corrupt", "index file " + f->path.string() + " is listed in the catalog but missing");
        if (f->kind == FileKind::Hot && f->lane >= m_lanes)
            return makeError("index_corrupt", "hot file " + f->path.string() + " belongs to lane " +
                                                  std::to_string(f->lane) + " of " + std::to_string(m_lanes));
        f->bytes = fileBytes(f->path);
        auto db = Db::open(f->path, f->kind == FileKind::Part ? Db::Mode::ReadOnly : walMode(), f->kind == FileKind::Part);
        if (!db) return db.error();
        if (checkedBytes + f->bytes <= kQuickCheckBudgetBytes) {
            checkedBytes += f->bytes;
            if (auto r = db->quickCheck(); !r) return r.error();
        }
        if (f->kind == FileKind::Part) {
            f->filter = readFilter(*db);
            if (!f->filter) return makeError("index_corrupt", "part " + f->path.string() + " has no readable id filter");
            f->orphans = readOrphanFilter(*db);  // none in parts built before it existed
            if (auto r = readCreatedRange(*db, *f); !r) return r;
        } else {
            auto seg = metaInt(*db, "watermark_segment");
            auto off = metaInt(*db, "watermark_offset");
            auto events = metaInt(*db, "event_count");
            if (!seg) return seg.error();
            if (!off) return off.error();
            if (!events) return events.error();
            f->events = uint64_t(events->value_or(0));
            f->bloom = std::make_shared<HotIdBloom>(std::max<uint64_t>(m_opts.hot_max_events, f->events.load()));
            {
                auto ids = db->prepare("SELECT id FROM events");
                if (!ids) return ids.error();
                int irc;
                while ((irc = ids->step()) == SQLITE_ROW) {
                    protocol::Bytes32 id{};
                    if (auto b = ids->blob(0); b.size() == 32) std::memcpy(id.data(), b.data(), 32);
                    f->bloom->add(id);
                }
                if (irc != SQLITE_DONE) return db->error("read the ids of " + f->path.filename().string());
            }
            const archive::Watermark wm{uint32_t(seg->value_or(0)), uint64_t(off->value_or(0))};
            archive::Watermark& lw = m_laneWatermark[f->lane];
            if (wm.segment > lw.segment || (wm.segment == lw.segment && wm.offset > lw.offset)) lw = wm;
            if (state == "active") {
                if (m_activeHot[f->lane])
                    return makeError("index_corrupt", "lane " + std::to_string(f->lane) + " has two active hot files");
                m_activeHot[f->lane] = f;
            } else {
                auto b = db->prepare("SELECT bucket FROM buckets ORDER BY bucket");
                if (!b) return b.error();
                while (b->step() == SQLITE_ROW) f->hot_buckets.push_back(Bucket(b->i64(0)));
            }
        }
        files.push_back(f);
    }
    if (rc != SQLITE_DONE) return m_catalog.error("read files");
    std::lock_guard lock(m_mutex);
    for (auto& f : files) m_live[f->id] = f;
    publishLocked();
    return {};
}

Expected<FilePtr> Index::createHot(uint32_t lane, archive::Watermark wm, uint64_t fts_batch) {
    // m_mutex held.
    if (auto r = m_catalog.exec("INSERT INTO files(kind, state, lane, created_ms) VALUES ('hot','building'," +
                                std::to_string(lane) + "," + std::to_string(wallMs()) + ")");
        !r)
        return r.error();
    auto f = std::make_shared<IndexFile>();
    f->id = sqlite3_last_insert_rowid(m_catalog.get());
    f->kind = FileKind::Hot;
    f->lane = lane;
    f->bloom = std::make_shared<HotIdBloom>(m_opts.hot_max_events);
    f->path = filePath(FileKind::Hot, f->id, lane, 0);
    removeWithJournals(f->path);
    auto db = Db::open(f->path, Db::Mode::Create);
    if (!db) return db.error();
    if (auto r = db->exec("PRAGMA page_size=" + std::to_string(m_opts.hot_page_kib * 1024) + "; PRAGMA journal_mode=WAL; BEGIN;"); !r)
        return r.error();
    if (auto r = db->exec(std::string(kEventTablesSql) + kHotTagsSql + kIdIndexSql); !r) return r.error();
    if (auto r = db->exec(kRollupTablesSql); !r) return r.error();
    for (auto [k, v] : {std::pair<const char*, int64_t>{"kind", 0}, {"lane", lane}, {"file", f->id},
                        {"watermark_segment", wm.segment}, {"watermark_offset", int64_t(wm.offset)},
                        {"event_count", 0}, {"fts_batch", int64_t(fts_batch)}})
        if (auto r = setMeta(*db, k, v); !r) return r.error();
    if (auto r = db->exec("COMMIT; PRAGMA user_version = 3;"); !r) return r.error();
    db->close();
    return f;
}

Expected<void> Index::applyFtsOption() {
    std::lock_guard lock(m_mutex);
    if (m_opts.fts && *m_opts.fts != m_fts.load()) {
        const bool want = *m_opts.fts;
        if (!want)
            for (uint32_t l = 0; l < m_lanes; ++l) removeWithJournals(ftsPath(l));
        bool anyEvents = false;
        for (const auto& [id, f] : m_live)
            if (f->events.load()) anyEvents = true;
        if (auto r = setMeta(m_catalog, "fts", want); !r) return r;
        if (auto r = setMeta(m_catalog, "fts_backfill_pending", want && anyEvents); !r) return r;
        m_fts.store(want);
        if (want) qCInfo(lcIndex) << "index: full-text search turned on";
        else qCInfo(lcIndex) << "index: full-text search turned off; its files were removed";
    }
    if (m_fts.load())
        for (uint32_t l = 0; l < m_lanes; ++l) {
            // Always (IF NOT EXISTS): a crash may have left the file without its tables.
            auto db = Db::open(ftsPath(l), Db::Mode::Create);
            if (!db) return db.error();
            if (auto r = registerTokenizer(db->get()); !r) return r;
            if (auto r = db->exec(std::string("PRAGMA journal_mode=WAL;") + kFtsCreateSql); !r) return r;
        }
    publishLocked();
    return {};
}

Expected<void> Index::start() {
    if (m_opts.read_only) return makeError("read_only", "the index was opened read-only");
    if (!m_laneObjs.empty()) return {};
    {
        std::lock_guard lock(m_mutex);
        for (uint32_t l = 0; l < m_lanes; ++l) {
            if (m_activeHot[l]) continue;
            auto f = createHot(l, m_laneWatermark[l], 0);
            if (!f) return f.error();
            if (auto r = m_catalog.exec("UPDATE files SET state = 'active' WHERE id = " + std::to_string((*f)->id)); !r)
                return r;
            m_activeHot[l] = *f;
            m_live[(*f)->id] = *f;
        }
        publishLocked();
    }
    for (uint32_t l = 0; l < m_lanes; ++l) {
        uint64_t batch = 0;
        if (m_fts.load()) {
            auto db = Db::open(ftsPath(l), walMode());
            if (!db) return db.error();
            auto b = metaInt(*db, "applied_batch");
            if (!b) return b.error();
            batch = uint64_t(b->value_or(0));
        }
        // The lane numbers its batches on from the highest any of its hot files recorded.
        for (const auto& [id, f] : m_live) {
            if (f->kind != FileKind::Hot || f->lane != l) continue;
            auto db = Db::open(f->path, walMode());
            if (!db) return db.error();
            auto b = metaInt(*db, "fts_batch");
            if (!b) return b.error();
            batch = std::max(batch, uint64_t(b->value_or(0)));
        }
        auto lane = std::make_unique<Lane>(*this, l, m_activeHot[l], m_laneWatermark[l], batch);
        if (auto r = lane->start(); !r) return r;
        m_laneObjs.push_back(std::move(lane));
    }
    const uint32_t threads = std::max<uint32_t>(1, m_opts.background_threads);
    for (uint32_t t = 0; t < threads; ++t) m_background.emplace_back([this, t, threads] { backgroundLoop(threads == 1 || t > 0); });
    if (m_metrics) {
        // The bounded structures of the index, as the console's Memory panel lists them.
        std::weak_ptr<Index> weak = weak_from_this();
        const IndexGauges now = gauges();
        for (bool cache : {false, true})
            for (const auto& q : cache ? now.caches : now.queues) {
                const std::string name = q.name;
                auto pick = [weak, name, cache](bool capacity) {
                    auto i = weak.lock();
                    if (!i) return 0.0;
                    const IndexGauges g = i->gauges();
                    for (const auto& x : cache ? g.caches : g.queues)
                        if (x.name == name) return double(capacity ? x.capacity : x.depth);
                    return 0.0;
                };
                m_metrics->gaugeFn(cache ? "archivist_cache_entries" : "archivist_queue_depth",
                                   cache ? "Entries in a bounded cache" : "Items (batches) waiting in a bounded queue",
                                   {{cache ? "cache" : "queue", name}}, [pick] { return pick(false); }, this);
                m_metrics->gaugeFn(cache ? "archivist_cache_capacity" : "archivist_queue_capacity",
                                   cache ? "Capacity of a bounded cache" : "Capacity of a bounded queue",
                                   {{cache ? "cache" : "queue", name}}, [pick] { return pick(true); }, this);
            }
    }
    return {};
}

void Index::close() {
    if (m_closed) return;
    m_closed = true;
    {
        // Not found by path any more: the next open of this directory opens it afresh.
        std::lock_guard lock(g_registryMutex);
        auto it = registry().find(registryKey(m_root));
        if (it != registry().end()) {
            auto cur = it->second.lock();
            if (!cur || cur.get() == this) registry().erase(it);
        }
    }
    for (auto& l : m_laneObjs) l->stop();
    for (auto& l : m_laneObjs) l->join();
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_changed.notify_all();
    for (auto& t : m_background)
        if (t.joinable()) t.join();
    m_background.clear();
    if (m_metrics) m_metrics->removeGaugeFns(this);
    forgetRemovedFiles();
    std::lock_guard lock(m_mutex);
    if (!m_opts.read_only) warnIfFailed(m_catalog.exec("PRAGMA wal_checkpoint(TRUNCATE)"), "checkpoint of the catalog");
}

Index::~Index() {
    close();
    {
        std::lock_guard lock(g_registryMutex);
        auto it = registry().find(registryKey(m_root));
        if (it != registry().end() && it->second.expired()) registry().erase(it);
    }
    if (m_superseded.load()) {
        // Replaced by a rebuild and no longer used by anyone: the generation goes.
        m_live.clear();
        m_snapshot.reset();
        std::error_code ec;
        fs::remove_all(m_dir, ec);
    }
}

void Index::publishLocked() {
    auto s = std::make_shared<Snapshot>();
    s->version = m_version.load() + 1;
    s->lanes = m_lanes;
    s->fts = m_fts.load();
    s->dir = m_dir;
    for (const auto& [id, f] : m_live) {
        if (f->kind == FileKind::Hot) s->hot.push_back(f);
        else s->parts[f->bucket].push_back(f);
    }
    for (auto& [b, v] : s->parts)
        std::sort(v.begin(), v.end(), [](const FilePtr& a, const FilePtr& c) { return a->events > c->events; });
    if (s->fts)
        for (uint32_t l = 0; l < m_lanes; ++l) s->fts_files.push_back(ftsPath(l));
    m_snapshot = s;
    m_version.store(s->version, std::memory_order_release);
}

SnapshotPtr Index::snapshot() const {
    std::lock_guard lock(m_mutex);
    return m_snapshot;
}

// ---------------------------------------------------------------------------------------------
// Writer side

Expected<uint64_t> Index::allocateSeq(uint64_t n) {
    std::lock_guard lock(m_mutex);
    if (m_seqNext + n > m_seqReserved) {
        const uint64_t reserve = m_seqNext + std::max(n, kSeqBlock);
        if (auto r = setMeta(m_catalog, "seq_next", int64_t(reserve)); !r) return r.error();
        m_seqReserved = reserve;
    }
    const uint64_t first = m_seqNext;
    m_seqNext += n;
    return first;
}

Expected<void> Index::recordFrame(const archive::AppendedFrame& frame) { return recordFrames({&frame, 1}); }

Expected<void> Index::recordFrames(std::span<const archive::AppendedFrame> frames) {
    if (frames.empty()) return {};
    std::lock_guard lock(m_mutex);
    std::optional<Txn> txn;
    if (frames.size() > 1) {
        auto t = Txn::begin(m_catalog);
        if (!t) return t.error();
        txn.emplace(std::move(*t));
    }
    auto st = m_catalog.prepare(
        "INSERT OR IGNORE INTO frames(segment, offset, length, events, raw_bytes, checksum) VALUES (?,?,?,?,?,?)", true);
    if (!st) return st.error();
    for (const archive::AppendedFrame& frame : frames) {
        st->reset();
        st->bind(1, frame.ref.segment)
            .bind(2, int64_t(frame.ref.offset))
            .bind(3, frame.ref.length)
            .bind(4, frame.events)
            .bind(5, int64_t(frame.raw_bytes))
            .bind(6, int64_t(frame.checksum));
        if (st->step() != SQLITE_DONE) return m_catalog.error("record frame");
    }
    if (txn) return txn->commit();
    return {};
}

Expected<uint32_t> Index::findSourceLocked(std::string_view name) {
    auto find = m_catalog.prepare("SELECT id FROM sources WHERE name = ?");
    if (!find) return find.error();
    find->bindText(1, name);
    const int rc = find->step();
    if (rc == SQLITE_ROW) return uint32_t(find->i64(0));
    if (rc != SQLITE_DONE) return m_catalog.error("read sources");
    return 0u;
}

Expected<uint32_t> Index::sourceId(std::string_view name) {
    std::lock_guard lock(m_mutex);
    auto known = findSourceLocked(name);
    if (!known || *known) return known;
    auto ins = m_catalog.prepare("INSERT INTO sources(name) VALUES (?)");
    if (!ins) return ins.error();
    ins->bindText(1, name);
    if (ins->step() != SQLITE_DONE) return m_catalog.error("insert source");
    return uint32_t(sqlite3_last_insert_rowid(m_catalog.get()));
}

Expected<uint32_t> Index::knownSourceId(std::string_view name) {
    std::lock_guard lock(m_mutex);
    return findSourceLocked(name);
}

Expected<void> Index::markSegmentSealed(uint32_t segment, uint64_t bytes, int64_t sealed_at_s) {
    std::lock_guard lock(m_mutex);
    return m_catalog.exec("INSERT OR REPLACE INTO segments(segment, sealed_at, bytes) VALUES (" +
                          std::to_string(segment) + "," + std::to_string(sealed_at_s) + "," + std::to_string(bytes) +
                          ")");
}

Expected<void> Index::submit(std::vector<LaneBatch> batches) {
    if (batches.size() != m_lanes || m_laneObjs.size() != m_lanes)
        return makeError("read_only", "the index is not accepting commits");
    const uint64_t ticket = batches.front().ticket;
    {
        std::lock_guard lock(m_doneMutex);
        m_pendingTickets.emplace_back(ticket, m_lanes);
    }
    for (uint32_t l = 0; l < m_lanes; ++l) {
        if (!m_laneObjs[l]->push(std::move(batches[l]))) return makeError("io", "index lane " + std::to_string(l) + " stopped");
    }
    return {};
}

void Index::laneCommitted(uint32_t, uint64_t ticket) {
    {
        std::lock_guard lock(m_doneMutex);
        for (auto& [t, left] : m_pendingTickets)
            if (t == ticket) {
                if (left) --left;
                break;
            }
    }
    m_doneCv.notify_all();
}

std::vector<uint64_t> Index::completed(std::chrono::milliseconds wait) {
    std::unique_lock lock(m_doneMutex);
    auto ready = [&] { return !m_pendingTickets.empty() && m_pendingTickets.front().second == 0; };
    if (wait.count() > 0) m_doneCv.wait_for(lock, wait, ready);
    std::vector<uint64_t> out;
    while (ready()) {
        out.push_back(m_pendingTickets.front().first);
        m_pendingTickets.pop_front();
    }
    return out;
}

archive::Watermark Index::watermark() const {
    if (m_laneObjs.empty()) {
        std::lock_guard lock(m_mutex);
        archive::Watermark wm = m_laneWatermark.empty() ? archive::Watermark{} : m_laneWatermark.front();
        for (const auto& w : m_laneWatermark)
            if (w.segment < wm.segment || (w.segment == wm.segment && w.offset < wm.offset)) wm = w;
        return wm;
    }
    archive::Watermark wm = m_laneObjs.front()->watermark();
    for (const auto& l : m_laneObjs) {
        const auto w = l->watermark();
        if (w.segment < wm.segment || (w.segment == wm.segment && w.offset < wm.offset)) wm = w;
    }
    return wm;
}

uint64_t Index::eventCount() const {
    auto s = snapshot();
    uint64_t n = 0;
    for (const auto& f : s->hot) n += f->events.load();
    for (const auto& [b, v] : s->parts)
        for (const auto& f : v) n += f->events.load();
    return n;
}

void Index::abandonRetries() {
    m_abandon.store(true);
    m_changed.notify_all();
}

std::string Index::lastError() const {
    std::lock_guard lock(m_errorMutex);
    return m_lastError;
}

std::string Index::lastErrorCode() const {
    std::lock_guard lock(m_errorMutex);
    return m_lastErrorCode;
}

void Index::noteError(const std::string& where, const Error& e) {
    if (m_indexErrors) m_indexErrors->inc();
    std::lock_guard lock(m_errorMutex);
    if (m_lastError != where + ": " + e.message)
        qCWarning(lcIndex).noquote() << QString::fromStdString(where) << "failed (retrying):"
                                     << QString::fromStdString(e.message);
    m_lastError = where + ": " + e.message;
    m_lastErrorCode = e.code;
}

// ---------------------------------------------------------------------------------------------
// Hot files

void Index::waitForFlushRoom(uint32_t lane) {
    std::unique_lock lock(m_mutex);
    auto frozen = [&] {
        uint32_t n = 0;
        for (const auto& [id, f] : m_live)
            if (f->kind == FileKind::Hot && f->lane == lane && f != m_activeHot[lane]) ++n;
        return n;
    };
    while (frozen() >= m_opts.max_frozen_per_lane && !m_stopping && !m_abandon.load()) {
        m_stalled.store(true);
        m_changed.wait_for(lock, std::chrono::milliseconds(200));
    }
    m_stalled.store(false);
}

Expected<FilePtr> Index::rotateHot(uint32_t lane, const FilePtr& active, archive::Watermark wm, uint64_t fts_batch) {
    std::vector<Bucket> buckets;
    {
        auto db = Db::open(active->path, walMode());
        if (!db) return db.error();
        auto b = db->prepare("SELECT bucket FROM buckets ORDER BY bucket");
        if (!b) return b.error();
        int rc;
        while ((rc = b->step()) == SQLITE_ROW) buckets.push_back(Bucket(b->i64(0)));
        if (rc != SQLITE_DONE) return db->error("read buckets");
    }
    std::lock_guard lock(m_mutex);
    auto next = createHot(lane, wm, fts_batch);
    if (!next) return next.error();
    {
        auto txn = Txn::begin(m_catalog);
        if (!txn) return txn.error();
        if (auto r = m_catalog.exec("UPDATE files SET state = 'frozen', events = " + std::to_string(active->events.load()) +
                                    " WHERE id = " + std::to_string(active->id));
            !r)
            return r.error();
        if (auto r = m_catalog.exec("UPDATE files SET state = 'active' WHERE id = " + std::to_string((*next)->id)); !r)
            return r.error();
        if (auto r = txn->commit(); !r) return r.error();
    }
    active->hot_buckets = std::move(buckets);
    m_activeHot[lane] = *next;
    m_live[(*next)->id] = *next;
    publishLocked();
    m_changed.notify_all();
    return *next;
}

Expected<void> Index::askEveryLane(uint64_t (Lane::*request)(), uint64_t (Lane::*handled)() const) {
    std::vector<uint64_t> tickets;
    for (auto& l : m_laneObjs) tickets.push_back(((*l).*request)());
    // Each lane acts on it at its next wake-up (within its 200 ms poll).
    for (size_t i = 0; i < m_laneObjs.size(); ++i)
        while (((*m_laneObjs[i]).*handled)() < tickets[i]) {
            if (m_abandon.load() || m_laneFailed.load()) return makeError("io", "an index lane stopped");
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    return {};
}

Expected<void> Index::freezeAll() { return askEveryLane(&Lane::requestFreeze, &Lane::freezeHandled); }

Expected<void> Index::commitFullText() { return askEveryLane(&Lane::requestFtsCommit, &Lane::ftsCommitHandled); }

// ---------------------------------------------------------------------------------------------
// Background: flushes and merges

void Index::setCompactionListener(std::function<void(const std::string&)> fn) {
    std::lock_guard lock(m_mutex);
    m_compactionListener = std::move(fn);
}

void Index::setBeforeRegisterHook(std::function<void(const std::string&)> fn) {
    std::lock_guard lock(m_mutex);
    m_beforeRegister = std::move(fn);
}

size_t Index::mergeablePartsLocked(Bucket b) const {
    size_t n = 0;
    for (const auto& [id, f] : m_live)
        if (f->kind == FileKind::Part && f->bucket == b && f->events.load() < m_opts.part_cap_events / 2) ++n;
    return n;
}

int mergeSizeTier(uint64_t events, uint64_t hot_max_events, uint32_t fanin) {
    // Tier 0 below `unit` events, then tier k for [unit·fanin^(k−1), unit·fanin^k). The tiers are
    // geometric down to small parts (a hot file spread over many months gives each month a small
    // part, and those merge with their own size, not into the growing output of earlier merges),
    // and a part of one full hot file sits mid-tier (×fan-in^0.5 from either edge), so hot files
    // frozen a little early or late share its tier.
    fanin = std::max<uint32_t>(2, fanin);
    const double unit = double(std::max<uint64_t>(1, hot_max_events)) / std::pow(double(fanin), 3.5);
    const double x = double(events) / unit;
    return x < 1.0 ? 0 : 1 + int(std::floor(std::log(x) / std::log(double(fanin))));
}

std::optional<std::pair<Bucket, std::vector<FilePtr>>> Index::pickMergeLocked(bool urgent_only) const {
    const uint32_t fanin = std::max<uint32_t>(2, m_opts.merge_fanin);
    std::map<Bucket, std::vector<FilePtr>> byBucket;
    for (const auto& [id, f] : m_live)
        if (f->kind == FileKind::Part && !m_busy.count(id) && f->events.load() < m_opts.part_cap_events / 2)
            byBucket[f->bucket].push_back(f);
    std::optional<std::pair<Bucket, std::vector<FilePtr>>> best;
    size_t bestCount = 0;
    for (auto& [b, parts] : byBucket) {
        if (parts.size() < 2) continue;
        std::sort(parts.begin(), parts.end(), [](const FilePtr& x, const FilePtr& y) {
            return x->events.load() != y->events.load() ? x->events.load() < y->events.load() : x->id < y->id;
        });
        const bool urgent = parts.size() + 1 >= m_opts.max_parts_per_bucket;
        std::vector<FilePtr> chosen;
        if (urgent) {
            chosen.assign(parts.begin(), parts.begin() + std::min<size_t>({parts.size(), fanin, PartBuilder::kMaxMergeInputs}));
        } else if (!urgent_only) {
            // Size tiers ×fan-in (mergeSizeTier): merge once a tier holds fan-in parts.
            std::map<int, std::vector<FilePtr>> tiers;
            for (const auto& p : parts)
                tiers[mergeSizeTier(p->events.load(), m_opts.hot_max_events, fanin)].push_back(p);
            for (auto& [t, v] : tiers)
                if (v.size() >= fanin) {
                    chosen.assign(v.begin(), v.begin() + std::min<size_t>({v.size(), 2 * fanin - 1, PartBuilder::kMaxMergeInputs}));
                    break;
                }
        }
        // No output beyond the cap: the smallest first, as many as fit.
        uint64_t total = 0;
        size_t fit = 0;
        while (fit < chosen.size() && total + chosen[fit]->events.load() <= m_opts.part_cap_events)
            total += chosen[fit++]->events.load();
        chosen.resize(fit);
        if (chosen.size() >= 2 && (urgent ? parts.size() + 1000 : parts.size()) > bestCount) {
            bestCount = urgent ? parts.size() + 1000 : parts.size();
            best = std::make_pair(b, std::move(chosen));
        }
    }
    return best;
}

namespace {

// CPU time this thread has used, in µs.
uint64_t threadCpuUs() {
    timespec ts{};
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
    return uint64_t(ts.tv_sec) * 1000000u + uint64_t(ts.tv_nsec) / 1000u;
}

}  // namespace

bool Index::runOneJob(bool may_merge) {
    std::unique_lock lock(m_mutex);
    if (m_stopping.load()) return false;
    // Flushes first: a frozen hot file whose buckets all have room for another part.
    FilePtr flushFile;
    bool flushBlocked = false;
    for (const auto& [id, f] : m_live) {
        if (f->kind != FileKind::Hot || f == m_activeHot[f->lane] || m_busy.count(id)) continue;
        bool room = true;
        for (Bucket b : f->hot_buckets)
            if (mergeablePartsLocked(b) >= m_opts.max_parts_per_bucket) room = false;
        if (!room) {
            flushBlocked = true;
            continue;
        }
        flushFile = f;
        break;
    }
    if (flushFile) {
        m_busy.insert(flushFile->id);
        lock.unlock();
        const uint64_t cpu0 = threadCpuUs();
        auto r = flush(flushFile);
        m_flushCpuUs += threadCpuUs() - cpu0;
        lock.lock();
        m_busy.erase(flushFile->id);
        if (!r && r.error().code != "cancelled") {
            lock.unlock();
            noteError("flush of " + flushFile->path.filename().string(), r.error());
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
            lock.lock();
        }
        m_changed.notify_all();
        return true;
    }
    const uint32_t maxMerging = std::max<uint32_t>(1, m_opts.background_threads - 1);
    if (!may_merge || uint32_t(m_merging.load()) >= maxMerging) return false;
    auto job = pickMergeLocked(false);
    if (!job) return false;
    (void)flushBlocked;
    for (const auto& f : job->second) m_busy.insert(f->id);
    ++m_merging;
    lock.unlock();
    const uint64_t cpu0 = threadCpuUs();
    auto r = merge(job->first, job->second);
    m_mergeCpuUs += threadCpuUs() - cpu0;
    lock.lock();
    --m_merging;
    for (const auto& f : job->second) m_busy.erase(f->id);
    if (!r && r.error().code != "cancelled") {
        lock.unlock();
        noteError("merge in " + bucketName(job->first), r.error());
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        lock.lock();
    }
    m_changed.notify_all();
    return true;
}

void Index::backgroundLoop(bool may_merge) {
    setThreadName(may_merge ? "ix-merge" : "ix-flush");
    lowerThisThreadPriority();  // the console's GUI thread comes first
    for (;;) {
        forgetRemovedFiles();
        if (m_stopping.load()) return;
        if (runOneJob(may_merge)) continue;
        std::unique_lock lock(m_mutex);
        if (m_stopping) return;
        m_changed.wait_for(lock, std::chrono::milliseconds(250));
        if (m_stopping) return;
    }
}

void Index::forgetRemovedFiles() {
    std::vector<int64_t> ids;
    {
        std::lock_guard lock(*m_removedMutex);
        ids.swap(*m_removed);
    }
    if (ids.empty()) return;
    std::string list;
    for (int64_t id : ids) list += (list.empty() ? "" : ",") + std::to_string(id);
    std::lock_guard lock(m_mutex);
    if (m_opts.read_only) return;
    if (auto r = m_catalog.exec("DELETE FROM files WHERE state = 'retired' AND id IN (" + list + ")"); !r)
        qCWarning(lcIndex).noquote() << "cannot forget removed index files:" << QString::fromStdString(r.error().message);
}

void Index::abandonBuilding(const std::vector<int64_t>& ids) {
    if (ids.empty()) return;
    std::string list;
    for (int64_t id : ids) list += (list.empty() ? "" : ",") + std::to_string(id);
    std::lock_guard lock(m_mutex);
    // A row left here is a "building" leftover the next open removes with its file.
    warnIfFailed(m_catalog.exec("DELETE FROM files WHERE state = 'building' AND id IN (" + list + ")"),
                 "forgetting abandoned part builds");
}

Expected<int64_t> Index::reserveFileId(FileKind kind, uint32_t lane, Bucket bucket, int level) {
    std::lock_guard lock(m_mutex);
    if (auto r = m_catalog.exec(std::string("INSERT INTO files(kind, state, lane, bucket, level, created_ms) VALUES ('") +
                                kindName(kind) + "','building'," + std::to_string(lane) + "," + std::to_string(bucket) +
                                "," + std::to_string(level) + "," + std::to_string(wallMs()) + ")");
        !r)
        return r.error();
    return sqlite3_last_insert_rowid(m_catalog.get());
}

namespace {
struct Output {
    int64_t id;
    Bucket bucket;
    int level;
    BuiltPart built;
};
}  // namespace

// Registers built parts and retires inputs in ONE catalog transaction (synchronous=FULL: durable
// before the inputs can go), then publishes the new snapshot.
// A flush folds the hot file's rollup deltas (`rollups`) into the catalog's totals in the same
// transaction that retires the hot file: at every moment they count in exactly one place.
static Expected<void> commitFileChange(Db& catalog, const std::vector<Output>& outputs,
                                       const std::vector<FilePtr>& retire, const RollupDelta* rollups = nullptr) {
    if (auto r = catalog.exec("PRAGMA synchronous=FULL"); !r) return r;
    auto txn = Txn::begin(catalog);
    if (!txn) return txn.error();
    if (rollups)
        if (auto r = applyRollupDelta(catalog, *rollups); !r) return r;
    for (const auto& o : outputs)
        if (auto r = catalog.exec("UPDATE files SET state = 'live', events = " + std::to_string(o.built.events) +
                                  " WHERE id = " + std::to_string(o.id));
            !r)
            return r;
    for (const auto& f : retire)
        if (auto r = catalog.exec("UPDATE files SET state = 'retired' WHERE id = " + std::to_string(f->id)); !r) return r;
    auto r = txn->commit();
    (void)catalog.exec("PRAGMA synchronous=NORMAL");
    return r;
}

// The one bucket every row, tag and sighting of a hot file belongs to; nullopt when there are
// several (or no rows).
static Expected<std::optional<Bucket>> singleBucketOf(Db& db) {
    auto range = [&](const char* sql) -> Expected<std::optional<std::pair<int64_t, int64_t>>> {
        auto st = db.prepare(sql);
        if (!st) return st.error();
        const int rc = st->step();
        if (rc != SQLITE_ROW) return db.error("bucket range");
        if (sqlite3_column_type(st->get(), 0) == SQLITE_NULL) return std::optional<std::pair<int64_t, int64_t>>();
        return std::optional<std::pair<int64_t, int64_t>>(std::make_pair(st->i64(0), st->i64(1)));
    };
    auto rows = range("SELECT min(rk), max(rk) FROM events");
    if (!rows) return rows.error();
    if (!*rows) return std::optional<Bucket>();
    const Bucket b = bucketOfRk((*rows)->first);
    if (bucketOfRk((*rows)->second) != b) return std::optional<Bucket>();
    for (const char* sql : {"SELECT min(rk), max(rk) FROM sightings", "SELECT min(rk), max(rk) FROM tags"}) {
        auto r = range(sql);
        if (!r) return r.error();
        if (*r && (bucketOfRk((*r)->first) != b || bucketOfRk((*r)->second) != b)) return std::optional<Bucket>();
    }
    return std::optional<Bucket>(b);
}

Expected<void> Index::flush(const FilePtr& hot) {
    auto dbr = Db::open(hot->path, walMode());
    if (!dbr) return dbr.error();
    Db& db = *dbr;
    RollupDelta rollups;
    {
        auto has = db.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'r_kind'");
        if (!has) return has.error();
        if (has->value_or(0)) {
            auto d = readRollupDelta(db);
            if (!d) return d.error();
            rollups = std::move(*d);
        }
    }
    std::vector<Output> outputs;
    auto cleanup = [&] {
        std::vector<int64_t> ids;
        for (const auto& o : outputs) {
            removeWithJournals(filePath(FileKind::Part, o.id, 0, o.bucket));
            ids.push_back(o.id);
        }
        abandonBuilding(ids);
    };
    // A hot file whose rows, tags and sightings all belong to one bucket (events arriving in
    // time order: nearly every hot file) becomes that bucket's part by a copy of its b-trees.
    auto single = singleBucketOf(db);
    if (!single) return single.error();
    if (*single) {
        const Bucket b = **single;
        auto id = reserveFileId(FileKind::Part, 0, b, 0);
        if (!id) return id.error();
        outputs.push_back(Output{*id, b, 0, {}});
        auto builder = PartBuilder::create(filePath(FileKind::Part, *id, 0, b), b, 0, *id);
        if (!builder) {
            cleanup();
            return builder.error();
        }
        auto built = (*builder)->copyAll(hot->path);
        auto done = built ? (*builder)->finish() : Expected<BuiltPart>(built.error());
        if (!done) {
            cleanup();
            return done.error();
        }
        outputs.back().built = *done;
    } else {
        // Tags and sightings in memory (a hot file is bounded), ordered for each bucket's part.
        std::vector<std::tuple<Bucket, int64_t, int64_t>> tags;  // bucket, key, rk
        {
            auto st = db.prepare("SELECT key, rk FROM tags");
            if (!st) return st.error();
            int rc;
            while ((rc = st->step()) == SQLITE_ROW) tags.emplace_back(bucketOfRk(st->i64(1)), st->i64(0), st->i64(1));
            if (rc != SQLITE_DONE) return db.error("read tags");
            std::sort(tags.begin(), tags.end());
            tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
        }
        std::vector<std::tuple<int64_t, uint32_t, int64_t>> sightings;  // rk, source, seen_at (rk order = bucket order)
        {
            auto st = db.prepare("SELECT rk, source, seen_at FROM sightings ORDER BY rk, source");
            if (!st) return st.error();
            int rc;
            while ((rc = st->step()) == SQLITE_ROW) sightings.emplace_back(st->i64(0), uint32_t(st->i64(1)), st->i64(2));
            if (rc != SQLITE_DONE) return db.error("read sightings");
        }
        auto events = db.prepare(std::string(kPartRowSelect) + " ORDER BY rk");
        if (!events) return events.error();
        std::set<Bucket> buckets;
        for (const auto& t : tags) buckets.insert(std::get<0>(t));
        for (const auto& s : sightings) buckets.insert(bucketOfRk(std::get<0>(s)));
        int rc = events->step();
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db.error("read events");
        std::optional<PartRow> next;
        if (rc == SQLITE_ROW) next = readPartRow(*events);
        {
            // Every bucket that holds an event (the rows are in rk order: bucket order).
            auto all = db.prepare("SELECT bucket FROM buckets");
            if (!all) return all.error();
            while (all->step() == SQLITE_ROW) buckets.insert(Bucket(all->i64(0)));
        }
        size_t ti = 0, si = 0;
        for (Bucket b : buckets) {
            if (m_stopping) {
                cleanup();
                return makeError("cancelled", "closing");
            }
            auto id = reserveFileId(FileKind::Part, 0, b, 0);
            if (!id) return id.error();
            const fs::path path = filePath(FileKind::Part, *id, 0, b);
            outputs.push_back(Output{*id, b, 0, {}});
            auto builder = PartBuilder::create(path, b, 0, *id);
            if (!builder) {
                cleanup();
                return builder.error();
            }
            while (next && bucketOfRk(next->rk) == b) {
                if (auto r = (*builder)->addEvent(*next); !r) {
                    cleanup();
                    return r.error();
                }
                rc = events->step();
                if (rc == SQLITE_ROW) next = readPartRow(*events);
                else if (rc == SQLITE_DONE) next.reset();
                else {
                    cleanup();
                    return db.error("read events");
                }
            }
            while (ti < tags.size() && std::get<0>(tags[ti]) == b) {
                if (auto r = (*builder)->addTag(std::get<1>(tags[ti]), std::get<2>(tags[ti])); !r) {
                    cleanup();
                    return r.error();
                }
                ++ti;
            }
            while (si < sightings.size() && bucketOfRk(std::get<0>(sightings[si])) == b) {
                const auto& [rk, source, seen] = sightings[si];
                if (auto r = (*builder)->addSighting(rk, source, seen); !r) {
                    cleanup();
                    return r.error();
                }
                ++si;
            }
            auto built = (*builder)->finish();
            if (!built) {
                cleanup();
                return built.error();
            }
            outputs.back().built = *built;
        }
        if (next) {
            cleanup();
            return makeError("index_corrupt", "hot file " + hot->path.string() + " holds events outside its bucket list");
        }
        events = Stmt();
    }
    db.close();
    std::function<void(const std::string&)> hook;
    {
        std::lock_guard lock(m_mutex);
        hook = m_beforeRegister;
    }
    if (hook) hook("flush");
    std::lock_guard lock(m_mutex);
    if (auto r = commitFileChange(m_catalog, outputs, {hot}, &rollups); !r) {
        cleanup();
        return r;
    }
    for (const auto& o : outputs) {
        auto f = std::make_shared<IndexFile>();
        f->id = o.id;
        f->kind = FileKind::Part;
        f->bucket = o.bucket;
        f->level = 0;
        f->events = o.built.events;
        f->bytes = o.built.bytes;
        f->filter = o.built.filter;
        f->orphans = o.built.orphans;
        f->min_created = o.built.min_created;
        f->max_created = o.built.max_created;
        f->path = filePath(FileKind::Part, o.id, 0, o.bucket);
        m_live[f->id] = f;
    }
    auto removed = m_removed;
    auto removedMutex = m_removedMutex;
    hot->on_removed = [removed, removedMutex](int64_t id) {
        std::lock_guard l(*removedMutex);
        removed->push_back(id);
    };
    hot->retired.store(true);
    m_live.erase(hot->id);
    publishLocked();
    ++m_flushes;
    for (const auto& o : outputs) m_flushedEvents += o.built.events;
    if (m_compactionListener)
        m_compactionListener("flush " + hot->path.filename().string() + (*single ? " (copied)" : ""));
    return {};
}

Expected<void> Index::merge(Bucket bucket, std::vector<FilePtr> inputs) {
    int level = 0;
    for (const auto& f : inputs) level = std::max(level, f->level + 1);
    auto id = reserveFileId(FileKind::Part, 0, bucket, level);
    if (!id) return id.error();
    const fs::path path = filePath(FileKind::Part, *id, 0, bucket);
    auto fail = [&](Error e) -> Expected<void> {
        removeWithJournals(path);
        abandonBuilding({*id});
        return e;
    };
    auto builder = PartBuilder::create(path, bucket, level, *id);
    if (!builder) return fail(builder.error());
    std::vector<fs::path> paths;
    for (const auto& f : inputs) paths.push_back(f->path);
    if (auto r = (*builder)->mergeAll(paths, [this] { return m_stopping.load(); }); !r) return fail(r.error());
    // Inputs whose orphan filters are known and empty hold a row for each of their sightings; so
    // does their union: the output's orphan filter is empty without a look at its tables.
    if (std::all_of(inputs.begin(), inputs.end(), [](const FilePtr& f) { return f->orphans && f->orphans->keys() == 0; }))
        (*builder)->inputsHaveNoOrphans();
    auto built = (*builder)->finish();
    if (!built) return fail(built.error());
    uint64_t inputEvents = 0;
    for (const auto& f : inputs) inputEvents += f->events.load();
    if (built->events != inputEvents)
        return fail(makeError("index_corrupt", "merge in " + bucketName(bucket) + " produced " +
                                                   std::to_string(built->events) + " events from " +
                                                   std::to_string(inputEvents)));
    std::function<void(const std::string&)> hook;
    {
        std::lock_guard lock(m_mutex);
        hook = m_beforeRegister;
    }
    if (hook) hook("merge");
    std::lock_guard lock(m_mutex);
    if (auto r = commitFileChange(m_catalog, {Output{*id, bucket, level, *built}}, inputs); !r) return fail(r.error());
    auto f = std::make_shared<IndexFile>();
    f->id = *id;
    f->kind = FileKind::Part;
    f->bucket = bucket;
    f->level = level;
    f->events = built->events;
    f->bytes = built->bytes;
    f->filter = built->filter;
    f->orphans = built->orphans;
    f->min_created = built->min_created;
    f->max_created = built->max_created;
    f->path = path;
    m_live[f->id] = f;
    auto removed = m_removed;
    auto removedMutex = m_removedMutex;
    for (const auto& in : inputs) {
        in->on_removed = [removed, removedMutex](int64_t rid) {
            std::lock_guard l(*removedMutex);
            removed->push_back(rid);
        };
        in->retired.store(true);
        m_live.erase(in->id);
    }
    publishLocked();
    ++m_merges;
    m_mergedEvents += built->events;
    if (m_compactionListener)
        m_compactionListener("merge " + std::to_string(inputs.size()) + " parts in " + bucketName(bucket));
    return {};
}

bool Index::waitIdle(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(m_mutex);
    for (;;) {
        bool frozen = false;
        for (const auto& [id, f] : m_live)
            if (f->kind == FileKind::Hot && f != m_activeHot[f->lane]) frozen = true;
        const bool idle = !frozen && m_busy.empty() && !pickMergeLocked(false);
        if (idle) return true;
        if (std::chrono::steady_clock::now() >= deadline || m_stopping) return false;
        m_changed.wait_for(lock, std::chrono::milliseconds(50));
    }
}

Expected<void> Index::registerParts(const std::vector<int64_t>& ids) {
    std::vector<Output> outputs;
    std::vector<FilePtr> files;
    for (int64_t id : ids) {
        Bucket bucket = 0;
        int level = 0;
        {
            std::lock_guard lock(m_mutex);
            auto st = m_catalog.prepare("SELECT bucket, level FROM files WHERE id = ? AND state = 'building'");
            if (!st) return st.error();
            st->bind(1, id);
            if (st->step() != SQLITE_ROW) return makeError("sqlite", "part " + std::to_string(id) + " is not being built");
            bucket = Bucket(st->i64(0));
            level = int(st->i64(1));
        }
        auto f = std::make_shared<IndexFile>();
        f->id = id;
        f->kind = FileKind::Part;
        f->bucket = bucket;
        f->level = level;
        f->path = filePath(FileKind::Part, id, 0, bucket);
        auto db = Db::open(f->path, Db::Mode::ReadOnly, true);
        if (!db) return db.error();
        f->filter = readFilter(*db);
        f->orphans = readOrphanFilter(*db);
        if (auto r = readCreatedRange(*db, *f); !r) return r;
        auto events = metaInt(*db, "events");
        if (!events) return events.error();
        if (!f->filter) return makeError("index_corrupt", "part " + f->path.string() + " has no id filter");
        f->events = uint64_t(events->value_or(0));
        f->bytes = fileBytes(f->path);
        BuiltPart bp;
        bp.events = f->events;
        outputs.push_back(Output{id, bucket, level, bp});
        files.push_back(f);
    }
    std::lock_guard lock(m_mutex);
    if (auto r = commitFileChange(m_catalog, outputs, {}); !r) return r;
    for (auto& f : files) m_live[f->id] = f;
    publishLocked();
    m_changed.notify_all();
    return {};
}

Expected<void> Index::setLaneWatermarks(archive::Watermark wm) {
    std::lock_guard lock(m_mutex);
    if (auto r = setMeta(m_catalog, "base_watermark_segment", wm.segment); !r) return r;
    if (auto r = setMeta(m_catalog, "base_watermark_offset", int64_t(wm.offset)); !r) return r;
    for (uint32_t l = 0; l < m_lanes; ++l) {
        m_laneWatermark[l] = wm;
        if (!m_activeHot[l]) continue;
        auto db = Db::open(m_activeHot[l]->path, Db::Mode::ReadWrite);
        if (!db) return db.error();
        if (auto r = setMeta(*db, "watermark_segment", wm.segment); !r) return r;
        if (auto r = setMeta(*db, "watermark_offset", int64_t(wm.offset)); !r) return r;
    }
    return {};
}

Db& Index::catalogForBulk() { return m_catalog; }

std::vector<Bucket> Index::partBuckets() const {
    auto s = snapshot();
    std::vector<Bucket> out;
    for (const auto& [b, v] : s->parts) out.push_back(b);
    return out;
}

Expected<void> Index::compactBucket(Bucket bucket) {
    std::vector<FilePtr> parts;
    {
        std::lock_guard lock(m_mutex);
        for (const auto& [id, f] : m_live)
            if (f->kind == FileKind::Part && f->bucket == bucket && !m_busy.count(id)) parts.push_back(f);
    }
    std::sort(parts.begin(), parts.end(), [](const FilePtr& a, const FilePtr& b) { return a->id < b->id; });
    // Groups of at most the cap (a part at the cap or above stays as it is).
    std::vector<std::vector<FilePtr>> groups(1);
    uint64_t size = 0;
    for (const auto& p : parts) {
        if (p->events.load() >= m_opts.part_cap_events) continue;
        if (size + p->events.load() > m_opts.part_cap_events && !groups.back().empty()) {
            groups.emplace_back();
            size = 0;
        }
        groups.back().push_back(p);
        size += p->events.load();
    }
    for (auto& g : groups) {
        if (g.size() < 2) continue;
        {
            std::lock_guard lock(m_mutex);
            for (const auto& f : g) m_busy.insert(f->id);
        }
        auto r = merge(bucket, g);
        std::lock_guard lock(m_mutex);
        for (const auto& f : g) m_busy.erase(f->id);
        if (!r) return r;
    }
    return {};
}

IndexGauges Index::gauges() const {
    IndexGauges g;
    auto s = snapshot();
    g.parts = s->partCount();
    g.hot_files = s->hot.size();
    for (const auto& [b, v] : s->parts)
        for (const auto& f : v) {
            if (f->filter) g.filter_bytes += f->filter->bytes();
            if (f->orphans) g.filter_bytes += f->orphans->bytes();
        }
    for (const auto& f : s->hot)
        if (f->bloom) g.filter_bytes += f->bloom->bytes();
    g.flushes = m_flushes.load();
    g.merges = m_merges.load();
    g.flushed_events = m_flushedEvents.load();
    g.merged_events = m_mergedEvents.load();
    g.flush_cpu_seconds = double(m_flushCpuUs.load()) / 1e6;
    g.merge_cpu_seconds = double(m_mergeCpuUs.load()) / 1e6;
    g.stalled = m_stalled.load();
    for (size_t l = 0; l < m_laneObjs.size(); ++l)
        g.queues.push_back({"index lane " + std::to_string(l) + " queue", int64_t(m_laneObjs[l]->depth()),
                            int64_t(m_laneObjs[l]->capacity())});
    int64_t frozen = 0;
    {
        std::lock_guard lock(m_mutex);
        for (const auto& f : s->hot)
            if (f->lane < m_activeHot.size() && f != m_activeHot[f->lane]) ++frozen;
    }
    g.queues.push_back({"index hot files awaiting flush", frozen, int64_t(m_lanes * m_opts.max_frozen_per_lane)});
    uint64_t maxParts = 0;
    for (const auto& [b, v] : s->parts) maxParts = std::max<uint64_t>(maxParts, v.size());
    g.queues.push_back({"index parts in the fullest month", int64_t(maxParts), int64_t(m_opts.max_parts_per_bucket)});
    // The id filters take ≈ 1.23 bytes per stored event (no other bound: they cover every event).
    uint64_t events = 0;
    for (const auto& [b, v] : s->parts)
        for (const auto& f : v) events += f->events.load();
    // Bound: ≈ 1.23 bytes per event in parts, 16 bits per event a hot file may hold.
    g.caches.push_back({"index id filters (KiB) cache", int64_t(g.filter_bytes / 1024),
                        int64_t((events * 2 + 64 * g.parts + 2 * m_opts.hot_max_events * g.hot_files) / 1024 + 1)});
    size_t terms = 0;
    for (const auto& l : m_laneObjs) terms += l->knownTerms();
    g.caches.push_back({"index full-text term cache", int64_t(terms), int64_t(m_lanes * Lane::kKnownTermsMax)});
    size_t buffered = 0;
    for (const auto& l : m_laneObjs) buffered += l->ftsBufferedBytes();
    // A lane's buffer may pass its bound by one batch's documents before it is written.
    g.queues.push_back({"index full-text documents buffered (KiB)", int64_t(buffered / 1024),
                        int64_t(m_lanes * Lane::kFtsBufferBytes / 1024)});
    size_t probes = 0, probesCapacity = 0;
    for (const auto& l : m_laneObjs) {
        probes += l->rollupConnections();
        probesCapacity += l->rollupConnectionCapacity();
    }
    g.caches.push_back({"index rollup probe connections", int64_t(probes), int64_t(probesCapacity)});
    size_t facts = 0, factsCapacity = 0;
    for (const auto& l : m_laneObjs) {
        facts += l->rollupFacts();
        factsCapacity += l->rollupFactsCapacity();
    }
    g.caches.push_back({"index rollup facts cache", int64_t(facts), int64_t(factsCapacity)});
    // Read-only connections to hot files and parts, kept open (LRU) by every lookup and reader
    // of the process: 1 MiB of page cache each for lookups, 128 KiB for readers (IndexOptions).
    const FileConnections::Totals conns = FileConnections::totals();
    g.caches.push_back({"index reader connections cache", conns.open, conns.capacity});
    return g;
}

std::vector<fs::path> Index::unknownFiles() const {
    // The directory is listed before the catalog is read, and a file is reported only if it is
    // still there afterwards: background flushes and merges go on meanwhile (a verify runs on an
    // open index), and they register a file before creating it and remove it before forgetting it.
    std::vector<fs::path> listed;
    {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(m_dir, ec)) listed.push_back(entry.path());
    }
    std::set<std::string> known = {"catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"};
    {
        std::lock_guard lock(m_mutex);
        auto st = const_cast<Db&>(m_catalog).prepare("SELECT id, kind, lane, bucket FROM files");
        if (st)
            while (st->step() == SQLITE_ROW) {
                const FileKind kind = st->text(1) == "hot" ? FileKind::Hot : FileKind::Part;
                const std::string name = filePath(kind, st->i64(0), uint32_t(st->i64(2)), Bucket(st->i64(3))).filename().string();
                for (const char* suffix : {"", "-wal", "-shm", "-journal"}) known.insert(name + suffix);
            }
    }
    for (uint32_t l = 0; l < m_lanes; ++l)
        for (const char* suffix : {"", "-wal", "-shm", "-journal"}) known.insert(ftsPath(l).filename().string() + suffix);
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& p : listed)
        if (!known.count(p.filename().string()) && fs::exists(p, ec)) out.push_back(p);
    std::sort(out.begin(), out.end());
    return out;
}


// ---------------------------------------------------------------------------------------------
// Full-text repair and backfill (before start())

Expected<uint64_t> Index::repairFts(const FrameTextFn& frame_text) {
    if (!m_fts.load() || m_opts.read_only) return uint64_t(0);
    uint64_t written = 0;
    for (uint32_t l = 0; l < m_lanes; ++l) {
        std::error_code ec;
        if (!fs::exists(ftsPath(l), ec)) continue;  // created by start(); nothing can be pending
        uint64_t applied = 0;
        {
            auto db = Db::open(ftsPath(l), walMode());
            if (!db) return db.error();
            auto a = metaInt(*db, "applied_batch");
            if (!a) return a.error();
            applied = uint64_t(a->value_or(0));
        }
        for (const auto& f : snapshot()->hotOfLane(l)) {
            auto db = Db::open(f->path, walMode());
            if (!db) return db.error();
            auto batch = metaInt(*db, "fts_batch");
            auto seg = metaInt(*db, "fts_pending_segment");
            auto off = metaInt(*db, "fts_pending_offset");
            if (!batch) return batch.error();
            if (!seg) return seg.error();
            if (!off) return off.error();
            if (uint64_t(batch->value_or(0)) <= applied || !seg->has_value() || !off->has_value()) continue;
            // The batch's frames run from (seg, off) to (last_seg, last_off); a hot file written
            // before groups had several frames names one frame.
            auto lastSeg = metaInt(*db, "fts_pending_last_segment");
            auto lastOff = metaInt(*db, "fts_pending_last_offset");
            if (!lastSeg) return lastSeg.error();
            if (!lastOff) return lastOff.error();
            const int64_t s0 = **seg, o0 = **off;
            const int64_t s1 = lastSeg->value_or(s0), o1 = lastOff->value_or(o0);
            auto st = db->prepare(
                "SELECT rk, segment, offset, length, line FROM events WHERE (segment > ?1 OR (segment = ?1 AND offset >= ?2)) "
                "AND (segment < ?3 OR (segment = ?3 AND offset <= ?4)) ORDER BY segment, offset, line");
            if (!st) return st.error();
            st->bind(1, s0).bind(2, o0).bind(3, s1).bind(4, o1);
            struct Row {
                int64_t rk;
                archive::FrameRef frame;
                uint32_t line;
            };
            std::vector<Row> rows;
            int rc;
            while ((rc = st->step()) == SQLITE_ROW)
                rows.push_back(Row{st->i64(0), archive::FrameRef{uint32_t(st->i64(1)), uint64_t(st->i64(2)), uint32_t(st->i64(3))},
                                   uint32_t(st->i64(4))});
            if (rc != SQLITE_DONE) return db->error("read pending full-text rows");
            auto writer = FtsBulkWriter::open(ftsPath(l), m_opts.vocab_run_terms, m_opts.frequent_term_occurrences);
            if (!writer) return writer.error();
            std::string text;
            std::vector<std::string_view> lines;
            archive::FrameRef current{};
            for (const Row& row : rows) {
                if (!(row.frame.segment == current.segment && row.frame.offset == current.offset) || lines.empty()) {
                    auto t = frame_text(row.frame);
                    if (!t) return t.error();
                    text = std::move(*t);
                    lines = util::splitLines(text);
                    current = row.frame;
                }
                protocol::Event e;
                if (row.line >= lines.size() || protocol::parseEvent(lines[row.line], e) != protocol::Reject::None)
                    return makeError("corrupt", "full-text repair: line " + std::to_string(row.line) +
                                                    " of the frame at segment " + std::to_string(row.frame.segment) +
                                                    " offset " + std::to_string(row.frame.offset) + " is not a valid event");
                if (auto r = writer->add(row.rk, e.content); !r) return r.error();
            }
            if (auto r = writer->commit(uint64_t(batch->value_or(0))); !r) return r.error();
            written += writer->docs();
            applied = uint64_t(batch->value_or(0));
            qCInfo(lcIndex) << "index: wrote" << writer->docs() << "full-text documents a crash had left pending";
        }
    }
    return written;
}

bool Index::ftsBackfillPending() const {
    std::lock_guard lock(m_mutex);
    auto v = metaInt(const_cast<Db&>(m_catalog), "fts_backfill_pending");
    return m_fts.load() && v && v->value_or(0) != 0;
}

Expected<uint64_t> Index::backfillFts(const FrameTextFn& frame_text) {
    if (m_opts.read_only) return makeError("read_only", "the index was opened read-only");
    // From scratch: a backfill interrupted earlier left partial files.
    std::vector<FtsBulkWriter> writers;
    for (uint32_t l = 0; l < m_lanes; ++l) {
        removeWithJournals(ftsPath(l));
        auto db = Db::open(ftsPath(l), Db::Mode::Create);
        if (!db) return db.error();
        if (auto r = registerTokenizer(db->get()); !r) return r.error();
        if (auto r = db->exec(std::string("PRAGMA journal_mode=WAL;") + kFtsCreateSql); !r) return r.error();
        db->close();
        auto w = FtsBulkWriter::open(ftsPath(l), m_opts.vocab_run_terms, m_opts.frequent_term_occurrences);
        if (!w) return w.error();
        writers.push_back(std::move(*w));
    }
    uint64_t docs = 0;
    auto snap = snapshot();
    std::vector<FilePtr> files = snap->hot;
    for (const auto& [b, v] : snap->parts) files.insert(files.end(), v.begin(), v.end());
    std::vector<uint64_t> laneBatch(m_lanes, 0);
    for (const auto& f : files) {
        auto db = Db::open(f->path, f->kind == FileKind::Part ? Db::Mode::ReadOnly : walMode(), f->kind == FileKind::Part);
        if (!db) return db.error();
        if (f->kind == FileKind::Hot) {
            auto b = metaInt(*db, "fts_batch");
            if (!b) return b.error();
            laneBatch[f->lane] = std::max(laneBatch[f->lane], uint64_t(b->value_or(0)));
        }
        auto st = db->prepare("SELECT rk, id, segment, offset, length, line FROM events ORDER BY segment, offset, line");
        if (!st) return st.error();
        archive::FrameRef current{};
        std::string text;
        std::vector<std::string_view> lines;
        int rc;
        while ((rc = st->step()) == SQLITE_ROW) {
            const archive::FrameRef ref{uint32_t(st->i64(2)), uint64_t(st->i64(3)), uint32_t(st->i64(4))};
            if (!(ref == current)) {
                auto t = frame_text(ref);
                if (!t) return t.error();
                text = std::move(*t);
                lines = util::splitLines(text);
                current = ref;
            }
            const uint32_t line = uint32_t(st->i64(5));
            protocol::Event e;
            if (line >= lines.size() || protocol::parseEvent(lines[line], e) != protocol::Reject::None)
                return makeError("corrupt", "full-text backfill: line " + std::to_string(line) + " of the frame at segment " +
                                                std::to_string(ref.segment) + " offset " + std::to_string(ref.offset) +
                                                " is not a valid event (run `archivist verify`)");
            protocol::Bytes32 id{};
            if (auto b = st->blob(1); b.size() == 32) std::memcpy(id.data(), b.data(), 32);
            if (auto r = writers[laneOf(id, m_lanes)].add(st->i64(0), e.content); !r) return r.error();
            ++docs;
        }
        if (rc != SQLITE_DONE) return db->error("full-text backfill: read events");
    }
    for (uint32_t l = 0; l < m_lanes; ++l)
        if (auto r = writers[l].commit(laneBatch[l]); !r) return r.error();
    std::lock_guard lock(m_mutex);
    if (auto r = setMeta(m_catalog, "fts_backfill_pending", 0); !r) return r.error();
    return docs;
}

}  // namespace archivist::index
