// libFuzzer target: proof files (witness proof check). Invariant: a parsed claim prints and
// parses back to the same verdict.
#include <cstdint>
#include <string_view>

#include "witness/base/result.hpp"
#include "witness/ledger/proof_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  auto claim = witness::ledger::parse_proof_json(text);
  if (!claim) return 0;
  const bool ok = witness::ledger::verify_claim(*claim).has_value();
  auto again = witness::ledger::parse_proof_json(witness::ledger::to_proof_json(*claim));
  WITNESS_CHECK(again.has_value());
  WITNESS_CHECK(witness::ledger::verify_claim(*again).has_value() == ok);
  return 0;
}
