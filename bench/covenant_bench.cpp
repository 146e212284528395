// Gate latency (SPEC 10: covenant check median <= 100 ns, p99 <= 1 us, zero overshoot) with 1
// and 8 threads, and the reserve + commit pair that spends budget. The covenant is realistic:
// a derived covenant (two in the chain), five rules, budgets in three dimensions, a rate.
// Then gated against ungated appends to a real ledger (buffered; one node per append, and
// batches of 64), the same node-building work on both sides.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include <benchmark/benchmark.h>

#include "witness/covenant/gate.hpp"
#include "witness/covenant/gated_ledger.hpp"
#include "witness/covenant/registry.hpp"

#include "temp_dir.hpp"

namespace cv = witness::covenant;

namespace {

cv::Gate& shared_gate() {
  static cv::Gate* gate = [] {
    auto* g = new cv::Gate();  // lives for the process: benchmarks share it across threads
    std::vector<cv::Rule> rules;
    for (const char* r :
         {"permit ledger.append kind=agent.*", "permit ledger.append kind=tool.*",
          "permit tool.call", "forbid ledger.append tag=pii", "forbid tool.call kind=admin.*"}) {
      rules.push_back(cv::Rule::parse(r).value());
    }
    cv::Rights root{.rule_sets = {cv::make_rule_set(rules)}};
    root.budget[cv::Dimension::kCalls] = 1ULL << 60U;
    root.budget[cv::Dimension::kTokens] = 1ULL << 60U;
    root.budget[cv::Dimension::kBytes] = 1ULL << 60U;
    root.rate = cv::Rate{.per_second = 1ULL << 40U, .burst = 1ULL << 40U};
    const cv::Covenant parent{
        .id = "fleet", .subject = "ops.fleet", .issuer = "ops", .rights = root};
    if (!g->grant(parent)) std::abort();
    for (int t = 0; t < 8; ++t) {
      auto child = cv::derive(parent, "triage-" + std::to_string(t),
                              "alert.triage." + std::to_string(t), {});
      if (!child || !g->grant(*child)) std::abort();
    }
    return g;
  }();
  return *gate;
}

const cv::Resource kResource{
    .kind = "agent.action", .walk = "incident-0412", .tags = {"severity:high"}};

cv::Cost request_cost() {
  cv::Cost c = cv::Cost::one_call();
  c[cv::Dimension::kTokens] = 120;
  c[cv::Dimension::kBytes] = 300;
  return c;
}

std::string subject_for(const benchmark::State& state) {
  return "alert.triage." + std::to_string(state.thread_index() % 8);
}

void BM_GateCheck(benchmark::State& state) {
  cv::Gate& gate = shared_gate();
  const std::string subject = subject_for(state);
  const cv::Cost cost = request_cost();
  for (auto _ : state) {
    auto d = gate.check(subject, "ledger.append", kResource, cost);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_GateCheck)->Threads(1)->Threads(8)->UseRealTime();

// Per-call latency percentiles: each check timed alone. The clock's own cost (measured the same
// way around nothing) is reported beside them.
void BM_GateCheckLatency(benchmark::State& state) {
  cv::Gate& gate = shared_gate();
  const std::string subject = subject_for(state);
  const cv::Cost cost = request_cost();
  std::vector<std::int64_t> ns;
  std::vector<std::int64_t> clock_ns;
  ns.reserve(1U << 20U);
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    auto d = gate.check(subject, "ledger.append", kResource, cost);
    const auto t1 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(d);
    const auto t2 = std::chrono::steady_clock::now();
    ns.push_back((t1 - t0).count());
    clock_ns.push_back((t2 - t1).count());
  }
  auto pct = [](std::vector<std::int64_t>& v, double p) {
    const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
    return static_cast<double>(v[k]);
  };
  state.counters["p50_ns"] = pct(ns, 0.50);
  state.counters["p99_ns"] = pct(ns, 0.99);
  state.counters["p999_ns"] = pct(ns, 0.999);
  state.counters["clock_p50_ns"] = pct(clock_ns, 0.50);
}
// Threads(2) = the cores of the reference machine; Threads(8) oversubscribes them 4x.
BENCHMARK(BM_GateCheckLatency)->Threads(1)->Threads(2)->Threads(8)->UseRealTime();

void BM_GateReserveCommit(benchmark::State& state) {
  cv::Gate& gate = shared_gate();
  const std::string subject = subject_for(state);
  const cv::Cost cost = request_cost();
  for (auto _ : state) {
    auto d = gate.reserve(subject, "ledger.append", kResource, cost).value();
    if (!d.allowed() || !gate.commit(*d.reservation, cost)) {
      state.SkipWithError("reserve or commit refused");
      return;
    }
  }
}
BENCHMARK(BM_GateReserveCommit)->Threads(1)->Threads(8)->UseRealTime();

namespace wl = witness::ledger;

// One ledger (and gate) per benchmark run, shared by its threads.
struct Appender {
  std::mutex mu;
  int users = 0;
  std::unique_ptr<witness::testing::TempDir> dir;
  std::unique_ptr<wl::Ledger> ledger;
  std::unique_ptr<cv::GatedLedger> gated;

  void acquire() {
    std::lock_guard lock(mu);
    if (users++ > 0) return;
    dir = std::make_unique<witness::testing::TempDir>();
    ledger = std::make_unique<wl::Ledger>(
        wl::Ledger::open(dir->path() / "l", {.create_if_missing = true}).value());
    std::vector<cv::Rule> rules;
    for (const char* r : {"permit ledger.append kind=agent.*", "forbid ledger.append tag=pii"}) {
      rules.push_back(cv::Rule::parse(r).value());
    }
    cv::Rights rights{.rule_sets = {cv::make_rule_set(rules)}};
    rights.budget[cv::Dimension::kCalls] = 1ULL << 40U;
    rights.budget[cv::Dimension::kBytes] = 1ULL << 50U;
    auto loaded = cv::load_gate(*ledger).value();
    for (int t = 0; t < 8; ++t) {
      const std::string agent = "agent.bench." + std::to_string(t);
      if (!cv::record_grant(
              *ledger, loaded.gate,
              {.id = agent + "@1", .subject = agent, .issuer = "bench", .rights = rights}, {})) {
        std::abort();
      }
    }
    gated = std::make_unique<cv::GatedLedger>(cv::GatedLedger::open(*ledger).value());
  }
  void release() {
    std::lock_guard lock(mu);
    if (--users > 0) return;
    gated.reset();
    ledger.reset();
    dir.reset();
  }
};
Appender g_appender;
std::atomic<std::int64_t> g_stamp{0};

wl::TraceNode bench_node(int thread) {
  return wl::TraceNode::create(
             wl::NodeDraft{.origin = "agent.bench." + std::to_string(thread % 8),
                           .kind = "agent.action",
                           .timestamp = wl::Timestamp(std::chrono::nanoseconds(++g_stamp)),
                           .tags = {"severity:high"},
                           .payload_json = R"({"action":"block","ip":"10.0.0.7","score":0.97})"})
      .value();
}

// range(0): 0 ungated, 1 gated; range(1): nodes per append (1: append, else append_batch).
void BM_Append(benchmark::State& state) {
  g_appender.acquire();
  const bool gated = state.range(0) == 1;
  const auto batch = static_cast<std::size_t>(state.range(1));
  std::vector<wl::TraceNode> nodes;
  for (auto _ : state) {
    nodes.clear();
    for (std::size_t i = 0; i < batch; ++i) nodes.push_back(bench_node(state.thread_index()));
    bool ok = false;
    if (batch == 1) {
      ok = gated ? g_appender.gated->append(nodes[0]).has_value()
                 : g_appender.ledger->append(nodes[0]).has_value();
    } else {
      ok =
          gated
              ? g_appender.gated->append_batch(nodes, witness::ledger::BatchMode::kEach).has_value()
              : g_appender.ledger->append_batch(nodes).has_value();
    }
    if (!ok) {
      state.SkipWithError("append failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
  g_appender.release();
}
BENCHMARK(BM_Append)
    ->ArgNames({"gated", "batch"})
    ->ArgsProduct({{0, 1}, {1, 64}})
    ->Threads(1)
    ->Threads(4)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
