/// @file features.hpp
/// @brief ECG features (QRS, QT, QTc, T wave, R/S amplitudes, electrical axis) and comparisons.
///
/// Measured records are filtered (baseline high-pass, low-pass), beats are detected on the
/// summed squared slopes of all leads, aligned, and reduced to a median beat, which is then
/// delineated; a record with a single beat (a simulation) is delineated as it is.
/// - QRS onset/offset: where the spatial velocity (root sum of squared lead slopes) rises above /
///   falls below `qrs_threshold` x its QRS peak and stays there for `hold_ms`.
/// - Isoelectric level per lead: the median over the 20 ms ending 5 ms before the QRS onset (or
///   the first sample when the record starts within that time).
/// - R amplitude: largest positive deflection in the QRS; S: largest negative deflection after R.
/// - T peak: the largest deflection (per lead) or spatial magnitude (global) between QRS offset +
///   `t_search_start_ms` and the end of the beat; T end: the tangent at the steepest return towards
///   the isoelectric level meets that level.
/// - QT = T end - QRS onset; QTc Bazett QT / sqrt(RR), Fridericia QT / RR^(1/3), RR in s.
/// - Electrical axis: from the net QRS areas of I and aVF in the hexaxial frame,
///   atan2(2 aVF / sqrt(3), I), in degrees (normal -30 ... +90).
#pragma once

#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cardiotwin/core/signals.hpp"

namespace cardiotwin::ecg {

/// Options of `ecg_features` (defaults in one place; JSON with validation).
struct FeatureOptions {
  static constexpr int kVersion = 1;
  bool filter = true;                 ///< high- and low-pass the input first (measured ECGs)
  double highpass_hz = 0.5;           ///< baseline wander cutoff
  double lowpass_hz = 40;             ///< noise cutoff
  double qrs_threshold = 0.03;        ///< fraction of the peak spatial velocity that bounds the QRS
  double hold_ms = 8;                 ///< the spatial velocity must stay beyond the threshold this long
  double t_search_start_ms = 60;      ///< T wave search starts this long after the QRS offset
  double min_rr_ms = 300;             ///< beats closer than this are one beat
  /// RR interval (ms) for QTc when the record has a single beat (a simulation); NaN: no QTc.
  double rr_ms = std::numeric_limits<double>::quiet_NaN();

  nlohmann::json to_json() const;
  static FeatureOptions from_json(const nlohmann::json& j);
  void validate() const;
};

/// Features of one lead (times in ms on the time axis of `EcgFeatures::beat`, amplitudes in mV
/// relative to the lead's isoelectric level; NaN when not found).
struct LeadFeatures {
  std::string name;
  double baseline_mv = 0;          ///< isoelectric level
  double qrs_onset_ms = 0, qrs_offset_ms = 0, qrs_duration_ms = 0;  ///< from this lead's own slope
  double r_amplitude_mv = 0;       ///< >= 0
  double s_amplitude_mv = 0;       ///< <= 0
  double qrs_area_mv_ms = 0;       ///< net area between the global QRS onset and offset
  double t_peak_ms = 0, t_amplitude_mv = 0, t_end_ms = 0;
  double qt_ms = 0;                ///< this lead's T end - global QRS onset
};

/// Global and per-lead features.
struct EcgFeatures {
  int num_beats = 0;               ///< beats detected (1 for a single-beat record)
  std::vector<double> beat_times_ms;  ///< fiducial (QRS energy peak) of each detected beat, input time axis
  double rr_ms = 0;                ///< median RR (or `FeatureOptions::rr_ms` for one beat; NaN if unknown)
  double heart_rate_bpm = 0;
  double qrs_onset_ms = 0, qrs_offset_ms = 0, qrs_duration_ms = 0;
  double t_peak_ms = 0, t_end_ms = 0;
  double qt_ms = 0, qtc_bazett_ms = 0, qtc_fridericia_ms = 0;
  double axis_deg = 0;             ///< NaN without leads I and aVF (or II and III to derive them)
  std::vector<LeadFeatures> leads;
  Signals beat;                    ///< the beat that was delineated (median beat, or the filtered record)

  /// Everything but `beat`, NaN as null.
  nlohmann::json to_json() const;
  const LeadFeatures& lead(const std::string& name) const;
};

/// Features of a 12-lead (or any multi-lead) ECG in mV. A non-uniform time axis is resampled
/// to 1 kHz first. Throws `InvalidInput` for records shorter than 100 ms or without a QRS.
EcgFeatures ecg_features(const Signals& ecg, const FeatureOptions& options = {});

/// How two ECGs compare, after shifting `other` in time to best match `reference`.
struct EcgComparison {
  double shift_ms = 0;                    ///< other(t + shift_ms) is compared with reference(t)
  std::vector<std::string> leads;         ///< leads present in both
  std::vector<double> correlation;        ///< Pearson correlation per lead (NaN for a flat lead)
  std::vector<double> rmse_mv;            ///< root mean square difference per lead
  double mean_correlation = 0, mean_rmse_mv = 0;
  std::int64_t num_samples = 0;           ///< samples compared per lead
  nlohmann::json to_json() const;
};

/// Compare on a common grid of `step_ms` over the overlap of the time axes, trying shifts of
/// `other` within +-`max_shift_ms` and keeping the one with the highest mean correlation. Leads
/// are matched by name ignoring case. Throws `InvalidInput` when no lead is common, the units
/// differ, or the time axes overlap by fewer than 10 samples.
EcgComparison compare_ecgs(const Signals& reference, const Signals& other, double max_shift_ms = 100,
                           double step_ms = 1.0);

}  // namespace cardiotwin::ecg
