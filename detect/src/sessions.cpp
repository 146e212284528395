// The connection-structured traffic model (SPEC 6.7, issue 17): packets come from sessions, not
// from independent draws. See traffic.hpp for the scenarios; this file is the model.
//
// Hosts. 4,000 client addresses in 10.20.0.0/20, of which a Zipf-weighted population is active
// (a few heavy users, a long tail); each client keeps its OS's initial TTL (64 or 128) less 1-3
// hops and its own round-trip time (log-normal, median 8 ms). Servers in 10.30.0.0/23: four web
// servers (tcp/443, tcp/80), an API (tcp/8080), DNS (udp/53), SSH (tcp/22), mail (tcp/25,
// tcp/587), NTP (udp/123), and a database (tcp/5432) that only the API talks to.
//
// Sessions. Activities arrive as a Poisson process whose rate follows the scenario's curve (a
// working day compressed into the scenario, a doubled load, a ramp): a page load (a DNS query,
// then 2-6 parallel TCP connections to one web server, each with 1-5 request/response exchanges:
// the bursts), an API call (and the API's database queries), an SSH session (keystrokes for
// 5-60 s), a mail submission, an NTP poll, a ping. A TCP connection is a handshake (S, SA, A),
// requests (PA, 52 + 150-750 bytes), responses in 1,448-byte segments acknowledged every second
// one, and a teardown (FA, FA, A). Times come from the client's round-trip time and the
// server's think time. Sizes are IP total lengths.
//
// Every packet is emitted in time order: a session's packets go into a heap, and a packet
// leaves it once no session that starts later can emit one before it.
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "witness/detect/traffic.hpp"

#include "rng.hpp"

namespace witness::detect {
namespace {

constexpr std::int64_t kSecond = 1'000'000'000;
constexpr double kMs = 1e6;  // ns per ms

struct Client {
  std::string ip;
  std::int64_t ttl = 64;
  double rtt_ms = 8;
};

struct Service {
  const char* server;
  const char* proto;
  std::int64_t port;
};

constexpr Service kWeb[] = {{"10.30.0.10", "tcp", 443},
                            {"10.30.0.11", "tcp", 443},
                            {"10.30.0.12", "tcp", 443},
                            {"10.30.0.13", "tcp", 80}};
constexpr Service kApi{"10.30.0.20", "tcp", 8080};
constexpr Service kDb{"10.30.1.5", "tcp", 5432};
constexpr Service kDns{"10.30.0.53", "udp", 53};
constexpr Service kSsh{"10.30.0.22", "tcp", 22};
constexpr Service kMail[] = {{"10.30.0.25", "tcp", 25}, {"10.30.0.25", "tcp", 587}};
constexpr Service kNtp{"10.30.0.123", "udp", 123};
// The drift scenario's new service.
constexpr Service kNewService{"10.30.0.40", "tcp", 8443};
// The flood's and slowloris' victim: the plain-HTTP web server.
constexpr const char* kVictim = "10.30.0.13";

struct Later {
  bool operator()(const Packet& a, const Packet& b) const { return a.ts > b.ts; }
};

class Model {
 public:
  Model(const Scenario& s, std::uint64_t seed, std::int64_t start)
      : s_(s), r_(seed), start_(start) {
    clients_.reserve(4000);
    for (int i = 0; i < 4000; ++i) {
      Client c;
      c.ip = "10.20." + std::to_string(i / 250) + "." + std::to_string(1 + i % 250);
      const std::int64_t os_ttl = r_.uniform() < 0.6 ? 64 : 128;
      c.ttl = os_ttl - r_.between(1, 3);
      c.rtt_ms = std::clamp(r_.lognormal(8, 0.8), 0.3, 120.0);
      clients_.push_back(std::move(c));
    }
    // Zipf weights over a shuffled order: a few heavy clients, a long tail.
    order_.resize(clients_.size());
    for (std::size_t i = 0; i < order_.size(); ++i) order_[i] = i;
    for (std::size_t i = order_.size() - 1; i > 0; --i) {
      std::swap(order_[i],
                order_[static_cast<std::size_t>(r_.between(0, static_cast<std::int64_t>(i)))]);
    }
    double total = 0;
    cumulative_.reserve(order_.size());
    for (std::size_t i = 0; i < order_.size(); ++i) {
      total += 1.0 / std::pow(static_cast<double>(i + 1), 0.9);
      cumulative_.push_back(total);
    }
  }

  void run(const std::function<void(const Packet&)>& emit) {
    std::int64_t t = start_;
    for (const Phase& phase : s_.phases) {
      const std::int64_t end = t + static_cast<std::int64_t>(phase.seconds * kSecond);
      phase_ = &phase;
      phase_start_ = t;
      phase_end_ = end;
      start_attack(t);
      // Normal activities: a Poisson process with the phase's (time-varying) rate.
      std::int64_t next_attack = attack_ ? t : end;
      while (true) {
        const double rate = activity_rate(t);
        const std::int64_t next =
            t + std::max<std::int64_t>(1, std::llround(r_.exponential(kSecond / rate)));
        while (next_attack < std::min(next, end)) {
          flush(next_attack, emit);
          next_attack = attack_step(next_attack);
        }
        if (next >= end) break;
        t = next;
        flush(t, emit);
        activity(t);
      }
      t = end;
      flush(t, emit);
    }
    flush(std::numeric_limits<std::int64_t>::max(), emit);
  }

 private:
  // ---- rates ----

  // Activities per second: the scenario's base rate times the day curve, the phase's load factor
  // (ramping from `rate` to `end_rate`).
  [[nodiscard]] double activity_rate(std::int64_t t) const {
    const double f = phase_end_ > phase_start_ ? static_cast<double>(t - phase_start_) /
                                                     static_cast<double>(phase_end_ - phase_start_)
                                               : 0;
    const double load =
        phase_->rate +
        ((phase_->end_rate > 0 ? phase_->end_rate : phase_->rate) - phase_->rate) * f;
    double day = 1;
    if (s_.day_seconds > 0) {
      // A working day: quiet at night, a morning rise, a lunch dip, an evening fall.
      const double h = std::fmod(static_cast<double>(t - start_) / 1e9 / s_.day_seconds, 1.0) * 24;
      day = 0.15 + 0.85 * std::exp(-std::pow((h - 11) / 3.5, 2)) +
            0.7 * std::exp(-std::pow((h - 15.5) / 2.5, 2)) -
            0.25 * std::exp(-std::pow((h - 13) / 0.6, 2));
      day = std::max(day, 0.1);
    }
    return kActivitiesPerSecond * load * day;
  }

  // ---- packets ----

  void flush(std::int64_t until, const std::function<void(const Packet&)>& emit) {
    while (!heap_.empty() && heap_.top().ts <= until) {
      emit(heap_.top());
      heap_.pop();
    }
  }
  void push(std::int64_t ts, const std::string& src, const std::string& dst, const char* proto,
            std::int64_t sport, std::int64_t dport, const char* flags, std::int64_t size,
            std::int64_t ttl, bool attack) {
    Packet p;
    p.ts = ts;
    p.proto = proto;
    p.src_ip = src;
    p.dst_ip = dst;
    p.src_port = sport;
    p.dst_port = dport;
    p.flags = flags;
    p.size = size;
    p.ttl = ttl;
    p.phase = phase_->name;
    p.attack = attack;
    heap_.push(std::move(p));
  }

  const Client& client() {
    const double x = r_.uniform() * cumulative_.back();
    const auto i = static_cast<std::size_t>(
        std::lower_bound(cumulative_.begin(), cumulative_.end(), x) - cumulative_.begin());
    return clients_[order_[std::min(i, order_.size() - 1)]];
  }
  std::int64_t ephemeral() { return r_.between(32768, 60999); }
  std::int64_t jitter(double ms) {
    return std::llround(std::max(0.01, r_.lognormal(ms, 0.4)) * kMs);
  }

  // One TCP connection from `c` to `s` starting at `t`; returns when it ends. Each exchange is
  // a request of `req` bytes and a response of `resp` bytes (drawn per exchange when 0).
  std::int64_t tcp(std::int64_t t, const Client& c, const Service& s, int exchanges, bool attack,
                   std::int64_t req = 0, std::int64_t resp = 0) {
    const std::string srv = s.server;
    const std::int64_t sp = ephemeral();
    const std::int64_t sttl = 64 - 1;
    const double half = c.rtt_ms / 2;
    push(t, c.ip, srv, "tcp", sp, s.port, "S", 60, c.ttl, attack);
    t += jitter(half);
    push(t, srv, c.ip, "tcp", s.port, sp, "SA", 60, sttl, attack);
    t += jitter(half);
    push(t, c.ip, srv, "tcp", sp, s.port, "A", 52, c.ttl, attack);
    for (int e = 0; e < exchanges; ++e) {
      t += jitter(e == 0 ? 0.2 : 40);
      const std::int64_t q = req > 0 ? req : r_.between(150, 750);
      push(t, c.ip, srv, "tcp", sp, s.port, "PA", 52 + q, c.ttl, attack);
      t += jitter(half);
      t += jitter(s.port == 5432 ? 1 : 6);  // the server thinks
      std::int64_t left =
          resp > 0 ? resp : std::llround(std::clamp(r_.lognormal(6000, 1.3), 200.0, 400000.0));
      int seg = 0;
      while (left > 0) {
        const std::int64_t n = std::min<std::int64_t>(left, 1448);
        left -= n;
        push(t, srv, c.ip, "tcp", s.port, sp, left > 0 ? "A" : "PA", 52 + n, sttl, attack);
        if (++seg % 2 == 0 || left == 0) {
          push(t + jitter(half), c.ip, srv, "tcp", sp, s.port, "A", 52, c.ttl, attack);
        }
        t += std::llround(0.012 * kMs * static_cast<double>(n) / 100);  // ~100 Mbit/s
      }
      t += jitter(half);
    }
    t += jitter(20);
    push(t, c.ip, srv, "tcp", sp, s.port, "FA", 52, c.ttl, attack);
    t += jitter(half);
    push(t, srv, c.ip, "tcp", s.port, sp, "FA", 52, sttl, attack);
    t += jitter(half);
    push(t, c.ip, srv, "tcp", sp, s.port, "A", 52, c.ttl, attack);
    return t;
  }

  std::int64_t udp(std::int64_t t, const Client& c, const Service& s, std::int64_t q,
                   std::int64_t a, bool attack) {
    const std::int64_t sp = s.port == 123 ? 123 : ephemeral();
    push(t, c.ip, s.server, "udp", sp, s.port, "", 28 + q, c.ttl, attack);
    t += jitter(c.rtt_ms / 2);
    t += jitter(s.port == 53 ? 2 : 0.3);
    push(t, s.server, c.ip, "udp", s.port, sp, "", 28 + a, 63, attack);
    return t;
  }
  std::int64_t dns(std::int64_t t, const Client& c) {
    const std::int64_t q = r_.between(30, 70);
    return udp(t, c, kDns, q, r_.between(50, 260), false);
  }

  void activity(std::int64_t t) {
    const Client& c = client();
    const bool drift = r_.uniform() < phase_->drift_share;
    if (drift) {  // the new service, used like the others
      t = dns(t, c);
      t += jitter(0.5);
      for (int i = 0, n = static_cast<int>(r_.between(1, 3)); i < n; ++i) {
        const std::int64_t at = t + jitter(3);
        tcp(at, c, kNewService, static_cast<int>(r_.between(1, 4)), false);
      }
      return;
    }
    switch (r_.pick({55, 14, 3, 3, 8, 2})) {
      case 0: {  // a page load: DNS, then parallel connections to one web server
        t = dns(t, c);
        t += jitter(0.5);
        const Service& w = kWeb[r_.pick({30, 30, 25, 15})];
        for (int i = 0, n = static_cast<int>(r_.between(2, 6)); i < n; ++i) {
          const std::int64_t at = t + jitter(2);
          tcp(at, c, w, static_cast<int>(r_.between(1, 5)), false);
        }
        break;
      }
      case 1: {  // an API call, and the API's queries to the database
        const int calls = static_cast<int>(r_.between(1, 3));
        tcp(t, c, kApi, calls, false, 0, r_.between(300, 4000));
        static const Client kApiClient{"10.30.0.20", 63, 0.3};
        const std::int64_t at = t + jitter(2);
        const int queries = static_cast<int>(r_.between(1, 6));
        tcp(at, kApiClient, kDb, queries, false, 0, r_.between(100, 3000));
        break;
      }
      case 2: {  // an SSH session: keystrokes and echoes
        const std::int64_t end = t + r_.between(5, 60) * kSecond;
        const std::int64_t sp = ephemeral();
        const std::string srv = kSsh.server;
        push(t, c.ip, srv, "tcp", sp, 22, "S", 60, c.ttl, false);
        push(t + jitter(c.rtt_ms), srv, c.ip, "tcp", 22, sp, "SA", 60, 63, false);
        std::int64_t k = t + jitter(c.rtt_ms * 1.5);
        push(k, c.ip, srv, "tcp", sp, 22, "A", 52, c.ttl, false);
        while (k < end) {
          k += std::llround(r_.exponential(0.25e9));
          push(k, c.ip, srv, "tcp", sp, 22, "PA", 52 + 36, c.ttl, false);
          const std::int64_t echo = k + jitter(c.rtt_ms / 2);
          push(echo, srv, c.ip, "tcp", 22, sp, "PA", 52 + r_.between(36, 400), 63, false);
        }
        push(k + jitter(5), c.ip, srv, "tcp", sp, 22, "FA", 52, c.ttl, false);
        push(k + jitter(9), srv, c.ip, "tcp", 22, sp, "FA", 52, 63, false);
        break;
      }
      case 3:  // mail
      {
        const Service& m = kMail[r_.pick({40, 60})];
        const int exchanges = static_cast<int>(r_.between(3, 8));
        tcp(t, c, m, exchanges, false, 0, r_.between(20, 300));
      } break;
      case 4:  // NTP
        udp(t, c, kNtp, 48, 48, false);
        break;
      default: {  // ping
        push(t, c.ip, kDns.server, "icmp", 0, 0, "", 84, c.ttl, false);
        push(t + jitter(c.rtt_ms), kDns.server, c.ip, "icmp", 0, 0, "", 84, 63, false);
        break;
      }
    }
  }

  // ---- attacks ----

  // State of the phase's attack, if it has one.
  struct Attack {
    std::string kind;
    Client attacker;  // single-source attacks
    std::int64_t sport = 0;
    std::int64_t n = 0;
  };
  std::optional<Attack> attack_;

  void start_attack(std::int64_t /*t*/) {
    attack_.reset();
    if (phase_->attacks.empty()) return;
    Attack a;
    a.kind = phase_->attacks.front();
    // Single-source attacks come from a familiar client address (no new prefix to give them away).
    a.attacker = clients_[order_[static_cast<std::size_t>(r_.between(20, 400))]];
    a.sport = ephemeral();
    attack_ = std::move(a);
  }

  // Sends the attack's next step at `t`; returns when the one after it is due.
  std::int64_t attack_step(std::int64_t t) {
    Attack& a = *attack_;
    const double rate = phase_->attack_rate;
    auto gap = [&] { return std::max<std::int64_t>(1, std::llround(r_.exponential(1e9 / rate))); };
    if (a.kind == "http-flood") {
      // Full HTTP/1.1 connections with one GET from addresses across the normal client range.
      Client c = clients_[static_cast<std::size_t>(r_.between(0, 3999))];
      c.rtt_ms = std::clamp(r_.lognormal(8, 0.8), 0.3, 120.0);
      const std::int64_t req = r_.between(120, 400);
      tcp(t, c, Service{kVictim, "tcp", 80}, 1, true, req, r_.between(300, 2500));
    } else if (a.kind == "port-scan") {
      // A SYN scan (one source port) of the servers' ports: closed ports answer RST+ACK, open
      // ones SYN+ACK, which the scanner resets.
      static constexpr const char* kTargets[] = {"10.30.0.10", "10.30.0.11", "10.30.0.13",
                                                 "10.30.0.20", "10.30.0.22", "10.30.0.25"};
      const std::string dst = kTargets[r_.between(0, 5)];
      const std::int64_t port = r_.uniform() < 0.7
                                    ? kCommonPorts[r_.between(0, kCommonPortCount - 1)]
                                    : r_.between(1, 65535);
      const bool open = (port == 80 || port == 443 || port == 22 || port == 25 || port == 8080);
      push(t, a.attacker.ip, dst, "tcp", a.sport, port, "S", 44, a.attacker.ttl, true);
      const std::int64_t back = t + jitter(a.attacker.rtt_ms);
      push(back, dst, a.attacker.ip, "tcp", port, a.sport, open ? "SA" : "RA", open ? 44 : 40, 63,
           true);
      if (open) {
        push(back + jitter(0.05), a.attacker.ip, dst, "tcp", a.sport, port, "R", 40, a.attacker.ttl,
             true);
      }
    } else if (a.kind == "dns-tunnel") {
      // Data out in long query names, data back in TXT answers.
      const std::int64_t q = r_.between(160, 255);
      udp(t, a.attacker, kDns, q, r_.between(220, 520), true);
    } else if (a.kind == "slowloris") {
      // Opens connections to the web server and keeps each alive with a header line every 10-15
      // s, never finishing the request.
      const std::string srv = kVictim;
      for (int i = 0; i < 4 && a.n < 300; ++i, ++a.n) {
        const std::int64_t sp = ephemeral();
        std::int64_t k = t + jitter(1);
        push(k, a.attacker.ip, srv, "tcp", sp, 80, "S", 60, a.attacker.ttl, true);
        push(k + jitter(a.attacker.rtt_ms / 2), srv, a.attacker.ip, "tcp", 80, sp, "SA", 60, 63,
             true);
        k += jitter(a.attacker.rtt_ms);
        push(k, a.attacker.ip, srv, "tcp", sp, 80, "A", 52, a.attacker.ttl, true);
        while (k < phase_end_) {
          push(k, a.attacker.ip, srv, "tcp", sp, 80, "PA", 52 + r_.between(10, 24), a.attacker.ttl,
               true);
          push(k + jitter(a.attacker.rtt_ms / 2), srv, a.attacker.ip, "tcp", 80, sp, "A", 52, 63,
               true);
          k += std::llround((10 + 5 * r_.uniform()) * 1e9);
        }
      }
      return a.n < 300 ? t + std::llround(1e9 / rate) : phase_end_;
    } else if (a.kind == "carpet-bomb") {
      // Reflected DNS answers spread over every address of the server networks: each host sees
      // little, the prefix a flood.
      std::string src;  // a reflector anywhere (drawn one component at a time, in order)
      for (const auto& [lo, hi] : {std::pair{11, 220}, {0, 255}, {0, 255}, {1, 254}}) {
        if (!src.empty()) src += '.';
        src += std::to_string(r_.between(lo, hi));
      }
      const std::int64_t net = r_.between(0, 1);
      const std::string dst =
          "10.30." + std::to_string(net) + "." + std::to_string(r_.between(1, 254));
      const std::int64_t sp = ephemeral();
      const std::int64_t size = r_.between(512, 1400);
      push(t, src, dst, "udp", 53, sp, "", size, r_.between(40, 250), true);
    }
    return t + gap();
  }

  static constexpr std::int64_t kCommonPorts[] = {
      21,    23,    53,   110,  111,  135,  139,  143,  389,  445,  465,  993,
      995,   1433,  1521, 1723, 2049, 3306, 3389, 5900, 6379, 8000, 8443, 9200,
      11211, 27017, 80,   443,  22,   25,   8080, 3000, 5000, 5432, 6443, 9090};
  static constexpr std::int64_t kCommonPortCount =
      static_cast<std::int64_t>(std::size(kCommonPorts));

  const Scenario& s_;
  Rng r_;
  std::int64_t start_;
  std::vector<Client> clients_;
  std::vector<std::size_t> order_;
  std::vector<double> cumulative_;
  std::priority_queue<Packet, std::vector<Packet>, Later> heap_;
  const Phase* phase_ = nullptr;
  std::int64_t phase_start_ = 0;
  std::int64_t phase_end_ = 0;
};

}  // namespace

void generate_sessions(const Scenario& s, std::uint64_t seed, std::int64_t start_ns,
                       const std::function<void(const Packet&)>& emit) {
  Model m(s, seed, start_ns);
  m.run(emit);
}

}  // namespace witness::detect
