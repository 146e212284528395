// witness checkpoint [--public-key] | checkpoint list | checkpoint verify FILE --public-key KEY.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "witness/ledger/checkpoint.hpp"

#include "cli.hpp"
#include "json_out.hpp"

namespace witness::tools {
namespace {

int run_create(const CommonOptions& opts, bool public_key_only) {
  auto l = open_ledger(opts, public_key_only);
  if (!l) return report(l.error());
  if (public_key_only) {
    const auto key = l->verifier_key();
    if (!key) return report(failed_precondition("this ledger has no signing key"));
    std::cout << *key << "\n";
    return kExitOk;
  }
  auto note = l->checkpoint();
  if (!note) return report(note.error());
  std::cout << *note;
  return kExitOk;
}

int run_list(const CommonOptions& opts) {
  auto l = open_ledger(opts, true);
  if (!l) return report(l.error());
  auto notes = l->checkpoints();
  if (!notes) return report(notes.error());
  for (std::size_t i = 0; i < notes->size(); ++i) std::cout << (i != 0U ? "\n" : "") << (*notes)[i];
  return kExitOk;
}

// Exit 0: signed by that key; 1: not; 2: unreadable or malformed note or key.
int run_verify(const std::string& file, const std::vector<std::string>& key_args,
               std::size_t quorum, bool json) {
  auto note = read_text(file);
  if (!note) return report(note.error());
  std::vector<std::string> keys;
  for (const auto& k : key_args) {
    auto key = read_verifier_key(k);
    if (!key) return report(key.error());
    keys.push_back(std::move(*key));
  }
  // One key: that key's signature. Several, or --quorum: at least that many of them.
  std::vector<std::string> signers;
  Result<ledger::Checkpoint> cp = internal_error("unset");
  if (keys.size() == 1 && quorum <= 1) {
    cp = ledger::verify_checkpoint(*note, keys.front());
  } else {
    auto q = ledger::verify_checkpoint_quorum(*note, keys, quorum);
    if (q) {
      signers = q->signers;
      cp = q->checkpoint;
    } else {
      cp = q.error();
    }
  }
  if (!cp && cp.error().code != ErrorCode::kCorruption) return report(cp.error());
  if (json) {
    JsonOut out{{"verified", cp.has_value()}};
    if (cp) {
      out["origin"] = cp->origin;
      out["size"] = cp->size;
      out["root"] = cp->root.to_hex();
      if (!signers.empty()) out["signers"] = signers;
    } else {
      out["error"] = cp.error().message;
    }
    print_json(out);
  } else if (cp) {
    std::cout << "checkpoint verified: " << cp->origin << " size " << cp->size << " root "
              << cp->root.to_hex();
    if (!signers.empty()) {
      std::cout << ", signed by";
      for (const auto& n : signers) std::cout << " " << n;
    }
    std::cout << "\n";
  } else {
    std::cout << "checkpoint does NOT verify: " << cp.error().message << "\n";
  }
  return cp ? kExitOk : kExitCheckFailed;
}

}  // namespace

void register_checkpoint_commands(CLI::App& app, Action& action) {
  static CommonOptions common;
  static bool public_key = false;
  static std::string file;
  static bool json = false;

  auto* cp = app.add_subcommand(
      "checkpoint", "sign and store a checkpoint of the current tree head (C2SP tlog-checkpoint)");
  add_common_options(*cp, common);
  cp->add_flag("--public-key", public_key, "print the checkpoint verifier key instead");
  cp->require_subcommand(0, 1);

  auto* list = cp->add_subcommand("list", "print the stored checkpoints");
  add_common_options(*list, common);
  list->callback([&] { action = [] { return run_list(common); }; });

  auto* verify =
      cp->add_subcommand("verify", "check a checkpoint's signature: exit 0 valid, 1 not");
  verify->add_option("file", file, "signed checkpoint note, or -")->required();
  static std::vector<std::string> keys;
  static std::size_t quorum = 0;
  verify
      ->add_option("--public-key", keys,
                   "verifier key (name+id+base64) or a file holding it; repeat for a "
                   "cosigned note")
      ->required();
  verify
      ->add_option("--quorum", quorum,
                   "accept only with valid signatures by at least this many of the keys "
                   "(default: the one key given, else all of them)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100}));
  verify->add_flag("--json", json, "machine-readable output");
  verify->callback([&] {
    action = [] { return run_verify(file, keys, quorum == 0 ? keys.size() : quorum, json); };
  });

  cp->callback([list, verify, &action] {
    if (*list || *verify) return;
    action = [] { return run_create(common, public_key); };
  });
}

}  // namespace witness::tools
