// Test helper for scripts/crash-test.sh --threads N: several appenders in one process, each
// appending its share of a JSON Lines stream one node at a time with sync durability, and
// printing `{"seq":N,"id":"..."}` once the append is acknowledged. The script kills it with
// SIGKILL and checks that every printed acknowledgement survived.
//
// Usage: witness_crash_appender LEDGER_DIR STREAM.jsonl THREADS
// Line i (1-based) goes to thread (i - 1) % THREADS, in stream order; links ("line:N") are
// resolved up front, so a thread's node may name a node another thread appends: it then waits
// (retries) until that node is present. Already present nodes are acknowledged with their seq.
#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "witness/ledger/jsonl.hpp"
#include "witness/ledger/ledger.hpp"

namespace {

using witness::ledger::AppendOptions;
using witness::ledger::Durability;
using witness::ledger::Ledger;
using witness::ledger::NodeId;
using witness::ledger::TraceNode;

int fail(const std::string& what) {
  std::fprintf(stderr, "witness_crash_appender: %s\n", what.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return fail("usage: witness_crash_appender LEDGER_DIR STREAM.jsonl THREADS");
  const std::vector<std::string> args(argv + 1, argv + argc);
  const int threads = std::stoi(args[2]);
  if (threads < 1 || threads > 256) return fail("THREADS must be 1..256");

  auto ledger = Ledger::open(args[0], witness::ledger::OpenOptions{});
  if (!ledger) return fail(ledger.error().message);

  std::ifstream in(args[1]);
  if (!in) return fail("cannot read " + args[1]);
  std::vector<TraceNode> nodes;
  std::vector<NodeId> ids;
  for (std::string line; std::getline(in, line);) {
    auto parsed = witness::ledger::parse_node_line(line);
    if (!parsed)
      return fail("line " + std::to_string(ids.size() + 1) + ": " + parsed.error().message);
    auto node = witness::ledger::resolve_node_line(std::move(*parsed), nullptr, ids);
    if (!node) return fail("line " + std::to_string(ids.size() + 1) + ": " + node.error().message);
    ids.push_back(node->id());
    nodes.push_back(std::move(*node));
  }

  std::mutex out_mu;
  std::atomic<bool> failed{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (std::size_t i = static_cast<std::size_t>(t); i < nodes.size() && !failed;
           i += static_cast<std::size_t>(threads)) {
        while (!failed) {
          auto r = ledger->append(nodes[i], AppendOptions::with(Durability::kSync));
          if (r) {
            const std::lock_guard lock(out_mu);
            std::printf("{\"seq\":%llu,\"id\":\"%s\"}\n", static_cast<unsigned long long>(r->seq),
                        nodes[i].id().to_hex().c_str());
            std::fflush(stdout);  // acknowledged only once the line is out
            break;
          }
          // A link to a node another thread has not appended yet: wait for it.
          if (r.error().message.find("links") != std::string::npos &&
              r.error().message.find("not in the ledger") != std::string::npos) {
            std::this_thread::yield();
            continue;
          }
          const std::lock_guard lock(out_mu);
          std::fprintf(stderr, "line %zu: %s\n", i + 1, r.error().message.c_str());
          failed = true;
          break;
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  return failed ? 1 : 0;
}
