// The detector (SPEC 6.6): exact scalar similarity, familiarity against a scan over real vectors,
// conformal false-alarm budget on normal traffic, detection quality on the generated scenarios,
// determinism, labels never read, bad input, configuration round trip.
#include "witness/detect/detector.hpp"

#include <cmath>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <rapidcheck/catch.h>

#include "witness/detect/traffic.hpp"
#include "witness/vsa/atoms.hpp"
#include "witness/vsa/encoder.hpp"
#include "witness/vsa/ops.hpp"
#include "witness/vsa/scalar.hpp"

namespace vsa = witness::vsa;
namespace detect = witness::detect;

namespace {

struct Score {
  std::uint64_t attack = 0, normal = 0, tp = 0, fp = 0;  // NOLINT
  std::vector<detect::Alert> alerts;
  std::vector<detect::RecordVerdict> verdicts;
  [[nodiscard]] double recall() const {
    return static_cast<double>(tp) / static_cast<double>(attack);
  }
  [[nodiscard]] double fpr() const { return static_cast<double>(fp) / static_cast<double>(normal); }
};

Score run(const detect::Scenario& s, std::uint64_t seed, bool labels = true,
          detect::DetectorConfig config = {}) {
  auto d = detect::Detector::create(config);
  REQUIRE(d);
  Score out;
  detect::generate(s, seed, 1'795'338'000'000'000'000, [&](const detect::Packet& p) {
    auto v = d->observe(detect::to_json(p, labels));
    REQUIRE(v);
    if (!v->warming_up) {
      (p.attack ? out.attack : out.normal) += 1;
      if (v->anomalous) (p.attack ? out.tp : out.fp) += 1;
    }
    out.verdicts.push_back(*v);
    for (auto& a : d->take_alerts()) out.alerts.push_back(std::move(a));
  });
  for (auto& a : d->finish()) out.alerts.push_back(std::move(a));
  return out;
}

detect::Scenario named(const char* name) { return detect::scenario(name).value(); }

// The sum of the prefix atoms of a dotted string (the detector's string filler).
std::vector<std::int32_t> prefix_sum(std::uint64_t seed, const std::string& text) {
  std::vector<std::int32_t> sum(vsa::kDefaultDimension, 0);
  auto add = [&](const std::string& p) {
    const vsa::Vector a = vsa::make_atom(seed, "s:" + p);
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += a[i];
  };
  for (std::size_t i = 1; i < text.size(); ++i) {
    if (text[i] == '.') add(text.substr(0, i));
  }
  add(text);
  return sum;
}
double cosine(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b) {
  double d = 0, na = 0, nb = 0;  // NOLINT
  for (std::size_t i = 0; i < a.size(); ++i) {
    d += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  return d / std::sqrt(na * nb);
}

}  // namespace

TEST_CASE("ScalarEncoder::similarity is exactly the cosine of the two encodings") {
  const auto lin = vsa::ScalarEncoder::linear(3, "x", -50, 50).value();
  const auto lg = vsa::ScalarEncoder::log(3, "y", 1, 1e6).value();
  rc::prop("linear and log", [&] {
    const double x = *rc::gen::inRange(-60000, 60000) / 1000.0;
    const double y = *rc::gen::inRange(-60000, 60000) / 1000.0;
    RC_ASSERT(std::abs(lin.similarity(x, y) - vsa::cosine(lin.encode(x), lin.encode(y)).value()) <
              1e-12);
    const double a = std::exp(*rc::gen::inRange(0, 15000) / 1000.0);
    const double b = std::exp(*rc::gen::inRange(0, 15000) / 1000.0);
    RC_ASSERT(std::abs(lg.similarity(a, b) - vsa::cosine(lg.encode(a), lg.encode(b)).value()) <
              1e-12);
  });
  CHECK(lin.similarity(7, 7) == Approx(1.0));
  const auto circ = vsa::ScalarEncoder::circular(3, "h", 24).value();
  CHECK(circ.similarity(1, 23) == Approx(vsa::cosine(circ.encode(1), circ.encode(23)).value()));
}

TEST_CASE("familiarity agrees with a cleanup scan over the real filler vectors") {
  detect::DetectorConfig config;
  config.warmup = 40;
  config.alpha = 0.05;
  auto d = detect::Detector::create(config).value();
  std::vector<std::string> seen;
  std::vector<double> sizes;
  for (int i = 0; i < 40; ++i) {
    const std::string ip = "10.0." + std::to_string(i % 4) + "." + std::to_string(1 + i % 13);
    const double size = 100.0 + 37.0 * i;
    seen.push_back(ip);
    sizes.push_back(size);
    REQUIRE(d.observe(R"({"ts":)" + std::to_string(1000 * i) + R"(,"ip":")" + ip + R"(","size":)" +
                      vsa::number_text(size) + "}"));
  }
  // Strings: the cosine with the nearest seen filler, over real vectors.
  for (const std::string probe : {"10.0.3.99", "10.0.9.1", "10.7.7.7", "203.0.113.5", "10.0.1.2"}) {
    double best = -1;
    const auto p = prefix_sum(config.seed, probe);
    for (const auto& s : seen) best = std::max(best, cosine(p, prefix_sum(config.seed, s)));
    const double fam = d.familiarity("ip", "\"" + probe + "\"").value();
    INFO(probe << ": scan " << best << ", detector " << fam);
    CHECK(std::abs(fam - best) < 0.05);
  }
  // Numbers: the best similarity over every seen value, with the encoder the detector documents.
  const auto enc =
      vsa::ScalarEncoder::log(config.seed, "detector:size", 100.0 / 8, (100.0 + 37 * 39) * 8)
          .value();
  for (double probe : {50.0, 120.0, 555.0, 1543.0, 2000.0, 90000.0}) {
    double best = 0;
    for (double s : sizes) best = std::max(best, enc.similarity(probe, s));
    CHECK(d.familiarity("size", vsa::number_text(probe)).value() == Approx(best).margin(1e-12));
  }
  CHECK(d.familiarity("nope", "1").value() == 0.0);
  CHECK_FALSE(d.familiarity("ip", "{").has_value());
}

TEST_CASE("on normal traffic the share of anomalous verdicts stays near the budget alpha") {
  const detect::Scenario normal{"normal",
                                "",
                                {{"warm-up", 300, {}, 0, detect::kNormalRate, 0},
                                 {"normal", 20000, {}, 0, detect::kNormalRate, 0}}};
  for (std::uint64_t seed : {1U, 2U}) {
    const Score s = run(normal, seed);
    INFO("seed " << seed << ": " << s.fp << " of " << s.normal);
    CHECK(s.fpr() <= 0.03);
    // Alerts need a burst of anomalous records: rare on normal traffic.
    CHECK(s.alerts.size() <= 3);
  }
}

TEST_CASE("challenge: recall >= 99.9% and false-positive rate <= 4%, one alert per attack") {
  const Score s = run(named("challenge"), 1);
  INFO("recall " << s.recall() << " fpr " << s.fpr());
  CHECK(s.recall() >= 0.999);
  CHECK(s.fpr() <= 0.04);
  REQUIRE(s.alerts.size() >= 3);
  // The DNS flood's alert starts within a few records of the attack (record 300) and its
  // explanation leads with the unfamiliar source network, recovered by unbinding.
  const detect::Alert& dns = s.alerts.front();
  CHECK(dns.onset >= 300);
  CHECK(dns.onset < 320);
  CHECK(dns.offset >= 15'200);
  REQUIRE_FALSE(dns.explanation.empty());
  CHECK(dns.explanation.front().field == "src_ip");
  CHECK(dns.explanation.front().value == "203.0.*");
  CHECK(dns.explanation.front().novelty > 0.9);
  CHECK(dns.peak_rate_ratio > 10);
}

TEST_CASE("the harder scenarios: rates from timestamps, attacks at the normal rate") {
  for (const char* name : {"icmp-flood", "ramp", "low-and-slow", "mixed", "pattern-only"}) {
    const Score s = run(named(name), 1);
    INFO(name << ": recall " << s.recall() << " fpr " << s.fpr());
    CHECK(s.recall() >= 0.99);
    CHECK(s.fpr() <= 0.04);
    CHECK_FALSE(s.alerts.empty());
  }
  // pattern-only is caught by content alone: its flags value was never seen.
  const Score p = run(named("pattern-only"), 2);
  REQUIRE_FALSE(p.alerts.empty());
  bool flags = false;
  for (const auto& f : p.alerts.front().explanation)
    flags |= f.field == "flags" && f.value == "FPU";
  CHECK(flags);
}

TEST_CASE("runs are deterministic, and the labels are never read") {
  const detect::Scenario s = named("low-and-slow");
  const Score a = run(s, 5, true);
  const Score b = run(s, 5, true);
  const Score c = run(s, 5, false);
  REQUIRE(a.alerts.size() == b.alerts.size());
  REQUIRE(a.alerts.size() == c.alerts.size());
  for (std::size_t i = 0; i < a.alerts.size(); ++i) {
    CHECK(a.alerts[i].to_json() == b.alerts[i].to_json());
    CHECK(a.alerts[i].to_json() == c.alerts[i].to_json());
  }
  REQUIRE(a.verdicts.size() == c.verdicts.size());
  for (std::size_t i = 0; i < a.verdicts.size(); ++i) {
    CHECK(a.verdicts[i].novelty == c.verdicts[i].novelty);
    CHECK(a.verdicts[i].anomalous == c.verdicts[i].anomalous);
  }
}

TEST_CASE("a content-normal flood opens an alert by rate") {
  // Normal packets at 50x the rate: nothing unfamiliar, only the timestamps tell.
  const detect::Scenario s{"fast",
                           "",
                           {{"warm-up", 300, {}, 0, detect::kNormalRate, 0},
                            {"burst", 5000, {}, 0, 50 * detect::kNormalRate, 0},
                            {"calm", 500, {}, 0, detect::kNormalRate, 0}}};
  const Score r = run(s, 3);
  bool by_rate = false;
  for (const auto& a : r.alerts) {
    by_rate |=
        a.trigger.find("rate") != std::string::npos && a.onset < 400 && a.peak_rate_ratio > 20;
  }
  CHECK(by_rate);
}

TEST_CASE("bad records are errors that change nothing") {
  auto d = detect::Detector::create({}).value();
  CHECK(d.observe(R"({"ts":1,"a":"x"})"));
  const auto n = d.records();
  auto bad = d.observe("[1,2]");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("not a JSON object") != std::string::npos);
  bad = d.observe(R"({"a":"x"})");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("\"ts\"") != std::string::npos);
  CHECK_FALSE(d.observe(R"({"ts":"soon"})"));
  CHECK_FALSE(d.observe("{\"ts\":1,"));
  CHECK_FALSE(d.observe(R"({"ts":1e300})"));
  CHECK_FALSE(d.observe(R"({"ts":1,"a":1,"a":2})"));  // duplicate key
  CHECK_FALSE(d.observe(R"({"ts":1} trailing)"));
  CHECK(d.records() == n);
  CHECK_FALSE(d.familiarity("a", "\"x\"").has_value());  // still warming up
  CHECK(d.finish().empty());
}

TEST_CASE("detector configuration: validation and a JSON round trip") {
  detect::DetectorConfig c;
  CHECK(c.validate());
  c.alpha = 0.001;  // below 1 / 301
  auto v = c.validate();
  REQUIRE_FALSE(v);
  CHECK(v.error().message.find("alpha") != std::string::npos);
  CHECK_FALSE(detect::DetectorConfig::from_json(R"({"warmup":1})"));
  detect::DetectorConfig big;
  big.seed = (std::uint64_t{1} << 53U) + 1;
  CHECK_FALSE(big.validate());
  CHECK_FALSE(detect::DetectorConfig::from_json(R"({"colour":"red"})"));
  CHECK_FALSE(detect::DetectorConfig::from_json(R"({"alpha":"high"})"));
  CHECK_FALSE(detect::Detector::create(c).has_value());
  rc::prop("to_json then from_json gives the same configuration", [] {
    detect::DetectorConfig a;
    a.seed = *rc::gen::inRange<std::uint64_t>(0, std::uint64_t{1} << 53U);
    a.warmup = *rc::gen::inRange<std::size_t>(100, 5000);
    a.alpha = *rc::gen::inRange(10, 1000) / 1000.0;
    a.smooth = *rc::gen::inRange<std::size_t>(1, 100);
    a.ignore = {"label", *rc::gen::element<std::string>("x", "meta.id")};
    const auto b = detect::DetectorConfig::from_json(a.to_json());
    RC_ASSERT(b.has_value());
    RC_ASSERT(b->to_json() == a.to_json());
    RC_ASSERT(b->seed == a.seed);
  });
}
