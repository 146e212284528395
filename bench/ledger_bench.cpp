// Ledger benchmarks against SPEC 10. Run through `make bench` (scripts/bench.sh), which also
// runs RocksDB's db_bench with the same key/value sizes and prints the ratios.
//
// Ledgers live in fresh directories under $TMPDIR (default /tmp); the large ledger for the
// query and replay benchmarks has $WITNESS_BENCH_QUERY_NODES entries (default 1000000).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "witness/ledger/ledger.hpp"

#include "temp_dir.hpp"

namespace {

using witness::ledger::AppendOptions;
using witness::ledger::Durability;
using witness::ledger::Ledger;
using witness::ledger::NodeDraft;
using witness::ledger::OpenOptions;
using witness::ledger::TraceNode;

const std::string& payload_256() {
  // A 256-byte canonical JSON object, the size SPEC 10 names.
  static const std::string p = [] {
    std::string s = R"({"action":"block","detail":")";
    s += std::string(256 - s.size() - 3 - 12, 'x');
    s += R"(","n":12345})";
    return s;
  }();
  return p;
}

std::atomic<std::int64_t> g_counter{0};

TraceNode make_node(const std::string& origin, std::int64_t i) {
  NodeDraft d;
  d.origin = origin;
  d.kind = "agent.action";
  d.timestamp = witness::ledger::Timestamp(std::chrono::nanoseconds(1'700'000'000'000'000'000 + i));
  d.walk = "run-" + std::to_string(i % 64);
  d.tags = {"bench"};
  d.payload_json = payload_256();
  return *TraceNode::create(std::move(d));
}

std::vector<TraceNode> make_nodes(std::size_t n) {
  std::vector<TraceNode> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(make_node("agent." + std::to_string(i % 16), g_counter++));
  return out;
}

// One ledger per benchmark run, shared by its threads.
struct SharedLedger {
  std::mutex mu;
  std::unique_ptr<witness::testing::TempDir> dir;
  std::unique_ptr<Ledger> ledger;
  int users = 0;

  Ledger& acquire(Durability d) {
    std::lock_guard lock(mu);
    if (users++ == 0) {
      dir = std::make_unique<witness::testing::TempDir>();
      ledger = std::make_unique<Ledger>(*Ledger::open(
          dir->path() / "l", OpenOptions{.create_if_missing = true, .durability = d}));
    }
    return *ledger;
  }
  void release() {
    std::lock_guard lock(mu);
    if (--users == 0) {
      ledger.reset();
      dir.reset();
    }
  }
};
SharedLedger g_shared;

void BM_NodeCreate(benchmark::State& state) {
  std::int64_t i = 0;
  for (auto _ : state) {
    NodeDraft d;
    d.origin = "agent.bench";
    d.kind = "agent.action";
    d.timestamp = witness::ledger::Timestamp(std::chrono::nanoseconds(++i));
    d.payload_json = payload_256();
    auto n = TraceNode::create(std::move(d));
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_NodeCreate);

// Batches of range(0) nodes; range(1): 0 buffered, 1 sync. Threads from ->Threads().
void BM_AppendBatch(benchmark::State& state) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  const Durability d = state.range(1) == 0 ? Durability::kBuffered : Durability::kSync;
  Ledger& l = g_shared.acquire(d);
  for (auto _ : state) {
    state.PauseTiming();
    auto nodes = make_nodes(batch);
    state.ResumeTiming();
    auto r = l.append_batch(nodes);
    if (!r) state.SkipWithError(r.error().message.c_str());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch));
  g_shared.release();
}
BENCHMARK(BM_AppendBatch)
    ->ArgsProduct({{100, 1000}, {0}})
    ->Threads(1)
    ->Threads(2)
    ->Threads(8)
    ->UseRealTime();
BENCHMARK(BM_AppendBatch)->Args({100, 1})->Threads(1)->Threads(8)->UseRealTime();
BENCHMARK(BM_AppendBatch)->Args({1, 1})->Threads(8)->UseRealTime();

// Single appends with per-call latency percentiles (p50, p99) as counters.
void BM_AppendSingle(benchmark::State& state) {
  Ledger& l = g_shared.acquire(Durability::kBuffered);
  std::vector<double> us;
  us.reserve(1U << 20U);
  for (auto _ : state) {
    state.PauseTiming();
    auto n = make_node("agent.single", g_counter++);
    state.ResumeTiming();
    const auto t0 = std::chrono::steady_clock::now();
    auto r = l.append(n);
    const auto t1 = std::chrono::steady_clock::now();
    if (!r) state.SkipWithError(r.error().message.c_str());
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(us.begin(), us.end());
  if (!us.empty()) {
    state.counters["p50_us"] = us[us.size() / 2];
    state.counters["p99_us"] = us[us.size() * 99 / 100];
  }
  state.SetItemsProcessed(state.iterations());
  g_shared.release();
}
BENCHMARK(BM_AppendSingle)->Threads(1)->Threads(8)->UseRealTime();

// Newest 1000 entries of one origin (1/16 of the nodes) in a large ledger.
struct QueryLedger {
  witness::testing::TempDir dir;
  std::unique_ptr<Ledger> ledger;
  QueryLedger() {
    const char* env = std::getenv("WITNESS_BENCH_QUERY_NODES");  // NOLINT(concurrency-mt-unsafe)
    const std::size_t n = env != nullptr ? std::stoull(env) : 1'000'000;
    ledger = std::make_unique<Ledger>(
        *Ledger::open(dir.path() / "q", OpenOptions{.create_if_missing = true}));
    for (std::size_t done = 0; done < n; done += 1000) {
      auto r = ledger->append_batch(make_nodes(std::min<std::size_t>(1000, n - done)));
      if (!r) std::abort();
    }
  }
};

QueryLedger& query_ledger() {
  static QueryLedger q;
  return q;
}

void BM_QueryNewest1000OneOrigin(benchmark::State& state) {
  Ledger& l = *query_ledger().ledger;
  state.counters["ledger_nodes"] = static_cast<double>(l.size());
  for (auto _ : state) {
    auto r = l.query(
        {.origin = "agent.3", .order = witness::ledger::Order::kNewestFirst, .limit = 1000});
    std::size_t n = 0;
    for (const auto& e : *r) {
      benchmark::DoNotOptimize(e);
      ++n;
    }
    if (n != 1000) state.SkipWithError("expected 1000 entries");
  }
}
BENCHMARK(BM_QueryNewest1000OneOrigin)->Unit(benchmark::kMillisecond);

void BM_ReplayVerify(benchmark::State& state) {
  Ledger& l = *query_ledger().ledger;
  const auto to = std::min<std::uint64_t>(l.size(), 200'000) - 1;
  for (auto _ : state) {
    auto s = l.replay({.to_seq = to, .verify_chain = state.range(0) == 1},
                      [](const witness::ledger::Entry& e) {
                        benchmark::DoNotOptimize(e);
                        return witness::ok_status();
                      });
    if (!s) state.SkipWithError(s.error().message.c_str());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(to + 1));
}
BENCHMARK(BM_ReplayVerify)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

// Inclusion proof of a random entry at the full size (SPEC 10: generate <= 20 us at 10 M).
void BM_InclusionProofGenerate(benchmark::State& state) {
  Ledger& l = *query_ledger().ledger;
  const std::uint64_t n = l.size();
  state.counters["ledger_nodes"] = static_cast<double>(n);
  std::uint64_t x = 88172645463325252ULL;
  for (auto _ : state) {
    x ^= x << 13U;
    x ^= x >> 7U;
    x ^= x << 17U;
    auto claim = l.inclusion_proof(x % n, n);
    if (!claim) state.SkipWithError(claim.error().message.c_str());
    benchmark::DoNotOptimize(claim);
  }
}
BENCHMARK(BM_InclusionProofGenerate)->Unit(benchmark::kMicrosecond);

// Verifying an inclusion proof with the standalone verifier (SPEC 10: <= 10 us at 10 M).
void BM_InclusionProofVerify(benchmark::State& state) {
  Ledger& l = *query_ledger().ledger;
  const std::uint64_t n = l.size();
  const auto claim = *l.inclusion_proof(n / 3, n);
  state.counters["proof_hashes"] = static_cast<double>(claim.proof.hashes.size());
  for (auto _ : state) {
    auto ok = witness::ledger::verify_claim(claim);
    if (!ok) state.SkipWithError("proof does not verify");
  }
}
BENCHMARK(BM_InclusionProofVerify)->Unit(benchmark::kMicrosecond);

void BM_ConsistencyProofGenerate(benchmark::State& state) {
  Ledger& l = *query_ledger().ledger;
  const std::uint64_t n = l.size();
  std::uint64_t m = 1;
  for (auto _ : state) {
    m = (m * 6364136223846793005ULL + 1442695040888963407ULL);
    auto claim = l.consistency_proof(1 + m % (n - 1), n);
    if (!claim) state.SkipWithError(claim.error().message.c_str());
    benchmark::DoNotOptimize(claim);
  }
}
BENCHMARK(BM_ConsistencyProofGenerate)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
