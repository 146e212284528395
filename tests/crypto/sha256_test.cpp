// witness::crypto::Sha256: FIPS 180-4 example vectors, incremental equals one-shot, and hashers
// that are alive at once (the pool hands each its own context) do not disturb each other.
#include "witness/crypto/sha256.hpp"

#include <string>
#include <utility>

#include <catch2/catch.hpp>
#include <rapidcheck/catch.h>

namespace crypto = witness::crypto;

namespace {

std::string hex(const crypto::Sha256Bytes& d) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const std::uint8_t b : d) {
    out.push_back(kDigits[b >> 4U]);
    out.push_back(kDigits[b & 15U]);
  }
  return out;
}

}  // namespace

TEST_CASE("SHA-256 gives the FIPS 180-4 example digests", "[crypto]") {
  CHECK(hex(crypto::sha256("")) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hex(crypto::sha256("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hex(crypto::sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")) ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("hashers alive at once are independent, and finish() starts over", "[crypto]") {
  crypto::Sha256 a;
  crypto::Sha256 b;
  a.update("a");
  b.update("ab");
  {
    crypto::Sha256 inner;  // taken and given back between a's pieces
    CHECK(inner.update("x").finish() == crypto::sha256("x"));
  }
  a.update("bc");
  b.update("c");
  CHECK(a.finish() == crypto::sha256("abc"));
  CHECK(b.finish() == crypto::sha256("abc"));
  CHECK(a.update("abc").finish() == crypto::sha256("abc"));
  crypto::Sha256 moved = std::move(b);
  CHECK(moved.update("").finish() == crypto::sha256(""));
}

TEST_CASE("hashing in pieces equals hashing at once", "[crypto]") {
  rc::prop("any split", [](const std::string& text, std::size_t cut) {
    const std::size_t at = text.empty() ? 0 : cut % (text.size() + 1);
    crypto::Sha256 h;
    h.update(std::string_view(text).substr(0, at)).update(std::string_view(text).substr(at));
    RC_ASSERT(h.finish() == crypto::sha256(text));
  });
}
