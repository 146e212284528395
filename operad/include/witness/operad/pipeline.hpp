// Typed agent pipelines whose types are known at run time (SPEC 4.2a): an operation is an
// agent (A1, ..., An) -> B over witness::operad::Value; composition grafts one agent's output
// into another's input, after checking the types. Models SymmetricOperad, with the algebra
// PipelineAlgebra (evaluation on values).
//
//   auto len = Pipeline::make("len", {Type::text()}, Type::integer(), [](auto xs) {...});
//   auto add = Pipeline::make("add", {Type::integer(), Type::integer()}, Type::integer(), ...);
//   auto h = compose(*add, 1, *len);  // (int, text) -> int: x0 + len(x1)
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/operad/operad_concepts.hpp"
#include "witness/operad/value.hpp"

namespace witness::operad {

// An agent (inputs...) -> output, a pure function over typed values.
// Thread safety: immutable; all methods may be called concurrently if the function allows it.
class Pipeline {
 public:
  using Color = Type;
  // Computes the output from arity() inputs, already checked against inputs().
  using Function = std::function<Result<Value>(std::span<const Value>)>;

  // Errors: kInvalidArgument when `name` is empty or `fn` is empty.
  [[nodiscard]] static Result<Pipeline> make(std::string name, std::vector<Type> inputs,
                                             Type output, Function fn);

  // The expression this pipeline was built from, e.g. "(add o1 len)".
  [[nodiscard]] const std::string& name() const { return impl_->name; }
  [[nodiscard]] const std::vector<Type>& inputs() const { return impl_->inputs; }
  [[nodiscard]] const Type& output() const { return impl_->output; }

  // Applies the agent. Errors: kInvalidArgument naming the input whose count or type is wrong;
  // the function's own errors; kInternal if it returns a value not of type output().
  [[nodiscard]] Result<Value> operator()(std::span<const Value> inputs) const;

 private:
  struct Impl {
    std::string name;
    std::vector<Type> inputs;
    Type output;
    Function fn;
  };
  explicit Pipeline(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  // Applies the function without checking the inputs (composition has checked them).
  [[nodiscard]] Result<Value> apply_unchecked(std::span<const Value> inputs) const;
  std::shared_ptr<const Impl> impl_;

  friend Pipeline identity(Tag<Pipeline> /*tag*/, const Type& type);
  friend Result<Pipeline> compose(const Pipeline& f, std::size_t i, const Pipeline& g);
  friend Result<Pipeline> permute(const Pipeline& f, const Permutation& sigma);
};

[[nodiscard]] inline std::size_t arity(const Pipeline& f) { return f.inputs().size(); }
// REQUIRES: i < arity(f).
[[nodiscard]] const Type& input_color(const Pipeline& f, std::size_t i);
[[nodiscard]] inline const Type& output_color(const Pipeline& f) { return f.output(); }

// The agent that returns its one input of type `type`.
[[nodiscard]] Pipeline identity(Tag<Pipeline> /*tag*/, const Type& type);

// f o_i g: g's output feeds f's input i. Errors: kInvalidArgument when i >= arity(f) or g's
// output type is not f's input i type (the message names both types).
[[nodiscard]] Result<Pipeline> compose(const Pipeline& f, std::size_t i, const Pipeline& g);

// f . sigma, see Permutation. Errors: kInvalidArgument when sigma is not a permutation of
// f's inputs.
[[nodiscard]] Result<Pipeline> permute(const Pipeline& f, const Permutation& sigma);

// Evaluation of pipelines on values: the algebra in which composition is function grafting.
struct PipelineAlgebra {
  using Value = operad::Value;
};

// Applies f to `inputs`; errors as Pipeline::operator().
[[nodiscard]] inline Result<Value> evaluate(const PipelineAlgebra& /*algebra*/, const Pipeline& f,
                                            std::span<const Value> inputs) {
  return f(inputs);
}

}  // namespace witness::operad
