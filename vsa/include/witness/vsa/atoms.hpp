// Atoms (SPEC 6.3): the deterministic map from a name to a random ternary vector. The vector of
// (seed, name) is drawn from a ChaCha20 keystream keyed by SHA-256(seed as 8 little-endian bytes
// || name), each component -1, 0 or +1 with probability 1/3 (bytes >= 255 are skipped, so there
// is no bias). Equal (seed, name, dimension) give equal vectors on every machine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "witness/vsa/vector.hpp"

namespace witness::vsa {

// `count` bytes of the keystream for (seed, name): the randomness behind atoms, also used by the
// scalar encoders for their thresholds.
void keystream(std::uint64_t seed, std::string_view name, std::span<std::uint8_t> out);

// The atom of (seed, name), computed without a cache.
[[nodiscard]] Vector make_atom(std::uint64_t seed, std::string_view name,
                               std::size_t dim = kDefaultDimension);

// A cache of atoms of one seed and dimension. Returned references stay valid as long as the
// memory lives (entries are never evicted).
// Thread safety: all methods may be called concurrently.
class AtomMemory {
 public:
  explicit AtomMemory(std::uint64_t seed = 0, std::size_t dim = kDefaultDimension);
  AtomMemory(const AtomMemory&) = delete;
  AtomMemory& operator=(const AtomMemory&) = delete;
  AtomMemory(AtomMemory&&) noexcept;
  AtomMemory& operator=(AtomMemory&&) noexcept;
  ~AtomMemory();

  [[nodiscard]] const Vector& atom(std::string_view name) const;
  // The vector of sequence position `i` (the atom of "$pos:<i>").
  [[nodiscard]] const Vector& position(std::size_t i) const;
  [[nodiscard]] std::uint64_t seed() const;
  [[nodiscard]] std::size_t dim() const;
  [[nodiscard]] std::size_t size() const;  // atoms cached so far

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace witness::vsa
