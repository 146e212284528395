// The traffic generator (SPEC 6.7): deterministic per seed, phases as declared, rates visible in
// the timestamps alone, labels only where asked for.
#include "witness/detect/traffic.hpp"

#include <map>
#include <set>
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
    if (s.model != detect::TrafficModel::kUniform) continue;  // below
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

// The sessions model: connections, not independent packets.
TEST_CASE("sessions scenarios are connection-structured, in time order and seeded",
          "[vsa][traffic]") {
  for (const char* name : {"port-scan", "drift"}) {
    const auto s = detect::scenario(name).value();
    REQUIRE(s.model == detect::TrafficModel::kSessions);
    std::vector<detect::Packet> packets;
    detect::generate(s, 7, 0, [&](const detect::Packet& p) { packets.push_back(p); });
    REQUIRE(packets.size() > 100000);
    std::map<std::string, std::size_t> syn;     // "client:port>server:port" of each SYN
    std::map<std::string, std::size_t> synack;  // the same connection's SYN+ACK
    std::set<std::string> clients;
    std::set<std::string> services;
    std::size_t attacks = 0;
    for (std::size_t i = 0; i < packets.size(); ++i) {
      const auto& p = packets[i];
      if (i > 0) REQUIRE(p.ts >= packets[i - 1].ts);
      attacks += p.attack ? 1 : 0;
      if (p.attack) continue;
      const std::string a = p.src_ip + ":" + std::to_string(p.src_port);
      const std::string b = p.dst_ip + ":" + std::to_string(p.dst_port);
      if (p.flags == "S") {
        ++syn[a + ">" + b];
        clients.insert(p.src_ip);
        services.insert(p.proto + "/" + std::to_string(p.dst_port));
      }
      if (p.flags == "SA") ++synack[b + ">" + a];
    }
    // Every normal connection opened is answered (handshakes), by many clients, to several
    // services.
    std::size_t answered = 0;
    for (const auto& [k, n] : syn) answered += synack.count(k) != 0U ? 1U : 0U;
    CHECK(static_cast<double>(answered) > 0.99 * static_cast<double>(syn.size()));
    CHECK(clients.size() > 500);  // Zipf: a long tail of light users
    CHECK(services.size() >= 7);
    CHECK((std::string(name) == "drift" ? attacks == 0 : attacks > 100));
    if (std::string(name) == "drift") CHECK(services.count("tcp/8443") == 1);
  }
  // Seeded: the same packets again, others with another seed.
  const auto s = detect::scenario("dns-tunnel").value();
  auto nth = [&](std::uint64_t seed) {
    std::string out;
    std::size_t i = 0;
    detect::generate(s, seed, 0, [&](const detect::Packet& p) {
      if (i++ == 50000) out = detect::to_json(p, true);
    });
    return out;
  };
  CHECK(nth(3) == nth(3));
  CHECK(nth(3) != nth(4));
}

// The day curve: the busy hours carry several times the night's traffic.
TEST_CASE("the day scenario follows a working-day rate curve", "[vsa][traffic]") {
  const auto s = detect::scenario("day").value();
  std::vector<std::size_t> per_tenth(10, 0);
  detect::generate(s, 1, 0, [&](const detect::Packet& p) {
    const auto t = static_cast<std::size_t>(static_cast<double>(p.ts) / 1e9 / 60);
    if (t < 10) ++per_tenth[t];
  });
  // 24 h in 600 s: 00:00-02:24 is night, 09:36-12:00 the morning peak.
  CHECK(per_tenth[4] > 3 * per_tenth[0]);
}
