// witness append: JSON Lines in, acknowledged entries out; atomic by default, or streamed.
// Gated (SPEC 5.5) once any covenant is registered, or with --gate: each node's origin must be
// allowed to ledger.append it, else only a covenant.denial node is recorded and the command
// exits 1. --no-gate appends ungated and records who did so (a covenant.bypass node).
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include <range/v3/view/zip.hpp>
#include <unistd.h>

#include "witness/covenant/gated_ledger.hpp"
#include "witness/covenant/registry.hpp"
#include "witness/ledger/jsonl.hpp"

#include "cli.hpp"

namespace witness::tools {
namespace {

namespace cv = covenant;
using ledger::Ledger;

void print_ack(const ledger::AppendResult& r, const ledger::NodeId& id) {
  std::cout << R"({"seq":)" << r.seq << R"(,"id":")" << id.to_hex() << "\"}\n";
}

// Nodes from witness's own origins (witness.*) are written only by witness: a forged
// covenant.grant would grant rights, a forged denial or law verdict would rewrite the audit.
// (`witness import` still restores them from an export, checking every id.)
Status check_origin(const ledger::TraceNode& node) {
  if (ledger::is_reserved_origin(node.origin())) {
    return invalid_argument("origin " + node.origin() +
                            " is reserved for witness's own records (use witness agents ...)");
  }
  return ok_status();
}

void print_refusal(std::uint64_t line, const cv::GatedAppend& g) {
  std::cerr << "witness: line " << line << ": refused: " << g.explanation << g.recorded_where()
            << "\n";
}

// Atomic mode: the whole input is one batch; any bad line appends nothing, and so does any
// refused node (its denial is recorded).
// `before_write` runs once the whole input is valid, right before anything is written.
int run_append_batch(Ledger& l, cv::GatedLedger* gated, std::istream& in, bool json,
                     const std::function<Status()>& before_write) {
  std::vector<ledger::TraceNode> nodes;
  std::vector<ledger::NodeId> earlier;
  std::vector<std::uint64_t> line_of;
  std::string text;
  std::uint64_t line = 0;
  for (ledger::LineRead read; (read = ledger::read_line(in, text)) != ledger::LineRead::kEnd;) {
    ++line;
    if (read == ledger::LineRead::kTooLong) return report(ledger::line_too_long(line));
    const std::string where = "line " + std::to_string(line);
    if (text.find_first_not_of(" \t\r") == std::string::npos) {
      return report(invalid_argument(where + ": empty line"));
    }
    auto parsed = ledger::parse_node_line(text);
    if (!parsed) return report(parsed.error().with_context(where));
    auto node = ledger::resolve_node_line(std::move(*parsed), &l, earlier);
    if (!node) return report(node.error().with_context(where));
    if (auto reserved = check_origin(*node); !reserved) {
      return report(reserved.error().with_context(where));
    }
    earlier.push_back(node->id());
    nodes.push_back(std::move(*node));
    line_of.push_back(line);
  }
  if (in.bad()) return report(io_error("read failed"));
  if (auto ready = before_write(); !ready) return report(ready.error());

  std::vector<ledger::AppendResult> results;
  if (gated != nullptr) {
    auto g = gated->append_batch(nodes, cv::BatchMode::kAtomic);
    if (!g) return report(ledger::batch_error_at_line(g.error(), line_of));
    std::size_t refused = 0;
    for (std::size_t i = 0; i < g->size(); ++i) {
      if (!(*g)[i].refused) continue;
      ++refused;
      print_refusal(line_of[i], (*g)[i]);
    }
    if (refused > 0) {
      std::cerr << "witness: appended nothing: " << refused << " of " << nodes.size()
                << " nodes refused by the gate\n";
      return kExitCheckFailed;
    }
    for (const auto& item : *g) results.push_back(item.result);
  } else {
    auto r = l.append_batch(nodes);
    if (!r) return report(ledger::batch_error_at_line(r.error(), line_of));
    results = std::move(*r);
  }
  std::size_t inserted = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    inserted += r.inserted ? 1 : 0;
    if (json) {
      print_ack(r, nodes[i].id());
    } else {
      std::cout << r.seq << "  " << nodes[i].id().to_hex()
                << (r.inserted ? "" : "  (already present)") << "\n";
    }
  }
  if (!json) {
    std::cerr << "appended " << inserted << " entries (" << results.size() - inserted
              << " already present)\n";
  }
  return kExitOk;
}

// Stream mode: a reader thread parses lines while the main thread commits whatever has
// arrived as one group, and acknowledges each node only after its commit. Bad lines are
// skipped (exit 2 at the end); refused nodes are skipped with their denial recorded (exit 1).
int run_append_stream(Ledger& l, cv::GatedLedger* gated, std::istream& in,
                      const std::function<Status()>& before_write) {
  // A stream is written as it arrives: whatever must precede writing happens first.
  if (auto ready = before_write(); !ready) return report(ready.error());
  constexpr std::size_t kMaxStreamBatch = 1024;
  // Parsed lines waiting for the writer: enough to keep it busy, bounded so that an input
  // faster than the disk waits instead of filling memory.
  constexpr std::size_t kMaxQueuedLines = 16 * kMaxStreamBatch;
  struct Item {
    std::uint64_t line = 0;
    ledger::TraceNode node;
  };
  std::mutex mu;
  std::condition_variable cv;     // the writer waits for lines
  std::condition_variable space;  // the reader waits for room in the queue
  std::deque<Item> queue;
  bool finished = false;
  bool had_error = false;
  bool had_refusal = false;
  // An error of the ledger itself (I/O, a full disk, corruption), not of one node: the stream
  // stops at the first, reported once, instead of failing every later line the same way.
  std::optional<Error> fatal;
  std::uint64_t fatal_line = 0;
  auto is_fatal = [](const Error& e) {
    return e.code != ErrorCode::kInvalidArgument && e.code != ErrorCode::kNotFound &&
           e.code != ErrorCode::kFailedPrecondition;
  };

  std::thread reader([&] {
    std::vector<ledger::NodeId> earlier;
    std::string text;
    std::uint64_t line = 0;
    for (ledger::LineRead read; (read = ledger::read_line(in, text)) != ledger::LineRead::kEnd;) {
      ++line;
      if (read == ledger::LineRead::kTooLong) {
        // The rest of the line is not read: the input stops here, reported once.
        std::lock_guard lock(mu);
        std::cerr << "witness: " << ledger::line_too_long(line).message << "; input stops here\n";
        had_error = true;
        break;
      }
      {
        // A bounded queue: a fast input waits for the ledger instead of filling memory.
        std::unique_lock lock(mu);
        space.wait(lock, [&] { return fatal || queue.size() < kMaxQueuedLines; });
        if (fatal) break;
      }
      const std::string where = "line " + std::to_string(line);
      ledger::NodeId id{};
      Result<ledger::TraceNode> node = invalid_argument("empty line");
      if (text.find_first_not_of(" \t\r") != std::string::npos) {
        auto parsed = ledger::parse_node_line(text);
        node = parsed ? ledger::resolve_node_line(std::move(*parsed), &l, earlier)
                      : Result<ledger::TraceNode>(parsed.error());
      }
      if (node) {
        if (auto reserved = check_origin(*node); !reserved) node = reserved.error();
      }
      if (node) id = node->id();
      earlier.push_back(id);  // a bad line's slot stays zero: links to it fail clearly
      std::lock_guard lock(mu);
      if (!node) {
        std::cerr << "witness: " << where << ": " << node.error().message << "\n";
        had_error = true;
        continue;
      }
      queue.push_back(Item{line, std::move(*node)});
      cv.notify_one();
    }
    std::lock_guard lock(mu);
    finished = true;
    cv.notify_one();
  });

  // Appends one node on its own (after its group failed), reporting what happened to it.
  auto append_one = [&](const Item& item) {
    if (gated != nullptr) {
      auto g = gated->append(item.node);
      std::lock_guard lock(mu);
      if (!g && is_fatal(g.error())) {
        fatal = g.error();
        fatal_line = item.line;
      } else if (!g) {
        std::cerr << "witness: line " << item.line << ": " << g.error().message << "\n";
        had_error = true;
      } else if (g->refused) {
        print_refusal(item.line, *g);
        had_refusal = true;
      } else {
        print_ack(g->result, item.node.id());
      }
      return;
    }
    auto r = l.append(item.node);
    std::lock_guard lock(mu);
    if (r) {
      print_ack(*r, item.node.id());
    } else if (is_fatal(r.error())) {
      fatal = r.error();
      fatal_line = item.line;
    } else {
      std::cerr << "witness: line " << item.line << ": " << r.error().message << "\n";
      had_error = true;
    }
  };

  std::vector<Item> batch;
  while (true) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return finished || !queue.empty(); });
      if (queue.empty() && finished) break;
      // At most kMaxStreamBatch per commit: one fsync covers many nodes, yet acknowledgements
      // keep flowing while a long input is still being parsed.
      const auto take = std::min<std::size_t>(queue.size(), kMaxStreamBatch);
      batch.assign(std::make_move_iterator(queue.begin()),
                   std::make_move_iterator(queue.begin() + static_cast<std::ptrdiff_t>(take)));
      queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(take));
      space.notify_one();
    }
    std::vector<ledger::TraceNode> nodes;
    nodes.reserve(batch.size());
    for (const auto& item : batch) nodes.push_back(item.node);
    bool group_ok = false;
    if (gated != nullptr) {
      auto g = gated->append_batch(nodes, cv::BatchMode::kEach);
      if (g) {
        group_ok = true;
        std::lock_guard lock(mu);
        for (auto&& [outcome, item] : ranges::views::zip(*g, batch)) {
          if (outcome.refused) {
            print_refusal(item.line, outcome);
            had_refusal = true;
          } else {
            print_ack(outcome.result, item.node.id());
          }
        }
      }
    } else if (auto results = l.append_batch(nodes)) {
      group_ok = true;
      for (auto&& [result, node] : ranges::views::zip(*results, nodes))
        print_ack(result, node.id());
    }
    // One bad node fails the group: commit the rest one by one and report the bad ones.
    if (!group_ok) {
      for (const auto& item : batch) {
        append_one(item);
        if (std::lock_guard lock(mu); fatal) break;
      }
    }
    std::cout.flush();
    std::unique_lock lock(mu);
    if (!fatal) continue;
    space.notify_one();  // a reader waiting for room sees `fatal` and stops
    // Stop: report the ledger's error once. The reader stops at its next line; one blocked on
    // a silent pipe cannot be woken, so the process then ends without waiting for it (what was
    // acknowledged is durable as acknowledged, as after a crash).
    std::cerr << "witness: line " << fatal_line << ": " << fatal->message << "\n";
    std::cerr.flush();
    if (!cv.wait_for(lock, std::chrono::milliseconds(500), [&] { return finished; })) {
      std::_Exit(exit_code_for(*fatal));
    }
    lock.unlock();
    reader.join();
    return exit_code_for(*fatal);
  }
  reader.join();
  if (had_error) return kExitUsage;
  return had_refusal ? kExitCheckFailed : kExitOk;
}

struct AppendArgs {
  std::string path = "-";
  std::string durability = "buffered";
  bool stream = false;
  bool gate = false;
  bool no_gate = false;
  std::string bypass_note;
};

std::string invoking_user() {
  if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') return user;
  return "uid:" + std::to_string(getuid());
}

int run_append(const CommonOptions& opts, const AppendArgs& args) {
  if (args.gate && args.no_gate) {
    return report(invalid_argument("--gate and --no-gate contradict each other"));
  }
  auto d = parse_durability(args.durability);
  if (!d) return report(d.error());
  std::ifstream storage;
  auto in = open_input(args.path, storage);
  if (!in) return report(in.error());
  auto l = open_ledger(opts, false, *d);
  if (!l) return report(l.error());

  std::optional<cv::GatedLedger> gated;
  if (!args.no_gate) {
    auto g = cv::GatedLedger::open(*l);
    if (!g) return report(g.error());
    for (const auto& skipped : g->skipped()) {
      std::cerr << "witness: covenant record not applied: " << skipped << "\n";
    }
    // On by default once any covenant is registered; --gate turns it on before (deny all).
    if (args.gate || !g->gate().covenants().empty()) gated.emplace(std::move(*g));
  }
  // An ungated write is recorded before anything is appended, so that a crash cannot hide it.
  auto before_write = [&]() -> Status {
    if (!args.no_gate) return ok_status();
    const std::string input = args.path == "-" ? "stdin" : args.path;
    auto r = cv::record_bypass(*l, invoking_user(), "witness append --no-gate " + input,
                               args.bypass_note);
    if (!r) return r.error().with_context("recording the bypass");
    std::cerr << "witness: gate bypassed; recorded as covenant.bypass at seq " << r->seq << "\n";
    return ok_status();
  };
  cv::GatedLedger* g = gated ? &*gated : nullptr;
  const int code = args.stream ? run_append_stream(*l, g, **in, before_write)
                               : run_append_batch(*l, g, **in, opts.json, before_write);
  if (gated) {
    if (auto closed = gated->close(); !closed) return report(closed.error());
  }
  return code;
}

}  // namespace

Status allow_ungated_write(ledger::Ledger& l, bool no_gate, const std::string& command,
                           const std::string& note, bool always_record) {
  auto loaded = cv::load_gate(l);
  if (!loaded) return loaded.error();
  if (loaded->gate.covenants().empty() && !always_record) return ok_status();
  if (!no_gate && !loaded->gate.covenants().empty()) {
    return failed_precondition(
        "this ledger gates appends (covenants are registered) and " + command +
        " would bypass the gate; pass --no-gate to do it anyway (recorded as covenant.bypass)");
  }
  auto r = cv::record_bypass(l, invoking_user(), command, note);
  if (!r) return r.error().with_context("recording the bypass");
  std::cerr << "witness: gate bypassed; recorded as covenant.bypass at seq " << r->seq << "\n";
  return ok_status();
}

void register_append_command(CLI::App& app, Action& action) {
  static CommonOptions common;
  static AppendArgs args;
  auto* ap = app.add_subcommand("append", "append nodes from JSON Lines (atomic by default)");
  add_common_options(*ap, common);
  ap->add_option("file", args.path, "input file, or - for stdin (default)");
  ap->add_flag("--stream", args.stream,
               "commit lines as they arrive; acknowledge each once durable; skip bad lines");
  ap->add_option("--durability", args.durability, "buffered (WAL) or sync (fsync before ack)");
  ap->add_flag("--gate", args.gate,
               "gate every node by its origin's covenant (the default once any is registered)");
  ap->add_flag("--no-gate", args.no_gate,
               "append without the gate; recorded as a covenant.bypass node naming $USER");
  ap->add_option("--bypass-note", args.bypass_note, "why the gate is bypassed (with --no-gate)");
  ap->callback([&action] { action = [] { return run_append(common, args); }; });
  ap->footer(
      "Each line: {\"origin\":..., \"kind\":..., \"timestamp\": ns or RFC 3339 (optional),\n"
      "\"walk\":..., \"tags\":[...], \"payload\":{...}, \"links\":[{\"relation\":\"causes\",\n"
      "\"target\": hex id | \"seq:N\" | \"line:N\"}], \"signature\": 128 hex (optional)}\n"
      "Exit: 0 appended, 1 refused by the gate (denials recorded), 2 bad input.");
}

}  // namespace witness::tools
