// Synthetic packet traffic (SPEC 6.7) for the detector: seeded, so a scenario and a seed give the
// same packets on every machine (own PRNG and distributions, not the standard library's).
// Timestamps are nanoseconds; rates come only from them. Every packet carries a ground-truth
// `label` object ({"phase": ..., "attack": true|false}) that a detector must not read.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "witness/base/result.hpp"

namespace witness::detect {

// One packet. `flags` is empty for UDP and ICMP.
struct Packet {
  std::int64_t ts = 0;  // ns since the epoch
  std::string proto;    // "tcp", "udp", "icmp"
  std::string src_ip;
  std::string dst_ip;
  std::int64_t src_port = 0;
  std::int64_t dst_port = 0;
  std::string flags;  // "S", "A", "PA", "FA", "SA", ...
  std::int64_t size = 0;
  std::int64_t ttl = 0;
  std::string phase;  // ground truth
  bool attack = false;
};

// What a phase sends: normal traffic, or attacks mixed with normal traffic.
//
// A scenario of the uniform model (the first stage's) counts a phase in packets: each packet is
// an attack packet with probability `attack_share`, else a normal one, at `rate` packets per
// second (ramping to `end_rate`). A scenario of the sessions model (connection-structured, see
// sessions.cpp) counts a phase in `seconds`: normal activities at `rate` times the model's own
// rate (a load factor, ramping to `end_rate`), and the phase's attack beside them at
// `attack_rate` steps per second (what a step is depends on the attack).
struct Phase {
  std::string name;
  std::uint64_t packets = 0;
  std::vector<std::string> attacks;  // uniform: "dns", "syn", "ntp", "icmp", "pattern";
                                     // sessions: "http-flood", "port-scan", "dns-tunnel",
                                     // "slowloris", "carpet-bomb" (one); empty: normal
  double attack_share = 0;           // uniform: fraction of the phase's packets that attack
  double rate = 0;                   // uniform: packets per second; sessions: load factor
  double end_rate = 0;               // at the end (a ramp); 0: same as rate
  double seconds = 0;                // sessions: the phase's length
  double attack_rate = 0;            // sessions: attack steps per second
  double drift_share = 0;            // sessions: share of activities that use a new service
};

enum class TrafficModel : std::uint8_t {
  kUniform,   // independent packets drawn from fixed mixes (SPEC 6.7's first scenarios)
  kSessions,  // connections, sessions, bursts, many hosts and services, a day curve
};

struct Scenario {
  std::string name;
  std::string description;
  std::vector<Phase> phases;
  TrafficModel model = TrafficModel::kUniform;
  double day_seconds = 0;  // sessions: the length of one compressed working day (0: flat rate)
};

// The named scenarios. Uniform: challenge, icmp-flood, ramp, low-and-slow, mixed, pattern-only.
// Sessions: day, web-flood, port-scan, dns-tunnel, slowloris, carpet-bomb, drift.
[[nodiscard]] std::vector<Scenario> scenarios();
// Errors: kInvalidArgument naming the unknown scenario and the known ones.
[[nodiscard]] Result<Scenario> scenario(std::string_view name);

// The normal packet rate every uniform scenario uses (packets per second).
inline constexpr double kNormalRate = 200.0;
// Normal activities (page loads, API calls, ...) per second in the sessions model at load 1 and
// the day's peak: about 640 packets per second.
inline constexpr double kActivitiesPerSecond = 8.0;

// Generates the scenario's packets in time order, starting at `start_ns`, calling `emit` for
// each (so a long stream needs no memory).
void generate(const Scenario& s, std::uint64_t seed, std::int64_t start_ns,
              const std::function<void(const Packet&)>& emit);

// One packet as a JSON line (no newline): {"ts":..,"proto":..,...,"label":{...}}; without the
// label when `with_label` is false.
[[nodiscard]] std::string to_json(const Packet& p, bool with_label);

}  // namespace witness::detect
