// Digest: a 32-byte SHA-256 value (node ids, chain and Merkle hashes), with hex conversion.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "witness/base/result.hpp"

namespace witness::ledger {

// A SHA-256 digest. Node ids are Digests of the canonical encoding (docs/ledger_format.md).
// Thread safety: a plain value; const methods may be called concurrently.
struct Digest;
// For unordered containers keyed by digests (ids): their first 8 bytes, already uniform.
struct DigestHash {
  std::size_t operator()(const Digest& d) const noexcept;
};

struct Digest {
  static constexpr std::size_t kSize = 32;
  std::array<std::uint8_t, kSize> bytes{};

  // Returns the 64-character lower-case hex form.
  [[nodiscard]] std::string to_hex() const;
  // Parses exactly 64 hex digits (either case). Errors: kInvalidArgument naming the problem.
  [[nodiscard]] static Result<Digest> from_hex(std::string_view hex);
  // Returns the digest of `data` (SHA-256, OpenSSL).
  [[nodiscard]] static Digest sha256(std::span<const std::uint8_t> data);
  [[nodiscard]] static Digest sha256(std::string_view data);

  friend auto operator<=>(const Digest&, const Digest&) = default;
};

inline std::size_t DigestHash::operator()(const Digest& d) const noexcept {
  std::size_t h = 0;
  std::memcpy(&h, d.bytes.data(), sizeof h);
  return h;
}

// A TraceNode's content address: the SHA-256 of its canonical encoding.
using NodeId = Digest;

}  // namespace witness::ledger
