// Standard base64 (RFC 4648 section 4, with padding), strict on decode.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "witness/base/result.hpp"

namespace witness::ledger::detail {

[[nodiscard]] std::string base64_encode(std::span<const std::uint8_t> bytes);
// Errors: kInvalidArgument for a length not a multiple of 4, a character outside the
// alphabet, misplaced padding, or non-zero padding bits.
[[nodiscard]] Result<std::vector<std::uint8_t>> base64_decode(std::string_view text);

}  // namespace witness::ledger::detail
