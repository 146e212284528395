// ASCII case folding: how witness compares names where letter case must not matter (covenant
// rules and subjects, the reserved "witness." prefix). Bytes outside A-Z are compared as they
// are: no locale, no Unicode case folding. Header-only, allocation-free.
#pragma once

#include <cstddef>
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

// `text` starts with `prefix`, without regard to ASCII letter case.
[[nodiscard]] constexpr bool ascii_istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && ascii_iequal(text.substr(0, prefix.size()), prefix);
}

}  // namespace witness
