// Big-endian integers (base/endian.hpp): known bytes, round trips, and byte order = number order
// (what RocksDB keys rely on).
#include "witness/base/endian.hpp"

#include <catch2/catch.hpp>
#include <rapidcheck/catch.h>

TEST_CASE("big-endian integers are written most significant byte first", "[base][endian]") {
  std::string out;
  witness::put_be16(0x0102, out);
  witness::put_be32(0x03040506U, out);
  witness::put_be64(0x0708090a0b0c0d0eULL, out);
  CHECK(out == std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e", 14));
  CHECK(witness::get_be16(out) == 0x0102);
  CHECK(witness::get_be32(std::string_view(out).substr(2)) == 0x03040506U);
  CHECK(witness::get_be64(std::string_view(out).substr(6)) == 0x0708090a0b0c0d0eULL);
}

TEST_CASE("big-endian round trips and sorts as the numbers do", "[base][endian]") {
  rc::prop("64-bit", [](std::uint64_t a, std::uint64_t b) {
    std::string x;
    std::string y;
    witness::put_be64(a, x);
    witness::put_be64(b, y);
    RC_ASSERT(x.size() == 8U);
    RC_ASSERT(witness::get_be64(x) == a);
    RC_ASSERT((x < y) == (a < b));
  });
  rc::prop("32-bit", [](std::uint32_t a) {
    std::string x;
    witness::put_be32(a, x);
    RC_ASSERT(witness::get_be32(x) == a);
  });
  rc::prop("16-bit", [](std::uint16_t a) {
    std::string x;
    witness::put_be16(a, x);
    RC_ASSERT(witness::get_be16(x) == a);
  });
}
