#pragma once
// Value types of the archive browser's queries (requests and answers). They cross threads by copy
// (queued signals): no pointers into the engine. Registered with Q_DECLARE_METATYPE below.
#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>
#include <optional>

#include "core/engine/coverage.h"
#include "core/engine/research_stats.h"
#include "core/protocol/filter.h"

namespace archivist::engine {

// A NIP-01 filter (its `search` is the full-text search; its `limit` is ignored) plus an optional
// relay: only events that relay carried (exact source name as in the sightings).
struct QueryFilter {
    protocol::Filter filter;
    QString relay;  // empty = any relay (and imports)
    bool operator==(const QueryFilter&) const = default;
};

// Keyset position: rows strictly after (created_at, id) in the page's order (newest first:
// created_at DESC, id ASC; oldest first: created_at ASC, id ASC). A position need not be an event:
// {t, 000…0} newest first starts at the events created before t (and at t itself).
// Sorted by kind or author (PageRequest::sort) the position also holds the row's kind and author:
// rows strictly after (kind or author, created_at, id).
struct PageCursor {
    qint64 created_at = 0;
    QString id_hex;
    int kind = 0;        // PageSort::Kind
    QString pubkey_hex;  // PageSort::Author
    bool operator==(const PageCursor&) const = default;
};

// The archive list's sort. CreatedAt pages over the whole archive; Kind and Author order the
// events of ONE month (UTC) of created_at at a time — the index keeps a month's events together,
// so such a page reads one month's files (docs/index-schema.md "Sorted pages").
enum class PageSort : quint8 { CreatedAt, Kind, Author };

struct PageRequest {
    QueryFilter query;
    std::optional<PageCursor> after;  // nullopt = the first page
    int page_size = 200;              // clamped to 1 … kMaxPageSize
    bool oldest_first = false;        // created_at ascending (else descending); both keyset-paged
    PageSort sort = PageSort::CreatedAt;
    bool descending = false;          // Kind/Author: the column's order (rows of one value: newest first)
    // Kind/Author: the month holding this time (unix seconds) is sorted; none = the month of the
    // newest event that matches the query.
    std::optional<qint64> month_of;
    // The newest request per channel wins: a queued or running request on the same channel is
    // superseded (never answered) when a newer one arrives.
    QString channel = QStringLiteral("page");
    static constexpr int kMaxPageSize = 5000;
};

struct EventRowView {
    QString id_hex;
    QString pubkey_hex;
    int kind = 0;
    qint64 created_at = 0;
    QString content_preview;  // at most 160 bytes of content
    qint64 first_seen_ms = 0;
    quint32 flags = 0;        // protocol::EventFlag bits
};

struct PageResult {
    bool ok = true;
    QString error;                 // when !ok: human readable ("fts_off", "sqlite", …) message
    QVector<EventRowView> rows;    // in the request's order
    bool at_end = false;           // fewer rows than asked: nothing after the last row
    std::optional<PageCursor> after;  // the request's cursor (echoed)
    // Kind/Author: the month sorted (first and last second, UTC); 0/0 when nothing matches.
    qint64 window_since = 0;
    qint64 window_until = 0;
};

struct SightingView {
    QString relay;
    qint64 seen_at_ms = 0;
};

struct EventDetail {
    bool ok = true;
    bool found = false;
    QString error;
    QString id_hex;
    QString pubkey_hex;
    int kind = 0;
    qint64 created_at = 0;
    qint64 first_seen_ms = 0;
    quint32 flags = 0;
    QString json;         // the stored canonical JSON, one line
    QString pretty_json;  // indented
    QVector<QStringList> tags;
    QVector<SightingView> sightings;  // oldest first
    bool signature_valid = false;     // re-verified when the detail was loaded
    QString verification;             // human readable verification result
};

struct CountResult {
    bool ok = true;
    QString error;
    quint64 count = 0;
};

// The Statistics dock's request: every plot of a range of whole UTC days (engine/research_stats.h).
struct StatisticsRequest {
    std::optional<qint64> since;  // unix seconds; none: from the first day
    std::optional<qint64> until;  // unix seconds; none: to the last day
    bool first_seen_days = false; // days of first sighting instead of created_at
    int top_kinds = 8;            // kinds stacked by name in "events per day"; the rest is "other"
    int top_relays = 12;
    bool operator==(const StatisticsRequest&) const = default;
};

struct StatisticsResult {
    bool ok = true;
    QString error;
    StatisticsRequest request;
    // The tables `archivist stats --by …` prints for the same range (one code path).
    StatsTable day_kind;     // --by day-kind --top top_kinds
    StatsTable day;          // --by day (events, authors)
    StatsTable kind;         // --by kind
    StatsTable relay;        // --by relay --top top_relays
    StatsTable delay;        // --by delay
    StatsTable replication;  // --by replication
    qint64 computed_ms = 0;  // when they were read
    qint64 elapsed_us = 0;   // how long reading them took
};

// Coverage of referenced events (engine/coverage.h) over a range, for the Statistics dock.
struct CoverageResult {
    bool ok = true;
    QString error;
    CoverageRequest request;
    CoverageReport report;  // the kept months (CoverageMonitor), each with its as-of time
};

}  // namespace archivist::engine

Q_DECLARE_METATYPE(archivist::engine::CoverageResult)
Q_DECLARE_METATYPE(archivist::engine::StatisticsRequest)
Q_DECLARE_METATYPE(archivist::engine::StatisticsResult)
Q_DECLARE_METATYPE(archivist::engine::QueryFilter)
Q_DECLARE_METATYPE(archivist::engine::PageRequest)
Q_DECLARE_METATYPE(archivist::engine::PageResult)
Q_DECLARE_METATYPE(archivist::engine::EventDetail)
Q_DECLARE_METATYPE(archivist::engine::CountResult)
