/// @file coordinates.hpp
/// @brief Ventricular coordinates from Laplace solves on a tagged ventricular mesh, in the spirit
/// of universal ventricular coordinates (Bayer et al. 2018) and of the Laplace fields of Bayer et
/// al. 2012 (rule-based fibres).
///
/// Input: a tet mesh and its boundary surface (same node numbering, as in `mesh::TaggedMesh`)
/// with tags `mesh::kLvEndo`, `mesh::kRvEndo` (optional: LV-only meshes have none), `mesh::kEpi`
/// and `mesh::kBase`.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cardiotwin/anatomy/laplace.hpp"
#include "cardiotwin/core/mesh.hpp"

namespace cardiotwin::anatomy {

/// Options of `ventricular_coordinates`.
struct CoordinateOptions {
  /// Boundary nodes within this distance (mm) of the apex hold the apicobasal value 0;
  /// 0 means twice the mean boundary edge length.
  double apex_radius_mm = 0;
  /// Direction (world, mm) where the rotational coordinate is 0, projected onto the short-axis
  /// plane. Zero vector: towards the RV endocardium's centroid when there is one (the septum),
  /// else the world x axis (or y when x is nearly along the long axis).
  Eigen::Vector3d rotational_reference = Eigen::Vector3d::Zero();
  /// Region tags of RV tissue (e.g. a grown RV wall). When given, `ventricle` is +1 exactly on
  /// nodes used only by tets of these regions, so the whole septum counts as LV (as in universal
  /// ventricular coordinates); otherwise `ventricle` splits the septum at lv_rv = 0.5.
  std::vector<int> rv_regions;
  LaplaceOptions solver;

  nlohmann::json to_json() const;
  static CoordinateOptions from_json(const nlohmann::json& j);
};

/// Node fields (`#points` each) and the frame they were built in.
///
/// - `transmural`: Laplace, 0 on the LV and RV endocardium, 1 on the epicardium.
/// - `apicobasal`: Laplace, 0 at the apex (boundary nodes within `apex_radius_mm` of it), 1 on the
///   base.
/// - `rotational`: angle in radians in (-pi, pi] about the long axis through the LV cavity
///   centroid, 0 along `rotational_reference`, increasing counterclockwise seen from the base
///   (right-handed about `long_axis`). This one is geometric, not a Laplace solution.
/// - `phi_lv`, `phi_rv`: Laplace, 1 on the LV (RV) endocardium, 0 on the other endocardium and the
///   epicardium (Bayer's phi_lv, phi_rv; `phi_rv` is 0 without an RV).
/// - `lv_rv`: phi_rv / (phi_lv + phi_rv) (Bayer's septal depth d): 0 at the LV endocardium and in
///   the LV free wall, 1 at the RV endocardium and in the RV free wall, ~0.5 mid-septum; on the
///   epicardium, where both vanish, the mean over neighbouring nodes.
/// - `ventricle`: -1 LV, +1 RV: by `rv_regions` when given, else lv_rv > 0.5 is RV (the RV half of
///   the septum then counts as RV).
struct VentricularCoordinates {
  Eigen::VectorXd transmural, apicobasal, rotational, phi_lv, phi_rv, lv_rv, ventricle;
  Eigen::Vector3d apex = Eigen::Vector3d::Zero();         ///< apex position (mm)
  Eigen::Vector3d base_centre = Eigen::Vector3d::Zero();  ///< area-weighted centroid of the base (mm)
  Eigen::Vector3d long_axis = Eigen::Vector3d::UnitZ();   ///< unit vector from apex towards base
  bool has_rv = false;
  int iterations = 0;  ///< CG iterations of all solves together

  /// Store the fields as point data "transmural", "apicobasal", "rotational", "phi_lv", "phi_rv",
  /// "lv_rv", "ventricle" of `mesh`.
  void add_to(TetMesh& mesh) const;
  /// Read them back from point data (as written by `add_to`); throws `InvalidInput` when absent.
  static VentricularCoordinates from_point_data(const TetMesh& mesh);
};

/// Solve the Laplace problems and build the coordinates. `surface` must use the node numbering
/// of `mesh`. Throws `InvalidInput` when a required tag (LV endocardium, epicardium, base) has no
/// face, naming it.
VentricularCoordinates ventricular_coordinates(const TetMesh& mesh, const SurfaceMesh& surface,
                                               const CoordinateOptions& options = {});

}  // namespace cardiotwin::anatomy
