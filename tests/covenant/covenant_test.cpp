// Covenant model (SPEC 5.1, 5.2): patterns, rules, deny by default, forbid over permit, meet as
// a bounded semilattice checked by the operad law engine, and derivation that only narrows.
#include "witness/covenant/covenant.hpp"

#include <cctype>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>
#include <rapidcheck/catch.h>

#include "witness/base/ascii.hpp"
#include "witness/operad/laws.hpp"
#include "witness/operad/semilattice.hpp"

#include "covenant_generators.hpp"

namespace cv = witness::covenant;
namespace op = witness::operad;
using witness::testing::gen_action;
using witness::testing::gen_resource;
using witness::testing::gen_rights;

namespace {

cv::Rights rights_of(std::initializer_list<const char*> rules) {
  std::vector<cv::Rule> parsed;
  for (const char* r : rules) parsed.push_back(cv::Rule::parse(r).value());
  return cv::normalize(cv::Rights{.rule_sets = {cv::make_rule_set(std::move(parsed))}});
}

// The definition of a glob, written as directly as possible: the reference the fast matcher is
// checked against (exponential, so only for short strings). Letters match in either case.
bool same_letter(char a, char b) {
  return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
}
bool reference_glob(std::string_view p, std::string_view t) {
  if (p.empty()) return t.empty();
  if (p[0] == '*')
    return reference_glob(p.substr(1), t) || (!t.empty() && reference_glob(p, t.substr(1)));
  return !t.empty() && same_letter(p[0], t[0]) && reference_glob(p.substr(1), t.substr(1));
}

bool allows(const cv::Rights& r, std::string_view action, const cv::Resource& res) {
  return cv::judge_rules(r, action, res).reason == cv::Reason::kAllowed;
}

}  // namespace

static_assert(op::BoundedMeetSemilattice<cv::Rights>);

TEST_CASE("globs match with star as any run", "[covenant][glob]") {
  CHECK(cv::glob_match("agent.*", "agent.action"));
  CHECK(cv::glob_match("agent.*", "agent."));
  CHECK_FALSE(cv::glob_match("agent.*", "agent"));
  CHECK(cv::glob_match("*", ""));
  CHECK(cv::glob_match("*.alert", "detector.alert"));
  CHECK(cv::glob_match("a*b*c", "a-b-b-c"));
  CHECK_FALSE(cv::glob_match("a*b*c", "a-c-b"));
  CHECK_FALSE(cv::glob_match("", "x"));
  // Letter case does not matter (docs/covenants.md, "Names"): a tag PII is the tag pii.
  CHECK(cv::glob_match("pii", "PII"));
  CHECK(cv::glob_match("Agent.*", "agent.ACTION"));
  CHECK(cv::glob_match("*.Alert", "detector.aLeRt"));
  CHECK_FALSE(cv::glob_match("caf\xc3\xa9", "CAF\xc3\x89"));  // no Unicode folding
  rc::prop("a glob without star is equality up to ASCII case",
           [](const std::string& a, const std::string& b) {
             RC_PRE(a.find('*') == std::string::npos);
             RC_ASSERT(cv::glob_match(a, b) == witness::ascii_iequal(a, b));
             RC_ASSERT(cv::glob_match(a, a));
           });
  rc::prop("glob_match agrees with a reference matcher", [] {
    // Small alphabets so that stars, prefixes and suffixes actually line up.
    const auto pattern =
        *rc::gen::resize(10, rc::gen::container<std::string>(rc::gen::element('a', 'B', '*')));
    const auto text =
        *rc::gen::resize(12, rc::gen::container<std::string>(rc::gen::element('a', 'b', 'A')));
    RC_ASSERT(cv::glob_match(pattern, text) == reference_glob(pattern, text));
  });
  rc::prop("prefix star matches exactly the strings with that prefix", [](const std::string& prefix,
                                                                          const std::string& text) {
    RC_PRE(prefix.find('*') == std::string::npos);
    RC_ASSERT(cv::glob_match(prefix + "*", text) == witness::ascii_istarts_with(text, prefix));
  });
}

TEST_CASE("resource patterns and rules parse, print and round-trip", "[covenant][rule]") {
  auto p = cv::ResourcePattern::parse("tag=pii, kind=agent.*,walk=incident-*");
  REQUIRE(p);
  CHECK(p->to_string() == "kind=agent.*,walk=incident-*,tag=pii");
  CHECK(p->matches({.kind = "agent.action", .walk = "incident-4", .tags = {"x", "pii"}}));
  CHECK_FALSE(p->matches({.kind = "agent.action", .walk = "incident-4", .tags = {"x"}}));
  CHECK(cv::ResourcePattern::parse("*")->to_string() == "*");
  CHECK(cv::ResourcePattern::parse("")->matches({.kind = "anything"}));
  CHECK_THAT(cv::ResourcePattern::parse("owner=me").error().message,
             Catch::Contains("unknown field \"owner\""));
  CHECK_THAT(cv::ResourcePattern::parse("kind").error().message, Catch::Contains("field=glob"));
  CHECK_THAT(cv::ResourcePattern::parse("kind=").error().message, Catch::Contains("empty glob"));
  CHECK_FALSE(cv::ResourcePattern::parse("kind=a,kind=b"));

  auto r = cv::Rule::parse("forbid tool.* kind=agent.*");
  REQUIRE(r);
  CHECK(r->effect == cv::Effect::kForbid);
  CHECK(r->to_string() == "forbid tool.* kind=agent.*");
  CHECK(cv::Rule::parse("permit ledger.append")->to_string() == "permit ledger.append *");
  CHECK_THAT(cv::Rule::parse("allow x").error().message, Catch::Contains("permit or forbid"));
  CHECK_FALSE(cv::Rule::parse("permit"));

  rc::prop("rule text round-trips", [] {
    const cv::Rule rule = *witness::testing::gen_rule();
    auto back = cv::Rule::parse(rule.to_string());
    RC_ASSERT(back.has_value());
    RC_ASSERT(*back == rule);
  });
}

TEST_CASE("rules deny by default and forbids override permits", "[covenant][rule]") {
  const cv::Resource action{.kind = "agent.action"};
  const auto r = rights_of({"permit ledger.append kind=agent.*", "forbid ledger.append tag=pii"});
  CHECK(allows(r, "ledger.append", action));
  CHECK_FALSE(allows(r, "tool.call", action));
  const auto pii = cv::judge_rules(r, "ledger.append", {.kind = "agent.action", .tags = {"pii"}});
  CHECK(pii.reason == cv::Reason::kForbidden);
  CHECK(cv::describe(r, pii) == "forbid ledger.append tag=pii");
  const auto none = cv::judge_rules(r, "tool.call", action);
  CHECK(none.reason == cv::Reason::kNotPermitted);
  CHECK_THAT(cv::describe(r, none), Catch::Contains("no permit matches"));
  // An empty rule set permits nothing; no rule sets at all is the unrestricted top.
  CHECK_FALSE(allows(cv::Rights{.rule_sets = {cv::RuleSet{}}}, "ledger.append", action));
  CHECK(allows(cv::top(op::Tag<cv::Rights>{}), "ledger.append", action));
}

TEST_CASE("meet of rights is a bounded semilattice and means both allow", "[covenant][meet]") {
  auto laws = op::run_laws("rights-meet",
                           op::semilattice_laws<cv::Rights>(
                               gen_rights(), [](const cv::Rights& r) { return r.to_string(); }),
                           {.cases = 300, .seed = 5});
  REQUIRE(laws);
  for (const auto& r : laws->results) {
    INFO(op::format_result(r));
    CHECK(r.verdict == op::Verdict::kPassed);
  }
  op::Generators<op::MeetOperation<cv::Rights>> gens{
      .operation =
          [](op::Uncolored /*c*/) {
            return rc::gen::exec([] {
              return op::MeetOperation<cv::Rights>{*gen_rights(),
                                                   *op::uniform_in_range<std::size_t>(0, 4)};
            });
          },
      .observe =
          [](const op::MeetOperation<cv::Rights>& a, const op::MeetOperation<cv::Rights>& b) {
            return op::observe_equal(a.constraint.to_string() + "/" + std::to_string(a.inputs),
                                     b.constraint.to_string() + "/" + std::to_string(b.inputs));
          },
  };
  auto operad_laws = op::check_laws(gens, {.cases = 200, .seed = 6}, "covenant-rights");
  REQUIRE(operad_laws);
  for (const auto& r : operad_laws->results) {
    INFO(op::format_result(r));
    CHECK(r.verdict == op::Verdict::kPassed);
  }
  rc::prop("meet allows exactly what both allow", [] {
    const auto a = *gen_rights();
    const auto b = *gen_rights();
    const auto action = *gen_action();
    const auto resource = *gen_resource();
    RC_ASSERT(allows(cv::meet(a, b), action, resource) ==
              (allows(a, action, resource) && allows(b, action, resource)));
  });
}

TEST_CASE("derivation only narrows", "[covenant][derive]") {
  const cv::Covenant parent{.id = "p", .subject = "agent.a", .issuer = "ops", .rights = {}};
  CHECK_FALSE(cv::derive(parent, "", "agent.b", {}));
  CHECK_FALSE(cv::derive(parent, "c", "", {}));
  CHECK_FALSE(cv::derive(parent, "p", "agent.b", {}));
  auto child = cv::derive(parent, "c", "agent.b", rights_of({"permit tool.*"}));
  REQUIRE(child);
  CHECK(child->parent == std::optional<std::string>("p"));
  CHECK(child->issuer == "agent.a");

  rc::prop("every request a derived covenant allows, its parent allows; budgets never grow", [] {
    const cv::Covenant p{.id = "p", .subject = "s", .issuer = "i", .rights = *gen_rights()};
    const auto derived = cv::derive(p, "c", "t", *gen_rights());
    RC_ASSERT(derived.has_value());
    const auto action = *gen_action();
    const auto resource = *gen_resource();
    if (allows(derived->rights, action, resource)) RC_ASSERT(allows(p.rights, action, resource));
    for (auto d : cv::kAllDimensions) {
      if (p.rights.budget[d]) {
        RC_ASSERT(derived->rights.budget[d].has_value());
        RC_ASSERT(*derived->rights.budget[d] <= *p.rights.budget[d]);
      }
    }
    if (p.rights.expires) {
      const bool earlier = derived->rights.expires && *derived->rights.expires <= *p.rights.expires;
      RC_ASSERT(earlier);
    }
    // Deriving from a derived covenant narrows again: the chain is a descending chain.
    RC_ASSERT(cv::meet(p.rights, derived->rights) == derived->rights);
  });
}
