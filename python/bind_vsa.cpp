// Hypervectors in Python: Vector (buffer protocol), similarities, atoms, the encoder.
#include "bindings.hpp"

namespace witness::python {

void bind_vsa(py::module_& m) {
  // Hypervectors (SPEC 6.1): ternary int8 components, shared with Python through the buffer
  // protocol (read-only: a write could break the {-1, 0, +1} invariant), e.g. numpy.asarray(v).
  py::class_<wv::Vector>(m, "Vector", py::buffer_protocol(),
                         "A ternary hypervector: dim components in {-1, 0, +1}.")
      .def(py::init([](const py::buffer& components) {
             const py::buffer_info info = components.request();
             if (info.ndim != 1 || info.itemsize != 1 ||
                 (info.format != "b" && info.format != "B")) {
               throw py::type_error("components: expected a 1-d buffer of int8");
             }
             if (info.strides[0] != 1) throw py::type_error("components: expected contiguous");
             const std::span<const std::int8_t> view(static_cast<const std::int8_t*>(info.ptr),
                                                     static_cast<std::size_t>(info.shape[0]));
             return unwrap(wv::Vector::from(view));
           }),
           py::arg("components"), "From a 1-d int8 buffer (bytes, array('b'), numpy int8).")
      .def_static(
          "from_list",
          [](const std::vector<int>& components) {
            std::vector<std::int8_t> c;
            c.reserve(components.size());
            for (std::size_t i = 0; i < components.size(); ++i) {
              if (components[i] < -1 || components[i] > 1) {
                throw py::value_error("component " + std::to_string(i) + ": " +
                                      std::to_string(components[i]) + " is not -1, 0 or +1");
              }
              c.push_back(static_cast<std::int8_t>(components[i]));
            }
            return unwrap(wv::Vector::from(c));
          },
          py::arg("components"))
      .def_buffer([](wv::Vector& v) {
        return py::buffer_info(v.raw(), 1, py::format_descriptor<std::int8_t>::format(), 1,
                               {static_cast<py::ssize_t>(v.dim())}, {py::ssize_t{1}},
                               /*readonly=*/true);
      })
      .def_property_readonly("dim", &wv::Vector::dim)
      .def("__len__", &wv::Vector::dim)
      .def("__eq__", [](const wv::Vector& a, const wv::Vector& b) { return a == b; })
      .def("tolist",
           [](const wv::Vector& v) {
             const auto c = v.components();
             return std::vector<int>(c.begin(), c.end());
           })
      .def_property_readonly("nonzeros", &wv::Vector::nonzeros)
      .def(
          "bind", [](const wv::Vector& a, const wv::Vector& b) { return unwrap(wv::bind(a, b)); },
          "Elementwise product: dissimilar to both, undone by binding again.")
      .def("permute", &wv::permute, py::arg("k") = 1, "Rotates components by k.")
      .def("cosine",
           [](const wv::Vector& a, const wv::Vector& b) { return unwrap(wv::cosine(a, b)); })
      .def("dot", [](const wv::Vector& a, const wv::Vector& b) { return unwrap(wv::dot(a, b)); })
      .def("hamming",
           [](const wv::Vector& a, const wv::Vector& b) { return unwrap(wv::hamming(a, b)); })
      .def("__repr__", [](const wv::Vector& v) {
        return "Vector(dim=" + std::to_string(v.dim()) +
               ", nonzeros=" + std::to_string(v.nonzeros()) + ")";
      });
  m.def(
      "bundle",
      [](const std::vector<const wv::Vector*>& vectors) {
        std::vector<const wv::Vector*> ptrs(vectors.begin(), vectors.end());
        return unwrap(wv::bundle(std::span<const wv::Vector* const>(ptrs)));
      },
      py::arg("vectors"), "Majority (sign of the sum): similar to each of the vectors.");

  py::class_<wv::AtomMemory>(m, "AtomMemory",
                             "Random atoms by name, reproducible from a seed (ChaCha20).")
      .def(py::init<std::uint64_t, std::size_t>(), py::arg("seed") = 0,
           py::arg("dim") = wv::kDefaultDimension)
      .def("atom", &wv::AtomMemory::atom, py::arg("name"), py::return_value_policy::copy)
      .def("position", &wv::AtomMemory::position, py::arg("i"), py::return_value_policy::copy)
      .def_property_readonly("seed", &wv::AtomMemory::seed)
      .def_property_readonly("dim", &wv::AtomMemory::dim);

  py::class_<wv::Encoder>(m, "Encoder", "Encodes JSON objects as hypervectors (docs/detector.md).")
      .def(py::init<const wv::AtomMemory&>(), py::arg("atoms"), py::keep_alive<1, 2>())
      .def(
          "encode",
          [](const wv::Encoder& e, const py::object& record) {
            const std::string text =
                py::isinstance<py::str>(record) ? record.cast<std::string>() : dumps(record);
            py::gil_scoped_release release;
            auto v = e.encode_json(text);
            py::gil_scoped_acquire acquire;
            return unwrap(std::move(v));
          },
          py::arg("record"), "A dict or JSON object text to its vector.")
      .def("role", &wv::Encoder::role, py::arg("path"), py::return_value_policy::copy);
}

}  // namespace witness::python
