#include "cardiotwin/mesh/quality.hpp"

#include <Eigen/Geometry>
#include <algorithm>
#include <cmath>
#include <limits>

#include "cardiotwin/core/error.hpp"

namespace cardiotwin::mesh {

namespace {
constexpr double kDeg = 180.0 / 3.14159265358979323846;
}

Eigen::Matrix<double, 6, 1> dihedral_angles_deg(const Eigen::Matrix<double, 4, 3>& p) {
  // Face f is opposite vertex f; the edge (a, b) is shared by the faces opposite the other two
  // vertices. With outward unit normals n_c, n_d of those faces the angle is pi - acos(n_c . n_d).
  Eigen::Vector3d n[4];
  const Eigen::Vector3d centroid = p.colwise().mean().transpose();
  for (int f = 0; f < 4; ++f) {
    const int a = (f + 1) % 4, b = (f + 2) % 4, c = (f + 3) % 4;
    Eigen::Vector3d nf = (p.row(b) - p.row(a)).transpose().cross((p.row(c) - p.row(a)).transpose());
    if (nf.dot(p.row(a).transpose() - centroid) < 0) nf = -nf;
    const double len = nf.norm();
    n[f] = len > 0 ? Eigen::Vector3d(nf / len) : Eigen::Vector3d::Zero();
  }
  static const int kEdges[6][2] = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};
  Eigen::Matrix<double, 6, 1> out;
  for (int e = 0; e < 6; ++e) {
    int others[2], k = 0;
    for (int v = 0; v < 4; ++v)
      if (v != kEdges[e][0] && v != kEdges[e][1]) others[k++] = v;
    const double c = std::clamp(n[others[0]].dot(n[others[1]]), -1.0, 1.0);
    out[e] = 180.0 - std::acos(c) * kDeg;
  }
  return out;
}

nlohmann::json QualityReport::to_json() const {
  nlohmann::json vol = nlohmann::json::object(), cnt = nlohmann::json::object();
  for (const auto& [r, v] : region_volume_mm3) vol[std::to_string(r)] = v;
  for (const auto& [r, c] : region_tets) cnt[std::to_string(r)] = c;
  return {{"num_points", num_points},
          {"num_tets", num_tets},
          {"inverted", inverted},
          {"degenerate", degenerate},
          {"min_dihedral_deg", min_dihedral_deg},
          {"max_dihedral_deg", max_dihedral_deg},
          {"mean_dihedral_deg", mean_dihedral_deg},
          {"dihedral_below_5", dihedral_below_5},
          {"dihedral_below_10", dihedral_below_10},
          {"max_radius_edge_ratio", max_radius_edge_ratio},
          {"mean_radius_edge_ratio", mean_radius_edge_ratio},
          {"min_edge_mm", min_edge_mm},
          {"mean_edge_mm", mean_edge_mm},
          {"max_edge_mm", max_edge_mm},
          {"total_volume_mm3", total_volume_mm3},
          {"region_volume_mm3", vol},
          {"region_tets", cnt}};
}

QualityReport quality_report(const TetMesh& mesh) {
  QualityReport q;
  q.num_points = mesh.num_points();
  q.num_tets = mesh.num_tets();
  CARDIOTWIN_CHECK(mesh.region.size() == 0 || mesh.region.size() == mesh.num_tets(), InvalidInput,
                   "region tag count mismatch", mesh.num_tets() << " (one per tet) or none", mesh.region.size(),
                   Where("mesh", "region"));
  if (q.num_tets == 0) return q;
  q.min_dihedral_deg = std::numeric_limits<double>::infinity();
  q.min_edge_mm = std::numeric_limits<double>::infinity();
  double sum_min_dihedral = 0, sum_ratio = 0, sum_edge = 0;
  static const int kEdges[6][2] = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};
  for (std::int64_t t = 0; t < q.num_tets; ++t) {
    Eigen::Matrix<double, 4, 3> p;
    for (int a = 0; a < 4; ++a) {
      const Index v = mesh.tets(t, a);
      CARDIOTWIN_CHECK(v >= 0 && v < mesh.num_points(), InvalidInput, "node index out of range",
                       "an index in [0, " << mesh.num_points() << ")", v, Where("mesh", "tets", t));
      p.row(a) = mesh.points.row(v);
    }
    const Eigen::Vector3d a = (p.row(1) - p.row(0)).transpose(), b = (p.row(2) - p.row(0)).transpose(),
                          c = (p.row(3) - p.row(0)).transpose();
    const double six_v = a.dot(b.cross(c));
    double shortest = std::numeric_limits<double>::infinity(), longest = 0;
    for (const auto& e : kEdges) {
      const double len = (p.row(e[0]) - p.row(e[1])).norm();
      shortest = std::min(shortest, len);
      longest = std::max(longest, len);
      sum_edge += len;
      q.min_edge_mm = std::min(q.min_edge_mm, len);
      q.max_edge_mm = std::max(q.max_edge_mm, len);
    }
    const double vol = six_v / 6.0;
    if (std::abs(vol) <= 1e-12 * longest * longest * longest) ++q.degenerate;
    else if (vol < 0) ++q.inverted;
    q.total_volume_mm3 += vol;
    const int r = mesh.region_of(t);
    q.region_volume_mm3[r] += vol;
    ++q.region_tets[r];
    const auto dih = dihedral_angles_deg(p);
    const double dmin = dih.minCoeff();
    q.min_dihedral_deg = std::min(q.min_dihedral_deg, dmin);
    q.max_dihedral_deg = std::max(q.max_dihedral_deg, dih.maxCoeff());
    sum_min_dihedral += dmin;
    if (dmin < 5) ++q.dihedral_below_5;
    if (dmin < 10) ++q.dihedral_below_10;
    double ratio = std::numeric_limits<double>::infinity();
    if (six_v != 0 && shortest > 0) {
      const Eigen::Vector3d o =
          (a.squaredNorm() * b.cross(c) + b.squaredNorm() * c.cross(a) + c.squaredNorm() * a.cross(b)) / (2 * six_v);
      ratio = o.norm() / shortest;
    }
    q.max_radius_edge_ratio = std::max(q.max_radius_edge_ratio, ratio);
    sum_ratio += std::isfinite(ratio) ? ratio : 0.0;
  }
  q.mean_dihedral_deg = sum_min_dihedral / double(q.num_tets);
  q.mean_radius_edge_ratio = sum_ratio / double(q.num_tets);
  q.mean_edge_mm = sum_edge / double(6 * q.num_tets);
  return q;
}

}  // namespace cardiotwin::mesh
