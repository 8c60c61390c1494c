/// @file eikonal.hpp
/// @brief Fast activation models: the anisotropic Eikonal equation on tetrahedral meshes and the
/// reaction-Eikonal model (an action-potential template shifted by the activation time).
///
/// Eikonal: sqrt(grad T^T D grad T) = 1 with T the activation time (ms) and
/// D = v_f^2 f f^T + v_s^2 s s^T + v_n^2 n n^T (mm^2/ms^2) from the conduction velocities along
/// fibre, sheet and sheet-normal, per element and region tag. T = t_r at the root nodes. Solved
/// with the fast iterative method (Jeong and Whitaker 2008; Fu, Kirby and Whitaker 2013) with an
/// exact tetrahedral local solver: for node x of tet (x, x1, x2, x3),
///   T(x) = min over p in triangle(x1, x2, x3) of  T_lin(p) + sqrt((x - p)^T D^{-1} (x - p)),
/// T_lin the linear interpolant of the vertex times; the minimiser is found in closed form (the
/// interior stationary point, else the best point on an edge). Threaded with OpenMP.
///
/// Reaction-Eikonal: Vm_i(t) = V_template(w_i(t - T_i)), with w_i a time warp that leaves the
/// upstroke unchanged and stretches the rest of the action potential so that node i repolarises
/// (downward crossing of `repolarisation_threshold_mv`) APD_i after activation (upward crossing of
/// `activation_threshold_mv`). The template comes from a paced single-cell run of an ionic model
/// or from a parametric shape.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cardiotwin/core/mesh.hpp"
#include "cardiotwin/core/signals.hpp"
#include "cardiotwin/ep/monodomain.hpp"

namespace cardiotwin::ep {

/// Conduction velocities (mm/ms = m/s) along fibre, sheet and sheet-normal.
struct ConductionVelocity {
  double fibre = 0.6, sheet = 0.4, normal = 0.4;
  nlohmann::json to_json() const;
  /// {"fibre": .., "sheet": .., "normal": ..}; "normal" defaults to "sheet" (transversely
  /// isotropic); each must be > 0.
  static ConductionVelocity from_json(const nlohmann::json& j, const std::string& where);
};

/// A set of root nodes of the Eikonal equation, activated at `time_ms`.
///
/// Exactly one way to pick the nodes: `node` (one index), `nodes` (indices), `point` (mm; the
/// nearest node, which must lie within `EikonalOptions::root_snap_tolerance_mm`), or a region like a
/// stimulus: `shape` "box" (`box_min`, `box_max`), "sphere" (`center`, `radius_mm`) or "region"
/// (every node of the tets with tag `region`).
struct EikonalRoot {
  std::string shape = "node";  ///< "node", "nodes", "point", "box", "sphere" or "region"
  std::int64_t node = -1;
  std::vector<std::int64_t> nodes;
  Eigen::Vector3d point{0, 0, 0};
  Eigen::Vector3d box_min{0, 0, 0}, box_max{0, 0, 0};
  Eigen::Vector3d center{0, 0, 0};
  double radius_mm = 0;
  int region = 0;
  double time_ms = 0;  ///< activation time of these nodes (ms)
  std::string name;    ///< optional label (e.g. "lv_septal"), reported in the metadata

  static EikonalRoot at_node(std::int64_t node, double time_ms = 0, std::string name = {});
  static EikonalRoot at_point(const Eigen::Vector3d& point, double time_ms = 0, std::string name = {});
  nlohmann::json to_json() const;
  /// {"node": i} | {"nodes": [..]} | {"point": [x, y, z]} | {"shape": "box", "min": [..], "max": [..]} |
  /// {"shape": "sphere", "center": [..], "radius_mm": r} | {"shape": "region", "region": tag};
  /// plus "time_ms" (default 0) and "name".
  static EikonalRoot from_json(const nlohmann::json& j, const std::string& where);
};

/// Options of `solve_eikonal`, with defaults.
struct EikonalOptions {
  static constexpr int kVersion = 1;
  ConductionVelocity velocity;                          ///< default velocities (mm/ms)
  std::map<int, ConductionVelocity> region_velocity;    ///< per region tag overrides
  std::vector<EikonalRoot> roots;                       ///< at least one
  /// A `point` root must lie within this distance (mm) of its nearest node; <= 0 means the
  /// longest edge of the mesh, so points outside the mesh are refused.
  double root_snap_tolerance_mm = 0;
  /// A node's update converges when it changes by less. 1e-4 ms: on an anisotropic LV with
  /// rotating fibres 28% fewer local solves than 1e-6, activation times within 1e-3 ms.
  double tolerance_ms = 1e-4;
  int max_iterations = 0;       ///< 0 = automatic (1000 + 100 #nodes^(1/3)); SolverDiverged beyond
  int threads = 0;              ///< 0 = automatic (1 per 20k nodes, up to the core count)

  nlohmann::json to_json() const;
  /// Strict parse: unknown keys raise `InvalidInput` listing the known ones.
  static EikonalOptions from_json(const nlohmann::json& j, const std::string& where = "eikonal");
  void validate() const;
};

/// Result of `solve_eikonal`.
struct EikonalSolution {
  Eigen::VectorXd activation_ms;         ///< per node; +inf where no root reaches (disconnected parts)
  std::vector<std::int64_t> root_nodes;  ///< nodes fixed by the roots (after snapping)
  std::vector<double> root_times_ms;     ///< their times
  std::int64_t unreached = 0;            ///< nodes left at +inf
  std::int64_t iterations = 0;           ///< sweeps of the active list
  std::int64_t local_solves = 0;         ///< tetrahedral local solves
  double seconds = 0;                    ///< wall time of the solve (setup included)
  double setup_seconds = 0;              ///< of which setup: roots, tet records, adjacency
  int threads = 1;
  nlohmann::json to_json() const;        ///< everything but the activation times
};

/// Solve the anisotropic Eikonal equation on `mesh` (fibres needed unless every velocity triple
/// is isotropic; sheets needed when sheet and normal velocities differ). Throws `InvalidInput` for
/// non-positive velocities, missing fibres, roots outside the mesh or bad node indices.
/// Unreached nodes are +inf and counted in `unreached` (a warning, not an error).
EikonalSolution solve_eikonal(const TetMesh& mesh, const EikonalOptions& options);

/// Nodes and times of the roots (after selection and snapping), as `solve_eikonal` uses them.
void resolve_roots(const TetMesh& mesh, const EikonalOptions& options, std::vector<std::int64_t>& nodes,
                   std::vector<double>& times_ms);

// ---- action-potential templates ---------------------------------------------------------------

/// An action potential sampled on a uniform grid, time 0 = activation (upward crossing of the
/// activation threshold).
struct ApTemplate {
  double t0_ms = 0;            ///< time of the first sample (< 0: some foot before activation)
  double dt_ms = 0.1;          ///< sample spacing
  std::vector<double> vm_mv;   ///< samples; before the first: vm_mv.front(), after the last: vm_mv.back()
  double upstroke_end_ms = 0;  ///< time of the peak: the time warp leaves [t0, upstroke_end] unchanged
  double apd_ms = 0;           ///< activation to the downward crossing of the repolarisation threshold

  /// Vm at time t (ms after activation), linear interpolation.
  double at(double t_ms) const;
  /// Template from samples (times relative to anything): finds the upward crossing of
  /// `activation_mv`, the peak and the downward crossing of `repolarisation_mv` (linear
  /// interpolation), and shifts time so that activation is 0. Throws `InvalidInput` when the trace
  /// does not cross both thresholds.
  static ApTemplate from_samples(double t0_ms, double dt_ms, std::vector<double> vm_mv, double activation_mv,
                                 double repolarisation_mv);
};

/// Options of the action-potential template.
struct ApTemplateOptions {
  /// "parametric": V = rest + (peak - rest) * u(t) * r(t) with a tanh upstroke u of width
  /// `upstroke_ms` and a logistic repolarisation r of width `repolarisation_ms` centred so that the
  /// duration at `repolarisation_threshold_mv` is `apd_ms` (approximately; the exact value is
  /// measured). "ionic": the last beat of a paced single-cell run of `ionic_model`.
  std::string source = "parametric";
  double rest_mv = -85, peak_mv = 25, upstroke_ms = 0.5, repolarisation_ms = 12, apd_ms = 280;
  std::string ionic_model = "tp06";
  nlohmann::json ionic_options = nlohmann::json::object();
  std::string cell_type = "epi";
  double cycle_length_ms = 1000;
  int beats = 3;
  double dt_ms = 0.02;  ///< single-cell time step
  double sample_ms = 0.1;  ///< template sample spacing

  nlohmann::json to_json() const;
  static ApTemplateOptions from_json(const nlohmann::json& j, const std::string& where = "template");
  void validate() const;
};

/// Build the template (runs the single-cell model for source "ionic").
ApTemplate make_ap_template(const ApTemplateOptions& options, double activation_mv, double repolarisation_mv);

// ---- Eikonal and reaction-Eikonal as tissue solvers -------------------------------------------

/// Options of `EikonalModel` (config {"model": "eikonal" | "reaction-eikonal", ...}).
struct EikonalModelOptions {
  static constexpr int kVersion = 1;
  bool reaction = true;              ///< false: "eikonal" (activation only), true: "reaction-eikonal"
  EikonalOptions eikonal;            ///< velocities, roots, solver settings
  ApTemplateOptions ap_template;     ///< the action potential (reaction-Eikonal)
  /// Per-node APD (ms, activation to repolarisation): `apd_field` (a scalar point field, ms) if
  /// set, else `apd_linear` if set, else the mean over a node's tets of `region_apd_ms` (tags not
  /// listed use the template's APD), else the template's APD.
  std::string apd_field;
  /// {"field": name, "value_at_0": ms, "value_at_1": ms}: APD linear in a point field (e.g. the
  /// transmural coordinate); values outside [0, 1] are clamped.
  nlohmann::json apd_linear;
  std::map<int, double> region_apd_ms;
  double t_end_ms = 400;                     ///< end time of `run()` without argument
  double activation_threshold_mv = 0;        ///< as in the monodomain (template alignment)
  double repolarisation_threshold_mv = -70;  ///< as in the monodomain
  std::vector<Eigen::Vector3d> probes;       ///< points whose nearest node's Vm is recorded
  double probe_every_ms = 0.1;
  double snapshot_every_ms = 0;              ///< > 0: Vm snapshots (.vtu + .pvd) in `output_dir`
  std::string output_dir;

  nlohmann::json to_json() const;
  /// Strict parse of the config without "model" (that key picks `reaction`).
  static EikonalModelOptions from_json(const nlohmann::json& j, bool reaction);
  void validate() const;
};

/// The Eikonal ("eikonal": Vm follows the template up to its peak and stays there, no
/// repolarisation) or reaction-Eikonal ("reaction-eikonal": the
/// warped template) model behind the `EPSolver` interface: activation times are solved at
/// construction; `run` only advances the clock, writing probes and snapshots like the monodomain.
class EikonalModel : public EPSolver {
 public:
  EikonalModel(const TetMesh& mesh, EikonalModelOptions options);
  ~EikonalModel() override;
  EikonalModel(const EikonalModel&) = delete;
  EikonalModel& operator=(const EikonalModel&) = delete;

  void run(double t_end_ms, const ProgressCallback& progress = {}) override;
  void run() { run(options().t_end_ms); }
  double time_ms() const override;
  /// Vm at the current time (mV per node).
  const Eigen::VectorXd& vm() const override;
  EPResult result() const override;
  /// Vm per node at any time t (ms), without moving the clock (threaded).
  void vm_at(double t_ms, Eigen::VectorXd& out) const;
  Eigen::VectorXd vm_at(double t_ms) const {
    Eigen::VectorXd v;
    vm_at(t_ms, v);
    return v;
  }
  /// Vm of nodes [first, first + count) at `num_times` times: out[k * stride + i] is node
  /// first + i at times_ms[k]. Not threaded (for callers that split the nodes between threads,
  /// like the fused ECG in `ecg::ElectrodeWeights::apply`).
  void vm_block(const double* times_ms, Eigen::Index num_times, std::int64_t first, std::int64_t count, double* out,
                Eigen::Index stride) const;
  std::int64_t num_nodes() const;

  const EikonalModelOptions& options() const;
  const EikonalSolution& solution() const;
  const ApTemplate& ap_template() const;
  /// Per-node APD (ms) used by the reaction-Eikonal model.
  const Eigen::VectorXd& apd_ms() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- root nodes for normal ventricular activation ---------------------------------------------

/// Where the default root sites lie, in ventricular coordinates (see anatomy/coordinates.hpp):
/// apicobasal (0 apex, 1 base) and rotational angle (radians, 0 towards the septum, positive
/// towards `anterior_sign`), on the endocardium (transmural <= `endo_transmural`).
struct VentricularRootOptions {
  double lv_septal_ab = 0.5, lv_septal_rot = 0.0;
  double lv_anterior_ab = 0.7, lv_anterior_rot = 0.6;  ///< high anterior paraseptal (Durrer 1970)
  double lv_posterior_ab = 0.35, lv_posterior_rot = -0.6;  ///< posterior paraseptal, a third from the apex
  double rv_septal_ab = 0.5;      ///< RV septal surface, mid
  double rv_free_wall_ab = 0.4;   ///< RV anterior free wall (moderator band insertion)
  double rv_delay_ms = 5;         ///< RV sites start this much after the LV sites
  double endo_transmural = 0.05;  ///< endocardial nodes: transmural coordinate at most this
  int anterior_sign = 1;          ///< +1: anterior is the positive rotational direction
  double start_ms = 0;            ///< time of the LV sites
  nlohmann::json to_json() const;
  static VentricularRootOptions from_json(const nlohmann::json& j);
};

/// Root nodes for normal (sinus-rhythm) ventricular activation: LV mid-septal, LV anterior and
/// posterior paraseptal sites at `start_ms`, and when the mesh has an RV (some node with
/// `lv_rv` > 0.5), the RV septal surface and RV free wall `rv_delay_ms` later. Fields have one
/// value per node, as in `anatomy::VentricularCoordinates`. LV sites are the endocardial nodes
/// (transmural <= `endo_transmural`) with lv_rv < 0.5 nearest to the site in (apicobasal,
/// rotational / pi); RV sites are endocardial nodes with lv_rv >= 0.5 near the site's apicobasal
/// level, the one nearest to (septal) or farthest from (free wall) the LV long axis. Throws
/// `InvalidInput` for wrong sizes or when the LV has no endocardial node.
std::vector<EikonalRoot> default_ventricular_roots(const TetMesh& mesh, const Eigen::VectorXd& transmural,
                                                   const Eigen::VectorXd& apicobasal,
                                                   const Eigen::VectorXd& rotational,
                                                   const Eigen::VectorXd& lv_rv,
                                                   const VentricularRootOptions& options = {});
/// Same, reading point fields "transmural", "apicobasal", "rotational" and "lv_rv" of `mesh`
/// (as `anatomy::VentricularCoordinates::add_to` writes them).
std::vector<EikonalRoot> default_ventricular_roots(const TetMesh& mesh, const VentricularRootOptions& options = {});

}  // namespace cardiotwin::ep
