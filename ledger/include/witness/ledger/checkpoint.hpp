// Checkpoints ("signed tree heads") in the C2SP tlog-checkpoint format, signed as C2SP signed
// notes with Ed25519:
//
//   <origin>\n<tree size>\n<base64 root hash>\n\n— <key name> <base64(key id || signature)>\n
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/ledger/digest.hpp"
#include "witness/ledger/signing.hpp"

namespace witness::ledger {

// What a checkpoint states: the log `origin` had `size` entries with Merkle `root`.
struct Checkpoint {
  std::string origin;
  std::uint64_t size = 0;
  Digest root;
  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

// The note text: origin, size and base64 root, one per line, ending in a newline.
[[nodiscard]] std::string checkpoint_text(const Checkpoint& checkpoint);

// Signs `checkpoint` with `key` under `key_name` (conventionally the origin) and returns the
// whole signed note.
[[nodiscard]] std::string sign_checkpoint(const Checkpoint& checkpoint, const SigningKey& key,
                                          std::string_view key_name);

// A verifier key in the signed-note convention: "<name>+<key id hex>+<base64(0x01 || key)>".
[[nodiscard]] std::string verifier_key(std::string_view key_name, const PublicKey& key);

// A verifier key taken apart: the key name, its 4-byte key id, and the Ed25519 public key.
struct VerifierKey {
  std::string name;
  std::array<std::uint8_t, 4> id{};
  PublicKey key{};
};
// Parses and checks a verifier key (the id must be the one the name and key give).
// Errors: kInvalidArgument naming what is wrong.
[[nodiscard]] Result<VerifierKey> parse_verifier_key(std::string_view verifier);

// Checks a signed note against `verifier` (as printed by verifier_key) and returns the
// checkpoint it states. Errors: kInvalidArgument (malformed note or key), kCorruption (no
// signature by that key, or the signature does not verify).
[[nodiscard]] Result<Checkpoint> verify_checkpoint(std::string_view note,
                                                   std::string_view verifier);

// Cosigning (a cluster's replicas each sign the same tree head; docs/cluster.md): the notes'
// signatures gathered into one note, one line per key, in the order first seen. Errors:
// kInvalidArgument when a note is malformed, there are none, or their checkpoint texts differ
// (naming the two).
[[nodiscard]] Result<std::string> merge_signatures(std::span<const std::string> notes);

// What a quorum check found: the checkpoint and the names of the keys whose signatures verify.
struct QuorumCheck {
  Checkpoint checkpoint;
  std::vector<std::string> signers;
};
// Accepts `note` only when at least `quorum` of `verifiers` (distinct keys; a key given twice
// counts once) signed it validly. Errors: kInvalidArgument (a malformed note or key, quorum 0
// or more than the distinct keys); kCorruption (fewer than `quorum` valid signatures: names
// those that verified and those that did not).
[[nodiscard]] Result<QuorumCheck> verify_checkpoint_quorum(std::string_view note,
                                                           std::span<const std::string> verifiers,
                                                           std::size_t quorum);

// Parses a note's checkpoint without checking signatures. Errors: kInvalidArgument.
[[nodiscard]] Result<Checkpoint> parse_checkpoint(std::string_view note);

}  // namespace witness::ledger
