// The law suites witness ships (SPEC 4.2, 4.3), by name, and the generators behind them.
// `witness laws` runs these; tests and benchmarks use the generators directly, and they are
// worked examples of Generators for a user's own operad.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <rapidcheck.h>

#include "witness/base/result.hpp"
#include "witness/operad/agent_term.hpp"
#include "witness/operad/laws.hpp"
#include "witness/operad/pipeline.hpp"
#include "witness/operad/semilattice.hpp"
#include "witness/operad/trace_path.hpp"

namespace witness::operad {

// A shipped suite: its name, what it checks, and its laws' names.
struct SuiteInfo {
  std::string name;
  std::string description;
  std::vector<Law> laws;
};

// The shipped suites: "pipeline", "agent", "covenant-meet", "trace-path".
[[nodiscard]] std::vector<SuiteInfo> shipped_suites();

// Runs the named shipped suite. options.replay_command is filled in when empty.
// Errors: kNotFound for an unknown suite (the message lists the known ones); run_laws' errors.
[[nodiscard]] Result<LawReport> run_suite(std::string_view name, const LawOptions& options);

// Types int and text; values of a given type.
[[nodiscard]] rc::Gen<Type> scalar_type_gen();
[[nodiscard]] rc::Gen<Value> value_gen(const Type& type);

// Typed pipelines over int and text: linear sums, joins, identities and their composites.
[[nodiscard]] Generators<Pipeline> pipeline_generators();
[[nodiscard]] AlgebraGenerators<PipelineAlgebra, Pipeline> pipeline_algebra_generators();

// Wiring terms of seq, par, branch, fix and trace over random stateful agents; compared by
// running them on random input sequences, outputs up to re-nesting of pairs.
[[nodiscard]] Generators<AgentTerm> agent_generators();
[[nodiscard]] AlgebraGenerators<AgentAlgebra, AgentTerm> agent_algebra_generators();
// Laws of the combinators themselves: seq associative and unital, par associative up to
// re-nesting, fix(a, 0) the identity.
[[nodiscard]] std::vector<Law> agent_combinator_laws();

// Trace paths over a small vertex set, so that heads and tails meet.
[[nodiscard]] Generators<TracePath> trace_path_generators();

// Allowances over a few capabilities and budgets, and the meet operad over them.
[[nodiscard]] rc::Gen<Allowance> allowance_gen();
[[nodiscard]] Generators<MeetOperation<Allowance>> meet_generators();
[[nodiscard]] AlgebraGenerators<MeetAlgebra<Allowance>, MeetOperation<Allowance>>
meet_algebra_generators();

}  // namespace witness::operad
