#include "tlog_path.hpp"

#include <charconv>
#include <vector>

namespace witness::serve::detail {
namespace {

// A decimal with no sign and no leading zero (but "0" itself), at most `max`.
Result<std::uint64_t> decimal(std::string_view text, std::uint64_t max, std::string_view what) {
  const auto bad = [&] {
    return invalid_argument(std::string(what) + " \"" + std::string(text) +
                            "\": expected a decimal integer with no leading zeros, at most " +
                            std::to_string(max));
  };
  std::uint64_t v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end || v > max ||
      (text.size() > 1 && text[0] == '0')) {
    return bad();
  }
  return v;
}

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

bool three_digits(std::string_view s) {
  return s.size() == 3 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' &&
         s[2] <= '9';
}

}  // namespace

Result<TilePath> parse_tile_path(std::string_view path) {
  const auto parts = split(path);
  if (parts.size() < 3 || parts[0] != "tile") {
    return invalid_argument(
        "not a tile path: expected tile/<L>/<N>[.p/<W>] or "
        "tile/entries/<N>[.p/<W>]");
  }
  TilePath out;
  if (parts[1] == "entries") {
    out.entries = true;
  } else {
    WITNESS_ASSIGN_OR_RETURN(const auto level, decimal(parts[1], 63, "tile level"));
    out.level = static_cast<unsigned>(level);
  }
  // The index: elements x<ddd>/.../<ddd>, then optionally ".p" on the last and one more
  // element, the width.
  std::size_t end = parts.size();
  std::string_view last_index = parts[end - 1];
  if (end >= 4 && parts[end - 2].size() == 5 && parts[end - 2].substr(3) == ".p") {
    WITNESS_ASSIGN_OR_RETURN(const auto width, decimal(parts[end - 1], 255, "tile width"));
    if (width == 0) return invalid_argument("tile width 0: a partial tile has 1 to 255 hashes");
    out.width = static_cast<unsigned>(width);
    --end;
    last_index = parts[end - 1].substr(0, 3);
  }
  std::uint64_t index = 0;
  for (std::size_t i = 2; i < end; ++i) {
    const bool is_last = i + 1 == end;
    std::string_view element = is_last ? last_index : parts[i];
    if (!is_last) {
      if (element.size() != 4 || element[0] != 'x') {
        return invalid_argument("tile index element \"" + std::string(parts[i]) +
                                "\": all but the last are x and 3 digits");
      }
      element.remove_prefix(1);
    }
    if (!three_digits(element)) {
      return invalid_argument("tile index element \"" + std::string(parts[i]) +
                              "\": expected 3 digits");
    }
    // A leading element of 000 would be a second spelling of the same index.
    if (i == 2 && !is_last && element == "000") {
      return invalid_argument("tile index element \"" + std::string(parts[i]) +
                              "\": a leading x000 is not allowed");
    }
    const std::uint64_t group = (static_cast<std::uint64_t>(element[0] - '0') * 100) +
                                (static_cast<std::uint64_t>(element[1] - '0') * 10) +
                                static_cast<std::uint64_t>(element[2] - '0');
    if (index > (UINT64_MAX - group) / 1000) {
      return invalid_argument("tile index is beyond 2^64");
    }
    index = (index * 1000) + group;
  }
  out.index = index;
  return out;
}

std::string format_tile_path(const TilePath& tile) {
  std::string out = tile.entries ? "tile/entries" : "tile/" + std::to_string(tile.level);
  std::vector<unsigned> groups;
  std::uint64_t n = tile.index;
  do {
    groups.push_back(static_cast<unsigned>(n % 1000));
    n /= 1000;
  } while (n != 0);
  for (std::size_t i = groups.size(); i-- > 0;) {
    const unsigned g = groups[i];
    out += i == 0 ? "/" : "/x";
    out += static_cast<char>('0' + (g / 100));
    out += static_cast<char>('0' + ((g / 10) % 10));
    out += static_cast<char>('0' + (g % 10));
  }
  if (tile.width < 256) out += ".p/" + std::to_string(tile.width);
  return out;
}

}  // namespace witness::serve::detail
