// Ledger::migrate on a format 1 ledger written by format 1 code (tests/data/v1-ledger, with the
// figures format 1 printed for it in its README).
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <catch2/catch.hpp>
#include <rocksdb/db.h>

#include "witness/ledger/ledger.hpp"

#include "format.hpp"
#include "key_codec.hpp"
#include "temp_dir.hpp"

using namespace witness::ledger;  // NOLINT(google-build-using-namespace): test file
using witness::testing::TempDir;

namespace {

const std::filesystem::path kFixture = WITNESS_TEST_DATA_DIR "/v1-ledger";
constexpr std::string_view kRoot =
    "f30a4d88a46da79671afbe8a351d071297e39e35bd62a98741c584945838c722";
constexpr std::string_view kChainHead =
    "cd1539b36e6d31b5c89a879f46e8912f9d34fd37f40de485f97d476bffdf213a";
constexpr std::string_view kLedgerId = "5bd58a162ae3bb7f88e28e2c751b9dd9";

// A copy of the fixture (tests never write into the source tree).
std::filesystem::path copy_fixture(const TempDir& dir, const std::string& name = "v1") {
  const auto to = dir / name;
  std::filesystem::copy(kFixture, to, std::filesystem::copy_options::recursive);
  std::filesystem::remove(to / "README.md");
  return to;
}

// Every file's bytes, by name.
std::map<std::string, std::string> contents(const std::filesystem::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(f.path(), std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    out[f.path().filename().string()] = s.str();
  }
  return out;
}

}  // namespace

TEST_CASE("a format 1 ledger is refused by open, naming witness migrate", "[ledger][migrate]") {
  TempDir dir;
  const auto v1 = copy_fixture(dir);
  const auto before = contents(v1);
  for (const bool ro : {false, true}) {
    auto l = Ledger::open(v1, OpenOptions{.read_only = ro});
    REQUIRE_FALSE(l);
    CHECK(l.error().code == witness::ErrorCode::kFailedPrecondition);
    CHECK(l.error().message.find("has format version 1; this build reads and writes version 2") !=
          std::string::npos);
    CHECK(l.error().message.find("witness migrate " + v1.string() + " NEW_DIR") !=
          std::string::npos);
  }
  CHECK(contents(v1) == before);  // not a byte written, not a file added
}

TEST_CASE("migrate converts format 1 to 2: same entries, id, key, checkpoints and roots",
          "[ledger][migrate]") {
  TempDir dir;
  const auto v1 = copy_fixture(dir);
  const auto before = contents(v1);
  std::uint64_t last_progress = 0;
  auto r =
      Ledger::migrate(v1, dir / "v2", {.progress = [&](std::uint64_t done, std::uint64_t total) {
                        CHECK(total == 56);
                        last_progress = done;
                      }});
  REQUIRE(r);
  CHECK(r->from_version == 1);
  CHECK(r->entries == 56);
  CHECK(last_progress == 56);
  CHECK(r->checkpoints == 1);
  CHECK(r->source_root.to_hex() == kRoot);
  CHECK(r->source_chain_head.to_hex() == kChainHead);
  CHECK(r->verify.ok());
  CHECK(r->verify.merkle_root.to_hex() == kRoot);
  CHECK(r->verify.checkpoints == 1);
  CHECK(contents(v1) == before);  // the source is left as it was

  auto l = Ledger::open(dir / "v2", OpenOptions{});
  REQUIRE(l);
  const auto stats = l->stats();
  CHECK(stats.size == 56);
  CHECK(stats.format_version == 2);
  CHECK(stats.ledger_id == kLedgerId);
  CHECK(stats.merkle_root.to_hex() == kRoot);
  CHECK(stats.chain_head.to_hex() == kChainHead);
  // The key came along: the old checkpoint verifies with the new ledger's verifier key.
  const auto key = l->verifier_key();
  REQUIRE(key);
  CHECK(key->starts_with("witness.ledger/" + std::string(kLedgerId) + "+73f3f3f7+"));
  auto stored = l->checkpoints();
  REQUIRE(stored);
  REQUIRE(stored->size() == 1);
  auto cp = verify_checkpoint(stored->front(), *key);
  REQUIRE(cp);
  CHECK(cp->root == l->tree_head(cp->size)->root);
  // Indexes answer as before: the example incident's triage agent, and the recorded covenants.
  auto triage = l->query({.origin = "alert.triage"});
  REQUIRE(triage);
  std::size_t n = 0;
  for (const auto& e : *triage) n += e.node.origin() == "alert.triage" ? 1U : 0U;
  CHECK(n > 0);
  // And it takes appends.
  NodeDraft d;
  d.origin = "after.migrate";
  d.kind = "k";
  auto appended = l->append(*TraceNode::create(d));
  REQUIRE(appended);
  CHECK(appended->seq == 56);
  CHECK(l->verify()->ok());
}

TEST_CASE("migrate refuses what it cannot convert and leaves no half-written ledger",
          "[ledger][migrate]") {
  TempDir dir;
  const auto v1 = copy_fixture(dir);
  SECTION("a destination in the way") {
    std::filesystem::create_directories(dir / "busy");
    { std::ofstream(dir / "busy" / "file") << "x"; }
    auto r = Ledger::migrate(v1, dir / "busy");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == witness::ErrorCode::kFailedPrecondition);
    CHECK(r.error().message.find("exists") != std::string::npos);
    CHECK(std::filesystem::exists(dir / "busy" / "file"));
  }
  SECTION("no ledger, or a format 2 ledger") {
    CHECK(Ledger::migrate(dir / "absent", dir / "out").error().code ==
          witness::ErrorCode::kNotFound);
    REQUIRE(Ledger::migrate(v1, dir / "v2"));
    auto again = Ledger::migrate(dir / "v2", dir / "v3");
    REQUIRE_FALSE(again);
    CHECK(again.error().message.find("format 2 ledger already") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "v3"));
  }
  SECTION("a format 1 ledger whose node bytes were changed") {
    {
      rocksdb::DB* raw = nullptr;
      REQUIRE(rocksdb::DB::Open(rocksdb::Options(), v1.string(), &raw).ok());
      std::unique_ptr<rocksdb::DB> db(raw);
      const auto key = detail::seq_key(format::v1::kNode, 17);
      std::string v;
      REQUIRE(db->Get(rocksdb::ReadOptions(), key, &v).ok());
      v[v.size() - 4] ^= 0x01;
      REQUIRE(db->Put(rocksdb::WriteOptions(), key, v).ok());
    }
    auto r = Ledger::migrate(v1, dir / "out");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == witness::ErrorCode::kCorruption);
    CHECK(r.error().message.find("seq 17: node bytes do not match the leaf hash") !=
          std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "out"));
  }
}
