// libFuzzer target: RFC 3339 timestamps. Invariant: format(parse(x)) parses to the same time.
#include <cstdint>
#include <string_view>

#include "witness/base/result.hpp"
#include "witness/ledger/trace_node.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  auto t = witness::ledger::parse_rfc3339(text);
  if (!t) return 0;
  auto back = witness::ledger::parse_rfc3339(witness::ledger::format_rfc3339(*t));
  WITNESS_CHECK(back.has_value() && *back == *t);
  return 0;
}
