#include "witness/operad/value.hpp"

#include "witness/base/result.hpp"

namespace witness::operad {
namespace {

void collect_leaves(const Type& t, std::vector<Type>& out) {
  if (t.kind() == Type::Kind::kPair) {
    collect_leaves(t.first(), out);
    collect_leaves(t.second(), out);
  } else {
    out.push_back(t);
  }
}

void collect_leaves(const Value& v, std::vector<Value>& out) {
  if (v.is_pair()) {
    collect_leaves(v.first(), out);
    collect_leaves(v.second(), out);
  } else {
    out.push_back(v);
  }
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

Value renest_from(const std::vector<Value>& leaves, const Type& type, std::size_t& pos) {
  if (type.kind() == Type::Kind::kPair) {
    Value first = renest_from(leaves, type.first(), pos);
    Value second = renest_from(leaves, type.second(), pos);
    return Value::pair(std::move(first), std::move(second));
  }
  WITNESS_CHECK(pos < leaves.size());
  return leaves[pos++];
}

}  // namespace

Type Type::pair(Type first, Type second) {
  Type t(Kind::kPair);
  t.parts_ = std::make_shared<const std::pair<Type, Type>>(std::move(first), std::move(second));
  return t;
}

const Type& Type::first() const {
  WITNESS_CHECK(kind_ == Kind::kPair);
  return parts_->first;
}

const Type& Type::second() const {
  WITNESS_CHECK(kind_ == Kind::kPair);
  return parts_->second;
}

std::vector<Type> Type::leaves() const {
  std::vector<Type> out;
  collect_leaves(*this, out);
  return out;
}

std::string Type::to_string() const {
  switch (kind_) {
    case Kind::kInt:
      return "int";
    case Kind::kText:
      return "text";
    case Kind::kPair:
      return "(" + first().to_string() + ", " + second().to_string() + ")";
  }
  return "?";
}

bool operator==(const Type& a, const Type& b) {
  if (a.kind_ != b.kind_) return false;
  if (a.kind_ != Type::Kind::kPair || a.parts_ == b.parts_) return true;
  return a.first() == b.first() && a.second() == b.second();
}

Value Value::pair(Value first, Value second) {
  Value v;
  v.data_ = std::make_shared<const std::pair<Value, Value>>(std::move(first), std::move(second));
  return v;
}

Type Value::type() const {
  if (is_int()) return Type::integer();
  if (is_text()) return Type::text();
  return Type::pair(first().type(), second().type());
}

std::vector<Value> Value::leaves() const {
  std::vector<Value> out;
  collect_leaves(*this, out);
  return out;
}

std::string Value::to_string() const {
  if (is_int()) return std::to_string(as_int());
  if (is_text()) return quote(as_text());
  return "(" + first().to_string() + ", " + second().to_string() + ")";
}

bool operator==(const Value& a, const Value& b) {
  if (a.data_.index() != b.data_.index()) return false;
  if (a.is_int()) return a.as_int() == b.as_int();
  if (a.is_text()) return a.as_text() == b.as_text();
  return a.first() == b.first() && a.second() == b.second();
}

Value renest(const std::vector<Value>& leaves, const Type& type) {
  std::size_t pos = 0;
  Value v = renest_from(leaves, type, pos);
  WITNESS_CHECK(pos == leaves.size());
  return v;
}

}  // namespace witness::operad
