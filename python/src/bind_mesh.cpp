// Bindings of the meshing components. When a component was not built, its functions still exist
// and raise MissingComponent naming the CMake option, so scripts fail with a clear message.
// Options travel as Python dicts (JSON) validated by the C++ parsers, so Python, the CLI and C++
// share one schema.
#include <pybind11/eigen.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/core/mesh.hpp"
#include "cardiotwin/mesh/label_map.hpp"
#include "cardiotwin/mesh/procedural.hpp"
#include "cardiotwin/mesh/quality.hpp"
#include "cardiotwin/mesh/surface.hpp"
#if CARDIOTWIN_HAS_TETGEN
#include "cardiotwin/mesh/tetgen.hpp"
#endif
#if CARDIOTWIN_HAS_CGAL
#include "cardiotwin/mesh/cgal.hpp"
#endif

namespace cardiotwin::python {
namespace {

nlohmann::json to_json(const py::handle& obj) {
  return obj.is_none() ? nlohmann::json::object() : nlohmann::json::parse(python_to_json(obj));
}
py::object from_json(const nlohmann::json& j) { return json_to_python(j.dump()); }

[[noreturn, maybe_unused]] void missing(const char* what, const char* option, const char* package) {
  throw MissingComponent(std::string(what), std::string("cardiotwin built with -D") + option + "=ON (" + package + ")",
                         "a build without it");
}

#if CARDIOTWIN_HAS_TETGEN
mesh::TetgenOptions tetgen_options(double max_radius_edge_ratio, double min_dihedral_deg, double max_volume_mm3,
                                   const std::string& extra_switches, bool check_self_intersections) {
  mesh::TetgenOptions o;
  o.check_self_intersections = check_self_intersections;
  o.max_radius_edge_ratio = max_radius_edge_ratio;
  o.min_dihedral_deg = min_dihedral_deg;
  o.max_volume_mm3 = max_volume_mm3;
  o.extra_switches = extra_switches;
  return o;
}
#endif

}  // namespace

#if CARDIOTWIN_HAS_CGAL
// Result of mesh_label_map, held by Python.
struct PyLabelMeshResult {
  mesh::LabelMeshResult r;
};
#endif

void bind_mesh(py::module_& m) {
  m.def("box_mesh", &mesh::box_mesh, py::arg("size"), py::arg("dx"), py::call_guard<py::gil_scoped_release>(),
        "Box [0, size] (mm) on a regular grid of about dx mm, 6 tets per cube, fibres along x, region 1.");
  m.def("niederer_slab", &mesh::niederer_slab, py::arg("dx"), py::call_guard<py::gil_scoped_release>(),
        "The 20 x 7 x 3 mm slab of the Niederer et al. 2011 benchmark at spacing dx mm.");

  // ---- surface tags and tagged meshes ----
  m.attr("UNTAGGED") = static_cast<int>(mesh::kUntagged);
  m.attr("LV_ENDO") = static_cast<int>(mesh::kLvEndo);
  m.attr("RV_ENDO") = static_cast<int>(mesh::kRvEndo);
  m.attr("EPI") = static_cast<int>(mesh::kEpi);
  m.attr("BASE") = static_cast<int>(mesh::kBase);
  m.def("surface_tag_name", &mesh::surface_tag_name, py::arg("tag"), "'lv_endo', 'rv_endo', 'epi', 'base', ...");
  m.def("surface_tag_from_name", &mesh::surface_tag_from_name, py::arg("name"));
  py::class_<mesh::TaggedMesh>(m, "TaggedMesh",
                               "A tet mesh and its tagged boundary surface (same node numbering).")
      .def(py::init([](const TetMesh& mm, const SurfaceMesh& s) { return mesh::TaggedMesh{mm, s}; }), py::arg("mesh"),
           py::arg("surface"))
      .def_readwrite("mesh", &mesh::TaggedMesh::mesh)
      .def_readwrite("surface", &mesh::TaggedMesh::surface)
      .def("__repr__", [](const mesh::TaggedMesh& t) {
        return "<cardiotwin.mesh.TaggedMesh " + std::to_string(t.mesh.num_tets()) + " tets, " +
               std::to_string(t.surface.num_triangles()) + " boundary faces>";
      });
  m.def("boundary_surface", &mesh::boundary_surface, py::arg("mesh"), py::arg("region_interfaces") = false,
        py::call_guard<py::gil_scoped_release>(),
        "Boundary faces of a tet mesh, outward, in the mesh's node numbering; cell fields 'tet', 'region'.");
  m.def("extract_faces", &mesh::extract_faces, py::arg("surface"), py::arg("tags") = std::vector<Index>{},
        "The faces with these tags (all when empty), unused points dropped; point field 'node' maps back.");
  m.def("face_normals", &mesh::face_normals, py::arg("surface"));
  m.def("face_areas", &mesh::face_areas, py::arg("surface"));
  m.def(
      "tag_from_labels",
      [](SurfaceMesh& s, const LabelMap& labels, const std::map<int, Index>& label_to_tag, Index default_tag,
         const std::vector<int>& meshed_labels, double max_distance_mm) {
        mesh::LabelTagOptions o;
        o.label_to_tag = label_to_tag;
        o.default_tag = default_tag;
        o.meshed_labels = meshed_labels;
        o.max_distance_mm = max_distance_mm;
        py::gil_scoped_release release;
        return mesh::tag_from_labels(s, labels, o);
      },
      py::arg("surface"), py::arg("labels"), py::arg("label_to_tag"), py::arg("default_tag") = static_cast<int>(mesh::kEpi),
      py::arg("meshed_labels") = std::vector<int>{}, py::arg("max_distance_mm") = 0.0,
      "Tag each face by the first non-meshed label found just outside it; returns faces per tag.");
  m.def("tag_cap", &mesh::tag_cap, py::arg("surface"), py::arg("direction"), py::arg("max_angle_deg") = 30.0,
        py::arg("depth_mm") = 1.0, py::arg("tag") = static_cast<int>(mesh::kBase),
        "Tag the faces of the end cap along `direction` (a cut base); returns how many.");
  m.def("merge_small_patches", &mesh::merge_small_patches, py::arg("surface"), py::arg("min_fraction") = 0.1,
        "Small patches of a tag take their neighbours' tag; returns faces retagged.");
  m.def(
      "check_surface_tags",
      [](const SurfaceMesh& s, const std::vector<Index>& expected) { return from_json(mesh::check_surface_tags(s, expected).to_json()); },
      py::arg("surface"), py::arg("expected"), "Per-tag faces, area and components; 'ok' when each expected tag is present and connected.");
  m.def("check_manifold", [](const SurfaceMesh& s) { return from_json(mesh::check_manifold(s).to_json()); },
        py::arg("surface"), "Boundary, non-manifold and flipped edges, components, enclosed volume; 'watertight'.");
  m.def("orient_outward", &mesh::orient_outward, py::arg("surface"),
        "Make face orientation consistent and outward per component; returns faces flipped.");
  m.def("printable_surface", &mesh::printable_surface, py::arg("mesh"), py::arg("region") = -1,
        py::call_guard<py::gil_scoped_release>(),
        "Watertight boundary surface of the mesh (or one region) for STL export; raises InvalidInput otherwise.");

  // ---- quality ----
  py::class_<mesh::QualityReport>(m, "QualityReport", "Element quality: dihedral angles, radius-edge ratios, volumes.")
      .def_readonly("num_points", &mesh::QualityReport::num_points)
      .def_readonly("num_tets", &mesh::QualityReport::num_tets)
      .def_readonly("inverted", &mesh::QualityReport::inverted)
      .def_readonly("degenerate", &mesh::QualityReport::degenerate)
      .def_readonly("min_dihedral_deg", &mesh::QualityReport::min_dihedral_deg)
      .def_readonly("max_dihedral_deg", &mesh::QualityReport::max_dihedral_deg)
      .def_readonly("mean_dihedral_deg", &mesh::QualityReport::mean_dihedral_deg)
      .def_readonly("max_radius_edge_ratio", &mesh::QualityReport::max_radius_edge_ratio)
      .def_readonly("mean_radius_edge_ratio", &mesh::QualityReport::mean_radius_edge_ratio)
      .def_readonly("mean_edge_mm", &mesh::QualityReport::mean_edge_mm)
      .def_readonly("total_volume_mm3", &mesh::QualityReport::total_volume_mm3)
      .def_readonly("region_volume_mm3", &mesh::QualityReport::region_volume_mm3)
      .def("to_dict", [](const mesh::QualityReport& q) { return from_json(q.to_json()); })
      .def("__repr__", [](const mesh::QualityReport& q) { return "<cardiotwin.mesh.QualityReport " + q.to_json().dump() + ">"; });
  m.def("quality_report", &mesh::quality_report, py::arg("mesh"), py::call_guard<py::gil_scoped_release>());

  // ---- procedural ----
  m.def(
      "ellipsoidal_lv", [](const py::object& options) { return mesh::ellipsoidal_lv(mesh::EllipsoidLvOptions::from_json(to_json(options))); },
      py::arg("options") = py::none(), "Truncated ellipsoidal LV with tagged surfaces (options as a dict).");
  m.def("ellipsoidal_lv_options", [](const py::object& options) { return from_json(mesh::EllipsoidLvOptions::from_json(to_json(options)).to_json()); },
        py::arg("options") = py::none(), "Validated options with defaults filled in.");
  m.def(
      "ellipsoidal_lv_volumes",
      [](const py::object& options) {
        const auto o = mesh::EllipsoidLvOptions::from_json(to_json(options));
        return py::make_tuple(o.wall_volume_mm3(), o.cavity_volume_mm3());
      },
      py::arg("options") = py::none(), "(wall, cavity) volumes in mm^3 of the exact shape.");
  m.def(
      "biventricular_label_map",
      [](const py::object& options) { return mesh::biventricular_label_map(mesh::BiventricularOptions::from_json(to_json(options))); },
      py::arg("options") = py::none(), "Label map of an idealised biventricular heart (1 LV myo, 2 RV myo, 3 LV blood, 4 RV blood).");

  // ---- label maps ----
  m.def("label_volumes_mm3", &mesh::label_volumes_mm3, py::arg("labels"));
  m.def(
      "crop_to_labels",
      [](const LabelMap& labels, const std::vector<int>& wanted, std::int64_t margin) {
        return mesh::crop(labels, mesh::label_bounding_box(labels, mesh::check_labels_present(labels, wanted)), margin);
      },
      py::arg("labels"), py::arg("wanted") = std::vector<int>{}, py::arg("margin") = 2,
      "Sub-image around the wanted labels (all non-zero when empty) plus a margin, geometry kept.");
  m.def(
      "interpolate_slices",
      [](const LabelMap& labels, double max_anisotropy, double target_spacing_mm) {
        mesh::SliceInterpolation info;
        LabelMap out;
        {
          py::gil_scoped_release release;
          out = mesh::interpolate_slices(labels, max_anisotropy, target_spacing_mm, &info);
        }
        py::dict d;
        d["axis"] = info.axis;
        d["factor"] = info.factor;
        d["spacing_before_mm"] = info.spacing_before_mm;
        d["spacing_after_mm"] = info.spacing_after_mm;
        return py::make_tuple(out, d);
      },
      py::arg("labels"), py::arg("max_anisotropy") = 2.0, py::arg("target_spacing_mm") = 0.0,
      "Shape-based interpolation of thick slices; returns (label map, info dict).");
  m.def(
      "remove_islands",
      [](LabelMap& labels, const std::vector<int>& wanted, double min_fraction) {
        const auto r = mesh::remove_islands(labels, wanted, min_fraction);
        py::list out;
        for (const auto& i : r) out.append(from_json(i.to_json()));
        return out;
      },
      py::arg("labels"), py::arg("wanted"), py::arg("min_fraction") = 0.05, "In place; returns one dict per label.");
  m.def("grow_wall", &mesh::grow_wall, py::arg("labels"), py::arg("source_label"), py::arg("thickness_mm"),
        py::arg("new_label"), py::arg("into") = std::vector<int>{0}, py::call_guard<py::gil_scoped_release>(),
        "In place: voxels of `into` within thickness_mm of source_label become new_label; returns how many.");

  // ---- CGAL ----
#if CARDIOTWIN_HAS_CGAL
  py::class_<PyLabelMeshResult>(m, "LabelMeshResult", "Mesh, prepared label map and report of mesh_label_map.")
      .def_property_readonly("mesh", [](PyLabelMeshResult& r) -> TetMesh& { return r.r.mesh; }, py::return_value_policy::reference_internal)
      .def_property_readonly("prepared", [](PyLabelMeshResult& r) -> LabelMap& { return r.r.prepared; }, py::return_value_policy::reference_internal)
      .def_property_readonly("quality", [](const PyLabelMeshResult& r) { return r.r.quality; })
      .def_property_readonly("warnings", [](const PyLabelMeshResult& r) { return r.r.warnings; })
      .def_property_readonly("labels", [](const PyLabelMeshResult& r) { return r.r.labels; })
      .def("to_dict", [](const PyLabelMeshResult& r) { return from_json(r.r.to_json()); });
#endif
  m.def(
      "mesh_label_map",
      [](const LabelMap& labels, const py::object& options) {
#if CARDIOTWIN_HAS_CGAL
        const auto o = mesh::LabelMeshOptions::from_json(to_json(options));
        PyLabelMeshResult r;
        {
          py::gil_scoped_release release;
          r.r = mesh::mesh_label_map(labels, o);
        }
        return py::cast(std::move(r));
#else
        (void)labels, (void)options;
        missing("mesh_label_map needs the CGAL component", "CARDIOTWIN_WITH_CGAL", "apt-get install libcgal-dev");
#endif
      },
      py::arg("labels"), py::arg("options") = py::none(), "Label map to tet mesh with CGAL Mesh_3 (options as a dict).");
  m.def(
      "label_mesh_options",
      [](const py::object& options) {
#if CARDIOTWIN_HAS_CGAL
        return from_json(mesh::LabelMeshOptions::from_json(to_json(options)).to_json());
#else
        (void)options;
        missing("label_mesh_options needs the CGAL component", "CARDIOTWIN_WITH_CGAL", "apt-get install libcgal-dev");
#endif
      },
      py::arg("options") = py::none(), "Validated mesh_label_map options with defaults filled in.");
  m.def(
      "biventricular_mesh",
      [](const py::object& options, double size_mm) {
#if CARDIOTWIN_HAS_CGAL
        const auto o = mesh::BiventricularOptions::from_json(to_json(options));
        py::gil_scoped_release release;
        return mesh::biventricular_mesh(o, size_mm);
#else
        (void)options, (void)size_mm;
        missing("biventricular_mesh needs the CGAL component", "CARDIOTWIN_WITH_CGAL", "apt-get install libcgal-dev");
#endif
      },
      py::arg("options") = py::none(), py::arg("size_mm") = 1.0, "Idealised biventricular mesh with tagged surfaces (CGAL).");

  // ---- TetGen ----
  m.def(
      "tetrahedralize",
      [](const SurfaceMesh& surface, double max_radius_edge_ratio, double min_dihedral_deg, double max_volume_mm3,
         const std::string& extra_switches, bool check_self_intersections) -> TetMesh {
#if CARDIOTWIN_HAS_TETGEN
        const auto o = tetgen_options(max_radius_edge_ratio, min_dihedral_deg, max_volume_mm3, extra_switches,
                                      check_self_intersections);
        py::gil_scoped_release release;
        return mesh::tetrahedralize(surface, o);
#else
        (void)surface, (void)max_radius_edge_ratio, (void)min_dihedral_deg, (void)max_volume_mm3, (void)extra_switches,
            (void)check_self_intersections;
        missing("tetrahedralize needs the TetGen component", "CARDIOTWIN_WITH_TETGEN", "apt-get install libtet1.5-dev");
#endif
      },
      py::arg("surface"), py::arg("max_radius_edge_ratio") = 1.4, py::arg("min_dihedral_deg") = 0.0,
      py::arg("max_volume_mm3") = 0.0, py::arg("extra_switches") = "", py::arg("check_self_intersections") = true,
      "Fill a closed surface (mm) with tetrahedra using TetGen; bounds <= 0 are off. Every tet gets region 1.");
  m.def(
      "tetrahedralize_tagged",
      [](const SurfaceMesh& surface, double max_radius_edge_ratio, double min_dihedral_deg, double max_volume_mm3,
         const std::string& extra_switches, bool check_self_intersections) -> mesh::TaggedMesh {
#if CARDIOTWIN_HAS_TETGEN
        const auto o = tetgen_options(max_radius_edge_ratio, min_dihedral_deg, max_volume_mm3, extra_switches,
                                      check_self_intersections);
        py::gil_scoped_release release;
        return mesh::tetrahedralize_tagged(surface, o);
#else
        (void)surface, (void)max_radius_edge_ratio, (void)min_dihedral_deg, (void)max_volume_mm3, (void)extra_switches,
            (void)check_self_intersections;
        missing("tetrahedralize_tagged needs the TetGen component", "CARDIOTWIN_WITH_TETGEN", "apt-get install libtet1.5-dev");
#endif
      },
      py::arg("surface"), py::arg("max_radius_edge_ratio") = 1.4, py::arg("min_dihedral_deg") = 0.0,
      py::arg("max_volume_mm3") = 0.0, py::arg("extra_switches") = "", py::arg("check_self_intersections") = true,
      "Like tetrahedralize, plus the boundary surface with the input face tags.");
}

}  // namespace cardiotwin::python
