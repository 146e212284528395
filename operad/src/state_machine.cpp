#include "witness/operad/state_machine.hpp"

namespace witness::operad {
namespace {

using StepResult = Result<std::pair<Value, Value>>;

Status expect_type(const Type& actual, const Type& expected, const std::string& what) {
  if (actual == expected) return ok_status();
  return invalid_argument(what + " has type " + actual.to_string() + ", expected " +
                          expected.to_string());
}

StateMachine build(std::string name, Type input, Type output, Value initial,
                   StateMachine::Step step) {
  auto m = StateMachine::make(std::move(name), std::move(input), std::move(output),
                              std::move(initial), std::move(step));
  WITNESS_CHECK(m.has_value());  // names and steps built here are never empty
  return std::move(m).value();
}

}  // namespace

Result<StateMachine> StateMachine::make(std::string name, Type input, Type output,
                                        Value initial_state, Step step) {
  if (name.empty()) return invalid_argument("state machine: empty name");
  if (!step) return invalid_argument("state machine " + name + ": no step function");
  return StateMachine(
      std::make_shared<const Impl>(Impl{std::move(name), std::move(input), std::move(output),
                                        std::move(initial_state), std::move(step)}));
}

Result<std::vector<Value>> StateMachine::run(std::span<const Value> inputs) const {
  std::vector<Value> outputs;
  outputs.reserve(inputs.size());
  Value state = initial_state();
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    WITNESS_RETURN_IF_ERROR(
        expect_type(inputs[k].type(), input(), name() + ": input " + std::to_string(k)));
    WITNESS_ASSIGN_OR_RETURN(auto next, step(state, inputs[k]));
    if (!(next.second.type() == output())) {
      return internal_error(name() + ": step " + std::to_string(k) + " output " +
                            next.second.to_string() + ", declared type " + output().to_string());
    }
    state = std::move(next.first);
    outputs.push_back(std::move(next.second));
  }
  return outputs;
}

StateMachine identity_machine(const Type& type) {
  return build("id", type, type, Value(), [](const Value& s, const Value& in) -> StepResult {
    return std::pair{s, in};
  });
}

Result<StateMachine> seq(const StateMachine& a, const StateMachine& b) {
  WITNESS_RETURN_IF_ERROR(
      expect_type(a.output(), b.input(), "seq(" + a.name() + ", " + b.name() + "): the output"));
  return build("seq(" + a.name() + ", " + b.name() + ")", a.input(), b.output(),
               Value::pair(a.initial_state(), b.initial_state()),
               [a, b](const Value& s, const Value& in) -> StepResult {
                 WITNESS_ASSIGN_OR_RETURN(auto ra, a.step(s.first(), in));
                 WITNESS_ASSIGN_OR_RETURN(auto rb, b.step(s.second(), ra.second));
                 return std::pair{Value::pair(std::move(ra.first), std::move(rb.first)),
                                  std::move(rb.second)};
               });
}

StateMachine par(const StateMachine& a, const StateMachine& b) {
  return build("par(" + a.name() + ", " + b.name() + ")", Type::pair(a.input(), b.input()),
               Type::pair(a.output(), b.output()),
               Value::pair(a.initial_state(), b.initial_state()),
               [a, b](const Value& s, const Value& in) -> StepResult {
                 WITNESS_ASSIGN_OR_RETURN(auto ra, a.step(s.first(), in.first()));
                 WITNESS_ASSIGN_OR_RETURN(auto rb, b.step(s.second(), in.second()));
                 return std::pair{Value::pair(std::move(ra.first), std::move(rb.first)),
                                  Value::pair(std::move(ra.second), std::move(rb.second))};
               });
}

Result<StateMachine> branch(const StateMachine& cond, const StateMachine& then,
                            const StateMachine& otherwise) {
  const std::string name =
      "branch(" + cond.name() + ", " + then.name() + ", " + otherwise.name() + ")";
  WITNESS_RETURN_IF_ERROR(expect_type(cond.output(), Type::integer(), name + ": the condition"));
  WITNESS_RETURN_IF_ERROR(expect_type(then.input(), cond.input(), name + ": the then input"));
  WITNESS_RETURN_IF_ERROR(
      expect_type(otherwise.input(), cond.input(), name + ": the otherwise input"));
  WITNESS_RETURN_IF_ERROR(
      expect_type(otherwise.output(), then.output(), name + ": the otherwise output"));
  return build(
      name, cond.input(), then.output(),
      Value::pair(cond.initial_state(),
                  Value::pair(then.initial_state(), otherwise.initial_state())),
      [cond, then, otherwise](const Value& s, const Value& in) -> StepResult {
        WITNESS_ASSIGN_OR_RETURN(auto rcond, cond.step(s.first(), in));
        const Value& branches = s.second();
        if (rcond.second.as_int() != 0) {
          WITNESS_ASSIGN_OR_RETURN(auto rt, then.step(branches.first(), in));
          return std::pair{Value::pair(std::move(rcond.first),
                                       Value::pair(std::move(rt.first), branches.second())),
                           std::move(rt.second)};
        }
        WITNESS_ASSIGN_OR_RETURN(auto re, otherwise.step(branches.second(), in));
        return std::pair{
            Value::pair(std::move(rcond.first), Value::pair(branches.first(), std::move(re.first))),
            std::move(re.second)};
      });
}

Result<StateMachine> fix(const StateMachine& a, unsigned bound) {
  const std::string name = "fix(" + a.name() + ", " + std::to_string(bound) + ")";
  WITNESS_RETURN_IF_ERROR(expect_type(a.output(), a.input(), name + ": the output"));
  return build(name, a.input(), a.output(), a.initial_state(),
               [a, bound](const Value& s, const Value& in) -> StepResult {
                 Value state = s;
                 Value current = in;
                 for (unsigned k = 0; k < bound; ++k) {
                   WITNESS_ASSIGN_OR_RETURN(auto r, a.step(state, current));
                   state = std::move(r.first);
                   if (r.second == current) break;
                   current = std::move(r.second);
                 }
                 return std::pair{std::move(state), std::move(current)};
               });
}

Result<StateMachine> trace(const StateMachine& a, const Value& initial) {
  const std::string name = "trace(" + a.name() + ", " + initial.to_string() + ")";
  if (a.input().kind() != Type::Kind::kPair || a.output().kind() != Type::Kind::kPair) {
    return invalid_argument(name + ": needs an agent (A, S) -> (B, S), got " +
                            a.input().to_string() + " -> " + a.output().to_string());
  }
  WITNESS_RETURN_IF_ERROR(
      expect_type(a.output().second(), a.input().second(), name + ": the fed-back output"));
  WITNESS_RETURN_IF_ERROR(
      expect_type(initial.type(), a.input().second(), name + ": the initial feedback"));
  return build(
      name, a.input().first(), a.output().first(), Value::pair(a.initial_state(), initial),
      [a](const Value& s, const Value& in) -> StepResult {
        WITNESS_ASSIGN_OR_RETURN(auto r, a.step(s.first(), Value::pair(in, s.second())));
        return std::pair{Value::pair(std::move(r.first), r.second.second()), r.second.first()};
      });
}

}  // namespace witness::operad
