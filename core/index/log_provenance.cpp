// logProvenance (bulk_build.h): what the durable sightings log knows about each archived event.
#include <QLoggingCategory>
#include <algorithm>
#include <map>
#include <mutex>

#include "core/archive/sightings_log.h"
#include "core/index/bulk_build.h"
#include "core/observe/log.h"

namespace archivist::index {

namespace {

// One entry of a loaded window: a record with its position, in log order within a position.
struct Entry {
    uint64_t offset = 0;
    uint32_t line = 0;
    uint32_t order = 0;  // log order among the records of the same position
    uint32_t source = 0;
    int64_t seen_at_ms = 0;
    bool origin = false;
    bool operator<(const Entry& o) const {
        if (offset != o.offset) return offset < o.offset;
        if (line != o.line) return line < o.line;
        return order < o.order;
    }
};

// The records of a window of archive segments, shared by the parser threads. The parsers move
// through the archive in order, a few frames apart: a lookup outside the window loads the window
// that starts at its segment (one pass over the log), as many segments as fit in `max_records`
// (at least the one asked for).
class LogWindow {
public:
    LogWindow(std::filesystem::path dir, size_t max_records) : m_dir(std::move(dir)), m_max(max_records) {}

    Expected<std::optional<OldProvenance>> find(const archive::EventPos& pos) {
        std::lock_guard lock(m_mutex);
        if (!m_loaded || pos.segment < m_lo || pos.segment > m_hi)
            if (auto r = load(pos.segment); !r) return r.error();
        static const std::vector<Entry> kNone;
        auto found = m_segments.find(pos.segment);
        const auto& v = found == m_segments.end() ? kNone : found->second;
        Entry key{pos.offset, pos.line, 0, 0, 0, false};
        auto it = std::lower_bound(v.begin(), v.end(), key);
        if (it == v.end() || it->offset != pos.offset || it->line != pos.line) return std::optional<OldProvenance>();
        OldProvenance p;
        bool haveOrigin = false;
        std::vector<std::pair<std::string, int64_t>> others;
        for (; it != v.end() && it->offset == pos.offset && it->line == pos.line; ++it) {
            const std::string& name = it->source < m_names.size() ? m_names[it->source] : std::string();
            if (name.empty()) continue;  // its name was in a damaged frame (reported by the scan)
            if (it->origin && !haveOrigin) {
                haveOrigin = true;
                p.first_seen_at_ms = it->seen_at_ms;
                p.sightings.insert(p.sightings.begin(), {name, it->seen_at_ms});
                continue;
            }
            // The first sighting per source in log order is the one the index kept.
            bool seen = false;
            for (const auto& s : p.sightings) seen = seen || s.first == name;
            if (!seen) p.sightings.emplace_back(name, it->seen_at_ms);
        }
        if (haveOrigin) {
            // An origin logged after a copy from the same source: keep the origin only.
            for (size_t i = 1; i < p.sightings.size(); ++i)
                if (p.sightings[i].first == p.sightings[0].first) {
                    p.sightings.erase(p.sightings.begin() + std::ptrdiff_t(i));
                    break;
                }
            p.first_is_origin = true;
        } else if (!p.sightings.empty()) {
            p.first_seen_at_ms = p.sightings.front().second;
            for (const auto& s : p.sightings) p.first_seen_at_ms = std::min(p.first_seen_at_ms, s.second);
        }
        if (p.sightings.empty()) return std::optional<OldProvenance>();
        return std::optional<OldProvenance>(std::move(p));
    }

private:
    Expected<void> load(uint32_t first) {
        m_segments.clear();
        m_loaded = false;
        std::map<uint32_t, std::vector<Entry>> window;
        size_t total = 0;
        uint32_t last = UINT32_MAX;  // the window is [first, last]
        uint32_t order = 0;
        archive::SightingsLogReader reader(m_dir);
        auto r = reader.scan([&](const archive::SightingsLogReader::Frame& f) {
            for (const auto& rec : f.records) {
                if (rec.pos.segment < first || rec.pos.segment > last) continue;
                window[rec.pos.segment].push_back(
                    Entry{rec.pos.offset, rec.pos.line, order++, rec.source, rec.seen_at_ms, rec.origin});
                ++total;
                // Over budget: drop the highest segments (never the first).
                while (total > m_max && window.size() > 1) {
                    auto hi = std::prev(window.end());
                    total -= hi->second.size();
                    last = hi->first - 1;
                    window.erase(hi);
                }
            }
            return true;
        });
        if (!r) return r.error();
        for (const auto& d : reader.damage())
            qCWarning(lcIndex).noquote() << "sightings log: damaged region skipped while reading provenance:" << d.file
                                         << "@" << d.offset << "+" << d.length << QString::fromStdString(d.why);
        m_names = reader.names();
        for (auto& [seg, v] : window) std::sort(v.begin(), v.end());
        m_segments = std::move(window);
        m_lo = first;
        m_hi = last;
        m_loaded = true;
        return {};
    }

    std::filesystem::path m_dir;
    size_t m_max;
    std::mutex m_mutex;
    std::map<uint32_t, std::vector<Entry>> m_segments;
    std::vector<std::string> m_names;
    bool m_loaded = false;
    uint32_t m_lo = 0, m_hi = 0;  // the loaded window of segments
};

class LogProvenance final : public ProvenanceSource {
public:
    LogProvenance(std::shared_ptr<LogWindow> window, std::unique_ptr<ProvenanceSource> fallback)
        : m_window(std::move(window)), m_fallback(std::move(fallback)) {}
    Expected<std::optional<OldProvenance>> lookup(const protocol::Bytes32& id, int64_t created_at,
                                                  const archive::EventPos& pos) override {
        auto logged = m_window->find(pos);
        if (!logged) return logged.error();
        if (!m_fallback) return logged;
        // The old index is asked even when the log knows everything: a rebuild reports the events
        // the old index had lost.
        auto old = m_fallback->lookup(id, created_at, pos);
        if (!old) return old.error();
        if (*logged && (*logged)->first_is_origin) {
            (*logged)->unknown_to_fallback = !*old;
            return logged;
        }
        if (!*old) {
            if (*logged) (*logged)->unknown_to_fallback = true;
            return logged;
        }
        if (!*logged) return old;
        // Archived before the log existed, seen again since: the old record plus what is new.
        OldProvenance merged = std::move(**old);
        for (const auto& s : (*logged)->sightings) {
            bool have = false;
            for (const auto& m : merged.sightings) have = have || m.first == s.first;
            if (!have) merged.sightings.push_back(s);
        }
        return std::optional<OldProvenance>(std::move(merged));
    }

private:
    std::shared_ptr<LogWindow> m_window;
    std::unique_ptr<ProvenanceSource> m_fallback;
};

}  // namespace

ProvenanceFactory logProvenance(const std::filesystem::path& log_dir, ProvenanceFactory fallback, size_t max_records) {
    auto window = std::make_shared<LogWindow>(log_dir, std::max<size_t>(max_records, 1));
    return [window, fallback]() -> Expected<std::unique_ptr<ProvenanceSource>> {
        std::unique_ptr<ProvenanceSource> fb;
        if (fallback) {
            auto f = fallback();
            if (!f) return f.error();
            fb = std::move(*f);
        }
        return std::unique_ptr<ProvenanceSource>(std::make_unique<LogProvenance>(window, std::move(fb)));
    };
}

}  // namespace archivist::index
