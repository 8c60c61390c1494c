// Aliev & Panfilov 1996: a simple two-variable model of cardiac excitation.
//
// RR Aliev, AV Panfilov. A simple two-variable model of cardiac excitation. Chaos Solitons
// Fractals 7:293-301 (1996). Our own implementation of the published equations, in dimensionless
// time t':
//   du/dt' = k u (1 - u)(u - a) - u v + J_stim
//   dv/dt' = eps(u, v) (-v - k u (u - a - 1)),   eps = eps0 + mu1 v / (u + mu2)
// Time scaling: t[ms] = time_scale_ms t' (default 12.9 ms, the common choice). time_scale_ms
// stretches every duration: with the defaults, paced at 1 Hz (52 mV/ms for 1 ms, dt 0.02 ms), the
// first action potential has APD90 344 ms and the paced steady state 265 ms; time_scale_ms = 15.2
// gives 300 ms at 1 Hz. u is mapped to Vm = V_rest + (V_peak - V_rest) u, so
// I_ion = -(V_peak - V_rest) / time_scale_ms (k u (1-u)(u-a) - u v)
// in mV/ms. v has no gating form and is advanced by forward Euler.
#include <cmath>

#include "soa_model.hpp"

namespace cardiotwin::ep::models {
namespace {

enum Param { pK, pA, pEps0, pMu1, pMu2, pTimeScale, pVRest, pVPeak, kNumParams };
constexpr double kDefaults[kNumParams] = {8.0, 0.15, 0.002, 0.2, 0.3, 12.9, -85.0, 40.0};

const IonicModelInfo& ap_info() {
  static const IonicModelInfo info = {
      "aliev_panfilov",
      "Aliev & Panfilov 1996 two-variable model (Chaos Solitons Fractals 7:293); t[ms] = time_scale_ms t', "
      "u mapped to Vm = V_rest + (V_peak - V_rest) u",
      {"default"},
      {"v"},
      {"k", "a", "eps0", "mu1", "mu2", "time_scale_ms", "V_rest", "V_peak"}};
  return info;
}

void check_range(double v_rest, double v_peak, std::int64_t cell) {
  CARDIOTWIN_CHECK(v_peak > v_rest, InvalidInput, "bad voltage mapping of ionic model",
                   "V_peak > V_rest", "V_peak " << v_peak << " mV, V_rest " << v_rest << " mV",
                   Where({}, "V_peak", cell));
}

class AlievPanfilov final : public detail::SoAModel {
 public:
  explicit AlievPanfilov(const nlohmann::json& options)
      : SoAModel(ap_info(),
                 {{0, true}, {0, true}, {0, false}, {0, false}, {0, true}, {0, true}, {}, {}},
                 options, {}, 1096.0) {
    check_range(option_or("V_rest", kDefaults[pVRest]), option_or("V_peak", kDefaults[pVPeak]), -1);
  }

  double initial_vm(int cell_type) const override {
    CARDIOTWIN_CHECK(cell_type == 0, InvalidInput, "bad cell type code of model 'aliev_panfilov'", "0 (default)",
                     cell_type, Where({}, "cell_type"));
    return option_or("V_rest", kDefaults[pVRest]);
  }

  void step(double dt, const double* vm, double* iion, std::int64_t begin, std::int64_t end) override {
    check_step_range(dt, begin, end);
    double* const v = states_[0].data();
    const double* const k = params_[pK].data();
    const double* const a = params_[pA].data();
    const double* const eps0 = params_[pEps0].data();
    const double* const mu1 = params_[pMu1].data();
    const double* const mu2 = params_[pMu2].data();
    const double* const time_scale = params_[pTimeScale].data();
    const double* const v_rest = params_[pVRest].data();
    const double* const v_peak = params_[pVPeak].data();
    for (std::int64_t i = begin; i < end; ++i) {
      const double range = v_peak[i] - v_rest[i];
      const double u = (vm[i] - v_rest[i]) / range;
      const double vi = v[i];
      const double rate = 1.0 / time_scale[i];  // dimensionless time per ms
      iion[i] = -range * rate * (k[i] * u * (1.0 - u) * (u - a[i]) - u * vi);
      const double eps = eps0[i] + mu1[i] * vi / (u + mu2[i]);
      v[i] = vi + dt * rate * eps * (-vi - k[i] * u * (u - a[i] - 1.0));
    }
  }

 protected:
  double default_parameter(int p, int /*cell_type*/) const override { return kDefaults[p]; }
  double initial_state(int /*k*/, int /*cell_type*/) const override { return 0.0; }
  void parameters_changed(int p) override {
    if (p >= 0 && p != pVRest && p != pVPeak) return;
    for (std::int64_t i = 0; i < num_cells_; ++i) check_range(params_[pVRest][i], params_[pVPeak][i], i);
  }
};

}  // namespace

const IonicModelInfo& info_aliev_panfilov() { return ap_info(); }
std::unique_ptr<IonicModel> make_aliev_panfilov(const nlohmann::json& options) {
  return std::make_unique<AlievPanfilov>(options);
}

}  // namespace cardiotwin::ep::models
