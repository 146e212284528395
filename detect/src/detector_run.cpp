#include "witness/detect/detector_run.hpp"

#include <cmath>
#include <iomanip>
#include <map>
#include <ostream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "witness/base/parallel.hpp"
#include "witness/crypto/sha256.hpp"
#include "witness/ledger/jsonl.hpp"
#include "witness/vsa/encoder.hpp"

namespace witness::detect {

namespace {
// Inputs of fewer lines than twice this make their nodes on the calling thread alone.
constexpr std::size_t kParallelInputNodes = 1024;

nlohmann::json ratio(std::uint64_t num, std::uint64_t den) {
  const auto r = rounded_ratio(num, den);
  return r ? nlohmann::json(*r) : nlohmann::json(nullptr);
}

// Rounded to 3 decimals (what the charts need, and stable text).
nlohmann::json milli(double x) { return std::round(x * 1000) / 1000; }

}  // namespace

void RunSeries::add(const RecordVerdict& v, bool attack) {
  if (buckets_.empty() || buckets_.back().records == width_) {
    if (buckets_.size() == kMaxBuckets) {
      // Merge neighbours: kMaxBuckets / 2 full buckets of twice the width.
      for (std::size_t i = 0; i < kMaxBuckets / 2; ++i) {
        SeriesBucket& a = buckets_[2 * i];
        const SeriesBucket& b = buckets_[2 * i + 1];
        a.records += b.records;
        a.last_ts = b.last_ts;
        a.anomalous += b.anomalous;
        a.alerting += b.alerting;
        a.attack += b.attack;
        buckets_[i] = a;
      }
      buckets_.resize(kMaxBuckets / 2);
      width_ *= 2;
    }
    if (buckets_.empty() || buckets_.back().records == width_) {
      buckets_.push_back({.first = v.index, .first_ts = v.ts});
    }
  }
  SeriesBucket& b = buckets_.back();
  ++b.records;
  b.last_ts = v.ts;
  b.anomalous += v.anomalous ? 1U : 0U;
  b.alerting += v.in_alert ? 1U : 0U;
  b.attack += attack ? 1U : 0U;
}

std::string RunSeries::to_json(bool labelled) const {
  nlohmann::json j{{"width", width_}};
  auto& t = j["t"] = nlohmann::json::array();
  auto& records = j["records"] = nlohmann::json::array();
  auto& rate = j["rate"] = nlohmann::json::array();
  auto& anomalous = j["anomalous"] = nlohmann::json::array();
  auto& alerting = j["alerting"] = nlohmann::json::array();
  nlohmann::json attack = nlohmann::json::array();
  const std::int64_t t0 = buckets_.empty() ? 0 : buckets_.front().first_ts;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    const SeriesBucket& b = buckets_[i];
    t.push_back(milli(static_cast<double>(b.first_ts - t0) / 1e9));
    records.push_back(b.records);
    // A bucket's records over the time to the next one's first record; the last one's own span.
    const std::int64_t end = i + 1 < buckets_.size() ? buckets_[i + 1].first_ts : b.last_ts;
    const auto n = i + 1 < buckets_.size() ? b.records : b.records - 1;
    if (end > b.first_ts) {
      rate.push_back(milli(static_cast<double>(n) * 1e9 / static_cast<double>(end - b.first_ts)));
    } else {
      rate.push_back(nullptr);
    }
    anomalous.push_back(b.anomalous);
    alerting.push_back(b.alerting);
    attack.push_back(b.attack);
  }
  if (labelled) j["attack"] = std::move(attack);
  return j.dump();
}

std::optional<double> rounded_ratio(std::uint64_t num, std::uint64_t den) {
  if (den == 0) return std::nullopt;
  return std::round(1e6 * static_cast<double>(num) / static_cast<double>(den)) / 1e6;
}

std::string phase_json(const PhaseCount& p) {
  return nlohmann::json{{"phase", p.name},
                        {"first", p.first},
                        {"last", p.last},
                        {"records", p.records},
                        {"scored", p.scored},
                        {"attack", p.attack},
                        {"normal", p.normal},
                        {"true_positives", p.true_positives},
                        {"false_positives", p.false_positives},
                        {"recall", ratio(p.true_positives, p.attack)},
                        {"false_positive_rate", ratio(p.false_positives, p.normal)}}
      .dump();
}

Result<RunOutcome> run_detector(const detect::DetectorConfig& config,
                                const std::function<Result<bool>(std::string&)>& next,
                                const RunOptions& options) {
  WITNESS_ASSIGN_OR_RETURN(auto detector, detect::Detector::create(config));
  RunOutcome out;
  crypto::Sha256 digest;  // of the records the detector saw (each line and a newline)
  std::map<std::string, std::size_t> phase_index;
  std::string line;
  std::uint64_t line_no = 0;
  while (true) {
    WITNESS_ASSIGN_OR_RETURN(bool more, next(line));
    if (!more) break;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    GroundTruth truth;
    auto v = detector.observe(line, options.labels ? &truth : nullptr);
    if (!v) return std::move(v).error().with_context("line " + std::to_string(line_no));
    digest.update(line);
    digest.update("\n");
    ++out.records;
    bool attack = false;
    // The label comes from the detector's own parse (it hands it back; it never reads it).
    if (truth.present()) {
      out.labelled = true;
      auto [it, inserted] = phase_index.try_emplace(truth.phase, out.phases.size());
      if (inserted) out.phases.push_back({.name = truth.phase, .first = v->index});
      PhaseCount& p = out.phases[it->second];
      ++p.records;
      p.last = v->index;
      attack = truth.attack;
      if (!v->warming_up) {
        ++p.scored;
        if (attack) {
          ++p.attack;
          p.true_positives += v->flagged ? 1U : 0U;
        } else {
          ++p.normal;
          p.false_positives += v->flagged ? 1U : 0U;
        }
      }
    }
    if (options.verdicts != nullptr) {
      *options.verdicts << "{\"i\":" << v->index
                        << ",\"warming_up\":" << (v->warming_up ? "true" : "false")
                        << ",\"novelty\":" << v->novelty << ",\"p\":" << v->p_value
                        << ",\"anomalous\":" << (v->anomalous ? "true" : "false")
                        << ",\"flagged\":" << (v->flagged ? "true" : "false")
                        << ",\"rate_ratio\":" << v->rate_ratio
                        << ",\"alert\":" << (v->in_alert ? "true" : "false") << "}\n";
    }
    out.series.add(*v, attack);
    if (options.keep_lines) out.lines.push_back(line);
    for (auto& a : detector.take_alerts()) out.alerts.push_back(std::move(a));
  }
  for (auto& a : detector.finish()) out.alerts.push_back(std::move(a));
  out.input_sha256 = ledger::Digest{digest.finish()}.to_hex();
  out.baseline_rate = detector.baseline_rate();
  return out;
}

namespace {

// The payload of a detector.alert node: shared by detect and rerun, so a re-executed run is
// compared byte for byte with what was recorded.
std::string alert_payload(const std::string& run_id, const detect::Alert& a) {
  return "{\"run\":" + ledger::quote_json_string(run_id) + ",\"alert\":" + a.to_json() + "}";
}

// Stamped with the run's time (a link may not point forward in time); the traffic's own times
// are in the payload.
Result<ledger::TraceNode> alert_node(const std::string& walk, const ledger::TraceNode& run,
                                     const detect::Alert& a) {
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

}  // namespace

Result<Recorded> record_run(ledger::Ledger& l, const detect::DetectorConfig& config,
                            const RunOutcome& run, Inputs inputs) {
  const bool record_inputs = inputs == Inputs::kRecord;
  std::random_device rd;
  std::ostringstream tag;
  tag << std::hex << std::setw(8) << std::setfill('0') << rd() << std::setw(8) << rd();
  Recorded rec;
  rec.walk = "detector.run:" + tag.str();
  std::string phases;
  if (run.labelled) {
    phases = ",\"phases\":[";
    for (std::size_t i = 0; i < run.phases.size(); ++i) {
      phases += (i > 0 ? "," : "") + phase_json(run.phases[i]);
    }
    phases += "]";
  }
  const std::string payload =
      "{\"config\":" + config.to_json() +
      ",\"input_sha256\":" + ledger::quote_json_string(run.input_sha256) +
      ",\"records\":" + std::to_string(run.records) +
      ",\"inputs_recorded\":" + (record_inputs ? "true" : "false") +
      ",\"alerts\":" + std::to_string(run.alerts.size()) +
      ",\"baseline_rate\":" + vsa::number_text(std::round(run.baseline_rate * 1000) / 1000) +
      ",\"series\":" + run.series.to_json(run.labelled) + phases +
      ",\"witness_version\":" + ledger::quote_json_string(WITNESS_VERSION) + "}";
  WITNESS_ASSIGN_OR_RETURN(auto run_node, ledger::TraceNode::create(ledger::NodeDraft{
                                              .origin = kDetectorOrigin,
                                              .kind = "detector.run",
                                              .walk = rec.walk,
                                              .payload_json = payload,
                                          }));
  std::vector<ledger::TraceNode> nodes{run_node};
  if (record_inputs) {
    // One node per input line, made (canonical payload, id) on every core.
    std::vector<Result<ledger::TraceNode>> made(run.lines.size(),
                                                Result<ledger::TraceNode>(internal_error("unset")));
    parallel_chunks(run.lines.size(), kParallelInputNodes, [&](std::size_t begin, std::size_t end) {
      for (std::size_t i = begin; i < end; ++i) {
        made[i] = ledger::TraceNode::create(ledger::NodeDraft{
            .origin = kDetectorOrigin,
            .kind = "detector.input",
            .timestamp = run_node.timestamp(),
            .walk = rec.walk,
            .payload_json = "{\"i\":" + std::to_string(i) +
                            ",\"line\":" + ledger::quote_json_string(run.lines[i]) + "}",
        });
      }
    });
    for (auto& node : made) {
      if (!node) return node.error();
      nodes.push_back(std::move(*node));
    }
  }
  for (const auto& a : run.alerts) {
    WITNESS_ASSIGN_OR_RETURN(auto node, alert_node(rec.walk, run_node, a));
    nodes.push_back(std::move(node));
  }
  // witness.detector is a reserved origin: this recorder is one of witness's own writers.
  WITNESS_ASSIGN_OR_RETURN(
      auto appended, l.append_batch(nodes, ledger::AppendOptions{.allow_reserved_origin = true}));
  rec.run_id = run_node.id().to_hex();
  rec.run_seq = appended.front().seq;
  const std::size_t input_nodes = record_inputs ? run.lines.size() : 0;
  if (input_nodes > 0) rec.inputs = std::pair{appended[1].seq, appended[input_nodes].seq};
  for (std::size_t k = 1 + input_nodes; k < appended.size(); ++k) {
    rec.alert_seqs.push_back(appended[k].seq);
  }
  return rec;
}

Result<RerunReport> rerun(const ledger::Ledger& l, const ledger::NodeId& run_id) {
  const std::string run_hex = run_id.to_hex();
  WITNESS_ASSIGN_OR_RETURN(auto run_entry, l.find(run_id));
  const auto& run_node = run_entry.node;
  if (run_node.kind() != "detector.run" || !run_node.walk()) {
    return invalid_argument("node " + run_hex + " is a " + run_node.kind() +
                            ", not a detector.run");
  }
  auto payload = nlohmann::json::parse(run_node.payload_json(), nullptr, false);
  if (!payload.is_object() || !payload.contains("config") || !payload.contains("input_sha256") ||
      !payload["input_sha256"].is_string()) {
    return corruption("detector.run " + run_hex + ": payload lacks config or input_sha256");
  }
  if (!payload.value("inputs_recorded", false)) {
    return failed_precondition("run " + run_hex +
                               " did not record its inputs (witness detect --record-inputs): it "
                               "cannot be re-executed");
  }
  auto config = detect::DetectorConfig::from_json(payload["config"].dump());
  if (!config) return config.error().with_context("detector.run config");
  const std::string walk = *run_node.walk();

  // The recorded inputs, in order.
  WITNESS_ASSIGN_OR_RETURN(auto inputs,
                           l.query(ledger::Query{.kind = "detector.input", .walk = walk}));
  auto it = inputs.begin();
  std::uint64_t expected = 0;
  auto next = [&](std::string& line) -> Result<bool> {
    if (it == witness::ledger::QueryResult::end()) {
      WITNESS_RETURN_IF_ERROR(inputs.status());
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
  auto again = run_detector(*config, next);
  if (!again) return again.error().with_context("rerun");

  RerunReport report;
  report.records = again->records;
  report.input_sha256 = again->input_sha256;
  report.recorded_records = payload.value("records", std::uint64_t{0});
  report.recorded_input_sha256 = payload["input_sha256"].get<std::string>();
  // The recorded alerts, against the re-executed ones.
  WITNESS_ASSIGN_OR_RETURN(auto recorded,
                           l.query(ledger::Query{.kind = "detector.alert", .walk = walk}));
  std::vector<ledger::Entry> alerts;
  for (const auto& e : recorded) alerts.push_back(e);
  WITNESS_RETURN_IF_ERROR(recorded.status());
  report.recorded_alerts = alerts.size();
  report.rerun_alerts = again->alerts.size();
  const std::size_t n = std::max(alerts.size(), again->alerts.size());
  for (std::size_t k = 0; k < n; ++k) {
    AlertDiff d{.index = k};
    if (k < alerts.size()) {
      d.seq = alerts[k].seq;
      d.recorded = alerts[k].node.payload_json();
    }
    if (k < again->alerts.size()) {
      WITNESS_ASSIGN_OR_RETURN(auto node, alert_node(walk, run_node, again->alerts[k]));
      d.rerun = node.payload_json();
    }
    if (d.recorded != d.rerun) report.diffs.push_back(std::move(d));
  }
  return report;
}

}  // namespace witness::detect
