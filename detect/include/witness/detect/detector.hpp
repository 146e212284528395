// The anomaly detector, version 2 (SPEC 6.6, issue 17): no threshold is written for any attack;
// what it compares against is learnt from the stream itself, over time. docs/detector.md has the
// model in full, with its figures and limits; in short:
//
//   auto d = detect::Detector::create({});              // warm-up: 300 records and 100 s
//   for (const std::string& line : records) {           // JSON objects with "ts" (ns)
//     auto v = d->observe(line);                         // or observe(packet) (capture.hpp)
//     if (!v) return v.error();                          // bad record: nothing changed
//     if (v->flagged) ...;                               // anomalous, or in an alert's signature
//     for (const auto& a : d->take_alerts()) ...;        // alerts that closed
//   }
//   for (const auto& a : d->finish()) ...;
//
// Records. Leaves (path, value) are fields; the time field drives time; ignored paths (the
// ground truth "label") are never read. A record with the five `service_fields` is one side of a
// conversation: its service is "proto/port" of the side that listens (a port seen answering a
// TCP handshake, or as a UDP service; a SYN goes to it, a SYN+ACK comes from it; else the lower
// port), the server is the address on that side, the client the other, dir the way it goes.
//
// Symbols. Every feature is a role-filler binding (SPEC 6.5): strings categorical with their
// prefixes ("10.20.3.7": "10", "10.20", "10.20.3"), numbers quarter-octave buckets, and joint
// features binding the service to every other field (but `joint_exclude`) and to the packet's
// shape. Tables are keyed by the identity of the bound hypervectors (symbol_vector builds one).
//
// Baseline over time. Weights decay with `half_life_s`. A symbol of the warm-up is familiar
// while its weight is at least 0.5; one first seen later also needs `settle_s` and
// `min_sources` clients (for a combination with a service: as many as the service has had), and
// a TCP service must have answered a handshake. Novelty = sum over features of 1 - familiarity.
//
// Calibration (conformal). The warm-up's second half is scored prequentially (before it is
// learnt, as every later record is); later, one record in `calibrate_every` outside alerts
// joins (a ring of 8192). p = (1 + #{calibration >= novelty}) / (n + 1); anomalous: p <= alpha.
//
// Keyed rates. Per window of `window_s`, flow starts per key (host|service, host, /24, service,
// total, each side) against the key's decayed mean, variance and peak; hot windows teach
// nothing. Concentrated anomalies per client over `horizon_s`.
//
// Alerts. A hot key opens an alert or joins the open one (one per attack: a new key after the
// signature has been quiet for 1.5 windows starts another). The signature is the finest level
// of hot keys that covers nearly all their heat, without a server key a client key of the same
// service explains; a record is flagged when anomalous or matching it while it is hot (a
// server's key: only records of clients not busy elsewhere lately, the flood's lone
// connections, not the users of the service); records matching its rate keys are not learnt. It
// closes `hold_s` after its last hot key; it is explained by contrast with the baseline.
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
  std::uint64_t seed = 1;                    // atoms (symbol_vector) and symbol keys
  std::size_t dim = vsa::kDefaultDimension;  // vector dimension (symbol_vector)
  std::size_t warmup = 300;                  // records the warm-up lasts at least
  double warmup_s = 100;                     // ... and seconds (0: records only)
  double alpha = 0.01;                       // false-alarm budget per record
  std::string time_field = "ts";             // ns since the epoch (a number)
  std::vector<std::string> ignore{"label"};  // paths never read
  // proto, source address, source port, destination address, destination port (empty: no
  // packet reading; records are generic).
  std::vector<std::string> service_fields{"proto", "src_ip", "src_port", "dst_ip", "dst_port"};
  std::vector<std::string> joint_exclude{"ttl"};  // fields never bound to the service
  double half_life_s = 900;                       // the baseline's memory
  double settle_s = 2;              // a value first seen after the warm-up is new this long
  std::size_t min_sources = 3;      // clients a value must come from to be familiar
  std::size_t calibrate_every = 8;  // after the warm-up: one record in this many calibrates
  double window_s = 1;              // rate window
  double rate_memory_s = 300;       // the keyed rates' memory
  double rate_on = 4;               // a key's count over its mean that may raise an alert
  double z = 6;                     // significance of a hot key (standard deviations)
  double horizon_s = 10;            // concentrated anomalies: time constant
  double hold_s = 5;                // quiet seconds before an alert closes
  std::size_t max_keys = 4096;      // keyed rates tracked at most
  std::size_t explain_fields = 6;   // fields an explanation names at most

  // Errors: kInvalidArgument naming the field.
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
  double novelty = 0;       // sum over features of 1 - familiarity
  double p_value = 1;       // conformal p-value of the novelty
  bool anomalous = false;   // p_value <= alpha
  bool flagged = false;     // anomalous, or matches a signature key of the open alert
  double rate = 0;          // records per second (the last full window)
  double rate_ratio = 1;    // the hottest key's count over its mean in this window
  bool in_alert = false;    // an alert is open after this record
};

// One field of an explanation: the value the alert over-represents most against the baseline.
struct FieldExplanation {
  std::string field;          // "client", "service", "service×size", ... or a JSON path
  std::string value;          // "10.20.3.77", "10.30.*", "udp/53 × 256-304"
  double share = 0;           // of the alert's flagged records that carry it
  double baseline_share = 0;  // of the baseline's weight in that field
  double contrast = 0;        // share x ln(share / baseline_share)
  std::string baseline;       // the field's most common value in the baseline
};

// A key that raised or carried an alert: "server=10.30.0.13", "client|service=10.20.3.7|udp/53".
struct AlertKey {
  std::string key;
  std::string kind;       // "rate" or "content"
  double peak_count = 0;  // rate: most records in one window; content: anomalous (decayed)
  double expected = 0;    // rate: the key's mean per window; content: alpha x n
};

struct Alert {
  std::uint64_t onset = 0;   // index of the record that opened it
  std::uint64_t offset = 0;  // index of its last flagged record
  std::int64_t onset_ts = 0;
  std::int64_t offset_ts = 0;
  std::uint64_t records = 0;    // records from onset to offset
  std::uint64_t flagged = 0;    // flagged records among them
  std::uint64_t anomalous = 0;  // anomalous records among them
  double peak_rate_ratio = 0;
  double peak_novelty = 0;
  std::string trigger;         // "content", "rate" or "content+rate": what opened it
  std::vector<AlertKey> keys;  // its signature keys
  std::vector<FieldExplanation> explanation;
  // A canonical JSON object of every field (what detector.alert nodes carry).
  [[nodiscard]] std::string to_json() const;
};

struct Packet;  // traffic.hpp

// A record's ground truth, "label": {"phase": "...", "attack": true|false}, for reports: the
// detector reads it only to hand it back (label is an ignored path).
struct GroundTruth {
  std::string phase;
  bool attack = false;
  bool has_phase = false;
  bool has_attack = false;
  [[nodiscard]] bool present() const { return has_phase && has_attack; }
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
  // With `truth`, the record's label is read into it (absent: present() is false).
  [[nodiscard]] Result<RecordVerdict> observe(std::string_view json_line,
                                              GroundTruth* truth = nullptr);
  // The same for a packet (what its JSON line would give, without the text).
  [[nodiscard]] RecordVerdict observe(const Packet& packet);
  // Alerts closed since the last call.
  [[nodiscard]] std::vector<Alert> take_alerts();
  // Ends the stream: closes an open alert and returns what take_alerts would.
  [[nodiscard]] std::vector<Alert> finish();

  [[nodiscard]] const DetectorConfig& config() const;
  [[nodiscard]] std::uint64_t records() const;
  // The warm-up's mean rate (records per second; 0 before the warm-up ends).
  [[nodiscard]] double baseline_rate() const;
  // The calibration novelties, sorted (empty before the warm-up ends).
  [[nodiscard]] std::vector<double> calibration() const;
  // The familiarity in [0, 1] of `value` (a JSON scalar: "\"10.0.3.7\"", "443") in field
  // `field` (a path, or a derived field: service, server, client, dir) against the baseline now.
  // Errors: bad JSON.
  [[nodiscard]] Result<double> familiarity(std::string_view field, std::string_view value) const;
  // The hypervector of the binding of `field` to `value` (as familiarity takes them): bind(role,
  // filler) with atoms of the config's seed and dimension; numbers bind their bucket's atom.
  [[nodiscard]] Result<vsa::Vector> symbol_vector(std::string_view field,
                                                  std::string_view value) const;
  // Symbols in the baseline table (live, decayed or not yet pruned).
  [[nodiscard]] std::size_t symbols() const;

 private:
  struct Impl;
  explicit Detector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace witness::detect
