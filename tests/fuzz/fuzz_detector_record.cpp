// libFuzzer target: the detector's record parser and scoring (witness detect). The input is
// split at newlines into records fed to a detector with a warm-up of 6, so both the warm-up and
// the scoring paths see fuzzed records. Invariants: a refused record changes nothing (the record
// count stays), verdicts have p-values in (0, 1] and finite, non-negative novelty.
#include <cmath>
#include <cstdint>
#include <string_view>

#include "witness/base/result.hpp"
#include "witness/detect/detector.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);  // NOLINT
  witness::detect::DetectorConfig config;
  config.warmup = 6;
  config.warmup_s = 0;
  config.alpha = 0.25;
  config.dim = 256;
  auto d = witness::detect::Detector::create(config);
  WITNESS_CHECK(d.has_value());
  while (!input.empty()) {
    const auto cut = input.find('\n');
    const std::string_view line = input.substr(0, cut);
    input = cut == std::string_view::npos ? std::string_view() : input.substr(cut + 1);
    const auto before = d->records();
    auto v = d->observe(line);
    if (!v) {
      WITNESS_CHECK(d->records() == before);
      continue;
    }
    WITNESS_CHECK(d->records() == before + 1);
    WITNESS_CHECK(v->p_value > 0 && v->p_value <= 1);
    WITNESS_CHECK(std::isfinite(v->novelty) && v->novelty >= 0);
    for (const auto& a : d->take_alerts()) WITNESS_CHECK(a.onset <= a.offset);
  }
  for (const auto& a : d->finish()) WITNESS_CHECK(!a.to_json().empty());
  return 0;
}
