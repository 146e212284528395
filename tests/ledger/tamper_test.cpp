// Tampering behind the ledger's back: each change to a stored node, index entry, chain or
// Merkle record, or a truncation, is caught by verify(), which names the seq.
#include <filesystem>

#include <catch2/catch.hpp>
#include <rocksdb/db.h>

#include "witness/ledger/ledger.hpp"

#include "format.hpp"
#include "key_codec.hpp"
#include "raw_db.hpp"
#include "segments.hpp"
#include "temp_dir.hpp"

using namespace witness::ledger;  // NOLINT(google-build-using-namespace): test file
namespace detail = witness::ledger::detail;
using witness::testing::RawDb;
using witness::testing::TempDir;

namespace {

constexpr int kEntries = 40;

// A ledger of 40 entries with walks, tags and links; returns its nodes in seq order.
std::vector<TraceNode> build(const std::filesystem::path& dir) {
  auto l = Ledger::open(dir, OpenOptions{.create_if_missing = true});
  REQUIRE(l);
  std::vector<TraceNode> nodes;
  for (int i = 0; i < kEntries; ++i) {
    NodeDraft d;
    d.origin = i % 2 == 0 ? "detector.ddos" : "agent.triage";
    d.kind = i % 2 == 0 ? "detector.alert" : "agent.action";
    d.timestamp = Timestamp(std::chrono::nanoseconds(1000 + i));
    d.walk = "run-" + std::to_string(i % 3);
    d.tags = {"t" + std::to_string(i % 4)};
    if (i > 0) d.links = {Link{LinkRelation::kCauses, nodes[static_cast<std::size_t>(i - 1)].id()}};
    d.payload_json = R"({"i":)" + std::to_string(i) + R"(,"note":"payload bytes"})";
    auto n = TraceNode::create(d);
    REQUIRE(n);
    REQUIRE(l->append(*n));
    nodes.push_back(*n);
  }
  return nodes;
}

// Runs `tamper` on a raw RocksDB handle of a copy of `original`, then verifies the copy.
template <typename F>
VerifyReport tamper_and_verify(const std::filesystem::path& original, const TempDir& scratch,
                               const std::string& name, F tamper) {
  const auto copy = scratch / name;
  std::filesystem::copy(original, copy, std::filesystem::copy_options::recursive);
  {
    const RawDb db(copy);
    tamper(db);
  }
  auto l = Ledger::open(copy, OpenOptions{});
  REQUIRE(l);
  auto report = l->verify();
  REQUIRE(report);
  return *report;
}

// Rewrites the bundle segment at `first` with `edit` applied to its decoded entries.
template <typename F>
void edit_bundle(const RawDb& db, SequenceNumber first, F edit) {
  detail::BundleSegment segment;
  REQUIRE(detail::parse_bundle(first, db.get(detail::bundle_key(first)), segment));
  std::vector<std::string> entries(segment.entries.begin(), segment.entries.end());
  edit(entries);
  detail::BundleBuilder builder;
  for (const auto& e : entries) builder.add(e);
  db.put(detail::bundle_key(first), builder.finish(segment.chain));
}

void check_problem(const VerifyReport& r, std::optional<SequenceNumber> seq,
                   std::string_view what) {
  REQUIRE_FALSE(r.ok());
  INFO("problem: " << (r.problem->seq ? std::to_string(*r.problem->seq) : "-") << " "
                   << r.problem->what);
  CHECK(r.problem->seq == seq);
  CHECK(r.problem->what.find(what) != std::string::npos);
}

}  // namespace

TEST_CASE("verify catches every kind of tampering and names the seq", "[ledger][verify][tamper]") {
  TempDir dir;
  const auto original = dir / "original";
  const auto nodes = build(original);
  {
    auto l = Ledger::open(original, OpenOptions{});
    auto clean = l->verify();
    REQUIRE(clean);
    CHECK(clean->ok());
    CHECK(clean->entries == kEntries);
    CHECK(clean->merkle_root == l->tree_head()->root);
    CHECK(clean->chain_head == l->stats().chain_head);
  }
  // Appended one at a time: every entry has its own bundle segment and level-0 tile segment.
  const auto b = [](int seq) { return detail::bundle_key(static_cast<SequenceNumber>(seq)); };
  const auto t = [](unsigned height, std::uint64_t index) {
    return detail::tile_key(height, index);
  };

  SECTION("one byte of a stored payload") {
    check_problem(tamper_and_verify(original, dir, "payload",
                                    [&](const RawDb& db) {
                                      std::string v = db.get(b(23));
                                      v[v.find("payload")] = 'P';
                                      db.put(b(23), v);
                                    }),
                  23, "node content does not hash to its id");
  }
  SECTION("one byte of a stored id") {
    check_problem(tamper_and_verify(original, dir, "id",
                                    [&](const RawDb& db) {
                                      // count(2) length(4) cereal header(5), then the id
                                      std::string v = db.get(b(7));
                                      v[16] = static_cast<char>(v[16] ^ 0x40);
                                      db.put(b(7), v);
                                    }),
                  7, "does not hash to its id");
  }
  SECTION("node bytes that no longer decode") {
    check_problem(tamper_and_verify(
                      original, dir, "decode",
                      [&](const RawDb& db) { edit_bundle(db, 5, [](auto& e) { e[0] += "x"; }); }),
                  5, "does not decode");
  }
  SECTION("a bundle segment that does not parse") {
    check_problem(tamper_and_verify(original, dir, "segment",
                                    [&](const RawDb& db) { db.put(b(9), db.get(b(9)) + "x"); }),
                  9, "entry bundle segment at seq 9: bytes after its last entry");
  }
  SECTION("a deleted origin index entry") {
    check_problem(
        tamper_and_verify(original, dir, "origin",
                          [&](const RawDb& db) {
                            db.del(detail::term_key(format::kByOrigin, "agent.triage", 17));
                          }),
        17, "origin index entry missing");
  }
  SECTION("a stray kind index entry") {
    check_problem(tamper_and_verify(original, dir, "kind",
                                    [&](const RawDb& db) {
                                      db.put(detail::term_key(format::kByKind, "agent.fake", 12),
                                             "");
                                    }),
                  12, "kind index entry does not match the node");
  }
  SECTION("an altered id index entry") {
    check_problem(tamper_and_verify(original, dir, "idx",
                                    [&](const RawDb& db) {
                                      const auto key = detail::id_key(nodes[9].id());
                                      std::string v = db.get(key);
                                      v[7] = 3;  // now points at seq 3
                                      db.put(key, v);
                                    }),
                  9, "id index entry does not match the node");
  }
  SECTION("a deleted time, tag, walk or link-target index entry") {
    check_problem(tamper_and_verify(original, dir, "time",
                                    [&](const RawDb& db) {
                                      db.del(detail::time_key(nodes[33].timestamp(), 33));
                                    }),
                  33, "time index entry missing");
    check_problem(tamper_and_verify(
                      original, dir, "tag",
                      [&](const RawDb& db) { db.del(detail::term_key(format::kByTag, "t2", 26)); }),
                  26, "tag index entry missing");
    check_problem(tamper_and_verify(original, dir, "walk",
                                    [&](const RawDb& db) {
                                      db.del(detail::term_key(format::kByWalk, "run-1", 4));
                                    }),
                  4, "walk index entry missing");
    check_problem(
        tamper_and_verify(original, dir, "link",
                          [&](const RawDb& db) {
                            db.del(detail::link_key(nodes[14].id(), 15, LinkRelation::kCauses));
                          }),
        15, "link-target index entry missing");
  }
  SECTION("an altered chain hash or leaf hash") {
    check_problem(tamper_and_verify(original, dir, "chain",
                                    [&](const RawDb& db) {
                                      std::string v = db.get(b(30));
                                      v[v.size() - 5] = static_cast<char>(v[v.size() - 5] ^ 1);
                                      db.put(b(30), v);
                                    }),
                  30, "chain hash does not recompute");
    check_problem(tamper_and_verify(original, dir, "leaf",
                                    [&](const RawDb& db) {
                                      std::string v = db.get(t(0, 31));
                                      v[0] = static_cast<char>(v[0] ^ 1);
                                      db.put(t(0, 31), v);
                                    }),
                  31, "node bytes do not match the stored leaf hash");
  }
  SECTION("an altered, deleted or extra Merkle tile") {
    // Level 1, index 5 covers leaves 10 and 11: it is completed by seq 11.
    check_problem(tamper_and_verify(original, dir, "merkle",
                                    [&](const RawDb& db) {
                                      std::string v = db.get(t(1, 5));
                                      v[3] = static_cast<char>(v[3] ^ 1);
                                      db.put(t(1, 5), v);
                                    }),
                  11, "merkle subtree (level 1, index 5) does not recompute");
    // Level 5, index 0 (leaves 0..31) is on the right edge: open still works, appends refuse.
    check_problem(
        tamper_and_verify(original, dir, "merkle-edge", [&](const RawDb& db) { db.del(t(5, 0)); }),
        31, "merkle subtree (level 5, index 0) missing");
    auto damaged = Ledger::open(dir / "merkle-edge", OpenOptions{});
    REQUIRE(damaged);
    auto refused = damaged->append(nodes[0]);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == witness::ErrorCode::kCorruption);
    CHECK(refused.error().message.find("run `witness verify`") != std::string::npos);
    // A hash the tree does not have yet (level 3 has five subtrees of 8 among 40 leaves).
    check_problem(
        tamper_and_verify(original, dir, "merkle-extra",
                          [&](const RawDb& db) { db.put(t(3, 5), std::string(32, 'x')); }),
        std::nullopt, "tile segments beyond the tree");
  }
  SECTION("a deleted node record, and a truncated ledger") {
    check_problem(tamper_and_verify(original, dir, "hole", [&](const RawDb& db) { db.del(b(20)); }),
                  20, "node record missing");
    // Dropping the last entry's records entirely: its index entries still name it.
    check_problem(tamper_and_verify(original, dir, "truncate",
                                    [&](const RawDb& db) {
                                      db.del(b(kEntries - 1));
                                      db.del(t(0, kEntries - 1));
                                    }),
                  kEntries - 1, "points past the ledger");
  }
  SECTION("an unknown key") {
    check_problem(
        tamper_and_verify(original, dir, "unknown", [&](const RawDb& db) { db.put("zzz", "1"); }),
        std::nullopt, "unknown key with prefix byte 0x7a");
    check_problem(
        tamper_and_verify(
            original, dir, "unknown-keyed",
            [&](const RawDb& db) {
              REQUIRE(db.db->Put(rocksdb::WriteOptions(), db.keyed.get(), "o-in-keyed", "").ok());
            }),
        std::nullopt, "unknown key with prefix byte 0x6f in the keyed column family");
  }
}

TEST_CASE("verify catches tampering inside whole bundles, tiles and posting lists",
          "[ledger][verify][tamper]") {
  // 600 entries in one batch: bundle segments [0,256) [256,512) [512,600), full level-0 tiles,
  // and one posting segment per term.
  TempDir dir;
  const auto original = dir / "original";
  {
    auto l = Ledger::open(original, OpenOptions{.create_if_missing = true});
    REQUIRE(l);
    std::vector<TraceNode> nodes;
    for (int i = 0; i < 600; ++i) {
      NodeDraft d;
      d.origin = "agent.bulk";
      d.kind = i % 3 == 0 ? "k.three" : "k.other";
      d.timestamp = Timestamp(std::chrono::nanoseconds(5000 + i));
      d.payload_json = R"({"i":)" + std::to_string(i) + "}";
      nodes.push_back(*TraceNode::create(d));
    }
    REQUIRE(l->append_batch(nodes));
    auto clean = l->verify();
    REQUIRE(clean);
    CHECK(clean->ok());
  }
  SECTION("two entries swapped inside a bundle") {
    check_problem(tamper_and_verify(original, dir, "swap",
                                    [&](const RawDb& db) {
                                      edit_bundle(db, 256,
                                                  [](auto& e) { std::swap(e[10], e[11]); });
                                    }),
                  266, "node bytes do not match the stored leaf hash");
  }
  SECTION("an entry dropped from a bundle") {
    check_problem(tamper_and_verify(
                      original, dir, "drop",
                      [&](const RawDb& db) { edit_bundle(db, 0, [](auto& e) { e.pop_back(); }); }),
                  254, "chain hash does not recompute");
  }
  SECTION("one hash of a full level-0 tile") {
    check_problem(tamper_and_verify(original, dir, "tile",
                                    [&](const RawDb& db) {
                                      const auto key = detail::tile_key(0, 0);
                                      std::string v = db.get(key);
                                      REQUIRE(v.size() == 8192);
                                      v[200 * 32] = static_cast<char>(v[200 * 32] ^ 1);
                                      db.put(key, v);
                                    }),
                  200, "node bytes do not match the stored leaf hash");
  }
  SECTION("a posting list with a seq moved") {
    check_problem(tamper_and_verify(original, dir, "posting",
                                    [&](const RawDb& db) {
                                      // k.three lists 0, 3, 6, ...: the first gap 3 becomes 4.
                                      const auto key =
                                          detail::term_key(format::kByKind, "k.three", 0);
                                      std::string v = db.get(key);
                                      REQUIRE(v[0] == 3);
                                      v[0] = 4;
                                      db.put(key, v);
                                    }),
                  4, "kind index entry does not match the node");
  }
  SECTION("a posting list that names an entry twice") {
    check_problem(tamper_and_verify(original, dir, "posting-twice",
                                    [&](const RawDb& db) {
                                      db.put(detail::term_key(format::kByOrigin, "agent.bulk", 599),
                                             "");
                                    }),
                  599, "origin index entry listed twice");
  }
}
