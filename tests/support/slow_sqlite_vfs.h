#pragma once
// A slow, breakable disk for SQLite, for tests: a VFS ("archivist-slow-disk") that passes every
// call to the default VFS but sleeps before each write and sync of a file opened through it, and
// can make writes fail (SQLITE_IOERR_WRITE, like EIO). Open a database with it by naming the VFS
// (relays::StoreOpenOptions::vfs). The delays and the failure switch are process-wide and may be
// changed at any time from any thread.
#include <cstdint>

namespace archivist::testing {

// Registers the VFS once (later calls return the same name).
const char* slowDiskVfs();
void setSlowDiskWriteDelayMs(int ms);  // before every xWrite
void setSlowDiskSyncDelayMs(int ms);   // before every xSync
void setSlowDiskFailWrites(bool fail);
uint64_t slowDiskWrites();             // xWrite calls so far (failed ones included)

}  // namespace archivist::testing
