// Bootstrap from a peer: the checkpoint is checked first (nothing is copied for a bad one), the
// entries are copied in order in batches (so stream message N is still entry N - 1), then the
// copy is verified as a whole and held against the checkpoint.
#include "witness/cluster/bootstrap.hpp"

#include <vector>

#include "witness/ledger/options.hpp"

namespace witness::cluster {

namespace {
constexpr std::size_t kCopyBatch = 4096;
}  // namespace

Result<BootstrapReport> bootstrap(ledger::Ledger& l, const BootstrapOptions& o) {
  if (const auto held = l.size(); held != 0) {
    return failed_precondition("bootstrap: the ledger is not empty (" + std::to_string(held) +
                               " entries): a bootstrap starts from a new ledger");
  }
  WITNESS_ASSIGN_OR_RETURN(
      auto q, ledger::verify_checkpoint_quorum(o.checkpoint, o.verifier_keys, o.quorum));
  BootstrapReport out{.entries = 0, .checkpoint = q.checkpoint, .signers = q.signers, .root = {}};
  WITNESS_ASSIGN_OR_RETURN(
      auto peer, ledger::Ledger::open(o.peer_dir, ledger::OpenOptions{.read_only = true}));
  if (const auto peer_size = peer.size(); peer_size < q.checkpoint.size) {
    return failed_precondition("bootstrap: the peer holds " + std::to_string(peer_size) +
                               " entries, fewer than the checkpoint's " +
                               std::to_string(q.checkpoint.size));
  }
  std::vector<ledger::TraceNode> batch;
  batch.reserve(kCopyBatch);
  // Synced per batch: a few thousand entries per fsync.
  const ledger::AppendOptions copy{.durability = ledger::Durability::kSync,
                                   .allow_reserved_origin = true};
  auto flush = [&]() -> Status {
    if (batch.empty()) return ok_status();
    WITNESS_ASSIGN_OR_RETURN(auto written, l.append_batch(batch, copy));
    for (const auto& r : written) {
      if (!r.inserted) {
        return corruption("bootstrap: the peer holds a node twice (seq " + std::to_string(r.seq) +
                          ")");
      }
    }
    out.entries += written.size();
    batch.clear();
    return ok_status();
  };
  // One snapshot of the peer: what it appends meanwhile comes from the stream.
  WITNESS_RETURN_IF_ERROR(peer.replay({}, [&](const ledger::Entry& e) -> Status {
    batch.push_back(e.node);
    if (batch.size() == kCopyBatch) return flush();
    return ok_status();
  }));
  WITNESS_RETURN_IF_ERROR(flush());
  WITNESS_ASSIGN_OR_RETURN(auto report, l.verify());
  if (!report.ok()) {
    return corruption("bootstrap: the copy does not verify: " + report.problem->what);
  }
  WITNESS_ASSIGN_OR_RETURN(auto head, l.tree_head(q.checkpoint.size));
  if (head.root != q.checkpoint.root) {
    return corruption("bootstrap: the copy's root at size " + std::to_string(q.checkpoint.size) +
                      " is " + head.root.to_hex() + ", the cosigned checkpoint's " +
                      q.checkpoint.root.to_hex() + ": the peer is not the cluster's ledger");
  }
  out.root = report.merkle_root;
  return out;
}

}  // namespace witness::cluster
