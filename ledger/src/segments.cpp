#include "segments.hpp"

#include <cstring>

#include "witness/base/endian.hpp"

#include "format.hpp"
#include "key_codec.hpp"
#include "node_codec.hpp"
#include "rocksdb_error.hpp"

namespace witness::ledger::detail {

std::string bundle_key(SequenceNumber first) { return seq_key(format::kBundle, first); }

std::string tile_key(unsigned height, std::uint64_t first) {
  std::string k;
  k.reserve(format::kTileKeySize);
  k.push_back(format::kTile);
  k.push_back(static_cast<char>(height));
  put_be64(first, k);
  return k;
}

void BundleBuilder::add(std::string_view stored) {
  put_be32(static_cast<std::uint32_t>(stored.size()), value_);
  value_.append(stored);
  ++count_;
}

std::string BundleBuilder::finish(const Digest& chain) {
  const auto n = static_cast<std::uint16_t>(count_);
  value_[0] = static_cast<char>(n >> 8U);
  value_[1] = static_cast<char>(n & 0xffU);
  value_.append(reinterpret_cast<const char*>(chain.bytes.data()), Digest::kSize);  // NOLINT
  std::string out = std::move(value_);
  value_.assign(2, '\0');
  count_ = 0;
  return out;
}

Status parse_bundle(SequenceNumber first, std::string value, BundleSegment& out) {
  const std::string what = "entry bundle segment at seq " + std::to_string(first);
  out.first = first;
  out.value = std::move(value);
  out.entries.clear();
  const std::string_view v = out.value;
  if (v.size() < 2 + Digest::kSize) return corruption(what + ": shorter than its header");
  const std::size_t count = get_be16(v);
  if (count == 0 || count > format::kTileWidth ||
      (first % format::kTileWidth) + count > format::kTileWidth) {
    return corruption(what + ": " + std::to_string(count) +
                      " entries do not fit its bundle of 256");
  }
  std::size_t pos = 2;
  const std::size_t body_end = v.size() - Digest::kSize;
  out.entries.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (body_end - pos < format::kEntryLengthSize) return corruption(what + ": truncated");
    const std::size_t len = get_be32(v.substr(pos));
    pos += format::kEntryLengthSize;
    if (body_end - pos < len) return corruption(what + ": truncated");
    out.entries.push_back(v.substr(pos, len));
    pos += len;
  }
  if (pos != body_end) return corruption(what + ": bytes after its last entry");
  std::memcpy(out.chain.bytes.data(), v.data() + body_end, Digest::kSize);
  return ok_status();
}

void append_varint(std::uint64_t v, std::string& out) {
  while (v >= 0x80U) {
    out.push_back(static_cast<char>((v & 0x7fU) | 0x80U));
    v >>= 7U;
  }
  out.push_back(static_cast<char>(v));
}

Status parse_posting(SequenceNumber first, std::string_view value,
                     std::vector<SequenceNumber>& out) {
  out.clear();
  out.push_back(first);
  SequenceNumber seq = first;
  std::size_t pos = 0;
  while (pos < value.size()) {
    std::uint64_t gap = 0;
    unsigned shift = 0;
    for (;;) {
      if (pos == value.size() || shift > 63) return corruption("posting list: bad varint");
      const auto byte = static_cast<unsigned char>(value[pos++]);
      gap |= static_cast<std::uint64_t>(byte & 0x7fU) << shift;
      if ((byte & 0x80U) == 0) break;
      shift += 7;
    }
    if (gap == 0 || gap > ~SequenceNumber{0} - seq) {
      return corruption("posting list: seqs not strictly increasing");
    }
    seq += gap;
    out.push_back(seq);
  }
  return ok_status();
}

BundleReader::BundleReader(rocksdb::DB* db, const rocksdb::ReadOptions& ro)
    : db_(db), ro_(ro), it_(db->NewIterator(ro)) {}

Result<const BundleSegment*> BundleReader::load_at_or_before(const std::string& key,
                                                             std::string_view what) {
  it_->SeekForPrev(key);
  WITNESS_RETURN_IF_ERROR(to_status(it_->status(), what));
  if (!it_->Valid() || it_->key().empty() || it_->key()[0] != format::kBundle) {
    return not_found(std::string(what) + ": no such entry");
  }
  const auto k = it_->key().ToStringView();
  if (k.size() != format::kSeqKeySize) return corruption("entry bundle: malformed key");
  const SequenceNumber first = get_be64(k.substr(1));
  if (cached_ && cached_->first == first) return &*cached_;
  cached_.emplace();
  if (auto s = parse_bundle(first, it_->value().ToString(), *cached_); !s) {
    cached_.reset();
    return s.error();
  }
  return &*cached_;
}

Result<const BundleSegment*> BundleReader::find(SequenceNumber seq, std::string_view what) {
  WITNESS_ASSIGN_OR_RETURN(const BundleSegment* s, load_at_or_before(bundle_key(seq), what));
  if (seq >= s->end()) return not_found(std::string(what) + ": no such entry");
  return s;
}

Result<const BundleSegment*> BundleReader::segment(SequenceNumber seq) {
  if (cached_ && seq >= cached_->first && seq < cached_->end()) return &*cached_;
  const std::string what = "seq " + std::to_string(seq);
  auto s = find(seq, what);
  // Without a snapshot a reader is to see the latest state, but an iterator keeps the state it
  // was made in: an entry named by a newer view (an index read after this reader was made; in
  // a following ledger, after a catch_up) is looked for once more with a new iterator.
  if (!s && s.error().code == ErrorCode::kNotFound && ro_.snapshot == nullptr) {
    it_.reset(db_->NewIterator(ro_));
    s = find(seq, what);
  }
  return s;
}

Result<std::string_view> BundleReader::stored(SequenceNumber seq) {
  WITNESS_ASSIGN_OR_RETURN(const BundleSegment* s, segment(seq));
  return s->entries[seq - s->first];
}

Result<Entry> BundleReader::entry(SequenceNumber seq) {
  WITNESS_ASSIGN_OR_RETURN(const std::string_view bytes, stored(seq));
  auto node = decode_stored_node(bytes);
  if (!node) return node.error().with_context("seq " + std::to_string(seq));
  return Entry{seq, std::move(*node)};
}

Result<SequenceNumber> bundle_end(rocksdb::DB* db, const rocksdb::ReadOptions& ro) {
  const std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
  it->SeekForPrev(bundle_key(~SequenceNumber{0}));
  WITNESS_RETURN_IF_ERROR(to_status(it->status(), "ledger size"));
  if (!it->Valid() || it->key().empty() || it->key()[0] != format::kBundle) return 0;
  const auto k = it->key().ToStringView();
  const auto v = it->value().ToStringView();
  if (k.size() != format::kSeqKeySize) return corruption("entry bundle: malformed key");
  const SequenceNumber first = get_be64(k.substr(1));
  const std::size_t count = v.size() >= 2 + Digest::kSize ? get_be16(v) : 0;
  if (count == 0 || (first % format::kTileWidth) + count > format::kTileWidth) {
    return corruption("entry bundle segment at seq " + std::to_string(first) +
                      ": malformed header");
  }
  return first + count;
}

Result<const BundleSegment*> BundleReader::last() {
  auto s = load_at_or_before(bundle_key(~SequenceNumber{0}), "ledger head");
  if (!s && s.error().code == ErrorCode::kNotFound) {
    return static_cast<const BundleSegment*>(nullptr);
  }
  return s;
}

std::shared_ptr<const std::string> TileCache::find(unsigned height, std::uint64_t first) {
  const std::lock_guard lock(mu_);
  const auto it = tiles_.find({height, first});
  if (it == tiles_.end()) return nullptr;
  order_.splice(order_.begin(), order_, it->second.second);
  return it->second.first;
}

void TileCache::insert(unsigned height, std::uint64_t first,
                       std::shared_ptr<const std::string> hashes) {
  if (capacity_ == 0) return;
  const std::lock_guard lock(mu_);
  const Key key{height, first};
  if (const auto it = tiles_.find(key); it != tiles_.end()) {
    if (it->second.first->size() < hashes->size()) it->second.first = std::move(hashes);
    order_.splice(order_.begin(), order_, it->second.second);
    return;
  }
  order_.push_front(key);
  tiles_.emplace(key, std::pair{std::move(hashes), order_.begin()});
  if (tiles_.size() > capacity_) {
    tiles_.erase(order_.back());
    order_.pop_back();
  }
}

TileReader::TileReader(rocksdb::DB* db, rocksdb::ReadOptions ro, TileCache* cache)
    : db_(db), cache_shared_(cache), ro_(std::move(ro)) {}

Result<Digest> TileReader::hash(unsigned height, std::uint64_t index) {
  const auto what = [&] {
    return "merkle subtree (level " + std::to_string(height) + ", index " + std::to_string(index) +
           ")";
  };
  if (height > format::kMaxHeight) return corruption(what() + ": no such level");
  auto& slot = cache_.at(height);
  const auto holds = [&](const Cached& c) {
    return c.hashes && index >= c.first && index - c.first < c.hashes->size() / Digest::kSize;
  };
  const std::uint64_t tile_first = index - (index % format::kTileWidth);
  if (!slot || !holds(*slot)) {
    if (cache_shared_ != nullptr) {
      slot = Cached{tile_first, cache_shared_->find(height, tile_first)};
    }
  }
  if (!slot || !holds(*slot)) {
    // A full tile (or a height's partial tile of 8 and up) is one key, under the tile's first.
    std::string value;
    if (db_->Get(ro_, tile_key(height, tile_first), &value).ok() &&
        value.size() % Digest::kSize == 0 && value.size() / Digest::kSize > index - tile_first) {
      slot = Cached{tile_first, std::make_shared<const std::string>(std::move(value))};
      if (cache_shared_ != nullptr) cache_shared_->insert(height, tile_first, slot->hashes);
    }
  }
  if (!slot || !holds(*slot)) {
    // A segment of the right edge's partial tile.
    if (!it_) it_.reset(db_->NewIterator(ro_));
    it_->SeekForPrev(tile_key(height, index));
    WITNESS_RETURN_IF_ERROR(to_status(it_->status(), what()));
    const auto k = it_->Valid() ? it_->key().ToStringView() : std::string_view();
    if (k.size() != format::kTileKeySize || k[0] != format::kTile ||
        static_cast<unsigned char>(k[1]) != height) {
      return corruption(what() + ": missing");
    }
    const auto v = it_->value().ToStringView();
    if (v.empty() || v.size() % Digest::kSize != 0) return corruption(what() + ": malformed tile");
    slot = Cached{get_be64(k.substr(2)), std::make_shared<const std::string>(v)};
    if (!holds(*slot)) return corruption(what() + ": missing");
  }
  Digest d;
  std::memcpy(d.bytes.data(), slot->hashes->data() + ((index - slot->first) * Digest::kSize),
              Digest::kSize);
  return d;
}

}  // namespace witness::ledger::detail
