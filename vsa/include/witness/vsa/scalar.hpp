// Scalar encodings (SPEC 6.4) whose similarity falls smoothly with distance. linear, log and
// circular use two atoms A and B of the encoder's name and one threshold u_i in [0, 1) per
// component (from the name's keystream): component i of the encoding of x is B_i when x's
// position t passes u_i, else A_i. Two values then differ on a fraction of components equal to
// the distance of their positions, so cosine falls linearly from 1 (equal values) toward 0
// (opposite ends), in dim steps rather than a few quantised patterns. thermometer is the classic
// deterministic code: +1 on the first t * dim components, -1 after (cosine 1 - 2 |t1 - t2|).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/vsa/vector.hpp"

namespace witness::vsa {

// Thread safety: immutable after construction; encode() may be called concurrently.
class ScalarEncoder {
 public:
  enum class Kind : std::uint8_t { kLinear, kLog, kCircular, kThermometer };

  // Values in [lo, hi], clamped; position t = (x - lo) / (hi - lo). Errors: kInvalidArgument
  // unless lo < hi (both finite).
  [[nodiscard]] static Result<ScalarEncoder> linear(std::uint64_t seed, std::string_view name,
                                                    double lo, double hi,
                                                    std::size_t dim = kDefaultDimension);
  // Positions on a log scale: t = (ln x - ln lo) / (ln hi - ln lo). Errors: unless 0 < lo < hi.
  [[nodiscard]] static Result<ScalarEncoder> log(std::uint64_t seed, std::string_view name,
                                                 double lo, double hi,
                                                 std::size_t dim = kDefaultDimension);
  // Values modulo `period` (hours of a day: 24); t = frac(x / period); distance is around the
  // circle, so x and x + period encode equally. Errors: unless period > 0.
  [[nodiscard]] static Result<ScalarEncoder> circular(std::uint64_t seed, std::string_view name,
                                                      double period,
                                                      std::size_t dim = kDefaultDimension);
  // Errors: unless lo < hi.
  [[nodiscard]] static Result<ScalarEncoder> thermometer(double lo, double hi,
                                                         std::size_t dim = kDefaultDimension);

  [[nodiscard]] Vector encode(double x) const;
  // cosine(encode(x), encode(y)), exactly, without building either vector: O(log dim) from
  // prefix sums over the components sorted by threshold (linear and log; the other kinds encode
  // both and take the cosine).
  [[nodiscard]] double similarity(double x, double y) const;
  // x's position t in [0, 1).
  [[nodiscard]] double position(double x) const;
  [[nodiscard]] Kind kind() const { return kind_; }
  [[nodiscard]] std::size_t dim() const { return dim_; }

 private:
  ScalarEncoder(Kind kind, std::size_t dim) : kind_(kind), dim_(dim) {}
  void draw(std::uint64_t seed, std::string_view name);
  Kind kind_;
  std::size_t dim_;
  double lo_ = 0;
  double hi_ = 1;
  double period_ = 1;
  std::vector<std::int8_t> a_;
  std::vector<std::int8_t> b_;
  std::vector<std::uint16_t> u_;  // thresholds in 1/65536 units: 16-bit lanes vectorise
  // For similarity(): the thresholds sorted, and prefix sums in that order of A_i^2, B_i^2 and
  // A_i * B_i (linear and log only).
  std::vector<std::uint16_t> sorted_u_;
  std::vector<std::int32_t> sum_aa_;
  std::vector<std::int32_t> sum_bb_;
  std::vector<std::int32_t> sum_ab_;
  [[nodiscard]] std::uint32_t level(double x) const;
};

}  // namespace witness::vsa
