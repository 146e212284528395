// Big-endian (network order) integers in byte strings: the canonical node encoding, RocksDB
// keys (so that keys sort as their numbers do) and values. The one place witness writes them.
//
//   std::string key = "s";
//   witness::put_be64(seq, key);                  // 's' then 8 bytes, most significant first
//   std::uint64_t back = witness::get_be64(std::string_view(key).substr(1));
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace witness {

namespace endian_detail {
template <typename T>
void put_be(T v, std::string& out) {
  for (std::size_t i = sizeof(T); i-- > 0;) {
    out.push_back(static_cast<char>(static_cast<unsigned char>(v >> (8U * i))));
  }
}
template <typename T>
[[nodiscard]] T get_be(std::string_view bytes) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    v = static_cast<T>((v << 8U) | static_cast<unsigned char>(bytes[i]));
  }
  return v;
}
}  // namespace endian_detail

// Appends `v` to `out`, most significant byte first.
inline void put_be16(std::uint16_t v, std::string& out) { endian_detail::put_be(v, out); }
inline void put_be32(std::uint32_t v, std::string& out) { endian_detail::put_be(v, out); }
inline void put_be64(std::uint64_t v, std::string& out) { endian_detail::put_be(v, out); }

// Reads the integer at the start of `bytes`. REQUIRES: bytes.size() >= its width.
[[nodiscard]] inline std::uint16_t get_be16(std::string_view bytes) {
  return endian_detail::get_be<std::uint16_t>(bytes);
}
[[nodiscard]] inline std::uint32_t get_be32(std::string_view bytes) {
  return endian_detail::get_be<std::uint32_t>(bytes);
}
[[nodiscard]] inline std::uint64_t get_be64(std::string_view bytes) {
  return endian_detail::get_be<std::uint64_t>(bytes);
}

}  // namespace witness
