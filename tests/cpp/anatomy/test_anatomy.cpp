#include <catch2/catch.hpp>
#include <Eigen/Geometry>
#include <cmath>

#include "../test_util.hpp"
#include "cardiotwin/anatomy/coordinates.hpp"
#include "cardiotwin/anatomy/fibres.hpp"
#include "cardiotwin/anatomy/laplace.hpp"
#include "cardiotwin/config.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/mesh/procedural.hpp"
#include "cardiotwin/mesh/surface.hpp"
#if CARDIOTWIN_HAS_MESH_CGAL
#include "cardiotwin/mesh/cgal.hpp"
#endif

using namespace cardiotwin;
using namespace cardiotwin::anatomy;

namespace {
std::vector<Index> nodes_where(const TetMesh& m, bool (*pred)(const Eigen::RowVector3d&)) {
  std::vector<Index> n;
  for (std::int64_t v = 0; v < m.num_points(); ++v)
    if (pred(m.points.row(v))) n.push_back(static_cast<Index>(v));
  return n;
}
}  // namespace

TEST_CASE("Laplace on a slab is linear between its Dirichlet faces", "[anatomy][laplace]") {
  const TetMesh box = mesh::box_mesh(Eigen::Vector3d(3, 1, 1), 0.25);
  Dirichlet bc;
  bc.add(nodes_where(box, [](const Eigen::RowVector3d& p) { return p[0] < 1e-9; }), 2.0);
  bc.add(nodes_where(box, [](const Eigen::RowVector3d& p) { return p[0] > 3 - 1e-9; }), -1.0);
  LaplaceSolver solver(box);
  const Eigen::VectorXd u = solver.solve(bc);
  CHECK(solver.last_iterations() > 0);
  for (std::int64_t v = 0; v < box.num_points(); ++v) REQUIRE(u[v] == Approx(2.0 - box.points(v, 0)).margin(1e-6));
  const auto g = solver.gradient(u);
  CHECK(g.col(0).array().isApprox(Eigen::ArrayXd::Constant(g.rows(), -1.0), 1e-6));
  CHECK(g.col(1).cwiseAbs().maxCoeff() < 1e-6);
  Dirichlet same;
  same.add({0, 1}, 1.0);
  CHECK_THROWS_WITH(solver.solve(same), Catch::Contains("all equal"));
  CHECK_THROWS_WITH(solver.solve(Dirichlet{}), Catch::Contains("no Dirichlet nodes"));
  Dirichlet bad;
  bad.add({0}, 0.0);
  bad.add({static_cast<Index>(box.num_points())}, 1.0);
  CHECK_THROWS_WITH(solver.solve(bad), Catch::Contains("out of range"));
}

TEST_CASE("coordinates of a hemispherical shell match the analytic transmural solution", "[anatomy][coordinates]") {
  // Concentric spheres cut through their centre: the radial Laplace solution has zero flux through
  // the cut, so u(r) = (1/a - 1/r) / (1/a - 1/b) exactly.
  mesh::EllipsoidLvOptions o;
  o.endo_short_radius_mm = o.endo_long_radius_mm = 7;
  o.epi_short_radius_mm = o.epi_long_radius_mm = 10;
  o.base_z_mm = 0;
  o.size_mm = 0.75;
  const mesh::TaggedMesh shell = mesh::ellipsoidal_lv(o);
  const VentricularCoordinates c = ventricular_coordinates(shell.mesh, shell.surface);
  CHECK_FALSE(c.has_rv);
  double worst = 0;
  for (std::int64_t v = 0; v < shell.mesh.num_points(); ++v) {
    const double r = shell.mesh.points.row(v).norm();
    worst = std::max(worst, std::abs(c.transmural[v] - (1 / 7.0 - 1 / r) / (1 / 7.0 - 1 / 10.0)));
  }
  CHECK(worst < 0.02);
  CHECK(c.transmural.minCoeff() == Approx(0.0).margin(1e-9));
  CHECK(c.transmural.maxCoeff() == Approx(1.0).margin(1e-9));
  // Without an RV, phi_lv is 1 - transmural.
  CHECK((c.phi_lv + c.transmural - Eigen::VectorXd::Ones(c.phi_lv.size())).cwiseAbs().maxCoeff() < 1e-6);
  CHECK(c.phi_rv.cwiseAbs().maxCoeff() == 0);
  CHECK((c.ventricle.array() == -1).all());
  // The long axis points from the apex (z = -10) to the base (z = 0).
  CHECK(c.apex.isApprox(Eigen::Vector3d(0, 0, -10), 1e-9));
  CHECK(c.long_axis.isApprox(Eigen::Vector3d::UnitZ(), 1e-6));
  CHECK(c.apicobasal.minCoeff() == Approx(0.0).margin(1e-9));
  CHECK(c.apicobasal.maxCoeff() == Approx(1.0).margin(1e-9));
  // The apicobasal coordinate grows towards the base along the epicardium.
  const Eigen::Vector3d lowish(std::sin(0.5) * 10, 0, -std::cos(0.5) * 10), highish(10, 0, 0);
  double lo = -1, hi = -1;
  for (std::int64_t v = 0; v < shell.mesh.num_points(); ++v) {
    if ((shell.mesh.points.row(v).transpose() - lowish).norm() < 0.6) lo = c.apicobasal[v];
    if ((shell.mesh.points.row(v).transpose() - highish).norm() < 0.6) hi = c.apicobasal[v];
  }
  REQUIRE(lo >= 0);
  CHECK(lo < hi);
  // Rotational: 0 along +x, pi/2 along +y (counterclockwise seen from the base).
  for (std::int64_t v = 0; v < shell.mesh.num_points(); ++v) {
    const Eigen::RowVector3d p = shell.mesh.points.row(v);
    if (std::hypot(p[0], p[1]) < 1) continue;
    REQUIRE(c.rotational[v] == Approx(std::atan2(p[1], p[0])).margin(1e-9));
  }
  TetMesh m = shell.mesh;
  c.add_to(m);
  const auto back = VentricularCoordinates::from_point_data(m);
  CHECK(back.transmural == c.transmural);
  CHECK_THROWS_WITH(VentricularCoordinates::from_point_data(shell.mesh), Catch::Contains("coordinate field missing"));
}

TEST_CASE("fibres of the ellipsoidal LV: helix +60 at the endocardium to -60 at the epicardium", "[anatomy][fibres]") {
  mesh::EllipsoidLvOptions o;
  o.size_mm = 1.0;
  mesh::TaggedMesh lv = mesh::ellipsoidal_lv(o);
  const VentricularCoordinates c = ventricular_coordinates(lv.mesh, lv.surface);
  assign_fibres(lv.mesh, c);
  validate_mesh(lv.mesh);  // unit fibres, sheets, normals
  const auto tet_centroid = [&](std::int64_t e) {
    Eigen::Vector3d x = Eigen::Vector3d::Zero();
    for (int a = 0; a < 4; ++a) x += lv.mesh.points.row(lv.mesh.tets(e, a)).transpose() / 4.0;
    return x;
  };
  int endo = 0, epi = 0, mid = 0;
  for (std::int64_t e = 0; e < lv.mesh.num_tets(); ++e) {
    const Eigen::Vector3d f = lv.mesh.fibre.row(e), s = lv.mesh.sheet.row(e), n = lv.mesh.normal.row(e);
    REQUIRE(std::abs(f.dot(s)) < 1e-9);
    REQUIRE(std::abs(f.dot(n)) < 1e-9);
    REQUIRE(f.cross(s).dot(n) == Approx(1.0));  // right-handed
    const Eigen::Vector3d x = tet_centroid(e);
    if (std::abs(x.z()) > 3) continue;  // an equatorial band, away from apex and base
    // An independent frame: t radial (outward), l along +z, c counterclockwise seen from +z.
    const Eigen::Vector3d t = Eigen::Vector3d(x.x(), x.y(), 0).normalized();
    const double alpha = helix_angle_deg(f, Eigen::Vector3d::UnitZ(), t);
    const double r = std::hypot(x.x(), x.y());
    const double depth = (r - 7) / 3;  // the wall runs from r = 7 to r = 10 near z = 0
    if (depth < 0.15) {
      REQUIRE(alpha == Approx(60 - 120 * depth).margin(12));
      REQUIRE(alpha > 35);
      // Right-handed helix: moving counterclockwise (seen from the base) the fibre rises.
      const Eigen::Vector3d ccw = Eigen::Vector3d::UnitZ().cross(t);
      REQUIRE((f.dot(ccw) > 0) == (f.z() > 0));
      ++endo;
    } else if (depth > 0.85) {
      REQUIRE(alpha == Approx(60 - 120 * depth).margin(12));
      REQUIRE(alpha < -35);
      ++epi;
    } else if (std::abs(depth - 0.5) < 0.1) {
      REQUIRE(std::abs(alpha) < 20);
      ++mid;
    }
  }
  CHECK(endo > 50);
  CHECK(epi > 50);
  CHECK(mid > 20);
  // The stored helix angle goes linearly with the wall depth.
  const Eigen::VectorXd helix = lv.mesh.cell_data.at("helix_deg").col(0), depth = lv.mesh.cell_data.at("wall_depth").col(0);
  CHECK((helix - (Eigen::VectorXd::Constant(helix.size(), 60) - 120 * depth)).cwiseAbs().maxCoeff() < 1e-9);
  // Sheet angles rotate the sheet about the fibre.
  FibreOptions fo;
  fo.beta_endo_deg = fo.beta_epi_deg = 30;
  const FibreField ff = compute_fibres(lv.mesh, c, fo);
  for (std::int64_t e = 0; e < lv.mesh.num_tets(); e += 97) {
    REQUIRE(ff.fibre.row(e).isApprox(lv.mesh.fibre.row(e), 1e-12));
    REQUIRE(ff.sheet.row(e).dot(lv.mesh.sheet.row(e)) == Approx(std::cos(30 * M_PI / 180)));
  }
  CHECK_THROWS_WITH(FibreOptions::from_json({{"alpha_endo", 60}}), Catch::Contains("alpha_endo_deg"));
  CHECK_THROWS_WITH(FibreOptions::from_json({{"alpha_endo_deg", 120}}), Catch::Contains("[-90, 90]"));
}

TEST_CASE("coordinates report missing surface tags", "[anatomy][errors]") {
  mesh::EllipsoidLvOptions o;
  o.size_mm = 2.0;
  mesh::TaggedMesh lv = mesh::ellipsoidal_lv(o);
  for (std::int64_t f = 0; f < lv.surface.num_triangles(); ++f)
    if (lv.surface.tags[f] == mesh::kBase) lv.surface.tags[f] = mesh::kEpi;
  CHECK_THROWS_WITH(ventricular_coordinates(lv.mesh, lv.surface), Catch::Contains("surface tag missing") && Catch::Contains("base"));
  SurfaceMesh compact = mesh::extract_faces(lv.surface);
  CHECK_THROWS_WITH(ventricular_coordinates(lv.mesh, compact), Catch::Contains("does not share the mesh nodes"));
}

#if CARDIOTWIN_HAS_MESH_CGAL
TEST_CASE("biventricular coordinates and fibres: LV, RV and septum", "[anatomy][fibres][cgal]") {
  mesh::BiventricularOptions bo;
  bo.voxel_mm = 0.5;
  mesh::TaggedMesh bi = mesh::biventricular_mesh(bo, 1.5);
  const VentricularCoordinates c = ventricular_coordinates(bi.mesh, bi.surface);
  CHECK(c.has_rv);
  assign_fibres(bi.mesh, c);
  validate_mesh(bi.mesh);
  // The LV free wall (x < -7) is LV, the RV free wall (x > 19) RV, the septum (x ~ 8.5) LV.
  int lv_free = 0, rv_free = 0, septum = 0;
  for (std::int64_t v = 0; v < bi.mesh.num_points(); ++v) {
    const Eigen::RowVector3d p = bi.mesh.points.row(v);
    if (std::abs(p.z()) > 3 || std::abs(p.y()) > 2) continue;
    if (p.x() < -7.5) {
      REQUIRE(c.ventricle[v] == -1);
      REQUIRE(c.lv_rv[v] < 0.2);
      ++lv_free;
    } else if (p.x() > 19.5) {
      REQUIRE(c.ventricle[v] == 1);
      REQUIRE(c.lv_rv[v] > 0.8);
      ++rv_free;
    } else if (std::abs(p.x() - 8.5) < 0.5) {
      REQUIRE(c.lv_rv[v] > 0.2);
      REQUIRE(c.lv_rv[v] < 0.8);
      ++septum;
    }
  }
  CHECK(lv_free > 3);
  CHECK(rv_free > 3);
  CHECK(septum > 0);
  // With the RV wall's region given, the whole septum is LV.
  CoordinateOptions co;
  co.rv_regions = {mesh::kBivRvMyo};
  const VentricularCoordinates cr = ventricular_coordinates(bi.mesh, bi.surface, co);
  for (std::int64_t v = 0; v < bi.mesh.num_points(); ++v) {
    const Eigen::RowVector3d p = bi.mesh.points.row(v);
    if (std::abs(p.z()) < 3 && std::abs(p.y()) < 2 && std::abs(p.x() - 8.5) < 1) REQUIRE(cr.ventricle[v] == -1);
    if (std::abs(p.z()) < 3 && std::abs(p.y()) < 2 && p.x() > 19.5) REQUIRE(cr.ventricle[v] == 1);
  }
  // Rotational 0 points from the LV towards the RV (+x).
  for (std::int64_t v = 0; v < bi.mesh.num_points(); ++v) {
    const Eigen::RowVector3d p = bi.mesh.points.row(v);
    if (p.x() > 15 && std::abs(p.y()) < 1) REQUIRE(std::abs(c.rotational[v]) < 0.3);
  }
  // Helix angles at the RV free-wall endocardium are right-handed like the LV's.
  int checked = 0;
  for (std::int64_t e = 0; e < bi.mesh.num_tets(); ++e) {
    const double d = bi.mesh.cell_data.at("wall_depth")(e, 0);
    if (d < 0.2) REQUIRE(bi.mesh.cell_data.at("helix_deg")(e, 0) > 30);
    if (d > 0.8) REQUIRE(bi.mesh.cell_data.at("helix_deg")(e, 0) < -30);
    ++checked;
  }
  CHECK(checked == bi.mesh.num_tets());
}
#endif
