#include "witness/operad/trace_path.hpp"

namespace witness::operad {

std::string TracePath::to_string() const {
  std::string out;
  for (std::size_t k = 0; k < vertices.size(); ++k) out += (k == 0 ? "" : " -> ") + vertices[k];
  return out;
}

Result<TracePath> make_trace_path(std::vector<std::string> vertices) {
  if (vertices.empty()) return invalid_argument("walk: no vertices");
  return TracePath{std::move(vertices)};
}

const std::string& input_color(const TracePath& w, std::size_t i) {
  WITNESS_CHECK(i == 0 && !w.vertices.empty());
  return w.vertices.front();
}

const std::string& output_color(const TracePath& w) {
  WITNESS_CHECK(!w.vertices.empty());
  return w.vertices.back();
}

Result<TracePath> compose(const TracePath& f, std::size_t i, const TracePath& g) {
  if (i != 0) return invalid_argument("walk compose: input " + std::to_string(i) + " of a walk");
  if (f.vertices.empty() || g.vertices.empty()) return invalid_argument("walk compose: empty walk");
  if (g.vertices.back() != f.vertices.front()) {
    return invalid_argument("walk compose: tail " + g.vertices.back() + " is not the head " +
                            f.vertices.front());
  }
  TracePath out{g.vertices};
  out.vertices.insert(out.vertices.end(), f.vertices.begin() + 1, f.vertices.end());
  return out;
}

}  // namespace witness::operad
