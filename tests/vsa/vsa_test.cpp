// The VSA core (SPEC 6.1-6.4): the algebra's laws as properties, each primitive against its
// definition computed the slow way, atoms (deterministic, nearly orthogonal, unbiased), the
// binary form, top-k, and scalar encodings whose similarity falls monotonically over a sweep.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <rapidcheck/catch.h>

#include "witness/vsa/atoms.hpp"
#include "witness/vsa/ops.hpp"
#include "witness/vsa/scalar.hpp"
#include "witness/vsa/vector.hpp"

namespace vsa = witness::vsa;

namespace {

// A random ternary vector of a random small dimension (not a multiple of 32 on purpose: the
// padding must never leak into results).
rc::Gen<vsa::Vector> gen_vector(std::size_t dim) {
  return rc::gen::map(
      rc::gen::container<std::vector<std::int8_t>>(dim, rc::gen::element<std::int8_t>(-1, 0, 1)),
      [](const std::vector<std::int8_t>& c) { return vsa::Vector::from(c).value(); });
}

std::size_t gen_dim() { return *rc::gen::inRange<std::size_t>(1, 300); }

vsa::Vector v(std::initializer_list<std::int8_t> c) {
  return vsa::Vector::from(std::vector<std::int8_t>(c)).value();
}

}  // namespace

TEST_CASE("vectors: ternary, aligned, padded with zeros", "[vsa][vector]") {
  vsa::Vector z(100);
  CHECK(z.dim() == 100);
  CHECK(z.padded() == 128);
  CHECK(reinterpret_cast<std::uintptr_t>(z.raw()) % 32 == 0);
  CHECK(z.nonzeros() == 0);
  auto bad = vsa::Vector::from(std::vector<std::int8_t>{1, 0, 2});
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("component 2 is 2"));
  const auto a = v({1, -1, 0, 1});
  vsa::Vector copy = a;
  CHECK(copy == a);
  CHECK(vsa::Vector(0).nonzeros() == 0);
}

TEST_CASE("the algebra's laws", "[vsa][laws]") {
  rc::prop("bind is its own inverse on the key's non-zero components", [] {
    const auto d = gen_dim();
    const auto a = *gen_vector(d);
    const auto k = *gen_vector(d);
    const auto back = vsa::unbind(vsa::bind(a, k).value(), k).value();
    for (std::size_t i = 0; i < d; ++i) {
      if (k[i] != 0) RC_ASSERT(back[i] == a[i]);
    }
  });
  rc::prop("bundle is commutative and ties give 0", [] {
    const auto d = gen_dim();
    auto vs = *rc::gen::container<std::vector<vsa::Vector>>(*rc::gen::inRange<std::size_t>(1, 7),
                                                            gen_vector(d));
    const auto once = vsa::bundle(vs).value();
    std::reverse(vs.begin(), vs.end());
    RC_ASSERT(vsa::bundle(vs).value() == once);
    std::rotate(vs.begin(), vs.begin() + 1, vs.end());
    RC_ASSERT(vsa::bundle(vs).value() == once);
    for (std::size_t i = 0; i < d; ++i) {
      int sum = 0;
      for (const auto& x : vs) sum += x[i];
      RC_ASSERT(once[i] == (sum > 0 ? 1 : sum < 0 ? -1 : 0));
    }
  });
  rc::prop("permute by k then by -k is the identity", [] {
    const auto d = gen_dim();
    const auto a = *gen_vector(d);
    const auto k = *rc::gen::inRange<std::int64_t>(-1000, 1000);
    RC_ASSERT(vsa::permute(vsa::permute(a, k), -k) == a);
    const auto p = vsa::permute(a, k);
    const auto n = static_cast<std::int64_t>(d);
    for (std::size_t i = 0; i < d; ++i) {
      RC_ASSERT(p[static_cast<std::size_t>(((static_cast<std::int64_t>(i) + k) % n + n) % n)] ==
                a[i]);
    }
  });
  rc::prop("a vector's similarity with itself is 1", [] {
    const auto d = gen_dim();
    const auto a = *gen_vector(d);
    RC_PRE(a.nonzeros() > 0);
    RC_ASSERT(std::abs(vsa::cosine(a, a).value() - 1.0) < 1e-12);
    RC_ASSERT(vsa::hamming(a, a).value() == 0U);
    RC_ASSERT(vsa::euclidean(a, a).value() == 0.0);
  });
  rc::prop("similarities match their definitions", [] {
    const auto d = gen_dim();
    const auto a = *gen_vector(d);
    const auto b = *gen_vector(d);
    std::int64_t dot = 0;
    std::int64_t na = 0;
    std::int64_t nb = 0;
    std::size_t differ = 0;
    double sq = 0;
    for (std::size_t i = 0; i < d; ++i) {
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
      differ += a[i] != b[i] ? 1U : 0U;
      sq += (a[i] - b[i]) * (a[i] - b[i]);
    }
    RC_ASSERT(vsa::dot(a, b).value() == dot);
    RC_ASSERT(vsa::hamming(a, b).value() == differ);
    RC_ASSERT(std::abs(vsa::euclidean(a, b).value() - std::sqrt(sq)) < 1e-9);
    RC_ASSERT(std::abs(vsa::agreement(a, b).value() -
                       static_cast<double>(dot) / static_cast<double>(d)) < 1e-12);
    const double cos = na == 0 || nb == 0
                           ? 0.0
                           : static_cast<double>(dot) / std::sqrt(static_cast<double>(na * nb));
    RC_ASSERT(std::abs(vsa::cosine(a, b).value() - cos) < 1e-12);
  });
  rc::prop("the other primitives match their definitions", [] {
    const auto d = gen_dim();
    const auto s = *gen_vector(d);
    const auto c = *gen_vector(d);
    const auto w = *rc::gen::inRange(-300, 300) / 100.0;
    const auto neg = vsa::negate(s, c).value();
    const auto amp = vsa::amplify(s, c, w).value();
    const auto dif = vsa::difference(s, c).value();
    const auto bl = vsa::blend(s, c, 1 - w, w).value();
    const auto res = vsa::resonance(s, c).value();
    auto sgn = [](double x) { return x > 0 ? 1 : x < 0 ? -1 : 0; };
    for (std::size_t i = 0; i < d; ++i) {
      RC_ASSERT(neg[i] == std::clamp(s[i] - c[i], -1, 1));
      RC_ASSERT(amp[i] == sgn(s[i] + w * c[i]));
      RC_ASSERT(dif[i] == std::clamp(c[i] - s[i], -1, 1));
      RC_ASSERT(bl[i] == sgn((1 - w) * s[i] + w * c[i]));
      RC_ASSERT(res[i] == (s[i] == c[i] ? s[i] : 0));
    }
  });
  rc::prop("prototype keeps what a threshold of the vectors agree on", [] {
    const auto d = gen_dim();
    const auto vs = *rc::gen::container<std::vector<vsa::Vector>>(
        *rc::gen::inRange<std::size_t>(1, 6), gen_vector(d));
    const double threshold = *rc::gen::inRange(1, 101) / 100.0;
    std::vector<const vsa::Vector*> ptrs;
    for (const auto& x : vs) ptrs.push_back(&x);
    const auto p = vsa::prototype(ptrs, threshold).value();
    const int votes = static_cast<int>(std::ceil(threshold * static_cast<double>(vs.size())));
    for (std::size_t i = 0; i < d; ++i) {
      int sum = 0;
      for (const auto& x : vs) sum += x[i];
      RC_ASSERT(p[i] == (sum >= votes ? 1 : sum <= -votes ? -1 : 0));
    }
  });
}

TEST_CASE("the dispatched kernels agree with the portable ones", "[vsa][kernel]") {
  rc::prop("mul, dot, dot_norms and differ give equal results on both paths", [] {
    const auto d = gen_dim();
    const auto a = *gen_vector(d);
    const auto b = *gen_vector(d);
    const std::size_t n = a.padded();
    vsa::Vector x(d);
    vsa::Vector y(d);
    vsa::kernel::mul(a.raw(), b.raw(), x.raw(), n);
    vsa::kernel::portable::mul(a.raw(), b.raw(), y.raw(), n);
    RC_ASSERT(x == y);
    RC_ASSERT(vsa::kernel::dot(a.raw(), b.raw(), n) ==
              vsa::kernel::portable::dot(a.raw(), b.raw(), n));
    std::int64_t d1 = 0, na1 = 0, nb1 = 0, d2 = 0, na2 = 0, nb2 = 0;  // NOLINT
    vsa::kernel::dot_norms(a.raw(), b.raw(), n, d1, na1, nb1);
    vsa::kernel::portable::dot_norms(a.raw(), b.raw(), n, d2, na2, nb2);
    RC_ASSERT(d1 == d2);
    RC_ASSERT(na1 == na2);
    RC_ASSERT(nb1 == nb2);
    RC_ASSERT(vsa::kernel::differ(a.raw(), b.raw(), n) ==
              vsa::kernel::portable::differ(a.raw(), b.raw(), n));
  });
}

TEST_CASE("the kernels agree past one 16-bit accumulation block", "[vsa][kernel]") {
  // 300000 components, all equal: the AVX2 sums widen from int16 lanes every 131072 bytes, and
  // equal components make every lane's sum as large as it can get.
  const std::size_t d = 300'000;
  for (std::int8_t value : {std::int8_t{1}, std::int8_t{-1}}) {
    const auto a = vsa::Vector::from(std::vector<std::int8_t>(d, value)).value();
    const auto b = vsa::Vector::from(std::vector<std::int8_t>(d, 1)).value();
    const std::size_t n = a.padded();
    CHECK(vsa::kernel::dot(a.raw(), b.raw(), n) == value * static_cast<std::int64_t>(d));
    std::int64_t dd = 0, na = 0, nb = 0;  // NOLINT
    vsa::kernel::dot_norms(a.raw(), b.raw(), n, dd, na, nb);
    CHECK(dd == value * static_cast<std::int64_t>(d));
    CHECK(na == static_cast<std::int64_t>(d));
    CHECK(nb == static_cast<std::int64_t>(d));
  }
}

TEST_CASE("mismatched dimensions and bad arguments are errors", "[vsa][errors]") {
  const vsa::Vector a(10);
  const vsa::Vector b(11);
  CHECK_THAT(vsa::bind(a, b).error().message, Catch::Contains("dimensions 10 and 11 differ"));
  CHECK_FALSE(vsa::cosine(a, b));
  CHECK_FALSE(vsa::bundle(std::span<const vsa::Vector>{}));
  const std::vector<const vsa::Vector*> two{&a, &a};
  CHECK_FALSE(vsa::weighted_bundle(two, std::vector<double>{1.0}));
  CHECK_FALSE(vsa::prototype(two, 0.0));
  CHECK_FALSE(vsa::prototype(two, 1.5));
  const std::vector<double> w{2.0, -1.0};
  CHECK(vsa::weighted_bundle(two, w));
}

TEST_CASE("atoms: deterministic, unbiased, nearly orthogonal at D = 4096", "[vsa][atoms]") {
  const auto a = vsa::make_atom(7, "proto:tcp");
  CHECK(a == vsa::make_atom(7, "proto:tcp"));
  CHECK_FALSE(a == vsa::make_atom(8, "proto:tcp"));
  CHECK_FALSE(a == vsa::make_atom(7, "proto:udp"));
  // About a third of each value.
  std::size_t counts[3] = {0, 0, 0};
  for (auto c : a.components()) ++counts[c + 1];
  for (auto n : counts) CHECK(std::abs(static_cast<double>(n) - 4096.0 / 3) < 200);
  // 200 random atoms: every pair's cosine within 5 standard deviations (1/sqrt(D)) of 0.
  std::vector<vsa::Vector> atoms;
  for (int i = 0; i < 200; ++i) atoms.push_back(vsa::make_atom(1, "atom-" + std::to_string(i)));
  double worst = 0;
  for (std::size_t i = 0; i < atoms.size(); ++i) {
    for (std::size_t j = i + 1; j < atoms.size(); ++j) {
      worst = std::max(worst, std::abs(vsa::cosine(atoms[i], atoms[j]).value()));
    }
  }
  CHECK(worst < 5.0 / std::sqrt(4096.0));
  // The cache returns the same vectors, from many threads at once.
  vsa::AtomMemory memory(1);
  std::vector<std::thread> threads;
  std::vector<const vsa::Vector*> seen(8);
  for (std::size_t t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] { seen[t] = &memory.atom("atom-3"); });
  }
  for (auto& t : threads) t.join();
  for (const auto* p : seen) CHECK(p == seen[0]);
  CHECK(*seen[0] == atoms[3]);
  CHECK(memory.size() == 1);
  CHECK(memory.position(2) == vsa::make_atom(1, "$pos:2"));
}

TEST_CASE("the binary form: exact for bipolar vectors, Hamming by popcount", "[vsa][binary]") {
  rc::prop("bipolar vectors round-trip and Hamming distances agree", [] {
    const auto d = gen_dim();
    const auto bits =
        *rc::gen::container<std::vector<std::int8_t>>(d, rc::gen::element<std::int8_t>(-1, 1));
    const auto bits2 =
        *rc::gen::container<std::vector<std::int8_t>>(d, rc::gen::element<std::int8_t>(-1, 1));
    const auto a = vsa::Vector::from(bits).value();
    const auto b = vsa::Vector::from(bits2).value();
    RC_ASSERT(vsa::BinaryVector(a).to_vector() == a);
    RC_ASSERT(vsa::BinaryVector(a).hamming(vsa::BinaryVector(b)).value() ==
              vsa::hamming(a, b).value());
  });
  CHECK_FALSE(vsa::BinaryVector(vsa::Vector(3)).hamming(vsa::BinaryVector(vsa::Vector(4))));
}

TEST_CASE("top-k and cleanup find the nearest codebook entries", "[vsa][codebook]") {
  vsa::Codebook book(4096);
  for (int i = 0; i < 100; ++i) {
    REQUIRE(book.add(vsa::make_atom(3, "entry-" + std::to_string(i))));
  }
  CHECK_FALSE(book.add(vsa::Vector(10)));
  // A noisy copy of entry 42 (a third of it replaced by another atom) still finds it first.
  const auto noise = vsa::make_atom(3, "noise");
  const auto noisy = vsa::blend(book[42], noise, 2.0, 1.0).value();
  auto best = book.cleanup(noisy);
  REQUIRE(best);
  CHECK(best->index == 42);
  auto top =
      book.top_k(vsa::bundle(std::vector<vsa::Vector>{book[7], book[9], book[8]}).value(), 3);
  REQUIRE(top);
  REQUIRE(top->size() == 3);
  std::vector<std::size_t> found{(*top)[0].index, (*top)[1].index, (*top)[2].index};
  std::sort(found.begin(), found.end());
  CHECK(found == std::vector<std::size_t>{7, 8, 9});
  CHECK((*top)[0].similarity >= (*top)[1].similarity);
  CHECK(book.top_k(noisy, 1000)->size() == 100);
  CHECK_FALSE(vsa::Codebook(8).cleanup(vsa::Vector(8)));
}

TEST_CASE("scalar encodings: similarity falls monotonically with distance", "[vsa][scalar]") {
  auto sweep = [](const vsa::ScalarEncoder& e, double lo, double hi, int steps) {
    const auto base = e.encode(lo);
    double last = 1.0 + 1e-9;
    std::vector<double> sims;
    for (int k = 0; k <= steps; ++k) {
      const double x = lo + (hi - lo) * k / steps;
      const double s = vsa::cosine(base, e.encode(x)).value();
      INFO("x = " << x << ", similarity " << s << ", previous " << last);
      CHECK(s <= last + 1e-9);  // never rises
      last = s;
      sims.push_back(s);
    }
    return sims;
  };
  const auto lin = vsa::ScalarEncoder::linear(5, "bytes", 0, 1000).value();
  const auto s = sweep(lin, 0, 1000, 50);
  CHECK(s.front() == Approx(1.0));
  CHECK(std::abs(s.back()) < 0.1);           // the far end is unrelated
  CHECK(s[25] == Approx(0.5).margin(0.05));  // linear in between
  // Smooth: nearby values are not quantised to one pattern.
  CHECK(vsa::cosine(lin.encode(500), lin.encode(501)).value() < 1.0);
  CHECK(vsa::cosine(lin.encode(500), lin.encode(501)).value() > 0.99);
  CHECK(lin.encode(-5) == lin.encode(0));  // clamped

  const auto lg = vsa::ScalarEncoder::log(5, "rate", 1, 1e6).value();
  sweep(lg, 1, 1e6, 40);
  CHECK(vsa::cosine(lg.encode(10), lg.encode(100)).value() ==
        Approx(vsa::cosine(lg.encode(1000), lg.encode(10000)).value()).margin(0.05));

  const auto circ = vsa::ScalarEncoder::circular(5, "hour", 24).value();
  sweep(circ, 0, 12, 24);  // falls to the opposite point of the circle
  CHECK(circ.encode(1) == circ.encode(25));
  CHECK(vsa::cosine(circ.encode(23), circ.encode(1)).value() ==
        Approx(vsa::cosine(circ.encode(5), circ.encode(7)).value()).margin(0.05));

  const auto th = vsa::ScalarEncoder::thermometer(0, 1, 1000).value();
  const auto ts = sweep(th, 0, 1, 20);
  CHECK(ts.back() == Approx(-1.0));

  CHECK_FALSE(vsa::ScalarEncoder::linear(1, "x", 5, 5));
  CHECK_FALSE(vsa::ScalarEncoder::log(1, "x", 0, 5));
  CHECK_FALSE(vsa::ScalarEncoder::circular(1, "x", 0));
  CHECK_FALSE(vsa::ScalarEncoder::thermometer(1, 0));
}
