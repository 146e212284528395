// Covenants (SPEC 5.1, 5.2): what one agent may do, and how much. A covenant names a subject
// (an agent id, the origin of its nodes) and carries Rights: permit and forbid rules over
// (action, resource pattern), budgets in several dimensions, a call rate, and an expiry.
// Rights form a bounded meet-semilattice (witness/operad/semilattice.hpp): meet keeps only what
// both sides allow, and the unrestricted Rights are its identity. Deriving a covenant meets the
// parent's rights with the child's request, so a derived covenant can only be narrower.
#pragma once

#include <array>
#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/ledger/signing.hpp"
#include "witness/ledger/trace_node.hpp"
#include "witness/operad/operad_concepts.hpp"

namespace witness::covenant {

using ledger::Timestamp;

// Whether `text` matches `pattern`, where `*` matches any run of characters (none included)
// and every other character matches itself: "agent.*" matches "agent.action".
[[nodiscard]] bool glob_match(std::string_view pattern, std::string_view text);

// What a request would touch: the kind, walk and tags of the node it writes.
struct Resource {
  std::string kind;
  std::string walk;               // empty: none
  std::vector<std::string> tags;  // any order
};

// A conjunction of field globs, written "kind=agent.*,walk=incident-*,tag=severity:*". Every
// field given must match (a `tag=` glob: some tag of the resource); "*" or "" is any resource.
// Thread safety: a plain value.
struct ResourcePattern {
  std::optional<std::string> kind;
  std::optional<std::string> walk;
  std::vector<std::string> tags;  // sorted, unique

  // Errors: kInvalidArgument naming the bad clause (unknown field, missing `=`, empty glob).
  [[nodiscard]] static Result<ResourcePattern> parse(std::string_view text);
  [[nodiscard]] bool matches(const Resource& resource) const;
  // The canonical text, parse(to_string()) == *this; "*" for any resource.
  [[nodiscard]] std::string to_string() const;
  friend auto operator<=>(const ResourcePattern&, const ResourcePattern&) = default;
};

enum class Effect : std::uint8_t { kPermit, kForbid };

// One rule: permit or forbid `action` (a glob, e.g. "ledger.append", "tool.*") on resources
// matching `resource`.
struct Rule {
  Effect effect = Effect::kPermit;
  std::string action;
  ResourcePattern resource;

  // Parses "permit ledger.append kind=agent.*" (the resource may be left out: any).
  // Errors: kInvalidArgument naming the bad part.
  [[nodiscard]] static Result<Rule> parse(std::string_view text);
  [[nodiscard]] bool matches(std::string_view action, const Resource& resource) const;
  [[nodiscard]] std::string to_string() const;
  friend auto operator<=>(const Rule&, const Rule&) = default;
};

// Rules judged together: a matching forbid denies; otherwise a matching permit allows;
// otherwise the request is denied (deny by default).
struct RuleSet {
  std::vector<Rule> rules;  // sorted, unique (make_rule_set)
  friend auto operator<=>(const RuleSet&, const RuleSet&) = default;
};

// Sorts and deduplicates, so that equal sets of rules compare equal.
[[nodiscard]] RuleSet make_rule_set(std::vector<Rule> rules);

// Budget dimensions (SPEC 5.1).
enum class Dimension : std::uint8_t { kCalls, kTokens, kCostMicros, kWallTimeMs, kBytes };
inline constexpr std::size_t kDimensions = 5;
inline constexpr std::array<Dimension, kDimensions> kAllDimensions = {
    Dimension::kCalls, Dimension::kTokens, Dimension::kCostMicros, Dimension::kWallTimeMs,
    Dimension::kBytes};
// "calls", "tokens", "cost_micros", "wall_time_ms", "bytes".
[[nodiscard]] std::string_view dimension_name(Dimension d);
// Errors: kInvalidArgument naming the unknown dimension and the known ones.
[[nodiscard]] Result<Dimension> parse_dimension(std::string_view name);

// An amount in every dimension.
struct Cost {
  std::array<std::uint64_t, kDimensions> amount{};
  [[nodiscard]] std::uint64_t& operator[](Dimension d) {
    return amount[static_cast<std::size_t>(d)];
  }
  [[nodiscard]] std::uint64_t operator[](Dimension d) const {
    return amount[static_cast<std::size_t>(d)];
  }
  // One call and nothing else.
  [[nodiscard]] static Cost one_call() {
    Cost c;
    c[Dimension::kCalls] = 1;
    return c;
  }
  friend bool operator==(const Cost&, const Cost&) = default;
};

// A limit per dimension; absent: unlimited.
struct Budget {
  std::array<std::optional<std::uint64_t>, kDimensions> limit{};
  [[nodiscard]] std::optional<std::uint64_t>& operator[](Dimension d) {
    return limit[static_cast<std::size_t>(d)];
  }
  [[nodiscard]] const std::optional<std::uint64_t>& operator[](Dimension d) const {
    return limit[static_cast<std::size_t>(d)];
  }
  // "calls=100,tokens=5000" or "unlimited".
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const Budget&, const Budget&) = default;
};

// A token bucket over calls: `burst` calls at once, refilled at `per_second`.
struct Rate {
  std::uint64_t per_second = 0;
  std::uint64_t burst = 0;
  friend bool operator==(const Rate&, const Rate&) = default;
};

// What a covenant allows: every rule set must allow a request (none: all requests), within
// the budget and rate, before the expiry. Meet and top make it a bounded semilattice.
// Thread safety: a plain value.
struct Rights {
  std::vector<RuleSet> rule_sets;  // sorted, unique (normalize)
  Budget budget;
  std::optional<Rate> rate;
  std::optional<Timestamp> expires;  // not valid at or after this instant
  friend bool operator==(const Rights&, const Rights&) = default;
  // One line per rule set, budget, rate and expiry.
  [[nodiscard]] std::string to_string() const;
};

// Rights allowing exactly the requests both allow: rule sets united, the smaller limit per
// budget dimension, the slower rate and smaller burst, the earlier expiry.
[[nodiscard]] Rights meet(const Rights& a, const Rights& b);
// The unrestricted rights: no rules, no limits, no rate, no expiry.
[[nodiscard]] inline Rights top(operad::Tag<Rights> /*tag*/) { return {}; }
// Sorts and deduplicates the rule sets, so that equal rights compare equal.
[[nodiscard]] Rights normalize(Rights rights);

// Why a request was decided as it was, the first reason that applies in this order.
enum class Reason : std::uint8_t {
  kAllowed,
  kNoCovenant,    // the subject holds no covenant: deny by default
  kRevoked,       // the covenant or one of its ancestors was revoked
  kExpired,       // at or past an expiry in the chain
  kForbidden,     // a forbid rule matched
  kNotPermitted,  // no permit rule matched in some rule set
  kOverBudget,    // the cost exceeds what is left in some dimension
  kRateLimited,   // the token bucket is empty; retry_after says when a call is possible
  kUnsigned,      // the covenant binds a key and the node carries no signature (gated append)
  kBadSignature,  // the node's signature does not verify with the bound key (gated append)
  kBadUsage,      // the node's payload reports a usage that is not a valid cost (gated append)
};
// "allowed", "no-covenant", "revoked", "expired", "forbidden", "not-permitted", "over-budget",
// "rate-limited", "unsigned", "bad-signature", "bad-usage".
[[nodiscard]] std::string_view reason_name(Reason reason);

// The rule-level verdict of `rights` on a request: kAllowed, kForbidden or kNotPermitted, and
// the deciding rule as (rule set, rule) indexes into rights.rule_sets; -1 when no rule decided
// (no rule sets: allowed; no permit: not permitted). Allocates nothing.
struct RuleVerdict {
  Reason reason = Reason::kAllowed;
  int rule_set = -1;
  int rule = -1;
};
[[nodiscard]] RuleVerdict judge_rules(const Rights& rights, std::string_view action,
                                      const Resource& resource);
// The deciding rule's text ("forbid tool.* *"), "unrestricted", or "no permit matches in rule
// set 2 of 2 {permit ...; permit ...}" (its first four permits).
[[nodiscard]] std::string describe(const Rights& rights, const RuleVerdict& verdict);

// A covenant: rights granted to a subject by an issuer, possibly derived from a parent.
// Thread safety: a plain value.
struct Covenant {
  std::string id;       // unique among covenants, e.g. "triage-v1"
  std::string subject;  // the agent id (the origin of its nodes)
  std::string issuer;   // who granted it
  std::optional<std::string> parent;
  Rights rights;
  // When set, nodes from `subject` must carry a valid Ed25519 signature over their id.
  std::optional<ledger::PublicKey> public_key;
  friend bool operator==(const Covenant&, const Covenant&) = default;
};

// A covenant derived from `parent`: its rights are meet(parent.rights, requested), so it can
// only narrow. Errors: kInvalidArgument when id or subject is empty or id equals the parent's.
[[nodiscard]] Result<Covenant> derive(const Covenant& parent, std::string id, std::string subject,
                                      const Rights& requested);

}  // namespace witness::covenant
