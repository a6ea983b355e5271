#include "ui/allow_address.h"

#include <QCoreApplication>
#include <QHostAddress>
#include <QMessageBox>
#include <QRegularExpression>
#include <QUrl>
#include <algorithm>

#include "core/engine/config.h"
#include "core/engine/engine.h"

namespace archivist::ui {

namespace {
QString cidrOf(const QHostAddress& a) {
    return QStringLiteral("%1/%2").arg(a.toString()).arg(a.protocol() == QAbstractSocket::IPv6Protocol ? 128 : 32);
}
}  // namespace

QString refusedAddressCidr(const QString& relay_url, const QString& detail) {
    static const QRegularExpression candidates(QStringLiteral("[0-9A-Fa-f:.]{2,}"));
    auto it = candidates.globalMatch(detail);
    while (it.hasNext()) {
        QString word = it.next().captured(0);
        while (word.endsWith(QLatin1Char('.')) || word.endsWith(QLatin1Char(':'))) word.chop(1);
        QHostAddress a;
        if ((word.contains(QLatin1Char('.')) || word.count(QLatin1Char(':')) >= 2) && a.setAddress(word)) return cidrOf(a);
    }
    const QString host = QUrl(relay_url).host();
    QHostAddress a;
    if (!host.isEmpty() && a.setAddress(host)) return cidrOf(a);
    return {};
}

bool allowRefusedAddress(QWidget* parent, engine::Engine* engine, const QString& relay_url, const QString& detail,
                         QString* message) {
    const QString cidr = refusedAddressCidr(relay_url, detail);
    const QString path = engine ? engine->configPath() : QString();
    if (cidr.isEmpty() || path.isEmpty()) {
        if (message) *message = cidr.isEmpty() ? QCoreApplication::translate("archivist::ui::AllowAddress", "No address to allow was found for %1.").arg(relay_url)
                                               : QCoreApplication::translate("archivist::ui::AllowAddress", "This engine has no configuration file to save the allow list in.");
        return false;
    }
    const auto answer = QMessageBox::question(
        parent, QCoreApplication::translate("archivist::ui::AllowAddress", "Allow this address"),
        QCoreApplication::translate("archivist::ui::AllowAddress", "%1 was refused because its address %2 is not public (loopback or private).\n\nAllow %2? Archivist "
           "will then connect to relays at this address, starting now. It is added to the allowed addresses "
           "in config.json.")
            .arg(relay_url, cidr));
    if (answer != QMessageBox::Yes) return false;
    auto cfg = engine::loadConfig(path.toStdString());
    if (!cfg) {
        if (message) *message = QCoreApplication::translate("archivist::ui::AllowAddress", "Not saved: %1").arg(QString::fromStdString(cfg.error().message));
        return false;
    }
    if (std::find(cfg->allow_addresses.begin(), cfg->allow_addresses.end(), cidr.toStdString()) == cfg->allow_addresses.end())
        cfg->allow_addresses.push_back(cidr.toStdString());
    if (auto saved = engine::saveConfig(path.toStdString(), *cfg); !saved) {
        if (message) *message = QCoreApplication::translate("archivist::ui::AllowAddress", "Not saved: %1").arg(QString::fromStdString(saved.error().message));
        return false;
    }
    // The running engine takes the rule at once and retries the relays it refused.
    QString error;
    if (!engine->allowAddress(cidr, &error)) {
        if (message) *message = QCoreApplication::translate("archivist::ui::AllowAddress", "%1 saved to the allowed addresses; it takes effect at the next start (%2).").arg(cidr, error);
        return true;
    }
    if (message) *message = QCoreApplication::translate("archivist::ui::AllowAddress", "%1 added to the allowed addresses; relays at this address are retried now.").arg(cidr);
    return true;
}

}  // namespace archivist::ui
