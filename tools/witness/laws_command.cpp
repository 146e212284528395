// witness laws: runs the shipped operad law suites; with --ledger, records each verdict as a
// law.verdict node so that law checks are part of the audit history (SPEC 4.4, 7).
#include <algorithm>
#include <iostream>

#include "witness/operad/suites.hpp"

#include "cli.hpp"
#include "json_out.hpp"

namespace witness::tools {
namespace {

struct LawsArgs {
  std::vector<std::string> suites;  // --suite (repeatable; default: all)
  std::string law;                  // --law
  int cases = 100;
  int max_size = 100;
  std::optional<std::uint64_t> seed;
  std::string ledger_dir;
  bool json = false;
  bool list = false;
};

// One verdict as a JSON object: the law.verdict payload. The seed is a string: JSON numbers
// above 2^53 lose precision in many readers, and the seed must replay exactly.
JsonOut verdict_json(const std::string& suite, const operad::LawResult& r) {
  std::vector<std::string> counterexample;
  counterexample.reserve(r.counterexample.size());
  for (const auto& [name, value] : r.counterexample) counterexample.push_back(name + " = " + value);
  JsonOut out{{"suite", suite},         {"law", r.law},
              {"equation", r.equation}, {"result", operad::verdict_name(r.verdict)},
              {"cases", r.cases},       {"seed", std::to_string(r.seed)},
              {"max_size", r.max_size}};
  const bool failed = r.verdict != operad::Verdict::kPassed;
  out["failure"] = failed ? JsonOut(r.failure) : JsonOut(nullptr);
  out["counterexample"] = failed ? JsonOut(counterexample) : JsonOut(nullptr);
  out["replay"] = failed ? JsonOut(r.replay) : JsonOut(nullptr);
  return out;
}

int run_list(bool json) {
  for (const auto& suite : operad::shipped_suites()) {
    std::vector<std::string> laws;
    laws.reserve(suite.laws.size());
    for (const auto& law : suite.laws) laws.push_back(law.name);
    if (json) {
      print_json({{"suite", suite.name}, {"description", suite.description}, {"laws", laws}});
      continue;
    }
    std::cout << suite.name << ": " << suite.description << "\n";
    for (const auto& law : suite.laws) {
      std::cout << "  " << law.name << ": " << law.equation << "\n";
    }
  }
  return kExitOk;
}

// The suites to run: --suite as given (each must exist), else every suite, narrowed to those
// that have --law when it is given.
Result<std::vector<std::string>> select_suites(const LawsArgs& args) {
  const auto all = operad::shipped_suites();
  auto has_law = [&](const operad::SuiteInfo& s) {
    return args.law.empty() || std::any_of(s.laws.begin(), s.laws.end(),
                                           [&](const auto& l) { return l.name == args.law; });
  };
  std::vector<std::string> selected;
  if (!args.suites.empty()) {
    for (const auto& name : args.suites) {
      auto it = std::find_if(all.begin(), all.end(), [&](const auto& s) { return s.name == name; });
      if (it == all.end()) {
        std::string known;
        for (const auto& s : all) known += (known.empty() ? "" : ", ") + s.name;
        return invalid_argument("--suite: no suite " + name + " (suites: " + known + ")");
      }
      if (!has_law(*it)) {
        std::string laws;
        for (const auto& l : it->laws) laws += (laws.empty() ? "" : ", ") + l.name;
        return invalid_argument("--law: suite " + name + " has no law " + args.law +
                                " (laws: " + laws + ")");
      }
      selected.push_back(name);
    }
    return selected;
  }
  for (const auto& s : all) {
    if (has_law(s)) selected.push_back(s.name);
  }
  if (selected.empty()) return invalid_argument("--law: no suite has a law " + args.law);
  return selected;
}

// Appends one law.verdict node per result, in one atomic batch, durably.
Result<std::pair<ledger::SequenceNumber, std::size_t>> record_verdicts(
    const std::string& ledger_dir, const std::vector<operad::LawReport>& reports) {
  std::vector<ledger::TraceNode> nodes;
  for (const auto& report : reports) {
    for (const auto& r : report.results) {
      auto node = ledger::TraceNode::create(ledger::NodeDraft{
          .origin = "witness.laws",
          .kind = "law.verdict",
          .tags = {"suite:" + report.suite, "law:" + r.law,
                   std::string(operad::verdict_name(r.verdict))},
          .payload_json = json_text(verdict_json(report.suite, r)),
      });
      if (!node) return std::move(node).error().with_context("law.verdict " + r.law);
      nodes.push_back(std::move(node).value());
    }
  }
  WITNESS_ASSIGN_OR_RETURN(auto l, open_ledger(CommonOptions{.ledger_dir = ledger_dir}, false,
                                               ledger::Durability::kSync));
  // witness.laws is a reserved origin: the law recorder is one of witness's own writers.
  WITNESS_ASSIGN_OR_RETURN(
      auto appended, l.append_batch(nodes, ledger::AppendOptions{.allow_reserved_origin = true}));
  if (appended.empty()) return std::pair<ledger::SequenceNumber, std::size_t>{0, 0};
  return std::pair{appended.front().seq, appended.size()};
}

int run_laws(const LawsArgs& args) {
  if (args.list) return run_list(args.json);
  auto suites = select_suites(args);
  if (!suites) return report(suites.error());
  std::vector<operad::LawReport> reports;
  std::size_t passed = 0;
  std::size_t failed = 0;
  for (const auto& name : *suites) {
    operad::LawOptions options{.cases = args.cases, .max_size = args.max_size, .seed = args.seed};
    if (!args.law.empty()) options.laws = {args.law};
    auto result = operad::run_suite(name, options);
    if (!result) return report(result.error());
    if (!args.json) std::cout << "suite " << name << "\n";
    for (const auto& r : result->results) {
      (r.verdict == operad::Verdict::kPassed ? passed : failed) += 1;
      if (args.json) {
        print_json(verdict_json(name, r));
      } else {
        std::cout << "  " << operad::format_result(r);
      }
    }
    reports.push_back(std::move(result).value());
  }
  if (!args.json) {
    std::cout << passed << " laws passed, " << failed << " failed\n";
  }
  if (!args.ledger_dir.empty()) {
    auto recorded = record_verdicts(args.ledger_dir, reports);
    if (!recorded) return report(recorded.error().with_context("recording verdicts"));
    if (!args.json && recorded->second > 0) {
      std::cout << "recorded " << recorded->second << " law.verdict nodes in " << args.ledger_dir
                << " (seq " << recorded->first << ".." << recorded->first + recorded->second - 1
                << ")\n";
    }
  }
  return failed == 0 ? kExitOk : kExitCheckFailed;
}

}  // namespace

void register_laws_command(CLI::App& app, Action& action) {
  static LawsArgs args;
  auto* laws = app.add_subcommand(
      "laws", "check the operad laws of the shipped suites; exit 1 if any law fails");
  laws->add_option("--suite", args.suites, "suite to run (repeatable; default: all)");
  laws->add_option("--law", args.law, "run only this law");
  laws->add_option("--cases", args.cases, "cases per law (default 100)")
      ->check(CLI::Range(1, 1000000));
  laws->add_option("--max-size", args.max_size, "size bound of generated values (default 100)")
      ->check(CLI::Range(1, 10000));
  laws->add_option("--seed", args.seed, "seed (default: a fresh one, printed with each result)")
      ->check(non_negative_integer());
  laws->add_option("--ledger", args.ledger_dir,
                   "append each verdict to this ledger as a law.verdict node");
  laws->add_flag("--json", args.json, "one JSON object per law (the law.verdict payload)");
  laws->add_flag("--list", args.list, "list the suites and their laws");
  laws->footer(
      "A failure prints the equation, both sides' values, the shrunk counterexample and a\n"
      "replay line: the same --suite, --law, --seed, --cases and --max-size reproduce it.");
  laws->callback([&action] { action = [] { return run_laws(args); }; });
}

}  // namespace witness::tools
