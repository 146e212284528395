#include "witness/ledger/signing.hpp"

#include <cstdio>

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

namespace witness::ledger {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct FileCloser {
  void operator()(std::FILE* f) const {
    std::fclose(f);  // NOLINT(cppcoreguidelines-owning-memory)
  }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

}  // namespace

struct SigningKey::Impl {
  Pkey pkey;
  PublicKey public_key{};
};

SigningKey::SigningKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;
SigningKey::~SigningKey() = default;

Result<SigningKey> SigningKey::generate() {
  Pkey pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!pkey) return internal_error("cannot generate an Ed25519 key");
  auto impl = std::make_unique<Impl>();
  std::size_t len = impl->public_key.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), impl->public_key.data(), &len) != 1) {
    return internal_error("cannot read the public key");
  }
  impl->pkey = std::move(pkey);
  return SigningKey(std::move(impl));
}

Result<SigningKey> SigningKey::load(const std::filesystem::path& file) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(file.c_str(), "rb"));  // NOLINT
  if (!f) return not_found("cannot open signing key " + file.string());
  Pkey pkey(PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr));
  if (!pkey || EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_ED25519) {
    return invalid_argument(file.string() + ": not a PEM Ed25519 private key");
  }
  auto impl = std::make_unique<Impl>();
  std::size_t len = impl->public_key.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), impl->public_key.data(), &len) != 1) {
    return invalid_argument(file.string() + ": cannot read the public key");
  }
  impl->pkey = std::move(pkey);
  return SigningKey(std::move(impl));
}

Status SigningKey::save(const std::filesystem::path& file) const {
  // O_EXCL: never overwrite a key; mode 0600 from the start, not chmod afterwards.
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);  // NOLINT
  if (fd < 0) {
    if (errno == EEXIST) return failed_precondition(file.string() + " already exists");
    return io_error("cannot create " + file.string());
  }
  std::unique_ptr<std::FILE, FileCloser> f(::fdopen(fd, "wb"));
  if (!f) {
    ::close(fd);
    return io_error("cannot write " + file.string());
  }
  if (PEM_write_PrivateKey(f.get(), impl_->pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1 ||
      std::fflush(f.get()) != 0 || ::fsync(fd) != 0) {
    return io_error("cannot write " + file.string());
  }
  return ok_status();
}

const PublicKey& SigningKey::public_key() const { return impl_->public_key; }

Signature SigningKey::sign(std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  WITNESS_CHECK(ctx != nullptr);
  WITNESS_CHECK(EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->pkey.get()) == 1);
  Signature sig{};
  std::size_t len = sig.size();
  WITNESS_CHECK(EVP_DigestSign(ctx.get(), sig.data(), &len,
                               reinterpret_cast<const unsigned char*>(message.data()),  // NOLINT
                               message.size()) == 1);
  WITNESS_CHECK(len == sig.size());
  return sig;
}

bool verify_signature(const PublicKey& key, std::string_view message, const Signature& signature) {
  Pkey pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.data(), key.size()));
  if (!pkey) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                          reinterpret_cast<const unsigned char*>(message.data()),  // NOLINT
                          message.size()) == 1;
}

namespace {
std::string_view id_bytes(const TraceNode& node) {
  const auto& b = node.id().bytes;
  return {reinterpret_cast<const char*>(b.data()), b.size()};  // NOLINT: bytes viewed as chars
}
}  // namespace

TraceNode sign_node(const SigningKey& key, const TraceNode& node) {
  return node.with_signature(key.sign(id_bytes(node)));
}

bool signed_by(const PublicKey& key, const TraceNode& node) {
  return node.signature() && verify_signature(key, id_bytes(node), *node.signature());
}

}  // namespace witness::ledger
