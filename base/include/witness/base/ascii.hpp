// ASCII helpers: case folding, how witness compares names where letter case must not matter
// (covenant rules and subjects, the reserved "witness." prefix; bytes outside A-Z are compared
// as they are: no locale, no Unicode case folding), and bytes shown in messages. Header-only.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace witness {

// 'A'..'Z' to 'a'..'z'; every other byte unchanged.
[[nodiscard]] constexpr char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Equal without regard to ASCII letter case.
[[nodiscard]] constexpr bool ascii_iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

// `text` with A-Z lowered: the key under which a name is stored where case must not matter.
[[nodiscard]] inline std::string ascii_lowered(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

// `text` starts with `prefix`, without regard to ASCII letter case.
[[nodiscard]] constexpr bool ascii_istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && ascii_iequal(text.substr(0, prefix.size()), prefix);
}

// `text` for an error message: printable ASCII as it is, every other byte as \xHH (two hex
// digits), so that "\xc3" names the byte 0xC3.
[[nodiscard]] inline std::string printable(std::string_view text) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(kHex[u >> 4U]);
      out.push_back(kHex[u & 0x0FU]);
    }
  }
  return out;
}

}  // namespace witness
