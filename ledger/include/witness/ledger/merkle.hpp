// RFC 6962 / RFC 9162 Merkle trees: hashing, an incremental builder, proof generation over
// stored subtree hashes, and a standalone verifier that needs no ledger.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/ledger/digest.hpp"

namespace witness::ledger {

// SHA-256(0x00 || data): the hash of a leaf.
[[nodiscard]] Digest merkle_leaf_hash(std::string_view data);
// SHA-256(0x01 || left || right): the hash of an interior node.
[[nodiscard]] Digest merkle_node_hash(const Digest& left, const Digest& right);
// SHA-256 of the empty string: the root of the empty tree.
[[nodiscard]] Digest merkle_empty_root();

// Proof that leaf `leaf_index` is in the tree of size `tree_size` (RFC 9162 section 2.1.3).
struct InclusionProof {
  std::uint64_t leaf_index = 0;
  std::uint64_t tree_size = 0;
  std::vector<Digest> hashes;  // from the leaf's sibling up to the root's child
  friend bool operator==(const InclusionProof&, const InclusionProof&) = default;
};

// Proof that the tree of size `size1` is a prefix of the tree of size `size2` (section 2.1.4).
struct ConsistencyProof {
  std::uint64_t size1 = 0;
  std::uint64_t size2 = 0;
  std::vector<Digest> hashes;
  friend bool operator==(const ConsistencyProof&, const ConsistencyProof&) = default;
};

// Checks `proof` for `leaf_hash` against `root`. Errors: kCorruption saying what does not hold
// (index out of range, wrong proof length, root mismatch).
[[nodiscard]] Status verify_inclusion(const InclusionProof& proof, const Digest& leaf_hash,
                                      const Digest& root);
// Checks `proof` between `root1` (size1) and `root2` (size2). Errors: kCorruption as above;
// size1 0 is refused (the empty tree is a prefix of every tree: such a proof proves nothing).
[[nodiscard]] Status verify_consistency(const ConsistencyProof& proof, const Digest& root1,
                                        const Digest& root2);

// Returns the hash of the complete subtree at `level` (0 = leaves) and `index`, which covers
// leaves [index * 2^level, (index + 1) * 2^level). The ledger reads these from RocksDB.
using SubtreeHashFn = std::function<Result<Digest>(unsigned level, std::uint64_t index)>;

// The root of the first `size` leaves, in O(log size) subtree reads.
[[nodiscard]] Result<Digest> merkle_root(std::uint64_t size, const SubtreeHashFn& subtree);
// Inclusion proof of `leaf_index` in the tree of `tree_size`, in O(log size) reads.
// Errors: kInvalidArgument when leaf_index >= tree_size.
[[nodiscard]] Result<InclusionProof> make_inclusion_proof(std::uint64_t leaf_index,
                                                          std::uint64_t tree_size,
                                                          const SubtreeHashFn& subtree);
// Consistency proof between sizes `1 <= size1 <= size2`, in O(log size) reads.
// Errors: kInvalidArgument when size1 > size2 or size1 == 0.
[[nodiscard]] Result<ConsistencyProof> make_consistency_proof(std::uint64_t size1,
                                                              std::uint64_t size2,
                                                              const SubtreeHashFn& subtree);

// A subtree completed by an append: persist it to answer later proofs.
struct CompletedSubtree {
  unsigned level = 0;
  std::uint64_t index = 0;
  Digest hash;
};

// The right edge of a growing tree: one complete subtree hash per set bit of size().
// Appending a leaf costs O(1) amortised hashes. Thread safety: a plain value.
class MerkleFrontier {
 public:
  MerkleFrontier() = default;
  // Rebuilds the frontier of a tree of `size` leaves from stored subtrees (O(log size) reads).
  [[nodiscard]] static Result<MerkleFrontier> load(std::uint64_t size,
                                                   const SubtreeHashFn& subtree);

  // Adds a leaf; appends to `completed` every subtree of level >= 1 the leaf completes.
  void append(const Digest& leaf_hash, std::vector<CompletedSubtree>& completed);
  [[nodiscard]] std::uint64_t size() const { return size_; }
  [[nodiscard]] Digest root() const;

 private:
  struct Node {
    unsigned level = 0;
    Digest hash;
  };
  std::vector<Node> nodes_;  // decreasing levels, left to right
  std::uint64_t size_ = 0;
};

}  // namespace witness::ledger
