// Detector runs in the ledger (SPEC 6.6, 3.5): run the detector over records, record the run,
// its inputs and its alerts as one atomic batch, and re-execute a recorded run from its inputs.
// Shared by `witness detect` / `witness replay --rerun` and the Python module, so that both
// write and compare byte-identical records. (It joins vsa and ledger, which stay independent of
// each other, hence a library of its own beside the tools.)
#pragma once
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/detect/detector.hpp"
#include "witness/ledger/ledger.hpp"

namespace witness::detect {

inline constexpr const char* kDetectorOrigin = "witness.detector";

// Ground truth per phase (from a record's "label"), for reports only: the detector never
// sees it.
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

// The run over time, for charts: consecutive buckets of `width` records each (the last one may
// be short). The width starts at 1 and doubles (neighbours merge) whenever a record would make
// a bucket more than kMaxBuckets, so a run of any length has at most kMaxBuckets of them, and
// more than kMaxBuckets / 2 once it has that many records.
struct SeriesBucket {
  std::uint64_t first = 0;      // index of its first record
  std::uint64_t records = 0;    // records in it
  std::int64_t first_ts = 0;    // time field of its first record (ns)
  std::int64_t last_ts = 0;     // ... and of its last
  std::uint64_t anomalous = 0;  // records scored anomalous
  std::uint64_t alerting = 0;   // records after which an alert was open
  std::uint64_t attack = 0;     // records labelled attack (labelled runs)
};

class RunSeries {
 public:
  static constexpr std::size_t kMaxBuckets = 256;
  void add(const RecordVerdict& v, bool attack);
  [[nodiscard]] const std::vector<SeriesBucket>& buckets() const { return buckets_; }
  [[nodiscard]] std::uint64_t width() const { return width_; }
  // {"width", "t" (seconds from the first record to each bucket's first), "records", "rate"
  // (records per second: a bucket's records over the time to the next bucket's first record, the
  // last one's over its own span; null when that span is 0), "anomalous", "alerting" and, with
  // labels, "attack"}: one array per field, one element per bucket.
  [[nodiscard]] std::string to_json(bool labelled) const;

 private:
  std::uint64_t width_ = 1;
  std::vector<SeriesBucket> buckets_;
};

// What one run over a stream gave.
struct RunOutcome {
  std::uint64_t records = 0;
  std::string input_sha256;        // over each record's text and a newline
  std::vector<std::string> lines;  // kept when asked (to record the inputs)
  std::vector<detect::Alert> alerts;
  double baseline_rate = 0;
  bool labelled = false;
  std::vector<PhaseCount> phases;
  RunSeries series;
};

// What run_detector keeps and writes besides the alerts.
struct RunOptions {
  bool keep_lines = false;  // keep each record's text in RunOutcome::lines (to record them)
  bool labels = false;      // count per labelled phase (RunOutcome::phases; labelled records)
  std::ostream* verdicts = nullptr;  // when set, gets one JSON line per record
};

// Runs a detector over records given one at a time by `next` (false at the end); blank lines
// are skipped. Errors: a bad record stops the run, named by its line; `next`'s errors.
[[nodiscard]] Result<RunOutcome> run_detector(const detect::DetectorConfig& config,
                                              const std::function<Result<bool>(std::string&)>& next,
                                              const RunOptions& options = {});

// num / den rounded to 6 decimals (a recall, a false-positive rate); nullopt when den is 0.
[[nodiscard]] std::optional<double> rounded_ratio(std::uint64_t num, std::uint64_t den);

// A phase's counts with its recall and false-positive rate (null without attack or normal
// records): {"phase", "records", "scored", "attack", "normal", "true_positives",
// "false_positives", "recall", "false_positive_rate", "first", "last" (record indices)}; ratios
// rounded to 6 decimals.
[[nodiscard]] std::string phase_json(const PhaseCount& p);

// Where a recorded run went.
struct Recorded {
  std::string run_id;  // hex id of the detector.run node
  std::string walk;    // detector.run:<16 hex>, shared by its inputs and alerts
  ledger::SequenceNumber run_seq = 0;
  std::vector<ledger::SequenceNumber> alert_seqs;
  std::optional<std::pair<ledger::SequenceNumber, ledger::SequenceNumber>> inputs;
};

// Whether record_run records the inputs.
enum class Inputs : std::uint8_t {
  kOmit,    // only the run and its alerts (the input's SHA-256 is in the run)
  kRecord,  // a detector.input node per record too (`run.lines` must hold them)
};

// Appends the detector.run node, its detector.input nodes (per `inputs`) and its detector.alert
// nodes in one atomic, durable batch. The run's payload holds the config, the input's SHA-256,
// the counts, `series` (RunSeries::to_json) and, for a labelled run, `phases` (phase_json).
[[nodiscard]] Result<Recorded> record_run(ledger::Ledger& ledger,
                                          const detect::DetectorConfig& config,
                                          const RunOutcome& run, Inputs inputs);

// One difference between a recorded run and its re-execution.
struct AlertDiff {
  std::size_t index = 0;                      // alert number in the run
  std::optional<ledger::SequenceNumber> seq;  // the recorded alert's seq, if there is one
  std::string recorded;                       // its payload (empty: only in the rerun)
  std::string rerun;                          // the rerun's payload (empty: not re-executed)
};

// A recorded run re-executed from its recorded inputs with its recorded config.
struct RerunReport {
  std::uint64_t records = 0;  // inputs read back
  std::uint64_t recorded_records = 0;
  std::string input_sha256;
  std::string recorded_input_sha256;
  std::size_t recorded_alerts = 0;
  std::size_t rerun_alerts = 0;
  std::vector<AlertDiff> diffs;
  [[nodiscard]] bool inputs_match() const {
    return records == recorded_records && input_sha256 == recorded_input_sha256;
  }
  [[nodiscard]] bool identical() const { return inputs_match() && diffs.empty(); }
};

// Re-executes run `run_id`. Errors: kNotFound (no such node); kInvalidArgument (not a
// detector.run); kFailedPrecondition (its inputs were not recorded); kCorruption (a bad or
// missing input or payload).
[[nodiscard]] Result<RerunReport> rerun(const ledger::Ledger& ledger, const ledger::NodeId& run_id);

}  // namespace witness::detect
