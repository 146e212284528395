#include "witness/ledger/checkpoint.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <rocksdb/db.h>
#include <sys/stat.h>

#include "witness/ledger/ledger.hpp"

#include "format.hpp"
#include "key_codec.hpp"
#include "raw_db.hpp"
#include "segments.hpp"
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
  CHECK(parse_checkpoint("o\nx\nAA==\n\n\xe2\x80\x94 k c2lnbmF0dXJl\n")
            .error()
            .message.find("tree size") != std::string::npos);
  CHECK(parse_checkpoint("o\n1\nAA==\n\n\xe2\x80\x94 k c2lnbmF0dXJl\n")
            .error()
            .message.find("root hash") != std::string::npos);
  // A signature too short to hold a key id.
  CHECK(parse_checkpoint("o\n1\nAA==\n\n\xe2\x80\x94 k c2ln\n").error().message ==
        "note: a signature is not base64 of a key id and signature");
  CHECK(parse_checkpoint("o\n1\nAA==\n\n- k c2ln\n").error().message.find("signature line") !=
        std::string::npos);
}

TEST_CASE("cosigned notes: signatures merge into one note, and a quorum of keys must verify",
          "[ledger][checkpoint]") {
  std::vector<SigningKey> keys;
  std::vector<std::string> verifiers;
  std::vector<std::string> notes;
  Digest root;
  root.bytes.fill(0x5a);
  const Checkpoint cp{"witness.cluster/fleet", 7, root};
  for (int i = 0; i < 3; ++i) {
    keys.push_back(SigningKey::generate().value());
    const std::string name = "r" + std::to_string(i + 1);
    verifiers.push_back(verifier_key(name, keys.back().public_key()));
    notes.push_back(sign_checkpoint(cp, keys.back(), name));
  }
  // Merged: one note, the text once, a line per key; a note given twice adds nothing.
  std::vector<std::string> twice = notes;
  twice.push_back(notes[0]);
  auto merged = merge_signatures(twice);
  REQUIRE(merged);
  CHECK(merged->starts_with(checkpoint_text(cp) + "\n"));
  CHECK(std::count(merged->begin(), merged->end(), '\n') == 3 + 1 + 3);
  for (const auto& v : verifiers) CHECK(verify_checkpoint(*merged, v));

  auto q = verify_checkpoint_quorum(*merged, verifiers, 3);
  REQUIRE(q);
  CHECK(q->checkpoint == cp);
  CHECK(q->signers == std::vector<std::string>{"r1", "r2", "r3"});
  // Two of the three signatures: a quorum of 2 holds, of 3 does not, and says who is missing.
  auto two = merge_signatures(std::vector<std::string>{notes[0], notes[2]});
  REQUIRE(two);
  CHECK(verify_checkpoint_quorum(*two, verifiers, 2));
  auto short_of = verify_checkpoint_quorum(*two, verifiers, 3);
  REQUIRE_FALSE(short_of);
  CHECK(short_of.error().code == witness::ErrorCode::kCorruption);
  CHECK_THAT(short_of.error().message, Catch::Contains("not signed validly by r2"));
  // One key given three times is one key: a quorum of 3 is more than it can give.
  const std::vector<std::string> same{verifiers[0], verifiers[0], verifiers[0]};
  CHECK(verify_checkpoint_quorum(*merged, same, 3).error().code ==
        witness::ErrorCode::kInvalidArgument);
  CHECK(verify_checkpoint_quorum(*merged, verifiers, 0).error().code ==
        witness::ErrorCode::kInvalidArgument);
  // A forged signature line does not count.
  std::string forged = *two;
  const auto at = forged.find("\xe2\x80\x94 r3 ");
  forged[at + 20] = forged[at + 20] == 'A' ? 'B' : 'A';  // in the signature itself
  CHECK_FALSE(verify_checkpoint_quorum(forged, verifiers, 2));
  // Notes of different tree heads do not merge.
  const Checkpoint other{"witness.cluster/fleet", 8, root};
  auto differ =
      merge_signatures(std::vector<std::string>{notes[0], sign_checkpoint(other, keys[1], "r2")});
  REQUIRE_FALSE(differ);
  CHECK_THAT(differ.error().message, Catch::Contains("different checkpoints"));
  CHECK_FALSE(merge_signatures(std::vector<std::string>{}));
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
      const witness::testing::RawDb db(path);
      const auto key = witness::ledger::detail::seq_key(format::kCheckpoint, 20);
      std::string v = db.get(key);
      v.replace(v.find("\n20\n"), 4, "\n19\n");
      db.put(key, v);
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
      // Appended one at a time: each entry is its own bundle segment; drop the last ten.
      const witness::testing::RawDb db(path);
      for (SequenceNumber s = 25; s < 35; ++s) db.del(witness::ledger::detail::bundle_key(s));
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

TEST_CASE("verify checks checkpoint signatures with a given public key, and says when it could not",
          "[ledger][checkpoint]") {
  TempDir dir;
  const auto path = dir / "l";
  std::string vkey;
  {
    auto l = Ledger::open(path, OpenOptions{.create_if_missing = true, .checkpoint_interval = 10});
    REQUIRE(l);
    for (int i = 0; i < 20; ++i) REQUIRE(l->append(node(i)));
    vkey = *l->verifier_key();
  }
  // Alter one byte of a stored signature, then take the private key away.
  {
    const witness::testing::RawDb db(path);
    const auto key = witness::ledger::detail::seq_key(format::kCheckpoint, 10);
    std::string v = db.get(key);
    const auto sig = v.rfind(' ') + 10;  // inside the base64 signature, past the key id
    v[sig] = v[sig] == 'A' ? 'B' : 'A';
    db.put(key, v);
  }
  std::filesystem::rename(path / "witness-signing.key", dir / "elsewhere.key");
  auto l = Ledger::open(path, OpenOptions{.read_only = true});
  REQUIRE(l);
  // No key: the altered signature goes unseen, and the report says signatures were not checked.
  auto blind = l->verify();
  REQUIRE(blind);
  CHECK(blind->ok());
  CHECK(blind->checkpoints == 2);
  CHECK_FALSE(blind->signatures_checked);
  // The public key alone catches it.
  auto keyed = l->verify(VerifyOptions{.public_key = vkey});
  REQUIRE(keyed);
  CHECK(keyed->signatures_checked);
  REQUIRE_FALSE(keyed->ok());
  CHECK(keyed->problem->what.find("checkpoint at size 10") != std::string::npos);
  // Another ledger's key verifies nothing here.
  auto other = Ledger::open(dir / "other", OpenOptions{.create_if_missing = true});
  REQUIRE(other);
  auto wrong = l->verify(VerifyOptions{.public_key = *other->verifier_key()});
  REQUIRE(wrong);
  CHECK_FALSE(wrong->ok());
  CHECK(wrong->problem->what.find("no signature by") != std::string::npos);
  // A malformed key is the caller's error.
  CHECK(l->verify(VerifyOptions{.public_key = "not a key"}).error().code ==
        witness::ErrorCode::kInvalidArgument);
}

TEST_CASE("a read-only open needs no readable private key", "[ledger][checkpoint]") {
  TempDir dir;
  const auto path = dir / "l";
  {
    auto l = Ledger::open(path, OpenOptions{.create_if_missing = true, .checkpoint_interval = 5});
    REQUIRE(l);
    for (int i = 0; i < 6; ++i) REQUIRE(l->append(node(i)));
  }
  // A key file that cannot be read as a key (as one without read permission cannot).
  { std::ofstream(path / "witness-signing.key", std::ios::trunc) << "unreadable"; }
  auto ro = Ledger::open(path, OpenOptions{.read_only = true});
  REQUIRE(ro);
  CHECK(ro->size() == 6);
  auto report = ro->verify();
  REQUIRE(report);
  CHECK(report->ok());
  CHECK_FALSE(report->signatures_checked);
  CHECK_THAT(ro->checkpoint().error().message,
             Catch::StartsWith("the signing key could not be read"));
  // A writer needs it: it signs checkpoints.
  CHECK_FALSE(Ledger::open(path, OpenOptions{}));
}

TEST_CASE("signed notes are as strict as C2SP signed-note", "[ledger][checkpoint]") {
  auto key = SigningKey::generate();
  REQUIRE(key);
  const Checkpoint cp{"example.com/log", 3, Digest::sha256(std::string_view("root"))};
  const std::string note = sign_checkpoint(cp, *key, "example.com/log");
  const std::string vkey = verifier_key("example.com/log", key->public_key());
  REQUIRE(verify_checkpoint(note, vkey));
  const std::string sig_line = note.substr(note.rfind("\n\n") + 2);
  // The same signature line twice: one signature per key.
  CHECK(verify_checkpoint(note + sig_line, vkey).error().message ==
        "note: two signatures by the key example.com/log (one per key)");
  // 2001 signatures by unknown keys: past the limit of 100.
  std::string many = note;
  for (int i = 0; i < 2001; ++i) {
    many += "\xe2\x80\x94 other" + std::to_string(i) + ".example " +
            sig_line.substr(sig_line.rfind(' ') + 1);
  }
  CHECK(verify_checkpoint(many, vkey).error().message == "note: more than 100 signatures");
  // Up to 16 signatures must be accepted; here 16 unknown keys beside the known one.
  std::string sixteen = note;
  for (int i = 0; i < 15; ++i) {
    sixteen += "\xe2\x80\x94 other" + std::to_string(i) + ".example " +
               sig_line.substr(sig_line.rfind(' ') + 1);
  }
  CHECK(verify_checkpoint(sixteen, vkey));
  // Not UTF-8, and a key name with '+'.
  CHECK_THAT(verify_checkpoint("example.com/log\n3\n\xff\n\n" + sig_line, vkey).error().message,
             Catch::StartsWith("note: invalid UTF-8"));
  CHECK_THAT(
      verify_checkpoint(note + "\xe2\x80\x94 a+b " + sig_line.substr(sig_line.rfind(' ') + 1), vkey)
          .error()
          .message,
      Catch::StartsWith("note: malformed signature line"));
}
