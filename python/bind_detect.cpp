// The detector in Python: Detector, recorded runs and their re-execution, generated traffic.
#include "witness/detect/capture.hpp"

#include "bindings.hpp"

namespace witness::python {

void bind_detect(py::module_& m) {
  // Ledger methods of this area, on the class bind_ledger made.
  auto ledger = py::reinterpret_borrow<py::class_<PyLedger>>(m.attr("Ledger"));
  ledger
      .def(
          "record_detector_run",
          [](PyLedger& l, const py::iterable& records, const py::object& config,
             bool record_inputs) {
            detect::DetectorConfig c;
            if (!config.is_none()) {
              c = unwrap(detect::DetectorConfig::from_json(
                  py::isinstance<py::str>(config) ? config.cast<std::string>() : dumps(config)));
            }
            // Records as text first (dicts through json.dumps), then the run without the GIL.
            std::vector<std::string> lines;
            for (const auto& r : records) {
              lines.push_back(py::isinstance<py::str>(r)
                                  ? r.cast<std::string>()
                                  : dumps(py::reinterpret_borrow<py::object>(r)));
            }
            wl::Ledger& led = l.get();
            std::size_t at = 0;
            const auto outcome = without_gil([&] {
              return witness::detect::run_detector(c,
                                                   [&](std::string& line) -> witness::Result<bool> {
                                                     if (at == lines.size()) return false;
                                                     line = lines[at++];
                                                     return true;
                                                   },
                                                   {.keep_lines = record_inputs, .labels = true});
            });
            const auto recorded = without_gil([&] {
              return witness::detect::record_run(led, c, outcome,
                                                 record_inputs ? witness::detect::Inputs::kRecord
                                                               : witness::detect::Inputs::kOmit);
            });
            py::list alerts;
            for (const auto& a : outcome.alerts) alerts.append(loads(a.to_json()));
            py::dict d;
            d["run"] = recorded.run_id;
            d["seq"] = recorded.run_seq;
            d["walk"] = recorded.walk;
            d["records"] = outcome.records;
            d["input_sha256"] = outcome.input_sha256;
            d["alerts"] = alerts;
            d["alert_seqs"] = recorded.alert_seqs;
            return d;
          },
          py::arg("records"), py::kw_only(), py::arg("config") = py::none(),
          py::arg("record_inputs") = false,
          "Runs the detector over records (dicts or JSON lines) and records the run as "
          "`witness detect` does: detector.run, detector.input (record_inputs=True) and "
          "detector.alert nodes in one atomic batch. Returns {'run', 'seq', 'walk', 'records', "
          "'input_sha256', 'alerts', 'alert_seqs'}.")
      .def(
          "rerun_detector",
          [](PyLedger& l, const std::string& run_id) {
            const auto id = unwrap(wl::Digest::from_hex(run_id));
            const wl::Ledger& led = l.get();
            const auto report = without_gil([&] { return witness::detect::rerun(led, id); });
            py::list diffs;
            for (const auto& x : report.diffs) {
              py::dict d;
              d["index"] = x.index;
              d["seq"] = x.seq;
              d["recorded"] = x.recorded.empty() ? py::object(py::none()) : loads(x.recorded);
              d["rerun"] = x.rerun.empty() ? py::object(py::none()) : loads(x.rerun);
              diffs.append(d);
            }
            py::dict d;
            d["identical"] = report.identical();
            d["inputs_match"] = report.inputs_match();
            d["records"] = report.records;
            d["recorded_alerts"] = report.recorded_alerts;
            d["rerun_alerts"] = report.rerun_alerts;
            d["diffs"] = diffs;
            return d;
          },
          py::arg("run"),
          "Re-executes a recorded detector run from its recorded inputs (`witness replay "
          "--rerun`); returns {'identical', 'inputs_match', 'records', 'recorded_alerts', "
          "'rerun_alerts', 'diffs'}.");

  // The detector (SPEC 6.6): the same model, verdicts and alerts as `witness detect`.
  py::class_<detect::Detector>(m, "Detector",
                               "The anomaly detector (docs/detector.md): a baseline over time, "
                               "conformal p-values per record, keyed rates, alerts that open and "
                               "close, explanations by contrast.")
      .def(py::init([](const py::object& config, std::optional<std::size_t> warmup,
                       std::optional<double> alpha, std::optional<std::uint64_t> seed,
                       std::optional<double> warmup_s) {
             detect::DetectorConfig c;
             if (!config.is_none()) {
               const std::string text =
                   py::isinstance<py::str>(config) ? config.cast<std::string>() : dumps(config);
               c = unwrap(detect::DetectorConfig::from_json(text));
             }
             if (warmup) c.warmup = *warmup;
             if (alpha) c.alpha = *alpha;
             if (seed) c.seed = *seed;
             if (warmup_s) c.warmup_s = *warmup_s;
             return unwrap(detect::Detector::create(c));
           }),
           py::arg("config") = py::none(), py::kw_only(), py::arg("warmup") = py::none(),
           py::arg("alpha") = py::none(), py::arg("seed") = py::none(),
           py::arg("warmup_s") = py::none(),
           "config: a dict or JSON text (docs/detector.md); warmup/alpha/seed/warmup_s override "
           "it.")
      .def(
          "observe",
          [](detect::Detector& d, const py::object& record) {
            const std::string text =
                py::isinstance<py::str>(record) ? record.cast<std::string>() : dumps(record);
            const auto v = unwrap(d.observe(text));
            py::dict out;
            out["index"] = v.index;
            out["warming_up"] = v.warming_up;
            out["novelty"] = v.novelty;
            out["p_value"] = v.p_value;
            out["anomalous"] = v.anomalous;
            out["rate"] = v.rate;
            out["rate_ratio"] = v.rate_ratio;
            out["flagged"] = v.flagged;
            out["in_alert"] = v.in_alert;
            return out;
          },
          py::arg("record"), "Scores one record (a dict or a JSON line); returns its verdict.")
      .def(
          "feed",
          [](py::object self, const py::object& record) { return self.attr("observe")(record); },
          py::arg("record"), "The same as observe(record).")
      .def(
          "take_alerts",
          [](detect::Detector& d) {
            py::list out;
            for (const auto& a : d.take_alerts()) out.append(loads(a.to_json()));
            return out;
          },
          "Alerts closed since the last call, as dicts.")
      .def(
          "finish",
          [](detect::Detector& d) {
            py::list out;
            for (const auto& a : d.finish()) out.append(loads(a.to_json()));
            return out;
          },
          "Ends the stream: closes an open alert; returns what take_alerts would.")
      .def_property_readonly("config",
                             [](const detect::Detector& d) { return loads(d.config().to_json()); })
      .def_property_readonly("records", &detect::Detector::records)
      .def_property_readonly("baseline_rate", &detect::Detector::baseline_rate)
      .def(
          "familiarity",
          [](const detect::Detector& d, const std::string& field, const py::object& value) {
            return unwrap(d.familiarity(field, dumps(value)));
          },
          py::arg("field"), py::arg("value"),
          "How familiar value is in field (a path, or service/server/client/dir), in [0, 1].");

  m.def(
      "read_capture",
      [](const std::string& path, bool flows, const py::object& truth) {
        detect::CaptureOptions o{.flows = flows};
        if (!truth.is_none()) {
          const std::string text =
              py::isinstance<py::str>(truth) ? truth.cast<std::string>() : dumps(truth);
          o.truth = unwrap(detect::parse_truth(text));
        }
        auto r = unwrap(detect::CaptureRecords::open(path, std::move(o)));
        py::list out;
        std::string line;
        while (unwrap(r.next(line))) out.append(line);
        return out;
      },
      py::arg("path"), py::kw_only(), py::arg("flows") = false, py::arg("truth") = py::none(),
      "The records of a pcap/pcapng capture as JSON lines (what `witness pcap` prints): packets, "
      "or flows with flows=True; labelled from truth (a list of {phase, start_ns, end_ns, hosts} "
      "or its JSON) when given.");

  m.def(
      "gen_traffic",
      [](const std::string& scenario, std::uint64_t seed, bool labels, std::int64_t start_ns) {
        const auto s = unwrap(detect::scenario(scenario));
        py::list out;
        detect::generate(s, seed, start_ns,
                         [&](const detect::Packet& p) { out.append(detect::to_json(p, labels)); });
        return out;
      },
      py::arg("scenario"), py::arg("seed") = 1, py::arg("labels") = true,
      py::arg("start_ns") = std::int64_t{1'795'338'000'000'000'000},
      "The packets of a scenario as JSON lines (what `witness gen-traffic` writes).");
}

}  // namespace witness::python
