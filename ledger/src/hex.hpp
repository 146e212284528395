// Lower-case hex encoding, for ids, signatures and key bytes in messages and text formats.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace witness::ledger::detail {

[[nodiscard]] inline std::string hex_encode(std::span<const std::uint8_t> bytes) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const auto b : bytes) {
    out.push_back(kHex[b >> 4U]);
    out.push_back(kHex[b & 0xFU]);
  }
  return out;
}

[[nodiscard]] inline std::string hex_encode(std::string_view bytes) {
  return hex_encode(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));  // NOLINT
}

}  // namespace witness::ledger::detail
