// Mitchell & Schaeffer 2003: a two-current model of the cardiac action potential.
//
// CC Mitchell, DG Schaeffer. A two-current model for the dynamics of cardiac membrane. Bull Math
// Biol 65:767-793 (2003). Our own implementation of the published equations:
//   du/dt = h u^2 (1 - u) / tau_in - u / tau_out + J_stim
//   dh/dt = (1 - h) / tau_open  if u < v_gate,   -h / tau_close  otherwise
// with u in [0, 1] mapped to Vm = V_rest + (V_peak - V_rest) u, so the returned current is
// I_ion = -(V_peak - V_rest) (J_in + J_out) in mV/ms. Times in ms. h by Rush-Larsen (its steady
// state and time constant are piecewise constant in u). With the defaults, paced at 1 Hz (52 mV/ms
// for 1 ms, dt 0.02 ms), APD90 is 286 ms, the peak +33 mV and dV/dt max 95 mV/ms; tau_close sets
// the APD (130 ms: 252 ms, 170 ms: 320 ms).
#include <cmath>

#include "soa_model.hpp"

namespace cardiotwin::ep::models {
namespace {

enum Param { pTauIn, pTauOut, pTauOpen, pTauClose, pVGate, pVRest, pVPeak, kNumParams };
constexpr double kDefaults[kNumParams] = {0.3, 6.0, 120.0, 150.0, 0.13, -85.0, 40.0};

const IonicModelInfo& ms_info() {
  static const IonicModelInfo info = {
      "mitchell_schaeffer",
      "Mitchell & Schaeffer 2003 two-current model (Bull Math Biol 65:767), u mapped to Vm = V_rest + "
      "(V_peak - V_rest) u; times in ms",
      {"default"},
      {"h"},
      {"tau_in", "tau_out", "tau_open", "tau_close", "v_gate", "V_rest", "V_peak"}};
  return info;
}

void check_range(double v_rest, double v_peak, std::int64_t cell) {
  CARDIOTWIN_CHECK(v_peak > v_rest, InvalidInput, "bad voltage mapping of ionic model",
                   "V_peak > V_rest", "V_peak " << v_peak << " mV, V_rest " << v_rest << " mV",
                   Where({}, "V_peak", cell));
}

class MitchellSchaeffer final : public detail::SoAModel {
 public:
  explicit MitchellSchaeffer(const nlohmann::json& options)
      : SoAModel(ms_info(),
                 {{0, true}, {0, true}, {0, true}, {0, true}, {0, true}, {}, {}},
                 options, {}, 1003.0) {
    check_range(option_or("V_rest", kDefaults[pVRest]), option_or("V_peak", kDefaults[pVPeak]), -1);
  }

  double initial_vm(int cell_type) const override {
    CARDIOTWIN_CHECK(cell_type == 0, InvalidInput, "bad cell type code of model 'mitchell_schaeffer'", "0 (default)",
                     cell_type, Where({}, "cell_type"));
    return option_or("V_rest", kDefaults[pVRest]);
  }

  void step(double dt, const double* vm, double* iion, std::int64_t begin, std::int64_t end) override {
    check_step_range(dt, begin, end);
    double* const h = states_[0].data();
    const double* const tau_in = params_[pTauIn].data();
    const double* const tau_out = params_[pTauOut].data();
    const double* const tau_open = params_[pTauOpen].data();
    const double* const tau_close = params_[pTauClose].data();
    const double* const v_gate = params_[pVGate].data();
    const double* const v_rest = params_[pVRest].data();
    const double* const v_peak = params_[pVPeak].data();
    for (std::int64_t i = begin; i < end; ++i) {
      const double range = v_peak[i] - v_rest[i];
      const double u = (vm[i] - v_rest[i]) / range;
      const double hi = h[i];
      const double j_in = hi * u * u * (1.0 - u) / tau_in[i];
      const double j_out = -u / tau_out[i];
      iion[i] = -range * (j_in + j_out);
      const bool opening = u < v_gate[i];
      const double h_inf = opening ? 1.0 : 0.0;
      const double tau = opening ? tau_open[i] : tau_close[i];
      h[i] = h_inf + (hi - h_inf) * std::exp(-dt / tau);
    }
  }

 protected:
  double default_parameter(int p, int /*cell_type*/) const override { return kDefaults[p]; }
  double initial_state(int /*k*/, int /*cell_type*/) const override { return 1.0; }  // h = 1 at rest
  void parameters_changed(int p) override {
    if (p >= 0 && p != pVRest && p != pVPeak) return;
    for (std::int64_t i = 0; i < num_cells_; ++i) check_range(params_[pVRest][i], params_[pVPeak][i], i);
  }
};

}  // namespace

const IonicModelInfo& info_mitchell_schaeffer() { return ms_info(); }
std::unique_ptr<IonicModel> make_mitchell_schaeffer(const nlohmann::json& options) {
  return std::make_unique<MitchellSchaeffer>(options);
}

}  // namespace cardiotwin::ep::models
