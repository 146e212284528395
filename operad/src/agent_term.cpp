#include "witness/operad/agent_term.hpp"

#include <functional>
#include <optional>

namespace witness::operad {

enum class TermKind : std::uint8_t { kHole, kAgent, kSeq, kPar, kBranch, kFix, kTrace };

struct AgentTerm::Node {
  TermKind kind = TermKind::kHole;
  Signature signature;
  std::size_t hole = 0;                 // kHole: the input this hole reads
  std::optional<StateMachine> machine;  // kAgent
  std::vector<std::shared_ptr<const Node>> children;
  unsigned bound = 0;  // kFix
  Value initial;       // kTrace
  std::size_t hole_count = 0;
};

namespace {

using Node = AgentTerm::Node;
using NodePtr = std::shared_ptr<const Node>;

NodePtr make_node(Node node) {
  node.hole_count = node.kind == TermKind::kHole ? 1 : 0;
  for (const auto& c : node.children) node.hole_count += c->hole_count;
  return std::make_shared<const Node>(std::move(node));
}

// Rebuilds `node` with every hole replaced by `replace(hole)`; subtrees without holes are
// shared, not copied.
NodePtr substitute(const NodePtr& node, const std::function<NodePtr(const Node&)>& replace) {
  if (node->hole_count == 0) return node;
  if (node->kind == TermKind::kHole) return replace(*node);
  Node copy = *node;
  for (auto& c : copy.children) c = substitute(c, replace);
  return make_node(std::move(copy));
}

NodePtr shifted(const NodePtr& node, std::size_t by) {
  if (by == 0) return node;
  return substitute(node, [by](const Node& h) {
    Node moved = h;
    moved.hole += by;
    return make_node(std::move(moved));
  });
}

std::string node_string(const Node& n) {
  auto list = [&n](std::string head) {
    head += "(";
    for (std::size_t k = 0; k < n.children.size(); ++k) {
      head += (k == 0 ? "" : ", ") + node_string(*n.children[k]);
    }
    return head;
  };
  switch (n.kind) {
    case TermKind::kHole:
      return "#" + std::to_string(n.hole);
    case TermKind::kAgent:
      return n.machine->name();
    case TermKind::kSeq:
      return list("seq") + ")";
    case TermKind::kPar:
      return list("par") + ")";
    case TermKind::kBranch:
      return list("branch") + ")";
    case TermKind::kFix:
      return list("fix") + ", " + std::to_string(n.bound) + ")";
    case TermKind::kTrace:
      return list("trace") + ", " + n.initial.to_string() + ")";
  }
  return "?";
}

std::vector<Signature> concat(std::vector<Signature> a, const std::vector<Signature>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Result<StateMachine> evaluate_node(const Node& n, std::span<const StateMachine> machines) {
  std::vector<StateMachine> parts;
  for (const auto& c : n.children) {
    WITNESS_ASSIGN_OR_RETURN(auto m, evaluate_node(*c, machines));
    parts.push_back(std::move(m));
  }
  switch (n.kind) {
    case TermKind::kHole:
      return machines[n.hole];
    case TermKind::kAgent:
      return *n.machine;
    case TermKind::kSeq:
      return operad::seq(parts[0], parts[1]);
    case TermKind::kPar:
      return operad::par(parts[0], parts[1]);
    case TermKind::kBranch:
      return operad::branch(parts[0], parts[1], parts[2]);
    case TermKind::kFix:
      return operad::fix(parts[0], n.bound);
    case TermKind::kTrace:
      return operad::trace(parts[0], n.initial);
  }
  return internal_error("agent term: unknown node kind");
}

}  // namespace

std::string Signature::to_string() const { return input.to_string() + " -> " + output.to_string(); }

AgentTerm AgentTerm::hole(const Signature& signature) {
  return AgentTerm(make_node(Node{.kind = TermKind::kHole, .signature = signature}), {signature});
}

AgentTerm AgentTerm::agent(const StateMachine& machine) {
  return AgentTerm(make_node(Node{.kind = TermKind::kAgent,
                                  .signature = {machine.input(), machine.output()},
                                  .machine = machine}),
                   {});
}

Result<AgentTerm> AgentTerm::seq(const AgentTerm& a, const AgentTerm& b) {
  if (!(a.signature().output == b.signature().input)) {
    return invalid_argument("seq(" + a.to_string() + ", " + b.to_string() + "): output type " +
                            a.signature().output.to_string() + " feeds input type " +
                            b.signature().input.to_string());
  }
  return AgentTerm(make_node(Node{.kind = TermKind::kSeq,
                                  .signature = {a.signature().input, b.signature().output},
                                  .children = {a.root_, shifted(b.root_, arity(a))}}),
                   concat(a.holes_, b.holes_));
}

AgentTerm AgentTerm::par(const AgentTerm& a, const AgentTerm& b) {
  return AgentTerm(
      make_node(Node{.kind = TermKind::kPar,
                     .signature = {Type::pair(a.signature().input, b.signature().input),
                                   Type::pair(a.signature().output, b.signature().output)},
                     .children = {a.root_, shifted(b.root_, arity(a))}}),
      concat(a.holes_, b.holes_));
}

Result<AgentTerm> AgentTerm::branch(const AgentTerm& cond, const AgentTerm& then,
                                    const AgentTerm& otherwise) {
  const auto& c = cond.signature();
  const auto& t = then.signature();
  const auto& e = otherwise.signature();
  if (!(c.output == Type::integer()) || !(t.input == c.input) || !(e == t)) {
    return invalid_argument("branch(" + c.to_string() + ", " + t.to_string() + ", " +
                            e.to_string() + "): needs A -> int, A -> B, A -> B");
  }
  return AgentTerm(
      make_node(Node{.kind = TermKind::kBranch,
                     .signature = t,
                     .children = {cond.root_, shifted(then.root_, arity(cond)),
                                  shifted(otherwise.root_, arity(cond) + arity(then))}}),
      concat(concat(cond.holes_, then.holes_), otherwise.holes_));
}

Result<AgentTerm> AgentTerm::fix(const AgentTerm& a, unsigned bound) {
  if (!(a.signature().input == a.signature().output)) {
    return invalid_argument("fix(" + a.signature().to_string() + "): needs A -> A");
  }
  return AgentTerm(make_node(Node{.kind = TermKind::kFix,
                                  .signature = a.signature(),
                                  .children = {a.root_},
                                  .bound = bound}),
                   a.holes_);
}

Result<AgentTerm> AgentTerm::trace(const AgentTerm& a, const Value& initial) {
  const auto& s = a.signature();
  if (s.input.kind() != Type::Kind::kPair || s.output.kind() != Type::Kind::kPair ||
      !(s.input.second() == s.output.second()) || !(initial.type() == s.input.second())) {
    return invalid_argument("trace(" + s.to_string() + ", " + initial.to_string() +
                            "): needs (A, S) -> (B, S) and an initial value of type S");
  }
  return AgentTerm(make_node(Node{.kind = TermKind::kTrace,
                                  .signature = {s.input.first(), s.output.first()},
                                  .children = {a.root_},
                                  .initial = initial}),
                   a.holes_);
}

const Signature& AgentTerm::signature() const { return root_->signature; }

std::string AgentTerm::to_string() const { return node_string(*root_); }

const Signature& input_color(const AgentTerm& f, std::size_t i) {
  WITNESS_CHECK(i < arity(f));
  return f.holes()[i];
}

Result<AgentTerm> compose(const AgentTerm& f, std::size_t i, const AgentTerm& g) {
  const std::size_t n = arity(f);
  const std::size_t m = arity(g);
  if (i >= n) {
    return invalid_argument("compose " + f.to_string() + " o" + std::to_string(i) + ": no hole " +
                            std::to_string(i) + " (arity " + std::to_string(n) + ")");
  }
  if (!(f.holes_[i] == g.signature())) {
    return invalid_argument("compose " + f.to_string() + " o" + std::to_string(i) + " " +
                            g.to_string() + ": hole " + std::to_string(i) + " is " +
                            f.holes_[i].to_string() + ", the plugged term is " +
                            g.signature().to_string());
  }
  const NodePtr plugged = shifted(g.root_, i);
  NodePtr root = substitute(f.root_, [&](const Node& h) -> NodePtr {
    if (h.hole == i) return plugged;  // NOLINT(performance-no-automatic-move): used again
    if (h.hole < i) return make_node(h);
    Node moved = h;
    moved.hole = h.hole + m - 1;
    return make_node(std::move(moved));
  });
  std::vector<Signature> holes(f.holes_.begin(), f.holes_.begin() + static_cast<long>(i));
  holes.insert(holes.end(), g.holes_.begin(), g.holes_.end());
  holes.insert(holes.end(), f.holes_.begin() + static_cast<long>(i) + 1, f.holes_.end());
  return AgentTerm(std::move(root), std::move(holes));
}

Result<AgentTerm> permute(const AgentTerm& f, const Permutation& sigma) {
  WITNESS_RETURN_IF_ERROR(check_permutation(sigma, arity(f)));
  NodePtr root = substitute(f.root_, [&](const Node& h) {
    Node moved = h;
    moved.hole = sigma[h.hole];
    return make_node(std::move(moved));
  });
  std::vector<Signature> holes = f.holes_;
  for (std::size_t k = 0; k < sigma.size(); ++k) holes[sigma[k]] = f.holes_[k];
  return AgentTerm(std::move(root), std::move(holes));
}

Result<StateMachine> evaluate_term(const AgentTerm& f, std::span<const StateMachine> machines) {
  if (machines.size() != arity(f)) {
    return invalid_argument("evaluate " + f.to_string() + ": " + std::to_string(machines.size()) +
                            " machines for " + std::to_string(arity(f)) + " holes");
  }
  for (std::size_t k = 0; k < machines.size(); ++k) {
    const Signature actual{machines[k].input(), machines[k].output()};
    if (!(actual == f.holes_[k])) {
      return invalid_argument("evaluate " + f.to_string() + ": hole " + std::to_string(k) + " is " +
                              f.holes_[k].to_string() + ", machine " + machines[k].name() + " is " +
                              actual.to_string());
    }
  }
  return evaluate_node(*f.root_, machines);
}

}  // namespace witness::operad
