// libFuzzer target: stored node bytes (the cereal value under 'n' seq).
// Invariant: accepted bytes are canonical, so they re-encode to exactly the same bytes.
#include <cstdint>
#include <string_view>

#include "witness/base/result.hpp"

#include "node_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);  // NOLINT
  auto node = witness::ledger::detail::decode_stored_node(bytes);
  if (!node) return 0;
  WITNESS_CHECK(witness::ledger::detail::encode_stored_node(*node) == bytes);
  return 0;
}
