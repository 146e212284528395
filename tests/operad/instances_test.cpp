// The shipped operads (SPEC 4.2): their operations, their run-time errors, and that each
// shipped suite passes all its laws.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "witness/operad/agent_term.hpp"
#include "witness/operad/pipeline.hpp"
#include "witness/operad/semilattice.hpp"
#include "witness/operad/state_machine.hpp"
#include "witness/operad/suites.hpp"
#include "witness/operad/trace_path.hpp"

namespace op = witness::operad;
using op::Type;
using op::Value;

namespace {

op::Pipeline add() {
  return op::Pipeline::make("add", {Type::integer(), Type::integer()}, Type::integer(),
                            [](std::span<const Value> xs) -> witness::Result<Value> {
                              return Value(xs[0].as_int() + xs[1].as_int());
                            })
      .value();
}

op::Pipeline len() {
  return op::Pipeline::make("len", {Type::text()}, Type::integer(),
                            [](std::span<const Value> xs) -> witness::Result<Value> {
                              return Value(static_cast<std::int64_t>(xs[0].as_text().size()));
                            })
      .value();
}

op::Pipeline sub() {
  return op::Pipeline::make("sub", {Type::integer(), Type::integer()}, Type::integer(),
                            [](std::span<const Value> xs) -> witness::Result<Value> {
                              return Value(xs[0].as_int() - xs[1].as_int());
                            })
      .value();
}

// Counts its inputs: output = number of inputs seen so far, plus the input.
op::StateMachine counter() {
  return op::StateMachine::make(
             "counter", Type::integer(), Type::integer(), Value(std::int64_t{0}),
             [](const Value& s, const Value& in) -> witness::Result<std::pair<Value, Value>> {
               const auto n = s.as_int() + 1;
               return std::pair{Value(n), Value(n + in.as_int())};
             })
      .value();
}

// Halves its input (towards zero), stateless.
op::StateMachine halve() {
  return op::StateMachine::make(
             "halve", Type::integer(), Type::integer(), Value(),
             [](const Value& s, const Value& in) -> witness::Result<std::pair<Value, Value>> {
               return std::pair{s, Value(in.as_int() / 2)};
             })
      .value();
}

std::vector<Value> ints(std::initializer_list<std::int64_t> xs) {
  std::vector<Value> out;
  for (auto x : xs) out.emplace_back(x);
  return out;
}

void require_suite_passes(const std::string& name) {
  auto report = op::run_suite(name, {.cases = 100, .seed = 20261122});
  REQUIRE(report);
  for (const auto& r : report->results) {
    INFO(op::format_result(r));
    CHECK(r.verdict == op::Verdict::kPassed);
    CHECK(r.cases == 100);
  }
}

}  // namespace

TEST_CASE("pipelines graft by type and report misuse", "[operad][pipeline]") {
  const auto f = op::compose(add(), 1, len());
  REQUIRE(f);
  CHECK(f->inputs() == std::vector<Type>{Type::integer(), Type::text()});
  const std::vector<Value> xs{Value(std::int64_t{40}), Value(std::string("ab"))};
  CHECK((*f)(xs).value() == Value(std::int64_t{42}));
  CHECK(f->name() == "(add o1 len)");

  SECTION("an input index out of range") {
    auto bad = op::compose(add(), 2, len());
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == witness::ErrorCode::kInvalidArgument);
    CHECK_THAT(bad.error().message, Catch::Contains("out of range for arity 2"));
  }
  SECTION("a plugged output of the wrong type") {
    auto bad = op::compose(*f, 1, *f);  // int output into a text input
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error().message,
               Catch::Contains("plugs an output of type int into input 1 of type text"));
  }
  SECTION("applying to the wrong inputs") {
    CHECK_FALSE((*f)(ints({1, 2})));
    CHECK_THAT((*f)(ints({1, 2})).error().message,
               Catch::Contains("input 1 is 2, expected a value of type text"));
    CHECK_FALSE((*f)(ints({1})));
  }
  SECTION("permutation swaps inputs") {
    auto swapped = op::permute(sub(), {1, 0});
    REQUIRE(swapped);
    CHECK((*swapped)(ints({10, 3})).value() == Value(std::int64_t{-7}));
    CHECK_FALSE(op::permute(sub(), {0, 0}));
  }
  SECTION("identity and full composition") {
    const auto id = op::identity(op::Tag<op::Pipeline>{}, Type::text());
    CHECK(id(std::vector<Value>{Value(std::string("x"))}).value() == Value(std::string("x")));
    const std::vector<op::Pipeline> gs{len(), len()};
    auto full = op::compose_all(add(), std::span<const op::Pipeline>(gs));
    REQUIRE(full);
    const std::vector<Value> texts{Value(std::string("abc")), Value(std::string("de"))};
    CHECK((*full)(texts).value() == Value(std::int64_t{5}));
    CHECK_FALSE(op::compose_all(add(), std::span<const op::Pipeline>(gs).first(1)));
  }
  SECTION("bad construction") {
    CHECK_FALSE(op::Pipeline::make("", {}, Type::integer(), [](auto) { return Value(); }));
    CHECK_FALSE(op::Pipeline::make("f", {}, Type::integer(), nullptr));
  }
}

TEST_CASE("values and types print and re-nest", "[operad][value]") {
  const Value v = Value::pair(Value::pair(Value(std::int64_t{1}), Value(std::string("a"))),
                              Value(std::int64_t{2}));
  CHECK(v.to_string() == "((1, \"a\"), 2)");
  CHECK(v.type().to_string() == "((int, text), int)");
  const Type other = Type::pair(Type::integer(), Type::pair(Type::text(), Type::integer()));
  const Value renested = op::renest(v.leaves(), other);
  CHECK(renested.to_string() == "(1, (\"a\", 2))");
  CHECK(renested.leaves() == v.leaves());
  CHECK_FALSE(renested == v);
}

TEST_CASE("state-machine combinators", "[operad][agent]") {
  SECTION("run keeps state across inputs") {
    CHECK(counter().run(ints({10, 10, 10})).value() == ints({11, 12, 13}));
    CHECK_FALSE(counter().run(std::vector<Value>{Value(std::string("x"))}));
  }
  SECTION("seq feeds one into the next") {
    auto m = op::seq(counter(), halve());
    REQUIRE(m);
    CHECK(m->run(ints({1, 1, 1})).value() == ints({1, 1, 2}));
    auto bad = op::seq(counter(), op::identity_machine(Type::text()));
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error().message, Catch::Contains("has type int, expected text"));
  }
  SECTION("par runs side by side") {
    const auto m = op::par(counter(), halve());
    const std::vector<Value> in{Value::pair(Value(std::int64_t{0}), Value(std::int64_t{9}))};
    CHECK(m.run(in).value()[0].to_string() == "(1, 4)");
  }
  SECTION("branch steps only the chosen side") {
    auto m = op::branch(halve(), counter(), op::identity_machine(Type::integer()));
    REQUIRE(m);
    // halve(1) = 0 -> identity; halve(4) = 2 -> counter (its first step); then counter again.
    CHECK(m->run(ints({1, 4, 4})).value() == ints({1, 5, 6}));
    CHECK_FALSE(op::branch(op::identity_machine(Type::text()), counter(), counter()));
  }
  SECTION("fix iterates to a fixed point within the bound") {
    CHECK(op::fix(halve(), 10).value().run(ints({40})).value() == ints({0}));
    CHECK(op::fix(halve(), 2).value().run(ints({40})).value() == ints({10}));
    CHECK(op::fix(halve(), 0).value().run(ints({40})).value() == ints({40}));
    CHECK_FALSE(op::fix(op::seq(counter(), op::identity_machine(Type::integer())).value(), 1)
                    .value()
                    .run(std::vector<Value>{Value(std::string("x"))}));
  }
  SECTION("trace feeds the second output back") {
    // (x, acc) -> (x + acc, x + acc): a running sum.
    auto sum = op::StateMachine::make(
        "sum", Type::pair(Type::integer(), Type::integer()),
        Type::pair(Type::integer(), Type::integer()), Value(),
        [](const Value& s, const Value& in) -> witness::Result<std::pair<Value, Value>> {
          const Value total(in.first().as_int() + in.second().as_int());
          return std::pair{s, Value::pair(total, total)};
        });
    REQUIRE(sum);
    auto m = op::trace(*sum, Value(std::int64_t{100}));
    REQUIRE(m);
    CHECK(m->run(ints({1, 2, 3})).value() == ints({101, 103, 106}));
    CHECK_FALSE(op::trace(*sum, Value(std::string("x"))));
    CHECK_FALSE(op::trace(counter(), Value()));
  }
}

TEST_CASE("wiring terms substitute, renumber and evaluate", "[operad][agent]") {
  const op::Signature int_int{Type::integer(), Type::integer()};
  const auto s = op::AgentTerm::seq(op::AgentTerm::hole(int_int), op::AgentTerm::hole(int_int));
  REQUIRE(s);
  CHECK(s->to_string() == "seq(#0, #1)");
  CHECK(op::arity(*s) == 2);
  const auto plugged = op::compose(*s, 1, *s);
  REQUIRE(plugged);
  CHECK(plugged->to_string() == "seq(#0, seq(#1, #2))");
  const auto swapped = op::permute(*s, {1, 0});
  REQUIRE(swapped);
  CHECK(swapped->to_string() == "seq(#1, #0)");
  const std::vector<op::StateMachine> machines{counter(), halve()};
  CHECK(op::evaluate_term(*s, machines)->run(ints({1, 1, 1})).value() == ints({1, 1, 2}));
  CHECK(op::evaluate_term(*swapped, machines)->run(ints({4, 4})).value() == ints({3, 4}));

  const op::Signature text_int{Type::text(), Type::integer()};
  auto bad = op::compose(*s, 0, op::AgentTerm::hole(text_int));
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("hole 0 is int -> int"));
  CHECK_FALSE(op::compose(*s, 2, *s));
  CHECK_FALSE(op::evaluate_term(*s, std::vector<op::StateMachine>{counter()}));
  CHECK_FALSE(op::AgentTerm::seq(op::AgentTerm::hole(int_int), op::AgentTerm::hole(text_int)));
  CHECK_FALSE(op::AgentTerm::fix(op::AgentTerm::hole(text_int), 1));
}

TEST_CASE("walks graft tail onto head", "[operad][walk]") {
  const op::TracePath f{{"b", "c", "d"}};
  const op::TracePath g{{"a", "b"}};
  CHECK(op::compose(f, 0, g)->to_string() == "a -> b -> c -> d");
  CHECK_FALSE(op::compose(g, 0, f));
  CHECK_FALSE(op::compose(f, 1, g));
  CHECK_FALSE(op::make_trace_path({}));
  CHECK(op::compose(f, 0, op::identity(op::Tag<op::TracePath>{}, "b")).value() == f);
}

TEST_CASE("allowances meet by intersection and minimum", "[operad][semilattice]") {
  const op::Allowance a{.capabilities = std::set<std::string>{"read", "write"},
                        .budgets = {{"nodes", 10}}};
  const op::Allowance b{.capabilities = std::set<std::string>{"read"},
                        .budgets = {{"nodes", 20}, {"bytes", 5}}};
  const op::Allowance m = op::meet(a, b);
  CHECK(m.to_string() == "{caps: [read], budgets: {bytes: 5, nodes: 10}}");
  CHECK(op::meet(op::top(op::Tag<op::Allowance>{}), a) == a);
  const op::MeetOperation<op::Allowance> f{a, 2};
  const std::vector<op::Allowance> xs{b, b};
  CHECK(op::evaluate(op::MeetAlgebra<op::Allowance>{}, f, std::span<const op::Allowance>(xs))
            .value() == m);
  CHECK_FALSE(op::compose(f, 2, f));
}

TEST_CASE("the shipped suites pass all their laws", "[operad][suites]") {
  for (const auto& suite : op::shipped_suites()) {
    DYNAMIC_SECTION(suite.name) { require_suite_passes(suite.name); }
  }
  auto unknown = op::run_suite("nope", {});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == witness::ErrorCode::kNotFound);
  CHECK_THAT(unknown.error().message, Catch::Contains("pipeline"));
}
