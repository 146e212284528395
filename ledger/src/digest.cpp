#include "witness/ledger/digest.hpp"

#include <array>
#include <memory>

#include <openssl/evp.h>

#include "hex.hpp"
#include "sha256.hpp"

namespace witness::ledger {
namespace detail {
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

struct CtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

EVP_MD_CTX* thread_ctx() {
  thread_local std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(EVP_MD_CTX_new());
  WITNESS_CHECK(ctx != nullptr);
  return ctx.get();
}

}  // namespace

Sha256::Sha256() { WITNESS_CHECK(EVP_DigestInit_ex2(thread_ctx(), sha256_md(), nullptr) == 1); }

void Sha256::update(std::span<const std::uint8_t> data) {
  WITNESS_CHECK(EVP_DigestUpdate(thread_ctx(), data.data(), data.size()) == 1);
}

void Sha256::update(std::string_view data) {
  WITNESS_CHECK(EVP_DigestUpdate(thread_ctx(), data.data(), data.size()) == 1);
}

Digest Sha256::finish() {
  Digest d;
  unsigned int len = 0;
  WITNESS_CHECK(EVP_DigestFinal_ex(thread_ctx(), d.bytes.data(), &len) == 1);
  WITNESS_CHECK(len == Digest::kSize);
  return d;
}

Digest chain_next(const Digest& previous, const Digest& leaf) {
  Sha256 h;
  h.update(previous);
  h.update(leaf);
  return h.finish();
}

Digest leaf_hash(std::string_view stored_bytes) {
  static constexpr std::array<std::uint8_t, 1> kLeafPrefix = {0x00};
  Sha256 h;
  h.update(std::span<const std::uint8_t>(kLeafPrefix));
  h.update(stored_bytes);
  return h.finish();
}

}  // namespace detail

std::string Digest::to_hex() const { return detail::hex_encode(bytes); }

Result<Digest> Digest::from_hex(std::string_view hex) {
  if (hex.size() != kSize * 2) {
    return invalid_argument("expected 64 hex digits, got " + std::to_string(hex.size()) +
                            " characters");
  }
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Digest d;
  for (std::size_t i = 0; i < kSize; ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return invalid_argument("invalid hex digit at position " +
                              std::to_string(hi < 0 ? 2 * i : 2 * i + 1));
    }
    d.bytes[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return d;
}

Digest Digest::sha256(std::span<const std::uint8_t> data) {
  detail::Sha256 h;
  h.update(data);
  return h.finish();
}

Digest Digest::sha256(std::string_view data) {
  detail::Sha256 h;
  h.update(data);
  return h.finish();
}

}  // namespace witness::ledger
