/// @file tetgen.hpp
/// @brief Closed surface to tetrahedral mesh with TetGen (component `cardiotwin::mesh_tetgen`, AGPL).
///
/// This header speaks only cardiotwin types; TetGen itself is included in src/mesh/tetgen.cpp.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "cardiotwin/core/mesh.hpp"
#include "cardiotwin/mesh/surface.hpp"

namespace cardiotwin::mesh {

/// Options of `tetrahedralize`. Defaults give a quality mesh with no size limit.
struct TetgenOptions {
  /// Upper bound on the radius-edge ratio of every tet (TetGen `-q`); <= 0 disables quality
  /// refinement. 1.4 is a good compromise for FEM; values below ~1.1 may not terminate.
  double max_radius_edge_ratio = 1.4;
  /// Lower bound on dihedral angles in degrees (second `-q` value); 0 keeps TetGen's default.
  double min_dihedral_deg = 0;
  /// Upper bound on tet volume in mm^3 (TetGen `-a`); <= 0 for none.
  double max_volume_mm3 = 0;
  /// Extra TetGen switches appended verbatim (expert use), e.g. "O5".
  std::string extra_switches;
  /// Look for self-intersections first (TetGen -d), because TetGen 1.5 can crash on them instead
  /// of reporting; costs about as much as a quality mesh of the surface. Turn off for surfaces
  /// known to be clean.
  bool check_self_intersections = true;

  nlohmann::json to_json() const;
  /// Read options from JSON; unknown keys raise `InvalidInput` listing the known ones.
  static TetgenOptions from_json(const nlohmann::json& j);
};

/// Fill the closed, consistently oriented surface `surface` (mm) with tetrahedra.
///
/// The surface may be refined so that the size and quality bounds hold; every tet gets region 1. Throws `InvalidInput` for an invalid, open or self-intersecting
/// surface, with TetGen's diagnosis.
TetMesh tetrahedralize(const SurfaceMesh& surface, const TetgenOptions& options = {});

/// Like `tetrahedralize`, and also the boundary of the result (`TaggedMesh::surface`, in the
/// mesh's node numbering, outward oriented) with each face tagged as the input face it lies on
/// (faces split by Steiner points keep their tag). An input surface without tags gives tags 0.
TaggedMesh tetrahedralize_tagged(const SurfaceMesh& surface, const TetgenOptions& options = {});

/// The TetGen switch string `options` maps to (for logs and reproducibility).
std::string tetgen_switches(const TetgenOptions& options);

}  // namespace cardiotwin::mesh
