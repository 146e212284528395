// Covenant records: JSON payloads (nlohmann::json; canonicalised by the ledger on append) and
// replay into a gate.
#include "witness/covenant/registry.hpp"

#include <charconv>
#include <cmath>

#include <nlohmann/json.hpp>

#include "witness/ledger/digest.hpp"

#include "system_write.hpp"

namespace witness::covenant {
namespace {
using detail::system_write;

using nlohmann::json;

std::string hex_of(const ledger::PublicKey& key) {
  ledger::Digest d;
  std::copy(key.begin(), key.end(), d.bytes.begin());
  return d.to_hex();
}

Result<Covenant> from_json(const json& j) {
  if (!j.is_object() || !j.contains("covenant") || !j["covenant"].is_object()) {
    return invalid_argument("grant payload: no \"covenant\" object");
  }
  const json& c = j["covenant"];
  Covenant out;
  for (const char* field : {"id", "subject", "issuer"}) {
    if (!c.contains(field) || !c[field].is_string()) {
      return invalid_argument(std::string("grant payload: covenant.") + field +
                              ": expected a string");
    }
  }
  out.id = c["id"].get<std::string>();
  out.subject = c["subject"].get<std::string>();
  out.issuer = c["issuer"].get<std::string>();
  if (c.contains("parent") && c["parent"].is_string()) out.parent = c["parent"].get<std::string>();
  if (!c.contains("rules") || !c["rules"].is_array()) {
    return invalid_argument("grant payload: covenant.rules: expected a list of rule lists");
  }
  for (const auto& set : c["rules"]) {
    if (!set.is_array()) return invalid_argument("grant payload: covenant.rules: not a list");
    std::vector<Rule> rules;
    for (const auto& text : set) {
      if (!text.is_string()) return invalid_argument("grant payload: a rule is not a string");
      auto rule = Rule::parse(text.get<std::string>());
      if (!rule) return rule.error().with_context("grant payload");
      rules.push_back(std::move(rule).value());
    }
    out.rights.rule_sets.push_back(make_rule_set(std::move(rules)));
  }
  if (c.contains("budget") && c["budget"].is_object()) {
    for (const auto& [name, limit] : c["budget"].items()) {
      auto dim = parse_dimension(name);
      if (!dim) return dim.error().with_context("grant payload: covenant.budget");
      if (!limit.is_number_unsigned()) {
        return invalid_argument("grant payload: covenant.budget." + name +
                                ": expected a non-negative integer");
      }
      out.rights.budget[*dim] = limit.get<std::uint64_t>();
    }
  }
  if (c.contains("rate") && c["rate"].is_object()) {
    const json& r = c["rate"];
    if (!r.contains("per_second") || !r["per_second"].is_number_unsigned() ||
        !r.contains("burst") || !r["burst"].is_number_unsigned()) {
      return invalid_argument("grant payload: covenant.rate: expected per_second and burst");
    }
    out.rights.rate = Rate{r["per_second"].get<std::uint64_t>(), r["burst"].get<std::uint64_t>()};
  }
  if (c.contains("expires") && c["expires"].is_string()) {
    auto t = ledger::parse_rfc3339(c["expires"].get<std::string>());
    if (!t) return t.error().with_context("grant payload: covenant.expires");
    out.rights.expires = *t;
  }
  if (c.contains("public_key") && c["public_key"].is_string()) {
    auto d = ledger::Digest::from_hex(c["public_key"].get<std::string>());
    if (!d) return d.error().with_context("grant payload: covenant.public_key");
    ledger::PublicKey pk{};
    std::copy(d->bytes.begin(), d->bytes.end(), pk.begin());
    out.public_key = pk;
  }
  out.rights = normalize(std::move(out.rights));
  return out;
}

}  // namespace

std::string grant_payload(const Covenant& covenant, const GrantInfo& info) {
  json c;
  c["id"] = covenant.id;
  c["subject"] = covenant.subject;
  c["issuer"] = covenant.issuer;
  c["parent"] = covenant.parent ? json(*covenant.parent) : json(nullptr);
  json rules = json::array();
  for (const auto& set : covenant.rights.rule_sets) {
    json texts = json::array();
    for (const auto& r : set.rules) texts.push_back(r.to_string());
    rules.push_back(std::move(texts));
  }
  c["rules"] = std::move(rules);
  json budget = json::object();
  for (Dimension d : kAllDimensions) {
    if (covenant.rights.budget[d]) {
      budget[std::string(dimension_name(d))] = *covenant.rights.budget[d];
    }
  }
  c["budget"] = std::move(budget);
  c["rate"] = covenant.rights.rate ? json{{"per_second", covenant.rights.rate->per_second},
                                          {"burst", covenant.rights.rate->burst}}
                                   : json(nullptr);
  c["expires"] = covenant.rights.expires ? json(ledger::format_rfc3339(*covenant.rights.expires))
                                         : json(nullptr);
  c["public_key"] = covenant.public_key ? json(hex_of(*covenant.public_key)) : json(nullptr);
  json payload;
  payload["covenant"] = std::move(c);
  payload["version"] = info.version;
  payload["description"] = info.description;
  return payload.dump();
}

Result<Covenant> parse_grant_payload(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return invalid_argument("grant payload: not JSON");
  return from_json(j);
}

Result<LoadedGate> load_gate(const ledger::Ledger& ledger, GateOptions options) {
  LoadedGate loaded{Gate(std::move(options)), {}};
  WITNESS_ASSIGN_OR_RETURN(auto entries,
                           ledger.query(ledger::Query{.origin = std::string(kCovenantOrigin)}));
  for (const ledger::Entry& e : entries) {
    const std::string where = "seq " + std::to_string(e.seq);
    if (e.node.kind() == kGrantKind) {
      auto covenant = parse_grant_payload(e.node.payload_json());
      if (!covenant) return corruption(where + ": " + covenant.error().message);
      if (auto granted = loaded.gate.grant(*covenant); !granted) {
        loaded.skipped.push_back(where + ": " + granted.error().message);
      }
    } else if (e.node.kind() == kLeaseKind || e.node.kind() == kSettleKind) {
      auto leases = parse_lease_payload(e.node.payload_json());
      if (!leases) return corruption(where + ": " + leases.error().message);
      const bool lease = e.node.kind() == kLeaseKind;
      for (const Lease& l : *leases) {
        auto applied = lease ? loaded.gate.replay_lease(l.covenant, l.amount)
                             : loaded.gate.replay_settle(l.covenant, l.amount);
        if (!applied) loaded.skipped.push_back(where + ": " + applied.error().message);
      }
      if (!lease) {
        auto buckets = parse_bucket_payload(e.node.payload_json());
        if (!buckets) return corruption(where + ": " + buckets.error().message);
        for (const BucketState& b : *buckets) {
          if (auto applied = loaded.gate.replay_bucket(b); !applied) {
            loaded.skipped.push_back(where + ": " + applied.error().message);
          }
        }
      }
    } else if (e.node.kind() == kRevokeKind) {
      auto id = parse_revoke_payload(e.node.payload_json());
      if (!id) return corruption(where + ": " + id.error().message);
      if (auto revoked = loaded.gate.revoke(*id); !revoked) {
        loaded.skipped.push_back(where + ": " + revoked.error().message);
      }
    }
  }
  WITNESS_RETURN_IF_ERROR(entries.status());
  loaded.gate.finish_replay();
  return loaded;
}

std::string lease_payload(const std::vector<Lease>& leases,
                          const std::vector<BucketState>& buckets) {
  json items = json::array();
  for (const Lease& l : leases) {
    json amount = json::object();
    for (Dimension d : kAllDimensions) {
      if (l.amount[d] != 0) amount[std::string(dimension_name(d))] = l.amount[d];
    }
    items.push_back(json{{"covenant", l.covenant}, {"amount", std::move(amount)}});
  }
  json out{{"leases", std::move(items)}};
  if (!buckets.empty()) {
    json b = json::array();
    for (const BucketState& s : buckets) {
      b.push_back(json{{"covenant", s.covenant},
                       {"tokens", s.tokens},
                       {"at", std::to_string(s.at.time_since_epoch().count())}});
    }
    out["buckets"] = std::move(b);
  }
  return out.dump();
}

Result<std::vector<BucketState>> parse_bucket_payload(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return invalid_argument("settle payload: not an object");
  std::vector<BucketState> out;
  if (!j.contains("buckets")) return out;
  if (!j["buckets"].is_array()) return invalid_argument("settle payload: buckets: not a list");
  for (const json& item : j["buckets"]) {
    if (!item.is_object() || !item.contains("covenant") || !item["covenant"].is_string() ||
        !item.contains("tokens") || !item["tokens"].is_number() || !item.contains("at") ||
        !item["at"].is_string()) {
      return invalid_argument(R"(settle payload: a bucket lacks "covenant", "tokens" or "at")");
    }
    const std::string at = item["at"].get<std::string>();
    std::int64_t ns = 0;
    const auto [ptr, ec] = std::from_chars(at.data(), at.data() + at.size(), ns);
    if (at.empty() || ec != std::errc() || ptr != at.data() + at.size()) {
      return invalid_argument("settle payload: bucket at \"" + at + "\" is not nanoseconds");
    }
    const double tokens = item["tokens"].get<double>();
    if (!std::isfinite(tokens)) return invalid_argument("settle payload: bucket tokens not finite");
    out.push_back(
        {item["covenant"].get<std::string>(), tokens, Timestamp(std::chrono::nanoseconds(ns))});
  }
  return out;
}

Result<std::vector<Lease>> parse_lease_payload(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("leases") || !j["leases"].is_array()) {
    return invalid_argument("lease payload: no \"leases\" list");
  }
  std::vector<Lease> out;
  for (const json& item : j["leases"]) {
    if (!item.is_object() || !item.contains("covenant") || !item["covenant"].is_string() ||
        !item.contains("amount") || !item["amount"].is_object()) {
      return invalid_argument(R"(lease payload: an item lacks "covenant" or "amount")");
    }
    Lease l{.covenant = item["covenant"].get<std::string>(), .amount = {}};
    for (const auto& [name, n] : item["amount"].items()) {
      auto dim = parse_dimension(name);
      if (!dim) return dim.error().with_context("lease payload");
      if (!n.is_number_unsigned()) {
        return invalid_argument("lease payload: amount." + name +
                                ": expected a non-negative integer");
      }
      l.amount[*dim] = n.get<std::uint64_t>();
    }
    out.push_back(std::move(l));
  }
  return out;
}

namespace {
Result<ledger::TraceNode> covenant_node(std::string_view kind, std::vector<std::string> tags,
                                        std::string payload) {
  return ledger::TraceNode::create(ledger::NodeDraft{.origin = std::string(kCovenantOrigin),
                                                     .kind = std::string(kind),
                                                     .tags = std::move(tags),
                                                     .payload_json = std::move(payload)});
}
}  // namespace

Result<ledger::AppendResult> append_covenant_record(ledger::Ledger& ledger, std::string_view kind,
                                                    std::vector<std::string> tags,
                                                    std::string payload) {
  WITNESS_ASSIGN_OR_RETURN(auto node, covenant_node(kind, std::move(tags), std::move(payload)));
  return ledger.append(node, system_write());
}

Result<ledger::TraceNode> grant_node(const Covenant& covenant, const GrantInfo& info) {
  return covenant_node(kGrantKind, {"subject:" + covenant.subject}, grant_payload(covenant, info));
}

Result<ledger::TraceNode> revoke_node(std::string_view id, std::string_view subject,
                                      std::string_view reason) {
  json payload{{"covenant", std::string(id)}, {"reason", std::string(reason)}};
  return covenant_node(kRevokeKind, {"subject:" + std::string(subject)}, payload.dump());
}

Result<std::string> parse_revoke_payload(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("covenant") || !j["covenant"].is_string()) {
    return invalid_argument("revoke payload has no \"covenant\" string");
  }
  return j["covenant"].get<std::string>();
}

Status apply_covenant_record(Gate& gate, const ledger::TraceNode& node) {
  if (node.kind() == kGrantKind) {
    WITNESS_ASSIGN_OR_RETURN(auto covenant, parse_grant_payload(node.payload_json()));
    return gate.grant(covenant);
  }
  if (node.kind() == kRevokeKind) {
    WITNESS_ASSIGN_OR_RETURN(auto id, parse_revoke_payload(node.payload_json()));
    return gate.revoke(id);
  }
  return invalid_argument("a " + node.kind() + " is not a covenant grant or revocation");
}

Result<ledger::AppendResult> record_grant(ledger::Ledger& ledger, Gate& gate,
                                          const Covenant& covenant, const GrantInfo& info) {
  WITNESS_ASSIGN_OR_RETURN(auto node, grant_node(covenant, info));
  WITNESS_RETURN_IF_ERROR(gate.grant(covenant));
  return ledger.append(node, system_write());
}

Result<ledger::AppendResult> record_revoke(ledger::Ledger& ledger, Gate& gate, std::string_view id,
                                           std::string_view reason) {
  WITNESS_ASSIGN_OR_RETURN(auto covenant, gate.covenant(id));
  WITNESS_ASSIGN_OR_RETURN(auto node, revoke_node(id, covenant.subject, reason));
  WITNESS_RETURN_IF_ERROR(gate.revoke(id));
  return ledger.append(node, system_write());
}

}  // namespace witness::covenant
