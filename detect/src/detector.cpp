// The anomaly detector: see detector.hpp for the model. Records parse with nlohmann::json's SAX
// interface (private to this file); packets skip the text.
#include "witness/detect/detector.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <span>
#include <unordered_map>
#include <utility>

#include <absl/container/flat_hash_map.h>
#include <nlohmann/json.hpp>

#include "witness/detect/traffic.hpp"
#include "witness/vsa/atoms.hpp"
#include "witness/vsa/encoder.hpp"
#include "witness/vsa/ops.hpp"
#include "witness/vsa/scalar.hpp"

namespace witness::detect {
// The detector is built on the hypervector algebra throughout.
using namespace witness::vsa;  // NOLINT(google-build-using-namespace)
namespace {

using Json = nlohmann::json;

bool is_separator(char c) { return c == '.' || c == ':' || c == '/'; }

// The ends of the proper prefixes of `s` at separators ("10.0.3.7": 2, 4, 6).
template <typename F>
void for_each_prefix_end(std::string_view s, F f) {
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (is_separator(s[i])) f(i);
  }
}
std::size_t components(std::string_view s) {
  std::size_t k = 1;
  for_each_prefix_end(s, [&](std::size_t) { ++k; });
  return k;
}

// One leaf of a record. Strings (and booleans and null, as "true", "false", "null" with a type
// mark) are categorical; numbers are scalars.
struct Leaf {
  std::string path;
  bool is_number = false;
  double number = 0;
  std::string text;  // strings: "s:" + value; booleans and null: "b:true", "b:false", "null"
};

double round6(double x) { return std::round(x * 1e6) / 1e6; }

// exp(-x) for x >= 0. Records of a flood come microseconds apart: for x < 1/16 four terms of
// the series are within 1e-7 of it (relative), at a fifth of exp()'s cost.
double decay(double x) {
  if (x >= 0.0625) return std::exp(-x);
  return 1 - x * (1 - x * (0.5 - x * (1.0 / 6 - x / 24)));
}

struct Record {
  double ts = 0;
  std::int64_t ts_ns = 0;  // exact when the time field is an integer, else ts rounded
  std::vector<Leaf> leaves;
};

// Times are ns since the epoch within 2^62 (years 1824 to 2116), so that differences of two
// fit an int64.
constexpr double kMaxTime = 4.611686018427387904e18;

// Parses a record straight into leaves with nlohmann's SAX interface: no DOM (its std::map nodes
// cost more than the detector's own work). Leaves come in text order.
class LeafSax {
 public:
  LeafSax(const DetectorConfig& c, Record& r) : c_(c), r_(r) {}
  bool null() { return leaf(Leaf{.text = "null"}); }
  bool boolean(bool b) { return leaf(Leaf{.text = b ? "b:true" : "b:false"}); }
  bool number_integer(std::int64_t v) {
    exact_ = v;
    has_exact_ = true;
    const bool ok = number(static_cast<double>(v));
    has_exact_ = false;
    return ok;
  }
  bool number_unsigned(std::uint64_t v) {
    if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      exact_ = static_cast<std::int64_t>(v);
      has_exact_ = true;
    }
    const bool ok = number(static_cast<double>(v));
    has_exact_ = false;
    return ok;
  }
  bool number_float(double v, const std::string& /*text*/) { return number(v); }
  bool string(std::string& v) { return leaf(Leaf{.text = "s:" + v}); }
  static bool binary(std::vector<std::uint8_t>& /*v*/) { return false; }
  bool start_object(std::size_t /*n*/) {
    if (frames_.empty()) {
      frames_.push_back({0, false, 0, {}});
      return true;
    }
    if (!value_started()) return false;
    frames_.push_back({path_.size(), false, 0, {}});
    return true;
  }
  bool key(std::string& k) {
    Frame& f = frames_.back();
    for (const auto& seen : f.keys) {
      if (seen == k) {
        error_ = "duplicate key \"" + k + "\"";
        return false;
      }
    }
    f.keys.push_back(k);
    path_.resize(f.mark);
    if (!path_.empty()) path_ += '.';
    path_ += k;
    return true;
  }
  bool end_object() { return end(); }
  bool start_array(std::size_t /*n*/) {
    if (frames_.empty()) return false;  // the record itself must be an object
    if (!value_started()) return false;
    frames_.push_back({path_.size(), true, 0, {}});
    return true;
  }
  bool end_array() { return end(); }
  bool parse_error(std::size_t /*pos*/, const std::string& /*token*/,
                   const nlohmann::detail::exception& e) {
    if (error_.empty()) error_ = e.what();
    return false;
  }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] bool has_time() const { return has_time_; }

 private:
  struct Frame {
    std::size_t mark;  // path length before this container's own children
    bool array;
    std::size_t next;  // arrays: the next index
    std::vector<std::string> keys;
  };
  // Called when a value starts: arrays name their element's path here.
  bool value_started() {
    if (frames_.empty()) return false;
    Frame& f = frames_.back();
    if (f.array) {
      path_.resize(f.mark);
      path_ += '[';
      path_ += std::to_string(f.next++);
      path_ += ']';
    }
    return true;
  }
  bool end() {
    const std::size_t mark = frames_.back().mark;
    frames_.pop_back();
    path_.resize(mark);
    return true;
  }
  [[nodiscard]] bool skipped() const {
    return std::ranges::any_of(c_.ignore, [&](const std::string& p) {
      return path_.size() >= p.size() && path_.compare(0, p.size(), p) == 0 &&
             (path_.size() == p.size() || path_[p.size()] == '.' || path_[p.size()] == '[');
    });
  }
  bool number(double v) {
    if (frames_.size() == 1 && !frames_.back().array && path_ == c_.time_field) {
      if (!value_started()) return false;
      r_.ts = v;
      r_.ts_ns = has_exact_ ? exact_ : std::abs(v) < kMaxTime ? static_cast<std::int64_t>(v) : 0;
      has_time_ = true;
      return true;
    }
    // The text of a number is made only where it is shown (text_of): not per record.
    return leaf(Leaf{.is_number = true, .number = v});
  }
  bool leaf(Leaf l) {
    if (!value_started()) {
      error_ = "the record is not a JSON object";
      return false;
    }
    if (frames_.size() == 1 && !frames_.back().array && path_ == c_.time_field) {
      error_ = "the time field \"" + c_.time_field + "\" is not a number";
      return false;
    }
    if (skipped()) return true;
    l.path = path_;
    r_.leaves.push_back(std::move(l));
    return true;
  }
  const DetectorConfig& c_;
  Record& r_;
  std::vector<Frame> frames_;
  std::string path_;
  std::string error_;
  bool has_time_ = false;
  std::int64_t exact_ = 0;
  bool has_exact_ = false;
};

// The fast path: records are flat objects (or objects of objects) of strings without escapes,
// numbers, booleans and null. It reuses the record's leaves (no allocation once warm) and reads
// the ground truth ("label": {"phase", "attack"}) when asked. Anything else (arrays, escapes,
// bad JSON, a duplicate key) returns false, and the SAX parser below decides, with its errors.
class FastParser {
 public:
  FastParser(std::string_view s, const DetectorConfig& c, Record& r, GroundTruth* truth)
      : s_(s), c_(c), r_(r), truth_(truth) {}
  bool parse() {
    n_ = 0;
    has_time_ = false;
    if (truth_ != nullptr) *truth_ = {};
    ws();
    if (!object(0)) return false;
    ws();
    if (i_ != s_.size() || !has_time_) return false;
    r_.leaves.resize(n_);
    return true;
  }

 private:
  void ws() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r' || s_[i_] == '\n')) {
      ++i_;
    }
  }
  bool eat(char ch) {
    ws();
    if (i_ < s_.size() && s_[i_] == ch) {
      ++i_;
      return true;
    }
    return false;
  }
  // A string without escapes or control characters.
  bool string(std::string_view& out) {
    if (i_ >= s_.size() || s_[i_] != '"') return false;
    const std::size_t start = ++i_;
    while (i_ < s_.size()) {
      const auto ch = static_cast<unsigned char>(s_[i_]);
      if (ch == '"') {
        out = s_.substr(start, i_ - start);
        ++i_;
        return true;
      }
      if (ch == '\\' || ch < 0x20) return false;
      ++i_;
    }
    return false;
  }
  // JSON's number grammar, then from_chars.
  bool number(double& out) {
    const std::size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    if (i_ >= s_.size()) return false;
    if (s_[i_] == '0') {
      ++i_;
    } else if (s_[i_] >= '1' && s_[i_] <= '9') {
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
    } else {
      return false;
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      const std::size_t d = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      if (i_ == d) return false;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      const std::size_t d = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      if (i_ == d) return false;
    }
    const auto [p, ec] = std::from_chars(s_.data() + start, s_.data() + i_, out);
    return ec == std::errc{} && p == s_.data() + i_ && std::isfinite(out);
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  // A string, boolean or null leaf at the current path (unless ignored): text = mark + value.
  void put_text(std::string_view mark, std::string_view value) {
    if (skipped()) return;
    Leaf& l = next_leaf();
    l.path.assign(path_);
    l.is_number = false;
    l.number = 0;
    l.text.assign(mark);
    l.text.append(value);
  }
  Leaf& next_leaf() {
    if (n_ == r_.leaves.size()) r_.leaves.emplace_back();
    return r_.leaves[n_++];
  }
  [[nodiscard]] bool skipped() const {
    return std::ranges::any_of(c_.ignore, [&](const std::string& p) {
      return path_.size() >= p.size() && path_.compare(0, p.size(), p) == 0 &&
             (path_.size() == p.size() || path_[p.size()] == '.' || path_[p.size()] == '[');
    });
  }
  bool object(int depth) {
    if (depth > 32 || !eat('{')) return false;
    const std::size_t mark = path_.size();
    const std::size_t keys_mark = keys_.size();
    ws();
    if (eat('}')) return true;
    while (true) {
      ws();
      std::string_view key;
      if (!string(key)) return false;
      for (std::size_t k = keys_mark; k < keys_.size(); ++k) {
        if (keys_[k] == key) return false;  // duplicate: the SAX parser names it
      }
      keys_.push_back(key);
      if (!eat(':')) return false;
      path_.resize(mark);
      if (depth > 0) path_ += '.';
      path_.append(key);
      ws();
      if (!value(depth, key)) return false;
      ws();
      if (eat(',')) continue;
      if (eat('}')) break;
      return false;
    }
    path_.resize(mark);
    keys_.resize(keys_mark);
    return true;
  }
  bool value(int depth, std::string_view key) {
    if (i_ >= s_.size()) return false;
    const char ch = s_[i_];
    const bool top_time = depth == 0 && key == c_.time_field;
    const bool label = truth_ != nullptr && depth == 1 && path_.rfind("label.", 0) == 0;
    if (ch == '{') {
      if (top_time) return false;
      return object(depth + 1);
    }
    if (ch == '[') return false;
    if (ch == '"') {
      std::string_view v;
      if (top_time || !string(v)) return false;
      if (label && key == "phase") {
        truth_->phase.assign(v);
        truth_->has_phase = true;
      }
      put_text("s:", v);
      return true;
    }
    if (ch == 't' || ch == 'f' || ch == 'n') {
      if (top_time) return false;
      const char* text = ch == 't' ? "b:true" : ch == 'f' ? "b:false" : "null";
      if (!literal(ch == 't' ? "true" : ch == 'f' ? "false" : "null")) return false;
      if (label && key == "attack" && ch != 'n') {
        truth_->attack = ch == 't';
        truth_->has_attack = true;
      }
      put_text(text, {});
      return true;
    }
    double x = 0;
    const std::size_t start = i_;
    if (!number(x)) return false;
    if (top_time) {
      if (has_time_) return false;
      r_.ts = x;
      // An integer time is kept exact (a double has no nanoseconds at today's epochs).
      std::int64_t exact = 0;
      const auto [p, ec] = std::from_chars(s_.data() + start, s_.data() + i_, exact);
      r_.ts_ns = ec == std::errc{} && p == s_.data() + i_ ? exact
                 : std::abs(x) < kMaxTime                 ? static_cast<std::int64_t>(x)
                                                          : 0;  // refused below
      has_time_ = true;
      return true;
    }
    if (skipped()) return true;
    Leaf& l = next_leaf();
    l.path.assign(path_);
    l.is_number = true;
    l.number = x;
    l.text.clear();
    return true;
  }

  std::string_view s_;
  const DetectorConfig& c_;
  Record& r_;
  GroundTruth* truth_;
  std::size_t i_ = 0;
  std::size_t n_ = 0;
  bool has_time_ = false;
  std::string path_;
  std::vector<std::string_view> keys_;
};

Result<Record> parse_record(std::string_view line, const DetectorConfig& c) {
  Record r;
  LeafSax sax(c, r);
  const bool ok = Json::sax_parse(line, &sax, nlohmann::detail::input_format_t::json,
                                  /*strict=*/true);
  if (!ok) {
    const bool object = line.find_first_not_of(" \t\r\n") != std::string_view::npos &&
                        line[line.find_first_not_of(" \t\r\n")] == '{';
    if (!object) return invalid_argument("the record is not a JSON object");
    return invalid_argument("the record is not valid JSON: " + sax.error());
  }
  if (!sax.has_time()) {
    return invalid_argument("the record has no numeric time field \"" + c.time_field + "\"");
  }
  // ns since the epoch, within 2^62 (kMaxTime).
  if (!(std::abs(r.ts) < kMaxTime)) {
    return invalid_argument("the time field \"" + c.time_field + "\" is out of range (" +
                            number_text(r.ts) + " ns; at most 2^62)");
  }
  return r;
}

// ---- symbols ------------------------------------------------------------------------------------

using Key = std::uint64_t;

// FNV-1a, then a splitmix finaliser: the same on every machine (recorded runs re-execute
// byte for byte), and well mixed for an identity-hashed table.
Key finalise(Key z) {
  z = (z ^ (z >> 30U)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27U)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31U);
}
Key fnv(Key h, std::string_view s) {
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}
Key hash_text(std::string_view s, Key seed) {
  return finalise(fnv(0xcbf29ce484222325ULL ^ seed, s));
}
// The hash of a + b, without making a + b.
Key hash_text(std::string_view a, std::string_view b, Key seed) {
  return finalise(fnv(fnv(0xcbf29ce484222325ULL ^ seed, a), b));
}
// bind(a, b): commutative, like the elementwise product it names.
Key bind_keys(Key a, Key b) { return finalise((a ^ b) + 0x9E3779B97F4A7C15ULL); }

// Keys are already mixed (finalise): they are their own hash. The maps are looked up several
// times per record: open addressing (absl's Swiss tables) instead of a node per entry.
struct KeyHash {
  std::size_t operator()(Key k) const { return static_cast<std::size_t>(k); }
};
template <class V>
using KeyMap = absl::flat_hash_map<Key, V, KeyHash>;

// A number's bucket: a quarter octave of |x| + 1, signed.
std::int32_t bucket_of(double x) {
  const double b = std::floor(4 * std::log2(1 + std::abs(x)));
  const auto i = static_cast<std::int32_t>(std::min(b, 4096.0));
  return x < 0 ? -i - 1 : i;
}
std::string bucket_text(std::int32_t b) {
  const bool neg = b < 0;
  const std::int32_t m = neg ? -b - 1 : b;
  const double lo = std::ceil(std::exp2(m / 4.0) - 1 - 1e-9);
  const double hi = std::ceil(std::exp2((m + 1) / 4.0) - 1 - 1e-9) - 1;
  const std::string s = lo >= hi ? number_text(lo) : number_text(lo) + "-" + number_text(hi);
  return neg ? "-(" + s + ")" : s;
}

// What a feature is, for familiarity and display.
enum class Kind : std::uint8_t {
  kAddress,   // a string with prefixes: one key per prefix, familiarity by depth
  kCategory,  // a string, boolean or null
  kNumber,    // a bucket; half familiar when a neighbouring bucket is
  kJoint,     // two bindings bound
};

// Roles (fields) have small ids; their names are kept once.
using RoleId = std::uint16_t;

struct Feature {
  RoleId role = 0;
  Kind kind = Kind::kCategory;
  Key key = 0;              // the binding (address: the full value)
  std::int32_t bucket = 0;  // numbers
  std::string_view text;    // addresses and categories: the value (no mark)
  std::uint8_t parts = 0;   // joints: indexes of the two features bound (a, b)
  std::uint8_t part_b = 0;
};

// A record as the model reads it.
struct Features {
  std::vector<Feature> f;
  std::array<std::string, 8> owned;  // texts made here (service, server, ...): reused
  std::size_t n_owned = 0;
  Key client = 0;  // for the source masks (0: none)
  bool has_client = false;
  bool counts = true;       // counts in the keyed rates (packets: flow starts only)
  bool unanswered = false;  // TCP to a port never seen answering: the service is not familiar
  std::size_t service_sources = 0;  // clients the service has had
  // When the client was last busy outside an alert's signature (concentrate() reads it from the
  // client's key, busy_elsewhere() uses it).
  std::int64_t elsewhere = std::numeric_limits<std::int64_t>::min();
  // Rate and concentration keys, by level (0 finest .. 4 total).
  struct RateKey {
    Key key;
    std::uint8_t level;
    std::uint8_t a;  // the features that name it (display): a, and b when it is a pair
    std::uint8_t b;
    bool pair;
    bool prefix;   // the /24 of feature a
    bool rate;     // counted per window
    bool content;  // counted for concentrated anomalies
  };
  std::vector<RateKey> keys;
  void clear() {
    f.clear();
    n_owned = 0;
    keys.clear();
    unanswered = false;
    service_sources = 0;
    elsewhere = std::numeric_limits<std::int64_t>::min();
    client = 0;
    has_client = false;
    counts = true;
  }
};

// number_text(x) appended, without a temporary for integers.
void append_number(std::string& out, double x) {
  if (std::trunc(x) == x && std::abs(x) < 9.2e18) {
    char buf[24];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(x));
    out.append(buf, end);
  } else {
    out += number_text(x);
  }
}

// The first three components of an address ("10.20.3" of "10.20.3.7"), or all of it.
std::string_view prefix24(std::string_view s) {
  std::size_t seps = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (is_separator(s[i]) && ++seps == 3) return s.substr(0, i);
  }
  return s;
}
bool has_separator(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return is_separator(c); });
}

// ---- the baseline table -------------------------------------------------------------------------

// Weights decay with a time constant tau. A weight is stored scaled by exp((t - t_ref) / tau)
// at the time t it was added, so adding costs no exp(); weight(now) = stored * g, with
// g = exp(-(now - t_ref) / tau) computed once per record. The reference moves (and the table is
// pruned) when g gets small.
struct Entry {
  double w = 0;              // scaled weight
  std::uint64_t mask = 0;    // clients it came from: one bit of a hash each
  std::int64_t first = 0;    // when it was first learnt (ns)
  bool established = false;  // learnt in the warm-up
};

// ---- calibration --------------------------------------------------------------------------------

// Novelties quantised to 1/32, counted in a Fenwick tree (rank in log time), over a ring of the
// latest kRing entries.
class Calibration {
 public:
  static constexpr std::size_t kBuckets = 4096;
  static constexpr std::size_t kRing = 8192;
  static std::size_t quantise(double novelty) {
    return static_cast<std::size_t>(std::min(std::max(novelty, 0.0) * 32, double{kBuckets - 1}));
  }
  void add(double novelty) {
    const std::size_t q = quantise(novelty);
    if (ring_.size() == kRing) {
      update(ring_[next_], -1);
      ring_[next_] = static_cast<std::uint16_t>(q);
      next_ = (next_ + 1) % kRing;
    } else {
      ring_.push_back(static_cast<std::uint16_t>(q));
    }
    update(q, +1);
  }
  [[nodiscard]] std::size_t size() const { return ring_.size(); }
  // Entries whose quantised novelty is at least that of `novelty`.
  [[nodiscard]] std::size_t at_least(double novelty) const {
    const std::size_t q = quantise(novelty);
    return ring_.size() - (q == 0 ? 0 : prefix(q - 1));
  }
  [[nodiscard]] std::vector<double> sorted() const {
    std::vector<double> out;
    out.reserve(ring_.size());
    for (auto q : ring_) out.push_back(q / 32.0);
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  void update(std::size_t i, int d) {
    for (++i; i <= kBuckets; i += i & (~i + 1)) tree_[i] += d;
  }
  [[nodiscard]] std::size_t prefix(std::size_t i) const {  // entries with bucket <= i
    std::int64_t s = 0;
    for (++i; i > 0; i -= i & (~i + 1)) s += tree_[i];
    return static_cast<std::size_t>(s);
  }
  std::vector<std::int64_t> tree_ = std::vector<std::int64_t>(kBuckets + 1, 0);
  std::vector<std::uint16_t> ring_;
  std::size_t next_ = 0;
};

// ---- keyed rates and concentrations -------------------------------------------------------------

struct RateState {
  double mean = 0;            // records per window
  double sq = 0;              // mean of squares
  double peak = 0;            // the busiest folded window, decaying as the mean does
  std::int64_t updated = -1;  // last window folded in
  std::uint32_t windows = 0;  // windows folded in
  std::uint32_t count = 0;    // in the current window
  std::int64_t window = -1;   // the window `count` belongs to
  bool hot = false;           // already hot in this window
  double fast = 0;            // records decayed over an eighth of a window (at fast_at)
  double burst = 0;           // ... over a 256th of a window (at fast_at)
  std::int64_t fast_at = 0;
};

struct Concentration {
  double n = 0;  // scaled (as Entry::w, with the horizon's time constant)
  double a = 0;
  // A client's key: when the client last sent or received a record outside an alert's
  // signature (a lookup, another service).
  std::int64_t elsewhere = std::numeric_limits<std::int64_t>::min();
};

// An alert's candidate key.
struct Candidate {
  Key k = 0;
  std::uint8_t level = 0;
  AlertKey key;
  std::int64_t last_hot = 0;
  // Records while hot, decayed with an eighth of a window, stored scaled: each record adds
  // exp((t - heat_ref) / tau) (OpenAlert::heat_ref), so candidates compare without an exp().
  double heat = 0;
  bool rate = false;  // a rate key (else content)
  bool in_signature = false;
  bool client_side = false;  // a key of the client (address, /24, with the service)
  Key service = 0;           // the service of a host|service key
};

// Counts over an alert's sampled flagged records, for the contrast.
struct SampleCount {
  RoleId role = 0;
  std::uint32_t n = 0;
  std::string text;  // display
  Key key = 0;       // baseline key (0: none, e.g. joints of an unseen pair show as new)
  bool prefix = false;
  std::uint8_t depth = 0;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

Status DetectorConfig::validate() const {
  auto bad = [](const std::string& what) { return invalid_argument("detector config: " + what); };
  if (dim < 64 || dim > (1U << 20U)) return bad("dim must be in [64, 1048576]");
  // Recorded runs keep the config as canonical JSON, whose numbers are doubles.
  if (seed > (std::uint64_t{1} << 53U)) {
    return bad("seed must be at most 2^53 (JSON keeps it exact)");
  }
  if (warmup < 2) return bad("warmup must be at least 2 records");
  if (!(warmup_s >= 0 && warmup_s <= 86400)) return bad("warmup_s must be in [0, 86400]");
  if (!(alpha > 0 && alpha <= 1)) return bad("alpha must be in (0, 1]");
  // The calibration is the warm-up's second half: floor(warmup / 2) records at least.
  const double calibrated = std::floor(static_cast<double>(warmup) / 2) + 1;
  if (alpha < 1.0 / calibrated) {
    return bad("alpha " + number_text(alpha) +
               " is below 1 / (warmup / 2 + 1) = " + number_text(1.0 / calibrated) +
               ": no record could ever be anomalous (lengthen the warm-up)");
  }
  if (time_field.empty()) return bad("time_field must not be empty");
  if (!service_fields.empty() && service_fields.size() != 5) {
    return bad("service_fields must name 5 paths (proto, src, src port, dst, dst port) or none");
  }
  if (!(half_life_s > 0 && half_life_s <= 1e7)) return bad("half_life_s must be in (0, 1e7]");
  if (!(settle_s >= 0 && settle_s <= 1e6)) return bad("settle_s must be in [0, 1e6]");
  if (min_sources < 1 || min_sources > 64) return bad("min_sources must be in [1, 64]");
  if (calibrate_every < 1) return bad("calibrate_every must be at least 1");
  if (!(window_s >= 0.01 && window_s <= 3600)) return bad("window_s must be in [0.01, 3600]");
  if (!(rate_memory_s >= window_s && rate_memory_s <= 1e7)) {
    return bad("rate_memory_s must be in [window_s, 1e7]");
  }
  if (!(rate_on > 1 && rate_on <= 1e6)) return bad("rate_on must be in (1, 1e6]");
  if (!(z > 0 && z <= 100)) return bad("z must be in (0, 100]");
  if (!(horizon_s > 0 && horizon_s <= 1e6)) return bad("horizon_s must be in (0, 1e6]");
  if (!(hold_s > 0 && hold_s <= 1e6)) return bad("hold_s must be in (0, 1e6]");
  if (max_keys < 16) return bad("max_keys must be at least 16");
  return ok_status();
}

std::string DetectorConfig::to_json() const {
  Json j = Json::object();
  j["seed"] = seed;
  j["dim"] = dim;
  j["warmup"] = warmup;
  j["warmup_s"] = warmup_s;
  j["alpha"] = alpha;
  j["time_field"] = time_field;
  j["ignore"] = ignore;
  j["service_fields"] = service_fields;
  j["joint_exclude"] = joint_exclude;
  j["half_life_s"] = half_life_s;
  j["settle_s"] = settle_s;
  j["min_sources"] = min_sources;
  j["calibrate_every"] = calibrate_every;
  j["window_s"] = window_s;
  j["rate_memory_s"] = rate_memory_s;
  j["rate_on"] = rate_on;
  j["z"] = z;
  j["horizon_s"] = horizon_s;
  j["hold_s"] = hold_s;
  j["max_keys"] = max_keys;
  j["explain_fields"] = explain_fields;
  return j.dump();
}

Result<DetectorConfig> DetectorConfig::from_json(std::string_view json) {
  Json j = Json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return invalid_argument("detector config: not a JSON object");
  }
  DetectorConfig c;
  std::map<std::string, std::size_t*> sizes{{"dim", &c.dim},
                                            {"warmup", &c.warmup},
                                            {"min_sources", &c.min_sources},
                                            {"calibrate_every", &c.calibrate_every},
                                            {"max_keys", &c.max_keys},
                                            {"explain_fields", &c.explain_fields}};
  std::map<std::string, double*> reals{
      {"warmup_s", &c.warmup_s},       {"alpha", &c.alpha},
      {"half_life_s", &c.half_life_s}, {"settle_s", &c.settle_s},
      {"window_s", &c.window_s},       {"rate_memory_s", &c.rate_memory_s},
      {"rate_on", &c.rate_on},         {"z", &c.z},
      {"horizon_s", &c.horizon_s},     {"hold_s", &c.hold_s}};
  std::map<std::string, std::vector<std::string>*> lists{{"ignore", &c.ignore},
                                                         {"service_fields", &c.service_fields},
                                                         {"joint_exclude", &c.joint_exclude}};
  for (const auto& item : j.items()) {
    const std::string& key = item.key();
    const Json& v = item.value();
    auto need = [&](bool ok, const char* what) -> Status {
      if (ok) return ok_status();
      return invalid_argument("detector config: " + key + " must be " + what);
    };
    if (key == "seed") {
      WITNESS_RETURN_IF_ERROR(need(v.is_number_unsigned(), "an unsigned integer"));
      c.seed = v.get<std::uint64_t>();
    } else if (auto s = sizes.find(key); s != sizes.end()) {
      WITNESS_RETURN_IF_ERROR(need(v.is_number_unsigned(), "an unsigned integer"));
      *s->second = v.get<std::size_t>();
    } else if (auto r = reals.find(key); r != reals.end()) {
      WITNESS_RETURN_IF_ERROR(need(v.is_number(), "a number"));
      *r->second = v.get<double>();
    } else if (key == "time_field") {
      WITNESS_RETURN_IF_ERROR(need(v.is_string(), "a string"));
      c.time_field = v.get<std::string>();
    } else if (auto l = lists.find(key); l != lists.end()) {
      WITNESS_RETURN_IF_ERROR(need(v.is_array(), "a list of strings"));
      l->second->clear();
      for (const auto& e : v) {
        WITNESS_RETURN_IF_ERROR(need(e.is_string(), "a list of strings"));
        l->second->push_back(e.get<std::string>());
      }
    } else {
      return invalid_argument("detector config: unknown field \"" + key + "\"");
    }
  }
  WITNESS_RETURN_IF_ERROR(c.validate());
  return c;
}

std::string Alert::to_json() const {
  Json j = Json::object();
  j["onset"] = onset;
  j["offset"] = offset;
  // Nanosecond times as decimal strings: the ledger's canonical JSON (RFC 8785) stores numbers
  // as doubles, which would round these (about 1.8e18) to a multiple of 256 ns.
  j["onset_ts"] = std::to_string(onset_ts);
  j["offset_ts"] = std::to_string(offset_ts);
  j["records"] = records;
  j["flagged"] = flagged;
  j["anomalous"] = anomalous;
  j["peak_rate_ratio"] = round6(peak_rate_ratio);
  j["peak_novelty"] = round6(peak_novelty);
  j["trigger"] = trigger;
  Json k = Json::array();
  for (const auto& x : keys) {
    k.push_back({{"key", x.key},
                 {"kind", x.kind},
                 {"peak", round6(x.peak_count)},
                 {"expected", round6(x.expected)}});
  }
  j["keys"] = std::move(k);
  Json e = Json::array();
  for (const auto& f : explanation) {
    e.push_back({{"field", f.field},
                 {"value", f.value},
                 {"share", round6(f.share)},
                 {"baseline_share", round6(f.baseline_share)},
                 {"contrast", round6(f.contrast)},
                 {"baseline", f.baseline}});
  }
  j["explanation"] = std::move(e);
  return j.dump();
}

// ---------------------------------------------------------------------------------------------

namespace {

// The alert being raised.
struct OpenAlert {
  Alert alert;
  std::int64_t last_hot_ts = 0;
  std::vector<Candidate> candidates;
  std::vector<Key> candidate_keys;     // candidates[i].k, contiguous: searched per hot key
  std::int64_t reject_until = 0;       // until then, a new key no stronger than reject_below is
  double reject_below = 0;             // turned away (heat())
  std::vector<Key> signature;          // keys a record must match to be flagged
  std::vector<Key> held;               // signature keys of volumes: not learnt
  std::int64_t last_signature_ts = 0;  // when a signature key was last hot
  std::int64_t last_rate_ts = 0;       // ... a rate key of the signature
  std::int64_t last_content_ts = 0;    // ... a content key of the signature
  std::vector<Key> signature_content;  // its content keys
  std::vector<Key> signature_all;      // its keys that flag every record they match: not a
                                       // server's (a client's, a service's, the total)
  std::int64_t signature_ts = 0;       // when the signature was last chosen
  std::int64_t heat_ref = 0;           // the reference time of the candidates' scaled heat
  std::int64_t weight_ts = -1;         // ... and the weight of a record at weight_ts
  double weight = 1;
  std::vector<double> heats;  // scratch of signature(): each candidate's heat
  KeyMap<SampleCount> sample;
  std::vector<std::uint32_t> role_n;  // sampled records carrying each role
  std::uint64_t sampled = 0;
  std::uint64_t stride = 1;
};

}  // namespace

struct Detector::Impl {
  DetectorConfig config;
  std::uint64_t count = 0;

  // Roles.
  std::vector<std::string> role_names;
  std::unordered_map<std::string, RoleId> role_ids;
  std::vector<Key> role_keys;
  std::vector<double> role_total;  // scaled, like Entry::w
  // The most common single value of each role: scaled weight, key, display text.
  struct Top {
    double w = 0;
    Key key = 0;
    std::string text;
  };
  std::vector<Top> role_top;

  // Time.
  bool started = false;
  std::int64_t first_ts = 0;
  std::int64_t now = 0;
  std::uint64_t warm_records = 0;
  bool ready = false;
  double baseline_rate_value = 0;
  double tau_ns = 0;     // baseline time constant
  std::int64_t ref = 0;  // reference time of the scaled weights
  double g = 1;          // exp(-(now - ref) / tau)
  double tau_h_ns = 0;   // horizon time constant
  double settle_ns = 0;
  double window_ns = 0;
  double gh = 1;

  KeyMap<Entry> table;
  KeyMap<Concentration> concentrations;
  KeyMap<RateState> rates;
  std::vector<Key> touched;  // rate keys counted in the current window
  std::int64_t window = -1;
  double alpha_rate = 0;
  double last_window_count = 0;
  Key total_key = 0;

  Calibration calibration;
  std::uint64_t since_calibration = 0;

  std::optional<OpenAlert> open;
  std::vector<Alert> closed;

  // Scratch.
  mutable std::string scratch;
  std::string scratch_service;
  std::string scratch_shape;
  std::vector<std::uint8_t> rest;
  std::vector<bool> no_joint;  // per role: in config.joint_exclude
  Features fx;
  Record rec;

  // Roles every packet record has, at fixed ids.
  static constexpr RoleId kService = 0, kServer = 1, kClient = 2, kDir = 3, kShape = 4, kListen = 5;
  std::unordered_map<std::uint32_t, RoleId> joint_roles;

  explicit Impl(DetectorConfig c)
      : config(std::move(c)),
        tau_ns(config.half_life_s * 1e9 / std::log(2.0)),
        tau_h_ns(config.horizon_s * 1e9),
        settle_ns(config.settle_s * 1e9),
        window_ns(config.window_s * 1e9),
        alpha_rate(config.window_s / config.rate_memory_s),
        total_key(hash_text("rate:total", config.seed)) {
    for (const char* r : {"service", "server", "client", "dir", "shape", "listen"}) role(r);
  }

  RoleId role(std::string_view name) {
    auto it = role_ids.find(std::string(name));
    if (it != role_ids.end()) return it->second;
    const auto id = static_cast<RoleId>(role_names.size());
    role_names.emplace_back(name);
    role_ids.emplace(std::string(name), id);
    role_keys.push_back(hash_text("role:" + std::string(name), config.seed));
    role_total.push_back(0);
    role_top.emplace_back();
    no_joint.push_back(std::ranges::find(config.joint_exclude, std::string(name)) !=
                       config.joint_exclude.end());
    return id;
  }
  std::optional<RoleId> find_role(std::string_view name) const {
    auto it = role_ids.find(std::string(name));
    if (it == role_ids.end()) return std::nullopt;
    return it->second;
  }

  Key value_key(RoleId r, std::string_view text) const {
    return bind_keys(role_keys[r], hash_text(text, config.seed));
  }
  // value_key(r, "s:" + text) without making the string.
  Key string_key(RoleId r, std::string_view text) const {
    return bind_keys(role_keys[r], hash_text("s:", text, config.seed));
  }
  Key bucket_key(RoleId r, std::int32_t b) const {
    return bind_keys(role_keys[r], finalise(static_cast<Key>(static_cast<std::int64_t>(b)) ^
                                            config.seed ^ Key{0xB0C4E7}));
  }

  // ---- features of a record ----

  // Records of one stream share their layout: the role of the leaf at each position is cached.
  std::vector<std::pair<std::string, RoleId>> leaf_roles;
  RoleId leaf_role(std::size_t position, std::string_view path) {
    if (position < leaf_roles.size() && leaf_roles[position].first == path) {
      return leaf_roles[position].second;
    }
    const RoleId r = role(path);
    if (position < 64) {
      if (leaf_roles.size() <= position) leaf_roles.resize(position + 1);
      leaf_roles[position] = {std::string(path), r};
    }
    return r;
  }
  void add_leaf(std::string_view path, const Leaf& leaf, std::size_t position = 64) {
    Feature f;
    f.role = leaf_role(position, path);
    if (leaf.is_number) {
      f.kind = Kind::kNumber;
      f.bucket = bucket_of(leaf.number);
      f.key = bucket_key(f.role, f.bucket);
    } else {
      std::string_view t = leaf.text;
      if (t.rfind("s:", 0) == 0) t.remove_prefix(2);
      f.text = t;
      f.kind = leaf.text.rfind("s:", 0) == 0 && has_separator(t) ? Kind::kAddress : Kind::kCategory;
      f.key = value_key(f.role, leaf.text);
    }
    fx.f.push_back(f);
  }
  std::uint8_t add_text(RoleId r, std::string_view text, Kind kind) {
    std::string& own = fx.owned.at(fx.n_owned++);
    own.assign(text);
    Feature f;
    f.role = r;
    f.kind = kind;
    f.text = own;
    f.key = string_key(f.role, own);
    fx.f.push_back(f);
    return static_cast<std::uint8_t>(fx.f.size() - 1);
  }
  void add_joint(std::uint8_t a, std::uint8_t b) {
    Feature f;
    const std::uint32_t pair = (std::uint32_t{fx.f[a].role} << 16U) | fx.f[b].role;
    auto it = joint_roles.find(pair);
    if (it == joint_roles.end()) {
      it =
          joint_roles.emplace(pair, role(role_names[fx.f[a].role] + "×" + role_names[fx.f[b].role]))
              .first;
    }
    f.role = it->second;
    f.kind = Kind::kJoint;
    f.key = bind_keys(bind_keys(fx.f[a].key, fx.f[b].key), role_keys[f.role]);
    f.parts = a;
    f.part_b = b;
    fx.f.push_back(f);
  }
  void add_rate_key(std::string_view tag, std::uint8_t level, std::uint8_t a, std::uint8_t b,
                    bool pair, bool prefix, bool rate = true, bool content = false) {
    Key k = hash_text(tag, config.seed);
    const Feature& fa = fx.f[a];
    k = bind_keys(k, prefix ? hash_text(prefix24(fa.text), config.seed) : fa.key);
    if (pair) k = bind_keys(k, fx.f[b].key);
    fx.keys.push_back({k, level, a, b, pair, prefix, rate, content});
  }

  // Whether a port is known to listen: seen answering a handshake (TCP SYN+ACK) or as a UDP
  // service, from enough clients. Not what a reply to a probe says: a closed port's reset to a
  // scanner's high source port must not make that port a service.
  bool known_service(std::string_view proto, double port) const {
    std::string& text = scratch;
    text.assign(proto);
    text += '/';
    append_number(text, port);
    return familiar(string_key(kListen, text), /*sources=*/true);
  }

  bool known_server(std::string_view address) const {
    return familiar(string_key(kServer, address), /*sources=*/true);
  }

  // Reads the record's leaves into features (see detector.hpp).
  void featurise(const Record& r) {
    fx.clear();
    const auto& sf = config.service_fields;
    const Leaf* pk[5] = {nullptr, nullptr, nullptr, nullptr, nullptr};
    const Leaf* flags_leaf = nullptr;
    if (!sf.empty()) {
      for (const Leaf& leaf : r.leaves) {
        for (std::size_t i = 0; i < 5; ++i) {
          if (pk[i] == nullptr && leaf.path == sf[i]) pk[i] = &leaf;
        }
        if (flags_leaf == nullptr && leaf.path == "flags") flags_leaf = &leaf;
      }
    }
    const bool strings = pk[0] != nullptr && pk[1] != nullptr && pk[3] != nullptr &&
                         !pk[0]->is_number && !pk[1]->is_number && !pk[3]->is_number;
    if (!strings) {
      for (std::size_t i = 0; i < r.leaves.size(); ++i) add_leaf(r.leaves[i].path, r.leaves[i], i);
      // Generic records: a rate key per string value (and its /24 when it has prefixes).
      fx.keys.push_back({total_key, 4, 0, 0, false, false, true, false});
      const auto n = static_cast<std::uint8_t>(std::min<std::size_t>(fx.f.size(), 255));
      for (std::uint8_t i = 0; i < n; ++i) {
        if (fx.f[i].kind == Kind::kAddress || fx.f[i].kind == Kind::kCategory) {
          add_rate_key("rate:value", 1, i, i, false, false, true, true);
          if (fx.f[i].kind == Kind::kAddress) add_rate_key("rate:prefix", 2, i, i, false, true);
        }
      }
      return;
    }
    const std::string_view proto = std::string_view(pk[0]->text).substr(2);
    const bool ports = pk[2] != nullptr && pk[4] != nullptr && pk[2]->is_number && pk[4]->is_number;
    const std::string_view src = std::string_view(pk[1]->text).substr(2);
    const std::string_view dst = std::string_view(pk[3]->text).substr(2);
    const std::string_view flags = flags_leaf != nullptr && !flags_leaf->is_number
                                       ? std::string_view(flags_leaf->text).substr(2)
                                       : std::string_view{};
    const bool tcp = proto == "tcp";
    // The server side: the port known as a service, else the lower port; with equal ports (NTP's
    // 123 to 123) or none (ICMP), the address known as a server, else the destination.
    const bool s_server = known_server(src);
    const bool d_server = known_server(dst);
    bool to_server = s_server != d_server ? d_server : true;
    std::string& service = scratch_service;
    service.assign(proto);
    if (ports) {
      const double sp = pk[2]->number;
      const double dp = pk[4]->number;
      const bool s_known = known_service(proto, sp);
      const bool d_known = known_service(proto, dp);
      if (sp != dp) to_server = s_known != d_known ? d_known : dp < sp;
      // A handshake says it outright: a SYN goes to the service, a SYN+ACK comes from it.
      if (tcp && flags == "S") to_server = true;
      if (tcp && flags == "SA") to_server = false;
      service += '/';
      append_number(service, to_server ? dp : sp);
      // A TCP service is familiar only once its port has answered a handshake: a port that
      // never answers (a scan's, a crafted pattern's) stays novel however many send to it.
      // (A service of the warm-up is familiar whatever answered: some streams show no
      // handshakes.)
      fx.unanswered = tcp && !(to_server ? d_known : s_known);
    }
    const std::uint8_t svc = add_text(kService, service, Kind::kCategory);
    if (auto e = table.find(fx.f[svc].key); e != table.end()) {
      if (e->second.established) fx.unanswered = false;
      fx.service_sources = static_cast<std::size_t>(std::popcount(e->second.mask));
    }
    const std::uint8_t server = add_text(kServer, to_server ? dst : src, Kind::kAddress);
    const std::uint8_t client = add_text(kClient, to_server ? src : dst, Kind::kAddress);
    fx.client = hash_text(fx.f[client].text, config.seed);
    fx.has_client = true;
    const std::uint8_t dir = add_text(kDir, to_server ? "to-server" : "to-client", Kind::kCategory);
    std::string& shape = scratch_shape;
    shape.assign(to_server ? ">" : "<");
    rest.clear();
    for (std::size_t i = 0; i < r.leaves.size(); ++i) {
      const Leaf& leaf = r.leaves[i];
      if (&leaf == pk[0] || &leaf == pk[1] || &leaf == pk[2] || &leaf == pk[3] || &leaf == pk[4]) {
        continue;
      }
      add_leaf(leaf.path, leaf, i);
      const Feature& f = fx.f.back();
      // TTLs say which OS a client runs, not what it does: not bound to the service.
      if (no_joint[f.role]) continue;
      rest.push_back(static_cast<std::uint8_t>(fx.f.size() - 1));
      shape += ' ';
      if (f.kind == Kind::kNumber) {
        shape += role_names[f.role];
        shape += ':';
        append_number(shape, f.bucket);
      } else {
        shape += f.text;
      }
    }
    // Rates count flow starts: a TCP packet counts only when it opens a connection (a SYN), so
    // a download's thousand segments are one, as a flood's thousand SYNs are a thousand.
    // (A flow record's flags are all its packets': it counts when it saw a SYN.)
    if (tcp) {
      fx.counts =
          flags_leaf == nullptr || (flags.find('S') != std::string_view::npos && flags != "SA");
    }
    const std::uint8_t sh = add_text(kShape, shape, Kind::kCategory);
    fx.f[sh].kind = Kind::kJoint;  // only ever seen bound to the service
    if (ports && (!tcp || flags == "SA")) add_text(kListen, fx.f[svc].text, Kind::kCategory);
    add_joint(svc, server);
    add_joint(svc, dir);
    for (const std::uint8_t i : rest) add_joint(svc, i);
    add_joint(svc, sh);
    // Rate keys, finest first.
    // Rates per window of flow starts (below), per server, client, their /24s and services.
    // Concentrated anomalies: per client only (a server concentrates the scattered ones: every
    // new client's first packet goes to the resolver).
    add_rate_key("rate:server|service", 0, server, svc, true, false);
    add_rate_key("rate:client|service", 0, client, svc, true, false, true, true);
    add_rate_key("rate:server", 1, server, server, false, false);
    add_rate_key("rate:client", 1, client, client, false, false, true, true);
    add_rate_key("rate:server24", 2, server, server, false, true);
    add_rate_key("rate:client24", 2, client, client, false, true);
    add_rate_key("rate:service", 3, svc, svc, false, false);
    fx.keys.push_back({total_key, 4, svc, svc, false, false, true, false});
  }

  // ---- familiarity ----

  [[nodiscard]] bool familiar(Key k, bool sources, std::size_t needed = 0) const {
    auto it = table.find(k);
    if (it == table.end()) return false;
    const Entry& e = it->second;
    if (e.w * g < 0.5) return false;
    if (e.established) return true;
    // A value first seen after the warm-up settles before it is familiar (a flood is held
    // before it can teach its values), and needs min_sources clients.
    if (static_cast<double>(now - e.first) < settle_ns) return false;
    return !sources || static_cast<std::size_t>(std::popcount(e.mask)) >=
                           (needed != 0 ? needed : config.min_sources);
  }

  // A feature's familiarity in [0, 1] (addresses: by prefix depth).
  [[nodiscard]] double feature_familiarity(const Feature& f) const {
    if (fx.unanswered && (f.role == kService || f.kind == Kind::kJoint)) return 0.0;
    const bool sources = fx.has_client && f.role != kClient;
    switch (f.kind) {
      case Kind::kAddress: {
        if (familiar(f.key, sources)) return 1.0;
        // A client's own address being new is ordinary (clients come and go); its networks
        // are what is familiar or not.
        const std::size_t k = components(f.text) - (f.role == kClient ? 1 : 0);
        if (k == 0) return 0.0;
        std::size_t depth = 0;
        std::size_t best = 0;
        for_each_prefix_end(f.text, [&](std::size_t end) {
          ++depth;
          if (familiar(prefix_key(f.role, f.text.substr(0, end)), sources)) best = depth;
        });
        return static_cast<double>(best) / static_cast<double>(k);
      }
      case Kind::kNumber:
        if (familiar(f.key, sources)) return 1.0;
        return familiar(bucket_key(f.role, f.bucket - 1), sources) ||
                       familiar(bucket_key(f.role, f.bucket + 1), sources)
                   ? 0.5
                   : 0.0;
      case Kind::kCategory:
        return familiar(f.key, sources) ? 1.0 : 0.0;
      case Kind::kJoint:
        // A combination with the service needs as many clients as the service has had, up to
        // min_sources: a database only the API talks to can show a new response size.
        return familiar(f.key, sources,
                        std::clamp<std::size_t>(fx.service_sources, 1, config.min_sources))
                   ? 1.0
                   : 0.0;
    }
    return 0.0;
  }
  Key prefix_key(RoleId r, std::string_view prefix) const {
    return bind_keys(value_key(r, prefix), 0x7072656669780000ULL);  // "prefix"
  }

  double novelty() const {
    double s = 0;
    for (const Feature& f : fx.f) {
      if (f.role == kShape || f.role == kListen) continue;  // not fields of their own
      s += 1.0 - feature_familiarity(f);
    }
    return s;
  }

  // ---- learning ----

  // Adds `add` to the symbol's weight; returns the new (scaled) weight.
  double bump(Key k, std::uint64_t bit, double add) {
    auto [it, fresh] = table.try_emplace(k);
    Entry& e = it->second;
    if (fresh) {
      e.first = now;
      e.established = !ready;
    }
    e.w += add;
    e.mask |= bit;
    return e.w;
  }
  // Learns the record's features. Values first learnt in the warm-up are established; the
  // settle time and the spread rule are for values that appear later.
  void learn(double add) {
    const std::uint64_t bit = fx.has_client ? std::uint64_t{1} << (fx.client & 63U) : 1U;
    for (const Feature& f : fx.f) {
      const double w = bump(f.key, bit, add);
      role_total[f.role] += add;
      // The role's most common value (scaled weights compare at any time).
      auto& top = role_top[f.role];
      if (w > top.w) {
        top.w = w;
        if (top.key != f.key) top.text = display(f);  // once per new top
        top.key = f.key;
      }
      if (f.kind == Kind::kAddress) {
        for_each_prefix_end(f.text, [&](std::size_t end) {
          bump(prefix_key(f.role, f.text.substr(0, end)), bit, add);
        });
      }
    }
  }
  std::string display(const Feature& f) const {
    switch (f.kind) {
      case Kind::kNumber:
        return bucket_text(f.bucket);
      case Kind::kJoint: {
        if (f.role == kShape) return std::string(f.text);
        return display(fx.f[f.parts]) + " × " + display(fx.f[f.part_b]);
      }
      default:
        return f.text == "b:true" ? "true" : f.text == "b:false" ? "false" : std::string(f.text);
    }
  }

  // Moves the reference time so that scaled weights stay in range; drops what has decayed away.
  void advance(std::int64_t ts) {
    now = std::max(now, ts);
    double x = static_cast<double>(now - ref) / tau_ns;
    if (x > 20) {
      const double f = std::exp(-x);
      absl::erase_if(table, [f](auto& kv) { return (kv.second.w *= f) < 1e-3; });
      for (auto& t : role_total) t *= f;
      for (auto& t : role_top) t.w *= f;
      ref = now;
      x = 0;
      g = 1;
    }
    // exp() once per millisecond of stream time, not per record.
    if (!g_set || now - g_at >= kMillisecond || now < g_at) {
      g_set = true;
      g = std::exp(-x);
      gh = std::exp(-static_cast<double>(now - ref_h) / tau_h_ns);
      g_at = now;
    }
    double xh = static_cast<double>(now - ref_h) / tau_h_ns;
    if (xh > 20) {
      const double f = std::exp(-xh);
      absl::erase_if(concentrations, [f](auto& kv) {
        kv.second.a *= f;
        return (kv.second.n *= f) < 1e-3;
      });
      ref_h = now;
      gh = 1;
    }
  }
  static constexpr std::int64_t kMillisecond = 1'000'000;
  std::int64_t g_at = 0;
  bool g_set = false;
  std::int64_t ref_h = 0;

  // ---- keyed rates ----

  // Folds the current window into its keys' means.
  void close_window() {
    for (const Key k : touched) {
      RateState& s = rates[k];
      fold(s, s.window);
    }
    touched.clear();
    auto t = rates.find(total_key);
    last_window_count = t != rates.end() && t->second.window == window ? t->second.count : 0;
    // A heavy-hitter table: beyond max_keys, the quietest keys go, by their mean or the window
    // just closed, whichever is more (a flood's keys learn no mean: hot windows are not
    // folded; they must stay, or they would start each window from nothing).
    if (rates.size() > config.max_keys) {
      std::vector<std::pair<double, Key>> by_load;
      by_load.reserve(rates.size());
      for (const auto& [k, s] : rates) {
        const double last = s.window == window ? static_cast<double>(s.count) : 0.0;
        by_load.emplace_back(std::max(decayed_mean(s, window), last), k);
      }
      std::nth_element(by_load.begin(),
                       by_load.begin() + static_cast<std::ptrdiff_t>(config.max_keys / 2),
                       by_load.end(), std::greater<>());
      for (std::size_t i = config.max_keys / 2; i < by_load.size(); ++i) {
        rates.erase(by_load[i].second);
      }
    }
  }
  [[nodiscard]] double decay_factor(const RateState& s, std::int64_t w) const {
    if (s.updated < 0 || w - s.updated <= 1) return 1.0;
    return std::pow(1 - alpha_rate, static_cast<double>(w - s.updated - 1));
  }
  [[nodiscard]] double decayed_mean(const RateState& s, std::int64_t w) const {
    return s.mean * decay_factor(s, w);
  }
  // The count at which a key is hot in window w.
  [[nodiscard]] double line(const RateState& s, std::int64_t w) const {
    const double f = decay_factor(s, w);
    const double m = s.mean * f;
    const double var = std::max(s.sq * f - m * m, m);
    // Normal traffic is bursty beyond what a variance says (a heavy client's page loads): the
    // line is also twice the busiest normal window the key has had lately.
    double l = std::max({config.rate_on * m, m + config.z * std::sqrt(var), config.z * config.z,
                         kPeakMargin * s.peak * f});
    if (s.windows < 10) {
      auto t = rates.find(total_key);
      if (t != rates.end()) l = std::max(l, 0.1 * t->second.mean);
    }
    return l;
  }
  static constexpr double kPeakMargin = 2;
  static constexpr double kOnsetPace = 64;
  void fold(RateState& s, std::int64_t w) const {
    const double f = decay_factor(s, w);
    s.mean *= f;
    s.sq *= f;
    s.peak *= f;
    // A window in which the key was hot teaches nothing (a flood cannot teach itself).
    if (s.hot) {
      s.updated = w;
      return;
    }
    const auto c = static_cast<double>(s.count);
    const double a = std::max(alpha_rate, 1.0 / (s.windows + 1.0));
    s.mean += a * (c - s.mean);
    s.sq += a * (c * c - s.sq);
    s.peak = std::max(s.peak * (1 - alpha_rate), c);
    s.updated = w;
    ++s.windows;
  }

  // ---- alerts ----

  // Key `rk` is hot at record v: n records (rate: in this window; content: anomalous, decayed)
  // against `expected`. A key the open alert has not seen joins it, unless the alert's signature
  // has been quiet for more than a window and a half: then that attack is over and this is
  // another (an alert per attack).
  void heat(const Features::RateKey& rk, const char* kind, double n, double expected,
            const RecordVerdict& v) {
    const double ratio = n / std::max(expected, 1.0);
    if (open) {
      OpenAlert& o = *open;
      const auto at = std::ranges::find(o.candidate_keys, rk.key);
      if (at != o.candidate_keys.end()) {
        const auto it = o.candidates.begin() + (at - o.candidate_keys.begin());
        const bool was_recent = recent(*it, v.ts);
        it->heat += heat_weight(o, v.ts);
        it->last_hot = v.ts;
        if (n > it->key.peak_count) {
          it->key.peak_count = n;
          it->key.expected = expected;
        }
        if (it->rate) o.alert.peak_rate_ratio = std::max(o.alert.peak_rate_ratio, ratio);
        o.last_hot_ts = v.ts;
        if (it->in_signature) {
          o.last_signature_ts = v.ts;
          (it->rate ? o.last_rate_ts : o.last_content_ts) = v.ts;
        }
        // The signature is chosen again every 64th of a window, or every 1024th while this
        // key is outside it (a new flood must not wait 15 ms, 150 records at 10,000/s, to join).
        const auto since = static_cast<double>(v.ts - o.signature_ts);
        if (!was_recent || since > window_ns / 64 ||
            (!it->in_signature && since > window_ns / 1024)) {
          signature(v.ts);
        }
        return;
      }
      if (static_cast<double>(v.ts - o.last_signature_ts) > 1.5 * window_ns) close_alert();
    }
    if (!open) {
      open.emplace();
      open->alert.onset = v.index;
      open->alert.onset_ts = v.ts;
      open->heat_ref = v.ts;
      open->alert.trigger = kind;
      open->role_n.assign(role_names.size(), 0);
    } else if (open->alert.trigger != kind) {
      open->alert.trigger = "content+rate";
    }
    OpenAlert& o = *open;
    o.last_hot_ts = v.ts;
    if (std::string_view(kind) == "rate") {
      o.alert.peak_rate_ratio = std::max(o.alert.peak_rate_ratio, ratio);
    }
    if (o.candidates.size() >= kMaxCandidates) {
      // The weakest of those not hot lately makes room; when all are hot lately, the weakest
      // of them, if the new key is stronger. (A carpet's hundreds of victims would otherwise
      // take turns: while every candidate stays hot and none weaker than a rejected key can
      // appear, a key no stronger is turned away without a search.)
      const double strength = n - expected;
      if (v.ts < o.reject_until && strength <= o.reject_below) return;
      auto weakest = std::min_element(
          o.candidates.begin(), o.candidates.end(), [&](const Candidate& a, const Candidate& b) {
            return std::pair(recent(a, v.ts), a.key.peak_count - a.key.expected) <
                   std::pair(recent(b, v.ts), b.key.peak_count - b.key.expected);
          });
      const double weakest_strength = weakest->key.peak_count - weakest->key.expected;
      if (recent(*weakest, v.ts) && strength <= weakest_strength) {
        std::int64_t first_quiet = std::numeric_limits<std::int64_t>::max();
        for (const auto& c : o.candidates) first_quiet = std::min(first_quiet, c.last_hot);
        o.reject_until = first_quiet + static_cast<std::int64_t>(1.5 * window_ns);
        o.reject_below = weakest_strength;
        return;
      }
      o.reject_until = 0;
      o.candidate_keys.erase(o.candidate_keys.begin() + (weakest - o.candidates.begin()));
      o.candidates.erase(weakest);
    }
    // A rate key's heat starts from its window's count: the records that made it hot came
    // within the window, most within milliseconds (a flood's second vector must not wait,
    // outside the signature, until it outweighs the first one's fading heat).
    const bool rate = std::string_view(kind) == "rate";
    const double w = heat_weight(o, v.ts) * (rate ? std::max(1.0, n) : 1.0);
    o.candidate_keys.push_back(rk.key);
    o.candidates.push_back({rk.key,
                            rk.level,
                            {key_name(rk), kind, n, expected},
                            v.ts,
                            w,
                            rate,
                            false,
                            fx.has_client && fx.f[rk.a].role == kClient,
                            rk.pair ? fx.f[rk.b].key : 0});
    signature(v.ts);
  }
  static constexpr std::size_t kMaxCandidates = 64;
  [[nodiscard]] bool recent(const Candidate& c, std::int64_t ts) const {
    return static_cast<double>(ts - c.last_hot) <= 1.5 * window_ns;
  }
  // A record's weight in the candidates' heat at ts: exp((ts - heat_ref) / tau), tau an eighth
  // of a window (floods and scans compare by what they send now, not by what they sent). The
  // reference moves before the weights leave a double's range.
  double heat_weight(OpenAlert& o, std::int64_t ts) const {
    if (ts == o.weight_ts) return o.weight;
    const double tau = window_ns / 8;
    double x = static_cast<double>(ts - o.heat_ref) / tau;
    if (x > 600) {
      const double f = std::exp(-x);
      for (auto& c : o.candidates) c.heat *= f;
      o.heat_ref = ts;
      x = 0;
    }
    o.weight_ts = ts;
    o.weight = std::exp(x);
    return o.weight;
  }

  // Of the candidates hot lately: the finest level that covers nearly as much heat as any, and
  // its candidates with kSignatureShare of its hottest.
  static constexpr double kSignatureShare = 0.3;
  static constexpr double kCoverage = 0.8;
  static constexpr double kExplained = 0.8;
  void signature(std::int64_t ts) {
    OpenAlert& o = *open;
    o.signature_ts = ts;
    // Each candidate's heat now, once (-1: not hot lately).
    std::vector<double>& heats = o.heats;
    heats.clear();
    std::array<double, 5> best{};
    bool any = false;
    for (const auto& c : o.candidates) {
      heats.push_back(recent(c, ts) ? c.heat : -1.0);  // all scaled alike: compared, not read
      if (heats.back() < 0) continue;
      any = true;
      best[c.level] = std::max(best[c.level], heats.back());
    }
    if (!any) return;
    // A level covers the heat of its candidates that have kSignatureShare of its hottest; the
    // finest level that covers nearly as much as any (kCoverage) is the alert's.
    std::array<double, 5> cover{};
    for (std::size_t i = 0; i < o.candidates.size(); ++i) {
      const auto l = o.candidates[i].level;
      if (heats[i] >= 0 && heats[i] >= kSignatureShare * best[l]) cover[l] += heats[i];
    }
    const double most = *std::max_element(cover.begin(), cover.end());
    std::uint8_t level = 4;
    for (std::uint8_t l = 0; l < 5; ++l) {
      if (cover[l] >= kCoverage * most) {
        level = l;
        break;
      }
    }
    o.signature.clear();
    o.signature_content.clear();
    o.signature_all.clear();
    o.held.clear();
    // A server's key that a client's key at the level explains (the client sends nearly all of
    // its heat: one scanner, one flooder) stays out: the server's other clients are not the
    // attack. A server flooded from many clients keeps it.
    // (Of the same service, for host|service keys: a DNS flood's victim does not explain a SYN
    // flood on another port of it.)
    auto client_heat = [&](const Candidate& server) {
      double hottest = 0;
      for (std::size_t i = 0; i < o.candidates.size(); ++i) {
        const Candidate& c = o.candidates[i];
        if (heats[i] >= 0 && c.level == level && c.client_side && c.service == server.service) {
          hottest = std::max(hottest, heats[i]);
        }
      }
      return hottest;
    };
    for (std::size_t i = 0; i < o.candidates.size(); ++i) {
      Candidate& c = o.candidates[i];
      const double h = heats[i];
      c.in_signature = h >= 0 && c.level == level && h >= kSignatureShare * best[level] &&
                       (c.client_side || client_heat(c) < kExplained * h);
      if (!c.in_signature) continue;
      o.signature.push_back(c.k);
      if (c.client_side || c.level >= 3) o.signature_all.push_back(c.k);
      if (c.rate) {
        o.last_rate_ts = std::max(o.last_rate_ts, c.last_hot);
      } else {
        o.signature_content.push_back(c.k);
        o.last_content_ts = std::max(o.last_content_ts, c.last_hot);
      }
      // A volume the alert is about is not learnt while it is open (the total would stop all
      // learning: a flood without a finer key teaches the rate means nothing anyway, since
      // they skip hot windows). Content keys are not held: the spread rule keeps one scanner's
      // or tunnel's values unfamiliar, and a new service many clients use must become familiar.
      if (level < 4 && c.rate) o.held.push_back(c.k);
    }
    o.last_signature_ts = ts;
  }

  // Whether the record's client has been busy elsewhere lately (a lookup, another service:
  // outside the alert's signature, within kElsewhere of the horizon). A flood's connections
  // from many addresses come alone; a user's come with the rest of what the user does.
  [[nodiscard]] bool busy_elsewhere() const {
    return fx.has_client && static_cast<double>(now) - static_cast<double>(fx.elsewhere) <=
                                kElsewhere * config.horizon_s * 1e9;
  }
  static constexpr double kElsewhere = 0.3;

  [[nodiscard]] bool matches(const std::vector<Key>& keys) const {
    return std::ranges::any_of(fx.keys, [&](const Features::RateKey& rk) {
      return std::ranges::find(keys, rk.key) != keys.end();
    });
  }

  std::string key_name(const Features::RateKey& rk) const {
    const Feature& a = fx.f[rk.a];
    std::string name = role_names[a.role];
    std::string value = rk.prefix ? std::string(prefix24(a.text)) + ".*" : display(a);
    if (rk.level == 4) return "total";
    if (rk.pair) {
      name += "|" + role_names[fx.f[rk.b].role];
      value += "|" + display(fx.f[rk.b]);
    }
    if (rk.prefix) name += "24";
    return name + "=" + value;
  }

  void sample_record() {
    OpenAlert& o = *open;
    ++o.alert.flagged;
    if ((o.alert.flagged - 1) % o.stride != 0) return;
    if (++o.sampled >= 4096 * o.stride) o.stride *= 2;
    if (o.role_n.size() < role_names.size()) o.role_n.resize(role_names.size(), 0);
    for (const Feature& f : fx.f) {
      ++o.role_n[f.role];
      // Display texts only for keys the sample has not seen.
      auto add = [&](Key k, auto&& text, bool prefix, std::uint8_t depth) {
        auto [it, fresh] = o.sample.try_emplace(k);
        if (fresh) it->second = {f.role, 0, text(), k, prefix, depth};
        ++it->second.n;
      };
      add(
          f.key, [&] { return display(f); }, false, 255);
      if (f.kind == Kind::kAddress) {
        std::uint8_t depth = 0;
        for_each_prefix_end(f.text, [&](std::size_t end) {
          add(
              prefix_key(f.role, f.text.substr(0, end)),
              [&] { return std::string(f.text.substr(0, end + 1)) + "*"; }, true, ++depth);
        });
      }
    }
  }

  void explain(OpenAlert& o) {
    struct Best {
      double contrast = -1;
      FieldExplanation e;
      std::uint8_t depth = 0;
    };
    std::map<RoleId, std::vector<Best>> per_role;
    for (const auto& [k, sc] : o.sample) {
      if (sc.role >= o.role_n.size() || o.role_n[sc.role] == 0) continue;
      if (sc.role == kShape || sc.role == kListen) continue;
      const double share = static_cast<double>(sc.n) / o.role_n[sc.role];
      if (share < 0.2) continue;
      auto it = table.find(sc.key);
      const double total = role_total[sc.role] * g;
      const double w = it == table.end() ? 0 : it->second.w * g;
      const double base = total > 0 ? std::min(1.0, w / total) : 0;
      const double floor = 1.0 / (total + 1);
      const double contrast = share * std::log(share / std::max(base, floor));
      if (contrast <= 0) continue;
      per_role[sc.role].push_back(
          {contrast,
           {role_names[sc.role], sc.text, share, base, contrast, role_top[sc.role].text},
           sc.depth});
    }
    std::vector<FieldExplanation> out;
    for (auto& [r, v] : per_role) {
      double best = 0;
      for (const auto& b : v) best = std::max(best, b.contrast);
      // Of the values nearly as contrasting as the best, the most specific (deepest prefix;
      // a full value counts deepest).
      const Best* chosen = nullptr;
      for (const auto& b : v) {
        if (b.contrast < 0.8 * best) continue;
        if (chosen == nullptr || b.depth > chosen->depth ||
            (b.depth == chosen->depth && b.contrast > chosen->contrast) ||
            (b.depth == chosen->depth && b.contrast == chosen->contrast &&
             b.e.value < chosen->e.value)) {
          chosen = &b;
        }
      }
      if (chosen != nullptr) out.push_back(chosen->e);
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return a.contrast != b.contrast ? a.contrast > b.contrast : a.field < b.field;
    });
    if (out.size() > config.explain_fields) out.resize(config.explain_fields);
    o.alert.explanation = std::move(out);
  }

  void close_alert() {
    OpenAlert& o = *open;
    o.alert.records = o.alert.offset >= o.alert.onset ? o.alert.offset - o.alert.onset + 1 : 0;
    if (o.alert.flagged == 0) {
      o.alert.offset = o.alert.onset;
      o.alert.offset_ts = o.alert.onset_ts;
      o.alert.records = 1;
    }
    for (const auto& c : o.candidates) o.alert.keys.push_back(c.key);
    std::stable_sort(o.alert.keys.begin(), o.alert.keys.end(), [](const auto& a, const auto& b) {
      return a.peak_count - a.expected > b.peak_count - b.expected;
    });
    if (o.alert.keys.size() > 8) o.alert.keys.resize(8);
    explain(o);
    closed.push_back(std::move(o.alert));
    open.reset();
  }

  // ---- one record ----

  RecordVerdict step(std::int64_t ts) {
    RecordVerdict v;
    v.index = count++;
    v.ts = ts;
    if (!started) {
      started = true;
      first_ts = ts;
      now = ts;
      ref = ts;
      ref_h = ts;
    }
    advance(ts);
    const auto w = static_cast<std::int64_t>(
        std::floor(static_cast<double>(now - first_ts) / (config.window_s * 1e9)));
    if (w != window) {
      if (window >= 0) close_window();
      window = w;
    }
    if (open && now - open->last_hot_ts > static_cast<std::int64_t>(config.hold_s * 1e9)) {
      close_alert();
    }
    const std::uint64_t warm_needed = config.warmup;
    const bool warm_time = static_cast<double>(now - first_ts) >= config.warmup_s * 1e9;
    if (!ready && warm_records >= warm_needed && warm_time) {
      ready = true;
      const double span = static_cast<double>(now - first_ts) / 1e9;
      baseline_rate_value = span > 0 ? static_cast<double>(warm_records) / span : 0;
    }
    v.novelty = novelty();
    if (!ready) {
      v.warming_up = true;
      // The second half of the warm-up calibrates (prequentially: scored, then learnt).
      const bool second_half = warm_records * 2 >= warm_needed &&
                               static_cast<double>(now - first_ts) * 2 >= config.warmup_s * 1e9;
      if (second_half) calibration.add(v.novelty);
      ++warm_records;
      count_rates(v, /*detect=*/false);
      learn(1 / g);
      return v;
    }
    const std::size_t above = calibration.at_least(v.novelty);
    v.p_value = static_cast<double>(1 + above) / static_cast<double>(calibration.size() + 1);
    v.anomalous = v.p_value <= config.alpha;
    count_rates(v, /*detect=*/true);
    concentrate(v, open && matches(open->signature));
    // The signature flags records while its keys are hot, not in the quiet tail before the
    // alert closes: a volume's keys within half a window (they are hot on every flow
    // start of a flood), a client's concentrated anomalies within a window and a half (a slow
    // scan's probes come seconds apart, and only that client's records match).
    const bool rate_live = open && static_cast<double>(v.ts - open->last_rate_ts) <= window_ns / 2;
    const bool content_live =
        open && static_cast<double>(v.ts - open->last_content_ts) <= 1.5 * window_ns;
    // A server's key (with a service, or its /24) flags the records of clients not busy
    // elsewhere (a flood from many addresses: the users of the service are not the attack); a
    // client's key flags all of that client's records, a service's or the total all records.
    // While an alert is open, what matches its signature is not learnt (an attack must not
    // teach the baseline its values); other anomalous records are learnt (with the settle time
    // and the spread rule), or a new service could never become familiar. (The signature may
    // have changed since concentrate() was told: heat() chooses it again.)
    const bool held = open && matches(open->signature);
    v.flagged = v.anomalous ||
                (rate_live && held && (matches(open->signature_all) || !busy_elsewhere())) ||
                (content_live && matches(open->signature_content));
    if (open) {
      OpenAlert& o = *open;
      if (v.flagged) {
        o.alert.offset = v.index;
        o.alert.offset_ts = v.ts;
        o.alert.anomalous += v.anomalous ? 1U : 0U;
        o.alert.peak_novelty = std::max(o.alert.peak_novelty, v.novelty);
        sample_record();
      }
    }
    if (!held) {
      learn(1 / g);
      if (!open && ++since_calibration >= config.calibrate_every) {
        since_calibration = 0;
        calibration.add(v.novelty);
      }
    }
    v.in_alert = open.has_value();
    return v;
  }

  // How far into the current window the stream is, in [0, 1).
  [[nodiscard]] double window_part() const {
    const double into = std::fmod(static_cast<double>(now - first_ts), window_ns);
    return into / window_ns;
  }

  void count_rates(RecordVerdict& v, bool detect) {
    double ratio = 1;
    for (const auto& rk : fx.keys) {
      if (!rk.rate || !fx.counts) continue;
      RateState& s = rates[rk.key];
      if (s.window != window) {
        s.window = window;
        s.count = 0;
        s.hot = false;
        touched.push_back(rk.key);
      }
      ++s.count;
      if (!detect) continue;
      const double m = decayed_mean(s, window);
      ratio = std::max(ratio, s.count / std::max(m, 1.0));
      const double l = line(s, window);
      // The key's pace now: its records decayed over an eighth of a window, scaled to a window.
      const double x = static_cast<double>(now - s.fast_at) / (window_ns / 8);
      s.fast = s.fast * decay(x) + 1;
      s.burst = s.burst * decay(32 * x) + 1;
      s.fast_at = now;
      // Hot past the line; or, sooner, at half the floor's count when the key's last few
      // milliseconds run at kOnsetPace times the line's pace (a flood's first milliseconds:
      // the 36th record of a window is 3.6 ms into a flood of 10,000/s; a page load's
      // parallel connections are a handful at once, not a quarter of the line).
      if (s.count >= l || (s.count >= config.z * config.z / 2 && 256 * s.burst >= kOnsetPace * l)) {
        s.hot = true;
      }
      // Hot in this window, and still sending at the line's pace (a flood that stopped mid-window
      // stops heating its keys at once).
      if (s.hot && 8 * s.fast >= l) heat(rk, "rate", s.count, m, v);
    }
    v.rate = last_window_count / config.window_s;
    v.rate_ratio = ratio;
  }
  // Concentrated anomalies: client, server, service and client|service (levels 1, 1, 3, 0).
  void concentrate(const RecordVerdict& v, bool in_signature) {
    for (const auto& rk : fx.keys) {
      if (!rk.content) continue;
      Concentration& c = concentrations[rk.key];
      if (rk.level == 1) {  // the client's key
        if (!in_signature) c.elsewhere = v.ts;
        fx.elsewhere = c.elsewhere;
      }
      c.n += 1 / gh;
      if (!v.anomalous) continue;
      // An anomaly the open alert explains (the record matches its signature) is evidence for
      // the alert's own keys only: a carpet's victims must not carry its anomalies into their
      // normal traffic after it.
      if (in_signature &&
          std::ranges::find(open->candidate_keys, rk.key) == open->candidate_keys.end()) {
        continue;
      }
      c.a += 1 / gh;
      const double n = c.n * gh;
      const double a = c.a * gh;
      const double expected = config.alpha * n;
      const double lineval = expected + config.z * std::sqrt(expected) + config.z;
      if (a >= lineval) {
        heat(rk, "content", a, expected, v);
      }
    }
  }
};

// ---------------------------------------------------------------------------------------------

Detector::Detector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Detector::Detector(Detector&&) noexcept = default;
Detector& Detector::operator=(Detector&&) noexcept = default;
Detector::~Detector() = default;

Result<Detector> Detector::create(const DetectorConfig& config) {
  WITNESS_RETURN_IF_ERROR(config.validate());
  return Detector(std::make_unique<Impl>(config));
}

const DetectorConfig& Detector::config() const { return impl_->config; }
std::uint64_t Detector::records() const { return impl_->count; }
double Detector::baseline_rate() const { return impl_->ready ? impl_->baseline_rate_value : 0.0; }
std::vector<double> Detector::calibration() const {
  if (!impl_->ready) return {};
  return impl_->calibration.sorted();
}
std::size_t Detector::symbols() const { return impl_->table.size(); }

namespace {
Result<Leaf> scalar_leaf(std::string_view value) {
  Json j = Json::parse(value, nullptr, false);
  if (j.is_discarded() || j.is_object() || j.is_array()) {
    return invalid_argument("the value must be a JSON scalar");
  }
  Leaf leaf;
  if (j.is_number()) {
    leaf.is_number = true;
    leaf.number = j.get<double>();
  } else if (j.is_string()) {
    leaf.text = "s:" + j.get<std::string>();
  } else if (j.is_boolean()) {
    leaf.text = j.get<bool>() ? "b:true" : "b:false";
  } else {
    leaf.text = "null";
  }
  return leaf;
}

// The label of a record the fast path could not read (rare: arrays, escapes).
GroundTruth ground_truth(std::string_view line) {
  GroundTruth t;
  const Json j = Json::parse(line, nullptr, false);
  if (!j.is_object()) return t;
  const auto label = j.find("label");
  if (label == j.end() || !label->is_object()) return t;
  if (auto p = label->find("phase"); p != label->end() && p->is_string()) {
    t.phase = p->get<std::string>();
    t.has_phase = true;
  }
  if (auto a = label->find("attack"); a != label->end() && a->is_boolean()) {
    t.attack = a->get<bool>();
    t.has_attack = true;
  }
  return t;
}
}  // namespace

Result<double> Detector::familiarity(std::string_view field, std::string_view value) const {
  WITNESS_ASSIGN_OR_RETURN(Leaf leaf, scalar_leaf(value));
  Impl& s = *impl_;
  const auto r = s.find_role(field);
  if (!r) return 0.0;
  s.fx.clear();
  // As a packet's field when the detector reads packets (the source rule applies).
  s.fx.has_client = !s.config.service_fields.empty();
  s.add_leaf(field, leaf);
  if (field == "service" || field == "dir") s.fx.f.back().kind = Kind::kCategory;
  const double fam = s.feature_familiarity(s.fx.f.back());
  s.fx.clear();
  return fam;
}

Result<vsa::Vector> Detector::symbol_vector(std::string_view field, std::string_view value) const {
  WITNESS_ASSIGN_OR_RETURN(Leaf leaf, scalar_leaf(value));
  const auto& c = impl_->config;
  const vsa::Vector role = make_atom(c.seed, "role:" + std::string(field), c.dim);
  const std::string filler =
      leaf.is_number ? "bucket:" + std::to_string(bucket_of(leaf.number)) : leaf.text;
  return bind(role, make_atom(c.seed, filler, c.dim));
}

Result<RecordVerdict> Detector::observe(std::string_view json_line, GroundTruth* truth) {
  Impl& s = *impl_;
  if (!FastParser(json_line, s.config, s.rec, truth).parse()) {
    WITNESS_ASSIGN_OR_RETURN(Record rec, parse_record(json_line, s.config));
    s.rec = std::move(rec);
    if (truth != nullptr) *truth = ground_truth(json_line);
  } else if (!(std::abs(s.rec.ts) < kMaxTime)) {
    return std::move(parse_record(json_line, s.config)).error();  // its range error
  }
  s.featurise(s.rec);
  return s.step(s.rec.ts_ns);
}

RecordVerdict Detector::observe(const Packet& p) {
  Impl& s = *impl_;
  Record& r = s.rec;
  r.leaves.clear();
  r.ts = static_cast<double>(p.ts);
  auto text = [&](const char* path, const std::string& v) {
    r.leaves.push_back(Leaf{.path = path, .text = "s:" + v});
  };
  auto num = [&](const char* path, std::int64_t v) {
    r.leaves.push_back(Leaf{.path = path, .is_number = true, .number = static_cast<double>(v)});
  };
  // The fields and order of to_json(packet), so both give the same verdicts.
  text("proto", p.proto);
  text("src_ip", p.src_ip);
  text("dst_ip", p.dst_ip);
  if (p.proto != "icmp") {
    num("src_port", p.src_port);
    num("dst_port", p.dst_port);
  }
  if (!p.flags.empty()) text("flags", p.flags);
  num("size", p.size);
  num("ttl", p.ttl);
  std::erase_if(r.leaves, [&](const Leaf& l) {
    return std::ranges::any_of(s.config.ignore, [&](const std::string& i) { return l.path == i; });
  });
  s.featurise(r);
  return s.step(p.ts);
}

std::vector<Alert> Detector::take_alerts() {
  std::vector<Alert> out;
  out.swap(impl_->closed);
  return out;
}

std::vector<Alert> Detector::finish() {
  Impl& s = *impl_;
  if (s.open) s.close_alert();
  return take_alerts();
}

}  // namespace witness::detect
