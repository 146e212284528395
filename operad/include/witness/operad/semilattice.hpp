// Composition of covenants (SPEC 4.2c): meet is a bounded semilattice (associative,
// commutative, idempotent, with the unrestricted element as identity). MeetOperad<L> turns
// any such L into a symmetric operad whose n-ary operation "c" sends x_1..x_n to
// c ^ x_1 ^ ... ^ x_n, so the operad law engine checks meet through composition too.
// Allowance is a rights-and-budgets type that models the concept; covenant/ reuses the
// concept and the operad for its own covenant type.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>

#include "witness/base/result.hpp"
#include "witness/operad/operad_concepts.hpp"

namespace witness::operad {

// L has meet(a, b) and a top element `top(Tag<L>{})` (the unrestricted element); the laws
// (associative, commutative, idempotent, top is the identity) are checked by
// check_semilattice_laws in laws.hpp, not by the compiler.
template <typename L>
concept BoundedMeetSemilattice = std::copyable<L> && std::equality_comparable<L> &&
    requires(const L& a, const L& b) {
  { meet(a, b) } -> std::same_as<L>;
  { top(Tag<L>{}) } -> std::same_as<L>;
};

// The n-ary operation "meet with `constraint`, then with each of n inputs".
// Thread safety: a plain value.
template <BoundedMeetSemilattice L>
struct MeetOperation {
  L constraint;
  std::size_t inputs = 0;
  friend bool operator==(const MeetOperation&, const MeetOperation&) = default;
};

template <BoundedMeetSemilattice L>
[[nodiscard]] std::size_t arity(const MeetOperation<L>& f) {
  return f.inputs;
}

template <BoundedMeetSemilattice L>
[[nodiscard]] MeetOperation<L> identity(Tag<MeetOperation<L>> /*tag*/, Uncolored /*color*/) {
  return {top(Tag<L>{}), 1};
}

// Errors: kInvalidArgument when i >= arity(f).
template <BoundedMeetSemilattice L>
[[nodiscard]] Result<MeetOperation<L>> compose(const MeetOperation<L>& f, std::size_t i,
                                               const MeetOperation<L>& g) {
  if (i >= f.inputs) {
    return invalid_argument("meet compose: input " + std::to_string(i) +
                            " out of range for arity " + std::to_string(f.inputs));
  }
  return MeetOperation<L>{meet(f.constraint, g.constraint), f.inputs + g.inputs - 1};
}

// Meet ignores the order of its inputs. Errors: kInvalidArgument for a bad permutation.
template <BoundedMeetSemilattice L>
[[nodiscard]] Result<MeetOperation<L>> permute(const MeetOperation<L>& f,
                                               const Permutation& sigma) {
  WITNESS_RETURN_IF_ERROR(check_permutation(sigma, f.inputs));
  return f;
}

// Evaluation of meet operations on elements of L.
template <BoundedMeetSemilattice L>
struct MeetAlgebra {
  using Value = L;
};

// Errors: kInvalidArgument when inputs.size() != arity(f).
template <BoundedMeetSemilattice L>
[[nodiscard]] Result<L> evaluate(const MeetAlgebra<L>& /*algebra*/, const MeetOperation<L>& f,
                                 std::span<const L> inputs) {
  if (inputs.size() != f.inputs) {
    return invalid_argument("meet evaluate: " + std::to_string(inputs.size()) +
                            " inputs for arity " + std::to_string(f.inputs));
  }
  L out = f.constraint;
  for (const L& x : inputs) out = meet(out, x);
  return out;
}

// What an agent may do and how much: a set of capabilities (absent: all) and per-resource
// budgets (absent resource: unlimited). Meet keeps what both allow: the intersection of the
// capabilities and the smaller of each budget. Top allows everything.
// Thread safety: a plain value.
struct Allowance {
  std::optional<std::set<std::string>> capabilities;  // nullopt: every capability
  std::map<std::string, std::uint64_t> budgets;       // resource -> limit
  friend bool operator==(const Allowance&, const Allowance&) = default;
  // "{caps: [read, write], budgets: {nodes: 10}}" or "{caps: *, budgets: {}}".
  [[nodiscard]] std::string to_string() const;
};

[[nodiscard]] Allowance meet(const Allowance& a, const Allowance& b);
[[nodiscard]] inline Allowance top(Tag<Allowance> /*tag*/) { return {}; }

}  // namespace witness::operad
