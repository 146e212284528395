// witness agents register | list | revoke, witness gate explain, and the agent-side tools
// witness keygen and witness sign (SPEC 5.4, 5.5, 7).
#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include "witness/covenant/manifest.hpp"
#include "witness/covenant/registry.hpp"
#include "witness/ledger/digest.hpp"
#include "witness/ledger/jsonl.hpp"
#include "witness/ledger/signing.hpp"

#include "cli.hpp"
#include "json_out.hpp"

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

// Through a cluster: the grant node, signed by the administrator's key, published to the stream;
// the replicas apply it (docs/cluster.md).
int register_in_cluster(const cv::Manifest& manifest, const std::string& issuer,
                        const ClusterTarget& target, const std::string& admin_key, bool json) {
  if (admin_key.empty()) {
    return report(invalid_argument(
        "--nats needs --admin-key: the replicas apply only covenant records signed by the "
        "cluster's administrator key"));
  }
  auto key = ledger::SigningKey::load(admin_key);
  if (!key) return report(key.error().with_context("--admin-key"));
  const cv::Covenant covenant = cv::covenant_from(manifest, issuer);
  auto node =
      cv::grant_node(covenant, {.version = manifest.version, .description = manifest.description});
  if (!node) return report(node.error());
  const ledger::TraceNode signed_node = ledger::sign_node(*key, *node);
  return publish_nodes(target, std::span(&signed_node, 1), json);
}

int run_register(const CommonOptions& opts, const std::string& path, const std::string& issuer,
                 const ClusterTarget& cluster, const std::string& admin_key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return report(not_found("cannot open " + path));
  std::stringstream text;
  text << in.rdbuf();
  auto manifest = cv::parse_manifest(text.str());
  if (!manifest) return report(manifest.error().with_context(path));
  if (!cluster.nats.empty()) {
    if (!opts.ledger_dir.empty()) {
      return report(
          invalid_argument("--nats registers through the cluster: --ledger does not apply"));
    }
    return register_in_cluster(*manifest, issuer, cluster, admin_key, opts.json);
  }
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
    print_json({{"covenant", covenant.id}, {"subject", covenant.subject}, {"seq", appended->seq}});
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
      print_json({{"covenant", c.id},
                  {"subject", c.subject},
                  {"issuer", c.issuer},
                  {"parent", c.parent ? JsonOut(*c.parent) : JsonOut(nullptr)},
                  {"state", state},
                  {"budget", c.rights.budget.to_string()},
                  {"signed", c.public_key.has_value()}});
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
    print_json({{"allowed", decision.allowed()},
                {"reason", cv::reason_name(decision.reason)},
                {"covenant", decision.covenant},
                {"explanation", loaded->gate.explain(decision)}});
  } else {
    std::cout << loaded->gate.explain(decision) << "\n";
  }
  return decision.allowed() ? kExitOk : kExitCheckFailed;
}

std::string key_hex(const ledger::PublicKey& key) {
  ledger::Digest d;
  std::copy(key.begin(), key.end(), d.bytes.begin());
  return d.to_hex();
}

int run_keygen(const std::string& path, bool json) {
  auto key = ledger::SigningKey::generate();
  if (!key) return report(key.error());
  if (auto saved = key->save(path); !saved) return report(saved.error());
  const std::string hex = key_hex(key->public_key());
  if (json) {
    print_json({{"key", path}, {"public_key", hex}});
  } else {
    std::cout << "wrote Ed25519 private key " << path << " (mode 0600)\n"
              << "public_key: " << hex << "   # put this line in the agent's manifest\n";
  }
  return kExitOk;
}

// Signs each node's id (its 32 bytes) and writes the node back as a canonical JSON line with
// its timestamp and resolved links, so that the id the signature covers is the id appended.
// Atomic: a bad line prints nothing.
int run_sign(const std::string& key_path, const std::string& path, const std::string& ledger_dir) {
  auto key = ledger::SigningKey::load(key_path);
  if (!key) return report(key.error().with_context(key_path));
  std::optional<ledger::Ledger> l;
  if (!ledger_dir.empty()) {
    auto opened = open_ledger({.ledger_dir = ledger_dir, .json = false}, true);
    if (!opened) return report(opened.error());
    l.emplace(std::move(*opened));
  }
  std::ifstream storage;
  auto in = open_input(path, storage);
  if (!in) return report(in.error());
  std::vector<ledger::NodeId> earlier;
  std::string out;
  std::string text;
  std::uint64_t line = 0;
  for (ledger::LineRead read{}; (read = ledger::read_line(**in, text)) != ledger::LineRead::kEnd;) {
    ++line;
    if (read == ledger::LineRead::kTooLong) return report(ledger::line_too_long(line));
    const std::string where = "line " + std::to_string(line);
    if (text.find_first_not_of(" \t\r") == std::string::npos) {
      return report(invalid_argument(where + ": empty line"));
    }
    auto parsed = ledger::parse_node_line(text);
    if (!parsed) return report(parsed.error().with_context(where));
    parsed->draft.signature.reset();  // re-signing replaces a signature; the id does not cover it
    auto node = ledger::resolve_node_line(std::move(*parsed), l ? &*l : nullptr, earlier);
    if (!node) return report(node.error().with_context(where));
    earlier.push_back(node->id());
    out += ledger::to_json_line(ledger::sign_node(*key, *node));
    out += '\n';
  }
  if ((*in)->bad()) return report(io_error("read failed"));
  std::cout << out;
  return kExitOk;
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
  static ClusterTarget cluster;
  static std::string admin_key;
  add_cluster_target_options(*reg, cluster);
  reg->add_option("--admin-key", admin_key,
                  "with --nats: the cluster administrator's private key (PEM, from witness "
                  "keygen), which signs the grant");
  reg->callback([&action] {
    action = [] { return run_register(common, path, issuer, cluster, admin_key); };
  });

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

  static std::string key_path;
  static std::string input = "-";
  static std::string sign_ledger;
  static bool keygen_json = false;
  auto* kg = app.add_subcommand("keygen", "make an Ed25519 key for an agent; print its public key");
  kg->add_option("file", key_path,
                 "where to write the private key (PEM, mode 0600; must not exist)")
      ->required();
  kg->add_flag("--json", keygen_json, "machine-readable output");
  kg->callback([&action] { action = [] { return run_keygen(key_path, keygen_json); }; });

  auto* sg = app.add_subcommand(
      "sign", "sign JSON Lines nodes with an agent's key (for origins whose covenant binds it)");
  sg->add_option("--key", key_path, "the agent's private key (from witness keygen)")->required();
  sg->add_option("file", input, "input file, or - for stdin (default)");
  sg->add_option("--ledger", sign_ledger, "resolve seq:N links against this ledger");
  sg->footer(
      "Writes each node as a canonical line with its id's signature, timestamp and resolved\n"
      "links; pipe it into witness append. A line without a timestamp is stamped now.");
  sg->callback([&action] { action = [] { return run_sign(key_path, input, sign_ledger); }; });
}

}  // namespace witness::tools
