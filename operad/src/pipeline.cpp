#include "witness/operad/pipeline.hpp"

#include <utility>

namespace witness::operad {

Result<Pipeline> Pipeline::make(std::string name, std::vector<Type> inputs, Type output,
                                Function fn) {
  if (name.empty()) return invalid_argument("pipeline: empty name");
  if (!fn) return invalid_argument("pipeline " + name + ": no function");
  return Pipeline(std::make_shared<const Impl>(
      Impl{std::move(name), std::move(inputs), std::move(output), std::move(fn)}));
}

Result<Value> Pipeline::operator()(std::span<const Value> inputs) const {
  if (inputs.size() != arity(*this)) {
    return invalid_argument(name() + ": " + std::to_string(inputs.size()) + " inputs for arity " +
                            std::to_string(arity(*this)));
  }
  for (std::size_t k = 0; k < inputs.size(); ++k) {
    if (!(inputs[k].type() == impl_->inputs[k])) {
      return invalid_argument(name() + ": input " + std::to_string(k) + " is " +
                              inputs[k].to_string() + ", expected a value of type " +
                              impl_->inputs[k].to_string());
    }
  }
  auto out = apply_unchecked(inputs);
  if (out && !(out->type() == output())) {
    return internal_error(name() + ": returned " + out->to_string() + ", declared type " +
                          output().to_string());
  }
  return out;
}

Result<Value> Pipeline::apply_unchecked(std::span<const Value> inputs) const {
  return impl_->fn(inputs);
}

const Type& input_color(const Pipeline& f, std::size_t i) {
  WITNESS_CHECK(i < arity(f));
  return f.inputs()[i];
}

Pipeline identity(Tag<Pipeline> /*tag*/, const Type& type) {
  return Pipeline(std::make_shared<const Pipeline::Impl>(Pipeline::Impl{
      "id", {type}, type, [](std::span<const Value> xs) -> Result<Value> { return xs[0]; }}));
}

Result<Pipeline> compose(const Pipeline& f, std::size_t i, const Pipeline& g) {
  const std::size_t n = arity(f);
  if (i >= n) {
    return invalid_argument("compose " + f.name() + " o" + std::to_string(i) + " " + g.name() +
                            ": input " + std::to_string(i) + " out of range for arity " +
                            std::to_string(n));
  }
  if (!(f.inputs()[i] == g.output())) {
    return invalid_argument("compose " + f.name() + " o" + std::to_string(i) + " " + g.name() +
                            ": plugs an output of type " + g.output().to_string() + " into input " +
                            std::to_string(i) + " of type " + f.inputs()[i].to_string());
  }
  const std::size_t m = arity(g);
  std::vector<Type> inputs;
  inputs.reserve(n + m - 1);
  inputs.insert(inputs.end(), f.inputs().begin(), f.inputs().begin() + static_cast<long>(i));
  inputs.insert(inputs.end(), g.inputs().begin(), g.inputs().end());
  inputs.insert(inputs.end(), f.inputs().begin() + static_cast<long>(i) + 1, f.inputs().end());
  auto fn = [f, g, i, n, m](std::span<const Value> xs) -> Result<Value> {
    auto inner = g.apply_unchecked(xs.subspan(i, m));
    if (!inner) return inner;
    std::vector<Value> args;
    args.reserve(n);
    args.insert(args.end(), xs.begin(), xs.begin() + static_cast<long>(i));
    args.push_back(std::move(inner).value());
    args.insert(args.end(), xs.begin() + static_cast<long>(i + m), xs.end());
    return f.apply_unchecked(args);
  };
  return Pipeline(std::make_shared<const Pipeline::Impl>(
      Pipeline::Impl{"(" + f.name() + " o" + std::to_string(i) + " " + g.name() + ")",
                     std::move(inputs), f.output(), std::move(fn)}));
}

Result<Pipeline> permute(const Pipeline& f, const Permutation& sigma) {
  WITNESS_RETURN_IF_ERROR(check_permutation(sigma, arity(f)));
  // g's input sigma[k] feeds f's input k, so g's input sigma[k] has f's input k's type.
  std::vector<Type> inputs = f.inputs();
  for (std::size_t k = 0; k < sigma.size(); ++k) inputs[sigma[k]] = f.inputs()[k];
  std::string name = f.name() + ".[";
  for (std::size_t k = 0; k < sigma.size(); ++k) {
    name += (k == 0 ? "" : " ") + std::to_string(sigma[k]);
  }
  name += "]";
  auto fn = [f, sigma](std::span<const Value> xs) -> Result<Value> {
    std::vector<Value> args;
    args.reserve(sigma.size());
    for (std::size_t s : sigma) args.push_back(xs[s]);
    return f.apply_unchecked(args);
  };
  return Pipeline(std::make_shared<const Pipeline::Impl>(
      Pipeline::Impl{std::move(name), std::move(inputs), f.output(), std::move(fn)}));
}

}  // namespace witness::operad
