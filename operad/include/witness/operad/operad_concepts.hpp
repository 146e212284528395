// The operad concepts (SPEC 4.1): what a type must offer to be composed and law-checked.
//
// An operad here is a type O of *operations*: each has an arity n (its number of inputs), a
// colour for each input and for its output (a type, a signature, a vertex; one colour for an
// uncoloured operad), an identity operation per colour, and partial composition
// `compose(f, i, g)`, which plugs g's output into input i of f. These are ADL-found free
// functions (STYLE 3, as cereal's `serialize`):
//
//   struct Poly { ... };                                      // the operations
//   std::size_t arity(const Poly& f);
//   Poly identity(witness::operad::Tag<Poly>, witness::operad::Uncolored);
//   witness::Result<Poly> compose(const Poly& f, std::size_t i, const Poly& g);
//
// A coloured operad adds `using Color = ...;` to O and `input_color(f, i)`, `output_color(f)`.
// A symmetric operad adds `permute(f, sigma)`; an algebra A adds `evaluate(a, f, inputs)`.
#pragma once

#include <concepts>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "witness/base/result.hpp"

namespace witness::operad {

// The one colour of an uncoloured operad.
struct Uncolored {
  friend bool operator==(Uncolored, Uncolored) = default;
};

// Names the operad in calls that take no operation, e.g. `identity(Tag<O>{}, color)`.
template <typename O>
struct Tag {};

namespace detail {
template <typename O>
struct ColorOf {
  using type = Uncolored;
};
template <typename O>
requires requires { typename O::Color; }
struct ColorOf<O> {
  using type = typename O::Color;
};
}  // namespace detail

// The colour type of operad O: `O::Color`, or Uncolored when O declares none.
template <typename O>
using Color = typename detail::ColorOf<O>::type;

// A permutation of n inputs, sigma[k] in [0, n) and all distinct. Acting on an operation f,
// `permute(f, sigma)` is the operation g with g(x_0, ..., x_{n-1}) = f(x_sigma[0], ...,
// x_sigma[n-1]): f's input k is fed by g's input sigma[k].
using Permutation = std::vector<std::size_t>;

// An operation type whose inputs and output carry colours.
template <typename O>
concept ColoredOperations = requires(const O& f, std::size_t i) {
  { input_color(f, i) } -> std::convertible_to<Color<O>>;
  { output_color(f) } -> std::convertible_to<Color<O>>;
};

// O's operations compose: arity, identity per colour, partial composition (SPEC 4.1).
template <typename O>
concept Operad = std::copy_constructible<O> && std::equality_comparable<Color<O>> &&
    requires(const O& f, const O& g, std::size_t i, const Color<O>& c) {
  { arity(f) } -> std::convertible_to<std::size_t>;
  { identity(Tag<O>{}, c) } -> std::same_as<O>;
  { compose(f, i, g) } -> std::same_as<Result<O>>;
} &&(std::same_as<Color<O>, Uncolored> || ColoredOperations<O>);

// An operad with the permutation action on inputs.
template <typename O>
concept SymmetricOperad = Operad<O> && requires(const O& f, const Permutation& sigma) {
  { permute(f, sigma) } -> std::same_as<Result<O>>;
};

// A evaluates O's operations on values: `evaluate(a, f, inputs)` applies f to arity(f) values.
template <typename A, typename O>
concept OperadAlgebra = Operad<O> && requires {
  typename A::Value;
} && requires(const A& a, const O& f, std::span<const typename A::Value> inputs) {
  { evaluate(a, f, inputs) } -> std::same_as<Result<typename A::Value>>;
};

// Input i's colour (Uncolored{} for an uncoloured operad).
template <Operad O>
[[nodiscard]] Color<O> input_color_of(const O& f, std::size_t i) {
  if constexpr (ColoredOperations<O>) {
    return input_color(f, i);
  } else {
    return Uncolored{};
  }
}

// The output colour (Uncolored{} for an uncoloured operad).
template <Operad O>
[[nodiscard]] Color<O> output_color_of(const O& f) {
  if constexpr (ColoredOperations<O>) {
    return output_color(f);
  } else {
    return Uncolored{};
  }
}

// Full composition f(g_0, ..., g_{n-1}): plugs gs[k] into input k of f, for every k.
// Errors: kInvalidArgument when gs.size() != arity(f), or what compose() reports.
template <Operad O>
[[nodiscard]] Result<O> compose_all(const O& f, std::span<const O> gs) {
  const std::size_t n = arity(f);
  if (gs.size() != n) {
    return invalid_argument("full composition: " + std::to_string(gs.size()) +
                            " operations for arity " + std::to_string(n));
  }
  O result = f;
  // From the last input down, so that the inputs still to fill keep their positions.
  for (std::size_t k = n; k-- > 0;) {
    auto next = compose(result, k, gs[k]);
    if (!next) return std::move(next).error().with_context("input " + std::to_string(k));
    result = std::move(next).value();
  }
  return result;
}

// Checks that `sigma` is a permutation of [0, n). Errors: kInvalidArgument naming the fault.
[[nodiscard]] Status check_permutation(const Permutation& sigma, std::size_t n);

// The inverse permutation: inverse(sigma)[sigma[k]] = k. REQUIRES: sigma is a permutation.
[[nodiscard]] Permutation inverse(const Permutation& sigma);

// The permutation sigma' with (f . sigma) o_i g = (f o_k g) . sigma', k = inverse(sigma)[i],
// for f of arity n and g of arity m: the equivariance axiom's block permutation.
// REQUIRES: sigma is a permutation of [0, n) and i < n.
[[nodiscard]] Permutation block_permutation(const Permutation& sigma, std::size_t i, std::size_t m);

}  // namespace witness::operad
