#include "cardiotwin/ecg/features.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/core/json.hpp"
#include "cardiotwin/ecg/leads.hpp"
#include "cardiotwin/ecg/processing.hpp"

namespace cardiotwin::ecg {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kPi = 3.14159265358979323846;

nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

double median(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return kNaN;
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  if (v.size() % 2) return *mid;
  return 0.5 * (*mid + *std::max_element(v.begin(), mid));
}

// Centred moving average over `w` samples (odd).
Eigen::VectorXd moving_average(const Eigen::VectorXd& x, std::int64_t w) {
  const std::int64_t n = x.size(), h = std::max<std::int64_t>(0, w / 2);
  Eigen::VectorXd c(n + 1);
  c[0] = 0;
  for (std::int64_t i = 0; i < n; ++i) c[i + 1] = c[i] + x[i];
  Eigen::VectorXd y(n);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t a = std::max<std::int64_t>(0, i - h), b = std::min(n, i + h + 1);
    y[i] = (c[b] - c[a]) / static_cast<double>(b - a);
  }
  return y;
}

// Central-difference derivative per column (per ms).
Field derivative(const Field& x, double dt) {
  const Eigen::Index n = x.rows();
  Field d(n, x.cols());
  for (Eigen::Index i = 0; i < n; ++i) {
    const Eigen::Index a = std::max<Eigen::Index>(0, i - 1), b = std::min(n - 1, i + 1);
    d.row(i) = (x.row(b) - x.row(a)) / (static_cast<double>(b - a) * dt);
  }
  return d;
}

// Columns used for spatial measures: the 8 independent leads of a 12-lead ECG, else all.
std::vector<Eigen::Index> independent_leads(const Signals& s) {
  std::vector<Eigen::Index> cols;
  for (const char* n : {"I", "II", "V1", "V2", "V3", "V4", "V5", "V6"}) {
    const auto c = find_lead(s, n);
    if (c >= 0) cols.push_back(static_cast<Eigen::Index>(c));
  }
  if (cols.size() < 8) {
    cols.clear();
    for (Eigen::Index c = 0; c < s.num_channels(); ++c) cols.push_back(c);
  }
  return cols;
}

// Root sum of squares over `cols` of the rows of x.
Eigen::VectorXd spatial_norm(const Field& x, const std::vector<Eigen::Index>& cols) {
  Eigen::VectorXd v = Eigen::VectorXd::Zero(x.rows());
  for (const auto c : cols) v.array() += x.col(c).array().square();
  return v.array().sqrt();
}

// Onset: walking back from `peak`, the first index where v stays below thr for `hold` samples.
std::int64_t walk_below(const Eigen::VectorXd& v, std::int64_t peak, double thr, std::int64_t hold, int dir,
                        std::int64_t lo, std::int64_t hi) {
  std::int64_t i = peak, run = 0, first = -1;
  while (i + dir >= lo && i + dir <= hi) {
    i += dir;
    if (v[i] < thr) {
      if (run == 0) first = i;
      if (++run >= hold) return first - dir;  // last sample above the threshold
    } else {
      run = 0;
    }
  }
  return run > 0 ? first - dir : i;
}

// Tangent method: from the peak at `ip` (sign `sgn` of the deflection relative to `base`), the
// steepest return towards `base` in (ip, hi], and where its tangent meets `base`.
double tangent_end(const Eigen::VectorXd& y, const Eigen::VectorXd& t, std::int64_t ip, std::int64_t hi, double base,
                   int sgn) {
  const double dt = t[1] - t[0];
  double best = 0;
  std::int64_t is = -1;
  for (std::int64_t i = ip + 1; i < hi; ++i) {
    const double slope = -sgn * (y[i + 1] - y[i - 1]) / (2 * dt);  // positive when returning
    if (slope > best) best = slope, is = i;
  }
  if (is < 0) return kNaN;
  const double te = t[is] + sgn * (y[is] - base) / best;
  return std::clamp(te, t[ip], t[hi]);
}

}  // namespace

// ---- options ------------------------------------------------------------------------------------

nlohmann::json FeatureOptions::to_json() const {
  return {{"version", kVersion},
          {"filter", filter},
          {"highpass_hz", highpass_hz},
          {"lowpass_hz", lowpass_hz},
          {"qrs_threshold", qrs_threshold},
          {"hold_ms", hold_ms},
          {"t_search_start_ms", t_search_start_ms},
          {"min_rr_ms", min_rr_ms},
          {"rr_ms", num(rr_ms)}};
}

FeatureOptions FeatureOptions::from_json(const nlohmann::json& j) {
  FeatureOptions o;
  JsonReader r(j, "ecg_features");
  int version = kVersion;
  r.get("version", version);
  CARDIOTWIN_CHECK(version == kVersion, InvalidInput, "unsupported options version", kVersion, version,
                   Where({}, "ecg_features.version"));
  r.get("filter", o.filter);
  r.get("highpass_hz", o.highpass_hz);
  r.get("lowpass_hz", o.lowpass_hz);
  r.get("qrs_threshold", o.qrs_threshold);
  r.get("hold_ms", o.hold_ms);
  r.get("t_search_start_ms", o.t_search_start_ms);
  r.get("min_rr_ms", o.min_rr_ms);
  if (const auto* rr = r.raw("rr_ms"); rr && !rr->is_null()) {
    CARDIOTWIN_CHECK(rr->is_number(), InvalidInput, "option has the wrong type", "a number or null", rr->dump(),
                     Where({}, "ecg_features.rr_ms"));
    o.rr_ms = rr->get<double>();
  }
  r.finish();
  o.validate();
  return o;
}

void FeatureOptions::validate() const {
  CARDIOTWIN_CHECK(highpass_hz > 0 && lowpass_hz > highpass_hz, InvalidInput, "bad filter cutoffs",
                   "0 < highpass_hz < lowpass_hz", highpass_hz << ", " << lowpass_hz, Where({}, "highpass_hz"));
  CARDIOTWIN_CHECK(qrs_threshold > 0 && qrs_threshold < 1, InvalidInput, "bad option", "0 < qrs_threshold < 1",
                   qrs_threshold, Where({}, "qrs_threshold"));
  CARDIOTWIN_CHECK(hold_ms >= 0 && t_search_start_ms >= 0 && min_rr_ms > 0, InvalidInput, "bad option",
                   "hold_ms >= 0, t_search_start_ms >= 0, min_rr_ms > 0",
                   hold_ms << ", " << t_search_start_ms << ", " << min_rr_ms, Where({}, "ecg_features"));
  CARDIOTWIN_CHECK(std::isnan(rr_ms) || rr_ms > 0, InvalidInput, "bad option", "rr_ms > 0 or NaN (unknown)", rr_ms,
                   Where({}, "rr_ms"));
}

// ---- results ------------------------------------------------------------------------------------

nlohmann::json EcgFeatures::to_json() const {
  nlohmann::json L = nlohmann::json::object();
  for (const auto& l : leads)
    L[l.name] = {{"baseline_mv", num(l.baseline_mv)},         {"qrs_onset_ms", num(l.qrs_onset_ms)},
                 {"qrs_offset_ms", num(l.qrs_offset_ms)},     {"qrs_duration_ms", num(l.qrs_duration_ms)},
                 {"r_amplitude_mv", num(l.r_amplitude_mv)},   {"s_amplitude_mv", num(l.s_amplitude_mv)},
                 {"qrs_area_mv_ms", num(l.qrs_area_mv_ms)},   {"t_peak_ms", num(l.t_peak_ms)},
                 {"t_amplitude_mv", num(l.t_amplitude_mv)},   {"t_end_ms", num(l.t_end_ms)},
                 {"qt_ms", num(l.qt_ms)}};
  nlohmann::json beats = nlohmann::json::array();
  for (const double b : beat_times_ms) beats.push_back(num(b));
  return {{"num_beats", num_beats},
          {"beat_times_ms", beats},
          {"rr_ms", num(rr_ms)},
          {"heart_rate_bpm", num(heart_rate_bpm)},
          {"qrs_onset_ms", num(qrs_onset_ms)},
          {"qrs_offset_ms", num(qrs_offset_ms)},
          {"qrs_duration_ms", num(qrs_duration_ms)},
          {"t_peak_ms", num(t_peak_ms)},
          {"t_end_ms", num(t_end_ms)},
          {"qt_ms", num(qt_ms)},
          {"qtc_bazett_ms", num(qtc_bazett_ms)},
          {"qtc_fridericia_ms", num(qtc_fridericia_ms)},
          {"axis_deg", num(axis_deg)},
          {"leads", L}};
}

const LeadFeatures& EcgFeatures::lead(const std::string& name) const {
  for (const auto& l : leads)
    if (l.name == name) return l;
  std::string avail;
  for (const auto& l : leads) avail += (avail.empty() ? "" : ", ") + l.name;
  CARDIOTWIN_CHECK(false, InvalidInput, "unknown lead", "one of: " << avail, "'" << name << "'", Where({}, "leads"));
  return leads.front();
}

// ---- features -----------------------------------------------------------------------------------

EcgFeatures ecg_features(const Signals& input, const FeatureOptions& opt) {
  opt.validate();
  validate_signals(input);
  CARDIOTWIN_CHECK(input.num_channels() > 0, InvalidInput, "no leads", "at least one channel", 0, Where({}, "names"));
  Signals x = input;
  double dt = 0;
  try {
    dt = uniform_step_ms(x.time_ms);
  } catch (const InvalidInput&) {
    x = resample(x, 1000.0);
    dt = 1.0;
  }
  const std::int64_t n = x.num_samples();
  CARDIOTWIN_CHECK(static_cast<double>(n - 1) * dt >= 100, InvalidInput, "ECG too short for features", ">= 100 ms",
                   static_cast<double>(n - 1) * dt << " ms", Where({}, "time_ms"));
  // NaN samples (WFDB invalid samples) would poison filters: hold the last valid value.
  for (Eigen::Index c = 0; c < x.values.cols(); ++c) {
    double last = 0;
    for (Eigen::Index i = 0; i < n; ++i)
      if (std::isnan(x.values(i, c))) x.values(i, c) = last;
      else last = x.values(i, c);
  }
  const double rate = 1000.0 / dt;
  if (opt.filter) {
    if (opt.highpass_hz < 0.5 * rate) x = highpass(x, opt.highpass_hz, 2);
    if (opt.lowpass_hz < 0.45 * rate) x = lowpass(x, opt.lowpass_hz, 4);
  }
  const auto cols = independent_leads(x);
  auto samples = [&](double ms) { return std::max<std::int64_t>(1, std::llround(ms / dt)); };

  // ---- beat detection: summed squared slopes of the 5-15 Hz band, 100 ms moving average.
  Eigen::VectorXd det = Eigen::VectorXd::Zero(n);
  {
    Signals band = x;
    if (rate > 40) band = highpass(band, 5.0, 2);
    if (rate > 40) band = lowpass(band, 15.0, 2);
    const Field d = derivative(band.values, dt);
    for (const auto c : cols) det.array() += d.col(c).array().square();
    det = moving_average(det, 2 * (samples(100) / 2) + 1);
  }
  const std::int64_t win2s = samples(2000);
  std::vector<double> maxima;
  for (std::int64_t a = 0; a < n; a += win2s) maxima.push_back(det.segment(a, std::min(win2s, n - a)).maxCoeff());
  const double thr_det = 0.3 * (n > 2 * win2s ? median(maxima) : det.maxCoeff());
  CARDIOTWIN_CHECK(thr_det > 0, InvalidInput, "no QRS found", "an ECG with deflections", "flat signals", Where({}, "values"));
  struct Region {
    std::int64_t lo, hi, peak;
  };
  std::vector<Region> regions;
  for (std::int64_t i = 0; i < n; ++i) {
    if (det[i] <= thr_det) continue;
    Region r{i, i, i};
    while (i + 1 < n && det[i + 1] > thr_det) {
      ++i;
      if (det[i] > det[r.peak]) r.peak = i;
    }
    r.hi = i;
    if (!regions.empty() && static_cast<double>(r.peak - regions.back().peak) * dt < opt.min_rr_ms) {
      Region& p = regions.back();
      p.hi = r.hi;
      if (det[r.peak] > det[p.peak]) p.peak = r.peak;
      continue;
    }
    regions.push_back(r);
  }

  EcgFeatures f;
  for (const auto& r : regions) f.beat_times_ms.push_back(x.time_ms[r.peak]);
  f.num_beats = static_cast<int>(regions.size());
  std::vector<double> rr;
  for (std::size_t k = 1; k < regions.size(); ++k) rr.push_back(static_cast<double>(regions[k].peak - regions[k - 1].peak) * dt);
  f.rr_ms = rr.empty() ? opt.rr_ms : median(rr);
  f.heart_rate_bpm = 60000.0 / f.rr_ms;

  // ---- the beat to delineate: median of aligned beats, or the record itself.
  Signals beat;
  std::int64_t qrs_lo = 0, qrs_hi = 0, fid = 0;  // QRS search window and fiducial, in beat samples
  bool median_beat = false;
  if (regions.size() >= 2) {
    const std::int64_t pre = samples(std::min(250.0, 0.4 * f.rr_ms));
    const std::int64_t post = samples(0.95 * f.rr_ms) - pre;
    std::vector<std::int64_t> fids;
    for (const auto& r : regions)
      if (r.peak - pre >= 0 && r.peak + post < n) fids.push_back(r.peak);
    if (fids.size() >= 2) {
      median_beat = true;
      const std::int64_t len = pre + post + 1;
      auto median_of = [&](const std::vector<std::int64_t>& at) {
        Field m(len, x.num_channels());
        std::vector<double> v(at.size());
        for (Eigen::Index c = 0; c < x.values.cols(); ++c)
          for (std::int64_t i = 0; i < len; ++i) {
            for (std::size_t k = 0; k < at.size(); ++k) v[k] = x.values(at[k] - pre + i, c);
            m(i, c) = median(v);
          }
        return m;
      };
      // Refine each fiducial by the lag (+-20 ms) that best matches the first median's QRS.
      const Field first = median_of(fids);
      const std::int64_t half = samples(60), maxlag = samples(20);
      for (auto& p : fids) {
        double best = -1e300;
        std::int64_t best_lag = 0;
        for (std::int64_t lag = -maxlag; lag <= maxlag; ++lag) {
          if (p + lag - pre < 0 || p + lag + post >= n) continue;
          double s = 0;
          for (const auto c : cols)
            for (std::int64_t i = -half; i <= half; ++i) s += first(pre + i, c) * x.values(p + lag + i, c);
          if (s > best) best = s, best_lag = lag;
        }
        p += best_lag;
      }
      beat.values = median_of(fids);
      beat.time_ms = Eigen::VectorXd::LinSpaced(len, static_cast<double>(-pre), static_cast<double>(len - 1 - pre)) * dt;
      fid = pre;
      qrs_lo = std::max<std::int64_t>(0, pre - samples(150));
      qrs_hi = std::min<std::int64_t>(len - 1, pre + samples(150));
    }
  }
  if (!median_beat) {
    const auto best = std::max_element(regions.begin(), regions.end(),
                                       [&](const Region& a, const Region& b) { return det[a.peak] < det[b.peak]; });
    beat.values = x.values;
    beat.time_ms = x.time_ms;
    fid = best->peak;
    qrs_lo = std::max<std::int64_t>(0, best->lo - samples(100));
    qrs_hi = std::min<std::int64_t>(n - 1, best->hi + samples(100));
  }
  beat.names = x.names;
  beat.units = x.units;
  beat.metadata = x.metadata;
  beat.metadata["median_beat"] = median_beat;
  const std::int64_t nb = beat.num_samples();
  const Eigen::VectorXd& t = beat.time_ms;

  // ---- QRS from the spatial velocity.
  const Field dB = derivative(beat.values, dt);
  const Eigen::VectorXd sv = moving_average(spatial_norm(dB, cols), 2 * (samples(4) / 2) + 1);
  std::int64_t pk = qrs_lo;
  for (std::int64_t i = qrs_lo; i <= qrs_hi; ++i)
    if (sv[i] > sv[pk]) pk = i;
  const double thr = opt.qrs_threshold * sv[pk];
  const std::int64_t hold = samples(opt.hold_ms);
  const std::int64_t on = walk_below(sv, pk, thr, hold, -1, 0, nb - 1);
  const std::int64_t off = walk_below(sv, pk, thr, hold, +1, 0, nb - 1);
  f.qrs_onset_ms = t[on];
  f.qrs_offset_ms = t[off];
  f.qrs_duration_ms = t[off] - t[on];
  (void)fid;

  // ---- isoelectric level per lead.
  const std::int64_t iso_hi = on - samples(5), iso_lo = on - samples(25);
  Eigen::VectorXd base(beat.num_channels());
  for (Eigen::Index c = 0; c < beat.values.cols(); ++c) {
    if (iso_lo < 0) {
      base[c] = beat.values(0, c);
      continue;
    }
    std::vector<double> v;
    for (std::int64_t i = iso_lo; i <= iso_hi; ++i) v.push_back(beat.values(i, c));
    base[c] = median(v);
  }
  Field y = beat.values;
  y.rowwise() -= base.transpose();

  // ---- T wave window and global T from the spatial magnitude.
  const std::int64_t t_lo = std::min(nb - 1, off + samples(opt.t_search_start_ms));
  std::int64_t t_hi = nb - 1;
  if (!median_beat) t_hi = std::min(nb - 1, on + samples(700));
  f.t_peak_ms = f.t_end_ms = kNaN;
  if (t_hi - t_lo >= samples(20)) {
    const Eigen::VectorXd mag = spatial_norm(y, cols);
    std::int64_t tp = t_lo;
    for (std::int64_t i = t_lo; i <= t_hi; ++i)
      if (mag[i] > mag[tp]) tp = i;
    f.t_peak_ms = t[tp];
    const double mag_base = iso_lo >= 0 ? median(std::vector<double>(mag.data() + iso_lo, mag.data() + iso_hi + 1)) : 0.0;
    f.t_end_ms = tangent_end(mag, t, tp, t_hi, mag_base, +1);
  }
  f.qt_ms = f.t_end_ms - f.qrs_onset_ms;
  const double rr_s = f.rr_ms / 1000.0;
  f.qtc_bazett_ms = f.qt_ms / std::sqrt(rr_s);
  f.qtc_fridericia_ms = f.qt_ms / std::cbrt(rr_s);

  // ---- per lead.
  for (Eigen::Index c = 0; c < beat.values.cols(); ++c) {
    LeadFeatures L;
    L.name = beat.names[static_cast<std::size_t>(c)];
    L.baseline_mv = base[c];
    const Eigen::VectorXd yc = y.col(c);
    // Own QRS bounds from |slope| relative to its peak within the global QRS search window.
    const Eigen::VectorXd slope = moving_average(dB.col(c).cwiseAbs(), 2 * (samples(4) / 2) + 1);
    std::int64_t lp = qrs_lo;
    for (std::int64_t i = qrs_lo; i <= qrs_hi; ++i)
      if (slope[i] > slope[lp]) lp = i;
    const std::int64_t lon = walk_below(slope, lp, opt.qrs_threshold * slope[lp], hold, -1, 0, nb - 1);
    const std::int64_t loff = walk_below(slope, lp, opt.qrs_threshold * slope[lp], hold, +1, 0, nb - 1);
    L.qrs_onset_ms = t[lon];
    L.qrs_offset_ms = t[loff];
    L.qrs_duration_ms = t[loff] - t[lon];
    std::int64_t ir = on;
    double r = 0, area = 0;
    for (std::int64_t i = on; i <= off; ++i) {
      if (yc[i] > r) r = yc[i], ir = i;
      if (i > on) area += 0.5 * (yc[i] + yc[i - 1]) * dt;
    }
    double s = 0;
    for (std::int64_t i = ir; i <= off; ++i) s = std::min(s, yc[i]);
    L.r_amplitude_mv = r;
    L.s_amplitude_mv = s;
    L.qrs_area_mv_ms = area;
    L.t_peak_ms = L.t_amplitude_mv = L.t_end_ms = kNaN;
    if (t_hi - t_lo >= samples(20)) {
      std::int64_t tp = t_lo;
      for (std::int64_t i = t_lo; i <= t_hi; ++i)
        if (std::abs(yc[i]) > std::abs(yc[tp])) tp = i;
      L.t_peak_ms = t[tp];
      L.t_amplitude_mv = yc[tp];
      L.t_end_ms = tangent_end(yc, t, tp, t_hi, 0.0, yc[tp] >= 0 ? 1 : -1);
    }
    L.qt_ms = L.t_end_ms - f.qrs_onset_ms;
    f.leads.push_back(L);
  }

  // ---- electrical axis from the QRS areas of I and aVF (derived from II and III when absent).
  auto area_of = [&](const std::string& name) {
    const auto c = find_lead(beat, name);
    return c < 0 ? kNaN : f.leads[static_cast<std::size_t>(c)].qrs_area_mv_ms;
  };
  double aI = area_of("I"), aF = area_of("aVF");
  const double aII = area_of("II"), aIII = area_of("III");
  if (std::isnan(aI)) aI = aII - aIII;
  if (std::isnan(aF)) aF = 0.5 * (aII + aIII);
  f.axis_deg = std::atan2(2.0 / std::sqrt(3.0) * aF, aI) * 180.0 / kPi;
  f.beat = std::move(beat);
  return f;
}

// ---- comparison ---------------------------------------------------------------------------------

nlohmann::json EcgComparison::to_json() const {
  nlohmann::json per = nlohmann::json::object();
  for (std::size_t k = 0; k < leads.size(); ++k) per[leads[k]] = {{"correlation", num(correlation[k])}, {"rmse_mv", num(rmse_mv[k])}};
  return {{"shift_ms", shift_ms},
          {"mean_correlation", num(mean_correlation)},
          {"mean_rmse_mv", num(mean_rmse_mv)},
          {"num_samples", num_samples},
          {"leads", per}};
}

EcgComparison compare_ecgs(const Signals& a, const Signals& b, double max_shift_ms, double step_ms) {
  validate_signals(a);
  validate_signals(b);
  CARDIOTWIN_CHECK(step_ms > 0 && max_shift_ms >= 0, InvalidInput, "bad comparison options",
                   "step_ms > 0, max_shift_ms >= 0", step_ms << ", " << max_shift_ms, Where({}, "step_ms"));
  CARDIOTWIN_CHECK(a.units == b.units, InvalidInput, "ECGs in different units", "'" << a.units << "'",
                   "'" << b.units << "'", Where({}, "units"));
  std::vector<std::pair<Eigen::Index, Eigen::Index>> pairs;
  EcgComparison r;
  for (Eigen::Index c = 0; c < a.num_channels(); ++c) {
    const auto d = find_lead(b, a.names[static_cast<std::size_t>(c)]);
    if (d >= 0) {
      pairs.emplace_back(c, static_cast<Eigen::Index>(d));
      r.leads.push_back(a.names[static_cast<std::size_t>(c)]);
    }
  }
  CARDIOTWIN_CHECK(!pairs.empty(), InvalidInput, "no common leads", "leads with the same names in both ECGs",
                   a.num_channels() << " and " << b.num_channels() << " leads, none shared", Where({}, "names"));
  CARDIOTWIN_CHECK(a.num_samples() >= 2 && b.num_samples() >= 2, InvalidInput, "ECG too short", ">= 2 samples",
                   a.num_samples() << " and " << b.num_samples(), Where({}, "time_ms"));
  // Both on the lattice a0 + k step.
  const double a0 = a.time_ms[0], a1 = a.time_ms[a.num_samples() - 1];
  const double b0 = b.time_ms[0], b1 = b.time_ms[b.num_samples() - 1];
  const auto ka = static_cast<std::int64_t>(std::floor((a1 - a0) / step_ms + 1e-9));
  const auto kb0 = static_cast<std::int64_t>(std::ceil((b0 - a0) / step_ms - 1e-9));
  const auto kb1 = static_cast<std::int64_t>(std::floor((b1 - a0) / step_ms + 1e-9));
  CARDIOTWIN_CHECK(kb1 >= kb0, InvalidInput, "mismatched time axes", "ECGs sampled at least once per " << step_ms << " ms",
                   "no lattice point in [" << b0 << ", " << b1 << "] ms", Where({}, "time_ms"));
  const Signals A = interpolate(a, Eigen::VectorXd::LinSpaced(ka + 1, a0, a0 + static_cast<double>(ka) * step_ms));
  const Signals B = interpolate(b, Eigen::VectorXd::LinSpaced(kb1 - kb0 + 1, a0 + static_cast<double>(kb0) * step_ms,
                                                              a0 + static_cast<double>(kb1) * step_ms));
  const auto maxlag = static_cast<std::int64_t>(std::floor(max_shift_ms / step_ms + 1e-9));
  const std::int64_t min_overlap = 10;
  double best = -1e300;
  std::int64_t best_lag = 0, best_lo = 0, best_hi = -1;
  bool any = false;
  for (std::int64_t lag = -maxlag; lag <= maxlag; ++lag) {
    // A[k] vs B[k + lag - kb0] for k in [0, ka] with k + lag in [kb0, kb1].
    const std::int64_t lo = std::max<std::int64_t>(0, kb0 - lag), hi = std::min<std::int64_t>(ka, kb1 - lag);
    if (hi - lo + 1 < min_overlap) continue;
    double score = 0;
    int counted = 0;
    for (const auto& [ca, cb] : pairs) {
      const auto x = A.values.col(ca).segment(lo, hi - lo + 1);
      const auto y = B.values.col(cb).segment(lo + lag - kb0, hi - lo + 1);
      const double mx = x.mean(), my = y.mean();
      const double sxy = ((x.array() - mx) * (y.array() - my)).sum();
      const double sxx = (x.array() - mx).square().sum(), syy = (y.array() - my).square().sum();
      if (sxx > 0 && syy > 0) {
        score += sxy / std::sqrt(sxx * syy);
        ++counted;
      }
    }
    score = counted ? score / counted : 0;
    // Prefer the smallest shift among ties.
    if (!any || score > best + 1e-12 || (std::abs(score - best) <= 1e-12 && std::abs(lag) < std::abs(best_lag))) {
      best = score, best_lag = lag, best_lo = lo, best_hi = hi;
      any = true;
    }
  }
  CARDIOTWIN_CHECK(any, InvalidInput, "mismatched time axes", "time axes overlapping by >= " << min_overlap << " samples of "
                   << step_ms << " ms (within shifts of +-" << max_shift_ms << " ms)",
                   "[" << a0 << ", " << a1 << "] and [" << b0 << ", " << b1 << "] ms", Where({}, "time_ms"));
  r.shift_ms = static_cast<double>(best_lag) * step_ms;
  r.num_samples = best_hi - best_lo + 1;
  double sc = 0, sr = 0;
  int nc = 0;
  for (const auto& [ca, cb] : pairs) {
    const auto x = A.values.col(ca).segment(best_lo, r.num_samples);
    const auto y = B.values.col(cb).segment(best_lo + best_lag - kb0, r.num_samples);
    const double mx = x.mean(), my = y.mean();
    const double sxx = (x.array() - mx).square().sum(), syy = (y.array() - my).square().sum();
    const double corr = (sxx > 0 && syy > 0) ? ((x.array() - mx) * (y.array() - my)).sum() / std::sqrt(sxx * syy) : kNaN;
    const double rmse = std::sqrt((x - y).squaredNorm() / static_cast<double>(r.num_samples));
    r.correlation.push_back(corr);
    r.rmse_mv.push_back(rmse);
    if (!std::isnan(corr)) sc += corr, ++nc;
    sr += rmse;
  }
  r.mean_correlation = nc ? sc / nc : kNaN;
  r.mean_rmse_mv = sr / static_cast<double>(pairs.size());
  return r;
}

}  // namespace cardiotwin::ecg
