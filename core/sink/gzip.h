#pragma once
// gzip (RFC 1952) for request bodies: ClickHouse's HTTP interface accepts `Content-Encoding: gzip`
// on every version the sink supports (Debian's 18.16 refuses zstd and br), so the sink compresses
// each batch once with zlib before it is posted.
//
// Contract
// - gzipCompress returns one complete gzip member (header, deflate stream, CRC-32, size) holding
//   `data`; level 1 (fastest) … 9 (smallest), 6 is zlib's default. Errors: "gzip" (zlib failed,
//   out of memory). Memory: the output (at most deflateBound(data) bytes) plus zlib's state.
// - gzipDecompress inflates one or more concatenated members; output above max_bytes is an error
//   ("gzip"), as is input that is not complete gzip. Used by tests and to check round trips.
// Thread: any (per-call state only).
#include <cstddef>
#include <string>
#include <string_view>

#include "core/util/expected.h"

namespace archivist::sink {

Expected<std::string> gzipCompress(std::string_view data, int level = 6);
Expected<std::string> gzipDecompress(std::string_view gz, size_t max_bytes);

}  // namespace archivist::sink
