// Proofs as JSON files, in the format of the RFC 6962 test vectors (transparency-dev/merkle):
// inclusion {"leafIdx","treeSize","leafHash","root","proof"} and consistency
// {"size1","size2","root1","root2","proof"}, hashes in standard base64.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "witness/base/result.hpp"
#include "witness/ledger/merkle.hpp"

namespace witness::ledger {

// An inclusion proof together with what it claims: this leaf hash is under this root.
struct InclusionClaim {
  InclusionProof proof;
  Digest leaf_hash;
  Digest root;
};

// A consistency proof together with the two roots it links.
struct ConsistencyClaim {
  ConsistencyProof proof;
  Digest root1;
  Digest root2;
};

using ProofClaim = std::variant<InclusionClaim, ConsistencyClaim>;

// Parses a proof file; inclusion and consistency are told apart by their fields. Other fields
// ("desc", "wantErr") are ignored. Errors: kInvalidArgument naming the field.
[[nodiscard]] Result<ProofClaim> parse_proof_json(std::string_view text);

// Formats a claim as a JSON object (one line), readable by parse_proof_json.
[[nodiscard]] std::string to_proof_json(const ProofClaim& claim);

// Verifies a claim with the standalone verifier (no ledger needed).
[[nodiscard]] Status verify_claim(const ProofClaim& claim);

}  // namespace witness::ledger
