// JSON Lines: one node per line, for `witness append`, export and import (SPEC 3.5).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/ledger/ledger.hpp"
#include "witness/ledger/trace_node.hpp"

namespace witness::ledger {

// The longest input line witness reads (append, import, sign, detect): a node's canonical
// payload is at most 1 MiB, and escapes (\u00e9 for one byte of é) can grow its text up to six
// times. A longer line is an error found at the cap, before the rest of it is read (a 100 MB
// line took 10 s and 430 MB; /dev/zero on stdin grew without end).
inline constexpr std::size_t kMaxLineBytes = std::size_t{8} << 20U;

enum class LineRead {
  kLine,     // a line (without its '\n'), possibly the last one without a newline
  kEnd,      // end of input: nothing read
  kTooLong,  // more than `max` bytes without a newline; reading stopped at the cap
};
// Reads one line into `line`. On kTooLong, `line` holds the first `max` bytes and the stream
// is left inside the line. A read error leaves `in.bad()` set (check it after kEnd).
[[nodiscard]] LineRead read_line(std::istream& in, std::string& line,
                                 std::size_t max = kMaxLineBytes);
// "line N: longer than 8 MiB (the input line cap)".
[[nodiscard]] Error line_too_long(std::uint64_t line_number);

// Returns `json` in RFC 8785 canonical form (sorted keys, no whitespace, ECMAScript numbers,
// minimal string escapes). Errors: kInvalidArgument naming the byte offset and the problem
// (malformed JSON, duplicate key, invalid UTF-8, lone surrogate, number out of range).
[[nodiscard]] Result<std::string> canonicalize_json(std::string_view text);

// Returns `s` as a JSON string literal (quotes included) with RFC 8785's minimal escapes.
[[nodiscard]] std::string quote_json_string(std::string_view s);

// Returns `node` as one line of canonical JSON (no newline): {"id", "kind", "links", "origin",
// "payload", "signature"?, "tags", "timestamp", "walk"?}. Equal nodes give equal bytes.
[[nodiscard]] std::string to_json_line(const TraceNode& node);
// Returns `entry` as one line of canonical JSON: {"seq": N} and then the node's keys, as
// to_json_line writes them (the CLI's --json, the HTTP API).
[[nodiscard]] std::string to_entry_json(const Entry& entry);

// A link target as written in input: a hex id, "seq:N" (an entry in the ledger) or "line:N"
// (an earlier line of the same input, 1-based).
struct SeqRef {
  SequenceNumber seq = 0;
};
struct LineRef {
  std::uint64_t line = 0;
};
using LinkTarget = std::variant<NodeId, SeqRef, LineRef>;

struct LinkSpec {
  LinkRelation relation = LinkRelation::kCauses;
  LinkTarget target;
};

// One parsed input line: the node's fields with links not yet resolved to ids.
struct NodeLine {
  NodeDraft draft;  // links empty; see `links`
  std::vector<LinkSpec> links;
  std::optional<NodeId> id;  // present in exported lines; import checks it
  // Set by parse_node_line, which writes draft.payload_json in canonical form: then
  // resolve_node_line does not parse and rewrite it a second time. Leave false when building a
  // NodeLine by hand (the payload is then canonicalised as TraceNode::create does).
  bool payload_canonical = false;
};

// Parses one JSON Lines record. Fields: origin, kind (required), timestamp (int64 ns or RFC
// 3339 string), walk, links, tags, payload (object), signature (hex), id (hex). Unknown fields
// are rejected. Errors: kInvalidArgument as "<field>: <what is wrong>".
[[nodiscard]] Result<NodeLine> parse_node_line(std::string_view line);

// Turns `line` into a node, resolving links: "seq:N" through `ledger`, "line:N" through
// `earlier` (ids of previous lines, index 0 = line 1). When line.id is set, the computed id
// must equal it. Errors: kInvalidArgument as "<field>: <what is wrong>".
[[nodiscard]] Result<TraceNode> resolve_node_line(NodeLine line, const Ledger* ledger,
                                                  std::span<const NodeId> earlier);

// Rewrites an append_batch error "node I: ..." (I = index in the batch) as "line L: ...",
// with L = lines[I]; other errors pass unchanged.
[[nodiscard]] Error batch_error_at_line(const Error& error, std::span<const std::uint64_t> lines);

// Writes the entries `options` selects as JSON Lines to `out`. Returns the number written.
// `progress`, when set, is called with the seq of each entry written.
[[nodiscard]] Result<std::uint64_t> export_jsonl(
    const Ledger& ledger, const ReplayOptions& options, std::ostream& out,
    const std::function<void(SequenceNumber)>& progress = {});

}  // namespace witness::ledger
