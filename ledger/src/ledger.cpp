#include "witness/ledger/ledger.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include <fcntl.h>
#include <openssl/rand.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include "witness/base/ascii.hpp"

#include "format.hpp"
#include "hex.hpp"
#include "info_log.hpp"
#include "key_codec.hpp"
#include "ledger_impl.hpp"
#include "node_codec.hpp"
#include "rocksdb_error.hpp"
#include "segments.hpp"
#include "sha256.hpp"

namespace witness::ledger {

const std::uint32_t Ledger::kFormatVersion = format::kFormatVersion;

namespace {

// Groups larger than this are split: bounds the leader's latency and memory.
constexpr std::size_t kMaxGroupNodes = 1U << 16U;
// What a node adds to a batch besides its stored bytes, about: the bundle framing, the id and
// time keys, a share of the tiles and postings, and the batch's own record headers.
constexpr std::size_t kBatchBytesPerNode = 192;

// The memtable keeps an insert hint per prefix returned here. In the default column family
// every key arrives in increasing order within such a prefix (a seq or index is the key's
// tail), so the hint turns most skiplist searches into a step from the last insert.
class InsertHintPrefix final : public rocksdb::SliceTransform {
 public:
  [[nodiscard]] const char* Name() const override { return "witness.InsertHintPrefix"; }
  [[nodiscard]] bool InDomain(const rocksdb::Slice& key) const override {
    return prefix_length(key) > 0;
  }
  [[nodiscard]] rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return {key.data(), prefix_length(key)};
  }

 private:
  static std::size_t prefix_length(const rocksdb::Slice& key) {
    if (key.empty()) return 0;
    switch (key[0]) {
      case format::kBundle:
      case format::kByTime:
        return key.size() >= format::kSeqKeySize ? 1 : 0;
      case format::kTile:
        return key.size() == format::kTileKeySize ? 2 : 0;  // one hint per tree height
      case format::kByOrigin:
      case format::kByKind:
      case format::kByWalk:
      case format::kByTag: {
        if (key.size() < 3) return 0;
        const std::size_t len =
            (static_cast<std::size_t>(static_cast<unsigned char>(key[1])) << 8U) |
            static_cast<unsigned char>(key[2]);
        return key.size() >= 3 + len + 8 ? 3 + len : 0;
      }
      default:
        return 0;
    }
  }
};

struct RocksOptions {
  rocksdb::Options db;                    // database and default column family
  rocksdb::ColumnFamilyOptions keyed_cf;  // the "keyed" column family
};

RocksOptions make_rocksdb_options(const OpenOptions& o) {
  RocksOptions r;
  rocksdb::Options& opts = r.db;
  opts.create_if_missing = o.create_if_missing;
  opts.write_buffer_size = o.write_buffer_bytes;
  opts.max_background_jobs = 2;
  opts.max_open_files = -1;  // every table opened once, at open (read-only opens rely on it)
  opts.bytes_per_sync = 1U << 20U;
  // Compression, measured on the 48,814-entry demo ledger migrated and flushed (make demo on
  // format 1, then witness migrate): none 24.5 MB, Snappy (RocksDB's default) 10.0 MB, LZ4 9.9
  // MB, ZSTD 8.9 MB, at the same append and verify speed (BM_AppendBatch/100 within noise).
  // LZ4 where data is rewritten soon, ZSTD in the bottommost level where it stays.
  opts.compression = rocksdb::kLZ4Compression;
  opts.bottommost_compression = rocksdb::kZSTD;
  // Measured and not taken: enable_pipelined_write (one leader writes each group: 181k vs 178k
  // nodes/s), blob files for bundles of 4 KiB and up (174k vs 179k nodes/s, replay and query
  // no faster at 500k entries).
  // One leader thread writes each group, so concurrent memtable writes buy nothing, and they
  // would disable the insert hints below.
  opts.allow_concurrent_memtable_write = false;
  const auto cache = rocksdb::NewLRUCache(o.block_cache_bytes, /*num_shard_bits=*/4);
  // Default column family: a full hash tile is read with Get, which a bloom filter keeps to
  // the one table that holds it; other segments are found by SeekForPrev.
  opts.memtable_insert_with_hint_prefix_extractor = std::make_shared<InsertHintPrefix>();
  {
    rocksdb::BlockBasedTableOptions table;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    table.block_cache = cache;
    opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  }
  // "keyed": point lookups (the duplicate check on append) miss most of the time, so a memtable
  // bloom filter and table bloom filters keep them off the disk.
  rocksdb::ColumnFamilyOptions& keyed = r.keyed_cf;
  keyed.memtable_insert_with_hint_prefix_extractor =
      opts.memtable_insert_with_hint_prefix_extractor;
  // A small memtable: its keys arrive in random order (ids), and a random insert walks the
  // skiplist with a cache miss per level. BM_AppendBatch/100 (nodes/s): 64 MiB 137k, 16 MiB
  // 147k, 8 MiB 160k, 4 MiB 167k, 2 MiB 169k; 8 MiB keeps the flushes (and L0 tables) few.
  keyed.write_buffer_size = std::min<std::size_t>(o.write_buffer_bytes, std::size_t{8} << 20U);
  keyed.memtable_whole_key_filtering = true;
  keyed.memtable_prefix_bloom_size_ratio = 0.02;
  {
    rocksdb::BlockBasedTableOptions table;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    // Filter and index blocks stay with the table readers, outside the block cache (RocksDB's
    // default). Cached, a whole-file filter block of a large SST (over 1 MiB) did not fit one
    // cache shard and was re-read from disk on every point lookup. Cost: their memory is not
    // bounded by block_cache_bytes.
    table.cache_index_and_filter_blocks = false;
    table.block_cache = cache;
    keyed.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  }
  return r;
}

// The MANIFEST that RocksDB's CURRENT names ("MANIFEST-<digits>\n"), or nullopt when CURRENT
// is unreadable or says anything else.
std::optional<std::string> current_manifest(const std::filesystem::path& dir) {
  std::ifstream current(dir / "CURRENT", std::ios::binary);
  std::array<char, 64> head{};
  current.read(head.data(), head.size());
  const std::string_view text(head.data(), static_cast<std::size_t>(current.gcount()));
  const bool ok =
      text.starts_with("MANIFEST-") && text.size() > 10 && text.back() == '\n' &&
      std::all_of(text.begin() + 9, text.end() - 1, [](char c) { return c >= '0' && c <= '9'; });
  if (!ok) return std::nullopt;
  return std::string(text.substr(0, text.size() - 1));
}

// Identifies the MANIFEST in force and how much of it is written: every flush, compaction or
// WAL switch appends to it (or starts a new one).
std::optional<std::pair<std::string, std::uintmax_t>> manifest_fingerprint(
    const std::filesystem::path& dir) {
  auto name = current_manifest(dir);
  if (!name) return std::nullopt;
  std::error_code ec;
  const auto size = std::filesystem::file_size(dir / *name, ec);
  if (ec) return std::nullopt;
  return std::pair{std::move(*name), size};
}

constexpr int kReadOnlyOpenAttempts = 50;

std::string be32(std::uint32_t v) {
  std::string s;
  put_be32(v, s);
  return s;
}

// What the leader knows about an id while building a group: its seq and timestamp.
struct Known {
  SequenceNumber seq = 0;
  std::int64_t ts = 0;
};

// The ids a group has taken so far: one flat, open-addressed table (ids are SHA-256, so their
// first 8 bytes hash well). A node-based map cost 10% of a 200k-node `witness append` in cache
// misses and in freeing its nodes (perf).
class PendingIds {
 public:
  explicit PendingIds(std::size_t expected)
      : slots_(std::bit_ceil(std::max<std::size_t>(16, expected * 2))) {}
  [[nodiscard]] const Known* find(const Digest& id) const {
    for (std::size_t i = start(id);; i = (i + 1) & mask()) {
      const Slot& s = slots_[i];
      if (s.state == State::kEmpty) return nullptr;
      if (s.state == State::kFull && s.id == id) return &s.known;
    }
  }
  // REQUIRES: `id` absent.
  void insert(const Digest& id, Known known) {
    std::size_t i = start(id);
    while (slots_[i].state == State::kFull) i = (i + 1) & mask();
    slots_[i] = Slot{id, known, State::kFull};
  }
  void erase(const Digest& id) {
    for (std::size_t i = start(id); slots_[i].state != State::kEmpty; i = (i + 1) & mask()) {
      if (slots_[i].state == State::kFull && slots_[i].id == id) {
        slots_[i].state = State::kErased;  // keeps the probe chains behind it whole
        return;
      }
    }
  }

 private:
  enum class State : std::uint8_t { kEmpty, kFull, kErased };
  struct Slot {
    Digest id;
    Known known;
    State state = State::kEmpty;
  };
  [[nodiscard]] std::size_t mask() const { return slots_.size() - 1; }
  [[nodiscard]] std::size_t start(const Digest& id) const {
    std::size_t h = 0;
    std::memcpy(&h, id.bytes.data(), sizeof h);
    return h & mask();
  }
  std::vector<Slot> slots_;
};

}  // namespace

Result<Entry> Ledger::Impl::read_entry(const rocksdb::ReadOptions& ro, SequenceNumber seq) const {
  detail::BundleReader reader(db.get(), ro);
  return reader.entry(seq);
}

Result<std::optional<std::pair<SequenceNumber, std::int64_t>>> Ledger::Impl::lookup_with_time(
    const rocksdb::ReadOptions& ro, const NodeId& id) const {
  using Found = std::optional<std::pair<SequenceNumber, std::int64_t>>;
  std::string value;
  const auto s = db->Get(ro, keyed_cf.get(), detail::id_key(id), &value);
  if (s.IsNotFound()) return Found();
  if (!s.ok()) return detail::to_error(s, "id " + id.to_hex());
  if (value.size() != format::kByIdValueSize) {
    return corruption("id index " + id.to_hex() + ": value of " + std::to_string(value.size()) +
                      " bytes");
  }
  const std::string_view v = value;
  return Found({get_be64(v), detail::from_order_preserving(get_be64(v.substr(format::kSeqSize)))});
}

Result<std::optional<SequenceNumber>> Ledger::Impl::lookup(const rocksdb::ReadOptions& ro,
                                                           const NodeId& id) const {
  WITNESS_ASSIGN_OR_RETURN(auto found, lookup_with_time(ro, id));
  if (!found) return std::optional<SequenceNumber>();
  return std::optional<SequenceNumber>(found->first);
}

SubtreeHashFn Ledger::Impl::subtree_fn(const rocksdb::ReadOptions& ro) const {
  auto reader = std::make_shared<detail::TileReader>(db.get(), ro, &tile_cache);
  return [reader](unsigned level, std::uint64_t index) { return reader->hash(level, index); };
}

namespace {

// Hash tiles of one group, per height: a run of consecutive hashes, put as one segment at the
// end of the group. A hash that completes a tile puts the whole tile under the tile's first
// key instead, and deletes the tile's earlier segments: full tiles are one key each.
class TileRuns {
 public:
  explicit TileRuns(std::array<Ledger::Impl::EdgeTile, 64>& edge) : edge_(edge) {}

  void add(unsigned height, std::uint64_t index, const Digest& hash, rocksdb::WriteBatch& batch) {
    Run& run = runs_.at(height);
    Ledger::Impl::EdgeTile& edge = edge_.at(height);
    const std::string_view bytes(reinterpret_cast<const char*>(hash.bytes.data()),  // NOLINT
                                 Digest::kSize);
    if (run.hashes.empty()) run.first = index;
    run.hashes.append(bytes);
    edge.hashes.append(bytes);
    if ((index + 1) % format::kTileWidth != 0) return;
    const std::uint64_t tile_first = index + 1 - format::kTileWidth;
    WITNESS_CHECK(edge.hashes.size() == format::kFullTileBytes);
    batch.Put(detail::tile_key(height, tile_first), edge.hashes);
    for (const std::uint64_t start : edge.segments) {
      if (start != tile_first) batch.Delete(detail::tile_key(height, start));
    }
    edge.hashes.clear();
    edge.segments.clear();
    run.hashes.clear();
  }
  void flush_all(rocksdb::WriteBatch& batch) {
    for (unsigned h = 0; h < runs_.size(); ++h) {
      Run& run = runs_.at(h);
      if (run.hashes.empty()) continue;
      Ledger::Impl::EdgeTile& edge = edge_.at(h);
      if (h >= format::kTileLevelHeights) {
        // A height of 8 or more grows by one hash per 256 or more leaves: rewriting its whole
        // partial tile costs little, and keeps it one key (one Get for a proof).
        const std::uint64_t tile_first = run.first - (run.first % format::kTileWidth);
        batch.Put(detail::tile_key(h, tile_first), edge.hashes);
        edge.segments.assign(1, tile_first);
      } else {
        batch.Put(detail::tile_key(h, run.first), run.hashes);
        edge.segments.push_back(run.first);
      }
      run.hashes.clear();
    }
  }

 private:
  struct Run {
    std::uint64_t first = 0;
    std::string hashes;
  };
  std::array<Ledger::Impl::EdgeTile, 64>& edge_;
  std::array<Run, format::kMaxHeight + 1> runs_;
};

// Posting lists of one group: per (index, term), the first seq and the gaps after it.
class PostingRuns {
 public:
  void add(char prefix, std::string_view term, SequenceNumber seq) {
    detail::term_prefix_into(prefix, term, key_);
    auto [it, fresh] = runs_.try_emplace(key_);
    Run& run = it->second;
    if (fresh) {
      run.first = seq;
    } else {
      detail::append_varint(seq - run.last, run.gaps);
    }
    run.last = seq;
  }
  void put_all(rocksdb::WriteBatch& batch) {
    for (auto& [prefix, run] : runs_) {
      std::string key = prefix;
      put_be64(run.first, key);
      batch.Put(key, run.gaps);
    }
  }

 private:
  struct Run {
    SequenceNumber first = 0;
    SequenceNumber last = 0;
    std::string gaps;
  };
  std::string key_;
  std::unordered_map<std::string, Run> runs_;
};

}  // namespace

void Ledger::Impl::build_batch(SequenceNumber first, std::span<const Staged> staged, Digest& chain,
                               MerkleFrontier& tree, rocksdb::WriteBatch& batch) {
  detail::BundleBuilder bundle;
  SequenceNumber bundle_first = first;
  TileRuns tiles(edge_tiles);
  PostingRuns postings;
  std::vector<CompletedSubtree> completed;
  std::vector<std::string> keyed;  // id keys carry their value after the key
  keyed.reserve(staged.size() * 2);
  for (std::size_t i = 0; i < staged.size(); ++i) {
    const Staged& s = staged[i];
    const TraceNode& node = *s.node;
    const SequenceNumber seq = first + i;
    chain = detail::chain_next(chain, s.leaf);
    bundle.add(s.stored);
    if ((seq + 1) % format::kTileWidth == 0 || i + 1 == staged.size()) {
      batch.Put(detail::bundle_key(bundle_first), bundle.finish(chain));
      bundle_first = seq + 1;
    }
    tiles.add(0, seq, s.leaf, batch);
    completed.clear();
    tree.append(s.leaf, completed);
    for (const auto& c : completed) tiles.add(c.level, c.index, c.hash, batch);
    if (signing_key && options.checkpoint_interval > 0 &&
        tree.size() % options.checkpoint_interval == 0) {
      // Signed inside the same batch: a stored checkpoint never names an unwritten entry.
      const Checkpoint cp{origin, tree.size(), tree.root()};
      batch.Put(detail::seq_key(format::kCheckpoint, tree.size()),
                sign_checkpoint(cp, *signing_key, origin));
    }
    const std::int64_t ts = node.timestamp().time_since_epoch().count();
    std::string id_entry = detail::id_key(node.id());
    put_be64(seq, id_entry);
    put_be64(detail::order_preserving(ts), id_entry);
    keyed.push_back(std::move(id_entry));
    for (const Link& link : node.links()) {
      keyed.push_back(detail::link_key(link.target, seq, link.relation));
    }
    keyed.push_back(detail::time_key(node.timestamp(), seq));
    postings.add(format::kByOrigin, node.origin(), seq);
    postings.add(format::kByKind, node.kind(), seq);
    if (node.walk()) postings.add(format::kByWalk, *node.walk(), seq);
    for (const auto& tag : node.tags()) postings.add(format::kByTag, tag, seq);
  }
  tiles.flush_all(batch);
  postings.put_all(batch);
  // The keyed column family's keys in key order: the memtable's skiplist then finds each
  // insert's place from the one before (its splice) instead of searching from the top.
  std::sort(keyed.begin(), keyed.end());
  for (const std::string& k : keyed) {
    if (k[0] == format::kById) {
      const std::string_view kv(k);
      batch.Put(keyed_cf.get(), kv.substr(0, format::kByIdKeySize),
                kv.substr(format::kByIdKeySize));
    } else {
      batch.Put(keyed_cf.get(), k, rocksdb::Slice());
    }
  }
}

void Ledger::Impl::write_group(std::span<Writer*> group) {
  {
    std::lock_guard lock(mu);
    if (append_blocker) {
      for (Writer* w : group) w->status = *append_blocker;
      return;
    }
  }
  // Only the leader runs this, so next_seq and chain_head cannot change underneath it.
  const SequenceNumber first = next_seq;
  SequenceNumber seq = first;
  std::size_t total = 0;
  for (const Writer* w : group) total += w->nodes.size();
  std::vector<Staged> staged;
  staged.reserve(total);
  PendingIds pending(total);
  const rocksdb::ReadOptions ro;
  bool sync = false;

  for (Writer* w : group) {
    // A writer's nodes go in whole or not at all: roll back to here on its first error.
    const std::size_t mark = staged.size();
    w->results.clear();
    w->results.reserve(w->nodes.size());
    Status status;
    for (std::size_t i = 0; i < w->nodes.size() && status; ++i) {
      const TraceNode& node = w->nodes[i];
      const std::string where = w->is_batch ? "node " + std::to_string(i) + ": " : "";
      if (const Known* known = pending.find(node.id())) {
        w->results.push_back({known->seq, false});
        continue;
      }
      auto known = lookup_with_time(ro, node.id());
      if (!known) {
        status = known.error().with_context(where + "duplicate check");
        break;
      }
      if (*known) {
        w->results.push_back({(*known)->first, false});
        continue;
      }
      const std::int64_t ts = node.timestamp().time_since_epoch().count();
      for (const Link& link : node.links()) {
        Known target{};
        if (const Known* earlier = pending.find(link.target)) {
          target = *earlier;
        } else {
          auto found = lookup_with_time(ro, link.target);
          if (!found) {
            status = found.error().with_context(where + "link lookup");
            break;
          }
          if (!*found) {
            status = invalid_argument(where + "links: target " + link.target.to_hex() +
                                      " is not in the ledger");
            break;
          }
          target = {(*found)->first, (*found)->second};
        }
        if (target.ts > ts) {
          status = invalid_argument(where + "links: target " + link.target.to_hex() +
                                    " has a later timestamp than the node");
          break;
        }
      }
      if (!status) break;
      Staged s{&node, {}, {}};
      detail::encode_stored_node(node, s.stored);
      s.leaf = detail::leaf_hash(s.stored);
      staged.push_back(std::move(s));
      pending.insert(node.id(), Known{seq, ts});
      w->results.push_back({seq, true});
      ++seq;
    }
    if (!status) {
      for (std::size_t i = mark; i < staged.size(); ++i) pending.erase(staged[i].node->id());
      seq -= staged.size() - mark;
      staged.resize(mark);
      w->results.clear();
      w->status = std::move(status);
      continue;
    }
    sync = sync || w->sync;
  }

  if (staged.empty()) return;
  Digest chain = chain_head;
  MerkleFrontier tree = frontier;
  // Room for the whole batch at once: a large group (a 200k-line `witness append`) otherwise
  // regrows the batch's buffer, copying it each time (perf: memmove 14% of the command).
  std::size_t bytes = 0;
  for (const Staged& s : staged) bytes += s.stored.size() + kBatchBytesPerNode;
  rocksdb::WriteBatch batch(bytes);
  build_batch(first, staged, chain, tree, batch);
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  const auto s = db->Write(wo, &batch);
  if (!s.ok()) {
    const Error e = detail::to_error(s, "append");
    for (Writer* w : group) {
      if (w->status) w->status = e;
    }
    // Whether a failed write reached the disk is unknown: a WAL record may be whole though
    // its fsync failed, and would come back at the next open. Building on this process's
    // idea of the head could then give two nodes one seq, so appends stop here; reopening
    // recovers the truth from disk (RocksDB's recovery) and goes on from it.
    std::lock_guard lock(mu);
    append_blocker = Error{
        e.code, "an earlier append failed (" + e.message + "); reopen the ledger to append again"};
    return;
  }
  std::lock_guard lock(mu);
  next_seq = seq;
  chain_head = chain;
  frontier = std::move(tree);
}

namespace {
// The directories this process holds open for writing (see WriterClaim).
struct WriterRegistry {
  std::mutex mu;
  std::set<std::string> dirs;
};
WriterRegistry& writer_registry() {
  static WriterRegistry registry;
  return registry;
}
}  // namespace

Result<std::unique_ptr<WriterClaim>> WriterClaim::acquire(std::string dir) {
  auto& registry = writer_registry();
  const std::lock_guard lock(registry.mu);
  if (!registry.dirs.insert(dir).second) {
    return failed_precondition("the ledger at " + dir +
                               " is already open for writing in this process: share that "
                               "Ledger (it is thread-safe) or close it first");
  }
  return std::unique_ptr<WriterClaim>(new WriterClaim(std::move(dir)));
}

WriterClaim::~WriterClaim() {
  auto& registry = writer_registry();
  const std::lock_guard lock(registry.mu);
  registry.dirs.erase(dir_);
}

namespace {
// RocksDB's message when another process holds the LOCK: "IO error: While lock file: ...".
bool is_lock_error(const rocksdb::Status& s) {
  return s.IsIOError() && s.ToString().find("lock file") != std::string::npos;
}

// Who holds the fcntl lock on `lock_file` (RocksDB's LOCK): "process 1234 (witness append ...)".
std::string lock_holder(const std::filesystem::path& lock_file) {
  const int fd =
      ::open(lock_file.c_str(), O_RDONLY | O_CLOEXEC);  // NOLINT(cppcoreguidelines-pro-type-vararg)
  if (fd < 0) return "another process";
  struct flock query {};
  query.l_type = F_WRLCK;
  query.l_whence = SEEK_SET;
  const int rc = ::fcntl(fd, F_GETLK, &query);  // NOLINT(cppcoreguidelines-pro-type-vararg)
  ::close(fd);
  if (rc != 0 || query.l_type == F_UNLCK || query.l_pid <= 0) return "another process";
  std::string who = "process " + std::to_string(query.l_pid);
  std::ifstream cmdline("/proc/" + std::to_string(query.l_pid) + "/cmdline", std::ios::binary);
  std::array<char, 512> buf{};
  cmdline.read(buf.data(), buf.size());
  std::string args(buf.data(),
                   static_cast<std::size_t>(std::max<std::streamsize>(0, cmdline.gcount())));
  std::replace(args.begin(), args.end(), '\0', ' ');
  while (!args.empty() && args.back() == ' ') args.pop_back();
  if (args.size() > 120) args = args.substr(0, 117) + "...";
  if (!args.empty()) who += " (" + printable(args) + ")";
  return who;
}
}  // namespace

namespace {
// Why `dir` cannot be looked into, in words: permission, a symbolic link loop, a file where a
// directory should be.
Error path_error(const std::filesystem::path& dir, const std::error_code& ec) {
  std::string hint;
  if (ec == std::errc::permission_denied) {
    hint = " (reading a ledger needs read and search permission on its directory)";
  } else if (ec == std::errc::too_many_symbolic_link_levels) {
    hint = " (a loop of symbolic links)";
  } else if (ec == std::errc::not_a_directory) {
    hint = " (a file stands where a directory should be)";
  }
  return io_error("cannot look into " + dir.string() + ": " + ec.message() + hint);
}

// A directory that holds no ledger yet: say what is in the way, before anything else does.
Status check_new_ledger_path(const std::filesystem::path& dir) {
  std::error_code ec;
  const auto link = std::filesystem::symlink_status(dir, ec);
  if (ec == std::errc::no_such_file_or_directory) return ok_status();  // nothing in the way
  if (ec) return path_error(dir, ec);
  if (std::filesystem::is_symlink(link)) {
    const auto target = std::filesystem::status(dir, ec);
    if (ec == std::errc::too_many_symbolic_link_levels) return path_error(dir, ec);
    if (!std::filesystem::exists(target)) {
      const auto to = std::filesystem::read_symlink(dir, ec);
      return not_found(dir.string() + " is a symbolic link to " + (ec ? "?" : to.string()) +
                       ", which does not exist");
    }
  }
  const auto st = std::filesystem::status(dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) return path_error(dir, ec);
  if (std::filesystem::exists(st) && !std::filesystem::is_directory(st)) {
    return failed_precondition(dir.string() + " is a file, not a ledger directory");
  }
  return ok_status();
}
}  // namespace

bool is_reserved_origin(std::string_view origin) {
  return ascii_istarts_with(origin, kReservedOriginPrefix);
}

Ledger::Ledger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Ledger::Ledger(Ledger&&) noexcept = default;
Ledger& Ledger::operator=(Ledger&&) noexcept = default;
Ledger::~Ledger() = default;

namespace {

// Ledger::open, stage 1: the path. Returns whether a ledger exists there; creates the directory
// for a new one. Refuses what is not a ledger before RocksDB drops files into it.
Result<bool> prepare_ledger_dir(const std::filesystem::path& dir, const OpenOptions& options) {
  // The file system APIs stop at a NUL: "a\0b" would open (or create) "a".
  if (dir.native().find('\0') != std::string::npos) {
    return invalid_argument("ledger path \"" + printable(dir.native()) + "\" contains a NUL byte");
  }
  if (dir.empty()) return invalid_argument("ledger path is empty");
  std::error_code ec;
  const bool exists = std::filesystem::exists(dir / "CURRENT", ec);
  if (ec) return path_error(dir, ec);
  if (!exists) {
    WITNESS_RETURN_IF_ERROR(check_new_ledger_path(dir));
    if (!options.create_if_missing || options.read_only) {
      return not_found(
          "no ledger at " + dir.string() +
          (options.read_only ? std::string() : " (OpenOptions::create_if_missing creates one)"));
    }
    std::filesystem::create_directories(dir, ec);
    if (ec) return io_error("cannot create " + dir.string() + ": " + ec.message());
    return false;
  }
  // RocksDB's CURRENT names the MANIFEST in force. Anything else is not a ledger: refuse before
  // a writable open drops LOCK and LOG files into someone else's directory. A writer opening at
  // the same time writes a new MANIFEST, points CURRENT at it and deletes the old one: a
  // CURRENT read just before may name a file gone just after. Look again a few times before
  // calling the directory foreign (concurrent `--wait` appends).
  constexpr int kCurrentReads = 10;
  constexpr auto kCurrentRereadDelay = std::chrono::milliseconds(10);
  bool names_manifest = false;
  for (int attempt = 0; attempt < kCurrentReads && !names_manifest; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(kCurrentRereadDelay);
    const auto manifest = current_manifest(dir);
    names_manifest = manifest && std::filesystem::exists(dir / *manifest, ec);
    if (!manifest) break;  // CURRENT itself is not RocksDB's: no writer will change that
  }
  if (!names_manifest) {
    return failed_precondition(dir.string() +
                               " is not a witness ledger (its CURRENT file does not name a "
                               "RocksDB MANIFEST)");
  }
  return true;
}

struct OpenedDb {
  std::unique_ptr<rocksdb::DB> db;
  std::unique_ptr<WriterClaim> claim;  // writable opens only
  std::unique_ptr<rocksdb::ColumnFamilyHandle> default_cf;
  std::unique_ptr<rocksdb::ColumnFamilyHandle> keyed_cf;
};

std::vector<rocksdb::ColumnFamilyDescriptor> column_families(const RocksOptions& rocks) {
  return {{rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions(rocks.db)},
          {std::string(format::kKeyedColumnFamily), rocks.keyed_cf}};
}

// Takes ownership of what DB::Open returned.
OpenedDb adopt(rocksdb::DB* raw, std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
  OpenedDb out;
  out.db.reset(raw);
  if (handles.size() == 2) {
    out.default_cf.reset(handles[0]);
    out.keyed_cf.reset(handles[1]);
  } else {
    for (auto* h : handles) delete h;  // NOLINT(cppcoreguidelines-owning-memory)
  }
  return out;
}

// Stage 2, writable: claims the directory in this process and RocksDB's LOCK. Another writer (a
// thread here, or a process holding the LOCK) is waited for up to options.lock_wait, else named.
Result<OpenedDb> open_writable(const std::filesystem::path& dir, const RocksOptions& rocks,
                               const OpenOptions& options) {
  constexpr auto kLockRetryDelay = std::chrono::milliseconds(20);
  std::error_code ec;
  const auto canonical = std::filesystem::weakly_canonical(dir, ec);
  const std::string key = (ec ? dir : canonical).string();
  const auto deadline = std::chrono::steady_clock::now() + options.lock_wait;
  for (;;) {
    auto claimed = WriterClaim::acquire(key);
    Error busy = claimed ? Error{} : claimed.error();
    if (claimed) {
      rocksdb::DB* raw = nullptr;
      std::vector<rocksdb::ColumnFamilyHandle*> handles;
      const auto s =
          rocksdb::DB::Open(rocks.db, dir.string(), column_families(rocks), &handles, &raw);
      OpenedDb opened = adopt(raw, handles);
      if (s.ok()) {
        opened.claim = std::move(*claimed);
        return opened;
      }
      if (!is_lock_error(s)) return detail::to_error(s, "open " + dir.string());
      busy = unavailable("the ledger at " + dir.string() + " is in use by " +
                         lock_holder(dir / "LOCK") + ", which has it open for writing");
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      if (options.lock_wait.count() > 0) {
        busy = busy.with_context("still busy after " + std::to_string(options.lock_wait.count()) +
                                 " ms");
      }
      return busy;
    }
    std::this_thread::sleep_for(kLockRetryDelay);
  }
}

// Stage 2, read-only. A read-only open takes no lock, so a writer in another process may flush
// or compact while we read its MANIFEST, tables and WALs: a table or WAL we were told of is
// deleted before we open it ("Can't access 0000NN.sst"), or silently missed, and the view has a
// hole. RocksDB deletes such files only after recording the change in the MANIFEST, so an open
// during which the MANIFEST did not change saw one consistent state, and an error then is the
// ledger's own, reported at once; otherwise try again. Once open, every table stays open
// (max_open_files = -1), so reads are not exposed.
Result<OpenedDb> open_read_only(const std::filesystem::path& dir, const RocksOptions& rocks) {
  for (int attempt = 0;; ++attempt) {
    const auto before = manifest_fingerprint(dir);
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    const auto s = rocksdb::DB::OpenForReadOnly(rocks.db, dir.string(), column_families(rocks),
                                                &handles, &raw);
    OpenedDb opened = adopt(raw, handles);
    const bool consistent = before && before == manifest_fingerprint(dir);
    if (consistent || (attempt == kReadOnlyOpenAttempts && !s.ok())) {
      if (!s.ok()) return detail::to_error(s, "open " + dir.string());
      return opened;
    }
    if (attempt == kReadOnlyOpenAttempts) {
      return io_error("open " + dir.string() + ": the ledger changed under " +
                      std::to_string(kReadOnlyOpenAttempts) +
                      " read-only opens in a row (a busy writer); try again");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2 + (2 * attempt)));
  }
}

// Stage 2, following: a RocksDB secondary instance, which Ledger::catch_up brings up to date
// by reading the writer's MANIFEST and write-ahead log. Its own files (an info LOG) go in a
// fresh directory under the system's temporary directory, removed at close.
Result<OpenedDb> open_secondary(const std::filesystem::path& dir, const RocksOptions& rocks,
                                Ledger::Impl::SecondaryDir& secondary) {
  std::string pattern = (std::filesystem::temp_directory_path() / "witness-follow-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return io_error("open " + dir.string() + " to follow: cannot create a directory under " +
                    std::filesystem::temp_directory_path().string());
  }
  secondary.path = pattern;
  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  const auto s = rocksdb::DB::OpenAsSecondary(rocks.db, dir.string(), pattern,
                                              column_families(rocks), &handles, &raw);
  OpenedDb opened = adopt(raw, handles);
  if (!s.ok()) return detail::to_error(s, "open " + dir.string() + " to follow");
  return opened;
}

// Stage 3: the meta keys. A fresh database (no format version) must be empty, or it is some
// other program's RocksDB; it gets the format version and a random ledger id. Returns whether
// the ledger was created now.
Result<bool> check_or_init_meta(rocksdb::DB& db, const std::filesystem::path& dir,
                                const OpenOptions& options,
                                const std::optional<std::string>& new_ledger_id) {
  std::string version;
  bool created = false;
  const auto vs = db.Get(rocksdb::ReadOptions(), format::kMetaFormatVersion, &version);
  if (vs.IsNotFound()) {
    created = true;
    std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    if (it->Valid()) {
      return failed_precondition(dir.string() + " is a RocksDB database but not a witness ledger");
    }
    if (options.read_only) return not_found("no ledger at " + dir.string());
    std::string ledger_id(format::kLedgerIdSize, '\0');
    if (new_ledger_id) {
      ledger_id = *new_ledger_id;
    } else if (RAND_bytes(reinterpret_cast<unsigned char*>(ledger_id.data()),  // NOLINT
                          static_cast<int>(ledger_id.size())) != 1) {
      return internal_error("cannot draw a random ledger id");
    }
    rocksdb::WriteBatch init;
    init.Put(format::kMetaFormatVersion, be32(format::kFormatVersion));
    init.Put(format::kMetaLedgerId, ledger_id);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    WITNESS_RETURN_IF_ERROR(detail::to_status(db.Write(wo, &init), "initialise ledger"));
    version = be32(format::kFormatVersion);
  } else if (!vs.ok()) {
    return detail::to_error(vs, "read format version");
  }
  if (version.size() != 4) return corruption("format version: malformed value");
  const std::uint32_t v = get_be32(version);
  if (v != format::kFormatVersion) {
    return failed_precondition("ledger at " + dir.string() + " has format version " +
                               std::to_string(v) + "; this build reads version " +
                               std::to_string(format::kFormatVersion));
  }
  return created;
}

// Stage 4: the checkpoint signing key, loaded, or made for a ledger created now.
Status load_signing_key(Ledger::Impl& impl, const std::filesystem::path& dir,
                        const OpenOptions& options, bool created) {
  const std::filesystem::path key_file =
      options.signing_key.value_or(dir / std::string(format::kSigningKeyFile));
  std::error_code ec;
  if (std::filesystem::exists(key_file, ec)) {
    auto key = SigningKey::load(key_file);
    if (key) {
      impl.signing_key.emplace(std::move(*key));
    } else if (options.read_only && !options.signing_key) {
      // Reading needs no private key: a user who may read the ledger but not its key (mode
      // 0600) reads and verifies it; checkpoint signatures then go unchecked, and say so.
      impl.signing_key_error = key.error();
    } else {
      return key.error().with_context("open " + dir.string());
    }
  } else if (created && options.create_signing_key) {
    WITNESS_ASSIGN_OR_RETURN(auto key, SigningKey::generate());
    WITNESS_RETURN_IF_ERROR(key.save(key_file));
    impl.signing_key.emplace(std::move(key));
  } else if (options.signing_key) {
    return not_found("signing key " + key_file.string() + " does not exist");
  }
  return ok_status();
}

// The partial tile of every height at the right edge: width (size >> height) mod 256, held by
// segments that must cover it exactly.
Status load_edge_tiles(Ledger::Impl& impl) {
  std::unique_ptr<rocksdb::Iterator> it(impl.db->NewIterator(rocksdb::ReadOptions()));
  for (unsigned h = 0; h < impl.edge_tiles.size() && (impl.next_seq >> h) > 0; ++h) {
    auto& edge = impl.edge_tiles.at(h);
    edge = {};
    const std::uint64_t count = impl.next_seq >> h;
    std::uint64_t at = count - (count % format::kTileWidth);
    for (it->Seek(detail::tile_key(h, at)); at < count; it->Next()) {
      const std::string what =
          "merkle tile (level " + std::to_string(h) + ", index " + std::to_string(at) + ")";
      if (!it->Valid() || it->key().ToStringView() != detail::tile_key(h, at)) {
        WITNESS_RETURN_IF_ERROR(detail::to_status(it->status(), what));
        return corruption(what + ": missing");
      }
      const auto v = it->value().ToStringView();
      if (v.empty() || v.size() % Digest::kSize != 0 || v.size() / Digest::kSize > count - at) {
        return corruption(what + ": malformed tile segment");
      }
      edge.segments.push_back(at);
      edge.hashes.append(v);
      at += v.size() / Digest::kSize;
    }
  }
  return ok_status();
}

// Stage 5: the head. The last entry bundle segment gives the size and chain[size-1]; the
// Merkle frontier is loaded from the hash tiles. A damaged frontier leaves the ledger readable
// and refuses appends.
Status load_head(Ledger::Impl& impl, const std::filesystem::path& dir) {
  const rocksdb::ReadOptions ro;
  {
    detail::BundleReader reader(impl.db.get(), ro);
    WITNESS_ASSIGN_OR_RETURN(const detail::BundleSegment* last, reader.last());
    if (last != nullptr) {
      impl.next_seq = last->end();
      impl.chain_head = last->chain;
    }
  }
  auto frontier = MerkleFrontier::load(impl.next_seq, impl.subtree_fn(ro));
  Status edge = frontier ? load_edge_tiles(impl) : Status(frontier.error());
  if (frontier && edge) {
    impl.frontier = std::move(*frontier);
  } else {
    impl.append_blocker =
        corruption("ledger at " + dir.string() + " is damaged (" + edge.error().message +
                   "); run `witness verify`; appends are refused");
  }
  return ok_status();
}

// A directory whose RocksDB lacks the "keyed" column family was not written by this format: a
// format 1 ledger (told how to convert it) or some other program's database.
Error legacy_ledger_error(const std::filesystem::path& dir) {
  auto legacy = open_legacy(dir);
  if (!legacy) return legacy.error();
  if (legacy->version == format::v1::kFormatVersion) {
    return failed_precondition(
        "ledger at " + dir.string() +
        " has format version 1; this build reads and writes version 2. Convert it into a new "
        "directory with `witness migrate " +
        dir.string() + " NEW_DIR` (the original is left as it is)");
  }
  return failed_precondition("ledger at " + dir.string() + " has format version " +
                             std::to_string(legacy->version) + "; this build reads version " +
                             std::to_string(format::kFormatVersion));
}

// Stage 1b: an existing directory must hold this format's column families.
Status check_column_families(const std::filesystem::path& dir) {
  WITNESS_ASSIGN_OR_RETURN(const bool format2, has_keyed_family(dir));
  if (!format2) return legacy_ledger_error(dir);
  return ok_status();
}

}  // namespace

Result<bool> has_keyed_family(const std::filesystem::path& dir) {
  // A writer opening at the same time may replace the MANIFEST between our reading CURRENT and
  // the MANIFEST it names (concurrent `--wait` appends, read-only opens beside a writer): look
  // again a few times before reporting the error.
  constexpr int kAttempts = 10;
  constexpr auto kDelay = std::chrono::milliseconds(10);
  std::vector<std::string> names;
  rocksdb::Status s;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(kDelay);
    names.clear();
    s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.string(), &names);
    if (!s.IsIOError() && !s.IsPathNotFound()) break;
  }
  if (!s.ok()) return detail::to_error(s, "open " + dir.string());
  return std::find(names.begin(), names.end(), format::kKeyedColumnFamily) != names.end();
}

Result<LegacyDb> open_legacy(const std::filesystem::path& dir) {
  rocksdb::Options plain;
  plain.info_log = detail::make_null_info_log();
  plain.max_open_files = -1;
  rocksdb::DB* raw = nullptr;
  const auto s = rocksdb::DB::OpenForReadOnly(plain, dir.string(), &raw);
  LegacyDb out{std::unique_ptr<rocksdb::DB>(raw), 0};
  if (!s.ok()) return detail::to_error(s, "open " + dir.string());
  std::string version;
  const auto vs = out.db->Get(rocksdb::ReadOptions(), format::kMetaFormatVersion, &version);
  if (!vs.ok() || version.size() != 4) {
    return failed_precondition(dir.string() + " is a RocksDB database but not a witness ledger");
  }
  out.version = get_be32(version);
  return out;
}

Result<std::unique_ptr<Ledger::Impl>> open_impl(const std::filesystem::path& dir,
                                                const OpenOptions& options,
                                                const std::optional<std::string>& new_ledger_id) {
  WITNESS_ASSIGN_OR_RETURN(const bool exists, prepare_ledger_dir(dir, options));
  if (exists) WITNESS_RETURN_IF_ERROR(check_column_families(dir));
  RocksOptions rocks = make_rocksdb_options(options);
  rocks.db.create_missing_column_families = !exists;
  rocks.db.info_log = options.read_only ? detail::make_null_info_log() : detail::make_info_log(dir);
  if (options.follow && !options.read_only) {
    return invalid_argument("OpenOptions::follow is for read-only opens (the writer is elsewhere)");
  }
  auto impl = std::make_unique<Ledger::Impl>();
  Result<OpenedDb> opening = options.follow      ? open_secondary(dir, rocks, impl->secondary_dir)
                             : options.read_only ? open_read_only(dir, rocks)
                                                 : open_writable(dir, rocks, options);
  if (!opening) return opening.error();
  OpenedDb opened = std::move(*opening);
  if (!opened.keyed_cf) return corruption("open " + dir.string() + ": column families missing");
  WITNESS_ASSIGN_OR_RETURN(const bool created,
                           check_or_init_meta(*opened.db, dir, options, new_ledger_id));
  impl->writer_claim = std::move(opened.claim);
  impl->options = options;
  std::string id;
  WITNESS_RETURN_IF_ERROR(detail::to_status(
      opened.db->Get(rocksdb::ReadOptions(), format::kMetaLedgerId, &id), "ledger id"));
  impl->ledger_id = detail::hex_encode(id);
  impl->origin = "witness.ledger/" + impl->ledger_id;
  WITNESS_RETURN_IF_ERROR(load_signing_key(*impl, dir, options, created));
  impl->db = std::move(opened.db);
  impl->default_cf = std::move(opened.default_cf);
  impl->keyed_cf = std::move(opened.keyed_cf);
  WITNESS_RETURN_IF_ERROR(load_head(*impl, dir));
  return impl;
}

Result<Ledger> Ledger::open(const std::filesystem::path& dir, const OpenOptions& options) {
  WITNESS_ASSIGN_OR_RETURN(auto impl, open_impl(dir, options, std::nullopt));
  return Ledger(std::move(impl));
}

Result<AppendResult> Ledger::append(const TraceNode& node, const AppendOptions& options) {
  if (!impl_) return closed_error();
  WITNESS_ASSIGN_OR_RETURN(auto results,
                           impl_->submit(std::span<const TraceNode>(&node, 1), options, false));
  return results.front();
}

Result<std::vector<AppendResult>> Ledger::append_batch(std::span<const TraceNode> nodes,
                                                       const AppendOptions& options) {
  if (!impl_) return closed_error();
  return impl_->submit(nodes, options, true);
}

Status Ledger::Impl::check(const TraceNode& node, const AppendOptions& append_options) const {
  if (options.read_only) return failed_precondition("ledger is open read-only");
  if (!append_options.allow_reserved_origin && is_reserved_origin(node.origin())) {
    return invalid_argument("origin " + node.origin() + " is reserved for witness's own records");
  }
  return ok_status();
}

Status Ledger::check_append(const TraceNode& node, const AppendOptions& options) const {
  if (!impl_) return closed_error();
  return impl_->check(node, options);
}

Result<std::vector<AppendResult>> Ledger::Impl::submit(std::span<const TraceNode> nodes,
                                                       const AppendOptions& append_options,
                                                       bool is_batch) {
  if (options.read_only) return failed_precondition("ledger is open read-only");
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (auto checked = check(nodes[i], append_options); !checked) {
      return is_batch ? checked.error().with_context("node " + std::to_string(i)) : checked.error();
    }
  }
  if (nodes.empty()) return std::vector<AppendResult>{};
  const Durability d = append_options.durability.value_or(options.durability);
  Writer w;
  w.nodes = nodes;
  w.sync = d == Durability::kSync;
  w.is_batch = is_batch;

  std::unique_lock lock(mu);
  writers.push_back(&w);
  while (!w.done && &w != writers.front()) w.cv.wait(lock);
  if (w.done) {
    if (!w.status) return w.status.error();
    return std::move(w.results);
  }
  // This writer leads: take it and the writers queued behind it, up to a size bound.
  std::vector<Writer*> group;
  std::size_t total = 0;
  for (Writer* q : writers) {
    if (!group.empty() && total + q->nodes.size() > kMaxGroupNodes) break;
    group.push_back(q);
    total += q->nodes.size();
  }
  lock.unlock();
  write_group(group);
  lock.lock();
  for (Writer* q : group) {
    writers.pop_front();
    if (q != &w) {
      q->done = true;
      q->cv.notify_one();
    }
  }
  if (!writers.empty()) writers.front()->cv.notify_one();
  lock.unlock();
  if (!w.status) return w.status.error();
  return std::move(w.results);
}

Result<Entry> Ledger::get(SequenceNumber seq) const {
  if (!impl_) return closed_error();
  return impl_->read_entry(rocksdb::ReadOptions(), seq);
}

Result<Entry> Ledger::find(const NodeId& id) const {
  if (!impl_) return closed_error();
  const SnapshotGuard snap = impl_->snapshot();
  const auto ro = snap.read_options();
  WITNESS_ASSIGN_OR_RETURN(auto seq, impl_->lookup(ro, id));
  if (!seq) return not_found("id " + id.to_hex() + ": no such node");
  return impl_->read_entry(ro, *seq);
}

Result<std::optional<SequenceNumber>> Ledger::seq_of(const NodeId& id) const {
  if (!impl_) return closed_error();
  return impl_->lookup(rocksdb::ReadOptions(), id);
}

Result<Digest> Ledger::chain_hash(SequenceNumber seq) const {
  if (!impl_) return closed_error();
  const SnapshotGuard snap = impl_->snapshot();
  detail::BundleReader reader(impl_->db.get(), snap.read_options());
  // The chain before the segment is stored with the segment before it; recompute from there.
  WITNESS_ASSIGN_OR_RETURN(const detail::BundleSegment* segment, reader.segment(seq));
  const SequenceNumber first = segment->first;
  if (seq + 1 == segment->end()) return segment->chain;
  std::vector<Digest> leaves;
  for (SequenceNumber s = first; s <= seq; ++s) {
    leaves.push_back(detail::leaf_hash(segment->entries[s - first]));
  }
  Digest chain;
  if (first > 0) {
    WITNESS_ASSIGN_OR_RETURN(const detail::BundleSegment* before, reader.segment(first - 1));
    chain = before->chain;
  }
  for (const Digest& leaf : leaves) chain = detail::chain_next(chain, leaf);
  return chain;
}

Result<std::uint64_t> Ledger::Impl::snapshot_size(const rocksdb::ReadOptions& ro) const {
  return detail::bundle_end(db.get(), ro);
}

// A root or proof can name any size the ledger has reached, and no other. `head` is read
// before the snapshot, so sizes up to it are in the snapshot; a commit becomes visible just
// before the head moves, so a larger size is checked against the snapshot itself.
Status Ledger::Impl::check_tree_size(std::uint64_t size, const TreeHead& head,
                                     const rocksdb::ReadOptions& ro) const {
  if (size <= head.size) return ok_status();
  WITNESS_ASSIGN_OR_RETURN(const std::uint64_t visible, snapshot_size(ro));
  if (size > visible) {
    return invalid_argument("tree size " + std::to_string(size) + " exceeds the ledger size " +
                            std::to_string(visible));
  }
  return ok_status();
}

Ledger::TreeHead Ledger::Impl::current_head() const {
  std::lock_guard lock(mu);
  return TreeHead{frontier.size(), frontier.root()};
}

Result<Ledger::TreeHead> Ledger::tree_head(std::optional<std::uint64_t> size) const {
  if (!impl_) return closed_error();
  // The head first, then the snapshot: entries are committed before the head moves, so the
  // snapshot holds at least head.size entries. (The other order races with appends.)
  const TreeHead head = impl_->current_head();
  const std::uint64_t n = size.value_or(head.size);
  if (n == head.size) return head;  // the frontier knows this root: no reads
  const SnapshotGuard snap = impl_->snapshot();
  const auto ro = snap.read_options();
  WITNESS_RETURN_IF_ERROR(impl_->check_tree_size(n, head, ro));
  WITNESS_ASSIGN_OR_RETURN(Digest root, merkle_root(n, impl_->subtree_fn(ro)));
  return TreeHead{n, root};
}

Result<InclusionClaim> Ledger::inclusion_proof(SequenceNumber seq,
                                               std::optional<std::uint64_t> size) const {
  if (!impl_) return closed_error();
  const TreeHead head = impl_->current_head();  // before the snapshot: see tree_head
  const std::uint64_t n = size.value_or(head.size);
  const SnapshotGuard snap = impl_->snapshot();
  const auto ro = snap.read_options();
  WITNESS_RETURN_IF_ERROR(impl_->check_tree_size(n, head, ro));
  if (seq >= n) {
    return invalid_argument("seq " + std::to_string(seq) + " is not below tree size " +
                            std::to_string(n));
  }
  const auto fn = impl_->subtree_fn(ro);
  InclusionClaim claim;
  WITNESS_ASSIGN_OR_RETURN(claim.proof, make_inclusion_proof(seq, n, fn));
  WITNESS_ASSIGN_OR_RETURN(claim.leaf_hash, fn(0, seq));
  if (n == head.size) {
    claim.root = head.root;
  } else {
    WITNESS_ASSIGN_OR_RETURN(claim.root, merkle_root(n, fn));
  }
  return claim;
}

Result<ConsistencyClaim> Ledger::consistency_proof(std::uint64_t size1, std::uint64_t size2) const {
  if (!impl_) return closed_error();
  const TreeHead head = impl_->current_head();  // before the snapshot: see tree_head
  const SnapshotGuard snap = impl_->snapshot();
  const auto ro = snap.read_options();
  WITNESS_RETURN_IF_ERROR(impl_->check_tree_size(size2, head, ro));
  if (size1 > size2) {
    return invalid_argument("size " + std::to_string(size1) + " is larger than size " +
                            std::to_string(size2));
  }
  const auto fn = impl_->subtree_fn(ro);
  ConsistencyClaim claim;
  WITNESS_ASSIGN_OR_RETURN(claim.proof, make_consistency_proof(size1, size2, fn));
  WITNESS_ASSIGN_OR_RETURN(claim.root1, merkle_root(size1, fn));
  if (size2 == head.size) {
    claim.root2 = head.root;
  } else {
    WITNESS_ASSIGN_OR_RETURN(claim.root2, merkle_root(size2, fn));
  }
  return claim;
}

Result<std::string> Ledger::checkpoint() {
  if (!impl_) return closed_error();
  if (!impl_->signing_key) {
    if (impl_->signing_key_error) {
      return impl_->signing_key_error->with_context("the signing key could not be read");
    }
    return failed_precondition("this ledger has no signing key: no checkpoints");
  }
  WITNESS_ASSIGN_OR_RETURN(TreeHead head, tree_head());
  const Checkpoint cp{impl_->origin, head.size, head.root};
  std::string note = sign_checkpoint(cp, *impl_->signing_key, impl_->origin);
  if (!impl_->options.read_only) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    WITNESS_RETURN_IF_ERROR(
        detail::to_status(impl_->db->Put(wo, detail::seq_key(format::kCheckpoint, head.size), note),
                          "store checkpoint"));
  }
  return note;
}

Result<std::vector<std::string>> Ledger::checkpoints() const {
  if (!impl_) return closed_error();
  std::vector<std::string> out;
  const std::string prefix(1, format::kCheckpoint);
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    out.push_back(it->value().ToString());
  }
  WITNESS_RETURN_IF_ERROR(detail::to_status(it->status(), "list checkpoints"));
  return out;
}

Ledger::Impl::SecondaryDir::~SecondaryDir() {
  if (path.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

Result<std::uint64_t> Ledger::catch_up() {
  if (!impl_) return closed_error();
  if (!impl_->options.follow) {
    return failed_precondition(
        "catch_up: the ledger was not opened to follow a writer (OpenOptions::follow)");
  }
  const std::lock_guard serial(impl_->catch_up_mu);
  WITNESS_RETURN_IF_ERROR(
      detail::to_status(impl_->db->TryCatchUpWithPrimary(), "catch up with the writer"));
  const SnapshotGuard snap = impl_->snapshot();
  const auto ro = snap.read_options();
  detail::BundleReader reader(impl_->db.get(), ro);
  WITNESS_ASSIGN_OR_RETURN(const detail::BundleSegment* last, reader.last());
  const SequenceNumber size = last != nullptr ? last->end() : 0;
  const SequenceNumber before = impl_->current_head().size;
  if (size < before) {
    return corruption("catch up: the ledger went from " + std::to_string(before) + " to " +
                      std::to_string(size) + " entries (replaced under this reader?)");
  }
  if (size == before) return size;
  // The new head, read before it is published: a reader that sees it finds its entries.
  WITNESS_ASSIGN_OR_RETURN(auto frontier, MerkleFrontier::load(size, impl_->subtree_fn(ro)));
  const std::lock_guard lock(impl_->mu);
  impl_->next_seq = size;
  impl_->chain_head = last->chain;
  impl_->frontier = std::move(frontier);
  return size;
}

Status Ledger::close() {
  if (!impl_) return ok_status();
  std::unique_ptr<Impl> impl = std::move(impl_);
  Status result;
  bool write_failed = false;
  {
    std::lock_guard lock(impl->mu);
    write_failed = impl->append_blocker.has_value();
  }
  // Buffered appends are in the WAL file but perhaps not on disk yet. Not after a failed write:
  // Debian's RocksDB asserts (aborts) on a WAL sync after a failed WAL write; the next open
  // recovers what reached the disk.
  if (!impl->options.read_only && !write_failed) {
    result = detail::to_status(impl->db->SyncWAL(), "close: sync the write-ahead log");
  }
  impl->keyed_cf.reset();  // RocksDB: every column family handle goes before the database
  impl->default_cf.reset();
  const auto closed = detail::to_status(impl->db->Close(), "close");
  // After a failed write RocksDB's close reports that error again ("Seen error"): the append
  // that failed has said it already.
  if (result && !closed && !write_failed) result = closed;
  return result;  // impl (the handle, then the writer claim) is released here
}

bool Ledger::is_open() const { return impl_ != nullptr; }

bool Ledger::read_only() const { return !impl_ || impl_->options.read_only; }

std::optional<std::string> Ledger::verifier_key() const {
  if (!impl_ || !impl_->signing_key) return std::nullopt;
  return witness::ledger::verifier_key(impl_->origin, impl_->signing_key->public_key());
}

const std::string& Ledger::origin() const {
  static const std::string kNone;
  return impl_ ? impl_->origin : kNone;
}

LedgerStats Ledger::stats() const {
  if (!impl_) return {};
  std::lock_guard lock(impl_->mu);
  return LedgerStats{.size = impl_->next_seq,
                     .chain_head = impl_->chain_head,
                     .merkle_root = impl_->frontier.root(),
                     .format_version = format::kFormatVersion,
                     .ledger_id = impl_->ledger_id};
}

std::uint64_t Ledger::size() const {
  if (!impl_) return 0;
  std::lock_guard lock(impl_->mu);
  return impl_->next_seq;
}

Result<std::vector<CausalStep>> Ledger::lineage(const NodeId& start, Direction direction,
                                                unsigned max_depth) const {
  if (!impl_) return closed_error();
  const SnapshotGuard snap = impl_->snapshot();
  const auto ro = snap.read_options();
  WITNESS_ASSIGN_OR_RETURN(auto start_seq, impl_->lookup(ro, start));
  if (!start_seq) return not_found("id " + start.to_hex() + ": no such node");
  detail::BundleReader reader(impl_->db.get(), ro);
  WITNESS_ASSIGN_OR_RETURN(Entry first, reader.entry(*start_seq));

  std::vector<CausalStep> steps;
  std::unordered_map<Digest, bool, DigestHash> seen{{start, true}};
  std::vector<Entry> level{first};  // the entries at the current depth
  for (unsigned depth = 1; depth <= max_depth && !level.empty(); ++depth) {
    std::vector<Entry> next;
    for (const Entry& from : level) {
      if (direction == Direction::kAncestors) {
        for (const Link& link : from.node.links()) {
          if (!seen.emplace(link.target, true).second) continue;
          WITNESS_ASSIGN_OR_RETURN(auto seq, impl_->lookup(ro, link.target));
          if (!seq) {
            return corruption("seq " + std::to_string(from.seq) + ": link target " +
                              link.target.to_hex() + " is missing");
          }
          WITNESS_ASSIGN_OR_RETURN(Entry e, reader.entry(*seq));
          steps.push_back({e, depth, link.relation, from.node.id()});
          next.push_back(std::move(e));
        }
      } else {
        const std::string prefix = detail::link_prefix(from.node.id());
        std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->keyed_cf.get()));
        for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
          const auto key = it->key().ToStringView();
          if (key.size() != prefix.size() + 9) return corruption("link index: malformed key");
          const SequenceNumber seq = get_be64(key.substr(prefix.size()));
          const auto rel = static_cast<LinkRelation>(key.back());
          WITNESS_ASSIGN_OR_RETURN(Entry e, reader.entry(seq));
          if (!seen.emplace(e.node.id(), true).second) continue;
          steps.push_back({e, depth, rel, from.node.id()});
          next.push_back(std::move(e));
        }
        WITNESS_RETURN_IF_ERROR(detail::to_status(it->status(), "link index"));
      }
    }
    level = std::move(next);
  }
  return steps;
}

Result<ReplaySummary> Ledger::replay(const ReplayOptions& options,
                                     const std::function<Status(const Entry&)>& visitor) const {
  if (!impl_) return closed_error();
  const SnapshotGuard snap = impl_->snapshot();
  auto ro = snap.read_options();
  const SequenceNumber from = options.from_seq.value_or(0);
  const SequenceNumber to = options.to_seq.value_or(~SequenceNumber{0});
  // The same rule as Query: an empty range is a mistake, not an empty answer.
  if (from > to) return invalid_argument("replay: from_seq is greater than to_seq");
  if (options.since && options.until && *options.since > *options.until) {
    return invalid_argument("replay: since is later than until");
  }
  ReplaySummary summary;
  // Walk the bundle segments from the one holding `from`. With verification, recompute every
  // leaf (checked against the level-0 tiles) and the chain from the segment before (checked
  // at the end of every segment).
  const std::string upper(1, format::kBundle + 1);
  rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  ro.readahead_size = 2U << 20U;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro));
  it->SeekForPrev(detail::bundle_key(from));
  if (!it->Valid() || it->key().empty() || it->key()[0] != format::kBundle) {
    it->Seek(detail::bundle_key(from));
  }
  std::optional<detail::TileReader> tiles;
  Digest chain;
  std::optional<SequenceNumber> expected;  // the first seq of the next segment
  detail::BundleSegment segment;
  for (; it->Valid(); it->Next()) {
    const auto key = it->key().ToStringView();
    if (key.size() != format::kSeqKeySize || key[0] != format::kBundle) {
      return corruption("entry bundle: malformed key");
    }
    WITNESS_RETURN_IF_ERROR(
        detail::parse_bundle(get_be64(key.substr(1)), it->value().ToString(), segment));
    if (segment.first > to) break;
    if (options.verify_chain) {
      if (!expected) {
        tiles.emplace(impl_->db.get(), snap.read_options());
        if (segment.first > 0) {
          detail::BundleReader before(impl_->db.get(), snap.read_options());
          WITNESS_ASSIGN_OR_RETURN(const detail::BundleSegment* b,
                                   before.segment(segment.first - 1));
          chain = b->chain;
        }
      } else if (segment.first != *expected) {
        return corruption("seq " + std::to_string(*expected) + ": entry missing (next is " +
                          std::to_string(segment.first) + ")");
      }
    }
    expected = segment.end();
    for (std::size_t i = 0; i < segment.entries.size(); ++i) {
      const SequenceNumber seq = segment.first + i;
      const std::string_view bytes = segment.entries[i];
      if (options.verify_chain) {
        const Digest leaf = detail::leaf_hash(bytes);
        chain = detail::chain_next(chain, leaf);
        auto stored = tiles->hash(0, seq);
        if (!stored) return stored.error().with_context("seq " + std::to_string(seq));
        if (*stored != leaf) {
          return corruption("seq " + std::to_string(seq) + ": node bytes do not match leaf hash");
        }
      }
      if (seq < from || seq > to) continue;
      ++summary.read;
      auto node = detail::decode_stored_node(bytes);
      if (!node) return node.error().with_context("seq " + std::to_string(seq));
      const Timestamp ts = node->timestamp();
      if ((options.since && ts < *options.since) || (options.until && ts > *options.until)) {
        continue;
      }
      ++summary.visited;
      WITNESS_RETURN_IF_ERROR(visitor(Entry{seq, std::move(*node)}));
    }
    if (options.verify_chain && chain != segment.chain) {
      return corruption("seq " + std::to_string(segment.end() - 1) +
                        ": chain hash does not recompute");
    }
  }
  WITNESS_RETURN_IF_ERROR(detail::to_status(it->status(), "replay"));
  summary.chain_verified = options.verify_chain;
  return summary;
}

Result<std::uint64_t> Ledger::copy_to(Ledger& target, const ReplayOptions& options,
                                      const std::function<bool(const Entry&)>& filter) const {
  if (!impl_) return closed_error();
  std::vector<TraceNode> nodes;
  WITNESS_RETURN_IF_ERROR(replay(options, [&](const Entry& e) -> Status {
    if (!filter || filter(e)) nodes.push_back(e.node);
    return ok_status();
  }));
  // A copy keeps every record as it is, witness's own included.
  WITNESS_RETURN_IF_ERROR(target.append_batch(nodes, AppendOptions{.allow_reserved_origin = true}));
  return static_cast<std::uint64_t>(nodes.size());
}

}  // namespace witness::ledger
