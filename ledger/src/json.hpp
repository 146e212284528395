// A strict JSON (RFC 8259) parser into a small DOM, and the RFC 8785 (JCS) canonical writer.
// Private to the ledger: the CLI line format, export/import and payload canonicalisation use it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "witness/base/result.hpp"

namespace witness::ledger::json {

struct Value;
struct Member;
using Array = std::vector<Value>;
// Members in input order; the parser rejects duplicate keys (I-JSON, RFC 7493). A named
// struct, not std::pair: pair<string, Value> needs Value complete where Value is defined.
using Object = std::vector<Member>;

struct Null {};
// A number keeps its literal text: integers such as ns timestamps need more than a double's
// 53 bits, while canonical output uses the IEEE double (RFC 8785 section 3.2.2.3).
struct Number {
  double value = 0;
  std::string literal;
};

struct Value {
  std::variant<Null, bool, Number, std::string, Array, Object> v;

  [[nodiscard]] bool is_object() const { return std::holds_alternative<Object>(v); }
  [[nodiscard]] bool is_string() const { return std::holds_alternative<std::string>(v); }
  [[nodiscard]] bool is_number() const { return std::holds_alternative<Number>(v); }
  [[nodiscard]] bool is_array() const { return std::holds_alternative<Array>(v); }
  [[nodiscard]] bool is_null() const { return std::holds_alternative<Null>(v); }
  // Returns the member `key` of an object, or nullptr.
  [[nodiscard]] const Value* find(std::string_view key) const;
};

struct Member {
  std::string first;  // the key
  Value second;       // the value
};

// Limits that keep hostile input from exhausting the stack.
inline constexpr int kMaxDepth = 128;

// Parses exactly one JSON value (surrounding whitespace allowed). Errors: kInvalidArgument
// "at byte N: <problem>".
[[nodiscard]] Result<Value> parse(std::string_view text);

// Appends the RFC 8785 canonical form of `value` to `out`.
void write_canonical(const Value& value, std::string& out);
// Appends `s` as a canonical JSON string literal (quotes included).
void write_string(std::string_view s, std::string& out);
// Appends the ECMAScript Number::toString form of `d`. REQUIRES: d is finite.
void write_number(double d, std::string& out);

// Returns a short description of the value's type: "object", "string", ...
[[nodiscard]] std::string_view type_name(const Value& value);

}  // namespace witness::ledger::json
