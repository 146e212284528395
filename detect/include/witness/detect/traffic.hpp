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

// What a phase sends: normal traffic, or one or two attacks mixed with a share of normal packets.
struct Phase {
  std::string name;
  std::uint64_t packets = 0;
  std::vector<std::string> attacks;  // "dns", "syn", "ntp", "icmp", "pattern"; empty: normal
  double attack_share = 0;           // fraction of the phase's packets that are attack packets
  double rate = 0;                   // packets per second at the start of the phase
  double end_rate = 0;               // at the end (a ramp); 0: same as rate
};

struct Scenario {
  std::string name;
  std::string description;
  std::vector<Phase> phases;
};

// The named scenarios: challenge, icmp-flood, ramp, low-and-slow, mixed, pattern-only.
[[nodiscard]] std::vector<Scenario> scenarios();
// Errors: kInvalidArgument naming the unknown scenario and the known ones.
[[nodiscard]] Result<Scenario> scenario(std::string_view name);

// The normal packet rate every scenario uses (packets per second).
inline constexpr double kNormalRate = 200.0;

// Generates the scenario's packets in time order, starting at `start_ns`, calling `emit` for
// each (so a long stream needs no memory).
void generate(const Scenario& s, std::uint64_t seed, std::int64_t start_ns,
              const std::function<void(const Packet&)>& emit);

// One packet as a JSON line (no newline): {"ts":..,"proto":..,...,"label":{...}}; without the
// label when `with_label` is false.
[[nodiscard]] std::string to_json(const Packet& p, bool with_label);

}  // namespace witness::detect
