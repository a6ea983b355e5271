#include "ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressDialog>
#include <QStatusBar>
#include <QTableView>
#include <QVBoxLayout>

#include "core/engine/engine.h"
#include "ui/newest_events_model.h"

namespace archivist::ui {

namespace {
QString bytes(quint64 b) { return QLocale().formattedDataSize(qint64(b)); }
QString count(quint64 n) { return QLocale().toString(qulonglong(n)); }
}  // namespace

MainWindow::MainWindow(engine::Engine* engine, QWidget* parent)
    : QMainWindow(parent), m_engine(engine), m_model(new NewestEventsModel(this)) {
    setWindowTitle(tr("Archivist"));
    setObjectName("MainWindow");
    resize(1100, 700);

    auto* fileMenu = menuBar()->addMenu(tr("&File"));
    auto* importAction = fileMenu->addAction(tr("&Import…"), this, &MainWindow::chooseImportFiles);
    importAction->setObjectName("actionImport");
    importAction->setShortcut(QKeySequence(tr("Ctrl+I")));
    fileMenu->addSeparator();
    auto* quitAction = fileMenu->addAction(tr("&Quit"), this, &QWidget::close);
    quitAction->setShortcut(QKeySequence::Quit);

    auto* central = new QWidget(this);
    auto* layout = new QVBoxLayout(central);
    auto* totals = new QGroupBox(tr("Archive"), central);
    auto* form = new QFormLayout(totals);
    m_events = new QLabel(totals);
    m_events->setObjectName("labelEvents");
    m_archive = new QLabel(totals);
    m_archive->setObjectName("labelArchive");
    m_rate = new QLabel(totals);
    m_rate->setObjectName("labelRate");
    m_memory = new QLabel(totals);
    m_memory->setObjectName("labelMemory");
    form->addRow(tr("Events stored:"), m_events);
    form->addRow(tr("Archive size:"), m_archive);
    form->addRow(tr("Throughput:"), m_rate);
    form->addRow(tr("Memory:"), m_memory);
    layout->addWidget(totals);

    auto* newest = new QGroupBox(tr("Newest events"), central);
    auto* newestLayout = new QVBoxLayout(newest);
    m_table = new QTableView(newest);
    m_table->setObjectName("newestEvents");
    m_table->setModel(m_model);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setAlternatingRowColors(true);
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setSectionResizeMode(NewestEventsModel::Content, QHeaderView::Stretch);
    newestLayout->addWidget(m_table);
    layout->addWidget(newest, 1);
    setCentralWidget(central);

    m_statusEvents = new QLabel(this);
    statusBar()->addPermanentWidget(m_statusEvents);

    connect(m_engine, &engine::Engine::snapshotReady, this, &MainWindow::onSnapshot);
    connect(m_engine, &engine::Engine::jobProgress, this, &MainWindow::onJobProgress);
    connect(m_engine, &engine::Engine::jobFinished, this, &MainWindow::onJobFinished);
    onSnapshot(m_engine->snapshot());
}

MainWindow::~MainWindow() = default;

void MainWindow::onSnapshot(const engine::EngineSnapshot& s) {
    m_events->setText(count(s.events_total));
    m_archive->setText(bytes(s.archive_bytes));
    m_rate->setText(tr("%1 stored/s, %2 duplicate/s, %3 rejected/s")
                        .arg(s.stored_per_s, 0, 'f', 0)
                        .arg(s.duplicate_per_s, 0, 'f', 0)
                        .arg(s.rejected_per_s, 0, 'f', 0));
    QString queues;
    for (const auto& q : s.queues) queues += tr(", %1 queue %2/%3").arg(q.name).arg(q.depth).arg(q.capacity);
    m_memory->setText(tr("%1 resident, %2 heap").arg(bytes(s.rss_bytes), bytes(s.heap_bytes)) + queues);
    m_statusEvents->setText(tr("%1 events · %2 · %3 stored/s · RSS %4")
                                .arg(count(s.events_total), bytes(s.archive_bytes))
                                .arg(s.stored_per_s, 0, 'f', 0)
                                .arg(bytes(s.rss_bytes)));
    if (s.writer_paused)
        statusBar()->showMessage(tr("Writing is paused and being retried: %1").arg(s.last_error));
    m_model->setEvents(s.newest);
}

void MainWindow::chooseImportFiles() {
    const QStringList files = QFileDialog::getOpenFileNames(
        this, tr("Import events"), QString(), tr("Nostr events (*.jsonl *.jsonl.zst *.json *.zst);;All files (*)"));
    if (!files.isEmpty()) importFiles(files);
}

void MainWindow::importFiles(const QStringList& files) {
    if (m_engine->jobRunning()) {
        QMessageBox::information(this, tr("Import"), tr("Another job is still running."));
        return;
    }
    m_progress = new QProgressDialog(tr("Importing %n file(s)…", nullptr, int(files.size())), tr("Cancel"), 0, 1000, this);
    m_progress->setObjectName("importProgress");
    m_progress->setWindowTitle(tr("Import"));
    m_progress->setMinimumDuration(0);
    m_progress->setAutoClose(false);
    m_progress->setAutoReset(false);
    connect(m_progress, &QProgressDialog::canceled, m_engine, &engine::Engine::cancelJob);
    m_progress->show();
    m_engine->startImport(files);
}

void MainWindow::onJobProgress(const QString&, double fraction, const QString& text) {
    if (!m_progress) return;
    if (fraction < 0) m_progress->setRange(0, 0);  // unknown size (stdin)
    else m_progress->setValue(int(fraction * 1000));
    m_progress->setLabelText(text);
}

void MainWindow::onJobFinished(const QString& kind, bool ok, const QString& summary) {
    if (m_progress) {
        m_progress->deleteLater();
        m_progress = nullptr;
    }
    statusBar()->showMessage(summary, 15000);
    if (!ok) QMessageBox::warning(this, kind == "import" ? tr("Import") : kind, summary);
}

}  // namespace archivist::ui
