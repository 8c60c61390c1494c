#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/ecg/features.hpp"
#include "cardiotwin/ecg/leads.hpp"
#include "cardiotwin/ecg/processing.hpp"
#include "cardiotwin/ecg/wfdb.hpp"
#include "../test_util.hpp"

using namespace cardiotwin;
using namespace cardiotwin::ecg;

namespace {

constexpr double kPi = 3.14159265358979323846;

double gauss(double t, double c, double w) { return std::exp(-0.5 * (t - c) * (t - c) / (w * w)); }

// A synthetic heart vector: frontal-plane QRS along `axis_deg` (a biphasic R-S complex about
// `qrs_ms` long starting at `onset`) and a T wave along the same axis. Chest leads are scaled
// copies. Limb leads follow the hexaxial projections, so the axis is known exactly.
Signals synthetic_ecg(double duration_ms, double dt, double axis_deg, const std::vector<double>& onsets,
                      double noise_mv = 0, double wander_mv = 0) {
  Signals s;
  s.names = twelve_lead_names();
  const auto n = static_cast<Eigen::Index>(std::floor(duration_ms / dt)) + 1;
  s.time_ms = Eigen::VectorXd::LinSpaced(n, 0, static_cast<double>(n - 1) * dt);
  s.values.resize(n, 12);
  std::mt19937 rng(11);
  std::normal_distribution<double> normal(0, noise_mv > 0 ? noise_mv : 1);
  const double th = axis_deg * kPi / 180;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double t = s.time_ms[i];
    double r = 0, sw = 0, tw = 0;
    for (double o : onsets) {
      // R at onset + 40 ms, a small S after; T at onset + 280 ms.
      r += gauss(t, o + 40, 9);
      sw += gauss(t, o + 70, 7);
      tw += 0.35 * gauss(t, o + 280, 45);
    }
    const double q = 1.5 * r - 0.3 * sw;
    const double h = q + tw;
    const double I = h * std::cos(th), II = h * std::cos(th - kPi / 3), III = II - I;
    const double wander = wander_mv * std::sin(2 * kPi * 0.2 * t / 1000);
    double v[12] = {I, II, III, -(I + II) / 2, (I - III) / 2, (II + III) / 2,
                    0.2 * r - 1.5 * sw + 0.1 * tw, 0.4 * r - 1.2 * sw + 0.3 * tw, 0.4 * h, 0.9 * h, 1.1 * h, 1.0 * h};
    for (int c = 0; c < 12; ++c) s.values(i, c) = v[c] + wander + (noise_mv > 0 ? normal(rng) : 0);
  }
  return s;
}

}  // namespace

TEST_CASE("zero-phase filters: responses at the cutoff, baseline removal, errors", "[ecg][processing]") {
  Signals s;
  s.names = {"a", "b"};
  const double dt = 2;  // 500 Hz
  s.time_ms = Eigen::VectorXd::LinSpaced(5000, 0, 4999 * dt);
  s.values.resize(5000, 2);
  for (Eigen::Index i = 0; i < 5000; ++i) {
    const double t = s.time_ms[i] / 1000;
    s.values(i, 0) = std::sin(2 * kPi * 40 * t);                    // at the low-pass cutoff
    s.values(i, 1) = 2.0 * std::sin(2 * kPi * 0.1 * t) + std::sin(2 * kPi * 10 * t);  // wander + signal
  }
  const Signals lp = lowpass(s, 40, 4);
  // Forward-backward: |H|^2 = 1/2 at the cutoff; look at the middle (no edge effects).
  CHECK(lp.values.col(0).segment(1000, 3000).cwiseAbs().maxCoeff() == Approx(0.5).margin(0.01));
  CHECK(lp.values.col(1).segment(1000, 3000).maxCoeff() == Approx(s.values.col(1).segment(1000, 3000).maxCoeff()).margin(0.02));
  const Signals hp = remove_baseline(s, 0.5);
  Eigen::VectorXd clean(5000);
  for (Eigen::Index i = 0; i < 5000; ++i) clean[i] = std::sin(2 * kPi * 10 * s.time_ms[i] / 1000);
  CHECK((hp.values.col(1) - clean).segment(500, 4000).cwiseAbs().maxCoeff() < 0.05);
  CHECK(hp.metadata.at("filters").size() == 1);
  CHECK_THROWS_WITH(lowpass(s, 300), Catch::Contains("half the sampling rate"));
  Signals nu = s;
  nu.time_ms[10] += 0.5;
  CHECK_THROWS_WITH(lowpass(nu, 40), Catch::Contains("non-uniform time axis") && Catch::Contains("sample 10"));
}

TEST_CASE("resampling and interpolation", "[ecg][processing]") {
  Signals s;
  s.names = {"x"};
  s.time_ms = Eigen::VectorXd::LinSpaced(1001, 0, 2000);  // 500 Hz
  s.values = (s.time_ms.array() * 2 * kPi * 5 / 1000).sin().matrix();
  const Signals r = resample(s, 1000);
  CHECK(r.num_samples() == 2001);
  CHECK(r.time_ms[1] == Approx(1.0));
  Eigen::VectorXd exact = (r.time_ms.array() * 2 * kPi * 5 / 1000).sin().matrix();
  CHECK((r.values.col(0) - exact).segment(100, 1800).cwiseAbs().maxCoeff() < 1e-3);
  const Signals d = resample(s, 250);
  CHECK(d.num_samples() == 501);
  exact = (d.time_ms.array() * 2 * kPi * 5 / 1000).sin().matrix();
  CHECK((d.values.col(0) - exact).segment(50, 400).cwiseAbs().maxCoeff() < 1e-2);
  // Non-uniform input (simulation output) resamples without the anti-alias filter.
  Signals nu;
  nu.names = {"x"};
  nu.time_ms.resize(4);
  nu.time_ms << 0, 1, 3, 4;
  nu.values.resize(4, 1);
  nu.values << 0, 1, 3, 4;
  const Signals u = resample(nu, 1000);
  CHECK(u.values(2, 0) == Approx(2.0));
  const Signals i = interpolate(nu, Eigen::Vector2d(0.5, 3.5));
  CHECK(i.values(1, 0) == Approx(3.5));
  CHECK_THROWS_WITH(interpolate(nu, Eigen::Vector2d(0.5, 5)), Catch::Contains("mismatched time axes"));
  CHECK_THROWS_WITH(select_channels(nu, {"y"}), Catch::Contains("channels y"));
}

TEST_CASE("features of a synthetic ECG with a known axis, single beat and noisy rhythm", "[ecg][features]") {
  for (double axis : {-20.0, 45.0, 75.0}) {
    const Signals one = synthetic_ecg(700, 1.0, axis, {100});
    FeatureOptions opt;
    opt.filter = false;
    opt.rr_ms = 1000;
    const EcgFeatures f = ecg_features(one, opt);
    CHECK(f.num_beats == 1);
    CHECK(f.axis_deg == Approx(axis).margin(0.5));
    // The R-S complex spans about 100 +- 3 widths around 40 ... 70 ms.
    CHECK(f.qrs_onset_ms > 100);
    CHECK(f.qrs_onset_ms < 125);
    CHECK(f.qrs_offset_ms > 180);
    CHECK(f.qrs_offset_ms < 200);
    CHECK(f.t_peak_ms == Approx(380).margin(3));
    CHECK(f.qt_ms > 300);
    CHECK(f.qt_ms < 420);
    CHECK(f.qtc_bazett_ms == Approx(f.qt_ms));
    const LeadFeatures& v5 = f.lead("V5");
    CHECK(v5.r_amplitude_mv == Approx(1.1 * 1.5).epsilon(0.03));
    CHECK(v5.t_amplitude_mv == Approx(1.1 * 0.35).epsilon(0.05));
    CHECK(f.lead("V1").s_amplitude_mv == Approx(-1.5).epsilon(0.05));
    CHECK(f.lead("V1").r_amplitude_mv == Approx(0.2).epsilon(0.1));
    // A single beat without a given RR has no QTc.
    opt.rr_ms = std::numeric_limits<double>::quiet_NaN();
    CHECK(ecg_features(one, opt).to_json().at("qtc_bazett_ms").is_null());
  }
  // Ten seconds at 75 bpm with noise and baseline wander, 500 Hz: the median beat gives the same.
  std::vector<double> onsets;
  for (double o = 150; o < 9500; o += 800) onsets.push_back(o);
  const Signals rhythm = synthetic_ecg(10000, 2.0, 60, onsets, 0.02, 0.3);
  const EcgFeatures f = ecg_features(rhythm);
  CHECK(f.num_beats == static_cast<int>(onsets.size()));
  CHECK(f.rr_ms == Approx(800).margin(2));
  CHECK(f.heart_rate_bpm == Approx(75).margin(0.3));
  CHECK(f.axis_deg == Approx(60).margin(3));
  const EcgFeatures clean = ecg_features(synthetic_ecg(700, 2.0, 60, {100}), [] {
    FeatureOptions o;
    o.filter = false;
    return o;
  }());
  CHECK(f.qrs_duration_ms == Approx(clean.qrs_duration_ms).margin(12));
  CHECK(f.qt_ms == Approx(clean.qt_ms).margin(20));
  CHECK(f.qtc_bazett_ms == Approx(f.qt_ms / std::sqrt(0.8)).epsilon(1e-9));
  CHECK(f.qtc_fridericia_ms == Approx(f.qt_ms / std::cbrt(0.8)).epsilon(1e-9));
  CHECK(f.beat.metadata.at("median_beat") == true);
  // Options round trip and validation.
  CHECK(FeatureOptions::from_json(FeatureOptions{}.to_json()).qrs_threshold == FeatureOptions{}.qrs_threshold);
  CHECK_THROWS_WITH(FeatureOptions::from_json({{"qrs_treshold", 0.1}}), Catch::Contains("unknown option"));
  Signals flat = rhythm;
  flat.values.setZero();
  CHECK_THROWS_WITH(ecg_features(flat), Catch::Contains("no QRS"));
}

TEST_CASE("features of the two PTB-XL records are in the normal adult range", "[ecg][features]") {
  struct Expect {
    const char* record;
    double bpm;
  };
  for (const Expect e : {Expect{"HR06004", 71}, Expect{"HR06007", 54}}) {
    const EcgFeatures f = ecg_features(read_wfdb(test::test_data(std::string("ecg/ptbxl/") + e.record)));
    INFO(e.record << ": " << f.to_json().dump());
    CHECK(f.heart_rate_bpm == Approx(e.bpm).margin(2));
    // Mason et al. 2007: QRS 69-109 ms (2nd-98th percentile); QTc Bazett 361-457 ms.
    CHECK(f.qrs_duration_ms >= 69);
    CHECK(f.qrs_duration_ms <= 109);
    CHECK(f.qtc_bazett_ms >= 340);
    CHECK(f.qtc_bazett_ms <= 457);
    // Normal axis (-30 ... +90 degrees; young adults often up to about +100).
    CHECK(f.axis_deg >= -30);
    CHECK(f.axis_deg <= 100);
    CHECK(f.lead("II").r_amplitude_mv > 0.8);
    CHECK(f.lead("aVR").t_amplitude_mv < 0);  // T inverted in aVR, upright in II
    CHECK(f.lead("II").t_amplitude_mv > 0);
  }
}

TEST_CASE("comparing ECGs: alignment, correlation, RMSE and mismatched inputs", "[ecg][features]") {
  const Signals a = synthetic_ecg(600, 1.0, 60, {100});
  Signals b = synthetic_ecg(600, 1.0, 60, {117});
  EcgComparison c = compare_ecgs(a, b);
  CHECK(c.shift_ms == Approx(17));
  CHECK(c.mean_correlation == Approx(1.0).margin(1e-9));
  CHECK(c.mean_rmse_mv < 1e-9);
  CHECK(c.leads.size() == 12);
  b.values *= 2;
  c = compare_ecgs(a, b);
  CHECK(c.mean_correlation == Approx(1.0).margin(1e-9));
  CHECK(c.mean_rmse_mv > 0.01);
  CHECK(c.to_json().at("leads").at("V5").at("correlation") == Approx(1.0));
  // Different sampling: b at 2 ms, names in another case.
  Signals d = synthetic_ecg(600, 2.0, 60, {100});
  d.names[3] = "AVR";
  c = compare_ecgs(a, d);
  CHECK(c.shift_ms == 0);
  CHECK(c.mean_correlation > 0.999);
  Signals e = a;
  e.names = {"x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12"};
  CHECK_THROWS_WITH(compare_ecgs(a, e), Catch::Contains("no common leads"));
  Signals f = a;
  f.time_ms.array() += 5000;
  CHECK_THROWS_WITH(compare_ecgs(a, f), Catch::Contains("mismatched time axes"));
  Signals g = a;
  g.units = "uV";
  CHECK_THROWS_WITH(compare_ecgs(a, g), Catch::Contains("different units"));
}
