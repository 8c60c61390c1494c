/// @file forward.hpp
/// @brief ECG forward models as linear maps from nodal Vm to electrode potentials.
///
/// Every forward model here ends in the same form: per electrode e a weight vector w_e over the
/// heart's nodes, so that phi_e(t) = w_e . Vm(t) is one dot product per frame. The weights are
/// computed once per anatomy and electrode set (the expensive part) and reused for every
/// simulation on that anatomy.
///
/// The pseudo-ECG (infinite homogeneous conductor of conductivity sigma_b around a heart with a
/// no-flux boundary) is
///
///   phi(x') = -1 / (4 pi sigma_b) * integral over the heart of (sigma_i grad Vm) . grad_x 1/|x - x'| dV,
///
/// with Vm piecewise linear (P1): grad Vm is constant per tet, sum_a Vm_a grad phi_a, so
///
///   w_a = -1 / (4 pi sigma_b) * sum over tets e containing node a of (sigma_i,e grad phi_a) . G_e,
///   G_e = integral over e of grad_x 1/|x - x'| dV = sum over faces f of n_f integral over f of 1/|x - x'| dS.
///
/// The face integrals have a closed form for flat triangles (Wilton et al., IEEE Trans. Antennas
/// Propag. 32:276, 1984), used for tets near the electrode; far tets use the one-point (centroid)
/// rule, whose relative error is O((h / r)^2). A uniform Vm gives zero potential exactly.
#pragma once

#include <Eigen/Core>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cardiotwin/core/mesh.hpp"
#include "cardiotwin/core/signals.hpp"
#include "cardiotwin/ecg/electrodes.hpp"

namespace cardiotwin::ep {
class EikonalModel;
}

namespace cardiotwin::ecg {

/// A linear map from Vm at the heart's nodes (mV) to potentials at electrodes (mV).
struct ElectrodeWeights {
  std::vector<std::string> names;  ///< `#electrodes` (or leads) names
  Field weights;                   ///< `#electrodes by #nodes`, row-major; phi = weights * Vm
  nlohmann::json metadata = nlohmann::json::object();  ///< model, options, timings

  std::int64_t num_electrodes() const noexcept { return static_cast<std::int64_t>(names.size()); }
  std::int64_t num_nodes() const noexcept { return weights.cols(); }
  /// Potentials of one frame: `vm` has `#nodes` values. Throws `InvalidInput` on a size mismatch.
  Eigen::VectorXd potentials(const Eigen::Ref<const Eigen::VectorXd>& vm) const;
  /// Potentials of many frames: `vm_frames` is `#frames by #nodes` (row-major, one frame per
  /// row); returns Signals with one channel per electrode on `time_ms` (`#frames`).
  /// Reads `vm_frames` in place (a C-ordered float64 numpy array is not copied); threaded over
  /// node blocks, memory-bound.
  Signals apply(const Eigen::Ref<const Eigen::VectorXd>& time_ms, const Eigen::Ref<const Field>& vm_frames) const;
  /// Potentials at `time_ms` of an Eikonal or reaction-Eikonal model, fused: Vm is computed per
  /// node block and chunk of frames and used while in cache, so no `#frames by #nodes` array is
  /// formed (same values as `apply(time_ms, frames)` with the frames from `model.vm_at`, up to
  /// rounding). Throws `InvalidInput` when the model's node count differs or a time is not finite.
  Signals apply(const Eigen::Ref<const Eigen::VectorXd>& time_ms, const ep::EikonalModel& model) const;
};

/// Options of the pseudo-ECG.
struct PseudoEcgOptions {
  static constexpr int kVersion = 1;
  /// Intracellular conductivities along fibre, sheet, normal (S/m); the default is Niederer 2011's.
  Eigen::Vector3d sigma_i = Eigen::Vector3d(0.17, 0.019, 0.019);
  /// Per region tag overrides of `sigma_i`.
  std::map<Index, Eigen::Vector3d> region_sigma_i;
  double sigma_bath = 0.2;          ///< conductivity of the surrounding medium (S/m), about the torso's average
  /// Tets whose centroid lies within `near_field_factor` times their longest edge from an
  /// electrode are integrated exactly; farther ones with the centroid rule.
  double near_field_factor = 10;
  /// An electrode closer than this to the heart (inside a tet grown by this margin) is an error.
  double min_distance_mm = 0;
  int threads = 0;                  ///< 0: automatic

  nlohmann::json to_json() const;
  /// Unknown keys, wrong types and bad values raise `InvalidInput` naming the key.
  static PseudoEcgOptions from_json(const nlohmann::json& j);
  void validate() const;
};

/// Pseudo-ECG weights of `electrodes` for Vm on `heart`'s nodes. Anisotropic sigma_i needs the
/// mesh's fibres (and sheets when sigma_t != sigma_n). Throws `InvalidInput` naming the electrode
/// and the tet when an electrode lies inside (or on) the heart.
ElectrodeWeights pseudo_ecg_weights(const TetMesh& heart, const Electrodes& electrodes,
                                    const PseudoEcgOptions& options = {});

/// Integral of 1/|x - p| over the flat triangle (a, b, c) (mm), in closed form. Exposed for tests.
double triangle_inverse_distance_integral(const Eigen::Vector3d& a, const Eigen::Vector3d& b,
                                          const Eigen::Vector3d& c, const Eigen::Vector3d& p);
/// Integral of grad_x 1/|x - p| over the tet (a, b, c, d), exact (via its faces). Exposed for tests.
Eigen::Vector3d tet_inverse_distance_gradient_integral(const Eigen::Vector3d& a, const Eigen::Vector3d& b,
                                                       const Eigen::Vector3d& c, const Eigen::Vector3d& d,
                                                       const Eigen::Vector3d& p);

/// Apply `weights` to a series of Vm snapshots: a ParaView `.pvd` collection of `.vtu` files with
/// the point array `vm_array` (as written by `ep::Monodomain` snapshots). The meshes must have
/// `weights.num_nodes()` points. Returns one channel per weight row, time from the `.pvd`.
Signals apply_to_pvd(const ElectrodeWeights& weights, const std::string& pvd_path,
                     const std::string& vm_array = "Vm");

}  // namespace cardiotwin::ecg
