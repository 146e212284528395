#include "witness/ledger/checkpoint.hpp"

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <rocksdb/db.h>
#include <sys/stat.h>

#include "witness/ledger/ledger.hpp"

#include "format.hpp"
#include "key_codec.hpp"
#include "temp_dir.hpp"

using namespace witness::ledger;  // NOLINT(google-build-using-namespace): test file
using witness::testing::TempDir;

namespace {

TraceNode node(int i) {
  NodeDraft d;
  d.origin = "agent.a";
  d.kind = "agent.action";
  d.timestamp = Timestamp(std::chrono::nanoseconds(i));
  d.payload_json = R"({"i":)" + std::to_string(i) + "}";
  return *TraceNode::create(d);
}

}  // namespace

TEST_CASE("checkpoints are C2SP signed notes that verify only as signed", "[ledger][checkpoint]") {
  auto key = SigningKey::generate();
  REQUIRE(key);
  Digest root;
  root.bytes.fill(0xab);
  const Checkpoint cp{"witness.ledger/test", 42, root};
  const std::string note = sign_checkpoint(cp, *key, cp.origin);
  CHECK(
      note.starts_with("witness.ledger/test\n42\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n\n"
                       "\xe2\x80\x94 witness.ledger/test "));
  CHECK(note.ends_with("\n"));
  const std::string vkey = verifier_key(cp.origin, key->public_key());
  CHECK(vkey.starts_with("witness.ledger/test+"));
  auto ok = verify_checkpoint(note, vkey);
  REQUIRE(ok);
  CHECK(*ok == cp);
  CHECK(*parse_checkpoint(note) == cp);

  // Any change to the text breaks the signature; another key finds no signature of its own.
  std::string forged = note;
  forged.replace(forged.find("\n42\n"), 4, "\n43\n");
  CHECK(verify_checkpoint(forged, vkey).error().message.find("does not verify") !=
        std::string::npos);
  auto other = SigningKey::generate();
  CHECK(verify_checkpoint(note, verifier_key(cp.origin, other->public_key()))
            .error()
            .message.find("no signature by") != std::string::npos);
  // Malformed inputs get clear errors.
  CHECK(verify_checkpoint(note, "nonsense").error().code == witness::ErrorCode::kInvalidArgument);
  CHECK(parse_checkpoint("a\n1\n").error().message.find("no blank line") != std::string::npos);
  CHECK(parse_checkpoint("o\nx\nAA==\n\n\xe2\x80\x94 k c2ln\n").error().message.find("tree size") !=
        std::string::npos);
  CHECK(parse_checkpoint("o\n1\nAA==\n\n\xe2\x80\x94 k c2ln\n").error().message.find("root hash") !=
        std::string::npos);
  CHECK(parse_checkpoint("o\n1\nAA==\n\n- k c2ln\n").error().message.find("signature line") !=
        std::string::npos);
}

TEST_CASE("signing keys are saved with mode 0600 and never overwritten", "[ledger][checkpoint]") {
  TempDir dir;
  auto key = SigningKey::generate();
  REQUIRE(key->save(dir / "k.pem"));
  struct stat st {};
  REQUIRE(::stat((dir / "k.pem").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(key->save(dir / "k.pem").error().code == witness::ErrorCode::kFailedPrecondition);
  auto loaded = SigningKey::load(dir / "k.pem");
  REQUIRE(loaded);
  CHECK(loaded->public_key() == key->public_key());
  CHECK(verify_signature(key->public_key(), "m", loaded->sign("m")));
  CHECK_FALSE(verify_signature(key->public_key(), "n", loaded->sign("m")));
  CHECK(SigningKey::load(dir / "absent").error().code == witness::ErrorCode::kNotFound);
  std::ofstream(dir / "junk") << "not a key";
  CHECK(SigningKey::load(dir / "junk").error().code == witness::ErrorCode::kInvalidArgument);
}

TEST_CASE("a ledger stores a signed checkpoint every K entries and verifies them",
          "[ledger][checkpoint]") {
  TempDir dir;
  const auto path = dir / "l";
  {
    auto l = Ledger::open(path, OpenOptions{.create_if_missing = true, .checkpoint_interval = 10});
    REQUIRE(l);
    REQUIRE(std::filesystem::exists(path / "witness-signing.key"));
    for (int i = 0; i < 35; ++i) REQUIRE(l->append(node(i)));
    auto stored = l->checkpoints();
    REQUIRE(stored);
    REQUIRE(stored->size() == 3);
    const auto vkey = l->verifier_key();
    REQUIRE(vkey);
    for (std::size_t i = 0; i < stored->size(); ++i) {
      auto cp = verify_checkpoint((*stored)[i], *vkey);
      REQUIRE(cp);
      CHECK(cp->size == 10 * (i + 1));
      CHECK(cp->origin == l->origin());
      CHECK(cp->root == l->tree_head(cp->size)->root);
    }
    auto now = l->checkpoint();
    REQUIRE(now);
    CHECK(verify_checkpoint(*now, *vkey)->size == 35);
    auto report = l->verify();
    REQUIRE(report);
    CHECK(report->ok());
    CHECK(report->checkpoints == 4);
  }
  SECTION("a forged stored checkpoint is caught") {
    {
      rocksdb::DB* raw = nullptr;
      REQUIRE(rocksdb::DB::Open(rocksdb::Options(), path.string(), &raw).ok());
      std::unique_ptr<rocksdb::DB> db(raw);
      const auto key = witness::ledger::detail::seq_key(format::kCheckpoint, 20);
      std::string v;
      REQUIRE(db->Get(rocksdb::ReadOptions(), key, &v).ok());
      v.replace(v.find("\n20\n"), 4, "\n19\n");
      REQUIRE(db->Put(rocksdb::WriteOptions(), key, v).ok());
    }
    auto l = Ledger::open(path, OpenOptions{});
    auto report = l->verify();
    REQUIRE(report);
    REQUIRE_FALSE(report->ok());
    CHECK(report->problem->seq == std::optional<SequenceNumber>(19));
    CHECK(report->problem->what.find("does not verify") != std::string::npos);
  }
  SECTION("truncation below a checkpoint is caught") {
    {
      rocksdb::DB* raw = nullptr;
      REQUIRE(rocksdb::DB::Open(rocksdb::Options(), path.string(), &raw).ok());
      std::unique_ptr<rocksdb::DB> db(raw);
      for (SequenceNumber s = 25; s < 35; ++s) {
        REQUIRE(
            db->Delete(rocksdb::WriteOptions(), witness::ledger::detail::seq_key(format::kNode, s))
                .ok());
        REQUIRE(
            db->Delete(rocksdb::WriteOptions(), witness::ledger::detail::seq_key(format::kEntry, s))
                .ok());
      }
    }
    auto l = Ledger::open(path, OpenOptions{});
    REQUIRE(l);
    CHECK(l->size() == 25);
    auto report = l->verify();
    REQUIRE(report);
    REQUIRE_FALSE(report->ok());
    CHECK(report->problem->seq == std::optional<SequenceNumber>(25));
    CHECK(report->problem->what.find("beyond the ledger's 25 entries") != std::string::npos);
  }
  SECTION("without a key there are no checkpoints") {
    auto bare = Ledger::open(dir / "bare",
                             OpenOptions{.create_if_missing = true, .create_signing_key = false});
    REQUIRE(bare);
    CHECK_FALSE(bare->verifier_key());
    CHECK(bare->checkpoint().error().code == witness::ErrorCode::kFailedPrecondition);
  }
}
