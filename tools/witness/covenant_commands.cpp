// witness agents register | list | revoke, and witness gate explain (SPEC 5.4, 5.5, 7).
#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include "witness/covenant/manifest.hpp"
#include "witness/covenant/registry.hpp"

#include "cli.hpp"

namespace witness::tools {
namespace {

namespace cv = covenant;

Result<cv::LoadedGate> load(ledger::Ledger& l) {
  auto loaded = cv::load_gate(l);
  if (loaded) {
    for (const auto& skipped : loaded->skipped) {
      std::cerr << "witness: covenant record not applied: " << skipped << "\n";
    }
  }
  return loaded;
}

int run_register(const CommonOptions& opts, const std::string& path, const std::string& issuer) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return report(not_found("cannot open " + path));
  std::stringstream text;
  text << in.rdbuf();
  auto manifest = cv::parse_manifest(text.str());
  if (!manifest) return report(manifest.error().with_context(path));
  auto l = open_ledger(opts, false, ledger::Durability::kSync);
  if (!l) return report(l.error());
  auto loaded = load(*l);
  if (!loaded) return report(loaded.error());
  const cv::Covenant covenant = cv::covenant_from(*manifest, issuer);
  auto appended =
      cv::record_grant(*l, loaded->gate, covenant,
                       {.version = manifest->version, .description = manifest->description});
  if (!appended) return report(appended.error().with_context(path));
  if (opts.json) {
    std::cout << "{\"covenant\":" << json_string(covenant.id)
              << ",\"subject\":" << json_string(covenant.subject) << ",\"seq\":" << appended->seq
              << "}\n";
  } else {
    std::cout << "registered " << covenant.id << " for " << covenant.subject
              << " (covenant.grant at seq " << appended->seq << ")\n";
  }
  return kExitOk;
}

int run_list(const CommonOptions& opts) {
  auto l = open_ledger(opts, true);
  if (!l) return report(l.error());
  auto loaded = load(*l);
  if (!loaded) return report(loaded.error());
  for (const auto& item : loaded->gate.covenants()) {
    const auto& c = item.covenant;
    const std::string state = item.revoked ? "revoked" : item.in_force ? "in force" : "superseded";
    if (opts.json) {
      std::cout << "{\"covenant\":" << json_string(c.id)
                << ",\"subject\":" << json_string(c.subject)
                << ",\"issuer\":" << json_string(c.issuer)
                << ",\"parent\":" << (c.parent ? json_string(*c.parent) : "null")
                << ",\"state\":" << json_string(state)
                << ",\"budget\":" << json_string(c.rights.budget.to_string())
                << ",\"signed\":" << (c.public_key ? "true" : "false") << "}\n";
    } else {
      std::cout << c.id << "  subject=" << c.subject << "  issuer=" << c.issuer << "  " << state
                << "  budget=" << c.rights.budget.to_string()
                << (c.parent ? "  parent=" + *c.parent : "") << (c.public_key ? "  signed" : "")
                << "\n";
    }
  }
  return kExitOk;
}

int run_revoke(const CommonOptions& opts, const std::string& id, const std::string& reason) {
  auto l = open_ledger(opts, false, ledger::Durability::kSync);
  if (!l) return report(l.error());
  auto loaded = load(*l);
  if (!loaded) return report(loaded.error());
  auto appended = cv::record_revoke(*l, loaded->gate, id, reason);
  if (!appended) return report(appended.error());
  std::cout << "revoked " << id << " and every covenant derived from it (covenant.revoke at seq "
            << appended->seq << ")\n";
  return kExitOk;
}

struct ExplainArgs {
  std::string origin;
  std::string action;
  std::string resource;  // "kind=K,walk=W,tag=T,..."; the flags below add to it
  std::string kind;
  std::string walk;
  std::vector<std::string> tags;
  cv::Cost cost = cv::Cost::one_call();
};

int run_explain(const CommonOptions& opts, const ExplainArgs& args) {
  auto l = open_ledger(opts, true);
  if (!l) return report(l.error());
  auto loaded = load(*l);
  if (!loaded) return report(loaded.error());
  cv::Resource resource{.kind = args.kind, .walk = args.walk, .tags = args.tags};
  if (!args.resource.empty()) {
    // The positional resource is written like a pattern, but its values are taken literally.
    auto fields = cv::ResourcePattern::parse(args.resource);
    if (!fields) return report(fields.error().with_context("resource"));
    if (fields->kind) resource.kind = *fields->kind;
    if (fields->walk) resource.walk = *fields->walk;
    resource.tags.insert(resource.tags.end(), fields->tags.begin(), fields->tags.end());
  }
  const auto decision = loaded->gate.check(args.origin, args.action, resource, args.cost);
  if (opts.json) {
    std::cout << "{\"allowed\":" << (decision.allowed() ? "true" : "false")
              << ",\"reason\":" << json_string(cv::reason_name(decision.reason))
              << ",\"covenant\":" << json_string(decision.covenant)
              << ",\"explanation\":" << json_string(loaded->gate.explain(decision)) << "}\n";
  } else {
    std::cout << loaded->gate.explain(decision) << "\n";
  }
  return decision.allowed() ? kExitOk : kExitCheckFailed;
}

}  // namespace

void register_covenant_commands(CLI::App& app, Action& action) {
  static CommonOptions common;
  static std::string path;
  static std::string issuer = "operator";
  static std::string id;
  static std::string reason;
  static ExplainArgs explain;

  auto* agents = app.add_subcommand("agents", "agent manifests and their covenants");
  agents->require_subcommand(1);

  auto* reg = agents->add_subcommand(
      "register", "validate a YAML manifest and record its covenant (a covenant.grant node)");
  add_common_options(*reg, common);
  reg->add_option("manifest", path, "the manifest file (YAML; see docs/covenants.md)")->required();
  reg->add_option("--issuer", issuer, "who grants it (default: operator)");
  reg->callback([&action] { action = [] { return run_register(common, path, issuer); }; });

  auto* list = agents->add_subcommand("list", "every covenant: in force, superseded or revoked");
  add_common_options(*list, common);
  list->callback([&action] { action = [] { return run_list(common); }; });

  auto* rev = agents->add_subcommand(
      "revoke", "revoke a covenant and its descendants (a covenant.revoke node)");
  add_common_options(*rev, common);
  rev->add_option("covenant", id, "covenant id, e.g. alert.triage@1.2.0")->required();
  rev->add_option("--reason", reason, "why, recorded in the node");
  rev->callback([&action] { action = [] { return run_revoke(common, id, reason); }; });

  auto* gate = app.add_subcommand("gate", "covenant decisions");
  gate->require_subcommand(1);
  auto* ex = gate->add_subcommand(
      "explain", "decide whether ORIGIN may ACTION on a resource, and why; exit 1 if denied");
  add_common_options(*ex, common);
  ex->add_option("origin", explain.origin, "the agent id")->required();
  ex->add_option("action", explain.action, "e.g. ledger.append, tool.call")->required();
  ex->add_option("resource", explain.resource,
                 "what it touches, e.g. kind=agent.action,walk=incident-7,tag=dns (or use the "
                 "flags below)");
  ex->add_option("--kind", explain.kind, "the resource's kind (e.g. the node kind)");
  ex->add_option("--walk", explain.walk, "the resource's walk");
  ex->add_option("--tag", explain.tags, "a tag of the resource (repeatable)");
  for (cv::Dimension d : cv::kAllDimensions) {
    const std::string name = std::string(cv::dimension_name(d));
    std::string flag = "--" + name;
    std::replace(flag.begin(), flag.end(), '_', '-');
    ex->add_option(
        flag, explain.cost.amount[static_cast<std::size_t>(d)],
        "cost in " + name + (d == cv::Dimension::kCalls ? " (default 1)" : " (default 0)"));
  }
  ex->callback([&action] { action = [] { return run_explain(common, explain); }; });
}

}  // namespace witness::tools
