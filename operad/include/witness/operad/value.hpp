// Run-time types and values that flow between agents: integers, text, and pairs of them.
// The typed pipelines and the state-machine agents of the shipped operads use these, so a
// plugged input's type can be checked when the types are only known at run time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace witness::operad {

// A type: `int`, `text`, or the pair `(A, B)` of two types.
// Thread safety: an immutable value; all methods may be called concurrently.
class Type {
 public:
  enum class Kind : std::uint8_t { kInt, kText, kPair };

  [[nodiscard]] static Type integer() { return Type(Kind::kInt); }
  [[nodiscard]] static Type text() { return Type(Kind::kText); }
  [[nodiscard]] static Type pair(Type first, Type second);

  [[nodiscard]] Kind kind() const { return kind_; }
  // REQUIRES: kind() == kPair.
  [[nodiscard]] const Type& first() const;
  [[nodiscard]] const Type& second() const;
  // The scalar types left to right, e.g. ((int, text), int) -> int, text, int.
  [[nodiscard]] std::vector<Type> leaves() const;
  // "int", "text", "(int, (text, int))".
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const Type& a, const Type& b);

 private:
  explicit Type(Kind kind) : kind_(kind) {}
  Kind kind_;
  std::shared_ptr<const std::pair<Type, Type>> parts_;  // set for kPair only
};

// A value of some Type: an integer, a text, or a pair.
// Thread safety: an immutable value; all methods may be called concurrently.
class Value {
 public:
  Value() : Value(std::int64_t{0}) {}
  explicit Value(std::int64_t i) : data_(i) {}
  explicit Value(std::string s) : data_(std::move(s)) {}
  [[nodiscard]] static Value pair(Value first, Value second);

  [[nodiscard]] Type type() const;
  [[nodiscard]] bool is_int() const { return data_.index() == 0; }
  [[nodiscard]] bool is_text() const { return data_.index() == 1; }
  [[nodiscard]] bool is_pair() const { return data_.index() == 2; }
  // REQUIRES: the matching is_*().
  [[nodiscard]] std::int64_t as_int() const { return std::get<0>(data_); }
  [[nodiscard]] const std::string& as_text() const { return std::get<1>(data_); }
  [[nodiscard]] const Value& first() const { return std::get<2>(data_)->first; }
  [[nodiscard]] const Value& second() const { return std::get<2>(data_)->second; }

  // The scalars left to right: the value up to re-nesting of pairs (the canonical isomorphism
  // ((a, b), c) = (a, (b, c)) maps equal leaves to equal leaves).
  [[nodiscard]] std::vector<Value> leaves() const;
  // `7`, `"abc"`, `(7, "abc")`.
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const Value& a, const Value& b);

 private:
  using PairPtr = std::shared_ptr<const std::pair<Value, Value>>;
  std::variant<std::int64_t, std::string, PairPtr> data_;
};

// Rebuilds `leaves` (as returned by Value::leaves) into a value of type `type`.
// REQUIRES: the leaves match type.leaves() one to one.
[[nodiscard]] Value renest(const std::vector<Value>& leaves, const Type& type);

}  // namespace witness::operad
