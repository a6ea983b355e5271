#pragma once
// Wiring of the ClickHouse sink (core/sink) for the engine and for `archivist ship`: options from
// the configuration, the archive's durable end at open, and the console's view of the status.
// Thread: any (pure functions and file reads).
#include <filesystem>
#include <memory>
#include <string>

#include "core/archive/archive_types.h"
#include "core/engine/config.h"
#include "core/engine/engine.h"
#include "core/sink/clickhouse_sink.h"
#include "core/util/expected.h"

namespace archivist::engine {

// The options for `config` (url non-empty) on the data directory `data_dir`: the password read
// from password_file (first line), the default node name (<host name>-<8 hex of SHA-256 of the
// data directory's absolute path>), the state directory <data_dir>/sinks.
// Errors: "config" (invalid section, unreadable password file).
Expected<sink::ClickHouseSinkOptions> clickHouseSinkOptions(const ClickHouseConfig& config,
                                                            const std::filesystem::path& data_dir,
                                                            std::shared_ptr<const net::AddressPolicy> policy);

// The end of the archive as it is on disk: the last segment and its size ({0,0}: no segment).
// Valid as the durable end only while nothing appends (after Store::open, before start()).
archive::Watermark archiveEnd(const std::filesystem::path& archive_dir);

SinkView sinkView(const sink::SinkStatus& s);

}  // namespace archivist::engine
