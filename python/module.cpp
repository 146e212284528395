// The Python module `witness` (SPEC 9): the ledger, its nodes, proofs and checkpoints,
// covenants, the detector and hypervectors, in Python's idiom. Errors raise exceptions carrying
// the library's message; long operations release the GIL. One binding file per area.
#include "bindings.hpp"

namespace witness::python {
void bind_ledger(py::module_& m);
void bind_covenant(py::module_& m);
void bind_detect(py::module_& m);
void bind_vsa(py::module_& m);
void bind_laws(py::module_& m);
void bind_cluster(py::module_& m);
}  // namespace witness::python

PYBIND11_MODULE(witness, m) {
  using namespace witness::python;  // NOLINT(google-build-using-namespace)
  m.doc() = "witness: an append-only, tamper-evident trace ledger";
  {
    const py::module_ json = py::module_::import("json");
    g_json_dumps = new py::object(json.attr("dumps"));  // NOLINT(cppcoreguidelines-owning-memory)
    g_json_loads = new py::object(json.attr("loads"));  // NOLINT(cppcoreguidelines-owning-memory)
  }
  static py::exception<std::runtime_error> corruption(m, "CorruptionError", PyExc_RuntimeError);
  g_corruption_error = corruption.ptr();
  static py::exception<std::runtime_error> refused(m, "GateRefusedError", PyExc_PermissionError);
  g_gate_refused_error = refused.ptr();

  bind_ledger(m);  // first: the others add methods to its Ledger
  bind_covenant(m);
  bind_detect(m);
  bind_vsa(m);
  bind_laws(m);
  bind_cluster(m);
}
