// libFuzzer target: RFC 8785 canonicalisation. Invariant: idempotence.
#include <cstdint>
#include <string_view>

#include "witness/base/result.hpp"
#include "witness/ledger/jsonl.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  auto once = witness::ledger::canonicalize_json(text);
  if (!once) return 0;
  auto twice = witness::ledger::canonicalize_json(*once);
  WITNESS_CHECK(twice.has_value() && *twice == *once);
  return 0;
}
