// The traffic generator (SPEC 6.7): deterministic per seed, phases as declared, rates visible in
// the timestamps alone, labels only where asked for.
#include "witness/detect/traffic.hpp"

#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace detect = witness::detect;

namespace {
std::vector<detect::Packet> run(const std::string& name, std::uint64_t seed) {
  std::vector<detect::Packet> out;
  detect::generate(detect::scenario(name).value(), seed, 1'700'000'000'000'000'000,
                   [&](const detect::Packet& p) { out.push_back(p); });
  return out;
}
}  // namespace

TEST_CASE("the challenge timeline: phases, shares and rates", "[vsa][traffic]") {
  const auto packets = run("challenge", 42);
  REQUIRE(packets.size() == 300 + 15000 + 150 + 18000 + 150 + 15000 + 150);
  std::map<std::string, std::pair<std::size_t, std::size_t>> per_phase;  // packets, attacks
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> span;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    const auto& p = packets[i];
    if (i > 0) REQUIRE(p.ts > packets[i - 1].ts);
    auto& c = per_phase[p.phase];
    ++c.first;
    c.second += p.attack ? 1 : 0;
    auto [it, fresh] = span.try_emplace(p.phase, p.ts, p.ts);
    if (!fresh) it->second.second = p.ts;
  }
  CHECK(per_phase["warm-up"].second == 0);
  CHECK(per_phase["dns"].first == 15000);
  const double share = static_cast<double>(per_phase["syn"].second) / 18000.0;
  CHECK(share == Approx(0.95).margin(0.01));
  // Rates from timestamps: the normal phases near 200/s, the floods near 10000/s.
  auto rate = [&](const std::string& phase) {
    const auto [a, b] = span[phase];
    return static_cast<double>(per_phase[phase].first - 1) / (static_cast<double>(b - a) * 1e-9);
  };
  CHECK(rate("warm-up") == Approx(detect::kNormalRate).epsilon(0.15));
  CHECK(rate("ntp") == Approx(10000).epsilon(0.05));
  // The same seed gives the same packets; another seed others.
  const auto again = run("challenge", 42);
  CHECK(detect::to_json(again[20000], true) == detect::to_json(packets[20000], true));
  CHECK(detect::to_json(run("challenge", 43)[20000], true) !=
        detect::to_json(packets[20000], true));
}

TEST_CASE("every scenario generates, and labels can be left out", "[vsa][traffic]") {
  for (const auto& s : detect::scenarios()) {
    std::size_t n = 0;
    std::size_t attacks = 0;
    detect::generate(s, 1, 0, [&](const detect::Packet& p) {
      ++n;
      attacks += p.attack ? 1 : 0;
    });
    std::uint64_t want = 0;
    for (const auto& ph : s.phases) want += ph.packets;
    CHECK(n == want);
    CHECK(attacks > 0);
  }
  const auto p = run("pattern-only", 5).back();
  CHECK(detect::to_json(p, true).find("\"label\":{\"phase\":\"recovery\",\"attack\":false}") !=
        std::string::npos);
  CHECK(detect::to_json(p, false).find("label") == std::string::npos);
  auto bad = detect::scenario("nope");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("challenge"));
}
