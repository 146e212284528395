// Agent manifests (SPEC 5.4): the YAML file that declares an agent and what it may do, and the
// covenant it yields. Format, with every field, in docs/covenants.md:
//
//   id: alert.triage                  # the agent id: the origin of its nodes
//   version: "1.2.0"
//   description: Triages detector alerts.
//   capabilities: [ledger.append, tool.call]      # actions it may use at all
//   permissions:                                  # rules over (action, resource); deny by default
//     - permit ledger.append kind=agent.*
//     - forbid ledger.append tag=pii
//   models: [small-llm]                           # model.query allowed on kind=<model>
//   budgets: {calls: 10000, tokens: 2000000}
//   rate: {per_second: 50, burst: 100}
//   expires: 2027-01-01T00:00:00Z
//   public_key: <64 hex digits, Ed25519>          # nodes from this agent must be signed
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/covenant/covenant.hpp"

namespace witness::covenant {

// A parsed, validated manifest.
// Thread safety: a plain value.
struct Manifest {
  std::string id;
  std::string version;
  std::string description;
  std::vector<std::string> capabilities;
  std::vector<Rule> permissions;
  std::vector<std::string> models;
  Budget budget;
  std::optional<Rate> rate;
  std::optional<Timestamp> expires;
  std::optional<ledger::PublicKey> public_key;
};

// Parses and validates a manifest. Errors: kInvalidArgument as "line L: field: what is wrong"
// (missing or unknown field, wrong type, bad rule, bad id, negative or non-integer budget, bad
// key), or the YAML syntax error with its line.
[[nodiscard]] Result<Manifest> parse_manifest(std::string_view yaml);

// The covenant a manifest grants: id "<id>@<version>", subject the agent id, and two rule sets
// that must both allow a request: the capabilities (permit each action on any resource) and the
// permissions (the rules, plus `permit model.query kind=<model>` per model).
[[nodiscard]] Covenant covenant_from(const Manifest& manifest, std::string issuer);

}  // namespace witness::covenant
