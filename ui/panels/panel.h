#pragma once
// Panel: the base of every dock in the console's main window. The window wires panels through
// this interface only (compiler-checked, no lookups by name): every engine snapshot reaches
// applySnapshot(); a panel announces a selection with relaySelected()/timeSelected(), and the
// window passes it to every other panel's highlightRelay()/highlightTime(). Panels never know
// each other and never connect themselves to the engine's snapshots (each must arrive once).
// Thread: GUI only.
#include <QWidget>

namespace archivist::engine {
struct EngineSnapshot;
}

namespace archivist::ui {

class Panel : public QWidget {
    Q_OBJECT
public:
    using QWidget::QWidget;

    virtual void applySnapshot(const engine::EngineSnapshot& snapshot) = 0;
    // Another panel selected this relay / moment; a panel that shows neither ignores it.
    virtual void highlightRelay(const QString& /*url*/) {}
    virtual void highlightTime(qint64 /*ms*/) {}

signals:
    void relaySelected(const QString& url);
    void timeSelected(qint64 ms);
};

}  // namespace archivist::ui
