// --json output: every object the commands print is built as an nlohmann::ordered_json (keys in
// the order written) and printed here, so that no string reaches the output unescaped.
#pragma once

#include <iostream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace witness::tools {

using JsonOut = nlohmann::ordered_json;

// `value` as JSON text. Bytes that are not UTF-8 (a path is bytes) become U+FFFD, so the text
// is always valid JSON.
[[nodiscard]] inline std::string json_text(const JsonOut& value) {
  return value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// One line of JSON.
inline void print_json(const JsonOut& value, std::ostream& out = std::cout) {
  out << json_text(value) << '\n';
}

// A value that is already JSON text (a canonical entry line, an alert), to nest in an object.
inline JsonOut json_value(std::string_view text) { return JsonOut::parse(text); }

}  // namespace witness::tools
