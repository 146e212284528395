// witness proof inclusion | consistency | check.
#include <fstream>
#include <iostream>
#include <sstream>

#include "witness/ledger/proof_json.hpp"

#include "cli.hpp"
#include "json_out.hpp"

namespace witness::tools {
namespace {

int print_claim(const ledger::ProofClaim& claim) {
  std::cout << ledger::to_proof_json(claim) << "\n";
  return kExitOk;
}

int run_inclusion(const CommonOptions& opts, ledger::SequenceNumber seq,
                  std::optional<std::uint64_t> size) {
  auto l = open_ledger(opts, true);
  if (!l) return report(l.error());
  auto claim = l->inclusion_proof(seq, size);
  if (!claim) return report(claim.error());
  return print_claim(*claim);
}

int run_consistency(const CommonOptions& opts, std::uint64_t size1, std::uint64_t size2) {
  auto l = open_ledger(opts, true);
  if (!l) return report(l.error());
  auto claim = l->consistency_proof(size1, size2);
  if (!claim) return report(claim.error());
  return print_claim(*claim);
}

// Exit 0: the proof verifies; 1: it does not; 2: the file is unreadable or malformed.
int run_check(const std::string& path, bool json) {
  std::ostringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return report(not_found("cannot open " + path));
    text << in.rdbuf();
  }
  auto claim = ledger::parse_proof_json(text.str());
  if (!claim) return report(claim.error().with_context(path));
  const bool inclusion = std::holds_alternative<ledger::InclusionClaim>(*claim);
  const auto status = ledger::verify_claim(*claim);
  if (json) {
    JsonOut out{{"kind", inclusion ? "inclusion" : "consistency"}, {"verified", status.ok()}};
    if (!status) out["error"] = status.error().message;
    print_json(out);
  } else if (status) {
    std::cout << (inclusion ? "inclusion" : "consistency") << " proof verified\n";
  } else {
    std::cout << (inclusion ? "inclusion" : "consistency")
              << " proof does NOT verify: " << status.error().message << "\n";
  }
  return status ? kExitOk : kExitCheckFailed;
}

}  // namespace

void register_proof_commands(CLI::App& app, Action& action) {
  static CommonOptions common;
  static ledger::SequenceNumber seq = 0;
  static std::optional<std::uint64_t> size;
  static std::uint64_t size1 = 0;
  static std::uint64_t size2 = 0;
  static std::string path;
  static bool json = false;

  auto* proof = app.add_subcommand("proof", "Merkle inclusion and consistency proofs (RFC 6962)");
  proof->require_subcommand(1);

  auto* inc = proof->add_subcommand("inclusion", "prove an entry is in the tree; prints JSON");
  add_common_options(*inc, common);
  inc->add_option("seq", seq, "the entry's seq")->check(non_negative_integer())->required();
  inc->add_option("--size", size, "tree size to prove against (default: the whole ledger)")
      ->check(non_negative_integer());
  inc->callback([&] { action = [] { return run_inclusion(common, seq, size); }; });

  auto* cons =
      proof->add_subcommand("consistency", "prove tree M is a prefix of tree N; prints JSON");
  add_common_options(*cons, common);
  cons->add_option("m", size1, "the older tree size")->check(non_negative_integer())->required();
  cons->add_option("n", size2, "the newer tree size")->check(non_negative_integer())->required();
  cons->callback([&] { action = [] { return run_consistency(common, size1, size2); }; });

  auto* check = proof->add_subcommand(
      "check", "verify a proof file without a ledger: exit 0 verified, 1 not, 2 malformed");
  check->add_option("file", path, "proof JSON (as printed by `witness proof`), or -")->required();
  check->add_flag("--json", json, "machine-readable output");
  check->callback([&] { action = [] { return run_check(path, json); }; });
}

}  // namespace witness::tools
