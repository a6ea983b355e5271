#include "core/sync/negentropy.h"

#include <algorithm>
#include <limits>

#include "core/protocol/sha256.h"

namespace archivist::sync {

namespace {

constexpr uint64_t kInfinity = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kBuckets = 16;
constexpr uint64_t kModeSkip = 0, kModeFingerprint = 1, kModeIdList = 2;
constexpr size_t kFingerprintBytes = 16;
// Room kept under the frame size limit for the closing "rest of the range" fingerprint.
constexpr size_t kFrameReserve = 200;

Error negError(std::string message) { return makeError("negentropy", std::move(message)); }

}  // namespace

void Negentropy::appendVarint(std::string& out, uint64_t n) {
    char digits[10];
    int count = 0;
    do {
        digits[count++] = char(n & 0x7f);
        n >>= 7;
    } while (n);
    for (int i = count - 1; i >= 0; --i) out += char(uint8_t(digits[i]) | (i ? 0x80 : 0));
}

bool Negentropy::readVarint(std::string_view& in, uint64_t& out) {
    out = 0;
    for (size_t i = 0; i < in.size() && i < 10; ++i) {
        const uint8_t b = uint8_t(in[i]);
        if (out > (kInfinity >> 7)) return false;
        out = (out << 7) | (b & 0x7f);
        if (!(b & 0x80)) {
            in.remove_prefix(i + 1);
            return true;
        }
    }
    return false;
}

Expected<Negentropy> Negentropy::create(std::vector<NegentropyItem> items, uint64_t frame_size_limit,
                                        size_t max_ids) {
    if (frame_size_limit != 0 && frame_size_limit < kMinFrameSizeLimit)
        return negError("frame size limit below " + std::to_string(kMinFrameSizeLimit));
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    if (!items.empty() && items.back().timestamp == kInfinity)
        return negError("timestamp 2^64-1 is reserved");
    Negentropy n;
    n.m_items = std::move(items);
    n.m_frame_size_limit = frame_size_limit;
    n.m_max_ids = max_ids;
    return n;
}

NegentropyFingerprint Negentropy::fingerprint(size_t begin, size_t end) const {
    std::array<uint8_t, 32> sum{};
    for (size_t i = begin; i < end; ++i) {
        unsigned carry = 0;
        for (size_t b = 0; b < 32; ++b) {  // little-endian addition mod 2^256
            const unsigned v = unsigned(sum[b]) + m_items[i].id[b] + carry;
            sum[b] = uint8_t(v);
            carry = v >> 8;
        }
    }
    std::string input(reinterpret_cast<const char*>(sum.data()), sum.size());
    appendVarint(input, end - begin);
    const auto digest = protocol::sha256(input);
    NegentropyFingerprint fp;
    std::copy_n(digest.begin(), fp.size(), fp.begin());
    return fp;
}

bool Negentropy::overLimit(size_t bytes) const {
    return m_frame_size_limit != 0 && bytes > m_frame_size_limit - kFrameReserve;
}

void Negentropy::encodeBound(std::string& out, const Bound& b) {
    if (b.timestamp == kInfinity) {
        appendVarint(out, 0);
        m_last_ts_out = kInfinity;
    } else {
        appendVarint(out, b.timestamp - m_last_ts_out + 1);
        m_last_ts_out = b.timestamp;
    }
    appendVarint(out, b.prefix_len);
    out.append(reinterpret_cast<const char*>(b.prefix.data()), b.prefix_len);
}

bool Negentropy::decodeBound(std::string_view& in, Bound& b) {
    uint64_t encoded = 0, len = 0;
    if (!readVarint(in, encoded)) return false;
    uint64_t ts = encoded == 0 ? kInfinity : encoded - 1;
    ts += m_last_ts_in;
    if (ts < m_last_ts_in) ts = kInfinity;  // saturate
    m_last_ts_in = ts;
    if (!readVarint(in, len) || len > 32 || in.size() < len) return false;
    b = Bound{};
    b.timestamp = ts;
    b.prefix_len = uint8_t(len);
    std::copy_n(in.data(), len, b.prefix.begin());
    in.remove_prefix(len);
    return true;
}

size_t Negentropy::lowerBound(size_t from, size_t to, const Bound& b) const {
    const NegentropyItem key{b.timestamp, b.prefix};
    return size_t(std::lower_bound(m_items.begin() + long(from), m_items.begin() + long(to), key) - m_items.begin());
}

void Negentropy::splitRange(std::string& out, size_t lower, size_t upper, const Bound& upper_bound) {
    const uint64_t count = upper - lower;
    if (count < kBuckets * 2) {
        encodeBound(out, upper_bound);
        appendVarint(out, kModeIdList);
        appendVarint(out, count);
        for (size_t i = lower; i < upper; ++i)
            out.append(reinterpret_cast<const char*>(m_items[i].id.data()), 32);
        return;
    }
    const uint64_t per_bucket = count / kBuckets, with_extra = count % kBuckets;
    size_t curr = lower;
    for (uint64_t i = 0; i < kBuckets; ++i) {
        const size_t bucket = size_t(per_bucket + (i < with_extra ? 1 : 0));
        const auto fp = fingerprint(curr, curr + bucket);
        curr += bucket;
        Bound next;
        if (curr == upper) {
            next = upper_bound;
        } else {
            // The shortest bound separating the bucket's last item from the next one.
            const auto& prev = m_items[curr - 1];
            const auto& cur = m_items[curr];
            next.timestamp = cur.timestamp;
            if (prev.timestamp == cur.timestamp) {
                size_t shared = 0;
                while (shared < 32 && prev.id[shared] == cur.id[shared]) ++shared;
                next.prefix_len = uint8_t(std::min<size_t>(shared + 1, 32));
                std::copy_n(cur.id.begin(), next.prefix_len, next.prefix.begin());
            }
        }
        encodeBound(out, next);
        appendVarint(out, kModeFingerprint);
        out.append(reinterpret_cast<const char*>(fp.data()), fp.size());
    }
}

Expected<std::string> Negentropy::initiate() {
    if (m_role != Role::None) return negError("initiate: already started");
    m_role = Role::Initiator;
    m_last_ts_out = 0;
    std::string out(1, char(kProtocolVersion));
    Bound all;
    all.timestamp = kInfinity;
    splitRange(out, 0, m_items.size(), all);  // ≤ 31 ids or 16 fingerprints: always fits a frame
    return out;
}

Expected<std::optional<std::string>> Negentropy::reconcile(std::string_view reply, std::vector<protocol::Bytes32>& have,
                                                           std::vector<protocol::Bytes32>& need) {
    if (m_role != Role::Initiator) return negError("reconcile: initiate() first");
    auto out = process(reply, &have, &need);
    if (!out) return out.error();
    if (out->size() == 1) return std::optional<std::string>{};
    return std::optional<std::string>(std::move(out.value()));
}

Expected<std::string> Negentropy::respond(std::string_view message) {
    if (m_role == Role::Initiator) return negError("respond: this instance is the initiator");
    m_role = Role::Responder;
    return process(message, nullptr, nullptr);
}

Expected<std::string> Negentropy::process(std::string_view msg, std::vector<protocol::Bytes32>* have,
                                          std::vector<protocol::Bytes32>* need) {
    const bool initiator = m_role == Role::Initiator;
    m_last_ts_in = m_last_ts_out = 0;
    std::string full(1, char(kProtocolVersion));
    if (msg.empty()) return negError("empty message");
    const uint8_t version = uint8_t(msg.front());
    msg.remove_prefix(1);
    if (version < 0x60 || version > 0x6f) return negError("invalid protocol version byte");
    if (version != kProtocolVersion) {
        if (initiator) return negError("peer wants protocol version " + std::to_string(version - 0x60));
        return full;
    }

    const size_t total = m_items.size();
    Bound prev_bound;
    size_t prev_index = 0;
    bool skip = false;
    uint64_t committed_ts_out = 0;  // m_last_ts_out as of the end of `full`
    while (!msg.empty()) {
        std::string o;
        const bool skip_before = skip;
        auto flushSkip = [&] {
            if (!skip) return;
            skip = false;
            encodeBound(o, prev_bound);
            appendVarint(o, kModeSkip);
        };
        Bound bound;
        uint64_t mode = 0;
        if (!decodeBound(msg, bound) || !readVarint(msg, mode)) return negError("truncated range");
        const size_t lower = prev_index;
        size_t upper = lowerBound(prev_index, total, bound);
        bool sent_id_list = false;

        if (mode == kModeSkip) {
            skip = true;
        } else if (mode == kModeFingerprint) {
            if (msg.size() < kFingerprintBytes) return negError("truncated fingerprint");
            const auto theirs = msg.substr(0, kFingerprintBytes);
            msg.remove_prefix(kFingerprintBytes);
            const auto ours = fingerprint(lower, upper);
            const std::string_view ours_view(reinterpret_cast<const char*>(ours.data()), ours.size());
            // An empty range on both sides "matches" — but responders that cut a long id list at
            // their frame limit have been seen to fingerprint the rest from the wrong index
            // (@nostr-dev-kit/sync 1.0.0: always the empty set), which would silently end the
            // reconciliation while they still hold events. When we hold nothing in the range we
            // ask for their ids instead (one id list, empty if they really hold nothing).
            const bool unverifiable = initiator && lower == upper;
            if (theirs != ours_view || unverifiable) {
                flushSkip();
                splitRange(o, lower, upper, bound);
            } else {
                skip = true;
            }
        } else if (mode == kModeIdList) {
            uint64_t count = 0;
            if (!readVarint(msg, count) || count > msg.size() / 32) return negError("truncated id list");
            if (initiator) {
                std::vector<protocol::Bytes32> theirs(count);
                for (auto& id : theirs) {
                    std::copy_n(msg.data(), 32, id.begin());
                    msg.remove_prefix(32);
                }
                std::vector<protocol::Bytes32> ours;
                ours.reserve(upper - lower);
                for (size_t i = lower; i < upper; ++i) ours.push_back(m_items[i].id);
                std::sort(theirs.begin(), theirs.end());
                theirs.erase(std::unique(theirs.begin(), theirs.end()), theirs.end());
                std::sort(ours.begin(), ours.end());
                std::vector<protocol::Bytes32> only_ours, only_theirs;
                std::set_difference(ours.begin(), ours.end(), theirs.begin(), theirs.end(), std::back_inserter(only_ours));
                std::set_difference(theirs.begin(), theirs.end(), ours.begin(), ours.end(), std::back_inserter(only_theirs));
                // With a frame limit a settled range can be covered again by the peer's closing
                // fingerprint (it still differs: we do not add needed ids to our set), so ids are
                // reported once per reconciliation through m_reported (bounded by max_ids).
                for (auto* list : {&only_ours, &only_theirs}) {
                    std::erase_if(*list, [&](const protocol::Bytes32& id) { return !m_reported.insert(id).second; });
                }
                if (m_reported.size() > m_max_ids) return negError("more differing ids than the configured bound");
                have->insert(have->end(), only_ours.begin(), only_ours.end());
                need->insert(need->end(), only_theirs.begin(), only_theirs.end());
                skip = true;
            } else {
                msg.remove_prefix(size_t(count) * 32);
                flushSkip();
                std::string ids;
                uint64_t sent = 0;
                Bound end_bound = bound;
                for (size_t i = lower; i < upper; ++i) {
                    if (overLimit(full.size() + o.size() + ids.size())) {
                        end_bound = Bound{};
                        end_bound.timestamp = m_items[i].timestamp;
                        end_bound.prefix = m_items[i].id;
                        end_bound.prefix_len = 32;
                        upper = i;  // the rest goes into the closing fingerprint
                        break;
                    }
                    ids.append(reinterpret_cast<const char*>(m_items[i].id.data()), 32);
                    ++sent;
                }
                encodeBound(o, end_bound);
                appendVarint(o, kModeIdList);
                appendVarint(o, sent);
                o += ids;
                full += o;  // an id list is always sent, even when it fills the frame
                o.clear();
                committed_ts_out = m_last_ts_out;
                sent_id_list = true;
            }
        } else {
            return negError("unknown mode " + std::to_string(mode));
        }

        if (overLimit(full.size() + o.size())) {
            // Frame full: this range's reply (in `o`) is dropped. Close with a Skip for ranges
            // already settled, then one fingerprint over everything not answered: from `upper`
            // after an id list that went out, else from this range's start. (The reference
            // implementation fingerprints from `upper` without the Skip; then the peer's range
            // starts earlier than ours and settled id lists come back again.)
            m_last_ts_out = committed_ts_out;
            if (!sent_id_list && skip_before) {
                encodeBound(full, prev_bound);
                appendVarint(full, kModeSkip);
            }
            Bound all;
            all.timestamp = kInfinity;
            encodeBound(full, all);
            appendVarint(full, kModeFingerprint);
            const auto fp = fingerprint(sent_id_list ? upper : lower, total);
            full.append(reinterpret_cast<const char*>(fp.data()), fp.size());
            break;
        }
        full += o;
        committed_ts_out = m_last_ts_out;
        prev_index = upper;
        prev_bound = bound;
    }
    return full;
}

}  // namespace archivist::sync
