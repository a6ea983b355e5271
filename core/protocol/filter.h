#pragma once
// NIP-01 filters: parse from / serialise to JSON, and match events.
// A REQ's filters are ORed; within a filter all conditions are ANDed; since/until are inclusive.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/protocol/event.h"
#include "core/util/expected.h"

namespace archivist::protocol {

struct Filter {
    std::vector<Bytes32> ids;
    std::vector<Bytes32> authors;
    std::vector<uint16_t> kinds;
    std::map<char, std::vector<std::string>> tags;  // "#e": [...] → tags['e']
    std::optional<int64_t> since;
    std::optional<int64_t> until;
    std::optional<uint32_t> limit;
    std::optional<std::string> search;  // NIP-50; matched as a case-insensitive substring locally

    bool operator==(const Filter&) const = default;
};

// Strict: unknown keys other than "#x" single-letter tags and "search" are an error;
// ids/authors must be 64 lowercase hex; kinds 0…65535; since/until/limit non-negative integer
// literals; a key given twice is an error. Errors: code "filter", the message names the key.
Expected<Filter> parseFilter(std::string_view json);
std::string serializeFilter(const Filter& f);
bool matches(const Filter& f, const Event& e);
bool matchesAny(const std::vector<Filter>& filters, const Event& e);

}  // namespace archivist::protocol
