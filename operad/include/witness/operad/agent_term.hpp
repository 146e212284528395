// The universal agent operad (SPEC 4.2b). An operation is a wiring term: an expression in
// seq, par, branch, fix and trace whose leaves are concrete agents or numbered holes; its
// arity is its number of holes, and composition substitutes a term for a hole. The algebra
// AgentAlgebra fills the holes with state machines and yields the composite machine.
//
// Two terms are equal when they behave the same: for every filling of the holes, the
// composite machines give the same outputs on the same input sequences. Outputs are compared
// up to the canonical re-nesting isomorphism of pairs ((a, b), c) = (a, (b, c)), under which
// par is associative; the law suites say so in their equations.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/operad/operad_concepts.hpp"
#include "witness/operad/state_machine.hpp"
#include "witness/operad/value.hpp"

namespace witness::operad {

// An agent's type: input -> output. The colour of the agent operad.
struct Signature {
  Type input;
  Type output;
  friend bool operator==(const Signature&, const Signature&) = default;
  // "A -> B".
  [[nodiscard]] std::string to_string() const;
};

// A wiring term over state-machine agents with numbered holes.
// Thread safety: immutable; all methods may be called concurrently.
class AgentTerm {
 public:
  using Color = Signature;

  // The term with one hole, #0, of the given signature: the identity operation.
  [[nodiscard]] static AgentTerm hole(const Signature& signature);
  // A concrete agent, a term with no holes.
  [[nodiscard]] static AgentTerm agent(const StateMachine& machine);
  // The combinators of state_machine.hpp on terms. b's holes are numbered after a's (and so
  // on, left to right). Errors: kInvalidArgument on mismatched types, as the combinators.
  [[nodiscard]] static Result<AgentTerm> seq(const AgentTerm& a, const AgentTerm& b);
  [[nodiscard]] static AgentTerm par(const AgentTerm& a, const AgentTerm& b);
  [[nodiscard]] static Result<AgentTerm> branch(const AgentTerm& cond, const AgentTerm& then,
                                                const AgentTerm& otherwise);
  [[nodiscard]] static Result<AgentTerm> fix(const AgentTerm& a, unsigned bound);
  [[nodiscard]] static Result<AgentTerm> trace(const AgentTerm& a, const Value& initial);

  [[nodiscard]] const Signature& signature() const;
  // The signature of hole k (the term's input k). REQUIRES: k < holes().size().
  [[nodiscard]] const std::vector<Signature>& holes() const { return holes_; }
  // "seq(#0, par(m1, #1))".
  [[nodiscard]] std::string to_string() const;

  struct Node;  // The term's tree; defined in agent_term.cpp.

 private:
  AgentTerm(std::shared_ptr<const Node> root, std::vector<Signature> holes)
      : root_(std::move(root)), holes_(std::move(holes)) {}
  std::shared_ptr<const Node> root_;
  std::vector<Signature> holes_;

  friend Result<AgentTerm> compose(const AgentTerm& f, std::size_t i, const AgentTerm& g);
  friend Result<AgentTerm> permute(const AgentTerm& f, const Permutation& sigma);
  friend Result<StateMachine> evaluate_term(const AgentTerm& f,
                                            std::span<const StateMachine> machines);
};

[[nodiscard]] inline std::size_t arity(const AgentTerm& f) { return f.holes().size(); }
// REQUIRES: i < arity(f).
[[nodiscard]] const Signature& input_color(const AgentTerm& f, std::size_t i);
[[nodiscard]] inline const Signature& output_color(const AgentTerm& f) { return f.signature(); }
[[nodiscard]] inline AgentTerm identity(Tag<AgentTerm> /*tag*/, const Signature& signature) {
  return AgentTerm::hole(signature);
}
// Substitutes g for hole i of f; g's holes become f's holes i.. i+arity(g)-1 and f's later
// holes move up. Errors: kInvalidArgument when i >= arity(f) or g's signature differs from
// hole i's.
[[nodiscard]] Result<AgentTerm> compose(const AgentTerm& f, std::size_t i, const AgentTerm& g);
// Renumbers the holes: hole k becomes hole sigma[k]. Errors: kInvalidArgument when sigma is
// not a permutation of the holes.
[[nodiscard]] Result<AgentTerm> permute(const AgentTerm& f, const Permutation& sigma);

// Builds the state machine of `f` with machines[k] in hole k. Errors: kInvalidArgument when
// the count or a machine's signature does not match.
[[nodiscard]] Result<StateMachine> evaluate_term(const AgentTerm& f,
                                                 std::span<const StateMachine> machines);

// Evaluation of wiring terms on state machines.
struct AgentAlgebra {
  using Value = StateMachine;
};

[[nodiscard]] inline Result<StateMachine> evaluate(const AgentAlgebra& /*algebra*/,
                                                   const AgentTerm& f,
                                                   std::span<const StateMachine> machines) {
  return evaluate_term(f, machines);
}

}  // namespace witness::operad
