// One ledger fed by many hosts (SPEC 12, docs/cluster.md): a NATS JetStream stream is the
// order, replicas are the ledgers. The stream (R3, file storage, deny_delete, deny_purge) holds
// nodes as JSON lines; each replica consumes it in order and applies every message to its own
// ledger (cluster::Applier), so stream sequence N is ledger seq N - 1 on every replica. An
// appender publishes each node with Nats-Msg-Id = its id and acknowledges it only when a
// quorum of replicas report it applied and synced in their RocksDB: a JetStream ack is not the
// product's ack (Debian's nats-server 2.9.10 fsyncs its streams every 2 minutes).
//
//   cluster::NatsOptions nats{.servers = {"nats://127.0.0.1:4222"}, .stream = "fleet"};
//   WITNESS_RETURN_IF_ERROR(cluster::create_stream(nats, {.replicas = 3}));   // once
//   // on each replica host:
//   auto replica = cluster::Replica::open(ledger, {.nats = nats, .name = "r1"});
//   (*replica)->run();                                  // until stop() or an error
//   // on any host:
//   auto client = cluster::Client::connect(nats, {.quorum = 2});
//   auto acks = (*client)->append(nodes);               // each: its seq and what it became
//
// Subjects: nodes on "witness.<stream>.nodes"; replicas report progress on
// "witness.<stream>.applied", answer outcome requests on "witness.<stream>.outcome" and sign
// checkpoints on request on "witness.<stream>.cosign" and consistency proofs on
// "witness.<stream>.consistency".
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/cluster/applier.hpp"
#include "witness/ledger/checkpoint.hpp"
#include "witness/ledger/ledger.hpp"
#include "witness/ledger/signing.hpp"

namespace witness::cluster {

struct NatsOptions {
  std::vector<std::string> servers;         // nats://host:port; any of them will do
  std::string stream = "witness";           // [A-Za-z0-9_-]+
  std::chrono::milliseconds timeout{5000};  // connect and request timeouts
};

// A comma-separated server list ("nats://a:4222,nats://b:4222"; empty items skipped), as the
// CLI's --nats and Python's Cluster take it.
[[nodiscard]] std::vector<std::string> split_servers(std::string_view list);

// The stream's subjects.
[[nodiscard]] std::string nodes_subject(const std::string& stream);
[[nodiscard]] std::string applied_subject(const std::string& stream);
[[nodiscard]] std::string outcome_subject(const std::string& stream);
[[nodiscard]] std::string cosign_subject(const std::string& stream);
[[nodiscard]] std::string consistency_subject(const std::string& stream);
// The origin line of the cluster's checkpoints: "witness.cluster/<stream>" (every replica signs
// the same text, so that their signatures gather into one note).
[[nodiscard]] std::string checkpoint_origin(const std::string& stream);

struct StreamSetup {
  int replicas = 3;  // JetStream replicas of the stream (1 to 5)
  std::chrono::seconds duplicate_window{120};
  // Messages the stream keeps (the oldest are discarded beyond); -1: all. A replica that needs
  // a discarded message bootstraps from a peer (cluster/bootstrap.hpp).
  std::int64_t max_msgs = -1;
};

// Creates the stream (file storage, deny_delete, deny_purge, the duplicate window), or checks
// that an existing one has those properties. Errors: kInvalidArgument for a bad name or
// replica count; kFailedPrecondition for an existing stream that allows deletes or purges, or
// whose subjects differ; kUnavailable when NATS cannot be reached.
[[nodiscard]] Status create_stream(const NatsOptions& nats, const StreamSetup& setup);

struct ReplicaOptions {
  NatsOptions nats;
  std::string name;  // reported with progress; default: the ledger's id
  ApplierOptions apply;
  std::size_t max_batch = 1024;  // messages per ledger write
  // Called after each batch is written and synced (for logs).
  std::function<void(std::span<const Applied>)> on_apply;
  std::chrono::milliseconds heartbeat{1000};  // progress is also reported this often
  // The replica's own Ed25519 key, with which it signs checkpoints of its ledger under `name`
  // when asked (cosign_checkpoint). Without one it does not cosign.
  std::shared_ptr<const ledger::SigningKey> signing_key;
};

// A replica: consumes the stream from its ledger's size + 1 and applies it.
// Thread safety: run() on one thread; stop() from any.
class Replica {
 public:
  // Opens the Applier (rebuilding the gate from the ledger) and connects. Errors: the
  // Applier's; kUnavailable when NATS cannot be reached; kNotFound for no such stream.
  [[nodiscard]] static Result<std::unique_ptr<Replica>> open(ledger::Ledger& ledger,
                                                             ReplicaOptions options);
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // Applies the stream as it grows until stop() (then ok) or an error: a message that cannot
  // be applied stops the replica, naming it; it never skips. Also stops when the stream no
  // longer holds the next message (its retention has passed it: bootstrap from a peer).
  [[nodiscard]] Status run();
  void stop();
  // Entries applied (the ledger's size).
  [[nodiscard]] std::uint64_t size() const;

 private:
  struct Impl;
  explicit Replica(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct CosignOptions {
  std::optional<std::uint64_t> size;     // default: the largest size a quorum of replicas holds
  std::size_t quorum = 2;                // signatures the note must carry
  std::chrono::milliseconds wait{1000};  // how long answers are gathered, per round
  // An earlier cosigned checkpoint (already verified by the caller). Each signer group's
  // consistency proof from its size is then asked for and checked: the quorum's must hold,
  // and a fork's is reported (it fails when the fork is not a later extension).
  std::optional<std::string> since;
};

// A replica that signed a different root at the same size.
struct Fork {
  std::string replica;
  ledger::Digest root;
  std::string note;  // its signed note
  // With CosignOptions::since: its consistency proof from that checkpoint, and whether it
  // verified against the earlier root and this fork's ("fails: ..." or "holds").
  std::string consistency_proof;
  std::string consistency;
};

struct Cosigned {
  std::string note;  // the checkpoint with every agreeing replica's signature (C2SP signed note)
  ledger::Checkpoint checkpoint;
  std::vector<std::string> signers;        // replica names
  std::vector<std::string> verifier_keys;  // as each signer reported it (check against yours)
  std::vector<Fork> forks;                 // replicas whose root at that size differs
  std::vector<std::string> behind;         // replicas that do not hold that size yet
  // With CosignOptions::since: a signer's consistency proof from it ("holds" when verified).
  std::string consistency_proof;
  std::string consistency;
};

// Asks every replica to sign its tree head at one size and gathers the signatures of those
// that agree into one note. Errors: kUnavailable when fewer than `quorum` replicas signed the
// same tree head (forks and laggards are named in the message); kInvalidArgument (quorum 0,
// a malformed `since`, or one larger than the size); kCorruption when the quorum's own
// consistency proof from `since` fails (the cluster's log was rewritten).
[[nodiscard]] Result<Cosigned> cosign_checkpoint(const NatsOptions& nats,
                                                 const CosignOptions& options = {});

// What became of one appended node, once a quorum of replicas applied it.
struct Ack {
  std::uint64_t stream_seq = 0;
  ledger::SequenceNumber seq = 0;  // its entry on every replica: stream_seq - 1
  ledger::NodeId id;
  Outcome outcome = Outcome::kAppended;
  std::string reason;  // denied or rejected: why (a duplicate names the seq it is at)
  std::string detail;
  std::uint64_t replicas = 0;  // replicas that reported it applied when it was acknowledged
};

struct ClientOptions {
  std::size_t quorum = 2;  // replicas that must report a node applied and synced
  std::chrono::milliseconds ack_timeout{30000};
  std::size_t max_pending = 4096;  // JetStream publishes in flight
};

// Thread safety: one thread at a time.
class Client {
 public:
  // Errors: kInvalidArgument (quorum 0); kUnavailable when NATS cannot be reached.
  [[nodiscard]] static Result<std::unique_ptr<Client>> connect(const NatsOptions& nats,
                                                               ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Publishes `nodes` in order (Nats-Msg-Id = each id; a retry within the stream's duplicate
  // window returns the first sequence) and returns once `quorum` replicas have applied every
  // one, with what each became. Safe to retry: ids deduplicate in the stream and in the ledger
  // (a node already in the ledger comes back as rejected "duplicate", naming its seq).
  // Errors: kDeadlineExceeded when the quorum does not report in ack_timeout (the nodes may
  // still be applied later: retry); kUnavailable.
  [[nodiscard]] Result<std::vector<Ack>> append(std::span<const ledger::TraceNode> nodes);

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace witness::cluster
