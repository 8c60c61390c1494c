/// @file monodomain.hpp
/// @brief The monodomain equation on tetrahedral meshes (P1 FEM, operator splitting).
///
/// chi Cm dVm/dt = div(sigma grad Vm) - chi Cm (I_ion + I_stim), zero flux on the boundary,
/// with sigma the monodomain conductivity (S/m), chi the surface-to-volume ratio (1/mm) and Cm the
/// membrane capacitance (uF/cm^2). Ionic currents are per unit capacitance (mV/ms).
///
/// Time stepping splits reaction and diffusion (Godunov: reaction dt then diffusion dt; Strang:
/// reaction dt/2, diffusion dt, reaction dt/2). Diffusion uses the theta scheme
/// (M + theta dt K') V^{n+1} = (M - (1 - theta) dt K') V*, K' = K / (chi Cm), solved for the
/// increment V^{n+1} - V* by warm-started Jacobi-preconditioned CG; the matrices are assembled
/// once. Stimuli are volume sources over the stimulated tets. Godunov with backward Euler equals the semi-implicit scheme with ionic current
/// interpolation used by Chaste-like FEM codes.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cardiotwin/core/mesh.hpp"
#include "cardiotwin/core/signals.hpp"
#include "cardiotwin/ep/stimulus.hpp"

namespace cardiotwin::ep {

/// Conductivities along fibre, sheet and normal (S/m).
struct Conductivity {
  double sigma_l = 0.1334177, sigma_t = 0.0176062, sigma_n = 0.0176062;  ///< Niederer 2011 monodomain values
  /// Monodomain conductivity from intra- and extracellular values: the harmonic mean
  /// si se / (si + se) per direction.
  static Conductivity harmonic_mean(const Conductivity& intra, const Conductivity& extra);
  nlohmann::json to_json() const;
  /// {"sigma_l":..,"sigma_t":..,"sigma_n":..} or {"intra": {...}, "extra": {...}}.
  static Conductivity from_json(const nlohmann::json& j, const std::string& where);
};

/// Every option of a monodomain simulation, with its default. Serialisable to and from JSON
/// (`version` guards the schema).
struct MonodomainOptions {
  static constexpr int kVersion = 1;
  double dt_ms = 0.01;                       ///< time step
  double t_end_ms = 100;                     ///< end time of `run()` without argument
  std::string ionic_model = "tp06";          ///< see ionic_model_names()
  nlohmann::json ionic_options = nlohmann::json::object();  ///< parameters passed to the model
  std::string cell_type = "epi";             ///< cell type of every node, unless `cell_type_field` is set
  std::string cell_type_field;               ///< name of a point field holding cell type codes per node
  /// Ionic parameters that vary per node: parameter name -> name of a scalar point field of the
  /// mesh (e.g. {"g_Ks": "gks"} from a transmural coordinate). Applied after `ionic_options`.
  std::map<std::string, std::string> ionic_parameter_fields;
  int ionic_substeps = 1;                    ///< ionic sub-steps per reaction step
  double chi_per_mm = 140;                   ///< surface-to-volume ratio (1/mm)
  double cm_uf_per_cm2 = 1.0;                ///< membrane capacitance (uF/cm^2)
  Conductivity conductivity;                 ///< default conductivity (S/m)
  std::map<int, Conductivity> region_conductivity;  ///< per region tag overrides
  std::string mass = "consistent";           ///< "consistent" or "lumped"
  /// "godunov" (reaction, then diffusion), "strang" (half reaction, diffusion, half reaction) or
  /// "none" (not split: the ionic current of t_n is an explicit source of the theta scheme, weighted
  /// by the mass matrix; with theta = 1 this is the same scheme as "godunov").
  std::string splitting = "godunov";
  double theta = 0.5;                        ///< 0.5 Crank-Nicolson, 1 backward Euler
  double cg_tolerance = 1e-4;                ///< residual of the diffusion solve relative to its right-hand side (the change of Vm)
  int cg_max_iterations = 500;
  /// "cg" (warm-started Jacobi PCG, threaded) or "cholesky" (sparse LDL^T factorised once, then two
  /// triangular solves per step; single-threaded, memory grows fast with mesh size). CG is the
  /// default because it measured faster on every slab of the Niederer benchmark (docs/ep.md).
  std::string linear_solver = "cg";
  bool single_precision_matrix = true;       ///< float32 system matrix in CG (vectors float64)
  int threads = 0;                           ///< 0 = automatic (1 per 20k nodes, up to the core count)
  std::vector<Stimulus> stimuli;
  double activation_threshold_mv = 0;        ///< first upward crossing = activation time
  double repolarisation_threshold_mv = -70;  ///< first downward crossing after activation
  double vm_bound_mv = 300;                  ///< |Vm| beyond this (or NaN) stops with SolverDiverged
  std::vector<Eigen::Vector3d> probes;       ///< points (mm) whose nearest node's Vm is recorded
  double probe_every_ms = 0.1;               ///< probe sampling interval (rounded to steps)
  double snapshot_every_ms = 0;              ///< > 0: write Vm snapshots (.vtu + .pvd) to `output_dir`
  std::string output_dir;                    ///< where snapshots go

  nlohmann::json to_json() const;
  /// Parse with validation: unknown keys, wrong types, bad values raise `InvalidInput` naming the
  /// key and listing the valid choices.
  static MonodomainOptions from_json(const nlohmann::json& j);
  /// Check values (dt > 0, theta in [0.5, 1], known names, ...); throws `InvalidInput`.
  void validate() const;
};

/// Results shared by every activation model (monodomain, Eikonal, reaction-Eikonal), so that the
/// ECG stage and the plots take any of them.
struct EPResult {
  Eigen::VectorXd activation_ms;     ///< per node; NaN where never activated
  Eigen::VectorXd repolarisation_ms; ///< per node; NaN where not repolarised
  Signals probes;                    ///< Vm at the probe points
  std::string snapshots_pvd;         ///< path of the .pvd collection, empty if none
  nlohmann::json metadata;           ///< model, options, timings, mesh size
  /// Action potential duration per node (repolarisation - activation; NaN where either is).
  Eigen::VectorXd apd_ms() const { return repolarisation_ms - activation_ms; }
};

/// Progress report: current time and end time (ms). Return false to stop early (cancellation).
using ProgressCallback = std::function<bool(double t_ms, double t_end_ms)>;

/// The interface callers use for any tissue-level activation model. A GPU monodomain backend or a
/// reaction-Eikonal model implements it too.
class EPSolver {
 public:
  virtual ~EPSolver() = default;
  /// Advance to `t_end_ms` (reporting progress about every 1% of the way).
  virtual void run(double t_end_ms, const ProgressCallback& progress = {}) = 0;
  virtual double time_ms() const = 0;
  /// Current Vm per node (mV).
  virtual const Eigen::VectorXd& vm() const = 0;
  virtual EPResult result() const = 0;
};

/// Performance counters of a monodomain run.
struct MonodomainTimings {
  double assembly_s = 0, ionic_s = 0, diffusion_s = 0, output_s = 0;
  std::int64_t steps = 0, cg_iterations = 0;
  nlohmann::json to_json() const;
};

/// Monodomain solver on one mesh. Construction assembles the matrices and initialises the cells.
class Monodomain : public EPSolver {
 public:
  Monodomain(const TetMesh& mesh, MonodomainOptions options);
  ~Monodomain() override;
  Monodomain(const Monodomain&) = delete;
  Monodomain& operator=(const Monodomain&) = delete;

  void run(double t_end_ms, const ProgressCallback& progress = {}) override;
  /// Run to `options().t_end_ms`.
  void run() { run(options().t_end_ms); }
  /// One time step of `dt_ms`.
  void step();
  double time_ms() const override;
  const Eigen::VectorXd& vm() const override;
  EPResult result() const override;

  /// Replace the current Vm (mV, one value per node), e.g. for an initial condition.
  void set_vm(const Eigen::VectorXd& vm);

  const MonodomainOptions& options() const;
  const MonodomainTimings& timings() const;
  /// Nodes stimulated by each stimulus (in `options().stimuli` order).
  const std::vector<std::vector<std::int64_t>>& stimulus_nodes() const;

  /// Write the whole state (time, Vm, ionic states, activation, probes so far) to `path`
  /// atomically. `load_checkpoint` on a solver built from the same mesh and options continues
  /// bit-identically (for the same thread count).
  void save_checkpoint(const std::string& path) const;
  void load_checkpoint(const std::string& path);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Make a tissue solver from a JSON config: {"model": "monodomain", ...MonodomainOptions} (the
/// default when "model" is absent), or {"model": "eikonal" | "reaction-eikonal",
/// ...EikonalModelOptions} (ep/eikonal.hpp).
std::unique_ptr<EPSolver> make_ep_solver(const TetMesh& mesh, const nlohmann::json& config);

}  // namespace cardiotwin::ep
