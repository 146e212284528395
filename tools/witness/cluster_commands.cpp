// witness cluster init, witness replica, and witness append --nats (docs/cluster.md): one
// ledger fed by many hosts through NATS JetStream, replicas applying the stream.
#include <iostream>

#include "witness/cluster/bootstrap.hpp"
#include "witness/cluster/cluster.hpp"
#include "witness/ledger/checkpoint.hpp"
#include "witness/ledger/jsonl.hpp"
#include "witness/ledger/signing.hpp"

#include "cli.hpp"
#include "json_out.hpp"

namespace witness::tools {
namespace {

Result<ledger::PublicKey> parse_key(const std::string& text, const std::string& option) {
  auto d = ledger::Digest::from_hex(text);
  if (!d) {
    return invalid_argument(option + " \"" + text +
                            "\": expected 64 hex digits (an Ed25519 public key, as witness "
                            "keygen prints it)");
  }
  ledger::PublicKey key{};
  std::copy(d->bytes.begin(), d->bytes.end(), key.begin());
  return key;
}

struct ClusterArgs {
  std::string nats = "nats://127.0.0.1:4222";
  std::string stream = "witness";
  int replicas = 3;
  unsigned duplicate_window_s = 120;
  std::int64_t max_msgs = -1;
};

int run_init(const ClusterArgs& a) {
  const cluster::NatsOptions nats{.servers = cluster::split_servers(a.nats), .stream = a.stream};
  if (auto s = cluster::create_stream(
          nats, {.replicas = a.replicas,
                 .duplicate_window = std::chrono::seconds(a.duplicate_window_s),
                 .max_msgs = a.max_msgs});
      !s) {
    return report(s.error());
  }
  std::cout << "stream " << a.stream << " ready: subject " << cluster::nodes_subject(a.stream)
            << ", " << a.replicas << " replica(s), file storage, deny_delete, deny_purge, "
            << a.duplicate_window_s << " s duplicate window"
            << (a.max_msgs < 0 ? std::string()
                               : ", keeps " + std::to_string(a.max_msgs) + " messages")
            << "\n";
  return kExitOk;
}

struct ReplicaArgs {
  ClusterArgs cluster;
  std::string name;
  std::string admin_key;
  bool require_signature = false;
  std::string key;  // PEM private key to cosign checkpoints with
  std::size_t max_batch = 1024;
  std::string bootstrap;   // a peer's ledger directory, copied into an empty ledger first
  std::string checkpoint;  // the cosigned checkpoint the copy must agree with
  std::vector<std::string> checkpoint_keys;
  std::size_t checkpoint_quorum = 0;  // 0: every key given
  unsigned max_future_skew_s = 60;
};

int run_replica(const CommonOptions& opts, const ReplicaArgs& a) {
  cluster::ReplicaOptions ro{
      .nats = {.servers = cluster::split_servers(a.cluster.nats), .stream = a.cluster.stream},
      .name = a.name,
      .apply = {.max_future_skew = std::chrono::seconds(a.max_future_skew_s),
                .require_signature = a.require_signature},
      .max_batch = a.max_batch};
  if (!a.admin_key.empty()) {
    auto key = parse_key(a.admin_key, "--admin-key");
    if (!key) return report(key.error());
    ro.apply.admin_key = *key;
  }
  if (!a.key.empty()) {
    auto key = ledger::SigningKey::load(a.key);
    if (!key) return report(key.error().with_context("--key"));
    ro.signing_key = std::make_shared<const ledger::SigningKey>(std::move(*key));
  }
  StopSignals signals;  // before RocksDB's threads start
  auto l = open_ledger(opts, false, ledger::Durability::kSync);
  if (!l) return report(l.error());
  if (!a.bootstrap.empty()) {
    if (l->stats().size > 0) {
      std::cerr << "witness: the ledger holds " << l->stats().size
                << " entries already: not bootstrapping from " << a.bootstrap << "\n";
    } else {
      if (a.checkpoint.empty() || a.checkpoint_keys.empty()) {
        return report(invalid_argument(
            "--bootstrap needs --checkpoint (a note from witness cluster checkpoint) and the "
            "replicas' --checkpoint-key: the copy is checked against it"));
      }
      auto note = read_text(a.checkpoint);
      if (!note) return report(note.error().with_context("--checkpoint"));
      std::vector<std::string> keys;
      for (const auto& k : a.checkpoint_keys) {
        auto key = read_verifier_key(k);
        if (!key) return report(key.error().with_context("--checkpoint-key"));
        keys.push_back(std::move(*key));
      }
      auto b = cluster::bootstrap(
          *l, {.peer_dir = a.bootstrap,
               .checkpoint = *note,
               .verifier_keys = keys,
               .quorum = a.checkpoint_quorum == 0 ? keys.size() : a.checkpoint_quorum});
      if (!b) return report(b.error());
      std::cerr << "witness: bootstrapped " << b->entries << " entries from " << a.bootstrap
                << "; verified; root at " << b->checkpoint.size
                << " equals the checkpoint cosigned by";
      for (const auto& s : b->signers) std::cerr << " " << s;
      std::cerr << "\n";
    }
  }
  auto replica = cluster::Replica::open(*l, ro);
  if (!replica) return report(replica.error());
  std::cerr << "witness: replica " << (ro.name.empty() ? l->stats().ledger_id : ro.name)
            << " applying stream " << a.cluster.stream << " from message " << (*replica)->size() + 1
            << " to " << resolve_ledger_dir(opts) << "; SIGINT (Ctrl-C) or SIGTERM stops it\n";
  if (ro.signing_key) {
    std::cerr << "witness: cosigning checkpoints as "
              << ledger::verifier_key(ro.name.empty() ? l->stats().ledger_id : ro.name,
                                      ro.signing_key->public_key())
              << std::endl;
  }
  signals.on_signal([&] { (*replica)->stop(); });
  const Status st = (*replica)->run();
  std::cerr << "witness: replica stopped with " << (*replica)->size() << " entries\n";
  if (!st) return report(st.error());
  return kExitOk;
}

struct CheckpointArgs {
  ClusterArgs cluster;
  std::uint64_t size = 0;  // 0: the largest a quorum holds
  std::size_t quorum = 2;
  unsigned wait_ms = 1000;
  bool json = false;
  std::string since;  // a file holding an earlier cosigned note
};

int run_cluster_checkpoint(const CheckpointArgs& a) {
  std::optional<std::string> since;
  if (!a.since.empty()) {
    auto text = read_text(a.since);
    if (!text) return report(text.error().with_context("--since"));
    since = std::move(*text);
  }
  auto c = cluster::cosign_checkpoint(
      {.servers = cluster::split_servers(a.cluster.nats), .stream = a.cluster.stream},
      {.size = a.size == 0 ? std::nullopt : std::optional<std::uint64_t>(a.size),
       .quorum = a.quorum,
       .wait = std::chrono::milliseconds(a.wait_ms),
       .since = since});
  if (!c) return report(c.error());
  if (a.json) {
    JsonOut forks = JsonOut::array();
    for (const auto& f : c->forks) {
      JsonOut fork{{"replica", f.replica}, {"root", f.root.to_hex()}, {"note", f.note}};
      if (since) {
        fork["consistency"] = f.consistency;
        fork["consistency_proof"] =
            f.consistency_proof.empty() ? JsonOut(nullptr) : json_value(f.consistency_proof);
      }
      forks.push_back(std::move(fork));
    }
    JsonOut out{{"note", c->note},
                {"size", c->checkpoint.size},
                {"root", c->checkpoint.root.to_hex()},
                {"signers", c->signers},
                {"verifier_keys", c->verifier_keys},
                {"forks", forks},
                {"behind", c->behind}};
    if (since) out["consistency"] = c->consistency;
    print_json(out);
  } else {
    std::cout << c->note;
  }
  for (const auto& f : c->forks) {
    std::cerr << "witness: FORK at size " << c->checkpoint.size << ": replica " << f.replica
              << " signed root " << f.root.to_hex() << ", the quorum (" << c->signers.size()
              << " replicas) signed " << c->checkpoint.root.to_hex() << "\n";
  }
  return c->forks.empty() ? kExitOk : kExitCheckFailed;
}

}  // namespace

void add_cluster_target_options(CLI::App& cmd, ClusterTarget& target) {
  cmd.add_option("--nats", target.nats,
                 "through a cluster (docs/cluster.md): its NATS servers, comma-separated; each "
                 "node is acknowledged once a quorum of replicas applied and synced it");
  cmd.add_option("--nats-stream", target.stream, "the cluster's stream (with --nats)")
      ->capture_default_str();
  cmd.add_option("--quorum", target.quorum, "replicas that must have applied a node (with --nats)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{64}))
      ->capture_default_str();
  cmd.add_option("--timeout-ms", target.timeout_ms,
                 "how long to wait for the quorum (with --nats); then exit 3, safe to retry")
      ->check(CLI::Range(1U, 3'600'000U))
      ->capture_default_str();
}

int publish_nodes(const ClusterTarget& target, std::span<const ledger::TraceNode> nodes,
                  bool json) {
  auto client = cluster::Client::connect(
      {.servers = cluster::split_servers(target.nats), .stream = target.stream},
      {.quorum = target.quorum, .ack_timeout = std::chrono::milliseconds(target.timeout_ms)});
  if (!client) return report(client.error());
  auto acks = (*client)->append(nodes);
  if (!acks) return report(acks.error());
  bool refused = false;
  for (const auto& a : *acks) {
    refused = refused || a.outcome != cluster::Outcome::kAppended;
    // One line per node, as `witness append --stream` acknowledges: {"seq","id"}, and what
    // it became.
    JsonOut j{{"seq", a.seq},
              {"id", a.id.to_hex()},
              {"outcome", std::string(cluster::outcome_name(a.outcome))}};
    if (a.outcome != cluster::Outcome::kAppended) {
      j["reason"] = a.reason;
      j["detail"] = a.detail;
    }
    print_json(j);
  }
  if (!json) {
    std::cerr << "acknowledged " << acks->size() << " node(s) by a quorum of " << target.quorum
              << " replicas\n";
  }
  return refused ? kExitCheckFailed : kExitOk;
}

int run_cluster_append(const ClusterTarget& target, std::istream& in, bool json) {
  // Lines as `witness append` reads them; links by id or to an earlier line (a replica resolves
  // nothing else: seq:N names an entry this host cannot see).
  std::vector<ledger::TraceNode> nodes;
  std::vector<ledger::NodeId> ids;
  std::string line;
  std::uint64_t line_no = 0;
  while (true) {
    const auto r = ledger::read_line(in, line);
    if (r == ledger::LineRead::kEnd) break;
    ++line_no;
    if (r == ledger::LineRead::kTooLong) return report(ledger::line_too_long(line_no));
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto parsed = ledger::parse_node_line(line);
    if (!parsed) return report(parsed.error().with_context("line " + std::to_string(line_no)));
    auto node = ledger::resolve_node_line(std::move(*parsed), nullptr, ids);
    if (!node) return report(node.error().with_context("line " + std::to_string(line_no)));
    ids.push_back(node->id());
    nodes.push_back(std::move(*node));
  }
  return publish_nodes(target, nodes, json);
}

void register_cluster_commands(CLI::App& app, Action& action) {
  static ClusterArgs init;
  auto* cl = app.add_subcommand("cluster", "a ledger fed by many hosts through NATS JetStream");
  cl->require_subcommand(1);
  auto* in = cl->add_subcommand(
      "init", "create the cluster's stream (R3, file storage, deny_delete, deny_purge)");
  in->add_option("--nats", init.nats, "NATS servers, comma-separated")->capture_default_str();
  in->add_option("--stream", init.stream, "the stream's name")->capture_default_str();
  in->add_option("--replicas", init.replicas, "JetStream replicas of the stream (1 to 5)")
      ->check(CLI::Range(1, 5))
      ->capture_default_str();
  in->add_option("--max-msgs", init.max_msgs,
                 "messages the stream keeps, the oldest discarded beyond (default -1: all); "
                 "replicas that fall behind it bootstrap from a peer");
  in->add_option("--duplicate-window", init.duplicate_window_s,
                 "seconds in which a republished node id is dropped by the stream")
      ->check(CLI::Range(1U, 86400U))
      ->capture_default_str();
  in->callback([&action] { action = [] { return run_init(init); }; });

  static CheckpointArgs cp;
  auto* ck = cl->add_subcommand(
      "checkpoint",
      "a checkpoint cosigned by the replicas: each signs its tree head at one size; the "
      "signatures of those that agree are gathered into one signed note");
  ck->add_option("--nats", cp.cluster.nats, "NATS servers, comma-separated")->capture_default_str();
  ck->add_option("--stream", cp.cluster.stream, "the stream's name")->capture_default_str();
  ck->add_option("--size", cp.size, "tree size to sign (default: the largest a quorum holds)");
  ck->add_option("--quorum", cp.quorum, "signatures the note must carry")
      ->check(CLI::Range(std::size_t{1}, std::size_t{64}))
      ->capture_default_str();
  ck->add_option("--wait-ms", cp.wait_ms, "how long answers are gathered")
      ->check(CLI::Range(1U, 600000U))
      ->capture_default_str();
  ck->add_flag("--json", cp.json, "machine-readable output, with forks and laggards");
  ck->add_option("--since", cp.since,
                 "an earlier cosigned note: the new tree must extend it (a signer's consistency "
                 "proof is checked; exit 1 if not), and each fork's proof is shown");
  ck->callback([&action] { action = [] { return run_cluster_checkpoint(cp); }; });
  ck->footer(
      "Exit 0: the note is printed; 1: it is printed, but a replica signed another root at that\n"
      "size (a fork, on stderr with both roots); 3: fewer than --quorum replicas agreed.");

  static CommonOptions common;
  static ReplicaArgs rep;
  auto* r = app.add_subcommand("replica",
                               "apply the cluster's stream to a ledger, in order, until SIGTERM");
  add_common_options(*r, common);
  r->add_option("--nats", rep.cluster.nats, "NATS servers, comma-separated")->capture_default_str();
  r->add_option("--stream", rep.cluster.stream, "the stream's name")->capture_default_str();
  r->add_option("--name", rep.name, "the name it reports progress under (default: ledger id)");
  r->add_option("--admin-key", rep.admin_key,
                "public key (64 hex) that must sign covenant grants and revocations in the "
                "stream; without one, the stream grants nothing");
  r->add_option("--key", rep.key,
                "the replica's private key (PEM, from witness keygen) to cosign checkpoints with, "
                "under --name");
  r->add_option("--bootstrap", rep.bootstrap,
                "when the ledger is empty, first copy this peer replica's ledger (a directory), "
                "verify it and check it against --checkpoint; then follow the stream");
  r->add_option("--checkpoint", rep.checkpoint,
                "with --bootstrap: a checkpoint note cosigned by the replicas");
  r->add_option("--checkpoint-key", rep.checkpoint_keys,
                "with --bootstrap: a replica's verifier key (repeat)");
  r->add_option("--checkpoint-quorum", rep.checkpoint_quorum,
                "with --bootstrap: signatures the checkpoint needs (default: every key)");
  r->add_flag("--require-signature", rep.require_signature,
              "every node must be signed by the key its origin's covenant binds");
  r->add_option("--max-batch", rep.max_batch, "messages per ledger write")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
      ->capture_default_str();
  r->add_option("--max-future-skew", rep.max_future_skew_s,
                "seconds a node's timestamp may be past the stream's time for it")
      ->check(CLI::Range(0U, 86400U))
      ->capture_default_str();
  r->callback([&action] { action = [] { return run_replica(common, rep); }; });
  r->footer(
      "Stream message N becomes ledger entry N-1: the node, its covenant.denial, or a\n"
      "cluster.rejected record naming why. A message that cannot be applied stops the replica\n"
      "(exit 1); it never skips. Exit 0 after SIGINT or SIGTERM.");
}

}  // namespace witness::tools
