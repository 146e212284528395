// Checkpoints ("signed tree heads") in the C2SP tlog-checkpoint format, signed as C2SP signed
// notes with Ed25519:
//
//   <origin>\n<tree size>\n<base64 root hash>\n\n— <key name> <base64(key id || signature)>\n
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

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

// Parses a note's checkpoint without checking signatures. Errors: kInvalidArgument.
[[nodiscard]] Result<Checkpoint> parse_checkpoint(std::string_view note);

}  // namespace witness::ledger
