// libFuzzer target: one JSON Lines input record (witness append / import).
// Invariant: a line that parses and resolves gives a node whose exported line parses back to
// the same id.
#include <cstdint>
#include <string_view>

#include "witness/base/result.hpp"
#include "witness/ledger/jsonl.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  auto line = witness::ledger::parse_node_line(text);
  if (!line) return 0;
  // Resolve "line:N" refs against two made-up earlier ids; no ledger, so "seq:N" fails cleanly.
  const std::vector<witness::ledger::NodeId> earlier(2);
  auto node = witness::ledger::resolve_node_line(std::move(*line), nullptr, earlier);
  if (!node) return 0;
  auto again = witness::ledger::parse_node_line(witness::ledger::to_json_line(*node));
  WITNESS_CHECK(again.has_value());
  auto back = witness::ledger::resolve_node_line(std::move(*again), nullptr, earlier);
  WITNESS_CHECK(back.has_value() && back->id() == node->id());
  return 0;
}
