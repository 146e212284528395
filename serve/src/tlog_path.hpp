// C2SP tlog-tiles resource paths (https://c2sp.org/tlog-tiles, "Merkle Tree" and "Log
// entries"): tile/<L>/<N>[.p/<W>] and tile/entries/<N>[.p/<W>], with <N> in zero-padded
// 3-digit elements, all but the last beginning with "x" (1234067 is x001/x234/067).
//
//   parse_tile_path("tile/1/x001/x234/067.p/8")
//     -> TilePath{.entries = false, .level = 1, .index = 1234067, .width = 8}
//   format_tile_path(TilePath{.entries = true, .index = 5})  -> "tile/entries/005"
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "witness/base/result.hpp"

namespace witness::serve::detail {

struct TilePath {
  bool entries = false;     // an entry bundle, not a hash tile
  unsigned level = 0;       // 0..63 (hash tiles only)
  std::uint64_t index = 0;  // the tile's index within its level
  unsigned width = 256;     // 256 for a full tile; 1..255 for a partial one (".p/<W>")
  friend bool operator==(const TilePath&, const TilePath&) = default;
};

// Parses `path` (without the leading '/') strictly: the spec's one spelling of each tile, so
// that no two paths name the same resource. Errors: kInvalidArgument naming the bad element
// (a leading zero, a level above 63, a width outside 1..255, an element without its "x").
[[nodiscard]] Result<TilePath> parse_tile_path(std::string_view path);

// The path of `tile` (without a leading '/'). REQUIRES: level <= 63, width in 1..256.
[[nodiscard]] std::string format_tile_path(const TilePath& tile);

}  // namespace witness::serve::detail
