// The structure encoder. The JSON path parses with nlohmann::json (private to this file) and
// drives the same Walker that C++ types use, so both give the same vector by construction.
#include "witness/vsa/encoder.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <tuple>

#include <nlohmann/json.hpp>

#include "witness/vsa/ops.hpp"

namespace witness::vsa {
namespace {

constexpr std::int64_t kDayNs = 86'400'000'000'000;
constexpr std::int64_t kWeekNs = 7 * kDayNs;

// Days from civil (H. Hinnant's algorithm) for RFC 3339 parsing without the ledger module.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3U : 9U)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

unsigned days_in_month(unsigned y, unsigned m) {
  static constexpr std::array<unsigned, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// "YYYY-MM-DDTHH:MM:SS[.frac]Z" to ns since the epoch (UTC only: enough for the marker).
Result<std::int64_t> parse_utc(const std::string& s) {
  // Fixed positions, digits only: sscanf's %u would take "-026" as a huge year (fuzz_vsa_encode
  // found the overflow that followed).
  const auto bad = [&] {
    return invalid_argument("$time: \"" + s + "\" is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ)");
  };
  const auto num = [&](std::size_t at, std::size_t len) -> std::optional<unsigned> {
    unsigned v = 0;
    for (std::size_t k = at; k < at + len; ++k) {
      if (k >= s.size() || s[k] < '0' || s[k] > '9') return std::nullopt;
      v = (v * 10) + static_cast<unsigned>(s[k] - '0');
    }
    return v;
  };
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return bad();
  }
  const auto y = num(0, 4);
  const auto mo = num(5, 2);
  const auto d = num(8, 2);
  const auto h = num(11, 2);
  const auto mi = num(14, 2);
  const auto se = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !se || *mo < 1 || *mo > 12 || *d < 1 ||
      *d > days_in_month(*y, *mo) || *h > 23 || *mi > 59 || *se > 60) {
    return bad();
  }
  const std::size_t used = 19;
  std::int64_t frac = 0;
  auto i = static_cast<std::size_t>(used);
  if (i < s.size() && s[i] == '.') {
    std::int64_t scale = 100'000'000;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, scale /= 10) {
      frac += (s[i] - '0') * scale;
    }
  }
  if (i + 1 != s.size() || s[i] != 'Z') {
    return invalid_argument("$time: \"" + s + "\" must end in Z (UTC)");
  }
  const std::int64_t days = days_from_civil(*y, *mo, *d);
  if (days < -106'750 || days > 106'749) {  // int64 ns reach 1677-09-21 .. 2262-04-11
    return invalid_argument("$time: \"" + s + "\" is outside 1678..2261 (int64 nanoseconds)");
  }
  return ((days * 24 + *h) * 60 + *mi) * 60'000'000'000 +
         static_cast<std::int64_t>(*se) * 1'000'000'000 + frac;
}

}  // namespace

std::string number_text(double value) {
  if (std::isfinite(value) && std::trunc(value) == value && std::abs(value) < 9.2e18) {
    return std::to_string(static_cast<std::int64_t>(value));
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return {buf, end};
}

struct Encoder::Cache {
  mutable std::shared_mutex mu;
  mutable std::map<std::tuple<std::string, int, double, double>, std::unique_ptr<ScalarEncoder>,
                   std::less<>>
      scalars;
};

Encoder::Encoder(const AtomMemory& atoms, EncoderOptions options)
    : atoms_(atoms), options_(options), cache_(std::make_unique<Cache>()) {}
Encoder::~Encoder() = default;

const Vector& Encoder::role(std::string_view path) const {
  return atoms_.atom("role:" + std::string(path));
}
const Vector& Encoder::string_filler(std::string_view text) const {
  return atoms_.atom("s:" + std::string(text));
}
const Vector& Encoder::number_filler(double value) const {
  return atoms_.atom("n:" + number_text(value));
}

const ScalarEncoder& Encoder::scalar(std::string_view path, ScalarEncoder::Kind kind, double lo,
                                     double hi) const {
  auto key = std::make_tuple(std::string(path), static_cast<int>(kind), lo, hi);
  {
    std::shared_lock lock(cache_->mu);
    auto it = cache_->scalars.find(key);
    if (it != cache_->scalars.end()) return *it->second;
  }
  const std::string name = "scalar:" + std::string(path);
  const std::uint64_t seed = atoms_.seed();
  const std::size_t dim = atoms_.dim();
  // The arguments were checked by the caller; a bad range falls back to [0, 1].
  auto make = [&]() -> Result<ScalarEncoder> {
    switch (kind) {
      case ScalarEncoder::Kind::kLog:
        return ScalarEncoder::log(seed, name, lo, hi, dim);
      case ScalarEncoder::Kind::kCircular:
        return ScalarEncoder::circular(seed, name, hi, dim);
      case ScalarEncoder::Kind::kThermometer:
        return ScalarEncoder::thermometer(lo, hi, dim);
      case ScalarEncoder::Kind::kLinear:
        break;
    }
    return ScalarEncoder::linear(seed, name, lo, hi, dim);
  };
  auto made = make();
  auto e = std::make_unique<ScalarEncoder>(
      made ? std::move(*made) : ScalarEncoder::linear(seed, name, 0, 1, dim).value());
  std::unique_lock lock(cache_->mu);
  auto [it, inserted] = cache_->scalars.try_emplace(std::move(key), std::move(e));
  return *it->second;
}

// ---------------------------------------------------------------------------------------------

struct Walker::State {
  const Encoder& enc;
  std::vector<std::int32_t> sums;
  std::string prefix;
  std::vector<std::size_t> marks;
  Vector tmp;
  Vector tmp2;
  Status error = ok_status();

  explicit State(const Encoder& e)
      : enc(e),
        sums(Vector(e.atoms().dim()).padded(), 0),
        tmp(e.atoms().dim()),
        tmp2(e.atoms().dim()) {}

  [[nodiscard]] std::string path(std::string_view name) const {
    return prefix.empty() ? std::string(name) : prefix + "." + std::string(name);
  }
  void add(const Vector& role, const Vector& filler) {
    kernel::accumulate_product(role.raw(), filler.raw(), sums.data(), sums.size());
  }
  void leaf(std::string_view name, const Vector& filler) { add(enc.role(path(name)), filler); }

  void list(std::string_view name, const std::vector<const Vector*>& items) {
    if (items.empty()) return;
    const Vector& role = enc.role(path(name));
    const auto n = items.size();
    switch (enc.options().lists) {
      case ListMode::kPositional:
        for (std::size_t i = 0; i < n; ++i) {
          kernel::mul(enc.atoms().position(i).raw(), items[i]->raw(), tmp.raw(), tmp.padded());
          add(role, tmp);
        }
        break;
      case ListMode::kBundle:
        for (const Vector* item : items) add(role, *item);
        break;
      case ListMode::kChained: {
        tmp = *items[0];
        add(role, tmp);
        for (std::size_t i = 1; i < n; ++i) {
          tmp2 = permute(tmp, 1);
          kernel::mul(tmp2.raw(), items[i]->raw(), tmp.raw(), tmp.padded());
          add(role, tmp);
        }
        break;
      }
      case ListMode::kNgram: {
        const std::size_t g = std::max<std::size_t>(1, std::min(enc.options().ngram, n));
        for (std::size_t j = 0; j + g <= n; ++j) {
          tmp = *items[j];
          for (std::size_t k = 1; k < g; ++k) {
            tmp2 = permute(*items[j + k], static_cast<std::int64_t>(k));
            Vector gram(tmp.dim());  // the kernel's output must not overlap its inputs
            kernel::mul(tmp.raw(), tmp2.raw(), gram.raw(), tmp.padded());
            tmp = std::move(gram);
          }
          add(role, tmp);
        }
        break;
      }
    }
  }
};

Walker::Walker(const Encoder& encoder) : state_(std::make_unique<State>(encoder)) {}
Walker::~Walker() = default;

void Walker::enter(std::string_view name) {
  state_->marks.push_back(state_->prefix.size());
  state_->prefix = state_->path(name);
}
void Walker::leave() {
  state_->prefix.resize(state_->marks.back());
  state_->marks.pop_back();
}

void Walker::field(std::string_view name, std::string_view text) {
  state_->leaf(name, state_->enc.string_filler(text));
}
void Walker::field(std::string_view name, std::int64_t value) {
  state_->leaf(name, state_->enc.atoms().atom("n:" + std::to_string(value)));
}
void Walker::field(std::string_view name, double value) {
  state_->leaf(name, state_->enc.number_filler(value));
}
void Walker::field(std::string_view name, bool value) {
  state_->leaf(name, state_->enc.atoms().atom(value ? "b:true" : "b:false"));
}
void Walker::null_field(std::string_view name) {
  state_->leaf(name, state_->enc.atoms().atom("null"));
}
void Walker::field(std::string_view name, const Linear& v) {
  const auto& e = state_->enc.scalar(state_->path(name), ScalarEncoder::Kind::kLinear, v.lo, v.hi);
  state_->leaf(name, e.encode(v.value));
}
void Walker::field(std::string_view name, const Log& v) {
  const auto& e = state_->enc.scalar(state_->path(name), ScalarEncoder::Kind::kLog, v.lo, v.hi);
  state_->leaf(name, e.encode(v.value));
}
void Walker::field(std::string_view name, const Time& v) {
  const std::string p = state_->path(name);
  const auto& day = state_->enc.scalar(p + "#day", ScalarEncoder::Kind::kCircular, 0, 1);
  const auto& week = state_->enc.scalar(p + "#week", ScalarEncoder::Kind::kCircular, 0, 1);
  const auto frac = [](std::int64_t ns, std::int64_t period) {
    const std::int64_t r = ((ns % period) + period) % period;
    return static_cast<double>(r) / static_cast<double>(period);
  };
  state_->leaf(name, day.encode(frac(v.ns, kDayNs)));
  state_->leaf(name, week.encode(frac(v.ns, kWeekNs)));
}
void Walker::list(std::string_view name, std::span<const std::string> items) {
  std::vector<const Vector*> fillers;
  for (const auto& s : items) fillers.push_back(&state_->enc.string_filler(s));
  state_->list(name, fillers);
}
void Walker::list(std::string_view name, std::span<const std::int64_t> items) {
  std::vector<const Vector*> fillers;
  for (auto n : items) fillers.push_back(&state_->enc.atoms().atom("n:" + std::to_string(n)));
  state_->list(name, fillers);
}

Vector Encoder::finish(Walker& w) const {
  Vector out(atoms_.dim());
  kernel::sign(w.state_->sums.data(), out.raw(), w.state_->sums.size());
  return out;
}

// ---------------------------------------------------------------------------------------------

namespace {

using nlohmann::json;

// A JSON object seen as a Walkable, so the JSON path runs through the same Walker as C++ types.
struct JsonObject {
  const json* j;
  const Encoder* enc;
  std::string where;
  Status* status;
};
void walk(const JsonObject& o, Walker& w);

Result<double> marker_bound(const json& m, const char* key, double fallback,
                            const std::string& where) {
  if (!m.contains(key)) return fallback;
  if (!m[key].is_number()) return invalid_argument(where + "." + key + ": expected a number");
  return m[key].get<double>();
}

// Encodes a marker object ({"$log": x, ...}) and returns true, or returns false for an ordinary
// object.
Result<bool> walk_marker(const std::string& key, const json& v, Walker& w,
                         const std::string& where) {
  const bool lin = v.contains("$linear");
  const bool lg = v.contains("$log");
  const bool tm = v.contains("$time");
  if (!lin && !lg && !tm) return false;
  if (static_cast<int>(lin) + static_cast<int>(lg) + static_cast<int>(tm) > 1) {
    return invalid_argument(where + ": more than one marker");
  }
  for (const auto& item : v.items()) {
    const std::string& k = item.key();
    if (k != "$linear" && k != "$log" && k != "$time" && k != "lo" && k != "hi") {
      return invalid_argument(where + ": unknown key \"" + k + "\" in a marker object");
    }
  }
  if (tm) {
    const json& t = v["$time"];
    if (t.is_number_unsigned() && t.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      return invalid_argument(where + ".$time: beyond int64 nanoseconds");
    }
    if (t.is_number_integer()) {
      w.field(key, Time{t.get<std::int64_t>()});
    } else if (t.is_string()) {
      WITNESS_ASSIGN_OR_RETURN(auto ns, parse_utc(t.get<std::string>()));
      w.field(key, Time{ns});
    } else {
      return invalid_argument(where + ".$time: expected ns or an RFC 3339 string");
    }
    return true;
  }
  const json& x = v[lin ? "$linear" : "$log"];
  if (!x.is_number()) return invalid_argument(where + ": the marker's value is not a number");
  WITNESS_ASSIGN_OR_RETURN(double lo, marker_bound(v, "lo", lin ? 0.0 : 1.0, where));
  WITNESS_ASSIGN_OR_RETURN(double hi, marker_bound(v, "hi", lin ? 1.0 : 1e9, where));
  if (!(lo < hi) || (lg && !(lo > 0))) {
    return invalid_argument(where + ": bad range [" + number_text(lo) + ", " + number_text(hi) +
                            "]");
  }
  if (lin) {
    w.field(key, Linear{x.get<double>(), lo, hi});
  } else {
    w.field(key, Log{x.get<double>(), lo, hi});
  }
  return true;
}

// The filler atom of a leaf value, or nullptr for an object or array.
const Vector* leaf_filler(const json& v, const Encoder& enc) {
  const AtomMemory& atoms = enc.atoms();
  switch (v.type()) {
    case json::value_t::string:
      return &enc.string_filler(v.get_ref<const std::string&>());
    case json::value_t::boolean:
      return &atoms.atom(v.get<bool>() ? "b:true" : "b:false");
    case json::value_t::null:
      return &atoms.atom("null");
    case json::value_t::number_integer:
      return &atoms.atom("n:" + std::to_string(v.get<std::int64_t>()));
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return &enc.number_filler(v.get<double>());
    default:
      return nullptr;
  }
}

Status walk_value(const std::string& key, const json& v, Walker& w, const Encoder& enc,
                  const std::string& where, Status* status) {
  if (v.is_object()) {
    WITNESS_ASSIGN_OR_RETURN(bool marker, walk_marker(key, v, w, where));
    if (!marker) w.object(key, JsonObject{&v, &enc, where, status});
    return ok_status();
  }
  if (v.is_array()) {
    std::vector<const Vector*> fillers;
    bool objects = false;
    for (const json& item : v) {
      if (item.is_array()) return invalid_argument(where + ": nested arrays are not supported");
      if (item.is_object()) {
        objects = true;
      } else {
        fillers.push_back(leaf_filler(item, enc));
      }
    }
    if (objects && !fillers.empty()) {
      return invalid_argument(where + ": a list mixes objects and plain values");
    }
    if (!objects) {
      w.list(key, std::span<const Vector* const>(fillers));
      return ok_status();
    }
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string item_key = key + "[" + std::to_string(i) + "]";
      w.object(item_key, JsonObject{&v[i], &enc, where + "[" + std::to_string(i) + "]", status});
    }
    return ok_status();
  }
  // number_integer as int64 and number_unsigned within int64 take the integer path, like
  // Walker::field(name, std::int64_t).
  if (v.is_number_unsigned() &&
      v.get<std::uint64_t>() <=
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    w.field(key, static_cast<std::int64_t>(v.get<std::uint64_t>()));
    return ok_status();
  }
  if (v.is_number_integer() && !v.is_number_unsigned()) {
    w.field(key, v.get<std::int64_t>());
    return ok_status();
  }
  if (v.is_number()) {
    w.field(key, v.get<double>());
  } else if (v.is_string()) {
    w.field(key, std::string_view(v.get_ref<const std::string&>()));
  } else if (v.is_boolean()) {
    w.field(key, v.get<bool>());
  } else {
    w.null_field(key);
  }
  return ok_status();
}

void walk(const JsonObject& o, Walker& w) {
  for (const auto& item : o.j->items()) {
    if (!*o.status) return;
    const std::string where = o.where.empty() ? item.key() : o.where + "." + item.key();
    if (auto s = walk_value(item.key(), item.value(), w, *o.enc, where, o.status); !s) {
      *o.status = s;
      return;
    }
  }
}

}  // namespace

Result<Vector> Encoder::encode_json(std::string_view text) const {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return invalid_argument("encode: not valid JSON");
  if (!j.is_object()) return invalid_argument("encode: expected a JSON object");
  Status status = ok_status();
  Walker w(*this);
  walk(JsonObject{&j, this, "", &status}, w);
  if (!status) return status.error();
  return finish(w);
}

void Walker::list(std::string_view name, std::span<const Vector* const> fillers) {
  state_->list(name, std::vector<const Vector*>(fillers.begin(), fillers.end()));
}

Accumulator::Accumulator(std::size_t dim) : dim_(dim), sums_(dim, 0.0F) {}

Status Accumulator::add(const Vector& v, double weight) {
  if (v.dim() != dim_) {
    return invalid_argument("accumulator of dimension " + std::to_string(dim_) +
                            ": vector of dimension " + std::to_string(v.dim()));
  }
  const auto w = static_cast<float>(weight);
  const std::int8_t* p = v.raw();
  for (std::size_t i = 0; i < dim_; ++i) sums_[i] += w * static_cast<float>(p[i]);
  count_ += weight;
  return ok_status();
}

void Accumulator::decay(double factor) {
  const auto f = static_cast<float>(factor);
  for (float& s : sums_) s *= f;
  count_ *= factor;
}

Vector Accumulator::threshold() const {
  Vector out(dim_);
  auto c = out.components();
  for (std::size_t i = 0; i < dim_; ++i) {
    c[i] =
        static_cast<std::int8_t>(static_cast<int>(sums_[i] > 0) - static_cast<int>(sums_[i] < 0));
  }
  return out;
}

Result<double> Accumulator::cosine(const Vector& v) const {
  if (v.dim() != dim_) {
    return invalid_argument("accumulator of dimension " + std::to_string(dim_) +
                            ": vector of dimension " + std::to_string(v.dim()));
  }
  double dot = 0;
  double ns = 0;
  double nv = 0;
  const std::int8_t* p = v.raw();
  for (std::size_t i = 0; i < dim_; ++i) {
    dot += static_cast<double>(sums_[i]) * p[i];
    ns += static_cast<double>(sums_[i]) * sums_[i];
    nv += p[i] * p[i];
  }
  if (ns == 0 || nv == 0) return 0.0;
  return dot / std::sqrt(ns * nv);
}

}  // namespace witness::vsa
