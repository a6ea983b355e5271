#include "ui/settings_dialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSettings>
#include <QLocale>
#include <QPushButton>
#include <QRegularExpression>
#include <QSpinBox>
#include <cmath>
#include <QVBoxLayout>

#include "core/engine/engine.h"
#include "core/protocol/filter.h"
#include "core/protocol/json.h"

namespace archivist::ui {

namespace {

QSpinBox* spin(const char* name, int min, int max, const QString& suffix = {}) {
    auto* s = new QSpinBox;
    s->setObjectName(name);
    s->setRange(min, max);
    s->setSuffix(suffix);
    return s;
}

QLabel* errorLabel(const char* name) {
    auto* l = new QLabel;
    l->setObjectName(name);
    l->setWordWrap(true);
    l->setStyleSheet("color: #c62828;");
    l->hide();
    return l;
}

void showError(QLabel* label, const QString& text) {
    label->setText(text);
    label->setVisible(!text.isEmpty());
}

constexpr uint64_t kMaxRateBytes = uint64_t(1) << 40;  // as loadConfig accepts

}  // namespace

SettingsDialog::SettingsDialog(engine::Engine* engine, QWidget* parent) : QDialog(parent), m_engine(engine) {
    setObjectName("settingsDialog");
    setWindowTitle(tr("Settings"));
    m_configPath = m_engine ? m_engine->configPath() : QString();

    auto* top = new QVBoxLayout(this);
    auto* note = new QLabel(tr("Settings are saved to config.json in the data directory. The engine reads it at "
                               "start: changes marked ⟳ take effect at the next start of Archivist."));
    note->setWordWrap(true);
    top->addWidget(note);
    m_loadError = errorLabel("loadError");
    top->addWidget(m_loadError);

    auto* general = new QGroupBox(tr("General"));
    auto* gf = new QFormLayout(general);
    m_dataDir = new QLabel;
    m_dataDir->setObjectName("dataDir");
    m_dataDir->setTextInteractionFlags(Qt::TextSelectableByMouse);
    gf->addRow(tr("Data directory:"), m_dataDir);
    auto* dirNote = new QLabel(tr("To use another data directory, start Archivist with --data-dir DIR (takes effect "
                                  "at that start)."));
    dirNote->setWordWrap(true);
    gf->addRow(QString(), dirNote);
    m_language = new QComboBox;
    m_language->setObjectName("language");
    m_language->addItem(tr("System"), QString());
    m_language->addItem(QStringLiteral("English"), QStringLiteral("en"));
    m_language->addItem(QStringLiteral("Deutsch"), QStringLiteral("de"));
    gf->addRow(tr("Language ⟳:"), m_language);
    top->addWidget(general);

    auto* relays = new QGroupBox(tr("Relays ⟳"));
    auto* rf = new QFormLayout(relays);
    m_seedRelays = new QCheckBox(tr("Also connect to the built-in list of well-known relays"));
    m_seedRelays->setObjectName("seedRelays");
    rf->addRow(m_seedRelays);
    m_maxRelays = spin("maxRelays", 1, 10000);
    rf->addRow(tr("Most relays at once:"), m_maxRelays);
    m_networkThreads = spin("networkThreads", 1, 16);
    rf->addRow(tr("Network threads:"), m_networkThreads);
    m_rateEvents = spin("rateEvents", 0, 10000000, tr(" events/s"));
    rf->addRow(tr("Per-relay event limit:"), m_rateEvents);
    m_rateBytes = new QLineEdit;
    m_rateBytes->setObjectName("rateBytes");
    m_rateBytes->setPlaceholderText(tr("e.g. 8 MiB, 512 KiB, 0 = no limit"));
    m_rateBytes->setToolTip(tr("Bytes per second: a number with an optional unit (B, KiB, MiB, GiB; k, M, G)"));
    rf->addRow(tr("Per-relay byte limit (per second):"), m_rateBytes);
    m_rateBytesError = errorLabel("rateBytesError");
    rf->addRow(QString(), m_rateBytesError);
    m_allow = new QPlainTextEdit;
    m_allow->setObjectName("allowAddresses");
    m_allow->setPlaceholderText(tr("one CIDR per line, e.g. 10.0.0.0/8"));
    m_allow->setFixedHeight(70);
    rf->addRow(tr("Allowed addresses:"), m_allow);
    m_allowError = errorLabel("allowError");
    rf->addRow(QString(), m_allowError);
    top->addWidget(relays);

    auto* archive = new QGroupBox(tr("What to archive ⟳"));
    auto* af = new QFormLayout(archive);
    m_filter = new QPlainTextEdit;
    m_filter->setObjectName("filter");
    m_filter->setPlaceholderText(tr("NIP-01 filter, e.g. {\"kinds\":[0,1,3]}; empty = everything"));
    m_filter->setFixedHeight(60);
    af->addRow(tr("Subscription filter:"), m_filter);
    m_filterError = errorLabel("filterError");
    af->addRow(QString(), m_filterError);
    m_backfill = new QCheckBox(tr("Fetch relays' history (backfill)"));
    m_backfill->setObjectName("backfill");
    af->addRow(m_backfill);
    m_backfillDays = spin("backfillDays", 0, 100000, tr(" days"));
    m_backfillDays->setSpecialValueText(tr("everything"));
    af->addRow(tr("Backfill depth:"), m_backfillDays);
    m_backfillLimit = spin("backfillLimit", 1, 100000);
    af->addRow(tr("Events per backfill query:"), m_backfillLimit);
    m_backfillSlots = spin("backfillSlots", 1, 1000);
    af->addRow(tr("Relays backfilling at once:"), m_backfillSlots);
    top->addWidget(archive);

    auto* observe = new QGroupBox(tr("Monitoring ⟳"));
    auto* of = new QFormLayout(observe);
    m_metricsListen = new QLineEdit;
    m_metricsListen->setObjectName("metricsListen");
    m_metricsListen->setPlaceholderText(tr("HOST:PORT, e.g. 127.0.0.1:9100; empty = off"));
    of->addRow(tr("Metrics listen address:"), m_metricsListen);
    m_metricsError = errorLabel("metricsError");
    of->addRow(QString(), m_metricsError);
    top->addWidget(observe);

    // What runs now: config.json as read at start merged with the command line.
    auto* running = new QGroupBox(tr("In effect now (config.json at start + command line)"));
    auto* rl = new QVBoxLayout(running);
    m_running = new QLabel;
    m_running->setObjectName("runningValues");
    m_running->setWordWrap(true);
    m_running->setTextInteractionFlags(Qt::TextSelectableByMouse);
    rl->addWidget(m_running);
    top->addWidget(running);

    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    m_buttons->setObjectName("buttons");
    m_restart = m_buttons->addButton(tr("Save and restart"), QDialogButtonBox::ActionRole);
    m_restart->setObjectName("saveAndRestart");
    m_restart->setToolTip(tr("Save, finish the running work, and start Archivist again with the same command line"));
    connect(m_restart, &QPushButton::clicked, this, [this] {
        m_restartRequested = true;
        accept();
        if (result() != QDialog::Accepted) m_restartRequested = false;  // not saved: no restart
    });
    top->addWidget(m_buttons);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &SettingsDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    engine::EngineConfig cfg;
    if (m_engine) {
        cfg = m_engine->currentConfig();
        showRunning(m_engine->runningConfig());
    }
    m_dataDir->setText(m_configPath.isEmpty() ? tr("(none)") : QFileInfo(m_configPath).absolutePath());
    load(cfg);
    const QString lang = QSettings().value(kLanguageKey).toString();
    m_language->setCurrentIndex(std::max(0, m_language->findData(lang)));

    for (auto* s : {m_maxRelays, m_networkThreads, m_rateEvents, m_backfillDays, m_backfillLimit, m_backfillSlots})
        connect(s, &QSpinBox::valueChanged, this, &SettingsDialog::validate);
    for (auto* e : {m_rateBytes, m_metricsListen}) connect(e, &QLineEdit::textChanged, this, &SettingsDialog::validate);
    for (auto* e : {m_filter, m_allow}) connect(e, &QPlainTextEdit::textChanged, this, &SettingsDialog::validate);
    connect(m_backfill, &QCheckBox::toggled, this, &SettingsDialog::validate);
    validate();
    if (m_configPath.isEmpty()) {
        showError(m_loadError, tr("This engine has no configuration file; nothing can be saved."));
        m_buttons->button(QDialogButtonBox::Ok)->setEnabled(false);
        m_restart->setEnabled(false);
    }
}

void SettingsDialog::showRunning(const engine::EngineConfig& c) {
    const QLocale loc;
    const auto list = [](const std::vector<std::string>& v) {
        QStringList out;
        for (const auto& x : v) out << QString::fromStdString(x);
        return out.isEmpty() ? tr("none") : out.join(QStringLiteral(", "));
    };
    const auto yes = [](bool b) { return b ? tr("yes") : tr("no"); };
    QStringList lines;
    lines << tr("Relays always connected: %1").arg(list(c.relays));
    lines << tr("Allowed addresses: %1").arg(list(c.allow_addresses));
    lines << tr("Default relays: %1; optimizer chooses relays: %2").arg(yes(c.seed_relays), yes(c.auto_relays));
    lines << tr("Most relays at once: %1; network threads: %2").arg(c.max_relays).arg(c.network_threads);
    lines << tr("Per-relay limits: %1 events/s, %2/s")
                 .arg(loc.toString(c.rate_events_per_s), formatByteSize(c.rate_bytes_per_s));
    lines << tr("Filter: %1").arg(c.filter_json.empty() ? tr("everything") : QString::fromStdString(c.filter_json));
    lines << tr("Backfill: %1").arg(c.backfill ? tr("on, %1, %2 events per query, %3 relays at once")
                                                      .arg(c.backfill_depth_days > 0 ? tr("%n day(s) deep", nullptr, int(c.backfill_depth_days))
                                                                                     : tr("everything"))
                                                      .arg(c.backfill_limit)
                                                      .arg(c.backfill_slots)
                                                : tr("off"));
    lines << tr("Metrics: %1").arg(c.metrics_listen.empty() ? tr("off") : QString::fromStdString(c.metrics_listen));
    m_running->setText(lines.join('\n'));
}

std::optional<quint64> SettingsDialog::parseByteSize(const QString& text) {
    static const QRegularExpression re(QStringLiteral("^\\s*(\\d+(?:[.,]\\d+)?)\\s*([kKmMgGtT]?)(i?)[bB]?(?:/s)?\\s*$"));
    const auto m = re.match(text);
    if (!m.hasMatch()) return std::nullopt;
    bool ok = false;
    const double n = QString(m.captured(1)).replace(',', '.').toDouble(&ok);
    if (!ok) return std::nullopt;
    const QString unit = m.captured(2).toUpper();
    const double base = m.captured(3).isEmpty() && !unit.isEmpty() ? 1000.0 : 1024.0;
    int power = 0;
    if (unit == QLatin1String("K")) power = 1;
    else if (unit == QLatin1String("M")) power = 2;
    else if (unit == QLatin1String("G")) power = 3;
    else if (unit == QLatin1String("T")) power = 4;
    const double bytes = n * std::pow(base, power);
    if (bytes > 1.8e19 || (unit.isEmpty() && m.captured(1).contains(QRegularExpression("[.,]")))) return std::nullopt;
    return quint64(std::llround(bytes));
}

QString SettingsDialog::formatByteSize(quint64 bytes) {
    static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (bytes == 0) return QStringLiteral("0");
    int u = 0;
    double v = double(bytes);
    while (u < 4 && v >= 1024.0 && std::fmod(v, 1024.0) == 0.0) {
        v /= 1024.0;
        ++u;
    }
    return u == 0 ? QString::number(bytes) : QStringLiteral("%1 %2").arg(QString::number(v, 'g', 12), QLatin1String(units[u]));
}

void SettingsDialog::load(const engine::EngineConfig& cfg) {
    m_loaded = cfg;
    m_seedRelays->setChecked(cfg.seed_relays);
    m_maxRelays->setValue(int(cfg.max_relays));
    m_networkThreads->setValue(int(cfg.network_threads));
    m_rateEvents->setValue(int(cfg.rate_events_per_s));
    m_rateBytes->setText(formatByteSize(cfg.rate_bytes_per_s));
    QStringList allow;
    for (const auto& a : cfg.allow_addresses) allow << QString::fromStdString(a);
    m_allow->setPlainText(allow.join('\n'));
    m_filter->setPlainText(QString::fromStdString(cfg.filter_json));
    m_backfill->setChecked(cfg.backfill);
    m_backfillDays->setValue(int(cfg.backfill_depth_days));
    m_backfillLimit->setValue(int(cfg.backfill_limit));
    m_backfillSlots->setValue(int(cfg.backfill_slots));
    m_metricsListen->setText(QString::fromStdString(cfg.metrics_listen));
}

void SettingsDialog::validate() {
    m_problems.clear();

    bool ok = false;
    const QString bytesText = m_rateBytes->text().trimmed();
    QString bytesError;
    const auto parsed = parseByteSize(bytesText);
    ok = parsed.has_value();
    const qulonglong bytes = parsed.value_or(0);
    if (!ok || bytes > kMaxRateBytes)
        bytesError = tr("Byte limit: a whole number from 0 to %1 is needed, or a size such as 8 MiB.")
                         .arg(formatByteSize(kMaxRateBytes));
    showError(m_rateBytesError, bytesError);
    if (!bytesError.isEmpty()) m_problems << bytesError;

    QString filterError;
    const QString filter = m_filter->toPlainText().trimmed();
    if (!filter.isEmpty()) {
        const std::string text = filter.toStdString();
        protocol::json::Value doc;
        protocol::json::ParseError perr;
        if (!protocol::json::parse(text, doc, &perr)) {
            filterError = tr("Filter: not valid JSON at character %1: %2")
                              .arg(perr.offset + 1)
                              .arg(QString::fromStdString(perr.message));
        } else if (doc.type != protocol::json::Type::Object) {
            filterError = tr("Filter: must be one JSON object such as {\"kinds\":[1]}.");
        } else if (auto f = protocol::parseFilter(text); !f) {
            filterError = tr("Filter: %1").arg(QString::fromStdString(f.error().message));
        }
    }
    showError(m_filterError, filterError);
    if (!filterError.isEmpty()) m_problems << filterError;

    QStringList allowErrors;
    const QStringList lines = m_allow->toPlainText().split('\n');
    for (int i = 0; i < lines.size(); ++i) {
        const QString line = lines[i].trimmed();
        if (line.isEmpty()) continue;
        if (const auto why = engine::checkAllowedAddress(line.toStdString()); !why.empty())
            allowErrors << tr("Allowed addresses, line %1 (\"%2\"): %3")
                               .arg(i + 1)
                               .arg(line, QString::fromStdString(why));
    }
    showError(m_allowError, allowErrors.join('\n'));
    m_problems << allowErrors;

    QString metricsError;
    if (auto why = engine::checkListenAddress(m_metricsListen->text().trimmed().toStdString()); !why.empty())
        metricsError = tr("Metrics listen address: %1").arg(QString::fromStdString(why));
    showError(m_metricsError, metricsError);
    if (!metricsError.isEmpty()) m_problems << metricsError;

    const bool backfill = m_backfill->isChecked();
    m_backfillDays->setEnabled(backfill);
    m_backfillLimit->setEnabled(backfill);
    m_backfillSlots->setEnabled(backfill);

    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(m_problems.isEmpty() && !m_configPath.isEmpty());
    m_restart->setEnabled(m_problems.isEmpty() && !m_configPath.isEmpty());
    m_buttons->button(QDialogButtonBox::Ok)->setToolTip(m_problems.join('\n'));
}

engine::EngineConfig SettingsDialog::editedConfig() const {
    engine::EngineConfig cfg = m_loaded;  // relays are edited elsewhere (Add relays…)
    cfg.seed_relays = m_seedRelays->isChecked();
    cfg.max_relays = uint32_t(m_maxRelays->value());
    cfg.network_threads = uint32_t(m_networkThreads->value());
    cfg.rate_events_per_s = uint32_t(m_rateEvents->value());
    cfg.rate_bytes_per_s = parseByteSize(m_rateBytes->text()).value_or(0);
    cfg.allow_addresses.clear();
    for (const auto& line : m_allow->toPlainText().split('\n'))
        if (!line.trimmed().isEmpty()) cfg.allow_addresses.push_back(line.trimmed().toStdString());
    cfg.filter_json = m_filter->toPlainText().trimmed().toStdString();
    cfg.backfill = m_backfill->isChecked();
    cfg.backfill_depth_days = m_backfillDays->value();
    cfg.backfill_limit = uint32_t(m_backfillLimit->value());
    cfg.backfill_slots = uint32_t(m_backfillSlots->value());
    cfg.metrics_listen = m_metricsListen->text().trimmed().toStdString();
    return cfg;
}

void SettingsDialog::accept() {
    validate();
    if (!m_problems.isEmpty() || m_configPath.isEmpty()) return;
    auto saved = engine::saveConfig(m_configPath.toStdString(), editedConfig());
    if (!saved) {
        showError(m_loadError, tr("Not saved: %1").arg(QString::fromStdString(saved.error().message)));
        return;
    }
    QSettings().setValue(kLanguageKey, m_language->currentData().toString());
    QDialog::accept();
    if (m_restartRequested) emit restartRequested();
}

}  // namespace archivist::ui
