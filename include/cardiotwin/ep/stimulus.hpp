/// @file stimulus.hpp
/// @brief Where, when and how strongly tissue is stimulated.
#pragma once

#include <Eigen/Core>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cardiotwin/core/mesh.hpp"

namespace cardiotwin::ep {

/// One stimulus: a region of nodes and a train of rectangular pulses.
///
/// Strength units: "uA/cm^3" is a current per tissue volume (as in Niederer 2011; converted with
/// the surface-to-volume ratio and capacitance), "uA/cm^2" a current per membrane area (divided
/// by the capacitance), "mV/ms" the resulting dVm/dt directly.
struct Stimulus {
  std::string shape = "box";       ///< "box", "sphere", "nodes" or "region"
  Eigen::Vector3d box_min{0, 0, 0}, box_max{0, 0, 0};  ///< box corners, mm (inclusive)
  Eigen::Vector3d center{0, 0, 0};  ///< sphere centre, mm
  double radius_mm = 0;             ///< sphere radius, mm (inclusive)
  std::vector<std::int64_t> nodes;  ///< node indices for shape "nodes"
  int region = 0;                   ///< region tag for shape "region": every node of its tets
  double start_ms = 0;              ///< first pulse onset
  double duration_ms = 2;           ///< pulse length
  double strength = 50000;          ///< pulse amplitude in `unit`
  std::string unit = "uA/cm^3";     ///< "uA/cm^3", "uA/cm^2" or "mV/ms"
  double cycle_length_ms = 0;       ///< > 0: repeat pulses at this interval
  int count = 1;                    ///< number of pulses (with cycle_length_ms > 0)

  nlohmann::json to_json() const;
  /// Parse and validate; unknown keys and bad values raise `InvalidInput` naming the key.
  static Stimulus from_json(const nlohmann::json& j, const std::string& where = "stimuli");
  /// Nodes of `mesh` inside the region (sorted). Throws `InvalidInput` when the region holds none.
  std::vector<std::int64_t> select_nodes(const TetMesh& mesh) const;
  /// Is a pulse on at time t (ms)? Pulses are half-open intervals [onset, onset + duration).
  bool active(double t_ms) const;
  /// Strength as dVm/dt in mV/ms for surface-to-volume ratio chi (1/mm) and capacitance cm (uF/cm^2).
  double dvdt(double chi_per_mm, double cm_uf_per_cm2) const;
};

}  // namespace cardiotwin::ep
