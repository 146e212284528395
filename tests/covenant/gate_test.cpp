// The gate (SPEC 5.3): decisions with the deciding rule and remaining budget, revocation,
// expiry and rates on an injected clock, and zero overshoot under threads.
#include "witness/covenant/gate.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <rapidcheck/catch.h>

#include "covenant_generators.hpp"

namespace cv = witness::covenant;
using namespace std::chrono_literals;

namespace {

cv::Rights rights_of(std::initializer_list<const char*> rules) {
  std::vector<cv::Rule> parsed;
  for (const char* r : rules) parsed.push_back(cv::Rule::parse(r).value());
  return cv::Rights{.rule_sets = {cv::make_rule_set(std::move(parsed))}};
}

cv::Cost cost(std::uint64_t calls, std::uint64_t tokens = 0) {
  cv::Cost c;
  c[cv::Dimension::kCalls] = calls;
  c[cv::Dimension::kTokens] = tokens;
  return c;
}

const cv::Resource kAction{.kind = "agent.action"};

// A clock the test moves by hand.
struct FakeClock {
  std::shared_ptr<std::atomic<std::int64_t>> ns = std::make_shared<std::atomic<std::int64_t>>(0);
  cv::GateOptions options() const {
    return {.clock = [n = ns] { return cv::Timestamp(std::chrono::nanoseconds(n->load())); }};
  }
  void advance(std::chrono::nanoseconds d) const { ns->fetch_add(d.count()); }
};

}  // namespace

TEST_CASE("the gate denies by default and explains every decision", "[covenant][gate]") {
  cv::Gate gate;
  const auto none = gate.check("agent.x", "ledger.append", kAction, cost(1));
  CHECK(none.reason == cv::Reason::kNoCovenant);
  CHECK_THAT(gate.explain(none), Catch::Contains("deny by default"));

  cv::Rights r = rights_of({"permit ledger.append kind=agent.*", "forbid ledger.append tag=pii"});
  r.budget[cv::Dimension::kCalls] = 2;
  REQUIRE(gate.grant({.id = "triage-v1", .subject = "agent.x", .issuer = "ops", .rights = r}));

  const auto ok = gate.check("agent.x", "ledger.append", kAction, cost(1));
  CHECK(ok.allowed());
  CHECK(ok.covenant == "triage-v1");
  CHECK(ok.remaining[cv::Dimension::kCalls] == std::optional<std::uint64_t>(1));
  CHECK(gate.explain(ok) ==
        "allowed by triage-v1: permit ledger.append kind=agent.*; remaining calls=1");

  const auto pii =
      gate.check("agent.x", "ledger.append", {.kind = "agent.action", .tags = {"pii"}}, cost(1));
  CHECK(pii.reason == cv::Reason::kForbidden);
  CHECK_THAT(gate.explain(pii), Catch::Contains("denied (forbidden) by triage-v1: forbid"));
  CHECK(gate.check("agent.x", "tool.call", kAction, cost(1)).reason == cv::Reason::kNotPermitted);

  SECTION("check holds nothing; reserve and commit spend") {
    for (int i = 0; i < 5; ++i)
      CHECK(gate.check("agent.x", "ledger.append", kAction, cost(1)).allowed());
    const auto a = gate.reserve("agent.x", "ledger.append", kAction, cost(1)).value();
    const auto b = gate.reserve("agent.x", "ledger.append", kAction, cost(1)).value();
    REQUIRE(a.allowed());
    REQUIRE(b.allowed());
    CHECK(a.reservation != b.reservation);
    const auto c = gate.reserve("agent.x", "ledger.append", kAction, cost(1)).value();
    CHECK(c.reason == cv::Reason::kOverBudget);
    CHECK(c.exhausted == std::optional(cv::Dimension::kCalls));
    CHECK_FALSE(c.reservation.has_value());
    CHECK_THAT(gate.explain(c), Catch::StartsWith("denied (over-budget: calls) by triage-v1"));
    REQUIRE(gate.release(*b.reservation));
    CHECK_FALSE(gate.release(*b.reservation));
    REQUIRE(gate.commit(*a.reservation, cost(1)));
    CHECK_FALSE(gate.commit(*a.reservation, cost(1)));
    CHECK(gate.spent("triage-v1")->operator[](cv::Dimension::kCalls) == 1);
    CHECK(gate.check("agent.x", "ledger.append", kAction, cost(1)).allowed());
    CHECK_FALSE(gate.check("agent.x", "ledger.append", kAction, cost(2)).allowed());
  }
  SECTION("commit may not exceed the reservation") {
    const auto a = gate.reserve("agent.x", "ledger.append", kAction, cost(1)).value();
    auto over = gate.commit(*a.reservation, cost(2));
    REQUIRE_FALSE(over);
    CHECK_THAT(over.error().message, Catch::Contains("calls 2 exceeds the 1 reserved"));
    CHECK(gate.commit(*a.reservation, cost(0)));  // the hold survived the bad commit
    CHECK(gate.spent("triage-v1")->operator[](cv::Dimension::kCalls) == 0);
  }
}

TEST_CASE("grants check their parents, and revocation cascades", "[covenant][gate]") {
  cv::Gate gate;
  cv::Rights root_rights = rights_of({"permit *"});
  root_rights.budget[cv::Dimension::kTokens] = 100;
  const cv::Covenant root{
      .id = "root", .subject = "agent.a", .issuer = "ops", .rights = root_rights};
  REQUIRE(gate.grant(root));
  CHECK(gate.grant(root).error().code == witness::ErrorCode::kInvalidArgument);
  CHECK(gate.grant({.id = "x", .subject = "s", .parent = "nope"}).error().code ==
        witness::ErrorCode::kNotFound);
  // Hand-built rights wider than the parent's are refused; derive() meets them.
  auto wide = gate.grant({.id = "wide",
                          .subject = "agent.b",
                          .issuer = "agent.a",
                          .parent = "root",
                          .rights = rights_of({"permit tool.*"})});
  REQUIRE_FALSE(wide);
  CHECK_THAT(wide.error().message, Catch::Contains("wider than its parent"));

  cv::Rights child_request = rights_of({"permit tool.*"});
  child_request.budget[cv::Dimension::kTokens] = 80;
  const auto child = cv::derive(root, "child", "agent.b", child_request).value();
  REQUIRE(gate.grant(child));
  const auto grandchild = cv::derive(child, "grandchild", "agent.c", {}).value();
  REQUIRE(gate.grant(grandchild));

  SECTION("derived spending counts against the ancestors") {
    auto a = gate.reserve("agent.b", "tool.call", kAction, cost(0, 70)).value();
    REQUIRE(a.allowed());
    REQUIRE(gate.commit(*a.reservation, cost(0, 70)));
    CHECK(gate.spent("root")->operator[](cv::Dimension::kTokens) == 70);
    // The root has 30 left, so its own subject cannot take 40 either.
    const auto d = gate.check("agent.a", "tool.call", kAction, cost(0, 40));
    CHECK(d.reason == cv::Reason::kOverBudget);
    CHECK(gate.check("agent.c", "tool.call", kAction, cost(0, 11)).reason ==
          cv::Reason::kOverBudget);
    CHECK(gate.check("agent.c", "tool.call", kAction, cost(0, 10)).allowed());
  }
  SECTION("revoking a parent revokes its descendants") {
    REQUIRE(gate.revoke("child"));
    const auto d = gate.check("agent.c", "tool.call", kAction, cost(1));
    CHECK(d.reason == cv::Reason::kRevoked);
    CHECK(d.covenant == "child");
    CHECK(gate.check("agent.a", "tool.call", kAction, cost(1)).allowed());
    CHECK(gate.grant(cv::derive(child, "late", "agent.d", {}).value()).error().code ==
          witness::ErrorCode::kFailedPrecondition);
    CHECK(gate.revoke("nope").error().code == witness::ErrorCode::kNotFound);
  }
}

TEST_CASE("expiry and rates follow the gate's clock", "[covenant][gate]") {
  FakeClock clock;
  cv::Gate gate(clock.options());
  cv::Rights r = rights_of({"permit *"});
  r.expires = cv::Timestamp(std::chrono::nanoseconds(10s));
  r.rate = cv::Rate{.per_second = 2, .burst = 3};
  REQUIRE(gate.grant({.id = "c", .subject = "s", .issuer = "ops", .rights = r}));
  for (int i = 0; i < 3; ++i) CHECK(gate.reserve("s", "x", kAction, cost(1)).value().allowed());
  const auto limited = gate.reserve("s", "x", kAction, cost(1)).value();
  CHECK(limited.reason == cv::Reason::kRateLimited);
  REQUIRE(limited.retry_after);
  CHECK(*limited.retry_after > 499ms);
  CHECK(*limited.retry_after < 501ms);
  clock.advance(500ms);
  CHECK(gate.reserve("s", "x", kAction, cost(1)).value().allowed());
  CHECK_FALSE(gate.reserve("s", "x", kAction, cost(1)).value().allowed());
  clock.advance(10s);  // past the expiry
  const auto expired = gate.check("s", "x", kAction, cost(1));
  CHECK(expired.reason == cv::Reason::kExpired);
  CHECK_THAT(gate.explain(expired), Catch::Contains("expired at 1970-01-01T00:00:10Z"));
}

TEST_CASE("reservations never overshoot a budget under threads", "[covenant][gate][concurrency]") {
  cv::Gate gate;
  cv::Rights root = rights_of({"permit *"});
  root.budget[cv::Dimension::kTokens] = 10000;
  const cv::Covenant parent{.id = "root", .subject = "agent.0", .rights = root};
  REQUIRE(gate.grant(parent));
  for (int t = 1; t < 8; ++t) {
    REQUIRE(gate.grant(
        cv::derive(parent, "c" + std::to_string(t), "agent." + std::to_string(t), {}).value()));
  }
  std::atomic<std::uint64_t> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&gate, &granted, t] {
      const std::string subject = "agent." + std::to_string(t);
      for (int i = 0; i < 3000; ++i) {
        const std::uint64_t tokens = 1 + static_cast<std::uint64_t>((i * 7 + t) % 13);
        const auto d = gate.reserve(subject, "tool.call", kAction, cost(0, tokens)).value();
        if (!d.allowed()) continue;
        if (i % 3 == 0) {
          REQUIRE(gate.release(*d.reservation));
        } else {
          REQUIRE(gate.commit(*d.reservation, cost(0, tokens)));
          granted.fetch_add(tokens);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  const auto spent = gate.spent("root").value()[cv::Dimension::kTokens];
  CHECK(spent == granted.load());
  CHECK(spent <= 10000);
  CHECK(spent > 9900);  // the budget was used up, not refused early
}

TEST_CASE("reserve, commit and release match a sequential model", "[covenant][gate]") {
  rc::prop("spent and decisions equal the model's", [] {
    const std::uint64_t limit = *rc::gen::inRange<std::uint64_t>(0, 50);
    cv::Rights r;
    r.budget[cv::Dimension::kTokens] = limit;
    cv::Gate gate;
    RC_ASSERT(gate.grant({.id = "c", .subject = "s", .rights = r}).has_value());
    std::uint64_t used = 0;
    std::map<std::uint64_t, std::uint64_t> open;  // reservation -> tokens
    const auto steps = *rc::gen::inRange(1, 40);
    for (int k = 0; k < steps; ++k) {
      const int op = *witness::operad::uniform_in_range(0, 3);
      if (op == 0 || open.empty()) {
        const auto tokens = *rc::gen::inRange<std::uint64_t>(0, 20);
        std::uint64_t held = 0;
        for (const auto& [id, t] : open) held += t;
        const auto d = gate.reserve("s", "x", kAction, cost(0, tokens)).value();
        RC_ASSERT(d.allowed() == (used + held + tokens <= limit));
        if (d.allowed()) open[*d.reservation] = tokens;
      } else {
        auto it = open.begin();
        std::advance(it, *witness::operad::uniform_in_range<std::size_t>(0, open.size()));
        if (op == 1) {
          const auto actual = *rc::gen::inRange<std::uint64_t>(0, it->second + 1);
          RC_ASSERT(gate.commit(it->first, cost(0, actual)).has_value());
          used += actual;
        } else {
          RC_ASSERT(gate.release(it->first).has_value());
        }
        open.erase(it);
      }
      RC_ASSERT(gate.spent("c").value()[cv::Dimension::kTokens] == used);
    }
  });
}

TEST_CASE("a hold whose lease cannot be recorded is an error and holds nothing",
          "[covenant][gate]") {
  bool disk_ok = false;
  cv::Gate gate(cv::GateOptions{.lease = [&](const std::vector<cv::Lease>&) -> witness::Status {
    if (!disk_ok) return witness::io_error("disk full");
    return witness::ok_status();
  }});
  cv::Rights r = rights_of({"permit ledger.append kind=agent.*"});
  r.budget[cv::Dimension::kCalls] = 10;
  REQUIRE(gate.grant({.id = "c1", .subject = "agent.x", .issuer = "ops", .rights = r}));
  auto failed = gate.reserve("agent.x", "ledger.append", kAction, cost(1));
  REQUIRE_FALSE(failed);
  CHECK(failed.error().code == witness::ErrorCode::kIOError);
  CHECK(failed.error().message == "disk full");
  CHECK(gate.check("agent.x", "ledger.append", kAction, cost(10)).allowed());  // nothing held
  disk_ok = true;
  auto held = gate.reserve("agent.x", "ledger.append", kAction, cost(1));
  REQUIRE(held);
  REQUIRE(held->reservation.has_value());
  REQUIRE(gate.commit(*held->reservation, cost(1)));
}
