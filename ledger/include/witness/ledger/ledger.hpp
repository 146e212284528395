// Ledger: the append-only, hash-chained store of TraceNodes on RocksDB (SPEC 3).
// Byte layout on disk: docs/ledger_format.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/ledger/checkpoint.hpp"
#include "witness/ledger/digest.hpp"
#include "witness/ledger/entry.hpp"
#include "witness/ledger/merkle.hpp"
#include "witness/ledger/options.hpp"
#include "witness/ledger/proof_json.hpp"
#include "witness/ledger/query.hpp"
#include "witness/ledger/trace_node.hpp"

namespace witness::ledger {

// What one append did.
struct AppendResult {
  SequenceNumber seq = 0;
  bool inserted = false;  // false: the id was already present and nothing was written
  friend bool operator==(const AppendResult&, const AppendResult&) = default;
};

// A summary of the ledger's size and head.
struct LedgerStats {
  std::uint64_t size = 0;  // number of entries; the next seq
  Digest chain_head;       // chain[size-1], or all zeros when empty
  Digest merkle_root;      // RFC 6962 root over all entries (SHA-256("") when empty)
  std::uint32_t format_version = 0;
  std::string ledger_id;  // random, chosen at creation (hex)
};

// One step of a lineage (Ledger::lineage): the entry reached, how far from the start, and by which
// link.
struct CausalStep {
  Entry entry;
  unsigned depth = 0;  // 1 for direct causes/effects
  LinkRelation relation = LinkRelation::kCauses;
  NodeId from;  // the node the step was taken from
};

enum class Direction { kAncestors, kDescendants };

// Which entries replay visits, and whether it checks the hash chain on the way.
struct ReplayOptions {
  std::optional<SequenceNumber> from_seq;
  std::optional<SequenceNumber> to_seq;  // inclusive
  std::optional<Timestamp> since;        // visit only entries with timestamp >= since
  std::optional<Timestamp> until;        // ... and <= until
  bool verify_chain = false;             // recompute leaf and chain hashes of every entry read
};

// What a replay saw.
struct ReplaySummary {
  std::uint64_t visited = 0;  // entries passed to the visitor
  std::uint64_t read = 0;     // entries read (including those outside the time range)
  bool chain_verified = false;
};

// The first thing verify() found wrong: which entry (when one can be named) and what.
struct VerifyProblem {
  std::optional<SequenceNumber> seq;
  std::string what;
};

// What verify() checked, and the first problem, if any.
struct VerifyReport {
  std::uint64_t entries = 0;        // entries re-hashed and checked
  std::uint64_t index_entries = 0;  // index keys checked (both directions)
  std::uint64_t merkle_nodes = 0;   // stored Merkle subtrees recomputed
  std::uint64_t checkpoints = 0;    // stored checkpoints whose root holds (and signature, below)
  // Whether the checkpoints' signatures were checked: with VerifyOptions::public_key, or else
  // the ledger's own key when it is readable. False: no key was at hand, and a checkpoint with
  // altered signature bytes would have passed; say so to the user.
  bool signatures_checked = false;
  Digest chain_head;   // recomputed chain head
  Digest merkle_root;  // recomputed Merkle root
  std::optional<VerifyProblem> problem;
  [[nodiscard]] bool ok() const { return !problem.has_value(); }
};

// What verify() checks beyond the ledger's own consistency, and how it reports progress.
struct VerifyOptions {
  // A verifier key ("<name>+<key id>+<base64>", as `witness checkpoint --public-key` prints):
  // every stored checkpoint must carry a valid signature by it. Absent: the ledger's own key is
  // used when it can be read (the private key file; a reader without permission to it has none).
  std::optional<std::string> public_key;
  // Called with (entries done, total).
  std::function<void(std::uint64_t, std::uint64_t)> progress;
};

// What Ledger::migrate did: the roots it computed on both sides (equal: the leaves are the
// same bytes) and the verification of the new ledger.
struct MigrateReport {
  std::uint32_t from_version = 0;
  std::uint64_t entries = 0;
  std::uint64_t checkpoints = 0;  // stored checkpoints carried over, as they were
  Digest source_root;             // recomputed from the old ledger's leaves
  Digest source_chain_head;       // recomputed from the old ledger's leaves
  VerifyReport verify;            // Ledger::verify of the new ledger (ok)
};

// What Ledger::migrate reports while it works.
struct MigrateOptions {
  // Called with (entries copied, total).
  std::function<void(std::uint64_t, std::uint64_t)> progress;
};

// Appends TraceNodes and reads them back; an entry never changes once appended. There is no
// update or delete. Concurrent appends are grouped into one RocksDB write (group commit).
// Thread safety: all methods may be called concurrently.
class Ledger {
 public:
  // The on-disk format version this build reads and writes.
  static const std::uint32_t kFormatVersion;

  // Opens the ledger in `dir`. Errors: kNotFound (absent and not creating), kFailedPrecondition
  // (not a witness ledger, an unknown format version, or already open for writing in this
  // process: share that Ledger instead, it is thread-safe), kCorruption, kIOError (another
  // process holds it open for writing: RocksDB's LOCK).
  [[nodiscard]] static Result<Ledger> open(const std::filesystem::path& dir,
                                           const OpenOptions& options);

  // Converts the format 1 ledger in `src` into a new format 2 ledger in `dst` (which must not
  // exist, or be an empty directory): the same entries, ledger id, signing key (copied) and
  // stored checkpoints, so that roots, proofs and checkpoints stay valid. Reads `src` read-only
  // and changes nothing there. Each entry's leaf and chain hash are checked on the way, the new
  // ledger is verified in full, and its root must equal the one recomputed from `src`.
  // Errors: kNotFound (no ledger in src), kFailedPrecondition (src is not format 1, dst is in
  // the way), kCorruption (src does not check out, naming the seq), kIOError.
  [[nodiscard]] static Result<MigrateReport> migrate(const std::filesystem::path& src,
                                                     const std::filesystem::path& dst,
                                                     const MigrateOptions& options = {});

  // Syncs the write-ahead log (so buffered appends are durable), closes the database and
  // releases its lock, so the directory can be opened again, here or by another process.
  // Afterwards every call fails with kFailedPrecondition "the ledger is closed" (stats() and
  // size() report an empty ledger); closing again is a no-op. The destructor closes too, but
  // cannot report an error. REQUIRES: no other call on this Ledger in flight, and every
  // QueryResult from it destroyed. Errors: kIOError (the ledger is closed all the same).
  [[nodiscard]] Status close();
  // False after close() (and in a moved-from Ledger).
  [[nodiscard]] bool is_open() const;
  // True for a ledger opened read-only (appends fail), and after close().
  [[nodiscard]] bool read_only() const;

  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;
  Ledger(Ledger&&) noexcept;
  Ledger& operator=(Ledger&&) noexcept;
  ~Ledger();

  // Appends `node`, or returns the existing seq if its id is present (writes nothing then).
  // Errors: kInvalidArgument (a link target is absent or has a later timestamp),
  // kFailedPrecondition (read-only), kIOError.
  [[nodiscard]] Result<AppendResult> append(const TraceNode& node,
                                            const AppendOptions& options = {});

  // Appends all of `nodes` atomically, in order, or none of them on error. A node may link to
  // an earlier node of the same batch. Errors as append(), with the index of the bad node.
  [[nodiscard]] Result<std::vector<AppendResult>> append_batch(std::span<const TraceNode> nodes,
                                                               const AppendOptions& options = {});

  // The checks append makes on `node` before it writes anything: the ledger is open for
  // writing, and the origin is not reserved unless allowed. A writer that records something
  // before its nodes (a gate bypass) calls it first, so that input append would refuse records
  // nothing. (Link targets are checked by the write itself.) Errors as append().
  [[nodiscard]] Status check_append(const TraceNode& node, const AppendOptions& options = {}) const;

  // Returns entry `seq`. Errors: kNotFound, kCorruption, kIOError.
  [[nodiscard]] Result<Entry> get(SequenceNumber seq) const;
  // Returns the entry whose id is `id`. Errors: kNotFound, kCorruption, kIOError.
  [[nodiscard]] Result<Entry> find(const NodeId& id) const;
  // Returns the seq of `id`, or nullopt when absent. Errors: kCorruption, kIOError.
  [[nodiscard]] Result<std::optional<SequenceNumber>> seq_of(const NodeId& id) const;
  // Returns chain[seq] (SPEC 3.3). Errors: kNotFound, kCorruption.
  [[nodiscard]] Result<Digest> chain_hash(SequenceNumber seq) const;

  // The Merkle tree at one size: what a checkpoint signs.
  struct TreeHead {
    std::uint64_t size = 0;
    Digest root;
  };
  // Returns the RFC 6962 root of the first `size` entries (default: all), O(log n) reads.
  // Errors: kInvalidArgument (size beyond the ledger), kCorruption.
  [[nodiscard]] Result<TreeHead> tree_head(std::optional<std::uint64_t> size = {}) const;
  // Proves entry `seq` is in the tree of `size` entries (default: all), with the leaf hash and
  // root it links, in O(log n) reads. Errors: kInvalidArgument, kCorruption.
  [[nodiscard]] Result<InclusionClaim> inclusion_proof(
      SequenceNumber seq, std::optional<std::uint64_t> size = {}) const;
  // Proves the tree of `size1` entries is a prefix of the tree of `size2`, O(log n) reads.
  // Errors: kInvalidArgument (size1 > size2, or beyond the ledger), kCorruption.
  [[nodiscard]] Result<ConsistencyClaim> consistency_proof(std::uint64_t size1,
                                                           std::uint64_t size2) const;

  // ---- C2SP tlog-tiles (https://c2sp.org/tlog-tiles; docs/serve.md) ----
  // The tiled log's numbers: a tile is 256 hashes wide; a level is 8 tree heights.
  static constexpr unsigned kTlogTileWidth = 256;
  static constexpr unsigned kTlogMaxLevel = 63;
  // The longest entry an entry bundle can frame (its lengths are 16-bit).
  static constexpr std::size_t kTlogMaxEntryBytes = 65535;

  // Tile `index` of `level`: the first `width` (1..256) hashes of the tile, each the Merkle
  // hash of 256^level entries, entry index * 256^(level+1) on; 32 bytes each, concatenated.
  // The bytes are the stored tile's, so a partial tile is a prefix of the full one it becomes.
  // Errors: kInvalidArgument (level above 63, width 0 or above 256), kNotFound (the tree does
  // not have those hashes yet: (index * 256 + width) * 256^level > size), kCorruption.
  [[nodiscard]] Result<std::string> tlog_tile(unsigned level, std::uint64_t index,
                                              unsigned width) const;
  // Entry bundle `index`: the stored node bytes of entries index * 256 .. + width - 1, each
  // after its length as a big-endian uint16 (the bytes whose leaf hashes tile (0, index)
  // holds). Errors: kInvalidArgument (width 0 or above 256), kNotFound (beyond the ledger),
  // kFailedPrecondition (an entry longer than 65,535 bytes, which a bundle cannot frame: its
  // seq and size named), kCorruption.
  [[nodiscard]] Result<std::string> tlog_entry_bundle(std::uint64_t index, unsigned width) const;

  // Signs the current tree head as a C2SP checkpoint, stores it (unless read-only) and returns
  // the signed note. Errors: kFailedPrecondition (no signing key), kIOError.
  [[nodiscard]] Result<std::string> checkpoint();
  // The stored checkpoints (automatic and on demand), oldest first.
  [[nodiscard]] Result<std::vector<std::string>> checkpoints() const;
  // The checkpoint verifier key ("<origin>+<id>+<base64>"), when the ledger has a signing key.
  [[nodiscard]] std::optional<std::string> verifier_key() const;
  // The checkpoint origin line and key name: "witness.ledger/<ledger id>".
  [[nodiscard]] const std::string& origin() const;

  // For a ledger opened with OpenOptions::follow: reads what the writer (another process) has
  // written since the last call, and moves this Ledger's head to it; queries, proofs and tiles
  // then see the new entries. Returns the size. Safe beside reads on other threads; calls of
  // catch_up itself are serialised. Errors: kFailedPrecondition (not opened to follow),
  // kCorruption (what was written does not load), kIOError.
  [[nodiscard]] Result<std::uint64_t> catch_up();

  [[nodiscard]] LedgerStats stats() const;
  [[nodiscard]] std::uint64_t size() const;

  // Runs `query` against a snapshot taken now; the result reads lazily. Errors: kInvalidArgument
  // (e.g. since > until).
  [[nodiscard]] Result<QueryResult> query(const Query& query) const;

  // The causal lineage of `start`: follows its links (ancestors) or the link-target index
  // (descendants), breadth first, up to `max_depth` steps; each entry appears once, at its
  // smallest depth. (Not to be confused with a node's `walk`, its session label.)
  // Errors: kNotFound (start absent), kCorruption, kIOError.
  [[nodiscard]] Result<std::vector<CausalStep>> lineage(const NodeId& start, Direction direction,
                                                        unsigned max_depth) const;

  // Visits entries in seq order from one snapshot. A visitor error stops the replay and is
  // returned. With verify_chain, a leaf or chain hash that does not recompute is kCorruption
  // naming the seq.
  [[nodiscard]] Result<ReplaySummary> replay(
      const ReplayOptions& options, const std::function<Status(const Entry&)>& visitor) const;

  // Left fold over replay: `acc = f(std::move(acc), entry)` for each entry visited.
  template <typename Acc, typename F>
  [[nodiscard]] Result<Acc> fold(const ReplayOptions& options, Acc init, F f) const {
    Acc acc = std::move(init);
    auto summary = replay(options, [&](const Entry& e) -> Status {
      acc = f(std::move(acc), e);
      return ok_status();
    });
    if (!summary) return summary.error();
    return acc;
  }

  // Full check from one snapshot (SPEC 3.6): every node re-hashes to its id, leaf and chain
  // hashes recompute, every index entry matches its node and every node has its index
  // entries, stored Merkle subtrees recompute, and no unknown keys exist. Stops at the first
  // problem, which the report names. `progress`, when set, gets (entries done, total).
  // Checkpoint signatures: see VerifyOptions. Errors (not problems): kInvalidArgument (a
  // malformed public key), kIOError when reading fails.
  [[nodiscard]] Result<VerifyReport> verify(const VerifyOptions& options) const;
  [[nodiscard]] Result<VerifyReport> verify(
      const std::function<void(std::uint64_t, std::uint64_t)>& progress = {}) const {
    return verify(VerifyOptions{.progress = progress});
  }

  // Copies the entries `options` selects and `filter` accepts into `target`, in seq order, as
  // one atomic batch (ids are kept; seqs are the target's). Returns the number copied.
  [[nodiscard]] Result<std::uint64_t> copy_to(
      Ledger& target, const ReplayOptions& options,
      const std::function<bool(const Entry&)>& filter = {}) const;

  // The representation: owns the RocksDB handle, so RocksDB stays out of this header.
  // Opaque here; defined in ledger/src.
  struct Impl;

 private:
  explicit Ledger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace witness::ledger
