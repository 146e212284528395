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
    if (options.can_gate) gated.emplace(std::move(g));
  }
  return std::make_unique<PolicyAppender>(ledger, std::move(options), std::move(gated));
}

PolicyAppender::PolicyAppender(ledger::Ledger& ledger, AppenderOptions options,
                               std::optional<GatedLedger> gated)
    : ledger_(&ledger),
      options_(std::move(options)),
      gated_(std::move(gated)),
      plain_(ledger::plain_appender(ledger, options_.append)),
      bypass_due_(options_.gate == GateMode::kOff || options_.append.allow_reserved_origin) {}

// The gate's destructor gives back what close() was not called to give back.
PolicyAppender::~PolicyAppender() = default;

bool PolicyAppender::gating() const {
  return gated_ && (options_.gate == GateMode::kOn || !gated_->gate().empty());
}

Status PolicyAppender::bypass_before(std::span<const ledger::TraceNode> nodes, bool batch) {
  if (!bypass_due_) return ok_status();
  std::lock_guard lock(bypass_mu_);
  if (bypass_) return ok_status();
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (auto checked = ledger_->check_append(nodes[i], options_.append); !checked) {
      return batch ? checked.error().with_context("node " + std::to_string(i)) : checked.error();
    }
  }
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
  WITNESS_RETURN_IF_ERROR(bypass_before(std::span(&node, 1), /*batch=*/false));
  return plain_->append(node);
}

Result<std::vector<ledger::Appended>> PolicyAppender::append_batch(
    std::span<const ledger::TraceNode> nodes, ledger::BatchMode mode) {
  if (gating()) {
    WITNESS_ASSIGN_OR_RETURN(auto gated, gated_->append_batch(nodes, mode, options_.append));
    std::vector<ledger::Appended> out;
    out.reserve(gated.size());
    for (auto& g : gated) out.push_back(static_cast<ledger::Appended>(std::move(g)));
    return out;
  }
  WITNESS_RETURN_IF_ERROR(bypass_before(nodes, /*batch=*/true));
  return plain_->append_batch(nodes, mode);
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
