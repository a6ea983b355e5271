#pragma once
// "Allow this address": for a relay the address policy refused (a loopback or private address),
// asks the operator, then adds the address to the allow list in config.json and to the running
// engine's address policy (Engine::allowAddress: it takes effect at once, refused relays are
// retried).
// Thread: GUI.
#include <QString>

class QWidget;

namespace archivist::engine {
class Engine;
}

namespace archivist::ui {

// The single-address CIDR ("127.0.0.1/32", "fd00::1/128") to allow for a refused relay: the first
// IP address named in `detail` (the policy's words), else the URL's host when it is a literal
// address; "" when neither names one.
QString refusedAddressCidr(const QString& relay_url, const QString& detail);

// Asks, then saves. Returns true when the allow list now holds the address; *message says what
// happened (for the status bar).
bool allowRefusedAddress(QWidget* parent, engine::Engine* engine, const QString& relay_url, const QString& detail,
                         QString* message);

}  // namespace archivist::ui
