#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>

#include "../test_util.hpp"
#include "cardiotwin/config.hpp"
#include "cardiotwin/core/error.hpp"

#if CARDIOTWIN_HAS_MESH_CGAL
#include "cardiotwin/io/nifti.hpp"
#include "cardiotwin/mesh/cgal.hpp"

using namespace cardiotwin;
using namespace cardiotwin::mesh;

namespace {
// Labels by distance from the centre of an n^3 image: r <= r1 -> l1, r1 < r <= r2 -> l2.
LabelMap shells(std::int64_t n, const Eigen::Vector3d& spacing, double r1, int l1, double r2 = 0, int l2 = 0) {
  LabelMap m({n, n, n}, spacing, Eigen::Vector3d(10, -20, 30));
  const Eigen::Vector3d c = 0.5 * spacing * double(n - 1);
  for (std::int64_t k = 0; k < n; ++k)
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t i = 0; i < n; ++i) {
        const double r = (spacing.cwiseProduct(Eigen::Vector3d(double(i), double(j), double(k))) - c).norm();
        m(i, j, k) = static_cast<std::uint8_t>(r <= r1 ? l1 : r <= r2 ? l2 : 0);
      }
  return m;
}
double ball(double r) { return 4.0 / 3.0 * M_PI * r * r * r; }
}  // namespace

TEST_CASE("a labelled ball becomes a good tet mesh of the right volume", "[mesh][cgal]") {
  const LabelMap m = shells(36, Eigen::Vector3d::Constant(0.5), 7.0, 3);
  LabelMeshOptions o;
  o.size_mm = 1.5;
  const LabelMeshResult r = mesh_label_map(m, o);
  const MeshCheck c = check_mesh(r.mesh);
  CHECK(c.ok());
  CHECK(c.unused_points == 0);
  CHECK(r.labels == std::vector<int>{3});
  CHECK((r.mesh.region.array() == 3).all());
  CHECK(r.quality.total_volume_mm3 == Approx(ball(7.0)).epsilon(0.03));
  CHECK(r.quality.region_volume_mm3.at(3) == Approx(r.label_volume_mm3.at(3)).epsilon(0.05));  // small ball: chords
  CHECK(r.quality.inverted == 0);
  CHECK(r.quality.min_dihedral_deg > 5);
  CHECK(r.quality.mean_edge_mm == Approx(1.5).epsilon(0.3));
  CHECK(r.warnings.empty());
  // Points are in world coordinates (the image origin is at (10, -20, 30)).
  const Eigen::RowVector3d centre = r.mesh.points.colwise().mean();
  CHECK(centre.isApprox(Eigen::RowVector3d(10 + 8.75, -20 + 8.75, 30 + 8.75), 0.02));
  // Same input, same options: the same mesh.
  const LabelMeshResult again = mesh_label_map(m, o);
  CHECK(again.mesh.num_tets() == r.mesh.num_tets());
  CHECK(again.mesh.points == r.mesh.points);
  const auto j = r.to_json();
  CHECK(j["quality"]["num_tets"] == r.mesh.num_tets());
  // The parallel mesher (not deterministic) gives a mesh of the same quality and volume.
  o.parallel = true;
  try {
    const LabelMeshResult par = mesh_label_map(m, o);
    CHECK(check_mesh(par.mesh).ok());
    CHECK(par.quality.total_volume_mm3 == Approx(r.quality.total_volume_mm3).epsilon(0.01));
    CHECK(par.mesh.num_tets() == Approx(r.mesh.num_tets()).epsilon(0.1));
  } catch (const MissingComponent&) {
    WARN("parallel meshing skipped: built without TBB");
  }
}

TEST_CASE("nested labels keep their region tags and a mirrored frame stays positive", "[mesh][cgal]") {
  LabelMap m = shells(36, Eigen::Vector3d::Constant(0.5), 4.0, 3, 7.5, 1);
  Eigen::Matrix3d las = Eigen::Matrix3d::Identity();
  las(0, 0) = -1;  // a left-handed voxel frame, as in the CT label map
  m.set_geometry(m.spacing(), m.origin(), las);
  LabelMeshOptions o;
  o.size_mm = 1.5;
  o.labels = {1};  // the shell only: the blood pool (3) is a hole
  const LabelMeshResult shell = mesh_label_map(m, o);
  CHECK(check_mesh(shell.mesh).ok());
  CHECK(shell.quality.region_volume_mm3.size() == 1);
  CHECK(shell.quality.total_volume_mm3 == Approx(ball(7.5) - ball(4.0)).epsilon(0.04));
  o.labels = {};
  const LabelMeshResult both = mesh_label_map(m, o);
  CHECK(both.labels == std::vector<int>{1, 3});
  CHECK(both.quality.region_volume_mm3.at(3) == Approx(ball(4.0)).epsilon(0.1));  // 4 mm ball, 1.5 mm tets
  CHECK(both.quality.total_volume_mm3 == Approx(ball(7.5)).epsilon(0.03));
  for (std::int64_t p = 0; p < both.mesh.num_points(); ++p) {  // the mesh lies where the labels are
    const Eigen::Vector3d ijk = m.world_to_index(both.mesh.points.row(p).transpose());
    REQUIRE((ijk.array() > 1).all());
    REQUIRE((ijk.array() < 34).all());
  }
}

TEST_CASE("thick slices are interpolated before meshing", "[mesh][cgal][interpolation]") {
  // An ellipsoid (semi-axes 10, 10, 20 mm) on 1 mm pixels and 5 mm slices.
  LabelMap m({26, 26, 10}, Eigen::Vector3d(1, 1, 5), Eigen::Vector3d(-12.5, -12.5, -22.5));
  for (std::int64_t k = 0; k < 10; ++k)
    for (std::int64_t j = 0; j < 26; ++j)
      for (std::int64_t i = 0; i < 26; ++i) {
        const Eigen::Vector3d x = m.index_to_world(Eigen::Vector3d(double(i), double(j), double(k)));
        if (x[0] * x[0] / 100 + x[1] * x[1] / 100 + x[2] * x[2] / 400 <= 1) m(i, j, k) = 2;
      }
  LabelMeshOptions o;
  o.size_mm = 2.0;
  const LabelMeshResult r = mesh_label_map(m, o);
  CHECK(r.interpolation.axis == 2);
  CHECK(r.interpolation.factor == 5);
  CHECK(r.quality.total_volume_mm3 == Approx(4.0 / 3.0 * M_PI * 10 * 10 * 20).epsilon(0.05));
  // Without interpolation the mesh follows the 5 mm terraces: its longest z extent of the
  // surface steps is visible as a larger deviation from the ellipsoid.
  o.interpolate = false;
  const LabelMeshResult stairs = mesh_label_map(m, o);
  CHECK(stairs.interpolation.axis == -1);
  auto deviation = [](const TetMesh& mesh) {
    double worst = 0;
    const SurfaceMesh s = boundary_surface(mesh);
    for (std::int64_t f = 0; f < s.num_triangles(); ++f)
      for (int a = 0; a < 3; ++a) {
        const Eigen::RowVector3d p = s.points.row(s.triangles(f, a));
        const double q = std::sqrt(p[0] * p[0] / 100 + p[1] * p[1] / 100 + p[2] * p[2] / 400);
        worst = std::max(worst, std::abs(q - 1));
      }
    return worst;
  };
  CHECK(deviation(r.mesh) < deviation(stairs.mesh));
}

TEST_CASE("islands are removed with a warning and a wall can be grown", "[mesh][cgal][islands]") {
  LabelMap m = shells(36, Eigen::Vector3d::Constant(0.5), 5.0, 5);
  m(2, 2, 2) = 1;  // a 2-voxel island of label 1 far from the rest
  m(2, 2, 3) = 1;
  LabelMeshOptions o;
  o.size_mm = 1.5;
  o.labels = {1, 9};
  o.wall_source_label = 5;
  o.wall_label = 9;
  o.wall_thickness_mm = 2.0;
  const LabelMeshResult r = mesh_label_map(m, o);
  CHECK(r.wall_voxels > 0);
  CHECK(r.labels == std::vector<int>{1, 9});
  REQUIRE(r.islands.size() == 2);
  CHECK(r.islands[0].removed_voxels == 0);  // the two voxels of label 1 are its largest component
  CHECK(r.quality.region_volume_mm3.count(9) == 1);
  CHECK(r.quality.region_volume_mm3.at(9) == Approx(ball(7.0) - ball(5.0)).epsilon(0.15));
  // A real island: label 9 (the wall) plus a far-away speck of it.
  LabelMap speck = shells(36, Eigen::Vector3d::Constant(0.5), 5.0, 4, 7.0, 9);
  speck(1, 1, 1) = 9;
  o = LabelMeshOptions{};
  o.size_mm = 1.5;
  o.labels = {9};
  const LabelMeshResult s = mesh_label_map(speck, o);
  REQUIRE(s.warnings.size() == 1);
  CHECK(s.warnings[0].find("removed small islands: label 9: removed 1 of 2 connected components, 1 voxels") !=
        std::string::npos);
}

TEST_CASE("bad label maps and options give clear errors", "[mesh][cgal][errors]") {
  const LabelMap m = shells(20, Eigen::Vector3d::Constant(0.5), 3.0, 2);
  LabelMeshOptions o;
  o.labels = {4};
  CHECK_THROWS_WITH(mesh_label_map(m, o), Catch::Contains("label absent") && Catch::Contains("present: label 2"));
  CHECK_THROWS_WITH(mesh_label_map(LabelMap({8, 8, 8}), {}), Catch::Contains("label map is empty"));
  o = LabelMeshOptions{};
  o.size_mm = 0;
  CHECK_THROWS_WITH(mesh_label_map(m, o), Catch::Contains("size_mm"));
  o = LabelMeshOptions{};
  o.facet_angle_deg = 40;
  CHECK_THROWS_AS(mesh_label_map(m, o), InvalidInput);
  CHECK_THROWS_WITH(LabelMeshOptions::from_json({{"size", 1.0}}),
                    Catch::Contains("unknown option") && Catch::Contains("size_mm"));
  CHECK_THROWS_WITH(LabelMeshOptions::from_json({{"labels", "all"}}), Catch::Contains("wrong type"));
  const auto round = LabelMeshOptions::from_json(LabelMeshOptions{}.to_json());
  CHECK(round.size_mm == 1.0);
  CHECK(round.exude_sliver_bound_deg == 15);
}

TEST_CASE("the idealised biventricular mesh has tagged, connected surfaces", "[mesh][cgal][procedural]") {
  BiventricularOptions o;
  o.voxel_mm = 0.5;
  const TaggedMesh bi = biventricular_mesh(o, 1.5);
  CHECK(check_mesh(bi.mesh).ok());
  const QualityReport q = quality_report(bi.mesh);
  CHECK(q.region_tets.count(kBivLvMyo) == 1);
  CHECK(q.region_tets.count(kBivRvMyo) == 1);
  const auto tags = check_surface_tags(bi.surface, {kLvEndo, kRvEndo, kEpi, kBase});
  INFO(tags.to_json().dump());
  CHECK(tags.ok());
  CHECK(tags.tags.count(kUntagged) == 0);
  const auto labels = label_volumes_mm3(biventricular_label_map(o));
  CHECK(q.region_volume_mm3.at(kBivLvMyo) == Approx(labels.at(kBivLvMyo)).epsilon(0.05));
  CHECK(q.region_volume_mm3.at(kBivRvMyo) == Approx(labels.at(kBivRvMyo)).epsilon(0.1));
}

TEST_CASE("Sunnybrook LV myocardium: 10 mm slices to a mesh of the label volume", "[mesh][cgal][real]") {
  const std::string path = test::test_data("sunnybrook/SCD0000101_ED_gt.nii.gz");
  if (!test::exists(path)) {
    WARN("skipped: " << path << " is absent");
    return;
  }
  const LabelMap m = io::read_nifti<std::uint8_t>(path);
  LabelMeshOptions o;
  o.labels = {2};
  o.size_mm = 2.5;
  const LabelMeshResult r = mesh_label_map(m, o);
  CHECK(r.interpolation.axis == 2);
  CHECK(check_mesh(r.mesh).ok());
  CHECK(r.quality.total_volume_mm3 == Approx(112.2e3).epsilon(0.05));  // data README: 112.2 mL
  CHECK(r.quality.min_dihedral_deg > 5);
}

TEST_CASE("whole-heart CT: LV myocardium and a grown RV wall", "[mesh][cgal][real]") {
  const std::string path = test::shared_data("labelmaps/heartdeformnets_wh.nii.gz");
  if (!test::exists(path)) {
    WARN("skipped: " << path << " is absent");
    return;
  }
  const LabelMap m = io::read_nifti<std::uint8_t>(path);
  LabelMeshOptions o;
  o.labels = {1};
  o.size_mm = 3.0;
  o.wall_source_label = 5;  // RV blood pool
  o.wall_label = 8;
  o.wall_thickness_mm = 3.0;
  const LabelMeshResult r = mesh_label_map(m, o);
  CHECK(check_mesh(r.mesh).ok());
  CHECK(r.quality.region_volume_mm3.at(1) == Approx(87.6e3).epsilon(0.05));  // data README: 87.6 mL
  CHECK(r.quality.region_volume_mm3.at(8) == Approx(r.label_volume_mm3.at(8)).epsilon(0.1));
}

#endif
