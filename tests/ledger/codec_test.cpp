#include <catch2/catch.hpp>
#include <rapidcheck/catch.h>

#include "witness/ledger/trace_node.hpp"

#include "generators.hpp"
#include "key_codec.hpp"
#include "node_codec.hpp"

using namespace witness::ledger;  // NOLINT(google-build-using-namespace): test file
namespace detail = witness::ledger::detail;

TEST_CASE("stored node bytes round-trip every field", "[ledger][node_codec]") {
  rc::prop("decode(encode(node)) == node, field by field", [] {
    NodeDraft d = *witness::testing::gen_draft();
    d.links = *rc::gen::container<std::vector<Link>>(rc::gen::apply(
        [](int rel, std::uint8_t b) {
          Link l;
          l.relation = static_cast<LinkRelation>(1 + rel % 4);
          l.target.bytes.fill(b);
          return l;
        },
        rc::gen::inRange(0, 4), rc::gen::arbitrary<std::uint8_t>()));
    std::sort(d.links.begin(), d.links.end());
    d.links.erase(std::unique(d.links.begin(), d.links.end()), d.links.end());
    if (*rc::gen::arbitrary<bool>()) d.signature = Signature{};
    auto node = TraceNode::create(d);
    RC_ASSERT(node.has_value());
    const std::string bytes = detail::encode_stored_node(*node);
    auto back = detail::decode_stored_node(bytes);
    RC_ASSERT(back.has_value());
    RC_ASSERT(back->id() == node->id());
    RC_ASSERT(back->origin() == node->origin());
    RC_ASSERT(back->kind() == node->kind());
    RC_ASSERT(back->timestamp() == node->timestamp());
    RC_ASSERT(back->walk() == node->walk());
    RC_ASSERT(std::equal(back->links().begin(), back->links().end(), node->links().begin(),
                         node->links().end()));
    RC_ASSERT(std::equal(back->tags().begin(), back->tags().end(), node->tags().begin(),
                         node->tags().end()));
    RC_ASSERT(back->payload_json() == node->payload_json());
    RC_ASSERT(back->signature() == node->signature());
    // Re-encoding the decoded node gives the same bytes, and its content re-hashes to its id.
    RC_ASSERT(detail::encode_stored_node(*back) == bytes);
    RC_ASSERT(Digest::sha256(back->canonical_encoding()) == back->id());
  });
}

TEST_CASE("corrupt stored bytes give kCorruption, never a crash", "[ledger][node_codec]") {
  NodeDraft d;
  d.origin = "a";
  d.kind = "b";
  d.payload_json = R"({"x":1})";
  const std::string good = detail::encode_stored_node(*TraceNode::create(d));
  CHECK(detail::decode_stored_node(good).has_value());
  CHECK(detail::decode_stored_node("").error().code == witness::ErrorCode::kCorruption);
  CHECK(detail::decode_stored_node(good.substr(0, good.size() - 1)).error().code ==
        witness::ErrorCode::kCorruption);
  CHECK(detail::decode_stored_node(good + "x").error().message == "stored node: 1 trailing bytes");
  rc::prop("truncations and byte flips are rejected or decode to some node", [&] {
    std::string bytes = good;
    const auto pos = *rc::gen::inRange<std::size_t>(0, bytes.size());
    bytes[pos] = static_cast<char>(*rc::gen::arbitrary<std::uint8_t>());
    const auto cut = *rc::gen::inRange<std::size_t>(0, bytes.size() + 1);
    std::ignore = detail::decode_stored_node(bytes.substr(0, cut));
  });
  rc::prop("arbitrary bytes never crash the decoder",
           [](const std::string& bytes) { std::ignore = detail::decode_stored_node(bytes); });
}

TEST_CASE("index keys sort in numeric order", "[ledger][key_codec]") {
  CHECK(detail::seq_key('n', 1) < detail::seq_key('n', 256));
  rc::prop("seq keys: bytewise order equals numeric order", [](std::uint64_t a, std::uint64_t b) {
    RC_ASSERT((a < b) == (detail::seq_key('n', a) < detail::seq_key('n', b)));
  });
  rc::prop("time keys: order by timestamp, then seq",
           [](std::int64_t t1, std::int64_t t2, std::uint64_t s1, std::uint64_t s2) {
             const auto k1 = detail::time_key(Timestamp(std::chrono::nanoseconds(t1)), s1);
             const auto k2 = detail::time_key(Timestamp(std::chrono::nanoseconds(t2)), s2);
             RC_ASSERT((std::pair(t1, s1) < std::pair(t2, s2)) == (k1 < k2));
           });
  rc::prop("term keys: same term orders by seq; trailing_seq recovers it",
           [](const std::string& term, std::uint64_t a, std::uint64_t b) {
             RC_PRE(term.size() < 65536);
             const auto ka = detail::term_key('o', term, a);
             RC_ASSERT((a < b) == (ka < detail::term_key('o', term, b)));
             RC_ASSERT(detail::trailing_seq(ka) == a);
             RC_ASSERT(ka.starts_with(detail::term_prefix('o', term)));
           });
  rc::prop("one term's keys never interleave with another's",
           [](const std::string& t1, const std::string& t2, std::uint64_t s) {
             RC_PRE(t1 != t2);
             RC_ASSERT(!detail::term_key('o', t1, s).starts_with(detail::term_prefix('o', t2)));
           });
}
