// The gate policy, written once (SPEC 5.5): whether a writer's appends pass through the gate,
// and when an ungated write is recorded. `witness append` and `import`, Python's Ledger and
// later the HTTP service all append through a PolicyAppender, so none of them can differ.
//
//   auto out = witness::covenant::PolicyAppender::open(*ledger, {
//       .gate = witness::covenant::GateMode::kAuto,
//       .who = "alice", .command = "witness append events.jsonl"});
//   auto a = (*out)->append(node);   // refused: a->refused(), its covenant.denial recorded
//   auto closed = (*out)->close();   // gives back unspent leases (covenant.settle)
//
// The policy:
// - kAuto: gated once any covenant is registered in the ledger (looked at on every append, so
//   a grant recorded through gate() turns the gate on for the next one); ungated before.
// - kOn: always gated; with no covenant every append is refused (deny by default).
// - kOff: never gated. A covenant.bypass node naming who, what they ran and why is recorded
//   before the first write (once), whether or not covenants exist: every explicit ungated
//   write is audited.
// - A writer that restores nodes as they are (`can_gate` false: witness import) cannot pass
//   them through the gate: where the gate would be on, open() refuses unless the mode is
//   kOff. A writer allowed witness's own origins (append.allow_reserved_origin: import
//   --restore, which cannot gate) records a bypass whatever the mode: forged grants would
//   otherwise go unseen.
//
// Thread safety: as ledger::Appender; gate() may be used concurrently with appends.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/covenant/gated_ledger.hpp"
#include "witness/ledger/appender.hpp"

namespace witness::covenant {

enum class GateMode : std::uint8_t { kAuto, kOn, kOff };

struct AppenderOptions {
  GateMode gate = GateMode::kAuto;
  std::string who;               // who writes, for a bypass record: "alice", "python:alice"
  std::string command;           // what they ran, for a bypass record
  std::string bypass_note;       // why the gate is off (kOff)
  bool can_gate = true;          // false: see above (import)
  ledger::AppendOptions append;  // for every append (durability; allow_reserved_origin)
  GatedOptions gated;            // for the gate, when one is loaded
};

class PolicyAppender final : public ledger::Appender {
 public:
  // Loads the gate from the ledger's covenant records unless the mode is kOff. `ledger` must
  // outlive the appender. Errors: those of GatedLedger::open; kFailedPrecondition when
  // `can_gate` is false and the gate would be on ("... would bypass the gate; turn the gate
  // off to do it anyway (--no-gate, gate=False; recorded as covenant.bypass)").
  [[nodiscard]] static Result<std::unique_ptr<PolicyAppender>> open(ledger::Ledger& ledger,
                                                                    AppenderOptions options);
  PolicyAppender(ledger::Ledger& ledger, AppenderOptions options,
                 std::optional<GatedLedger> gated);  // use open()
  PolicyAppender(const PolicyAppender&) = delete;
  PolicyAppender& operator=(const PolicyAppender&) = delete;
  PolicyAppender(PolicyAppender&&) = delete;
  PolicyAppender& operator=(PolicyAppender&&) = delete;
  ~PolicyAppender() override;

  [[nodiscard]] Result<ledger::Appended> append(const ledger::TraceNode& node) override;
  [[nodiscard]] Result<std::vector<ledger::Appended>> append_batch(
      std::span<const ledger::TraceNode> nodes, ledger::BatchMode mode) override;
  [[nodiscard]] const ledger::Ledger& ledger() const override;
  [[nodiscard]] Status close() override;

  // The live gate, or nullptr when the mode is kOff or the writer cannot gate. Grants and
  // revocations recorded through it apply to the next append.
  [[nodiscard]] Gate* gate();
  // Whether the next append passes through the gate.
  [[nodiscard]] bool gating() const;
  // The covenant records the gate's replay could not apply, as "seq N: reason".
  [[nodiscard]] const std::vector<std::string>& skipped() const;
  // The covenant.bypass record, once written.
  [[nodiscard]] std::optional<ledger::AppendResult> bypass() const;

 private:
  // Before an ungated write of `nodes`: when a bypass is still due, checks them as the ledger
  // will (input it refuses records nothing; errors name "node I" in a batch, as the ledger's
  // do) and records the bypass.
  [[nodiscard]] Status bypass_before(std::span<const ledger::TraceNode> nodes, bool batch);

  ledger::Ledger* ledger_;
  AppenderOptions options_;
  std::optional<GatedLedger> gated_;         // loaded unless the gate is off or cannot apply
  std::unique_ptr<ledger::Appender> plain_;  // the ungated writes
  bool bypass_due_;  // kOff or allow_reserved_origin: a bypass is recorded before writing
  mutable std::mutex bypass_mu_;
  std::optional<ledger::AppendResult> bypass_;
};

}  // namespace witness::covenant
