// The operad concepts: the shipped instances model them, types lacking an operation do not,
// and compile-time typed grafting checks types (SPEC 4.1).
#include <string>

#include <catch2/catch.hpp>

#include "witness/operad/agent_term.hpp"
#include "witness/operad/operad_concepts.hpp"
#include "witness/operad/pipeline.hpp"
#include "witness/operad/semilattice.hpp"
#include "witness/operad/trace_path.hpp"
#include "witness/operad/typed_agent.hpp"

namespace op = witness::operad;

namespace concept_probe {

// Has everything an uncoloured operad needs.
struct Complete {};
inline std::size_t arity(const Complete& /*f*/) { return 1; }
inline Complete identity(op::Tag<Complete> /*tag*/, op::Uncolored /*c*/) { return {}; }
inline witness::Result<Complete> compose(const Complete& f, std::size_t /*i*/,
                                         const Complete& /*g*/) {
  return f;
}

// Lacks compose.
struct NoCompose {};
inline std::size_t arity(const NoCompose& /*f*/) { return 1; }
inline NoCompose identity(op::Tag<NoCompose> /*tag*/, op::Uncolored /*c*/) { return {}; }

// Lacks identity.
struct NoIdentity {};
inline std::size_t arity(const NoIdentity& /*f*/) { return 1; }
inline witness::Result<NoIdentity> compose(const NoIdentity& f, std::size_t /*i*/,
                                           const NoIdentity& /*g*/) {
  return f;
}

// Declares a colour but says nothing about which inputs have which.
struct ColoredWithoutColors {
  using Color = int;
};
inline std::size_t arity(const ColoredWithoutColors& /*f*/) { return 1; }
inline ColoredWithoutColors identity(op::Tag<ColoredWithoutColors> /*tag*/, int /*c*/) {
  return {};
}
inline witness::Result<ColoredWithoutColors> compose(const ColoredWithoutColors& f,
                                                     std::size_t /*i*/,
                                                     const ColoredWithoutColors& /*g*/) {
  return f;
}

// compose returns the operation itself, not a Result: misuse could not be reported.
struct UncheckedCompose {};
inline std::size_t arity(const UncheckedCompose& /*f*/) { return 1; }
inline UncheckedCompose identity(op::Tag<UncheckedCompose> /*tag*/, op::Uncolored /*c*/) {
  return {};
}
inline UncheckedCompose compose(const UncheckedCompose& f, std::size_t /*i*/,
                                const UncheckedCompose& /*g*/) {
  return f;
}

// An algebra over Complete with the wrong evaluate signature.
struct BadAlgebra {
  using Value = int;
};
inline int evaluate(const BadAlgebra& /*a*/, const Complete& /*f*/, int x) { return x; }

}  // namespace concept_probe

// Shipped instances model the concepts.
static_assert(op::Operad<op::Pipeline>);
static_assert(op::SymmetricOperad<op::Pipeline>);
static_assert(op::OperadAlgebra<op::PipelineAlgebra, op::Pipeline>);
static_assert(op::Operad<op::AgentTerm>);
static_assert(op::SymmetricOperad<op::AgentTerm>);
static_assert(op::OperadAlgebra<op::AgentAlgebra, op::AgentTerm>);
static_assert(op::Operad<op::TracePath>);
static_assert(!op::SymmetricOperad<op::TracePath>);
static_assert(op::BoundedMeetSemilattice<op::Allowance>);
static_assert(op::SymmetricOperad<op::MeetOperation<op::Allowance>>);
static_assert(op::OperadAlgebra<op::MeetAlgebra<op::Allowance>, op::MeetOperation<op::Allowance>>);

// Types lacking an operation do not.
static_assert(op::Operad<concept_probe::Complete>);
static_assert(!op::SymmetricOperad<concept_probe::Complete>);
static_assert(!op::Operad<concept_probe::NoCompose>);
static_assert(!op::Operad<concept_probe::NoIdentity>);
static_assert(!op::Operad<concept_probe::ColoredWithoutColors>);
static_assert(!op::Operad<concept_probe::UncheckedCompose>);
static_assert(!op::Operad<int>);
static_assert(!op::OperadAlgebra<concept_probe::BadAlgebra, concept_probe::Complete>);
static_assert(!op::OperadAlgebra<op::PipelineAlgebra, op::TracePath>);
static_assert(!op::BoundedMeetSemilattice<int>);

// Compile-time grafting: allowed exactly when the plugged output type is the input's type.
using IntOfIntText = op::Agent<int(int, std::string)>;
using TextOfDouble = op::Agent<std::string(double)>;
using IntOfDouble = op::Agent<int(double)>;
static_assert(op::kCanGraft<1, IntOfIntText, TextOfDouble>);
static_assert(!op::kCanGraft<0, IntOfIntText, TextOfDouble>);
static_assert(op::kCanGraft<0, IntOfIntText, IntOfDouble>);
static_assert(!op::kCanGraft<2, IntOfIntText, IntOfDouble>);
static_assert(std::is_same_v<decltype(op::graft<1>(std::declval<IntOfIntText>(),
                                                   std::declval<TextOfDouble>())),
                             op::Agent<int(int, double)>>);

TEST_CASE("compile-time grafting computes the composite", "[operad][typed_agent]") {
  const IntOfIntText f(
      [](int a, const std::string& s) { return a * 10 + static_cast<int>(s.size()); });
  const TextOfDouble g([](double d) { return std::string(static_cast<std::size_t>(d), 'x'); });
  const auto h = op::graft<1>(f, g);
  CHECK(h(4, 3.0) == 43);

  const op::Agent<int(int, int)> add([](int a, int b) { return a + b; });
  const op::Agent<int(int, int)> mul([](int a, int b) { return a * b; });
  // add(mul(x, y), z) and add(x, mul(y, z)).
  CHECK(op::graft<0>(add, mul)(2, 3, 4) == 10);
  CHECK(op::graft<1>(add, mul)(2, 3, 4) == 14);
  // Identity on either side changes nothing.
  CHECK(op::graft<0>(op::identity_agent<int>(), add)(2, 5) == 7);
  CHECK(op::graft<1>(add, op::identity_agent<int>())(2, 5) == 7);
  // A constant (no inputs) removes an input.
  const op::Agent<int()> seven([] { return 7; });
  CHECK(op::graft<0>(add, seven)(1) == 8);
}

TEST_CASE("permutation helpers", "[operad][permutation]") {
  CHECK(op::check_permutation({2, 0, 1}, 3));
  CHECK_FALSE(op::check_permutation({0, 0, 1}, 3));
  CHECK_FALSE(op::check_permutation({0, 3, 1}, 3));
  CHECK_FALSE(op::check_permutation({0, 1}, 3));
  CHECK(op::check_permutation({0, 0}, 2).error().message == "permutation repeats 0");
  CHECK(op::inverse({2, 0, 1}) == op::Permutation{1, 2, 0});
  // Swap of two inputs, g of arity 1 plugged at 0: the composite's inputs swap back.
  CHECK(op::block_permutation({1, 0}, 0, 1) == op::Permutation{1, 0});
  // Identity permutation gives the identity block permutation.
  CHECK(op::block_permutation({0, 1, 2}, 1, 3) == op::Permutation{0, 1, 2, 3, 4});
}
