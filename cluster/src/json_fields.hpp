// Reading fields of JSON objects that came over the wire or out of a payload: a missing or
// ill-typed field reads as empty or 0, never throws. (json::value's conversion also trips
// GCC's null-dereference analysis.)
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace witness::cluster::detail {

// o[key] when `o` is an object and that field a string, else "".
inline std::string text_of(const nlohmann::json& o, const char* key) {
  if (!o.is_object()) return {};
  const auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get_ref<const std::string&>() : std::string();
}

// o[key] when `o` is an object and that field an unsigned number, else 0.
inline std::uint64_t number_of(const nlohmann::json& o, const char* key) {
  if (!o.is_object()) return 0;
  const auto it = o.find(key);
  return it != o.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

}  // namespace witness::cluster::detail
