/// @file lead_field.hpp
/// @brief Lead-field ECG: a torso around the heart, one elliptic solve per electrode.
///
/// By reciprocity, the potential of electrode e (relative to a reference electrode) is
///
///   phi_e(t) = -integral over the heart of (sigma_i grad Vm) . grad Z_e dV,
///
/// where Z_e solves -div(sigma grad Z_e) = delta_e - delta_ref in the torso (zero flux on its
/// surface), sigma being the bulk conductivity sigma_i + sigma_e in the heart and the tissue
/// conductivity elsewhere. In an infinite homogeneous medium Z_e = 1 / (4 pi sigma |x - x_e|)
/// and this is the pseudo-ECG of forward.hpp. With P1 elements the result is again one weight
/// vector per electrode (`ElectrodeWeights`), computed once per anatomy: the point source is
/// spread over the nodes of the tet containing the electrode by its barycentric coordinates,
/// each system is solved by Jacobi-preconditioned CG, and the weights are
/// w_a = -sum over heart tets of V_e (sigma_i,e grad phi_a) . grad Z_e.
///
/// The torso mesh must contain the heart mesh conformingly with the heart's nodes first (as
/// `embed_heart` builds it); `ellipsoidal_torso` (torso.hpp, needs TetGen) makes one.
#pragma once

#include <Eigen/Core>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "cardiotwin/core/mesh.hpp"
#include "cardiotwin/ecg/electrodes.hpp"
#include "cardiotwin/ecg/forward.hpp"

namespace cardiotwin::ecg {

/// Region tag of torso (non-heart) tets in a `TorsoMesh`.
constexpr Index kTorsoRegion = 100;

/// A torso volume mesh with the heart embedded: nodes 0 ... num_heart_nodes - 1 and tets
/// 0 ... num_heart_tets - 1 are the heart's (same numbering), the rest is torso (region
/// `kTorsoRegion`, or other tags for organs). `surface` is the outer torso surface (outward
/// normals) in the torso mesh's node numbering.
struct TorsoMesh {
  TetMesh mesh;
  std::int64_t num_heart_nodes = 0, num_heart_tets = 0;
  SurfaceMesh surface;
};

/// Geometry of the procedural ellipsoidal torso, in the body frame (mm, relative to the heart
/// centre; see `BodyFrame`). Defaults: an adult chest and abdomen.
struct TorsoOptions {
  static constexpr int kVersion = 1;
  double half_width_mm = 160, half_depth_mm = 110, half_height_mm = 330;  ///< semi-axes left-right, front-back, vertical
  double centre_left_mm = -30, centre_anterior_mm = -50, centre_superior_mm = -80;  ///< torso centre relative to the heart
  double scale = 1.0;            ///< multiplies every length above
  double surface_size_mm = 20;   ///< edge length of the torso surface triangles (about)
  /// TetGen quality bound: it sets how fast elements grow away from the heart and the
  /// electrodes, and so the accuracy of the lead fields (in a homogeneous 1 m sphere the 12 leads
  /// differ from the pseudo-ECG by 6 % of their peak at 1.6, 3 % at 1.3, 1.6 % at 1.2).
  double max_radius_edge_ratio = 1.3;
  double max_volume_mm3 = 0;     ///< TetGen volume bound for torso tets, 0 for none

  nlohmann::json to_json() const;
  static TorsoOptions from_json(const nlohmann::json& j);
  void validate() const;
};

/// The ellipsoidal torso surface (a subdivided icosahedron mapped onto the ellipsoid) in mesh
/// coordinates, outward normals, tag 1.
SurfaceMesh ellipsoid_torso_surface(const BodyFrame& frame, const TorsoOptions& options = {});

/// The boundary faces of `heart` (outward normals, heart node numbering, points copied).
SurfaceMesh heart_boundary(const TetMesh& heart);

/// The piecewise linear complex to fill with tets: `torso_surface` (tag 1), the heart boundary
/// (tag 2), and a small icosahedral shell of radius `refine_radius_mm` around each of
/// `refine_points` (tag 3; electrodes inside the torso), so that the mesh is fine where a point
/// source will be put. Points of the torso surface come first. Throws `InvalidInput` when a
/// heart node lies outside the torso surface, or a refinement shell would touch the heart.
SurfaceMesh torso_plc(const TetMesh& heart, const SurfaceMesh& torso_surface, const Points& refine_points = Points(),
                      double refine_radius_mm = 3.0);

/// Combine the heart with a tet mesh `filled` of `plc` (from `torso_plc`) that kept the input
/// surface (TetGen switch Y): the tets outside the heart surface become the torso, the heart's own
/// tets and nodes come first. Throws `InvalidInput` when the heart surface is not a surface of
/// `filled`, or the parts do not add up (the heart not inside the torso).
TorsoMesh embed_heart(const TetMesh& heart, const SurfaceMesh& plc, const TetMesh& filled);

/// Options of the lead-field solve.
struct LeadFieldOptions {
  static constexpr int kVersion = 1;
  Eigen::Vector3d sigma_i = Eigen::Vector3d(0.17, 0.019, 0.019);        ///< intracellular (source), S/m
  Eigen::Vector3d sigma_heart = Eigen::Vector3d(0.79, 0.259, 0.259);    ///< bulk sigma_i + sigma_e in the heart, S/m
  double sigma_torso = 0.2;                ///< torso (region kTorsoRegion), S/m
  std::map<Index, double> region_sigma;    ///< other torso regions (lungs ...), isotropic, S/m
  std::string reference = "RL";            ///< electrode whose potential is zero
  bool project_to_surface = true;          ///< move electrodes to the nearest point of the torso surface
  double cg_tolerance = 1e-8;              ///< relative residual of each solve
  int cg_max_iterations = 20000;
  int threads = 0;                         ///< 0: automatic (1 per 100k torso nodes, up to the core count)

  nlohmann::json to_json() const;
  static LeadFieldOptions from_json(const nlohmann::json& j);
  void validate() const;
};

/// Lead-field weights of `electrodes` for Vm on `heart`'s nodes (the heart embedded in `torso`).
/// The reference electrode's row is zero. Throws `InvalidInput` for electrodes outside the torso
/// or inside the heart, a missing reference electrode, or a torso that does not match the heart.
/// Metadata holds the electrode positions used, CG iterations and timings.
ElectrodeWeights lead_field_weights(const TetMesh& heart, const TorsoMesh& torso, const Electrodes& electrodes,
                                    const LeadFieldOptions& options = {});

}  // namespace cardiotwin::ecg
