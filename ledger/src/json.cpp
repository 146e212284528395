#include "json.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string>
#include <system_error>

#include "witness/base/ascii.hpp"
#include "witness/base/utf8.hpp"

namespace witness::ledger::json {
namespace {

// The index of the first byte at or after `from` that a JSON string cannot hold as it is: '"',
// '\\', a control character (< 0x20), or, with `stop_at_non_ascii`, any byte >= 0x80 (the start
// of a UTF-8 sequence, checked by the caller); s.size() if none. Eight bytes at a time (SWAR:
// a word with none of them is skipped whole; one with any is scanned byte by byte).
std::size_t find_special(std::string_view s, std::size_t from, bool stop_at_non_ascii) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHighs = 0x8080808080808080ULL;
  const auto has_zero = [](std::uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  std::size_t i = from;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, s.data() + i, 8);
    // Bytes < 0x20: (w - 0x20..) borrows into the high bit only for them when the byte's own
    // high bit is clear; bytes with the high bit set are caught below or by the byte loop.
    const std::uint64_t control = (w - 0x20 * kOnes) & ~w & kHighs;
    const std::uint64_t quote = has_zero(w ^ (kOnes * '"'));
    const std::uint64_t backslash = has_zero(w ^ (kOnes * '\\'));
    const std::uint64_t high = stop_at_non_ascii ? (w & kHighs) : 0;
    if ((control | quote | backslash | high) != 0) break;
  }
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\' || c < 0x20 || (stop_at_non_ascii && c >= 0x80)) return i;
  }
  return s.size();
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<Value> parse_document() {
    skip_ws();
    WITNESS_ASSIGN_OR_RETURN(Value v, parse_value(0));
    skip_ws();
    if (pos_ != text_.size()) return fail("unexpected data after the JSON value");
    return v;
  }

 private:
  [[nodiscard]] Error fail(std::string_view what) const {
    return invalid_argument("at byte " + std::to_string(pos_) + ": " + std::string(what));
  }

  void skip_ws() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++pos_;
    }
  }

  bool consume_literal(std::string_view lit) {
    if (text_.substr(pos_, lit.size()) != lit) return false;
    pos_ += lit.size();
    return true;
  }

  Result<Value> parse_value(int depth) {
    if (depth > kMaxDepth) return fail("nesting deeper than 128");
    if (pos_ >= text_.size()) return fail("unexpected end of input");
    const char c = text_[pos_];
    switch (c) {
      case '{':
        return parse_object(depth);
      case '[':
        return parse_array(depth);
      case '"': {
        WITNESS_ASSIGN_OR_RETURN(std::string s, parse_string());
        return Value{std::move(s)};
      }
      case 't':
        if (consume_literal("true")) return Value{true};
        return fail("invalid literal");
      case 'f':
        if (consume_literal("false")) return Value{false};
        return fail("invalid literal");
      case 'n':
        if (consume_literal("null")) return Value{Null{}};
        return fail("invalid literal");
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
        return fail("unexpected character '" + printable(std::string_view(&c, 1)) + "'");
    }
  }

  Result<Value> parse_object(int depth) {
    ++pos_;  // '{'
    Object members;
    skip_ws();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return Value{std::move(members)};
    }
    while (true) {
      skip_ws();
      if (pos_ >= text_.size() || text_[pos_] != '"') return fail("expected a string key");
      WITNESS_ASSIGN_OR_RETURN(std::string key, parse_string());
      skip_ws();
      if (pos_ >= text_.size() || text_[pos_] != ':') return fail("expected ':'");
      ++pos_;
      skip_ws();
      WITNESS_ASSIGN_OR_RETURN(Value v, parse_value(depth + 1));
      members.push_back(Member{std::move(key), std::move(v)});
      skip_ws();
      if (pos_ >= text_.size()) return fail("unexpected end of input in object");
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (text_[pos_] == '}') {
        ++pos_;
        break;
      }
      return fail("expected ',' or '}'");
    }
    // Duplicate keys make the meaning ambiguous (RFC 7493 section 2.3): reject them.
    if (members.size() > 1) {
      std::vector<std::string_view> keys;
      keys.reserve(members.size());
      for (const auto& m : members) keys.emplace_back(m.first);
      std::sort(keys.begin(), keys.end());
      const auto dup = std::adjacent_find(keys.begin(), keys.end());
      if (dup != keys.end()) return fail("duplicate key \"" + std::string(*dup) + "\"");
    }
    return Value{std::move(members)};
  }

  Result<Value> parse_array(int depth) {
    ++pos_;  // '['
    Array items;
    skip_ws();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return Value{std::move(items)};
    }
    while (true) {
      skip_ws();
      WITNESS_ASSIGN_OR_RETURN(Value v, parse_value(depth + 1));
      items.push_back(std::move(v));
      skip_ws();
      if (pos_ >= text_.size()) return fail("unexpected end of input in array");
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (text_[pos_] == ']') {
        ++pos_;
        break;
      }
      return fail("expected ',' or ']'");
    }
    return Value{std::move(items)};
  }

  Result<Value> parse_number() {
    const std::size_t start = pos_;
    if (text_[pos_] == '-') ++pos_;
    if (pos_ >= text_.size()) return fail("truncated number");
    if (text_[pos_] == '0') {
      ++pos_;
    } else if (text_[pos_] >= '1' && text_[pos_] <= '9') {
      while (pos_ < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[pos_])) != 0)) {
        ++pos_;
      }
    } else {
      return fail("invalid number");
    }
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (pos_ >= text_.size() || (std::isdigit(static_cast<unsigned char>(text_[pos_])) == 0)) {
        return fail("expected a digit after '.'");
      }
      while (pos_ < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[pos_])) != 0)) {
        ++pos_;
      }
    }
    bool negative_exponent = false;
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) {
        negative_exponent = text_[pos_] == '-';
        ++pos_;
      }
      if (pos_ >= text_.size() || (std::isdigit(static_cast<unsigned char>(text_[pos_])) == 0)) {
        return fail("expected a digit in the exponent");
      }
      while (pos_ < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[pos_])) != 0)) {
        ++pos_;
      }
    }
    const std::string_view lit = text_.substr(start, pos_ - start);
    Number n;
    n.literal = std::string(lit);
    const auto [ptr, ec] = std::from_chars(lit.data(), lit.data() + lit.size(), n.value);
    if (ec == std::errc::result_out_of_range) {
      // Too small to represent rounds to zero, as in ECMAScript; too large has no JSON form.
      if (!negative_exponent) return fail("number out of range");
      n.value = 0.0;
    } else if (ec != std::errc() || ptr != lit.data() + lit.size()) {
      return fail("invalid number");
    }
    return Value{std::move(n)};
  }

  Result<unsigned> parse_hex4() {
    if (pos_ + 4 > text_.size()) return fail("truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      v <<= 4U;
      if (c >= '0' && c <= '9') {
        v |= static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<unsigned>(c - 'A' + 10);
      } else {
        return fail("invalid hex digit in \\u escape");
      }
    }
    return v;
  }

  static void append_utf8(unsigned cp, std::string& out) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0U | (cp >> 6U)));
      out.push_back(static_cast<char>(0x80U | (cp & 0x3FU)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0U | (cp >> 12U)));
      out.push_back(static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU)));
      out.push_back(static_cast<char>(0x80U | (cp & 0x3FU)));
    } else {
      out.push_back(static_cast<char>(0xF0U | (cp >> 18U)));
      out.push_back(static_cast<char>(0x80U | ((cp >> 12U) & 0x3FU)));
      out.push_back(static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU)));
      out.push_back(static_cast<char>(0x80U | (cp & 0x3FU)));
    }
  }

  // Validates one UTF-8 sequence starting at pos_ (witness/base/utf8.hpp) and copies it.
  Status copy_utf8_sequence(std::string& out) {
    const Utf8Sequence seq = utf8_sequence(text_.substr(pos_));
    switch (seq.problem) {
      case Utf8Problem::kNone:
        break;
      case Utf8Problem::kInvalidByte:
        return fail("invalid UTF-8");
      case Utf8Problem::kTruncated:
        return fail("truncated UTF-8 sequence");
      case Utf8Problem::kOverlong:
      case Utf8Problem::kOutOfRange:
        return fail("overlong or out-of-range UTF-8");
      case Utf8Problem::kSurrogate:
        return fail("UTF-8 encoded surrogate");
    }
    out.append(text_.substr(pos_, seq.length));
    pos_ += seq.length;
    return ok_status();
  }

  Result<std::string> parse_string() {
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      // Fast path: a run of plain ASCII.
      const std::size_t run_start = pos_;
      pos_ = find_special(text_, pos_, /*stop_at_non_ascii=*/true);
      out.append(text_.substr(run_start, pos_ - run_start));
      if (pos_ >= text_.size()) return fail("unterminated string");
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) return fail("control character in string");
      if (c >= 0x80) {
        WITNESS_RETURN_IF_ERROR(copy_utf8_sequence(out));
        continue;
      }
      // Backslash escape.
      ++pos_;
      if (pos_ >= text_.size()) return fail("unterminated escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          WITNESS_ASSIGN_OR_RETURN(unsigned cp, parse_hex4());
          if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("lone low surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (text_.substr(pos_, 2) != "\\u") return fail("lone high surrogate in \\u escape");
            pos_ += 2;
            WITNESS_ASSIGN_OR_RETURN(unsigned lo, parse_hex4());
            if (lo < 0xDC00 || lo > 0xDFFF) return fail("lone high surrogate in \\u escape");
            cp = 0x10000U + ((cp - 0xD800U) << 10U) + (lo - 0xDC00U);
          }
          append_utf8(cp, out);
          break;
        }
        default:
          return fail(std::string("invalid escape '\\") + printable(std::string_view(&e, 1)) + "'");
      }
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// Yields the UTF-16 code units of a valid UTF-8 string, for RFC 8785 key ordering.
class Utf16Units {
 public:
  explicit Utf16Units(std::string_view s) : s_(s) {}
  // Returns the next code unit, or -1 at the end.
  int next() {
    if (pending_low_ != 0) {
      const int lo = pending_low_;
      pending_low_ = 0;
      return lo;
    }
    if (pos_ >= s_.size()) return -1;
    const auto b0 = static_cast<unsigned char>(s_[pos_]);
    unsigned cp = 0;
    std::size_t len = 1;
    if (b0 < 0x80) {
      cp = b0;
    } else if (b0 < 0xE0) {
      cp = b0 & 0x1FU;
      len = 2;
    } else if (b0 < 0xF0) {
      cp = b0 & 0x0FU;
      len = 3;
    } else {
      cp = b0 & 0x07U;
      len = 4;
    }
    for (std::size_t i = 1; i < len && pos_ + i < s_.size(); ++i) {
      cp = (cp << 6U) | (static_cast<unsigned char>(s_[pos_ + i]) & 0x3FU);
    }
    pos_ += len;
    if (cp >= 0x10000) {
      const unsigned v = cp - 0x10000U;
      pending_low_ = static_cast<int>(0xDC00U + (v & 0x3FFU));
      return static_cast<int>(0xD800U + (v >> 10U));
    }
    return static_cast<int>(cp);
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
  int pending_low_ = 0;  // a pending low surrogate, or 0
};

bool utf16_less(std::string_view a, std::string_view b) {
  // UTF-8 byte order equals UTF-16 code unit order except between U+E000..U+FFFF (lead bytes
  // 0xEE, 0xEF) and supplementary characters (surrogate pairs in UTF-16). Without such
  // lead bytes the cheap bytewise comparison is exact.
  const auto has_high = [](std::string_view s) {
    return std::any_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) >= 0xEE; });
  };
  if (!has_high(a) || !has_high(b)) return a < b;
  Utf16Units ua(a);
  Utf16Units ub(b);
  while (true) {
    const int x = ua.next();
    const int y = ub.next();
    if (x != y) return x < y;  // -1 (end) sorts first, as a proper prefix should
    if (x < 0) return false;
  }
}

}  // namespace

const Value* Value::find(std::string_view key) const {
  const auto* obj = std::get_if<Object>(&v);
  if (obj == nullptr) return nullptr;
  for (const auto& [k, val] : *obj) {
    if (k == key) return &val;
  }
  return nullptr;
}

Result<Value> parse(std::string_view text) { return Parser(text).parse_document(); }

std::string_view type_name(const Value& value) {
  switch (value.v.index()) {
    case 0:
      return "null";
    case 1:
      return "boolean";
    case 2:
      return "number";
    case 3:
      return "string";
    case 4:
      return "array";
    default:
      return "object";
  }
}

void write_string(std::string_view s, std::string& out) {
  static constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  out.push_back('"');
  std::size_t run = 0;
  for (std::size_t i = find_special(s, 0, false); i < s.size(); i = find_special(s, i + 1, false)) {
    const auto c = static_cast<unsigned char>(s[i]);
    out.append(s.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4U]);
        out.push_back(kHex[c & 0xFU]);
    }
  }
  out.append(s.substr(run));
  out.push_back('"');
}

void write_number(double d, std::string& out) {
  if (d == 0) {  // both zeros print "0"
    out.push_back('0');
    return;
  }
  // Shortest round-trip digits in scientific form: "-d.ddde+XX".
  std::array<char, 64> buf{};
  const auto res =
      std::to_chars(buf.data(), buf.data() + buf.size(), d, std::chars_format::scientific);
  std::string_view sci(buf.data(), static_cast<std::size_t>(res.ptr - buf.data()));
  if (sci.front() == '-') {
    out.push_back('-');
    sci.remove_prefix(1);
  }
  const std::size_t e_pos = sci.find('e');
  std::string digits;
  digits.reserve(24);
  for (std::size_t i = 0; i < e_pos; ++i) {
    if (sci[i] != '.') digits.push_back(sci[i]);
  }
  int exp10 = 0;
  {
    std::string_view es = sci.substr(e_pos + 1);
    if (es.front() == '+') es.remove_prefix(1);
    std::from_chars(es.data(), es.data() + es.size(), exp10);
  }
  // ECMAScript Number::toString (ECMA-262 6.1.6.1.20): k digits, n = exponent + 1.
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, static_cast<std::size_t>(n));
    out.push_back('.');
    out.append(digits, static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out += digits;
  } else {
    out.push_back(digits[0]);
    if (k > 1) {
      out.push_back('.');
      out.append(digits, 1);
    }
    out.push_back('e');
    out.push_back(n - 1 >= 0 ? '+' : '-');
    out += std::to_string(std::abs(n - 1));
  }
}

void write_canonical(const Value& value, std::string& out) {
  switch (value.v.index()) {
    case 0:
      out += "null";
      return;
    case 1:
      out += std::get<bool>(value.v) ? "true" : "false";
      return;
    case 2:
      write_number(std::get<Number>(value.v).value, out);
      return;
    case 3:
      write_string(std::get<std::string>(value.v), out);
      return;
    case 4: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : std::get<Array>(value.v)) {
        if (!first) out.push_back(',');
        first = false;
        write_canonical(item, out);
      }
      out.push_back(']');
      return;
    }
    default: {
      const auto& obj = std::get<Object>(value.v);
      std::vector<const Member*> sorted;
      sorted.reserve(obj.size());
      for (const auto& m : obj) sorted.push_back(&m);
      std::sort(sorted.begin(), sorted.end(),
                [](const auto* a, const auto* b) { return utf16_less(a->first, b->first); });
      out.push_back('{');
      bool first = true;
      for (const auto* m : sorted) {
        if (!first) out.push_back(',');
        first = false;
        write_string(m->first, out);
        out.push_back(':');
        write_canonical(m->second, out);
      }
      out.push_back('}');
      return;
    }
  }
}

}  // namespace witness::ledger::json
