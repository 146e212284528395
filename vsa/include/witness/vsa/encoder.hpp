// Structures as hypervectors (SPEC 6.5). A JSON object is the sign of the sum of
// bind(role(path), filler(path, value)) over its leaves, where a leaf's path joins the keys
// from the root with '.' ("ip.src"), role(path) is the atom "role:<path>", and fillers are atoms
// of the value ("s:<text>", "n:<number>", "b:true", "null") or scalar encodings for marked
// numbers:
//   {"$linear": x, "lo": a, "hi": b}   linear over [a, b] (default [0, 1])
//   {"$log": x, "lo": a, "hi": b}      logarithmic over [a, b] (default [1, 1e9])
//   {"$time": t}                       ns since the epoch or RFC 3339: time of day and day of
//                                      week, each a circular encoding
// Lists of leaves follow the encoder's ListMode; a list of objects encodes each object under the
// path "<name>[<i>]". C++ types encode without JSON through the Walkable customisation point
// (a free function `walk(const T&, Walker&)` found by ADL) and give the same vector as the
// JSON of the same data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/vsa/atoms.hpp"
#include "witness/vsa/scalar.hpp"
#include "witness/vsa/vector.hpp"

namespace witness::vsa {

enum class ListMode : std::uint8_t {
  kPositional,  // sum of bind(role, bind(position(i), item_i))
  kBundle,      // sum of bind(role, item_i): order ignored
  kChained,  // sum over prefixes of bind(role, c_i), c_0 = item_0, c_i = bind(permute(c_{i-1}, 1),
             // item_i)
  kNgram,    // sum over windows of bind(role, bind_k permute(item_{j+k}, k)), k < n
};

struct EncoderOptions {
  ListMode lists = ListMode::kPositional;
  std::size_t ngram = 3;
};

// Marked numbers for walk() (the JSON markers' counterparts).
struct Linear {
  double value = 0;
  double lo = 0;
  double hi = 1;
};
struct Log {
  double value = 0;
  double lo = 1;
  double hi = 1e9;
};
struct Time {
  std::int64_t ns = 0;
};

class Encoder;

// Receives the fields of a value being encoded. Obtained from Encoder::encode, never built by
// hand. Thread safety: one walk at a time.
class Walker {
 public:
  void field(std::string_view name, std::string_view text);
  void field(std::string_view name, const char* text) { field(name, std::string_view(text)); }
  void field(std::string_view name, const std::string& text) {
    field(name, std::string_view(text));
  }
  void field(std::string_view name, std::int64_t value);
  void field(std::string_view name, int value) { field(name, static_cast<std::int64_t>(value)); }
  void field(std::string_view name, double value);
  void field(std::string_view name, bool value);
  void field(std::string_view name, const Linear& value);
  void field(std::string_view name, const Log& value);
  void field(std::string_view name, const Time& value);
  void null_field(std::string_view name);
  // A list of strings or numbers, encoded by the encoder's ListMode.
  void list(std::string_view name, std::span<const std::string> items);
  void list(std::string_view name, std::span<const std::int64_t> items);
  // A list of filler vectors (e.g. from Encoder::string_filler), by the ListMode.
  void list(std::string_view name, std::span<const Vector* const> fillers);
  // A nested object: its fields get paths under `name`.
  template <typename T>
  void object(std::string_view name, const T& nested) {
    enter(name);
    walk(nested, *this);
    leave();
  }

  Walker(const Walker&) = delete;
  Walker& operator=(const Walker&) = delete;
  ~Walker();

 private:
  friend class Encoder;
  explicit Walker(const Encoder& encoder);
  void enter(std::string_view name);
  void leave();
  struct State;
  std::unique_ptr<State> state_;
};

template <typename T>
concept Walkable = requires(const T& t, Walker& w) {
  walk(t, w);
};

// Encodes JSON and Walkable values with one atom memory.
// Thread safety: const methods may be called concurrently.
class Encoder {
 public:
  explicit Encoder(const AtomMemory& atoms, EncoderOptions options = {});
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;
  ~Encoder();

  // Errors: kInvalidArgument for text that is not a JSON object, or a bad marker.
  [[nodiscard]] Result<Vector> encode_json(std::string_view text) const;

  template <Walkable T>
  [[nodiscard]] Vector encode(const T& value) const {
    Walker w(*this);
    walk(value, w);
    return finish(w);
  }

  // The role of a path, and the filler atoms of a string or number: for explanations
  // (unbind(v, role(path)) is close to the path's filler).
  [[nodiscard]] const Vector& role(std::string_view path) const;
  [[nodiscard]] const Vector& string_filler(std::string_view text) const;
  [[nodiscard]] const Vector& number_filler(double value) const;
  [[nodiscard]] const AtomMemory& atoms() const { return atoms_; }
  [[nodiscard]] const EncoderOptions& options() const { return options_; }
  // The scalar encoder of a path and marker (cached).
  [[nodiscard]] const ScalarEncoder& scalar(std::string_view path, ScalarEncoder::Kind kind,
                                            double lo, double hi) const;

 private:
  friend class Walker;
  [[nodiscard]] Vector finish(Walker& w) const;
  const AtomMemory& atoms_;
  EncoderOptions options_;
  struct Cache;
  std::unique_ptr<Cache> cache_;
};

// The canonical text of a number in fillers: an integral value within int64 as a decimal
// integer ("443", also for 443.0), otherwise the shortest round-trip form ("0.5").
[[nodiscard]] std::string number_text(double value);

// Float sums of vectors with decay: frequencies survive (unlike a thresholded bundle).
// Thread safety: a value type.
class Accumulator {
 public:
  explicit Accumulator(std::size_t dim = kDefaultDimension);
  // Adds weight * v. Errors: kInvalidArgument on a dimension mismatch.
  [[nodiscard]] Status add(const Vector& v, double weight = 1.0);
  // Multiplies the sums and the count by `factor` (0 < factor <= 1 forgets gradually).
  void decay(double factor);
  [[nodiscard]] double count() const { return count_; }
  [[nodiscard]] std::size_t dim() const { return dim_; }
  [[nodiscard]] std::span<const float> sums() const { return sums_; }
  // The sign of the sums.
  [[nodiscard]] Vector threshold() const;
  // Cosine between the sums and v (0 when either is zero). Errors: dimension mismatch.
  [[nodiscard]] Result<double> cosine(const Vector& v) const;

 private:
  std::size_t dim_;
  std::vector<float> sums_;
  double count_ = 0;
};

}  // namespace witness::vsa
