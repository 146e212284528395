// The law engine (SPEC 4.3, 4.4): checks an operad's laws as RapidCheck properties over
// generated operations and inputs, with seeds the runner owns so that every failure replays.
//
// Bring your own operad type O (operad_concepts.hpp) and generators:
//
//   witness::operad::Generators<Poly> gens{
//       .operation = [](Uncolored) { return gen_poly(); },          // rc::Gen<Poly>
//       .observe = [](const Poly& a, const Poly& b) { return observe_equal(show(a), show(b)); },
//   };
//   auto report = witness::operad::check_laws(gens, {.cases = 200, .seed = 42});
//   for (const auto& r : report->results) std::cout << format_result(r);
//
// Each law is one property: left identity, right identity, sequential associativity, parallel
// associativity, equivariance (for symmetric operads) and, given an algebra, unit and
// homomorphism (evaluation respects composition). A failure carries the law's equation, the
// shrunk counterexample with both sides' values, and a replay line; running again with the
// same seed, cases and size reproduces it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <rapidcheck.h>

#include "witness/base/result.hpp"
#include "witness/operad/operad_concepts.hpp"
#include "witness/operad/semilattice.hpp"

namespace witness::operad {

// How two sides of an equation compared: equal or not, and what each side showed (a value,
// an output sequence, a printed operation).
struct Observation {
  bool equal = true;
  std::string lhs;
  std::string rhs;
};

// Compares two renderings: equal when the strings are.
[[nodiscard]] inline Observation observe_equal(std::string lhs, std::string rhs) {
  const bool equal = lhs == rhs;
  return {equal, std::move(lhs), std::move(rhs)};
}

// A law: a name ("sequential-associativity"), its equation, and the property that checks it
// (a RapidCheck property body: draws with `*gen`, fails with RC_ASSERT / RC_FAIL).
struct Law {
  std::string name;
  std::string equation;
  std::function<void()> property;
  bool needs_algebra = false;  // checks an algebra: replaying it needs AlgebraGenerators too
};

enum class Verdict : std::uint8_t {
  kPassed,
  kFailed,
  kGaveUp,  // too many generated cases were discarded (RC_PRE) to reach the case count
};
// "passed", "failed", "gave-up".
[[nodiscard]] std::string_view verdict_name(Verdict verdict);

// The outcome of one law.
struct LawResult {
  std::string law;
  std::string equation;
  Verdict verdict = Verdict::kPassed;
  int cases = 0;  // cases that passed: all of them, or those before the failing case
  std::uint64_t seed = 0;
  int max_size = 0;
  std::string failure;  // failed: the equation with both sides' values; gave up: why
  // Failed: the shrunk counterexample as (name, value), e.g. ("f", "sum[-5;]"), ("i", "0"):
  // the law's own variables, rendered with the generators' `show`.
  std::vector<std::pair<std::string, std::string>> counterexample;
  std::string replay;  // failed: the command (or C++ call) that reproduces the failure
};

// The outcome of a suite of laws.
struct LawReport {
  std::string suite;
  std::vector<LawResult> results;
  [[nodiscard]] bool passed() const;
};

// How to run laws. The same seed, cases and max_size reproduce the same cases.
struct LawOptions {
  int cases = 100;                    // successful cases per law
  int max_size = 100;                 // RapidCheck's size bound for generated values
  std::optional<std::uint64_t> seed;  // absent: a fresh random seed, reported in each result
  std::vector<std::string> laws;      // run only these laws (empty: all)
  // The replay line's command, e.g. "witness laws --suite pipeline"; the runner appends
  // " --law L --seed N --cases C --max-size M". Empty: the line is the equivalent C++ call.
  std::string replay_command;
};

// Runs `laws` under `options`. Errors: kInvalidArgument when options.laws names a law that is
// not in `laws`, or cases/max_size are not positive.
[[nodiscard]] Result<LawReport> run_laws(std::string suite, const std::vector<Law>& laws,
                                         const LawOptions& options);

// A failed result as text: the law, which case failed, the equation, both sides, the
// counterexample and the replay line; a passed one as a single line.
[[nodiscard]] std::string format_result(const LawResult& result);

// What the law engine needs from a user's operad: where operations come from and when two
// are the same.
template <Operad O>
struct Generators {
  // Colours to start from; may be left empty for an uncoloured operad.
  std::optional<rc::Gen<Color<O>>> color;
  // Operations whose output has the given colour. Generate arities 0 to a few.
  std::function<rc::Gen<O>(const Color<O>&)> operation;
  // Whether two operations with the same arity and colours are the same: syntactically, or
  // observationally (draw inputs with `*gen`, apply both, compare outputs).
  std::function<Observation(const O&, const O&)> observe;
  // Renders an operation in failure reports and counterexamples; empty: RapidCheck's
  // rc::toString, which prints "<???>" for a type with no `showValue(const O&, std::ostream&)`.
  std::function<std::string(const O&)> show;
};

// What the law engine needs to check an algebra A of operad O.
template <typename A, Operad O>
struct AlgebraGenerators {
  using Value = typename A::Value;
  A algebra;
  std::function<rc::Gen<Value>(const Color<O>&)> value;  // values of the given colour
  std::function<Observation(const Value&, const Value&)> observe;
  std::function<std::string(const Value&)> show;  // empty: rc::toString
};

// A uniform integer in [min, max). RapidCheck's rc::gen::inRange scales its range with the
// test size, which starts near 0, so early cases would all pick `min`; use this for structural
// choices (arities, input indices) so that every case can exercise every shape.
template <typename T>
[[nodiscard]] rc::Gen<T> uniform_in_range(T min, T max) {
  return rc::gen::resize(100, rc::gen::inRange<T>(min, max));
}

namespace detail {

template <typename T>
std::string show_with(const std::function<std::string(const T&)>& show, const T& value) {
  return show ? show(value) : rc::toString(value);
}

// Unwraps a composition the law needs; a rejected well-typed composition fails the case.
template <typename T>
T expect_ok(Result<T> result, const std::string& what) {
  if (!result) RC_FAIL(what + " failed: " + result.error().message);
  return std::move(result).value();
}

// A case's named values: ("f", rendering), ("i", "0"), ...
using Bindings = std::vector<std::pair<std::string, std::string>>;
// The failure message carries the bindings after the text, each as kBindingMark name
// kBindingSeparator value (ASCII record and unit separators), for the runner to report them as
// the counterexample; it strips them from the text.
inline constexpr char kBindingMark = '\x1e';
inline constexpr char kBindingSeparator = '\x1f';

// Fails the case when the two sides differ, with the equation, the bindings and both sides.
inline void expect_same(const std::string& equation, const Bindings& bindings,
                        const Observation& obs) {
  if (!obs.equal) {
    std::string where;
    std::string records;
    for (const auto& [name, value] : bindings) {
      where += (where.empty() ? "" : ", ") + name + " = " + value;
      records += kBindingMark + name + kBindingSeparator + value;
    }
    RC_FAIL(equation + "\n  where " + where + "\n  lhs = " + obs.lhs + "\n  rhs = " + obs.rhs +
            records);
  }
}

template <Operad O>
rc::Gen<Color<O>> color_gen(const Generators<O>& gens) {
  if constexpr (std::same_as<Color<O>, Uncolored>) {
    if (!gens.color) return rc::gen::just(Uncolored{});
  }
  WITNESS_CHECK(gens.color.has_value());  // REQUIRES of operad_laws; check_laws returns an error
  return *gens.color;
}

// A uniformly drawn permutation of [0, n): the order that sorts n random keys.
inline rc::Gen<Permutation> permutation_gen(std::size_t n) {
  return rc::gen::map(
      rc::gen::container<std::vector<std::uint32_t>>(n, rc::gen::arbitrary<std::uint32_t>()),
      [](const std::vector<std::uint32_t>& keys) {
        Permutation p(keys.size());
        for (std::size_t k = 0; k < p.size(); ++k) p[k] = k;
        std::stable_sort(p.begin(), p.end(),
                         [&keys](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
        return p;
      });
}

std::string permutation_string(const Permutation& p);

}  // namespace detail

// The operad laws of O as properties (SPEC 4.3): left and right identity, sequential and
// parallel associativity, and equivariance when O is a SymmetricOperad.
// REQUIRES: gens.operation and gens.observe are set, and gens.color for a coloured operad.
template <Operad O>
[[nodiscard]] std::vector<Law> operad_laws(const Generators<O>& gens) {
  using detail::expect_ok;
  using detail::expect_same;
  auto show = [gens](const O& f) { return detail::show_with(gens.show, f); };
  const auto colors = detail::color_gen(gens);
  std::vector<Law> laws;
  laws.push_back({"left-identity", "id o_0 f = f", [gens, show, colors] {
                    const auto c = *colors;
                    const O f = *gens.operation(c);
                    const O lhs = expect_ok(compose(identity(Tag<O>{}, c), 0, f), "id o_0 f");
                    expect_same("id o_0 f = f", {{"f", show(f)}}, gens.observe(lhs, f));
                  }});
  laws.push_back({"right-identity", "f o_i id = f", [gens, show, colors] {
                    const O f = *gens.operation(*colors);
                    RC_PRE(arity(f) > 0);
                    const auto i = *uniform_in_range<std::size_t>(0, arity(f));
                    const O lhs = expect_ok(compose(f, i, identity(Tag<O>{}, input_color_of(f, i))),
                                            "f o_i id");
                    expect_same("f o_i id = f", {{"f", show(f)}, {"i", std::to_string(i)}},
                                gens.observe(lhs, f));
                  }});
  laws.push_back(
      {"sequential-associativity", "(f o_i g) o_{i+j} h = f o_i (g o_j h)", [gens, show, colors] {
         const O f = *gens.operation(*colors);
         RC_PRE(arity(f) > 0);
         const auto i = *uniform_in_range<std::size_t>(0, arity(f));
         const O g = *gens.operation(input_color_of(f, i));
         RC_PRE(arity(g) > 0);
         const auto j = *uniform_in_range<std::size_t>(0, arity(g));
         const O h = *gens.operation(input_color_of(g, j));
         const O lhs = expect_ok(compose(expect_ok(compose(f, i, g), "f o_i g"), i + j, h),
                                 "(f o_i g) o_{i+j} h");
         const O rhs =
             expect_ok(compose(f, i, expect_ok(compose(g, j, h), "g o_j h")), "f o_i (g o_j h)");
         expect_same("(f o_i g) o_{i+j} h = f o_i (g o_j h)",
                     {{"f", show(f)},
                      {"g", show(g)},
                      {"h", show(h)},
                      {"i", std::to_string(i)},
                      {"j", std::to_string(j)}},
                     gens.observe(lhs, rhs));
       }});
  laws.push_back(
      {"parallel-associativity", "(f o_i g) o_{j+m-1} h = (f o_j h) o_i g for i < j, m = |g|",
       [gens, show, colors] {
         const O f = *gens.operation(*colors);
         RC_PRE(arity(f) > 1);
         const auto j = *uniform_in_range<std::size_t>(1, arity(f));
         const auto i = *uniform_in_range<std::size_t>(0, j);
         const O g = *gens.operation(input_color_of(f, i));
         const O h = *gens.operation(input_color_of(f, j));
         const std::size_t m = arity(g);
         const O lhs = expect_ok(compose(expect_ok(compose(f, i, g), "f o_i g"), j + m - 1, h),
                                 "(f o_i g) o_{j+m-1} h");
         const O rhs =
             expect_ok(compose(expect_ok(compose(f, j, h), "f o_j h"), i, g), "(f o_j h) o_i g");
         expect_same("(f o_i g) o_{j+m-1} h = (f o_j h) o_i g",
                     {{"f", show(f)},
                      {"g", show(g)},
                      {"h", show(h)},
                      {"i", std::to_string(i)},
                      {"j", std::to_string(j)}},
                     gens.observe(lhs, rhs));
       }});
  if constexpr (SymmetricOperad<O>) {
    laws.push_back(
        {"equivariance", "(f.s) o_i g = (f o_k g).s' where k = s^-1(i), s' the block permutation",
         [gens, show, colors] {
           const O f = *gens.operation(*colors);
           RC_PRE(arity(f) > 0);
           const Permutation sigma = *detail::permutation_gen(arity(f));
           const auto i = *uniform_in_range<std::size_t>(0, arity(f));
           const O fs = expect_ok(permute(f, sigma), "f.s");
           const O g = *gens.operation(input_color_of(fs, i));
           const O lhs = expect_ok(compose(fs, i, g), "(f.s) o_i g");
           const std::size_t k = inverse(sigma)[i];
           const Permutation block = block_permutation(sigma, i, arity(g));
           const O rhs =
               expect_ok(permute(expect_ok(compose(f, k, g), "f o_k g"), block), "(f o_k g).s'");
           expect_same("(f.s) o_i g = (f o_k g).s'",
                       {{"f", show(f)},
                        {"s", detail::permutation_string(sigma)},
                        {"g", show(g)},
                        {"i", std::to_string(i)},
                        {"k", std::to_string(k)},
                        {"s'", detail::permutation_string(block)}},
                       gens.observe(lhs, rhs));
         }});
  }
  return laws;
}

// The algebra laws of A over O: evaluating the identity returns its input, and evaluation
// respects composition (a homomorphism from composition to function application).
template <Operad O, typename A>
requires OperadAlgebra<A, O>
[[nodiscard]] std::vector<Law> algebra_laws(const Generators<O>& gens,
                                            const AlgebraGenerators<A, O>& alg) {
  using detail::expect_ok;
  using detail::expect_same;
  using V = typename A::Value;
  auto show = [gens](const O& f) { return detail::show_with(gens.show, f); };
  auto show_value = [alg](const V& v) { return detail::show_with(alg.show, v); };
  const auto colors = detail::color_gen(gens);
  std::vector<Law> laws;
  laws.push_back({"algebra-unit", "eval(id, x) = x",
                  [alg, show_value, colors] {
                    const auto c = *colors;
                    const V x = *alg.value(c);
                    const std::vector<V> xs{x};
                    const V lhs = expect_ok(
                        evaluate(alg.algebra, identity(Tag<O>{}, c), std::span<const V>(xs)),
                        "eval(id, x)");
                    expect_same("eval(id, x) = x", {{"x", show_value(x)}}, alg.observe(lhs, x));
                  },
                  true});
  laws.push_back(
      {"algebra-homomorphism",
       "eval(f o_i g, xs) = eval(f, xs[..i] ++ [eval(g, xs[i..i+m])] ++ xs[i+m..])",
       [gens, alg, show, show_value, colors] {
         const O f = *gens.operation(*colors);
         RC_PRE(arity(f) > 0);
         const auto i = *uniform_in_range<std::size_t>(0, arity(f));
         const O g = *gens.operation(input_color_of(f, i));
         const O fg = expect_ok(compose(f, i, g), "f o_i g");
         const std::size_t m = arity(g);
         std::vector<V> xs;
         std::string shown;
         for (std::size_t k = 0; k < arity(fg); ++k) {
           xs.push_back(*alg.value(input_color_of(fg, k)));
           shown += (k == 0 ? "" : ", ") + show_value(xs.back());
         }
         const V lhs =
             expect_ok(evaluate(alg.algebra, fg, std::span<const V>(xs)), "eval(f o_i g, xs)");
         const std::span<const V> all(xs);
         const V inner =
             expect_ok(evaluate(alg.algebra, g, all.subspan(i, m)), "eval(g, xs[i..i+m])");
         std::vector<V> args(xs.begin(), xs.begin() + static_cast<long>(i));
         args.push_back(inner);
         args.insert(args.end(), xs.begin() + static_cast<long>(i + m), xs.end());
         const V rhs =
             expect_ok(evaluate(alg.algebra, f, std::span<const V>(args)), "eval(f, ...)");
         expect_same(
             "eval(f o_i g, xs) = eval(f, xs[..i] ++ [eval(g, xs[i..i+m])] ++ xs[i+m..])",
             {{"f", show(f)}, {"g", show(g)}, {"i", std::to_string(i)}, {"xs", "[" + shown + "]"}},
             alg.observe(lhs, rhs));
       },
       true});
  return laws;
}

// Checks the operad laws of O. Errors: kInvalidArgument when a coloured operad has no colour
// generator, operation or observe is empty, or as run_laws.
template <Operad O>
[[nodiscard]] Result<LawReport> check_laws(const Generators<O>& gens,
                                           const LawOptions& options = {},
                                           std::string suite = "operad") {
  if (!gens.operation || !gens.observe) {
    return invalid_argument("check_laws: the generators need `operation` and `observe`");
  }
  if (!std::same_as<Color<O>, Uncolored> && !gens.color) {
    return invalid_argument("check_laws: a coloured operad needs a `color` generator");
  }
  return run_laws(std::move(suite), operad_laws(gens), options);
}

// Checks the operad laws of O and the algebra laws of A.
template <Operad O, typename A>
requires OperadAlgebra<A, O>
[[nodiscard]] Result<LawReport> check_laws(const Generators<O>& gens,
                                           const AlgebraGenerators<A, O>& algebra,
                                           const LawOptions& options = {},
                                           std::string suite = "operad") {
  if (!gens.operation || !gens.observe || !algebra.value || !algebra.observe) {
    return invalid_argument(
        "check_laws: the generators need `operation`, `observe`, and the algebra's `value` and "
        "`observe`");
  }
  if (!std::same_as<Color<O>, Uncolored> && !gens.color) {
    return invalid_argument("check_laws: a coloured operad needs a `color` generator");
  }
  auto laws = operad_laws(gens);
  auto more = algebra_laws(gens, algebra);
  laws.insert(laws.end(), more.begin(), more.end());
  return run_laws(std::move(suite), laws, options);
}

// The bounded-semilattice laws of meet on L: associative, commutative, idempotent, and top is
// its identity.
template <BoundedMeetSemilattice L>
[[nodiscard]] std::vector<Law> semilattice_laws(rc::Gen<L> elements,
                                                std::function<std::string(const L&)> show = {}) {
  auto s = [show](const L& x) { return detail::show_with(show, x); };
  auto check = [s](const std::string& eq, const detail::Bindings& where, const L& lhs,
                   const L& rhs) {
    detail::expect_same(eq, where, Observation{lhs == rhs, s(lhs), s(rhs)});
  };
  std::vector<Law> laws;
  laws.push_back({"meet-associativity", "(a ^ b) ^ c = a ^ (b ^ c)", [elements, s, check] {
                    const L a = *elements;
                    const L b = *elements;
                    const L c = *elements;
                    check("(a ^ b) ^ c = a ^ (b ^ c)", {{"a", s(a)}, {"b", s(b)}, {"c", s(c)}},
                          meet(meet(a, b), c), meet(a, meet(b, c)));
                  }});
  laws.push_back({"meet-commutativity", "a ^ b = b ^ a", [elements, s, check] {
                    const L a = *elements;
                    const L b = *elements;
                    check("a ^ b = b ^ a", {{"a", s(a)}, {"b", s(b)}}, meet(a, b), meet(b, a));
                  }});
  laws.push_back({"meet-idempotence", "a ^ a = a", [elements, s, check] {
                    const L a = *elements;
                    check("a ^ a = a", {{"a", s(a)}}, meet(a, a), a);
                  }});
  laws.push_back({"meet-identity", "top ^ a = a = a ^ top", [elements, s, check] {
                    const L a = *elements;
                    const L t = top(Tag<L>{});
                    check("top ^ a = a", {{"a", s(a)}}, meet(t, a), a);
                    check("a ^ top = a", {{"a", s(a)}}, meet(a, t), a);
                  }});
  return laws;
}

}  // namespace witness::operad
