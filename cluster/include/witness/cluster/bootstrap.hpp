// Joining when the stream no longer reaches the start (docs/cluster.md, "Operations"): copy a
// peer replica's ledger, verify the copy, and prove it is the cluster's with a cosigned
// checkpoint, then follow the stream from the copy's size + 1.
//
//   auto r = cluster::bootstrap(empty_ledger, {.peer_dir = "/var/lib/witness/r1",
//                                              .checkpoint = note, .verifier_keys = keys,
//                                              .quorum = 2});
//   // r->entries copied; witness replica then asks the stream for entry r->entries + 1
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/ledger/checkpoint.hpp"
#include "witness/ledger/ledger.hpp"

namespace witness::cluster {

struct BootstrapOptions {
  std::string peer_dir;    // a replica's ledger directory (opened read-only; it may be running)
  std::string checkpoint;  // a checkpoint cosigned by the replicas (witness cluster checkpoint)
  std::vector<std::string> verifier_keys;  // the replicas' verifier keys
  std::size_t quorum = 2;                  // signatures the checkpoint must carry from those keys
};

struct BootstrapReport {
  std::uint64_t entries = 0;  // copied: the ledger's size now
  ledger::Checkpoint checkpoint;
  std::vector<std::string> signers;
  ledger::Digest root;  // the copy's root (all of it)
};

// Checks the checkpoint (`quorum` of the keys), copies every entry of the peer into `ledger`
// (which must be empty) in order, synced at the end, verifies the copy (every hash, index and
// subtree) and checks that its root at the checkpoint's size is the checkpoint's. Errors:
// kFailedPrecondition (the ledger is not empty; the peer holds fewer entries than the
// checkpoint); kCorruption (the checkpoint lacks a quorum of valid signatures, the copy does
// not verify, or its root at that size differs: both roots named, and the copy should be
// discarded); the ledgers' errors.
[[nodiscard]] Result<BootstrapReport> bootstrap(ledger::Ledger& ledger,
                                                const BootstrapOptions& options);

}  // namespace witness::cluster
