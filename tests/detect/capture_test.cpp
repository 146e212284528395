// Captures (issue 17): frames decoded by hand-built bytes, pcap files written by libpcap and a
// pcapng file written byte by byte from the pcapng specification (libpcap cannot write one),
// flows, ground-truth windows.
#include "witness/detect/capture.hpp"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <pcap/pcap.h>

#include "witness/detect/detector.hpp"

namespace detect = witness::detect;

namespace {

using Bytes = std::string;

void put16(Bytes& b, unsigned v) {
  b += static_cast<char>((v >> 8U) & 0xFFU);
  b += static_cast<char>(v & 0xFFU);
}
void put32le(Bytes& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    b += static_cast<char>((v >> (8U * static_cast<unsigned>(i))) & 0xFFU);
}

// An IPv4 packet: header (20 bytes, no options) and a TCP (20) or UDP (8) header, no payload
// beyond `extra` zero bytes.
Bytes ipv4(const char* proto, const unsigned char src[4], const unsigned char dst[4],
           unsigned sport, unsigned dport, unsigned char tcp_flags = 0, unsigned extra = 0,
           unsigned char ttl = 64) {
  const bool tcp = std::strcmp(proto, "tcp") == 0;
  const unsigned l4 = tcp ? 20 : 8;
  Bytes b;
  b += static_cast<char>(0x45);
  b += '\0';
  put16(b, 20 + l4 + extra);
  put16(b, 0x1234);
  put16(b, 0x4000);  // DF, offset 0
  b += static_cast<char>(ttl);
  b += static_cast<char>(tcp ? 6 : 17);
  put16(b, 0);
  b.append(reinterpret_cast<const char*>(src), 4);
  b.append(reinterpret_cast<const char*>(dst), 4);
  put16(b, sport);
  put16(b, dport);
  if (tcp) {
    b.append(8, '\0');  // seq, ack
    b += static_cast<char>(0x50);
    b += static_cast<char>(tcp_flags);
    b.append(6, '\0');
  } else {
    put16(b, 8 + extra);
    put16(b, 0);
  }
  b.append(extra, '\0');
  return b;
}
Bytes ethernet(const Bytes& payload, unsigned ethertype = 0x0800, bool vlan = false) {
  Bytes b(12, '\x02');
  if (vlan) {
    put16(b, 0x8100);
    put16(b, 7);
  }
  put16(b, ethertype);
  return b + payload;
}

const unsigned char kA[4] = {10, 0, 0, 1};
const unsigned char kB[4] = {10, 0, 0, 2};

std::string temp_path(const char* name) {
  return (std::string(std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR") : "/tmp") + "/" +
          name + "-" + std::to_string(::getpid()));
}

}  // namespace

TEST_CASE("frames: Ethernet, VLAN, Linux cooked, raw IPv6; what is not IP is skipped") {
  auto p = detect::decode_frame(DLT_EN10MB, 7, ethernet(ipv4("tcp", kA, kB, 40000, 443, 0x02)));
  REQUIRE(p);
  CHECK(p->ts == 7);
  CHECK(p->proto == "tcp");
  CHECK(p->src_ip == "10.0.0.1");
  CHECK(p->dst_ip == "10.0.0.2");
  CHECK(p->src_port == 40000);
  CHECK(p->dst_port == 443);
  CHECK(p->flags == "S");
  CHECK(p->size == 40);
  CHECK(p->ttl == 64);
  p = detect::decode_frame(DLT_EN10MB, 0,
                           ethernet(ipv4("tcp", kB, kA, 443, 40000, 0x12), 0x0800, true));
  REQUIRE(p);
  CHECK(p->flags == "SA");
  p = detect::decode_frame(DLT_EN10MB, 0, ethernet(ipv4("tcp", kB, kA, 1, 2, 0x29)));  // F P U
  REQUIRE(p);
  CHECK(p->flags == "FPU");
  // Linux cooked (tcpdump -i any): 16 bytes, the protocol at 14.
  Bytes sll(14, '\0');
  put16(sll, 0x0800);
  p = detect::decode_frame(DLT_LINUX_SLL, 0, sll + ipv4("udp", kA, kB, 5353, 53, 0, 30));
  REQUIRE(p);
  CHECK(p->proto == "udp");
  CHECK(p->size == 58);
  CHECK(p->flags.empty());
  // Raw IPv6, UDP.
  Bytes v6;
  v6 += static_cast<char>(0x60);
  v6.append(3, '\0');
  put16(v6, 8);
  v6 += static_cast<char>(17);
  v6 += static_cast<char>(55);
  Bytes a(16, '\0');
  a[0] = '\x20';
  a[1] = '\x01';
  a[2] = '\x0d';
  a[3] = '\xb8';
  a[15] = '\x01';
  Bytes c = a;
  c[15] = '\x02';
  v6 += a + c;
  put16(v6, 1000);
  put16(v6, 53);
  put16(v6, 8);
  put16(v6, 0);
  p = detect::decode_frame(DLT_RAW, 0, v6);
  REQUIRE(p);
  CHECK(p->src_ip == "2001:db8::1");
  CHECK(p->dst_ip == "2001:db8::2");
  CHECK(p->ttl == 55);
  CHECK(p->size == 48);
  CHECK(p->dst_port == 53);
  // ARP, a truncated IP header, an unknown link type.
  CHECK_FALSE(detect::decode_frame(DLT_EN10MB, 0, ethernet(Bytes(28, '\0'), 0x0806)));
  CHECK_FALSE(detect::decode_frame(DLT_EN10MB, 0, ethernet(Bytes("\x45\x00", 2))));
  CHECK_FALSE(detect::decode_frame(9999, 0, ipv4("tcp", kA, kB, 1, 2)));
}

TEST_CASE("a pcap file written by libpcap reads back, nanoseconds and all") {
  const std::string path = temp_path("witness-capture.pcap");
  pcap_t* dead =
      pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
  REQUIRE(dead != nullptr);
  pcap_dumper_t* dump = pcap_dump_open(dead, path.c_str());
  REQUIRE(dump != nullptr);
  const std::vector<Bytes> frames = {ethernet(ipv4("tcp", kA, kB, 40000, 80, 0x02)),
                                     ethernet(Bytes(28, '\0'), 0x0806),
                                     ethernet(ipv4("udp", kA, kB, 40001, 53, 0, 20))};
  for (std::size_t i = 0; i < frames.size(); ++i) {
    pcap_pkthdr h{};
    h.ts.tv_sec = 1'800'000'000;
    h.ts.tv_usec = static_cast<decltype(h.ts.tv_usec)>(123'456'789 + i);  // ns (nano file)
    h.caplen = static_cast<bpf_u_int32>(frames[i].size());
    h.len = h.caplen;
    pcap_dump(reinterpret_cast<u_char*>(dump), &h,
              reinterpret_cast<const u_char*>(frames[i].data()));
  }
  pcap_dump_close(dump);
  pcap_close(dead);

  auto r = detect::CaptureReader::open(path);
  REQUIRE(r);
  CHECK(r->link_type() == "EN10MB");
  detect::Packet p;
  REQUIRE(r->next(p).value());
  CHECK(p.ts == 1'800'000'000'123'456'789);
  CHECK(p.dst_port == 80);
  REQUIRE(r->next(p).value());
  CHECK(p.proto == "udp");
  CHECK(p.ts == 1'800'000'000'123'456'791);
  CHECK_FALSE(r->next(p).value());
  CHECK(r->frames() == 3);
  CHECK(r->skipped() == 1);

  // As records, and as a detector's input.
  auto rec = detect::CaptureRecords::open(path);
  REQUIRE(rec);
  std::string line;
  REQUIRE(rec->next(line).value());
  CHECK(
      line ==
      R"({"ts":1800000000123456789,"proto":"tcp","src_ip":"10.0.0.1","dst_ip":"10.0.0.2","src_port":40000,"dst_port":80,"flags":"S","size":40,"ttl":64})");
  std::remove(path.c_str());

  CHECK_FALSE(detect::CaptureReader::open(path));  // gone
  std::ofstream(path) << "not a capture";
  auto bad = detect::CaptureReader::open(path);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains(path));
  std::remove(path.c_str());
}

TEST_CASE("a pcapng file, written from the specification byte by byte, reads back") {
  // Section Header Block, Interface Description Block (Ethernet, if_tsresol 9: ns), one
  // Enhanced Packet Block (little-endian, as written on x86).
  Bytes f;
  auto block = [&](std::uint32_t type, const Bytes& body) {
    const auto len = static_cast<std::uint32_t>(12 + body.size());
    put32le(f, type);
    put32le(f, len);
    f += body;
    put32le(f, len);
  };
  Bytes shb;
  put32le(shb, 0x1A2B3C4D);
  shb += '\x01';
  shb += '\0';
  shb += '\0';
  shb += '\0';            // version 1.0
  shb.append(8, '\xff');  // section length unknown
  block(0x0A0D0D0A, shb);
  Bytes idb;
  idb += '\x01';
  idb += '\0';  // LINKTYPE_ETHERNET
  idb.append(2, '\0');
  put32le(idb, 65535);  // snaplen
  idb += '\x09';
  idb += '\0';  // option if_tsresol
  idb += '\x01';
  idb += '\0';
  idb += '\x09';  // 10^-9
  idb.append(3, '\0');
  put32le(idb, 0);  // opt_endofopt
  block(0x00000001, idb);
  const Bytes frame = ethernet(ipv4("tcp", kB, kA, 22, 50000, 0x18, 10));
  const std::uint64_t ts = 1'800'000'000'000'000'042ULL;
  Bytes epb;
  put32le(epb, 0);  // interface 0
  put32le(epb, static_cast<std::uint32_t>(ts >> 32U));
  put32le(epb, static_cast<std::uint32_t>(ts & 0xFFFFFFFFU));
  put32le(epb, static_cast<std::uint32_t>(frame.size()));
  put32le(epb, static_cast<std::uint32_t>(frame.size()));
  epb += frame;
  epb.append((4 - frame.size() % 4) % 4, '\0');
  block(0x00000006, epb);
  const std::string path = temp_path("witness-capture.pcapng");
  std::ofstream(path, std::ios::binary) << f;

  auto r = detect::CaptureReader::open(path);
  REQUIRE(r);
  detect::Packet p;
  REQUIRE(r->next(p).value());
  CHECK(p.ts == 1'800'000'000'000'000'042);
  CHECK(p.flags == "PA");
  CHECK(p.src_port == 22);
  CHECK(p.size == 50);
  CHECK_FALSE(r->next(p).value());
  std::remove(path.c_str());
}

TEST_CASE("flows: a connection from SYN to FIN is one record, idle conversations expire") {
  detect::FlowTable t(5'000'000'000);
  auto pkt = [](std::int64_t ts, bool out, const char* flags, std::int64_t size) {
    detect::Packet p;
    p.ts = ts;
    p.proto = "tcp";
    p.src_ip = out ? "10.0.0.1" : "10.0.0.2";
    p.dst_ip = out ? "10.0.0.2" : "10.0.0.1";
    p.src_port = out ? 40000 : 443;
    p.dst_port = out ? 443 : 40000;
    p.flags = flags;
    p.size = size;
    return p;
  };
  std::vector<detect::Flow> done;
  for (const auto& p : {pkt(1, true, "S", 60), pkt(2, false, "SA", 60), pkt(3, true, "A", 52),
                        pkt(4, true, "PA", 400), pkt(5, false, "PA", 1500), pkt(6, true, "FA", 52),
                        pkt(7, false, "FA", 52), pkt(8, true, "A", 52)}) {
    for (auto& f : t.add(p)) done.push_back(std::move(f));
  }
  REQUIRE(done.size() == 1);
  const auto& f = done.front();
  CHECK(f.src_ip == "10.0.0.1");
  CHECK(f.dst_port == 443);
  CHECK(f.packets_out == 5);
  CHECK(f.packets_in == 3);
  CHECK(f.bytes_in == 1612);
  CHECK(f.flags == "FSPA");
  CHECK(t.open() == 0);
  CHECK(
      detect::to_json(f, false) ==
      R"({"ts":8,"proto":"tcp","src_ip":"10.0.0.1","dst_ip":"10.0.0.2","src_port":40000,"dst_port":443,"flags":"FSPA","packets":8,"bytes":2228,"packets_in":3,"bytes_in":1612,"duration_ms":7e-06})");
  // A UDP exchange stays open until idle; a later packet sweeps it out.
  detect::Packet u = pkt(10, true, "", 80);
  u.proto = "udp";
  u.flags.clear();
  CHECK(t.add(u).empty());
  u.ts = 10'000'000'000;
  u.src_port = 1;
  const auto expired = t.add(u);
  REQUIRE(expired.size() == 1);
  CHECK(expired.front().proto == "udp");
  CHECK(t.finish().size() == 1);
}

TEST_CASE("ground-truth windows label packets; bad windows are named") {
  auto w = detect::parse_truth(
      R"([{"phase":"scan","start_ns":100,"end_ns":"200","hosts":["10.0.0.9"]}])");
  REQUIRE(w);
  detect::Packet p;
  p.ts = 150;
  p.src_ip = "10.0.0.9";
  detect::label(p, *w);
  CHECK(p.phase == "scan");
  CHECK(p.attack);
  p.src_ip = "10.0.0.1";
  detect::label(p, *w);
  CHECK(p.phase == "scan");
  CHECK_FALSE(p.attack);
  p.ts = 300;
  detect::label(p, *w);
  CHECK(p.phase == "normal");
  auto bad = detect::parse_truth(R"([{"phase":"x","start_ns":5}])");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("truth[0].end_ns"));
  CHECK_FALSE(detect::parse_truth(R"([{"phase":"x","start_ns":5,"end_ns":1}])"));
  CHECK_FALSE(detect::parse_truth("{}"));
}
