// Deterministic apply: see applier.hpp for what a message becomes and docs/cluster.md for the
// reasons a message is rejected. The checks below are the ledger's own (links, duplicates,
// reserved origins) made before the write, so that the write itself cannot refuse an entry: a
// batch either lands whole, one entry per message, or the replica stops.
#include "witness/cluster/applier.hpp"

#include <algorithm>
#include <limits>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "witness/covenant/gated_ledger.hpp"
#include "witness/covenant/registry.hpp"
#include "witness/ledger/jsonl.hpp"
#include "witness/ledger/options.hpp"

#include "json_fields.hpp"

namespace witness::cluster {
namespace {

using ledger::Timestamp;

std::int64_t ns(Timestamp t) { return t.time_since_epoch().count(); }
Timestamp at_ns(std::int64_t n) { return Timestamp(std::chrono::nanoseconds(n)); }

}  // namespace

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kAppended:
      return "appended";
    case Outcome::kDenied:
      return "denied";
    case Outcome::kRejected:
      return "rejected";
  }
  return "?";
}

Applied describe_entry(const ledger::Entry& e) {
  Applied a{.stream_seq = e.seq + 1, .seq = e.seq};
  const ledger::TraceNode& n = e.node;
  const bool rejected = n.origin() == kClusterOrigin && n.kind() == kRejectedKind;
  const std::string tag = "stream-seq:" + std::to_string(a.stream_seq);
  const bool denied = n.origin() == covenant::kGateOrigin && n.kind() == covenant::kDenialKind &&
                      std::find(n.tags().begin(), n.tags().end(), tag) != n.tags().end();
  if (!rejected && !denied) {
    a.node = n.id();
    return a;
  }
  const auto j = nlohmann::json::parse(n.payload_json(), nullptr, false);
  a.outcome = rejected ? Outcome::kRejected : Outcome::kDenied;
  a.reason = detail::text_of(j, "reason");
  a.detail = detail::text_of(j, rejected ? "detail" : "explanation");
  // A rejection names the node's id; a denial carries {"node": {"id", ...}}.
  const std::string id = rejected                              ? detail::text_of(j, "node")
                         : j.is_object() && j.contains("node") ? detail::text_of(j["node"], "id")
                                                               : std::string();
  if (auto d = ledger::NodeId::from_hex(id)) a.node = *d;
  return a;
}

struct Applier::Impl {
  ledger::Ledger* ledger = nullptr;
  ApplierOptions options;
  // The gate's clock: the time it decides at (set before each decision).
  std::int64_t decide_ns = 0;
  covenant::Gate gate{covenant::GateOptions{.clock = [this] { return at_ns(decide_ns); }}};
  std::int64_t clock_ns = std::numeric_limits<std::int64_t>::min();  // largest entry time so far
  std::uint64_t size = 0;                                            // entries in the ledger
  bool broken = false;  // a write failed after the gate moved: reopen

  [[nodiscard]] bool gated() const { return options.require_signature || !gate.empty(); }
  // What the gate decides at for a node stamped `t`.
  [[nodiscard]] std::int64_t decision_time(Timestamp t) const { return std::max(clock_ns, ns(t)); }

  Status replay(const ledger::Entry& e);
};

// One entry of a ledger that apply wrote: the gate moves as it moved then.
Status Applier::Impl::replay(const ledger::Entry& e) {
  const ledger::TraceNode& n = e.node;
  const std::string where = "seq " + std::to_string(e.seq) + ": ";
  if (n.origin() == covenant::kCovenantOrigin) {
    decide_ns = decision_time(n.timestamp());
    if (auto s = covenant::apply_covenant_record(gate, n); !s) {
      return corruption(where + "the covenant record does not apply: " + s.error().message);
    }
  } else if (!ledger::is_reserved_origin(n.origin()) && gated()) {
    // The signature was checked when it was applied; the rules, budget and rate are replayed.
    decide_ns = decision_time(n.timestamp());
    auto cost = covenant::append_cost(n);
    if (!cost) return corruption(where + cost.error().message);
    WITNESS_ASSIGN_OR_RETURN(
        auto d, gate.reserve(n.origin(), covenant::kAppendAction, covenant::resource_of(n), *cost));
    if (!d.allowed()) {
      return corruption(where + "the gate now refuses it (" + gate.explain(d) +
                        "): this ledger was not written by a replica's apply");
    }
    WITNESS_RETURN_IF_ERROR(gate.commit(*d.reservation, *cost));
  }
  clock_ns = std::max(clock_ns, ns(n.timestamp()));
  ++size;
  return ok_status();
}

Applier::Applier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Applier::Applier(Applier&&) noexcept = default;
Applier& Applier::operator=(Applier&&) noexcept = default;
Applier::~Applier() = default;

Result<Applier> Applier::open(ledger::Ledger& ledger, ApplierOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->ledger = &ledger;
  impl->options = options;
  Impl& s = *impl;
  WITNESS_RETURN_IF_ERROR(ledger.replay({}, [&s](const ledger::Entry& e) { return s.replay(e); }));
  if (s.size != ledger.size()) {
    return corruption("the ledger grew while its gate was rebuilt: another writer?");
  }
  return Applier(std::move(impl));
}

std::uint64_t Applier::next_stream_seq() const { return impl_->size + 1; }
const covenant::Gate& Applier::gate() const { return impl_->gate; }

// NOLINTNEXTLINE(readability-function-cognitive-complexity): one check after another
Result<std::vector<Applied>> Applier::apply(std::span<const StreamMessage> messages) {
  Impl& s = *impl_;
  if (s.broken) {
    return failed_precondition("an earlier write failed after the gate moved: reopen the replica");
  }
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].stream_seq != s.size + 1 + i) {
      return failed_precondition("stream message " + std::to_string(messages[i].stream_seq) +
                                 " is not the next one: the ledger holds " +
                                 std::to_string(s.size) + " entries, so the next is " +
                                 std::to_string(s.size + 1 + i));
    }
  }
  std::vector<Applied> out;
  std::vector<ledger::TraceNode> entries;
  out.reserve(messages.size());
  entries.reserve(messages.size());
  std::unordered_map<ledger::NodeId, std::pair<ledger::SequenceNumber, Timestamp>,
                     ledger::DigestHash>
      batch;
  std::int64_t clock = s.clock_ns;  // the clock as the entries so far move it
  bool gate_moved = false;

  for (const StreamMessage& m : messages) {
    Applied a{.stream_seq = m.stream_seq, .seq = m.stream_seq - 1};
    std::optional<ledger::TraceNode> entry;
    auto reject = [&](std::string reason, std::string detail) -> Status {
      nlohmann::json payload{
          {"stream_seq", m.stream_seq},
          {"reason", reason},
          {"detail", detail},
          {"node", a.node ? nlohmann::json(a.node->to_hex()) : nlohmann::json(nullptr)},
          {"message_sha256", ledger::Digest::sha256(m.body).to_hex()}};
      WITNESS_ASSIGN_OR_RETURN(
          entry, ledger::TraceNode::create(ledger::NodeDraft{
                     .origin = std::string(kClusterOrigin),
                     .kind = std::string(kRejectedKind),
                     .timestamp = m.time,
                     .tags = {"reason:" + reason, "stream-seq:" + std::to_string(m.stream_seq)},
                     .payload_json = payload.dump()}));
      a.outcome = Outcome::kRejected;
      a.reason = std::move(reason);
      a.detail = std::move(detail);
      return ok_status();
    };
    // Decides what `m` becomes; leaves it in `entry`.
    auto decide = [&]() -> Status {
      auto line = ledger::parse_node_line(m.body);
      if (!line) return reject("malformed", line.error().message);
      if (!line->id) return reject("malformed", "the node carries no \"id\"");
      auto parsed = ledger::resolve_node_line(std::move(*line), nullptr, {});
      if (!parsed) return reject("malformed", parsed.error().message);
      const ledger::TraceNode& node = *parsed;
      a.node = node.id();
      if (auto it = batch.find(node.id()); it != batch.end()) {
        return reject("duplicate", "already at seq " + std::to_string(it->second.first));
      }
      WITNESS_ASSIGN_OR_RETURN(const auto present, s.ledger->seq_of(node.id()));
      if (present) return reject("duplicate", "already at seq " + std::to_string(*present));
      if (ns(node.timestamp()) - ns(m.time) > s.options.max_future_skew.count()) {
        return reject("clock-skew",
                      "its timestamp is " +
                          std::to_string((ns(node.timestamp()) - ns(m.time)) / 1'000'000) +
                          " ms past the stream's time for it (at most " +
                          std::to_string(s.options.max_future_skew.count() / 1'000'000) + " ms)");
      }
      for (const ledger::Link& link : node.links()) {
        Timestamp target_time;
        if (auto it = batch.find(link.target); it != batch.end()) {
          target_time = it->second.second;
        } else {
          auto target = s.ledger->find(link.target);
          if (!target && target.error().code == ErrorCode::kNotFound) {
            return reject("unresolved-link",
                          "link target " + link.target.to_hex() + " is not in the ledger");
          }
          if (!target) return target.error();
          target_time = target->node.timestamp();
        }
        if (target_time > node.timestamp()) {
          return reject("link-later",
                        "link target " + link.target.to_hex() + " is later than the node");
        }
      }
      if (ledger::is_reserved_origin(node.origin())) {
        const bool record =
            node.origin() == covenant::kCovenantOrigin &&
            (node.kind() == covenant::kGrantKind || node.kind() == covenant::kRevokeKind);
        if (!record) {
          return reject("reserved-origin", "origin " + node.origin() +
                                               " is witness's own; only covenant grants and "
                                               "revocations may come through the stream");
        }
        if (!s.options.admin_key || !ledger::signed_by(*s.options.admin_key, node)) {
          return reject("unsigned-covenant-record",
                        s.options.admin_key
                            ? "a covenant record must be signed by the cluster's administrator key"
                            : "this replica has no administrator key: the stream cannot grant "
                              "or revoke");
        }
        s.decide_ns = std::max(clock, ns(node.timestamp()));
        if (auto applied = covenant::apply_covenant_record(s.gate, node); !applied) {
          return reject("bad-covenant-record", applied.error().message);
        }
        gate_moved = true;
        entry = node;
        return ok_status();
      }
      if (s.gated()) {
        s.decide_ns = std::max(clock, ns(node.timestamp()));
        WITNESS_ASSIGN_OR_RETURN(auto admission,
                                 covenant::admit_append(s.gate, node, s.options.require_signature));
        if (!admission.decision.allowed()) {
          a.outcome = Outcome::kDenied;
          a.reason = std::string(covenant::reason_name(admission.decision.reason));
          a.detail = covenant::explain_admission(s.gate, admission);
          WITNESS_ASSIGN_OR_RETURN(
              entry, covenant::denial_node(s.gate, node, admission.decision, a.detail, 0,
                                           at_ns(std::max(ns(m.time), s.decide_ns)),
                                           {"stream-seq:" + std::to_string(m.stream_seq)}));
          return ok_status();
        }
        WITNESS_RETURN_IF_ERROR(s.gate.commit(*admission.decision.reservation, admission.cost));
        gate_moved = true;
      }
      batch.emplace(node.id(), std::pair{a.seq, node.timestamp()});
      entry = node;
      return ok_status();
    };
    if (auto st = decide(); !st) {
      s.broken = s.broken || gate_moved;
      return st.error();
    }
    clock = std::max(clock, ns(entry->timestamp()));
    entries.push_back(std::move(*entry));
    out.push_back(std::move(a));
  }

  auto written = s.ledger->append_batch(
      entries, {.durability = ledger::Durability::kSync, .allow_reserved_origin = true});
  if (!written) {
    s.broken = s.broken || gate_moved;
    return written.error().with_context("applying stream messages " +
                                        std::to_string(messages.front().stream_seq) + ".." +
                                        std::to_string(messages.back().stream_seq));
  }
  for (std::size_t i = 0; i < written->size(); ++i) {
    const auto& r = (*written)[i];
    if (!r.inserted || r.seq != out[i].seq) {
      s.broken = true;
      return corruption("stream message " + std::to_string(out[i].stream_seq) + " became seq " +
                        std::to_string(r.seq) + (r.inserted ? "" : " (already present)") +
                        ", not " + std::to_string(out[i].seq));
    }
  }
  s.size += entries.size();
  s.clock_ns = clock;
  return out;
}

}  // namespace witness::cluster
