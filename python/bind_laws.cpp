// The operad laws in Python: check_laws runs the `witness` binary's law engine.
#include "bindings.hpp"

namespace witness::python {

void bind_laws(py::module_& m) {
  // The law engine links RapidCheck, whose Debian build (a non-PIC static library) cannot go
  // into a shared module, so check_laws runs it in the `witness` binary: the same engine and
  // suites as `witness laws`, one JSON verdict per law.
  m.def(
      "check_laws",
      [](const py::object& suite, const std::optional<std::string>& law, std::uint32_t cases,
         std::uint32_t max_size, const std::optional<std::uint64_t>& seed,
         const std::optional<std::string>& ledger, const std::optional<std::string>& binary) {
        const py::module_ os = py::module_::import("os");
        const py::module_ shutil = py::module_::import("shutil");
        std::string exe;
        const std::vector<py::object> candidates =
            binary ? std::vector<py::object>{py::cast(*binary)}  // given: that one or none
                   : std::vector<py::object>{os.attr("environ").attr("get")("WITNESS_BIN"),
                                             shutil.attr("which")("witness"),
                                             py::cast(std::string(WITNESS_BUILD_CLI)),
                                             py::cast(std::string(WITNESS_INSTALL_CLI))};
        for (const py::object& candidate : candidates) {
          if (!candidate.is_none() && os.attr("access")(candidate, os.attr("X_OK")).cast<bool>()) {
            exe = candidate.cast<std::string>();
            break;
          }
        }
        if (exe.empty()) {
          throw py::value_error(
              "check_laws: no witness binary found (pass binary=, set WITNESS_BIN, or put "
              "witness on PATH)");
        }
        py::list argv;
        argv.append(exe);
        argv.append("laws");
        argv.append("--json");
        if (!suite.is_none()) {
          const py::list suites =
              py::isinstance<py::str>(suite) ? py::list(py::make_tuple(suite)) : py::list(suite);
          for (const auto& name : suites) {
            argv.append("--suite");
            argv.append(name);
          }
        }
        if (law) {
          argv.append("--law");
          argv.append(*law);
        }
        argv.append("--cases");
        argv.append(std::to_string(cases));
        argv.append("--max-size");
        argv.append(std::to_string(max_size));
        if (seed) {
          argv.append("--seed");
          argv.append(std::to_string(*seed));
        }
        if (ledger) {
          argv.append("--ledger");
          argv.append(*ledger);
        }
        const py::object run = py::module_::import("subprocess").attr("run");
        const py::object done = run(argv, py::arg("capture_output") = true, py::arg("text") = true);
        const int code = done.attr("returncode").cast<int>();
        const std::string out = done.attr("stdout").cast<std::string>();
        const std::string err = done.attr("stderr").cast<std::string>();
        if (code == 2 || (code != 0 && out.empty())) {
          throw py::value_error(err.empty() ? "witness laws failed"
                                            : err.substr(0, err.find_last_not_of('\n') + 1));
        }
        py::list verdicts;
        for (const auto& line : done.attr("stdout").attr("splitlines")()) {
          if (py::len(line) > 0) verdicts.append(loads(line.cast<std::string>()));
        }
        return verdicts;
      },
      py::kw_only(), py::arg("suite") = py::none(), py::arg("law") = py::none(),
      py::arg("cases") = 100, py::arg("max_size") = 100, py::arg("seed") = py::none(),
      py::arg("ledger") = py::none(), py::arg("binary") = py::none(),
      "Checks the operad laws (SPEC 4) of the shipped suites (a name or a list; default all) "
      "with the `witness` binary's law engine; returns one verdict dict per law ('result' is "
      "'passed' or 'failed', with the counterexample and a replay line). ledger= records each "
      "verdict as a law.verdict node.");
}

}  // namespace witness::python
