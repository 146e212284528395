#include "witness/ledger/ledger.hpp"

#include <atomic>
#include <csignal>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <range/v3/iterator/concepts.hpp>
#include <range/v3/range/concepts.hpp>
#include <rapidcheck/catch.h>
#include <rocksdb/db.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "witness/ledger/append_jsonl.hpp"
#include "witness/ledger/jsonl.hpp"

#include "generators.hpp"
#include "node_codec.hpp"
#include "raw_db.hpp"
#include "temp_dir.hpp"

using namespace witness::ledger;  // NOLINT(google-build-using-namespace): test file
using witness::testing::TempDir;

namespace {

Ledger open_new(const TempDir& dir, const std::string& name = "ledger") {
  auto l = Ledger::open(dir / name, OpenOptions{.create_if_missing = true});
  REQUIRE(l.has_value());
  return std::move(*l);
}

// What `witness import` does: exported lines, ids checked, one atomic batch.
witness::Result<JsonlAppendSummary> import_export(Ledger& ledger, std::istream& in) {
  auto out = plain_appender(ledger);
  return append_jsonl(*out, in, {.require_ids = true});
}

TraceNode make_node(const std::string& origin, const std::string& kind, std::int64_t ts,
                    std::vector<Link> links = {}, std::string payload = R"({"n":1})") {
  NodeDraft d;
  d.origin = origin;
  d.kind = kind;
  d.timestamp = Timestamp(std::chrono::nanoseconds(ts));
  d.links = std::move(links);
  d.payload_json = std::move(payload);
  auto n = TraceNode::create(std::move(d));
  REQUIRE(n.has_value());
  return *n;
}

std::vector<Entry> all_entries(const Ledger& l) {
  std::vector<Entry> out;
  REQUIRE(l.replay({}, [&](const Entry& e) {
    out.push_back(e);
    return witness::ok_status();
  }));
  return out;
}

std::vector<SequenceNumber> run_query(const Ledger& l, const Query& q,
                                      std::optional<Cursor>* next = nullptr) {
  auto r = l.query(q);
  REQUIRE(r.has_value());
  std::vector<SequenceNumber> seqs;
  for (const Entry& e : *r) seqs.push_back(e.seq);
  REQUIRE(r->status());
  if (next != nullptr) *next = r->next_cursor();
  return seqs;
}

// Writes `value` under `key` behind the ledger's back (the ledger must be closed).
// A directory without a database gets a plain RocksDB one (some other program's).
void poke(const std::filesystem::path& dir, const std::string& key, const std::string& value) {
  if (std::filesystem::exists(dir / "CURRENT")) {
    witness::testing::RawDb(dir).put(key, value);
    return;
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Options options;
  options.create_if_missing = true;
  REQUIRE(rocksdb::DB::Open(options, dir.string(), &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  REQUIRE(db->Put(rocksdb::WriteOptions(), key, value).ok());
}

std::string seq_key(char prefix, std::uint64_t seq) {
  std::string k(1, prefix);
  for (int i = 7; i >= 0; --i)
    k.push_back(static_cast<char>((seq >> (8U * static_cast<unsigned>(i))) & 0xFFU));
  return k;
}

}  // namespace

// A QueryResult is an input range to the standard library and to range-v3 alike, so both
// libraries' views and algorithms take it.
static_assert(std::ranges::input_range<QueryResult>);
static_assert(ranges::input_range<QueryResult>);
static_assert(ranges::input_iterator<QueryResult::iterator>);

TEST_CASE("appends get gapless seqs and read back", "[ledger]") {
  TempDir dir;
  auto l = open_new(dir);
  CHECK(l.size() == 0);
  for (int i = 0; i < 5; ++i) {
    auto r = l.append(make_node("agent.a", "agent.action", 1000 + i));
    REQUIRE(r);
    CHECK(r->seq == static_cast<SequenceNumber>(i));
    CHECK(r->inserted);
  }
  CHECK(l.size() == 5);
  auto e = l.get(3);
  REQUIRE(e);
  CHECK(e->node.timestamp().time_since_epoch().count() == 1003);
  auto f = l.find(e->node.id());
  REQUIRE(f);
  CHECK(f->seq == 3);
  CHECK(l.get(5).error().code == witness::ErrorCode::kNotFound);
  CHECK(l.find(Digest{}).error().code == witness::ErrorCode::kNotFound);
  CHECK(*l.seq_of(e->node.id()) == std::optional<SequenceNumber>(3));
}

TEST_CASE("re-appending a present node is idempotent", "[ledger]") {
  TempDir dir;
  auto l = open_new(dir);
  const auto n = make_node("agent.a", "agent.action", 1);
  REQUIRE(l.append(make_node("agent.a", "agent.action", 0)));
  const auto first = l.append(n);
  REQUIRE(first);
  const auto head = l.stats().chain_head;
  const auto again = l.append(n);
  REQUIRE(again);
  CHECK(again->seq == first->seq);
  CHECK_FALSE(again->inserted);
  CHECK(l.size() == 2);
  CHECK(l.stats().chain_head == head);
  // Within one batch, a repeated node maps to the seq of its first occurrence.
  const auto m = make_node("agent.a", "agent.action", 2);
  auto batch = l.append_batch(std::vector<TraceNode>{m, m, n});
  REQUIRE(batch);
  CHECK((*batch)[0] == AppendResult{2, true});
  CHECK((*batch)[1] == AppendResult{2, false});
  CHECK((*batch)[2] == AppendResult{1, false});
  CHECK(l.size() == 3);
}

TEST_CASE("a batch with a bad node appends nothing", "[ledger]") {
  TempDir dir;
  auto l = open_new(dir);
  const auto root = make_node("agent.a", "agent.action", 10);
  REQUIRE(l.append(root));
  const auto head = l.stats().chain_head;
  Digest missing;
  missing.bytes.fill(7);
  std::vector<TraceNode> batch{
      make_node("agent.a", "x", 11), make_node("agent.b", "x", 12),
      make_node("agent.b", "x", 13, {Link{LinkRelation::kCauses, missing}})};
  auto r = l.append_batch(batch);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == witness::ErrorCode::kInvalidArgument);
  CHECK(r.error().message == "node 2: links: target " + missing.to_hex() + " is not in the ledger");
  CHECK(l.size() == 1);
  CHECK(l.stats().chain_head == head);
  CHECK_FALSE(*l.seq_of(batch[0].id()));
  CHECK(run_query(l, Query{.origin = "agent.b"}).empty());

  SECTION("a link to a later timestamp is rejected") {
    auto later = l.append(make_node("agent.a", "x", 5, {Link{LinkRelation::kCauses, root.id()}}));
    REQUIRE_FALSE(later);
    CHECK(later.error().message.find("has a later timestamp") != std::string::npos);
  }
  SECTION("a link to an earlier node of the same batch is accepted") {
    const auto cause = make_node("agent.a", "x", 20);
    const auto effect = make_node("agent.b", "y", 21, {Link{LinkRelation::kCauses, cause.id()}});
    auto ok = l.append_batch(std::vector<TraceNode>{cause, effect});
    REQUIRE(ok);
    CHECK(l.size() == 3);
  }
  SECTION("property: any failing batch leaves the ledger unchanged") {
    rc::prop("failed batch is a no-op", [&] {
      const auto before = l.stats();
      // Up to 20 valid nodes around the bad one: enough to cover every position, cheap to generate.
      const auto count = *rc::gen::inRange<std::size_t>(0, 20);
      auto drafts =
          *rc::gen::container<std::vector<NodeDraft>>(count, witness::testing::gen_draft());
      std::vector<TraceNode> nodes;
      for (auto& d : drafts) nodes.push_back(*TraceNode::create(d));
      nodes.insert(
          nodes.begin() + static_cast<long>(*rc::gen::inRange<std::size_t>(0, nodes.size() + 1)),
          make_node("agent.a", "x", kMaxTimestampNs, {Link{LinkRelation::kCauses, missing}}));
      RC_ASSERT_FALSE(l.append_batch(nodes).has_value());
      const auto after = l.stats();
      RC_ASSERT(after.size == before.size);
      RC_ASSERT(after.chain_head == before.chain_head);
    });
  }
}

TEST_CASE("a reopened ledger keeps its entries, head and id", "[ledger]") {
  TempDir dir;
  LedgerStats before;
  {
    auto l = open_new(dir);
    for (int i = 0; i < 10; ++i) REQUIRE(l.append(make_node("agent.a", "k", i)));
    before = l.stats();
  }
  auto l = Ledger::open(dir / "ledger", OpenOptions{});
  REQUIRE(l);
  const auto after = l->stats();
  CHECK(after.size == 10);
  CHECK(after.chain_head == before.chain_head);
  CHECK(after.ledger_id == before.ledger_id);
  CHECK(after.ledger_id.size() == 32);
  auto r = l->append(make_node("agent.a", "k", 100));
  REQUIRE(r);
  CHECK(r->seq == 10);
  REQUIRE(l->replay(ReplayOptions{.verify_chain = true},
                    [](const Entry&) { return witness::ok_status(); }));
}

TEST_CASE("open refuses what is not a ledger of this format", "[ledger]") {
  TempDir dir;
  auto missing = Ledger::open(dir / "absent", OpenOptions{});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == witness::ErrorCode::kNotFound);
  CHECK(missing.error().message.find("no ledger at") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "absent"));

  { auto l = open_new(dir); }
  poke(dir / "ledger", "#format_version", std::string("\x00\x00\x00\x63", 4));
  auto wrong = Ledger::open(dir / "ledger", OpenOptions{});
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().code == witness::ErrorCode::kFailedPrecondition);
  CHECK(wrong.error().message.find("has format version 99; this build reads version 2") !=
        std::string::npos);

  // A directory whose CURRENT is not RocksDB's: refused, and nothing is written into it.
  std::filesystem::create_directories(dir / "junk");
  { std::ofstream(dir / "junk" / "CURRENT") << "not a manifest name"; }
  for (const bool ro : {false, true}) {
    auto junk = Ledger::open(dir / "junk", OpenOptions{.read_only = ro});
    REQUIRE_FALSE(junk);
    CHECK(junk.error().code == witness::ErrorCode::kFailedPrecondition);
    CHECK(junk.error().message.find("is not a witness ledger (its CURRENT file") !=
          std::string::npos);
  }
  CHECK(std::distance(std::filesystem::directory_iterator(dir / "junk"),
                      std::filesystem::directory_iterator()) == 1);

  poke(dir / "other", "some-key", "v");
  auto other = Ledger::open(dir / "other", OpenOptions{.create_if_missing = true});
  REQUIRE_FALSE(other);
  CHECK(other.error().message.find("not a witness ledger") != std::string::npos);
}

TEST_CASE("close releases the ledger; a second writable open in one process says why it fails",
          "[ledger]") {
  TempDir dir;
  auto missing = Ledger::open(dir / "absent", OpenOptions{});
  REQUIRE_FALSE(missing);
  // The library's message names the library's option, not a CLI command.
  CHECK(missing.error().message == "no ledger at " + (dir / "absent").string() +
                                       " (OpenOptions::create_if_missing creates one)");

  auto first = open_new(dir);
  REQUIRE(first.append(make_node("a", "k", 1)));
  auto second = Ledger::open(dir / "ledger", OpenOptions{});
  REQUIRE_FALSE(second);
  CHECK(second.error().code == witness::ErrorCode::kFailedPrecondition);
  CHECK_THAT(second.error().message,
             Catch::Contains("is already open for writing in this process"));
  // The same directory by another spelling is the same ledger.
  auto again = Ledger::open(dir / "." / "ledger", OpenOptions{});
  REQUIRE_FALSE(again);
  CHECK_THAT(again.error().message, Catch::Contains("already open for writing"));
  // Read-only opens take no lock and are allowed beside the writer.
  CHECK(Ledger::open(dir / "ledger", OpenOptions{.read_only = true}));

  REQUIRE(first.is_open());
  REQUIRE(first.close());
  CHECK_FALSE(first.is_open());
  CHECK(first.close());  // a no-op
  CHECK(first.append(make_node("a", "k", 2)).error().message == "the ledger is closed");
  CHECK(first.get(0).error().code == witness::ErrorCode::kFailedPrecondition);
  CHECK(first.query({}).error().message == "the ledger is closed");
  CHECK(first.size() == 0);
  auto reopened = Ledger::open(dir / "ledger", OpenOptions{});
  REQUIRE(reopened);
  CHECK(reopened->size() == 1);
}

TEST_CASE("witness's own origins are refused unless the writer is witness's own", "[ledger]") {
  TempDir dir;
  auto l = open_new(dir);
  for (const char* origin : {"witness.covenant", "Witness.gate", "WITNESS.laws", "witness.x"}) {
    auto r = l.append(make_node(origin, "covenant.grant", 1));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == witness::ErrorCode::kInvalidArgument);
    CHECK(r.error().message ==
          "origin " + std::string(origin) + " is reserved for witness's own records");
  }
  // In a batch the bad node is named, and nothing of the batch is appended.
  std::vector<TraceNode> batch{make_node("agent.a", "k", 1), make_node("witness.gate", "k", 2)};
  auto b = l.append_batch(batch);
  REQUIRE_FALSE(b);
  CHECK(b.error().message == "node 1: origin witness.gate is reserved for witness's own records");
  CHECK(l.size() == 0);
  // Not reserved: names that only look alike.
  CHECK(l.append(make_node("witnessing.agent", "k", 3)));
  CHECK(l.append(make_node("agent.witness.x", "k", 4)));
  CHECK(is_reserved_origin("wItNeSs.a"));
  CHECK_FALSE(is_reserved_origin("witness"));
  // witness's own writers say so.
  auto own = l.append(make_node("witness.laws", "law.verdict", 5), {.allow_reserved_origin = true});
  REQUIRE(own);
  CHECK(own->seq == 2);
}

TEST_CASE("a ledger another process writes to is named as busy, and can be waited for",
          "[ledger]") {
  TempDir dir;
  { auto l = open_new(dir); }
  int ready[2];
  int release[2];
  REQUIRE(pipe(ready) == 0);
  REQUIRE(pipe(release) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto l = Ledger::open(dir / "ledger", OpenOptions{});
    char c = l ? 'y' : 'n';
    (void)!write(ready[1], &c, 1);
    (void)!read(release[0], &c, 1);  // hold the ledger until told
    _exit(0);
  }
  char c = 0;
  REQUIRE(read(ready[0], &c, 1) == 1);
  REQUIRE(c == 'y');
  auto busy = Ledger::open(dir / "ledger", OpenOptions{});
  REQUIRE_FALSE(busy);
  CHECK(busy.error().code == witness::ErrorCode::kUnavailable);
  CHECK_THAT(busy.error().message, Catch::Contains("is in use by process " + std::to_string(pid)));
  // Waiting: the child lets go after a moment.
  std::thread letgo([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    (void)!write(release[1], "x", 1);
  });
  auto waited = Ledger::open(dir / "ledger", OpenOptions{.lock_wait = std::chrono::seconds(30)});
  letgo.join();
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(waited);
}

TEST_CASE("every range is checked the same way: an empty range is an error", "[ledger]") {
  TempDir dir;
  auto l = open_new(dir);
  for (int i = 0; i < 3; ++i) REQUIRE(l.append(make_node("a", "k", i)));
  const auto visit = [](const Entry&) { return witness::ok_status(); };
  CHECK(l.replay({.from_seq = 2, .to_seq = 1}, visit).error().message ==
        "replay: from_seq is greater than to_seq");
  CHECK(l.query({.from_seq = 2, .to_seq = 1}).error().message ==
        "query: from_seq is greater than to_seq");
  const Timestamp t1(std::chrono::nanoseconds(1));
  const Timestamp t2(std::chrono::nanoseconds(2));
  CHECK(l.replay({.since = t2, .until = t1}, visit).error().code ==
        witness::ErrorCode::kInvalidArgument);
  CHECK(l.query({.since = t2, .until = t1}).error().code == witness::ErrorCode::kInvalidArgument);
  // A limit of 0 would print a cursor that skips an entry: refused.
  CHECK(l.query({.limit = 0}).error().message ==
        "query: limit must be at least 1 (leave it unset for no limit)");
  CHECK(l.replay({.from_seq = 1, .to_seq = 1}, visit)->visited == 1);
}

TEST_CASE("verify reports a meta key it does not know", "[ledger]") {
  TempDir dir;
  {
    auto l = open_new(dir);
    REQUIRE(l.append(make_node("a", "k", 1)));
    REQUIRE(l.verify()->ok());
  }
  poke(dir / "ledger", "#format_versionX", "1");
  auto l = Ledger::open(dir / "ledger", OpenOptions{.read_only = true});
  REQUIRE(l);
  auto report = l->verify();
  REQUIRE(report);
  REQUIRE_FALSE(report->ok());
  CHECK(report->problem->what == "unknown meta key \"#format_versionX\"");
}

TEST_CASE("a read-only ledger refuses appends", "[ledger]") {
  TempDir dir;
  {
    auto l = open_new(dir);
    REQUIRE(l.append(make_node("a", "k", 1)));
  }
  auto ro = Ledger::open(dir / "ledger", OpenOptions{.read_only = true});
  REQUIRE(ro);
  CHECK(ro->size() == 1);
  auto r = ro->append(make_node("a", "k", 2));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == witness::ErrorCode::kFailedPrecondition);
}

TEST_CASE("queries equal a brute-force filter of all entries", "[ledger][query]") {
  TempDir dir;
  auto l = open_new(dir);
  std::vector<TraceNode> nodes;
  std::set<NodeId> ids;
  // A fixed-seed corpus with colliding fields, so every filter has matches.
  std::mt19937_64 rng(42);
  const std::vector<std::string> origins{"agent.a", "agent.b", "detector.ddos", "laws.runner"};
  const std::vector<std::string> kinds{"agent.action", "detector.alert", "law.verdict"};
  const std::vector<std::string> walks{"run-1", "run-2", "walk é"};
  const std::vector<std::string> tags{"prod", "urgent", "dns", "tag with space"};
  for (int i = 0; i < 400; ++i) {
    NodeDraft d;
    d.origin = origins[rng() % origins.size()];
    d.kind = kinds[rng() % kinds.size()];
    d.timestamp = Timestamp(std::chrono::nanoseconds(1'700'000'000'000'000'000 +
                                                     static_cast<std::int64_t>(rng() % 1000)));
    if (rng() % 3 != 0) d.walk = walks[rng() % walks.size()];
    for (const auto& t : tags) {
      if (rng() % 3 == 0) d.tags.push_back(t);
    }
    d.payload_json = "{\"i\":" + std::to_string(i) + "}";
    auto node = TraceNode::create(d);
    REQUIRE(node);
    if (ids.insert(node->id()).second) nodes.push_back(*node);
  }
  REQUIRE(l.append_batch(nodes));
  const auto entries = all_entries(l);
  REQUIRE(entries.size() == nodes.size());

  rc::prop("query == filter(all)", [&] {
    Query q;
    q.origin = *witness::testing::gen_optional(
        rc::gen::element<std::string>("agent.a", "agent.b", "detector.ddos", "nobody"));
    q.kind = *witness::testing::gen_optional(
        rc::gen::element<std::string>("agent.action", "detector.alert", "law.verdict"));
    q.walk =
        *witness::testing::gen_optional(rc::gen::element<std::string>("run-1", "run-2", "walk é"));
    if (*rc::gen::arbitrary<bool>())
      q.tags = {*rc::gen::element<std::string>("prod", "urgent", "dns")};
    const std::int64_t base = 1'700'000'000'000'000'000;
    if (*rc::gen::arbitrary<bool>())
      q.since = Timestamp(std::chrono::nanoseconds(base + *rc::gen::inRange(0, 1000)));
    if (*rc::gen::arbitrary<bool>())
      q.until = Timestamp(std::chrono::nanoseconds(base + *rc::gen::inRange(0, 1000)));
    if (*rc::gen::arbitrary<bool>()) q.from_seq = *rc::gen::inRange<SequenceNumber>(0, 400);
    if (*rc::gen::arbitrary<bool>()) q.to_seq = *rc::gen::inRange<SequenceNumber>(0, 400);
    q.order = *rc::gen::element(Order::kOldestFirst, Order::kNewestFirst);
    RC_PRE(!(q.since && q.until && *q.since > *q.until));
    RC_PRE(!(q.from_seq && q.to_seq && *q.from_seq > *q.to_seq));

    std::vector<SequenceNumber> expected;
    for (const Entry& e : entries) {
      const auto& n = e.node;
      if (q.origin && n.origin() != *q.origin) continue;
      if (q.kind && n.kind() != *q.kind) continue;
      if (q.walk && n.walk() != q.walk) continue;
      bool tags_ok = true;
      for (const auto& t : q.tags)
        tags_ok = tags_ok && std::ranges::find(n.tags(), t) != n.tags().end();
      if (!tags_ok) continue;
      if (q.since && n.timestamp() < *q.since) continue;
      if (q.until && n.timestamp() > *q.until) continue;
      if (q.from_seq && e.seq < *q.from_seq) continue;
      if (q.to_seq && e.seq > *q.to_seq) continue;
      expected.push_back(e.seq);
    }
    if (q.order == Order::kNewestFirst) std::reverse(expected.begin(), expected.end());
    RC_ASSERT(run_query(l, q) == expected);

    // Paging with a limit and the cursor yields the same sequence.
    q.limit = *rc::gen::inRange<std::size_t>(1, 50);
    std::vector<SequenceNumber> paged;
    for (int page = 0; page < 1000; ++page) {
      std::optional<Cursor> next;
      const auto part = run_query(l, q, &next);
      RC_ASSERT(part.size() <= *q.limit);
      paged.insert(paged.end(), part.begin(), part.end());
      if (!next) break;
      RC_ASSERT(part.size() == *q.limit);
      q.cursor = Cursor::parse(next->to_string()).value();
    }
    RC_ASSERT(paged == expected);
  });
}

TEST_CASE("a query reads one snapshot", "[ledger][query]") {
  TempDir dir;
  auto l = open_new(dir);
  for (int i = 0; i < 3; ++i) REQUIRE(l.append(make_node("a", "k", i)));
  auto r = l.query(Query{.origin = "a"});
  REQUIRE(r);
  REQUIRE(l.append(make_node("a", "k", 10)));
  std::size_t n = 0;
  for ([[maybe_unused]] const Entry& e : *r) ++n;
  CHECK(n == 3);
  CHECK(run_query(l, Query{.origin = "a"}).size() == 4);
  CHECK(l.query(Query{.from_seq = 5, .to_seq = 2}).error().code ==
        witness::ErrorCode::kInvalidArgument);
  CHECK_FALSE(Cursor::parse("x12"));
  CHECK_FALSE(Cursor::parse("s"));
  CHECK_FALSE(Cursor::parse("s12x"));
}

TEST_CASE("a range-for over a temporary query result is safe", "[ledger][query]") {
  // The README's spelling: the Result is a temporary, so `*` must hand the range out by value
  // (a T&& into the temporary would dangle before the loop body runs; ASan catches that).
  TempDir dir;
  auto ledger = Ledger::open(dir / "ledger", {.create_if_missing = true});
  REQUIRE(ledger);
  for (int i = 0; i < 20; ++i) REQUIRE(ledger->append(make_node("detector.ddos", "k", i)));
  std::vector<SequenceNumber> seen;
  for (const Entry& e :
       *ledger->query({.origin = "detector.ddos", .order = Order::kNewestFirst, .limit = 10}))
    seen.push_back(e.seq);
  REQUIRE(seen.size() == 10);
  CHECK(seen.front() == 19);
  CHECK(seen.back() == 10);
}

TEST_CASE("walk follows causes up and effects down, to a depth", "[ledger][walk]") {
  TempDir dir;
  auto l = open_new(dir);
  // alert -> triage -> {mute, notify}; notify -> ack
  const auto alert = make_node("detector.ddos", "detector.alert", 1);
  const auto triage =
      make_node("agent.triage", "agent.action", 2, {{LinkRelation::kCauses, alert.id()}});
  const auto mute =
      make_node("agent.triage", "agent.action", 3, {{LinkRelation::kCauses, triage.id()}});
  const auto notify =
      make_node("agent.triage", "agent.action", 4, {{LinkRelation::kCauses, triage.id()}});
  const auto ack =
      make_node("agent.ops", "agent.action", 5,
                {{LinkRelation::kFulfills, notify.id()}, {LinkRelation::kCauses, alert.id()}});
  REQUIRE(l.append_batch(std::vector<TraceNode>{alert, triage, mute, notify, ack}));

  auto down = l.lineage(alert.id(), Direction::kDescendants, 10);
  REQUIRE(down);
  std::map<SequenceNumber, unsigned> depth;
  for (const auto& s : *down) depth[s.entry.seq] = s.depth;
  CHECK(depth == std::map<SequenceNumber, unsigned>{{1, 1}, {4, 1}, {2, 2}, {3, 2}});

  auto up = l.lineage(ack.id(), Direction::kAncestors, 1);
  REQUIRE(up);
  CHECK(up->size() == 2);
  auto up_all = l.lineage(ack.id(), Direction::kAncestors, 5);
  REQUIRE(up_all);
  CHECK(up_all->size() == 3);  // notify, alert, triage: alert appears once
  const auto fulfil =
      std::ranges::find_if(*up_all, [&](const CausalStep& s) { return s.entry.seq == 3; });
  REQUIRE(fulfil != up_all->end());
  CHECK(fulfil->relation == LinkRelation::kFulfills);
  CHECK(l.lineage(Digest{}, Direction::kAncestors, 3).error().code ==
        witness::ErrorCode::kNotFound);
}

TEST_CASE("replay visits in seq order and verifies the chain", "[ledger][replay]") {
  TempDir dir;
  {
    auto l = open_new(dir);
    for (int i = 0; i < 50; ++i) REQUIRE(l.append(make_node(i % 2 ? "a" : "b", "k", 100 + i)));
    std::vector<SequenceNumber> seen;
    auto s = l.replay(ReplayOptions{.from_seq = 10, .to_seq = 19, .verify_chain = true},
                      [&](const Entry& e) {
                        seen.push_back(e.seq);
                        return witness::ok_status();
                      });
    REQUIRE(s);
    CHECK(s->chain_verified);
    CHECK(seen == std::vector<SequenceNumber>{10, 11, 12, 13, 14, 15, 16, 17, 18, 19});
    const auto count = l.fold(ReplayOptions{.since = Timestamp(std::chrono::nanoseconds(140))}, 0,
                              [](int acc, const Entry&) { return acc + 1; });
    CHECK(*count == 10);
    CHECK(*l.chain_hash(49) == l.stats().chain_head);
    // A visitor error stops the replay and comes back.
    auto stopped = l.replay({}, [](const Entry& e) -> witness::Status {
      if (e.seq == 3) return witness::invalid_argument("stop at 3");
      return witness::ok_status();
    });
    CHECK(stopped.error().message == "stop at 3");
  }
  // Change one stored node behind the ledger's back: verification names its seq.
  // Appended one at a time, entry 23 is alone in the bundle segment 'b' 23; flip a byte of its
  // payload (the segment ends with the 32-byte chain).
  std::string bytes = witness::testing::RawDb(dir / "ledger").get(seq_key('b', 23));
  bytes[bytes.size() - 32 - 3] ^= 0x01;
  poke(dir / "ledger", seq_key('b', 23), bytes);
  auto l = Ledger::open(dir / "ledger", OpenOptions{});
  REQUIRE(l);
  auto bad = l->replay(ReplayOptions{.verify_chain = true},
                       [](const Entry&) { return witness::ok_status(); });
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == witness::ErrorCode::kCorruption);
  CHECK(bad.error().message == "seq 23: node bytes do not match leaf hash");
}

TEST_CASE("concurrent appenders get a gapless order and a valid chain", "[ledger][concurrency]") {
  TempDir dir;
  auto l = open_new(dir);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 250;
  std::vector<std::vector<SequenceNumber>> seqs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const auto n = make_node("agent.t" + std::to_string(t), "k", i);
        auto r =
            (i % 10 == 0)
                ? l.append_batch(
                       std::vector<TraceNode>{n, make_node("agent.t" + std::to_string(t), "b", i)})
                      .value()
                      .front()
                : l.append(n, i % 7 == 0 ? AppendOptions::with(Durability::kSync) : AppendOptions{})
                      .value();
        seqs[static_cast<std::size_t>(t)].push_back(r.seq);
      }
    });
  }
  for (auto& th : threads) th.join();
  const std::uint64_t expected = kThreads * (kPerThread + kPerThread / 10);
  CHECK(l.size() == expected);
  std::set<SequenceNumber> all;
  for (const auto& v : seqs) {
    CHECK(std::is_sorted(v.begin(), v.end()));  // each thread's appends keep their order
    all.insert(v.begin(), v.end());
  }
  CHECK(all.size() == kThreads * kPerThread);
  MerkleFrontier tree;
  std::vector<CompletedSubtree> ignored;
  auto s = l.replay(ReplayOptions{.verify_chain = true}, [&](const Entry& e) {
    tree.append(merkle_leaf_hash(witness::ledger::detail::encode_stored_node(e.node)), ignored);
    return witness::ok_status();
  });
  REQUIRE(s);
  CHECK(s->read == expected);
  CHECK(l.stats().merkle_root == tree.root());  // the tree grew in seq order under contention
}

// Not tagged [concurrency], so `make tsan` leaves it out: its 32 KiB memtable keeps RocksDB's
// (uninstrumented) flush and compaction threads busy reading blocks its block cache handed
// over under its own locks, which ThreadSanitizer reports with no RocksDB frame to suppress.
// Our side of it (the open and its retry) shares no state between threads.
TEST_CASE("read-only opens succeed while a writer flushes and compacts", "[ledger][readers]") {
  // A read-only open takes no lock: a compaction in the writer may delete a table between the
  // reader's MANIFEST read and its table opens. Ledger::open must ride that out (CI once saw
  // `witness stats` fail with "Can't access 000018.sst" beside a running appender).
  TempDir dir;
  {
    auto l = open_new(dir);  // created, then reopened below with a tiny memtable
  }
  auto w = Ledger::open(dir / "ledger", OpenOptions{.write_buffer_bytes = 32U << 10U});
  REQUIRE(w);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int b = 0; b < 150 && !done; ++b) {
      std::vector<TraceNode> batch;
      for (int i = 0; i < 50; ++i) {
        batch.push_back(make_node("agent.w", "k", (b * 50) + i, {},
                                  R"({"pad":")" + std::string(200, 'x') + "\"}"));
      }
      REQUIRE(w->append_batch(batch));
    }
    done = true;
  });
  int opens = 0;
  std::uint64_t last = 0;
  std::string failure;
  while (!done) {
    auto r = Ledger::open(dir / "ledger", OpenOptions{.read_only = true});
    if (!r) {
      failure = r.error().message;
      done = true;
      break;
    }
    CHECK(r->size() >= last);  // a later open never sees fewer entries
    last = r->size();
    if (opens % 8 == 0) {  // and each view is whole: gapless, chained, indexed
      auto v = r->verify();
      REQUIRE(v);
      CHECK(v->ok());
    }
    ++opens;
  }
  writer.join();
  CHECK(failure.empty());
  CHECK(opens > 0);
  auto v = w->verify();
  REQUIRE(v);
  CHECK(v->ok());
}

TEST_CASE("a failed write stops appends until a reopen, which recovers", "[ledger][faults]") {
  // A file-size limit makes the WAL write fail (EFBIG) the way a full disk does (ENOSPC).
  TempDir dir;
  std::vector<SequenceNumber> acked;
  witness::Error first_error{};
  {
    auto l = open_new(dir);
    rlimit old{};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
    std::signal(SIGXFSZ, SIG_IGN);  // NOLINT: so the write fails instead of the process
    rlimit lim = old;
    lim.rlim_cur = 1U << 20U;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    for (int i = 0; i < 20000; ++i) {
      auto r =
          l.append(make_node("agent.a", "k", i, {}, R"({"pad":")" + std::string(100, 'x') + "\"}"),
                   AppendOptions::with(Durability::kSync));
      if (!r) {
        first_error = r.error();
        break;
      }
      acked.push_back(r->seq);
    }
    REQUIRE(setrlimit(RLIMIT_FSIZE, &old) == 0);
    REQUIRE_FALSE(first_error.message.empty());
    CHECK(first_error.code == witness::ErrorCode::kIOError);
    CHECK(first_error.message.find("File too large") != std::string::npos);
    // The limit is gone, but this handle no longer trusts its idea of the head.
    auto again = l.append(make_node("agent.a", "k", -1));
    REQUIRE_FALSE(again);
    CHECK(again.error().message.find("reopen the ledger to append again") != std::string::npos);
  }
  REQUIRE(acked.size() > 100);
  auto l = Ledger::open(dir / "ledger", OpenOptions{});
  REQUIRE(l);
  CHECK(l->size() >= acked.size());  // every acknowledged node, maybe the failed one too
  for (const auto seq : acked) CHECK(l->get(seq).has_value());
  REQUIRE(l->append(make_node("agent.a", "k", -1)));
  auto v = l->verify();
  REQUIRE(v);
  CHECK(v->ok());
}

TEST_CASE("export and import round-trip byte for byte", "[ledger][jsonl]") {
  TempDir dir;
  auto a = open_new(dir, "a");
  const auto alert =
      make_node("detector.ddos", "detector.alert", 1, {}, R"({"score": 0.9, "src": "10.0.0.1"})");
  const auto act =
      make_node("agent.triage", "agent.action", 2, {{LinkRelation::kCauses, alert.id()}});
  REQUIRE(a.append_batch(std::vector<TraceNode>{alert, act}));
  std::ostringstream out1;
  REQUIRE(export_jsonl(a, {}, out1));
  const std::string text = out1.str();
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);
  // Every exported line is canonical JSON.
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) CHECK(*canonicalize_json(line) == line);

  auto b = open_new(dir, "b");
  std::istringstream in(text);
  auto imported = import_export(b, in);
  REQUIRE(imported);
  CHECK(imported->inserted == 2);
  std::ostringstream out2;
  REQUIRE(export_jsonl(b, {}, out2));
  CHECK(out2.str() == text);

  SECTION("copy_to copies a filtered part") {
    auto c = open_new(dir, "c");
    auto n = a.copy_to(c, {}, [](const Entry& e) { return e.node.kind() == "detector.alert"; });
    REQUIRE(n);
    CHECK(*n == 1);
    CHECK(c.find(alert.id())->seq == 0);
  }
  SECTION("a changed line fails its id check and imports nothing") {
    auto c = open_new(dir, "c");
    std::string tampered = text;
    tampered.replace(tampered.find("10.0.0.1"), 8, "10.0.0.2");
    std::istringstream tin(tampered);
    auto r = import_export(c, tin);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.starts_with("line 1: id: does not match the content"));
    CHECK(c.size() == 0);
  }
  SECTION("a link to an absent node names its line") {
    auto c = open_new(dir, "c");
    std::istringstream tin(text.substr(text.find('\n') + 1));
    auto r = import_export(c, tin);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.starts_with("line 1: links: target"));
  }
}

TEST_CASE("read_line stops at the cap and leaves the rest unread", "[ledger][jsonl]") {
  std::istringstream in("ab\ncdefgh\nij");
  std::string line;
  CHECK(read_line(in, line, 4) == LineRead::kLine);
  CHECK(line == "ab");
  CHECK(read_line(in, line, 4) == LineRead::kTooLong);
  CHECK(line == "cdef");
  CHECK(in.get() == 'g');  // the stream is left inside the long line
  std::istringstream tail("x\n\nlast");
  CHECK(read_line(tail, line) == LineRead::kLine);
  CHECK(read_line(tail, line) == LineRead::kLine);
  CHECK(line.empty());
  CHECK(read_line(tail, line) == LineRead::kLine);
  CHECK(line == "last");
  CHECK(read_line(tail, line) == LineRead::kEnd);
  // Lines longer than read_line's 4 KiB chunk, and caps inside, at and across chunks.
  const std::string big(10'000, 'x');
  std::istringstream longer(big + "\n" + big + "y\n" + big);
  CHECK(read_line(longer, line) == LineRead::kLine);
  CHECK(line == big);
  CHECK(read_line(longer, line, 10'000) == LineRead::kTooLong);
  CHECK(line == big);
  CHECK(longer.get() == 'y');
  CHECK(read_line(longer, line) == LineRead::kLine);
  CHECK(line.empty());                                        // the rest of that line: its newline
  CHECK(read_line(longer, line, 10'000) == LineRead::kLine);  // exactly the cap, then the end
  CHECK(line == big);
  CHECK(read_line(longer, line) == LineRead::kEnd);
  std::istringstream exact(std::string(4095, 'z') + "\n" + std::string(4096, 'z') + "\n");
  CHECK(read_line(exact, line, 4095) == LineRead::kLine);
  CHECK(line.size() == 4095);
  CHECK(read_line(exact, line, 4095) == LineRead::kTooLong);
  CHECK(read_line(exact, line, 0) == LineRead::kTooLong);
  CHECK(line.empty());
  CHECK(exact.get() == 'z');
  CHECK(read_line(exact, line) == LineRead::kLine);
  CHECK(line.empty());
  CHECK(read_line(exact, line) == LineRead::kEnd);
  std::istringstream unbounded(big + "\nz");  // no cap at all: max = SIZE_MAX does not wrap
  CHECK(read_line(unbounded, line, std::numeric_limits<std::size_t>::max()) == LineRead::kLine);
  CHECK(line == big);
  CHECK(read_line(unbounded, line, std::numeric_limits<std::size_t>::max()) == LineRead::kLine);
  CHECK(line == "z");
  CHECK(line_too_long(7).message == "line 7: longer than 8 MiB (the input line cap)");
}

TEST_CASE("nodes at both ends of the timestamp range export and import", "[ledger][jsonl]") {
  TempDir dir;
  auto a = open_new(dir, "a");
  REQUIRE(a.append(make_node("x.y", "k", kMinTimestampNs)));
  REQUIRE(a.append(make_node("x.y", "k", kMaxTimestampNs)));
  std::ostringstream out;
  REQUIRE(export_jsonl(a, {}, out));
  auto b = open_new(dir, "b");
  std::istringstream in(out.str());
  auto imported = import_export(b, in);
  REQUIRE(imported);
  CHECK(imported->inserted == 2);
  CHECK(b.get(1)->node == a.get(1)->node);
}

TEST_CASE("JSON Lines input parses every field and names the bad one", "[ledger][jsonl]") {
  auto line = parse_node_line(
      R"({"origin":"agent.a","kind":"agent.action","timestamp":"2026-11-22T10:48:00Z","walk":"w1",)"
      R"("tags":["x"],"links":[{"relation":"causes","target":"line:1"},{"relation":"fulfills","target":"seq:4"}],)"
      R"("payload":{"b":1,"a":2}})");
  REQUIRE(line);
  CHECK(line->draft.origin == "agent.a");
  CHECK(line->draft.timestamp->time_since_epoch().count() == 1'795'344'480'000'000'000);
  CHECK(line->draft.payload_json == R"({"a":2,"b":1})");
  REQUIRE(line->links.size() == 2);
  CHECK(std::get<LineRef>(line->links[0].target).line == 1);
  CHECK(std::get<SeqRef>(line->links[1].target).seq == 4);

  const auto err = [](std::string_view text) {
    auto r = parse_node_line(text);
    REQUIRE_FALSE(r);
    return r.error().message;
  };
  CHECK(err(R"({"kind":"k"})") == "origin: missing");
  CHECK(err(R"({"origin":"a"})") == "kind: missing");
  CHECK(err(R"({"origin":1,"kind":"k"})") == "origin: expected a string, got number");
  CHECK(err(R"({"origin":"a","kind":"k","timestamp":1.5})")
            .starts_with("timestamp: expected an integer"));
  CHECK(err(R"({"origin":"a","kind":"k","timestamp":"yesterday"})")
            .starts_with("timestamp: invalid RFC 3339"));
  CHECK(err(R"({"origin":"a","kind":"k","timestamp":99999999999999999999})") ==
        "timestamp: outside int64");
  CHECK(err(R"({"origin":"a","kind":"k","links":[{"relation":"likes","target":"line:1"}]})")
            .starts_with("links[0].relation: unknown relation \"likes\""));
  CHECK(err(R"({"origin":"a","kind":"k","links":[{"relation":"causes","target":"abc"}]})")
            .starts_with("links[0].target: expected a 64-digit hex id, seq:N or line:N"));
  CHECK(err(R"({"origin":"a","kind":"k","links":[{"relation":"causes","target":"line:0"}]})") ==
        "links[0].target: lines are numbered from 1");
  CHECK(err(R"({"origin":"a","kind":"k","payload":[1]})") ==
        "payload: expected a JSON object, got array");
  CHECK(err(R"({"origin":"a","kind":"k","colour":"red"})").starts_with("colour: unknown field"));
  CHECK(err(R"({"origin":"a","kind":"k")").starts_with("invalid JSON: at byte"));
  CHECK(err("[]") == "expected a JSON object, got array");

  auto unresolved = parse_node_line(
      R"({"origin":"a","kind":"k","links":[{"relation":"causes","target":"line:2"}]})");
  REQUIRE(unresolved);
  const std::vector<NodeId> one_earlier{Digest{}};
  auto r = resolve_node_line(*unresolved, nullptr, one_earlier);
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "links[0].target: line:2 is not an earlier line");
}

TEST_CASE("the ledger proves inclusion and consistency at every size", "[ledger][merkle]") {
  TempDir dir;
  std::vector<Digest> leaves;
  {
    auto l = open_new(dir);
    CHECK(l.tree_head()->root == merkle_empty_root());
    for (int i = 0; i < 70; ++i) {
      // Batches of varying size exercise the frontier across group boundaries.
      std::vector<TraceNode> batch;
      for (int j = 0; j <= i % 3; ++j) batch.push_back(make_node("a", "k", i * 10 + j));
      REQUIRE(l.append_batch(batch));
    }
    REQUIRE(l.replay({}, [&](const Entry& e) {
      leaves.push_back(merkle_leaf_hash(witness::ledger::detail::encode_stored_node(e.node)));
      return witness::ok_status();
    }));
  }
  auto l = Ledger::open(dir / "ledger", OpenOptions{});  // the frontier is reloaded at open
  REQUIRE(l);
  const std::uint64_t n = l->size();
  REQUIRE(leaves.size() == n);
  // An independent in-memory tree over the same leaves gives the same roots.
  MerkleFrontier reference;
  std::vector<Digest> roots{merkle_empty_root()};
  std::vector<CompletedSubtree> ignored;
  for (const auto& leaf : leaves) {
    reference.append(leaf, ignored);
    roots.push_back(reference.root());
  }
  CHECK(l->stats().merkle_root == roots[n]);
  for (std::uint64_t size = 0; size <= n; ++size) {
    const auto head = l->tree_head(size);
    REQUIRE(head);
    CHECK(head->root == roots[size]);
    for (std::uint64_t seq = 0; seq < size; seq += 7) {
      auto claim = l->inclusion_proof(seq, size);
      REQUIRE(claim);
      CHECK(claim->leaf_hash == leaves[seq]);
      CHECK(claim->root == roots[size]);
      CHECK(verify_claim(*claim).has_value());
    }
    for (std::uint64_t size1 = 1; size1 <= size; size1 += 5) {
      auto claim = l->consistency_proof(size1, size);
      REQUIRE(claim);
      CHECK(claim->root1 == roots[size1]);
      CHECK(verify_claim(*claim).has_value());
    }
  }
  CHECK(l->inclusion_proof(n).error().code == witness::ErrorCode::kInvalidArgument);
  CHECK(l->tree_head(n + 1).error().message ==
        "tree size " + std::to_string(n + 1) + " exceeds the ledger size " + std::to_string(n));
  CHECK(l->consistency_proof(5, 4).error().code == witness::ErrorCode::kInvalidArgument);
  // Appending after reopen extends the same tree.
  REQUIRE(l->append(make_node("a", "k", 100000)));
  auto old = l->consistency_proof(n, n + 1);
  REQUIRE(old);
  CHECK(old->root1 == roots[n]);
  CHECK(verify_claim(*old).has_value());
}

TEST_CASE("a following reader catches up with a writer", "[ledger][follow][concurrency]") {
  TempDir dir;
  Ledger writer = open_new(dir);
  const auto batch = [&](std::int64_t from, std::int64_t n) {
    std::vector<TraceNode> nodes;
    for (std::int64_t i = from; i < from + n; ++i) {
      nodes.push_back(
          make_node("agent.f", "act", 1000 + i, {}, R"({"i":)" + std::to_string(i) + "}"));
    }
    REQUIRE(writer.append_batch(nodes));
  };
  batch(0, 10);
  auto follower = Ledger::open(dir / "ledger", {.read_only = true, .follow = true});
  REQUIRE(follower);
  CHECK(follower->size() == 10);
  batch(10, 300);
  CHECK(follower->size() == 10);  // nothing moves until asked
  const auto caught = follower->catch_up();
  INFO((caught ? std::string() : caught.error().message));
  REQUIRE(caught);
  CHECK(*caught == 310);
  CHECK(follower->stats().merkle_root == writer.stats().merkle_root);
  CHECK(follower->stats().chain_head == writer.stats().chain_head);
  CHECK(follower->get(305)->node.id() == writer.get(305)->node.id());
  CHECK(run_query(*follower, {.origin = "agent.f"}).size() == 310);
  CHECK(*follower->tlog_tile(0, 1, 54) == *writer.tlog_tile(0, 1, 54));
  CHECK(*follower->tlog_tile(1, 0, 1) == *writer.tlog_tile(1, 0, 1));
  const auto claim = follower->inclusion_proof(300);
  REQUIRE(claim);
  CHECK(verify_claim(*claim).has_value());
  CHECK(*follower->catch_up() == 310);  // nothing new: unchanged

  // Across the writer's flushes and a writer that closes and comes back.
  REQUIRE(writer.close());
  writer = *Ledger::open(dir / "ledger", {});
  batch(310, 5000);
  CHECK(*follower->catch_up() == 5310);
  CHECK(follower->stats().merkle_root == writer.stats().merkle_root);
  const auto report = follower->verify();
  REQUIRE(report);
  CHECK(report->ok());

  // Only a following open follows; following is for read-only opens.
  auto plain = Ledger::open(dir / "ledger", {.read_only = true});
  REQUIRE(plain);
  CHECK(plain->catch_up().error().code == witness::ErrorCode::kFailedPrecondition);
  CHECK(Ledger::open(dir / "other", {.create_if_missing = true, .follow = true}).error().code ==
        witness::ErrorCode::kInvalidArgument);
}
