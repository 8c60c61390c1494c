#include <catch2/catch.hpp>
#include <cmath>

#include "../test_util.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/io/stl.hpp"
#include "cardiotwin/mesh/label_map.hpp"
#include "cardiotwin/mesh/procedural.hpp"
#include "cardiotwin/mesh/quality.hpp"
#include "cardiotwin/mesh/surface.hpp"

using namespace cardiotwin;
using namespace cardiotwin::mesh;

TEST_CASE("quality of a regular tet and of a box mesh", "[mesh][quality]") {
  TetMesh t;
  t.points.resize(4, 3);
  t.points << 1, 1, 1, 1, -1, -1, -1, 1, -1, -1, -1, 1;
  t.tets.resize(1, 4);
  t.tets << 0, 1, 2, 3;
  fix_orientation(t);
  const QualityReport q = quality_report(t);
  CHECK(q.min_dihedral_deg == Approx(70.528779).epsilon(1e-6));
  CHECK(q.max_dihedral_deg == Approx(70.528779).epsilon(1e-6));
  CHECK(q.max_radius_edge_ratio == Approx(std::sqrt(6.0) / 4).epsilon(1e-9));
  CHECK(q.total_volume_mm3 == Approx(8.0 / 3.0));
  CHECK(q.inverted == 0);

  TetMesh box = box_mesh(Eigen::Vector3d(2, 1, 1), 0.5);
  for (std::int64_t e = 0; e < box.num_tets(); ++e) box.region[e] = box.points(box.tets(e, 0), 0) < 1 ? 1 : 2;
  const QualityReport b = quality_report(box);
  CHECK(b.num_tets == 96);
  CHECK(b.min_dihedral_deg == Approx(45.0));  // Kuhn tets: 45, 60 and 90 deg
  CHECK(b.max_dihedral_deg == Approx(90.0));
  CHECK(b.total_volume_mm3 == Approx(2.0));
  CHECK(b.region_volume_mm3.at(1) + b.region_volume_mm3.at(2) == Approx(2.0));
  const auto j = b.to_json();
  CHECK(j["num_tets"] == 96);
  CHECK(j["region_volume_mm3"].contains("1"));
  std::swap(box.tets(0, 2), box.tets(0, 3));
  CHECK(quality_report(box).inverted == 1);
}

TEST_CASE("the boundary surface of a box is closed, outward and watertight", "[mesh][surface]") {
  const TetMesh box = box_mesh(Eigen::Vector3d(2, 1, 1.5), 0.5);
  const SurfaceMesh s = boundary_surface(box);
  CHECK(face_areas(s).sum() == Approx(2 * (2 * 1 + 2 * 1.5 + 1 * 1.5)));
  const ManifoldCheck m = check_manifold(s);
  CHECK(m.watertight());
  CHECK(m.signed_volume_mm3 == Approx(3.0));
  CHECK(m.components == 1);
  // The face normals point out of the box.
  const Directions n = face_normals(s);
  const Points c = face_centroids(s);
  for (std::int64_t f = 0; f < s.num_triangles(); ++f)
    REQUIRE(n.row(f).dot(c.row(f) - Eigen::RowVector3d(1, 0.5, 0.75)) > 0);
  // Cap the top (z = 1.5) as "base".
  SurfaceMesh tagged = s;
  CHECK(tag_cap(tagged, Eigen::Vector3d::UnitZ(), 10, 0.01, kBase) == 2 * 4 * 2);
  const auto check = check_surface_tags(tagged, {kBase, kUntagged});
  CHECK(check.ok());
  CHECK(check.tags.at(kBase).area_mm2 == Approx(2.0));
  const auto top = extract_faces(tagged, {kBase});
  CHECK(top.num_triangles() == 16);
  CHECK(top.num_points() == 15);
  CHECK(top.point_data.count("node"));
  // A printable STL: closed and written.
  test::TempDir dir;
  const SurfaceMesh stl = printable_surface(box);
  io::write_stl(dir.file("box.stl"), stl);
  CHECK(check_manifold(io::read_stl(dir.file("box.stl"))).watertight());
}

TEST_CASE("surface checks find holes, flips and disconnected tags", "[mesh][surface][errors]") {
  const TetMesh box = box_mesh(Eigen::Vector3d(1, 1, 1), 0.5);
  SurfaceMesh s = extract_faces(boundary_surface(box));
  SurfaceMesh open = s;
  open.triangles.conservativeResize(s.num_triangles() - 1, 3);
  open.tags.conservativeResize(s.num_triangles() - 1);
  CHECK(check_manifold(open).boundary_edges == 3);
  CHECK_FALSE(check_manifold(open).watertight());
  SurfaceMesh flipped = s;
  std::swap(flipped.triangles(0, 1), flipped.triangles(0, 2));
  std::swap(flipped.triangles(5, 1), flipped.triangles(5, 2));
  CHECK(check_manifold(flipped).inconsistent_edges > 0);
  CHECK(orient_outward(flipped) == 2);
  CHECK(check_manifold(flipped).watertight());
  // Two opposite faces tagged 4 are not connected.
  SurfaceMesh two = s;
  two.tags.setZero();
  tag_cap(two, Eigen::Vector3d::UnitZ(), 10, 0.01, 4);
  tag_cap(two, -Eigen::Vector3d::UnitZ(), 10, 0.01, 4);
  const auto c = check_surface_tags(two, {4, 1});
  CHECK_FALSE(c.ok());
  CHECK(c.missing == std::vector<Index>{1});
  CHECK(c.disconnected == std::vector<Index>{4});
  CHECK_THROWS_WITH(c.throw_if_bad(), Catch::Contains("lv_endo has no face") && Catch::Contains("base has 2"));
  // One stray face of tag 3 inside a tag-0 area is merged away.
  SurfaceMesh stray = s;
  stray.tags.setZero();
  tag_cap(stray, Eigen::Vector3d::UnitZ(), 10, 0.01, 3);  // the top, 8 faces
  std::int64_t bottom = 0;
  while (face_normals(stray).row(bottom).z() > -0.5) ++bottom;
  stray.tags[bottom] = 3;
  CHECK(merge_small_patches(stray, 0.5) == 1);
  CHECK(stray.tags[bottom] == 0);
  CHECK((stray.tags.array() == 3).count() == 8);
  CHECK(surface_tag_from_name("rv_endo") == kRvEndo);
  CHECK_THROWS_AS(surface_tag_from_name("rv"), InvalidInput);
}

TEST_CASE("the truncated ellipsoidal LV has the analytic volume and tagged surfaces", "[mesh][procedural]") {
  EllipsoidLvOptions o;
  o.size_mm = 1.0;
  const TaggedMesh lv = ellipsoidal_lv(o);
  const MeshCheck mc = check_mesh(lv.mesh);
  CHECK(mc.ok());
  CHECK(mc.unused_points == 0);
  CHECK(mc.total_measure == Approx(o.wall_volume_mm3()).epsilon(0.02));
  CHECK(o.wall_volume_mm3() == Approx(M_PI * (100 * (25 - (125 + 8000) / 1200.0) - 49 * (22 - (125 + 4913) / 867.0))));
  const QualityReport q = quality_report(lv.mesh);
  CHECK(q.min_dihedral_deg > 5);
  CHECK(q.mean_edge_mm == Approx(1.0).epsilon(0.35));
  const auto tags = check_surface_tags(lv.surface, {kLvEndo, kEpi, kBase});
  CHECK(tags.ok());
  CHECK(tags.tags.count(kUntagged) == 0);
  CHECK(tags.tags.at(kBase).area_mm2 == Approx(M_PI * (100 * (1 - 25 / 400.0) - 49 * (1 - 25 / 289.0))).epsilon(0.02));
  // Nodes of the base lie on z = 5, of the endocardium on the inner ellipsoid.
  for (std::int64_t f = 0; f < lv.surface.num_triangles(); ++f)
    for (int a = 0; a < 3; ++a) {
      const Eigen::RowVector3d p = lv.surface.points.row(lv.surface.triangles(f, a));
      if (lv.surface.tags[f] == kBase) REQUIRE(p[2] == Approx(5.0));
      if (lv.surface.tags[f] == kLvEndo)
        REQUIRE((p[0] * p[0] + p[1] * p[1]) / 49 + p[2] * p[2] / 289 == Approx(1.0).epsilon(1e-9));
    }
  CHECK(check_manifold(extract_faces(lv.surface)).watertight());
  const auto round = EllipsoidLvOptions::from_json(o.to_json());
  CHECK(round.epi_long_radius_mm == 20);
  CHECK_THROWS_WITH(EllipsoidLvOptions::from_json({{"size", 1}}), Catch::Contains("unknown option") && Catch::Contains("size_mm"));
  EllipsoidLvOptions bad;
  bad.epi_short_radius_mm = 5;
  CHECK_THROWS_WITH(ellipsoidal_lv(bad), Catch::Contains("epicardium inside endocardium"));
  bad = EllipsoidLvOptions{};
  bad.base_z_mm = 30;
  CHECK_THROWS_AS(ellipsoidal_lv(bad), InvalidInput);
}

TEST_CASE("the biventricular label map has the four labels in the right places", "[mesh][procedural]") {
  BiventricularOptions o;
  o.voxel_mm = 1.0;
  const LabelMap m = biventricular_label_map(o);
  const auto v = label_volumes_mm3(m);
  REQUIRE(v.size() == 4);
  CHECK(v.at(kBivLvBlood) == Approx(o.lv.cavity_volume_mm3()).epsilon(0.08));
  auto at = [&](double x, double y, double z) {
    const Eigen::Vector3d ijk = m.world_to_index(Eigen::Vector3d(x, y, z));
    return int(m(std::llround(ijk[0]), std::llround(ijk[1]), std::llround(ijk[2])));
  };
  CHECK(at(0, 0, 0) == kBivLvBlood);
  CHECK(at(-8.5, 0, 0) == kBivLvMyo);
  CHECK(at(8.5, 0, 0) == kBivLvMyo);  // septum
  CHECK(at(15, 0, 0) == kBivRvBlood);
  CHECK(at(22.5, 0, 0) == kBivRvMyo);
  CHECK(at(0, 0, 6) == 0);  // above the base
}
