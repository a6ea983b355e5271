#include "core/net/relay_url.h"

#include <QString>

#include <array>
#include <cctype>

namespace archivist::net {
namespace {

bool isAsciiSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && isAsciiSpace(s.front())) s.remove_prefix(1);
    while (!s.empty() && isAsciiSpace(s.back())) s.remove_suffix(1);
    return s;
}

char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

std::string lowerAscii(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = lowerAscii(c);
    return out;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isHex(char c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool isSchemeToken(std::string_view s) {
    if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
    for (char c : s) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.')
            return false;
    }
    return true;
}

UrlError err(UrlErrorCode code, std::string message) { return makeCodedError(code, std::move(message)); }

// Percent-encodes what must not appear raw in a canonical URL; normalises existing escapes.
Expected<std::string, UrlError> encodePathAndQuery(std::string_view in) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    static constexpr std::string_view kUnsafe = "\"<>\\^`{|}";
    std::string out;
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        const auto c = static_cast<unsigned char>(in[i]);
        if (c == '%') {
            if (i + 2 >= in.size() || !isHex(in[i + 1]) || !isHex(in[i + 2])) {
                return err(UrlErrorCode::Syntax, "invalid percent-escape in path or query");
            }
            out.push_back('%');
            out.push_back(char(std::toupper(static_cast<unsigned char>(in[i + 1]))));
            out.push_back(char(std::toupper(static_cast<unsigned char>(in[i + 2]))));
            i += 2;
        } else if (c >= 0x80 || kUnsafe.find(char(c)) != std::string_view::npos) {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xf]);
        } else {
            out.push_back(char(c));
        }
    }
    return out;
}

// Decimal dotted quad without leading zeros; anything else numeric-looking is refused.
std::optional<QHostAddress> strictIpv4(std::string_view host) {
    int parts = 0;
    size_t start = 0;
    while (start <= host.size()) {
        size_t end = host.find('.', start);
        if (end == std::string_view::npos) end = host.size();
        std::string_view part = host.substr(start, end - start);
        if (part.empty() || part.size() > 3) return std::nullopt;
        if (part.size() > 1 && part[0] == '0') return std::nullopt;
        int v = 0;
        for (char c : part) {
            if (!isDigit(c)) return std::nullopt;
            v = v * 10 + (c - '0');
        }
        if (v > 255) return std::nullopt;
        ++parts;
        start = end + 1;
        if (end == host.size()) break;
    }
    if (parts != 4) return std::nullopt;
    QHostAddress a;
    if (!a.setAddress(QString::fromLatin1(host.data(), qsizetype(host.size())))) return std::nullopt;
    return a;
}

// True when the last label is numeric (decimal or 0x-hex): such a host is an IPv4 address to
// every resolver, whatever else it looks like.
bool looksNumeric(std::string_view host) {
    const size_t dot = host.rfind('.');
    std::string_view last = dot == std::string_view::npos ? host : host.substr(dot + 1);
    if (last.empty()) return false;
    if (last.size() > 1 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X')) {
        for (char c : last.substr(2)) {
            if (!isHex(c)) return false;
        }
        return true;
    }
    for (char c : last) {
        if (!isDigit(c)) return false;
    }
    return true;
}

Expected<std::string, UrlError> normaliseDomain(std::string_view raw) {
    std::string host(raw);
    if (!host.empty() && host.back() == '.') host.pop_back();
    if (host.empty()) return err(UrlErrorCode::Host, "empty host name");
    bool ascii = true;
    for (char c : host) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
    if (!ascii) {
        const QString decoded = QString::fromUtf8(host.data(), qsizetype(host.size()));
        if (decoded.toUtf8() != QByteArray(host.data(), qsizetype(host.size()))) {
            return err(UrlErrorCode::Syntax, "host is not valid UTF-8");
        }
        const QByteArray ace = QUrl::toAce(decoded);
        if (ace.isEmpty()) return err(UrlErrorCode::Host, "host '" + host + "' is not a valid internationalised name");
        host.assign(ace.constData(), size_t(ace.size()));
    }
    host = lowerAscii(host);
    if (host.size() > 253) return err(UrlErrorCode::Host, "host name longer than 253 characters");
    size_t label_start = 0;
    for (size_t i = 0; i <= host.size(); ++i) {
        if (i == host.size() || host[i] == '.') {
            const size_t len = i - label_start;
            if (len == 0) return err(UrlErrorCode::Host, "host '" + host + "' has an empty label");
            if (len > 63) return err(UrlErrorCode::Host, "host '" + host + "' has a label longer than 63 characters");
            if (host[label_start] == '-' || host[i - 1] == '-') {
                return err(UrlErrorCode::Host, "host '" + host + "' has a label starting or ending with '-'");
            }
            label_start = i + 1;
            continue;
        }
        const char c = host[i];
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) {
            return err(UrlErrorCode::Host, "host '" + host + "' contains '" + std::string(1, c) + "'");
        }
    }
    return host;
}

}  // namespace

QUrl RelayUrl::toQUrl() const { return QUrl(QString::fromStdString(text), QUrl::StrictMode); }

const char* errorCodeName(UrlErrorCode code) {
    switch (code) {
    case UrlErrorCode::Scheme: return "scheme";
    case UrlErrorCode::Userinfo: return "userinfo";
    case UrlErrorCode::Host: return "host";
    case UrlErrorCode::Port: return "port";
    case UrlErrorCode::Fragment: return "fragment";
    case UrlErrorCode::TooLong: return "too_long";
    case UrlErrorCode::Syntax: return "syntax";
    }
    return "syntax";
}

Expected<RelayUrl, UrlError> normalizeRelayUrl(std::string_view input) {
    const std::string_view s = trim(input);
    if (s.empty()) return err(UrlErrorCode::Syntax, "empty relay URL");
    if (s.size() > kMaxRelayUrlBytes) {
        return err(UrlErrorCode::TooLong, "relay URL is " + std::to_string(s.size()) + " bytes (limit " +
                                   std::to_string(kMaxRelayUrlBytes) + ")");
    }
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f || c == ' ') {
            return err(UrlErrorCode::Syntax, "relay URL contains a space or control character");
        }
    }

    const size_t colon = s.find(':');
    if (colon == std::string_view::npos || !isSchemeToken(s.substr(0, colon))) {
        return err(UrlErrorCode::Scheme, "relay URL needs a ws:// or wss:// scheme");
    }
    RelayUrl url;
    url.scheme = lowerAscii(s.substr(0, colon));
    if (url.scheme != "ws" && url.scheme != "wss") {
        return err(UrlErrorCode::Scheme, "scheme '" + url.scheme + "' is not a relay scheme (use ws:// or wss://)");
    }
    url.tls = url.scheme == "wss";
    if (s.substr(colon + 1, 2) != "//") return err(UrlErrorCode::Syntax, "expected '//' after '" + url.scheme + ":'");
    const std::string_view rest = s.substr(colon + 3);
    if (rest.find('#') != std::string_view::npos) return err(UrlErrorCode::Fragment, "relay URL must not have a #fragment");

    const size_t auth_end = std::min(rest.find_first_of("/?"), rest.size());
    const std::string_view authority = rest.substr(0, auth_end);
    const std::string_view tail = rest.substr(auth_end);
    if (authority.find('@') != std::string_view::npos) {
        return err(UrlErrorCode::Userinfo, "relay URL must not contain user information (user@host)");
    }
    if (authority.find('\\') != std::string_view::npos) return err(UrlErrorCode::Syntax, "backslash in host");
    if (authority.find('%') != std::string_view::npos) {
        return err(UrlErrorCode::Host, "percent-escapes and zone ids are not allowed in the host");
    }

    std::string_view host_part;
    std::string_view port_part;
    bool has_port = false;
    if (!authority.empty() && authority.front() == '[') {
        const size_t close = authority.find(']');
        if (close == std::string_view::npos) return err(UrlErrorCode::Host, "unterminated '[' in host");
        host_part = authority.substr(1, close - 1);
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return err(UrlErrorCode::Host, "unexpected characters after ']'");
            has_port = true;
            port_part = after.substr(1);
        }
        QHostAddress a;
        if (host_part.empty() ||
            !a.setAddress(QString::fromLatin1(host_part.data(), qsizetype(host_part.size()))) ||
            a.protocol() != QAbstractSocket::IPv6Protocol) {
            return err(UrlErrorCode::Host, "'" + std::string(host_part) + "' is not an IPv6 address");
        }
        url.host = a.toString().toStdString();
        url.literal = a;
    } else {
        const size_t pc = authority.rfind(':');
        host_part = pc == std::string_view::npos ? authority : authority.substr(0, pc);
        if (pc != std::string_view::npos) {
            has_port = true;
            port_part = authority.substr(pc + 1);
        }
        if (host_part.empty()) return err(UrlErrorCode::Host, "relay URL has no host");
        if (host_part.find(':') != std::string_view::npos || host_part.find('[') != std::string_view::npos ||
            host_part.find(']') != std::string_view::npos) {
            return err(UrlErrorCode::Host, "IPv6 addresses must be written in brackets, e.g. ws://[::1]:7777");
        }
        std::string_view bare = host_part;
        if (bare.size() > 1 && bare.back() == '.') bare.remove_suffix(1);
        if (looksNumeric(bare)) {
            auto v4 = strictIpv4(bare);
            if (!v4) {
                return err(UrlErrorCode::Host, "numeric host '" + std::string(host_part) +
                                       "' is not a plain dotted-quad IPv4 address");
            }
            url.host = v4->toString().toStdString();
            url.literal = *v4;
        } else {
            auto domain = normaliseDomain(host_part);
            if (!domain) return domain.error();
            url.host = std::move(domain.value());
        }
    }

    const uint16_t default_port = url.tls ? 443 : 80;
    url.port = default_port;
    if (has_port && !port_part.empty()) {
        size_t i = 0;
        while (i + 1 < port_part.size() && port_part[i] == '0') ++i;
        const std::string_view digits = port_part.substr(i);
        uint32_t v = 0;
        bool ok = digits.size() <= 5;
        for (char c : digits) {
            ok = ok && isDigit(c);
            if (ok) v = v * 10 + uint32_t(c - '0');
        }
        if (!ok || v == 0 || v > 65535) {
            return err(UrlErrorCode::Port, "invalid port '" + std::string(port_part) + "'");
        }
        url.port = uint16_t(v);
    }

    auto encoded = encodePathAndQuery(tail);
    if (!encoded) return encoded.error();
    std::string pq = std::move(encoded.value());
    if (pq == "/") pq.clear();
    else if (pq.rfind("/?", 0) == 0) pq.erase(0, 1);  // "wss://a.com/?q" == "wss://a.com?q"
    url.path_and_query = std::move(pq);

    std::string text = url.scheme + "://";
    if (url.literal && url.literal->protocol() == QAbstractSocket::IPv6Protocol) {
        text += "[" + url.host + "]";
    } else {
        text += url.host;
    }
    if (url.port != default_port) text += ":" + std::to_string(url.port);
    text += url.path_and_query;
    if (text.size() > kMaxRelayUrlBytes) {
        return err(UrlErrorCode::TooLong, "normalised relay URL is " + std::to_string(text.size()) +
                                   " bytes (limit " + std::to_string(kMaxRelayUrlBytes) + ")");
    }
    url.text = std::move(text);
    return url;
}

}  // namespace archivist::net
