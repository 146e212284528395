// Packet captures as detector records (issue 17): pcap and pcapng files read through libpcap,
// each IP packet as a Packet (traffic.hpp: the same fields the traffic models write), and
// packets folded into flow records.
//
//   auto r = detect::CaptureReader::open("lo.pcap");   // pcap or pcapng
//   if (!r) return r.error();
//   detect::Packet p;
//   while (true) {
//     auto more = r->next(p);                            // skips what is not IP
//     if (!more) return more.error();                    // a truncated or corrupt file
//     if (!*more) break;
//     ... p.ts (ns), p.proto ("tcp", "udp", "icmp", "icmp6" or the protocol number),
//         p.src_ip, p.dst_ip, p.src_port, p.dst_port, p.flags ("S", "SA", "PA", "FA", "RA"...),
//         p.size (IP total length), p.ttl (or hop limit) ...
//   }
//
// Link types: Ethernet (with 802.1Q tags), Linux cooked v1 and v2 (tcpdump -i any), raw IP,
// BSD null/loopback. Frames of other protocols (ARP, ...) are skipped and counted. Flags are
// written in the order F, S, R, P, A, U, E, C (so a SYN+ACK is "SA", a FIN+PSH+URG "FPU").
// Non-first IPv4 fragments have ports 0.
//
// Thread safety: one thread per reader.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "witness/base/result.hpp"
#include "witness/detect/traffic.hpp"

namespace witness::detect {

class CaptureReader {
 public:
  // Errors: kNotFound or kInvalidArgument with libpcap's message (not a capture, unreadable);
  // kInvalidArgument for a link type it cannot read.
  [[nodiscard]] static Result<CaptureReader> open(const std::string& path);
  CaptureReader(const CaptureReader&) = delete;
  CaptureReader& operator=(const CaptureReader&) = delete;
  CaptureReader(CaptureReader&&) noexcept;
  CaptureReader& operator=(CaptureReader&&) noexcept;
  ~CaptureReader();

  // The next IP packet; false at the end. Errors: kCorruption (libpcap's read error).
  [[nodiscard]] Result<bool> next(Packet& out);
  [[nodiscard]] std::uint64_t frames() const;   // frames read
  [[nodiscard]] std::uint64_t skipped() const;  // frames that were not IP (or too short)
  [[nodiscard]] std::string link_type() const;  // "EN10MB", "LINUX_SLL", ...

 private:
  struct Impl;
  explicit CaptureReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Decodes one frame of link type `dlt` (a DLT_ value) captured at `ts_ns`. nullopt when it is
// not an IP packet or is too short. Exposed for tests (frames built by hand).
[[nodiscard]] std::optional<Packet> decode_frame(int dlt, std::int64_t ts_ns,
                                                 std::string_view frame);

// A flow: the packets of one connection (TCP, from its SYN to its FIN or RST) or one
// conversation (UDP, ICMP) until it has been idle `idle_ns`. The initiator is the sender of its
// first packet (of a SYN, when one was seen).
struct Flow {
  std::int64_t first_ts = 0;
  std::int64_t last_ts = 0;
  std::string proto;
  std::string src_ip;  // initiator
  std::string dst_ip;
  std::int64_t src_port = 0;
  std::int64_t dst_port = 0;
  std::uint64_t packets_out = 0;  // initiator to responder
  std::uint64_t packets_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t bytes_in = 0;
  std::string flags;    // every flag seen, in the order of Packet::flags
  std::string phase;    // ground truth of its first packet (labelled captures)
  bool attack = false;  // any of its packets was an attack packet
};

// One flow record as a JSON line: {"ts" (its end), "proto", "src_ip", "src_port", "dst_ip",
// "dst_port", "packets", "bytes", "duration_ms", "flags", "packets_in", "bytes_in"} and, when
// asked, "label".
[[nodiscard]] std::string to_json(const Flow& f, bool with_label);

// Folds packets (in time order) into flows. add() returns the flows that ended (a TCP FIN
// answered, a RST, or idle); finish() the rest. Memory: the open flows.
class FlowTable {
 public:
  explicit FlowTable(std::int64_t idle_ns = 60'000'000'000) : idle_ns_(idle_ns) {}
  [[nodiscard]] std::vector<Flow> add(const Packet& p);
  [[nodiscard]] std::vector<Flow> finish();
  [[nodiscard]] std::size_t open() const { return flows_.size(); }

 private:
  using FlowKey = std::tuple<std::string, std::string, std::int64_t, std::string, std::int64_t>;
  struct Open {
    Flow flow;
    bool fin_out = false;
    bool fin_in = false;
  };
  std::vector<Flow> expire(std::int64_t now);
  std::int64_t idle_ns_;
  std::int64_t last_sweep_ = 0;
  std::map<FlowKey, Open> flows_;
};

// Ground truth for a capture: time windows during which some hosts attack (what the loopback
// harness records). A packet in a window from or to one of its hosts is an attack packet of
// that window's phase; any other packet is normal, of the phase of the window it falls in (or
// "normal").
struct TruthWindow {
  std::string phase;
  std::int64_t start_ns = 0;
  std::int64_t end_ns = 0;
  std::vector<std::string> hosts;
};
// A JSON array of {"phase", "start_ns", "end_ns", "hosts": [...]} (times as integers or decimal
// strings). Errors: kInvalidArgument naming the element and field.
[[nodiscard]] Result<std::vector<TruthWindow>> parse_truth(std::string_view json);
// Sets p.phase and p.attack from the windows.
void label(Packet& p, const std::vector<TruthWindow>& windows);

// A capture as detector records, one JSON line at a time: its packets, or its flows (each line
// at the flow's end; `flows`), labelled from `truth` when given (to_json's "label"). What
// `witness detect --pcap` and `witness pcap` read.
struct CaptureOptions {
  bool flows = false;
  std::int64_t flow_idle_ns = 60'000'000'000;
  std::optional<std::vector<TruthWindow>> truth;
};
class CaptureRecords {
 public:
  // Errors: CaptureReader::open's.
  [[nodiscard]] static Result<CaptureRecords> open(const std::string& path,
                                                   CaptureOptions options = {});
  // The next record; false at the end. Errors: CaptureReader::next's.
  [[nodiscard]] Result<bool> next(std::string& line);
  [[nodiscard]] const CaptureReader& reader() const { return reader_; }

 private:
  CaptureRecords(CaptureReader r, CaptureOptions o)
      : reader_(std::move(r)), options_(std::move(o)) {}
  CaptureReader reader_;
  CaptureOptions options_;
  FlowTable flows_{options_.flow_idle_ns};
  std::vector<std::string> ready_;  // flow lines waiting, in reverse
  bool ended_ = false;
};

}  // namespace witness::detect
