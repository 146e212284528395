// Proofs as JSON files, in the format of the RFC 6962 test vectors (transparency-dev/merkle):
// inclusion {"leafIdx","treeSize","leafHash","root","proof"} and consistency
// {"size1","size2","root1","root2","proof"}, hashes in standard base64.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/ledger/merkle.hpp"

namespace witness::ledger {

// A root hash as a claim states it. Roots the ledger makes are 32-byte SHA-256 values, but a
// proof file may state any bytes, and RFC 9162 (2.1.3.2, 2.1.4.2) compares roots as given: a
// root of another length matches nothing but the same bytes (two equal roots pass an
// equal-size consistency check, as in transparency-dev/merkle's reference verifier).
// Converts implicitly from a Digest. Thread safety: a plain value.
struct ClaimedRoot {
  std::vector<std::uint8_t> bytes;

  ClaimedRoot() = default;
  ClaimedRoot(const Digest& d)  // NOLINT(google-explicit-constructor): a Digest is a root
      : bytes(d.bytes.begin(), d.bytes.end()) {}
  // The root as a Digest, when it is 32 bytes long.
  [[nodiscard]] std::optional<Digest> digest() const;
  friend bool operator==(const ClaimedRoot&, const ClaimedRoot&) = default;
};

// An inclusion proof together with what it claims: this leaf hash is under this root.
struct InclusionClaim {
  InclusionProof proof;
  Digest leaf_hash;
  ClaimedRoot root;
};

// A consistency proof together with the two roots it links.
struct ConsistencyClaim {
  ConsistencyProof proof;
  ClaimedRoot root1;
  ClaimedRoot root2;
};

using ProofClaim = std::variant<InclusionClaim, ConsistencyClaim>;

// Parses a proof file; inclusion and consistency are told apart by their fields. Besides the
// proof's own fields only "desc" and "wantErr" (the test vectors' comment and verdict) are
// allowed, and ignored; any other field, a duplicate key, a leaf hash or path hash that is not
// 32 bytes, or bad base64 is refused. Roots are kept as given (see ClaimedRoot).
// Errors: kInvalidArgument naming the field.
[[nodiscard]] Result<ProofClaim> parse_proof_json(std::string_view text);

// Formats a claim as a JSON object (one line), readable by parse_proof_json.
[[nodiscard]] std::string to_proof_json(const ProofClaim& claim);

// Verifies a claim with the standalone verifier (no ledger needed). It accepts exactly what
// transparency-dev/merkle's proof.VerifyInclusion / VerifyConsistency accept (tested on that
// project's vectors, tests/data/merkle). Errors: kCorruption saying what does not hold.
[[nodiscard]] Status verify_claim(const ProofClaim& claim);

}  // namespace witness::ledger
