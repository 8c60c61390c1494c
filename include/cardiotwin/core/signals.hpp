/// @file signals.hpp
/// @brief `Signals`: named time series on one time axis (ECG leads, probe traces).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cardiotwin/core/types.hpp"

namespace cardiotwin {

/// Named channels sampled on a common, strictly increasing time axis.
struct Signals {
  Eigen::VectorXd time_ms;         ///< `#samples` times in ms, strictly increasing
  std::vector<std::string> names;  ///< `#channels` unique names
  Field values;                    ///< `#samples by #channels`, row-major
  std::string units = "mV";        ///< units of `values`
  nlohmann::json metadata = nlohmann::json::object();  ///< provenance: parameters, source file ...

  std::int64_t num_samples() const noexcept { return time_ms.size(); }
  std::int64_t num_channels() const noexcept { return static_cast<std::int64_t>(names.size()); }
  /// Column of channel `name`; throws `InvalidInput` listing the available names.
  std::int64_t channel_index(const std::string& name) const;
  /// Copy of channel `name`.
  Eigen::VectorXd channel(const std::string& name) const { return values.col(channel_index(name)); }
};

/// Throw `InvalidInput` if sizes disagree, names repeat, or time is not strictly increasing/finite.
void validate_signals(const Signals& s);

}  // namespace cardiotwin
