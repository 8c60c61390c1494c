/// @file mesh.hpp
/// @brief `TetMesh` and `SurfaceMesh`: the meshes passed between stages, and their checks.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "cardiotwin/core/types.hpp"

namespace cardiotwin {

/// A tetrahedral volume mesh (P1 geometry) in mm.
///
/// Plain data, like libigl: every member may be set directly; `validate_mesh()` checks that the
/// pieces agree. Optional per-element directions are empty (0 rows) when absent.
struct TetMesh {
  Points points;       ///< `#points by 3`, mm
  Tets tets;           ///< `#tets by 4`, node indices, positive orientation (see `check_mesh`)
  Tags region;         ///< `#tets` region tags (e.g. 1 LV myocardium); empty means all 0
  Directions fibre;    ///< `#tets by 3` unit fibre directions, or empty
  Directions sheet;    ///< `#tets by 3` unit sheet directions, or empty
  Directions normal;   ///< `#tets by 3` unit sheet-normal directions, or empty
  FieldMap point_data; ///< named fields with `#points` rows
  FieldMap cell_data;  ///< named fields with `#tets` rows

  std::int64_t num_points() const noexcept { return points.rows(); }
  std::int64_t num_tets() const noexcept { return tets.rows(); }
  /// Region tag of tet `e` (0 when no tags are set).
  Index region_of(std::int64_t e) const noexcept { return region.size() ? region[e] : 0; }
};

/// A triangulated surface in mm with one tag per face (LV endocardium, epicardium, base, ...).
struct SurfaceMesh {
  Points points;         ///< `#points by 3`, mm
  Triangles triangles;   ///< `#triangles by 3`, node indices
  Tags tags;             ///< `#triangles` face tags; empty means all 0
  FieldMap point_data;   ///< named fields with `#points` rows
  FieldMap cell_data;    ///< named fields with `#triangles` rows

  std::int64_t num_points() const noexcept { return points.rows(); }
  std::int64_t num_triangles() const noexcept { return triangles.rows(); }
};

/// What `check_mesh` found. Counts are of elements unless named otherwise.
struct MeshCheck {
  std::int64_t num_points = 0, num_cells = 0;
  std::int64_t out_of_range = 0;      ///< cells with a node index outside [0, #points)
  std::int64_t repeated_nodes = 0;    ///< cells using one node twice
  std::int64_t inverted = 0;          ///< tets with negative signed volume
  std::int64_t degenerate = 0;        ///< cells with |volume| (or area) below tolerance
  std::int64_t unused_points = 0;     ///< points referenced by no cell
  std::int64_t non_finite_points = 0; ///< points with NaN/Inf coordinates
  std::int64_t first_bad_cell = -1;   ///< index of the first cell with any problem, -1 if none
  double min_measure = 0, max_measure = 0, total_measure = 0;  ///< tet volume (mm^3) / triangle area (mm^2)

  /// True if nothing is wrong (unused points are reported but allowed).
  bool ok() const noexcept {
    return out_of_range == 0 && repeated_nodes == 0 && inverted == 0 && degenerate == 0 &&
           non_finite_points == 0;
  }
  nlohmann::json to_json() const;
};

/// Check a tet mesh for out-of-range indices, repeated nodes, inverted and degenerate tets,
/// unused and non-finite points. A tet is degenerate when |V| < `rel_tol` * L^3 with L its
/// longest edge.
MeshCheck check_mesh(const TetMesh& mesh, double rel_tol = 1e-10);
/// Same for a surface (areas instead of volumes; orientation is not checked).
MeshCheck check_mesh(const SurfaceMesh& mesh, double rel_tol = 1e-10);

/// Throw `InvalidInput` naming the first problem: array sizes that disagree (tags, directions,
/// fields), then anything `check_mesh` finds. `name` is used in messages (e.g. a file name).
void validate_mesh(const TetMesh& mesh, const std::string& name = "mesh");
void validate_mesh(const SurfaceMesh& mesh, const std::string& name = "surface");

/// Signed tet volumes in mm^3 (`#tets`).
Eigen::VectorXd tet_volumes(const TetMesh& mesh);
/// Flip inverted tets (swap nodes 2 and 3); returns how many were flipped.
std::int64_t fix_orientation(TetMesh& mesh);
/// Drop points no tet uses and renumber; point fields follow. Returns the number removed.
std::int64_t remove_unused_points(TetMesh& mesh);

}  // namespace cardiotwin
