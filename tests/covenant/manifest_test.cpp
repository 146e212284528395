// Manifests (SPEC 5.4) and covenant records in the ledger: strict YAML with line-numbered
// errors, the covenant a manifest grants, payload round trips, and the gate rebuilt by replay.
#include "witness/covenant/manifest.hpp"

#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <rapidcheck/catch.h>

#include "witness/covenant/registry.hpp"

#include "covenant_generators.hpp"
#include "temp_dir.hpp"

namespace cv = witness::covenant;
namespace wl = witness::ledger;

namespace {

std::string read_example(const std::string& name) {
  std::ifstream in(std::string(WITNESS_EXAMPLES_DIR) + "/agents/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string error_of(std::string_view yaml) {
  auto m = cv::parse_manifest(yaml);
  REQUIRE_FALSE(m);
  CHECK(m.error().code == witness::ErrorCode::kInvalidArgument);
  return m.error().message;
}

const cv::Resource kAction{.kind = "agent.action"};

}  // namespace

TEST_CASE("the example manifests parse into the covenants they describe", "[covenant][manifest]") {
  auto triage = cv::parse_manifest(read_example("alert-triage.yaml"));
  REQUIRE(triage);
  CHECK(triage->id == "alert.triage");
  CHECK(triage->version == "1.2.0");
  CHECK(triage->budget[cv::Dimension::kTokens] == std::optional<std::uint64_t>(2000000));
  CHECK(triage->rate == std::optional(cv::Rate{50, 100}));
  const cv::Covenant c = cv::covenant_from(*triage, "ops");
  CHECK(c.id == "alert.triage@1.2.0");
  CHECK(c.subject == "alert.triage");
  CHECK(c.rights.rule_sets.size() == 2);

  cv::Gate gate;
  REQUIRE(gate.grant(c));
  auto allowed = [&](std::string_view action, const cv::Resource& r) {
    return gate.check("alert.triage", action, r, cv::Cost::one_call()).allowed();
  };
  CHECK(allowed("ledger.append", kAction));
  CHECK_FALSE(allowed("ledger.append", {.kind = "agent.action", .tags = {"pii"}}));
  CHECK_FALSE(allowed("ledger.append", {.kind = "detector.alert"}));
  CHECK(allowed("tool.call", {.kind = "firewall.block"}));
  CHECK_FALSE(allowed("tool.call", {.kind = "firewall.flush"}));
  CHECK(allowed("model.query", {.kind = "small-llm"}));
  CHECK_FALSE(allowed("model.query", {.kind = "large-llm"}));
  // Permitted by no capability: tool.search is not in the capabilities.
  CHECK_FALSE(allowed("tool.search", kAction));

  auto assistant = cv::parse_manifest(read_example("assistant.yaml"));
  REQUIRE(assistant);
  CHECK(assistant->models == std::vector<std::string>{"small-llm", "large-llm"});
}

TEST_CASE("manifest errors name the line and the field", "[covenant][manifest]") {
  CHECK(error_of("id: a\nversion: '1'\n") == "line 1: capabilities: missing");
  CHECK(error_of("id: a\nversion: '1'\ncapabilities: [x]\nbudget: {calls: 1}\n") ==
        "line 4: budget: unknown field (id, version, description, capabilities, permissions, "
        "models, budgets, rate, expires, public_key)");
  CHECK(error_of("id: a\nversion: '1'\ncapabilities: [x]\nbudgets:\n  calls: -5\n") ==
        "line 5: budgets.calls: expected a non-negative integer, got \"-5\"");
  CHECK_THAT(error_of("id: a\nversion: '1'\ncapabilities: [x]\nbudgets:\n  gold: 5\n"),
             Catch::StartsWith("line 5: budgets.gold: unknown budget dimension \"gold\""));
  CHECK_THAT(error_of("id: a\nversion: '1'\ncapabilities: [x]\npermissions:\n  - allow x\n"),
             Catch::StartsWith("line 5: permissions[0]: rule \"allow x\": starts with \"allow\""));
  CHECK(error_of("id: 'bad id'\nversion: '1'\ncapabilities: [x]\n") ==
        "line 1: id: \"bad id\": invalid character ' ' at byte 3 (allowed: letters, digits and . _ "
        ": -)");
  CHECK(error_of("id: a\nversion: '1'\ncapabilities: x\n") ==
        "line 3: capabilities: expected a list");
  CHECK_THAT(error_of("id: witness.gate\nversion: '1'\ncapabilities: [ledger.append]\n"),
             Catch::Contains("line 1: id:") && Catch::Contains("reserved"));
  CHECK_THAT(error_of("id: a\nversion: '1'\ncapabilities: [x]\nexpires: tomorrow\n"),
             Catch::StartsWith("line 4: expires:"));
  CHECK_THAT(error_of("id: a\nversion: '1'\ncapabilities: [x]\npublic_key: abc\n"),
             Catch::StartsWith("line 4: public_key: expected 64 hex digits"));
  CHECK_THAT(error_of("id: a\nversion: '1'\ncapabilities: [x]\nrate: {per_second: 1}\n"),
             Catch::StartsWith("line 4: rate: expected {per_second: N, burst: N}"));
  CHECK_THAT(error_of("id: [a\n"), Catch::StartsWith("line "));
  CHECK(error_of("") == "manifest: empty document");
  CHECK(error_of("- just\n- a list\n") == "line 1: manifest: expected a mapping of fields");
  // Bytes that are not UTF-8 (found by fuzz_manifest: they reached the grant's JSON writer,
  // which threw): a stray byte, an overlong form, a surrogate, past U+10FFFF, a cut sequence.
  CHECK(error_of("id: a\nversion: '1'\ndescription: x\xff\ncapabilities: [x]\n") ==
        "line 3: invalid UTF-8 at byte 33");
  CHECK_THAT(error_of("id: a\xc0\xaf\n"), Catch::StartsWith("line 1: invalid UTF-8"));
  CHECK_THAT(error_of("id: a\xed\xa0\x80\n"), Catch::StartsWith("line 1: invalid UTF-8"));
  CHECK_THAT(error_of("id: a\xf4\x90\x80\x80\n"), Catch::StartsWith("line 1: invalid UTF-8"));
  CHECK_THAT(error_of("id: a\n\ndescription: \xe2\x82"),
             Catch::StartsWith("line 3: invalid UTF-8"));
  // Control characters YAML does not allow: yaml-cpp read a NUL as UTF-16 and made bytes that
  // are not UTF-8 of what followed (found by fuzz_manifest).
  CHECK(error_of(std::string("id: a\nversion: '1'\ncapabilities:\n  - \0x.call\n", 45)) ==
        "line 4: control character 0x00 (YAML allows only tab, LF and CR)");
  CHECK(error_of("id: a\x07\n") ==
        "line 1: control character 0x07 (YAML allows only tab, LF and CR)");
  CHECK(cv::parse_manifest("id: a\r\nversion: '1'\r\ncapabilities:\t[x]\r\n").has_value());
  // Well-formed multi-byte text is fine.
  CHECK(cv::parse_manifest("id: a\nversion: '1'\ndescription: caf\xc3\xa9 \xe2\x82\xac "
                           "\xf0\x9f\x94\x92\ncapabilities: [x]\n")
            .has_value());
}

TEST_CASE("duplicate keys, a second document and unknown tags are refused, by line and field",
          "[covenant][manifest]") {
  // At the top level yaml-cpp's lookup found the first of two keys, inside a map the last one:
  // a reviewer and the gate could read different manifests.
  CHECK(error_of("id: a\nversion: '1'\ncapabilities: [x]\nid: b\n") ==
        "line 4: id: duplicate key (first at line 1)");
  CHECK(error_of("id: a\nversion: '1'\ncapabilities: [x]\nbudgets:\n  calls: 5\n  calls: 500\n") ==
        "line 6: budgets.calls: duplicate key (first at line 5)");
  CHECK(error_of("id: a\nversion: '1'\ncapabilities: [x]\nrate: {per_second: 1, burst: 2, "
                 "burst: 9}\n") == "line 4: rate.burst: duplicate key (first at line 4)");
  // A second document was ignored.
  CHECK_THAT(error_of("id: a\nversion: '1'\ncapabilities: [x]\n---\nid: b\nversion: '1'\n"
                      "capabilities: [ledger.append]\n"),
             Catch::StartsWith("line 4: manifest: a second YAML document"));  // its ---
  // Tags other than the core schema's.
  CHECK(error_of("id: !evil a\nversion: '1'\ncapabilities: [x]\n") ==
        "line 1: id: the tag !evil is not allowed (a manifest uses plain YAML)");
  CHECK(error_of("id: a\nversion: '1'\ncapabilities: [!custom x]\n") ==
        "line 3: capabilities[0]: the tag !custom is not allowed (a manifest uses plain YAML)");
  CHECK_THAT(error_of("!evil\nid: a\nversion: '1'\ncapabilities: [x]\n"),
             Catch::Contains("manifest: the tag !evil is not allowed"));
  // The core schema's own tags and a document marker are fine.
  CHECK(cv::parse_manifest("---\nid: a\nversion: !!str 1\ncapabilities: [x]\n").has_value());
  // Anchors and aliases are refused before the tree is walked: nine aliases of nine aliases ...
  // made a walk over 9^8 paths (seconds, and gigabytes under ASan: found by fuzz_manifest).
  std::string laughs = "id: a\nversion: '1'\ncapabilities: [x]\nmodels: &l0 [m]\n";
  for (int i = 1; i <= 8; ++i) {
    laughs += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int k = 0; k < 9; ++k) laughs += (k ? ",*l" : "*l") + std::to_string(i - 1);
    laughs += "]\n";
  }
  CHECK(error_of(laughs) == "line 4: an anchor (&name): a manifest uses no anchors or aliases");
  CHECK(error_of("id: a\nversion: '1'\ncapabilities: *x\n").starts_with("line "));
  std::string deep = "id: a\nversion: '1'\ncapabilities: [x]\ndescription: ";
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  CHECK_THAT(error_of(deep + "\n"), Catch::EndsWith("nested more than 32 levels deep"));
  // The reserved prefix in any letter case.
  CHECK_THAT(error_of("id: Witness.gate\nversion: '1'\ncapabilities: [ledger.append]\n"),
             Catch::Contains("line 1: id:") && Catch::Contains("reserved"));
}

TEST_CASE("grant payloads round-trip", "[covenant][registry]") {
  rc::prop("parse(grant_payload(c)) == c", [] {
    cv::Covenant c{.id = "c@1",
                   .subject = "agent.x",
                   .issuer = "ops",
                   .rights = *witness::testing::gen_rights()};
    if (*rc::gen::arbitrary<bool>()) c.parent = "p@1";
    if (*rc::gen::arbitrary<bool>()) c.public_key = wl::PublicKey{1, 2, 3};
    auto back = cv::parse_grant_payload(cv::grant_payload(c, {.version = "1"}));
    RC_ASSERT(back.has_value());
    RC_ASSERT(*back == c);
  });
  CHECK_FALSE(cv::parse_grant_payload("not json"));
  CHECK_THAT(cv::parse_grant_payload(R"({"covenant":{"id":"a","subject":"b"}})").error().message,
             Catch::Contains("covenant.issuer"));
}

TEST_CASE("the gate is rebuilt from the ledger's covenant nodes", "[covenant][registry]") {
  witness::testing::TempDir dir;
  auto ledger = wl::Ledger::open(dir.path(), {.create_if_missing = true});
  REQUIRE(ledger);
  cv::Gate gate;
  const auto triage =
      cv::covenant_from(*cv::parse_manifest(read_example("alert-triage.yaml")), "ops");
  REQUIRE(cv::record_grant(*ledger, gate, triage, {.version = "1.2.0"}));
  // A refused grant appends nothing.
  auto dup = cv::record_grant(*ledger, gate, triage, {});
  REQUIRE_FALSE(dup);
  CHECK_THAT(dup.error().message, Catch::Contains("already granted"));
  const auto child = cv::derive(triage, "triage-helper@1", "triage.helper", {}).value();
  REQUIRE(cv::record_grant(*ledger, gate, child, {}));
  REQUIRE(cv::record_revoke(*ledger, gate, "alert.triage@1.2.0", "rotated"));
  CHECK_FALSE(cv::record_revoke(*ledger, gate, "nope", ""));
  CHECK(ledger->tree_head()->size == 3);

  auto loaded = cv::load_gate(*ledger);
  REQUIRE(loaded);
  CHECK(loaded->skipped.empty());
  const auto listing = loaded->gate.covenants();
  REQUIRE(listing.size() == 2);
  CHECK(listing[0].covenant == triage);
  CHECK(listing[0].revoked);
  CHECK(listing[1].covenant == child);
  CHECK(listing[1].revoked);  // through its revoked parent
  CHECK(
      loaded->gate.check("triage.helper", "ledger.append", kAction, cv::Cost::one_call()).reason ==
      cv::Reason::kRevoked);
}
