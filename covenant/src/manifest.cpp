// Manifest parsing with yaml-cpp: strict (unknown fields are errors, so typos do not silently
// widen or drop rights) and every error names its line and field.
#include "witness/covenant/manifest.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "witness/base/ascii.hpp"
#include "witness/base/utf8.hpp"
#include "witness/ledger/digest.hpp"
#include "witness/ledger/options.hpp"
#include "witness/ledger/trace_node.hpp"

namespace witness::covenant {
namespace {

Error at(const YAML::Node& node, const std::string& field, const std::string& what) {
  const auto mark = node.Mark();
  const std::string line = mark.line >= 0 ? "line " + std::to_string(mark.line + 1) + ": " : "";
  return invalid_argument(line + field + ": " + what);
}

// Ids, versions and model names follow the ledger's name rule (they become origins and tags).
Status name_at(const YAML::Node& node, const std::string& field, const std::string& value) {
  if (auto ok = ledger::check_name(value); !ok) {
    return at(node, field, "\"" + printable(value) + "\": " + ok.error().message);
  }
  return ok_status();
}

Result<std::string> scalar(const YAML::Node& node, const std::string& field) {
  if (!node.IsScalar()) return at(node, field, "expected a string");
  // The text is UTF-8, but YAML escapes ("\x85" in a double-quoted string) can still make
  // bytes that are not (found by fuzz_manifest).
  if (first_invalid_utf8(node.Scalar())) {
    return at(node, field, "not valid UTF-8 (after YAML escapes)");
  }
  return node.Scalar();
}

Result<std::vector<std::string>> string_list(const YAML::Node& node, const std::string& field) {
  if (!node.IsSequence()) return at(node, field, "expected a list");
  std::vector<std::string> out;
  for (std::size_t k = 0; k < node.size(); ++k) {
    WITNESS_ASSIGN_OR_RETURN(auto s, scalar(node[k], field + "[" + std::to_string(k) + "]"));
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::uint64_t> count(const YAML::Node& node, const std::string& field) {
  WITNESS_ASSIGN_OR_RETURN(auto text, scalar(node, field));
  if (text.empty() || text.size() > 19 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return at(node, field, "expected a non-negative integer, got \"" + text + "\"");
  }
  return std::stoull(text);
}

// A manifest is plain data: YAML aliases (*name) are refused before the document is walked, as
// an alias makes a tree of shared nodes that a walk visits once per path: nine aliases to nine
// aliases to ... took seconds and gigabytes (found by fuzz_manifest). Nesting is bounded too.
class PlainYaml : public YAML::EventHandler {
 public:
  static constexpr int kMaxDepth = 32;
  std::optional<Error> problem;
  int documents = 0;

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents == 2) {
      fail(mark,
           "manifest: a second YAML document (a manifest file holds one agent; register "
           "each manifest on its own)");
    }
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& /*mark*/, YAML::anchor_t /*anchor*/) override {}
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t /*anchor*/) override {
    fail(mark, "an alias (*name): a manifest uses no anchors or aliases");
  }
  void OnAnchor(const YAML::Mark& mark, const std::string& /*name*/) override {
    fail(mark, "an anchor (&name): a manifest uses no anchors or aliases");
  }
  void OnScalar(const YAML::Mark& /*mark*/, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                const std::string& /*value*/) override {}
  void OnSequenceStart(const YAML::Mark& mark, const std::string& /*tag*/,
                       YAML::anchor_t /*anchor*/, YAML::EmitterStyle::value /*style*/) override {
    enter(mark);
  }
  void OnSequenceEnd() override { --depth_; }
  void OnMapStart(const YAML::Mark& mark, const std::string& /*tag*/, YAML::anchor_t /*anchor*/,
                  YAML::EmitterStyle::value /*style*/) override {
    enter(mark);
  }
  void OnMapEnd() override { --depth_; }

 private:
  void enter(const YAML::Mark& mark) {
    if (++depth_ > kMaxDepth) fail(mark, "nested more than 32 levels deep");
  }
  void fail(const YAML::Mark& mark, const std::string& what) {
    if (problem) return;
    problem = invalid_argument(
        (mark.line >= 0 ? "line " + std::to_string(mark.line + 1) + ": " : std::string()) + what);
  }
  int depth_ = 0;
};

// yaml-cpp keeps a mapping's duplicate keys (a lookup finds one of them: the first at the top
// level, the last inside a mapping) and accepts any tag: refuse both, and every tag but the
// YAML core schema's, so that what a reviewer reads is what the gate enforces.
Status check_structure(const YAML::Node& node, const std::string& field) {
  const std::string& tag = node.Tag();
  if (!tag.empty() && tag != "?" && tag != "!" && !tag.starts_with("tag:yaml.org,2002:")) {
    return at(node, field.empty() ? "manifest" : field,
              "the tag " + tag + " is not allowed (a manifest uses plain YAML)");
  }
  if (node.IsSequence()) {
    for (std::size_t k = 0; k < node.size(); ++k) {
      WITNESS_RETURN_IF_ERROR(check_structure(node[k], field + "[" + std::to_string(k) + "]"));
    }
  } else if (node.IsMap()) {
    std::map<std::string, int> seen;  // key -> its line
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) return at(kv.first, field, "a key must be a plain string");
      const std::string& key = kv.first.Scalar();
      const std::string path = field.empty() ? key : field + "." + key;
      const int line = kv.first.Mark().line + 1;
      if (const auto [it, fresh] = seen.emplace(key, line); !fresh) {
        return at(kv.first, path,
                  "duplicate key (first at line " + std::to_string(it->second) + ")");
      }
      WITNESS_RETURN_IF_ERROR(check_structure(kv.first, path));
      WITNESS_RETURN_IF_ERROR(check_structure(kv.second, path));
    }
  }
  return ok_status();
}

Result<Manifest> parse_document(const YAML::Node& root) {
  if (!root.IsMap()) return at(root, "manifest", "expected a mapping of fields");
  static const std::set<std::string> kKnown = {
      "id",     "version", "description", "capabilities", "permissions",
      "models", "budgets", "rate",        "expires",      "public_key"};
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    if (!kKnown.contains(key)) {
      return at(kv.first, key,
                "unknown field (id, version, description, capabilities, permissions, models, "
                "budgets, rate, expires, public_key)");
    }
  }
  Manifest m;
  for (const char* required : {"id", "version", "capabilities"}) {
    if (!root[required]) return at(root, required, "missing");
  }
  WITNESS_ASSIGN_OR_RETURN(m.id, scalar(root["id"], "id"));
  WITNESS_RETURN_IF_ERROR(name_at(root["id"], "id", m.id));
  if (ledger::is_reserved_origin(m.id)) {
    // witness's own origins (witness.covenant, witness.gate, witness.laws) write its records;
    // the prefix is reserved in any letter case, as the ledger reserves it.
    return at(root["id"], "id",
              "\"" + m.id + "\": ids starting with witness. (in any case) are reserved");
  }
  WITNESS_ASSIGN_OR_RETURN(m.version, scalar(root["version"], "version"));
  WITNESS_RETURN_IF_ERROR(name_at(root["version"], "version", m.version));
  if (root["description"]) {
    WITNESS_ASSIGN_OR_RETURN(m.description, scalar(root["description"], "description"));
  }
  WITNESS_ASSIGN_OR_RETURN(m.capabilities, string_list(root["capabilities"], "capabilities"));
  for (std::size_t k = 0; k < m.capabilities.size(); ++k) {
    const std::string& action = m.capabilities[k];
    if (action.empty() || action.find_first_of(" \t\n") != std::string::npos) {
      return at(root["capabilities"][k], "capabilities[" + std::to_string(k) + "]",
                "\"" + action + "\" is not an action (a glob without spaces)");
    }
  }
  if (root["permissions"]) {
    WITNESS_ASSIGN_OR_RETURN(auto rules, string_list(root["permissions"], "permissions"));
    for (std::size_t k = 0; k < rules.size(); ++k) {
      auto rule = Rule::parse(rules[k]);
      if (!rule) {
        return at(root["permissions"][k], "permissions[" + std::to_string(k) + "]",
                  rule.error().message);
      }
      m.permissions.push_back(std::move(rule).value());
    }
  }
  if (root["models"]) {
    WITNESS_ASSIGN_OR_RETURN(m.models, string_list(root["models"], "models"));
    for (std::size_t k = 0; k < m.models.size(); ++k) {
      WITNESS_RETURN_IF_ERROR(
          name_at(root["models"][k], "models[" + std::to_string(k) + "]", m.models[k]));
    }
  }
  if (const auto budgets = root["budgets"]) {
    if (!budgets.IsMap()) return at(budgets, "budgets", "expected a mapping dimension: limit");
    for (const auto& kv : budgets) {
      const std::string name = kv.first.Scalar();
      auto dim = parse_dimension(name);
      if (!dim) return at(kv.first, "budgets." + name, dim.error().message);
      WITNESS_ASSIGN_OR_RETURN(auto limit, count(kv.second, "budgets." + name));
      m.budget[*dim] = limit;
    }
  }
  if (const auto rate = root["rate"]) {
    if (!rate.IsMap() || !rate["per_second"] || !rate["burst"] || rate.size() != 2) {
      return at(rate, "rate", "expected {per_second: N, burst: N}");
    }
    WITNESS_ASSIGN_OR_RETURN(auto per_second, count(rate["per_second"], "rate.per_second"));
    WITNESS_ASSIGN_OR_RETURN(auto burst, count(rate["burst"], "rate.burst"));
    m.rate = Rate{per_second, burst};
  }
  if (const auto expires = root["expires"]) {
    WITNESS_ASSIGN_OR_RETURN(auto text, scalar(expires, "expires"));
    auto t = ledger::parse_rfc3339(text);
    if (!t) return at(expires, "expires", "\"" + text + "\" is not an RFC 3339 time");
    m.expires = *t;
  }
  if (const auto key = root["public_key"]) {
    WITNESS_ASSIGN_OR_RETURN(auto text, scalar(key, "public_key"));
    auto bytes = ledger::Digest::from_hex(text);
    if (!bytes) return at(key, "public_key", "expected 64 hex digits (an Ed25519 public key)");
    ledger::PublicKey pk{};
    std::copy(bytes->bytes.begin(), bytes->bytes.end(), pk.begin());
    m.public_key = pk;
  }
  return m;
}

}  // namespace

Result<Manifest> parse_manifest(std::string_view yaml) {
  // YAML is UTF-8 text, and every string ends up in a JSON payload: refuse bad bytes here,
  // by line, rather than fail (or throw) when the grant is written.
  if (const auto bad = first_invalid_utf8(yaml)) {
    const auto line =
        1 + std::count(yaml.begin(), yaml.begin() + static_cast<std::ptrdiff_t>(*bad), '\n');
    return invalid_argument("line " + std::to_string(line) + ": invalid UTF-8 at byte " +
                            std::to_string(*bad));
  }
  // Nor does YAML allow C0 control characters other than tab, LF and CR, or DEL; yaml-cpp reads
  // a NUL as a sign of UTF-16 and turns what follows into other bytes (found by fuzz_manifest).
  if (const auto* const c =
          std::find_if(yaml.begin(), yaml.end(),
                       [](char ch) {
                         const auto u = static_cast<unsigned char>(ch);
                         return (u < 0x20 && u != '\t' && u != '\n' && u != '\r') || u == 0x7F;
                       });
      c != yaml.end()) {
    const auto line = 1 + std::count(yaml.begin(), c, '\n');
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(*c));
    return invalid_argument("line " + std::to_string(line) + ": control character " + hex +
                            " (YAML allows only tab, LF and CR)");
  }
  try {
    {
      // At most two documents are looked at: yaml-cpp's HandleNextDocument can go on returning
      // true on some inputs, so a loop to the end never ended (and LoadAll ran out of memory:
      // found by fuzz_manifest).
      std::istringstream stream{std::string(yaml)};
      YAML::Parser parser(stream);
      PlainYaml plain;
      for (int handled = 0; handled < 2 && !plain.problem; ++handled) {
        if (!parser.HandleNextDocument(plain)) break;
      }
      if (plain.problem) return *plain.problem;
    }
    const YAML::Node root = YAML::Load(std::string(yaml));  // the one document
    if (!root || root.IsNull()) return invalid_argument("manifest: empty document");
    WITNESS_RETURN_IF_ERROR(check_structure(root, ""));
    return parse_document(root);
  } catch (const YAML::Exception& e) {
    const std::string line =
        e.mark.line >= 0 ? "line " + std::to_string(e.mark.line + 1) + ": " : "";
    return invalid_argument(line + "YAML: " + e.msg);
  }
}

Covenant covenant_from(const Manifest& m, std::string issuer) {
  std::vector<Rule> capabilities;
  capabilities.reserve(m.capabilities.size());
  for (const auto& action : m.capabilities) {
    capabilities.push_back(Rule{Effect::kPermit, action, {}});
  }
  std::vector<Rule> permissions = m.permissions;
  for (const auto& model : m.models) {
    permissions.push_back(Rule{Effect::kPermit, "model.query", ResourcePattern{.kind = model}});
  }
  Rights rights{
      .rule_sets = {make_rule_set(std::move(capabilities)), make_rule_set(std::move(permissions))},
      .budget = m.budget,
      .rate = m.rate,
      .expires = m.expires};
  return Covenant{.id = m.id + "@" + m.version,
                  .subject = m.id,
                  .issuer = std::move(issuer),
                  .rights = normalize(std::move(rights)),
                  .public_key = m.public_key};
}

}  // namespace witness::covenant
