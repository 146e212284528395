// The detector, version 2 (SPEC 6.6, issue 17): one test per diagnosed cause of version 1's
// failure on connection-structured traffic, (a) to (e), each failing on version 1; the
// scenarios' targets; symbols against real hypervectors; determinism; labels never read; bad
// input; configuration round trip. Sessions scenarios are long (300-900 s of traffic, about
// 1,400 packets/s): the tests share one run per scenario.
#include "witness/detect/detector.hpp"

#include <cmath>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <rapidcheck/catch.h>

#include "witness/detect/traffic.hpp"
#include "witness/vsa/ops.hpp"
#include "witness/vsa/scalar.hpp"

namespace vsa = witness::vsa;
namespace detect = witness::detect;

namespace {

struct Score {
  std::map<std::string, std::uint64_t> attack, normal, tp, fp;  // NOLINT: per phase
  std::vector<detect::Alert> alerts;
  std::vector<std::pair<std::int64_t, std::int64_t>> attack_span;  // first, last attack ts
  std::int64_t first_ts = 0;
  [[nodiscard]] static double ratio(std::uint64_t a, std::uint64_t b) {
    return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
  }
  [[nodiscard]] double recall() const { return ratio(sum(tp), sum(attack)); }
  [[nodiscard]] double fpr() const { return ratio(sum(fp), sum(normal)); }
  // Normal records of phases without attacks (before and after them).
  [[nodiscard]] double fpr_outside() const {
    std::uint64_t f = 0, n = 0;  // NOLINT
    for (const auto& [phase, k] : normal) {
      if (attack.count(phase) != 0U && attack.at(phase) > 0) continue;
      n += k;
      f += fp.count(phase) != 0U ? fp.at(phase) : 0;
    }
    return ratio(f, n);
  }
  static std::uint64_t sum(const std::map<std::string, std::uint64_t>& m) {
    std::uint64_t s = 0;
    for (const auto& [k, v] : m) s += v;
    return s;
  }
};

Score run(const detect::Scenario& s, std::uint64_t seed, detect::DetectorConfig config = {},
          bool json = false) {
  auto d = detect::Detector::create(config);
  REQUIRE(d);
  Score out;
  std::int64_t a0 = 0, a1 = 0;  // NOLINT
  detect::generate(s, seed, 1'795'338'000'000'000'000, [&](const detect::Packet& p) {
    const auto v = json ? d->observe(detect::to_json(p, true)).value() : d->observe(p);
    if (out.first_ts == 0) out.first_ts = p.ts;
    if (p.attack) {
      if (a0 == 0) a0 = p.ts;
      a1 = p.ts;
    }
    if (!v.warming_up) {
      (p.attack ? out.attack : out.normal)[p.phase] += 1;
      if (v.flagged) (p.attack ? out.tp : out.fp)[p.phase] += 1;
    }
    for (auto& a : d->take_alerts()) out.alerts.push_back(std::move(a));
  });
  for (auto& a : d->finish()) out.alerts.push_back(std::move(a));
  out.attack_span.emplace_back(a0, a1);
  return out;
}

detect::Scenario named(const char* name) { return detect::scenario(name).value(); }

// One run per sessions scenario (seed 1), shared by the tests.
const Score& sessions(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, Score> runs;
  const std::lock_guard lock(mu);
  auto it = runs.find(name);
  if (it == runs.end()) it = runs.emplace(name, run(named(name.c_str()), 1)).first;
  return it->second;
}

// Alerts that overlap the attack's time span.
std::vector<const detect::Alert*> over_attack(const Score& s) {
  std::vector<const detect::Alert*> out;
  const auto [a0, a1] = s.attack_span.front();
  for (const auto& a : s.alerts) {
    if (a.onset_ts <= a1 && a.offset_ts >= a0) out.push_back(&a);
  }
  return out;
}

bool names(const detect::Alert& a, const std::string& field, const std::string& value) {
  for (const auto& e : a.explanation) {
    if (e.field == field && e.value.rfind(value, 0) == 0) return true;
  }
  return false;
}

// The uniform challenge is a record-count timeline: its warm-up is 300 records, not seconds.
detect::DetectorConfig by_records() {
  detect::DetectorConfig c;
  c.warmup_s = 0;
  return c;
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

TEST_CASE(
    "(a) a warm-up over time calibrates: normal connection-structured traffic stays within "
    "budget") {
  // Version 1 learnt 300 records (1-2 s, 30 connections) and flagged 17-77% of normal records.
  for (const char* name : {"port-scan", "day"}) {
    const Score& s = sessions(name);
    INFO(name << ": false-positive rate outside attacks " << s.fpr_outside());
    CHECK(s.fpr_outside() <= 0.02);
  }
  // A working day: quiet nights, busy mornings, at most a few false alerts in 600 s.
  CHECK(sessions("day").alerts.size() <= 4);
}

TEST_CASE("(b) rates per key and window survive bursts: no rate alert on normal traffic") {
  // Version 1's 16-record moving rate fired on every page load's burst of connections.
  for (const char* name : {"day", "drift"}) {
    for (const auto& a : sessions(name).alerts) {
      INFO(name << ": alert " << a.to_json());
      CHECK(a.trigger == "content");
    }
  }
}

TEST_CASE("(c) ports are categorical: a slow scan of unfamiliar ports is found") {
  // Version 1 log-scaled ports (3389 sat next to 3306): port-scan recall 0-1%.
  const Score& s = sessions("port-scan");
  INFO("recall " << s.recall());
  CHECK(s.recall() >= 0.95);
  const auto alerts = over_attack(s);
  REQUIRE(alerts.size() == 1);
  // The scanner (a familiar client address) is what the alert names.
  CHECK(names(*alerts.front(), "client", "10.20."));
}

TEST_CASE(
    "(d) joint features: a DNS tunnel's large queries are novel though each field is "
    "familiar") {
  // Version 1 scored fields independently: the 280-byte queries were flagged 0%.
  const Score& s = sessions("dns-tunnel");
  INFO("recall " << s.recall());
  CHECK(s.recall() >= 0.95);
  const auto alerts = over_attack(s);
  REQUIRE_FALSE(alerts.empty());
  bool size_at_dns = false;
  for (const auto& e : alerts.front()->explanation) {
    size_at_dns |= e.field == "service×size" && e.value.rfind("udp/53 × ", 0) == 0;
  }
  CHECK((size_at_dns || names(*alerts.front(), "client", "10.20.")));
}

TEST_CASE("(e) an alert opens and closes with its attack and is explained by contrast") {
  // Version 1's alerts ran from normal traffic through the attack into recovery, explained by
  // their first records ("src_ip = 10.20.*").
  struct Case {
    const char* scenario;
    const char* field;
    const char* value;
  };
  for (const Case& c :
       {Case{"web-flood", "server", "10.30.0.13"}, Case{"slowloris", "client", "10.20."},
        Case{"carpet-bomb", "client", "10.30."}}) {
    const Score& s = sessions(c.scenario);
    const auto alerts = over_attack(s);
    INFO(c.scenario);
    REQUIRE_FALSE(alerts.empty());
    const detect::Alert& a = *alerts.front();
    const auto [a0, a1] = s.attack_span.front();
    INFO(a.to_json());
    CHECK(a.onset_ts - a0 <= 5'000'000'000);    // detected within 5 s
    CHECK(a.offset_ts - a1 <= 10'000'000'000);  // and over within 10 s of the last attack packet
    CHECK(a.onset_ts >= a0 - 1'000'000'000);    // not opened by the normal traffic before it
    CHECK(names(a, c.field, c.value));
  }
}

TEST_CASE("every sessions attack meets the recall target; benign drift does not alarm") {
  for (const char* name : {"web-flood", "port-scan", "dns-tunnel", "slowloris", "carpet-bomb"}) {
    const Score& s = sessions(name);
    INFO(name << ": recall " << s.recall() << ", FPR " << s.fpr() << " (outside attacks "
              << s.fpr_outside() << ")");
    CHECK(s.recall() >= 0.95);
    CHECK(s.fpr_outside() <= 0.02);
    CHECK(s.fpr() <= 0.02);  // over every normal record after the warm-up, the attack's too
  }
  const Score& d = sessions("drift");
  INFO("drift: FPR " << d.fpr());
  CHECK(d.fpr() <= 0.02);
  for (const auto& a : d.alerts) CHECK(a.trigger != "rate");  // a doubled load is no flood
}

TEST_CASE("a flood from many addresses flags its connections, not the service's users") {
  // The HTTP flood comes from addresses across the normal client range, to the web server
  // users keep loading pages from. A server's key flags only clients not busy elsewhere (a
  // user looks the name up, loads from other servers; a flood's connections come alone):
  // flagging every record to the victim flagged 14% of the normal records sent meanwhile.
  const Score& s = sessions("web-flood");
  const double inside = Score::ratio(s.fp.at("web-flood"), s.normal.at("web-flood"));
  INFO("normal records flagged during the flood: " << inside);
  CHECK(inside <= 0.02);
  CHECK(Score::ratio(s.tp.at("web-flood"), s.attack.at("web-flood")) >= 0.95);
}

namespace {

// A sessions timeline built here: the model's 120 s warm-up and 60 s of normal traffic, then
// the given phases.
detect::Scenario timeline(std::vector<detect::Phase> phases) {
  detect::Scenario s{.name = "test", .model = detect::TrafficModel::kSessions};
  s.phases = {{.name = "warm-up", .rate = 1, .seconds = 120},
              {.name = "normal", .rate = 1, .seconds = 60}};
  for (auto& p : phases) s.phases.push_back(std::move(p));
  return s;
}

}  // namespace

TEST_CASE("the baseline is guarded: an attack does not teach itself") {
  // A flood's records are held from the baseline while it is hot, and hot windows teach the
  // rates nothing: the same flood again, after a pause, is found as the first was.
  const Score twice = run(timeline({{.name = "flood-1",
                                     .attacks = {"http-flood"},
                                     .rate = 1,
                                     .seconds = 40,
                                     .attack_rate = 150},
                                    {.name = "pause", .rate = 1, .seconds = 30},
                                    {.name = "flood-2",
                                     .attacks = {"http-flood"},
                                     .rate = 1,
                                     .seconds = 40,
                                     .attack_rate = 150},
                                    {.name = "after", .rate = 1, .seconds = 20}}),
                          1);
  const double first = Score::ratio(twice.tp.at("flood-1"), twice.attack.at("flood-1"));
  const double second = Score::ratio(twice.tp.at("flood-2"), twice.attack.at("flood-2"));
  INFO("recall: first flood " << first << ", second " << second);
  CHECK(first >= 0.95);
  CHECK(second >= 0.95);
  CHECK(second >= first - 0.02);

  // One client's scan or tunnel for four minutes: its values come from one source, so the
  // spread rule never makes them familiar; the last minute is found as the first was.
  for (const char* kind : {"port-scan", "dns-tunnel"}) {
    const double rate = std::string(kind) == "port-scan" ? 3 : 10;
    auto d = detect::Detector::create({});
    REQUIRE(d);
    std::int64_t a0 = 0;
    std::uint64_t early = 0, early_tp = 0, late = 0, late_tp = 0;  // NOLINT
    detect::generate(
        timeline(
            {{.name = "long", .attacks = {kind}, .rate = 1, .seconds = 240, .attack_rate = rate},
             {.name = "after", .rate = 1, .seconds = 10}}),
        1, 1'795'338'000'000'000'000, [&](const detect::Packet& p) {
          const auto v = d->observe(p);
          if (!p.attack) return;
          if (a0 == 0) a0 = p.ts;
          const std::int64_t into = p.ts - a0;
          if (into < 60'000'000'000) {
            ++early;
            early_tp += v.flagged ? 1 : 0;
          } else if (into >= 180'000'000'000) {
            ++late;
            late_tp += v.flagged ? 1 : 0;
          }
        });
    const double r0 = Score::ratio(early_tp, early);
    const double r1 = Score::ratio(late_tp, late);
    INFO(kind << ": recall in the first minute " << r0 << ", in the fourth " << r1);
    CHECK(late > 100);
    CHECK(r0 >= 0.95);
    CHECK(r1 >= 0.95);
  }
}

TEST_CASE("the heavy-hitter table keeps the busiest keys") {
  // A carpet of reflected answers from random addresses makes thousands of rate keys; beyond
  // max_keys the quietest go. (It once dropped a random half of the busiest: after the
  // carpet, 0.9% of the recovery's normal records were flagged, against 0.03%.)
  const Score& s = sessions("carpet-bomb");
  const double recovery =
      Score::ratio(s.fp.count("recovery") != 0U ? s.fp.at("recovery") : 0, s.normal.at("recovery"));
  INFO("recovery FPR " << recovery);
  CHECK(recovery <= 0.005);
}

TEST_CASE("challenge: recall >= 99.9% and false-positive rate <= 4%") {
  // A second flood follows the first with the alert still open: its keys are hot from half
  // the floor's count when their last milliseconds run far above the line, and join the
  // signature at once (their heat starts from their window's count, not from one record, so
  // the first flood's fading heat does not hold them out for 150 records).
  const Score s = run(named("challenge"), 1, by_records());
  INFO("recall " << s.recall() << " fpr " << s.fpr());
  CHECK(s.recall() >= 0.999);
  CHECK(s.fpr() <= 0.04);
  REQUIRE_FALSE(s.alerts.empty());
  // The DNS flood's alert opens within a few records of it and names the victim.
  const detect::Alert& a = s.alerts.front();
  CHECK(a.onset >= 300);
  CHECK(a.onset < 340);
  CHECK(names(a, "client", "10.1.0.5"));
}

TEST_CASE("symbols are role-filler bindings: the table's keys and the hypervectors agree") {
  auto d = detect::Detector::create(by_records()).value();
  for (int i = 0; i < 400; ++i) {
    REQUIRE(d.observe(R"({"ts":)" + std::to_string(1'000'000 * i) + R"(,"kind":")" +
                      (i % 2 == 0 ? "alpha" : "beta") + R"(","size":)" +
                      std::to_string(100 + i % 7) + "}"));
  }
  CHECK(d.familiarity("kind", "\"alpha\"").value() == 1.0);
  CHECK(d.familiarity("kind", "\"gamma\"").value() == 0.0);
  CHECK(d.familiarity("size", "104").value() == 1.0);
  CHECK(d.familiarity("size", "90000").value() == 0.0);
  // bind(role, filler): the same binding is the same vector, another filler or role nearly
  // orthogonal, and unbinding the role recovers the filler (cleanup against the codebook).
  const auto a = d.symbol_vector("kind", "\"alpha\"").value();
  CHECK(vsa::cosine(a, d.symbol_vector("kind", "\"alpha\"").value()).value() == Approx(1.0));
  CHECK(std::abs(vsa::cosine(a, d.symbol_vector("kind", "\"beta\"").value()).value()) < 0.1);
  CHECK(std::abs(vsa::cosine(a, d.symbol_vector("other", "\"alpha\"").value()).value()) < 0.1);
  // Numbers bind their bucket: 104 and 105 share one, 90000 does not.
  CHECK(vsa::cosine(d.symbol_vector("size", "104").value(), d.symbol_vector("size", "105").value())
            .value() == Approx(1.0));
  CHECK(std::abs(vsa::cosine(d.symbol_vector("size", "104").value(),
                             d.symbol_vector("size", "90000").value())
                     .value()) < 0.1);
  CHECK(d.symbols() > 0);
}

TEST_CASE("packets and their JSON lines give the same verdicts and alerts") {
  const detect::Scenario s = named("slowloris");
  const Score a = run(s, 2, {}, false);
  const Score b = run(s, 2, {}, true);
  REQUIRE(a.alerts.size() == b.alerts.size());
  for (std::size_t i = 0; i < a.alerts.size(); ++i) {
    CHECK(a.alerts[i].to_json() == b.alerts[i].to_json());
  }
  CHECK(a.tp == b.tp);
  CHECK(a.fp == b.fp);
}

TEST_CASE("runs are deterministic, and the labels are never read") {
  const detect::Scenario s = named("low-and-slow");
  auto once = [&](bool labels) {
    auto d = detect::Detector::create(by_records()).value();
    std::vector<std::string> out;
    detect::generate(s, 5, 1'795'338'000'000'000'000, [&](const detect::Packet& p) {
      const auto v = d.observe(detect::to_json(p, labels)).value();
      out.push_back(std::to_string(v.novelty) + (v.flagged ? "!" : "."));
    });
    for (const auto& a : d.finish()) out.push_back(a.to_json());
    return out;
  };
  const auto a = once(true);
  CHECK(a == once(true));
  CHECK(a == once(false));
}

TEST_CASE("the ground truth is handed back, not read") {
  auto d = detect::Detector::create({}).value();
  detect::GroundTruth t;
  REQUIRE(d.observe(R"({"ts":1,"a":"x","label":{"phase":"p1","attack":true}})", &t));
  CHECK(t.present());
  CHECK(t.phase == "p1");
  CHECK(t.attack);
  // The slow path (escapes) reads it too.
  REQUIRE(d.observe(R"({"ts":2,"a":"x\ny","label":{"phase":"p2","attack":false}})", &t));
  CHECK(t.present());
  CHECK(t.phase == "p2");
  CHECK_FALSE(t.attack);
  REQUIRE(d.observe(R"({"ts":3,"a":"x"})", &t));
  CHECK_FALSE(t.present());
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
  CHECK_FALSE(d.familiarity("a", "{").has_value());
  CHECK(d.finish().empty());
}

TEST_CASE("detector configuration: validation and a JSON round trip") {
  detect::DetectorConfig c;
  CHECK(c.validate());
  c.alpha = 0.001;  // below 1 / (300 / 2 + 1)
  auto v = c.validate();
  REQUIRE_FALSE(v);
  CHECK(v.error().message.find("alpha") != std::string::npos);
  CHECK_FALSE(detect::DetectorConfig::from_json(R"({"warmup":1})"));
  detect::DetectorConfig big;
  big.seed = (std::uint64_t{1} << 53U) + 1;
  CHECK_FALSE(big.validate());
  CHECK_FALSE(detect::DetectorConfig::from_json(R"({"colour":"red"})"));
  CHECK_FALSE(detect::DetectorConfig::from_json(R"({"alpha":"high"})"));
  CHECK_FALSE(detect::DetectorConfig::from_json(R"({"service_fields":["proto"]})"));
  CHECK_FALSE(detect::DetectorConfig::from_json(R"({"window_s":0})"));
  CHECK_FALSE(detect::DetectorConfig::from_json(R"({"min_sources":0})"));
  CHECK_FALSE(detect::Detector::create(c).has_value());
  rc::prop("to_json then from_json gives the same configuration", [] {
    detect::DetectorConfig a;
    a.seed = *rc::gen::inRange<std::uint64_t>(0, std::uint64_t{1} << 53U);
    a.warmup = *rc::gen::inRange<std::size_t>(300, 5000);
    a.alpha = *rc::gen::inRange(10, 1000) / 1000.0;
    a.warmup_s = *rc::gen::inRange(0, 600);
    a.half_life_s = *rc::gen::inRange(1, 5000);
    a.min_sources = *rc::gen::inRange<std::size_t>(1, 64);
    a.rate_on = 1 + *rc::gen::inRange(1, 100) / 10.0;
    a.service_fields = *rc::gen::element(std::vector<std::string>{},
                                         std::vector<std::string>{"p", "a", "b", "c", "d"});
    a.ignore = {"label", *rc::gen::element<std::string>("x", "meta.id")};
    const auto b = detect::DetectorConfig::from_json(a.to_json());
    RC_ASSERT(b.has_value());
    RC_ASSERT(b->to_json() == a.to_json());
    RC_ASSERT(b->seed == a.seed);
  });
}
