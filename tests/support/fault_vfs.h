#pragma once
// FaultVfs — a SQLite VFS shim for tests: registered as the default VFS, it wraps the platform's
// ("unix") and so sees every SQLite file the process opens (index databases, their WAL and
// journals, whatever the index layout), counting writes, syncs and truncates and failing the n-th
// one on command — SQLITE_FULL (a full disk), SQLITE_IOERR_* (a failing device), or a short write
// (half the bytes written, then SQLITE_FULL) — once or from then on. The same schedule idea as
// archive::FaultInjectingFileSystem, one layer down. Header-only; test builds only.
//
//   FaultVfs::install();                        // once, before any database is opened
//   FaultVfs::failAt(FaultVfs::Op::Write, 7, FaultVfs::Kind::NoSpace, true);
//   ...
//   FaultVfs::clear();
// Thread: any (atomics). Files opened before install() keep the old VFS.
#include <sqlite3.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>

namespace archivist::testing {

class FaultVfs {
public:
    enum class Op : uint8_t { Write, Sync, Truncate, Count };
    enum class Kind : uint8_t { NoSpace, IoError, ShortWrite };

    static bool install() {
        State& s = state();
        if (s.installed) return true;
        s.base = sqlite3_vfs_find(nullptr);
        if (!s.base) return false;
        s.vfs = *s.base;
        s.vfs.zName = "archivist-fault-vfs";
        s.vfs.szOsFile = int(sizeof(File)) + s.base->szOsFile;
        s.vfs.pAppData = nullptr;
        s.vfs.xOpen = &open;
        s.installed = sqlite3_vfs_register(&s.vfs, 1) == SQLITE_OK;
        return s.installed;
    }

    // The n-th call of `op` from now (n ≥ 1) fails; with `persistent`, every later one too.
    static void failAt(Op op, uint64_t nth, Kind kind, bool persistent) {
        Schedule& sc = state().schedules[size_t(op)];
        sc.kind = uint8_t(kind);
        sc.persistent = persistent;
        sc.failAt = nth == 0 ? 0 : sc.calls.load() + nth;
    }
    static void clear() {
        for (auto& sc : state().schedules) {
            sc.failAt = 0;
            sc.persistent = false;
        }
    }
    static uint64_t calls(Op op) { return state().schedules[size_t(op)].calls.load(); }
    static uint64_t injected() { return state().injected.load(); }
    static const char* opName(Op op) {
        return op == Op::Write ? "sqlite_write" : op == Op::Sync ? "sqlite_sync" : "sqlite_truncate";
    }

private:
    struct Schedule {
        std::atomic<uint64_t> calls{0};
        std::atomic<uint64_t> failAt{0};
        std::atomic<bool> persistent{false};
        std::atomic<uint8_t> kind{0};
    };
    struct State {
        sqlite3_vfs vfs{};
        sqlite3_vfs* base = nullptr;
        bool installed = false;
        std::array<Schedule, size_t(Op::Count)> schedules;
        std::atomic<uint64_t> injected{0};
        sqlite3_io_methods methods{};
    };
    // Our file: the wrapper's methods, then the base VFS's file right after it.
    struct File {
        sqlite3_file base;  // pMethods = our methods
        sqlite3_file* inner() { return reinterpret_cast<sqlite3_file*>(this + 1); }
    };

    static State& state() {
        static State s;
        return s;
    }
    static sqlite3_file* in(sqlite3_file* f) { return reinterpret_cast<File*>(f)->inner(); }

    static bool fault(Op op, Kind& kind) {
        Schedule& sc = state().schedules[size_t(op)];
        const uint64_t call = ++sc.calls;
        const uint64_t at = sc.failAt.load();
        if (at == 0 || call < at || (call > at && !sc.persistent.load())) return false;
        kind = Kind(sc.kind.load());
        ++state().injected;
        return true;
    }

    static int open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* outFlags) {
        State& s = state();
        File* f = reinterpret_cast<File*>(file);
        std::memset(f, 0, sizeof(File));
        const int rc = s.base->xOpen(s.base, name, f->inner(), flags, outFlags);
        if (rc != SQLITE_OK || !f->inner()->pMethods) {
            f->base.pMethods = nullptr;
            return rc;
        }
        if (s.methods.iVersion == 0) initMethods(f->inner()->pMethods);
        f->base.pMethods = &s.methods;
        return rc;
    }

    static void initMethods(const sqlite3_io_methods* base) {
        sqlite3_io_methods& m = state().methods;
        m = *base;
        m.xClose = [](sqlite3_file* f) {
            const int rc = in(f)->pMethods->xClose(in(f));
            f->pMethods = nullptr;
            return rc;
        };
        m.xRead = [](sqlite3_file* f, void* b, int n, sqlite3_int64 o) { return in(f)->pMethods->xRead(in(f), b, n, o); };
        m.xWrite = [](sqlite3_file* f, const void* b, int n, sqlite3_int64 o) {
            Kind k{};
            if (fault(Op::Write, k)) {
                if (k == Kind::ShortWrite && n > 1) (void)in(f)->pMethods->xWrite(in(f), b, n / 2, o);
                return k == Kind::IoError ? SQLITE_IOERR_WRITE : SQLITE_FULL;
            }
            return in(f)->pMethods->xWrite(in(f), b, n, o);
        };
        m.xTruncate = [](sqlite3_file* f, sqlite3_int64 size) {
            Kind k{};
            if (fault(Op::Truncate, k)) return k == Kind::IoError ? SQLITE_IOERR_TRUNCATE : SQLITE_FULL;
            return in(f)->pMethods->xTruncate(in(f), size);
        };
        m.xSync = [](sqlite3_file* f, int flags) {
            Kind k{};
            if (fault(Op::Sync, k)) return k == Kind::IoError ? SQLITE_IOERR_FSYNC : SQLITE_FULL;
            return in(f)->pMethods->xSync(in(f), flags);
        };
        m.xFileSize = [](sqlite3_file* f, sqlite3_int64* size) { return in(f)->pMethods->xFileSize(in(f), size); };
        m.xLock = [](sqlite3_file* f, int l) { return in(f)->pMethods->xLock(in(f), l); };
        m.xUnlock = [](sqlite3_file* f, int l) { return in(f)->pMethods->xUnlock(in(f), l); };
        m.xCheckReservedLock = [](sqlite3_file* f, int* out) { return in(f)->pMethods->xCheckReservedLock(in(f), out); };
        m.xFileControl = [](sqlite3_file* f, int op, void* arg) { return in(f)->pMethods->xFileControl(in(f), op, arg); };
        m.xSectorSize = [](sqlite3_file* f) { return in(f)->pMethods->xSectorSize(in(f)); };
        m.xDeviceCharacteristics = [](sqlite3_file* f) { return in(f)->pMethods->xDeviceCharacteristics(in(f)); };
        if (base->iVersion >= 2) {
            m.xShmMap = [](sqlite3_file* f, int pg, int sz, int ext, void volatile** p) {
                return in(f)->pMethods->xShmMap(in(f), pg, sz, ext, p);
            };
            m.xShmLock = [](sqlite3_file* f, int off, int n, int flags) { return in(f)->pMethods->xShmLock(in(f), off, n, flags); };
            m.xShmBarrier = [](sqlite3_file* f) { in(f)->pMethods->xShmBarrier(in(f)); };
            m.xShmUnmap = [](sqlite3_file* f, int del) { return in(f)->pMethods->xShmUnmap(in(f), del); };
        }
        if (base->iVersion >= 3) {
            m.xFetch = [](sqlite3_file* f, sqlite3_int64 o, int n, void** p) { return in(f)->pMethods->xFetch(in(f), o, n, p); };
            m.xUnfetch = [](sqlite3_file* f, sqlite3_int64 o, void* p) { return in(f)->pMethods->xUnfetch(in(f), o, p); };
        }
    }
};

}  // namespace archivist::testing
