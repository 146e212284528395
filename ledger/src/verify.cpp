// Ledger::verify: the full consistency check of SPEC 3.6.
//
// Forward pass, in seq order: decode each stored node, recompute its id, leaf hash, chain hash
// and the Merkle subtrees it completes, and look up every index key the node implies.
// Backward check: count the keys under every prefix; with every implied key present, equal
// counts mean no extra keys. When a count differs, a second scan of that index finds the
// offending key and names its seq.
#include <array>
#include <map>

#include <rocksdb/iterator.h>

#include "witness/base/ascii.hpp"

#include "format.hpp"
#include "hex.hpp"
#include "key_codec.hpp"
#include "ledger_impl.hpp"
#include "node_codec.hpp"
#include "rocksdb_error.hpp"
#include "sha256.hpp"

namespace witness::ledger {
namespace {

struct IndexKeys {
  std::vector<std::pair<char, std::string>> keys;  // (prefix, key)
};

// Every index key (other than 'i') that `node` at `seq` implies.
void implied_keys(const TraceNode& node, SequenceNumber seq, IndexKeys& out) {
  out.keys.clear();
  out.keys.emplace_back(format::kByOrigin, detail::term_key(format::kByOrigin, node.origin(), seq));
  out.keys.emplace_back(format::kByKind, detail::term_key(format::kByKind, node.kind(), seq));
  if (node.walk()) {
    out.keys.emplace_back(format::kByWalk, detail::term_key(format::kByWalk, *node.walk(), seq));
  }
  for (const auto& tag : node.tags()) {
    out.keys.emplace_back(format::kByTag, detail::term_key(format::kByTag, tag, seq));
  }
  out.keys.emplace_back(format::kByTime, detail::time_key(node.timestamp(), seq));
  for (const Link& link : node.links()) {
    out.keys.emplace_back(format::kByLinkTarget, detail::link_key(link.target, seq, link.relation));
  }
}

std::string_view index_name(char prefix) {
  switch (prefix) {
    case format::kById:
      return "id index";
    case format::kByOrigin:
      return "origin index";
    case format::kByKind:
      return "kind index";
    case format::kByWalk:
      return "walk index";
    case format::kByTag:
      return "tag index";
    case format::kByTime:
      return "time index";
    case format::kByLinkTarget:
      return "link-target index";
    case format::kMerkle:
      return "merkle tree";
    case format::kNode:
      return "node records";
    case format::kHashRecord:
      return "hash records";
    case format::kCheckpoint:
      return "checkpoints";
    default:
      return "unknown";
  }
}

// The seq a key of `prefix` names, when it names one.
std::optional<SequenceNumber> seq_of_key(char prefix, std::string_view key) {
  switch (prefix) {
    case format::kByOrigin:
    case format::kByKind:
    case format::kByWalk:
    case format::kByTag:
    case format::kByTime:
      return key.size() >= 9 ? std::optional(detail::trailing_seq(key)) : std::nullopt;
    case format::kByLinkTarget:
      return key.size() == 42 ? std::optional(get_be64(key.substr(33))) : std::nullopt;
    case format::kNode:
    case format::kHashRecord:
      return key.size() == 9 ? std::optional(get_be64(key.substr(1))) : std::nullopt;
    default:
      return std::nullopt;
  }
}

}  // namespace

Result<VerifyReport> Ledger::verify(const VerifyOptions& options) const {
  if (!impl_) return closed_error();
  const auto& progress = options.progress;
  const SnapshotGuard snap(impl_->db.get());
  const auto ro = snap.read_options();
  VerifyReport report;
  const auto fail = [&](std::optional<SequenceNumber> seq, std::string what) -> VerifyReport {
    report.problem = VerifyProblem{seq, std::move(what)};
    return report;
  };

  // The size is what the hash records say; node records must match it one for one.
  std::uint64_t size = 0;
  {
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro));
    it->SeekForPrev(detail::seq_key(format::kHashRecord, ~SequenceNumber{0}));
    if (it->Valid() && !it->key().empty() && it->key()[0] == format::kHashRecord) {
      if (it->key().size() != 9) return fail(std::nullopt, "hash records: malformed key");
      size = get_be64(it->key().ToStringView().substr(1)) + 1;
    }
    WITNESS_RETURN_IF_ERROR(detail::to_status(it->status(), "verify"));
  }

  // Stored checkpoints: each must sign, with the given key or this ledger's, the root at its
  // size.
  std::map<std::uint64_t, Checkpoint> checkpoints;
  {
    const auto verifier = options.public_key ? options.public_key : verifier_key();
    if (options.public_key) {
      // A malformed key is the caller's error, not a problem of the ledger's.
      if (auto k = parse_verifier_key(*options.public_key); !k) return k.error();
    }
    report.signatures_checked = verifier.has_value();
    const std::string prefix(1, format::kCheckpoint);
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      const auto key = it->key().ToStringView();
      const std::uint64_t at = key.size() == 9 ? get_be64(key.substr(1)) : 0;
      const std::string where = "checkpoint at size " + std::to_string(at);
      auto cp = verifier ? verify_checkpoint(it->value().ToStringView(), *verifier)
                         : parse_checkpoint(it->value().ToStringView());
      if (!cp) {
        return fail(at > 0 ? std::optional(at - 1) : std::nullopt,
                    where + ": " + cp.error().message);
      }
      if (key.size() != 9 || cp->size != at || cp->origin != impl_->origin) {
        return fail(std::nullopt, where + ": key, size or origin does not match the note");
      }
      if (at > size) {
        return fail(size, where + " is beyond the ledger's " + std::to_string(size) +
                              " entries: entries were removed");
      }
      checkpoints.emplace(at, *cp);
    }
    WITNESS_RETURN_IF_ERROR(detail::to_status(it->status(), "verify"));
  }
  if (const auto it = checkpoints.find(0);
      it != checkpoints.end() && it->second.root != merkle_empty_root()) {
    return fail(std::nullopt, "checkpoint at size 0: root is not the empty root");
  }

  std::map<char, std::uint64_t> expected_counts;
  std::unique_ptr<rocksdb::Iterator> nodes(impl_->db->NewIterator(ro));
  std::unique_ptr<rocksdb::Iterator> hashes(impl_->db->NewIterator(ro));
  nodes->Seek(std::string(1, format::kNode));
  hashes->Seek(std::string(1, format::kHashRecord));
  Digest chain;
  MerkleFrontier tree;
  std::vector<CompletedSubtree> completed;
  IndexKeys implied;
  std::string value;
  for (SequenceNumber seq = 0; seq < size; ++seq) {
    const std::string nkey = detail::seq_key(format::kNode, seq);
    const std::string ekey = detail::seq_key(format::kHashRecord, seq);
    if (!nodes->Valid() || nodes->key().ToStringView() != nkey) {
      WITNESS_RETURN_IF_ERROR(detail::to_status(nodes->status(), "verify"));
      return fail(seq, "node record missing");
    }
    if (!hashes->Valid() || hashes->key().ToStringView() != ekey) {
      WITNESS_RETURN_IF_ERROR(detail::to_status(hashes->status(), "verify"));
      return fail(seq, "hash record missing");
    }
    const std::string_view bytes = nodes->value().ToStringView();
    auto node = detail::decode_stored_node(bytes);
    if (!node) return fail(seq, "node record does not decode: " + node.error().message);
    if (Digest::sha256(node->canonical_encoding()) != node->id()) {
      return fail(seq, "node content does not hash to its id " + node->id().to_hex());
    }
    const auto stored_hashes = hashes->value().ToStringView();
    if (stored_hashes.size() != format::kEntryValueSize) return fail(seq, "hash record malformed");
    const Digest leaf = detail::leaf_hash(bytes);
    chain = detail::chain_next(chain, leaf);
    if (std::memcmp(leaf.bytes.data(), stored_hashes.data(), 32) != 0) {
      return fail(seq, "node bytes do not match the stored leaf hash");
    }
    if (std::memcmp(chain.bytes.data(), stored_hashes.data() + 32, 32) != 0) {
      return fail(seq, "chain hash does not recompute");
    }
    // Merkle subtrees this leaf completes.
    completed.clear();
    tree.append(leaf, completed);
    for (const auto& c : completed) {
      const auto s = impl_->db->Get(ro, detail::merkle_key(c.level, c.index), &value);
      if (s.IsNotFound()) {
        return fail(seq, "merkle subtree (level " + std::to_string(c.level) + ") missing");
      }
      WITNESS_RETURN_IF_ERROR(detail::to_status(s, "verify"));
      if (value.size() != 32 || std::memcmp(value.data(), c.hash.bytes.data(), 32) != 0) {
        return fail(seq, "merkle subtree (level " + std::to_string(c.level) + ", index " +
                             std::to_string(c.index) + ") does not recompute");
      }
      ++report.merkle_nodes;
    }
    // The id index.
    {
      const auto s = impl_->db->Get(ro, detail::id_key(node->id()), &value);
      if (s.IsNotFound()) return fail(seq, "id index entry missing");
      WITNESS_RETURN_IF_ERROR(detail::to_status(s, "verify"));
      std::string want;
      put_be64(seq, want);
      put_be64(detail::order_preserving(node->timestamp().time_since_epoch().count()), want);
      if (value != want) return fail(seq, "id index entry does not match the node");
      ++expected_counts[format::kById];
      ++report.index_entries;
    }
    implied_keys(*node, seq, implied);
    for (const auto& [prefix, key] : implied.keys) {
      const auto s = impl_->db->Get(ro, key, &value);
      if (s.IsNotFound()) return fail(seq, std::string(index_name(prefix)) + " entry missing");
      WITNESS_RETURN_IF_ERROR(detail::to_status(s, "verify"));
      if (!value.empty()) return fail(seq, std::string(index_name(prefix)) + " entry has a value");
      ++expected_counts[prefix];
      ++report.index_entries;
    }
    if (const auto cp = checkpoints.find(seq + 1); cp != checkpoints.end()) {
      if (cp->second.root != tree.root()) {
        return fail(seq, "checkpoint at size " + std::to_string(seq + 1) + ": root does not match");
      }
      ++report.checkpoints;
    }
    ++report.entries;
    nodes->Next();
    hashes->Next();
    if (progress) progress(seq + 1, size);
  }
  WITNESS_RETURN_IF_ERROR(detail::to_status(nodes->status(), "verify"));
  if (nodes->Valid() && !nodes->key().empty() && nodes->key()[0] == format::kNode) {
    return fail(seq_of_key(format::kNode, nodes->key().ToStringView()),
                "node record beyond the last hash record");
  }
  expected_counts[format::kNode] = size;
  expected_counts[format::kHashRecord] = size;
  expected_counts[format::kMerkle] = report.merkle_nodes;
  report.chain_head = chain;
  report.merkle_root = tree.root();

  // Backward: count every prefix; a surplus means a key no node accounts for.
  std::map<char, std::uint64_t> counts;
  {
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const auto key = it->key().ToStringView();
      if (key.empty()) return fail(std::nullopt, "empty key");
      const char prefix = key[0];
      if (prefix == format::kMeta) {
        if (key != format::kMetaFormatVersion && key != format::kMetaLedgerId) {
          return fail(std::nullopt, "unknown meta key \"" + printable(key) + "\"");
        }
        continue;
      }
      if (index_name(prefix) == "unknown") {
        return fail(std::nullopt, "unknown key with prefix byte 0x" +
                                      detail::hex_encode(std::string_view(&prefix, 1)));
      }
      ++counts[prefix];
    }
    WITNESS_RETURN_IF_ERROR(detail::to_status(it->status(), "verify"));
  }
  counts.erase(format::kCheckpoint);  // checked above, one by one
  for (const auto& [prefix, count] : counts) {
    const std::uint64_t want = expected_counts[prefix];
    if (count == want) continue;
    // Find the first key of this index that its node does not imply.
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro));
    for (it->Seek(std::string(1, prefix)); it->Valid() && it->key()[0] == prefix; it->Next()) {
      const auto key = it->key().ToStringView();
      if (prefix == format::kById) {
        const auto seq = it->value().size() == 16
                             ? std::optional(get_be64(it->value().ToStringView()))
                             : std::nullopt;
        if (!seq || *seq >= size) return fail(seq, "id index entry points past the ledger");
        auto e = impl_->read_entry(ro, *seq);
        if (!e || detail::id_key(e->node.id()) != key) {
          return fail(seq, "id index entry does not match the node it points to");
        }
        continue;
      }
      if (prefix == format::kMerkle) {
        return fail(std::nullopt, "merkle tree: " + std::to_string(count - std::min(count, want)) +
                                      " subtree records beyond the tree");
      }
      const auto seq = seq_of_key(prefix, key);
      if (!seq || *seq >= size) {
        return fail(seq, std::string(index_name(prefix)) + " entry points past the ledger");
      }
      auto e = impl_->read_entry(ro, *seq);
      if (!e) return fail(seq, std::string(index_name(prefix)) + " entry for an unreadable node");
      implied_keys(e->node, *seq, implied);
      const bool known = std::any_of(implied.keys.begin(), implied.keys.end(),
                                     [&](const auto& k) { return k.second == key; });
      if (!known) {
        return fail(seq, std::string(index_name(prefix)) + " entry does not match the node");
      }
    }
    return fail(std::nullopt, std::string(index_name(prefix)) + ": " + std::to_string(count) +
                                  " keys, " + std::to_string(want) + " expected");
  }
  return report;
}

}  // namespace witness::ledger
