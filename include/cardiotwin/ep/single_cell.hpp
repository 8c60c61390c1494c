/// @file single_cell.hpp
/// @brief Paced single-cell simulation of an ionic model, with action potential measures.
///
/// Used to check and calibrate ionic models (rest, peak, upstroke velocity, APD) and to reach a
/// paced steady state before tissue runs.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cardiotwin/core/signals.hpp"
#include "cardiotwin/ep/ionic_model.hpp"

namespace cardiotwin::ep {

/// Pacing protocol of `simulate_single_cell`: a train of rectangular stimuli, one per beat.
///
/// Beat k (k = 0..num_beats-1) starts at stim_start_ms + k cycle_length_ms with a stimulus of
/// stim_amplitude for stim_duration_ms; the run ends num_beats cycle lengths after
/// stim_start_ms. Stimulus onsets and durations are rounded to whole time steps.
struct PacingProtocol {
  static constexpr int kVersion = 1;
  double cycle_length_ms = 1000;  ///< basic cycle length (ms), > stim_duration_ms
  int num_beats = 1;              ///< number of stimuli, >= 1
  double stim_start_ms = 10;      ///< first stimulus onset (ms), >= 0
  double stim_duration_ms = 1;    ///< stimulus length (ms), >= dt_ms
  /// Stimulus strength as depolarising dVm/dt in mV/ms (= uA/uF of inward current); TP06's
  /// standard stimulus is 52 for 1 ms.
  double stim_amplitude = 52;
  double dt_ms = 0.02;            ///< time step (ms), > 0
  double record_every_ms = 1;     ///< trace sampling interval (ms), rounded to whole steps (>= 1 step)
  std::string cell_type;          ///< one of the model's cell types; empty = the first (code 0)
  bool record_states = false;     ///< also record every state variable in the trace

  nlohmann::json to_json() const;
  /// Parse with validation; unknown keys raise `InvalidInput` listing the known ones.
  static PacingProtocol from_json(const nlohmann::json& j);
  /// Check the values (dt > 0, dt <= stimulus duration, ...); throws `InvalidInput` naming the field.
  void validate() const;
};

/// Action potential measures of one beat. Times are absolute (ms from the start of the run);
/// values that cannot be measured (no repolarisation within the beat) are NaN.
struct BeatMeasures {
  int beat = 0;                     ///< beat index, 0-based
  double stim_time_ms = 0;          ///< stimulus onset
  double resting_vm_mv = 0;         ///< Vm at the last step before the stimulus
  double peak_vm_mv = 0;            ///< maximum Vm during the beat
  double dvdt_max_mv_per_ms = 0;    ///< maximum (V_{n+1} - V_n) / dt during the beat
  double activation_time_ms = 0;    ///< time of the maximum dV/dt (midpoint of that step)
  double apd50_ms = 0;              ///< activation to the downward crossing of peak - 0.5 (peak - rest)
  double apd90_ms = 0;              ///< activation to the downward crossing of peak - 0.9 (peak - rest)

  nlohmann::json to_json() const;
};

/// Result of `simulate_single_cell`.
struct SingleCellResult {
  /// Channel "Vm" (mV) sampled every `record_every_ms` (from t = 0, including the final time),
  /// plus one channel per state variable (named as in `info().state_names`, in the model's units)
  /// when `record_states`. `metadata` holds the protocol and the model name.
  Signals trace;
  std::vector<BeatMeasures> beats;  ///< one per beat
  double final_vm_mv = 0;           ///< Vm at the end of the run
  std::vector<double> final_state;  ///< `model.save()` at the end (to start tissue from a paced state)

  nlohmann::json measures_to_json() const;
};

/// Pace one cell of `model` (re-initialised with `init(1, {cell type})`) with `protocol`.
///
/// Vm is advanced by forward Euler, Vm += -dt (I_ion + I_stim) with I_stim = -stim_amplitude while
/// a stimulus is on; the states by `model.step(dt, ...)` from the same Vm. APD_x is the time from
/// activation (maximum dV/dt) to the first downward crossing, after the peak, of
/// peak - x (peak - rest), linearly interpolated between steps. Throws `InvalidInput` for a bad
/// protocol or cell type and `SolverDiverged` (with the time) when Vm or I_ion becomes non-finite.
SingleCellResult simulate_single_cell(IonicModel& model, const PacingProtocol& protocol);

}  // namespace cardiotwin::ep
