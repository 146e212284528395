// Ledger::Impl, shared by ledger.cpp (appends, reads) and query.cpp (queries).
#pragma once

#include <array>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/snapshot.h>
#include <rocksdb/write_batch.h>

#include "witness/ledger/checkpoint.hpp"
#include "witness/ledger/ledger.hpp"
#include "witness/ledger/merkle.hpp"
#include "witness/ledger/signing.hpp"

#include "segments.hpp"

namespace witness::ledger {

// A consistent read view: releases its snapshot when destroyed. Made by Ledger::Impl::snapshot.
//
// A following open (a RocksDB secondary) cannot read at a snapshot; it reads the latest state,
// which Ledger::catch_up may move on between two reads, and each iterator keeps the state it
// was made in. Format 2 never changes a value once written except to replace a tile's segments
// with the whole tile, a superset of their hashes, so a later read finds what an earlier one
// would have, and more; an index read after the entries' reader may name entries that reader
// does not see yet, and BundleReader looks again for them. Verify, which counts keys, holds
// catch_up off while it runs.
class SnapshotGuard {
 public:
  // `take`: false for a following open, whose reads cannot name a snapshot.
  SnapshotGuard(rocksdb::DB* db, bool take)
      : db_(db), snapshot_(take ? db->GetSnapshot() : nullptr) {}
  SnapshotGuard(const SnapshotGuard&) = delete;
  SnapshotGuard& operator=(const SnapshotGuard&) = delete;
  ~SnapshotGuard() {
    if (snapshot_ != nullptr) db_->ReleaseSnapshot(snapshot_);
  }
  [[nodiscard]] rocksdb::ReadOptions read_options() const {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot_;
    return ro;
  }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snapshot_;
};

// What every Ledger method returns after close().
[[nodiscard]] inline Error closed_error() { return failed_precondition("the ledger is closed"); }

// Marks a directory as open for writing in this process, for as long as it lives. RocksDB's
// LOCK file is a per-process fcntl lock, so a second writable open of the same directory in
// one process fails with "lock hold by current process"; Ledger::open checks this first and
// says what is wrong.
class WriterClaim {
 public:
  // Claims `dir` (a canonical path). Errors: kFailedPrecondition when it is claimed already.
  [[nodiscard]] static Result<std::unique_ptr<WriterClaim>> acquire(std::string dir);
  WriterClaim(const WriterClaim&) = delete;
  WriterClaim& operator=(const WriterClaim&) = delete;
  ~WriterClaim();

 private:
  explicit WriterClaim(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

struct Ledger::Impl {
  // One queued append_batch call (group commit, as leveldb's DBImpl::Write).
  struct Writer {
    std::span<const TraceNode> nodes;
    bool sync = false;
    bool is_batch = false;  // errors name the node's index in the batch
    bool done = false;
    Status status;
    std::vector<AppendResult> results;
    std::condition_variable cv;
  };

  // Declared before db, so it is released after the database is closed.
  std::unique_ptr<WriterClaim> writer_claim;  // null for a read-only open
  // A following open's RocksDB secondary directory (its own LOG and MANIFEST reads), removed
  // after the database closes. Empty otherwise.
  struct SecondaryDir {
    std::filesystem::path path;
    SecondaryDir() = default;
    SecondaryDir(const SecondaryDir&) = delete;
    SecondaryDir& operator=(const SecondaryDir&) = delete;
    ~SecondaryDir();
  };
  SecondaryDir secondary_dir;
  std::mutex catch_up_mu;  // serialises catch_up
  std::unique_ptr<rocksdb::DB> db;
  // Column family handles, declared after db so that they are destroyed before it.
  std::unique_ptr<rocksdb::ColumnFamilyHandle> default_cf;
  std::unique_ptr<rocksdb::ColumnFamilyHandle> keyed_cf;  // 'i', 'l' and 't' keys
  OpenOptions options;
  std::string ledger_id;
  std::string origin;                      // checkpoint origin and key name: witness.ledger/<id>
  std::optional<SigningKey> signing_key;   // signs checkpoints, when present
  std::optional<Error> signing_key_error;  // a read-only open could not read the key: why

  mutable std::mutex mu;        // guards writers, next_seq, chain_head, frontier
  std::deque<Writer*> writers;  // front is the current leader
  SequenceNumber next_seq = 0;
  Digest chain_head;
  MerkleFrontier frontier;  // right edge of the Merkle tree over all entries
  // The right-edge (partial) hash tile of every height: its hashes so far and the first index
  // of each of its segments, so that the group completing it writes the whole tile under one
  // key (read with one Get ever after) and deletes the segments. Only the leader of a write
  // group touches it (as next_seq); loaded at open. After a failed write it may be ahead of
  // the disk, but appends are refused then (append_blocker) until a reopen reloads it.
  struct EdgeTile {
    std::string hashes;
    std::vector<std::uint64_t> segments;
  };
  std::array<EdgeTile, 64> edge_tiles;
  // Hash tiles proofs read lately (4096 tiles, at most 32 MiB): the upper levels of the tree
  // are read by every proof. BM_InclusionProofGenerate at 200k entries: 2048 tiles 9.3 us,
  // 4096 7.1 us (every tile cached).
  mutable detail::TileCache tile_cache{4096};
  // Set when open found the tree's right edge unreadable (the ledger can still be read and
  // verified, but appending would extend a tree it cannot trust), or when a write failed (its
  // effect on disk is unknown until a reopen): appends then fail with this. Guarded by mu.
  std::optional<Error> append_blocker;

  // Reads and decodes entry `seq` through `ro` (one lookup; readers of many entries keep a
  // detail::BundleReader). Errors: kNotFound, kCorruption, kIOError.
  [[nodiscard]] Result<Entry> read_entry(const rocksdb::ReadOptions& ro, SequenceNumber seq) const;
  // Looks up `id` through `ro`: its seq, or nullopt.
  [[nodiscard]] Result<std::optional<SequenceNumber>> lookup(const rocksdb::ReadOptions& ro,
                                                             const NodeId& id) const;
  // Looks up `id` through `ro`: its seq and timestamp (ns), or nullopt.
  [[nodiscard]] Result<std::optional<std::pair<SequenceNumber, std::int64_t>>> lookup_with_time(
      const rocksdb::ReadOptions& ro, const NodeId& id) const;

  // A read view of the ledger now (see SnapshotGuard).
  [[nodiscard]] SnapshotGuard snapshot() const { return {db.get(), !options.follow}; }

  // The committed tree's size and root, from the in-memory frontier.
  [[nodiscard]] TreeHead current_head() const;
  // The number of entries visible through `ro` (from the last hash record).
  [[nodiscard]] Result<std::uint64_t> snapshot_size(const rocksdb::ReadOptions& ro) const;
  // Ok when a tree of `size` entries is visible through `ro`; `head` was read before `ro`'s
  // snapshot was taken. Errors: kInvalidArgument.
  [[nodiscard]] Status check_tree_size(std::uint64_t size, const TreeHead& head,
                                       const rocksdb::ReadOptions& ro) const;

  // Subtree hashes through `ro`'s snapshot, from the hash tiles, for the Merkle algorithms.
  // The function owns its reader; `ro`'s snapshot must outlive it.
  [[nodiscard]] SubtreeHashFn subtree_fn(const rocksdb::ReadOptions& ro) const;

  // Queues `nodes` as one writer and waits until it is committed (group commit).
  [[nodiscard]] Status check(const TraceNode& node, const AppendOptions& append_options) const;
  [[nodiscard]] Result<std::vector<AppendResult>> submit(std::span<const TraceNode> nodes,
                                                         const AppendOptions& options,
                                                         bool is_batch);
  // Builds and writes one group; returns per-writer statuses via the writers.
  void write_group(std::span<Writer*> group);

  // One node accepted into a group: its stored bytes and leaf hash.
  struct Staged {
    const TraceNode* node = nullptr;
    std::string stored;
    Digest leaf;
  };
  // Puts the keys of `staged` (seqs from `first`) into `batch`, advancing `chain` and `tree`.
  // Updates edge_tiles.
  void build_batch(SequenceNumber first, std::span<const Staged> staged, Digest& chain,
                   MerkleFrontier& tree, rocksdb::WriteBatch& batch);
};

// Whether the database in `dir` has format 2's "keyed" column family (reads its MANIFEST only,
// looking again while a concurrent writer replaces it). Errors: kIOError and RocksDB's others.
[[nodiscard]] Result<bool> has_keyed_family(const std::filesystem::path& dir);

// A database without it (format 1, or not a ledger), opened read-only with its default column
// family only, so that nothing is written, and the format version it records.
struct LegacyDb {
  std::unique_ptr<rocksdb::DB> db;
  std::uint32_t version = 0;
};
// Errors: RocksDB's open errors; kFailedPrecondition "... is a RocksDB database but not a
// witness ledger" when it records no format version.
[[nodiscard]] Result<LegacyDb> open_legacy(const std::filesystem::path& dir);

// Ledger::open, with the ledger id a new ledger gets (16 bytes; random when nullopt).
[[nodiscard]] Result<std::unique_ptr<Ledger::Impl>> open_impl(
    const std::filesystem::path& dir, const OpenOptions& options,
    const std::optional<std::string>& new_ledger_id);

}  // namespace witness::ledger
