// Composition of trace paths (SPEC 4.2d, "trace walks"; named TracePath here so that "walk"
// means only a node's session label). A trace path goes through the trace graph: a list of
// vertices (node ids, repeats allowed) from its head to its tail. As an operation it has one
// input, coloured by its head, and its output is coloured by its tail; compose(f, 0, g) grafts
// g's tail onto f's head when they are the same vertex. The one-vertex path is the identity.
// (An operad with only unary operations is a category: paths under concatenation.)
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/operad/operad_concepts.hpp"

namespace witness::operad {

// A non-empty list of vertices, head first.
// Thread safety: a plain value.
struct TracePath {
  using Color = std::string;
  std::vector<std::string> vertices;
  friend bool operator==(const TracePath&, const TracePath&) = default;
  // "a -> b -> c".
  [[nodiscard]] std::string to_string() const;
};

// Errors: kInvalidArgument when `vertices` is empty.
[[nodiscard]] Result<TracePath> make_trace_path(std::vector<std::string> vertices);

[[nodiscard]] inline std::size_t arity(const TracePath& /*walk*/) { return 1; }
// The head. REQUIRES: the walk is non-empty (make_trace_path), i == 0.
[[nodiscard]] const std::string& input_color(const TracePath& w, std::size_t i);
// The tail. REQUIRES: the walk is non-empty.
[[nodiscard]] const std::string& output_color(const TracePath& w);
[[nodiscard]] inline TracePath identity(Tag<TracePath> /*tag*/, const std::string& vertex) {
  return TracePath{{vertex}};
}
// g then f: g's vertices followed by f's after its head. Errors: kInvalidArgument when i != 0,
// a path is empty, or g's tail is not f's head.
[[nodiscard]] Result<TracePath> compose(const TracePath& f, std::size_t i, const TracePath& g);

}  // namespace witness::operad
