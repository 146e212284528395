// Primitives, similarities and their kernels. The portable kernels are loops over whole 32-byte
// lanes (the padding makes every length a multiple of 32) that GCC and Clang vectorise; on
// x86-64 they are compiled for AVX2 and for the baseline and the loader picks one (target_clones).
// The hottest (product, dot, norms, differences) also have AVX2 intrinsic versions that use the
// ternary values (vpsignb is the product), chosen once at start-up when the CPU has AVX2, so one
// binary is fast on AVX2 machines and still runs on older ones.
#include "witness/vsa/ops.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <string>

namespace witness::vsa {

// -Wundef-safe: WITNESS_VSA_X86 is always defined, to 0 or 1.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define WITNESS_VSA_X86 1  // NOLINT(cppcoreguidelines-macro-usage): tested by #if
// Not under ThreadSanitizer: the loader runs target_clones' resolvers before TSan's runtime is
// up, and an instrumented resolver crashes at load (seen in `make tsan`'s serve tests once serve
// linked vsa). The AVX2 kernels below are chosen at run time all the same.
#if defined(__SANITIZE_THREAD__)
#define WITNESS_VSA_CLONES
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WITNESS_VSA_CLONES
#endif
#endif
#ifndef WITNESS_VSA_CLONES
#define WITNESS_VSA_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#else
#define WITNESS_VSA_X86 0
#define WITNESS_VSA_CLONES
#endif

namespace kernel {

constexpr std::size_t kLane = kAlignment;
constexpr std::size_t kChunk = std::size_t{1} << 24U;

namespace portable {

// Each loop runs over whole 32-byte blocks with a fixed-length inner loop, so the vectoriser needs
// no remainder loop and no runtime checks (GCC's -O2 "very cheap" cost model vectorises only
// such loops); sums of products accumulate in int32 lanes over chunks short enough that no lane
// can overflow, then widen to int64.

WITNESS_VSA_CLONES void mul(const std::int8_t* __restrict a, const std::int8_t* __restrict b,
                            std::int8_t* __restrict out, std::size_t n) {
  for (std::size_t blk = 0; blk < n; blk += kLane) {
    for (std::size_t j = 0; j < kLane; ++j) {
      out[blk + j] = static_cast<std::int8_t>(a[blk + j] * b[blk + j]);
    }
  }
}

WITNESS_VSA_CLONES std::int64_t dot(const std::int8_t* a, const std::int8_t* b, std::size_t n) {
  std::int64_t total = 0;
  for (std::size_t start = 0; start < n; start += kChunk) {
    const std::size_t end = std::min(n, start + kChunk);
    std::int32_t part = 0;
    for (std::size_t blk = start; blk < end; blk += kLane) {
      for (std::size_t j = 0; j < kLane; ++j) part += a[blk + j] * b[blk + j];
    }
    total += part;
  }
  return total;
}

WITNESS_VSA_CLONES void dot_norms(const std::int8_t* a, const std::int8_t* b, std::size_t n,
                                  std::int64_t& d, std::int64_t& na, std::int64_t& nb) {
  d = 0;
  na = 0;
  nb = 0;
  for (std::size_t start = 0; start < n; start += kChunk) {
    const std::size_t end = std::min(n, start + kChunk);
    std::int32_t sd = 0;
    std::int32_t sa = 0;
    std::int32_t sb = 0;
    for (std::size_t blk = start; blk < end; blk += kLane) {
      for (std::size_t j = 0; j < kLane; ++j) {
        const std::int32_t x = a[blk + j];
        const std::int32_t y = b[blk + j];
        sd += x * y;
        sa += x * x;
        sb += y * y;
      }
    }
    d += sd;
    na += sa;
    nb += sb;
  }
}

WITNESS_VSA_CLONES std::size_t differ(const std::int8_t* a, const std::int8_t* b, std::size_t n) {
  std::size_t total = 0;
  for (std::size_t start = 0; start < n; start += kChunk) {
    const std::size_t end = std::min(n, start + kChunk);
    std::uint32_t count = 0;
    for (std::size_t blk = start; blk < end; blk += kLane) {
      for (std::size_t j = 0; j < kLane; ++j) count += a[blk + j] != b[blk + j] ? 1U : 0U;
    }
    total += count;
  }
  return total;
}

}  // namespace portable

namespace {
#if WITNESS_VSA_X86
// NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast): SIMD loads and stores take __m256i*
// AVX2 kernels for ternary inputs. For b in {-1, 0, +1}, vpsignb(a, b) = a * b exactly, so a
// product is one instruction; vpmaddubsw against ones sums pairs of them into 16-bit lanes, and
// vpmaddwd against ones widens those to 8 int32 lane sums once per block.
__attribute__((target("avx2"))) std::int64_t hsum(__m256i v) {
  alignas(32) std::int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), v);
  std::int64_t total = 0;
  for (const std::int32_t x : lanes) total += x;
  return total;
}

__attribute__((target("avx2"))) void mul_avx2(const std::int8_t* a, const std::int8_t* b,
                                              std::int8_t* out, std::size_t n) {
  for (std::size_t i = 0; i < n; i += 32) {
    const __m256i x = _mm256_load_si256(reinterpret_cast<const __m256i*>(a + i));
    const __m256i y = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + i));
    _mm256_store_si256(reinterpret_cast<__m256i*>(out + i), _mm256_sign_epi8(x, y));
  }
}

// Pair sums of int8 products go into int16 lanes (maddubs: at most 2 per step, so 4096 steps
// stay below 2^13) and widen to int32 once per block, not once per step.
constexpr std::size_t kBlock16 = std::size_t{32} * 4096;

__attribute__((target("avx2"))) std::int64_t dot_avx2(const std::int8_t* a, const std::int8_t* b,
                                                      std::size_t n) {
  const __m256i ones8 = _mm256_set1_epi8(1);
  const __m256i ones16 = _mm256_set1_epi16(1);
  std::int64_t total = 0;
  for (std::size_t start = 0; start < n; start += kChunk) {
    const std::size_t end = std::min(n, start + kChunk);
    __m256i acc = _mm256_setzero_si256();
    for (std::size_t block = start; block < end; block += kBlock16) {
      const std::size_t stop = std::min(end, block + kBlock16);
      __m256i acc16 = _mm256_setzero_si256();
      for (std::size_t i = block; i < stop; i += 32) {
        const __m256i x = _mm256_load_si256(reinterpret_cast<const __m256i*>(a + i));
        const __m256i y = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + i));
        acc16 = _mm256_add_epi16(acc16, _mm256_maddubs_epi16(ones8, _mm256_sign_epi8(x, y)));
      }
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(acc16, ones16));
    }
    total += hsum(acc);
  }
  return total;
}

__attribute__((target("avx2"))) void dot_norms_avx2(const std::int8_t* a, const std::int8_t* b,
                                                    std::size_t n, std::int64_t& d,
                                                    std::int64_t& na, std::int64_t& nb) {
  const __m256i ones8 = _mm256_set1_epi8(1);
  const __m256i ones16 = _mm256_set1_epi16(1);
  d = 0;
  na = 0;
  nb = 0;
  for (std::size_t start = 0; start < n; start += kChunk) {
    const std::size_t end = std::min(n, start + kChunk);
    __m256i acc = _mm256_setzero_si256();
    __m256i acc_a = _mm256_setzero_si256();
    __m256i acc_b = _mm256_setzero_si256();
    for (std::size_t block = start; block < end; block += kBlock16) {
      const std::size_t stop = std::min(end, block + kBlock16);
      __m256i s = _mm256_setzero_si256();
      __m256i sa = _mm256_setzero_si256();
      __m256i sb = _mm256_setzero_si256();
      for (std::size_t i = block; i < stop; i += 32) {
        const __m256i x = _mm256_load_si256(reinterpret_cast<const __m256i*>(a + i));
        const __m256i y = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + i));
        s = _mm256_add_epi16(s, _mm256_maddubs_epi16(ones8, _mm256_sign_epi8(x, y)));
        sa = _mm256_add_epi16(sa, _mm256_maddubs_epi16(_mm256_abs_epi8(x), ones8));
        sb = _mm256_add_epi16(sb, _mm256_maddubs_epi16(_mm256_abs_epi8(y), ones8));
      }
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(s, ones16));
      acc_a = _mm256_add_epi32(acc_a, _mm256_madd_epi16(sa, ones16));
      acc_b = _mm256_add_epi32(acc_b, _mm256_madd_epi16(sb, ones16));
    }
    d += hsum(acc);
    na += hsum(acc_a);
    nb += hsum(acc_b);
  }
}

__attribute__((target("avx2"))) std::size_t differ_avx2(const std::int8_t* a, const std::int8_t* b,
                                                        std::size_t n) {
  std::size_t equal = 0;
  for (std::size_t i = 0; i < n; i += 32) {
    const __m256i x = _mm256_load_si256(reinterpret_cast<const __m256i*>(a + i));
    const __m256i y = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + i));
    const auto mask = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, y)));
    equal += static_cast<std::size_t>(__builtin_popcount(mask));
  }
  return n - equal;
}

// Runs during static initialisation, possibly before libgcc has read the CPU model: init first.
bool have_avx2() {
  __builtin_cpu_init();
  return static_cast<int>(__builtin_cpu_supports("avx2")) != 0;
}
const bool kHaveAvx2 = have_avx2();
// NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast)
#endif

}  // namespace

void mul(const std::int8_t* a, const std::int8_t* b, std::int8_t* out, std::size_t n) {
#if WITNESS_VSA_X86
  if (kHaveAvx2) return mul_avx2(a, b, out, n);
#endif
  mul(a, b, out, n);
}

std::int64_t dot(const std::int8_t* a, const std::int8_t* b, std::size_t n) {
#if WITNESS_VSA_X86
  if (kHaveAvx2) return dot_avx2(a, b, n);
#endif
  return dot(a, b, n);
}

void dot_norms(const std::int8_t* a, const std::int8_t* b, std::size_t n, std::int64_t& d,
               std::int64_t& na, std::int64_t& nb) {
#if WITNESS_VSA_X86
  if (kHaveAvx2) return dot_norms_avx2(a, b, n, d, na, nb);
#endif
  dot_norms(a, b, n, d, na, nb);
}

std::size_t differ(const std::int8_t* a, const std::int8_t* b, std::size_t n) {
#if WITNESS_VSA_X86
  if (kHaveAvx2) return differ_avx2(a, b, n);
#endif
  return differ(a, b, n);
}

WITNESS_VSA_CLONES void accumulate(const std::int8_t* __restrict a, std::int32_t* __restrict sums,
                                   std::size_t n) {
  for (std::size_t blk = 0; blk < n; blk += kLane) {
    for (std::size_t j = 0; j < kLane; ++j) sums[blk + j] += a[blk + j];
  }
}

WITNESS_VSA_CLONES void accumulate_product(const std::int8_t* __restrict a,
                                           const std::int8_t* __restrict b,
                                           std::int32_t* __restrict sums, std::size_t n) {
  for (std::size_t blk = 0; blk < n; blk += kLane) {
    for (std::size_t j = 0; j < kLane; ++j) sums[blk + j] += a[blk + j] * b[blk + j];
  }
}

WITNESS_VSA_CLONES void sign(const std::int32_t* __restrict sums, std::int8_t* __restrict out,
                             std::size_t n) {
  for (std::size_t blk = 0; blk < n; blk += kLane) {
    for (std::size_t j = 0; j < kLane; ++j) {
      const std::int32_t s = sums[blk + j];
      out[blk + j] = static_cast<std::int8_t>(static_cast<int>(s > 0) - static_cast<int>(s < 0));
    }
  }
}

}  // namespace kernel

namespace {

Status same_dim(const char* what, const Vector& a, const Vector& b) {
  if (a.dim() == b.dim()) return ok_status();
  return invalid_argument(std::string(what) + ": dimensions " + std::to_string(a.dim()) + " and " +
                          std::to_string(b.dim()) + " differ");
}

template <typename F>
Result<Vector> zip(const char* what, const Vector& a, const Vector& b, F f) {
  WITNESS_RETURN_IF_ERROR(same_dim(what, a, b));
  Vector out(a.dim());
  const std::int8_t* pa = a.raw();
  const std::int8_t* pb = b.raw();
  std::int8_t* po = out.raw();
  for (std::size_t i = 0; i < a.padded(); ++i) po[i] = f(pa[i], pb[i]);
  return out;
}

std::int8_t sign_of(double x) {
  return static_cast<std::int8_t>(static_cast<int>(x > 0) - static_cast<int>(x < 0));
}
std::int8_t clamp1(int x) { return static_cast<std::int8_t>(std::clamp(x, -1, 1)); }

Status check_all(const char* what, std::span<const Vector* const> vectors) {
  if (vectors.empty()) return invalid_argument(std::string(what) + ": no vectors");
  for (const Vector* v : vectors) {
    WITNESS_RETURN_IF_ERROR(same_dim(what, *vectors[0], *v));
  }
  return ok_status();
}

std::vector<std::int32_t> sums_of(std::span<const Vector* const> vectors) {
  std::vector<std::int32_t> sums(vectors[0]->padded(), 0);
  for (const Vector* v : vectors) kernel::accumulate(v->raw(), sums.data(), sums.size());
  return sums;
}

}  // namespace

Status bind_into(const Vector& a, const Vector& b, Vector& out) {
  WITNESS_RETURN_IF_ERROR(same_dim("bind", a, b));
  WITNESS_RETURN_IF_ERROR(same_dim("bind (output)", a, out));
  if (&out == &a || &out == &b) {  // the kernel's buffers must not overlap
    Vector tmp(a.dim());
    kernel::mul(a.raw(), b.raw(), tmp.raw(), a.padded());
    out = std::move(tmp);
    return ok_status();
  }
  kernel::mul(a.raw(), b.raw(), out.raw(), a.padded());
  return ok_status();
}

Result<Vector> bind(const Vector& a, const Vector& b) {
  Vector out(a.dim());
  WITNESS_RETURN_IF_ERROR(bind_into(a, b, out));
  return out;
}

Result<Vector> bundle(std::span<const Vector* const> vectors) {
  WITNESS_RETURN_IF_ERROR(check_all("bundle", vectors));
  const auto sums = sums_of(vectors);
  Vector out(vectors[0]->dim());
  kernel::sign(sums.data(), out.raw(), sums.size());
  return out;
}

Result<Vector> bundle(std::span<const Vector> vectors) {
  std::vector<const Vector*> ptrs;
  ptrs.reserve(vectors.size());
  for (const Vector& v : vectors) ptrs.push_back(&v);
  return bundle(std::span<const Vector* const>(ptrs));
}

Result<Vector> weighted_bundle(std::span<const Vector* const> vectors,
                               std::span<const double> weights) {
  WITNESS_RETURN_IF_ERROR(check_all("weighted_bundle", vectors));
  if (vectors.size() != weights.size()) {
    return invalid_argument("weighted_bundle: " + std::to_string(vectors.size()) + " vectors but " +
                            std::to_string(weights.size()) + " weights");
  }
  std::vector<double> sums(vectors[0]->padded(), 0.0);
  for (std::size_t k = 0; k < vectors.size(); ++k) {
    const std::int8_t* p = vectors[k]->raw();
    for (std::size_t i = 0; i < sums.size(); ++i) sums[i] += weights[k] * p[i];
  }
  Vector out(vectors[0]->dim());
  for (std::size_t i = 0; i < sums.size(); ++i) out.raw()[i] = sign_of(sums[i]);
  return out;
}

Result<Vector> negate(const Vector& s, const Vector& c) {
  return zip("negate", s, c, [](std::int8_t x, std::int8_t y) { return clamp1(x - y); });
}

Result<Vector> amplify(const Vector& s, const Vector& c, double strength) {
  return zip("amplify", s, c,
             [strength](std::int8_t x, std::int8_t y) { return sign_of(x + strength * y); });
}

Result<Vector> prototype(std::span<const Vector* const> vectors, double threshold) {
  WITNESS_RETURN_IF_ERROR(check_all("prototype", vectors));
  if (!(threshold > 0.0 && threshold <= 1.0)) {
    return invalid_argument("prototype: threshold " + std::to_string(threshold) +
                            " is not in (0, 1]");
  }
  const auto votes =
      static_cast<std::int32_t>(std::ceil(threshold * static_cast<double>(vectors.size())));
  const auto sums = sums_of(vectors);
  Vector out(vectors[0]->dim());
  for (std::size_t i = 0; i < sums.size(); ++i) {
    out.raw()[i] = sums[i] >= votes    ? std::int8_t{1}
                   : sums[i] <= -votes ? std::int8_t{-1}
                                       : std::int8_t{0};
  }
  return out;
}

Result<Vector> difference(const Vector& before, const Vector& after) {
  return zip("difference", before, after,
             [](std::int8_t b, std::int8_t a) { return clamp1(a - b); });
}

Result<Vector> blend(const Vector& a, const Vector& b, double w1, double w2) {
  return zip("blend", a, b,
             [w1, w2](std::int8_t x, std::int8_t y) { return sign_of(w1 * x + w2 * y); });
}

Result<Vector> resonance(const Vector& v, const Vector& reference) {
  return zip("resonance", v, reference,
             [](std::int8_t x, std::int8_t r) { return x == r ? x : std::int8_t{0}; });
}

Vector permute(const Vector& v, std::int64_t k) {
  Vector out(v.dim());
  const auto n = static_cast<std::int64_t>(v.dim());
  if (n == 0) return out;
  const auto shift = static_cast<std::size_t>(((k % n) + n) % n);
  const std::size_t d = v.dim();
  // out[(i + shift) mod d] = v[i]: two block copies.
  std::copy(v.raw(), v.raw() + (d - shift), out.raw() + shift);
  std::copy(v.raw() + (d - shift), v.raw() + d, out.raw());
  return out;
}

Result<double> cosine(const Vector& a, const Vector& b) {
  WITNESS_RETURN_IF_ERROR(same_dim("cosine", a, b));
  std::int64_t d = 0;
  std::int64_t na = 0;
  std::int64_t nb = 0;
  kernel::dot_norms(a.raw(), b.raw(), a.padded(), d, na, nb);
  if (na == 0 || nb == 0) return 0.0;
  return static_cast<double>(d) / std::sqrt(static_cast<double>(na) * static_cast<double>(nb));
}

Result<std::int64_t> dot(const Vector& a, const Vector& b) {
  WITNESS_RETURN_IF_ERROR(same_dim("dot", a, b));
  return kernel::dot(a.raw(), b.raw(), a.padded());
}

Result<std::size_t> hamming(const Vector& a, const Vector& b) {
  WITNESS_RETURN_IF_ERROR(same_dim("hamming", a, b));
  return kernel::differ(a.raw(), b.raw(), a.padded());
}

Result<double> agreement(const Vector& a, const Vector& b) {
  WITNESS_RETURN_IF_ERROR(same_dim("agreement", a, b));
  if (a.dim() == 0) return 0.0;
  // Non-zero products are +1 (agree) or -1 (disagree): their sum is agree - disagree.
  return static_cast<double>(kernel::dot(a.raw(), b.raw(), a.padded())) /
         static_cast<double>(a.dim());
}

Result<double> euclidean(const Vector& a, const Vector& b) {
  WITNESS_RETURN_IF_ERROR(same_dim("euclidean", a, b));
  std::int64_t d = 0;
  std::int64_t na = 0;
  std::int64_t nb = 0;
  kernel::dot_norms(a.raw(), b.raw(), a.padded(), d, na, nb);
  return std::sqrt(static_cast<double>(na + nb - 2 * d));
}

Result<std::size_t> Codebook::add(Vector v) {
  if (v.dim() != dim_) {
    return invalid_argument("codebook of dimension " + std::to_string(dim_) +
                            ": vector of dimension " + std::to_string(v.dim()));
  }
  norms_.push_back(std::sqrt(static_cast<double>(v.nonzeros())));
  vectors_.push_back(std::move(v));
  return vectors_.size() - 1;
}

Result<std::vector<Codebook::Match>> Codebook::top_k(const Vector& query, std::size_t k) const {
  if (query.dim() != dim_) {
    return invalid_argument("top_k: query of dimension " + std::to_string(query.dim()) +
                            ", codebook of " + std::to_string(dim_));
  }
  const double qn = std::sqrt(static_cast<double>(query.nonzeros()));
  std::vector<Match> all(vectors_.size());
  for (std::size_t i = 0; i < vectors_.size(); ++i) {
    const double denom = qn * norms_[i];
    const auto d = static_cast<double>(kernel::dot(query.raw(), vectors_[i].raw(), query.padded()));
    all[i] = {i, denom == 0 ? 0.0 : d / denom};
  }
  k = std::min(k, all.size());
  auto better = [](const Match& x, const Match& y) {
    return x.similarity > y.similarity || (x.similarity == y.similarity && x.index < y.index);
  };
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end(), better);
  all.resize(k);
  return all;
}

Result<Codebook::Match> Codebook::cleanup(const Vector& query) const {
  WITNESS_ASSIGN_OR_RETURN(auto best, top_k(query, 1));
  if (best.empty()) return not_found("cleanup: the codebook is empty");
  return best[0];
}

}  // namespace witness::vsa
