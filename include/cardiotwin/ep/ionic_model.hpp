/// @file ionic_model.hpp
/// @brief Ionic (cell) models: the reaction part of the monodomain equation.
///
/// A model instance holds the state of many cells in a structure-of-arrays layout (one
/// contiguous array per state variable) so that the update loop vectorises and threads split
/// cells into ranges. Units: time ms, potential mV, currents per unit membrane capacitance
/// (uA/uF = mV/ms; positive = outward, so dVm/dt = -(I_ion + I_stim)).
///
/// Adding a model means adding one file under src/ep/models/ that defines
/// `cardiotwin::ep::models::make_<name>()` and `cardiotwin::ep::models::info_<name>()`;
/// CMake finds it and registers it (see src/ep/ionic_model.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cardiotwin/core/types.hpp"

namespace cardiotwin::ep {

/// What a model is, without making one.
struct IonicModelInfo {
  std::string name;                         ///< registry key, e.g. "tp06"
  std::string description;                  ///< one line with the reference
  std::vector<std::string> cell_types;      ///< e.g. {"epi", "endo", "mcell"}; index = cell type code
  std::vector<std::string> state_names;     ///< state variables other than Vm
  std::vector<std::string> parameter_names; ///< parameters that may vary per cell
};

/// Base class of every ionic model. Not copyable; one instance serves `num_cells()` cells.
class IonicModel {
 public:
  virtual ~IonicModel() = default;
  IonicModel(const IonicModel&) = delete;
  IonicModel& operator=(const IonicModel&) = delete;

  virtual const IonicModelInfo& info() const = 0;
  const std::string& name() const { return info().name; }

  /// Allocate and initialise `n` cells. `cell_type` has n codes indexing `info().cell_types`, or
  /// is empty (all type 0). Parameters are reset to the model's defaults (then `options`).
  virtual void init(std::int64_t n, const std::vector<std::uint8_t>& cell_type = {}) = 0;
  std::int64_t num_cells() const noexcept { return num_cells_; }

  /// Initial (resting) Vm of a cell type in mV, to initialise the tissue.
  virtual double initial_vm(int cell_type = 0) const = 0;

  /// Set parameter `name` for every cell, or per cell (`values` has `num_cells()` entries).
  /// Unknown names raise `InvalidInput` listing `info().parameter_names`.
  virtual void set_parameter(const std::string& name, double value) = 0;
  virtual void set_parameter(const std::string& name, const std::vector<double>& values) = 0;
  /// Current value of a parameter in cell `cell`.
  virtual double parameter(const std::string& name, std::int64_t cell = 0) const = 0;

  /// Advance the states (not Vm) of cells [begin, end) from t to t + dt with Vm held at `vm[i]`
  /// (gates by Rush-Larsen, the rest by forward Euler), and write the total ionic current at the
  /// start of the step to `iion[i]` (mV/ms). Thread-safe for disjoint ranges. The arrays are
  /// indexed by cell (vm[i], iion[i] for i in [begin, end)).
  virtual void step(double dt, const double* vm, double* iion, std::int64_t begin, std::int64_t end) = 0;

  /// State variable `k` (in `info().state_names` order) of every cell: a contiguous array.
  virtual const double* state(int k) const = 0;
  virtual double* state(int k) = 0;

  /// All states and per-cell parameters as flat bytes (checkpointing) and back. Restoring
  /// needs the same model, cell count and cell types; it continues bit-identically.
  virtual std::vector<double> save() const = 0;
  virtual void restore(const std::vector<double>& data) = 0;

 protected:
  IonicModel() = default;
  std::int64_t num_cells_ = 0;
};

/// Names of every registered model.
std::vector<std::string> ionic_model_names();
/// Description of model `name`; unknown names raise `InvalidInput` listing the available ones.
const IonicModelInfo& ionic_model_info(const std::string& name);
/// A new model `name` with `options`: a JSON object of parameter values, kept by the model and
/// applied to every cell by each `init` (after the defaults), plus model switches such as
/// {"lookup_tables": false}. Unknown names or options raise `InvalidInput` listing what exists.
std::unique_ptr<IonicModel> make_ionic_model(const std::string& name, const nlohmann::json& options = {});

}  // namespace cardiotwin::ep
