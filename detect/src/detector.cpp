// The anomaly detector: see detector.hpp for the model. Records parse with nlohmann::json
// (private to this file).
#include "witness/detect/detector.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "witness/base/string_map.hpp"
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

// The keys of `counts` with the highest counts (ties in key order), at most `limit` of them.
template <typename K>
std::vector<K> most_frequent(const std::map<K, std::size_t>& counts, std::size_t limit) {
  std::vector<std::pair<std::size_t, K>> by_count;
  by_count.reserve(counts.size());
  for (const auto& [k, n] : counts) by_count.emplace_back(n, k);
  std::stable_sort(by_count.begin(), by_count.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  if (by_count.size() > limit) by_count.resize(limit);
  std::vector<K> out;
  out.reserve(by_count.size());
  for (auto& [n, k] : by_count) out.push_back(std::move(k));
  return out;
}

// Values an explanation cleans up against per field.
constexpr std::size_t kCandidates = 64;

// A leaf's value as text: numbers in their canonical form (number_text).
std::string text_of(const Leaf& leaf) {
  return leaf.is_number ? number_text(leaf.number) : leaf.text;
}

struct Record {
  double ts = 0;
  std::vector<Leaf> leaves;
};

// Parses a record straight into leaves with nlohmann's SAX interface: no DOM (its std::map nodes
// cost more than the detector's own work). Leaves come in text order.
class LeafSax {
 public:
  LeafSax(const DetectorConfig& c, Record& r) : c_(c), r_(r) {}
  bool null() { return leaf(Leaf{.text = "null"}); }
  bool boolean(bool b) { return leaf(Leaf{.text = b ? "b:true" : "b:false"}); }
  bool number_integer(std::int64_t v) { return number(static_cast<double>(v)); }
  bool number_unsigned(std::uint64_t v) { return number(static_cast<double>(v)); }
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
  // ns since the epoch must fit an int64 (alerts carry them as integers).
  if (!(std::abs(r.ts) < 9.2e18)) {
    return invalid_argument("the time field \"" + c.time_field + "\" is out of range (" +
                            number_text(r.ts) + " ns)");
  }
  return r;
}

// What the warm-up saw under one role.
struct PathModel {
  StringMap<std::uint32_t> texts;     // full values
  StringMap<std::uint32_t> prefixes;  // proper prefixes of string values (with the "s:" mark)
  std::vector<double> numbers;        // sorted, duplicates kept
  std::optional<ScalarEncoder> scalar;
  std::string baseline;  // the most common value, as JSON text
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
  if (!(alpha > 0 && alpha <= 1)) return bad("alpha must be in (0, 1]");
  if (alpha < 1.0 / static_cast<double>(warmup + 1)) {
    return bad("alpha " + number_text(alpha) + " is below 1 / (warmup + 1) = " +
               number_text(1.0 / static_cast<double>(warmup + 1)) +
               ": no record could ever be anomalous (lengthen the warm-up)");
  }
  if (time_field.empty()) return bad("time_field must not be empty");
  if (smooth < 1) return bad("smooth must be at least 1");
  if (!(level_on > 0 && level_on <= 1)) return bad("level_on must be in (0, 1]");
  if (!(level_off >= 0 && level_off <= level_on)) return bad("level_off must be in [0, level_on]");
  if (!(rate_on > 1)) return bad("rate_on must be above 1");
  if (hold < 1) return bad("hold must be at least 1");
  return ok_status();
}

std::string DetectorConfig::to_json() const {
  Json j = Json::object();
  j["seed"] = seed;
  j["dim"] = dim;
  j["warmup"] = warmup;
  j["alpha"] = alpha;
  j["time_field"] = time_field;
  j["ignore"] = ignore;
  j["smooth"] = smooth;
  j["level_on"] = level_on;
  j["level_off"] = level_off;
  j["rate_on"] = rate_on;
  j["hold"] = hold;
  j["explain_sample"] = explain_sample;
  return j.dump();
}

Result<DetectorConfig> DetectorConfig::from_json(std::string_view json) {
  Json j = Json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return invalid_argument("detector config: not a JSON object");
  }
  DetectorConfig c;
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
    } else if (key == "dim" || key == "warmup" || key == "smooth" || key == "hold" ||
               key == "explain_sample") {
      WITNESS_RETURN_IF_ERROR(need(v.is_number_unsigned(), "an unsigned integer"));
      const auto n = v.get<std::size_t>();
      (key == "dim"      ? c.dim
       : key == "warmup" ? c.warmup
       : key == "smooth" ? c.smooth
       : key == "hold"   ? c.hold
                         : c.explain_sample) = n;
    } else if (key == "alpha" || key == "level_on" || key == "level_off" || key == "rate_on") {
      WITNESS_RETURN_IF_ERROR(need(v.is_number(), "a number"));
      const auto x = v.get<double>();
      (key == "alpha"       ? c.alpha
       : key == "level_on"  ? c.level_on
       : key == "level_off" ? c.level_off
                            : c.rate_on) = x;
    } else if (key == "time_field") {
      WITNESS_RETURN_IF_ERROR(need(v.is_string(), "a string"));
      c.time_field = v.get<std::string>();
    } else if (key == "ignore") {
      WITNESS_RETURN_IF_ERROR(need(v.is_array(), "a list of strings"));
      c.ignore.clear();
      for (const auto& e : v) {
        WITNESS_RETURN_IF_ERROR(need(e.is_string(), "a list of strings"));
        c.ignore.push_back(e.get<std::string>());
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
  j["anomalous"] = anomalous;
  j["peak_level"] = round6(peak_level);
  j["peak_rate_ratio"] = round6(peak_rate_ratio);
  j["peak_novelty"] = round6(peak_novelty);
  j["trigger"] = trigger;
  Json e = Json::array();
  for (const auto& f : explanation) {
    e.push_back({{"field", f.field},
                 {"value", f.value},
                 {"strength", round6(f.strength)},
                 {"novelty", round6(f.novelty)},
                 {"baseline", f.baseline}});
  }
  j["explanation"] = std::move(e);
  return j.dump();
}

// ---------------------------------------------------------------------------------------------

namespace {

// An alert being raised (outside Impl: clang wants it complete before optional<> uses it).
struct OpenAlert {
  Alert alert;
  std::uint64_t quiet = 0;
  std::uint64_t last_loud = 0;
  std::int64_t last_loud_ts = 0;
  std::optional<std::pair<std::uint64_t, std::int64_t>> last_anomalous;
  std::vector<Record> sample;
  std::vector<std::vector<double>> sample_novelty;
};

}  // namespace

struct Detector::Impl {
  DetectorConfig config;
  std::uint64_t count = 0;

  // Warm-up.
  std::vector<Record> warm;
  bool ready = false;
  StringMap<PathModel> paths;
  std::vector<double> calibration;  // sorted
  double baseline_dt = 0;           // ns; 0: timestamps did not advance in the warm-up

  // Moving state.
  double last_ts = 0;
  double dt_avg = 0;
  double level = 0;

  // The open alert.
  std::optional<OpenAlert> open;
  std::vector<Alert> closed;

  explicit Impl(DetectorConfig c) : config(std::move(c)) {}

  // ---- familiarity ----

  static double string_familiarity(const PathModel& m, std::string_view text, bool loo) {
    const std::uint32_t self = loo ? 1 : 0;
    auto it = m.texts.find(text);
    if (it != m.texts.end() && it->second > self) return 1.0;
    if (text.rfind("s:", 0) != 0) return 0.0;
    const std::string_view value = text.substr(2);
    const std::size_t k = components(value);
    std::size_t d = 0;
    std::size_t depth = 0;
    for_each_prefix_end(value, [&](std::size_t end) {
      ++depth;
      auto p = m.prefixes.find(text.substr(0, 2 + end));
      if (p != m.prefixes.end() && p->second > self) d = depth;
    });
    return static_cast<double>(d) / static_cast<double>(k);
  }

  static double number_familiarity(const PathModel& m, double x, bool loo) {
    if (m.numbers.empty() || !m.scalar) return 0.0;
    auto lo = std::lower_bound(m.numbers.begin(), m.numbers.end(), x);
    auto hi = std::upper_bound(lo, m.numbers.end(), x);
    const auto same = static_cast<std::size_t>(hi - lo);
    if (same > (loo ? 1U : 0U)) return 1.0;
    double best = 0;
    if (lo != m.numbers.begin()) best = std::max(best, m.scalar->similarity(x, *(lo - 1)));
    if (hi != m.numbers.end()) best = std::max(best, m.scalar->similarity(x, *hi));
    return std::max(0.0, best);
  }

  double leaf_familiarity(const Leaf& leaf, bool loo) const {
    auto it = paths.find(leaf.path);
    if (it == paths.end()) return 0.0;
    return leaf.is_number ? number_familiarity(it->second, leaf.number, loo)
                          : string_familiarity(it->second, leaf.text, loo);
  }

  double novelty(const Record& r, bool loo, std::vector<double>* per_leaf) const {
    double s = 0;
    for (const Leaf& leaf : r.leaves) {
      const double n = 1.0 - leaf_familiarity(leaf, loo);
      if (per_leaf != nullptr) per_leaf->push_back(n);
      s += n;
    }
    return s;
  }

  // ---- warm-up ----

  void build_baseline() {
    std::map<std::string, std::map<std::string, std::uint64_t>> counts;  // for the baselines
    for (const Record& r : warm) {
      for (const Leaf& leaf : r.leaves) {
        PathModel& m = paths[leaf.path];
        ++counts[leaf.path][text_of(leaf)];
        if (leaf.is_number) {
          m.numbers.push_back(leaf.number);
          continue;
        }
        ++m.texts[leaf.text];
        if (leaf.text.rfind("s:", 0) == 0) {
          for_each_prefix_end(std::string_view(leaf.text).substr(2),
                              [&](std::size_t end) { ++m.prefixes[leaf.text.substr(0, 2 + end)]; });
        }
      }
    }
    for (auto& [path, m] : paths) {
      std::sort(m.numbers.begin(), m.numbers.end());
      if (!m.numbers.empty()) {
        const double lo = m.numbers.front();
        const double hi = m.numbers.back();
        const std::string name = "detector:" + path;
        // Log scale for positive quantities (sizes, ports, counts) with a margin of 8x on
        // either side; linear with a margin of the seen span when values can be <= 0.
        auto made = lo > 0 ? ScalarEncoder::log(config.seed, name, lo / 8, hi * 8, config.dim)
                           : ScalarEncoder::linear(config.seed, name, lo - std::max(1.0, hi - lo),
                                                   hi + std::max(1.0, hi - lo), config.dim);
        if (made) m.scalar = std::move(*made);
      }
      const auto& c = counts[path];
      const auto top = std::max_element(
          c.begin(), c.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
      if (top != c.end()) m.baseline = display(top->first);
    }
    calibration.clear();
    for (const Record& r : warm) calibration.push_back(novelty(r, /*loo=*/true, nullptr));
    std::sort(calibration.begin(), calibration.end());
    const double span = warm.back().ts - warm.front().ts;
    baseline_dt = span > 0 ? span / static_cast<double>(warm.size() - 1) : 0;
    dt_avg = baseline_dt;
    last_ts = warm.back().ts;
    warm.clear();
    warm.shrink_to_fit();
    ready = true;
  }

  // A leaf's text as shown to people: strings without the mark.
  static std::string display(const std::string& text) {
    if (text.rfind("s:", 0) == 0) return text.substr(2);
    if (text.rfind("b:", 0) == 0) return text.substr(2);
    return text;
  }

  // ---- alerts ----

  // Explanations (SPEC 6.6): which fields of the alert's records were unfamiliar, and with
  // which value. A field is explained only when its mean leaf novelty reaches this...
  static constexpr double kMinFieldNovelty = 0.05;
  // ...; of the values whose similarity to the unbound field is at least this share of the
  // best one, the most specific (the deepest prefix) is shown...
  static constexpr double kNearBest = 0.8;
  // ...; and the alert names at most this many fields, most novel first.
  static constexpr std::size_t kMaxExplainedFields = 6;

  // One explanation's working state. Atoms (roles too: a stream's paths are the stream's to
  // choose) live for one explanation, so memory stays bounded however many values and paths a
  // long stream brings.
  struct Explainer {
    // A field of the sampled records: summed novelty, and the values it held.
    struct Field {
      double novelty = 0;
      std::size_t n = 0;
      std::map<std::string, std::size_t> candidates;  // text -> occurrences (with prefixes)
      std::map<double, std::size_t> numbers;          // scalar fields: value -> occurrences
    };

    const Impl& impl;
    std::size_t dim;
    std::unordered_map<std::string, Vector> atoms;
    std::vector<std::int32_t> proto;  // sum over sampled leaves of bind(role, filler)
    std::map<std::string, Field> fields;

    explicit Explainer(const Impl& i) : impl(i), dim(i.config.dim) {
      proto.assign(Vector(dim).padded(), 0);
    }

    const Vector& atom(const std::string& name) {
      auto it = atoms.find(name);
      if (it == atoms.end()) it = atoms.emplace(name, make_atom(impl.config.seed, name, dim)).first;
      return it->second;
    }
    const PathModel* model_of(const std::string& path) const {
      auto it = impl.paths.find(path);
      return it == impl.paths.end() ? nullptr : &it->second;
    }
    // The parts of a leaf's filler: a scalar encoding, or the atoms of a string and of its
    // prefixes, or the atom of its text.
    template <typename Emit>
    void filler_parts(const Leaf& leaf, const PathModel* m, Emit&& emit) {
      if (leaf.is_number && m && m->scalar) {
        emit(m->scalar->encode(leaf.number));
      } else if (leaf.text.rfind("s:", 0) == 0) {
        for_each_prefix_end(std::string_view(leaf.text).substr(2),
                            [&](std::size_t end) { emit(atom(leaf.text.substr(0, 2 + end))); });
        emit(atom(leaf.text));
      } else {
        emit(atom(text_of(leaf)));
      }
    }

    // Builds the prototype and the per-field statistics from the alert's sample.
    void sample(const OpenAlert& o) {
      for (std::size_t r = 0; r < o.sample.size(); ++r) {
        const Record& rec = o.sample[r];
        for (std::size_t i = 0; i < rec.leaves.size(); ++i) {
          const Leaf& leaf = rec.leaves[i];
          const Vector& role = atom("role:" + leaf.path);
          const PathModel* m = model_of(leaf.path);
          filler_parts(leaf, m, [&](const Vector& part) {
            kernel::accumulate_product(role.raw(), part.raw(), proto.data(), proto.size());
          });
          Field& f = fields[leaf.path];
          f.novelty += o.sample_novelty[r][i];
          ++f.n;
          if (leaf.is_number && (m != nullptr) && m->scalar) {
            ++f.numbers[leaf.number];
          } else {
            ++f.candidates[text_of(leaf)];
            if (leaf.text.rfind("s:", 0) == 0) {
              for_each_prefix_end(std::string_view(leaf.text).substr(2), [&](std::size_t end) {
                ++f.candidates[leaf.text.substr(0, 2 + end)];
              });
            }
          }
        }
      }
    }

    // Unbinds the field's role from the prototype and cleans the result up against the values
    // the sample holds there (the kCandidates most frequent): the value shown and its strength.
    FieldExplanation explain_field(const std::string& path, const Field& f, double novelty) {
      const Vector& role = atom("role:" + path);
      std::vector<double> unbound(dim);
      double un = 0;
      for (std::size_t i = 0; i < dim; ++i) {
        unbound[i] = static_cast<double>(proto[i]) * role[i];
        un += unbound[i] * unbound[i];
      }
      auto cos_with = [&](const Vector& v) {
        double d = 0;
        double vn = 0;
        for (std::size_t i = 0; i < dim; ++i) {
          d += unbound[i] * v[i];
          vn += static_cast<double>(v[i] * v[i]);
        }
        return un > 0 && vn > 0 ? d / std::sqrt(un * vn) : 0.0;
      };
      std::string best;
      double best_cos = -2;
      const PathModel* m = model_of(path);
      if (!f.numbers.empty() && (m != nullptr) && m->scalar) {
        for (const double x : most_frequent(f.numbers, kCandidates)) {
          const double c = cos_with(m->scalar->encode(x));
          if (c > best_cos) {
            best_cos = c;
            best = number_text(x);
          }
        }
      } else {
        std::vector<std::pair<double, std::string>> scored;
        for (auto& t : most_frequent(f.candidates, kCandidates)) {
          scored.emplace_back(cos_with(atom(t)), t);
        }
        for (auto& [c, t] : scored) best_cos = std::max(best_cos, c);
        // Of the values nearly as strong as the best, the most specific (deepest prefix).
        double chosen_cos = best_cos;
        for (auto& [c, t] : scored) {
          if (c < kNearBest * best_cos) continue;
          if (best.empty() || t.size() > best.size()) {
            best = t;
            chosen_cos = c;
          }
        }
        best_cos = chosen_cos;
        best = shown_value(best, f);
      }
      return {path, best, std::max(0.0, best_cos), novelty, m != nullptr ? m->baseline : ""};
    }

    // A value for display; a prefix of longer values shows as "203.0.*".
    static std::string shown_value(const std::string& best, const Field& f) {
      if (best.rfind("s:", 0) == 0) {
        for (const auto& [t, n] : f.candidates) {
          if (t.size() > best.size() && t.compare(0, best.size(), best) == 0 &&
              is_separator(t[best.size()])) {
            return display(best) + t[best.size()] + "*";
          }
        }
      }
      return display(best);
    }
  };

  void explain(OpenAlert& o) const {
    if (o.sample.empty()) return;
    Explainer ex(*this);
    ex.sample(o);
    std::vector<FieldExplanation> out;
    for (const auto& [path, f] : ex.fields) {
      const double novelty = f.novelty / static_cast<double>(f.n);
      if (novelty < kMinFieldNovelty) continue;
      out.push_back(ex.explain_field(path, f, novelty));
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.novelty > b.novelty; });
    if (out.size() > kMaxExplainedFields) out.resize(kMaxExplainedFields);
    o.alert.explanation = std::move(out);
  }

  // The offset is the last anomalous record (the level and the rate lag behind the content),
  // or, for an alert opened by the rate alone, the last record before the quiet run.
  void close_alert() {
    OpenAlert& o = *open;
    const bool by_content = o.last_anomalous && o.last_anomalous->first >= o.alert.onset;
    o.alert.offset = by_content ? o.last_anomalous->first : o.last_loud;
    o.alert.offset_ts = by_content ? o.last_anomalous->second : o.last_loud_ts;
    o.alert.records = o.alert.offset - o.alert.onset + 1;
    explain(o);
    closed.push_back(std::move(o.alert));
    open.reset();
  }

  void step_alert(const RecordVerdict& v, std::int64_t ts, const Record& rec) {
    const bool content = v.level >= config.level_on;
    const bool rate = baseline_dt > 0 && v.rate_ratio >= config.rate_on;
    const bool cool =
        v.level < config.level_off && !(baseline_dt > 0 && v.rate_ratio >= config.rate_on / 2);
    if (!open) {
      if (!content && !rate) return;
      open.emplace();
      open->alert.onset = v.index;
      open->alert.onset_ts = ts;
      open->alert.trigger = content && rate ? "content+rate" : content ? "content" : "rate";
      open->last_loud = v.index;
      open->last_loud_ts = ts;
    }
    OpenAlert& o = *open;
    if (v.anomalous) {
      o.last_anomalous = std::pair{v.index, ts};
      ++o.alert.anomalous;
      o.alert.peak_novelty = std::max(o.alert.peak_novelty, v.novelty);
      if (o.sample.size() < config.explain_sample) {
        o.sample.push_back(rec);
        // Per-leaf novelties only for the few records kept to explain the alert.
        std::vector<double> per_leaf;
        novelty(rec, /*loo=*/false, &per_leaf);
        o.sample_novelty.push_back(std::move(per_leaf));
      }
    }
    o.alert.peak_level = std::max(o.alert.peak_level, v.level);
    o.alert.peak_rate_ratio = std::max(o.alert.peak_rate_ratio, v.rate_ratio);
    if (cool) {
      if (++o.quiet >= config.hold) close_alert();
    } else {
      o.quiet = 0;
      o.last_loud = v.index;
      o.last_loud_ts = ts;
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
double Detector::baseline_rate() const {
  return impl_->ready && impl_->baseline_dt > 0 ? 1e9 / impl_->baseline_dt : 0.0;
}
std::vector<double> Detector::calibration() const { return impl_->calibration; }

Result<double> Detector::familiarity(std::string_view path, std::string_view value) const {
  if (!impl_->ready) return failed_precondition("the detector is still warming up");
  Json j = Json::parse(value, nullptr, false);
  if (j.is_discarded() || j.is_object() || j.is_array()) {
    return invalid_argument("familiarity: the value must be a JSON scalar");
  }
  Leaf leaf{.path = std::string(path)};
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
  return impl_->leaf_familiarity(leaf, false);
}

Result<RecordVerdict> Detector::observe(std::string_view json_line) {
  Impl& s = *impl_;
  WITNESS_ASSIGN_OR_RETURN(Record rec, parse_record(json_line, s.config));
  RecordVerdict v;
  v.index = s.count++;
  v.ts = static_cast<std::int64_t>(rec.ts);
  if (!s.ready) {
    v.warming_up = true;
    s.warm.push_back(std::move(rec));
    if (s.warm.size() == s.config.warmup) s.build_baseline();
    return v;
  }
  v.novelty = s.novelty(rec, /*loo=*/false, nullptr);
  const auto above = static_cast<std::size_t>(
      s.calibration.end() -
      std::lower_bound(s.calibration.begin(), s.calibration.end(), v.novelty));
  v.p_value = static_cast<double>(1 + above) / static_cast<double>(s.calibration.size() + 1);
  v.anomalous = v.p_value <= s.config.alpha;
  const auto n = static_cast<double>(s.config.smooth);
  s.level += ((v.anomalous ? 1.0 : 0.0) - s.level) / n;
  v.level = s.level;
  const double dt = std::max(0.0, rec.ts - s.last_ts);
  s.last_ts = std::max(s.last_ts, rec.ts);
  if (s.baseline_dt > 0) {
    s.dt_avg += (dt - s.dt_avg) / n;
    const double avg = std::max(s.dt_avg, 1e-3);
    v.rate = 1e9 / avg;
    v.rate_ratio = s.baseline_dt / avg;
  }
  s.step_alert(v, static_cast<std::int64_t>(rec.ts), rec);
  v.in_alert = s.open.has_value();
  return v;
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
