// Ledger::verify: the full consistency check of SPEC 3.6, for format 2.
//
// Forward pass, in seq order over the entry bundle segments: decode each stored node,
// recompute its id, leaf hash and chain hash (checked at the end of every segment), and the
// Merkle subtrees it completes (checked against the hash tiles, one cursor per height); look
// up the id, time and link-target keys the node implies; count the postings it implies.
// Posting pass: every posting segment decodes, its seqs increase across a term's segments, and
// each names a node that carries the term; with the counts equal, no posting is missing.
// Backward check: count the keys under every prefix; with every implied key present, equal
// counts mean no extra keys. When a count differs, a second scan finds the offending key (or,
// for a missing posting, the node without it) and names its seq.
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
#include "segments.hpp"
#include "sha256.hpp"

namespace witness::ledger {
namespace {

constexpr std::array<char, 4> kPostingPrefixes = {format::kByOrigin, format::kByKind,
                                                  format::kByWalk, format::kByTag};

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
    case format::kTile:
      return "merkle tree";
    case format::kBundle:
      return "entry bundles";
    case format::kCheckpoint:
      return "checkpoints";
    default:
      return "unknown";
  }
}

// The (index, term) postings a node implies.
std::vector<std::pair<char, std::string_view>> implied_postings(const TraceNode& node) {
  std::vector<std::pair<char, std::string_view>> out;
  out.emplace_back(format::kByOrigin, node.origin());
  out.emplace_back(format::kByKind, node.kind());
  if (node.walk()) out.emplace_back(format::kByWalk, *node.walk());
  for (const auto& tag : node.tags()) out.emplace_back(format::kByTag, tag);
  return out;
}

// Whether `node` carries `term` in the index `prefix` (once per posting: no allocation).
bool carries(const TraceNode& node, char prefix, std::string_view term) {
  switch (prefix) {
    case format::kByOrigin:
      return node.origin() == term;
    case format::kByKind:
      return node.kind() == term;
    case format::kByWalk:
      return node.walk() && *node.walk() == term;
    case format::kByTag:
      return std::find(node.tags().begin(), node.tags().end(), term) != node.tags().end();
    default:
      return false;
  }
}

// Walks the tile segments of one height in index order, as the forward pass recomputes them.
class TileCursor {
 public:
  TileCursor(rocksdb::DB* db, const rocksdb::ReadOptions& ro, unsigned height)
      : height_(height), prefix_{format::kTile, static_cast<char>(height)} {
    it_.reset(db->NewIterator(ro));
    it_->Seek(prefix_);
  }
  // Checks the stored hash at `index` (the next index of this height). Returns the problem.
  std::optional<std::string> check(std::uint64_t index, const Digest& hash) {
    const std::string what = "merkle subtree (level " + std::to_string(height_) + ", index " +
                             std::to_string(index) + ")";
    if (pos_ == hashes_.size()) {  // the next segment must start here
      if (!it_->Valid() || it_->key().ToStringView() != detail::tile_key(height_, index)) {
        return what + " missing";
      }
      hashes_ = it_->value().ToString();
      pos_ = 0;
      ++segments_;
      if (hashes_.empty() || hashes_.size() % Digest::kSize != 0 ||
          (index % format::kTileWidth) + (hashes_.size() / Digest::kSize) > format::kTileWidth) {
        return what + ": malformed tile segment";
      }
      it_->Next();
    }
    if (std::memcmp(hashes_.data() + pos_, hash.bytes.data(), Digest::kSize) != 0) {
      return what + " does not recompute";
    }
    pos_ += Digest::kSize;
    return std::nullopt;
  }
  // After the pass: hashes left in a segment are beyond the tree.
  [[nodiscard]] bool exhausted() const { return pos_ == hashes_.size(); }
  [[nodiscard]] std::uint64_t segments() const { return segments_; }
  [[nodiscard]] Status status() const { return detail::to_status(it_->status(), "verify"); }

 private:
  unsigned height_;
  std::string prefix_;
  std::unique_ptr<rocksdb::Iterator> it_;
  std::string hashes_;
  std::size_t pos_ = 0;
  std::uint64_t segments_ = 0;
};

}  // namespace

Result<VerifyReport> Ledger::verify(const VerifyOptions& options) const {
  if (!impl_) return closed_error();
  const auto& progress = options.progress;
  // A following open reads without a snapshot: hold catch_up off, so that the counts below
  // are of one state (see SnapshotGuard).
  std::unique_lock<std::mutex> no_catch_up;
  if (impl_->options.follow) no_catch_up = std::unique_lock(impl_->catch_up_mu);
  const SnapshotGuard snap = impl_->snapshot();
  const auto ro = snap.read_options();
  rocksdb::DB* db = impl_->db.get();
  rocksdb::ColumnFamilyHandle* keyed = impl_->keyed_cf.get();
  VerifyReport report;
  const auto fail = [&](std::optional<SequenceNumber> seq, std::string what) -> VerifyReport {
    report.problem = VerifyProblem{seq, std::move(what)};
    return report;
  };

  // The size is what the last bundle segment says (decoded whole: it must be sound); the
  // segments must cover it without gaps.
  std::uint64_t size = 0;
  {
    detail::BundleReader last_reader(db, ro);
    auto last = last_reader.last();
    if (!last) {
      if (last.error().code == ErrorCode::kCorruption) {
        return fail(std::nullopt, last.error().message);
      }
      return last.error();
    }
    size = *last == nullptr ? 0 : (*last)->end();
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
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
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

  // Forward pass.
  std::map<char, std::uint64_t> expected_counts;
  std::map<char, std::uint64_t> expected_postings;
  std::vector<std::unique_ptr<TileCursor>> tiles(format::kMaxHeight + 1);
  const auto tile = [&](unsigned height) -> TileCursor& {
    auto& t = tiles.at(height);
    if (!t) t = std::make_unique<TileCursor>(db, ro, height);
    return *t;
  };
  std::unique_ptr<rocksdb::Iterator> bundles(db->NewIterator(ro));
  bundles->Seek(std::string(1, format::kBundle));
  detail::BundleSegment segment;
  Digest chain;
  MerkleFrontier tree;
  std::vector<CompletedSubtree> completed;
  std::string value;
  SequenceNumber seq = 0;
  while (seq < size) {
    if (!bundles->Valid() || bundles->key().ToStringView() != detail::bundle_key(seq)) {
      WITNESS_RETURN_IF_ERROR(detail::to_status(bundles->status(), "verify"));
      return fail(seq, "node record missing (no entry bundle segment starts here)");
    }
    if (auto s = detail::parse_bundle(seq, bundles->value().ToString(), segment); !s) {
      return fail(seq, s.error().message);
    }
    ++expected_counts[format::kBundle];
    for (const std::string_view bytes : segment.entries) {
      auto node = detail::decode_stored_node(bytes);
      if (!node) return fail(seq, "node record does not decode: " + node.error().message);
      if (Digest::sha256(node->canonical_encoding()) != node->id()) {
        return fail(seq, "node content does not hash to its id " + node->id().to_hex());
      }
      const Digest leaf = detail::leaf_hash(bytes);
      chain = detail::chain_next(chain, leaf);
      if (auto problem = tile(0).check(seq, leaf)) {
        return fail(seq, "node bytes do not match the stored leaf hash (" + *problem + ")");
      }
      completed.clear();
      tree.append(leaf, completed);
      for (const auto& c : completed) {
        if (auto problem = tile(c.level).check(c.index, c.hash)) return fail(seq, *problem);
        ++report.merkle_nodes;
      }
      // The id index.
      {
        const auto s = db->Get(ro, keyed, detail::id_key(node->id()), &value);
        if (s.IsNotFound()) return fail(seq, "id index entry missing");
        WITNESS_RETURN_IF_ERROR(detail::to_status(s, "verify"));
        std::string want;
        put_be64(seq, want);
        put_be64(detail::order_preserving(node->timestamp().time_since_epoch().count()), want);
        if (value != want) return fail(seq, "id index entry does not match the node");
        ++expected_counts[format::kById];
        ++report.index_entries;
      }
      // The time and link-target keys.
      const auto present = [&](rocksdb::ColumnFamilyHandle* cf, const std::string& key,
                               char prefix) -> std::optional<std::string> {
        const auto s = db->Get(ro, cf, key, &value);
        if (s.IsNotFound()) return std::string(index_name(prefix)) + " entry missing";
        if (!s.ok()) return "verify: " + s.ToString();
        if (!value.empty()) return std::string(index_name(prefix)) + " entry has a value";
        ++expected_counts[prefix];
        ++report.index_entries;
        return std::nullopt;
      };
      if (auto p = present(keyed, detail::time_key(node->timestamp(), seq), format::kByTime)) {
        return fail(seq, *p);
      }
      for (const Link& link : node->links()) {
        if (auto p = present(keyed, detail::link_key(link.target, seq, link.relation),
                             format::kByLinkTarget)) {
          return fail(seq, *p);
        }
      }
      for (const auto& [prefix, term] : implied_postings(*node)) ++expected_postings[prefix];
      if (const auto cp = checkpoints.find(seq + 1); cp != checkpoints.end()) {
        if (cp->second.root != tree.root()) {
          return fail(seq,
                      "checkpoint at size " + std::to_string(seq + 1) + ": root does not match");
        }
        ++report.checkpoints;
      }
      ++report.entries;
      ++seq;
      if (progress) progress(seq, size);
    }
    if (chain != segment.chain) return fail(seq - 1, "chain hash does not recompute");
    bundles->Next();
  }
  WITNESS_RETURN_IF_ERROR(detail::to_status(bundles->status(), "verify"));
  if (bundles->Valid() && !bundles->key().empty() && bundles->key()[0] == format::kBundle) {
    return fail(size, "entry bundle segment beyond the last entry");
  }
  std::uint64_t tile_segments = 0;
  for (unsigned h = 0; h < tiles.size(); ++h) {
    if (!tiles[h]) continue;
    WITNESS_RETURN_IF_ERROR(tiles[h]->status());
    if (!tiles[h]->exhausted()) {
      return fail(std::nullopt,
                  "merkle tree: level " + std::to_string(h) + " holds hashes beyond the tree");
    }
    tile_segments += tiles[h]->segments();
  }
  expected_counts[format::kTile] = tile_segments;
  report.chain_head = chain;
  report.merkle_root = tree.root();

  // Posting pass: every posting names a node that carries its term, once.
  detail::BundleReader reader(db, ro);
  std::vector<SequenceNumber> seqs;
  for (const char prefix : kPostingPrefixes) {
    std::uint64_t count = 0;
    std::string last_term;
    std::optional<SequenceNumber> last_seq;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
    const std::string name(index_name(prefix));
    for (it->Seek(std::string(1, prefix)); it->Valid() && it->key()[0] == prefix; it->Next()) {
      const auto key = it->key().ToStringView();
      const std::size_t len = key.size() >= 3 ? get_be16(key.substr(1)) : 0;
      if (key.size() != 3 + len + 8 || len == 0) {
        return fail(std::nullopt, name + ": malformed key");
      }
      const std::string_view term = key.substr(3, len);
      const SequenceNumber first = detail::trailing_seq(key);
      if (auto s = detail::parse_posting(first, it->value().ToStringView(), seqs); !s) {
        return fail(first, name + " segment: " + s.error().message);
      }
      if (term != last_term) {
        last_term = term;
        last_seq.reset();
      }
      if (last_seq && first <= *last_seq) {
        return fail(first, name + " entry listed twice for \"" + printable(term) + "\"");
      }
      for (const SequenceNumber s : seqs) {
        if (s >= size) return fail(s, name + " entry points past the ledger");
        auto e = reader.entry(s);
        if (!e) return fail(s, name + " entry for an unreadable node");
        if (!carries(e->node, prefix, term)) {
          return fail(s, name + " entry does not match the node");
        }
      }
      last_seq = seqs.back();
      count += seqs.size();
    }
    WITNESS_RETURN_IF_ERROR(detail::to_status(it->status(), "verify"));
    report.index_entries += count;
    if (count == expected_postings[prefix]) continue;
    // Fewer than the nodes imply: find the first node whose posting is missing.
    for (SequenceNumber s = 0; s < size; ++s) {
      auto e = reader.entry(s);
      if (!e) return fail(s, "node record unreadable");
      for (const auto& [p, term] : implied_postings(e->node)) {
        if (p != prefix) continue;
        // The segment that would hold s: the last one of this term starting at or before s.
        std::string key = detail::term_key(prefix, term, s);
        std::unique_ptr<rocksdb::Iterator> at(db->NewIterator(ro));
        at->SeekForPrev(key);
        const std::string term_prefix = detail::term_prefix(prefix, term);
        bool found = false;
        if (at->Valid() && at->key().starts_with(term_prefix) &&
            at->key().size() == term_prefix.size() + 8) {
          if (detail::parse_posting(detail::trailing_seq(at->key().ToStringView()),
                                    at->value().ToStringView(), seqs)) {
            found = std::binary_search(seqs.begin(), seqs.end(), s);
          }
        }
        if (!found) return fail(s, name + " entry missing");
      }
    }
    return fail(std::nullopt, name + ": " + std::to_string(count) + " entries, " +
                                  std::to_string(expected_postings[prefix]) + " expected");
  }

  // Backward: count every prefix of both column families; a surplus means a key no node
  // accounts for.
  std::map<char, std::uint64_t> counts;
  for (rocksdb::ColumnFamilyHandle* cf : {impl_->default_cf.get(), keyed}) {
    const bool is_keyed = cf == keyed;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, cf));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const auto key = it->key().ToStringView();
      if (key.empty()) return fail(std::nullopt, "empty key");
      const char prefix = key[0];
      if (!is_keyed && prefix == format::kMeta) {
        if (key != format::kMetaFormatVersion && key != format::kMetaLedgerId) {
          return fail(std::nullopt, "unknown meta key \"" + printable(key) + "\"");
        }
        continue;
      }
      const bool in_keyed = format::is_keyed_prefix(prefix);
      if (index_name(prefix) == "unknown" || in_keyed != is_keyed) {
        return fail(std::nullopt, "unknown key with prefix byte 0x" +
                                      detail::hex_encode(std::string_view(&prefix, 1)) +
                                      (is_keyed ? " in the keyed column family" : ""));
      }
      if (std::find(kPostingPrefixes.begin(), kPostingPrefixes.end(), prefix) !=
          kPostingPrefixes.end()) {
        continue;  // checked in the posting pass
      }
      ++counts[prefix];
    }
    WITNESS_RETURN_IF_ERROR(detail::to_status(it->status(), "verify"));
  }
  counts.erase(format::kCheckpoint);  // checked above, one by one
  for (const auto& [prefix, count] : counts) {
    const std::uint64_t want = expected_counts[prefix];
    if (count == want) continue;
    const std::string name(index_name(prefix));
    if (prefix == format::kTile) {
      return fail(std::nullopt, "merkle tree: " + std::to_string(count - std::min(count, want)) +
                                    " tile segments beyond the tree");
    }
    if (prefix == format::kBundle) {
      return fail(std::nullopt, name + ": " + std::to_string(count) + " segments, " +
                                    std::to_string(want) + " expected");
    }
    // Find the first key of this index that its node does not imply.
    rocksdb::ColumnFamilyHandle* cf =
        format::is_keyed_prefix(prefix) ? keyed : impl_->default_cf.get();
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, cf));
    for (it->Seek(std::string(1, prefix)); it->Valid() && it->key()[0] == prefix; it->Next()) {
      const auto key = it->key().ToStringView();
      std::optional<SequenceNumber> seq_named;
      if (prefix == format::kById) {
        if (it->value().size() == format::kByIdValueSize) {
          seq_named = get_be64(it->value().ToStringView());
        }
      } else if (prefix == format::kByTime && key.size() == format::kTimeKeySize) {
        seq_named = detail::trailing_seq(key);
      } else if (prefix == format::kByLinkTarget && key.size() == format::kLinkKeySize) {
        seq_named = get_be64(key.substr(1 + Digest::kSize));
      }
      if (!seq_named || *seq_named >= size) {
        return fail(seq_named, name + " entry points past the ledger");
      }
      auto e = reader.entry(*seq_named);
      if (!e) return fail(seq_named, name + " entry for an unreadable node");
      bool known = false;
      if (prefix == format::kById) {
        known = detail::id_key(e->node.id()) == key;
      } else if (prefix == format::kByTime) {
        known = detail::time_key(e->node.timestamp(), *seq_named) == key;
      } else {
        for (const Link& link : e->node.links()) {
          known = known || detail::link_key(link.target, *seq_named, link.relation) == key;
        }
      }
      if (!known) return fail(seq_named, name + " entry does not match the node");
    }
    return fail(std::nullopt, name + ": " + std::to_string(count) + " keys, " +
                                  std::to_string(want) + " expected");
  }
  return report;
}

}  // namespace witness::ledger
