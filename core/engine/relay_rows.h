#pragma once
// Building the console's relay rows (engine::RelayRow) from what the engine's parts know.
// Thread: any (pure).
#include "core/engine/relay_row.h"
#include "core/ingest/source_table.h"
#include "core/net/relay_status.h"

namespace archivist::engine {

// The connection's status and, when known, the pipeline's outcome for its source.
RelayRow relayRow(const net::RelayStatusView& status, const ingest::SourceSnapshot* pipeline = nullptr);

}  // namespace archivist::engine
