// Captures through libpcap (private to this file), frames decoded by hand: the link header,
// then IPv4 or IPv6, then TCP, UDP or ICMP. See capture.hpp.
#include "witness/detect/capture.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include <nlohmann/json.hpp>
#include <pcap/pcap.h>

namespace witness::detect {
namespace {

std::uint16_t be16(const unsigned char* p) {
  return static_cast<std::uint16_t>((std::uint16_t{p[0]} << 8U) | p[1]);
}
std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24U) | (std::uint32_t{p[1]} << 16U) | (std::uint32_t{p[2]} << 8U) |
         p[3];
}

std::string ipv4_text(const unsigned char* a) {
  return std::to_string(a[0]) + "." + std::to_string(a[1]) + "." + std::to_string(a[2]) + "." +
         std::to_string(a[3]);
}
// RFC 5952: lower-case hex, the longest run of zero groups (two or more) as "::".
std::string ipv6_text(const unsigned char* a) {
  std::array<std::uint16_t, 8> g{};
  for (std::size_t i = 0; i < 8; ++i) g[i] = be16(a + 2 * i);
  int best = -1;
  int best_len = 0;
  for (int i = 0; i < 8;) {
    if (g[static_cast<std::size_t>(i)] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[static_cast<std::size_t>(j)] == 0) ++j;
    if (j - i > best_len && j - i >= 2) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  std::string out;
  char buf[8];
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    std::snprintf(buf, sizeof buf, "%x", g[static_cast<std::size_t>(i)]);
    out += buf;
  }
  return out;
}

std::string flags_text(unsigned char f) {
  // F S R P A U E C, as the traffic models write them.
  static constexpr std::array<std::pair<unsigned char, char>, 8> kOrder{{{0x01, 'F'},
                                                                         {0x02, 'S'},
                                                                         {0x04, 'R'},
                                                                         {0x08, 'P'},
                                                                         {0x10, 'A'},
                                                                         {0x20, 'U'},
                                                                         {0x40, 'E'},
                                                                         {0x80, 'C'}}};
  std::string out;
  for (const auto& [bit, ch] : kOrder) {
    if ((f & bit) != 0) out += ch;
  }
  return out;
}

// The transport header at `p` (n bytes) of protocol `proto`.
void transport(Packet& out, int proto, const unsigned char* p, std::size_t n, bool first_fragment) {
  switch (proto) {
    case 6:
      out.proto = "tcp";
      if (first_fragment && n >= 14) {
        out.src_port = be16(p);
        out.dst_port = be16(p + 2);
        out.flags = flags_text(p[13]);
      }
      break;
    case 17:
      out.proto = "udp";
      if (first_fragment && n >= 4) {
        out.src_port = be16(p);
        out.dst_port = be16(p + 2);
      }
      break;
    case 1:
      out.proto = "icmp";
      break;
    case 58:
      out.proto = "icmp6";
      break;
    default:
      out.proto = std::to_string(proto);
      break;
  }
}

std::optional<Packet> decode_ip(std::int64_t ts, const unsigned char* p, std::size_t n) {
  if (n < 1) return std::nullopt;
  Packet out;
  out.ts = ts;
  const unsigned version = p[0] >> 4U;
  if (version == 4) {
    if (n < 20) return std::nullopt;
    const std::size_t ihl = std::size_t{p[0] & 0x0FU} * 4;
    if (ihl < 20 || n < ihl) return std::nullopt;
    out.size = be16(p + 2);
    out.ttl = p[8];
    out.src_ip = ipv4_text(p + 12);
    out.dst_ip = ipv4_text(p + 16);
    const bool first = (be16(p + 6) & 0x1FFFU) == 0;
    transport(out, p[9], p + ihl, n - ihl, first);
    return out;
  }
  if (version == 6) {
    if (n < 40) return std::nullopt;
    out.size = 40 + be16(p + 4);
    out.ttl = p[7];
    out.src_ip = ipv6_text(p + 8);
    out.dst_ip = ipv6_text(p + 24);
    // Skip the extension headers that carry no payload of their own.
    int next = p[6];
    std::size_t off = 40;
    bool first = true;
    while ((next == 0 || next == 43 || next == 60 || next == 44) && off + 8 <= n) {
      if (next == 44) first = (be16(p + off + 2) & 0xFFF8U) == 0;  // fragment offset
      const std::size_t len = next == 44 ? 8 : (std::size_t{p[off + 1]} + 1) * 8;
      next = p[off];
      off += len;
    }
    if (off > n) return std::nullopt;
    transport(out, next, p + off, n - off, first);
    return out;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Packet> decode_frame(int dlt, std::int64_t ts_ns, std::string_view frame) {
  const auto* p = static_cast<const unsigned char*>(static_cast<const void*>(frame.data()));
  std::size_t n = frame.size();
  std::uint16_t ethertype = 0;
  switch (dlt) {
    case DLT_EN10MB: {
      if (n < 14) return std::nullopt;
      std::size_t off = 12;
      ethertype = be16(p + off);
      while ((ethertype == 0x8100 || ethertype == 0x88A8) && off + 6 <= n) {  // VLAN tags
        off += 4;
        ethertype = be16(p + off);
      }
      off += 2;
      p += off;
      n -= off;
      break;
    }
    case DLT_LINUX_SLL:
      if (n < 16) return std::nullopt;
      ethertype = be16(p + 14);
      p += 16;
      n -= 16;
      break;
    case DLT_LINUX_SLL2:
      if (n < 20) return std::nullopt;
      ethertype = be16(p);
      p += 20;
      n -= 20;
      break;
    case DLT_NULL:
    case DLT_LOOP: {
      if (n < 4) return std::nullopt;
      // The address family, in the capturing host's byte order (NULL) or big-endian (LOOP).
      std::uint32_t family = 0;
      std::memcpy(&family, p, 4);
      const std::uint32_t big = be32(p);
      const bool v4 = family == 2 || big == 2;
      const bool v6 =
          family == 24 || family == 28 || family == 30 || big == 24 || big == 28 || big == 30;
      if (!v4 && !v6) return std::nullopt;
      ethertype = v4 ? 0x0800 : 0x86DD;
      p += 4;
      n -= 4;
      break;
    }
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
      ethertype = n > 0 && (p[0] >> 4U) == 6 ? 0x86DD : 0x0800;
      break;
    default:
      return std::nullopt;
  }
  if (ethertype != 0x0800 && ethertype != 0x86DD) return std::nullopt;
  return decode_ip(ts_ns, p, n);
}

// ---- reader
// ---------------------------------------------------------------------------------------

struct CaptureReader::Impl {
  pcap_t* handle = nullptr;
  int dlt = 0;
  std::uint64_t frames = 0;
  std::uint64_t skipped = 0;
  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  Impl(Impl&&) = delete;
  Impl& operator=(Impl&&) = delete;
  ~Impl() {
    if (handle != nullptr) pcap_close(handle);
  }
};

CaptureReader::CaptureReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CaptureReader::CaptureReader(CaptureReader&&) noexcept = default;
CaptureReader& CaptureReader::operator=(CaptureReader&&) noexcept = default;
CaptureReader::~CaptureReader() = default;

Result<CaptureReader> CaptureReader::open(const std::string& path) {
  std::array<char, PCAP_ERRBUF_SIZE> err{};
  pcap_t* h =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err.data());
  if (h == nullptr) {
    const std::string why(err.data());
    if (why.find("No such file") != std::string::npos) {
      return not_found("capture " + path + ": " + why);
    }
    return invalid_argument("capture " + path + ": " + why);
  }
  auto impl = std::make_unique<Impl>();
  impl->handle = h;
  impl->dlt = pcap_datalink(h);
  switch (impl->dlt) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_NULL:
    case DLT_LOOP:
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
      break;
    default: {
      const char* name = pcap_datalink_val_to_name(impl->dlt);
      return invalid_argument("capture " + path + ": link type " +
                              (name != nullptr ? std::string(name) : std::to_string(impl->dlt)) +
                              " is not one witness reads (Ethernet, Linux cooked, raw IP, null)");
    }
  }
  return CaptureReader(std::move(impl));
}

Result<bool> CaptureReader::next(Packet& out) {
  while (true) {
    pcap_pkthdr* hdr = nullptr;
    const unsigned char* data = nullptr;
    const int rc = pcap_next_ex(impl_->handle, &hdr, &data);
    if (rc == PCAP_ERROR_BREAK) return false;  // the end of the file
    if (rc != 1) {
      return corruption(std::string("capture: ") + pcap_geterr(impl_->handle) + " after frame " +
                        std::to_string(impl_->frames));
    }
    ++impl_->frames;
    const std::int64_t ts =
        static_cast<std::int64_t>(hdr->ts.tv_sec) * 1'000'000'000 + hdr->ts.tv_usec;  // ns
    auto p = decode_frame(
        impl_->dlt, ts,
        std::string_view(static_cast<const char*>(static_cast<const void*>(data)), hdr->caplen));
    if (!p) {
      ++impl_->skipped;
      continue;
    }
    out = std::move(*p);
    return true;
  }
}

std::uint64_t CaptureReader::frames() const { return impl_->frames; }
std::uint64_t CaptureReader::skipped() const { return impl_->skipped; }
std::string CaptureReader::link_type() const {
  const char* name = pcap_datalink_val_to_name(impl_->dlt);
  return name != nullptr ? name : std::to_string(impl_->dlt);
}

// ---- flows
// ----------------------------------------------------------------------------------------

std::string to_json(const Flow& f, bool with_label) {
  nlohmann::ordered_json j;
  j["ts"] = f.last_ts;
  j["proto"] = f.proto;
  j["src_ip"] = f.src_ip;
  j["dst_ip"] = f.dst_ip;
  if (f.proto == "tcp" || f.proto == "udp") {
    j["src_port"] = f.src_port;
    j["dst_port"] = f.dst_port;
  }
  if (!f.flags.empty()) j["flags"] = f.flags;
  j["packets"] = f.packets_out + f.packets_in;
  j["bytes"] = f.bytes_out + f.bytes_in;
  j["packets_in"] = f.packets_in;
  j["bytes_in"] = f.bytes_in;
  j["duration_ms"] = static_cast<double>(f.last_ts - f.first_ts) / 1e6;
  if (with_label) j["label"] = {{"phase", f.phase}, {"attack", f.attack}};
  return j.dump();
}

namespace {
std::string merge_flags(const std::string& a, const std::string& b) {
  static constexpr std::string_view kOrder = "FSRPAUEC";
  std::string out;
  for (const char ch : kOrder) {
    if (a.find(ch) != std::string::npos || b.find(ch) != std::string::npos) out += ch;
  }
  return out;
}
}  // namespace

std::vector<Flow> FlowTable::expire(std::int64_t now) {
  std::vector<Flow> out;
  for (auto it = flows_.begin(); it != flows_.end();) {
    if (now - it->second.flow.last_ts > idle_ns_) {
      out.push_back(std::move(it->second.flow));
      it = flows_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::vector<Flow> FlowTable::add(const Packet& p) {
  std::vector<Flow> out;
  // Idle flows go at most once per second of capture time.
  if (p.ts - last_sweep_ > 1'000'000'000) {
    out = expire(p.ts);
    last_sweep_ = p.ts;
  }
  const FlowKey fwd{p.proto, p.src_ip, p.src_port, p.dst_ip, p.dst_port};
  const FlowKey rev{p.proto, p.dst_ip, p.dst_port, p.src_ip, p.src_port};
  auto it = flows_.find(fwd);
  bool outbound = true;
  if (it == flows_.end()) {
    it = flows_.find(rev);
    outbound = false;
  }
  if (it == flows_.end()) {
    Open o;
    // A SYN+ACK seen first: its receiver initiated.
    const bool reply = p.flags == "SA";
    o.flow.first_ts = p.ts;
    o.flow.proto = p.proto;
    o.flow.src_ip = reply ? p.dst_ip : p.src_ip;
    o.flow.dst_ip = reply ? p.src_ip : p.dst_ip;
    o.flow.src_port = reply ? p.dst_port : p.src_port;
    o.flow.dst_port = reply ? p.src_port : p.dst_port;
    o.flow.phase = p.phase;
    it = flows_.emplace(reply ? rev : fwd, std::move(o)).first;
    outbound = !reply;
  }
  Open& o = it->second;
  Flow& f = o.flow;
  f.last_ts = std::max(f.last_ts, p.ts);
  (outbound ? f.packets_out : f.packets_in) += 1;
  (outbound ? f.bytes_out : f.bytes_in) +=
      static_cast<std::uint64_t>(std::max<std::int64_t>(0, p.size));
  f.flags = merge_flags(f.flags, p.flags);
  f.attack = f.attack || p.attack;
  if (p.flags.find('F') != std::string::npos) (outbound ? o.fin_out : o.fin_in) = true;
  const bool reset = p.flags.find('R') != std::string::npos;
  if (reset || (o.fin_out && o.fin_in && p.flags.find('A') != std::string::npos &&
                p.flags.find('F') == std::string::npos)) {
    out.push_back(std::move(f));
    flows_.erase(it);
  }
  return out;
}

std::vector<Flow> FlowTable::finish() {
  std::vector<Flow> out;
  out.reserve(flows_.size());
  for (auto& [k, o] : flows_) out.push_back(std::move(o.flow));
  flows_.clear();
  std::sort(out.begin(), out.end(),
            [](const Flow& a, const Flow& b) { return a.last_ts < b.last_ts; });
  return out;
}

// ---- ground truth
// ---------------------------------------------------------------------------------

Result<std::vector<TruthWindow>> parse_truth(std::string_view json) {
  const auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_array()) {
    return invalid_argument("truth: not a JSON array of windows");
  }
  std::vector<TruthWindow> out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const auto& w = j[i];
    const std::string where = "truth[" + std::to_string(i) + "]";
    if (!w.is_object()) return invalid_argument(where + ": not an object");
    TruthWindow t;
    auto phase = w.find("phase");
    if (phase == w.end() || !phase->is_string()) {
      return invalid_argument(where + ".phase: a string is required");
    }
    t.phase = phase->get<std::string>();
    for (const char* field : {"start_ns", "end_ns"}) {
      auto v = w.find(field);
      std::int64_t x = 0;
      if (v != w.end() && v->is_number_integer()) {
        x = v->get<std::int64_t>();
      } else if (v != w.end() && v->is_string()) {
        try {
          std::size_t used = 0;
          x = std::stoll(v->get<std::string>(), &used);
          if (used != v->get<std::string>().size()) throw std::invalid_argument("trailing");
        } catch (const std::exception&) {
          return invalid_argument(where + "." + field + ": not an integer");
        }
      } else {
        return invalid_argument(where + "." + field + ": an integer (ns) is required");
      }
      (std::string_view(field) == "start_ns" ? t.start_ns : t.end_ns) = x;
    }
    if (t.end_ns < t.start_ns) return invalid_argument(where + ": end_ns is before start_ns");
    if (auto h = w.find("hosts"); h != w.end()) {
      if (!h->is_array()) return invalid_argument(where + ".hosts: a list of addresses");
      for (const auto& a : *h) {
        if (!a.is_string()) return invalid_argument(where + ".hosts: a list of addresses");
        t.hosts.push_back(a.get<std::string>());
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

void label(Packet& p, const std::vector<TruthWindow>& windows) {
  p.phase = "normal";
  p.attack = false;
  for (const auto& w : windows) {
    if (p.ts < w.start_ns || p.ts > w.end_ns) continue;
    p.phase = w.phase;
    const bool host = w.hosts.empty() || std::ranges::any_of(w.hosts, [&](const std::string& h) {
                        return h == p.src_ip || h == p.dst_ip;
                      });
    if (host) {
      p.attack = true;
      return;
    }
  }
}

// ---- records
// ---------------------------------------------------------------------------------------

Result<CaptureRecords> CaptureRecords::open(const std::string& path, CaptureOptions options) {
  WITNESS_ASSIGN_OR_RETURN(CaptureReader r, CaptureReader::open(path));
  return CaptureRecords(std::move(r), std::move(options));
}

Result<bool> CaptureRecords::next(std::string& line) {
  const bool labelled = options_.truth.has_value();
  while (true) {
    if (!ready_.empty()) {
      line = std::move(ready_.back());
      ready_.pop_back();
      return true;
    }
    if (ended_) return false;
    Packet p;
    WITNESS_ASSIGN_OR_RETURN(bool more, reader_.next(p));
    if (labelled) label(p, *options_.truth);
    if (!options_.flows) {
      if (!more) {
        ended_ = true;
        return false;
      }
      line = to_json(p, labelled);
      return true;
    }
    std::vector<Flow> done = more ? flows_.add(p) : flows_.finish();
    if (!more) ended_ = true;
    // Flows that ended together leave in the order they ended (by their last packet).
    std::stable_sort(done.begin(), done.end(),
                     [](const Flow& a, const Flow& b) { return a.last_ts > b.last_ts; });
    for (const Flow& f : done) ready_.push_back(to_json(f, labelled));
  }
}

}  // namespace witness::detect
