// append_jsonl (append_jsonl.hpp): JSON Lines through an Appender, atomic or streamed.
//
// Stream mode is a two-stage pipeline. The reader thread reads and parses lines (the costly
// part: JSON, canonical form, SHA-256) into a bounded queue; the calling thread, the committer,
// takes whatever has arrived, up to max_group nodes, and appends it as one group, so one write
// (and with sync durability one fsync) covers many nodes while a long input is still being
// parsed. Bad lines travel through the queue too, so that every line is reported in order and
// on the calling thread.
//
// Shutdown: at the end of input the reader marks the queue finished and the committer drains
// it. On a ledger error the committer marks it fatal; the reader stops at its next line, before
// it touches the ledger again. One blocked in a silent input cannot be woken: after a grace
// period the committer leaves it behind (it owns a share of the state, and touches nothing
// else but `in`) and returns the error.
#include "witness/ledger/append_jsonl.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <istream>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <utility>

#include "witness/base/parallel.hpp"
#include "witness/ledger/jsonl.hpp"

namespace witness::ledger {
namespace {

bool is_blank(const std::string& text) {
  return text.find_first_not_of(" \t\r") == std::string::npos;
}

std::string where(std::uint64_t line) { return "line " + std::to_string(line); }  // errors only

// A line's fields, checked (the first stage of node_of_line). Errors name the line.
Result<NodeLine> parsed_line(const std::string& text, std::uint64_t line, bool require_ids) {
  if (is_blank(text)) return invalid_argument(where(line) + ": empty line");
  auto parsed = parse_node_line(text);
  if (!parsed) return parsed.error().with_context(where(line));
  if (require_ids && !parsed->id) {
    return invalid_argument(where(line) + ": id: missing (import takes exported lines)");
  }
  return parsed;
}

// The second stage: links resolved against `ledger` and the ids of earlier lines, id computed.
Result<TraceNode> resolved_line(NodeLine parsed, std::uint64_t line, const Ledger& ledger,
                                std::span<const NodeId> earlier) {
  auto node = resolve_node_line(std::move(parsed), &ledger, earlier);
  if (!node) return node.error().with_context(where(line));
  return node;
}

// Parses one line into a node.
Result<TraceNode> node_of_line(const std::string& text, std::uint64_t line, const Ledger& ledger,
                               std::span<const NodeId> earlier, bool require_ids) {
  WITNESS_ASSIGN_OR_RETURN(NodeLine parsed, parsed_line(text, line, require_ids));
  return resolved_line(std::move(parsed), line, ledger, earlier);
}

void count(JsonlAppendSummary& s, const Appended& a) {
  switch (a.outcome) {
    case AppendOutcome::kAppended:
      ++(a.result.inserted ? s.inserted : s.present);
      break;
    case AppendOutcome::kRefused:
      ++s.refused;
      break;
    case AppendOutcome::kWithheld:
      ++s.withheld;
      break;
  }
}

// Inputs shorter than this are parsed on the calling thread alone (threads cost more).
constexpr std::size_t kParallelParseLines = 2048;

// Turns every line of an atomic input into a node, on up to hardware_concurrency threads.
// Lines whose links name no earlier line ("line:N") are independent: they are parsed and
// hashed in parallel. The others need earlier lines' ids, so they are finished afterwards, in
// order. Returns the first line's error in line order, as a sequential parse would.
Result<std::vector<TraceNode>> nodes_of_lines(std::vector<std::string>& texts, const Ledger& ledger,
                                              bool require_ids,
                                              const std::function<void(std::uint64_t)>& progress) {
  const std::size_t n = texts.size();
  std::vector<Result<TraceNode>> out(n, Result<TraceNode>(invalid_argument("unset")));
  std::vector<std::optional<NodeLine>> deferred(n);
  const auto first_pass = [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
      auto parsed = parsed_line(texts[i], i + 1, require_ids);
      std::string().swap(texts[i]);  // the text is no longer needed
      if (!parsed) {
        out[i] = parsed.error();
        continue;
      }
      const bool needs_earlier =
          std::any_of(parsed->links.begin(), parsed->links.end(),
                      [](const LinkSpec& l) { return std::holds_alternative<LineRef>(l.target); });
      if (needs_earlier) {
        deferred[i] = std::move(*parsed);
        continue;
      }
      out[i] = resolved_line(std::move(*parsed), i + 1, ledger, {});
    }
  };
  parallel_chunks(n, kParallelParseLines / 2, first_pass);
  std::vector<NodeId> earlier(n);
  std::vector<TraceNode> nodes;
  nodes.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (deferred[i]) {
      out[i] = resolved_line(std::move(*deferred[i]), i + 1, ledger,
                             std::span<const NodeId>(earlier.data(), i));
    }
    if (!out[i]) return out[i].error();
    earlier[i] = out[i]->id();
    nodes.push_back(std::move(*out[i]));
    if (progress) progress(i + 1);
  }
  return nodes;
}

Result<JsonlAppendSummary> append_atomic(Appender& appender, std::istream& in,
                                         const JsonlAppendOptions& options,
                                         const JsonlEvents& events) {
  JsonlAppendSummary summary;
  std::vector<std::string> texts;
  std::optional<Error> too_long;
  std::string text;
  for (LineRead read{}; (read = read_line(in, text)) != LineRead::kEnd;) {
    if (read == LineRead::kTooLong) {
      too_long = line_too_long(texts.size() + 1);
      break;
    }
    texts.push_back(std::move(text));
  }
  const bool read_failed = !too_long && in.bad();
  summary.lines = texts.size();
  // A bad line before the overlong one (or before a read failure) is reported first.
  WITNESS_ASSIGN_OR_RETURN(
      std::vector<TraceNode> nodes,
      nodes_of_lines(texts, appender.ledger(), options.require_ids, events.on_progress));
  if (too_long) return *too_long;
  if (read_failed) return io_error("read failed");
  if (nodes.empty()) return summary;
  std::vector<std::uint64_t> line_of(nodes.size());
  for (std::size_t i = 0; i < line_of.size(); ++i) line_of[i] = i + 1;
  auto appended = appender.append_batch(nodes, BatchMode::kAtomic);
  if (!appended) return batch_error_at_line(appended.error(), line_of);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    count(summary, (*appended)[i]);
    if (events.on_line) events.on_line(line_of[i], nodes[i], (*appended)[i]);
  }
  return summary;
}

// An error of the ledger itself, not of one node: the stream stops at the first.
bool is_fatal(const Error& e) {
  return e.code != ErrorCode::kInvalidArgument && e.code != ErrorCode::kNotFound &&
         e.code != ErrorCode::kFailedPrecondition;
}

struct Item {
  std::uint64_t line = 0;
  Result<TraceNode> node = invalid_argument("unset");
};

// What the reader and the committer share; the reader holds a share so that it may outlive
// the call (see the file comment).
struct Pipe {
  std::mutex mu;
  std::condition_variable ready;  // the committer waits for lines
  std::condition_variable space;  // the reader waits for room in the queue
  std::deque<Item> queue;
  bool finished = false;  // the reader is done (end of input, a read error, an overlong line)
  bool read_failed = false;
  bool fatal = false;      // the committer stopped: the reader must not touch the ledger again
  bool resolving = false;  // the reader is using the ledger (resolving a line's links)
};

void read_into(const std::shared_ptr<Pipe>& pipe, std::istream& in, const Ledger& ledger,
               JsonlAppendOptions options) {
  std::vector<NodeId> earlier;
  std::string text;
  std::uint64_t line = 0;
  for (LineRead read{}; (read = read_line(in, text)) != LineRead::kEnd;) {
    ++line;
    std::unique_lock lock(pipe->mu);
    pipe->space.wait(lock, [&] { return pipe->fatal || pipe->queue.size() < options.max_queued; });
    if (pipe->fatal) break;
    if (read == LineRead::kTooLong) {
      // The rest of the line is not read: the input stops here, reported once.
      const Error e = line_too_long(line);
      pipe->queue.push_back(Item{line, Error{e.code, e.message + "; input stops here"}});
      break;
    }
    pipe->resolving = true;
    lock.unlock();
    Item item{line, node_of_line(text, line, ledger, earlier, options.require_ids)};
    // A bad line's slot stays zero: links to it fail clearly.
    earlier.push_back(item.node ? item.node->id() : NodeId{});
    lock.lock();
    pipe->resolving = false;
    pipe->queue.push_back(std::move(item));
    pipe->ready.notify_one();
  }
  std::lock_guard lock(pipe->mu);
  pipe->read_failed = in.bad();
  pipe->finished = true;
  pipe->ready.notify_one();
}

Result<JsonlAppendSummary> append_stream(Appender& appender, std::istream& in,
                                         const JsonlAppendOptions& options,
                                         const JsonlEvents& events) {
  auto pipe = std::make_shared<Pipe>();
  std::thread reader(read_into, pipe, std::ref(in), std::cref(appender.ledger()), options);
  JsonlAppendSummary summary;
  std::optional<Error> fatal;

  auto report = [&](std::uint64_t line, const TraceNode& node, const Appended& a) {
    count(summary, a);
    if (events.on_line) events.on_line(line, node, a);
  };
  auto report_bad = [&](const Error& e) {
    ++summary.bad;
    if (events.on_bad_line) events.on_bad_line(e);
  };
  // One node on its own, after its group failed.
  auto append_one = [&](std::uint64_t line, const TraceNode& node) {
    auto a = appender.append(node);
    if (a) {
      report(line, node, *a);
    } else if (is_fatal(a.error())) {
      fatal = a.error().with_context("line " + std::to_string(line));
    } else {
      report_bad(a.error().with_context("line " + std::to_string(line)));
    }
  };

  std::vector<Item> group;
  std::vector<TraceNode> nodes;
  std::vector<std::uint64_t> lines;
  while (!fatal) {
    {
      std::unique_lock lock(pipe->mu);
      pipe->ready.wait(lock, [&] { return pipe->finished || !pipe->queue.empty(); });
      if (pipe->queue.empty()) break;  // finished and drained
      const auto take = std::min(pipe->queue.size(), options.max_group);
      group.assign(
          std::make_move_iterator(pipe->queue.begin()),
          std::make_move_iterator(pipe->queue.begin() + static_cast<std::ptrdiff_t>(take)));
      pipe->queue.erase(pipe->queue.begin(),
                        pipe->queue.begin() + static_cast<std::ptrdiff_t>(take));
      pipe->space.notify_one();
    }
    nodes.clear();
    lines.clear();
    for (auto& item : group) {
      if (!item.node) continue;
      nodes.push_back(std::move(*item.node));
      lines.push_back(item.line);
    }
    auto appended = nodes.empty() ? Result<std::vector<Appended>>(std::vector<Appended>{})
                                  : appender.append_batch(nodes, BatchMode::kEach);
    // Report in line order: the group's bad lines among its nodes.
    std::size_t k = 0;
    for (const auto& item : group) {
      if (fatal) break;
      if (!item.node) {
        report_bad(item.node.error());
        continue;
      }
      if (appended) {
        report(lines[k], nodes[k], (*appended)[k]);
      } else {
        // One bad node fails the group: the rest go in one by one, the bad ones reported.
        append_one(lines[k], nodes[k]);
      }
      ++k;
    }
    summary.lines = group.back().line;
    if (events.on_progress) events.on_progress(summary.lines);
  }

  std::unique_lock lock(pipe->mu);
  if (!fatal) {
    lock.unlock();
    reader.join();
    if (pipe->read_failed) return io_error("read failed");
    return summary;
  }
  pipe->fatal = true;
  pipe->space.notify_one();  // a reader waiting for room sees `fatal` and stops
  // The reader stops at its next line; one blocked in a silent input is left behind, but never
  // while it is using the ledger (the caller may close it once this returns).
  constexpr auto kGrace = std::chrono::milliseconds(500);
  if (pipe->ready.wait_for(lock, kGrace, [&] { return pipe->finished; })) {
    lock.unlock();
    reader.join();
  } else {
    pipe->ready.wait(lock, [&] { return !pipe->resolving; });
    lock.unlock();
    reader.detach();
  }
  return *fatal;
}

}  // namespace

Result<JsonlAppendSummary> append_jsonl(Appender& appender, std::istream& in,
                                        const JsonlAppendOptions& options,
                                        const JsonlEvents& events) {
  if (options.max_group == 0 || options.max_queued == 0) {
    return invalid_argument("append_jsonl: max_group and max_queued must be at least 1");
  }
  return options.stream ? append_stream(appender, in, options, events)
                        : append_atomic(appender, in, options, events);
}

}  // namespace witness::ledger
