// Recorded runs' summaries (detect/detector_run.hpp): the series over time that the explorer
// charts (every record in exactly one bucket, at most kMaxBuckets of them, widths doubling) and
// the per-phase counts, as run_detector computes them and record_run stores them.
#include "witness/detect/detector_run.hpp"

#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <rapidcheck/catch.h>

#include "witness/detect/traffic.hpp"

namespace detect = witness::detect;
namespace ledger = witness::ledger;

namespace {

detect::RecordVerdict verdict(std::uint64_t i, std::int64_t ts, bool anomalous, bool alert) {
  detect::RecordVerdict v;
  v.index = i;
  v.ts = ts;
  v.anomalous = anomalous;
  v.in_alert = alert;
  return v;
}

// run_detector over `lines`, counting labelled phases.
detect::RunOutcome run_over(const std::vector<std::string>& lines) {
  std::size_t at = 0;
  auto run = detect::run_detector(detect::DetectorConfig{},
                                  [&](std::string& line) -> witness::Result<bool> {
                                    if (at == lines.size()) return false;
                                    line = lines[at++];
                                    return true;
                                  },
                                  {.labels = true});
  REQUIRE(run);
  return std::move(run).value();
}

}  // namespace

TEST_CASE("RunSeries: every record in one bucket, at most kMaxBuckets, the counts summed") {
  rc::prop("any stream", [] {
    const auto n = *rc::gen::inRange<std::uint64_t>(0, 5000);
    detect::RunSeries s;
    std::uint64_t anomalous = 0, alerting = 0, attack = 0;  // NOLINT
    for (std::uint64_t i = 0; i < n; ++i) {
      const bool a = i % 7 == 0, al = i % 3 == 0, at = i % 5 == 0;
      anomalous += a ? 1U : 0U;
      alerting += al ? 1U : 0U;
      attack += at ? 1U : 0U;
      s.add(verdict(i, static_cast<std::int64_t>(1000 + 10 * i), a, al), at);
    }
    const auto& b = s.buckets();
    RC_ASSERT(b.size() <= detect::RunSeries::kMaxBuckets);
    if (n > detect::RunSeries::kMaxBuckets)
      RC_ASSERT(b.size() > detect::RunSeries::kMaxBuckets / 2);
    RC_ASSERT((s.width() & (s.width() - 1)) == 0U);    // a power of two
    std::uint64_t next = 0, sa = 0, sal = 0, sat = 0;  // NOLINT
    for (std::size_t i = 0; i < b.size(); ++i) {
      RC_ASSERT(b[i].first == next);
      RC_ASSERT(b[i].first_ts == static_cast<std::int64_t>(1000 + 10 * b[i].first));
      RC_ASSERT(b[i].last_ts == static_cast<std::int64_t>(1000 + 10 * (next + b[i].records - 1)));
      if (i + 1 < b.size()) RC_ASSERT(b[i].records == s.width());
      RC_ASSERT(b[i].records >= 1U);
      RC_ASSERT(b[i].records <= s.width());
      next += b[i].records;
      sa += b[i].anomalous;
      sal += b[i].alerting;
      sat += b[i].attack;
    }
    RC_ASSERT(next == n);
    RC_ASSERT(sa == anomalous);
    RC_ASSERT(sal == alerting);
    RC_ASSERT(sat == attack);
  });
}

TEST_CASE("RunSeries::to_json: one element per bucket, times from the first record, rates") {
  detect::RunSeries s;
  // 4 records 1 s apart, then 4 records 0.1 s apart.
  const std::int64_t t0 = 1'795'338'000'000'000'000;
  std::int64_t t = t0;
  for (std::uint64_t i = 0; i < 8; ++i) {
    s.add(verdict(i, t, i >= 4, i >= 5), i >= 4);
    t += i < 3 ? 1'000'000'000 : 100'000'000;
  }
  const auto j = nlohmann::json::parse(s.to_json(true));
  CHECK(j["width"] == 1);
  REQUIRE(j["t"].size() == 8);
  CHECK(j["t"][0] == 0);
  CHECK(j["t"][3] == 3);
  CHECK(j["t"][4].get<double>() == Approx(3.1));
  CHECK(j["rate"][0].get<double>() == Approx(1));
  CHECK(j["rate"][4].get<double>() == Approx(10));
  CHECK(j["rate"][7].is_null());  // the last bucket of one record has no span
  CHECK(j["anomalous"][4] == 1);
  CHECK(j["alerting"][4] == 0);
  CHECK(j["attack"][7] == 1);
  CHECK_FALSE(nlohmann::json::parse(s.to_json(false)).contains("attack"));
  CHECK(nlohmann::json::parse(detect::RunSeries().to_json(false))["t"].empty());
}

TEST_CASE("a recorded run carries its series and its phases with recall and FPR") {
  const auto dir = std::filesystem::temp_directory_path() / "witness-detector-run-test";
  std::filesystem::remove_all(dir);
  auto l = ledger::Ledger::open(dir.string(), ledger::OpenOptions{.create_if_missing = true});
  REQUIRE(l);
  std::vector<std::string> lines;
  std::vector<std::string> unlabelled;
  detect::generate(detect::scenario("icmp-flood").value(), 1, 1'795'338'000'000'000'000,
                   [&](const detect::Packet& p) {
                     lines.push_back(detect::to_json(p, true));
                     unlabelled.push_back(detect::to_json(p, false));
                   });
  const detect::DetectorConfig config;
  const auto run = run_over(lines);
  REQUIRE(run.labelled);
  auto rec = detect::record_run(*l, config, run, detect::Inputs::kOmit);
  REQUIRE(rec);
  const auto e = l->get(rec->run_seq);
  REQUIRE(e);
  const auto p = nlohmann::json::parse(e->node.payload_json());
  const auto& series = p["series"];
  std::uint64_t records = 0, attack = 0, attack_labelled = 0;  // NOLINT
  for (const auto& n : series["records"]) records += n.get<std::uint64_t>();
  for (const auto& n : series["attack"]) attack += n.get<std::uint64_t>();
  for (const auto& line : lines) {
    attack_labelled += line.find("\"attack\":true") != std::string::npos ? 1U : 0U;
  }
  CHECK(records == lines.size());
  CHECK(attack == attack_labelled);
  CHECK(series["t"].size() <= detect::RunSeries::kMaxBuckets);
  REQUIRE(p["phases"].size() == run.phases.size());
  for (std::size_t i = 0; i < run.phases.size(); ++i) {
    const auto& ph = p["phases"][i];
    const auto& want = run.phases[i];
    CHECK(ph["phase"] == want.name);
    CHECK(ph["first"] == want.first);
    CHECK(ph["last"] == want.last);
    CHECK(ph["true_positives"] == want.true_positives);
    if (want.attack > 0) {
      CHECK(ph["recall"].get<double>() ==
            Approx(static_cast<double>(want.true_positives) / static_cast<double>(want.attack))
                .margin(1e-6));
    } else {
      CHECK(ph["recall"].is_null());
    }
  }
  // An unlabelled run has a series and no phases.
  const auto plain = run_over(unlabelled);
  CHECK_FALSE(plain.labelled);
  auto rec2 = detect::record_run(*l, config, plain, detect::Inputs::kOmit);
  REQUIRE(rec2);
  const auto p2 = nlohmann::json::parse(l->get(rec2->run_seq)->node.payload_json());
  CHECK_FALSE(p2.contains("phases"));
  CHECK_FALSE(p2["series"].contains("attack"));
  std::filesystem::remove_all(dir);
}
