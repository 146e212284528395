// Tampering behind the ledger's back: each change to a stored node, index entry, chain or
// Merkle record, or a truncation, is caught by verify(), which names the seq.
#include <filesystem>

#include <catch2/catch.hpp>
#include <rocksdb/db.h>

#include "witness/ledger/ledger.hpp"

#include "format.hpp"
#include "key_codec.hpp"
#include "temp_dir.hpp"

using namespace witness::ledger;  // NOLINT(google-build-using-namespace): test file
namespace detail = witness::ledger::detail;
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
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(rocksdb::Options(), copy.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    tamper(*db);
  }
  auto l = Ledger::open(copy, OpenOptions{});
  REQUIRE(l);
  auto report = l->verify();
  REQUIRE(report);
  return *report;
}

std::string get(rocksdb::DB& db, const std::string& key) {
  std::string v;
  REQUIRE(db.Get(rocksdb::ReadOptions(), key, &v).ok());
  return v;
}
void put(rocksdb::DB& db, const std::string& key, const std::string& v) {
  REQUIRE(db.Put(rocksdb::WriteOptions(), key, v).ok());
}
void del(rocksdb::DB& db, const std::string& key) {
  std::string v;
  REQUIRE(db.Get(rocksdb::ReadOptions(), key, &v).ok());  // the key must exist to be deleted
  REQUIRE(db.Delete(rocksdb::WriteOptions(), key).ok());
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
  const auto n = [](int seq) {
    return detail::seq_key(format::kNode, static_cast<SequenceNumber>(seq));
  };
  const auto e = [](int seq) {
    return detail::seq_key(format::kHashRecord, static_cast<SequenceNumber>(seq));
  };

  SECTION("one byte of a stored payload") {
    check_problem(tamper_and_verify(original, dir, "payload",
                                    [&](rocksdb::DB& db) {
                                      std::string v = get(db, n(23));
                                      v[v.find("payload")] = 'P';
                                      put(db, n(23), v);
                                    }),
                  23, "node content does not hash to its id");
  }
  SECTION("one byte of a stored id") {
    check_problem(tamper_and_verify(original, dir, "id",
                                    [&](rocksdb::DB& db) {
                                      std::string v = get(db, n(7));
                                      v[10] = static_cast<char>(v[10] ^ 0x40);
                                      put(db, n(7), v);
                                    }),
                  7, "does not hash to its id");
  }
  SECTION("node bytes that no longer decode") {
    check_problem(tamper_and_verify(original, dir, "decode",
                                    [&](rocksdb::DB& db) { put(db, n(5), get(db, n(5)) + "x"); }),
                  5, "does not decode");
  }
  SECTION("a deleted origin index entry") {
    check_problem(tamper_and_verify(original, dir, "origin",
                                    [&](rocksdb::DB& db) {
                                      del(db,
                                          detail::term_key(format::kByOrigin, "agent.triage", 17));
                                    }),
                  17, "origin index entry missing");
  }
  SECTION("a stray kind index entry") {
    check_problem(tamper_and_verify(original, dir, "kind",
                                    [&](rocksdb::DB& db) {
                                      put(db, detail::term_key(format::kByKind, "agent.fake", 12),
                                          "");
                                    }),
                  12, "kind index entry does not match the node");
  }
  SECTION("an altered id index entry") {
    check_problem(tamper_and_verify(original, dir, "idx",
                                    [&](rocksdb::DB& db) {
                                      const auto key = detail::id_key(nodes[9].id());
                                      std::string v = get(db, key);
                                      v[7] = 3;  // now points at seq 3
                                      put(db, key, v);
                                    }),
                  9, "id index entry does not match the node");
  }
  SECTION("a deleted time, tag, walk or link-target index entry") {
    check_problem(tamper_and_verify(original, dir, "time",
                                    [&](rocksdb::DB& db) {
                                      del(db, detail::time_key(nodes[33].timestamp(), 33));
                                    }),
                  33, "time index entry missing");
    check_problem(tamper_and_verify(original, dir, "tag",
                                    [&](rocksdb::DB& db) {
                                      del(db, detail::term_key(format::kByTag, "t2", 26));
                                    }),
                  26, "tag index entry missing");
    check_problem(tamper_and_verify(original, dir, "walk",
                                    [&](rocksdb::DB& db) {
                                      del(db, detail::term_key(format::kByWalk, "run-1", 4));
                                    }),
                  4, "walk index entry missing");
    check_problem(
        tamper_and_verify(original, dir, "link",
                          [&](rocksdb::DB& db) {
                            del(db, detail::link_key(nodes[14].id(), 15, LinkRelation::kCauses));
                          }),
        15, "link-target index entry missing");
  }
  SECTION("an altered chain hash or leaf hash") {
    check_problem(tamper_and_verify(original, dir, "chain",
                                    [&](rocksdb::DB& db) {
                                      std::string v = get(db, e(30));
                                      v[40] = static_cast<char>(v[40] ^ 1);
                                      put(db, e(30), v);
                                    }),
                  30, "chain hash does not recompute");
    check_problem(tamper_and_verify(original, dir, "leaf",
                                    [&](rocksdb::DB& db) {
                                      std::string v = get(db, e(31));
                                      v[0] = static_cast<char>(v[0] ^ 1);
                                      put(db, e(31), v);
                                    }),
                  31, "node bytes do not match the stored leaf hash");
  }
  SECTION("an altered or deleted Merkle subtree") {
    // Level 1, index 5 covers leaves 10 and 11: it is completed by seq 11.
    check_problem(tamper_and_verify(original, dir, "merkle",
                                    [&](rocksdb::DB& db) {
                                      std::string v = get(db, detail::merkle_key(1, 5));
                                      v[3] = static_cast<char>(v[3] ^ 1);
                                      put(db, detail::merkle_key(1, 5), v);
                                    }),
                  11, "merkle subtree (level 1, index 5) does not recompute");
    // Level 5, index 0 (leaves 0..31) is on the right edge: open still works, appends refuse.
    check_problem(tamper_and_verify(original, dir, "merkle-edge",
                                    [&](rocksdb::DB& db) { del(db, detail::merkle_key(5, 0)); }),
                  31, "merkle subtree (level 5) missing");
    auto damaged = Ledger::open(dir / "merkle-edge", OpenOptions{});
    REQUIRE(damaged);
    auto refused = damaged->append(nodes[0]);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == witness::ErrorCode::kCorruption);
    CHECK(refused.error().message.find("run `witness verify`") != std::string::npos);
  }
  SECTION("a deleted node record, and a truncated ledger") {
    check_problem(
        tamper_and_verify(original, dir, "hole", [&](rocksdb::DB& db) { del(db, n(20)); }), 20,
        "node record missing");
    // Dropping the last entry's records entirely: its index entries still name it.
    check_problem(tamper_and_verify(original, dir, "truncate",
                                    [&](rocksdb::DB& db) {
                                      del(db, n(kEntries - 1));
                                      del(db, e(kEntries - 1));
                                    }),
                  kEntries - 1, "points past the ledger");
  }
  SECTION("an unknown key") {
    check_problem(
        tamper_and_verify(original, dir, "unknown", [&](rocksdb::DB& db) { put(db, "zzz", "1"); }),
        std::nullopt, "unknown key with prefix byte 0x7a");
  }
}
