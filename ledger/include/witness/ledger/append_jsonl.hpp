// Appending JSON Lines through an Appender: `witness append` (atomic or --stream), `witness
// import`, and Python's and HTTP's bulk appends share this one reader and committer.
//
//   auto out = witness::ledger::plain_appender(*ledger);
//   witness::ledger::JsonlEvents events;
//   events.on_line = [](std::uint64_t line, const TraceNode& node, const Appended& a) { ... };
//   auto summary = witness::ledger::append_jsonl(*out, std::cin, {.stream = true}, events);
//
// Atomic (the default): the whole input is one batch. Any bad line is an error naming it, and
// nothing is written; a refused node writes nothing of the batch but its refusal record.
// Stream: a reader thread parses lines while the calling thread commits whatever has arrived as
// one group (at most max_group nodes, one write and, with sync durability, one fsync), and
// reports each node only after its group is committed. A bad line is reported and skipped; a
// group that fails on one bad node is retried node by node. An error of the ledger itself (I/O,
// a full disk, corruption) stops the stream: the error is returned, naming the line.
//
// Events are called on the calling thread, one at a time, in line order within a group.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>

#include "witness/base/result.hpp"
#include "witness/ledger/appender.hpp"

namespace witness::ledger {

struct JsonlAppendOptions {
  bool stream = false;       // commit as lines arrive (see above); false: one atomic batch
  bool require_ids = false;  // every line carries its "id", checked (import of an export)
  std::size_t max_group = 1024;
  // Parsed lines waiting for the committer: enough to keep it busy, bounded so that an input
  // faster than the disk waits instead of filling memory.
  std::size_t max_queued = std::size_t{16} * 1024;
};

struct JsonlEvents {
  // A node appended or refused (or withheld: its atomic batch had a refused node).
  std::function<void(std::uint64_t line, const TraceNode& node, const Appended& appended)> on_line;
  // Stream: a line skipped, with what is wrong with it ("line N: field: ...").
  std::function<void(const Error& error)> on_bad_line;
  // The number of lines read so far (atomic: per line while reading; stream: per group).
  std::function<void(std::uint64_t lines)> on_progress;
};

struct JsonlAppendSummary {
  std::uint64_t lines = 0;     // lines read
  std::uint64_t inserted = 0;  // nodes written
  std::uint64_t present = 0;   // nodes already in the ledger (nothing written)
  std::uint64_t refused = 0;   // nodes refused (their refusals recorded)
  std::uint64_t withheld = 0;  // atomic: nodes not written because another was refused
  std::uint64_t bad = 0;       // stream: lines skipped as bad
};

// Reads JSON Lines from `in` (each line: parse_node_line's record; links "seq:N" resolve through
// appender.ledger(), "line:N" through earlier lines) and appends them through `appender`.
// REQUIRES: in stream mode, `in` outlives the process if the call can return with an error
// while the reader is blocked in it (std::cin; a pipe that stays silent): the reader is then
// left behind, touching nothing but `in` and its own state, and stops at its next line.
// Errors: atomic: kInvalidArgument "line N: ..." for a bad line (nothing written), the
// appender's errors with "node I" rewritten as "line N"; stream: the first ledger error,
// as "line N: ...". A read error of `in` is kIOError.
[[nodiscard]] Result<JsonlAppendSummary> append_jsonl(Appender& appender, std::istream& in,
                                                      const JsonlAppendOptions& options,
                                                      const JsonlEvents& events = {});

}  // namespace witness::ledger
