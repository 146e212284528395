// The law runner: RapidCheck properties run with seeds witness owns (SPEC 4.4). RapidCheck's
// `rc::check` reads its seed from RC_PARAMS and its Catch adaptor cannot replay, so the runner
// calls rc::detail::checkProperty with explicit TestParams and a silent listener.
#include "witness/operad/laws.hpp"

#include <iostream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>

#include <rapidcheck/detail/Configuration.h>
#include <rapidcheck/detail/TestListener.h>

namespace witness::operad {
namespace {

// Discards RapidCheck's progress reports; the runner reports results itself.
class SilentListener : public rc::detail::TestListener {
 public:
  void onTestCaseFinished(const rc::detail::CaseDescription& /*description*/) override {}
  void onShrinkTried(const rc::detail::CaseDescription& /*shrink*/, bool /*accepted*/) override {}
  void onTestFinished(const rc::detail::TestMetadata& /*metadata*/,
                      const rc::detail::TestResult& /*result*/) override {}
};

// RapidCheck loads its global configuration (RC_PARAMS) on first use and prints
// "Using configuration: seed=..." on stderr, a seed the runner does not use. Load it once with
// stderr captured so that runs print only witness's own report.
void load_rapidcheck_configuration_quietly() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::ostringstream sink;
    auto* previous = std::cerr.rdbuf(sink.rdbuf());
    std::ignore = rc::detail::configuration();  // loaded for its side effect only
    std::cerr.rdbuf(previous);
  });
}

std::uint64_t fresh_seed() {
  std::random_device device;
  return (std::uint64_t{device()} << 32U) | device();
}

// RapidCheck prefixes an RC_FAIL message with "<file>:<line>:\n<the macro call>\n\n"; the report
// keeps the message (the equation and both sides) only.
std::string failure_message(const std::string& description) {
  const auto blank = description.find("\n\n");
  if (description.find("RC_FAIL(") != std::string::npos && blank != std::string::npos) {
    return description.substr(blank + 2);
  }
  return description;
}

// Splits the bindings expect_same appended to a failure message off into `bindings`.
std::string take_bindings(const std::string& message,
                          std::vector<std::pair<std::string, std::string>>& bindings) {
  const auto first = message.find(detail::kBindingMark);
  if (first == std::string::npos) return message;
  std::size_t at = first;
  while (at != std::string::npos) {
    const auto next = message.find(detail::kBindingMark, at + 1);
    const std::string record =
        message.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1);
    const auto sep = record.find(detail::kBindingSeparator);
    if (sep != std::string::npos) {
      bindings.emplace_back(record.substr(0, sep), record.substr(sep + 1));
    }
    at = next;
  }
  return message.substr(0, first);
}

std::string replay_line(const LawOptions& options, const Law& law, std::uint64_t seed) {
  const std::string seed_text = std::to_string(seed);
  if (!options.replay_command.empty()) {
    return options.replay_command + " --law " + law.name + " --seed " + seed_text + " --cases " +
           std::to_string(options.cases) + " --max-size " + std::to_string(options.max_size);
  }
  return std::string("witness::operad::check_laws(generators, ") +
         (law.needs_algebra ? "algebra_generators, " : "") +
         "{.cases = " + std::to_string(options.cases) +
         ", .max_size = " + std::to_string(options.max_size) + ", .seed = " + seed_text +
         ", .laws = {\"" + law.name + "\"}})";
}

LawResult run_one(const Law& law, const LawOptions& options, std::uint64_t seed) {
  rc::detail::TestParams params;
  params.seed = seed;
  params.maxSuccess = options.cases;
  params.maxSize = options.max_size;
  rc::detail::TestMetadata metadata;
  metadata.id = law.name;
  metadata.description = law.equation;
  SilentListener listener;
  const auto outcome =
      rc::detail::checkProperty(rc::detail::toProperty(law.property), metadata, params, listener);

  LawResult result{
      .law = law.name, .equation = law.equation, .seed = seed, .max_size = options.max_size};
  rc::detail::SuccessResult success;
  rc::detail::FailureResult failure;
  rc::detail::GaveUpResult gave_up;
  rc::detail::Error error;
  if (outcome.match(success)) {
    result.verdict = Verdict::kPassed;
    result.cases = success.numSuccess;
  } else if (outcome.match(failure)) {
    result.verdict = Verdict::kFailed;
    result.cases = failure.numSuccess;
    result.failure = take_bindings(failure_message(failure.description), result.counterexample);
    // A failure outside expect_same (a composition the law needed was refused) has no
    // bindings: then RapidCheck's own record of the draws, less the values it cannot print
    // ("<???>": no showValue overload).
    if (result.counterexample.empty()) {
      for (const auto& entry : failure.counterExample) {
        if (entry.second != R"(<???>)") result.counterexample.push_back(entry);
      }
    }
    result.replay = replay_line(options, law, seed);
  } else if (outcome.match(gave_up)) {
    result.verdict = Verdict::kGaveUp;
    result.cases = gave_up.numSuccess;
    result.failure = gave_up.description;
    result.replay = replay_line(options, law, seed);
  } else if (outcome.match(error)) {
    result.verdict = Verdict::kFailed;
    result.failure = "the property could not run: " + error.description;
  }
  return result;
}

}  // namespace

std::string_view verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPassed:
      return "passed";
    case Verdict::kFailed:
      return "failed";
    case Verdict::kGaveUp:
      return "gave-up";
  }
  return "unknown";
}

bool LawReport::passed() const {
  return std::all_of(results.begin(), results.end(),
                     [](const LawResult& r) { return r.verdict == Verdict::kPassed; });
}

Result<LawReport> run_laws(std::string suite, const std::vector<Law>& laws,
                           const LawOptions& options) {
  if (options.cases <= 0) {
    return invalid_argument("cases must be positive, got " + std::to_string(options.cases));
  }
  if (options.max_size <= 0) {
    return invalid_argument("max size must be positive, got " + std::to_string(options.max_size));
  }
  std::set<std::string> known;
  for (const auto& law : laws) known.insert(law.name);
  for (const auto& wanted : options.laws) {
    if (!known.contains(wanted)) {
      std::string names;
      for (const auto& k : known) names += (names.empty() ? "" : ", ") + k;
      return invalid_argument("suite " + suite + " has no law " + wanted + " (laws: " + names +
                              ")");
    }
  }
  load_rapidcheck_configuration_quietly();
  const std::uint64_t seed = options.seed ? *options.seed : fresh_seed();
  LawReport report{.suite = std::move(suite)};
  for (const auto& law : laws) {
    if (!options.laws.empty() &&
        std::find(options.laws.begin(), options.laws.end(), law.name) == options.laws.end()) {
      continue;
    }
    report.results.push_back(run_one(law, options, seed));
  }
  return report;
}

std::string format_result(const LawResult& r) {
  std::string runs;
  switch (r.verdict) {
    case Verdict::kPassed:
      runs = std::to_string(r.cases) + " cases";
      break;
    case Verdict::kFailed:
      runs = "failed on case " + std::to_string(r.cases + 1) + ", after " +
             std::to_string(r.cases) + " passed";
      break;
    case Verdict::kGaveUp:
      runs = "gave up after " + std::to_string(r.cases) + " cases";
      break;
  }
  std::string out = std::string(verdict_name(r.verdict)) + "  " + r.law + ": " + r.equation + " (" +
                    runs + ", seed " + std::to_string(r.seed) + ")\n";
  if (r.verdict == Verdict::kPassed) return out;
  if (!r.failure.empty()) out += "  " + r.failure + "\n";
  if (!r.counterexample.empty()) {
    out += "  counterexample (shrunk):\n";
    for (const auto& [name, value] : r.counterexample) out += "    " + name + " = " + value + "\n";
  }
  if (!r.replay.empty()) out += "  replay: " + r.replay + "\n";
  return out;
}

namespace detail {
std::string permutation_string(const Permutation& p) {
  std::string out = "[";
  for (std::size_t k = 0; k < p.size(); ++k) out += (k == 0 ? "" : " ") + std::to_string(p[k]);
  return out + "]";
}
}  // namespace detail

}  // namespace witness::operad
