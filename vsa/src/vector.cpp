#include "witness/vsa/vector.hpp"

#include <bit>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "witness/vsa/ops.hpp"

namespace witness::vsa {
namespace {

std::size_t round_up(std::size_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

std::int8_t* allocate(std::size_t padded) {
  // aligned_alloc needs a non-zero size that is a multiple of the alignment.
  const std::size_t bytes = padded == 0 ? kAlignment : padded;
  void* p = std::aligned_alloc(kAlignment, bytes);  // NOLINT: freed by Vector::Free
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  return static_cast<std::int8_t*>(p);
}

}  // namespace

void Vector::Free::operator()(std::int8_t* p) const {
  // aligned_alloc's memory goes back through free.
  std::free(p);  // NOLINT(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory)
}

Vector::Vector(std::size_t dim) : dim_(dim), padded_(round_up(dim)), data_(allocate(padded_)) {}

Vector::Vector(const Vector& other)
    : dim_(other.dim_), padded_(other.padded_), data_(allocate(other.padded_)) {
  std::memcpy(data_.get(), other.data_.get(), padded_);
}

Vector& Vector::operator=(const Vector& other) {
  if (this != &other) {
    Vector copy(other);
    *this = std::move(copy);
  }
  return *this;
}

Result<Vector> Vector::from(std::span<const std::int8_t> components) {
  Vector v(components.size());
  for (std::size_t i = 0; i < components.size(); ++i) {
    const std::int8_t c = components[i];
    if (c < -1 || c > 1) {
      return invalid_argument("vector component " + std::to_string(i) + " is " + std::to_string(c) +
                              ", not -1, 0 or +1");
    }
    v.data_[i] = c;
  }
  return v;
}

std::size_t Vector::nonzeros() const {
  std::int64_t d = 0;
  std::int64_t na = 0;
  std::int64_t nb = 0;
  kernel::dot_norms(raw(), raw(), padded_, d, na, nb);
  return static_cast<std::size_t>(na);
}

bool operator==(const Vector& a, const Vector& b) {
  return a.dim_ == b.dim_ && std::memcmp(a.data_.get(), b.data_.get(), a.padded_) == 0;
}

BinaryVector::BinaryVector(const Vector& v) : dim_(v.dim()), words_((v.dim() + 63) / 64, 0) {
  for (std::size_t i = 0; i < dim_; ++i) {
    if (v[i] > 0) words_[i / 64] |= std::uint64_t{1} << (i % 64);
  }
}

Vector BinaryVector::to_vector() const {
  Vector v(dim_);
  auto c = v.components();
  for (std::size_t i = 0; i < dim_; ++i) {
    c[i] = ((words_[i / 64] >> (i % 64)) & 1U) != 0 ? std::int8_t{1} : std::int8_t{-1};
  }
  return v;
}

Result<std::size_t> BinaryVector::hamming(const BinaryVector& other) const {
  if (dim_ != other.dim_) {
    return invalid_argument("hamming: dimensions " + std::to_string(dim_) + " and " +
                            std::to_string(other.dim_) + " differ");
  }
  std::size_t n = 0;
  for (std::size_t w = 0; w < words_.size(); ++w) {
    n += static_cast<std::size_t>(std::popcount(words_[w] ^ other.words_[w]));
  }
  return n;
}

}  // namespace witness::vsa
