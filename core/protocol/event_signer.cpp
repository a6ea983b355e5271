#include "core/protocol/event_signer.h"

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <openssl/rand.h>

#include "core/protocol/event_codec.h"
#include "core/protocol/hex.h"
#include "core/protocol/json.h"

namespace archivist::protocol {

struct EventSigner::Impl {
    secp256k1_context* ctx = nullptr;
    secp256k1_keypair keypair{};
    ~Impl() {
        if (ctx) secp256k1_context_destroy(ctx);
    }
};

EventSigner::EventSigner() : m(std::make_unique<Impl>()) {}
EventSigner::~EventSigner() = default;

Expected<std::unique_ptr<EventSigner>> EventSigner::fromSecret(const Bytes32& secret) {
    std::unique_ptr<EventSigner> s(new EventSigner());
    s->m->ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (!s->m->ctx) return makeError("sign", "cannot create a secp256k1 context");
    Bytes32 seed{};
    if (RAND_bytes(seed.data(), int(seed.size())) == 1) {
        // Side-channel hardening of signing; failure to randomise is not fatal.
        if (!secp256k1_context_randomize(s->m->ctx, seed.data())) return makeError("sign", "context randomisation failed");
    }
    if (!secp256k1_keypair_create(s->m->ctx, &s->m->keypair, secret.data()))
        return makeError("key", "not a valid secp256k1 secret key");
    secp256k1_xonly_pubkey xonly;
    if (!secp256k1_keypair_xonly_pub(s->m->ctx, &xonly, nullptr, &s->m->keypair))
        return makeError("key", "cannot derive the public key");
    secp256k1_xonly_pubkey_serialize(s->m->ctx, s->m_pubkey.data(), &xonly);
    return s;
}

Expected<std::unique_ptr<EventSigner>> EventSigner::generate() {
    for (int attempt = 0; attempt < 8; ++attempt) {
        Bytes32 secret{};
        if (RAND_bytes(secret.data(), int(secret.size())) != 1) return makeError("sign", "no randomness for a key");
        auto s = fromSecret(secret);
        if (s || s.error().code != "key") return s;  // an invalid scalar is astronomically rare: draw again
    }
    return makeError("sign", "could not draw a valid key");
}

Expected<void> EventSigner::sign(Event& e) {
    e.pubkey = m_pubkey;
    e.id = computeId(e);
    Bytes32 aux{};
    if (RAND_bytes(aux.data(), int(aux.size())) != 1) return makeError("sign", "no randomness for the signature");
    if (!secp256k1_schnorrsig_sign32(m->ctx, e.sig.data(), e.id.data(), &m->keypair, aux.data()))
        return makeError("sign", "BIP-340 signing failed");
    return {};
}

Event makeAuthEvent(std::string_view relay_url, std::string_view challenge, int64_t created_at) {
    Event e;
    e.kind = 22242;
    e.created_at = created_at;
    e.tags = {{"relay", std::string(relay_url)}, {"challenge", std::string(challenge)}};
    return e;
}

namespace {

// Minimal structural scanner over one JSON object's top level.
class Scanner {
public:
    explicit Scanner(std::string_view s) : m_s(s) {}
    void ws() {
        while (m_i < m_s.size() && (m_s[m_i] == ' ' || m_s[m_i] == '\t' || m_s[m_i] == '\n' || m_s[m_i] == '\r')) ++m_i;
    }
    bool eat(char c) {
        ws();
        if (m_i < m_s.size() && m_s[m_i] == c) {
            ++m_i;
            return true;
        }
        return false;
    }
    // A string token; raw (escapes left as written). Returns false if unterminated.
    bool string(std::string_view& raw) {
        ws();
        if (m_i >= m_s.size() || m_s[m_i] != '"') return false;
        const size_t start = ++m_i;
        while (m_i < m_s.size()) {
            const char c = m_s[m_i];
            if (c == '\\') {
                m_i += 2;
                continue;
            }
            if (c == '"') {
                raw = m_s.substr(start, m_i - start);
                ++m_i;
                return true;
            }
            ++m_i;
        }
        return false;
    }
    // Skips any value; scalar values' raw text is returned.
    bool value(std::string_view& scalar, bool& is_string) {
        ws();
        is_string = false;
        if (m_i >= m_s.size()) return false;
        const char c = m_s[m_i];
        if (c == '"') {
            is_string = true;
            return string(scalar);
        }
        if (c == '{' || c == '[') {
            int depth = 0;
            while (m_i < m_s.size()) {
                const char d = m_s[m_i];
                if (d == '"') {
                    std::string_view ignored;
                    if (!string(ignored)) return false;
                    continue;
                }
                if (d == '{' || d == '[') ++depth;
                if (d == '}' || d == ']') {
                    if (--depth == 0) {
                        ++m_i;
                        scalar = {};
                        return true;
                    }
                }
                ++m_i;
            }
            return false;
        }
        const size_t start = m_i;
        while (m_i < m_s.size() && m_s[m_i] != ',' && m_s[m_i] != '}' && m_s[m_i] != ' ' && m_s[m_i] != '\n' &&
               m_s[m_i] != '\r' && m_s[m_i] != '\t')
            ++m_i;
        scalar = m_s.substr(start, m_i - start);
        return !scalar.empty();
    }

private:
    std::string_view m_s;
    size_t m_i = 0;
};

}  // namespace

std::optional<EventKeys> peekEventKeys(std::string_view json) {
    Scanner sc(json);
    if (!sc.eat('{')) return std::nullopt;
    EventKeys keys;
    bool haveId = false, haveCreated = false, haveKind = false;
    if (sc.eat('}')) return std::nullopt;
    do {
        std::string_view key, value;
        bool isString = false;
        if (!sc.string(key) || !sc.eat(':') || !sc.value(value, isString)) return std::nullopt;
        if (key == "id") {
            if (!isString || value.size() != 64 || !fromHex(value, keys.id.data(), keys.id.size())) return std::nullopt;
            haveId = true;
        } else if (key == "created_at") {
            uint64_t v = 0;
            if (isString || !json::parseUnsigned(value, uint64_t(INT64_MAX), v)) return std::nullopt;
            keys.created_at = int64_t(v);
            haveCreated = true;
        } else if (key == "kind") {
            uint64_t v = 0;
            if (isString || !json::parseUnsigned(value, 65535, v)) return std::nullopt;
            keys.kind = uint16_t(v);
            haveKind = true;
        }
    } while (sc.eat(','));
    if (!sc.eat('}') || !haveId || !haveCreated || !haveKind) return std::nullopt;
    return keys;
}

}  // namespace archivist::protocol
