// State-machine agents and the combinators of the universal agent operad (SPEC 4.2b): an
// agent has an input type, an output type, an initial state and a transition
// (state, input) -> (state, output). seq, par, branch, fix and trace build bigger agents.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/operad/value.hpp"

namespace witness::operad {

// A typed state machine: input -> output with a hidden state.
// Thread safety: immutable; all methods may be called concurrently if the step allows it.
class StateMachine {
 public:
  // Returns (next state, output).
  using Step = std::function<Result<std::pair<Value, Value>>(const Value& state, const Value& in)>;

  // Errors: kInvalidArgument when `name` is empty or `step` is empty.
  [[nodiscard]] static Result<StateMachine> make(std::string name, Type input, Type output,
                                                 Value initial_state, Step step);

  [[nodiscard]] const std::string& name() const { return impl_->name; }
  [[nodiscard]] const Type& input() const { return impl_->input; }
  [[nodiscard]] const Type& output() const { return impl_->output; }
  [[nodiscard]] const Value& initial_state() const { return impl_->initial_state; }

  // One transition. REQUIRES: `in` has type input() (run() checks; combinators keep it).
  [[nodiscard]] Result<std::pair<Value, Value>> step(const Value& state, const Value& in) const {
    return impl_->step(state, in);
  }

  // Runs from the initial state over `inputs`, returning one output per input.
  // Errors: kInvalidArgument naming the first input not of type input(); the step's errors;
  // kInternal when a step returns an output not of type output().
  [[nodiscard]] Result<std::vector<Value>> run(std::span<const Value> inputs) const;

 private:
  struct Impl {
    std::string name;
    Type input;
    Type output;
    Value initial_state;
    Step step;
  };
  explicit StateMachine(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// The agent that outputs its input.
[[nodiscard]] StateMachine identity_machine(const Type& type);

// a then b: b consumes a's output. Errors: kInvalidArgument when a's output type is not b's
// input type.
[[nodiscard]] Result<StateMachine> seq(const StateMachine& a, const StateMachine& b);

// a and b side by side: (A, C) -> (B, D).
[[nodiscard]] StateMachine par(const StateMachine& a, const StateMachine& b);

// Routes each input by `cond` (A -> int): non-zero to `then`, zero to `otherwise` (both
// A -> B); only the chosen branch steps. Errors: kInvalidArgument on mismatched types.
[[nodiscard]] Result<StateMachine> branch(const StateMachine& cond, const StateMachine& then,
                                          const StateMachine& otherwise);

// Bounded fixed point of `a` (A -> A): per input, feeds a its own output until the output
// repeats its input or `bound` steps have run; outputs the last value. fix(a, 0) is the
// identity. Errors: kInvalidArgument when a's input and output types differ.
[[nodiscard]] Result<StateMachine> fix(const StateMachine& a, unsigned bound);

// Feedback: `a` is (A, S) -> (B, S); its S output is fed back as its S input on the next
// step, starting from `initial`. The result is A -> B. Errors: kInvalidArgument when a's
// types are not pairs with the same S, or `initial` is not of type S.
[[nodiscard]] Result<StateMachine> trace(const StateMachine& a, const Value& initial);

}  // namespace witness::operad
