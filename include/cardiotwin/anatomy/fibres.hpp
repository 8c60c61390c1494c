/// @file fibres.hpp
/// @brief Rule-based myocardial fibres, sheets and sheet normals per element (after Bayer et al.
/// 2012, "A novel rule-based algorithm for assigning myocardial fiber orientation to computational
/// heart models", Ann. Biomed. Eng. 40:2243).
///
/// ## Angle convention
/// In every element a local orthonormal frame (c, l, t) is built:
/// - t, transmural: the unit gradient of the wall's Laplace field, pointing from the endocardium
///   of the wall the element belongs to towards the other side (for the LV: out of the LV cavity,
///   through the free wall to the epicardium and through the septum to the RV);
/// - l, longitudinal: the apicobasal gradient with its t component removed, pointing from apex to base;
/// - c = l x t, circumferential: counterclockwise when the LV is seen from the base.
///
/// The fibre is `f = cos(alpha) c + sin(alpha) l` with the helix angle `alpha` varying linearly
/// with the depth d through the wall, `alpha = alpha_endo + (alpha_epi - alpha_endo) d`
/// (d = 0 at the wall's endocardium, 1 on its far side). Positive alpha makes a right-handed helix
/// about the long axis, as endocardial fibres are; the default +60 deg -> -60 deg gives the
/// right-handed endocardium and left-handed epicardium of the human ventricle.
/// The sheet is `s = cos(beta) t + sin(beta) (f x t)` with the sheet angle beta varying linearly
/// from `beta_endo` to `beta_epi`, and the sheet normal is `n = f x s`; (f, s, n) is a
/// right-handed orthonormal triple in every element.
///
/// Walls: an element belongs to the LV (septum included) where phi_lv >= phi_rv, with
/// t = -grad(phi_lv) and d = 1 - phi_lv, else to the RV free wall with t = -grad(phi_rv) and
/// d = 1 - phi_rv. With alpha_epi = -alpha_endo the fibres are continuous across the middle of the
/// septum, where the two rules meet (the fibre is an axis: f and -f are the same fibre).
#pragma once

#include <Eigen/Core>

#include <nlohmann/json.hpp>

#include "cardiotwin/anatomy/coordinates.hpp"
#include "cardiotwin/core/mesh.hpp"

namespace cardiotwin::anatomy {

/// Fibre angles in degrees (see the file doc for the convention).
struct FibreOptions {
  double alpha_endo_deg = 60, alpha_epi_deg = -60;  ///< helix angle at the endocardium / far side
  double beta_endo_deg = 0, beta_epi_deg = 0;       ///< sheet angle at the endocardium / far side

  nlohmann::json to_json() const;
  static FibreOptions from_json(const nlohmann::json& j);
};

/// Per-element frame fields of `compute_fibres`.
struct FibreField {
  Directions fibre, sheet, normal;  ///< `#tets by 3` unit vectors
  Eigen::VectorXd helix_deg;        ///< helix angle used in each element
  Eigen::VectorXd depth;            ///< wall depth d in each element (0 endocardium, 1 far side)
};

/// Fibres, sheets and normals of every element from coordinates `c` of `mesh` (see file doc).
FibreField compute_fibres(const TetMesh& mesh, const VentricularCoordinates& c, const FibreOptions& options = {});

/// `compute_fibres` stored in `mesh.fibre`, `mesh.sheet`, `mesh.normal` and cell data
/// "helix_deg", "wall_depth".
void assign_fibres(TetMesh& mesh, const VentricularCoordinates& c, const FibreOptions& options = {});

/// Helix angle (deg, in (-90, 90]) of fibre `f` in the frame (c, l, t) of the file doc, given the
/// longitudinal `l` and transmural `t` directions (orthogonalised here).
double helix_angle_deg(const Eigen::Vector3d& f, const Eigen::Vector3d& l, const Eigen::Vector3d& t);

}  // namespace cardiotwin::anatomy
