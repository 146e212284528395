// A find_package(witness) consumer: appends one node to a fresh ledger and reads it back, and
// checks the laws of a shipped operad suite.
#include <cstdio>

#include "witness/ledger/ledger.hpp"
#include "witness/operad/suites.hpp"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  auto ledger = witness::ledger::Ledger::open(argv[1], {.create_if_missing = true});
  if (!ledger) return 1;
  auto node = witness::ledger::TraceNode::create(
      {.origin = "package.test", .kind = "smoke", .payload_json = R"({"ok":true})"});
  if (!node) return 1;
  auto seq = ledger->append(*node);
  if (!seq) return 1;
  auto back = ledger->get(seq->seq);
  if (!back || back->node.id() != node->id()) return 1;
  auto laws = witness::operad::run_suite("trace-path", {.cases = 20, .seed = 1});
  if (!laws) {
    std::fprintf(stderr, "run_suite: %s\n", laws.error().message.c_str());
    return 1;
  }
  if (!laws->passed()) return 1;
  std::printf("package consumer ok: seq %llu id %s\n", static_cast<unsigned long long>(seq->seq),
              node->id().to_hex().c_str());
  return 0;
}
