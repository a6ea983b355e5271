#include "ui/start_failure.h"

#include <QCoreApplication>
#include <QFile>
#include <QMessageBox>
#include <QRegularExpression>

namespace archivist::ui {

namespace {
QString tr(const char* text) { return QCoreApplication::translate("StartFailure", text); }
}  // namespace

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
    QMessageBox box(QMessageBox::Critical, tr("Archivist cannot start"), QString());
    box.setObjectName("startFailure");
    if (code == QLatin1String("locked")) {
        const QString holder = describeLockHolder(message);
        box.setText(tr("The data directory %1 is in use by another Archivist.").arg(data_dir));
        box.setInformativeText(
            (holder.isEmpty() ? QString() : tr("Held by process %1.").arg(holder) + QStringLiteral("\n\n")) +
            tr("Close that window (it may still be finishing its work) or stop that process, then start again — or "
               "start with --data-dir and another directory."));
    } else {
        box.setText(tr("The engine could not open %1.").arg(data_dir));
        box.setInformativeText(message);
    }
    box.setDetailedText(message);
    box.exec();
}

}  // namespace archivist::ui
