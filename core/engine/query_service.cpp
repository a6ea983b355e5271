#include "core/engine/query_service.h"

#include <QCoreApplication>
#include <QJsonDocument>
#include <algorithm>
#include <memory>
#include <optional>

#include "core/archive/segment_reader.h"
#include "core/index/index_reader.h"
#include "core/index/tag_key.h"
#include "core/ingest/commit_writer.h"
#include "core/protocol/event_codec.h"
#include "core/protocol/hex.h"
#include "core/protocol/schnorr_verifier.h"

namespace archivist::engine {

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

QString describe(const Error& e) { return qs(e.message.empty() ? e.code : e.message); }

bool idFromHex(const QString& hex, protocol::Bytes32& out) {
    const std::string s = hex.trimmed().toLower().toStdString();
    return protocol::fromHex(s, out.data(), out.size());
}

std::vector<protocol::Filter> filtersOf(const QueryFilter& q) {
    protocol::Filter f = q.filter;
    f.limit.reset();
    if (f.search && f.search->find_first_not_of(" \t\r\n") == std::string::npos) f.search.reset();
    return {f};
}

}  // namespace

struct QueryService::Worker {
    Worker(const QueryServiceOptions& o, QueryService& service)
        : opts(o), svc(service), frames(o.archive, o.frame_cache_bytes) {}

    Expected<index::IndexReader*> reader() {
        if (!db) {
            auto r = index::IndexReader::open(opts.index);
            if (!r) return r.error();
            db = std::move(*r);
        }
        return db.get();
    }
    // After an error the connection may be stale (schema change, lock): start over next time.
    void dropReaderOn(const Error& e) {
        if (e.code == "fts_off" || e.code == "interrupted") return;
        {
            std::lock_guard lock(svc.m_mutex);
            svc.m_runningReader = nullptr;
        }
        db.reset();
    }

    PageResult page(const PageRequest& req) {
        PageResult out;
        out.after = req.after;
        auto r = reader();
        if (!r) return fail(out, r.error());
        std::optional<index::Cursor> cursor;
        std::optional<index::SortCursor> sortCursor;
        if (req.after) {
            index::Cursor c;
            c.created_at = req.after->created_at;
            index::SortCursor sc;
            sc.kind = uint16_t(std::clamp(req.after->kind, 0, 65535));
            sc.created_at = req.after->created_at;
            const bool author = req.sort == PageSort::Author;
            if (!idFromHex(req.after->id_hex, c.id) || (author && !idFromHex(req.after->pubkey_hex, sc.pubkey))) {
                out.ok = false;
                out.error = QCoreApplication::translate("archivist::engine::QueryService", "The page cursor holds an invalid event id.");
                return out;
            }
            sc.id = c.id;
            cursor = c;
            sortCursor = sc;
        }
        const size_t limit = size_t(std::clamp(req.page_size, 1, PageRequest::kMaxPageSize));
        const auto filters = filtersOf(req.query);
        const std::string relay = req.query.relay.toStdString();
        const std::string* source = req.query.relay.isEmpty() ? nullptr : &relay;
        Expected<std::vector<index::EventRow>> rows = std::vector<index::EventRow>();
        if (req.sort == PageSort::CreatedAt) {
            const auto order = req.oldest_first ? index::Order::OldestFirst : index::Order::NewestFirst;
            rows = source ? (*r)->querySeenBy(filters, relay, cursor, limit, order) : (*r)->query(filters, cursor, limit, order);
        } else {
            // One month: the one asked for, else the newest matching event's.
            std::optional<int64_t> at = req.month_of;
            if (!at) {
                auto newest = source ? (*r)->querySeenBy(filters, relay, std::nullopt, 1) : (*r)->query(filters, std::nullopt, 1);
                if (!newest) {
                    dropReaderOn(newest.error());
                    return fail(out, newest.error());
                }
                if (newest->empty()) {
                    out.at_end = true;
                    return out;
                }
                at = newest->front().created_at;
            }
            const index::Bucket b = index::bucketOf(std::max<int64_t>(0, *at));
            index::SortSpec spec;
            spec.key = req.sort == PageSort::Kind ? index::SortKey::Kind : index::SortKey::Author;
            spec.descending = req.descending;
            spec.since = b == 0 ? 0 : index::bucketLo(b);
            spec.until = index::bucketHi(b);
            out.window_since = spec.since;
            out.window_until = spec.until;
            rows = (*r)->querySorted(filters, spec, sortCursor, limit, source);
        }
        if (!rows) {
            dropReaderOn(rows.error());
            return fail(out, rows.error());
        }
        out.rows.reserve(int(rows->size()));
        // `#x` conditions are matched by key in the index; confirm them on the loaded event.
        const std::vector<protocol::Filter> recheck = index::tagRecheckFilters(filters);
        for (const auto& row : *rows) {
            EventRowView v;
            v.id_hex = qs(protocol::toHex(row.id));
            v.pubkey_hex = qs(protocol::toHex(row.pubkey));
            v.kind = row.kind;
            v.created_at = row.created_at;
            v.first_seen_ms = row.first_seen_at_ms;
            v.flags = row.flags;
            auto line = frames.line(row.frame, row.line);
            protocol::Event ev;
            if (line && protocol::parseEvent(*line, ev) == protocol::Reject::None) {
                if (!index::tagsConfirmed(recheck, ev)) continue;
                v.content_preview = qs(ingest::contentPreview(ev.content));
            } else
                v.content_preview = QCoreApplication::translate("archivist::engine::QueryService", "(content unavailable: %1)")
                                        .arg(line ? QCoreApplication::translate("archivist::engine::QueryService", "unreadable line") : describe(line.error()));
            out.rows.push_back(std::move(v));
        }
        out.at_end = rows->size() < limit;
        return out;
    }

    EventDetail detail(const QString& id_hex) {
        EventDetail out;
        out.id_hex = id_hex.trimmed().toLower();
        protocol::Bytes32 id{};
        if (!idFromHex(id_hex, id)) {
            out.ok = false;
            out.error = QCoreApplication::translate("archivist::engine::QueryService", "Not an event id (64 hex characters expected).");
            return out;
        }
        auto r = reader();
        if (!r) return fail(out, r.error());
        auto row = (*r)->findById(id);
        if (!row) {
            dropReaderOn(row.error());
            return fail(out, row.error());
        }
        if (!*row) return out;  // ok, not found
        const index::EventRow& er = **row;
        out.found = true;
        out.pubkey_hex = qs(protocol::toHex(er.pubkey));
        out.kind = er.kind;
        out.created_at = er.created_at;
        out.first_seen_ms = er.first_seen_at_ms;
        out.flags = er.flags;
        auto sightings = (*r)->sightings(er.rowid);
        if (!sightings) {
            dropReaderOn(sightings.error());
            return fail(out, sightings.error());
        }
        for (const auto& s : *sightings) out.sightings.push_back({qs(s.source), s.seen_at_ms});
        auto line = frames.line(er.frame, er.line);
        if (!line) return fail(out, line.error());
        protocol::Event ev;
        if (protocol::parseEvent(*line, ev) != protocol::Reject::None || ev.id != id) {
            out.ok = false;
            out.error = QCoreApplication::translate("archivist::engine::QueryService", "The archive line for this event does not hold it (run `archivist verify`).");
            return out;
        }
        out.json = qs(std::string(*line));
        out.pretty_json = QString::fromUtf8(QJsonDocument::fromJson(out.json.toUtf8()).toJson(QJsonDocument::Indented));
        for (const auto& tag : ev.tags) {
            QStringList t;
            for (const auto& v : tag) t << qs(v);
            out.tags.push_back(t);
        }
        const auto form = protocol::checkId(ev);
        const bool sigOk = form != protocol::IdForm::Mismatch && verifier.verify(ev.id, ev.pubkey, ev.sig);
        out.signature_valid = sigOk;
        QStringList text;
        if (form == protocol::IdForm::Mismatch) text << QCoreApplication::translate("archivist::engine::QueryService", "Invalid: the id is not the hash of the event.");
        else if (!sigOk) text << QCoreApplication::translate("archivist::engine::QueryService", "Invalid: the signature does not verify (BIP-340).");
        else text << QCoreApplication::translate("archivist::engine::QueryService", "Valid: id and BIP-340 signature verified.");
        if (er.flags & protocol::kFlagUnverified) text << QCoreApplication::translate("archivist::engine::QueryService", "Stored without verification (import --no-verify).");
        if (er.flags & protocol::kFlagNip01TextId)
            text << QCoreApplication::translate("archivist::engine::QueryService", "The id matches only the NIP-01 text escaping, not JSON.stringify's.");
        if (er.flags & protocol::kFlagFutureTimestamp) text << QCoreApplication::translate("archivist::engine::QueryService", "created_at was in the future when received.");
        out.verification = text.join(QLatin1Char(' '));
        return out;
    }

    CountResult count(const QueryFilter& q) {
        CountResult out;
        auto r = reader();
        if (!r) return fail(out, r.error());
        const auto filters = filtersOf(q);
        auto n = q.relay.isEmpty() ? (*r)->count(filters) : (*r)->countSeenBy(filters, q.relay.toStdString());
        if (!n) {
            dropReaderOn(n.error());
            return fail(out, n.error());
        }
        out.count = *n;
        return out;
    }

    StatisticsResult statistics(const StatisticsRequest& q) {
        StatisticsResult out;
        auto r = reader();
        if (!r) return fail(out, r.error());
        return statisticsFor((*r)->index(), q);
    }

    template <typename T>
    static T fail(T& out, const Error& e) {
        out.ok = false;
        out.error = describe(e);
        return out;
    }

    QueryServiceOptions opts;
    QueryService& svc;
    std::unique_ptr<index::IndexReader> db;
    archive::FrameCache frames;
    protocol::SchnorrVerifier verifier{64};
};

QueryService::QueryService(QueryServiceOptions options, Callback callback)
    : m_opts(std::move(options)), m_callback(std::move(callback)) {
    if (m_opts.max_pending == 0) m_opts.max_pending = 1;
}

QueryService::~QueryService() { stop(); }

void QueryService::start() {
    std::lock_guard lock(m_mutex);
    if (m_thread.joinable() || m_stop) return;
    m_thread = std::thread([this] { run(); });
}

void QueryService::stop() {
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
        m_queue.clear();
        m_latest.clear();
    }
    m_cv.notify_all();
    if (m_thread.joinable()) m_thread.join();
}

size_t QueryService::pendingDepth() const {
    std::lock_guard lock(m_mutex);
    return m_queue.size();
}

quint64 QueryService::requestPage(const PageRequest& request) {
    Request r;
    r.kind = QueryAnswer::Kind::Page;
    r.channel = request.channel.isEmpty() ? QStringLiteral("page") : request.channel;
    r.page = request;
    return enqueue(std::move(r));
}

quint64 QueryService::requestDetail(const QString& id_hex) {
    Request r;
    r.kind = QueryAnswer::Kind::Detail;
    r.channel = QStringLiteral("detail");
    r.detail_id = id_hex;
    return enqueue(std::move(r));
}

quint64 QueryService::requestCount(const QueryFilter& query) {
    Request r;
    r.kind = QueryAnswer::Kind::Count;
    r.channel = QStringLiteral("count");
    r.count = query;
    return enqueue(std::move(r));
}

quint64 QueryService::requestStatistics(const StatisticsRequest& request) {
    Request r;
    r.kind = QueryAnswer::Kind::Statistics;
    r.channel = QStringLiteral("statistics");
    r.statistics = request;
    return enqueue(std::move(r));
}

quint64 QueryService::enqueue(Request&& r) {
    std::unique_lock lock(m_mutex);
    r.id = m_nextId++;
    const quint64 id = r.id;
    const auto kind = r.kind;
    const QString channel = r.channel;
    auto same = std::find_if(m_queue.begin(), m_queue.end(), [&](const Request& q) { return q.channel == r.channel; });
    if (same != m_queue.end()) {
        *same = std::move(r);  // the stale one is never answered
        m_latest[same->channel] = id;
        m_superseded.fetch_add(1);
    } else if (m_stop || m_queue.size() >= m_opts.max_pending) {
        lock.unlock();
        m_refused.fetch_add(1);
        QueryAnswer a;
        a.kind = kind;
        a.id = id;
        const QString why = QCoreApplication::translate("archivist::engine::QueryService", "Too many pending queries; try again.");
        a.page.ok = a.detail.ok = a.count.ok = a.statistics.ok = false;
        a.page.error = a.detail.error = a.count.error = a.statistics.error = why;
        m_callback(std::move(a));
        return id;
    } else {
        if (m_latest.count(r.channel)) m_superseded.fetch_add(1);  // one is running: its answer is dropped
        m_latest[r.channel] = id;
        m_queue.push_back(std::move(r));
    }
    if (m_runningId && m_runningReader &&
        (m_runningChannel == channel || (slow(m_runningKind) && !slow(kind)))) {
        m_runningReader->interrupt();
        m_interrupted = true;
    }
    lock.unlock();
    m_cv.notify_one();
    return id;
}

void QueryService::run() {
    Worker worker(m_opts, *this);
    for (;;) {
        Request req;
        {
            std::unique_lock lock(m_mutex);
            m_cv.wait(lock, [&] { return m_stop || !m_queue.empty(); });
            if (m_stop) return;
            // Pages and details first: a count may take long.
            auto next = std::find_if(m_queue.begin(), m_queue.end(),
                                     [](const Request& q) { return !slow(q.kind); });
            if (next == m_queue.end()) next = m_queue.begin();
            req = std::move(*next);
            m_queue.erase(next);
        }
        auto reader = worker.reader();  // errors are reported by the request itself
        {
            std::lock_guard lock(m_mutex);
            m_runningId = req.id;
            m_runningChannel = req.channel;
            m_runningKind = req.kind;
            m_runningReader = reader ? *reader : nullptr;
            m_interrupted = false;
        }
        QueryAnswer a;
        a.kind = req.kind;
        a.id = req.id;
        switch (req.kind) {
        case QueryAnswer::Kind::Page: a.page = worker.page(req.page); break;
        case QueryAnswer::Kind::Detail: a.detail = worker.detail(req.detail_id); break;
        case QueryAnswer::Kind::Count: a.count = worker.count(req.count); break;
        case QueryAnswer::Kind::Statistics: a.statistics = worker.statistics(req.statistics); break;
        }
        {
            std::lock_guard lock(m_mutex);
            m_runningReader = nullptr;
            m_runningId = 0;
            const bool interrupted = m_interrupted;
            m_interrupted = false;
            if (m_stop) return;
            auto it = m_latest.find(req.channel);
            if (it == m_latest.end() || it->second != req.id) continue;  // superseded while running
            const bool failed = !a.count.ok;
            if (interrupted && slow(req.kind) && failed &&
                m_queue.size() < m_opts.max_pending) {
                m_queue.push_back(std::move(req));  // again, after the page that interrupted it
                continue;
            }
            m_latest.erase(it);
        }
        m_answered.fetch_add(1);
        m_callback(std::move(a));
    }
}

}  // namespace archivist::engine
