// VSA primitives and similarities (SPEC 6.2) over ternary Vectors. Every function that combines
// vectors checks that their dimensions agree and returns kInvalidArgument otherwise; the `_into`
// forms write into a caller's vector (no allocation) for hot loops. Results stay ternary:
// "sign" below means +1 for a positive value, -1 for a negative one and 0 for zero (ties).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/vsa/vector.hpp"

namespace witness::vsa {

// Elementwise product: associates a role with a filler. Its own inverse on the non-zero
// components of the key: unbind(bind(a, k), k) == a wherever k != 0.
[[nodiscard]] Result<Vector> bind(const Vector& a, const Vector& b);
[[nodiscard]] Status bind_into(const Vector& a, const Vector& b, Vector& out);
[[nodiscard]] inline Result<Vector> unbind(const Vector& bound, const Vector& key) {
  return bind(bound, key);
}
// Sign of the componentwise sum: similar to each input. Errors: kInvalidArgument for no
// vectors or mismatched dimensions.
[[nodiscard]] Result<Vector> bundle(std::span<const Vector* const> vectors);
[[nodiscard]] Result<Vector> bundle(std::span<const Vector> vectors);
// Sign of the weighted sum. Errors: also when the counts of vectors and weights differ.
[[nodiscard]] Result<Vector> weighted_bundle(std::span<const Vector* const> vectors,
                                             std::span<const double> weights);
// Removes `component` from a superposition: sign-clamped difference s - c.
[[nodiscard]] Result<Vector> negate(const Vector& superposition, const Vector& component);
// Strengthens `component` in a superposition: sign(s + strength * c).
[[nodiscard]] Result<Vector> amplify(const Vector& superposition, const Vector& component,
                                     double strength);
// The components on which at least ceil(threshold * n) of the n vectors agree (their sign),
// zero elsewhere. threshold in (0, 1]; errors: kInvalidArgument outside that.
[[nodiscard]] Result<Vector> prototype(std::span<const Vector* const> vectors, double threshold);
// What changed from `before` to `after`: sign-clamped after - before.
[[nodiscard]] Result<Vector> difference(const Vector& before, const Vector& after);
// sign(w1 * a + w2 * b); blend(a, b, 1 - t, t) interpolates from a to b.
[[nodiscard]] Result<Vector> blend(const Vector& a, const Vector& b, double w1, double w2);
// The components of v that equal reference's, zero elsewhere.
[[nodiscard]] Result<Vector> resonance(const Vector& v, const Vector& reference);
// Cyclic shift: permute(v, k)[(i + k) mod dim] = v[i] (components move k places toward higher
// indexes; k may be negative). permute(permute(v, k), -k) == v.
[[nodiscard]] Vector permute(const Vector& v, std::int64_t k);

// Similarities. cosine: dot / (|a| |b|), 0 when either is zero; dot: sum of products;
// hamming: the number of components that differ; agreement: (agreeing - disagreeing non-zero
// products) / dim; euclidean: the distance sqrt(sum (a_i - b_i)^2).
[[nodiscard]] Result<double> cosine(const Vector& a, const Vector& b);
[[nodiscard]] Result<std::int64_t> dot(const Vector& a, const Vector& b);
[[nodiscard]] Result<std::size_t> hamming(const Vector& a, const Vector& b);
[[nodiscard]] Result<double> agreement(const Vector& a, const Vector& b);
[[nodiscard]] Result<double> euclidean(const Vector& a, const Vector& b);

// A set of vectors of one dimension with their norms precomputed, for cleanup and batch top-k.
// Thread safety: const methods may be called concurrently; add() may not.
class Codebook {
 public:
  explicit Codebook(std::size_t dim = kDefaultDimension) : dim_(dim) {}
  // Appends `v` and returns its index. Errors: kInvalidArgument on a dimension mismatch.
  [[nodiscard]] Result<std::size_t> add(Vector v);
  [[nodiscard]] std::size_t size() const { return vectors_.size(); }
  [[nodiscard]] std::size_t dim() const { return dim_; }
  [[nodiscard]] const Vector& operator[](std::size_t i) const { return vectors_[i]; }

  struct Match {
    std::size_t index = 0;
    double similarity = 0;  // cosine
    friend bool operator==(const Match&, const Match&) = default;
  };
  // The k entries most similar to `query` (cosine), best first; ties by lower index.
  // Errors: kInvalidArgument on a dimension mismatch.
  [[nodiscard]] Result<std::vector<Match>> top_k(const Vector& query, std::size_t k) const;
  // The single best match (cleanup). Errors: also kNotFound for an empty codebook.
  [[nodiscard]] Result<Match> cleanup(const Vector& query) const;

 private:
  std::size_t dim_;
  std::vector<Vector> vectors_;
  std::vector<double> norms_;  // sqrt(nonzeros)
};

// The kernels under the functions above, on raw padded storage of `n` bytes (n a multiple of
// kAlignment, pointers 32-byte aligned, output buffers not overlapping inputs, int8 components in
// {-1, 0, +1}: the AVX2 kernels multiply by sign and sum in 16-bit lanes). AVX2 where the CPU
// has it (chosen at load time), a portable version elsewhere. For callers that manage their own
// buffers.
namespace kernel {
void mul(const std::int8_t* a, const std::int8_t* b, std::int8_t* out, std::size_t n);
std::int64_t dot(const std::int8_t* a, const std::int8_t* b, std::size_t n);
// dot, |a|^2 and |b|^2 in one pass.
void dot_norms(const std::int8_t* a, const std::int8_t* b, std::size_t n, std::int64_t& dot,
               std::int64_t& na, std::int64_t& nb);
void accumulate(const std::int8_t* a, std::int32_t* sums, std::size_t n);
// sums += a * b, componentwise (a bound term added to a bundle in one pass).
void accumulate_product(const std::int8_t* a, const std::int8_t* b, std::int32_t* sums,
                        std::size_t n);
void sign(const std::int32_t* sums, std::int8_t* out, std::size_t n);
std::size_t differ(const std::int8_t* a, const std::int8_t* b, std::size_t n);
// The portable versions, which the dispatching functions above use without AVX2 (exposed so
// that tests can check both paths give equal results).
namespace portable {
void mul(const std::int8_t* a, const std::int8_t* b, std::int8_t* out, std::size_t n);
std::int64_t dot(const std::int8_t* a, const std::int8_t* b, std::size_t n);
void dot_norms(const std::int8_t* a, const std::int8_t* b, std::size_t n, std::int64_t& dot,
               std::int64_t& na, std::int64_t& nb);
std::size_t differ(const std::int8_t* a, const std::int8_t* b, std::size_t n);
}  // namespace portable
}  // namespace kernel

}  // namespace witness::vsa
