#include "json.hpp"

#include <bit>
#include <cstring>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <rapidcheck/catch.h>

#include "witness/ledger/jsonl.hpp"

#include "generators.hpp"

using witness::ledger::canonicalize_json;
namespace json = witness::ledger::json;

namespace {

std::string canon(std::string_view text) {
  auto r = canonicalize_json(text);
  REQUIRE(r.has_value());
  return *r;
}

std::string error_of(std::string_view text) {
  auto r = canonicalize_json(text);
  REQUIRE_FALSE(r.has_value());
  return r.error().message;
}

}  // namespace

TEST_CASE("canonical JSON matches the RFC 8785 examples", "[ledger][json]") {
  // The sample of RFC 8785 section 3.2.2 / appendix: numbers, escapes, literals.
  CHECK(canon(R"({
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
})") == "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
        "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
  // Key order is by UTF-16 code units: U+E000 sorts after a surrogate pair (U+1F600).
  CHECK(canon("{\"\xee\x80\x80\":1,\"\xf0\x9f\x98\x80\":2,\"a\":3}") ==
        "{\"a\":3,\"\xf0\x9f\x98\x80\":2,\"\xee\x80\x80\":1}");
  CHECK(canon(R"({"b":1,"a":{"d":[],"c":{}}})") == R"({"a":{"c":{},"d":[]},"b":1})");
  CHECK(canon(" [ ] ") == "[]");
  CHECK(canon("\"\\u007f\\u2028\"") == "\"\x7f\xe2\x80\xa8\"");
}

TEST_CASE("numbers print as ECMAScript Number::toString", "[ledger][json]") {
  // Vectors generated with Node.js (String(x)); they include RFC 8785 appendix B.
  std::ifstream in(std::string(WITNESS_TEST_DATA_DIR) + "/es6_numbers.txt");
  REQUIRE(in.good());
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.find(' ');
    const std::uint64_t bits = std::stoull(line.substr(0, space), nullptr, 16);
    const std::string expected = line.substr(space + 1);
    const auto d = std::bit_cast<double>(bits);
    std::string out;
    json::write_number(d, out);
    INFO("bits " << line.substr(0, space));
    CHECK(out == expected);
    // And via text: a 17-digit literal of the same double canonicalises to the same string.
    std::ostringstream lit;
    lit.precision(17);
    lit << d;
    CHECK(canon(lit.str()) == expected);
    ++checked;
  }
  CHECK(checked > 3000);
}

TEST_CASE("canonicalisation is idempotent and ignores key order and spacing", "[ledger][json]") {
  rc::prop("canonical(canonical(x)) == canonical(x)", [] {
    const std::string text = *witness::testing::gen_json_text(3);
    const auto once = canonicalize_json(text);
    RC_ASSERT(once.has_value());
    const auto twice = canonicalize_json(*once);
    RC_ASSERT(twice.has_value());
    RC_ASSERT(*once == *twice);
  });
  rc::prop("members in any order give the same bytes", [] {
    auto members = *rc::gen::container<std::map<std::string, int>>(
        rc::gen::container<std::string>(rc::gen::inRange<char>('a', 'z')),
        rc::gen::arbitrary<int>());
    std::vector<std::pair<std::string, int>> shuffled(members.begin(), members.end());
    const auto order = witness::testing::shuffled(shuffled);
    const auto render = [](const std::vector<std::pair<std::string, int>>& m) {
      std::string out = "{";
      for (std::size_t i = 0; i < m.size(); ++i) {
        out += (i ? ", \"" : "\"") + m[i].first + "\" : " + std::to_string(m[i].second);
      }
      return out + "}";
    };
    RC_ASSERT(*canonicalize_json(render(shuffled)) == *canonicalize_json(render(order)));
  });
}

TEST_CASE("malformed JSON is rejected with the byte offset and the problem", "[ledger][json]") {
  CHECK(error_of("{\"a\":1,\"a\":2}").find("duplicate key \"a\"") != std::string::npos);
  CHECK(error_of("{\"a\":1} x").find("at byte 8: unexpected data") != std::string::npos);
  CHECK(error_of("\"\\ud800\"").find("lone high surrogate") != std::string::npos);
  CHECK(error_of("\"\\udc00\"").find("lone low surrogate") != std::string::npos);
  CHECK(error_of("\"\xc3\x28\"").find("invalid UTF-8") != std::string::npos);
  CHECK(error_of("\"\xe0\x80\xaf\"").find("overlong") != std::string::npos);
  CHECK(error_of("\"\xed\xa0\x80\"").find("surrogate") != std::string::npos);
  CHECK(error_of("\"a\nb\"").find("control character") != std::string::npos);
  CHECK(error_of("01").find("unexpected data") != std::string::npos);
  CHECK(error_of("1.").find("digit after '.'") != std::string::npos);
  CHECK(error_of("1e999").find("out of range") != std::string::npos);
  CHECK(canon("1e-999") == "0");
  CHECK(error_of("[1,]").find("unexpected character ']'") != std::string::npos);
  CHECK(error_of("{'a':1}").find("expected a string key") != std::string::npos);
  CHECK(error_of("").find("unexpected end of input") != std::string::npos);
  CHECK(error_of("nul").find("invalid literal") != std::string::npos);
  CHECK(error_of(std::string(200, '[')).find("nesting deeper than 128") != std::string::npos);
  rc::prop("arbitrary bytes never crash the parser", [](const std::string& bytes) {
    std::ignore = canonicalize_json(bytes);  // any result is fine; no crash, no UB
  });
}

TEST_CASE("strings with a special byte at every offset of the 8-byte scan", "[json]") {
  // The string scanners skip eight bytes at a time when none needs care; a quote, backslash,
  // control character or UTF-8 byte at any offset, and runs that end mid-word, must still be
  // found. Reference: one byte at a time.
  const auto reference_escape = [](std::string_view s) {
    std::string out = "\"";
    for (const char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '"') {
        out += "\\\"";
      } else if (c == '\\') {
        out += "\\\\";
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\t') {
        out += "\\t";
      } else if (c < 0x20) {
        static constexpr char kHex[] = "0123456789abcdef";
        out += "\\u00";
        out.push_back(kHex[c >> 4U]);
        out.push_back(kHex[c & 15U]);
      } else {
        out.push_back(ch);
      }
    }
    return out + "\"";
  };
  const std::vector<std::string> specials = {"\"", "\\",       "\x01", "\x1f", "\n",
                                             "\t", "\xc3\xa9", "\x7f", " ",    "\xe2\x82\xac"};
  for (std::size_t len = 0; len <= 24; ++len) {
    for (std::size_t at = 0; at <= len; ++at) {
      for (const auto& special : specials) {
        std::string s(len, 'a');
        s.insert(at, special);
        std::string written;
        json::write_string(s, written);
        INFO("len " << len << " at " << at << " special " << static_cast<int>(special[0]));
        REQUIRE(written == reference_escape(s));
        auto back = json::parse(written);
        REQUIRE(back);
        REQUIRE(std::get<std::string>(back->v) == s);
      }
    }
  }
}
