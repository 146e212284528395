#include "witness/crypto/sha256.hpp"

#include <memory>
#include <utility>
#include <vector>

#include <openssl/evp.h>

#include "witness/base/result.hpp"

namespace witness::crypto {
namespace {

const EVP_MD* sha256_md() {
  // Fetched once: EVP_MD_fetch does a provider lookup that costs more than hashing a node.
  static const EVP_MD* md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    WITNESS_CHECK(fetched != nullptr);
    return fetched;
  }();
  return md;
}

// Set when this thread's pool is destroyed (thread exit): a hasher that outlives it (one with
// static storage) frees its context instead.
// NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables)
thread_local bool t_pool_gone = false;

// Contexts given back by finished hashers on this thread, reused by the next ones:
// EVP_MD_CTX_new and _free cost as much as hashing a small node.
struct Pool {
  std::vector<EVP_MD_CTX*> free;
  Pool() = default;
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  Pool(Pool&&) = delete;
  Pool& operator=(Pool&&) = delete;
  ~Pool() {
    for (EVP_MD_CTX* ctx : free) EVP_MD_CTX_free(ctx);
    t_pool_gone = true;
  }
};

Pool& pool() {
  thread_local Pool p;
  return p;
}

EVP_MD_CTX* take_ctx() {
  auto& free = pool().free;
  EVP_MD_CTX* ctx = nullptr;
  if (free.empty()) {
    ctx = EVP_MD_CTX_new();
    WITNESS_CHECK(ctx != nullptr);
  } else {
    ctx = free.back();
    free.pop_back();
  }
  WITNESS_CHECK(EVP_DigestInit_ex2(ctx, sha256_md(), nullptr) == 1);
  return ctx;
}

void give_back(EVP_MD_CTX* ctx) {
  if (ctx == nullptr) return;
  constexpr std::size_t kKeep = 16;  // more alive at once than this is rare
  if (t_pool_gone) {
    EVP_MD_CTX_free(ctx);
    return;
  }
  auto& free = pool().free;
  if (free.size() < kKeep) {
    free.push_back(ctx);
  } else {
    EVP_MD_CTX_free(ctx);
  }
}

}  // namespace

Sha256::Sha256() : ctx_(take_ctx()) {}
Sha256::Sha256(Sha256&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}
Sha256& Sha256::operator=(Sha256&& other) noexcept {
  if (this != &other) {
    give_back(ctx_);
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}
Sha256::~Sha256() { give_back(ctx_); }

Sha256& Sha256::update(std::span<const std::uint8_t> data) {
  WITNESS_CHECK(ctx_ != nullptr);  // not moved from
  WITNESS_CHECK(EVP_DigestUpdate(ctx_, data.data(), data.size()) == 1);
  return *this;
}

Sha256& Sha256::update(std::string_view data) {
  WITNESS_CHECK(ctx_ != nullptr);
  WITNESS_CHECK(EVP_DigestUpdate(ctx_, data.data(), data.size()) == 1);
  return *this;
}

Sha256Bytes Sha256::finish() {
  WITNESS_CHECK(ctx_ != nullptr);
  Sha256Bytes out{};
  unsigned int len = 0;
  WITNESS_CHECK(EVP_DigestFinal_ex(ctx_, out.data(), &len) == 1);
  WITNESS_CHECK(len == kSha256Size);
  WITNESS_CHECK(EVP_DigestInit_ex2(ctx_, sha256_md(), nullptr) == 1);
  return out;
}

Sha256Bytes sha256(std::span<const std::uint8_t> data) { return Sha256().update(data).finish(); }
Sha256Bytes sha256(std::string_view data) { return Sha256().update(data).finish(); }

}  // namespace witness::crypto
