#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/mesh/label_map.hpp"

using namespace cardiotwin;
using namespace cardiotwin::mesh;

namespace {
// Ball of `radius` mm (label `l`) centred in an image of `n` voxels per axis at `spacing`.
LabelMap ball(std::int64_t n, const Eigen::Vector3d& spacing, double radius, std::uint8_t l = 1) {
  LabelMap m({n, n, n}, spacing);
  const Eigen::Vector3d c = 0.5 * spacing * double(n - 1);
  for (std::int64_t k = 0; k < n; ++k)
    for (std::int64_t j = 0; j < n; ++j)
      for (std::int64_t i = 0; i < n; ++i)
        if ((spacing.cwiseProduct(Eigen::Vector3d(double(i), double(j), double(k))) - c).norm() <= radius) m(i, j, k) = l;
  return m;
}
}  // namespace

TEST_CASE("label volumes, presence checks and their errors", "[mesh][labels]") {
  LabelMap m({4, 4, 4}, Eigen::Vector3d(1, 2, 0.5));
  m(1, 1, 1) = 3;
  m(2, 1, 1) = 3;
  m(0, 0, 0) = 7;
  const auto v = label_volumes_mm3(m);
  CHECK(v.size() == 2);
  CHECK(v.at(3) == Approx(2.0));
  CHECK(v.at(7) == Approx(1.0));
  CHECK(check_labels_present(m, {}) == std::vector<int>{3, 7});
  CHECK(check_labels_present(m, {7, 3, 7}) == std::vector<int>{3, 7});
  CHECK_THROWS_WITH(check_labels_present(m, {5}),
                    Catch::Contains("label absent") && Catch::Contains("label 3 (0.0 mL)") && Catch::Contains("label 7"));
  CHECK_THROWS_WITH(check_labels_present(m, {0}), Catch::Contains("1..255"));
  CHECK_THROWS_WITH(check_labels_present(LabelMap({2, 2, 2}), {}), Catch::Contains("label map is empty"));
}

TEST_CASE("cropping keeps voxels at their world positions", "[mesh][labels]") {
  Eigen::Matrix3d dir;
  dir << -1, 0, 0, 0, -1, 0, 0, 0, 1;  // LPS-like flip
  LabelMap m({10, 8, 6}, Eigen::Vector3d(0.5, 0.7, 2.0), Eigen::Vector3d(3, 4, 5), dir);
  m(4, 3, 2) = 2;
  m(6, 5, 3) = 2;
  const VoxelBox b = label_bounding_box(m, {2});
  CHECK(b.begin == std::array<std::int64_t, 3>{4, 3, 2});
  CHECK(b.end == std::array<std::int64_t, 3>{7, 6, 4});
  const LabelMap c = crop(m, b, 1);
  CHECK(c.shape() == LabelMap::Shape{5, 5, 4});
  CHECK(c(1, 1, 1) == 2);
  CHECK(c.index_to_world(Eigen::Vector3d(1, 1, 1)).isApprox(m.index_to_world(Eigen::Vector3d(4, 3, 2))));
  CHECK(label_bounding_box(m, {9}).empty());
  CHECK_THROWS_AS(crop(m, VoxelBox{}, 0), InvalidInput);
}

TEST_CASE("the distance transform is exact on anisotropic grids", "[mesh][labels]") {
  std::mt19937 rng(4);
  LabelMap m({9, 7, 5}, Eigen::Vector3d(0.5, 1.25, 2.0));
  std::vector<char> inside(static_cast<std::size_t>(m.size()), 0);
  for (int n = 0; n < 6; ++n) inside[rng() % inside.size()] = 1;
  const auto d2 = squared_distance_transform(m, inside);
  const auto d2_xy = squared_distance_transform(m, inside, {0, 1});
  const auto& s = m.shape();
  for (std::int64_t o = 0; o < m.size(); ++o) {
    const Eigen::Vector3d p(double(o % s[0]), double((o / s[0]) % s[1]), double(o / (s[0] * s[1])));
    double best = INFINITY, best_xy = INFINITY;
    for (std::int64_t q = 0; q < m.size(); ++q) {
      if (!inside[q]) continue;
      const Eigen::Vector3d r(double(q % s[0]), double((q / s[0]) % s[1]), double(q / (s[0] * s[1])));
      const double dd = (p - r).cwiseProduct(m.spacing()).squaredNorm();
      best = std::min(best, dd);
      if (p[2] == r[2]) best_xy = std::min(best_xy, dd);
    }
    REQUIRE(d2[o] == Approx(best).margin(1e-4));
    if (std::isinf(best_xy)) REQUIRE(std::isinf(d2_xy[o]));
    else REQUIRE(d2_xy[o] == Approx(best_xy).margin(1e-4));
  }
}

TEST_CASE("thick slices are interpolated through signed distances", "[mesh][labels][interpolation]") {
  // A cone along z (radius 3 mm at z = -21 growing to 12 mm at z = 21) sampled on 1 mm pixels
  // and 6 mm slices: interpolation must give the cone's radius between the slices, where the
  // nearest slice is off by up to 0.75 mm.
  auto radius = [](double z) { return 3 + 9 * (z + 21) / 42; };
  LabelMap m({31, 31, 7}, Eigen::Vector3d(1, 1, 6), Eigen::Vector3d(-15, -15, -18));
  for (std::int64_t k = 0; k < 7; ++k)
    for (std::int64_t j = 0; j < 31; ++j)
      for (std::int64_t i = 0; i < 31; ++i) {
        const Eigen::Vector3d x = m.index_to_world(Eigen::Vector3d(double(i), double(j), double(k)));
        if (std::hypot(x[0], x[1]) <= radius(x[2])) m(i, j, k) = 4;
      }
  SliceInterpolation info;
  const LabelMap fine = interpolate_slices(m, 2.0, 0, &info);
  CHECK(info.axis == 2);
  CHECK(info.factor == 6);
  CHECK(info.spacing_after_mm == Approx(1.0));
  CHECK(fine.shape() == LabelMap::Shape{31, 31, 42});
  // The new slab tiles the old one: the first new voxel centre is 2.5 mm below the first slice.
  CHECK(fine.index_to_world(Eigen::Vector3d::Zero()).isApprox(Eigen::Vector3d(-15, -15, -20.5)));
  const double exact = M_PI * 42 * (9 + 36 + 144) / 3.0;
  CHECK(label_volumes_mm3(fine).at(4) == Approx(exact).epsilon(0.03));
  CHECK(label_volumes_mm3(fine).at(4) == Approx(label_volumes_mm3(m).at(4)).epsilon(0.03));
  // Between slices the radius along +x follows the cone to within a pixel.
  for (std::int64_t kk = 3; kk < 39; ++kk) {
    std::int64_t i = 15;
    while (i + 1 < 31 && fine(i + 1, 15, kk) == 4) ++i;
    const double z = fine.index_to_world(Eigen::Vector3d(0, 0, double(kk)))[2];
    REQUIRE(std::abs(double(i - 15) + 0.5 - radius(z)) <= 0.75);
  }
  CHECK(fine(0, 0, 21) == 0);
  // Isotropic input is returned as is.
  SliceInterpolation none;
  CHECK(interpolate_slices(fine, 2.0, 0, &none).shape() == fine.shape());
  CHECK(none.axis == -1);
}

TEST_CASE("a ring that moves more than its thickness between slices does not vanish", "[mesh][labels][interpolation]") {
  // Myocardium (2) ring around blood (1) whose centre shifts 6 mm between 8 mm slices; the ring is
  // 3 mm thick, so interpolating the ring itself would leave gaps.
  LabelMap m({48, 32, 2}, Eigen::Vector3d(1, 1, 8));
  for (std::int64_t k = 0; k < 2; ++k)
    for (std::int64_t j = 0; j < 32; ++j)
      for (std::int64_t i = 0; i < 48; ++i) {
        const double d = std::hypot(i - (18.0 + 6.0 * k), j - 16.0);
        m(i, j, k) = d <= 7 ? 1 : d <= 10 ? 2 : 0;
      }
  const LabelMap fine = interpolate_slices(m, 2.0);
  REQUIRE(fine.shape()[2] == 16);
  const auto before = label_volumes_mm3(m), after = label_volumes_mm3(fine);
  CHECK(after.at(2) == Approx(before.at(2)).epsilon(0.05));
  CHECK(after.at(1) == Approx(before.at(1)).epsilon(0.05));
  // Half-way between the slices the ring is closed around the blood.
  const std::int64_t mid = 8;
  int transitions = 0;
  for (std::int64_t i = 1; i < 48; ++i) transitions += fine(i, 16, mid) != fine(i - 1, 16, mid);
  CHECK(transitions == 4);  // 0 -> 2 -> 1 -> 2 -> 0
}

TEST_CASE("small islands are removed and reported", "[mesh][labels][islands]") {
  LabelMap m = ball(20, Eigen::Vector3d::Ones(), 6, 2);
  for (std::int64_t k = 0; k < 20; ++k)
    for (std::int64_t j = 0; j < 20; ++j)
      for (std::int64_t i = 0; i < 20; ++i)
        if (m(i, j, k) == 0) m(i, j, k) = 5;  // surrounded by label 5
  m(1, 1, 1) = 2;  // a one-voxel island of label 2 inside label 5
  m(1, 1, 2) = 2;
  const auto report = remove_islands(m, {2}, 0.05);
  REQUIRE(report.size() == 1);
  CHECK(report[0].components == 2);
  CHECK(report[0].removed_components == 1);
  CHECK(report[0].removed_voxels == 2);
  CHECK(report[0].removed_volume_mm3 == Approx(2.0));
  CHECK(m(1, 1, 1) == 5);  // filled with the surrounding label
  CHECK(report[0].message().find("removed 1 of 2 connected components, 2 voxels") != std::string::npos);
  CHECK_THROWS_AS(remove_islands(m, {2}, 1.5), InvalidInput);
}

TEST_CASE("a wall grows to the requested thickness around a source label", "[mesh][labels][wall]") {
  LabelMap m = ball(40, Eigen::Vector3d::Constant(0.5), 5, 5);
  m(0, 0, 0) = 1;  // a voxel of another label far away stays
  const auto changed = grow_wall(m, 5, 2.0, 9);
  CHECK(changed > 0);
  CHECK(m(0, 0, 0) == 1);
  const auto v = label_volumes_mm3(m);
  const double shell = 4.0 / 3.0 * M_PI * (std::pow(7.0, 3) - std::pow(5.0, 3));
  CHECK(v.at(9) == Approx(shell).epsilon(0.12));
  CHECK_THROWS_WITH(grow_wall(m, 3, 2.0, 9), Catch::Contains("label absent"));
  CHECK_THROWS_AS(grow_wall(m, 5, -1.0, 9), InvalidInput);
}

TEST_CASE("label weights are 255 inside and near 128 at the boundary", "[mesh][labels][weights]") {
  const LabelMap m = ball(30, Eigen::Vector3d::Ones(), 8, 1);
  const auto w = label_weights(m, {1}, 1.0);
  CHECK(w(15, 15, 15) == 255);
  CHECK(w(0, 0, 0) == 255);
  // The voxel just inside the surface along x is confident but not saturated.
  std::int64_t i = 15;
  while (m(i + 1, 15, 15) == 1) ++i;
  CHECK(w(i, 15, 15) > 128);
  CHECK(w(i, 15, 15) < 230);
}
