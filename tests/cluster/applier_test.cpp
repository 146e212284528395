// Deterministic apply (cluster/applier.hpp) on real ledgers, without NATS: the same stream gives
// the same entries, chain head and root however it is cut into batches and however often the
// replica restarts; every message becomes exactly one entry, at stream seq - 1; each rejection
// names its reason; covenant records need the administrator's signature; budgets and rates hold
// across restarts because the gate is rebuilt from the ledger alone.
#include "witness/cluster/applier.hpp"

#include <algorithm>
#include <optional>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <rapidcheck/catch.h>

#include "witness/covenant/gated_ledger.hpp"
#include "witness/covenant/registry.hpp"
#include "witness/ledger/jsonl.hpp"
#include "witness/ledger/signing.hpp"

#include "temp_dir.hpp"

namespace cl = witness::cluster;
namespace cv = witness::covenant;
namespace wl = witness::ledger;

namespace {

constexpr std::int64_t kT0 = 1'800'000'000'000'000'000;
wl::Timestamp at(std::int64_t ns) { return wl::Timestamp(std::chrono::nanoseconds(ns)); }

wl::TraceNode make_node(const std::string& origin, std::int64_t ts, std::vector<wl::NodeId> links,
                        int n) {
  std::vector<wl::Link> l;
  for (const auto& id : links) l.push_back({.target = id});
  return wl::TraceNode::create(wl::NodeDraft{.origin = origin,
                                             .kind = "agent.act",
                                             .timestamp = at(ts),
                                             .links = std::move(l),
                                             .payload_json = R"({"n":)" + std::to_string(n) + "}"})
      .value();
}

// A replica: a ledger in a temporary directory and its Applier.
struct Replica {
  witness::testing::TempDir dir;
  std::optional<wl::Ledger> ledger;
  std::optional<cl::Applier> applier;
  cl::ApplierOptions options;

  explicit Replica(cl::ApplierOptions o = {}) : options(std::move(o)) {
    ledger.emplace(*wl::Ledger::open(dir / "l", {.create_if_missing = true}));
    applier.emplace(*cl::Applier::open(*ledger, options));
  }
  // A restart: the Applier and the ledger closed and opened again.
  void restart() {
    applier.reset();
    ledger.reset();
    ledger.emplace(*wl::Ledger::open(dir / "l", {}));
    auto a = cl::Applier::open(*ledger, options);
    REQUIRE(a);
    applier.emplace(std::move(*a));
  }
  std::vector<cl::Applied> apply(std::span<const cl::StreamMessage> m) {
    auto r = applier->apply(m);
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r);
    return std::move(*r);
  }
};

// A stream of messages: each a JSON line stamped by the "stream" 1 ms apart.
struct Stream {
  std::vector<cl::StreamMessage> messages;
  void add(std::string body) {
    const auto seq = messages.size() + 1;
    messages.push_back({.stream_seq = seq,
                        .time = at(kT0 + static_cast<std::int64_t>(seq) * 1'000'000),
                        .body = std::move(body)});
  }
  void add(const wl::TraceNode& n) { add(wl::to_json_line(n)); }
};

bool same_applied(const cl::Applied& a, const cl::Applied& b) {
  return a.stream_seq == b.stream_seq && a.seq == b.seq && a.outcome == b.outcome &&
         a.node == b.node && a.reason == b.reason && a.detail == b.detail;
}

}  // namespace

TEST_CASE("apply: identical ledgers from one stream, however batched and restarted") {
  rc::prop("random streams", [] {
    Stream s;
    std::vector<wl::TraceNode> made;
    const auto n = *rc::gen::inRange(1, 60);
    for (int i = 0; i < n; ++i) {
      const auto ts = kT0 + (static_cast<std::int64_t>(s.messages.size()) + 1) * 1'000'000;
      switch (*rc::gen::inRange(0, 8)) {
        case 0:  // a duplicate of an earlier node
          if (!made.empty()) {
            s.add(made[*rc::gen::inRange<std::size_t>(0, made.size())]);
            break;
          }
          [[fallthrough]];
        case 1:  // garbage
          s.add(*rc::gen::element<std::string>("{", "[]", R"({"origin":"a"})", "not json"));
          break;
        case 2:  // a link to nothing
          s.add(make_node("agent.b", ts, {make_node("x", ts, {}, i).id()}, i));
          break;
        case 3:  // from the future
          s.add(make_node("agent.c", ts + 3'600'000'000'000, {}, i));
          break;
        case 4:  // a reserved origin
          s.add(make_node("witness.gate", ts, {}, i));
          break;
        default: {  // a node, perhaps linking to earlier ones
          std::vector<wl::NodeId> links;
          if (!made.empty() && *rc::gen::arbitrary<bool>()) {
            links.push_back(made[*rc::gen::inRange<std::size_t>(0, made.size())].id());
          }
          made.push_back(make_node("agent.a", ts - *rc::gen::inRange(0, 5'000'000), links, i));
          s.add(made.back());
        }
      }
    }
    Replica whole;
    const auto all = whole.apply(s.messages);
    RC_ASSERT(all.size() == s.messages.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
      RC_ASSERT(all[i].seq == i);
      const auto e = whole.ledger->get(i);
      RC_ASSERT(e.has_value());
      RC_ASSERT(same_applied(cl::describe_entry(*e), all[i]));  // the outcome is in the entry
    }
    Replica cut;
    std::size_t from = 0;
    while (from < s.messages.size()) {
      const auto len = *rc::gen::inRange<std::size_t>(1, s.messages.size() - from + 1);
      const auto part = cut.apply(std::span(s.messages).subspan(from, len));
      for (std::size_t i = 0; i < part.size(); ++i) RC_ASSERT(same_applied(part[i], all[from + i]));
      from += len;
      if (*rc::gen::arbitrary<bool>()) cut.restart();
    }
    const auto a = whole.ledger->stats();
    const auto b = cut.ledger->stats();
    RC_ASSERT(a.size == b.size);
    RC_ASSERT(a.merkle_root == b.merkle_root);
    RC_ASSERT(a.chain_head == b.chain_head);
  });
}

TEST_CASE("apply: each rejection names its reason, and the message is the next or nothing") {
  Replica r;
  Stream s;
  const auto first = make_node("agent.a", kT0, {}, 1);
  s.add(first);
  s.add(first);           // 2: duplicate
  s.add("{\"origin\":");  // 3: malformed
  s.add(make_node("agent.a", kT0 + 4'000'000, {make_node("x", kT0, {}, 0).id()}, 4));  // 4
  s.add(make_node("agent.a", kT0 + 5'000'000 + 61'000'000'000, {}, 5));                // 5: skew
  s.add(make_node("witness.detector", kT0 + 6'000'000, {}, 6));  // 6: reserved
  auto later = make_node("agent.a", kT0 + 7'000'000, {}, 7);
  s.add(later);
  s.add(make_node("agent.a", kT0 + 6'500'000, {later.id()}, 8));  // 8: links to a later node
  std::string no_id = wl::to_json_line(make_node("agent.a", kT0, {}, 9));
  no_id.erase(no_id.find("\"id\":"), 72);  // 9: no id
  s.add(no_id);

  // Not the next message: an error, nothing written.
  auto wrong = r.applier->apply(std::span(s.messages).subspan(1, 1));
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().code == witness::ErrorCode::kFailedPrecondition);
  CHECK_THAT(wrong.error().message, Catch::Contains("is not the next one"));
  CHECK(r.ledger->stats().size == 0);

  const auto out = r.apply(s.messages);
  REQUIRE(out.size() == 9);
  const std::vector<std::pair<cl::Outcome, std::string>> want{
      {cl::Outcome::kAppended, ""},           {cl::Outcome::kRejected, "duplicate"},
      {cl::Outcome::kRejected, "malformed"},  {cl::Outcome::kRejected, "unresolved-link"},
      {cl::Outcome::kRejected, "clock-skew"}, {cl::Outcome::kRejected, "reserved-origin"},
      {cl::Outcome::kAppended, ""},           {cl::Outcome::kRejected, "link-later"},
      {cl::Outcome::kRejected, "malformed"}};
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("message " << i + 1 << ": " << out[i].reason << " " << out[i].detail);
    CHECK(out[i].outcome == want[i].first);
    CHECK(out[i].reason == want[i].second);
  }
  CHECK_THAT(out[1].detail, Catch::Contains("already at seq 0"));
  CHECK_THAT(out[8].detail, Catch::Contains("id"));
  // A rejection is a cluster.rejected entry from witness.cluster naming the message.
  const auto e = r.ledger->get(1).value();
  CHECK(e.node.origin() == cl::kClusterOrigin);
  CHECK(e.node.kind() == cl::kRejectedKind);
  const auto p = nlohmann::json::parse(e.node.payload_json());
  CHECK(p["stream_seq"] == 2);
  CHECK(p["node"] == first.id().to_hex());
  CHECK(p["message_sha256"].get<std::string>().size() == 64);
  CHECK(r.applier->next_stream_seq() == 10);
}

TEST_CASE("apply: covenants come through the stream signed by the administrator, and hold") {
  auto admin = wl::SigningKey::generate().value();
  auto stranger = wl::SigningKey::generate().value();
  Replica r({.admin_key = admin.public_key()});
  Stream s;
  cv::Covenant c{.id = "a-v1", .subject = "agent.a", .issuer = "ops"};
  c.rights.rule_sets = {
      cv::make_rule_set({cv::Rule::parse("permit ledger.append kind=agent.*").value()})};
  c.rights.budget[cv::Dimension::kCalls] = 5;
  const auto grant = cv::grant_node(c, {}).value();
  s.add(grant);                           // 1: unsigned: rejected
  s.add(wl::sign_node(stranger, grant));  // 2: by another key: rejected
  s.add(wl::sign_node(admin, grant));     // 3: granted
  std::int64_t t = kT0 + 10'000'000;
  for (int i = 0; i < 4; ++i) s.add(make_node("agent.a", t += 1'000'000, {}, i));  // 4-7
  r.apply(s.messages);
  r.restart();  // the budget spent so far is rebuilt from the ledger
  const auto before = s.messages.size();
  for (int i = 4; i < 10; ++i) s.add(make_node("agent.a", t += 1'000'000, {}, i));  // 8-13
  s.add(make_node("agent.b", t += 1'000'000, {}, 99));  // 14: no covenant for agent.b
  const auto out = r.apply(std::span(s.messages).subspan(before));
  const auto first = r.ledger->get(0).value();
  CHECK(cl::describe_entry(first).reason == "unsigned-covenant-record");
  CHECK(cl::describe_entry(r.ledger->get(1).value()).reason == "unsigned-covenant-record");
  CHECK(cl::describe_entry(r.ledger->get(2).value()).outcome == cl::Outcome::kAppended);
  std::size_t appended = 0;
  std::size_t denied = 0;
  for (std::uint64_t seq = 3; seq < 13; ++seq) {
    const auto d = cl::describe_entry(r.ledger->get(seq).value());
    appended += d.outcome == cl::Outcome::kAppended ? 1U : 0U;
    if (d.outcome == cl::Outcome::kDenied) {
      ++denied;
      CHECK(d.reason == "over-budget");
    }
  }
  CHECK(appended == 5);  // exactly the budget, across the restart
  CHECK(denied == 5);
  REQUIRE(out.back().outcome == cl::Outcome::kDenied);
  CHECK(out.back().reason == "no-covenant");
  // A denial is the gate's own record, stamped no earlier than the stream's time for it.
  const auto denial = r.ledger->get(13).value();
  CHECK(denial.node.origin() == cv::kGateOrigin);
  CHECK(denial.node.kind() == cv::kDenialKind);
  CHECK(denial.node.timestamp() >= s.messages[13].time);
  CHECK(std::find(denial.node.tags().begin(), denial.node.tags().end(), "stream-seq:14") !=
        denial.node.tags().end());
  // Without an administrator key the stream grants nothing.
  Replica plain;
  Stream alone;
  alone.add(wl::sign_node(admin, grant));
  const auto p = plain.apply(alone.messages);
  CHECK(p[0].reason == "unsigned-covenant-record");
  CHECK_THAT(p[0].detail, Catch::Contains("no administrator key"));
}

TEST_CASE("apply: a rate holds on the entries' clock, across a restart") {
  auto admin = wl::SigningKey::generate().value();
  Replica r({.admin_key = admin.public_key()});
  Stream s;
  cv::Covenant c{.id = "r-v1", .subject = "agent.r", .issuer = "ops"};
  c.rights.rate = cv::Rate{.per_second = 10, .burst = 2};
  s.add(wl::sign_node(admin, cv::grant_node(c, {}).value()));
  // 12 nodes 10 ms apart: the bucket starts with 2 and refills one per 100 ms.
  std::int64_t t = kT0 + 5'000'000;
  for (int i = 0; i < 12; ++i) s.add(make_node("agent.r", t += 10'000'000, {}, i));
  const auto whole = r.apply(s.messages);
  Replica again({.admin_key = admin.public_key()});
  std::vector<cl::Applied> cut;
  for (std::size_t i = 0; i < s.messages.size(); ++i) {
    for (auto& a : again.apply(std::span(s.messages).subspan(i, 1))) cut.push_back(a);
    again.restart();
  }
  std::size_t allowed = 0;
  for (std::size_t i = 0; i < whole.size(); ++i) {
    CHECK(same_applied(whole[i], cut[i]));
    allowed += whole[i].outcome == cl::Outcome::kAppended ? 1U : 0U;
  }
  CHECK(allowed == 1 + 2 + 1);  // the grant, the burst, one refill in 120 ms
  CHECK(r.ledger->stats().merkle_root == again.ledger->stats().merkle_root);
}
