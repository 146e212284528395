#include "witness/ledger/merkle.hpp"

#include <array>
#include <bit>
#include <string>

#include "sha256.hpp"

namespace witness::ledger {
namespace {

// Largest power of two strictly less than n. REQUIRES: n >= 2.
std::uint64_t split_point(std::uint64_t n) { return std::bit_floor(n - 1); }

bool is_pow2(std::uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

// MTH of leaves [start, start + n). REQUIRES: n >= 1 and start a multiple of bit_ceil(n)
// (true for every range RFC 6962's recursions visit). O(log n) subtree reads.
Result<Digest> range_hash(std::uint64_t start, std::uint64_t n, const SubtreeHashFn& subtree) {
  if (is_pow2(n)) {
    const auto level = static_cast<unsigned>(std::countr_zero(n));
    return subtree(level, start >> level);
  }
  const std::uint64_t k = split_point(n);
  const auto level = static_cast<unsigned>(std::countr_zero(k));
  WITNESS_ASSIGN_OR_RETURN(Digest left, subtree(level, start >> level));
  WITNESS_ASSIGN_OR_RETURN(Digest right, range_hash(start + k, n - k, subtree));
  return merkle_node_hash(left, right);
}

// RFC 6962 PATH(m, D[start : start + n]), appended bottom-up to `out`.
Status path(std::uint64_t m, std::uint64_t start, std::uint64_t n, const SubtreeHashFn& subtree,
            std::vector<Digest>& out) {
  if (n <= 1) return ok_status();
  const std::uint64_t k = split_point(n);
  if (m < k) {
    WITNESS_RETURN_IF_ERROR(path(m, start, k, subtree, out));
    WITNESS_ASSIGN_OR_RETURN(Digest right, range_hash(start + k, n - k, subtree));
    out.push_back(right);
  } else {
    WITNESS_RETURN_IF_ERROR(path(m - k, start + k, n - k, subtree, out));
    WITNESS_ASSIGN_OR_RETURN(Digest left, range_hash(start, k, subtree));
    out.push_back(left);
  }
  return ok_status();
}

// RFC 6962 SUBPROOF(m, D[start : start + n], b), appended bottom-up to `out`.
Status subproof(std::uint64_t m, std::uint64_t start, std::uint64_t n, bool b,
                const SubtreeHashFn& subtree, std::vector<Digest>& out) {
  if (m == n) {
    if (!b) {
      WITNESS_ASSIGN_OR_RETURN(Digest h, range_hash(start, n, subtree));
      out.push_back(h);
    }
    return ok_status();
  }
  const std::uint64_t k = split_point(n);
  if (m <= k) {
    WITNESS_RETURN_IF_ERROR(subproof(m, start, k, b, subtree, out));
    WITNESS_ASSIGN_OR_RETURN(Digest right, range_hash(start + k, n - k, subtree));
    out.push_back(right);
  } else {
    WITNESS_RETURN_IF_ERROR(subproof(m - k, start + k, n - k, false, subtree, out));
    WITNESS_ASSIGN_OR_RETURN(Digest left, range_hash(start, k, subtree));
    out.push_back(left);
  }
  return ok_status();
}

Error proof_error(std::string what) { return corruption(std::move(what)); }

}  // namespace

Digest merkle_leaf_hash(std::string_view data) { return detail::leaf_hash(data); }

Digest merkle_node_hash(const Digest& left, const Digest& right) {
  static constexpr std::array<std::uint8_t, 1> kNodePrefix = {0x01};
  return Digest{
      crypto::Sha256().update(kNodePrefix).update(left.bytes).update(right.bytes).finish()};
}

Digest merkle_empty_root() { return Digest::sha256(std::string_view()); }

Result<Digest> merkle_root(std::uint64_t size, const SubtreeHashFn& subtree) {
  if (size == 0) return merkle_empty_root();
  return range_hash(0, size, subtree);
}

Result<InclusionProof> make_inclusion_proof(std::uint64_t leaf_index, std::uint64_t tree_size,
                                            const SubtreeHashFn& subtree) {
  if (leaf_index >= tree_size) {
    return invalid_argument("inclusion proof: leaf " + std::to_string(leaf_index) +
                            " is not below tree size " + std::to_string(tree_size));
  }
  InclusionProof proof{leaf_index, tree_size, {}};
  WITNESS_RETURN_IF_ERROR(path(leaf_index, 0, tree_size, subtree, proof.hashes));
  return proof;
}

Result<ConsistencyProof> make_consistency_proof(std::uint64_t size1, std::uint64_t size2,
                                                const SubtreeHashFn& subtree) {
  if (size1 > size2) {
    return invalid_argument("consistency proof: size " + std::to_string(size1) +
                            " is larger than size " + std::to_string(size2));
  }
  if (size1 == 0) {
    return invalid_argument(
        "consistency proof: size 0 is the empty tree, a prefix of every tree; nothing to prove");
  }
  ConsistencyProof proof{size1, size2, {}};
  if (size1 == size2) return proof;  // the empty proof
  WITNESS_RETURN_IF_ERROR(subproof(size1, 0, size2, true, subtree, proof.hashes));
  return proof;
}

Status verify_inclusion(const InclusionProof& proof, const Digest& leaf_hash, const Digest& root) {
  // RFC 9162 section 2.1.3.2.
  if (proof.leaf_index >= proof.tree_size) {
    return proof_error("inclusion proof: leaf index " + std::to_string(proof.leaf_index) +
                       " is not below tree size " + std::to_string(proof.tree_size));
  }
  std::uint64_t fn = proof.leaf_index;
  std::uint64_t sn = proof.tree_size - 1;
  Digest r = leaf_hash;
  for (const Digest& p : proof.hashes) {
    if (sn == 0) return proof_error("inclusion proof: too many hashes");
    if ((fn & 1U) != 0 || fn == sn) {
      r = merkle_node_hash(p, r);
      while ((fn & 1U) == 0 && fn != 0) {
        fn >>= 1U;
        sn >>= 1U;
      }
    } else {
      r = merkle_node_hash(r, p);
    }
    fn >>= 1U;
    sn >>= 1U;
  }
  if (sn != 0) return proof_error("inclusion proof: too few hashes");
  if (r != root) return proof_error("inclusion proof: computed root does not match");
  return ok_status();
}

Status verify_consistency(const ConsistencyProof& proof, const Digest& root1, const Digest& root2) {
  // RFC 9162 section 2.1.4.2, with the edge cases of sizes 0 and equal sizes made explicit.
  const std::uint64_t size1 = proof.size1;
  const std::uint64_t size2 = proof.size2;
  const auto& path = proof.hashes;
  if (size1 > size2) return proof_error("consistency proof: size1 is larger than size2");
  // As RFC 9162 and transparency-dev/merkle's reference verifier: a proof from the empty tree
  // proves nothing, so it is refused rather than accepted for any roots.
  if (size1 == 0) return proof_error("consistency proof: size1 0 (the empty tree) proves nothing");
  if (size1 == size2) {
    if (!path.empty()) return proof_error("consistency proof: equal sizes need an empty proof");
    if (root1 != root2) return proof_error("consistency proof: equal sizes but different roots");
    return ok_status();
  }
  if (path.empty()) return proof_error("consistency proof: empty proof");

  std::vector<Digest> p;
  p.reserve(path.size() + 1);
  if (is_pow2(size1)) p.push_back(root1);
  p.insert(p.end(), path.begin(), path.end());
  std::uint64_t fn = size1 - 1;
  std::uint64_t sn = size2 - 1;
  while ((fn & 1U) != 0) {
    fn >>= 1U;
    sn >>= 1U;
  }
  Digest fr = p[0];
  Digest sr = p[0];
  for (std::size_t i = 1; i < p.size(); ++i) {
    const Digest& c = p[i];
    if (sn == 0) return proof_error("consistency proof: too many hashes");
    if ((fn & 1U) != 0 || fn == sn) {
      fr = merkle_node_hash(c, fr);
      sr = merkle_node_hash(c, sr);
      while ((fn & 1U) == 0 && fn != 0) {
        fn >>= 1U;
        sn >>= 1U;
      }
    } else {
      sr = merkle_node_hash(sr, c);
    }
    fn >>= 1U;
    sn >>= 1U;
  }
  if (sn != 0) return proof_error("consistency proof: too few hashes");
  if (fr != root1) return proof_error("consistency proof: first root does not match");
  if (sr != root2) return proof_error("consistency proof: second root does not match");
  return ok_status();
}

Result<MerkleFrontier> MerkleFrontier::load(std::uint64_t size, const SubtreeHashFn& subtree) {
  MerkleFrontier f;
  f.size_ = size;
  std::uint64_t start = 0;
  for (int bit = 63; bit >= 0; --bit) {
    const std::uint64_t span = std::uint64_t{1} << static_cast<unsigned>(bit);
    if ((size & span) == 0) continue;
    const auto level = static_cast<unsigned>(bit);
    WITNESS_ASSIGN_OR_RETURN(Digest h, subtree(level, start >> level));
    f.nodes_.push_back({level, h});
    start += span;
  }
  return f;
}

void MerkleFrontier::append(const Digest& leaf_hash, std::vector<CompletedSubtree>& completed) {
  Node carry{0, leaf_hash};
  const std::uint64_t new_size = size_ + 1;
  while (!nodes_.empty() && nodes_.back().level == carry.level) {
    carry.hash = merkle_node_hash(nodes_.back().hash, carry.hash);
    ++carry.level;
    nodes_.pop_back();
    completed.push_back({carry.level, (new_size >> carry.level) - 1, carry.hash});
  }
  nodes_.push_back(carry);
  size_ = new_size;
}

Digest MerkleFrontier::root() const {
  if (nodes_.empty()) return merkle_empty_root();
  Digest r = nodes_.back().hash;
  for (auto it = nodes_.rbegin() + 1; it != nodes_.rend(); ++it) r = merkle_node_hash(it->hash, r);
  return r;
}

}  // namespace witness::ledger
