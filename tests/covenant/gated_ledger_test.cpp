// Gated append (SPEC 5.5) on a real ledger: every kind of refusal appends only a denial that
// explains it, signatures are checked against the bound key, budgets hold exactly under threads,
// and budget use survives clean restarts exactly and crashes (a forked child that exits without
// closing) conservatively.
#include "witness/covenant/gated_ledger.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <rapidcheck/catch.h>
#include <sys/wait.h>
#include <unistd.h>

#include "witness/covenant/registry.hpp"
#include "witness/ledger/signing.hpp"

#include "temp_dir.hpp"

namespace cv = witness::covenant;
namespace wl = witness::ledger;

namespace {

wl::TraceNode node(const std::string& origin, const std::string& kind,
                   std::vector<std::string> tags = {}, std::string payload = "{}") {
  static std::atomic<int> counter{0};
  // A distinct timestamp per node, so that equal drafts still give distinct ids.
  return wl::TraceNode::create(wl::NodeDraft{.origin = origin,
                                             .kind = kind,
                                             .timestamp = wl::Timestamp(std::chrono::nanoseconds(
                                                 1795341600000000000 + counter.fetch_add(1))),
                                             .tags = std::move(tags),
                                             .payload_json = std::move(payload)})
      .value();
}

cv::Covenant covenant(const std::string& id, const std::string& subject,
                      const std::vector<std::string>& rules, cv::Budget budget = {}) {
  std::vector<cv::Rule> parsed;
  for (const auto& r : rules) parsed.push_back(cv::Rule::parse(r).value());
  return cv::Covenant{.id = id,
                      .subject = subject,
                      .issuer = "ops",
                      .rights = {.rule_sets = {cv::make_rule_set(parsed)}, .budget = budget}};
}

cv::Budget calls(std::uint64_t n) {
  cv::Budget b;
  b[cv::Dimension::kCalls] = n;
  return b;
}

std::size_t count_of(const wl::Ledger& l, const wl::Query& q) {
  auto entries = l.query(q);
  REQUIRE(entries);
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : *entries) ++n;
  REQUIRE(entries->status());
  return n;
}

struct Fixture {
  witness::testing::TempDir dir;
  wl::Ledger ledger = wl::Ledger::open(dir.path(), {.create_if_missing = true}).value();

  void grant(const cv::Covenant& c) {
    auto loaded = cv::load_gate(ledger);
    REQUIRE(loaded);
    REQUIRE(cv::record_grant(ledger, loaded->gate, c, {}));
  }
  std::size_t count(const std::string& origin, const std::string& kind) {
    return count_of(ledger, wl::Query{.origin = origin, .kind = kind});
  }
};

nlohmann::json payload_of(wl::Ledger& l, wl::SequenceNumber seq) {
  return nlohmann::json::parse(l.get(seq).value().node.payload_json());
}

}  // namespace

TEST_CASE("an allowed node is appended and its cost spent", "[covenant][gated]") {
  Fixture f;
  f.grant(covenant("triage@1", "alert.triage", {"permit ledger.append kind=agent.*"}, calls(5)));
  auto g = cv::GatedLedger::open(f.ledger);
  REQUIRE(g);
  const auto n = node("alert.triage", "agent.action", {}, R"({"usage":{"tokens":70}})");
  auto r = g->append(n);
  REQUIRE(r);
  CHECK(r->appended());
  CHECK_FALSE(r->refused());
  CHECK(f.ledger.seq_of(n.id()).value() == std::optional<wl::SequenceNumber>(r->result.seq));
  const auto spent = g->gate().spent("triage@1").value();
  CHECK(spent[cv::Dimension::kCalls] == 1);
  CHECK(spent[cv::Dimension::kTokens] == 70);
  CHECK(spent[cv::Dimension::kBytes] == n.canonical_encoding().size());
  // Appending it again is idempotent and free.
  auto again = g->append(n);
  REQUIRE(again);
  CHECK(again->appended());
  CHECK_FALSE(again->result.inserted);
  CHECK(g->gate().spent("triage@1").value()[cv::Dimension::kCalls] == 1);
}

TEST_CASE("a usage that is not an integer from 0 to 2^53 is refused, saying why",
          "[covenant][gated]") {
  Fixture f;
  cv::Budget budget = calls(100);
  budget[cv::Dimension::kTokens] = 100;
  f.grant(covenant("triage@1", "alert.triage", {"permit ledger.append kind=agent.*"}, budget));
  auto g = cv::GatedLedger::open(f.ledger);
  REQUIRE(g);
  // Each of these counted as 0 tokens before, against a budget of 100.
  const std::vector<std::pair<std::string, std::string>> bad{
      {R"({"usage":{"tokens":1e20}})", "usage.tokens: 1e+20 is not"},
      {R"({"usage":{"tokens":18446744073709551616}})", "usage.tokens: "},
      {R"({"usage":{"tokens":"5000"}})", R"(usage.tokens: "5000" is not)"},
      {R"({"usage":{"tokens":150.5}})", "usage.tokens: 150.5 is not"},
      {R"({"usage":{"tokens":-3}})", "usage.tokens: -3 is not"},
      {R"({"usage":{"cost_micros":9007199254740994}})", "usage.cost_micros: "},
      {R"({"usage":{"wall_time_ms":true}})", "usage.wall_time_ms: true is not"},
      {R"({"usage":7})", "usage: expected an object"}};
  for (const auto& [payload, message] : bad) {
    INFO(payload);
    auto r = g->append(node("alert.triage", "agent.action", {}, payload));
    REQUIRE(r);
    CHECK(r->refused());
    CHECK_FALSE(r->appended());
    CHECK_THAT(r->refusal, Catch::Contains("denied (bad-usage)"));
    CHECK_THAT(r->refusal, Catch::Contains(message));
    const auto denial = payload_of(f.ledger, *r->refusal_seq);
    CHECK(denial["reason"] == "bad-usage");
    CHECK_THAT(denial["explanation"].get<std::string>(), Catch::Contains(message));
  }
  CHECK(f.count("alert.triage", "agent.action") == 0);
  CHECK(g->gate().spent("triage@1").value()[cv::Dimension::kCalls] == 0);
  // The largest exact integer is a valid usage, and 150.0 is 150 in canonical JSON.
  auto fine = g->append(node("alert.triage", "agent.action", {}, R"({"usage":{"tokens":100.0}})"));
  REQUIRE(fine);
  CHECK(fine->appended());
  CHECK(g->gate().spent("triage@1").value()[cv::Dimension::kTokens] == 100);
  CHECK(cv::append_cost(node("a", "b", {}, R"({"usage":{"tokens":9007199254740992}})"))
            .value()[cv::Dimension::kTokens] == cv::kMaxUsage);
}

TEST_CASE("names are compared without regard to letter case", "[covenant][gated]") {
  Fixture f;
  f.grant(covenant("triage@1", "alert.triage",
                   {"permit ledger.append kind=agent.*", "forbid ledger.append tag=pii"},
                   calls(10)));
  auto g = cv::GatedLedger::open(f.ledger);
  REQUIRE(g);
  // A tag PII is the tag pii: forbidden.
  auto pii = g->append(node("alert.triage", "agent.action", {"PII"}));
  REQUIRE(pii);
  CHECK(pii->refused());
  CHECK(pii->decision.reason == cv::Reason::kForbidden);
  // The subject Alert.Triage is the agent alert.triage, and kind Agent.Action matches agent.*.
  auto upper = g->append(node("Alert.Triage", "Agent.Action"));
  REQUIRE(upper);
  CHECK(upper->appended());
  CHECK(g->gate().spent("triage@1").value()[cv::Dimension::kCalls] == 1);
  // A subject differing only by case re-grants the same agent (superseding it).
  cv::Covenant again = covenant("triage@2", "ALERT.TRIAGE", {"permit ledger.append kind=x"});
  auto loaded = cv::load_gate(f.ledger);
  REQUIRE(loaded);
  REQUIRE(cv::record_grant(f.ledger, loaded->gate, again, {}));
  REQUIRE(loaded->gate.covenant_for("alert.triage"));
  CHECK(loaded->gate.covenant_for("alert.triage")->id == "triage@2");
}

TEST_CASE("each refusal appends only a denial that names who, what and why", "[covenant][gated]") {
  Fixture f;
  f.grant(covenant("triage@1", "alert.triage",
                   {"permit ledger.append kind=agent.*", "forbid ledger.append tag=pii"},
                   calls(2)));
  f.grant(covenant("gone@1", "gone", {"permit ledger.append"}));
  {
    auto loaded = cv::load_gate(f.ledger).value();
    REQUIRE(cv::record_revoke(f.ledger, loaded.gate, "gone@1", "test"));
  }
  auto g = cv::GatedLedger::open(f.ledger);
  REQUIRE(g);
  REQUIRE(g->append(node("alert.triage", "agent.action"))->appended());

  struct Case {
    wl::TraceNode n;
    std::string reason;
  };
  std::vector<Case> cases{
      {node("nobody", "agent.action"), "no-covenant"},
      {node("alert.triage", "agent.action", {"pii"}), "forbidden"},
      {node("alert.triage", "detector.alert"), "not-permitted"},
      {node("gone", "agent.action"), "revoked"},
  };
  for (const auto& c : cases) {
    const auto size_before = f.ledger.size();
    auto r = g->append(c.n);
    REQUIRE(r);
    CHECK_FALSE(r->appended());
    CHECK(r->refused());
    CHECK(cv::reason_name(r->decision.reason) == c.reason);
    // Nothing but the denial: the ledger grew by one, and the node is not in it.
    CHECK(f.ledger.size() == size_before + 1);
    CHECK_FALSE(f.ledger.seq_of(c.n.id()).value().has_value());
    const auto entry = f.ledger.get(*r->refusal_seq).value();
    CHECK(entry.node.origin() == "witness.gate");
    CHECK(entry.node.kind() == "covenant.denial");
    const auto p = payload_of(f.ledger, *r->refusal_seq);
    CHECK(p["subject"] == c.n.origin());
    CHECK(p["reason"] == c.reason);
    CHECK(p["node"]["id"] == c.n.id().to_hex());
    CHECK(p["explanation"] == r->refusal);
  }
  const auto forbidden = payload_of(f.ledger, f.ledger.size() - 3);
  CHECK(forbidden["rule"] == "forbid ledger.append tag=pii");
  CHECK(forbidden["remaining"]["calls"] == 1);

  // Over budget: the second allowed node spends the last call; the third is refused.
  REQUIRE(g->append(node("alert.triage", "agent.action"))->appended());
  auto over = g->append(node("alert.triage", "agent.action"));
  REQUIRE(over);
  CHECK(over->decision.reason == cv::Reason::kOverBudget);
  const auto p = payload_of(f.ledger, *over->refusal_seq);
  CHECK(p["exhausted"] == "calls");
  CHECK(p["remaining"]["calls"] == 0);
  CHECK(f.count("alert.triage", "agent.action") == 2);
  CHECK(f.count("witness.gate", "covenant.denial") == 5);
  // With the budget spent, a retry of a node already appended is still acknowledged, free.
  auto mine = f.ledger.query(wl::Query{.origin = "alert.triage", .limit = 1});
  REQUIRE(mine);
  const wl::Entry first = *mine->begin();
  auto retry = g->append(first.node);
  REQUIRE(retry);
  CHECK(retry->appended());
  CHECK_FALSE(retry->refused());
  CHECK_FALSE(retry->result.inserted);
  CHECK(retry->result.seq == first.seq);
  CHECK(f.count("witness.gate", "covenant.denial") == 5);
}

TEST_CASE("expiry is judged on the gate's clock", "[covenant][gated]") {
  Fixture f;
  auto c = covenant("t@1", "agent.t", {"permit ledger.append"});
  c.rights.expires = wl::Timestamp(std::chrono::seconds(1000));
  f.grant(c);
  wl::Timestamp now(std::chrono::seconds(999));
  auto g = cv::GatedLedger::open(f.ledger, {.gate = {.clock = [&] { return now; }}});
  REQUIRE(g);
  CHECK(g->append(node("agent.t", "k"))->appended());
  now = wl::Timestamp(std::chrono::seconds(1000));
  auto r = g->append(node("agent.t", "k"));
  REQUIRE(r);
  CHECK(r->decision.reason == cv::Reason::kExpired);
  CHECK_THAT(r->refusal, Catch::Contains("expired at"));
}

TEST_CASE("a bound key requires a valid signature of the node's id", "[covenant][gated]") {
  Fixture f;
  auto key = wl::SigningKey::generate().value();
  auto other = wl::SigningKey::generate().value();
  auto c = covenant("signer@1", "agent.signer", {"permit ledger.append"});
  c.public_key = key.public_key();
  f.grant(c);
  auto g = cv::GatedLedger::open(f.ledger);
  REQUIRE(g);
  const auto n = node("agent.signer", "agent.action");
  const std::string_view id(reinterpret_cast<const char*>(n.id().bytes.data()), 32);

  auto unsigned_r = g->append(n);
  REQUIRE(unsigned_r);
  CHECK(unsigned_r->decision.reason == cv::Reason::kUnsigned);
  auto forged = g->append(n.with_signature(other.sign(id)));
  REQUIRE(forged);
  CHECK(forged->decision.reason == cv::Reason::kBadSignature);
  // A signature of something else by the right key is no better.
  auto replayed = g->append(n.with_signature(key.sign("another message")));
  REQUIRE(replayed);
  CHECK(replayed->decision.reason == cv::Reason::kBadSignature);
  CHECK_FALSE(f.ledger.seq_of(n.id()).value().has_value());

  auto good = g->append(n.with_signature(key.sign(id)));
  REQUIRE(good);
  CHECK(good->appended());
  CHECK(f.ledger.get(good->result.seq).value().node.signature().has_value());
}

TEST_CASE("an atomic batch with a refused node appends none of it", "[covenant][gated]") {
  Fixture f;
  f.grant(covenant("b@1", "agent.b", {"permit ledger.append kind=agent.*"}, calls(10)));
  auto g = cv::GatedLedger::open(f.ledger);
  REQUIRE(g);
  const std::vector<wl::TraceNode> batch{node("agent.b", "agent.x"), node("agent.b", "other"),
                                         node("agent.b", "agent.y")};
  auto atomic = g->append_batch(batch, witness::ledger::BatchMode::kAtomic);
  REQUIRE(atomic);
  CHECK_FALSE((*atomic)[0].appended());
  CHECK((*atomic)[1].refused());
  CHECK_FALSE((*atomic)[2].appended());
  CHECK(f.count("agent.b", "agent.x") == 0);
  CHECK(f.count("witness.gate", "covenant.denial") == 1);
  CHECK(g->gate().spent("b@1").value()[cv::Dimension::kCalls] == 0);  // holds released

  auto each = g->append_batch(batch, witness::ledger::BatchMode::kEach);
  REQUIRE(each);
  CHECK((*each)[0].appended());
  CHECK((*each)[1].refused());
  CHECK((*each)[2].appended());
  CHECK(f.count("agent.b", "agent.x") == 1);
  CHECK(f.count("witness.gate", "covenant.denial") == 2);
  CHECK(g->gate().spent("b@1").value()[cv::Dimension::kCalls] == 2);
}

TEST_CASE("threads appending at once never overshoot a budget", "[covenant][gated][concurrency]") {
  Fixture f;
  constexpr std::uint64_t kLimit = 150;
  f.grant(covenant("fleet@1", "agent.fleet", {"permit ledger.append"}, calls(kLimit)));
  auto g = cv::GatedLedger::open(f.ledger, {.gate = {.lease_fraction = 16}});
  REQUIRE(g);
  std::atomic<int> appended{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 30; ++i) {
        auto r = g->append(node("agent.fleet", "agent.action"));
        if (r && r->appended()) ++appended;
        if (r && r->refused()) ++refused;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(appended.load() == static_cast<int>(kLimit));
  CHECK(refused.load() == 240 - static_cast<int>(kLimit));
  CHECK(f.count("agent.fleet", "agent.action") == kLimit);
  CHECK(f.count("witness.gate", "covenant.denial") == 240 - kLimit);
}

TEST_CASE("budget use survives a clean restart exactly", "[covenant][gated][restart]") {
  Fixture f;
  f.grant(covenant("r@1", "agent.r", {"permit ledger.append"}, calls(1000)));
  {
    auto g = cv::GatedLedger::open(f.ledger);
    REQUIRE(g);
    for (int i = 0; i < 7; ++i) REQUIRE(g->append(node("agent.r", "k"))->appended());
    REQUIRE(g->close());
  }
  CHECK(f.count("witness.covenant", "covenant.lease") == 1);
  CHECK(f.count("witness.covenant", "covenant.settle") == 1);
  auto g = cv::GatedLedger::open(f.ledger);
  REQUIRE(g);
  CHECK(g->gate().spent("r@1").value()[cv::Dimension::kCalls] == 7);
  const auto d = g->gate().check("agent.r", "ledger.append", {.kind = "k"}, cv::Cost::one_call());
  CHECK(d.remaining[cv::Dimension::kCalls] == std::optional<std::uint64_t>(1000 - 7 - 1));
}

// A session in a forked child: opens the ledger, gates `appends` nodes, then closes cleanly or
// exits at once as a crash would (no settlement, no destructors). Returns how many it appended.
int child_session(const std::filesystem::path& dir, int appends, bool crash) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    int done = 0;
    {
      auto l = wl::Ledger::open(dir, {});
      if (!l) _exit(3);
      auto g = cv::GatedLedger::open(*l, {.gate = {.lease_fraction = 8}});
      if (!g) _exit(4);
      for (int i = 0; i < appends; ++i) {
        // Buffered appends reach the OS before they are acknowledged, so a process crash keeps
        // them; the leases are synced whatever the append's durability.
        // The pid in the payload: each child starts from the parent's node counter.
        auto r = g->append(node("agent.c", "k", {}, "{\"pid\":" + std::to_string(getpid()) + "}"));
        if (r && r->appended() && r->result.inserted) ++done;
      }
      if (crash) {
        (void)!write(fds[1], &done, sizeof done);
        _exit(0);
      }
      if (!g->close()) _exit(5);
    }
    (void)!write(fds[1], &done, sizeof done);
    _exit(0);
  }
  close(fds[1]);
  int done = -1;
  REQUIRE(read(fds[0], &done, sizeof done) == static_cast<ssize_t>(sizeof done));
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return done;
}

TEST_CASE("crashes only make the budget more conservative, never let it overshoot",
          "[covenant][gated][restart]") {
  rc::prop("sessions that crash or close never append more than the budget", [] {
    const auto limit = *rc::gen::inRange<std::uint64_t>(1, 60);
    const auto sessions = *rc::gen::container<std::vector<std::pair<int, bool>>>(
        *rc::gen::inRange<std::size_t>(1, 5),
        rc::gen::pair(rc::gen::inRange(0, 40), rc::gen::arbitrary<bool>()));
    witness::testing::TempDir dir;
    {
      auto l = wl::Ledger::open(dir.path(), {.create_if_missing = true}).value();
      auto loaded = cv::load_gate(l).value();
      RC_ASSERT(cv::record_grant(l, loaded.gate,
                                 covenant("c@1", "agent.c", {"permit ledger.append"}, calls(limit)),
                                 {})
                    .has_value());
    }
    std::uint64_t appended = 0;
    std::uint64_t asked = 0;
    bool crashed = false;
    for (const auto& [n, crash] : sessions) {
      appended += static_cast<std::uint64_t>(child_session(dir.path(), n, crash));
      asked += static_cast<std::uint64_t>(n);
      crashed = crashed || crash;
    }
    auto l = wl::Ledger::open(dir.path(), {}).value();
    const auto in_ledger = count_of(l, wl::Query{.origin = "agent.c"});
    RC_ASSERT(in_ledger == appended);  // every acknowledged node is there
    RC_ASSERT(appended <= limit);      // and never more than the budget
    auto g = cv::GatedLedger::open(l).value();
    const auto spent = g.gate().spent("c@1").value()[cv::Dimension::kCalls];
    RC_ASSERT(spent >= appended);  // the gate counts at least what was spent
    if (!crashed) {
      RC_ASSERT(spent == appended);                   // exactly that after clean closes
      RC_ASSERT(appended == std::min(asked, limit));  // and nothing is refused while budget lasts
    }
  });
}

TEST_CASE("a restart resumes the rate bucket, and a crash leaves it empty",
          "[covenant][gated][restart]") {
  // A fixed clock: no refill unless the test moves it. Before, every restart (each run of
  // `witness append`) began with a full bucket, so restarting was a way around the rate.
  const wl::Timestamp t0(std::chrono::seconds(1'800'000'000));
  witness::testing::TempDir dir;
  {
    auto l = wl::Ledger::open(dir.path(), {.create_if_missing = true}).value();
    auto loaded = cv::load_gate(l).value();
    cv::Covenant c = covenant("r@1", "agent.r", {"permit ledger.append"});
    c.rights.rate = cv::Rate{.per_second = 1, .burst = 3};
    REQUIRE(cv::record_grant(l, loaded.gate, c, {}));
  }
  // One session at time `at`: n appends, their reasons; a clean close unless `crash`.
  const auto session = [&](wl::Timestamp at, int n) {
    auto l = wl::Ledger::open(dir.path(), {}).value();
    auto g = cv::GatedLedger::open(l, {.gate = {.clock = [at] { return at; }}}).value();
    std::vector<cv::Reason> reasons;
    for (int i = 0; i < n; ++i)
      reasons.push_back(g.append(node("agent.r", "k")).value().decision.reason);
    REQUIRE(g.close());
    return reasons;
  };
  using R = cv::Reason;
  CHECK(session(t0, 2) == std::vector<R>{R::kAllowed, R::kAllowed});
  // The bucket had 1 left: a clean restart at the same instant resumes it.
  CHECK(session(t0, 2) == std::vector<R>{R::kAllowed, R::kRateLimited});
  // Refill is measured from the recorded instant: 2 s later, 2 calls.
  CHECK(session(t0 + std::chrono::seconds(2), 3) ==
        std::vector<R>{R::kAllowed, R::kAllowed, R::kRateLimited});
  // A crash: a child appends once (its bucket full again after 10 s) and exits without closing.
  const wl::Timestamp t1 = t0 + std::chrono::seconds(20);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto l = wl::Ledger::open(dir.path(), {});
    if (!l) _exit(3);
    auto g = cv::GatedLedger::open(*l, {.gate = {.clock = [t1] { return t1; }}});
    if (!g) _exit(4);
    // Its own payload: the child shares the parent's node counter, so node() alone would make
    // the parent's next node this one (acknowledged as present, never refused).
    auto r = g->append(node("agent.r", "k", {}, R"({"child":true})"));
    _exit(r && r->appended() ? 0 : 5);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  // How much the crashed session used is unknown: the restart starts with an empty bucket.
  CHECK(session(t1, 1) == std::vector<R>{R::kRateLimited});
  CHECK(session(t1 + std::chrono::seconds(1), 2) == std::vector<R>{R::kAllowed, R::kRateLimited});
}

TEST_CASE("denial records are bounded per subject and window; the rest are counted",
          "[covenant][gated]") {
  Fixture f;
  f.grant(covenant("triage@1", "alert.triage", {"permit ledger.append kind=agent.*"}));
  auto now = std::make_shared<wl::Timestamp>(std::chrono::seconds(1'800'000'000));
  auto g = cv::GatedLedger::open(f.ledger, {.gate = {.clock = [now] { return *now; }},
                                            .max_denials = 3,
                                            .denial_window = std::chrono::seconds(60)})
               .value();
  const auto refuse = [&](const std::string& origin) {
    auto r = g.append(node(origin, "tool.call"));
    REQUIRE(r);
    REQUIRE(r->refused());
    return r->refusal_seq.has_value();
  };
  // An agent with no rights: 3 records, then refusals go uncounted in the ledger one by one.
  for (int i = 0; i < 3; ++i) CHECK(refuse("mallory"));
  for (int i = 0; i < 7; ++i) CHECK_FALSE(refuse("Mallory"));  // the same subject, any case
  CHECK(f.count("witness.gate", "covenant.denial") == 3);
  // Another subject has its own bound.
  CHECK(refuse("alert.triage"));
  // The next window: the next record counts the 7 that were not recorded.
  *now += std::chrono::seconds(61);
  auto r = g.append(node("mallory", "tool.call"));
  REQUIRE(r);
  REQUIRE(r->refusal_seq.has_value());
  CHECK(payload_of(f.ledger, *r->refusal_seq)["suppressed"] == 7);
  CHECK_THAT(r->refusal_message(), Catch::Contains(" (covenant.denial at seq "));
  CHECK(refuse("mallory"));
  CHECK(refuse("mallory"));
  auto over = g.append(node("mallory", "tool.call"));
  REQUIRE(over);
  CHECK_FALSE(over->refusal_seq.has_value());
  CHECK_THAT(over->refusal_message(), Catch::Contains("counted in the next one"));
  // close() writes what is still uncounted as one summary.
  REQUIRE(g.close());
  auto summaries =
      f.ledger.query(wl::Query{.origin = "witness.gate", .tags = {"reason:suppressed"}});
  REQUIRE(summaries);
  std::vector<nlohmann::json> found;
  for (const auto& e : *summaries) found.push_back(nlohmann::json::parse(e.node.payload_json()));
  REQUIRE(found.size() == 1);
  CHECK(found[0]["subject"] == "mallory");
  CHECK(found[0]["suppressed"] == 1);
  CHECK(f.count("witness.gate", "covenant.denial") == 3 + 1 + 3 + 1);
}

TEST_CASE("require_signature: a covenant that binds no key refuses every node",
          "[covenant][gated]") {
  Fixture f;
  auto key = wl::SigningKey::generate().value();
  auto keyed = covenant("signer@1", "agent.signer", {"permit ledger.append"});
  keyed.public_key = key.public_key();
  f.grant(keyed);
  f.grant(covenant("open@1", "agent.open", {"permit ledger.append"}));
  auto g = cv::GatedLedger::open(f.ledger, {.require_signature = true});
  REQUIRE(g);
  const auto open_node = node("agent.open", "agent.action");
  auto refused = g->append(open_node);
  REQUIRE(refused);
  CHECK(refused->decision.reason == cv::Reason::kUnsigned);
  CHECK_THAT(refused->refusal, Catch::Contains("binds none"));
  const auto n = node("agent.signer", "agent.action");
  const std::string_view id(reinterpret_cast<const char*>(n.id().bytes.data()), 32);
  CHECK(g->append(n)->decision.reason == cv::Reason::kUnsigned);
  auto good = g->append(n.with_signature(key.sign(id)));
  REQUIRE(good);
  CHECK(good->appended());
  // Without the option, the keyless covenant's nodes go in unsigned, as before.
  auto plain = cv::GatedLedger::open(f.ledger);
  REQUIRE(plain);
  CHECK(plain->append(node("agent.open", "agent.action"))->appended());
}
