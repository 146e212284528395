// Gated append: signature check, reservation (with durable leases), append, then commit or
// release; a refusal becomes a covenant.denial node.
#include "witness/covenant/gated_ledger.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "witness/base/ascii.hpp"
#include "witness/covenant/registry.hpp"
#include "witness/ledger/signing.hpp"

#include "system_write.hpp"

namespace witness::covenant {
namespace {
using detail::as_system;
using detail::as_user;
using detail::system_write;

using nlohmann::json;

json budget_json(const Budget& b) {
  json out = json::object();
  for (Dimension d : kAllDimensions) {
    if (b[d]) out[std::string(dimension_name(d))] = *b[d];
  }
  return out;
}

std::vector<std::string> lease_tags(const std::vector<Lease>& leases) {
  std::vector<std::string> tags;
  tags.reserve(leases.size());
  for (const Lease& l : leases) tags.push_back("covenant:" + l.covenant);
  return tags;
}

// A node's admission: the gate's, or that it is already in the ledger (nothing to gate).
struct Admission : AppendAdmission {
  std::optional<ledger::SequenceNumber> present;
};

}  // namespace

Resource resource_of(const ledger::TraceNode& node) {
  return Resource{.kind = node.kind(),
                  .walk = node.walk().value_or(""),
                  .tags = {node.tags().begin(), node.tags().end()}};
}

Result<Cost> append_cost(const ledger::TraceNode& node) {
  Cost c = Cost::one_call();
  c[Dimension::kBytes] = node.canonical_encoding().size();
  const std::string& payload = node.payload_json();
  if (payload.find("\"usage\"") == std::string::npos) return c;  // the common case: no parse
  const json j = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("usage")) return c;
  const json& usage = j["usage"];
  if (!usage.is_object()) {
    return invalid_argument("usage: expected an object of tokens, cost_micros and wall_time_ms");
  }
  for (Dimension d : {Dimension::kTokens, Dimension::kCostMicros, Dimension::kWallTimeMs}) {
    const std::string name(dimension_name(d));
    if (!usage.contains(name)) continue;
    const json& v = usage[name];
    // Canonical JSON writes numbers as doubles: 150 and 150.0 are the same text, while 150.5,
    // 1e20 or 2^64 parse as floats here and a negative one as a signed integer.
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() > kMaxUsage) {
      return invalid_argument("usage." + name + ": " + v.dump() +
                              " is not an integer from 0 to 2^53");
    }
    c[d] = v.get<std::uint64_t>();
  }
  return c;
}

Result<AppendAdmission> admit_append(Gate& gate, const ledger::TraceNode& node,
                                     bool require_signature) {
  const std::string& origin = node.origin();
  AppendAdmission a;
  const auto key = gate.public_key_for(origin);
  if (key || require_signature) {
    if (!key || !node.signature()) {
      a.decision = gate.refuse(origin, Reason::kUnsigned);
      return a;
    }
    if (!ledger::signed_by(*key, node)) {
      a.decision = gate.refuse(origin, Reason::kBadSignature);
      return a;
    }
  }
  auto cost = append_cost(node);
  if (!cost) {
    a.decision = gate.refuse(origin, Reason::kBadUsage);
    a.problem = cost.error().message;
    return a;
  }
  a.cost = *cost;
  WITNESS_ASSIGN_OR_RETURN(a.decision,
                           gate.reserve(origin, kAppendAction, resource_of(node), a.cost));
  return a;
}

std::string explain_admission(const Gate& gate, const AppendAdmission& admission) {
  std::string out = gate.explain(admission.decision);
  if (!admission.problem.empty()) out += "; " + admission.problem;
  return out;
}

Result<ledger::TraceNode> denial_node(const Gate& gate, const ledger::TraceNode& node,
                                      const Decision& d, const std::string& explanation,
                                      std::uint64_t suppressed, std::optional<ledger::Timestamp> at,
                                      std::vector<std::string> extra_tags) {
  json target{{"id", node.id().to_hex()},
              {"kind", node.kind()},
              {"walk", node.walk() ? json(*node.walk()) : json(nullptr)},
              {"tags", json(std::vector<std::string>(node.tags().begin(), node.tags().end()))}};
  json rule = nullptr;
  if (d.reason == Reason::kForbidden || d.reason == Reason::kNotPermitted) {
    if (auto c = gate.covenant(d.covenant)) rule = describe(c->rights, d.rule);
  }
  json payload{
      {"subject", node.origin()},
      {"action", std::string(kAppendAction)},
      {"node", std::move(target)},
      {"reason", std::string(reason_name(d.reason))},
      {"covenant", d.covenant.empty() ? json(nullptr) : json(std::string(d.covenant))},
      {"rule", std::move(rule)},
      {"remaining", budget_json(d.remaining)},
      {"exhausted", d.exhausted ? json(std::string(dimension_name(*d.exhausted))) : json(nullptr)},
      {"retry_after_ms",
       d.retry_after ? json(std::chrono::duration<double, std::milli>(*d.retry_after).count())
                     : json(nullptr)},
      {"explanation", explanation},
      {"suppressed", suppressed}};
  std::vector<std::string> tags{"subject:" + node.origin(),
                                "reason:" + std::string(reason_name(d.reason))};
  for (auto& t : extra_tags) tags.push_back(std::move(t));
  return ledger::TraceNode::create(ledger::NodeDraft{.origin = std::string(kGateOrigin),
                                                     .kind = std::string(kDenialKind),
                                                     .timestamp = at,
                                                     .walk = node.walk(),
                                                     .tags = std::move(tags),
                                                     .payload_json = payload.dump()});
}

struct GatedLedger::Impl {
  ledger::Ledger* ledger = nullptr;
  LoadedGate loaded;
  std::atomic<bool> closed{false};

  // Denial records per subject (ASCII-lower-cased) in the current window.
  struct DenialWindow {
    std::int64_t start = 0;        // ns on `clock`
    std::uint64_t recorded = 0;    // records written in this window
    std::uint64_t suppressed = 0;  // refusals not recorded since the subject's last record
  };
  std::function<ledger::Timestamp()> clock;
  std::uint64_t max_denials = 0;
  bool require_signature = false;
  std::chrono::nanoseconds denial_window{0};
  std::mutex denial_mu;
  std::unordered_map<std::string, DenialWindow> denials;  // guarded by denial_mu

  // Whether a refusal of `subject` gets its own denial record now; if so, how many earlier
  // ones did not (for that record to carry), else nullopt (and it is counted).
  std::optional<std::uint64_t> admit_denial(std::string_view subject) {
    const std::int64_t now = clock().time_since_epoch().count();
    const std::string key = ascii_lowered(subject);
    std::lock_guard lock(denial_mu);
    DenialWindow& w = denials[key];
    if (w.recorded == 0 || now < w.start || now - w.start >= denial_window.count()) {
      w.start = now;
      w.recorded = 0;
    }
    if (w.recorded >= max_denials) {
      ++w.suppressed;
      return std::nullopt;
    }
    ++w.recorded;
    return std::exchange(w.suppressed, 0);
  }

  Result<Admission> admit(const ledger::TraceNode& node);
  void finish(const Admission& a, bool spent) {
    if (!a.decision.reservation) return;
    // Neither can fail: the reservation is open and the cost is what was reserved.
    (void)(spent ? loaded.gate.commit(*a.decision.reservation, a.cost)
                 : loaded.gate.release(*a.decision.reservation));
  }
};

Result<Admission> GatedLedger::Impl::admit(const ledger::TraceNode& node) {
  // A node already in the ledger is acknowledged as it is, whatever is left of the budget: a
  // retry after a crash or a timeout must not be refused (or charged) for what already
  // happened.
  WITNESS_ASSIGN_OR_RETURN(auto present, ledger->seq_of(node.id()));
  Admission a;
  if (present) {
    a.decision.reason = Reason::kAllowed;
    a.present = present;
    return a;
  }
  WITNESS_ASSIGN_OR_RETURN(static_cast<AppendAdmission&>(a),
                           admit_append(loaded.gate, node, require_signature));
  return a;
}

GatedLedger::GatedLedger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GatedLedger::GatedLedger(GatedLedger&&) noexcept = default;
// close() may throw only std::bad_alloc; out of memory here, the unspent leases stay counted
// as spent (what a crash would forfeit), so the error is dropped rather than terminating.
void GatedLedger::close_quietly() noexcept {
  if (!impl_) return;
  try {
    (void)close();
  } catch (...) {  // NOLINT(bugprone-empty-catch): see above
  }
}
GatedLedger& GatedLedger::operator=(GatedLedger&& other) noexcept {
  if (this != &other) {
    close_quietly();
    impl_ = std::move(other.impl_);
  }
  return *this;
}
GatedLedger::~GatedLedger() { close_quietly(); }

Result<GatedLedger> GatedLedger::open(ledger::Ledger& ledger, GatedOptions options) {
  GateOptions gate_options = std::move(options.gate);
  gate_options.lease = [l = &ledger](const std::vector<Lease>& leases) -> Status {
    auto r = append_covenant_record(*l, kLeaseKind, lease_tags(leases), lease_payload(leases));
    if (!r) return r.error().with_context("gate: recording a lease");
    return ok_status();
  };
  auto clock = gate_options.clock;
  WITNESS_ASSIGN_OR_RETURN(auto loaded, load_gate(ledger, std::move(gate_options)));
  auto impl = std::make_unique<Impl>();
  impl->ledger = &ledger;
  impl->loaded = std::move(loaded);
  impl->clock = clock ? std::move(clock) : [] {
    return ledger::Timestamp(std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::system_clock::now().time_since_epoch()));
  };
  impl->max_denials = options.max_denials;
  impl->denial_window = options.denial_window;
  impl->require_signature = options.require_signature;
  return GatedLedger(std::move(impl));
}

Result<GatedAppend> GatedLedger::append(const ledger::TraceNode& node,
                                        const ledger::AppendOptions& options) {
  WITNESS_ASSIGN_OR_RETURN(Admission a, impl_->admit(node));
  GatedAppend out;
  out.decision = a.decision;
  if (a.present) {
    out.outcome = ledger::AppendOutcome::kAppended;
    out.result = {.seq = *a.present, .inserted = false};
    return out;
  }
  if (!a.decision.allowed()) {
    out.outcome = ledger::AppendOutcome::kRefused;
    out.refusal = explain_admission(impl_->loaded.gate, a);
    const auto suppressed = impl_->admit_denial(node.origin());
    if (!suppressed) return out;  // over the bound: counted in the subject's next record
    WITNESS_ASSIGN_OR_RETURN(
        auto denial, denial_node(impl_->loaded.gate, node, a.decision, out.refusal, *suppressed));
    WITNESS_ASSIGN_OR_RETURN(auto recorded, impl_->ledger->append(denial, as_system(options)));
    out.refusal_seq = recorded.seq;
    return out;
  }
  auto r = impl_->ledger->append(node, as_user(options));
  impl_->finish(a, r.has_value() && r->inserted);
  if (!r) return r.error();
  out.outcome = ledger::AppendOutcome::kAppended;
  out.result = *r;
  return out;
}

// Admit all, then write the allowed and the denials; every error path releases the holds.
// NOLINTNEXTLINE(readability-function-cognitive-complexity)
Result<std::vector<GatedAppend>> GatedLedger::append_batch(std::span<const ledger::TraceNode> nodes,
                                                           ledger::BatchMode mode,
                                                           const ledger::AppendOptions& options) {
  std::vector<Admission> admitted;
  admitted.reserve(nodes.size());
  auto release_all = [&] {
    for (const Admission& a : admitted) {
      impl_->finish(a, false);
    }
  };
  bool any_refused = false;
  for (const auto& node : nodes) {
    auto a = impl_->admit(node);
    if (!a) {
      release_all();
      return a.error();
    }
    any_refused = any_refused || !a->decision.allowed();
    admitted.push_back(*a);
  }
  std::vector<GatedAppend> out(nodes.size());
  std::vector<ledger::TraceNode> allowed;
  std::vector<std::size_t> allowed_at;
  std::vector<ledger::TraceNode> denials;
  std::vector<std::size_t> denied_at;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    out[i].decision = admitted[i].decision;
    if (admitted[i].present) {
      out[i].outcome = ledger::AppendOutcome::kAppended;
      out[i].result = {.seq = *admitted[i].present, .inserted = false};
      continue;
    }
    if (admitted[i].decision.allowed()) {
      allowed.push_back(nodes[i]);
      allowed_at.push_back(i);
      continue;
    }
    out[i].outcome = ledger::AppendOutcome::kRefused;
    out[i].refusal = explain_admission(impl_->loaded.gate, admitted[i]);
    const auto suppressed = impl_->admit_denial(nodes[i].origin());
    if (!suppressed) continue;  // over the bound: counted in the subject's next record
    auto d = denial_node(impl_->loaded.gate, nodes[i], admitted[i].decision, out[i].refusal,
                         *suppressed);
    if (!d) {
      release_all();
      return d.error();
    }
    denials.push_back(std::move(*d));
    denied_at.push_back(i);
  }
  if (mode == ledger::BatchMode::kAtomic && any_refused) {
    release_all();
    allowed.clear();
  }
  if (!allowed.empty()) {
    auto results = impl_->ledger->append_batch(allowed, as_user(options));
    if (!results) {
      release_all();
      return results.error();
    }
    for (std::size_t k = 0; k < allowed_at.size(); ++k) {
      const std::size_t i = allowed_at[k];
      impl_->finish(admitted[i], (*results)[k].inserted);
      out[i].outcome = ledger::AppendOutcome::kAppended;
      out[i].result = (*results)[k];
    }
  }
  if (!denials.empty()) {
    WITNESS_ASSIGN_OR_RETURN(auto results,
                             impl_->ledger->append_batch(denials, as_system(options)));
    for (std::size_t k = 0; k < denied_at.size(); ++k) {
      out[denied_at[k]].refusal_seq = results[k].seq;
    }
  }
  return out;
}

Gate& GatedLedger::gate() { return impl_->loaded.gate; }
const Gate& GatedLedger::gate() const { return impl_->loaded.gate; }
ledger::Ledger& GatedLedger::ledger() { return *impl_->ledger; }
const std::vector<std::string>& GatedLedger::skipped() const { return impl_->loaded.skipped; }

Status GatedLedger::close() {
  if (impl_->closed.exchange(true)) return ok_status();
  // Refusals not yet recorded: one summary per subject.
  std::vector<std::pair<std::string, std::uint64_t>> pending;
  {
    std::lock_guard lock(impl_->denial_mu);
    for (auto& [subject, w] : impl_->denials) {
      if (w.suppressed > 0) pending.emplace_back(subject, std::exchange(w.suppressed, 0));
    }
  }
  for (const auto& [subject, n] : pending) {
    const json payload{
        {"subject", subject},
        {"action", std::string(kAppendAction)},
        {"reason", "suppressed"},
        {"suppressed", n},
        {"explanation",
         std::to_string(n) + " refusals of " + subject + " were not recorded one by one (over " +
             std::to_string(impl_->max_denials) + " denial records in " +
             std::to_string(
                 std::chrono::duration_cast<std::chrono::seconds>(impl_->denial_window).count()) +
             " s)"}};
    WITNESS_ASSIGN_OR_RETURN(auto summary, ledger::TraceNode::create(ledger::NodeDraft{
                                               .origin = std::string(kGateOrigin),
                                               .kind = std::string(kDenialKind),
                                               .tags = {"reason:suppressed", "subject:" + subject},
                                               .payload_json = payload.dump()}));
    WITNESS_RETURN_IF_ERROR(impl_->ledger->append(summary, system_write()));
  }
  const std::vector<Lease> unspent = impl_->loaded.gate.settle();
  const std::vector<BucketState> buckets = impl_->loaded.gate.settle_buckets();
  if (unspent.empty() && buckets.empty()) return ok_status();
  std::set<std::string> tags;
  for (const Lease& l : unspent) tags.insert("covenant:" + l.covenant);
  for (const BucketState& b : buckets) tags.insert("covenant:" + b.covenant);
  auto r = append_covenant_record(*impl_->ledger, kSettleKind, {tags.begin(), tags.end()},
                                  lease_payload(unspent, buckets));
  if (!r) return r.error().with_context("gate: recording the settlement");
  return ok_status();
}

Result<ledger::AppendResult> record_bypass(ledger::Ledger& ledger, std::string_view who,
                                           std::string_view command, std::string_view note) {
  json payload{
      {"who", std::string(who)}, {"command", std::string(command)}, {"note", std::string(note)}};
  WITNESS_ASSIGN_OR_RETURN(
      auto node, ledger::TraceNode::create(ledger::NodeDraft{.origin = std::string(kGateOrigin),
                                                             .kind = std::string(kBypassKind),
                                                             .tags = {"who:" + std::string(who)},
                                                             .payload_json = payload.dump()}));
  return ledger.append(node, system_write());
}

}  // namespace witness::covenant
