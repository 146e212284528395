#include "witness/vsa/atoms.hpp"

#include <array>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <openssl/evp.h>

#include "witness/crypto/sha256.hpp"

namespace witness::vsa {

void keystream(std::uint64_t seed, std::string_view name, std::span<std::uint8_t> out) {
  // key = SHA-256(seed LE || name); nonce = 0: one key per (seed, name), so never reused.
  std::vector<std::uint8_t> input(8 + name.size());
  for (int i = 0; i < 8; ++i) {
    input[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(seed >> (8 * i));
  }
  std::memcpy(input.data() + 8, name.data(), name.size());
  const crypto::Sha256Bytes key = crypto::sha256(input);
  std::array<std::uint8_t, 16> iv{};  // 32-bit block counter + 96-bit nonce, all zero
  std::memset(out.data(), 0, out.size());
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  const bool ok =
      ctx != nullptr &&
      EVP_EncryptInit_ex(ctx, EVP_chacha20(), nullptr, key.data(), iv.data()) == 1 &&
      EVP_EncryptUpdate(ctx, out.data(), &len, out.data(), static_cast<int>(out.size())) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) std::abort();  // OpenSSL without ChaCha20 is a broken install, not bad input
}

Vector make_atom(std::uint64_t seed, std::string_view name, std::size_t dim) {
  Vector v(dim);
  auto c = v.components();
  // 255 of 256 byte values are used (255 = 3 * 85): a little over dim bytes are needed; draw
  // more in the rare case a block falls short.
  std::vector<std::uint8_t> bytes(dim + dim / 64 + 64);
  keystream(seed, name, bytes);
  std::size_t used = 0;
  std::size_t round = 0;
  for (std::size_t i = 0; i < dim;) {
    if (used == bytes.size()) {
      keystream(seed, std::string(name) + "\x1f" + std::to_string(++round), bytes);
      used = 0;
    }
    const std::uint8_t b = bytes[used++];
    if (b == 255) continue;
    c[i++] = static_cast<std::int8_t>(static_cast<int>(b % 3) - 1);
  }
  return v;
}

struct AtomMemory::Impl {
  std::uint64_t seed{};
  std::size_t dim{};
  mutable std::shared_mutex mu;
  mutable std::unordered_map<std::string, std::unique_ptr<const Vector>> atoms;
};

AtomMemory::AtomMemory(std::uint64_t seed, std::size_t dim) : impl_(std::make_unique<Impl>()) {
  impl_->seed = seed;
  impl_->dim = dim;
}
AtomMemory::AtomMemory(AtomMemory&&) noexcept = default;
AtomMemory& AtomMemory::operator=(AtomMemory&&) noexcept = default;
AtomMemory::~AtomMemory() = default;

const Vector& AtomMemory::atom(std::string_view name) const {
  const std::string key(name);
  {
    std::shared_lock lock(impl_->mu);
    auto it = impl_->atoms.find(key);
    if (it != impl_->atoms.end()) return *it->second;
  }
  // Computed outside the lock; if two threads race, the first insert wins and both return it.
  auto v = std::make_unique<const Vector>(make_atom(impl_->seed, name, impl_->dim));
  std::unique_lock lock(impl_->mu);
  auto [it, inserted] = impl_->atoms.try_emplace(key, std::move(v));
  return *it->second;
}

const Vector& AtomMemory::position(std::size_t i) const {
  return atom("$pos:" + std::to_string(i));
}

std::uint64_t AtomMemory::seed() const { return impl_->seed; }
std::size_t AtomMemory::dim() const { return impl_->dim; }
std::size_t AtomMemory::size() const {
  std::shared_lock lock(impl_->mu);
  return impl_->atoms.size();
}

}  // namespace witness::vsa
