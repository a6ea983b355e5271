#pragma once
// Background work yields to the threads a person waits on. The verify threads, the commit writer
// and the job thread run a few nice levels below the rest of the process, so on a machine whose
// cores they fill (an import, a fast backfill) the console's GUI thread and the network threads
// still get the CPU when they need it; with idle cores the workers run at full speed as before.
// Linux: a thread's nice value is its own (setpriority on its thread id).
// Thread: the calling thread only.
namespace archivist {

// Raises the calling thread's nice value by `delta` (lower priority). Best effort: a failure
// leaves the priority as it was.
void lowerThisThreadPriority(int delta = 5);

}  // namespace archivist
