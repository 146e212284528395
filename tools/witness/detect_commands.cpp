// witness gen-traffic: seeded synthetic packet streams for the detector (SPEC 6.7).
// witness detect: runs the anomaly detector over JSON Lines, records the run, its alerts and
// optionally its inputs, and reports recall and false-positive rate per phase (SPEC 6.6).
// witness replay --rerun: re-executes a recorded run from its recorded inputs (SPEC 3.5).
#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "witness/detect/capture.hpp"
#include "witness/detect/detector.hpp"
#include "witness/detect/detector_run.hpp"
#include "witness/detect/traffic.hpp"
#include "witness/ledger/jsonl.hpp"
#include "witness/vsa/encoder.hpp"

#include "cli.hpp"
#include "json_out.hpp"

namespace witness::tools {
namespace {

using detect::PhaseCount;
using detect::record_run;
using detect::Recorded;
using detect::run_detector;
using detect::RunOutcome;

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
    for (const auto& s : detect::scenarios()) {
      std::uint64_t n = 0;
      double seconds = 0;
      for (const auto& p : s.phases) {
        n += p.packets;
        seconds += p.seconds;
      }
      if (s.model == detect::TrafficModel::kSessions) {
        std::cout << s.name << "  (" << seconds << " s)  " << s.description << "\n";
      } else {
        std::cout << s.name << "  (" << n << " packets)  " << s.description << "\n";
      }
    }
    return kExitOk;
  }
  if (args.scenario.empty()) {
    return report(invalid_argument("--scenario is required (see --list)"));
  }
  auto s = detect::scenario(args.scenario);
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
  detect::generate(*s, args.seed, start->time_since_epoch().count(), [&](const detect::Packet& p) {
    line = detect::to_json(p, !args.strip_labels);
    line += '\n';
    os->write(line.data(), static_cast<std::streamsize>(line.size()));
  });
  os->flush();
  if (!*os) return report(io_error("write failed: " + args.out));
  return kExitOk;
}

// ---- witness detect ---------------------------------------------------------------------------

std::string ratio_text(std::uint64_t num, std::uint64_t den) {
  if (den == 0) return "-";
  std::ostringstream os;
  os << std::fixed << std::setprecision(2)
     << 100.0 * static_cast<double>(num) / static_cast<double>(den) << "%";
  return os.str();
}
// detect::rounded_ratio, or null when there is nothing to divide by.
JsonOut ratio_json(std::uint64_t num, std::uint64_t den) {
  const auto r = detect::rounded_ratio(num, den);
  return r ? JsonOut(*r) : JsonOut(nullptr);
}

std::string alert_line(const detect::Alert& a) {
  std::ostringstream os;
  os << "alert records " << a.onset << ".." << a.offset << " (" << a.records << ", " << a.flagged
     << " flagged, " << a.anomalous << " anomalous), opened by " << a.trigger << ", peak rate x"
     << std::setprecision(3) << a.peak_rate_ratio;
  for (const auto& k : a.keys) {
    os << "\n    key " << k.key << "  (" << k.kind << ": peak " << std::setprecision(4)
       << k.peak_count << ", expected " << k.expected << ")";
  }
  for (const auto& f : a.explanation) {
    os << "\n    " << f.field << " = " << f.value << "  (" << std::setprecision(2) << 100 * f.share
       << "% of the alert, " << 100 * f.baseline_share << "% of the baseline"
       << (f.baseline.empty() ? "" : "; most common there: " + f.baseline) << ")";
  }
  return os.str();
}

void print_report(const RunOutcome& run, const std::optional<Recorded>& rec, bool json) {
  PhaseCount total;
  for (const auto& p : run.phases) {
    total.scored += p.scored;
    total.attack += p.attack;
    total.normal += p.normal;
    total.true_positives += p.true_positives;
    total.false_positives += p.false_positives;
  }
  auto phases_of = [&](const detect::Alert& a) {
    std::vector<std::string> names;
    for (const auto& p : run.phases) {
      if (p.first <= a.offset && a.onset <= p.last) names.push_back(p.name);
    }
    return names;
  };
  if (json) {
    JsonOut out{{"records", run.records},
                {"scored", total.scored},
                {"labelled", run.labelled},
                {"recall", ratio_json(total.true_positives, total.attack)},
                {"false_positive_rate", ratio_json(total.false_positives, total.normal)},
                {"true_positives", total.true_positives},
                {"false_positives", total.false_positives},
                {"attack", total.attack},
                {"normal", total.normal},
                {"run", rec ? JsonOut(rec->run_id) : JsonOut(nullptr)},
                {"input_sha256", run.input_sha256},
                {"phases", JsonOut::array()},
                {"alerts", JsonOut::array()}};
    for (const auto& p : run.phases) out["phases"].push_back(json_value(detect::phase_json(p)));
    for (std::size_t i = 0; i < run.alerts.size(); ++i) {
      JsonOut a = json_value(run.alerts[i].to_json());
      a["phases"] = phases_of(run.alerts[i]);
      if (rec) a["seq"] = rec->alert_seqs[i];
      out["alerts"].push_back(std::move(a));
    }
    print_json(out);
    return;
  }
  std::cout << run.records << " records, " << run.alerts.size() << " alert(s); baseline rate "
            << std::setprecision(4) << run.baseline_rate << " records/s\n";
  for (const auto& a : run.alerts) {
    std::cout << "  " << alert_line(a);
    const auto names = phases_of(a);
    if (!names.empty()) {
      std::cout << "\n    phases:";
      for (const auto& n : names) std::cout << " " << n;
    }
    std::cout << "\n";
  }
  if (!run.labelled) return;
  std::cout << std::left << std::setw(14) << "phase" << std::right << std::setw(8) << "records"
            << std::setw(8) << "attack" << std::setw(8) << "normal" << std::setw(10) << "recall"
            << std::setw(10) << "FPR"
            << "\n";
  auto row = [](const PhaseCount& p, const std::string& name) {
    std::cout << std::left << std::setw(14) << name << std::right << std::setw(8) << p.scored
              << std::setw(8) << p.attack << std::setw(8) << p.normal << std::setw(10)
              << ratio_text(p.true_positives, p.attack) << std::setw(10)
              << ratio_text(p.false_positives, p.normal) << "\n";
  };
  for (const auto& p : run.phases) row(p, p.name);
  row(total, "all");
  std::cout << "(records after the warm-up; the detector never reads the labels)\n";
}

// A capture's records (--pcap, --flows, --truth), shared by detect and pcap.
struct CaptureArgs {
  std::string pcap;
  bool flows = false;
  std::string truth;
};

Result<detect::CaptureRecords> open_capture(const CaptureArgs& a) {
  detect::CaptureOptions o{.flows = a.flows};
  if (!a.truth.empty()) {
    std::ifstream f(a.truth, std::ios::binary);
    if (!f) return invalid_argument("--truth: cannot read " + a.truth);
    std::stringstream ss;
    ss << f.rdbuf();
    auto w = detect::parse_truth(ss.str());
    if (!w) return std::move(w).error().with_context("--truth " + a.truth);
    o.truth = std::move(w).value();
  }
  return detect::CaptureRecords::open(a.pcap, std::move(o));
}

struct DetectArgs {
  std::string input = "-";
  std::string ledger_dir;
  bool no_record = false;
  bool record_inputs = false;
  bool report = false;
  bool json = false;
  std::string config_file;
  std::optional<std::size_t> warmup;
  std::optional<double> alpha;
  std::optional<std::uint64_t> seed;
  std::optional<double> warmup_s;
  std::string verdicts;
  CaptureArgs capture;
};

Result<detect::DetectorConfig> detect_config(const DetectArgs& args) {
  detect::DetectorConfig config;
  if (!args.config_file.empty()) {
    std::ifstream f(args.config_file, std::ios::binary);
    if (!f) return invalid_argument("--config: cannot read " + args.config_file);
    std::stringstream ss;
    ss << f.rdbuf();
    WITNESS_ASSIGN_OR_RETURN(config, detect::DetectorConfig::from_json(ss.str()));
  }
  if (args.warmup) config.warmup = *args.warmup;
  if (args.alpha) config.alpha = *args.alpha;
  if (args.seed) config.seed = *args.seed;
  if (args.warmup_s) config.warmup_s = *args.warmup_s;
  WITNESS_RETURN_IF_ERROR(config.validate());
  return config;
}

void add_capture_options(CLI::App& cmd, CaptureArgs& a) {
  cmd.add_option("--pcap", a.pcap, "read the packets of a pcap or pcapng capture (libpcap)");
  cmd.add_flag("--flows", a.flows, "with --pcap: one record per flow instead of per packet");
  cmd.add_option("--truth", a.truth,
                 "with --pcap: label records from attack windows (JSON: [{phase, start_ns, "
                 "end_ns, hosts}])");
}

int run_pcap(const CaptureArgs& args, const std::string& out_path) {
  auto c = open_capture(args);
  if (!c) return report(c.error());
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (!out_path.empty()) {
    file.open(out_path, std::ios::binary | std::ios::trunc);
    if (!file) return report(io_error("cannot write " + out_path));
    out = &file;
  }
  std::string line;
  std::uint64_t n = 0;
  while (true) {
    auto more = c->next(line);
    if (!more) return report(more.error());
    if (!*more) break;
    *out << line << '\n';
    ++n;
  }
  out->flush();
  if (!*out) return report(io_error("write failed"));
  std::cerr << "witness: " << n << " records from " << c->reader().frames() << " frames ("
            << c->reader().skipped() << " not IP), link type " << c->reader().link_type() << "\n";
  return kExitOk;
}

int run_detect(const DetectArgs& args) {
  auto config = detect_config(args);
  if (!config) return report(config.error());
  const std::string dir = args.no_record
                              ? std::string()
                              : resolve_ledger_dir(CommonOptions{.ledger_dir = args.ledger_dir});
  if (args.record_inputs && dir.empty()) {
    return report(invalid_argument("--record-inputs needs a ledger (--ledger or $WITNESS_LEDGER)"));
  }
  if (!args.capture.pcap.empty() && args.input != "-") {
    return report(invalid_argument("give either --pcap or an input file, not both"));
  }
  if (args.capture.pcap.empty() && (args.capture.flows || !args.capture.truth.empty())) {
    return report(invalid_argument("--flows and --truth read a capture: give --pcap"));
  }
  std::optional<detect::CaptureRecords> capture;
  if (!args.capture.pcap.empty()) {
    auto c = open_capture(args.capture);
    if (!c) return report(c.error());
    capture.emplace(std::move(c).value());
  }
  std::ifstream file;
  Result<std::istream*> in = static_cast<std::istream*>(nullptr);
  if (!capture) in = open_input(args.input, file);
  if (!in) return report(in.error());
  std::ofstream verdicts;
  if (!args.verdicts.empty()) {
    verdicts.open(args.verdicts, std::ios::binary | std::ios::trunc);
    if (!verdicts) return report(io_error("cannot write " + args.verdicts));
  }
  // Open the ledger first: a wrong directory fails before the work.
  std::optional<ledger::Ledger> l;
  if (!dir.empty()) {
    auto opened = open_ledger(CommonOptions{.ledger_dir = dir}, false, ledger::Durability::kSync);
    if (!opened) return report(opened.error());
    l.emplace(std::move(opened).value());
  }
  std::uint64_t lines_read = 0;
  auto run = run_detector(*config,
                          [&](std::string& line) -> Result<bool> {
                            if (capture) return capture->next(line);
                            switch (ledger::read_line(**in, line)) {
                              case ledger::LineRead::kLine:
                                ++lines_read;
                                return true;
                              case ledger::LineRead::kTooLong:
                                return ledger::line_too_long(lines_read + 1);
                              case ledger::LineRead::kEnd:
                                break;
                            }
                            if ((*in)->bad()) return io_error("read failed: " + args.input);
                            return false;
                          },
                          {.keep_lines = args.record_inputs,
                           // Recorded runs carry their phases (for the explorer's charts).
                           .labels = args.report || args.json || l.has_value(),
                           .verdicts = args.verdicts.empty() ? nullptr : &verdicts});
  if (!run) return report(run.error());
  if (run->records < config->warmup) {
    std::cerr << "witness: warning: " << run->records << " records, fewer than the warm-up ("
              << config->warmup << "): nothing was scored\n";
  }
  std::optional<Recorded> rec;
  if (l) {
    auto r = record_run(*l, *config, *run,
                        args.record_inputs ? detect::Inputs::kRecord : detect::Inputs::kOmit);
    if (!r) return report(r.error());
    rec = std::move(r).value();
  }
  if (args.report || args.json) {
    print_report(*run, rec, args.json);
  } else {
    for (const auto& a : run->alerts) std::cout << alert_line(a) << "\n";
  }
  if (rec && !args.json) {
    std::cout << "run " << rec->run_id << " (seq " << rec->run_seq << ", walk " << rec->walk << ")";
    if (rec->inputs) {
      std::cout << ", inputs at seq " << rec->inputs->first << ".." << rec->inputs->second;
    }
    std::cout << ", " << rec->alert_seqs.size() << " alert node(s)\n";
    if (args.record_inputs) {
      std::cout << "re-execute: witness replay --rerun " << rec->run_id << "\n";
    }
  }
  return kExitOk;
}

}  // namespace

// ---- witness replay --rerun ---------------------------------------------------------------------

int run_rerun(const CommonOptions& opts, const std::string& run_hex) {
  auto id = ledger::Digest::from_hex(run_hex);
  if (!id) return report(invalid_argument("--rerun: not a node id: " + run_hex));
  auto l = open_ledger(opts, /*read_only=*/true);
  if (!l) return report(l.error());
  auto r = detect::rerun(*l, *id);
  if (!r) return report(r.error().with_context("--rerun " + run_hex));
  std::cout << "rerun of " << run_hex << ": " << r->records << " recorded inputs";
  if (!r->inputs_match()) {
    std::cout << "\n  inputs differ from the run's: sha256 " << r->input_sha256 << " over "
              << r->records << " records, recorded " << r->recorded_input_sha256 << " over "
              << r->recorded_records << "\n";
  }
  std::cout << ", " << r->recorded_alerts << " recorded alert(s), " << r->rerun_alerts
            << " re-executed\n";
  for (const auto& d : r->diffs) {
    if (d.recorded.empty()) {
      std::cout << "  alert " << d.index << ": only in the rerun: " << d.rerun << "\n";
    } else if (d.rerun.empty()) {
      std::cout << "  alert " << d.index << " (seq " << *d.seq
                << "): recorded but not re-executed: " << d.recorded << "\n";
    } else {
      std::cout << "  alert " << d.index << " (seq " << *d.seq << ") diverges:\n    recorded "
                << d.recorded << "\n    rerun    " << d.rerun << "\n";
    }
  }
  std::cout << (r->identical() ? "identical: every alert re-executed exactly\n"
                               : "DIVERGED: the re-executed run does not match the record\n");
  return r->identical() ? kExitOk : kExitCheckFailed;
}

namespace {}  // namespace

void register_detect_commands(CLI::App& app, Action& action) {
  static GenArgs gen;
  auto* g = app.add_subcommand(
      "gen-traffic", "write a seeded synthetic packet stream (JSON Lines) for the detector");
  g->add_option("--scenario", gen.scenario,
                "challenge, icmp-flood, ramp, low-and-slow, mixed, pattern-only (see --list)");
  g->add_option("--seed", gen.seed, "PRNG seed (default 1): same seed, same packets")
      ->check(non_negative_integer());
  g->add_option("--out", gen.out, "output file (default: stdout)");
  g->add_option("--start", gen.start, "first timestamp: ns since epoch or RFC 3339");
  g->add_flag("--strip-labels", gen.strip_labels, "leave out the ground-truth label field");
  g->add_flag("--list", gen.list, "list the scenarios and their phases");
  g->footer(
      "Each line: {\"ts\":ns,\"proto\",\"src_ip\",\"dst_ip\",\"src_port\",\"dst_port\",\"flags\","
      "\"size\",\"ttl\",\n\"label\":{\"phase\",\"attack\"}} (no ports for ICMP, no flags for "
      "UDP/ICMP).");
  g->callback([&action] { action = [] { return run_gen_traffic(gen); }; });

  static DetectArgs det;
  auto* d = app.add_subcommand(
      "detect", "run the anomaly detector over JSON Lines records and record its run and alerts");
  d->add_option("input", det.input, "JSON Lines file, or - for stdin (default)");
  d->add_option("--ledger", det.ledger_dir,
                "record the run and its alerts here (default: $WITNESS_LEDGER; none: no record)");
  d->add_flag("--no-record", det.no_record, "do not record even if $WITNESS_LEDGER is set");
  d->add_flag("--record-inputs", det.record_inputs,
              "also record every input record, so `witness replay --rerun` can re-execute the run");
  d->add_flag("--report", det.report,
              "print recall and false-positive rate per phase (from the records' ground-truth "
              "label, which the detector never reads)");
  d->add_flag("--json", det.json, "print the report as one JSON object");
  d->add_option("--config", det.config_file, "detector configuration (JSON object, see docs)");
  d->add_option("--warmup", det.warmup, "records that make the baseline (default 300)")
      ->check(non_negative_integer());
  d->add_option("--alpha", det.alpha,
                "false-alarm budget per record, at least 1/(warmup+1) (default 0.01)");
  d->add_option("--seed", det.seed, "atom seed (default 1)")->check(non_negative_integer());
  d->add_option("--warmup-seconds", det.warmup_s,
                "seconds of stream time the warm-up lasts at least (default 100; 0: records only)");
  d->add_option("--verdicts", det.verdicts, "write one JSON line per record's verdict here");
  add_capture_options(*d, det.capture);
  d->footer(
      "Records are JSON objects with a numeric time field (\"ts\", ns), or the packets (or\n"
      "flows) of a pcap/pcapng capture. The detector learns a baseline over the warm-up and\n"
      "keeps learning; it needs no thresholds per attack: see docs/detector.md. Exit 0 after a\n"
      "run (alerts are results, not failures), 2 on bad input.");
  d->callback([&action] { action = [] { return run_detect(det); }; });

  static CaptureArgs cap;
  static std::string cap_out;
  auto* c = app.add_subcommand(
      "pcap", "turn a pcap/pcapng capture into detector records (JSON Lines: packets or flows)");
  c->add_option("capture", cap.pcap, "the capture file")->required();
  c->add_flag("--flows", cap.flows, "one record per flow (connection) instead of per packet");
  c->add_option("--truth", cap.truth,
                "label records from attack windows (JSON: [{phase, start_ns, end_ns, hosts}])");
  c->add_option("--out", cap_out, "output file (default: stdout)");
  c->footer(
      "Packets: {\"ts\",\"proto\",\"src_ip\",\"dst_ip\",\"src_port\",\"dst_port\",\"flags\","
      "\"size\",\"ttl\"}, as gen-traffic writes them.\nFlows: {\"ts\" (end),\"proto\",\"src_ip\","
      "\"dst_ip\",\"src_port\",\"dst_port\",\"flags\",\"packets\",\"bytes\",\"packets_in\","
      "\"bytes_in\",\"duration_ms\"}.\nSee docs/detector.md.");
  c->callback([&action] { action = [] { return run_pcap(cap, cap_out); }; });
}

}  // namespace witness::tools
