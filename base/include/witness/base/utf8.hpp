// UTF-8 validation (RFC 3629): the one validator witness uses for node labels, JSON strings,
// manifests and signed notes. Well-formed means no stray continuation or invalid lead byte, no
// cut sequence, no overlong form, no UTF-16 surrogate, nothing past U+10FFFF. Header-only.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace witness {

// What is wrong with a byte sequence that is not well-formed UTF-8.
enum class Utf8Problem {
  kNone,
  kInvalidByte,  // a byte that cannot start a sequence, or a bad continuation byte
  kTruncated,    // the text ends inside a sequence
  kOverlong,     // a code point encoded in more bytes than it needs
  kSurrogate,    // U+D800..U+DFFF, which UTF-8 must not encode
  kOutOfRange,   // past U+10FFFF
};

// The sequence at the start of `s` (non-empty): its length in bytes, or the problem.
struct Utf8Sequence {
  std::size_t length = 0;  // 1..4 when problem is kNone
  Utf8Problem problem = Utf8Problem::kNone;
};

[[nodiscard]] constexpr Utf8Sequence utf8_sequence(std::string_view s) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80) return {1, Utf8Problem::kNone};
  std::size_t len = 0;
  unsigned cp = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1FU;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0FU;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07U;
  } else {
    return {0, b0 == 0xC0 || b0 == 0xC1 ? Utf8Problem::kOverlong : Utf8Problem::kInvalidByte};
  }
  if (s.size() < len) return {0, Utf8Problem::kTruncated};
  for (std::size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0U) != 0x80U) return {0, Utf8Problem::kInvalidByte};
    cp = (cp << 6U) | (b & 0x3FU);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return {0, Utf8Problem::kOverlong};
  if (cp > 0x10FFFF) return {0, Utf8Problem::kOutOfRange};
  if (cp >= 0xD800 && cp <= 0xDFFF) return {0, Utf8Problem::kSurrogate};
  return {len, Utf8Problem::kNone};
}

// The offset of the first byte that does not start a well-formed sequence, or nullopt.
[[nodiscard]] constexpr std::optional<std::size_t> first_invalid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const Utf8Sequence seq = utf8_sequence(s.substr(i));
    if (seq.problem != Utf8Problem::kNone) return i;
    i += seq.length;
  }
  return std::nullopt;
}

}  // namespace witness
