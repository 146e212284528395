#include "witness/operad/suites.hpp"

#include <array>
#include <cstdint>

namespace witness::operad {
namespace {

// --- Values -------------------------------------------------------------------------------

std::string plain(const Value& v) { return v.is_text() ? v.as_text() : v.to_string(); }

std::string show_values(const std::vector<Value>& values) {
  std::string out = "[";
  for (std::size_t k = 0; k < values.size(); ++k) {
    out += (k == 0 ? "" : ", ") + values[k].to_string();
  }
  return out + "]";
}

std::vector<Value> all_leaves(const std::vector<Value>& values) {
  std::vector<Value> out;
  for (const auto& v : values) {
    auto leaves = v.leaves();
    out.insert(out.end(), leaves.begin(), leaves.end());
  }
  return out;
}

std::string types_string(const std::vector<Type>& types) {
  std::string out = "(";
  for (std::size_t k = 0; k < types.size(); ++k) out += (k == 0 ? "" : ", ") + types[k].to_string();
  return out + ")";
}

// --- Pipelines ----------------------------------------------------------------------------

// c0 + sum ck * x_k, where a text input counts as its length.
Pipeline linear(std::vector<Type> inputs, std::vector<std::int64_t> coefficients) {
  std::string name = "lin[" + std::to_string(coefficients[0]);
  for (std::size_t k = 1; k < coefficients.size(); ++k) {
    name += "," + std::to_string(coefficients[k]);
  }
  name += "]";
  auto made = Pipeline::make(
      std::move(name), std::move(inputs), Type::integer(),
      [coefficients](std::span<const Value> xs) -> Result<Value> {
        std::int64_t sum = coefficients[0];
        for (std::size_t k = 0; k < xs.size(); ++k) {
          const std::int64_t x =
              xs[k].is_int() ? xs[k].as_int() : static_cast<std::int64_t>(xs[k].as_text().size());
          sum += coefficients[k + 1] * x;
        }
        return Value(sum);
      });
  return std::move(made).value();
}

// prefix + the inputs joined by sep.
Pipeline join(std::vector<Type> inputs, const std::string& prefix, const std::string& sep) {
  std::string name = "join[" + prefix + "|" + sep + "]";
  auto made = Pipeline::make(std::move(name), std::move(inputs), Type::text(),
                             [prefix, sep](std::span<const Value> xs) -> Result<Value> {
                               std::string out = prefix;
                               for (std::size_t k = 0; k < xs.size(); ++k) {
                                 if (k > 0) out += sep;
                                 out += plain(xs[k]);
                               }
                               return Value(std::move(out));
                             });
  return std::move(made).value();
}

rc::Gen<Pipeline> primitive_pipeline(const Type& output) {
  return rc::gen::exec([output] {
    const auto n = *uniform_in_range<std::size_t>(0, 4);
    auto inputs = *rc::gen::container<std::vector<Type>>(n, scalar_type_gen());
    if (output == Type::integer()) {
      auto coefficients = *rc::gen::container<std::vector<std::int64_t>>(
          n + 1, rc::gen::inRange<std::int64_t>(-3, 4));
      return linear(std::move(inputs), std::move(coefficients));
    }
    auto prefix = *rc::gen::element<std::string>("", "p", "q:");
    auto sep = *rc::gen::element<std::string>("", ",", "+");
    return join(std::move(inputs), prefix, sep);
  });
}

rc::Gen<Pipeline> pipeline_gen(const Type& output) {
  return rc::gen::exec([output] {
    const auto choice = *uniform_in_range(0, 10);
    if (choice < 6) return *primitive_pipeline(output);
    if (choice < 7) return identity(Tag<Pipeline>{}, output);
    // A composite, so that the laws also see nested grafts.
    Pipeline f = *primitive_pipeline(output);
    if (arity(f) == 0) return f;
    const auto i = *uniform_in_range<std::size_t>(0, arity(f));
    const Pipeline g = *primitive_pipeline(f.inputs()[i]);
    return compose(f, i, g).value();
  });
}

std::string show_pipeline(const Pipeline& p) {
  return p.name() + " : " + types_string(p.inputs()) + " -> " + p.output().to_string();
}

// --- State machines and wiring terms -------------------------------------------------------

rc::Gen<Type> type_gen(int depth) {
  if (depth <= 0) return scalar_type_gen();
  return rc::gen::exec([depth] {
    if (*uniform_in_range(0, 3) > 0) return *scalar_type_gen();
    Type first = *type_gen(depth - 1);
    Type second = *type_gen(depth - 1);
    return Type::pair(std::move(first), std::move(second));
  });
}

std::int64_t digest(const Value& v) {
  if (v.is_int()) return v.as_int();
  if (v.is_text()) {
    const auto& t = v.as_text();
    return static_cast<std::int64_t>(t.size()) * 31 + (t.empty() ? 0 : t[0]);
  }
  return digest(v.first()) * 7 + digest(v.second());
}

Value build_output(const Type& type, std::int64_t s, std::int64_t h, std::int64_t c) {
  switch (type.kind()) {
    case Type::Kind::kInt:
      return Value(((s * c + h) % 5 + 5) % 5);
    case Type::Kind::kText:
      return Value("t" + std::to_string(((s + h * c) % 7 + 7) % 7));
    case Type::Kind::kPair:
      return Value::pair(build_output(type.first(), s, h, c),
                         build_output(type.second(), s + 1, h, c + 1));
  }
  return {};
}

// A stateful agent: the state is a counter mixed with each input's digest; the output depends
// on the state and the input, so that order and history matter.
StateMachine make_machine(const Signature& sig, std::int64_t a, std::int64_t b, std::int64_t c) {
  const std::string name = "m" + std::to_string(a) + std::to_string(b) + std::to_string(c);
  const Type out = sig.output;
  auto made = StateMachine::make(
      name, sig.input, sig.output, Value(std::int64_t{0}),
      [a, b, c, out](const Value& s, const Value& in) -> Result<std::pair<Value, Value>> {
        const std::int64_t h = digest(in);
        const std::int64_t next = ((s.as_int() * a + h + b) % 101 + 101) % 101;
        return std::pair{Value(next), build_output(out, next, h, c)};
      });
  return std::move(made).value();
}

rc::Gen<StateMachine> machine_gen(const Signature& sig) {
  return rc::gen::exec([sig] {
    const auto a = *uniform_in_range<std::int64_t>(1, 5);
    const auto b = *uniform_in_range<std::int64_t>(0, 5);
    const auto c = *uniform_in_range<std::int64_t>(1, 5);
    return make_machine(sig, a, b, c);
  });
}

rc::Gen<std::vector<Value>> input_sequence_gen(const Type& type) {
  return rc::gen::resize(8, rc::gen::container<std::vector<Value>>(value_gen(type)));
}

// Runs both machines on the same inputs; their outputs are compared leaf by leaf, which is
// equality up to the re-nesting isomorphism of pairs.
Observation observe_machines(const StateMachine& lhs, const StateMachine& rhs,
                             const std::vector<Value>& lhs_inputs,
                             const std::vector<Value>& rhs_inputs) {
  auto out_l = lhs.run(lhs_inputs);
  auto out_r = rhs.run(rhs_inputs);
  if (!out_l || !out_r) {
    return {false, out_l ? show_values(*out_l) : "error: " + out_l.error().message,
            out_r ? show_values(*out_r) : "error: " + out_r.error().message};
  }
  const bool equal = all_leaves(*out_l) == all_leaves(*out_r);
  return {equal, lhs.name() + " on " + show_values(lhs_inputs) + " gives " + show_values(*out_l),
          rhs.name() + " on " + show_values(rhs_inputs) + " gives " + show_values(*out_r)};
}

Observation observe_same_inputs(const StateMachine& lhs, const StateMachine& rhs) {
  if (!(lhs.input() == rhs.input())) {
    return {false, "input type " + lhs.input().to_string(),
            "input type " + rhs.input().to_string()};
  }
  const auto inputs = *input_sequence_gen(lhs.input());
  return observe_machines(lhs, rhs, inputs, inputs);
}

rc::Gen<AgentTerm> term_gen(const Signature& sig, int depth) {
  return rc::gen::exec([sig, depth]() -> AgentTerm {
    const int choice = *uniform_in_range(0, depth > 0 ? 9 : 2);
    switch (choice) {
      case 0:
        return AgentTerm::hole(sig);
      case 1:
        return AgentTerm::agent(*machine_gen(sig));
      case 2:
      case 3: {
        const Type middle = *type_gen(1);
        const AgentTerm a = *term_gen({sig.input, middle}, depth - 1);
        const AgentTerm b = *term_gen({middle, sig.output}, depth - 1);
        return AgentTerm::seq(a, b).value();
      }
      case 4:
        if (sig.input.kind() == Type::Kind::kPair && sig.output.kind() == Type::Kind::kPair) {
          const AgentTerm a = *term_gen({sig.input.first(), sig.output.first()}, depth - 1);
          const AgentTerm b = *term_gen({sig.input.second(), sig.output.second()}, depth - 1);
          return AgentTerm::par(a, b);
        }
        return AgentTerm::hole(sig);
      case 5: {
        const AgentTerm cond = *term_gen({sig.input, Type::integer()}, depth - 1);
        const AgentTerm then = *term_gen(sig, depth - 1);
        const AgentTerm otherwise = *term_gen(sig, depth - 1);
        return AgentTerm::branch(cond, then, otherwise).value();
      }
      case 6:
        if (sig.input == sig.output) {
          const AgentTerm body = *term_gen(sig, depth - 1);
          return AgentTerm::fix(body, *uniform_in_range(0U, 4U)).value();
        }
        return AgentTerm::agent(*machine_gen(sig));
      default: {
        const Type state = *scalar_type_gen();
        const Value initial = *value_gen(state);
        const AgentTerm body =
            *term_gen({Type::pair(sig.input, state), Type::pair(sig.output, state)}, depth - 1);
        return AgentTerm::trace(body, initial).value();
      }
    }
  });
}

rc::Gen<Signature> signature_gen() {
  return rc::gen::exec([] { return Signature{*type_gen(1), *type_gen(1)}; });
}

Observation observe_terms(const AgentTerm& lhs, const AgentTerm& rhs) {
  if (!(lhs.holes() == rhs.holes()) || !(lhs.signature() == rhs.signature())) {
    return {false, lhs.to_string() + " : " + lhs.signature().to_string(),
            rhs.to_string() + " : " + rhs.signature().to_string()};
  }
  std::vector<StateMachine> machines;
  for (const auto& hole : lhs.holes()) machines.push_back(*machine_gen(hole));
  auto ml = evaluate_term(lhs, machines);
  auto mr = evaluate_term(rhs, machines);
  if (!ml || !mr) {
    return {false, ml ? ml->name() : "error: " + ml.error().message,
            mr ? mr->name() : "error: " + mr.error().message};
  }
  return observe_same_inputs(*ml, *mr);
}

// --- Walks and allowances ------------------------------------------------------------------

rc::Gen<std::string> vertex_gen() {
  return rc::gen::element<std::string>("n0", "n1", "n2", "n3", "n4", "n5");
}

std::string show_meet(const MeetOperation<Allowance>& f) {
  return "meet[" + f.constraint.to_string() + "]/" + std::to_string(f.inputs);
}

template <typename T>
std::vector<T> concat(std::vector<T> a, std::vector<T> b) {
  a.insert(a.end(), std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()));
  return a;
}

LawOptions with_replay(LawOptions options, std::string_view suite) {
  if (options.replay_command.empty()) {
    options.replay_command = "witness laws --suite " + std::string(suite);
  }
  return options;
}

}  // namespace

rc::Gen<Type> scalar_type_gen() { return rc::gen::element(Type::integer(), Type::text()); }

rc::Gen<Value> value_gen(const Type& type) {
  switch (type.kind()) {
    case Type::Kind::kInt:
      return rc::gen::map(rc::gen::inRange<std::int64_t>(-50, 51),
                          [](std::int64_t i) { return Value(i); });
    case Type::Kind::kText:
      return rc::gen::map(
          rc::gen::resize(6, rc::gen::container<std::string>(uniform_in_range('a', 'e'))),
          [](std::string s) { return Value(std::move(s)); });
    case Type::Kind::kPair:
      return rc::gen::exec([type] {
        Value first = *value_gen(type.first());
        Value second = *value_gen(type.second());
        return Value::pair(std::move(first), std::move(second));
      });
  }
  return rc::gen::just(Value());
}

Generators<Pipeline> pipeline_generators() {
  return {
      .color = scalar_type_gen(),
      .operation = pipeline_gen,
      .observe = [](const Pipeline& lhs, const Pipeline& rhs) -> Observation {
        if (!(lhs.inputs() == rhs.inputs()) || !(lhs.output() == rhs.output())) {
          return {false, show_pipeline(lhs), show_pipeline(rhs)};
        }
        std::vector<Value> xs;
        for (const auto& t : lhs.inputs()) xs.push_back(*value_gen(t));
        auto l = lhs(xs);
        auto r = rhs(xs);
        const std::string args = show_values(xs);
        return {l && r && *l == *r,
                lhs.name() + args + " = " + (l ? l->to_string() : "error: " + l.error().message),
                rhs.name() + args + " = " + (r ? r->to_string() : "error: " + r.error().message)};
      },
      .show = show_pipeline,
  };
}

AlgebraGenerators<PipelineAlgebra, Pipeline> pipeline_algebra_generators() {
  return {.algebra = {},
          .value = value_gen,
          .observe = [](const Value& a,
                        const Value& b) { return observe_equal(a.to_string(), b.to_string()); },
          .show = [](const Value& v) { return v.to_string(); }};
}

Generators<AgentTerm> agent_generators() {
  return {
      .color = signature_gen(),
      .operation = [](const Signature& sig) { return term_gen(sig, 2); },
      .observe = observe_terms,
      .show = [](const AgentTerm& t) { return t.to_string() + " : " + t.signature().to_string(); }};
}

AlgebraGenerators<AgentAlgebra, AgentTerm> agent_algebra_generators() {
  return {.algebra = {},
          .value = machine_gen,
          .observe = observe_same_inputs,
          .show = [](const StateMachine& m) {
            return m.name() + " : " + m.input().to_string() + " -> " + m.output().to_string();
          }};
}

std::vector<Law> agent_combinator_laws() {
  std::vector<Law> laws;
  laws.push_back({"seq-associativity", "seq(seq(a, b), c) = seq(a, seq(b, c))", [] {
                    const Type t0 = *type_gen(1);
                    const Type t1 = *type_gen(1);
                    const Type t2 = *type_gen(1);
                    const Type t3 = *type_gen(1);
                    const auto a = *machine_gen({t0, t1});
                    const auto b = *machine_gen({t1, t2});
                    const auto c = *machine_gen({t2, t3});
                    const auto lhs = seq(seq(a, b).value(), c).value();
                    const auto rhs = seq(a, seq(b, c).value()).value();
                    detail::expect_same("seq(seq(a, b), c) = seq(a, seq(b, c))",
                                        {{"a", a.name()}, {"b", b.name()}, {"c", c.name()}},
                                        observe_same_inputs(lhs, rhs));
                  }});
  laws.push_back(
      {"seq-unit", "seq(id, a) = a = seq(a, id)", [] {
         const Signature sig = *signature_gen();
         const auto a = *machine_gen(sig);
         const auto left = seq(identity_machine(sig.input), a).value();
         const auto right = seq(a, identity_machine(sig.output)).value();
         detail::expect_same("seq(id, a) = a", {{"a", a.name()}}, observe_same_inputs(left, a));
         detail::expect_same("seq(a, id) = a", {{"a", a.name()}}, observe_same_inputs(right, a));
       }});
  laws.push_back(
      {"par-associativity", "par(par(a, b), c) = par(a, par(b, c)) up to re-nesting of pairs", [] {
         const auto a = *machine_gen(*signature_gen());
         const auto b = *machine_gen(*signature_gen());
         const auto c = *machine_gen(*signature_gen());
         const auto lhs = par(par(a, b), c);
         const auto rhs = par(a, par(b, c));
         // The canonical isomorphism ((x, y), z) -> (x, (y, z)) carries lhs's inputs to rhs's.
         const auto inputs = *input_sequence_gen(lhs.input());
         std::vector<Value> renested;
         renested.reserve(inputs.size());
         for (const auto& v : inputs) renested.push_back(renest(v.leaves(), rhs.input()));
         detail::expect_same("par(par(a, b), c) = par(a, par(b, c)) up to re-nesting",
                             {{"a", a.name()}, {"b", b.name()}, {"c", c.name()}},
                             observe_machines(lhs, rhs, inputs, renested));
       }});
  laws.push_back({"fix-zero", "fix(a, 0) = id", [] {
                    const Type t = *type_gen(1);
                    const auto a = *machine_gen({t, t});
                    detail::expect_same(
                        "fix(a, 0) = id", {{"a", a.name()}},
                        observe_same_inputs(fix(a, 0).value(), identity_machine(t)));
                  }});
  return laws;
}

Generators<TracePath> trace_path_generators() {
  return {.color = vertex_gen(),
          .operation =
              [](const std::string& tail) {
                return rc::gen::exec([tail] {
                  auto vertices = *rc::gen::resize(
                      4, rc::gen::container<std::vector<std::string>>(vertex_gen()));
                  vertices.push_back(tail);
                  return TracePath{std::move(vertices)};
                });
              },
          .observe = [](const TracePath& a,
                        const TracePath& b) { return observe_equal(a.to_string(), b.to_string()); },
          .show = [](const TracePath& w) { return w.to_string(); }};
}

rc::Gen<Allowance> allowance_gen() {
  return rc::gen::exec([] {
    static const std::array<std::string, 5> kCapabilities = {"admin", "append", "query", "read",
                                                             "write"};
    static const std::array<std::string, 3> kResources = {"bytes", "calls", "nodes"};
    Allowance a;
    if (*uniform_in_range(0, 4) > 0) {
      a.capabilities.emplace();
      for (const auto& c : kCapabilities) {
        if (*rc::gen::arbitrary<bool>()) a.capabilities->insert(c);
      }
    }
    for (const auto& r : kResources) {
      if (*rc::gen::arbitrary<bool>()) a.budgets[r] = *rc::gen::inRange<std::uint64_t>(0, 100);
    }
    return a;
  });
}

Generators<MeetOperation<Allowance>> meet_generators() {
  return {.color = std::nullopt,
          .operation =
              [](Uncolored /*color*/) {
                return rc::gen::exec([] {
                  return MeetOperation<Allowance>{*allowance_gen(),
                                                  *uniform_in_range<std::size_t>(0, 4)};
                });
              },
          .observe =
              [](const MeetOperation<Allowance>& a, const MeetOperation<Allowance>& b) {
                return observe_equal(show_meet(a), show_meet(b));
              },
          .show = show_meet};
}

AlgebraGenerators<MeetAlgebra<Allowance>, MeetOperation<Allowance>> meet_algebra_generators() {
  return {.algebra = {},
          .value = [](Uncolored /*color*/) { return allowance_gen(); },
          .observe = [](const Allowance& a,
                        const Allowance& b) { return observe_equal(a.to_string(), b.to_string()); },
          .show = [](const Allowance& a) { return a.to_string(); }};
}

std::vector<SuiteInfo> shipped_suites() {
  std::vector<SuiteInfo> suites;
  suites.push_back({"pipeline", "typed agent pipelines (A1..An) -> B, grafting composition",
                    concat(operad_laws(pipeline_generators()),
                           algebra_laws(pipeline_generators(), pipeline_algebra_generators()))});
  suites.push_back({"agent",
                    "the universal agent operad: seq, par, branch, fix, trace over state machines "
                    "(observational "
                    "equality, outputs up to re-nesting of pairs)",
                    concat(concat(operad_laws(agent_generators()),
                                  algebra_laws(agent_generators(), agent_algebra_generators())),
                           agent_combinator_laws())});
  suites.push_back(
      {"covenant-meet", "covenant composition: meet of allowances is a bounded semilattice",
       concat(concat(operad_laws(meet_generators()),
                     algebra_laws(meet_generators(), meet_algebra_generators())),
              semilattice_laws<Allowance>(allowance_gen(),
                                          [](const Allowance& a) { return a.to_string(); }))});
  // Trace paths are unary, so parallel associativity (two inputs of one operation) is vacuous.
  auto path_laws = operad_laws(trace_path_generators());
  std::erase_if(path_laws, [](const Law& l) { return l.name == "parallel-associativity"; });
  suites.push_back({"trace-path",
                    "composition of trace paths: a path's tail grafted onto another's head "
                    "(unary, so no parallel associativity)",
                    std::move(path_laws)});
  return suites;
}

Result<LawReport> run_suite(std::string_view name, const LawOptions& options) {
  std::string known;
  for (auto& suite : shipped_suites()) {
    if (suite.name == name) return run_laws(suite.name, suite.laws, with_replay(options, name));
    known += (known.empty() ? "" : ", ") + suite.name;
  }
  return not_found("no law suite " + std::string(name) + " (suites: " + known + ")");
}

}  // namespace witness::operad
