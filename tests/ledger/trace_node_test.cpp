#include "witness/ledger/trace_node.hpp"

#include <limits>

#include <catch2/catch.hpp>
#include <rapidcheck/catch.h>

#include "example_node.hpp"
#include "generators.hpp"

using namespace witness::ledger;  // NOLINT(google-build-using-namespace): test file

namespace {

NodeDraft sample_draft() { return witness::testing::example_draft(); }

std::string create_error(NodeDraft d) {
  auto r = TraceNode::create(std::move(d));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == witness::ErrorCode::kInvalidArgument);
  return r.error().message;
}

}  // namespace

TEST_CASE("a node's id is the SHA-256 of its documented canonical encoding", "[ledger][node]") {
  auto node = TraceNode::create(sample_draft());
  REQUIRE(node);
  CHECK(node->payload_json() == R"({"action":"mute","score":0.75,"user":"u-17"})");
  CHECK(node->tags()[0] == "prod");
  // The bytes of docs/ledger_format.md, "canonical encoding", spelled out.
  std::string expected;
  expected += '\x01';
  expected += std::string("\x00\x00\x00\x12", 4) + "gaming.banterpacks";
  expected += std::string("\x00\x00\x00\x0c", 4) + "agent.action";
  expected += std::string("\x18\x7a\x4e\x07\xeb\xfe\x00\x01", 8);
  expected += std::string("\x01\x00\x00\x00\x0a", 5) + "session-42";
  expected += std::string("\x00\x00\x00\x00", 4);
  expected += std::string("\x00\x00\x00\x02", 4) + std::string("\x00\x00\x00\x04", 4) + "prod" +
              std::string("\x00\x00\x00\x06", 4) + "urgent";
  expected +=
      std::string("\x00\x00\x00\x2c", 4) + R"({"action":"mute","score":0.75,"user":"u-17"})";
  CHECK(node->canonical_encoding() == expected);
  CHECK(node->id() == Digest::sha256(expected));
  // Pinned: the same content must give this id on every machine and in every binding.
  CHECK(node->id().to_hex() == "4731cac4f96934f70af3b0094832b2315307464a20ffe35748a903459333e1f1");
}

TEST_CASE("equal content gives equal ids; any field change changes the id", "[ledger][node]") {
  rc::prop("id is deterministic and independent of tag order", [] {
    NodeDraft d = *witness::testing::gen_draft();
    NodeDraft shuffled = d;
    shuffled.tags = witness::testing::shuffled(d.tags);
    auto a = TraceNode::create(d);
    auto b = TraceNode::create(shuffled);
    RC_ASSERT(a.has_value());
    RC_ASSERT(b.has_value());
    RC_ASSERT(a->id() == b->id());
    NodeDraft changed = d;
    changed.timestamp = *d.timestamp + std::chrono::nanoseconds(1);
    RC_ASSERT(TraceNode::create(changed)->id() != a->id());
    changed = d;
    changed.kind += "x";
    RC_ASSERT(TraceNode::create(changed)->id() != a->id());
  });
  auto a = TraceNode::create(sample_draft());
  auto signed_node = a->with_signature(Signature{});
  CHECK(signed_node.id() == a->id());
  CHECK_FALSE(signed_node == *a);
}

TEST_CASE("invalid drafts are rejected with an error naming the field", "[ledger][node]") {
  auto d = sample_draft();
  d.origin = "";
  CHECK(create_error(d) == "origin: empty");
  d = sample_draft();
  d.origin = "bad origin";
  CHECK(create_error(d).starts_with("origin: invalid character ' ' at byte 3"));
  // A byte outside printable ASCII is shown in hex (it read '\x195' for 0xC3).
  d = sample_draft();
  d.origin = "caf\xc3\xa9";
  CHECK(create_error(d).starts_with("origin: invalid character '\\xc3' at byte 3"));
  d = sample_draft();
  d.kind = std::string(257, 'k');
  CHECK(create_error(d).starts_with("kind: longer than 256 bytes"));
  d = sample_draft();
  d.payload_json = "[1,2]";
  CHECK(create_error(d) == "payload: expected a JSON object, got array");
  d = sample_draft();
  d.payload_json = "{\"a\":";
  CHECK(create_error(d).starts_with("payload: at byte 5"));
  d = sample_draft();
  d.payload_json = "{\"a\":\"" + std::string(kMaxPayloadBytes, 'x') + "\"}";
  CHECK(create_error(d).starts_with("payload: larger than 1 MiB"));
  d = sample_draft();
  d.tags = {"a", "a"};
  CHECK(create_error(d) == "tags: duplicate tag \"a\"");
  d = sample_draft();
  d.tags = {"ok", ""};
  CHECK(create_error(d) == "tags[1]: empty");
  d = sample_draft();
  d.walk = "bad\x01";
  CHECK(create_error(d) == "walk: control character");
  d = sample_draft();
  d.walk = "bad\xff";
  CHECK(create_error(d) == "walk: invalid UTF-8");
  d = sample_draft();
  d.links = {Link{LinkRelation::kCauses, Digest{}}, Link{LinkRelation::kCauses, Digest{}}};
  CHECK(create_error(d).starts_with("links: duplicate link causes 0000"));
}

TEST_CASE("a missing timestamp is stamped with the current time", "[ledger][node]") {
  auto d = sample_draft();
  d.timestamp.reset();
  const auto before = std::chrono::system_clock::now();
  auto node = TraceNode::create(d);
  const auto after = std::chrono::system_clock::now();
  REQUIRE(node);
  CHECK(node->timestamp() >= before);
  CHECK(node->timestamp() <= after);
}

TEST_CASE("RFC 3339 times parse and format", "[ledger][node][time]") {
  CHECK(*parse_rfc3339("1970-01-01T00:00:00Z") == Timestamp{});
  CHECK(parse_rfc3339("2026-11-22T10:48:00.5+01:00")->time_since_epoch().count() ==
        1'795'340'880'500'000'000);
  CHECK(format_rfc3339(Timestamp(std::chrono::nanoseconds(1'795'344'480'000'000'001))) ==
        "2026-11-22T10:48:00.000000001Z");
  CHECK(format_rfc3339(Timestamp(std::chrono::nanoseconds(1'795'344'480'120'000'000))) ==
        "2026-11-22T10:48:00.120Z");
  CHECK(format_rfc3339(Timestamp(std::chrono::nanoseconds(1'795'344'480'000'001'000))) ==
        "2026-11-22T10:48:00.000001Z");
  CHECK(format_rfc3339(Timestamp(std::chrono::nanoseconds(-1))) ==
        "1969-12-31T23:59:59.999999999Z");
  CHECK_FALSE(parse_rfc3339("2026-02-30T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2026-11-22T10:48:00"));
  CHECK_FALSE(parse_rfc3339("2026-11-22T24:00:00Z"));
  CHECK_FALSE(parse_rfc3339("9999-12-31T23:59:59Z"));
  CHECK(parse_rfc3339("2026-11-22 10:48:00Z").has_value());
  rc::prop("format then parse is the identity over the node range", [] {
    const auto ns = *rc::gen::oneOf(
        rc::gen::arbitrary<std::int64_t>(),
        rc::gen::inRange<std::int64_t>(kMinTimestampNs, kMinTimestampNs + 1'000'000'000'000),
        rc::gen::inRange<std::int64_t>(kMaxTimestampNs - 1'000'000'000'000, kMaxTimestampNs));
    RC_PRE(ns >= kMinTimestampNs && ns <= kMaxTimestampNs);
    const Timestamp t{std::chrono::nanoseconds(ns)};
    const auto back = parse_rfc3339(format_rfc3339(t));
    RC_ASSERT(back.has_value());
    RC_ASSERT(*back == t);
  });
}

TEST_CASE("a node's timestamp is within 1678..2261, so that every node exports and imports",
          "[ledger][node][time]") {
  // Between INT64_MIN (1677-09-21T00:12:43.145224192Z) and 1678 a node was accepted whose
  // export could not be imported.
  CHECK(format_rfc3339(Timestamp(std::chrono::nanoseconds(kMinTimestampNs))) ==
        "1678-01-01T00:00:00Z");
  CHECK(format_rfc3339(Timestamp(std::chrono::nanoseconds(kMaxTimestampNs))) ==
        "2261-12-31T23:59:59.999999999Z");
  for (const std::int64_t ns : {kMinTimestampNs, kMaxTimestampNs, std::int64_t{0}}) {
    NodeDraft d = sample_draft();
    d.timestamp = Timestamp(std::chrono::nanoseconds(ns));
    REQUIRE(TraceNode::create(d));
  }
  for (const std::int64_t ns : {std::numeric_limits<std::int64_t>::min(), kMinTimestampNs - 1,
                                kMaxTimestampNs + 1, std::numeric_limits<std::int64_t>::max()}) {
    NodeDraft d = sample_draft();
    d.timestamp = Timestamp(std::chrono::nanoseconds(ns));
    CHECK_THAT(create_error(d), Catch::Contains("is outside 1678-01-01T00:00:00Z.."));
  }
  CHECK_FALSE(parse_rfc3339("1677-12-31T23:59:59Z"));
  CHECK_FALSE(parse_rfc3339("2262-01-01T00:00:00Z"));
  CHECK(parse_rfc3339("1678-01-01T00:00:00Z"));
}
