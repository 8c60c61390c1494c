// Bindings of the meshing components. When a component was not built, its functions still exist
// and raise MissingComponent naming the CMake option, so scripts fail with a clear message.
#include <pybind11/eigen.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/core/mesh.hpp"
#include "cardiotwin/mesh/procedural.hpp"
#if CARDIOTWIN_HAS_TETGEN
#include "cardiotwin/mesh/tetgen.hpp"
#endif

namespace cardiotwin::python {

void bind_mesh(py::module_& m) {
  m.def("box_mesh", &mesh::box_mesh, py::arg("size"), py::arg("dx"), py::call_guard<py::gil_scoped_release>(),
        "Box [0, size] (mm) on a regular grid of about dx mm, 6 tets per cube, fibres along x, region 1.");
  m.def("niederer_slab", &mesh::niederer_slab, py::arg("dx"), py::call_guard<py::gil_scoped_release>(),
        "The 20 x 7 x 3 mm slab of the Niederer et al. 2011 benchmark at spacing dx mm.");
  m.def(
      "tetrahedralize",
      [](const SurfaceMesh& surface, double max_radius_edge_ratio, double min_dihedral_deg, double max_volume_mm3,
         const std::string& extra_switches) -> TetMesh {
#if CARDIOTWIN_HAS_TETGEN
        mesh::TetgenOptions o;
        o.max_radius_edge_ratio = max_radius_edge_ratio;
        o.min_dihedral_deg = min_dihedral_deg;
        o.max_volume_mm3 = max_volume_mm3;
        o.extra_switches = extra_switches;
        py::gil_scoped_release release;
        return mesh::tetrahedralize(surface, o);
#else
        (void)surface, (void)max_radius_edge_ratio, (void)min_dihedral_deg, (void)max_volume_mm3, (void)extra_switches;
        throw MissingComponent("tetrahedralize needs the TetGen component", "cardiotwin built with "
                               "-DCARDIOTWIN_WITH_TETGEN=ON (apt-get install libtet1.5-dev)", "a build without it");
#endif
      },
      py::arg("surface"), py::arg("max_radius_edge_ratio") = 1.4, py::arg("min_dihedral_deg") = 0.0,
      py::arg("max_volume_mm3") = 0.0, py::arg("extra_switches") = "",
      "Fill a closed surface (mm) with tetrahedra using TetGen; bounds <= 0 are off. Every tet gets region 1.");
}

}  // namespace cardiotwin::python
