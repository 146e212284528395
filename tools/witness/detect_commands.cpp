// witness gen-traffic: seeded synthetic packet streams for the detector (SPEC 6.7).
// witness detect: runs the anomaly detector over JSON Lines, records the run, its alerts and
// optionally its inputs, and reports recall and false-positive rate per phase (SPEC 6.6).
// witness replay --rerun: re-executes a recorded run from its recorded inputs (SPEC 3.5).
#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "witness/vsa/detector.hpp"
#include "witness/vsa/encoder.hpp"
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

// ---- witness detect ---------------------------------------------------------------------------

constexpr const char* kDetectorOrigin = "witness.detector";

// Incremental SHA-256 of the records the detector saw (each line and a newline).
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  void update(std::string_view s) { EVP_DigestUpdate(ctx_, s.data(), s.size()); }
  std::string hex() {
    ledger::Digest d;
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, d.bytes.data(), &n);
    return d.to_hex();
  }

 private:
  EVP_MD_CTX* ctx_;
};

// Ground truth per phase, for --report only: the detector never sees it.
struct PhaseCount {
  std::string name;
  std::uint64_t records = 0;
  std::uint64_t scored = 0;  // after the warm-up
  std::uint64_t attack = 0;  // scored attack records
  std::uint64_t normal = 0;  // scored normal records
  std::uint64_t true_positives = 0;
  std::uint64_t false_positives = 0;
  std::uint64_t first = 0;  // first record index
  std::uint64_t last = 0;
};

struct RunOutcome {
  std::uint64_t records = 0;
  std::string input_sha256;
  std::vector<std::string> lines;  // kept when the inputs are recorded
  std::vector<vsa::Alert> alerts;
  double baseline_rate = 0;
  bool labelled = false;
  std::vector<PhaseCount> phases;
};

// Runs a detector over records given one at a time by `next` (false at the end). A bad record
// stops the run with an error naming its line.
Result<RunOutcome> run_detector(const vsa::DetectorConfig& config,
                                const std::function<Result<bool>(std::string&)>& next,
                                bool keep_lines, bool labels, std::ostream* verdicts) {
  WITNESS_ASSIGN_OR_RETURN(auto detector, vsa::Detector::create(config));
  RunOutcome out;
  Sha256 digest;
  std::map<std::string, std::size_t> phase_index;
  std::string line;
  std::uint64_t line_no = 0;
  while (true) {
    WITNESS_ASSIGN_OR_RETURN(bool more, next(line));
    if (!more) break;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    auto v = detector.observe(line);
    if (!v) return std::move(v).error().with_context("line " + std::to_string(line_no));
    digest.update(line);
    digest.update("\n");
    ++out.records;
    if (labels) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      const auto label = j.find("label");
      if (label != j.end() && label->is_object() && label->contains("phase") &&
          label->contains("attack") && (*label)["phase"].is_string() &&
          (*label)["attack"].is_boolean()) {
        out.labelled = true;
        const auto name = (*label)["phase"].get<std::string>();
        auto [it, inserted] = phase_index.try_emplace(name, out.phases.size());
        if (inserted) out.phases.push_back({.name = name, .first = v->index});
        PhaseCount& p = out.phases[it->second];
        ++p.records;
        p.last = v->index;
        if (!v->warming_up) {
          ++p.scored;
          if ((*label)["attack"].get<bool>()) {
            ++p.attack;
            p.true_positives += v->anomalous ? 1U : 0U;
          } else {
            ++p.normal;
            p.false_positives += v->anomalous ? 1U : 0U;
          }
        }
      }
    }
    if (verdicts) {
      *verdicts << "{\"i\":" << v->index << ",\"warming_up\":" << (v->warming_up ? "true" : "false")
                << ",\"novelty\":" << v->novelty << ",\"p\":" << v->p_value
                << ",\"anomalous\":" << (v->anomalous ? "true" : "false")
                << ",\"rate_ratio\":" << v->rate_ratio << ",\"level\":" << v->level
                << ",\"alert\":" << (v->in_alert ? "true" : "false") << "}\n";
    }
    if (keep_lines) out.lines.push_back(line);
    for (auto& a : detector.take_alerts()) out.alerts.push_back(std::move(a));
  }
  for (auto& a : detector.finish()) out.alerts.push_back(std::move(a));
  out.input_sha256 = digest.hex();
  out.baseline_rate = detector.baseline_rate();
  return out;
}

// The payload of a detector.alert node: shared by detect and rerun, so a re-executed run is
// compared byte for byte with what was recorded.
std::string alert_payload(const std::string& run_id, const vsa::Alert& a) {
  return "{\"run\":" + json_string(run_id) + ",\"alert\":" + a.to_json() + "}";
}

// Stamped with the run's time (a link may not point forward in time); the traffic's own times
// are in the payload.
Result<ledger::TraceNode> alert_node(const std::string& walk, const ledger::TraceNode& run,
                                     const vsa::Alert& a) {
  return ledger::TraceNode::create(ledger::NodeDraft{
      .origin = kDetectorOrigin,
      .kind = "detector.alert",
      .timestamp = run.timestamp(),
      .walk = walk,
      .links = {{ledger::LinkRelation::kCauses, run.id()}},
      .tags = {"trigger:" + a.trigger},
      .payload_json = alert_payload(run.id().to_hex(), a),
  });
}

struct Recorded {
  std::string run_id;
  std::string walk;
  ledger::SequenceNumber run_seq = 0;
  std::vector<ledger::SequenceNumber> alert_seqs;
  std::optional<std::pair<ledger::SequenceNumber, ledger::SequenceNumber>> inputs;
};

// Appends the run node, its inputs (optionally) and its alerts in one atomic, durable batch.
Result<Recorded> record_run(ledger::Ledger& l, const vsa::DetectorConfig& config,
                            const RunOutcome& run, bool record_inputs) {
  std::random_device rd;
  std::ostringstream tag;
  tag << std::hex << std::setw(8) << std::setfill('0') << rd() << std::setw(8) << rd();
  Recorded rec;
  rec.walk = "detector.run:" + tag.str();
  const std::string payload =
      "{\"config\":" + config.to_json() + ",\"input_sha256\":" + json_string(run.input_sha256) +
      ",\"records\":" + std::to_string(run.records) +
      ",\"inputs_recorded\":" + (record_inputs ? "true" : "false") +
      ",\"alerts\":" + std::to_string(run.alerts.size()) +
      ",\"baseline_rate\":" + vsa::number_text(std::round(run.baseline_rate * 1000) / 1000) +
      ",\"witness_version\":" + json_string(WITNESS_VERSION) + "}";
  WITNESS_ASSIGN_OR_RETURN(auto run_node, ledger::TraceNode::create(ledger::NodeDraft{
                                              .origin = kDetectorOrigin,
                                              .kind = "detector.run",
                                              .walk = rec.walk,
                                              .payload_json = payload,
                                          }));
  std::vector<ledger::TraceNode> nodes{run_node};
  if (record_inputs) {
    for (std::size_t i = 0; i < run.lines.size(); ++i) {
      WITNESS_ASSIGN_OR_RETURN(auto node,
                               ledger::TraceNode::create(ledger::NodeDraft{
                                   .origin = kDetectorOrigin,
                                   .kind = "detector.input",
                                   .timestamp = run_node.timestamp(),
                                   .walk = rec.walk,
                                   .payload_json = "{\"i\":" + std::to_string(i) +
                                                   ",\"line\":" + json_string(run.lines[i]) + "}",
                               }));
      nodes.push_back(std::move(node));
    }
  }
  for (const auto& a : run.alerts) {
    WITNESS_ASSIGN_OR_RETURN(auto node, alert_node(rec.walk, run_node, a));
    nodes.push_back(std::move(node));
  }
  WITNESS_ASSIGN_OR_RETURN(auto appended, l.append_batch(nodes));
  rec.run_id = run_node.id().to_hex();
  rec.run_seq = appended.front().seq;
  const std::size_t inputs = record_inputs ? run.lines.size() : 0;
  if (inputs > 0) rec.inputs = std::pair{appended[1].seq, appended[inputs].seq};
  for (std::size_t k = 1 + inputs; k < appended.size(); ++k) {
    rec.alert_seqs.push_back(appended[k].seq);
  }
  return rec;
}

std::string ratio_text(std::uint64_t num, std::uint64_t den) {
  if (den == 0) return "-";
  std::ostringstream os;
  os << std::fixed << std::setprecision(2)
     << 100.0 * static_cast<double>(num) / static_cast<double>(den) << "%";
  return os.str();
}
std::string ratio_json(std::uint64_t num, std::uint64_t den) {
  if (den == 0) return "null";
  return vsa::number_text(std::round(1e6 * static_cast<double>(num) / static_cast<double>(den)) /
                          1e6);
}

std::string alert_line(const vsa::Alert& a) {
  std::ostringstream os;
  os << "alert records " << a.onset << ".." << a.offset << " (" << a.records << ", " << a.anomalous
     << " anomalous), opened by " << a.trigger << ", peak rate x" << std::setprecision(3)
     << a.peak_rate_ratio;
  for (const auto& f : a.explanation) {
    os << "\n    " << f.field << " = " << f.value << "  (novelty " << std::setprecision(2)
       << f.novelty << ", baseline " << (f.baseline.empty() ? "-" : f.baseline) << ")";
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
  auto phases_of = [&](const vsa::Alert& a) {
    std::vector<std::string> names;
    for (const auto& p : run.phases) {
      if (p.first <= a.offset && a.onset <= p.last) names.push_back(p.name);
    }
    return names;
  };
  if (json) {
    std::cout << "{\"records\":" << run.records << ",\"scored\":" << total.scored
              << ",\"labelled\":" << (run.labelled ? "true" : "false")
              << ",\"recall\":" << ratio_json(total.true_positives, total.attack)
              << ",\"false_positive_rate\":" << ratio_json(total.false_positives, total.normal)
              << ",\"true_positives\":" << total.true_positives
              << ",\"false_positives\":" << total.false_positives << ",\"attack\":" << total.attack
              << ",\"normal\":" << total.normal
              << ",\"run\":" << (rec ? json_string(rec->run_id) : "null")
              << ",\"input_sha256\":" << json_string(run.input_sha256) << ",\"phases\":[";
    for (std::size_t i = 0; i < run.phases.size(); ++i) {
      const auto& p = run.phases[i];
      std::cout << (i ? "," : "") << "{\"phase\":" << json_string(p.name)
                << ",\"records\":" << p.records << ",\"scored\":" << p.scored
                << ",\"attack\":" << p.attack << ",\"normal\":" << p.normal
                << ",\"true_positives\":" << p.true_positives
                << ",\"false_positives\":" << p.false_positives
                << ",\"recall\":" << ratio_json(p.true_positives, p.attack)
                << ",\"false_positive_rate\":" << ratio_json(p.false_positives, p.normal) << "}";
    }
    std::cout << "],\"alerts\":[";
    for (std::size_t i = 0; i < run.alerts.size(); ++i) {
      auto a = nlohmann::json::parse(run.alerts[i].to_json());
      a["phases"] = phases_of(run.alerts[i]);
      if (rec) a["seq"] = rec->alert_seqs[i];
      std::cout << (i ? "," : "") << a.dump();
    }
    std::cout << "]}\n";
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
  std::string verdicts;
};

Result<vsa::DetectorConfig> detect_config(const DetectArgs& args) {
  vsa::DetectorConfig config;
  if (!args.config_file.empty()) {
    std::ifstream f(args.config_file, std::ios::binary);
    if (!f) return invalid_argument("--config: cannot read " + args.config_file);
    std::stringstream ss;
    ss << f.rdbuf();
    WITNESS_ASSIGN_OR_RETURN(config, vsa::DetectorConfig::from_json(ss.str()));
  }
  if (args.warmup) config.warmup = *args.warmup;
  if (args.alpha) config.alpha = *args.alpha;
  if (args.seed) config.seed = *args.seed;
  WITNESS_RETURN_IF_ERROR(config.validate());
  return config;
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
  std::ifstream file;
  auto in = open_input(args.input, file);
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
  auto run = run_detector(
      *config,
      [&](std::string& line) -> Result<bool> {
        if (std::getline(**in, line)) return true;
        if ((*in)->bad()) return io_error("read failed: " + args.input);
        return false;
      },
      args.record_inputs, args.report || args.json, args.verdicts.empty() ? nullptr : &verdicts);
  if (!run) return report(run.error());
  if (run->records < config->warmup) {
    std::cerr << "witness: warning: " << run->records << " records, fewer than the warm-up ("
              << config->warmup << "): nothing was scored\n";
  }
  std::optional<Recorded> rec;
  if (l) {
    auto r = record_run(*l, *config, *run, args.record_inputs);
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
    if (args.record_inputs)
      std::cout << "re-execute: witness replay --rerun " << rec->run_id << "\n";
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
  auto run_entry = l->find(*id);
  if (!run_entry) return report(run_entry.error().with_context("--rerun " + run_hex));
  const auto& run_node = run_entry->node;
  if (run_node.kind() != "detector.run" || !run_node.walk()) {
    return report(invalid_argument("--rerun: node " + run_hex + " is a " + run_node.kind() +
                                   ", not a detector.run"));
  }
  auto payload = nlohmann::json::parse(run_node.payload_json(), nullptr, false);
  if (!payload.is_object() || !payload.contains("config") || !payload.contains("input_sha256")) {
    return report(corruption("detector.run " + run_hex + ": payload lacks config or input_sha256"));
  }
  if (!payload.value("inputs_recorded", false)) {
    return report(failed_precondition("run " + run_hex +
                                      " did not record its inputs (witness detect "
                                      "--record-inputs): it cannot be re-executed"));
  }
  auto config = vsa::DetectorConfig::from_json(payload["config"].dump());
  if (!config) return report(config.error().with_context("detector.run config"));
  const std::string walk = *run_node.walk();

  // The recorded inputs, in order.
  auto inputs = l->query(ledger::Query{.kind = "detector.input", .walk = walk});
  if (!inputs) return report(inputs.error());
  auto it = inputs->begin();
  std::uint64_t expected = 0;
  auto next = [&](std::string& line) -> Result<bool> {
    if (it == inputs->end()) {
      WITNESS_RETURN_IF_ERROR(inputs->status());
      return false;
    }
    auto p = nlohmann::json::parse(it->node.payload_json(), nullptr, false);
    if (!p.is_object() || !p.contains("i") || !p["i"].is_number_unsigned() || !p.contains("line") ||
        !p["line"].is_string()) {
      return corruption("detector.input at seq " + std::to_string(it->seq) + ": bad payload");
    }
    if (p["i"].get<std::uint64_t>() != expected) {
      return corruption("detector.input " + std::to_string(expected) + " is missing (found " +
                        std::to_string(p["i"].get<std::uint64_t>()) + " at seq " +
                        std::to_string(it->seq) + ")");
    }
    ++expected;
    line = p["line"].get<std::string>();
    ++it;
    return true;
  };
  auto rerun = run_detector(*config, next, false, false, nullptr);
  if (!rerun) return report(rerun.error().with_context("rerun"));
  std::cout << "rerun of " << run_hex << ": " << rerun->records << " recorded inputs";
  bool same = true;
  if (rerun->input_sha256 != payload["input_sha256"].get<std::string>() ||
      rerun->records != payload.value("records", std::uint64_t{0})) {
    std::cout << "\n  inputs differ from the run's: sha256 " << rerun->input_sha256 << " over "
              << rerun->records << " records, recorded "
              << payload["input_sha256"].get<std::string>() << " over "
              << payload.value("records", std::uint64_t{0}) << "\n";
    same = false;
  }
  // The recorded alerts, against the re-executed ones.
  auto recorded = l->query(ledger::Query{.kind = "detector.alert", .walk = walk});
  if (!recorded) return report(recorded.error());
  std::vector<ledger::Entry> alerts;
  for (const auto& e : *recorded) alerts.push_back(e);
  if (!recorded->status()) return report(recorded->status().error());
  std::cout << ", " << alerts.size() << " recorded alert(s), " << rerun->alerts.size()
            << " re-executed\n";
  const std::size_t n = std::max(alerts.size(), rerun->alerts.size());
  for (std::size_t k = 0; k < n; ++k) {
    if (k >= alerts.size()) {
      std::cout << "  alert " << k << ": only in the rerun: " << rerun->alerts[k].to_json() << "\n";
      same = false;
      continue;
    }
    if (k >= rerun->alerts.size()) {
      std::cout << "  alert " << k << " (seq " << alerts[k].seq
                << "): recorded but not re-executed: " << alerts[k].node.payload_json() << "\n";
      same = false;
      continue;
    }
    auto node = alert_node(walk, run_node, rerun->alerts[k]);
    if (!node) return report(node.error());
    if (node->payload_json() != alerts[k].node.payload_json()) {
      std::cout << "  alert " << k << " (seq " << alerts[k].seq << ") diverges:\n    recorded "
                << alerts[k].node.payload_json() << "\n    rerun    " << node->payload_json()
                << "\n";
      same = false;
    }
  }
  std::cout << (same ? "identical: every alert re-executed exactly\n"
                     : "DIVERGED: the re-executed run does not match the record\n");
  return same ? kExitOk : kExitCheckFailed;
}

namespace {}  // namespace

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
  d->add_option("--warmup", det.warmup, "records that make the baseline (default 300)");
  d->add_option("--alpha", det.alpha,
                "false-alarm budget per record, at least 1/(warmup+1) (default 0.01)");
  d->add_option("--seed", det.seed, "atom seed (default 1)");
  d->add_option("--verdicts", det.verdicts, "write one JSON line per record's verdict here");
  d->footer(
      "Records are JSON objects with a numeric time field (\"ts\", ns). The detector learns a\n"
      "baseline from the first --warmup records and needs no thresholds per attack: see\n"
      "docs/detector.md. Exit 0 after a run (alerts are results, not failures), 2 on bad input.");
  d->callback([&action] { action = [] { return run_detect(det); }; });
}

}  // namespace witness::tools
