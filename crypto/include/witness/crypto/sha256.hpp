// SHA-256 over OpenSSL, the one wrapper every module uses (node ids, chain and Merkle hashes,
// checkpoint key ids, the detector's input digest, VSA atom keys).
//
//   witness::crypto::Sha256Bytes id = witness::crypto::sha256("abc");
//   witness::crypto::Sha256 h;                 // incremental
//   h.update(prefix).update(body);
//   witness::crypto::Sha256Bytes d = h.finish();
//
// OpenSSL failing to hash (a broken install, out of memory) is not an error a caller can
// handle: it stops the process with a message (WITNESS_CHECK), never returns a wrong digest.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

struct evp_md_ctx_st;

namespace witness::crypto {

inline constexpr std::size_t kSha256Size = 32;
using Sha256Bytes = std::array<std::uint8_t, kSha256Size>;

// Hashes the concatenation of the pieces given to update(). Construction takes a context from a
// per-thread pool (no allocation in steady state); any number may be alive at once.
// Thread safety: one object is used by one thread at a time.
class Sha256 {
 public:
  Sha256();
  Sha256(Sha256&& other) noexcept;
  Sha256& operator=(Sha256&& other) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  ~Sha256();

  Sha256& update(std::span<const std::uint8_t> data);
  Sha256& update(std::string_view data);
  // Returns the digest of everything given since construction or the last finish(), and
  // starts over.
  [[nodiscard]] Sha256Bytes finish();

 private:
  evp_md_ctx_st* ctx_;
};

// The digest of `data`. Thread-safe.
[[nodiscard]] Sha256Bytes sha256(std::span<const std::uint8_t> data);
[[nodiscard]] Sha256Bytes sha256(std::string_view data);

}  // namespace witness::crypto
