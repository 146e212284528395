// The gate policy in one place (covenant/appender.hpp): every mode, the bypass record, and the
// writers that cannot gate. The CLI (`cli: gate`, `cli: import_gate`) and Python
// (test_covenants.py) run the same policy through their front ends.
#include "witness/covenant/appender.hpp"

#include <atomic>

#include <catch2/catch.hpp>

#include "witness/covenant/registry.hpp"

#include "temp_dir.hpp"

namespace cv = witness::covenant;
namespace wl = witness::ledger;

namespace {

wl::TraceNode node(const std::string& origin, const std::string& kind = "agent.action") {
  static std::atomic<int> counter{0};
  return wl::TraceNode::create(wl::NodeDraft{.origin = origin,
                                             .kind = kind,
                                             .timestamp = wl::Timestamp(std::chrono::nanoseconds(
                                                 1795341600000000000 + counter.fetch_add(1))),
                                             .payload_json = "{}"})
      .value();
}

struct Fixture {
  witness::testing::TempDir dir;
  wl::Ledger ledger = wl::Ledger::open(dir.path(), {.create_if_missing = true}).value();

  void grant_triage() {
    auto loaded = cv::load_gate(ledger);
    REQUIRE(loaded);
    const cv::Covenant c{
        .id = "triage@1",
        .subject = "alert.triage",
        .issuer = "ops",
        .rights = {.rule_sets = {cv::make_rule_set(
                       {cv::Rule::parse("permit ledger.append kind=agent.*").value()})}}};
    REQUIRE(cv::record_grant(ledger, loaded->gate, c, {}));
  }
  std::size_t bypasses() {
    auto q = ledger.query(wl::Query{.origin = "witness.gate", .kind = "covenant.bypass"});
    REQUIRE(q);
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : *q) ++n;
    return n;
  }
  std::unique_ptr<cv::PolicyAppender> open(cv::AppenderOptions o) {
    auto a = cv::PolicyAppender::open(ledger, std::move(o));
    REQUIRE(a);
    return std::move(*a);
  }
};

}  // namespace

TEST_CASE("auto: ungated with no covenant, gated once one is granted", "[covenant][policy]") {
  Fixture f;
  auto out = f.open({.gate = cv::GateMode::kAuto, .who = "alice"});
  CHECK_FALSE(out->gating());
  auto a = out->append(node("anyone"));
  REQUIRE(a);
  CHECK(a->appended());
  CHECK(f.bypasses() == 0);  // no gate, nothing bypassed
  // A grant through the live gate turns it on for the next append.
  auto grant = cv::record_grant(
      f.ledger, *out->gate(),
      cv::Covenant{
          .id = "t@1",
          .subject = "alert.triage",
          .issuer = "ops",
          .rights = {.rule_sets = {cv::make_rule_set(
                         {cv::Rule::parse("permit ledger.append kind=agent.*").value()})}}},
      {});
  REQUIRE(grant);
  CHECK(out->gating());
  auto refused = out->append(node("anyone"));
  REQUIRE(refused);
  CHECK(refused->refused());
  CHECK(refused->refusal_seq.has_value());
  CHECK_THAT(refused->refusal_message(), Catch::Contains("covenant.denial at seq"));
  auto allowed = out->append(node("alert.triage"));
  REQUIRE(allowed);
  CHECK(allowed->appended());
  REQUIRE(out->close());
}

TEST_CASE("on: every append is refused until a covenant exists", "[covenant][policy]") {
  Fixture f;
  auto out = f.open({.gate = cv::GateMode::kOn});
  CHECK(out->gating());
  const std::vector<wl::TraceNode> batch{node("a.b"), node("c.d")};
  auto r = out->append_batch(batch, wl::BatchMode::kAtomic);
  REQUIRE(r);
  CHECK((*r)[0].refused());
  CHECK((*r)[1].refused());
  CHECK(f.ledger.size() == 2);  // the two denials, nothing else
}

TEST_CASE("off: one bypass record before the first write, covenants or not", "[covenant][policy]") {
  for (const bool with_covenant : {false, true}) {
    Fixture f;
    if (with_covenant) f.grant_triage();
    auto out = f.open({.gate = cv::GateMode::kOff,
                       .who = "alice",
                       .command = "test --no-gate",
                       .bypass_note = "backfill"});
    CHECK_FALSE(out->gating());
    CHECK(out->gate() == nullptr);
    CHECK_FALSE(out->bypass());
    CHECK(f.bypasses() == 0);  // nothing written yet: nothing recorded
    // Input the ledger refuses records no bypass either.
    const std::vector<wl::TraceNode> forged{node("a.b"), node("witness.covenant")};
    auto bad = out->append_batch(forged, wl::BatchMode::kAtomic);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message ==
          "node 1: origin witness.covenant is reserved for witness's "
          "own records");
    CHECK(f.bypasses() == 0);
    REQUIRE(out->append(node("anyone")));
    REQUIRE(out->append(node("anyone")));
    CHECK(f.bypasses() == 1);
    REQUIRE(out->bypass());
    const auto entry = f.ledger.get(out->bypass()->seq).value();
    CHECK_THAT(entry.node.payload_json(), Catch::Contains(R"("who":"alice")"));
    CHECK_THAT(entry.node.payload_json(), Catch::Contains(R"("note":"backfill")"));
  }
}

TEST_CASE("a writer that cannot gate is refused where the gate is on", "[covenant][policy]") {
  Fixture f;
  // No covenant: nothing to bypass, nothing recorded.
  {
    auto out =
        f.open({.gate = cv::GateMode::kAuto, .command = "witness import x", .can_gate = false});
    REQUIRE(out->append(node("a.b")));
    CHECK(f.bypasses() == 0);
  }
  f.grant_triage();
  auto refused = cv::PolicyAppender::open(
      f.ledger, {.gate = cv::GateMode::kAuto, .command = "witness import x", .can_gate = false});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == witness::ErrorCode::kFailedPrecondition);
  CHECK_THAT(refused.error().message,
             Catch::Contains("witness import x would bypass the gate; turn the gate off"));
  auto on = cv::PolicyAppender::open(f.ledger, {.gate = cv::GateMode::kOn, .can_gate = false});
  CHECK_FALSE(on);
  // Off: allowed, and recorded.
  auto off = f.open({.gate = cv::GateMode::kOff, .can_gate = false});
  REQUIRE(off->append(node("a.b")));
  CHECK(f.bypasses() == 1);
}

TEST_CASE("restoring witness's own records is always recorded as a bypass", "[covenant][policy]") {
  Fixture f;
  auto out = f.open({.gate = cv::GateMode::kAuto,
                     .who = "alice",
                     .can_gate = false,
                     .append = {.allow_reserved_origin = true}});
  auto a = out->append(node("witness.detector", "detector.run"));
  REQUIRE(a);
  CHECK(a->appended());
  CHECK(f.bypasses() == 1);
}
