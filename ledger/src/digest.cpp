#include "witness/ledger/digest.hpp"

#include <array>

#include "hex.hpp"
#include "sha256.hpp"

namespace witness::ledger {
namespace detail {

Digest chain_next(const Digest& previous, const Digest& leaf) {
  return Digest{crypto::Sha256().update(previous.bytes).update(leaf.bytes).finish()};
}

Digest leaf_hash(std::string_view stored_bytes) {
  static constexpr std::array<std::uint8_t, 1> kLeafPrefix = {0x00};
  return Digest{crypto::Sha256().update(kLeafPrefix).update(stored_bytes).finish()};
}

}  // namespace detail

std::string Digest::to_hex() const { return detail::hex_encode(bytes); }

Result<Digest> Digest::from_hex(std::string_view hex) {
  if (hex.size() != kSize * 2) {
    return invalid_argument("expected 64 hex digits, got " + std::to_string(hex.size()) +
                            " characters");
  }
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Digest d;
  for (std::size_t i = 0; i < kSize; ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return invalid_argument("invalid hex digit at position " +
                              std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
    }
    d.bytes[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return d;
}

Digest Digest::sha256(std::span<const std::uint8_t> data) { return Digest{crypto::sha256(data)}; }

Digest Digest::sha256(std::string_view data) { return Digest{crypto::sha256(data)}; }

}  // namespace witness::ledger
