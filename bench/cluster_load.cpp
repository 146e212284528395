// Load on a running cluster (scripts/bench-cluster.sh starts one): what an appender sees.
//
//   cluster_load latency NATS STREAM N            N single-node appends one after another:
//                                                 p50, p99, max from publish to quorum ack
//   cluster_load throughput NATS STREAM CLIENTS SECONDS BATCH
//                                                 CLIENTS threads, each appending batches of
//                                                 BATCH for SECONDS: nodes/s acknowledged
//
// Each node is new (origin "bench.<client>", a counter in its payload). Not a Google Benchmark:
// the system under test is outside the process, and a run is one measurement.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "witness/cluster/cluster.hpp"

namespace cl = witness::cluster;
namespace wl = witness::ledger;
using Clock = std::chrono::steady_clock;

namespace {

wl::TraceNode make(const std::string& origin, std::uint64_t n) {
  return wl::TraceNode::create(wl::NodeDraft{.origin = origin,
                                             .kind = "agent.act",
                                             .payload_json = R"({"n":)" + std::to_string(n) + "}"})
      .value();
}

int usage() {
  std::cerr << "usage: cluster_load latency NATS STREAM N\n"
               "       cluster_load throughput NATS STREAM CLIENTS SECONDS BATCH\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) return usage();
  const std::string mode = argv[1];
  const cl::NatsOptions nats{.servers = cl::split_servers(argv[2]), .stream = argv[3]};
  if (mode == "latency") {
    const auto n = std::stoul(argv[4]);
    auto client = cl::Client::connect(nats, {.quorum = 2});
    if (!client) {
      std::cerr << client.error().message << "\n";
      return 1;
    }
    std::vector<double> us;
    us.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      const auto node = make("bench.latency", i);
      const auto t = Clock::now();
      auto acks = (*client)->append(std::span(&node, 1));
      if (!acks) {
        std::cerr << acks.error().message << "\n";
        return 1;
      }
      us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t).count());
    }
    std::sort(us.begin(), us.end());
    std::printf(
        "latency: %zu single-node appends, publish to quorum ack: p50 %.0f us, p99 %.0f us, max "
        "%.0f us\n",
        n, us[n / 2], us[std::min(n - 1, n * 99 / 100)], us.back());
    return 0;
  }
  if (mode == "throughput" && argc >= 7) {
    const auto clients = std::stoul(argv[4]);
    const auto seconds = std::stod(argv[5]);
    const auto batch = std::stoul(argv[6]);
    std::atomic<std::uint64_t> acked{0};
    std::atomic<bool> failed{false};
    const auto end = Clock::now() + std::chrono::duration<double>(seconds);
    const auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (std::size_t c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        auto client = cl::Client::connect(nats, {.quorum = 2});
        if (!client) {
          std::cerr << client.error().message << "\n";
          failed = true;
          return;
        }
        std::uint64_t n = 0;
        const std::string origin = "bench.t" + std::to_string(c);
        while (Clock::now() < end) {
          std::vector<wl::TraceNode> nodes;
          for (std::size_t i = 0; i < batch; ++i) nodes.push_back(make(origin, n++));
          auto acks = (*client)->append(nodes);
          if (!acks) {
            std::cerr << acks.error().message << "\n";
            failed = true;
            return;
          }
          acked += acks->size();
        }
      });
    }
    for (auto& t : threads) t.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf(
        "throughput: %lu clients x batches of %lu: %llu nodes acknowledged by a quorum in %.2f s = "
        "%.0f nodes/s\n",
        clients, batch, static_cast<unsigned long long>(acked.load()), elapsed,
        static_cast<double>(acked.load()) / elapsed);
    return failed ? 1 : 0;
  }
  return usage();
}
