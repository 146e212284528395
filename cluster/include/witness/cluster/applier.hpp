// Deterministic apply (SPEC 12, docs/cluster.md): a replica turns each message of the cluster's
// stream into exactly one entry of its ledger, stream sequence N becoming ledger seq N - 1, and
// everything it writes follows from the stream alone. Replicas fed the same stream therefore
// hold the same entries, chain head and Merkle root, and budgets hold across the cluster with
// no lock: every replica's gate makes the same decisions in the same order.
//
//   ledger::Ledger l = ...;                       // the replica's own ledger
//   auto applier = cluster::Applier::open(l, {.admin_key = key});
//   // for each batch read from the stream, in order, from applier->next_stream_seq():
//   auto applied = applier->apply(messages);     // one synced ledger write per batch
//
// What a message becomes:
// - the node it carries (a JSON line as ledger::to_json_line writes it), when it parses, its id
//   is new, its links resolve to earlier entries no later than it, its origin is not reserved,
//   its timestamp is at most `max_future_skew` past the stream's time for it, and the covenant
//   gate allows it (signature, rules, budget, rate);
// - a covenant.denial from witness.gate when the gate refuses it (as a single ledger's gate
//   would record it);
// - a cluster.rejected from witness.cluster otherwise, naming the reason and the message.
// Covenant grants and revocations (witness.covenant) are applied to the gate when signed by
// the cluster's administrator key, rejected otherwise.
//
// The gate's clock is not any machine's: it is the largest timestamp of the entries so far and
// of the node being decided (a node's own time may be ahead of the stream's by at most
// `max_future_skew`). So a restarted replica rebuilds the very same gate from its ledger
// alone (open() replays it), and a bootstrapped one from a peer's copy.
//
// Thread safety: one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/covenant/gate.hpp"
#include "witness/ledger/ledger.hpp"
#include "witness/ledger/signing.hpp"

namespace witness::cluster {

inline constexpr std::string_view kClusterOrigin = "witness.cluster";
inline constexpr std::string_view kRejectedKind = "cluster.rejected";

// One message of the stream.
struct StreamMessage {
  std::uint64_t stream_seq = 0;  // 1-based, dense
  ledger::Timestamp time;        // the stream's time for it (JetStream's message timestamp)
  std::string body;              // a node as one JSON line
};

enum class Outcome : std::uint8_t {
  kAppended,  // the message's node is the entry
  kDenied,    // the gate refused it: the entry is its covenant.denial
  kRejected,  // the entry is a cluster.rejected naming why
};
[[nodiscard]] std::string_view outcome_name(Outcome outcome);

// What one message became.
struct Applied {
  std::uint64_t stream_seq = 0;
  ledger::SequenceNumber seq = 0;  // the entry: stream_seq - 1
  Outcome outcome = Outcome::kAppended;
  std::optional<ledger::NodeId> node;  // the message's node id, when it parsed
  std::string reason;  // denial: the gate's reason name; rejection: see docs/cluster.md
  std::string detail;  // what was wrong, in words
};

struct ApplierOptions {
  // The key whose signature covenant records in the stream must carry. Without one, the
  // stream cannot grant or revoke anything (covenant records are rejected).
  std::optional<ledger::PublicKey> admin_key;
  // How far past the stream's time a node's own timestamp may be.
  std::chrono::nanoseconds max_future_skew = std::chrono::seconds(60);
  // Every node must be signed by the key its origin's covenant binds (covenant::GatedOptions).
  bool require_signature = false;
};

// What the entry a replica wrote for one message says it became (read back from any replica's
// ledger: the outcome is in the entry). `stream_seq` is entry.seq + 1.
[[nodiscard]] Applied describe_entry(const ledger::Entry& entry);

class Applier {
 public:
  // Rebuilds the gate from `ledger` (grants, revocations, and every appended node's cost, in
  // order, on the same clock as when it was applied). `ledger` must outlive the Applier.
  // Errors: kCorruption when the ledger's entries do not replay (a covenant record that does
  // not apply, a node the gate would now refuse: the ledger was not written by apply); the
  // ledger's read errors.
  [[nodiscard]] static Result<Applier> open(ledger::Ledger& ledger, ApplierOptions options = {});
  Applier(Applier&&) noexcept;
  Applier& operator=(Applier&&) noexcept;
  Applier(const Applier&) = delete;
  Applier& operator=(const Applier&) = delete;
  ~Applier();

  // The stream sequence the next message must carry: the ledger's size + 1.
  [[nodiscard]] std::uint64_t next_stream_seq() const;

  // Applies `messages`, which must be consecutive from next_stream_seq(), as one durable
  // (synced) ledger write. Errors (nothing written; the replica must stop, never skip):
  // kFailedPrecondition when a message is not the next in the stream; the ledger's errors.
  [[nodiscard]] Result<std::vector<Applied>> apply(std::span<const StreamMessage> messages);

  [[nodiscard]] const covenant::Gate& gate() const;

 private:
  struct Impl;
  explicit Applier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace witness::cluster
