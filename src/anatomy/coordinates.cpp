#include "cardiotwin/anatomy/coordinates.hpp"

#include <Eigen/Geometry>
#include <algorithm>
#include <cmath>
#include <limits>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/core/json.hpp"
#include "cardiotwin/mesh/surface.hpp"

namespace cardiotwin::anatomy {

namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<Index> nodes_of_tag(const SurfaceMesh& s, Index tag) {
  std::vector<Index> n;
  for (std::int64_t f = 0; f < s.num_triangles(); ++f)
    if (s.tags.size() && s.tags[f] == tag)
      for (int a = 0; a < 3; ++a) n.push_back(s.triangles(f, a));
  std::sort(n.begin(), n.end());
  n.erase(std::unique(n.begin(), n.end()), n.end());
  return n;
}

}  // namespace

nlohmann::json CoordinateOptions::to_json() const {
  return {{"apex_radius_mm", apex_radius_mm},
          {"rotational_reference", {rotational_reference[0], rotational_reference[1], rotational_reference[2]}},
          {"rv_regions", rv_regions},
          {"rel_tol", solver.rel_tol},
          {"max_iterations", solver.max_iterations}};
}

CoordinateOptions CoordinateOptions::from_json(const nlohmann::json& j) {
  CoordinateOptions o;
  JsonReader r(j, "coordinates");
  r.get("apex_radius_mm", o.apex_radius_mm);
  std::vector<double> ref;
  if (r.get("rotational_reference", ref)) {
    CARDIOTWIN_CHECK(ref.size() == 3, InvalidInput, "bad rotational reference", "3 numbers", ref.size() << " numbers",
                     Where({}, "coordinates.rotational_reference"));
    o.rotational_reference = Eigen::Vector3d(ref[0], ref[1], ref[2]);
  }
  r.get("rv_regions", o.rv_regions);
  r.get("rel_tol", o.solver.rel_tol);
  r.get("max_iterations", o.solver.max_iterations);
  r.finish();
  return o;
}

void VentricularCoordinates::add_to(TetMesh& mesh) const {
  const std::pair<const char*, const Eigen::VectorXd*> fields[] = {
      {"transmural", &transmural}, {"apicobasal", &apicobasal}, {"rotational", &rotational}, {"phi_lv", &phi_lv},
      {"phi_rv", &phi_rv},         {"lv_rv", &lv_rv},           {"ventricle", &ventricle}};
  for (const auto& [name, v] : fields) {
    CARDIOTWIN_CHECK(v->size() == mesh.num_points(), InvalidInput, "coordinate size mismatch",
                     mesh.num_points() << " node values", v->size(), Where({}, name));
    mesh.point_data[name] = *v;
  }
}

VentricularCoordinates VentricularCoordinates::from_point_data(const TetMesh& mesh) {
  VentricularCoordinates c;
  const std::pair<const char*, Eigen::VectorXd*> fields[] = {
      {"transmural", &c.transmural}, {"apicobasal", &c.apicobasal}, {"rotational", &c.rotational},
      {"phi_lv", &c.phi_lv},         {"phi_rv", &c.phi_rv},         {"lv_rv", &c.lv_rv},
      {"ventricle", &c.ventricle}};
  for (const auto& [name, v] : fields) {
    const auto it = mesh.point_data.find(name);
    CARDIOTWIN_CHECK(it != mesh.point_data.end() && it->second.cols() == 1 && it->second.rows() == mesh.num_points(),
                     InvalidInput, "coordinate field missing", "point field '" << name << "' with one value per node",
                     "none", Where({}, name));
    *v = it->second.col(0);
  }
  c.has_rv = c.phi_rv.size() && c.phi_rv.maxCoeff() > 0;
  return c;
}

VentricularCoordinates ventricular_coordinates(const TetMesh& mesh, const SurfaceMesh& surface,
                                               const CoordinateOptions& o) {
  CARDIOTWIN_CHECK(surface.num_points() == mesh.num_points(), InvalidInput, "surface does not share the mesh nodes",
                   "a boundary surface in the mesh's node numbering (" << mesh.num_points() << " points)",
                   surface.num_points() << " points", Where({}, "surface"));
  CARDIOTWIN_CHECK(surface.tags.size() == surface.num_triangles(), InvalidInput, "surface has no tags",
                   "tags lv_endo, epi, base (and rv_endo)", "untagged faces", Where({}, "surface"));
  for (std::int64_t f = 0; f < surface.num_triangles(); ++f)
    for (int a = 0; a < 3; ++a) {
      const Index v = surface.triangles(f, a);
      CARDIOTWIN_CHECK(v >= 0 && v < mesh.num_points(), InvalidInput, "surface node out of range",
                       "a node of the mesh", v, Where({}, "surface", f));
    }
  const auto lv = nodes_of_tag(surface, mesh::kLvEndo), rv = nodes_of_tag(surface, mesh::kRvEndo),
             epi = nodes_of_tag(surface, mesh::kEpi), base = nodes_of_tag(surface, mesh::kBase);
  for (const auto& [tag, nodes] : {std::pair<Index, const std::vector<Index>*>{mesh::kLvEndo, &lv},
                                   {mesh::kEpi, &epi}, {mesh::kBase, &base}})
    CARDIOTWIN_CHECK(!nodes->empty(), InvalidInput, "surface tag missing",
                     "faces tagged " << mesh::surface_tag_name(tag) << " (" << tag << ")", "none",
                     Where({}, "surface.tags"));
  VentricularCoordinates c;
  c.has_rv = !rv.empty();
  LaplaceSolver solver(mesh);

  // Transmural: 0 on both endocardia, 1 on the epicardium (epicardium wins on shared nodes).
  Dirichlet bc;
  bc.add(lv, 0.0);
  bc.add(rv, 0.0);
  bc.add(epi, 1.0);
  c.transmural = solver.solve(bc, o.solver);
  c.iterations += solver.last_iterations();
  // Bayer's phi_lv and phi_rv.
  bc = Dirichlet{};
  bc.add(rv, 0.0);
  bc.add(epi, 0.0);
  bc.add(lv, 1.0);
  c.phi_lv = solver.solve(bc, o.solver);
  c.iterations += solver.last_iterations();
  if (c.has_rv) {
    bc = Dirichlet{};
    bc.add(lv, 0.0);
    bc.add(epi, 0.0);
    bc.add(rv, 1.0);
    c.phi_rv = solver.solve(bc, o.solver);
    c.iterations += solver.last_iterations();
  } else {
    c.phi_rv = Eigen::VectorXd::Zero(mesh.num_points());
  }
  // The exact solutions lie in [0, 1] (maximum principle); clip the solver's rounding.
  for (Eigen::VectorXd* v : {&c.transmural, &c.phi_lv, &c.phi_rv}) *v = v->cwiseMax(0.0).cwiseMin(1.0);
  // lv_rv = phi_rv / (phi_lv + phi_rv); on the epicardium both vanish, so there it is the mean of
  // the neighbouring nodes off the epicardium.
  const std::int64_t np = mesh.num_points();
  c.lv_rv = Eigen::VectorXd::Zero(np);
  c.ventricle.resize(np);
  std::vector<char> defined(static_cast<std::size_t>(np), 0);
  for (std::int64_t v = 0; v < np; ++v) {
    const double s = c.phi_lv[v] + c.phi_rv[v];
    if (s > 1e-9) {
      c.lv_rv[v] = c.phi_rv[v] / s;
      defined[v] = 1;
    }
  }
  if (c.has_rv) {
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(np), count = Eigen::VectorXd::Zero(np);
    for (std::int64_t t = 0; t < mesh.num_tets(); ++t)
      for (int a = 0; a < 4; ++a)
        for (int b = 0; b < 4; ++b) {
          const Index p = mesh.tets(t, a), q = mesh.tets(t, b);
          if (!defined[p] && defined[q]) {
            sum[p] += c.lv_rv[q];
            count[p] += 1;
          }
        }
    for (std::int64_t v = 0; v < np; ++v)
      if (!defined[v] && count[v] > 0) c.lv_rv[v] = sum[v] / count[v];
  }
  std::vector<char> rv_region(static_cast<std::size_t>(np), 0), lv_region(static_cast<std::size_t>(np), 0);
  if (!o.rv_regions.empty())
    for (std::int64_t t = 0; t < mesh.num_tets(); ++t) {
      const bool in_rv = std::find(o.rv_regions.begin(), o.rv_regions.end(), mesh.region_of(t)) != o.rv_regions.end();
      for (int a = 0; a < 4; ++a) (in_rv ? rv_region : lv_region)[mesh.tets(t, a)] = 1;
    }
  for (std::int64_t v = 0; v < np; ++v)
    c.ventricle[v] = o.rv_regions.empty() ? (c.lv_rv[v] <= 0.5 ? -1.0 : 1.0) : (rv_region[v] && !lv_region[v] ? 1.0 : -1.0);

  // Long axis: from the apex to the area-weighted centroid of the base, the apex being the
  // epicardial node furthest below the base along the mean outward base normal.
  const Directions n = mesh::face_normals(surface);
  const Points centroid = mesh::face_centroids(surface);
  const Eigen::VectorXd area = mesh::face_areas(surface);
  Eigen::Vector3d base_normal = Eigen::Vector3d::Zero(), base_centre = Eigen::Vector3d::Zero();
  double base_area = 0, edge_sum = 0;
  std::int64_t edges = 0;
  for (std::int64_t f = 0; f < surface.num_triangles(); ++f) {
    for (int a = 0; a < 3; ++a) {
      edge_sum += (surface.points.row(surface.triangles(f, a)) - surface.points.row(surface.triangles(f, (a + 1) % 3))).norm();
      ++edges;
    }
    if (surface.tags[f] != mesh::kBase) continue;
    base_normal += area[f] * n.row(f).transpose();
    base_centre += area[f] * centroid.row(f).transpose();
    base_area += area[f];
  }
  CARDIOTWIN_CHECK(base_area > 0 && base_normal.norm() > 1e-12 * base_area, InvalidInput, "degenerate base",
                   "base faces with a common outward direction", "zero area or opposite normals", Where({}, "surface.tags"));
  base_centre /= base_area;
  base_normal.normalize();
  Index apex = epi.front();
  double lowest = std::numeric_limits<double>::infinity();
  for (const Index v : epi) {
    const double h = (mesh.points.row(v).transpose() - base_centre).dot(base_normal);
    if (h < lowest) {
      lowest = h;
      apex = v;
    }
  }
  c.apex = mesh.points.row(apex).transpose();
  c.base_centre = base_centre;
  c.long_axis = (base_centre - c.apex).normalized();

  // Apicobasal: 0 on the boundary nodes near the apex, 1 on the base.
  const double radius = o.apex_radius_mm > 0 ? o.apex_radius_mm : 2 * edge_sum / double(std::max<std::int64_t>(edges, 1));
  std::vector<Index> apex_nodes;
  for (std::int64_t f = 0; f < surface.num_triangles(); ++f)
    for (int a = 0; a < 3; ++a) {
      const Index v = surface.triangles(f, a);
      if ((mesh.points.row(v).transpose() - c.apex).norm() <= radius) apex_nodes.push_back(v);
    }
  apex_nodes.push_back(apex);
  bc = Dirichlet{};
  bc.add(base, 1.0);
  bc.add(apex_nodes, 0.0);
  c.apicobasal = solver.solve(bc, o.solver).cwiseMax(0.0).cwiseMin(1.0);
  c.iterations += solver.last_iterations();

  // Rotational: angle about the axis through the LV cavity centroid (centroid of the LV
  // endocardial nodes) along the long axis.
  Eigen::Vector3d lv_centre = Eigen::Vector3d::Zero();
  for (const Index v : lv) lv_centre += mesh.points.row(v).transpose();
  lv_centre /= double(lv.size());
  const Eigen::Vector3d& z = c.long_axis;
  Eigen::Vector3d ref = o.rotational_reference;
  if (ref.norm() == 0) {
    if (c.has_rv) {
      Eigen::Vector3d rv_centre = Eigen::Vector3d::Zero();
      for (const Index v : rv) rv_centre += mesh.points.row(v).transpose();
      ref = rv_centre / double(rv.size()) - lv_centre;
    } else {
      ref = std::abs(z.x()) < 0.9 ? Eigen::Vector3d::UnitX() : Eigen::Vector3d::UnitY();
    }
  }
  Eigen::Vector3d ex = ref - ref.dot(z) * z;
  CARDIOTWIN_CHECK(ex.norm() > 1e-9 * std::max(1.0, ref.norm()), InvalidInput, "bad rotational reference",
                   "a direction not parallel to the long axis", ref.transpose(), Where({}, "rotational_reference"));
  ex.normalize();
  const Eigen::Vector3d ey = z.cross(ex);
  c.rotational.resize(mesh.num_points());
  for (std::int64_t v = 0; v < mesh.num_points(); ++v) {
    const Eigen::Vector3d d = mesh.points.row(v).transpose() - lv_centre;
    double a = std::atan2(d.dot(ey), d.dot(ex));
    if (a <= -kPi) a += 2 * kPi;
    c.rotational[v] = a;
  }
  return c;
}

}  // namespace cardiotwin::anatomy
