// Hypervectors (SPEC 6.1): dense ternary vectors, every component in {-1, 0, +1}, of a run-time
// dimension (default 4096), in 32-byte aligned storage padded with zeros to a multiple of 32
// components, so that kernels run whole SIMD lanes with no remainder loop; and a bit-packed
// binary form (one bit per component: set for +1) for fast Hamming comparisons.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "witness/base/result.hpp"

namespace witness::vsa {

inline constexpr std::size_t kDefaultDimension = 4096;
// Storage alignment and padding unit, in bytes (= components).
inline constexpr std::size_t kAlignment = 32;

// A dense ternary hypervector. Components outside [0, dim) (the padding) are always zero.
// Thread safety: a value type; const methods may be called concurrently.
class Vector {
 public:
  // The zero vector of `dim` components (dim may be 0).
  explicit Vector(std::size_t dim = kDefaultDimension);
  // From components, each of which must be -1, 0 or +1. Errors: kInvalidArgument naming the
  // first bad index.
  [[nodiscard]] static Result<Vector> from(std::span<const std::int8_t> components);

  Vector(const Vector& other);
  Vector& operator=(const Vector& other);
  Vector(Vector&& other) noexcept = default;
  Vector& operator=(Vector&& other) noexcept = default;
  ~Vector() = default;

  [[nodiscard]] std::size_t dim() const { return dim_; }
  // dim() rounded up to a multiple of kAlignment: the length kernels work on.
  [[nodiscard]] std::size_t padded() const { return padded_; }
  [[nodiscard]] std::int8_t operator[](std::size_t i) const { return data_[i]; }
  // The components; writes must keep them in {-1, 0, +1}.
  [[nodiscard]] std::span<std::int8_t> components() { return {data_.get(), dim_}; }
  [[nodiscard]] std::span<const std::int8_t> components() const { return {data_.get(), dim_}; }
  // The padded storage (32-byte aligned): for kernels.
  [[nodiscard]] std::int8_t* raw() { return data_.get(); }
  [[nodiscard]] const std::int8_t* raw() const { return data_.get(); }
  // The number of non-zero components (the squared Euclidean norm).
  [[nodiscard]] std::size_t nonzeros() const;

  friend bool operator==(const Vector& a, const Vector& b);

 private:
  struct Free {
    void operator()(std::int8_t* p) const;
  };
  std::size_t dim_ = 0;
  std::size_t padded_ = 0;
  std::unique_ptr<std::int8_t[], Free> data_;
};

// The bit-packed form: bit i set when component i is +1 (zeros and -1 both clear). For bipolar
// vectors (no zeros) it is exact, and Hamming distance is a popcount.
// Thread safety: a value type.
class BinaryVector {
 public:
  explicit BinaryVector(const Vector& v);
  [[nodiscard]] std::size_t dim() const { return dim_; }
  [[nodiscard]] std::span<const std::uint64_t> words() const { return words_; }
  // +1 where the bit is set, -1 elsewhere.
  [[nodiscard]] Vector to_vector() const;
  // The number of positions whose bits differ. Errors: kInvalidArgument on a dimension mismatch.
  [[nodiscard]] Result<std::size_t> hamming(const BinaryVector& other) const;
  friend bool operator==(const BinaryVector&, const BinaryVector&) = default;

 private:
  std::size_t dim_;
  std::vector<std::uint64_t> words_;
};

}  // namespace witness::vsa
