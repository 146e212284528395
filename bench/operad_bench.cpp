// Law-suite timings (SPEC 10: 100 cases of associativity on agent pipelines <= 5 ms): each
// shipped suite's laws, one benchmark iteration = one 100-case run of one law, fixed seed.
// Also the raw cost of composing and evaluating pipelines, without RapidCheck around it.
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "witness/operad/pipeline.hpp"
#include "witness/operad/suites.hpp"

namespace op = witness::operad;

namespace {

void run_law(benchmark::State& state, const std::string& suite, const std::string& law) {
  const int cases = static_cast<int>(state.range(0));
  for (auto _ : state) {
    auto report = op::run_suite(suite, {.cases = cases, .seed = 1, .laws = {law}});
    if (!report || !report->passed()) {
      state.SkipWithError(("law failed: " + suite + " " + law).c_str());
      return;
    }
    benchmark::DoNotOptimize(report);
  }
  // Seconds per case, shown by Google Benchmark as a rate inverted (e.g. "12.3us").
  state.counters["per_case"] =
      benchmark::Counter(static_cast<double>(cases) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void register_suites() {
  for (const auto& suite : op::shipped_suites()) {
    for (const auto& law : suite.laws) {
      benchmark::RegisterBenchmark(("BM_Law/" + suite.name + "/" + law.name).c_str(), run_law,
                                   suite.name, law.name)
          ->Arg(100)
          ->Unit(benchmark::kMillisecond);
    }
  }
}

op::Pipeline lin2() {
  return op::Pipeline::make("lin", {op::Type::integer(), op::Type::integer()}, op::Type::integer(),
                            [](std::span<const op::Value> xs) -> witness::Result<op::Value> {
                              return op::Value(xs[0].as_int() + 2 * xs[1].as_int());
                            })
      .value();
}

// Three grafts and one evaluation of the result: the work of one associativity side.
void BM_PipelineComposeEvaluate(benchmark::State& state) {
  const op::Pipeline f = lin2();
  const std::vector<op::Value> xs{op::Value(std::int64_t{1}), op::Value(std::int64_t{2}),
                                  op::Value(std::int64_t{3}), op::Value(std::int64_t{4})};
  for (auto _ : state) {
    auto g = op::compose(f, 1, f);
    auto h = op::compose(*g, 0, f);
    auto out = (*h)(xs);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_PipelineComposeEvaluate);

}  // namespace

int main(int argc, char** argv) {
  register_suites();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
