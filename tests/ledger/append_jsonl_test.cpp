// append_jsonl: the one JSON Lines appender behind `witness append`, `import` and Python.
#include "witness/ledger/append_jsonl.hpp"

#include <atomic>
#include <sstream>

#include <catch2/catch.hpp>

#include "witness/ledger/jsonl.hpp"

#include "temp_dir.hpp"

using namespace witness::ledger;  // NOLINT(google-build-using-namespace): test file
using witness::testing::TempDir;

namespace {

Ledger open_new(const TempDir& dir) {
  auto l = Ledger::open(dir / "ledger", OpenOptions{.create_if_missing = true});
  REQUIRE(l.has_value());
  return std::move(*l);
}

std::string line(int n, const std::string& origin = "agent.a") {
  return R"({"origin":")" + origin + R"(","kind":"k","timestamp":)" +
         std::to_string(1'800'000'000'000'000'000 + n) + R"(,"payload":{"n":)" + std::to_string(n) +
         "}}\n";
}

struct Seen {
  std::vector<std::uint64_t> appended;  // lines
  std::vector<std::string> bad;         // messages
  std::vector<std::uint64_t> order;     // every line reported, in report order
};

JsonlEvents record(Seen& seen) {
  JsonlEvents e;
  e.on_line = [&seen](std::uint64_t n, const TraceNode&, const Appended& a) {
    if (a.appended()) seen.appended.push_back(n);
    seen.order.push_back(n);
  };
  e.on_bad_line = [&seen](const witness::Error& err) {
    seen.bad.push_back(err.message);
    seen.order.push_back(std::stoull(err.message.substr(5)));
  };
  return e;
}

// A fault injector in the decorator style of the appenders: after `good` appends it fails as a
// broken disk would (kIOError), passing nothing on.
class FailingAfter final : public Appender {
 public:
  FailingAfter(Appender& inner, int good) : inner_(&inner), left_(good) {}
  witness::Result<Appended> append(const TraceNode& node) override {
    if (left_-- <= 0) return witness::io_error("disk gone");
    return inner_->append(node);
  }
  witness::Result<std::vector<Appended>> append_batch(std::span<const TraceNode> nodes,
                                                      BatchMode mode) override {
    if (left_ <= 0) return witness::io_error("disk gone");
    left_ -= static_cast<int>(nodes.size());
    return inner_->append_batch(nodes, mode);
  }
  [[nodiscard]] const Ledger& ledger() const override { return inner_->ledger(); }
  witness::Status close() override { return inner_->close(); }

 private:
  Appender* inner_;
  int left_;
};

}  // namespace

TEST_CASE("atomic: a bad line names its line and nothing is written", "[ledger][jsonl]") {
  TempDir dir;
  auto l = open_new(dir);
  auto out = plain_appender(l);
  std::istringstream in(line(1) + line(2) + "{\"origin\":\"a.b\"}\n" + line(4));
  auto r = append_jsonl(*out, in, {});
  REQUIRE_FALSE(r);
  CHECK(r.error().message.starts_with("line 3: kind"));
  CHECK(l.size() == 0);

  std::istringstream good(line(1) + line(2) + line(1));
  Seen seen;
  auto ok = append_jsonl(*out, good, {}, record(seen));
  REQUIRE(ok);
  CHECK(ok->lines == 3);
  CHECK(ok->inserted == 2);
  CHECK(ok->present == 1);
  CHECK(seen.appended == std::vector<std::uint64_t>{1, 2, 3});
}

TEST_CASE("atomic: an error of the ledger names the line of its node", "[ledger][jsonl]") {
  TempDir dir;
  auto l = open_new(dir);
  auto out = plain_appender(l);
  // witness.* origins are refused by the ledger itself (not by the parser).
  std::istringstream in(line(1) + line(2, "witness.gate"));
  auto r = append_jsonl(*out, in, {});
  REQUIRE_FALSE(r);
  CHECK(r.error().message.starts_with("line 2: origin witness.gate is reserved"));
  CHECK(l.size() == 0);
}

TEST_CASE("import mode requires and checks ids", "[ledger][jsonl]") {
  TempDir dir;
  auto l = open_new(dir);
  auto out = plain_appender(l);
  std::istringstream in(line(1));
  auto r = append_jsonl(*out, in, {.require_ids = true});
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "line 1: id: missing (import takes exported lines)");
}

TEST_CASE("stream: bad lines are skipped and every line is reported in order",
          "[ledger][jsonl][concurrency]") {
  TempDir dir;
  auto l = open_new(dir);
  auto out = plain_appender(l);
  std::string text;
  for (int i = 1; i <= 50; ++i) {
    if (i % 7 == 0) {
      text += "not json\n";
    } else if (i % 11 == 0) {
      text += line(i, "witness.forged");  // parses; the ledger refuses it: its group is retried
    } else {
      text += line(i);
    }
  }
  std::istringstream in(text);
  Seen seen;
  // Small groups and a small queue, so that the reader waits for room and groups retry.
  auto r = append_jsonl(*out, in, {.stream = true, .max_group = 4, .max_queued = 3}, record(seen));
  REQUIRE(r);
  CHECK(r->lines == 50);
  CHECK(r->bad == 7 + 4);  // 7 14 21 28 35 42 49; 11 22 33 44
  CHECK(r->inserted == 50 - 11);
  CHECK(l.size() == 50 - 11);
  std::vector<std::uint64_t> all(50);
  for (std::uint64_t i = 0; i < 50; ++i) all[i] = i + 1;
  CHECK(seen.order == all);
  REQUIRE(seen.bad.size() == 11);
  CHECK(seen.bad[0].starts_with("line 7: "));
  CHECK(seen.bad[1].starts_with("line 11: origin witness.forged is reserved"));
}

TEST_CASE("stream: a link to a bad line fails clearly", "[ledger][jsonl][concurrency]") {
  TempDir dir;
  auto l = open_new(dir);
  auto out = plain_appender(l);
  std::istringstream in(
      "oops\n" + std::string(R"({"origin":"a.b","kind":"k","links":[{"relation":"causes",)") +
      R"("target":"line:1"}]})" + "\n");
  Seen seen;
  auto r = append_jsonl(*out, in, {.stream = true}, record(seen));
  REQUIRE(r);
  CHECK(r->bad == 2);
  REQUIRE(seen.bad.size() == 2);
  CHECK(seen.bad[1].starts_with("line 2: links"));
}

TEST_CASE("stream: a ledger error stops the stream and names the line",
          "[ledger][jsonl][concurrency]") {
  TempDir dir;
  auto l = open_new(dir);
  auto plain = plain_appender(l);
  FailingAfter out(*plain, 3);
  std::string text;
  for (int i = 1; i <= 20; ++i) text += line(i);
  std::istringstream in(text);
  Seen seen;
  auto r = append_jsonl(out, in, {.stream = true, .max_group = 2}, record(seen));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == witness::ErrorCode::kIOError);
  CHECK(r.error().message.starts_with("line "));
  CHECK(r.error().message.ends_with(": disk gone"));
  // What was acknowledged is in the ledger, and nothing after the failure was.
  CHECK(seen.appended.size() == l.size());
  CHECK(l.size() <= 4);
}

TEST_CASE("an overlong line stops the stream input there", "[ledger][jsonl]") {
  TempDir dir;
  auto l = open_new(dir);
  auto out = plain_appender(l);
  std::istringstream in(line(1) + std::string(kMaxLineBytes + 1, 'x') + "\n" + line(3));
  Seen seen;
  auto r = append_jsonl(*out, in, {.stream = true}, record(seen));
  REQUIRE(r);
  CHECK(r->inserted == 1);
  REQUIRE(seen.bad.size() == 1);
  CHECK(seen.bad[0].ends_with("input stops here"));
}

TEST_CASE("append_jsonl refuses empty bounds", "[ledger][jsonl]") {
  TempDir dir;
  auto l = open_new(dir);
  auto out = plain_appender(l);
  std::istringstream in(line(1));
  CHECK_FALSE(append_jsonl(*out, in, {.stream = true, .max_group = 0}));
}

TEST_CASE("a parsed line's node has the id TraceNode::create gives its fields", "[ledger][jsonl]") {
  // parse_node_line writes the payload canonical and resolve_node_line does not parse it again:
  // the ids must still be create()'s for any spelling of the same payload.
  const std::vector<std::string> payloads = {
      R"({})",
      R"({ "b" : 1, "a" : [ 1.0, 2e2, -0, 1E-7 ] })",
      R"({"z":{"y":"\u00e9\n","x":null},"é":"\ud83d\ude00","n":12345678901234567890})",
      R"({"a":true,"A":false,"":"empty key","nested":[[],{},[{"k":0.1}]]})",
  };
  for (const auto& payload : payloads) {
    INFO(payload);
    const std::string text = R"({"origin":"a.b","kind":"k","timestamp":1800000000000000000,)"
                             R"("tags":["t2","t1"],"payload":)" +
                             payload + "}";
    auto parsed = parse_node_line(text);
    REQUIRE(parsed);
    CHECK(parsed->payload_canonical);
    auto fast = resolve_node_line(*parsed, nullptr, {});
    REQUIRE(fast);
    auto slow = TraceNode::create(
        NodeDraft{.origin = "a.b",
                  .kind = "k",
                  .timestamp = Timestamp(std::chrono::nanoseconds(1'800'000'000'000'000'000)),
                  .tags = {"t1", "t2"},
                  .payload_json = payload});
    REQUIRE(slow);
    CHECK(fast->id() == slow->id());
    CHECK(fast->payload_json() == slow->payload_json());
    // A hand-built NodeLine (payload_canonical false) is canonicalised as create() does.
    NodeLine by_hand;
    by_hand.draft =
        NodeDraft{.origin = "a.b",
                  .kind = "k",
                  .timestamp = Timestamp(std::chrono::nanoseconds(1'800'000'000'000'000'000)),
                  .tags = {"t1", "t2"},
                  .payload_json = payload};
    auto safe = resolve_node_line(by_hand, nullptr, {});
    REQUIRE(safe);
    CHECK(safe->id() == slow->id());
  }
}

TEST_CASE("atomic: a large input is parsed in parallel with the same result and errors",
          "[ledger][append_jsonl][concurrency]") {
  // 6000 lines (past the parallel threshold): every 7th links to the line before it with
  // "line:N", which is finished after the parallel pass; the rest are independent.
  constexpr int kLines = 6000;
  const auto input = [](int bad_at, int overlong_at) {
    std::string text;
    for (int i = 1; i <= kLines; ++i) {
      if (i == bad_at) {
        text += R"({"origin":"agent.a","kind":"k","payload":[1]})"
                "\n";
      } else if (i == overlong_at) {
        text += std::string(kMaxLineBytes + 1, ' ') + "\n";
      } else if (i % 7 == 0) {
        text += R"({"origin":"agent.l","kind":"k","timestamp":)" +
                std::to_string(1'800'000'000'000'000'000 + i) +
                R"(,"links":[{"relation":"causes","target":"line:)" + std::to_string(i - 1) +
                R"("}],"payload":{"n":)" + std::to_string(i) + "}}\n";
      } else {
        text += line(i);
      }
    }
    return text;
  };
  TempDir dir;
  Ledger l = open_new(dir);
  auto appender = plain_appender(l);
  SECTION("every line, links to earlier lines resolved") {
    std::istringstream in(input(0, 0));
    std::uint64_t progress = 0;
    JsonlEvents events;
    events.on_progress = [&](std::uint64_t n) {
      CHECK(n == progress + 1);  // in line order
      progress = n;
    };
    auto r = append_jsonl(*appender, in, {}, events);
    REQUIRE(r);
    CHECK(r->inserted == kLines);
    CHECK(progress == kLines);
    for (SequenceNumber seq : {6U, 13U, 5991U}) {  // lines 7, 14, ..., 5992 are seqs 6, 13, ...
      auto e = l.get(seq);
      REQUIRE(e);
      REQUIRE(e->node.links().size() == 1);
      CHECK(e->node.links()[0].target == l.get(seq - 1)->node.id());
    }
    CHECK(l.verify()->ok());
  }
  SECTION("the first bad line in line order is the error, and nothing is written") {
    std::istringstream in(input(4000, 0));
    auto r = append_jsonl(*appender, in, {}, {});
    REQUIRE_FALSE(r);
    CHECK(r.error().message.starts_with("line 4000: payload"));
    CHECK(l.size() == 0);
  }
  SECTION("a bad line before an overlong one is reported first; the overlong one otherwise") {
    std::istringstream first(input(100, 5000));
    auto r = append_jsonl(*appender, first, {}, {});
    REQUIRE_FALSE(r);
    CHECK(r.error().message.starts_with("line 100: payload"));
    std::istringstream second(input(0, 5000));
    r = append_jsonl(*appender, second, {}, {});
    REQUIRE_FALSE(r);
    CHECK(r.error().message.starts_with("line 5000: longer than"));
    CHECK(l.size() == 0);
  }
}
