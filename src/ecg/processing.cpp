#include "cardiotwin/ecg/processing.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/ecg/leads.hpp"

namespace cardiotwin::ecg {

namespace {

constexpr double kPi = 3.14159265358979323846;

// y = b0 x + z1; z1 = b1 x - a1 y + z2; z2 = b2 x - a2 y (transposed direct form II).
struct Biquad {
  double b0, b1, b2, a1, a2;
  double gain_at_dc() const { return (b0 + b1 + b2) / (1 + a1 + a2); }
};

// Butterworth sections from the bilinear transform with prewarping: second-order sections with
// Q_k = 1 / (2 sin((2k + 1) pi / (2N))) and one first-order section for odd N.
std::vector<Biquad> butterworth(int order, double cutoff_hz, double rate_hz, bool high) {
  const double K = std::tan(kPi * cutoff_hz / rate_hz);
  std::vector<Biquad> s;
  for (int k = 0; k < order / 2; ++k) {
    const double q = 1.0 / (2 * std::sin((2 * k + 1) * kPi / (2 * order)));
    const double norm = 1 / (1 + K / q + K * K);
    const double a1 = 2 * (K * K - 1) * norm, a2 = (1 - K / q + K * K) * norm;
    if (high) s.push_back({norm, -2 * norm, norm, a1, a2});
    else s.push_back({K * K * norm, 2 * K * K * norm, K * K * norm, a1, a2});
  }
  if (order % 2) {
    const double a1 = (K - 1) / (K + 1);
    if (high) s.push_back({1 / (1 + K), -1 / (1 + K), 0, a1, 0});
    else s.push_back({K / (1 + K), K / (1 + K), 0, a1, 0});
  }
  return s;
}

// Filter x in place, starting each section in the steady state of its first input.
void run_sections(const std::vector<Biquad>& secs, std::vector<double>& x) {
  if (x.empty()) return;
  for (const auto& f : secs) {
    const double x0 = x[0], y0 = f.gain_at_dc() * x0;
    double z1 = y0 - f.b0 * x0, z2 = f.b2 * x0 - f.a2 * y0;
    for (auto& v : x) {
      const double in = v, y = f.b0 * in + z1;
      z1 = f.b1 * in - f.a1 * y + z2;
      z2 = f.b2 * in - f.a2 * y;
      v = y;
    }
  }
}

Signals filtfilt(const Signals& s, double cutoff_hz, int order, bool high) {
  validate_signals(s);
  const double dt = uniform_step_ms(s.time_ms);
  const double rate = 1000.0 / dt;
  CARDIOTWIN_CHECK(order >= 1 && order <= 10, InvalidInput, "bad filter order", "1 ... 10", order, Where({}, "order"));
  CARDIOTWIN_CHECK(cutoff_hz > 0 && cutoff_hz < 0.5 * rate, InvalidInput, "bad filter cutoff",
                   "0 < cutoff < " << 0.5 * rate << " Hz (half the sampling rate)", cutoff_hz << " Hz",
                   Where({}, "cutoff_hz"));
  const auto secs = butterworth(order, cutoff_hz, rate, high);
  const std::int64_t n = s.num_samples();
  // Odd reflection of about three time constants of the slowest pole, at most the signal length.
  const std::int64_t pad = std::min<std::int64_t>(n - 1, std::max<std::int64_t>(3 * order, std::llround(3 * rate / cutoff_hz)));
  Signals out = s;
  std::vector<double> x(static_cast<std::size_t>(n + 2 * pad));
  for (std::int64_t c = 0; c < s.num_channels(); ++c) {
    const auto col = s.values.col(c);
    for (std::int64_t i = 0; i < pad; ++i) x[static_cast<std::size_t>(i)] = 2 * col[0] - col[pad - i];
    for (std::int64_t i = 0; i < n; ++i) x[static_cast<std::size_t>(pad + i)] = col[i];
    for (std::int64_t i = 0; i < pad; ++i) x[static_cast<std::size_t>(pad + n + i)] = 2 * col[n - 1] - col[n - 2 - i];
    run_sections(secs, x);
    std::reverse(x.begin(), x.end());
    run_sections(secs, x);
    std::reverse(x.begin(), x.end());
    for (std::int64_t i = 0; i < n; ++i) out.values(i, c) = x[static_cast<std::size_t>(pad + i)];
  }
  out.metadata["filters"].push_back({{"type", high ? "highpass" : "lowpass"}, {"cutoff_hz", cutoff_hz},
                                     {"order", order}, {"zero_phase", true}});
  return out;
}

}  // namespace

double uniform_step_ms(const Eigen::VectorXd& t, const std::string& what) {
  CARDIOTWIN_CHECK(t.size() >= 2, InvalidInput, "time axis too short", ">= 2 samples", t.size(), Where({}, what));
  const double dt = (t[t.size() - 1] - t[0]) / static_cast<double>(t.size() - 1);
  for (Eigen::Index i = 1; i < t.size(); ++i)
    CARDIOTWIN_CHECK(std::abs(t[i] - t[i - 1] - dt) <= 1e-6 * dt, InvalidInput, "non-uniform time axis",
                     "uniform steps of " << dt << " ms (resample first)",
                     "a step of " << t[i] - t[i - 1] << " ms at sample " << i, Where({}, what, i));
  CARDIOTWIN_CHECK(dt > 0, InvalidInput, "bad time axis", "increasing times", dt, Where({}, what));
  return dt;
}

Signals lowpass(const Signals& s, double cutoff_hz, int order) { return filtfilt(s, cutoff_hz, order, false); }
Signals highpass(const Signals& s, double cutoff_hz, int order) { return filtfilt(s, cutoff_hz, order, true); }

Signals interpolate(const Signals& s, const Eigen::VectorXd& t) {
  validate_signals(s);
  CARDIOTWIN_CHECK(s.num_samples() >= 1, InvalidInput, "cannot interpolate", "a signal with samples", "none", Where({}, "time_ms"));
  const double lo = s.time_ms[0], hi = s.time_ms[s.num_samples() - 1], tol = 1e-9 * std::max(1.0, std::abs(hi - lo));
  Signals out;
  out.names = s.names;
  out.units = s.units;
  out.metadata = s.metadata;
  out.time_ms = t;
  out.values.resize(t.size(), s.num_channels());
  std::int64_t j = 0;
  for (Eigen::Index i = 0; i < t.size(); ++i) {
    CARDIOTWIN_CHECK(t[i] >= lo - tol && t[i] <= hi + tol, InvalidInput, "mismatched time axes",
                     "times within [" << lo << ", " << hi << "] ms", t[i] << " ms", Where({}, "time_ms", i));
    if (i > 0 && t[i] < t[i - 1]) j = 0;
    while (j + 1 < s.num_samples() - 1 && s.time_ms[j + 1] <= t[i]) ++j;
    if (s.num_samples() == 1) {
      out.values.row(i) = s.values.row(0);
      continue;
    }
    const double a = std::clamp((t[i] - s.time_ms[j]) / (s.time_ms[j + 1] - s.time_ms[j]), 0.0, 1.0);
    out.values.row(i) = (1 - a) * s.values.row(j) + a * s.values.row(j + 1);
  }
  return out;
}

Signals resample(const Signals& s, double rate_hz) {
  validate_signals(s);
  CARDIOTWIN_CHECK(std::isfinite(rate_hz) && rate_hz > 0, InvalidInput, "bad sampling rate", "> 0 Hz", rate_hz,
                   Where({}, "rate_hz"));
  CARDIOTWIN_CHECK(s.num_samples() >= 2, InvalidInput, "cannot resample", ">= 2 samples", s.num_samples(), Where({}, "time_ms"));
  Signals src = s;
  bool uniform = true;
  double dt_in = 0;
  try {
    dt_in = uniform_step_ms(s.time_ms);
  } catch (const InvalidInput&) {
    uniform = false;
  }
  if (uniform && rate_hz < 1000.0 / dt_in) src = lowpass(s, 0.45 * rate_hz, 4);
  const double dt = 1000.0 / rate_hz, t0 = s.time_ms[0], t1 = s.time_ms[s.num_samples() - 1];
  const auto n = static_cast<Eigen::Index>(std::floor((t1 - t0) / dt * (1 + 1e-12))) + 1;
  Signals out;
  out.names = s.names;
  out.units = s.units;
  out.metadata = src.metadata;
  out.time_ms = Eigen::VectorXd::LinSpaced(n, 0, static_cast<double>(n - 1)) * dt;
  out.time_ms.array() += t0;
  out.values.resize(n, s.num_channels());
  const std::int64_t m = s.num_samples();
  std::int64_t j = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double t = out.time_ms[i];
    while (j + 1 < m - 1 && s.time_ms[j + 1] <= t) ++j;
    const double h = s.time_ms[j + 1] - s.time_ms[j], a = std::clamp((t - s.time_ms[j]) / h, 0.0, 1.0);
    // Catmull-Rom on a possibly non-uniform grid: slopes from neighbouring secants.
    for (std::int64_t c = 0; c < s.num_channels(); ++c) {
      const double y0 = src.values(j, c), y1 = src.values(j + 1, c);
      const double m0 = j > 0 ? (y1 - src.values(j - 1, c)) / (s.time_ms[j + 1] - s.time_ms[j - 1]) * h : y1 - y0;
      const double m1 = j + 2 < m ? (src.values(j + 2, c) - y0) / (s.time_ms[j + 2] - s.time_ms[j]) * h : y1 - y0;
      const double a2 = a * a, a3 = a2 * a;
      out.values(i, c) = (2 * a3 - 3 * a2 + 1) * y0 + (a3 - 2 * a2 + a) * m0 + (-2 * a3 + 3 * a2) * y1 + (a3 - a2) * m1;
    }
  }
  out.metadata["resampled_hz"] = rate_hz;
  return out;
}

Signals select_channels(const Signals& s, const std::vector<std::string>& names) {
  Signals out;
  out.time_ms = s.time_ms;
  out.units = s.units;
  out.metadata = s.metadata;
  out.values.resize(s.num_samples(), static_cast<Eigen::Index>(names.size()));
  std::string missing;
  for (std::size_t k = 0; k < names.size(); ++k) {
    const auto c = find_lead(s, names[k]);
    if (c < 0) {
      missing += (missing.empty() ? "" : ", ") + names[k];
      continue;
    }
    out.values.col(static_cast<Eigen::Index>(k)) = s.values.col(c);
    out.names.push_back(s.names[static_cast<std::size_t>(c)]);
  }
  std::string have;
  for (const auto& n : s.names) have += (have.empty() ? "" : ", ") + n;
  CARDIOTWIN_CHECK(missing.empty(), InvalidInput, "missing channels", "channels " << missing, "only {" << have << "}",
                   Where({}, "names"));
  return out;
}

}  // namespace cardiotwin::ecg
