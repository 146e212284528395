// witness append: JSON Lines in, acknowledged entries out; atomic by default, or streamed.
// Gated (SPEC 5.5) once any covenant is registered, or with --gate: each node's origin must be
// allowed to ledger.append it, else only a covenant.denial node is recorded and the command
// exits 1. --no-gate appends ungated and records who did so (a covenant.bypass node).
#include <cstdlib>
#include <iostream>
#include <utility>
#include <vector>

#include <unistd.h>

#include "witness/covenant/appender.hpp"
#include "witness/ledger/append_jsonl.hpp"

#include "cli.hpp"
#include "json_out.hpp"

namespace witness::tools {
namespace {

namespace cv = covenant;

void print_ack(const ledger::AppendResult& r, const ledger::NodeId& id) {
  print_json({{"seq", r.seq}, {"id", id.to_hex()}});
}

void print_refusal(std::uint64_t line, const ledger::Appended& a) {
  std::cerr << "witness: line " << line << ": refused: " << a.refusal_message() << "\n";
}

// Atomic: the whole input is one batch; any bad line appends nothing, and so does any refused
// node (its denial is recorded).
int run_append_batch(cv::PolicyAppender& out, std::istream& in, bool json) {
  std::vector<std::pair<ledger::AppendResult, ledger::NodeId>> acks;
  ledger::JsonlEvents events;
  events.on_line = [&](std::uint64_t line, const ledger::TraceNode& node,
                       const ledger::Appended& a) {
    if (a.refused()) print_refusal(line, a);
    if (a.appended()) acks.emplace_back(a.result, node.id());
  };
  auto summary = ledger::append_jsonl(out, in, {}, events);
  report_bypass(out);
  if (!summary) return report(summary.error());
  if (summary->refused > 0) {
    // Atomic: every line read is a node of the batch.
    std::cerr << "witness: appended nothing: " << summary->refused << " of " << summary->lines
              << " nodes refused by the gate\n";
    return kExitCheckFailed;
  }
  for (const auto& [r, id] : acks) {
    if (json) {
      print_ack(r, id);
    } else {
      std::cout << r.seq << "  " << id.to_hex() << (r.inserted ? "" : "  (already present)")
                << "\n";
    }
  }
  if (!json) {
    std::cerr << "appended " << summary->inserted << " entries (" << summary->present
              << " already present)\n";
  }
  return kExitOk;
}

// Stream: lines are committed in groups as they arrive, each acknowledged once committed. Bad
// lines are skipped (exit 2 at the end); refused nodes are skipped with their denial recorded
// (exit 1); a ledger error stops the stream.
int run_append_stream(cv::PolicyAppender& out, std::istream& in) {
  ledger::JsonlEvents events;
  bool first = true;
  events.on_line = [&](std::uint64_t line, const ledger::TraceNode& node,
                       const ledger::Appended& a) {
    // A bypass is recorded before the first write, so by the first report it is there or never.
    if (std::exchange(first, false)) report_bypass(out);
    if (a.refused()) {
      print_refusal(line, a);
    } else {
      print_ack(a.result, node.id());
    }
  };
  events.on_bad_line = [](const Error& e) { std::cerr << "witness: " << e.message << "\n"; };
  events.on_progress = [](std::uint64_t) { std::cout.flush(); };
  auto summary = ledger::append_jsonl(out, in, {.stream = true}, events);
  std::cout.flush();
  if (!summary) return report(summary.error());
  if (summary->bad > 0) return kExitUsage;
  return summary->refused > 0 ? kExitCheckFailed : kExitOk;
}

struct AppendArgs {
  std::string path = "-";
  std::string durability = "buffered";
  bool stream = false;
  bool gate = false;
  bool no_gate = false;
  std::string bypass_note;
  ClusterTarget cluster;  // through the cluster's stream instead of a local ledger
};

int run_append(const CommonOptions& opts, const AppendArgs& args) {
  if (!args.cluster.nats.empty()) {
    // The replicas gate and write; nothing here applies to a local ledger.
    if (!opts.ledger_dir.empty() || args.stream || args.gate || args.no_gate ||
        args.durability != "buffered") {
      return report(invalid_argument(
          "--nats appends through the cluster: --ledger, --stream, --gate, --no-gate and "
          "--durability do not apply (the replicas gate every node and sync before they ack)"));
    }
    std::ifstream storage;
    auto in = open_input(args.path, storage);
    if (!in) return report(in.error());
    return run_cluster_append(args.cluster, **in, opts.json);
  }
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

  const std::string input = args.path == "-" ? "stdin" : args.path;
  auto out = cv::PolicyAppender::open(
      *l, {.gate = args.no_gate ? cv::GateMode::kOff
                                : (args.gate ? cv::GateMode::kOn : cv::GateMode::kAuto),
           .who = invoking_user(),
           .command = "witness append --no-gate " + input,
           .bypass_note = args.bypass_note});
  if (!out) return report(out.error());
  for (const auto& skipped : (*out)->skipped()) {
    std::cerr << "witness: covenant record not applied: " << skipped << "\n";
  }
  const int code =
      args.stream ? run_append_stream(**out, **in) : run_append_batch(**out, **in, opts.json);
  if (auto closed = (*out)->close(); !closed) return report(closed.error());
  return code;
}

}  // namespace

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
  add_cluster_target_options(*ap, args.cluster);
  ap->callback([&action] { action = [] { return run_append(common, args); }; });
  ap->footer(
      "Each line: {\"origin\":..., \"kind\":..., \"timestamp\": ns or RFC 3339 (optional),\n"
      "\"walk\":..., \"tags\":[...], \"payload\":{...}, \"links\":[{\"relation\":\"causes\",\n"
      "\"target\": hex id | \"seq:N\" | \"line:N\"}], \"signature\": 128 hex (optional)}\n"
      "Exit: 0 appended, 1 refused by the gate (denials recorded), 2 bad input.\n"
      "With --nats: one {\"seq\",\"id\",\"outcome\"} line per node once a quorum applied it;\n"
      "exit 1 when any was denied or rejected, 3 when the quorum did not answer in time.");
}

}  // namespace witness::tools
