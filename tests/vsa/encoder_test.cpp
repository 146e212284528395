// The structure encoder (SPEC 6.5): JSON and Walkable C++ types give equal vectors, role-filler
// binding lets unbinding recover a field's value, list modes, markers, bad input, accumulators.
#include "witness/vsa/encoder.hpp"

#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "witness/vsa/ops.hpp"

namespace vsa = witness::vsa;

namespace demo {

struct Endpoint {
  std::string ip;
  std::int64_t port = 0;
};

struct Packet {
  std::string proto;
  Endpoint src;
  Endpoint dst;
  std::int64_t size = 0;
  double score = 0;
  bool syn = false;
  std::vector<std::string> tags;
  std::int64_t ts = 0;
};

void walk(const Endpoint& e, vsa::Walker& w) {
  w.field("ip", e.ip);
  w.field("port", e.port);
}

void walk(const Packet& p, vsa::Walker& w) {
  w.field("proto", p.proto);
  w.object("src", p.src);
  w.object("dst", p.dst);
  w.field("size", vsa::Log{static_cast<double>(p.size), 1, 65536});
  w.field("score", p.score);
  w.field("syn", p.syn);
  w.list("tags", std::span<const std::string>(p.tags));
  w.field("ts", vsa::Time{p.ts});
}

}  // namespace demo

TEST_CASE("a C++ struct and its JSON encode to the same vector", "[vsa][encoder]") {
  vsa::AtomMemory atoms(11);
  vsa::Encoder enc(atoms);
  const demo::Packet p{"tcp", {"10.0.0.7", 51234}, {"10.1.0.5", 443},  1200, 0.5,
                       true,  {"web", "tls"},      1795338000000000000};
  const std::string json = R"({"proto":"tcp","src":{"ip":"10.0.0.7","port":51234},
    "dst":{"ip":"10.1.0.5","port":443},"size":{"$log":1200,"lo":1,"hi":65536},"score":0.5,
    "syn":true,"tags":["web","tls"],"ts":{"$time":"2026-11-22T09:00:00Z"}})";
  auto from_json = enc.encode_json(json);
  REQUIRE(from_json);
  CHECK(enc.encode(p) == *from_json);
  // Key order in the JSON does not matter; a changed value does.
  const std::string reordered = R"({"syn":true,"score":0.5,"proto":"tcp","tags":["web","tls"],
    "dst":{"port":443,"ip":"10.1.0.5"},"src":{"port":51234,"ip":"10.0.0.7"},
    "size":{"$log":1200,"lo":1,"hi":65536},"ts":{"$time":1795338000000000000}})";
  CHECK(enc.encode_json(reordered).value() == *from_json);
  demo::Packet q = p;
  q.dst.port = 80;
  CHECK_FALSE(enc.encode(q) == *from_json);
  // 443.0 is the number 443.
  CHECK(enc.encode_json(R"({"port":443.0})").value() == enc.encode_json(R"({"port":443})").value());
}

TEST_CASE("unbinding a role recovers the field's value", "[vsa][encoder]") {
  vsa::AtomMemory atoms(12);
  vsa::Encoder enc(atoms);
  const auto v = enc.encode_json(R"({"proto":"udp","port":53,"flags":"none","ttl":64,
                                     "dir":"in"})")
                     .value();
  vsa::Codebook values;
  const std::vector<std::string> candidates{"tcp", "udp", "icmp", "in", "out", "none"};
  for (const auto& c : candidates) REQUIRE(values.add(enc.string_filler(c)));
  const auto got = vsa::unbind(v, enc.role("proto")).value();
  CHECK(candidates[values.cleanup(got)->index] == "udp");
  const auto dir = vsa::unbind(v, enc.role("dir")).value();
  CHECK(candidates[values.cleanup(dir)->index] == "in");
  // Similar records are similar: one field changed is closer than three.
  const auto one = enc.encode_json(R"({"proto":"udp","port":53,"flags":"none","ttl":64,
                                       "dir":"out"})")
                       .value();
  const auto three = enc.encode_json(R"({"proto":"tcp","port":80,"flags":"S","ttl":64,
                                         "dir":"in"})")
                         .value();
  CHECK(vsa::cosine(v, one).value() > vsa::cosine(v, three).value());
  CHECK(vsa::cosine(v, one).value() > 0.5);
}

TEST_CASE("list modes", "[vsa][encoder]") {
  vsa::AtomMemory atoms(13);
  auto enc_with = [&](vsa::ListMode mode) {
    return std::make_unique<vsa::Encoder>(atoms, vsa::EncoderOptions{.lists = mode, .ngram = 2});
  };
  const std::string ab = R"({"seq":["a","b","c"]})";
  const std::string ba = R"({"seq":["c","b","a"]})";
  for (auto mode : {vsa::ListMode::kPositional, vsa::ListMode::kChained, vsa::ListMode::kNgram}) {
    auto e = enc_with(mode);
    INFO("mode " << static_cast<int>(mode));
    CHECK_FALSE(e->encode_json(ab).value() == e->encode_json(ba).value());  // order matters
    CHECK(e->encode_json(ab).value() == e->encode_json(ab).value());
  }
  auto bundle = enc_with(vsa::ListMode::kBundle);
  CHECK(bundle->encode_json(ab).value() == bundle->encode_json(ba).value());
  // Lists of objects nest by index; empty lists add nothing.
  auto e = enc_with(vsa::ListMode::kPositional);
  CHECK(e->encode_json(R"({"xs":[{"k":1},{"k":2}]})"));
  CHECK(e->encode_json(R"({"a":1,"xs":[]})").value() == e->encode_json(R"({"a":1})").value());
}

TEST_CASE("bad input is named", "[vsa][encoder]") {
  vsa::AtomMemory atoms(14);
  vsa::Encoder enc(atoms);
  auto err = [&](std::string_view j) {
    auto r = enc.encode_json(j);
    REQUIRE_FALSE(r);
    return r.error().message;
  };
  CHECK_THAT(err("{"), Catch::Contains("not valid JSON"));
  CHECK_THAT(err("[1,2]"), Catch::Contains("expected a JSON object"));
  CHECK_THAT(err(R"({"a":{"$log":5,"lo":0}})"), Catch::Contains("a: bad range"));
  CHECK_THAT(err(R"({"a":{"$log":"x"}})"), Catch::Contains("not a number"));
  CHECK_THAT(err(R"({"a":{"$linear":1,"$log":2}})"), Catch::Contains("more than one marker"));
  CHECK_THAT(err(R"({"a":{"$linear":1,"step":2}})"), Catch::Contains("unknown key \"step\""));
  CHECK_THAT(err(R"({"t":{"$time":"yesterday"}})"), Catch::Contains("not RFC 3339"));
  // Found by fuzz_vsa_encode: a signed year overflowed the nanosecond count.
  CHECK_THAT(err(R"({"t":{"$time":"-026-11-22T10:00:00Z"}})"), Catch::Contains("not RFC 3339"));
  CHECK_THAT(err(R"({"t":{"$time":"9999-11-22T10:00:00Z"}})"),
             Catch::Contains("outside 1678..2261"));
  CHECK_THAT(err(R"({"t":{"$time":"2026-02-29T10:00:00Z"}})"), Catch::Contains("not RFC 3339"));
  CHECK_THAT(err(R"({"t":{"$time":"2026-11-22 10:00:00Z"}})"), Catch::Contains("not RFC 3339"));
  CHECK(enc.encode_json(R"({"t":{"$time":"2024-02-29T23:59:60.5Z"}})").has_value());
  CHECK_THAT(err(R"({"b":{"c":[[1]]}})"), Catch::Contains("b.c: nested arrays"));
  CHECK_THAT(err(R"({"m":[1,{"x":2}]})"), Catch::Contains("mixes objects"));
}

TEST_CASE("scalar markers keep nearby values similar", "[vsa][encoder]") {
  vsa::AtomMemory atoms(15);
  vsa::Encoder enc(atoms);
  auto size = [&](int n) {
    return enc.encode_json(R"({"proto":"udp","size":{"$log":)" + std::to_string(n) + "}}").value();
  };
  const double near = vsa::cosine(size(1000), size(1100)).value();
  const double far = vsa::cosine(size(1000), size(100000)).value();
  CHECK(near > far);
  CHECK(near > 0.9);
}

TEST_CASE("encoding from many threads gives the same vectors", "[vsa][encoder]") {
  vsa::AtomMemory atoms(16);
  vsa::Encoder enc(atoms);
  const std::string j = R"({"a":"x","n":{"$linear":0.3},"t":{"$time":5},"l":[1,2,3]})";
  std::vector<vsa::Vector> got(8, vsa::Vector(4096));
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] { got[t] = enc.encode_json(j).value(); });
  }
  for (auto& t : threads) t.join();
  for (const auto& g : got) CHECK(g == got[0]);
}

TEST_CASE("accumulators keep frequencies and forget with decay", "[vsa][accumulator]") {
  const auto a = vsa::make_atom(1, "a");
  const auto b = vsa::make_atom(1, "b");
  vsa::Accumulator acc;
  for (int i = 0; i < 3; ++i) REQUIRE(acc.add(a));
  REQUIRE(acc.add(b));
  CHECK(acc.count() == 4);
  CHECK(acc.cosine(a).value() > acc.cosine(b).value() + 0.3);
  CHECK(acc.cosine(b).value() > 0.2);  // b is still in it (a thresholded bundle may lose it)
  acc.decay(0.1);
  for (int i = 0; i < 3; ++i) REQUIRE(acc.add(b));
  CHECK(acc.cosine(b).value() > acc.cosine(a).value());  // the old a's faded
  CHECK(acc.count() == Approx(3.4));
  CHECK(vsa::cosine(acc.threshold(), b).value() > 0.8);  // b, plus a where b is 0
  CHECK_FALSE(acc.add(vsa::Vector(10)));
  CHECK(vsa::Accumulator().cosine(a).value() == 0.0);
}
