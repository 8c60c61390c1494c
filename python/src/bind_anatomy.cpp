// Bindings of the anatomy module: Laplace solves, ventricular coordinates, rule-based fibres.
// Options travel as Python dicts (JSON) validated by the C++ parsers.
#include <pybind11/eigen.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "cardiotwin/anatomy/coordinates.hpp"
#include "cardiotwin/anatomy/fibres.hpp"
#include "cardiotwin/anatomy/laplace.hpp"
#include "cardiotwin/core/error.hpp"

namespace cardiotwin::python {
namespace {
nlohmann::json to_json(const py::handle& obj) {
  return obj.is_none() ? nlohmann::json::object() : nlohmann::json::parse(python_to_json(obj));
}
py::object from_json(const nlohmann::json& j) { return json_to_python(j.dump()); }
}  // namespace

void bind_anatomy(py::module_& m) {
  using anatomy::VentricularCoordinates;
  py::class_<VentricularCoordinates>(m, "VentricularCoordinates",
                                     "Node fields transmural, apicobasal, rotational, phi_lv, phi_rv, lv_rv, ventricle "
                                     "(numpy views) and the long-axis frame.")
      .def_readonly("transmural", &VentricularCoordinates::transmural)
      .def_readonly("apicobasal", &VentricularCoordinates::apicobasal)
      .def_readonly("rotational", &VentricularCoordinates::rotational)
      .def_readonly("phi_lv", &VentricularCoordinates::phi_lv)
      .def_readonly("phi_rv", &VentricularCoordinates::phi_rv)
      .def_readonly("lv_rv", &VentricularCoordinates::lv_rv)
      .def_readonly("ventricle", &VentricularCoordinates::ventricle)
      .def_readonly("apex", &VentricularCoordinates::apex)
      .def_readonly("base_centre", &VentricularCoordinates::base_centre)
      .def_readonly("long_axis", &VentricularCoordinates::long_axis)
      .def_readonly("has_rv", &VentricularCoordinates::has_rv)
      .def_readonly("iterations", &VentricularCoordinates::iterations)
      .def("add_to", &VentricularCoordinates::add_to, py::arg("mesh"), "Store the fields as point data of the mesh.")
      .def_static("from_point_data", &VentricularCoordinates::from_point_data, py::arg("mesh"));
  m.def(
      "ventricular_coordinates",
      [](const TetMesh& mesh, const SurfaceMesh& surface, const py::object& options) {
        const auto o = anatomy::CoordinateOptions::from_json(to_json(options));
        py::gil_scoped_release release;
        return anatomy::ventricular_coordinates(mesh, surface, o);
      },
      py::arg("mesh"), py::arg("surface"), py::arg("options") = py::none(),
      "Laplace-based ventricular coordinates; the surface is tagged (LV_ENDO, RV_ENDO, EPI, BASE) in the mesh's numbering.");
  m.def("coordinate_options", [](const py::object& o) { return from_json(anatomy::CoordinateOptions::from_json(to_json(o)).to_json()); },
        py::arg("options") = py::none());
  m.def(
      "compute_fibres",
      [](const TetMesh& mesh, const VentricularCoordinates& c, const py::object& options) {
        const auto o = anatomy::FibreOptions::from_json(to_json(options));
        anatomy::FibreField f;
        {
          py::gil_scoped_release release;
          f = anatomy::compute_fibres(mesh, c, o);
        }
        py::dict d;
        d["fibre"] = f.fibre;
        d["sheet"] = f.sheet;
        d["normal"] = f.normal;
        d["helix_deg"] = f.helix_deg;
        d["depth"] = f.depth;
        return d;
      },
      py::arg("mesh"), py::arg("coordinates"), py::arg("options") = py::none(),
      "Per-element fibre, sheet, normal, helix angle and wall depth as numpy arrays.");
  m.def(
      "assign_fibres",
      [](TetMesh& mesh, const VentricularCoordinates& c, const py::object& options) {
        const auto o = anatomy::FibreOptions::from_json(to_json(options));
        py::gil_scoped_release release;
        anatomy::assign_fibres(mesh, c, o);
      },
      py::arg("mesh"), py::arg("coordinates"), py::arg("options") = py::none(),
      "Set mesh.fibre/sheet/normal and cell fields helix_deg, wall_depth.");
  m.def("fibre_options", [](const py::object& o) { return from_json(anatomy::FibreOptions::from_json(to_json(o)).to_json()); },
        py::arg("options") = py::none());
  m.def("helix_angle_deg", &anatomy::helix_angle_deg, py::arg("fibre"), py::arg("longitudinal"), py::arg("transmural"),
        "Helix angle (deg, (-90, 90]) of a fibre in the frame c = l x t (see cardiotwin/anatomy/fibres.hpp).");
  m.def(
      "solve_laplace",
      [](const TetMesh& mesh, const std::vector<Index>& nodes, const std::vector<double>& values, double rel_tol) {
        anatomy::Dirichlet bc{nodes, values};
        anatomy::LaplaceOptions o;
        o.rel_tol = rel_tol;
        py::gil_scoped_release release;
        return anatomy::solve_laplace(mesh, bc, o);
      },
      py::arg("mesh"), py::arg("nodes"), py::arg("values"), py::arg("rel_tol") = 1e-8,
      "Laplace with u[nodes] = values and zero flux elsewhere; returns node values.");
}

}  // namespace cardiotwin::python
