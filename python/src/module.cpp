#include "bindings.hpp"

#include "cardiotwin/config.hpp"

namespace py = pybind11;

namespace cardiotwin::python {
void bind_ecg(py::module_& m);  // bind_ecg.cpp
void bind_segment(py::module_& m);  // bind_segment.cpp
void bind_emulate(py::module_& m);  // bind_emulate.cpp
}

PYBIND11_MODULE(_core, m) {
  m.doc() = "cardiotwin compiled core (C++). Use the `cardiotwin` package rather than this module.";
  m.attr("__version__") = CARDIOTWIN_VERSION;
  m.attr("has_tetgen") = py::bool_(CARDIOTWIN_HAS_TETGEN);
  m.attr("has_cgal") = py::bool_(CARDIOTWIN_HAS_CGAL);
  m.attr("has_torch") = py::bool_(CARDIOTWIN_HAS_TORCH);
  m.attr("components") = py::str(CARDIOTWIN_COMPONENTS).attr("split")(";");
  cardiotwin::python::bind_errors(m);
  auto core = m.def_submodule("core", "Data types: images, meshes, signals; mesh checks.");
  cardiotwin::python::bind_core(core);
  auto io = m.def_submodule("io", "File formats: NIfTI, VTK XML, openCARP, STL.");
  cardiotwin::python::bind_io(io);
  auto mesh = m.def_submodule("mesh", "Meshing: procedural shapes, label maps (CGAL) and surfaces (TetGen) to tetrahedra, surface tags, quality.");
  cardiotwin::python::bind_mesh(mesh);
  auto anatomy = m.def_submodule("anatomy", "Anatomy: Laplace solves, ventricular coordinates, rule-based fibres.");
  cardiotwin::python::bind_anatomy(anatomy);
  auto ep = m.def_submodule("ep", "Electrophysiology: ionic models, monodomain solver.");
  cardiotwin::python::bind_ep(ep);
  auto ecg = m.def_submodule("ecg", "ECG: forward models, electrodes, 12 leads, WFDB/CSV files, filters, features.");
  cardiotwin::python::bind_ecg(ecg);
  auto emulate = m.def_submodule("emulate", "Emulators: Latin hypercube and Sobol designs, Gaussian-process emulators.");
  cardiotwin::python::bind_emulate(emulate);
  auto segment = m.def_submodule("segment", "Segmentation: TorchScript models (libtorch) to label maps.");
  cardiotwin::python::bind_segment(segment);
}
