// Incremental SHA-256 over OpenSSL EVP, with the digest fetched once per process.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "witness/ledger/digest.hpp"

namespace witness::ledger::detail {

// Hashes the concatenation of the pieces passed to update().
// Thread safety: not thread-safe; one Sha256 per thread (it reuses a thread-local context).
class Sha256 {
 public:
  Sha256();
  void update(std::span<const std::uint8_t> data);
  void update(std::string_view data);
  void update(const Digest& d) { update(std::span<const std::uint8_t>(d.bytes)); }
  [[nodiscard]] Digest finish();
};

// chain[i] = SHA-256(chain[i-1] || leaf_hash[i]) (SPEC 3.3); chain[-1] is 32 zero bytes.
[[nodiscard]] Digest chain_next(const Digest& previous, const Digest& leaf);
// leaf_hash = SHA-256(0x00 || stored node bytes) (RFC 6962 leaf hash).
[[nodiscard]] Digest leaf_hash(std::string_view stored_bytes);

}  // namespace witness::ledger::detail
