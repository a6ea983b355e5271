#pragma once
// SHA-256 through OpenSSL libcrypto (docs/decisions/0001-sha256-and-json.md).
// Thread: any (each thread reuses its own digest context; the algorithm is fetched once).
#include <string_view>

#include "core/protocol/event.h"

namespace archivist::protocol {

Bytes32 sha256(std::string_view data);

}  // namespace archivist::protocol
