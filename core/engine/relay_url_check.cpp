#include "core/engine/relay_url_check.h"

#include "core/net/address_policy.h"
#include "core/net/relay_url.h"
#include "core/observe/log.h"

namespace archivist::engine {

namespace {

RelayUrlCheck::Problem problemOf(net::UrlErrorCode code) {
    using P = RelayUrlCheck::Problem;
    switch (code) {
    case net::UrlErrorCode::Scheme: return P::Scheme;
    case net::UrlErrorCode::Userinfo: return P::Userinfo;
    case net::UrlErrorCode::Host: return P::Host;
    case net::UrlErrorCode::Port: return P::Port;
    case net::UrlErrorCode::Fragment: return P::Fragment;
    case net::UrlErrorCode::TooLong: return P::TooLong;
    case net::UrlErrorCode::Syntax: return P::Syntax;
    }
    return P::Syntax;
}

}  // namespace

RelayUrlCheck checkRelayUrl(const QString& text, const net::AddressPolicy& policy, net::RelayUrl* parsed) {
    RelayUrlCheck c;
    c.input = text;
    auto url = net::normalizeRelayUrl(text.toStdString());
    if (!url) {
        c.problem = problemOf(url.error().code);
        c.detail = QString::fromStdString(url.error().message);
        return c;
    }
    c.normalized = QString::fromStdString(url->text);
    if (url->literal) {
        const net::Verdict v = policy.check(*url->literal);
        if (!v.allowed) c.problem = RelayUrlCheck::Problem::AddressRefused;
        c.detail = QString::fromStdString(v.reason);
    }
    if (c.ok() && parsed) *parsed = std::move(*url);
    return c;
}

QVector<RelayUrlCheck> checkRelayUrls(const QStringList& urls, const QStringList& allow_cidrs) {
    net::AddressPolicy policy;
    for (const auto& cidr : allow_cidrs)
        if (auto r = policy.allowText(cidr.toStdString()); !r)
            qCWarning(lcEngine) << "allowed address" << cidr << "skipped:" << r.error().message.c_str();
    QVector<RelayUrlCheck> out;
    out.reserve(urls.size());
    for (const auto& u : urls) out.push_back(checkRelayUrl(u, policy));
    return out;
}

}  // namespace archivist::engine
