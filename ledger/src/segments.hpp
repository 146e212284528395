// Format 2's packed values (docs/ledger_format.md, section 4): entry bundle segments, hash tile
// segments and posting lists; and the readers that find an entry or a subtree hash through one
// iterator, keeping the segment last read.
//
// A segment holds a run of consecutive items that one commit group wrote and that does not
// cross a multiple of format::kTileWidth; its key names its first item. An item is found by
// SeekForPrev to the key of its own position: the segment at or before it either holds it or
// the item does not exist.
#pragma once

#include <array>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <rocksdb/db.h>

#include "witness/base/result.hpp"
#include "witness/ledger/digest.hpp"
#include "witness/ledger/entry.hpp"
#include "witness/ledger/options.hpp"

namespace witness::ledger::detail {

// ---- Keys ----

// 'b' first_seq.
[[nodiscard]] std::string bundle_key(SequenceNumber first);
// 'h' height first_index.
[[nodiscard]] std::string tile_key(unsigned height, std::uint64_t first);

// ---- Entry bundle segments: u16be(count) { u32be(len) stored-node-bytes }* chain(32) ----

// Builds one segment value from `count` entries added in order, then the chain after the last.
class BundleBuilder {
 public:
  void add(std::string_view stored);
  // The value; the builder is empty again afterwards.
  [[nodiscard]] std::string finish(const Digest& chain);
  [[nodiscard]] std::size_t count() const { return count_; }

 private:
  std::string value_ = std::string(2, '\0');
  std::size_t count_ = 0;
};

// A decoded segment: views into `value`.
struct BundleSegment {
  SequenceNumber first = 0;
  std::string value;
  std::vector<std::string_view> entries;  // stored node bytes, seq first + i
  Digest chain;                           // chain after the last entry
  [[nodiscard]] SequenceNumber end() const { return first + entries.size(); }
};

// Decodes `value` (the segment under bundle_key(first)) into `out`. Errors: kCorruption naming
// the segment.
[[nodiscard]] Status parse_bundle(SequenceNumber first, std::string value, BundleSegment& out);

// The ledger's size in `ro`'s view: the end of the last bundle segment, read from its key and
// count alone (its entries are not decoded). Errors: kCorruption (a malformed key or header).
[[nodiscard]] Result<SequenceNumber> bundle_end(rocksdb::DB* db, const rocksdb::ReadOptions& ro);

// ---- Posting lists: the key's first seq, then LEB128 varints of the gaps (each >= 1) ----

void append_varint(std::uint64_t v, std::string& out);
// Decodes a posting value after `first` into `out` (cleared; starts with first). Errors:
// kCorruption (a truncated or overlong varint, a zero gap, a seq past 2^64).
[[nodiscard]] Status parse_posting(SequenceNumber first, std::string_view value,
                                   std::vector<SequenceNumber>& out);

// ---- Readers ----

// Reads entries through one iterator; consecutive reads in one segment decode it once.
// Not thread-safe; lives shorter than the snapshot in `ro`.
class BundleReader {
 public:
  BundleReader(rocksdb::DB* db, const rocksdb::ReadOptions& ro);
  // The segment holding `seq`. Errors: kNotFound (no entry `seq`), kCorruption, kIOError.
  [[nodiscard]] Result<const BundleSegment*> segment(SequenceNumber seq);
  // The stored node bytes of `seq`; valid until the next call.
  [[nodiscard]] Result<std::string_view> stored(SequenceNumber seq);
  [[nodiscard]] Result<Entry> entry(SequenceNumber seq);
  // The last segment (the ledger's right edge), or nullopt for an empty ledger.
  [[nodiscard]] Result<const BundleSegment*> last();

 private:
  [[nodiscard]] Result<const BundleSegment*> load_at_or_before(const std::string& key,
                                                               std::string_view what);
  [[nodiscard]] Result<const BundleSegment*> find(SequenceNumber seq, std::string_view what);
  rocksdb::DB* db_;
  rocksdb::ReadOptions ro_;
  std::unique_ptr<rocksdb::Iterator> it_;
  std::optional<BundleSegment> cached_;
};

// Hash tiles read lately, shared by every reader of one ledger. A stored tile only ever grows
// (a partial tile is a prefix of the full one), so bytes cached from any snapshot answer any
// index they hold. Thread-safe; least recently used out first.
class TileCache {
 public:
  explicit TileCache(std::size_t capacity) : capacity_(capacity) {}
  [[nodiscard]] std::shared_ptr<const std::string> find(unsigned height, std::uint64_t first);
  void insert(unsigned height, std::uint64_t first, std::shared_ptr<const std::string> hashes);

 private:
  using Key = std::pair<unsigned, std::uint64_t>;
  struct KeyHash {
    std::size_t operator()(const Key& k) const {
      return std::hash<std::uint64_t>()(k.second) ^ k.first;
    }
  };
  std::size_t capacity_;
  std::mutex mu_;
  std::list<Key> order_;  // most recent first
  std::unordered_map<Key, std::pair<std::shared_ptr<const std::string>, std::list<Key>::iterator>,
                     KeyHash>
      tiles_;
};

// Reads subtree hashes from hash tiles, keeping one tile (or segment) per height: a full tile
// with one Get, a partial one (the right edge) by seeking its segment.
// Not thread-safe; lives shorter than the snapshot in `ro`.
class TileReader {
 public:
  // `cache`, when given, is consulted first and fed with what is read.
  TileReader(rocksdb::DB* db, rocksdb::ReadOptions ro, TileCache* cache = nullptr);
  // The hash of the complete subtree of 2^height leaves starting at leaf index << height.
  // Errors: kCorruption ("missing" when no segment holds it), kIOError.
  [[nodiscard]] Result<Digest> hash(unsigned height, std::uint64_t index);

 private:
  struct Cached {
    std::uint64_t first = 0;
    std::shared_ptr<const std::string> hashes;
  };
  rocksdb::DB* db_;
  TileCache* cache_shared_;
  rocksdb::ReadOptions ro_;
  std::unique_ptr<rocksdb::Iterator> it_;  // for partial tiles; made on first use
  std::array<std::optional<Cached>, 64> cache_;
};

}  // namespace witness::ledger::detail
