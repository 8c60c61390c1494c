/// @file processing.hpp
/// @brief ECG signal processing: zero-phase Butterworth filters, baseline removal, resampling.
///
/// Filters run forward and backward (zero phase, squared magnitude response) over an odd
/// reflection of the signal at both ends, starting from the steady state of the first sample,
/// so that edges do not ring. They need a uniform time axis; `InvalidInput` otherwise.
#pragma once

#include <Eigen/Core>

#include "cardiotwin/core/signals.hpp"

namespace cardiotwin::ecg {

/// Sampling interval (ms) of a uniform time axis; throws `InvalidInput` if the axis has fewer
/// than 2 samples or its steps differ by more than 1e-6 relative.
double uniform_step_ms(const Eigen::VectorXd& time_ms, const std::string& what = "time_ms");

/// Zero-phase Butterworth low-pass of every channel (cutoff in Hz, order per pass).
Signals lowpass(const Signals& s, double cutoff_hz, int order = 4);
/// Zero-phase Butterworth high-pass of every channel (cutoff in Hz, order per pass).
Signals highpass(const Signals& s, double cutoff_hz, int order = 2);
/// Baseline wander removal: high-pass at `cutoff_hz` (0.5 Hz keeps the ST segment; AHA
/// recommends <= 0.67 Hz for zero-phase filters).
inline Signals remove_baseline(const Signals& s, double cutoff_hz = 0.5) { return highpass(s, cutoff_hz, 2); }

/// Linear interpolation of every channel onto `time_ms`, which must lie within the input's time
/// range (`InvalidInput` otherwise, naming both ranges). NaN samples propagate.
Signals interpolate(const Signals& s, const Eigen::VectorXd& time_ms);

/// Resample to `rate_hz` on a uniform axis from the first sample: low-pass at 0.45 x the new rate
/// first when downsampling a uniform signal, then cubic (Catmull-Rom) interpolation. Works on
/// non-uniform input too (e.g. simulation output), without the anti-alias filter.
Signals resample(const Signals& s, double rate_hz);

/// The channels named in `names` (case-insensitive), in that order; `InvalidInput` names the missing ones.
Signals select_channels(const Signals& s, const std::vector<std::string>& names);

}  // namespace cardiotwin::ecg
