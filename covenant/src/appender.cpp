// PolicyAppender (appender.hpp): the gate policy in one place.
#include "witness/covenant/appender.hpp"

#include <utility>

namespace witness::covenant {

Result<std::unique_ptr<PolicyAppender>> PolicyAppender::open(ledger::Ledger& ledger,
                                                             AppenderOptions options) {
  std::optional<GatedLedger> gated;
  if (options.gate != GateMode::kOff) {
    WITNESS_ASSIGN_OR_RETURN(auto g, GatedLedger::open(ledger, options.gated));
    const bool on = options.gate == GateMode::kOn || !g.gate().empty();
    if (!options.can_gate && on) {
      return failed_precondition(
          "this ledger gates appends (" +
          std::string(options.gate == GateMode::kOn ? "the gate is on"
                                                    : "covenants are registered") +
          ") and " + options.command +
          " would bypass the gate; turn the gate off to do it anyway (--no-gate, gate=False; "
          "recorded as covenant.bypass)");
    }
    gated.emplace(std::move(g));
  }
  return std::make_unique<PolicyAppender>(ledger, std::move(options), std::move(gated));
}

PolicyAppender::PolicyAppender(ledger::Ledger& ledger, AppenderOptions options,
                               std::optional<GatedLedger> gated)
    : ledger_(&ledger), options_(std::move(options)), gated_(std::move(gated)) {}

// The gate's destructor gives back what close() was not called to give back.
PolicyAppender::~PolicyAppender() = default;

bool PolicyAppender::gating() const {
  if (!gated_ || !options_.can_gate) return false;
  return options_.gate == GateMode::kOn || !gated_->gate().empty();
}

Status PolicyAppender::record_bypass_once() {
  if (options_.gate != GateMode::kOff && !options_.append.allow_reserved_origin) {
    return ok_status();
  }
  std::lock_guard lock(bypass_mu_);
  if (bypass_) return ok_status();
  auto r = record_bypass(*ledger_, options_.who, options_.command, options_.bypass_note);
  if (!r) return r.error().with_context("recording the bypass");
  bypass_ = *r;
  return ok_status();
}

Result<ledger::Appended> PolicyAppender::append(const ledger::TraceNode& node) {
  if (gating()) {
    WITNESS_ASSIGN_OR_RETURN(GatedAppend g, gated_->append(node, options_.append));
    return static_cast<ledger::Appended>(std::move(g));
  }
  WITNESS_RETURN_IF_ERROR(ledger_->check_append(node, options_.append));
  WITNESS_RETURN_IF_ERROR(record_bypass_once());
  WITNESS_ASSIGN_OR_RETURN(auto r, ledger_->append(node, options_.append));
  return ledger::Appended{.outcome = ledger::AppendOutcome::kAppended, .result = r};
}

Result<std::vector<ledger::Appended>> PolicyAppender::append_batch(
    std::span<const ledger::TraceNode> nodes, ledger::BatchMode mode) {
  std::vector<ledger::Appended> out;
  out.reserve(nodes.size());
  if (gating()) {
    WITNESS_ASSIGN_OR_RETURN(auto gated, gated_->append_batch(nodes, mode, options_.append));
    for (auto& g : gated) out.push_back(static_cast<ledger::Appended>(std::move(g)));
    return out;
  }
  // Input the ledger would refuse records no bypass.
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (auto checked = ledger_->check_append(nodes[i], options_.append); !checked) {
      return checked.error().with_context("node " + std::to_string(i));
    }
  }
  WITNESS_RETURN_IF_ERROR(record_bypass_once());
  WITNESS_ASSIGN_OR_RETURN(auto results, ledger_->append_batch(nodes, options_.append));
  for (const auto& r : results) {
    out.push_back(ledger::Appended{.outcome = ledger::AppendOutcome::kAppended, .result = r});
  }
  return out;
}

const ledger::Ledger& PolicyAppender::ledger() const { return *ledger_; }

Status PolicyAppender::close() { return gated_ ? gated_->close() : ok_status(); }

Gate* PolicyAppender::gate() { return gated_ ? &gated_->gate() : nullptr; }

const std::vector<std::string>& PolicyAppender::skipped() const {
  static const std::vector<std::string> kNone;
  return gated_ ? gated_->skipped() : kNone;
}

std::optional<ledger::AppendResult> PolicyAppender::bypass() const {
  std::lock_guard lock(bypass_mu_);
  return bypass_;
}

}  // namespace witness::covenant
