// witness gen-traffic: seeded synthetic packet streams for the detector (SPEC 6.7).
#include <fstream>
#include <iostream>

#include "witness/vsa/traffic.hpp"

#include "cli.hpp"

namespace witness::tools {
namespace {

struct GenArgs {
  std::string scenario;
  std::uint64_t seed = 1;
  std::string out = "-";
  std::string start = "2026-11-22T09:00:00Z";
  bool strip_labels = false;
  bool list = false;
};

int run_gen_traffic(const GenArgs& args) {
  if (args.list) {
    for (const auto& s : vsa::scenarios()) {
      std::uint64_t n = 0;
      for (const auto& p : s.phases) n += p.packets;
      std::cout << s.name << "  (" << n << " packets)  " << s.description << "\n";
    }
    return kExitOk;
  }
  if (args.scenario.empty()) {
    return report(invalid_argument("--scenario is required (see --list)"));
  }
  auto s = vsa::scenario(args.scenario);
  if (!s) return report(s.error());
  auto start = parse_time_arg(args.start, "--start");
  if (!start) return report(start.error());
  std::ofstream file;
  std::ostream* os = &std::cout;
  if (args.out != "-") {
    file.open(args.out, std::ios::binary | std::ios::trunc);
    if (!file) return report(io_error("cannot write " + args.out));
    os = &file;
  }
  std::string line;
  vsa::generate(*s, args.seed, start->time_since_epoch().count(), [&](const vsa::Packet& p) {
    line = vsa::to_json(p, !args.strip_labels);
    line += '\n';
    os->write(line.data(), static_cast<std::streamsize>(line.size()));
  });
  os->flush();
  if (!*os) return report(io_error("write failed: " + args.out));
  return kExitOk;
}

}  // namespace

void register_detect_commands(CLI::App& app, Action& action) {
  static GenArgs gen;
  auto* g = app.add_subcommand(
      "gen-traffic", "write a seeded synthetic packet stream (JSON Lines) for the detector");
  g->add_option("--scenario", gen.scenario,
                "challenge, icmp-flood, ramp, low-and-slow, mixed, pattern-only (see --list)");
  g->add_option("--seed", gen.seed, "PRNG seed (default 1): same seed, same packets");
  g->add_option("--out", gen.out, "output file (default: stdout)");
  g->add_option("--start", gen.start, "first timestamp: ns since epoch or RFC 3339");
  g->add_flag("--strip-labels", gen.strip_labels, "leave out the ground-truth label field");
  g->add_flag("--list", gen.list, "list the scenarios and their phases");
  g->footer(
      "Each line: {\"ts\":ns,\"proto\",\"src_ip\",\"dst_ip\",\"src_port\",\"dst_port\",\"flags\","
      "\"size\",\"ttl\",\n\"label\":{\"phase\",\"attack\"}} (no ports for ICMP, no flags for "
      "UDP/ICMP).");
  g->callback([&action] { action = [] { return run_gen_traffic(gen); }; });
}

}  // namespace witness::tools
