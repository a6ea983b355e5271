#include "ui/start_failure.h"

#include <QCoreApplication>
#include <QFile>
#include <QGuiApplication>
#include <QMessageBox>
#include <QRegularExpression>

namespace archivist::ui {

QString describeLockHolder(const QString& message) {
    const auto m = QRegularExpression(QStringLiteral("\\(pid (\\d+)\\)")).match(message);
    if (!m.hasMatch()) return {};
    const QString pid = m.captured(1);
    QFile f(QStringLiteral("/proc/%1/cmdline").arg(pid));
    if (!f.open(QIODevice::ReadOnly)) return pid;
    QByteArray cmd = f.read(4096);
    cmd.replace('\0', ' ');
    const QString line = QString::fromLocal8Bit(cmd).trimmed();
    return line.isEmpty() ? pid : QStringLiteral("%1 (%2)").arg(pid, line);
}

void showStartFailure(const QString& data_dir, const QString& code, const QString& message) {
    // Nobody could answer a dialog without a screen (tests, scripts): stderr said it already.
    const QString platform = QGuiApplication::platformName();
    if (platform == QLatin1String("offscreen") || platform == QLatin1String("minimal")) return;
    QMessageBox box(QMessageBox::Critical, QCoreApplication::translate("archivist::ui::StartFailure", "Archivist cannot start"), QString());
    box.setObjectName("startFailure");
    if (code == QLatin1String("locked")) {
        const QString holder = describeLockHolder(message);
        box.setText(QCoreApplication::translate("archivist::ui::StartFailure", "The data directory %1 is in use by another Archivist.").arg(data_dir));
        box.setInformativeText(
            (holder.isEmpty() ? QString() : QCoreApplication::translate("archivist::ui::StartFailure", "Held by process %1.").arg(holder) + QStringLiteral("\n\n")) +
            QCoreApplication::translate("archivist::ui::StartFailure", "Close that window (it may still be finishing its work) or stop that process, then start again — or "
               "start with --data-dir and another directory."));
    } else {
        box.setText(QCoreApplication::translate("archivist::ui::StartFailure", "The engine could not open %1.").arg(data_dir));
        box.setInformativeText(message);
    }
    box.setDetailedText(message);
    box.exec();
}

}  // namespace archivist::ui
