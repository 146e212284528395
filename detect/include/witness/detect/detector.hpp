// The anomaly detector, version 2 (SPEC 6.6, issue 17): no threshold is written for any attack;
// what it compares against is learnt from the stream itself, over time.
//
// Records. A record is a JSON object (one line) or a packet (traffic.hpp, from a capture). Its
// leaves (path, value) are its fields; the time field (default "ts", ns) drives time, ignored
// paths (default "label": ground truth) are never read. A packet record (one with the five
// `service_fields`: proto, addresses, ports) is read as a connection endpoint pair: its
// *service* is "proto/port" at the side whose port the baseline knows as a service (else the
// lower port; with equal ports or none, the side whose address it knows as a server), the
// *server* is the address on that side, the *client* the other, *dir* says
// which way the packet goes; ephemeral ports are not features. ICMP has service "icmp".
//
// Symbols. Every feature is a role-filler binding bind(role, filler) of SPEC 6.5: strings are
// categorical fillers, with their prefixes at '.', ':' and '/' ("10.20.3.7" -> "10", "10.20",
// "10.20.3", "10.20.3.7") so addresses in one network are near; numbers are quarter-octave
// buckets (categorical too: a scanned 3389 is not near a familiar 3306; sizes and TTLs are
// near when their buckets are). Joint features bind two bindings: service x each other field
// but those in `joint_exclude` (TTL: it tells the client's OS, not what it does), and service x
// the packet's shape (flags, size bucket, dir together), so an unseen
// combination of familiar values is novel (a 280-byte query to udp/53). The detector's tables
// are indexed by the identity of these bound hypervectors (a 64-bit hash of their atoms' names:
// equal keys, equal vectors); `symbol_vector` builds the vector itself, and the tests check that
// a lookup answers what a cleanup of the vector against the baseline's codebook answers.
//
// Baseline over time. Each symbol has a weight that decays with `half_life_s` and the set of
// clients it was seen from (a 64-bit mask). A symbol of the warm-up is familiar while its weight
// is at least 0.5; one first seen later also needs `settle_s` seconds since then (a flood is
// held before it can teach its values) and `min_sources` clients: a new service that many clients
// use becomes familiar within seconds (drift), a value only one scanner, tunnel or slowloris host
// sends never does. A record's novelty is the sum over its features of 1 - familiarity (addresses:
// the share of their prefix depth that is familiar; numbers: 0.5 when only a neighbouring
// bucket is; a client's own address does not count, only its networks). Records that match a
// rate key of the open alert's signature are not learnt (poisoning).
//
// Calibration (conformal). The warm-up lasts `warmup` records and `warmup_s` seconds; records in
// its second half are scored before they are learnt (prequentially, as every later record is)
// and their novelties form the calibration set; later, every `calibrate_every`-th record outside
// an alert joins it (a ring of the latest 8192). p-value = (1 + #{calibration >= novelty}) /
// (n + 1); a record is anomalous when p <= alpha.
//
// Keyed rates. Time is cut into windows of `window_s`. Per window the detector counts records per
// key: total, service, server, client, the /24 (or first three components) of each, and
// server|service, client|service. Per key it keeps a decayed mean and variance of the window
// counts (memory `rate_memory_s`; a window in which the key was hot does not update them, and
// keys with the smallest means are dropped beyond `max_keys`: a heavy-hitter table). A key is
// hot in a window once its count passes max(rate_on x mean, mean + z x sd) and a floor (z^2 and,
// for keys without history, a tenth of the total's mean), checked as records arrive: a flood is
// seen in its first window, bursts of ordinary connections are within sd.
//
// Concentrated anomalies. Per client and client|service the detector keeps
// decayed counts (time constant `horizon_s`) of records and anomalous records; a key is hot when
// its anomalous count passes alpha x n + z x sqrt(alpha x n) + z: a slow scan or a tunnel is
// one client's steady anomalies, not the scattered ones normal traffic has.
//
// Alerts. A hot key opens an alert (or joins the open one). Its signature keys are the hot keys
// of the finest level (host|service, host, /24, service, total) whose strongest key has 30% of
// the hottest key's excess (count over expected), those with 30% of that strongest one. A record is
// flagged when it is anomalous or matches a signature key of the open alert. The alert closes when
// no key has been hot for `hold_s` seconds; its offset is its last flagged record. Explanation by
// contrast: for each field, the value the alert's flagged records over-represent most against the
// baseline (share x ln(share / baseline share)), most contrasting first; an address shows as its
// deepest prefix that contrasts nearly as much.
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
