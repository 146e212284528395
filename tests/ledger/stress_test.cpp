// Appenders and readers at once: every read sees one consistent snapshot.
#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

#include "witness/ledger/ledger.hpp"

#include "temp_dir.hpp"

using namespace witness::ledger;  // NOLINT(google-build-using-namespace): test file
using witness::testing::TempDir;

TEST_CASE("queries and replays during appends see consistent snapshots",
          "[ledger][concurrency][stress]") {
  TempDir dir;
  auto opened = Ledger::open(dir / "l", OpenOptions{.create_if_missing = true});
  REQUIRE(opened);
  Ledger& l = *opened;
  constexpr int kAppenders = 4;
  constexpr int kPerAppender = 400;
  std::atomic<int> appenders_done{0};
  std::atomic<int> failures{0};
  std::atomic<std::uint64_t> reads{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < kAppenders; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerAppender; ++i) {
        NodeDraft d;
        d.origin = "agent." + std::to_string(t);
        d.kind = i % 2 == 0 ? "even" : "odd";
        d.timestamp = Timestamp(std::chrono::nanoseconds(i));
        d.payload_json = R"({"i":)" + std::to_string(i) + "}";
        auto n = TraceNode::create(d);
        if (!n || !l.append(*n)) ++failures;
      }
      ++appenders_done;
    });
  }
  // Reader 1: a full oldest-first query must be a gapless prefix 0..k-1 of the ledger.
  threads.emplace_back([&] {
    while (appenders_done < kAppenders) {
      auto r = l.query(Query{});
      if (!r) {
        ++failures;
        continue;
      }
      SequenceNumber expected = 0;
      for (const Entry& e : *r) {
        if (e.seq != expected++) ++failures;
      }
      if (!r->status()) ++failures;
      ++reads;
    }
  });
  // Reader 2: replay with chain verification never sees a broken chain, and the tree head of
  // any size it reaches proves inclusion of its last entry.
  threads.emplace_back([&] {
    while (appenders_done < kAppenders) {
      std::uint64_t n = 0;
      auto s = l.replay(ReplayOptions{.verify_chain = true}, [&](const Entry&) {
        ++n;
        return witness::ok_status();
      });
      if (!s) FAIL_CHECK("replay: " << s.error().message);
      if (n > 0) {
        auto claim = l.inclusion_proof(n - 1, n);
        if (!claim) FAIL_CHECK("inclusion_proof(n-1, n): " << claim.error().message);
        if (claim && !verify_claim(*claim)) FAIL_CHECK("inclusion proof (n-1, n) does not verify");
      }
      ++reads;
    }
  });
  // Reader 3: proofs at the ledger's current size, while it grows (the size and the snapshot
  // must agree, or the proof would miss subtrees written after the snapshot).
  threads.emplace_back([&] {
    while (appenders_done < kAppenders) {
      if (l.size() == 0) continue;
      auto claim = l.inclusion_proof(0);
      if (!claim) FAIL_CHECK("inclusion_proof(0): " << claim.error().message);
      if (claim && !verify_claim(*claim)) FAIL_CHECK("inclusion_proof(0) does not verify");
      auto head = l.tree_head();
      if (!head) FAIL_CHECK("tree_head: " << head.error().message);
      if (head && head->size > 1) {
        auto cons = l.consistency_proof(1, head->size);
        if (!cons) FAIL_CHECK("consistency_proof: " << cons.error().message);
        if (cons && !verify_claim(*cons)) FAIL_CHECK("consistency proof does not verify");
      }
      ++reads;
    }
  });
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  CHECK(reads > 0);
  CHECK(l.size() == kAppenders * kPerAppender);
  // Per-origin queries see each appender's nodes in the order it appended them.
  for (int t = 0; t < kAppenders; ++t) {
    auto r = l.query(Query{.origin = "agent." + std::to_string(t)});
    REQUIRE(r);
    std::int64_t last = -1;
    std::size_t count = 0;
    for (const Entry& e : *r) {
      const auto ts = e.node.timestamp().time_since_epoch().count();
      CHECK(ts > last);
      last = ts;
      ++count;
    }
    CHECK(count == kPerAppender);
  }
  auto report = l.verify();
  REQUIRE(report);
  CHECK(report->ok());
}
