#include "witness/covenant/covenant.hpp"

#include <algorithm>

#include "witness/base/ascii.hpp"

namespace witness::covenant {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view text) {
  // Fast paths for the common shapes, "literal" and "prefix*": the gate judges rules on every
  // decision.
  // Letter case does not matter (docs/covenants.md, "Names"): "PII" matches tag=pii.
  const std::size_t first_star = pattern.find('*');
  if (first_star == std::string_view::npos) return ascii_iequal(pattern, text);
  if (first_star + 1 == pattern.size()) {
    return ascii_istarts_with(text, pattern.substr(0, first_star));
  }
  // Iterative matcher with one backtrack point (the last `*`): linear in practice, no recursion.
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && ascii_lower(pattern[p]) == ascii_lower(text[t])) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

Result<ResourcePattern> ResourcePattern::parse(std::string_view text) {
  ResourcePattern out;
  text = trim(text);
  if (text.empty() || text == "*") return out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string_view clause = trim(text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    const std::size_t eq = clause.find('=');
    if (eq == std::string_view::npos) {
      return invalid_argument("resource pattern \"" + std::string(text) + "\": clause \"" +
                              std::string(clause) + "\" is not field=glob");
    }
    const std::string_view field = trim(clause.substr(0, eq));
    const std::string glob(trim(clause.substr(eq + 1)));
    if (glob.empty()) {
      return invalid_argument("resource pattern \"" + std::string(text) + "\": empty glob for " +
                              std::string(field));
    }
    if (field == "kind") {
      if (out.kind) return invalid_argument("resource pattern: kind given twice");
      out.kind = glob;
    } else if (field == "walk") {
      if (out.walk) return invalid_argument("resource pattern: walk given twice");
      out.walk = glob;
    } else if (field == "tag") {
      out.tags.push_back(glob);
    } else {
      return invalid_argument("resource pattern \"" + std::string(text) + "\": unknown field \"" +
                              std::string(field) + "\" (kind, walk, tag)");
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  std::sort(out.tags.begin(), out.tags.end());
  out.tags.erase(std::unique(out.tags.begin(), out.tags.end()), out.tags.end());
  return out;
}

bool ResourcePattern::matches(const Resource& resource) const {
  if (kind && !glob_match(*kind, resource.kind)) return false;
  if (walk && !glob_match(*walk, resource.walk)) return false;
  return std::all_of(tags.begin(), tags.end(), [&](const std::string& glob) {
    return std::any_of(resource.tags.begin(), resource.tags.end(),
                       [&](const std::string& tag) { return glob_match(glob, tag); });
  });
}

std::string ResourcePattern::to_string() const {
  std::string out;
  auto add = [&out](std::string_view field, const std::string& glob) {
    out += (out.empty() ? "" : ",") + std::string(field) + "=" + glob;
  };
  if (kind) add("kind", *kind);
  if (walk) add("walk", *walk);
  for (const auto& t : tags) add("tag", t);
  return out.empty() ? "*" : out;
}

Result<Rule> Rule::parse(std::string_view text) {
  text = trim(text);
  const std::size_t sp = text.find(' ');
  const std::string_view effect = text.substr(0, sp);
  Rule rule;
  if (effect == "permit") {
    rule.effect = Effect::kPermit;
  } else if (effect == "forbid") {
    rule.effect = Effect::kForbid;
  } else {
    return invalid_argument("rule \"" + std::string(text) + "\": starts with \"" +
                            std::string(effect) + "\", expected permit or forbid");
  }
  if (sp == std::string_view::npos) {
    return invalid_argument("rule \"" + std::string(text) + "\": no action");
  }
  const std::string_view rest = trim(text.substr(sp + 1));
  const std::size_t sp2 = rest.find(' ');
  rule.action = std::string(rest.substr(0, sp2));
  if (rule.action.empty()) return invalid_argument("rule \"" + std::string(text) + "\": no action");
  auto pattern = ResourcePattern::parse(sp2 == std::string_view::npos ? "" : rest.substr(sp2 + 1));
  if (!pattern) return pattern.error().with_context("rule \"" + std::string(text) + "\"");
  rule.resource = std::move(pattern).value();
  return rule;
}

bool Rule::matches(std::string_view act, const Resource& res) const {
  return glob_match(action, act) && resource.matches(res);
}

std::string Rule::to_string() const {
  return std::string(effect == Effect::kPermit ? "permit " : "forbid ") + action + " " +
         resource.to_string();
}

RuleSet make_rule_set(std::vector<Rule> rules) {
  std::sort(rules.begin(), rules.end());
  rules.erase(std::unique(rules.begin(), rules.end()), rules.end());
  return RuleSet{std::move(rules)};
}

std::string_view dimension_name(Dimension d) {
  switch (d) {
    case Dimension::kCalls:
      return "calls";
    case Dimension::kTokens:
      return "tokens";
    case Dimension::kCostMicros:
      return "cost_micros";
    case Dimension::kWallTimeMs:
      return "wall_time_ms";
    case Dimension::kBytes:
      return "bytes";
  }
  return "unknown";
}

Result<Dimension> parse_dimension(std::string_view name) {
  for (Dimension d : kAllDimensions) {
    if (dimension_name(d) == name) return d;
  }
  return invalid_argument("unknown budget dimension \"" + std::string(name) +
                          "\" (calls, tokens, cost_micros, wall_time_ms, bytes)");
}

std::string Budget::to_string() const {
  std::string out;
  for (Dimension d : kAllDimensions) {
    if ((*this)[d]) {
      out += (out.empty() ? "" : ",") + std::string(dimension_name(d)) + "=" +
             std::to_string(*(*this)[d]);
    }
  }
  return out.empty() ? "unlimited" : out;
}

Rights normalize(Rights rights) {
  for (auto& set : rights.rule_sets) set = make_rule_set(std::move(set.rules));
  std::sort(rights.rule_sets.begin(), rights.rule_sets.end());
  rights.rule_sets.erase(std::unique(rights.rule_sets.begin(), rights.rule_sets.end()),
                         rights.rule_sets.end());
  return rights;
}

Rights meet(const Rights& a, const Rights& b) {
  Rights out;
  out.rule_sets = a.rule_sets;
  out.rule_sets.insert(out.rule_sets.end(), b.rule_sets.begin(), b.rule_sets.end());
  for (Dimension d : kAllDimensions) {
    const auto& x = a.budget[d];
    const auto& y = b.budget[d];
    out.budget[d] = !x ? y : !y ? x : std::optional<std::uint64_t>(std::min(*x, *y));
  }
  if (a.rate && b.rate) {
    out.rate = Rate{std::min(a.rate->per_second, b.rate->per_second),
                    std::min(a.rate->burst, b.rate->burst)};
  } else {
    out.rate = a.rate ? a.rate : b.rate;
  }
  if (a.expires && b.expires) {
    out.expires = std::min(*a.expires, *b.expires);
  } else {
    out.expires = a.expires ? a.expires : b.expires;
  }
  return normalize(std::move(out));
}

std::string Rights::to_string() const {
  std::string out;
  for (std::size_t k = 0; k < rule_sets.size(); ++k) {
    out += "rules[" + std::to_string(k) + "]:";
    for (const auto& r : rule_sets[k].rules) out += " {" + r.to_string() + "}";
    out += "\n";
  }
  out += "budget: " + budget.to_string() + "\n";
  out += "rate: " +
         (rate ? std::to_string(rate->per_second) + "/s burst " + std::to_string(rate->burst)
               : std::string("unlimited")) +
         "\n";
  out += "expires: " + (expires ? ledger::format_rfc3339(*expires) : std::string("never"));
  return out;
}

std::string_view reason_name(Reason reason) {
  switch (reason) {
    case Reason::kAllowed:
      return "allowed";
    case Reason::kNoCovenant:
      return "no-covenant";
    case Reason::kRevoked:
      return "revoked";
    case Reason::kExpired:
      return "expired";
    case Reason::kForbidden:
      return "forbidden";
    case Reason::kNotPermitted:
      return "not-permitted";
    case Reason::kOverBudget:
      return "over-budget";
    case Reason::kRateLimited:
      return "rate-limited";
    case Reason::kUnsigned:
      return "unsigned";
    case Reason::kBadSignature:
      return "bad-signature";
    case Reason::kBadUsage:
      return "bad-usage";
  }
  return "unknown";
}

RuleVerdict judge_rules(const Rights& rights, std::string_view action, const Resource& resource) {
  RuleVerdict verdict;
  for (std::size_t s = 0; s < rights.rule_sets.size(); ++s) {
    const auto& rules = rights.rule_sets[s].rules;
    int permit = -1;
    for (std::size_t r = 0; r < rules.size(); ++r) {
      if (!rules[r].matches(action, resource)) continue;
      if (rules[r].effect == Effect::kForbid) {
        return {Reason::kForbidden, static_cast<int>(s), static_cast<int>(r)};
      }
      if (permit < 0) permit = static_cast<int>(r);
    }
    if (permit < 0) return {Reason::kNotPermitted, static_cast<int>(s), -1};
    verdict = {Reason::kAllowed, static_cast<int>(s), permit};
  }
  return verdict;
}

std::string describe(const Rights& rights, const RuleVerdict& verdict) {
  if (verdict.rule_set < 0) return "unrestricted";
  const auto set = static_cast<std::size_t>(verdict.rule_set);
  if (set >= rights.rule_sets.size()) return "unknown rule";
  if (verdict.rule < 0) {
    // Name the set by its permits: that is what the request would have needed to match.
    std::string permits;
    std::size_t listed = 0;
    for (const Rule& r : rights.rule_sets[set].rules) {
      if (r.effect != Effect::kPermit) continue;
      if (++listed > 4) {
        permits += "; ...";
        break;
      }
      permits += (permits.empty() ? "" : "; ") + r.to_string();
    }
    return "no permit matches in rule set " + std::to_string(set + 1) + " of " +
           std::to_string(rights.rule_sets.size()) + " {" +
           (permits.empty() ? "no permits" : permits) + "}";
  }
  const auto rule = static_cast<std::size_t>(verdict.rule);
  if (rule >= rights.rule_sets[set].rules.size()) return "unknown rule";
  return rights.rule_sets[set].rules[rule].to_string();
}

Result<Covenant> derive(const Covenant& parent, std::string id, std::string subject,
                        const Rights& requested) {
  if (id.empty()) return invalid_argument("derive: empty covenant id");
  if (subject.empty()) return invalid_argument("derive " + id + ": empty subject");
  if (id == parent.id) return invalid_argument("derive " + id + ": same id as its parent");
  return Covenant{.id = std::move(id),
                  .subject = std::move(subject),
                  .issuer = parent.subject,
                  .parent = parent.id,
                  .rights = meet(parent.rights, requested)};
}

}  // namespace witness::covenant
