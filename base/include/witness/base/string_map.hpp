// StringMap: an unordered_map keyed by std::string that is looked up by std::string_view without
// building a string (C++20 heterogeneous lookup).
//
//   witness::StringMap<int> counts;
//   counts["alert.triage"] = 1;
//   auto it = counts.find(std::string_view(origin));   // no allocation
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace witness {

// A transparent hash: std::string, std::string_view and const char* hash alike.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

}  // namespace witness
