// Bindings of the core data types. Arrays are exposed as numpy views into C++ memory that keep
// their owner alive (reference_internal); assigning an array copies it in after a shape check.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>
#include <pybind11/stl_bind.h>

#include <cmath>
#include <set>
#include <sstream>

#include "bindings.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/core/image.hpp"
#include "cardiotwin/core/mesh.hpp"
#include "cardiotwin/core/signals.hpp"

namespace cardiotwin::python {
namespace {

std::string shape_str(const py::array& a) {
  std::ostringstream s;
  s << "(";
  for (py::ssize_t d = 0; d < a.ndim(); ++d) s << (d ? ", " : "") << a.shape(d);
  s << (a.ndim() == 1 ? ",)" : ")");
  return s.str();
}

/// Copy `src` into a row-major Eigen matrix with `cols` columns (or any if cols < 0), checking
/// the shape and naming `what` in the error. 1-D input is accepted for single-column targets.
template <class Mat>
void assign_rows(Mat& dst, const py::object& src, const char* what, int cols) {
  using Scalar = typename Mat::Scalar;
  auto arr = py::array_t<Scalar, py::array::c_style | py::array::forcecast>::ensure(src);
  CARDIOTWIN_CHECK(arr, InvalidInput, std::string("cannot convert to an array"), "array-like",
                   std::string(py::str(py::type::of(src).attr("__name__"))), Where({}, what));
  const bool ok_1d = arr.ndim() == 1 && (cols == 1 || cols < 0);
  const bool ok_2d = arr.ndim() == 2 && (cols < 0 || arr.shape(1) == cols);
  CARDIOTWIN_CHECK(ok_1d || ok_2d || arr.size() == 0, InvalidInput,
                   "bad array shape", (cols < 0 ? std::string("(n, k)") : "(n, " + std::to_string(cols) + ")"),
                   shape_str(arr), Where({}, what));
  if constexpr (std::is_floating_point_v<Scalar>) {
    const Scalar* p = arr.data();
    for (py::ssize_t i = 0; i < arr.size(); ++i)
      CARDIOTWIN_CHECK(std::isfinite(p[i]), InvalidInput, "non-finite value", "finite numbers",
                       p[i], Where({}, what, i));
  }
  const Eigen::Index rows = arr.size() == 0 ? 0 : arr.shape(0);
  const Eigen::Index c = arr.ndim() == 2 ? arr.shape(1) : 1;
  dst.resize(rows, Mat::ColsAtCompileTime == Eigen::Dynamic ? c : static_cast<Eigen::Index>(Mat::ColsAtCompileTime));
  if (arr.size() > 0) std::copy(arr.data(), arr.data() + arr.size(), dst.data());
}

template <class T>
const char* dtype_name() {
  if constexpr (std::is_same_v<T, float>) return "float32";
  else return "uint8";
}

template <class T>
void bind_image(py::module_& m, const char* name, const char* doc) {
  using Img = Image<T>;
  py::class_<Img>(m, name, doc)
      .def(py::init([](const py::array& array, const Eigen::Vector3d& spacing, const Eigen::Vector3d& origin,
                       const Eigen::Matrix3d& direction) {
             CARDIOTWIN_CHECK(array.ndim() == 3 || array.ndim() == 2, InvalidInput, "bad image array",
                              "a 3-D array (nx, ny, nz) or a 2-D slice", array.ndim() << "-D array "
                                  << shape_str(array), Where({}, "array"));
             const Eigen::Index nz = array.ndim() == 3 ? array.shape(2) : 1;
             // Check values against the voxel type before converting, so labels never wrap.
             auto as_double = py::array_t<double, py::array::f_style | py::array::forcecast>::ensure(array);
             Img img({array.shape(0), array.shape(1), nz}, spacing, origin, direction);
             const double* src = as_double.data();
             T* dst = img.data();
             for (Eigen::Index i = 0; i < img.size(); ++i) {
               if constexpr (std::is_integral_v<T>) {
                 CARDIOTWIN_CHECK(src[i] >= 0 && src[i] <= 255 && src[i] == std::floor(src[i]), InvalidInput,
                                  "value does not fit a label map", "integers in 0..255", src[i],
                                  Where({}, "array", i));
               }
               dst[i] = static_cast<T>(src[i]);
             }
             return img;
           }),
           py::arg("array"), py::arg("spacing") = Eigen::Vector3d::Ones(),
           py::arg("origin") = Eigen::Vector3d::Zero(), py::arg("direction") = Eigen::Matrix3d::Identity(),
           "Copy a (nx, ny, nz) array into a new image with the given geometry (spacing in mm).")
      .def_property_readonly(
          "array",
          [](py::object self) {
            Img& img = self.cast<Img&>();
            const auto& s = img.shape();
            const py::ssize_t b = sizeof(T);
            return py::array_t<T>({s[0], s[1], s[2]}, {b, b * s[0], b * s[0] * s[1]}, img.data(), self);
          },
          "Voxel values as a writable numpy view of shape (nx, ny, nz), Fortran order (no copy).")
      .def_property_readonly("shape", [](const Img& img) { return py::make_tuple(img.shape()[0], img.shape()[1], img.shape()[2]); })
      .def_property_readonly("dtype", [](const Img&) { return py::dtype(dtype_name<T>()); })
      .def_property("spacing", [](const Img& img) { return Eigen::Vector3d(img.spacing()); },
                    [](Img& img, const Eigen::Vector3d& s) { img.set_geometry(s, img.origin(), img.direction()); },
                    "Voxel size along i, j, k in mm.")
      .def_property("origin", [](const Img& img) { return Eigen::Vector3d(img.origin()); },
                    [](Img& img, const Eigen::Vector3d& o) { img.set_geometry(img.spacing(), o, img.direction()); },
                    "World position of voxel (0, 0, 0) in mm (RAS+).")
      .def_property("direction", [](const Img& img) { return Eigen::Matrix3d(img.direction()); },
                    [](Img& img, const Eigen::Matrix3d& d) { img.set_geometry(img.spacing(), img.origin(), d); },
                    "Unit axis directions as columns (RAS+).")
      .def_property("affine", &Img::affine, &Img::set_affine,
                    "4x4 voxel-index-to-world matrix in mm, as nibabel's `img.affine`.")
      .def("set_geometry", &Img::set_geometry, py::arg("spacing"), py::arg("origin"), py::arg("direction"))
      .def("index_to_world", &Img::index_to_world, py::arg("ijk"), "World position (mm) of a voxel index.")
      .def("world_to_index", &Img::world_to_index, py::arg("xyz"), "Continuous voxel index of a world position.")
      .def("__repr__", [name](const Img& img) {
        std::ostringstream s;
        s.precision(4);
        s << "<cardiotwin." << name << " shape=(" << img.shape()[0] << ", " << img.shape()[1] << ", "
          << img.shape()[2] << ") spacing=(" << img.spacing()[0] << ", " << img.spacing()[1] << ", "
          << img.spacing()[2] << ") mm origin=(" << img.origin()[0] << ", " << img.origin()[1] << ", "
          << img.origin()[2] << ") dtype=" << dtype_name<T>() << ">";
        return s.str();
      });
}

std::string field_names(const FieldMap& f) {
  std::string s = "[";
  for (const auto& [k, v] : f) s += (s.size() > 1 ? ", '" : "'") + k + "'";
  return s + "]";
}

template <class Mesh>
std::string tag_summary(const Tags& t) {
  std::set<Index> u(t.data(), t.data() + t.size());
  std::string s = "{";
  int n = 0;
  for (Index v : u) {
    if (n++ == 8) { s += ", ..."; break; }
    s += (n > 1 ? ", " : "") + std::to_string(v);
  }
  return s + "}";
}

}  // namespace

void bind_core(py::module_& m) {
  py::bind_map<FieldMap>(m, "FieldMap",
                         "Named fields: str -> 2-D float64 array (rows = entities, columns = components).");

  bind_image<float>(m, "Image", "A 3-D float32 image with geometry (spacing, origin, direction in RAS+ mm).");
  bind_image<std::uint8_t>(m, "LabelMap", "A 3-D uint8 label map with geometry; 0 is background.");

  py::class_<MeshCheck>(m, "MeshCheck", "What check_mesh found (counts are of cells unless named otherwise).")
      .def_readonly("num_points", &MeshCheck::num_points)
      .def_readonly("num_cells", &MeshCheck::num_cells)
      .def_readonly("out_of_range", &MeshCheck::out_of_range)
      .def_readonly("repeated_nodes", &MeshCheck::repeated_nodes)
      .def_readonly("inverted", &MeshCheck::inverted)
      .def_readonly("degenerate", &MeshCheck::degenerate)
      .def_readonly("unused_points", &MeshCheck::unused_points)
      .def_readonly("non_finite_points", &MeshCheck::non_finite_points)
      .def_readonly("first_bad_cell", &MeshCheck::first_bad_cell)
      .def_readonly("min_measure", &MeshCheck::min_measure)
      .def_readonly("max_measure", &MeshCheck::max_measure)
      .def_readonly("total_measure", &MeshCheck::total_measure)
      .def_property_readonly("ok", &MeshCheck::ok)
      .def("to_dict", [](const MeshCheck& c) { return json_to_python(c.to_json().dump()); })
      .def("__repr__", [](const MeshCheck& c) { return "<cardiotwin.MeshCheck " + c.to_json().dump() + ">"; });

  py::class_<TetMesh>(m, "TetMesh", "A tetrahedral mesh in mm with region tags, optional fibres and named fields.")
      .def(py::init([](const py::object& points, const py::object& tets, const py::object& region) {
             TetMesh mesh;
             if (!points.is_none()) assign_rows(mesh.points, points, "points", 3);
             if (!tets.is_none()) assign_rows(mesh.tets, tets, "tets", 4);
             if (!region.is_none()) assign_rows(mesh.region, region, "region", 1);
             return mesh;
           }),
           py::arg("points") = py::none(), py::arg("tets") = py::none(), py::arg("region") = py::none())
      .def_property("points", [](TetMesh& s) -> Points& { return s.points; },
                    [](TetMesh& s, const py::object& a) { assign_rows(s.points, a, "points", 3); },
                    py::return_value_policy::reference_internal, "(N, 3) float64 coordinates in mm (view).")
      .def_property("tets", [](TetMesh& s) -> Tets& { return s.tets; },
                    [](TetMesh& s, const py::object& a) { assign_rows(s.tets, a, "tets", 4); },
                    py::return_value_policy::reference_internal, "(M, 4) int32 node indices (view).")
      .def_property("region", [](TetMesh& s) -> Tags& { return s.region; },
                    [](TetMesh& s, const py::object& a) { assign_rows(s.region, a, "region", 1); },
                    py::return_value_policy::reference_internal, "(M,) int32 region tags (view); empty = all 0.")
      .def_property("fibre", [](TetMesh& s) -> Directions& { return s.fibre; },
                    [](TetMesh& s, const py::object& a) { assign_rows(s.fibre, a, "fibre", 3); },
                    py::return_value_policy::reference_internal, "(M, 3) unit fibre directions or (0, 3).")
      .def_property("sheet", [](TetMesh& s) -> Directions& { return s.sheet; },
                    [](TetMesh& s, const py::object& a) { assign_rows(s.sheet, a, "sheet", 3); },
                    py::return_value_policy::reference_internal, "(M, 3) unit sheet directions or (0, 3).")
      .def_property("normal", [](TetMesh& s) -> Directions& { return s.normal; },
                    [](TetMesh& s, const py::object& a) { assign_rows(s.normal, a, "normal", 3); },
                    py::return_value_policy::reference_internal, "(M, 3) unit sheet-normal directions or (0, 3).")
      .def_readonly("point_data", &TetMesh::point_data, "Named per-point fields (dict-like; values are views).")
      .def_readonly("cell_data", &TetMesh::cell_data, "Named per-tet fields (dict-like; values are views).")
      .def_property_readonly("num_points", &TetMesh::num_points)
      .def_property_readonly("num_tets", &TetMesh::num_tets)
      .def("check", [](const TetMesh& mm, double tol) { return check_mesh(mm, tol); }, py::arg("rel_tol") = 1e-10,
           "Count inverted/degenerate tets, bad indices, unused and non-finite points.")
      .def("validate", [](const TetMesh& mm, const std::string& n) { validate_mesh(mm, n); }, py::arg("name") = "mesh",
           "Raise InvalidInput naming the first problem.")
      .def("volumes", &tet_volumes, "Signed tet volumes in mm^3.")
      .def("fix_orientation", &fix_orientation, "Flip inverted tets; returns how many.")
      .def("remove_unused_points", &remove_unused_points, "Drop unreferenced points; returns how many.")
      .def("copy", [](const TetMesh& mm) { return TetMesh(mm); })
      .def("__repr__", [](const TetMesh& mm) {
        std::ostringstream s;
        s << "<cardiotwin.TetMesh " << mm.num_points() << " points, " << mm.num_tets() << " tets, regions "
          << tag_summary<TetMesh>(mm.region) << ", fibres " << (mm.fibre.rows() ? "yes" : "no")
          << ", point_data " << field_names(mm.point_data) << ", cell_data " << field_names(mm.cell_data) << ">";
        return s.str();
      });

  py::class_<SurfaceMesh>(m, "SurfaceMesh", "A triangulated surface in mm with one tag per face.")
      .def(py::init([](const py::object& points, const py::object& tris, const py::object& tags) {
             SurfaceMesh mesh;
             if (!points.is_none()) assign_rows(mesh.points, points, "points", 3);
             if (!tris.is_none()) assign_rows(mesh.triangles, tris, "triangles", 3);
             if (!tags.is_none()) assign_rows(mesh.tags, tags, "tags", 1);
             return mesh;
           }),
           py::arg("points") = py::none(), py::arg("triangles") = py::none(), py::arg("tags") = py::none())
      .def_property("points", [](SurfaceMesh& s) -> Points& { return s.points; },
                    [](SurfaceMesh& s, const py::object& a) { assign_rows(s.points, a, "points", 3); },
                    py::return_value_policy::reference_internal, "(N, 3) float64 coordinates in mm (view).")
      .def_property("triangles", [](SurfaceMesh& s) -> Triangles& { return s.triangles; },
                    [](SurfaceMesh& s, const py::object& a) { assign_rows(s.triangles, a, "triangles", 3); },
                    py::return_value_policy::reference_internal, "(K, 3) int32 node indices (view).")
      .def_property("tags", [](SurfaceMesh& s) -> Tags& { return s.tags; },
                    [](SurfaceMesh& s, const py::object& a) { assign_rows(s.tags, a, "tags", 1); },
                    py::return_value_policy::reference_internal, "(K,) int32 face tags (view); empty = all 0.")
      .def_readonly("point_data", &SurfaceMesh::point_data)
      .def_readonly("cell_data", &SurfaceMesh::cell_data)
      .def_property_readonly("num_points", &SurfaceMesh::num_points)
      .def_property_readonly("num_triangles", &SurfaceMesh::num_triangles)
      .def("check", [](const SurfaceMesh& mm, double tol) { return check_mesh(mm, tol); }, py::arg("rel_tol") = 1e-10)
      .def("validate", [](const SurfaceMesh& mm, const std::string& n) { validate_mesh(mm, n); },
           py::arg("name") = "surface")
      .def("copy", [](const SurfaceMesh& mm) { return SurfaceMesh(mm); })
      .def("__repr__", [](const SurfaceMesh& mm) {
        std::ostringstream s;
        s << "<cardiotwin.SurfaceMesh " << mm.num_points() << " points, " << mm.num_triangles() << " triangles, tags "
          << tag_summary<SurfaceMesh>(mm.tags) << ", point_data " << field_names(mm.point_data) << ", cell_data "
          << field_names(mm.cell_data) << ">";
        return s.str();
      });

  py::class_<Signals>(m, "Signals", "Named time series on one time axis (ms), e.g. ECG leads.")
      .def(py::init([](const py::object& time_ms, std::vector<std::string> names, const py::object& values,
                       std::string units, const py::object& metadata) {
             Signals s;
             assign_rows(s.time_ms, time_ms, "time_ms", 1);
             s.names = std::move(names);
             assign_rows(s.values, values, "values", -1);
             if (s.values.rows() == 0 && s.values.cols() == 1 && s.names.empty()) s.values.resize(0, 0);
             s.units = std::move(units);
             if (!metadata.is_none()) s.metadata = nlohmann::json::parse(python_to_json(metadata));
             validate_signals(s);
             return s;
           }),
           py::arg("time_ms"), py::arg("names"), py::arg("values"), py::arg("units") = "mV",
           py::arg("metadata") = py::none())
      .def_property("time_ms", [](Signals& s) -> Eigen::VectorXd& { return s.time_ms; },
                    [](Signals& s, const py::object& a) { assign_rows(s.time_ms, a, "time_ms", 1); },
                    py::return_value_policy::reference_internal)
      .def_readwrite("names", &Signals::names)
      .def_property("values", [](Signals& s) -> Field& { return s.values; },
                    [](Signals& s, const py::object& a) { assign_rows(s.values, a, "values", -1); },
                    py::return_value_policy::reference_internal, "(T, C) values (view).")
      .def_readwrite("units", &Signals::units)
      .def_property("metadata", [](const Signals& s) { return json_to_python(s.metadata.dump()); },
                    [](Signals& s, const py::object& o) { s.metadata = nlohmann::json::parse(python_to_json(o)); })
      .def_property_readonly("num_samples", &Signals::num_samples)
      .def_property_readonly("num_channels", &Signals::num_channels)
      .def("channel", &Signals::channel, py::arg("name"))
      .def("validate", &validate_signals)
      .def("__repr__", [](const Signals& s) {
        std::ostringstream o;
        o << "<cardiotwin.Signals " << s.num_channels() << " channels x " << s.num_samples() << " samples";
        if (s.num_samples()) o << ", " << s.time_ms[0] << ".." << s.time_ms[s.num_samples() - 1] << " ms";
        o << ", units " << s.units << ">";
        return o.str();
      });

  m.def("check_mesh", [](const TetMesh& mm, double tol) { return check_mesh(mm, tol); }, py::arg("mesh"),
        py::arg("rel_tol") = 1e-10);
  m.def("check_mesh", [](const SurfaceMesh& mm, double tol) { return check_mesh(mm, tol); }, py::arg("mesh"),
        py::arg("rel_tol") = 1e-10);
  m.def("validate_mesh", [](const TetMesh& mm, const std::string& n) { validate_mesh(mm, n); }, py::arg("mesh"),
        py::arg("name") = "mesh");
  m.def("validate_mesh", [](const SurfaceMesh& mm, const std::string& n) { validate_mesh(mm, n); }, py::arg("mesh"),
        py::arg("name") = "surface");
}

}  // namespace cardiotwin::python
