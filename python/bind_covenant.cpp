// Covenants in Python: registering and revoking agents, listing them, manifests; the gate itself
// sits in front of Ledger.append (PolicyAppender).
#include "bindings.hpp"

namespace witness::python {

void bind_covenant(py::module_& m) {
  // Ledger methods of this area, on the class bind_ledger made.
  auto ledger = py::reinterpret_borrow<py::class_<PyLedger>>(m.attr("Ledger"));
  ledger
      .def(
          "register_agent",
          [](PyLedger& l, const py::object& manifest, const std::optional<std::string>& issuer) {
            std::string yaml;
            if (py::isinstance(manifest, py::module_::import("os").attr("PathLike"))) {
              const auto path = py::str(manifest).cast<std::string>();
              std::ifstream in(path, std::ios::binary);
              if (!in) throw py::value_error("cannot open " + path);
              std::stringstream text;
              text << in.rdbuf();
              yaml = text.str();
            } else {
              yaml = manifest.cast<std::string>();
            }
            const auto m = unwrap(cv::parse_manifest(yaml));
            const cv::Covenant c = cv::covenant_from(m, issuer.value_or(python_user()));
            const auto r = l.with_gate([&](cv::Gate& gate) {
              return unwrap(cv::record_grant(l.get(), gate, c,
                                             {.version = m.version, .description = m.description}));
            });
            py::dict d;
            d["covenant"] = c.id;
            d["subject"] = c.subject;
            d["seq"] = r.seq;
            return d;
          },
          py::arg("manifest"), py::kw_only(), py::arg("issuer") = py::none(),
          "Registers an agent: manifest is YAML text (str) or a path (pathlib.Path). Records its "
          "covenant.grant; returns {'covenant', 'subject', 'seq'}.")
      .def(
          "revoke_agent",
          [](PyLedger& l, const std::string& covenant_id, const std::string& reason) {
            const auto r = l.with_gate([&](cv::Gate& gate) {
              return unwrap(cv::record_revoke(l.get(), gate, covenant_id, reason));
            });
            return r.seq;
          },
          py::arg("covenant"), py::arg("reason") = "",
          "Revokes a covenant (and those derived from it); returns the covenant.revoke seq.")
      .def_property_readonly(
          "agents",
          [](PyLedger& l) {
            return l.with_gate([&](cv::Gate& gate) {
              py::list out;
              for (const auto& listing : gate.covenants()) out.append(listing_dict(gate, listing));
              return out;
            });
          },
          "The registered covenants: id, subject, issuer, parent, revoked, in_force, budget, "
          "spent.");

  m.def(
      "parse_manifest",
      [](const std::string& yaml) {
        const auto m = unwrap(cv::parse_manifest(yaml));
        py::dict d;
        d["id"] = m.id;
        d["version"] = m.version;
        d["description"] = m.description;
        d["capabilities"] = m.capabilities;
        std::vector<std::string> rules;
        for (const auto& r : m.permissions) rules.push_back(r.to_string());
        d["permissions"] = rules;
        d["models"] = m.models;
        py::dict budget;
        for (const auto dim : cv::kAllDimensions) {
          const auto i = static_cast<std::size_t>(dim);
          if (m.budget.limit[i])
            budget[std::string(cv::dimension_name(dim)).c_str()] = *m.budget.limit[i];
        }
        d["budgets"] = budget;
        return d;
      },
      py::arg("yaml"), "Validates an agent manifest (YAML text); returns its fields as a dict.");
}

}  // namespace witness::python
