#include "core/sink/clickhouse_schema.h"

#include <algorithm>
#include <cstdio>

namespace archivist::sink {

namespace {
constexpr int64_t kMaxPartitionSeconds = 4102444799;  // 2099-12-31 23:59:59 UTC

// Days since 1970-01-01 → civil year and month (proleptic Gregorian; H. Hinnant's algorithm).
void civilFromDays(int64_t z, int64_t& year, unsigned& month) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = unsigned(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    month = mp < 10 ? mp + 3 : mp - 9;
    year = int64_t(yoe) + era * 400 + (month <= 2 ? 1 : 0);
}
}  // namespace

const char* const kEventsPartitionSql =
    "toYYYYMM(toDateTime(toUInt32(if(created_at < 0, 0, if(created_at > 4102444799, 4102444799, created_at))), "
    "'UTC'))";

uint32_t monthPartition(int64_t created_at_s) {
    const int64_t t = std::clamp<int64_t>(created_at_s, 0, kMaxPartitionSeconds);
    int64_t year = 0;
    unsigned month = 0;
    civilFromDays(t / 86400, year, month);
    return uint32_t(year * 100 + month);
}

bool isSqlIdentifier(std::string_view s, bool allow_empty) {
    if (s.empty()) return allow_empty;
    if (s.size() > 64) return false;
    for (size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
        const bool digit = c >= '0' && c <= '9';
        if (!alpha && !(digit && i > 0)) return false;
    }
    return true;
}

std::string sqlQuote(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    out += '\'';
    for (const char c : text) {
        switch (c) {
        case '\\': out += "\\\\"; break;
        case '\'': out += "\\'"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\0': out += "\\0"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\x%02x", unsigned(static_cast<unsigned char>(c)));
                out += buf;
            } else {
                out += c;
            }
        }
    }
    out += '\'';
    return out;
}

std::string ClickHouseTables::events() const { return "`" + database + "`.`" + prefix + "events`"; }
std::string ClickHouseTables::sightings() const { return "`" + database + "`.`" + prefix + "sightings`"; }

std::vector<std::string> schemaStatements(const ClickHouseTables& t) {
    std::vector<std::string> out;
    out.push_back("CREATE DATABASE IF NOT EXISTS `" + t.database + "`");
    out.push_back("CREATE TABLE IF NOT EXISTS " + t.events() +
                  " (id FixedString(64), pubkey FixedString(64), created_at Int64, kind UInt16, "
                  "tags Array(Array(String)), content String, sig FixedString(128), node String, batch String) "
                  "ENGINE = ReplacingMergeTree PARTITION BY " +
                  std::string(kEventsPartitionSql) + " ORDER BY (pubkey, kind, created_at, id)");
    out.push_back("CREATE TABLE IF NOT EXISTS " + t.sightings() +
                  " (id FixedString(64), relay String, seen_at Int64, node String, batch String) "
                  "ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(toDateTime(toUInt32(if(seen_at < 0, 0, "
                  "if(intDiv(seen_at, 1000) > 4102444799, 4102444799, intDiv(seen_at, 1000)))), 'UTC')) "
                  "ORDER BY (id, node, relay, seen_at)");
    return out;
}

}  // namespace archivist::sink
