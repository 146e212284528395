#include "witness/detect/traffic.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "rng.hpp"

namespace witness::detect {

// sessions.cpp
void generate_sessions(const Scenario& s, std::uint64_t seed, std::int64_t start_ns,
                       const std::function<void(const Packet&)>& emit);

namespace {

// prefix + a.b, the two components drawn last first (the order the first stage's streams were
// made in: function arguments are unsequenced, and one compiler drew them right to left).
std::string ip(Rng& r, const char* prefix, std::int64_t lo_a, std::int64_t hi_a, std::int64_t lo_b,
               std::int64_t hi_b) {
  const std::int64_t b = r.between(lo_b, hi_b);
  const std::int64_t a = r.between(lo_a, hi_a);
  return std::string(prefix) + std::to_string(a) + "." + std::to_string(b);
}

constexpr const char* kVictim = "10.1.0.5";

Packet normal_packet(Rng& r) {
  Packet p;
  p.src_ip = ip(r, "10.0.", 0, 3, 1, 50);                   // 200 clients
  p.dst_ip = "10.1.0." + std::to_string(r.between(1, 10));  // 10 servers
  p.ttl = r.between(52, 64);
  switch (r.pick({80, 18, 2})) {
    case 0: {  // TCP
      p.proto = "tcp";
      p.src_port = r.between(32768, 60999);
      static constexpr std::int64_t kPorts[] = {443, 80, 22, 8080};
      p.dst_port = kPorts[r.pick({60, 25, 5, 10})];
      static constexpr const char* kFlags[] = {"S", "A", "PA", "FA"};
      const std::size_t f = r.pick({10, 50, 35, 5});
      p.flags = kFlags[f];
      p.size = f == 2 ? r.between(200, 1500) : r.between(40, 80);
      break;
    }
    case 1: {  // UDP: DNS queries and answers, NTP
      p.proto = "udp";
      switch (r.pick({60, 30, 10})) {
        case 0:
          p.src_port = r.between(32768, 60999);
          p.dst_port = 53;
          p.size = r.between(60, 120);
          break;
        case 1:
          p.src_port = 53;
          p.dst_port = r.between(32768, 60999);
          p.size = r.between(100, 500);
          break;
        default:
          p.src_port = 123;
          p.dst_port = 123;
          p.size = r.between(76, 90);
          break;
      }
      break;
    }
    default:  // ICMP echo
      p.proto = "icmp";
      p.size = r.between(64, 98);
      break;
  }
  return p;
}

Packet attack_packet(Rng& r, const std::string& kind) {
  Packet p;
  p.attack = true;
  p.dst_ip = kVictim;
  p.ttl = r.between(30, 250);
  if (kind == "dns") {  // amplified answers from many open resolvers
    p.proto = "udp";
    p.src_ip = ip(r, "203.0.", 0, 255, 1, 254);
    p.src_port = 53;
    p.dst_port = r.between(1024, 65535);
    p.size = r.between(1400, 4096);
  } else if (kind == "syn") {  // spoofed SYNs to the web port
    p.proto = "tcp";
    p.src_ip = ip(r, "198.51.", 0, 255, 1, 254);
    p.src_port = r.between(1024, 65535);
    p.dst_port = 80;
    p.flags = "S";
    p.size = r.between(40, 60);
  } else if (kind == "ntp") {  // monlist answers
    p.proto = "udp";
    p.src_ip = ip(r, "192.0.", 0, 255, 1, 254);
    p.src_port = 123;
    p.dst_port = r.between(1024, 65535);
    p.size = r.between(440, 486);
  } else if (kind == "icmp") {
    p.proto = "icmp";
    p.src_ip = ip(r, "100.64.", 0, 255, 1, 254);
    p.size = r.between(64, 1500);
  } else {  // "pattern": content that normal traffic never has, at any rate
    p.proto = "tcp";
    p.src_ip = ip(r, "10.0.", 0, 3, 1, 50);
    p.src_port = r.between(32768, 60999);
    p.dst_port = 31337;
    p.flags = "FPU";
    p.size = r.between(900, 1200);
  }
  return p;
}

Phase normal(std::string name, std::uint64_t n) {
  return {.name = std::move(name), .packets = n, .rate = kNormalRate};
}
Phase attack(std::string name, std::uint64_t n, std::vector<std::string> kinds, double rate,
             double share = 0.95, double end_rate = 0) {
  return {.name = std::move(name),
          .packets = n,
          .attacks = std::move(kinds),
          .attack_share = share,
          .rate = rate,
          .end_rate = end_rate};
}

// Sessions-model phases: normal activity for `seconds` at load `load` (ramping to `end_load`).
Phase period(std::string name, double seconds, double load = 1, double end_load = 0) {
  return {.name = std::move(name), .rate = load, .end_rate = end_load, .seconds = seconds};
}
Phase assault(std::string name, double seconds, std::string kind, double steps_per_second) {
  return {.name = std::move(name),
          .attacks = {std::move(kind)},
          .rate = 1,
          .seconds = seconds,
          .attack_rate = steps_per_second};
}
// A sessions scenario: 120 s of normal traffic to learn from, 60 s more, the attack, 60 s of
// recovery.
Scenario sessions(std::string name, std::string description, Phase attack_phase) {
  return {.name = std::move(name),
          .description = std::move(description),
          .phases = {period("warm-up", 120), period("normal", 60), std::move(attack_phase),
                     period("recovery", 60)},
          .model = TrafficModel::kSessions};
}

}  // namespace

std::vector<Scenario> scenarios() {
  constexpr double kFlood = 10000.0;  // packets per second in a flood
  return {
      {"challenge",
       "warm-up 300, DNS 15000, recovery 150, SYN 18000, recovery 150, NTP 15000, "
       "final 150; floods at 10000 packets/s, 95% attack packets",
       {normal("warm-up", 300), attack("dns", 15000, {"dns"}, kFlood), normal("recovery-1", 150),
        attack("syn", 18000, {"syn"}, kFlood), normal("recovery-2", 150),
        attack("ntp", 15000, {"ntp"}, kFlood), normal("final", 150)}},
      {"icmp-flood",
       "warm-up 300, ICMP flood 15000, recovery 300",
       {normal("warm-up", 300), attack("icmp", 15000, {"icmp"}, kFlood), normal("recovery", 300)}},
      {"ramp",
       "warm-up 300, a SYN flood whose rate grows from the normal rate to 50x over "
       "15000 packets, recovery 300",
       {normal("warm-up", 300), attack("syn-ramp", 15000, {"syn"}, kNormalRate, 0.95, kFlood),
        normal("recovery", 300)}},
      {"low-and-slow",
       "warm-up 300, NTP answers at the normal rate (30% of 3000 packets), "
       "recovery 300",
       {normal("warm-up", 300), attack("ntp-slow", 3000, {"ntp"}, kNormalRate, 0.30),
        normal("recovery", 300)}},
      {"mixed",
       "warm-up 300, DNS and SYN floods at once (15000 packets), recovery 300",
       {normal("warm-up", 300), attack("dns+syn", 15000, {"dns", "syn"}, kFlood),
        normal("recovery", 300)}},
      {"pattern-only",
       "warm-up 300, packets to port 31337 with FIN+PSH+URG at the normal rate "
       "(20% of 3000), recovery 300",
       {normal("warm-up", 300), attack("pattern", 3000, {"pattern"}, kNormalRate, 0.20),
        normal("recovery", 300)}},
      sessions("web-flood",
               "sessions: an HTTP flood (150 full connections/s, one GET each) on the plain-HTTP "
               "web server from addresses across the normal client range, 60 s",
               assault("web-flood", 60, "http-flood", 150)),
      sessions("port-scan",
               "sessions: a slow SYN scan (3 probes/s, common and random ports) of six servers "
               "from a familiar client address, 90 s",
               assault("port-scan", 90, "port-scan", 3)),
      sessions("dns-tunnel",
               "sessions: a DNS tunnel (10 queries/s of 188-283 bytes, TXT answers) from one "
               "client to the normal resolver, 90 s",
               assault("dns-tunnel", 90, "dns-tunnel", 10)),
      sessions("slowloris",
               "sessions: slowloris, 300 connections to the web server opened over 10 s and "
               "each kept alive with a header line every 10-15 s, 90 s",
               assault("slowloris", 90, "slowloris", 30)),
      sessions("carpet-bomb",
               "sessions: reflected DNS answers (3000/s) spread over every address of the "
               "server networks 10.30.0.0/23, 60 s",
               assault("carpet-bomb", 60, "carpet-bomb", 3000)),
      {.name = "drift",
       .description = "sessions: benign change only: a new service (tcp/8443 on a new server) "
                      "takes 10% of activities, then the load doubles over 120 s and stays",
       .phases =
           {period("warm-up", 120),
            period("normal", 60),
            {.name = "new-service", .rate = 1, .seconds = 120, .drift_share = 0.1},
            {.name = "load-ramp", .rate = 1, .end_rate = 2, .seconds = 120, .drift_share = 0.1},
            {.name = "double-load", .rate = 2, .seconds = 120, .drift_share = 0.1}},
       .model = TrafficModel::kSessions},
      {.name = "day",
       .description = "sessions: normal traffic only over one working day compressed into "
                      "600 s (night 0.15x, morning rise, lunch dip, evening fall)",
       .phases = {period("day", 600)},
       .model = TrafficModel::kSessions,
       .day_seconds = 600},
  };
}

Result<Scenario> scenario(std::string_view name) {
  std::string known;
  for (auto& s : scenarios()) {
    if (s.name == name) return s;
    known += (known.empty() ? "" : ", ") + s.name;
  }
  return invalid_argument("no scenario \"" + std::string(name) + "\" (known: " + known + ")");
}

void generate(const Scenario& s, std::uint64_t seed, std::int64_t start_ns,
              const std::function<void(const Packet&)>& emit) {
  if (s.model == TrafficModel::kSessions) {
    generate_sessions(s, seed, start_ns, emit);
    return;
  }
  Rng r(seed);
  std::int64_t t = start_ns;  // integer ns: a double has no ns resolution at today's epochs
  for (const Phase& phase : s.phases) {
    const double end_rate = phase.end_rate > 0 ? phase.end_rate : phase.rate;
    for (std::uint64_t i = 0; i < phase.packets; ++i) {
      const double f =
          phase.packets > 1 ? static_cast<double>(i) / static_cast<double>(phase.packets - 1) : 0;
      const double rate = phase.rate + (end_rate - phase.rate) * f;
      t += std::max<std::int64_t>(1, std::llround(r.exponential(1e9 / rate)));
      Packet p =
          !phase.attacks.empty() && r.uniform() < phase.attack_share
              ? attack_packet(r, phase.attacks[static_cast<std::size_t>(r.between(
                                     0, static_cast<std::int64_t>(phase.attacks.size()) - 1))])
              : normal_packet(r);
      p.ts = t;
      p.phase = phase.name;
      emit(p);
    }
  }
}

std::string to_json(const Packet& p, bool with_label) {
  std::string out = "{\"ts\":" + std::to_string(p.ts) + R"(,"proto":")" + p.proto +
                    R"(","src_ip":")" + p.src_ip + R"(","dst_ip":")" + p.dst_ip + "\"";
  if (p.proto != "icmp") {
    out += ",\"src_port\":" + std::to_string(p.src_port) +
           ",\"dst_port\":" + std::to_string(p.dst_port);
  }
  if (!p.flags.empty()) out += R"(,"flags":")" + p.flags + "\"";
  out += ",\"size\":" + std::to_string(p.size) + ",\"ttl\":" + std::to_string(p.ttl);
  if (with_label) {
    out +=
        R"(,"label":{"phase":")" + p.phase + R"(","attack":)" + (p.attack ? "true" : "false") + "}";
  }
  return out + "}";
}

}  // namespace witness::detect
