#include "core/index/layout.h"

#include <cstdio>
#include <cstring>
#include <limits>

#include "core/protocol/sha256.h"
#include "core/util/civil_date.h"

namespace archivist::index {

namespace {

// Month index 0 … 959 (2020-01 …) → its first second.
int64_t monthStart(int month) {
    return daysFromCivil(2020 + month / 12, unsigned(month % 12 + 1), 1) * 86400;
}

}  // namespace

Bucket bucketOf(int64_t created_at) {
    if (created_at < kFirstMonthStart) return kBucketEarly;
    if (created_at >= kLateStart) return kBucketLate;
    // A first guess from the average month length, corrected against the exact boundaries.
    int month = int((created_at - kFirstMonthStart) / (86400 * 30.436875));
    if (month > 959) month = 959;
    while (month > 0 && created_at < monthStart(month)) --month;
    while (month < 959 && created_at >= monthStart(month + 1)) ++month;
    return Bucket(month + 1);
}

int64_t bucketLo(Bucket b) {
    if (b == kBucketEarly) return 0;
    if (b >= kBucketLate) return kLateStart;
    return monthStart(b - 1);
}

int64_t bucketHi(Bucket b) {
    if (b == kBucketEarly) return kFirstMonthStart - 1;
    if (b >= kBucketLate) return std::numeric_limits<int64_t>::max();
    return (b == kBucketLate - 1 ? kLateStart : monthStart(b)) - 1;
}

std::string bucketName(Bucket b) {
    if (b == kBucketEarly) return "early";
    if (b >= kBucketLate) return "late";
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d", 2020 + (b - 1) / 12, (b - 1) % 12 + 1);
    return buf;
}

uint64_t idKey(const protocol::Bytes32& id) {
    uint64_t k = 0;
    for (int i = 7; i >= 0; --i) k = (k << 8) | id[size_t(i)];
    return k;
}

int64_t sigHash(const protocol::Bytes64& sig) {
    const protocol::Bytes32 h =
        protocol::sha256(std::string_view(reinterpret_cast<const char*>(sig.data()), sig.size()));
    int64_t v;
    std::memcpy(&v, h.data(), 8);
    return v;
}

}  // namespace archivist::index
