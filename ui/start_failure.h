#pragma once
// The console's answer when the engine cannot start (started from a menu there is no terminal to
// read stderr): a dialog that says why. A locked data directory names the process holding it
// (pid and command line, from /proc) and what to do. On the offscreen and minimal platforms (no
// one to answer it) there is no dialog: stderr has the message.
// Thread: GUI (a QApplication must exist).
#include <QString>

namespace archivist::ui {

// `code` and `message` are the engine's error (code "locked": the data directory is in use).
void showStartFailure(const QString& data_dir, const QString& code, const QString& message);

// "1234 (archivist --data-dir /x)" for the pid named in a "locked" message; "" when none.
QString describeLockHolder(const QString& message);

}  // namespace archivist::ui
