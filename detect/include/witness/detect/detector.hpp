// The anomaly detector (SPEC 6.6): no thresholds are written for any attack; everything it
// compares against is learnt from a warm-up window of the stream itself.
//
// A record is a JSON object (one line). Its leaves (path, value) are the fields of SPEC 6.5 with
// the detector's fillers: a string is the sum of the atoms of its prefixes at '.', ':' and '/'
// ("10.0.3.7" -> "10", "10.0", "10.0.3", "10.0.3.7"), so addresses in one network are similar;
// a number is a log (or, with values <= 0, linear) scalar encoding whose range is learnt per
// path in the warm-up. The time field (default "ts", ns) only drives the rate; ignored paths
// (default "label": ground truth) are never read.
//
// Content score. The familiarity of a leaf is the cosine between its filler and the nearest
// filler the warm-up saw under the same role (what a cleanup against the role's codebook
// returns): for a string, the share of prefix atoms it has in common with its nearest seen
// string; for a number, ScalarEncoder::similarity with its nearest seen neighbours. Indexes (a
// prefix table, a sorted value list) find the nearest entry without scanning the codebook; the
// tests check that they agree with a scan over real vectors. A record's novelty is the sum over
// its leaves of (1 - familiarity); a path the warm-up never saw counts 1.
//
// Calibration (conformal). Every warm-up record is scored leave-one-out against the others;
// a later record's p-value is (1 + #{warm-up scores >= its novelty}) / (warm-up + 1), and the
// record is anomalous when p <= alpha. For normal traffic, exchangeability bounds the share of
// anomalous verdicts by alpha: the one knob is a false-alarm budget, not a feature threshold.
//
// Rate. The mean inter-arrival time is tracked from timestamps (a moving average over `smooth`
// records); its ratio to the warm-up's is the rate ratio.
//
// Alerts (hysteresis). `level` is the moving share of anomalous records. An alert opens when
// level >= level_on or rate ratio >= rate_on, and closes after `hold` records in a row with
// level < level_off and rate ratio < rate_on / 2. A closed alert carries its onset and offset
// (record indices), peak level, rate and novelty, and an explanation: the prototype of its
// anomalous records (sum of their role-filler bindings) is unbound by each role and cleaned up
// against the values seen there; fields whose values are unfamiliar lead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/vsa/vector.hpp"

namespace witness::detect {

struct DetectorConfig {
  std::uint64_t seed = 1;                    // atoms and scalar encoders
  std::size_t dim = vsa::kDefaultDimension;  // vector dimension
  std::size_t warmup = 300;                  // records that make the baseline
  double alpha = 0.01;                       // false-alarm budget per record
  std::string time_field = "ts";             // ns since the epoch (a number)
  std::vector<std::string> ignore{"label"};  // paths never read
  std::size_t smooth = 16;                   // records in the moving level and rate
  double level_on = 0.15;                    // share of anomalous records that opens an alert
  double level_off = 0.1;                    // ... under which it may close
  double rate_on = 4.0;                      // rate ratio that opens an alert
  std::size_t hold = 32;                     // quiet records before an alert closes
  std::size_t explain_sample = 256;          // anomalous records kept to explain an alert

  // Errors: kInvalidArgument naming the field (alpha must be at least 1 / (warmup + 1), or no
  // record could ever be anomalous).
  [[nodiscard]] Status validate() const;
  // A canonical JSON object of every field (keys sorted) and its inverse (unknown or ill-typed
  // fields are errors; missing ones keep their defaults).
  [[nodiscard]] std::string to_json() const;
  [[nodiscard]] static Result<DetectorConfig> from_json(std::string_view json);
};

// The detector's view of one record.
struct RecordVerdict {
  std::uint64_t index = 0;  // 0-based position in the stream
  std::int64_t ts = 0;      // the record's time field (ns)
  bool warming_up = false;  // inside the warm-up (no verdict yet)
  double novelty = 0;       // sum over leaves of 1 - familiarity
  double p_value = 1;       // conformal p-value of the novelty
  bool anomalous = false;   // p_value <= alpha
  double rate = 0;          // records per second (moving)
  double rate_ratio = 1;    // rate / warm-up rate
  double level = 0;         // moving share of anomalous records
  bool in_alert = false;    // an alert is open after this record
};

// One field of an explanation: a value recovered by unbinding the field's role from the alert's
// prototype ("203.0" for a prefix shared by the anomalous records), how strongly the prototype
// carries it (cosine), and the field's mean novelty over the anomalous records.
struct FieldExplanation {
  std::string field;
  std::string value;
  double strength = 0;
  double novelty = 0;
  std::string baseline;  // the field's most common value in the warm-up
};

struct Alert {
  std::uint64_t onset = 0;   // index of the record that opened it
  std::uint64_t offset = 0;  // index of its last anomalous record (rate alone: last loud one)
  std::int64_t onset_ts = 0;
  std::int64_t offset_ts = 0;
  std::uint64_t records = 0;    // records from onset to offset
  std::uint64_t anomalous = 0;  // anomalous records among them
  double peak_level = 0;
  double peak_rate_ratio = 0;
  double peak_novelty = 0;
  std::string trigger;  // "content", "rate" or "content+rate": what opened it
  std::vector<FieldExplanation> explanation;
  // A canonical JSON object of every field (what detector.alert nodes carry).
  [[nodiscard]] std::string to_json() const;
};

// Thread safety: one thread at a time (a stream is sequential).
class Detector {
 public:
  // Errors: the config's validation errors.
  [[nodiscard]] static Result<Detector> create(const DetectorConfig& config);
  Detector(const Detector&) = delete;
  Detector& operator=(const Detector&) = delete;
  Detector(Detector&&) noexcept;
  Detector& operator=(Detector&&) noexcept;
  ~Detector();

  // Scores the next record. Errors (the detector is unchanged): kInvalidArgument when the
  // line is not a JSON object or lacks a numeric time field.
  [[nodiscard]] Result<RecordVerdict> observe(std::string_view json_line);
  // Alerts closed since the last call.
  [[nodiscard]] std::vector<Alert> take_alerts();
  // Ends the stream: closes an open alert (offset = the last record) and returns what
  // take_alerts would.
  [[nodiscard]] std::vector<Alert> finish();

  [[nodiscard]] const DetectorConfig& config() const;
  [[nodiscard]] std::uint64_t records() const;
  // The warm-up's mean rate (records per second; 0 before the warm-up ends).
  [[nodiscard]] double baseline_rate() const;
  // The leave-one-out novelty of each warm-up record, sorted (empty before the warm-up ends).
  [[nodiscard]] std::vector<double> calibration() const;
  // The familiarity of `value` (a JSON scalar: "\"10.0.3.7\"", "443") at `path` against the
  // baseline (after the warm-up): what the novelty of a record sums over. Errors: before the
  // warm-up ends, or bad JSON.
  [[nodiscard]] Result<double> familiarity(std::string_view path, std::string_view value) const;

 private:
  struct Impl;
  explicit Detector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace witness::detect
