#include "core/protocol/sha256.h"

#include <openssl/sha.h>

namespace archivist::protocol {

Bytes32 sha256(std::string_view data) {
    Bytes32 out;
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
    return out;
}

}  // namespace archivist::protocol
