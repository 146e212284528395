// Appender: the one interface every writer appends through (the CLI, Python, and later HTTP
// and the cluster client), in the style of tessera's AddFn and its decorators. The ledger
// itself is one (plain_appender); covenant::PolicyAppender puts the gate and its policy in
// front of it; a front end holds an Appender and never branches on which one it has.
//
//   auto ledger = witness::ledger::Ledger::open("ledger.wit", {});
//   std::unique_ptr<witness::ledger::Appender> out = witness::ledger::plain_appender(*ledger);
//   auto a = out->append(node);                 // Result<Appended>
//   if (a && a->refused()) std::cerr << a->refusal_message() << "\n";
//   auto closed = out->close();                 // records what the appender owes (a gate's
//                                               // unspent leases); the ledger stays open
//
// Thread safety: append and append_batch may be called concurrently; close() once, at the end.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/ledger/ledger.hpp"

namespace witness::ledger {

// How append_batch treats a batch in which some node is refused. (A node that is invalid, as
// opposed to refused, fails the whole batch with an error whatever the mode.)
enum class BatchMode : std::uint8_t {
  kAtomic,  // nothing of the batch is appended; the refused nodes' refusals are recorded
  kEach,    // the nodes not refused are appended; the refused nodes' refusals are recorded
};

// What became of one node handed to an appender.
enum class AppendOutcome : std::uint8_t {
  kAppended,  // in the ledger: written now, or already present (AppendResult::inserted false)
  kRefused,   // refused (by a gate); nothing of it was written
  kWithheld,  // not refused itself, but its atomic batch had a refused node: not written
};

struct Appended {
  AppendOutcome outcome = AppendOutcome::kWithheld;
  AppendResult result;  // kAppended: the node's entry
  // kRefused: why, in one line ("denied (over-budget: tokens) by triage-v1 ...").
  std::string refusal;
  // kRefused: the entry that records the refusal (a covenant.denial), when it was recorded one
  // by one; empty when the refusal is only counted in a later summary record.
  std::optional<SequenceNumber> refusal_seq;

  [[nodiscard]] bool appended() const { return outcome == AppendOutcome::kAppended; }
  [[nodiscard]] bool refused() const { return outcome == AppendOutcome::kRefused; }
  // The refusal with where it is recorded: "<refusal> (covenant.denial at seq N)". Empty
  // unless refused().
  [[nodiscard]] std::string refusal_message() const;
};

class Appender {
 public:
  Appender() = default;
  Appender(const Appender&) = delete;
  Appender& operator=(const Appender&) = delete;
  Appender(Appender&&) = delete;
  Appender& operator=(Appender&&) = delete;
  virtual ~Appender() = default;

  // Appends `node`, or refuses it. A node already present is acknowledged as it is (inserted
  // false), never refused: retries are safe. Errors (nothing written): the ledger's append
  // errors (kInvalidArgument for a node it refuses to store, kIOError, ...).
  [[nodiscard]] virtual Result<Appended> append(const TraceNode& node) = 0;
  // Appends `nodes` in order in one write (their refusals, if any, in a second), as `mode`
  // says. Returns one Appended per node. Errors as append(): then nothing of the batch is
  // written; an invalid node's error names it as "node I: ..." (I its index in `nodes`).
  [[nodiscard]] virtual Result<std::vector<Appended>> append_batch(std::span<const TraceNode> nodes,
                                                                   BatchMode mode) = 0;
  // The ledger appended to, for reads (resolving "seq:N" links, printing entries).
  [[nodiscard]] virtual const Ledger& ledger() const = 0;
  // Records what the appender owes the ledger at the end (a gate's unspent leases). Idempotent.
  // The ledger stays open. Errors: the ledger's append errors.
  [[nodiscard]] virtual Status close() = 0;
};

// The ledger itself as an Appender: nothing is refused; `options` apply to every append.
// `ledger` must outlive the appender.
[[nodiscard]] std::unique_ptr<Appender> plain_appender(Ledger& ledger, AppendOptions options = {});

}  // namespace witness::ledger
