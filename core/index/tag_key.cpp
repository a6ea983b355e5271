#include "core/index/tag_key.h"

#include <cstring>
#include <string>

#include "core/protocol/sha256.h"

namespace archivist::index {

int64_t tagKey(char name, std::string_view value) {
    thread_local std::string buf;
    buf.clear();
    buf.push_back(name);
    buf.push_back('\0');
    buf.append(value);
    const protocol::Bytes32 digest = protocol::sha256(buf);
    uint64_t key = 0;
    for (int i = 7; i >= 0; --i) key = (key << 8) | digest[size_t(i)];
    int64_t out;
    std::memcpy(&out, &key, sizeof out);
    return out;
}

std::vector<protocol::Filter> tagRecheckFilters(const std::vector<protocol::Filter>& filters) {
    bool any = false;
    for (const auto& f : filters) any = any || !f.tags.empty();
    if (!any) return {};
    std::vector<protocol::Filter> out = filters;
    for (auto& f : out) f.search.reset();
    return out;
}

bool tagsConfirmed(const std::vector<protocol::Filter>& recheck, const protocol::Event& e) {
    return recheck.empty() || protocol::matchesAny(recheck, e);
}

}  // namespace archivist::index
