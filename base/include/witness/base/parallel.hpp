// parallel_chunks: a loop over [0, n) split into contiguous chunks, one per thread.
//
//   std::vector<Result<TraceNode>> out(lines.size(), ...);
//   witness::parallel_chunks(lines.size(), 2048, [&](std::size_t begin, std::size_t end) {
//     for (std::size_t i = begin; i < end; ++i) out[i] = parse(lines[i]);
//   });
//
// For CPU-bound work on independent items (parsing, canonicalising, hashing) whose results go
// to disjoint slots. The calling thread runs the first chunk; it returns when every chunk is
// done. REQUIRES: `fn` is safe to run concurrently on disjoint ranges and does not throw.
#pragma once

#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>

namespace witness {

// Runs fn(begin, end) on at most hardware_concurrency (and 8) threads, with at least
// `min_per_thread` items each: small inputs run on the calling thread alone.
template <typename F>
void parallel_chunks(std::size_t n, std::size_t min_per_thread, F&& fn) {
  constexpr std::size_t kMaxThreads = 8;
  const std::size_t hw = std::max<std::size_t>(1, std::thread::hardware_concurrency());
  const std::size_t by_size =
      std::max<std::size_t>(1, n / std::max<std::size_t>(1, min_per_thread));
  const std::size_t threads = std::min({hw, kMaxThreads, by_size});
  const std::size_t chunk = (n + threads - 1) / threads;  // threads >= 1
  std::vector<std::jthread> workers;
  for (std::size_t t = 1; t < threads; ++t) {
    const std::size_t begin = std::min(n, t * chunk);
    const std::size_t end = std::min(n, (t + 1) * chunk);
    if (begin < end) workers.emplace_back([&fn, begin, end] { fn(begin, end); });
  }
  fn(0, std::min(n, chunk));
}  // the workers join here

}  // namespace witness
