/// @file leads.hpp
/// @brief The standard 12 leads from electrode potentials (Wilson's central terminal).
///
/// I = LA - RA, II = LL - RA, III = LL - LA; WCT = (RA + LA + LL) / 3; aVR = 1.5 (RA - WCT),
/// aVL = 1.5 (LA - WCT), aVF = 1.5 (LL - WCT); Vi = phi(Vi) - WCT. RL is the ground and enters
/// no lead. Einthoven's law II = I + III and aVR + aVL + aVF = 0 hold by construction.
#pragma once

#include <Eigen/Core>
#include <string>
#include <vector>

#include "cardiotwin/core/signals.hpp"
#include "cardiotwin/ecg/forward.hpp"

namespace cardiotwin::ecg {

/// "I", "II", "III", "aVR", "aVL", "aVF", "V1" ... "V6".
const std::vector<std::string>& twelve_lead_names();

/// The `12 by #electrodes` matrix L with leads = L * potentials, for electrodes named in
/// `electrode_names` (which must include RA, LA, LL, V1 ... V6; others get zero columns).
/// Throws `InvalidInput` listing the missing electrodes.
Eigen::MatrixXd twelve_lead_matrix(const std::vector<std::string>& electrode_names);

/// The 12 leads from electrode potentials (channels named as the electrodes; units kept).
Signals twelve_leads(const Signals& electrode_potentials);

/// Weights that give the 12 leads directly from Vm: L * weights (one dot product per lead and frame).
ElectrodeWeights twelve_lead_weights(const ElectrodeWeights& electrode_weights);

/// Find a lead by name ignoring case ("AVR" finds "aVR"); -1 if absent.
std::int64_t find_lead(const Signals& s, const std::string& name);

}  // namespace cardiotwin::ecg
