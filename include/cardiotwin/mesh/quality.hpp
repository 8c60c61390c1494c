/// @file quality.hpp
/// @brief Element quality of tetrahedral meshes: dihedral angles, radius-edge ratios, volumes.
#pragma once

#include <cstdint>
#include <map>

#include <nlohmann/json.hpp>

#include "cardiotwin/core/mesh.hpp"

namespace cardiotwin::mesh {

/// Quality summary of a tet mesh. Angles in degrees, lengths in mm, volumes in mm^3.
///
/// The dihedral angle of a tet at an edge is the angle between its two faces meeting there
/// (70.53 deg for every edge of a regular tet). The radius-edge ratio is the circumradius over the
/// shortest edge (0.612 for a regular tet; Mesh_3 and TetGen bound it, slivers can have a small
/// ratio but tiny dihedral angles, so both are reported).
struct QualityReport {
  std::int64_t num_points = 0, num_tets = 0;
  std::int64_t inverted = 0;    ///< tets with negative volume
  std::int64_t degenerate = 0;  ///< tets with |volume| <= 1e-12 x (longest edge)^3
  double min_dihedral_deg = 0;       ///< smallest dihedral angle of any tet
  double max_dihedral_deg = 0;       ///< largest dihedral angle of any tet
  double mean_dihedral_deg = 0;      ///< mean over tets of each tet's smallest dihedral angle
  std::int64_t dihedral_below_5 = 0, dihedral_below_10 = 0;  ///< tets whose smallest angle is below 5 / 10 deg
  double max_radius_edge_ratio = 0, mean_radius_edge_ratio = 0;
  double min_edge_mm = 0, mean_edge_mm = 0, max_edge_mm = 0;  ///< over the 6 edges of every tet
  double total_volume_mm3 = 0;
  std::map<int, double> region_volume_mm3;       ///< volume per region tag
  std::map<int, std::int64_t> region_tets;       ///< tets per region tag

  /// Keys as the member names; region maps keyed by the tag as a string.
  nlohmann::json to_json() const;
};

/// Measure `mesh` (positions and connectivity only; index errors throw `InvalidInput`).
QualityReport quality_report(const TetMesh& mesh);

/// The 6 dihedral angles (deg) of the tet with corners `p` (rows), in edge order 01 02 03 12 13 23.
Eigen::Matrix<double, 6, 1> dihedral_angles_deg(const Eigen::Matrix<double, 4, 3>& p);

}  // namespace cardiotwin::mesh
