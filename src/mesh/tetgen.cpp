#include "cardiotwin/mesh/tetgen.hpp"

#include <tetgen.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>
#include <sstream>
#include <vector>

#include "cardiotwin/core/error.hpp"

namespace cardiotwin::mesh {

nlohmann::json TetgenOptions::to_json() const {
  return {{"max_radius_edge_ratio", max_radius_edge_ratio},
          {"min_dihedral_deg", min_dihedral_deg},
          {"max_volume_mm3", max_volume_mm3},
          {"extra_switches", extra_switches},
          {"check_self_intersections", check_self_intersections}};
}

TetgenOptions TetgenOptions::from_json(const nlohmann::json& j) {
  CARDIOTWIN_CHECK(j.is_object(), InvalidInput, "bad TetGen options", "a JSON object", j.type_name(),
                   Where({}, "tetgen"));
  TetgenOptions o;
  for (const auto& [key, value] : j.items()) {
    if (key == "max_radius_edge_ratio") o.max_radius_edge_ratio = value.get<double>();
    else if (key == "min_dihedral_deg") o.min_dihedral_deg = value.get<double>();
    else if (key == "max_volume_mm3") o.max_volume_mm3 = value.get<double>();
    else if (key == "extra_switches") o.extra_switches = value.get<std::string>();
    else if (key == "check_self_intersections") o.check_self_intersections = value.get<bool>();
    else
      CARDIOTWIN_CHECK(false, InvalidInput, "unknown TetGen option",
                       "one of max_radius_edge_ratio, min_dihedral_deg, max_volume_mm3, extra_switches, check_self_intersections",
                       "'" << key << "'", Where({}, "tetgen." + key));
  }
  return o;
}

std::string tetgen_switches(const TetgenOptions& o) {
  // p: the input is a piecewise linear complex; z: number from 0; Q: quiet. The surface may be
  // refined (Steiner points on it) so that size and quality bounds can be met.
  std::ostringstream s;
  s << "pzQ";
  if (o.max_radius_edge_ratio > 0) {
    s << "q" << o.max_radius_edge_ratio;
    if (o.min_dihedral_deg > 0) s << "/" << o.min_dihedral_deg;
  }
  if (o.max_volume_mm3 > 0) s << "a" << o.max_volume_mm3;
  s << o.extra_switches;
  return s.str();
}

namespace {
// The mesh and TetGen's boundary faces with their input-facet markers (TetGen's numbering).
TetMesh run_tetgen(const SurfaceMesh& surface, const TetgenOptions& options,
                   std::vector<std::pair<std::array<Index, 3>, Index>>* faces) {
  validate_mesh(surface, "surface");
  CARDIOTWIN_CHECK(surface.num_triangles() >= 4, InvalidInput, "surface too small to enclose a volume",
                   "at least 4 triangles", surface.num_triangles(), Where({}, "triangles"));
  const ManifoldCheck topology = check_manifold(surface);
  CARDIOTWIN_CHECK(topology.boundary_edges == 0, InvalidInput, "surface is not closed",
                   "a closed surface (every edge shared by two triangles)",
                   topology.boundary_edges << " edges of a single triangle (holes)", Where({}, "surface"));
  CARDIOTWIN_CHECK(options.max_radius_edge_ratio <= 0 || options.max_radius_edge_ratio >= 1.0, InvalidInput,
                   "radius-edge bound too tight", ">= 1.0 (TetGen may not terminate below ~1.1)",
                   options.max_radius_edge_ratio, Where({}, "max_radius_edge_ratio"));

  tetgenio in, out;  // tetgenio frees its arrays with delete[]
  in.firstnumber = 0;
  in.numberofpoints = static_cast<int>(surface.num_points());
  in.pointlist = new REAL[3 * in.numberofpoints];
  std::copy(surface.points.data(), surface.points.data() + 3 * in.numberofpoints, in.pointlist);
  in.numberoffacets = static_cast<int>(surface.num_triangles());
  in.facetlist = new tetgenio::facet[in.numberoffacets];
  in.facetmarkerlist = new int[in.numberoffacets];
  for (int f = 0; f < in.numberoffacets; ++f) {
    tetgenio::facet& facet = in.facetlist[f];
    tetgenio::init(&facet);
    facet.numberofpolygons = 1;
    facet.polygonlist = new tetgenio::polygon[1];
    tetgenio::init(&facet.polygonlist[0]);
    facet.polygonlist[0].numberofvertices = 3;
    facet.polygonlist[0].vertexlist = new int[3];
    for (int a = 0; a < 3; ++a) facet.polygonlist[0].vertexlist[a] = surface.triangles(f, a);
    in.facetmarkerlist[f] = surface.tags.size() ? surface.tags[f] : 0;
  }

  if (options.check_self_intersections) {
    // TetGen 1.5 may crash (not throw) on a self-intersecting surface, so look first: -d only
    // detects intersecting facets and returns them.
    tetgenio probe;
    tetgenbehavior detect;
    char d[] = "pdzQ";
    detect.parse_commandline(d);
    try {
      ::tetrahedralize(&detect, &in, &probe);
    } catch (int code) {
      CARDIOTWIN_CHECK(false, InvalidInput, "TetGen could not check the surface for self-intersections",
                       "a valid surface", "TetGen code " << code, Where({}, "surface"));
    }
    if (probe.numberoftrifaces > 0) {
      const Eigen::Vector3d p = surface.points.row(probe.trifacelist[0]);
      CARDIOTWIN_CHECK(false, InvalidInput, "surface intersects itself", "a surface whose triangles meet only at shared edges",
                       probe.numberoftrifaces << " intersecting triangles, e.g. near (" << p.x() << ", " << p.y()
                                              << ", " << p.z() << ") mm",
                       Where({}, "surface"));
    }
  }
  const std::string switches = tetgen_switches(options);
  tetgenbehavior behaviour;
  std::vector<char> sw(switches.begin(), switches.end());
  sw.push_back('\0');
  CARDIOTWIN_CHECK(behaviour.parse_commandline(sw.data()), InvalidInput, "bad TetGen switches",
                   "valid TetGen switches", "'" << switches << "'", Where({}, "extra_switches"));
  try {
    ::tetrahedralize(&behaviour, &in, &out);
  } catch (int code) {
    // TetGen reports failures by throwing an int (library build).
    const char* why = code == 1   ? "out of memory"
                      : code == 2 ? "an internal error (please report the input)"
                      : code == 3 ? "the surface self-intersects"
                      : code == 4 ? "a very small input feature relative to the mesh size"
                      : code == 5 ? "two very close input facets"
                      : code == 10 ? "an input error (the surface may be open or degenerate)"
                                  : "an unknown failure";
    CARDIOTWIN_CHECK(false, InvalidInput, "TetGen could not mesh the surface",
                     "a closed, non-self-intersecting surface", why << " (TetGen code " << code << ")",
                     Where({}, "surface"));
  }
  CARDIOTWIN_CHECK(out.numberoftetrahedra > 0, InvalidInput, "TetGen produced no tetrahedra",
                   "a closed surface enclosing a volume", "0 tetrahedra (is the surface closed?)",
                   Where({}, "surface"));

  TetMesh mesh;
  mesh.points.resize(out.numberofpoints, 3);
  std::copy(out.pointlist, out.pointlist + 3 * out.numberofpoints, mesh.points.data());
  mesh.tets.resize(out.numberoftetrahedra, 4);
  for (int t = 0; t < out.numberoftetrahedra; ++t)
    for (int a = 0; a < 4; ++a) mesh.tets(t, a) = out.tetrahedronlist[t * out.numberofcorners + a];
  mesh.region = Tags::Ones(mesh.num_tets());
  fix_orientation(mesh);
  if (faces)
    for (int f = 0; f < out.numberoftrifaces; ++f) {
      std::array<Index, 3> n = {out.trifacelist[3 * f], out.trifacelist[3 * f + 1], out.trifacelist[3 * f + 2]};
      std::sort(n.begin(), n.end());
      faces->push_back({n, out.trifacemarkerlist ? out.trifacemarkerlist[f] : 0});
    }
  return mesh;
}
}  // namespace

TetMesh tetrahedralize(const SurfaceMesh& surface, const TetgenOptions& options) {
  TetMesh mesh = run_tetgen(surface, options, nullptr);
  remove_unused_points(mesh);
  return mesh;
}

TaggedMesh tetrahedralize_tagged(const SurfaceMesh& surface, const TetgenOptions& options) {
  std::vector<std::pair<std::array<Index, 3>, Index>> faces;
  TaggedMesh out;
  out.mesh = run_tetgen(surface, options, &faces);
  // Tags by sorted node triple, then renumber nodes (point field "_tetgen_id" follows them).
  std::map<std::array<Index, 3>, Index> tag_of;
  for (const auto& [n, tag] : faces) tag_of[n] = tag;
  out.surface = boundary_surface(out.mesh);
  std::int64_t untagged = 0;
  for (std::int64_t f = 0; f < out.surface.num_triangles(); ++f) {
    std::array<Index, 3> n = {out.surface.triangles(f, 0), out.surface.triangles(f, 1), out.surface.triangles(f, 2)};
    std::sort(n.begin(), n.end());
    const auto it = tag_of.find(n);
    if (it == tag_of.end()) ++untagged;
    out.surface.tags[f] = it == tag_of.end() ? 0 : it->second;
  }
  CARDIOTWIN_CHECK(untagged == 0, InvalidInput, "TetGen boundary faces do not match the mesh boundary",
                   "every boundary face reported by TetGen", untagged << " faces without a TetGen face",
                   Where({}, "surface"));
  Field id(out.mesh.num_points(), 1);
  for (std::int64_t p = 0; p < out.mesh.num_points(); ++p) id(p, 0) = double(p);
  out.mesh.point_data["_tetgen_id"] = id;
  if (remove_unused_points(out.mesh) > 0) {
    std::vector<Index> new_id(static_cast<std::size_t>(out.surface.num_points()), -1);
    const Field& kept = out.mesh.point_data.at("_tetgen_id");
    for (std::int64_t p = 0; p < kept.rows(); ++p) new_id[static_cast<std::size_t>(kept(p, 0))] = static_cast<Index>(p);
    for (std::int64_t f = 0; f < out.surface.num_triangles(); ++f)
      for (int a = 0; a < 3; ++a) out.surface.triangles(f, a) = new_id[out.surface.triangles(f, a)];
    out.surface.points = out.mesh.points;
  }
  out.mesh.point_data.erase("_tetgen_id");
  return out;
}

}  // namespace cardiotwin::mesh
