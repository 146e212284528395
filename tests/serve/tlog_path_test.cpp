// Tile paths (C2SP tlog-tiles): the spec's examples, a format/parse round trip over every
// level, index and width, and the spellings that must be refused.
#include "tlog_path.hpp"

#include <catch2/catch.hpp>
#include <rapidcheck/catch.h>

using witness::serve::detail::format_tile_path;
using witness::serve::detail::parse_tile_path;
using witness::serve::detail::TilePath;

TEST_CASE("tile paths: the spec's examples") {
  CHECK(format_tile_path({.level = 0, .index = 1234067}) == "tile/0/x001/x234/067");
  CHECK(format_tile_path({.level = 2, .index = 0, .width = 1}) == "tile/2/000.p/1");
  CHECK(format_tile_path({.entries = true, .index = 5}) == "tile/entries/005");
  CHECK(format_tile_path({.level = 1, .index = 1000}) == "tile/1/x001/000");
  const auto t = parse_tile_path("tile/1/x001/x234/067.p/8");
  REQUIRE(t);
  CHECK(*t == TilePath{.entries = false, .level = 1, .index = 1234067, .width = 8});
  const auto e = parse_tile_path("tile/entries/x002/255.p/255");
  REQUIRE(e);
  CHECK(*e == TilePath{.entries = true, .level = 0, .index = 2255, .width = 255});
  const auto max = parse_tile_path("tile/63/x018/x446/x744/x073/x709/x551/615");
  REQUIRE(max);
  CHECK(max->index == UINT64_MAX);
}

TEST_CASE("tile paths: each spelling is refused with a reason") {
  for (const char* bad : {"tile",
                          "tile/0",
                          "tiles/0/000",
                          "tile/00/000",
                          "tile/64/000",
                          "tile/-1/000",
                          "tile/0/0",
                          "tile/0/0000",
                          "tile/0/x000/001",
                          "tile/0/001/002",
                          "tile/0/x01/002",
                          "tile/0/000.p",
                          "tile/0/000.p/0",
                          "tile/0/000.p/256",
                          "tile/0/000.p/08",
                          "tile/0/000.q/8",
                          "tile/0/000/",
                          "tile/0//000",
                          "tile/0/x018/x446/x744/x073/x709/x551/616",
                          "tile/entries/000.p/",
                          "tile/entries",
                          "tile/0/abc",
                          "tile/0/000.p/8/1"}) {
    INFO(bad);
    const auto t = parse_tile_path(bad);
    REQUIRE_FALSE(t);
    CHECK(t.error().code == witness::ErrorCode::kInvalidArgument);
    CHECK_FALSE(t.error().message.empty());
  }
}

TEST_CASE("tile paths: parse(format(t)) == t") {
  rc::prop("round trip", [] {
    TilePath t;
    t.entries = *rc::gen::arbitrary<bool>();
    t.level = t.entries ? 0U : *rc::gen::inRange(0U, 64U);
    t.index = *rc::gen::oneOf(rc::gen::arbitrary<std::uint64_t>(),
                              rc::gen::inRange<std::uint64_t>(0, 5000));
    t.width = *rc::gen::inRange(1U, 257U);
    const auto parsed = parse_tile_path(format_tile_path(t));
    RC_ASSERT(parsed.has_value());
    RC_ASSERT(*parsed == t);
  });
}
