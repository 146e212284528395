// The law engine: a user's own operad is checked in a few lines, deliberately broken operads
// fail the right law with a shrunk counterexample, and a printed seed replays the failure
// (SPEC 4.3, 4.4).
#include "witness/operad/laws.hpp"

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "witness/operad/suites.hpp"

namespace op = witness::operad;

namespace user {

// A user's operad: weighted sums. f(x_1..x_n) = sum w_k x_k; plugging g into input i scales
// g's weights by w_i.
struct Weights {
  std::vector<std::int64_t> w;
};
std::size_t arity(const Weights& f) { return f.w.size(); }
Weights identity(op::Tag<Weights> /*tag*/, op::Uncolored /*c*/) { return {{1}}; }
witness::Result<Weights> compose(const Weights& f, std::size_t i, const Weights& g) {
  if (i >= f.w.size()) return witness::invalid_argument("no input " + std::to_string(i));
  Weights out;
  out.w.assign(f.w.begin(), f.w.begin() + static_cast<long>(i));
  for (auto x : g.w) out.w.push_back(f.w[i] * x);
  out.w.insert(out.w.end(), f.w.begin() + static_cast<long>(i) + 1, f.w.end());
  return out;
}
std::string show(const Weights& f) {
  std::string s = "sum[";
  for (auto x : f.w) s += std::to_string(x) + ";";
  return s + "]";
}

// Broken on purpose: labels combine by a unital but non-associative operation
// (a * 0 = a, 0 * b = b, otherwise a - b).
struct Magma {
  std::size_t n = 0;
  std::int64_t label = 0;
};
std::size_t arity(const Magma& f) { return f.n; }
Magma identity(op::Tag<Magma> /*tag*/, op::Uncolored /*c*/) { return {1, 0}; }
witness::Result<Magma> compose(const Magma& f, std::size_t i, const Magma& g) {
  if (i >= f.n) return witness::invalid_argument("no input " + std::to_string(i));
  const std::int64_t label = f.label == 0 ? g.label : g.label == 0 ? f.label : f.label - g.label;
  return Magma{f.n + g.n - 1, label};
}

// Broken on purpose: labels add (associative), but the identity carries label 1.
struct OffByOne {
  std::size_t n = 0;
  std::int64_t label = 0;
};
std::size_t arity(const OffByOne& f) { return f.n; }
OffByOne identity(op::Tag<OffByOne> /*tag*/, op::Uncolored /*c*/) { return {1, 1}; }
witness::Result<OffByOne> compose(const OffByOne& f, std::size_t i, const OffByOne& g) {
  if (i >= f.n) return witness::invalid_argument("no input " + std::to_string(i));
  return OffByOne{f.n + g.n - 1, f.label + g.label};
}

// An algebra of OffByOne that is off by one too: eval(f, xs) = label + sum xs.
template <typename A>
requires requires { typename A::Value; }
witness::Result<std::int64_t> evaluate(const A& /*a*/, const OffByOne& f,
                                       std::span<const std::int64_t> xs) {
  std::int64_t sum = f.label;
  for (auto x : xs) sum += x;
  return sum;
}

template <typename T>
op::Generators<T> labelled_generators() {
  auto show = [](const T& f) {
    return "op(n=" + std::to_string(f.n) + ", label=" + std::to_string(f.label) + ")";
  };
  return {.operation =
              [](op::Uncolored /*c*/) {
                return rc::gen::build<T>(
                    rc::gen::set(&T::n, op::uniform_in_range<std::size_t>(0, 4)),
                    rc::gen::set(&T::label, rc::gen::inRange<std::int64_t>(-9, 10)));
              },
          .observe = [show](const T& a, const T& b) { return op::observe_equal(show(a), show(b)); },
          .show = show};
}

}  // namespace user

namespace {

const op::LawResult& result_for(const op::LawReport& report, const std::string& law) {
  auto it = std::find_if(report.results.begin(), report.results.end(),
                         [&](const op::LawResult& r) { return r.law == law; });
  REQUIRE(it != report.results.end());
  return *it;
}

}  // namespace

TEST_CASE("a user's own operad passes its laws in a few lines", "[operad][laws]") {
  op::Generators<user::Weights> gens{
      .operation =
          [](op::Uncolored /*c*/) {
            return rc::gen::map(
                rc::gen::resize(4, rc::gen::container<std::vector<std::int64_t>>(
                                       rc::gen::inRange<std::int64_t>(-5, 6))),
                [](std::vector<std::int64_t> w) { return user::Weights{std::move(w)}; });
          },
      .observe = [](const user::Weights& a,
                    const user::Weights& b) { return op::observe_equal(show(a), show(b)); },
      .show = user::show,
  };
  auto report = op::check_laws(gens, {.cases = 200, .seed = 7});
  REQUIRE(report);
  INFO((report->results.empty() ? std::string() : op::format_result(report->results[0])));
  CHECK(report->passed());
  std::vector<std::string> laws;
  for (const auto& r : report->results) {
    laws.push_back(r.law);
    CHECK(r.cases == 200);
    CHECK(r.seed == 7);
  }
  // Weights is not a SymmetricOperad, so no equivariance law.
  CHECK(laws == std::vector<std::string>{"left-identity", "right-identity",
                                         "sequential-associativity", "parallel-associativity"});
}

TEST_CASE("a non-associative composition fails associativity with a replayable counterexample",
          "[operad][laws]") {
  const auto gens = user::labelled_generators<user::Magma>();
  auto report = op::check_laws(gens, {.cases = 300, .seed = 12345});
  REQUIRE(report);
  CHECK_FALSE(report->passed());
  CHECK(result_for(*report, "left-identity").verdict == op::Verdict::kPassed);
  CHECK(result_for(*report, "right-identity").verdict == op::Verdict::kPassed);
  const auto& failed = result_for(*report, "sequential-associativity");
  REQUIRE(failed.verdict == op::Verdict::kFailed);
  CHECK_THAT(failed.failure, Catch::Contains("(f o_i g) o_{i+j} h = f o_i (g o_j h)"));
  CHECK_THAT(failed.failure, Catch::Contains("lhs = op("));
  CHECK_THAT(failed.failure, Catch::Contains("rhs = op("));
  CHECK_FALSE(failed.counterexample.empty());
  CHECK_THAT(failed.replay, Catch::Contains(".seed = 12345"));
  CHECK_THAT(failed.replay, Catch::Contains("sequential-associativity"));

  SECTION("replaying the seed reproduces the same shrunk counterexample") {
    auto again = op::check_laws(
        gens, {.cases = 300, .seed = failed.seed, .laws = {"sequential-associativity"}});
    REQUIRE(again);
    REQUIRE(again->results.size() == 1);
    const auto& replayed = again->results[0];
    CHECK(replayed.verdict == op::Verdict::kFailed);
    CHECK(replayed.failure == failed.failure);
    CHECK(replayed.counterexample == failed.counterexample);
  }
  SECTION("a fresh seed is chosen and reported when none is given") {
    auto fresh = op::check_laws(gens, {.cases = 300, .laws = {"sequential-associativity"}});
    REQUIRE(fresh);
    const auto& r = fresh->results.at(0);
    REQUIRE(r.verdict == op::Verdict::kFailed);
    auto replayed =
        op::check_laws(gens, {.cases = 300, .seed = r.seed, .laws = {"sequential-associativity"}});
    REQUIRE(replayed);
    CHECK(replayed->results.at(0).failure == r.failure);
  }
}

TEST_CASE("a wrong identity fails both identity laws and nothing else", "[operad][laws]") {
  const auto gens = user::labelled_generators<user::OffByOne>();
  auto report = op::check_laws(gens, {.cases = 100, .seed = 99});
  REQUIRE(report);
  const auto& left = result_for(*report, "left-identity");
  const auto& right = result_for(*report, "right-identity");
  CHECK(left.verdict == op::Verdict::kFailed);
  CHECK(right.verdict == op::Verdict::kFailed);
  CHECK_THAT(left.failure, Catch::Contains("id o_0 f = f"));
  CHECK_THAT(right.failure, Catch::Contains("f o_i id = f"));
  // Shrinking finds the smallest operation: no inputs, the lowest label.
  CHECK_THAT(left.failure, Catch::Contains("where f = op(n=0, label=-9)"));
  CHECK(result_for(*report, "sequential-associativity").verdict == op::Verdict::kPassed);
  CHECK(result_for(*report, "parallel-associativity").verdict == op::Verdict::kPassed);
  const std::string text = op::format_result(left);
  CHECK_THAT(text, Catch::StartsWith("failed  left-identity"));
  CHECK_THAT(text, Catch::Contains("replay: "));
}

TEST_CASE("a failure reports the user's values, which case failed, and a replay that compiles",
          "[operad][laws]") {
  // OffByOne has no showValue overload: its values must still appear, through `show`.
  const auto gens = user::labelled_generators<user::OffByOne>();
  auto report = op::check_laws(gens, {.cases = 100, .seed = 99, .laws = {"left-identity"}});
  REQUIRE(report);
  const auto& left = report->results.at(0);
  REQUIRE(left.verdict == op::Verdict::kFailed);
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  CHECK(left.counterexample == Pairs{{"f", "op(n=0, label=-9)"}});
  CHECK(left.failure.find('\x1e') == std::string::npos);
  const std::string text = op::format_result(left);
  CHECK_THAT(text, Catch::Contains("(failed on case " + std::to_string(left.cases + 1) +
                                   ", after " + std::to_string(left.cases) + " passed, seed 99)"));
  CHECK_THAT(text, Catch::Contains("    f = op(n=0, label=-9)\n"));
  CHECK_THAT(text, Catch::Contains("lhs = op(n=0, label=-8)"));
  CHECK_THAT(text, Catch::Contains("rhs = op(n=0, label=-9)"));

  // An algebra law's replay line passes the algebra generators too.
  struct OffByOneEval {
    using Value = std::int64_t;
  };
  const op::AlgebraGenerators<OffByOneEval, user::OffByOne> alg{
      .algebra = {},
      .value = [](op::Uncolored /*c*/) { return rc::gen::inRange<std::int64_t>(-9, 10); },
      .observe =
          [](std::int64_t a, std::int64_t b) {
            return op::observe_equal(std::to_string(a), std::to_string(b));
          },
      .show = {}};
  auto with_algebra = op::check_laws(gens, alg, {.cases = 50, .seed = 3, .laws = {"algebra-unit"}});
  REQUIRE(with_algebra);
  const auto& unit = with_algebra->results.at(0);
  REQUIRE(unit.verdict == op::Verdict::kFailed);
  CHECK_THAT(unit.replay, Catch::StartsWith("witness::operad::check_laws(generators, "
                                            "algebra_generators, {.cases = 50"));
  REQUIRE(unit.counterexample.size() == 1);
  CHECK(unit.counterexample[0].first == "x");
}

TEST_CASE("the runner rejects bad options and missing generators", "[operad][laws]") {
  const auto gens = user::labelled_generators<user::Magma>();
  auto unknown = op::check_laws(gens, {.laws = {"commutativity"}});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == witness::ErrorCode::kInvalidArgument);
  CHECK_THAT(unknown.error().message, Catch::Contains("no law commutativity"));
  CHECK_FALSE(op::check_laws(gens, {.cases = 0}));
  CHECK_FALSE(op::check_laws(gens, {.max_size = -1}));
  CHECK_FALSE(op::check_laws(op::Generators<user::Magma>{}, {}));
  auto colored = op::pipeline_generators();
  colored.color.reset();
  auto no_color = op::check_laws(colored, {});
  REQUIRE_FALSE(no_color);
  CHECK_THAT(no_color.error().message, Catch::Contains("color"));
}

TEST_CASE("the law filter runs only the named laws", "[operad][laws]") {
  auto report = op::run_suite("trace-path", {.cases = 10, .seed = 1, .laws = {"left-identity"}});
  REQUIRE(report);
  REQUIRE(report->results.size() == 1);
  CHECK(report->results[0].law == "left-identity");
  CHECK(report->results[0].cases == 10);
}
