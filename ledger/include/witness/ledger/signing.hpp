// Ed25519 keys (RFC 8032, OpenSSL): checkpoint signing here, node signatures in covenants.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>

#include "witness/base/result.hpp"
#include "witness/ledger/trace_node.hpp"

namespace witness::ledger {

using PublicKey = std::array<std::uint8_t, 32>;

// An Ed25519 private key. Move-only; never printed.
// Thread safety: sign() and public_key() may be called concurrently.
class SigningKey {
 public:
  // Draws a new key from OpenSSL's CSPRNG. Errors: kInternal.
  [[nodiscard]] static Result<SigningKey> generate();
  // Reads a PEM (PKCS#8) Ed25519 private key. Errors: kNotFound, kInvalidArgument.
  [[nodiscard]] static Result<SigningKey> load(const std::filesystem::path& file);
  // Writes the key as PEM to a new file of mode 0600. Errors: kFailedPrecondition (exists),
  // kIOError.
  [[nodiscard]] Status save(const std::filesystem::path& file) const;

  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;
  ~SigningKey();

  [[nodiscard]] const PublicKey& public_key() const;
  [[nodiscard]] Signature sign(std::string_view message) const;

 private:
  struct Impl;
  explicit SigningKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True when `signature` is a valid Ed25519 signature of `message` by `key`.
[[nodiscard]] bool verify_signature(const PublicKey& key, std::string_view message,
                                    const Signature& signature);

// A node's signature is over its id (SPEC 5.5): `node` signed by `key` (a signature it carried
// is replaced; the id does not cover it), and whether `node` carries a valid one by `key`.
[[nodiscard]] TraceNode sign_node(const SigningKey& key, const TraceNode& node);
[[nodiscard]] bool signed_by(const PublicKey& key, const TraceNode& node);

}  // namespace witness::ledger
