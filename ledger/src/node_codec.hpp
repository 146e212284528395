// Stored node bytes: the cereal portable-binary value under key 'n' + seq
// (docs/ledger_format.md, "stored node").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "witness/base/result.hpp"
#include "witness/ledger/trace_node.hpp"

namespace witness::ledger::detail {

// Version of the stored node layout (CEREAL_CLASS_VERSION of the stored record).
inline constexpr std::uint32_t kStoredNodeVersion = 1;

// Appends the stored bytes of `node` to `out`.
void encode_stored_node(const TraceNode& node, std::string& out);
[[nodiscard]] std::string encode_stored_node(const TraceNode& node);

// Decodes stored bytes. The id is taken from the bytes, not recomputed (verify() recomputes).
// Errors: kCorruption naming what is wrong; never aborts on any input.
[[nodiscard]] Result<TraceNode> decode_stored_node(std::string_view bytes);

}  // namespace witness::ledger::detail
