#include <QtTest>
#include <sys/wait.h>
#include <unistd.h>

#include "core/engine/data_dir.h"

using archivist::engine::DataDirLock;

class TestDataDir : public QObject {
    Q_OBJECT
private slots:
    void secondLockIsRefusedWithPid() {
        QTemporaryDir dir;
        const std::filesystem::path p = dir.path().toStdString();
        auto first = DataDirLock::acquire(p);
        QVERIFY(first.ok());
        // flock is per open file description: a second acquire in this process conflicts too.
        auto second = DataDirLock::acquire(p);
        QVERIFY(!second.ok());
        QCOMPARE(QString::fromStdString(second.error().code), QString("locked"));
        QVERIFY(QString::fromStdString(second.error().message).contains(QString::number(::getpid())));
    }

    void releasedOnDestruction() {
        QTemporaryDir dir;
        const std::filesystem::path p = dir.path().toStdString();
        { auto first = DataDirLock::acquire(p); QVERIFY(first.ok()); }
        auto again = DataDirLock::acquire(p);
        QVERIFY(again.ok());
    }

    void lockOfKilledProcessDoesNotBlock() {
        QTemporaryDir dir;
        const std::filesystem::path p = dir.path().toStdString();
        int pipefd[2];
        QCOMPARE(::pipe(pipefd), 0);
        const pid_t child = ::fork();
        if (child == 0) {
            auto lock = DataDirLock::acquire(p);
            char c = lock.ok() ? 'y' : 'n';
            (void)!::write(pipefd[1], &c, 1);
            ::pause();  // killed below while holding the lock
            ::_exit(0);
        }
        char c = 0;
        QCOMPARE(::read(pipefd[0], &c, 1), ssize_t(1));
        QCOMPARE(c, 'y');
        auto whileHeld = DataDirLock::acquire(p);
        QVERIFY(!whileHeld.ok());
        ::kill(child, SIGKILL);
        ::waitpid(child, nullptr, 0);
        auto after = DataDirLock::acquire(p);
        QVERIFY2(after.ok(), after.ok() ? "" : after.error().message.c_str());
        ::close(pipefd[0]);
        ::close(pipefd[1]);
    }
};

QTEST_GUILESS_MAIN(TestDataDir)
#include "tst_data_dir.moc"
