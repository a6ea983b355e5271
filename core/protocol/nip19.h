#pragma once
// NIP-19 bech32 entities: bare keys/ids (npub, nsec, note) and TLV entities (nprofile, nevent,
// naddr). Decoding is strict about the bech32 layer (checksum, case, padding — see bech32.h) and
// about the TLVs NIP-19 defines; TLV types it does not define are skipped, as the NIP requires.
// Thread: any (no state).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/protocol/event.h"
#include "core/util/expected.h"

namespace archivist::protocol {

struct Nip19Pubkey {  // npub
    Bytes32 pubkey{};
    bool operator==(const Nip19Pubkey&) const = default;
};
struct Nip19SecretKey {  // nsec
    Bytes32 key{};
    bool operator==(const Nip19SecretKey&) const = default;
};
struct Nip19Note {  // note
    Bytes32 id{};
    bool operator==(const Nip19Note&) const = default;
};
struct Nip19Profile {  // nprofile
    Bytes32 pubkey{};
    std::vector<std::string> relays;
    bool operator==(const Nip19Profile&) const = default;
};
struct Nip19EventRef {  // nevent
    Bytes32 id{};
    std::vector<std::string> relays;
    std::optional<Bytes32> author;
    std::optional<uint32_t> kind;
    bool operator==(const Nip19EventRef&) const = default;
};
struct Nip19Addr {  // naddr
    std::string identifier;  // the "d" tag; may be empty
    Bytes32 pubkey{};
    uint32_t kind = 0;
    std::vector<std::string> relays;
    bool operator==(const Nip19Addr&) const = default;
};

// The decoded entity; the alternative tells the prefix (see nip19Hrp).
using Nip19Entity =
    std::variant<Nip19Pubkey, Nip19SecretKey, Nip19Note, Nip19Profile, Nip19EventRef, Nip19Addr>;

// Lowercase bech32 strings. TLV values are limited to 255 bytes: a relay URL or identifier that is
// longer cannot be represented, and the TLV encoders then return "" (nothing is truncated).
std::string encodeNpub(const Bytes32& pubkey);
std::string encodeNsec(const Bytes32& key);
std::string encodeNote(const Bytes32& id);
std::string encodeNprofile(const Nip19Profile& p);
std::string encodeNevent(const Nip19EventRef& e);
std::string encodeNaddr(const Nip19Addr& a);
std::string encodeNip19(const Nip19Entity& entity);
const char* nip19Hrp(const Nip19Entity& entity);  // "npub", "nsec", "note", "nprofile", "nevent", "naddr"

// Accepts an optional "nostr:" prefix (NIP-21, any case). Errors: code "nip19"; the message names
// the problem: the bech32 layer ("bad checksum", "mixed case", "invalid character …"), an
// unsupported hrp, a wrong payload length, or a malformed/missing TLV.
Expected<Nip19Entity> decodeNip19(std::string_view text);

// The console's author input: 64 hex (either case), npub or nprofile (optionally "nostr:"-prefixed),
// surrounding whitespace ignored. Errors: code "nip19", naming what was expected.
Expected<Bytes32> decodePubkeyInput(std::string_view text);

}  // namespace archivist::protocol
