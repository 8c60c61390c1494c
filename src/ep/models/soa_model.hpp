// Private helper shared by the ionic models in this folder (not installed; CMake registers only the
// *.cpp files here as models). `SoAModel` keeps the bookkeeping every model needs out of the model
// files: one contiguous array per state variable and per parameter, options parsing, per-cell
// parameters, checkpointing. A model supplies its defaults, its initial state and `step()`.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/ep/ionic_model.hpp"

namespace cardiotwin::ep::models::detail {

/// Valid range of a parameter: value > lower (strict) or value >= lower. Always finite.
struct ParameterBound {
  double lower = -std::numeric_limits<double>::infinity();
  bool strict = false;
};

/// "a, b, c" for error messages.
inline std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

class SoAModel : public IonicModel {
 public:
  /// `bounds` has one entry per `info.parameter_names`. `switches` are option keys that are not
  /// parameters (the derived model reads them from `options` itself). `save_tag` identifies the
  /// model in checkpoints so that one model's data is not restored into another.
  SoAModel(const IonicModelInfo& info, std::vector<ParameterBound> bounds, const nlohmann::json& options,
           std::vector<std::string> switches, double save_tag)
      : info_(info), bounds_(std::move(bounds)), switches_(std::move(switches)), save_tag_(save_tag) {
    CARDIOTWIN_CHECK(options.is_null() || options.is_object(), InvalidInput, "bad ionic model options",
                     "a JSON object of parameter values and switches", options.type_name(),
                     Where({}, "ionic_options"));
    if (options.is_null()) return;
    for (const auto& [key, value] : options.items()) {
      if (std::find(switches_.begin(), switches_.end(), key) != switches_.end()) continue;
      const int p = find_parameter(key);
      if (p < 0) {
        std::vector<std::string> known = info_.parameter_names;
        known.insert(known.end(), switches_.begin(), switches_.end());
        CARDIOTWIN_CHECK(false, InvalidInput, "unknown option of ionic model '" + info_.name + "'",
                         "one of: " << join(known), "'" << key << "'", Where({}, "ionic_options." + key));
      }
      CARDIOTWIN_CHECK(value.is_number(), InvalidInput, "ionic model parameter has the wrong type", "a number",
                       value.type_name() << " " << value.dump(), Where({}, "ionic_options." + key));
      check_value(p, value.get<double>(), -1);
      option_values_.emplace_back(p, value.get<double>());
    }
  }

  const IonicModelInfo& info() const override { return info_; }

  void init(std::int64_t n, const std::vector<std::uint8_t>& cell_type = {}) override {
    CARDIOTWIN_CHECK(n >= 0, InvalidInput, "bad cell count", ">= 0", n, Where({}, "num_cells"));
    CARDIOTWIN_CHECK(cell_type.empty() || static_cast<std::int64_t>(cell_type.size()) == n, InvalidInput,
                     "cell type array has the wrong size", n << " codes (one per cell) or none", cell_type.size(),
                     Where({}, "cell_type"));
    const auto ntypes = info_.cell_types.size();
    for (std::size_t i = 0; i < cell_type.size(); ++i)
      CARDIOTWIN_CHECK(cell_type[i] < ntypes, InvalidInput, "bad cell type code of model '" + info_.name + "'",
                       "0.." << ntypes - 1 << " (" << join(info_.cell_types) << ")", int(cell_type[i]),
                       Where({}, "cell_type", static_cast<std::int64_t>(i)));
    num_cells_ = n;
    const auto un = static_cast<std::size_t>(n);
    cell_type_ = cell_type.empty() ? std::vector<std::uint8_t>(un, 0) : cell_type;
    states_.assign(info_.state_names.size(), std::vector<double>(un));
    params_.assign(info_.parameter_names.size(), std::vector<double>(un));
    for (std::size_t k = 0; k < states_.size(); ++k)
      for (std::size_t i = 0; i < un; ++i) states_[k][i] = initial_state(static_cast<int>(k), cell_type_[i]);
    for (std::size_t p = 0; p < params_.size(); ++p)
      for (std::size_t i = 0; i < un; ++i) params_[p][i] = default_parameter(static_cast<int>(p), cell_type_[i]);
    for (const auto& [p, v] : option_values_) std::fill(params_[p].begin(), params_[p].end(), v);
    parameters_changed(-1);
  }

  void set_parameter(const std::string& name, double value) override {
    const int p = parameter_index(name);
    check_value(p, value, -1);
    assign(p, std::vector<double>(static_cast<std::size_t>(num_cells_), value));
  }

  void set_parameter(const std::string& name, const std::vector<double>& values) override {
    const int p = parameter_index(name);
    CARDIOTWIN_CHECK(static_cast<std::int64_t>(values.size()) == num_cells_, InvalidInput,
                     "per-cell parameter array has the wrong size", num_cells_ << " values (one per cell)",
                     values.size(), Where({}, name));
    for (std::size_t i = 0; i < values.size(); ++i) check_value(p, values[i], static_cast<std::int64_t>(i));
    assign(p, values);
  }

  double parameter(const std::string& name, std::int64_t cell = 0) const override {
    const int p = parameter_index(name);
    CARDIOTWIN_CHECK(cell >= 0 && cell < num_cells_, InvalidInput, "cell index out of range",
                     "0.." << num_cells_ - 1 << " (call init first)", cell, Where({}, name, cell));
    return params_[p][static_cast<std::size_t>(cell)];
  }

  const double* state(int k) const override { return states_.at(check_state(k)).data(); }
  double* state(int k) override { return states_.at(check_state(k)).data(); }

  /// Layout: [tag, format version, n, #states, #parameters, states (state-major), parameters
  /// (parameter-major), cell type codes].
  std::vector<double> save() const override {
    std::vector<double> d = {save_tag_, kSaveVersion, double(num_cells_), double(states_.size()),
                             double(params_.size())};
    d.reserve(5 + (states_.size() + params_.size() + 1) * static_cast<std::size_t>(num_cells_));
    for (const auto& s : states_) d.insert(d.end(), s.begin(), s.end());
    for (const auto& p : params_) d.insert(d.end(), p.begin(), p.end());
    for (const auto c : cell_type_) d.push_back(c);
    return d;
  }

  void restore(const std::vector<double>& d) override {
    CARDIOTWIN_CHECK(d.size() >= 5 && d[0] == save_tag_ && d[1] == kSaveVersion, InvalidInput,
                     "checkpoint is not from this ionic model", "data saved by model '" << info_.name << "'",
                     "another model or format", Where({}, "ionic_state"));
    CARDIOTWIN_CHECK(d[2] == double(num_cells_) && d[3] == double(states_.size()) &&
                         d[4] == double(params_.size()),
                     InvalidInput, "checkpoint does not match the model's cells",
                     num_cells_ << " cells (init the model as when it was saved)", d[2] << " cells",
                     Where({}, "ionic_state"));
    const auto n = static_cast<std::size_t>(num_cells_);
    const std::size_t expected = 5 + (states_.size() + params_.size() + 1) * n;
    CARDIOTWIN_CHECK(d.size() == expected, InvalidInput, "checkpoint has the wrong size", expected, d.size(),
                     Where({}, "ionic_state"));
    const double* types = d.data() + 5 + (states_.size() + params_.size()) * n;
    for (std::size_t i = 0; i < n; ++i)
      CARDIOTWIN_CHECK(types[i] == double(cell_type_[i]), InvalidInput, "checkpoint has other cell types",
                       int(cell_type_[i]), types[i], Where({}, "cell_type", static_cast<std::int64_t>(i)));
    const double* src = d.data() + 5;
    for (auto& s : states_) src = copy_out(src, s);
    for (auto& p : params_) src = copy_out(src, p);
    parameters_changed(-1);
  }

 protected:
  /// Default of parameter `p` in a cell of type `cell_type`.
  virtual double default_parameter(int p, int cell_type) const = 0;
  /// Initial value of state `k` in a cell of type `cell_type`.
  virtual double initial_state(int k, int cell_type) const = 0;
  /// Called after parameter `p` (-1: all) changed, to update derived per-cell data or to check
  /// consistency between parameters (throw `InvalidInput`; the change is then undone).
  virtual void parameters_changed(int /*p*/) {}

  /// The value of parameter `name` given in the options, or `fallback`.
  double option_or(const std::string& name, double fallback) const {
    const int p = find_parameter(name);
    for (const auto& [q, v] : option_values_)
      if (q == p) return v;
    return fallback;
  }
  /// Whether switch `key` is in `options`, with its value read into `out` (type checked).
  template <class T>
  static bool read_switch(const nlohmann::json& options, const std::string& key, T& out) {
    if (!options.is_object()) return false;
    const auto it = options.find(key);
    if (it == options.end()) return false;
    try {
      out = it->template get<T>();
    } catch (const nlohmann::json::exception&) {
      CARDIOTWIN_CHECK(false, InvalidInput, "ionic model switch has the wrong type",
                       (std::is_same_v<T, bool> ? "a boolean" : "a number"), it->type_name() << " " << it->dump(),
                       Where({}, "ionic_options." + key));
    }
    return true;
  }
  void check_step_range(double dt, std::int64_t begin, std::int64_t end) const {
    CARDIOTWIN_CHECK(dt > 0 && std::isfinite(dt), InvalidInput, "bad ionic time step", "dt > 0 ms", dt,
                     Where({}, "dt_ms"));
    CARDIOTWIN_CHECK(begin >= 0 && begin <= end && end <= num_cells_, InvalidInput, "bad cell range",
                     "0 <= begin <= end <= " << num_cells_, "[" << begin << ", " << end << ")",
                     Where({}, "cells"));
  }

  const IonicModelInfo& info_;
  std::vector<std::vector<double>> states_;  ///< [state][cell]
  std::vector<std::vector<double>> params_;  ///< [parameter][cell]
  std::vector<std::uint8_t> cell_type_;      ///< [cell]

 private:
  static constexpr double kSaveVersion = 1;

  int find_parameter(const std::string& name) const {
    const auto& names = info_.parameter_names;
    const auto it = std::find(names.begin(), names.end(), name);
    return it == names.end() ? -1 : static_cast<int>(it - names.begin());
  }
  int parameter_index(const std::string& name) const {
    const int p = find_parameter(name);
    CARDIOTWIN_CHECK(p >= 0, InvalidInput, "unknown parameter of ionic model '" + info_.name + "'",
                     "one of: " << join(info_.parameter_names), "'" << name << "'", Where({}, "parameter"));
    return p;
  }
  int check_state(int k) const {
    CARDIOTWIN_CHECK(k >= 0 && k < static_cast<int>(states_.size()), InvalidInput, "state index out of range",
                     "0.." << states_.size() - 1 << " (" << join(info_.state_names) << ")", k, Where({}, "state"));
    return k;
  }
  void check_value(int p, double v, std::int64_t cell) const {
    const auto& b = bounds_[static_cast<std::size_t>(p)];
    const bool ok = std::isfinite(v) && (b.strict ? v > b.lower : v >= b.lower);
    if (ok) return;
    std::ostringstream range;
    range << "a finite number";
    if (std::isfinite(b.lower)) range << (b.strict ? " > " : " >= ") << b.lower;
    CARDIOTWIN_CHECK(false, InvalidInput, "bad value of parameter '" + info_.parameter_names[p] + "'",
                     range.str(), v, Where({}, info_.parameter_names[p], cell));
  }
  void assign(int p, std::vector<double> values) {
    std::swap(params_[p], values);  // `values` now holds the old ones
    try {
      parameters_changed(p);
    } catch (...) {
      std::swap(params_[p], values);
      parameters_changed(p);
      throw;
    }
  }
  static const double* copy_out(const double* src, std::vector<double>& dst) {
    std::copy(src, src + dst.size(), dst.begin());
    return src + dst.size();
  }

  std::vector<ParameterBound> bounds_;
  std::vector<std::string> switches_;
  double save_tag_;
  std::vector<std::pair<int, double>> option_values_;  ///< parameters given in the options
};

}  // namespace cardiotwin::ep::models::detail
