// Encoding of RocksDB keys and small fixed values (docs/ledger_format.md, "keys").
// Integers are fixed-width big-endian so bytewise key order is numeric order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "witness/base/endian.hpp"
#include "witness/ledger/digest.hpp"
#include "witness/ledger/options.hpp"
#include "witness/ledger/trace_node.hpp"

namespace witness::ledger::detail {

// Maps int64 to uint64 preserving order (flips the sign bit).
[[nodiscard]] constexpr std::uint64_t order_preserving(std::int64_t v) {
  return static_cast<std::uint64_t>(v) ^ (std::uint64_t{1} << 63U);
}
[[nodiscard]] constexpr std::int64_t from_order_preserving(std::uint64_t v) {
  return static_cast<std::int64_t>(v ^ (std::uint64_t{1} << 63U));
}

// 'c' size (and format 1's 'n' seq, 'e' seq).
[[nodiscard]] std::string seq_key(char prefix, SequenceNumber seq);
// 'i' id.
[[nodiscard]] std::string id_key(const NodeId& id);
// The prefix of a string-term index ('o', 'k', 'w', 'g'): prefix len(2) term.
[[nodiscard]] std::string term_prefix(char prefix, std::string_view term);
// term_prefix written into `out` (cleared first), reusing its buffer.
void term_prefix_into(char prefix, std::string_view term, std::string& out);
// term_prefix + seq.
[[nodiscard]] std::string term_key(char prefix, std::string_view term, SequenceNumber seq);
// 't' ts seq.
[[nodiscard]] std::string time_key(Timestamp ts, SequenceNumber seq);
// 'l' target seq relation; and the prefix 'l' target.
[[nodiscard]] std::string link_key(const NodeId& target, SequenceNumber seq, LinkRelation rel);
[[nodiscard]] std::string link_prefix(const NodeId& target);

// Returns the seq in the last 8 bytes of an index key (term and time keys).
[[nodiscard]] SequenceNumber trailing_seq(std::string_view key);

}  // namespace witness::ledger::detail
