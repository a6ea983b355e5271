#include "ui/add_relays_dialog.h"

#include "ui/allow_address.h"

#include <QDialogButtonBox>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QKeyEvent>
#include <QPushButton>
#include <QRegularExpression>
#include <QSet>
#include <QVBoxLayout>
#include <algorithm>

#include "core/engine/engine.h"

namespace archivist::ui {

namespace {
const QString kOk = QStringLiteral("\u2713");   // ✓
const QString kBad = QStringLiteral("\u2717");  // ✗

QString problemText(const engine::RelayUrlCheck& c) {
    // The engine's kinds of problem, translated; its own words follow.
    using P = engine::RelayUrlCheck::Problem;
    QString what;
    switch (c.problem) {
    case P::None: return c.detail;
    case P::AddressRefused: return c.detail;  // "loopback address 127.0.0.1 refused (allow with --allow-address …)"
    case P::Scheme: what = AddRelaysDialog::tr("only ws:// and wss:// relays"); break;
    case P::Userinfo: what = AddRelaysDialog::tr("user name or password in the URL"); break;
    case P::Host: what = AddRelaysDialog::tr("invalid host"); break;
    case P::Port: what = AddRelaysDialog::tr("invalid port"); break;
    case P::Fragment: what = AddRelaysDialog::tr("a #fragment is not allowed"); break;
    case P::TooLong: what = AddRelaysDialog::tr("URL too long"); break;
    case P::Syntax: what = AddRelaysDialog::tr("not a URL"); break;
    }
    return AddRelaysDialog::tr("%1 (%2)").arg(what, c.detail);
}
}  // namespace

AddRelaysDialog::AddRelaysDialog(engine::Engine* engine, QWidget* parent)
    : QDialog(parent), m_engine(engine) {
    setObjectName("addRelaysDialog");
    setWindowTitle(tr("Add relays"));
    resize(640, 420);

    auto* layout = new QVBoxLayout(this);
    auto* help = new QLabel(tr("Paste one or more relay URLs (ws:// or wss://), separated by spaces, commas or new lines:"), this);
    help->setWordWrap(true);
    layout->addWidget(help);
    m_edit = new QPlainTextEdit(this);
    m_edit->setObjectName("relayUrlsEdit");
    m_edit->setPlaceholderText(tr("wss://relay.example.com"));
    layout->addWidget(m_edit, 2);
    m_list = new QListWidget(this);
    m_list->setObjectName("validationList");
    layout->addWidget(m_list, 3);
    m_summary = new QLabel(this);
    m_summary->setObjectName("validationSummary");
    layout->addWidget(m_summary);
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("Add"));
    m_allow = m_buttons->addButton(tr("Allow this address…"), QDialogButtonBox::ActionRole);
    m_allow->setObjectName("allowAddress");
    m_allow->setToolTip(tr("Add the refused (loopback or private) address to the allow list in config.json"));
    m_allow->hide();
    connect(m_allow, &QPushButton::clicked, this, [this] {
        for (const auto& e : m_entries) {
            if (!e.address_refused) continue;
            QString message;
            // Allowed: the running engine checks with the new rule, so the entry is valid now.
            if (allowRefusedAddress(this, m_engine, e.normalized.isEmpty() ? e.input : e.normalized, e.reason, &message))
                revalidate();
            if (!message.isEmpty()) m_summary->setText(message);
            return;
        }
    });
    layout->addWidget(m_buttons);

    m_edit->installEventFilter(this);  // Enter submits; Shift+Enter starts a new line
    m_edit->setToolTip(tr("Enter adds the relays; Shift+Enter starts a new line"));
    connect(m_edit, &QPlainTextEdit::textChanged, this, &AddRelaysDialog::revalidate);
    connect(m_buttons, &QDialogButtonBox::accepted, this, [this] { addValid(); });
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    revalidate();
}

AddRelaysDialog::~AddRelaysDialog() = default;

bool AddRelaysDialog::eventFilter(QObject* watched, QEvent* event) {
    if (watched == m_edit && event->type() == QEvent::KeyPress) {
        const auto* key = static_cast<QKeyEvent*>(event);
        const bool enter = key->key() == Qt::Key_Return || key->key() == Qt::Key_Enter;
        if (enter && !(key->modifiers() & Qt::ShiftModifier)) {
            if (m_buttons->button(QDialogButtonBox::Ok)->isEnabled()) addValid();
            return true;
        }
    }
    return QDialog::eventFilter(watched, event);
}

QVector<AddRelaysDialog::Entry> AddRelaysDialog::validate(const QString& text, const engine::Engine& engine) {
    static const QRegularExpression sep(QStringLiteral("[\\s,]+"));
    QStringList parts = text.split(sep, Qt::SkipEmptyParts);
    const bool tooMany = parts.size() > kMaxEntries;
    const QString firstIgnored = tooMany ? parts[kMaxEntries] : QString();
    if (tooMany) parts = parts.mid(0, kMaxEntries);
    const QVector<engine::RelayUrlCheck> checks = engine.checkRelayUrls(parts);
    QVector<Entry> out;
    QSet<QString> seen;
    for (const auto& c : checks) {
        Entry e;
        e.input = c.input;
        e.normalized = c.normalized;
        e.valid = c.ok();
        e.reason = problemText(c);
        e.address_refused = c.problem == engine::RelayUrlCheck::Problem::AddressRefused;
        if (!c.normalized.isEmpty()) {
            if (e.valid && seen.contains(e.normalized)) {
                e.valid = false;
                e.reason = tr("listed twice");
            }
            seen.insert(e.normalized);
        }
        out.push_back(e);
    }
    if (tooMany) {
        Entry e;  // one marker entry is enough
        e.input = firstIgnored;
        e.reason = tr("ignored: at most %1 relays at once").arg(kMaxEntries);
        out.push_back(e);
    }
    return out;
}

void AddRelaysDialog::setText(const QString& text) { m_edit->setPlainText(text); }
QString AddRelaysDialog::text() const { return m_edit->toPlainText(); }

int AddRelaysDialog::validCount() const {
    return int(std::count_if(m_entries.begin(), m_entries.end(), [](const Entry& e) { return e.valid; }));
}

void AddRelaysDialog::revalidate() {
    m_entries = validate(m_edit->toPlainText(), *m_engine);
    m_results.clear();
    m_list->clear();
    for (const auto& e : m_entries) {
        QString line = (e.valid ? kOk : kBad) + ' ' + (e.valid ? e.normalized : e.input);
        if (!e.reason.isEmpty()) line += QStringLiteral(" — ") + e.reason;
        auto* item = new QListWidgetItem(line, m_list);
        item->setData(Qt::UserRole, e.valid);
        item->setForeground(e.valid ? palette().color(QPalette::Text) : QColor(0xb0, 0x20, 0x20));
    }
    const int valid = validCount();
    const int invalid = int(m_entries.size()) - valid;
    m_summary->setText(m_entries.isEmpty() ? tr("No relay URLs yet.")
                                           : tr("%n valid", nullptr, valid) + QStringLiteral(", ") +
                                                 tr("%n invalid", nullptr, invalid));
    auto* ok = m_buttons->button(QDialogButtonBox::Ok);
    ok->setEnabled(valid > 0);
    ok->setText(tr("Add %n relay(s)", nullptr, valid));
    m_buttons->button(QDialogButtonBox::Cancel)->setText(tr("Cancel"));
    m_allow->setVisible(std::any_of(m_entries.begin(), m_entries.end(), [](const Entry& e) { return e.address_refused; }));
}

QVector<AddRelaysDialog::Result> AddRelaysDialog::addValid() {
    m_results.clear();
    int added = 0, failed = 0;
    for (const auto& e : m_entries) {
        if (!e.valid) continue;
        Result r;
        r.input = e.input;
        QString normalized, error;
        r.added = m_engine->addRelay(e.normalized, &normalized, &error);
        r.normalized = normalized.isEmpty() ? e.normalized : normalized;
        r.error = error;
        (r.added ? added : failed)++;
        m_results.push_back(r);
    }
    const QSignalBlocker block(m_edit);  // keep the results on screen
    m_list->clear();
    for (const auto& r : m_results) {
        const QString line = r.added ? kOk + ' ' + tr("%1 added").arg(r.normalized)
                                     : kBad + ' ' + tr("%1 not added — %2").arg(r.normalized, r.error);
        auto* item = new QListWidgetItem(line, m_list);
        item->setData(Qt::UserRole, r.added);
    }
    m_summary->setText(tr("%n added", nullptr, added) + QStringLiteral(", ") + tr("%n failed", nullptr, failed));
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(false);
    m_buttons->button(QDialogButtonBox::Cancel)->setText(tr("Close"));
    emit relaysAdded(added, failed);
    if (added > 0 && failed == 0) accept();  // done: the status bar says what was added
    return m_results;
}

}  // namespace archivist::ui
