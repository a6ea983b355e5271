#include "core/protocol/nip19.h"

#include <algorithm>
#include <cstring>

#include "core/protocol/bech32.h"
#include "core/protocol/hex.h"

namespace archivist::protocol {

namespace {

enum TlvType : uint8_t { kTlvSpecial = 0, kTlvRelay = 1, kTlvAuthor = 2, kTlvKind = 3 };
constexpr size_t kMaxTlvValueBytes = 255;

Error nip19Error(std::string msg) { return makeError("nip19", std::move(msg)); }

bool appendTlv(std::vector<uint8_t>& out, uint8_t type, const uint8_t* data, size_t n) {
    if (n > kMaxTlvValueBytes) return false;
    out.push_back(type);
    out.push_back(uint8_t(n));
    out.insert(out.end(), data, data + n);
    return true;
}

bool appendTlv(std::vector<uint8_t>& out, uint8_t type, std::string_view s) {
    return appendTlv(out, type, reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

bool appendTlv(std::vector<uint8_t>& out, uint8_t type, const Bytes32& b) {
    return appendTlv(out, type, b.data(), b.size());
}

void appendKindTlv(std::vector<uint8_t>& out, uint32_t kind) {
    const uint8_t be[4] = {uint8_t(kind >> 24), uint8_t(kind >> 16), uint8_t(kind >> 8), uint8_t(kind)};
    appendTlv(out, kTlvKind, be, 4);
}

bool appendRelays(std::vector<uint8_t>& out, const std::vector<std::string>& relays) {
    for (const auto& r : relays)
        if (!appendTlv(out, kTlvRelay, r)) return false;
    return true;
}

struct Tlv {
    uint8_t type;
    std::string_view value;
};

// Splits a TLV payload; an entry whose length runs past the end is an error.
Expected<std::vector<Tlv>> splitTlv(const std::vector<uint8_t>& data) {
    std::vector<Tlv> out;
    size_t i = 0;
    while (i < data.size()) {
        if (data.size() - i < 2) return nip19Error("truncated TLV: type without a length");
        const uint8_t type = data[i];
        const size_t len = data[i + 1];
        i += 2;
        if (data.size() - i < len)
            return nip19Error("truncated TLV: type " + std::to_string(type) + " declares " +
                              std::to_string(len) + " bytes, " + std::to_string(data.size() - i) +
                              " remain");
        out.push_back({type, std::string_view(reinterpret_cast<const char*>(data.data() + i), len)});
        i += len;
    }
    return out;
}

Expected<Bytes32> tlvBytes32(const Tlv& t, const char* what) {
    if (t.value.size() != 32)
        return nip19Error(std::string("TLV ") + what + " must be 32 bytes, got " +
                          std::to_string(t.value.size()));
    Bytes32 b;
    std::memcpy(b.data(), t.value.data(), 32);
    return b;
}

Expected<uint32_t> tlvKind(const Tlv& t) {
    if (t.value.size() != 4)
        return nip19Error("TLV kind must be 4 bytes, got " + std::to_string(t.value.size()));
    const auto* p = reinterpret_cast<const uint8_t*>(t.value.data());
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

// Fills the fields common to the TLV entities. `special` receives the first type-0 value; later
// type-0, author and kind entries repeat and are ignored (first wins), unknown types are skipped.
struct TlvFields {
    std::optional<std::string_view> special;
    std::vector<std::string> relays;
    std::optional<Bytes32> author;
    std::optional<uint32_t> kind;
};

Expected<TlvFields> readTlvFields(const std::vector<uint8_t>& data) {
    auto tlvs = splitTlv(data);
    if (!tlvs) return tlvs.error();
    TlvFields f;
    for (const Tlv& t : *tlvs) {
        switch (t.type) {
        case kTlvSpecial:
            if (!f.special) f.special = t.value;
            break;
        case kTlvRelay:
            f.relays.emplace_back(t.value);
            break;
        case kTlvAuthor:
            if (!f.author) {
                auto b = tlvBytes32(t, "author");
                if (!b) return b.error();
                f.author = *b;
            }
            break;
        case kTlvKind:
            if (!f.kind) {
                auto k = tlvKind(t);
                if (!k) return k.error();
                f.kind = *k;
            }
            break;
        default:
            break;
        }
    }
    return f;
}

Expected<Bytes32> specialBytes32(const TlvFields& f, const char* what) {
    if (!f.special) return nip19Error(std::string("missing TLV 0 (") + what + ")");
    return tlvBytes32(Tlv{kTlvSpecial, *f.special}, what);
}

Expected<Bytes32> bare32(const bech32::Decoded& d) {
    if (d.data.size() != 32)
        return nip19Error(d.hrp + " payload must be 32 bytes, got " + std::to_string(d.data.size()));
    Bytes32 b;
    std::memcpy(b.data(), d.data.data(), 32);
    return b;
}

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
        if (c != prefix[i]) return false;
    }
    return true;
}

}  // namespace

std::string encodeNpub(const Bytes32& pubkey) { return bech32::encode("npub", pubkey.data(), 32); }
std::string encodeNsec(const Bytes32& key) { return bech32::encode("nsec", key.data(), 32); }
std::string encodeNote(const Bytes32& id) { return bech32::encode("note", id.data(), 32); }

std::string encodeNprofile(const Nip19Profile& p) {
    std::vector<uint8_t> tlv;
    appendTlv(tlv, kTlvSpecial, p.pubkey);
    if (!appendRelays(tlv, p.relays)) return {};
    return bech32::encode("nprofile", tlv);
}

std::string encodeNevent(const Nip19EventRef& e) {
    std::vector<uint8_t> tlv;
    appendTlv(tlv, kTlvSpecial, e.id);
    if (!appendRelays(tlv, e.relays)) return {};
    if (e.author) appendTlv(tlv, kTlvAuthor, *e.author);
    if (e.kind) appendKindTlv(tlv, *e.kind);
    return bech32::encode("nevent", tlv);
}

std::string encodeNaddr(const Nip19Addr& a) {
    std::vector<uint8_t> tlv;
    if (!appendTlv(tlv, kTlvSpecial, a.identifier)) return {};
    if (!appendRelays(tlv, a.relays)) return {};
    appendTlv(tlv, kTlvAuthor, a.pubkey);
    appendKindTlv(tlv, a.kind);
    return bech32::encode("naddr", tlv);
}

std::string encodeNip19(const Nip19Entity& entity) {
    struct Visitor {
        std::string operator()(const Nip19Pubkey& v) const { return encodeNpub(v.pubkey); }
        std::string operator()(const Nip19SecretKey& v) const { return encodeNsec(v.key); }
        std::string operator()(const Nip19Note& v) const { return encodeNote(v.id); }
        std::string operator()(const Nip19Profile& v) const { return encodeNprofile(v); }
        std::string operator()(const Nip19EventRef& v) const { return encodeNevent(v); }
        std::string operator()(const Nip19Addr& v) const { return encodeNaddr(v); }
    };
    return std::visit(Visitor{}, entity);
}

const char* nip19Hrp(const Nip19Entity& entity) {
    static constexpr const char* kNames[] = {"npub", "nsec", "note", "nprofile", "nevent", "naddr"};
    return kNames[entity.index()];
}

Expected<Nip19Entity> decodeNip19(std::string_view text) {
    if (startsWithNoCase(text, "nostr:")) text.remove_prefix(6);
    auto decoded = bech32::decode(text);
    if (!decoded) return nip19Error(decoded.error().message);
    const bech32::Decoded& d = *decoded;

    if (d.hrp == "npub" || d.hrp == "nsec" || d.hrp == "note") {
        auto b = bare32(d);
        if (!b) return b.error();
        if (d.hrp == "npub") return Nip19Entity(Nip19Pubkey{*b});
        if (d.hrp == "nsec") return Nip19Entity(Nip19SecretKey{*b});
        return Nip19Entity(Nip19Note{*b});
    }
    if (d.hrp != "nprofile" && d.hrp != "nevent" && d.hrp != "naddr")
        return nip19Error("unsupported hrp \"" + d.hrp + "\"");

    auto fields = readTlvFields(d.data);
    if (!fields) return fields.error();
    TlvFields& f = *fields;
    if (d.hrp == "nprofile") {
        auto pk = specialBytes32(f, "pubkey");
        if (!pk) return pk.error();
        return Nip19Entity(Nip19Profile{*pk, std::move(f.relays)});
    }
    if (d.hrp == "nevent") {
        auto id = specialBytes32(f, "event id");
        if (!id) return id.error();
        return Nip19Entity(Nip19EventRef{*id, std::move(f.relays), f.author, f.kind});
    }
    if (!f.special) return nip19Error("missing TLV 0 (identifier)");
    if (!f.author) return nip19Error("naddr without TLV 2 (author)");
    if (!f.kind) return nip19Error("naddr without TLV 3 (kind)");
    return Nip19Entity(Nip19Addr{std::string(*f.special), *f.author, *f.kind, std::move(f.relays)});
}

Expected<Bytes32> decodePubkeyInput(std::string_view text) {
    auto isSpace = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!text.empty() && isSpace(text.front())) text.remove_prefix(1);
    while (!text.empty() && isSpace(text.back())) text.remove_suffix(1);
    if (text.size() == 64) {  // hex; people paste uppercase too, which is unambiguous here
        std::string lower(text);
        for (char& c : lower)
            if (c >= 'A' && c <= 'F') c = char(c - 'A' + 'a');
        Bytes32 b;
        if (fromHex(lower, b.data(), 32)) return b;
    }
    auto entity = decodeNip19(text);
    if (!entity) {
        return nip19Error("expected 64 hex characters, npub or nprofile: " + entity.error().message);
    }
    if (const auto* p = std::get_if<Nip19Pubkey>(&*entity)) return p->pubkey;
    if (const auto* p = std::get_if<Nip19Profile>(&*entity)) return p->pubkey;
    return nip19Error(std::string("expected a public key (npub or nprofile), got ") + nip19Hrp(*entity));
}

}  // namespace archivist::protocol
