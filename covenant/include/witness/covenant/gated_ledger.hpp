// Gated append (SPEC 5.5): a ledger opened with a gate appends a node only if the node's origin
// may `ledger.append` its kind (the resource: kind, walk, tags) with budget left, and, when the
// origin's covenant binds a public key, only if the node carries a valid Ed25519 signature of
// its id. A refusal appends nothing but a `covenant.denial` node from origin `witness.gate`
// that says who, what, why and what is left. Budget use survives restarts: the gate leases
// budget in durable `covenant.lease` nodes before spending it, and close() gives back what was
// not spent in a `covenant.settle` node; after a crash every lease counts as spent.
// Payload formats: docs/covenants.md.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/covenant/gate.hpp"
#include "witness/ledger/appender.hpp"
#include "witness/ledger/ledger.hpp"

namespace witness::covenant {

inline constexpr std::string_view kGateOrigin = "witness.gate";
inline constexpr std::string_view kDenialKind = "covenant.denial";
inline constexpr std::string_view kBypassKind = "covenant.bypass";
inline constexpr std::string_view kAppendAction = "ledger.append";

// What one gated append did: the node's outcome (refusal: Gate::explain of the decision), and
// the gate's decision, valid while the GatedLedger lives (it names covenants in its gate).
struct GatedAppend : ledger::Appended {
  Decision decision;
};

// The resource a node writes: its kind, walk and tags.
[[nodiscard]] Resource resource_of(const ledger::TraceNode& node);
// What appending a node costs: one call, its canonical encoding's size in bytes, and the
// "tokens", "cost_micros" and "wall_time_ms" of the payload's top-level "usage" object, if it
// has one (an agent reports what the action it records consumed). Each must be an integer from
// 0 to kMaxUsage: a float, a string, a negative or a larger number would otherwise count as 0
// or wrap. Errors: kInvalidArgument naming the field ("usage.tokens: ..."); a gated append
// then refuses the node (reason bad-usage) with that message in its denial.
inline constexpr std::uint64_t kMaxUsage = std::uint64_t{1} << 53U;  // exact in canonical JSON
[[nodiscard]] Result<Cost> append_cost(const ledger::TraceNode& node);

// What the gate says to one node, before anything is written: the signature check (when the
// origin's covenant binds a key, or `require_signature`), the node's cost, and the decision.
// When allowed, `decision.reservation` holds `cost`: commit or release it. Shared by every
// gated writer (GatedLedger, the cluster's replicas), so they decide alike.
struct AppendAdmission {
  Decision decision;
  Cost cost;
  std::string problem;  // refused for what the node itself says (bad-usage): what is wrong
};
// Errors: the gate's reserve errors (a lease that could not be recorded).
[[nodiscard]] Result<AppendAdmission> admit_append(Gate& gate, const ledger::TraceNode& node,
                                                   bool require_signature);
// Gate::explain of the decision, and the node's own problem, if any: a denial's explanation.
[[nodiscard]] std::string explain_admission(const Gate& gate, const AppendAdmission& admission);

// The covenant.denial node from witness.gate recording that `node` was refused
// (docs/covenants.md): who, what, why, the deciding rule, what is left, and `suppressed`
// refusals of the same subject not recorded before it. Stamped `at` (default: now), with
// `extra_tags` beside the subject and reason tags.
[[nodiscard]] Result<ledger::TraceNode> denial_node(const Gate& gate, const ledger::TraceNode& node,
                                                    const Decision& decision,
                                                    const std::string& explanation,
                                                    std::uint64_t suppressed,
                                                    std::optional<ledger::Timestamp> at = {},
                                                    std::vector<std::string> extra_tags = {});

struct GatedOptions {
  GateOptions gate;  // its `lease` is set by open(); a caller's is ignored
  // Denial records are bounded, so that an agent with no rights cannot fill the ledger with
  // them: at most max_denials per subject in each denial_window (on the gate's clock). Refusals
  // beyond are refused all the same, and counted ("suppressed") in the subject's next denial
  // record, or in a summary record at close().
  std::uint64_t max_denials = 100;
  std::chrono::seconds denial_window{60};
  // Every node must carry a valid signature by the public key its origin's covenant binds; a
  // covenant that binds none refuses all its nodes (kUnsigned). For writers whose callers have
  // no other identity than their key: HTTP appends (witness serve --allow-append).
  bool require_signature = false;
};

// A ledger with a gate in front of its appends. Reads go to the ledger directly.
// Thread safety: append and append_batch may be called concurrently; close() once, at the end.
class GatedLedger {
 public:
  // Rebuilds the gate from the ledger's covenant records (grants, revocations, leases and
  // settlements). `ledger` must outlive the GatedLedger. Errors: those of load_gate.
  [[nodiscard]] static Result<GatedLedger> open(ledger::Ledger& ledger, GatedOptions options = {});

  GatedLedger(GatedLedger&&) noexcept;
  GatedLedger& operator=(GatedLedger&&) noexcept;
  GatedLedger(const GatedLedger&) = delete;
  GatedLedger& operator=(const GatedLedger&) = delete;
  // Calls close() if it was not called, ignoring its error (a crash would forfeit the same).
  ~GatedLedger();

  // Appends `node` if the gate allows it; otherwise records its denial. A node already present
  // is acknowledged as it is (inserted false), never refused nor charged: retries are safe. Errors
  // (nothing appended, no budget spent): the ledger's append errors; kIOError when a lease could
  // not be recorded.
  [[nodiscard]] Result<GatedAppend> append(const ledger::TraceNode& node,
                                           const ledger::AppendOptions& options = {});
  // Gates each node in order (earlier nodes' costs count against later ones), then appends as
  // `mode` says, in one ledger write (the denials in a second). Errors as append(); on error
  // nothing of the batch is appended.
  [[nodiscard]] Result<std::vector<GatedAppend>> append_batch(
      std::span<const ledger::TraceNode> nodes, ledger::BatchMode mode,
      const ledger::AppendOptions& options = {});

  [[nodiscard]] Gate& gate();
  [[nodiscard]] const Gate& gate() const;
  [[nodiscard]] ledger::Ledger& ledger();
  // The covenant records the replay could not apply, as "seq N: reason".
  [[nodiscard]] const std::vector<std::string>& skipped() const;

  // Records what the gate leased and did not spend, and the rate buckets it used, as a
  // covenant.settle node (synced), so that a clean restart gets them back; and, per subject
  // with refusals not yet recorded, one covenant.denial summary. Idempotent. Errors: the
  // ledger's append errors (then the unspent leases stay counted as spent: conservative).
  [[nodiscard]] Status close();

 private:
  struct Impl;
  explicit GatedLedger(std::unique_ptr<Impl> impl);
  void close_quietly() noexcept;
  std::unique_ptr<Impl> impl_;
};

// Records that `who` is about to append with the gate turned off (a covenant.bypass node from
// witness.gate, synced, carrying what they ran and why), so that every ungated write is audited.
[[nodiscard]] Result<ledger::AppendResult> record_bypass(ledger::Ledger& ledger,
                                                         std::string_view who,
                                                         std::string_view command,
                                                         std::string_view note);

}  // namespace witness::covenant
