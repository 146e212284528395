// Composition of trace walks (SPEC 4.2d). A walk is a path through the trace graph, a list of
// vertices (node ids) from its head to its tail. As an operation it has one input, coloured by
// its head, and its output is coloured by its tail; compose(f, 0, g) grafts g's tail onto f's
// head when they are the same vertex. The one-vertex walk is the identity. (An operad with
// only unary operations is a category: walks under concatenation.)
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/operad/operad_concepts.hpp"

namespace witness::operad {

// A non-empty list of vertices, head first.
// Thread safety: a plain value.
struct Walk {
  using Color = std::string;
  std::vector<std::string> vertices;
  friend bool operator==(const Walk&, const Walk&) = default;
  // "a -> b -> c".
  [[nodiscard]] std::string to_string() const;
};

// Errors: kInvalidArgument when `vertices` is empty.
[[nodiscard]] Result<Walk> make_walk(std::vector<std::string> vertices);

[[nodiscard]] inline std::size_t arity(const Walk& /*walk*/) { return 1; }
// The head. REQUIRES: the walk is non-empty (make_walk), i == 0.
[[nodiscard]] const std::string& input_color(const Walk& w, std::size_t i);
// The tail. REQUIRES: the walk is non-empty.
[[nodiscard]] const std::string& output_color(const Walk& w);
[[nodiscard]] inline Walk identity(Tag<Walk> /*tag*/, const std::string& vertex) {
  return Walk{{vertex}};
}
// g then f: g's vertices followed by f's after its head. Errors: kInvalidArgument when i != 0,
// a walk is empty, or g's tail is not f's head.
[[nodiscard]] Result<Walk> compose(const Walk& f, std::size_t i, const Walk& g);

}  // namespace witness::operad
