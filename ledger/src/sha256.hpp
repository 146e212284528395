// The ledger's hash constructions over witness::crypto's SHA-256: the chain and the RFC 6962
// leaf hash.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "witness/crypto/sha256.hpp"
#include "witness/ledger/digest.hpp"

namespace witness::ledger::detail {

// chain[i] = SHA-256(chain[i-1] || leaf_hash[i]) (SPEC 3.3); chain[-1] is 32 zero bytes.
[[nodiscard]] Digest chain_next(const Digest& previous, const Digest& leaf);
// leaf_hash = SHA-256(0x00 || stored node bytes) (RFC 6962 leaf hash).
[[nodiscard]] Digest leaf_hash(std::string_view stored_bytes);

}  // namespace witness::ledger::detail
