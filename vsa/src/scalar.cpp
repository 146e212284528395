#include "witness/vsa/scalar.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "witness/vsa/atoms.hpp"
#include "witness/vsa/ops.hpp"

namespace witness::vsa {
namespace {

Status check_range(const char* what, double lo, double hi) {
  if (std::isfinite(lo) && std::isfinite(hi) && lo < hi) return ok_status();
  return invalid_argument(std::string(what) + " encoder: need finite lo < hi, got [" +
                          std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

}  // namespace

void ScalarEncoder::draw(std::uint64_t seed, std::string_view name) {
  const std::string n(name);
  const Vector a = make_atom(seed, n + "#a", dim_);
  const Vector b = make_atom(seed, n + "#b", dim_);
  a_.assign(a.components().begin(), a.components().end());
  b_.assign(b.components().begin(), b.components().end());
  std::vector<std::uint8_t> bytes(2 * dim_);
  keystream(seed, n + "#u", bytes);
  u_.resize(dim_);
  for (std::size_t i = 0; i < dim_; ++i) {
    u_[i] =
        static_cast<std::uint16_t>(bytes[2 * i] | (static_cast<unsigned>(bytes[2 * i + 1]) << 8U));
  }
  if (kind_ != Kind::kLinear && kind_ != Kind::kLog) return;  // similarity() encodes those
  std::vector<std::uint32_t> order(dim_);
  for (std::size_t i = 0; i < dim_; ++i) order[i] = static_cast<std::uint32_t>(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::uint32_t x, std::uint32_t y) { return u_[x] < u_[y]; });
  sorted_u_.resize(dim_);
  sum_aa_.assign(dim_ + 1, 0);
  sum_bb_.assign(dim_ + 1, 0);
  sum_ab_.assign(dim_ + 1, 0);
  for (std::size_t j = 0; j < dim_; ++j) {
    const std::size_t i = order[j];
    sorted_u_[j] = u_[i];
    sum_aa_[j + 1] = sum_aa_[j] + a_[i] * a_[i];
    sum_bb_[j + 1] = sum_bb_[j] + b_[i] * b_[i];
    sum_ab_[j + 1] = sum_ab_[j] + a_[i] * b_[i];
  }
}

std::uint32_t ScalarEncoder::level(double x) const {
  // u_i < t, with u_i = (U_i + 0.5) / 65536: U_i < t * 65536 - 0.5.
  const double limit = position(x) * 65536.0 - 0.5;
  return static_cast<std::uint32_t>(std::clamp(std::ceil(limit), 0.0, 65536.0));
}

double ScalarEncoder::similarity(double x, double y) const {
  if (kind_ != Kind::kLinear && kind_ != Kind::kLog) {
    return cosine(encode(x), encode(y)).value();  // same dimension by construction
  }
  // Components with U_i < level are B_i, the others A_i. With k1 <= k2 the counts of
  // thresholds below x's and y's levels: B*B below k1, A*B between, A*A from k2 on.
  auto count_below = [&](std::uint32_t lv) {
    return static_cast<std::size_t>(std::lower_bound(sorted_u_.begin(), sorted_u_.end(), lv) -
                                    sorted_u_.begin());
  };
  std::size_t k1 = count_below(level(x));
  std::size_t k2 = count_below(level(y));
  if (k1 > k2) std::swap(k1, k2);
  const std::int64_t total_aa = sum_aa_[dim_];
  const std::int64_t d =
      std::int64_t{sum_bb_[k1]} + (sum_ab_[k2] - sum_ab_[k1]) + (total_aa - sum_aa_[k2]);
  const std::int64_t n1 = std::int64_t{sum_bb_[k1]} + (total_aa - sum_aa_[k1]);
  const std::int64_t n2 = std::int64_t{sum_bb_[k2]} + (total_aa - sum_aa_[k2]);
  if (n1 == 0 || n2 == 0) return 0.0;
  return static_cast<double>(d) / std::sqrt(static_cast<double>(n1) * static_cast<double>(n2));
}

Result<ScalarEncoder> ScalarEncoder::linear(std::uint64_t seed, std::string_view name, double lo,
                                            double hi, std::size_t dim) {
  WITNESS_RETURN_IF_ERROR(check_range("linear", lo, hi));
  ScalarEncoder e(Kind::kLinear, dim);
  e.lo_ = lo;
  e.hi_ = hi;
  e.draw(seed, name);
  return e;
}

Result<ScalarEncoder> ScalarEncoder::log(std::uint64_t seed, std::string_view name, double lo,
                                         double hi, std::size_t dim) {
  WITNESS_RETURN_IF_ERROR(check_range("log", lo, hi));
  if (!(lo > 0)) return invalid_argument("log encoder: need lo > 0, got " + std::to_string(lo));
  ScalarEncoder e(Kind::kLog, dim);
  e.lo_ = std::log(lo);
  e.hi_ = std::log(hi);
  e.draw(seed, name);
  return e;
}

Result<ScalarEncoder> ScalarEncoder::circular(std::uint64_t seed, std::string_view name,
                                              double period, std::size_t dim) {
  if (!std::isfinite(period) || period <= 0) {
    return invalid_argument("circular encoder: need a period > 0, got " + std::to_string(period));
  }
  ScalarEncoder e(Kind::kCircular, dim);
  e.period_ = period;
  e.draw(seed, name);
  return e;
}

Result<ScalarEncoder> ScalarEncoder::thermometer(double lo, double hi, std::size_t dim) {
  WITNESS_RETURN_IF_ERROR(check_range("thermometer", lo, hi));
  ScalarEncoder e(Kind::kThermometer, dim);
  e.lo_ = lo;
  e.hi_ = hi;
  return e;
}

double ScalarEncoder::position(double x) const {
  if (std::isnan(x)) return 0;
  switch (kind_) {
    case Kind::kCircular: {
      const double t = x / period_ - std::floor(x / period_);
      return t >= 1.0 ? 0.0 : t;
    }
    case Kind::kLog:
      x = x > 0 ? std::log(x) : lo_;
      [[fallthrough]];
    case Kind::kLinear:
    case Kind::kThermometer:
      return std::clamp((x - lo_) / (hi_ - lo_), 0.0, 1.0);
  }
  return 0;
}

Vector ScalarEncoder::encode(double x) const {
  Vector v(dim_);
  auto c = v.components();
  const double t = position(x);
  switch (kind_) {
    case Kind::kThermometer: {
      const auto on = static_cast<std::size_t>(std::llround(t * static_cast<double>(dim_)));
      for (std::size_t i = 0; i < dim_; ++i) c[i] = i < on ? std::int8_t{1} : std::int8_t{-1};
      break;
    }
    case Kind::kCircular: {
      // B on the half circle after u_i: each component flips at u_i and u_i + 1/2. In 16-bit
      // fixed point the circle is the wrap-around of uint16 arithmetic.
      const auto tt = static_cast<std::uint16_t>(std::min(65535.0, t * 65536.0));
      for (std::size_t i = 0; i < dim_; ++i) {
        const auto d = static_cast<std::uint16_t>(tt - u_[i]);
        c[i] = d < 32768 ? b_[i] : a_[i];
      }
      break;
    }
    case Kind::kLinear:
    case Kind::kLog: {
      const std::uint32_t tt = level(x);
      for (std::size_t i = 0; i < dim_; ++i) c[i] = u_[i] < tt ? b_[i] : a_[i];
      break;
    }
  }
  return v;
}

}  // namespace witness::vsa
