// Segmentation without libtorch: metadata, preprocessing, sliding windows, postprocessing.
// The network itself is a ForwardFn (src/segment/torch.cpp wraps TorchScript), so this file
// compiles quickly and keeps the libtorch headers out.
#include "cardiotwin/segment/segment.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "cardiotwin/core/error.hpp"

namespace cardiotwin::segment {

namespace {

using json = nlohmann::json;

template <class T>
T get_field(const json& j, const char* key, const std::string& src) {
  CARDIOTWIN_CHECK(j.contains(key), InvalidInput, "incomplete model metadata",
                   "a field '" << key << "'", "none", Where(src, key));
  try {
    return j.at(key).get<T>();
  } catch (const json::exception& e) {
    CARDIOTWIN_CHECK(false, InvalidInput, "bad model metadata field", "a valid value",
                     j.at(key).dump() << " (" << e.what() << ")", Where(src, key));
  }
  return T{};
}

}  // namespace

// ---------------------------------------------------------------------------- ModelInfo

ModelInfo ModelInfo::from_json(const std::string& text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    CARDIOTWIN_CHECK(false, FileFormatError, "model metadata is not valid JSON", "JSON text",
                     e.what(), Where(source));
  }
  CARDIOTWIN_CHECK(j.is_object(), FileFormatError, "model metadata is not a JSON object",
                   "an object", j.type_name(), Where(source));
  ModelInfo m;
  m.format_version = j.value("format_version", 1);
  CARDIOTWIN_CHECK(m.format_version == 1, InvalidInput, "unsupported model metadata version", 1,
                   m.format_version, Where(source, "format_version"));
  m.name = j.value("name", std::string{});
  m.description = j.value("description", std::string{});
  m.dimensions = get_field<int>(j, "dimensions", source);
  CARDIOTWIN_CHECK(m.dimensions == 2, InvalidInput, "unsupported model dimensionality",
                   "2 (slice-wise models; 3-D models are not supported yet)", m.dimensions,
                   Where(source, "dimensions"));
  m.input_channels = j.value("input_channels", 1);
  CARDIOTWIN_CHECK(m.input_channels == 1, InvalidInput, "unsupported number of input channels", 1,
                   m.input_channels, Where(source, "input_channels"));

  const auto labels = get_field<std::map<std::string, int>>(j, "labels", source);
  std::set<int> values;
  for (const auto& [name, v] : labels) {
    CARDIOTWIN_CHECK(v >= 0 && v <= 255, InvalidInput, "bad label value", "0..255", v,
                     Where(source, "labels." + name));
    CARDIOTWIN_CHECK(values.insert(v).second, InvalidInput, "duplicate label value",
                     "distinct values", v, Where(source, "labels." + name));
    m.labels.emplace_back(name, v);
  }
  std::sort(m.labels.begin(), m.labels.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  CARDIOTWIN_CHECK(values.count(0) == 1, InvalidInput, "model labels lack the background",
                   "a label with value 0", "none", Where(source, "labels"));

  m.output_channels = get_field<std::vector<std::string>>(j, "output_channels", source);
  CARDIOTWIN_CHECK(m.output_channels.size() >= 2, InvalidInput, "too few output channels",
                   ">= 2 (background and at least one structure)", m.output_channels.size(),
                   Where(source, "output_channels"));
  for (std::size_t c = 0; c < m.output_channels.size(); ++c)
    CARDIOTWIN_CHECK(labels.count(m.output_channels[c]) == 1, InvalidInput,
                     "output channel names an unknown label", "a name from 'labels'",
                     "'" << m.output_channels[c] << "'",
                     Where(source, "output_channels", static_cast<std::int64_t>(c)));

  m.min_volume_ml.assign(m.labels.size(), 0.0);
  if (j.contains("min_volume_ml")) {
    const auto mv = get_field<std::map<std::string, double>>(j, "min_volume_ml", source);
    for (const auto& [name, v] : mv) {
      std::size_t i = 0;
      while (i < m.labels.size() && m.labels[i].first != name) ++i;
      CARDIOTWIN_CHECK(i < m.labels.size(), InvalidInput, "min_volume_ml names an unknown label",
                       "a name from 'labels'", "'" << name << "'", Where(source, "min_volume_ml"));
      CARDIOTWIN_CHECK(std::isfinite(v) && v >= 0, InvalidInput, "bad minimum volume", ">= 0 mL", v,
                       Where(source, "min_volume_ml." + name));
      m.min_volume_ml[i] = v;
    }
  }
  if (j.contains("enclosed_by")) {
    const auto eb = get_field<std::map<std::string, std::string>>(j, "enclosed_by", source);
    for (const auto& [inner, outer] : eb) {
      CARDIOTWIN_CHECK(labels.count(inner) == 1 && labels.count(outer) == 1 && inner != outer,
                       InvalidInput, "enclosed_by names unknown labels", "two different names from 'labels'",
                       "'" << inner << "': '" << outer << "'", Where(source, "enclosed_by"));
      m.enclosed_by.emplace_back(labels.at(inner), labels.at(outer));
    }
  }
  m.slice_axis = j.value("slice_axis", std::string("largest_spacing"));
  CARDIOTWIN_CHECK(m.slice_axis == "largest_spacing" || m.slice_axis == "i" ||
                       m.slice_axis == "j" || m.slice_axis == "k",
                   InvalidInput, "bad slice axis", "largest_spacing, i, j or k",
                   "'" << m.slice_axis << "'", Where(source, "slice_axis"));
  m.spacing_mm = get_field<std::vector<double>>(j, "spacing_mm", source);
  CARDIOTWIN_CHECK(m.spacing_mm.size() == 2, InvalidInput, "bad model spacing",
                   "2 values (in-plane, mm)", m.spacing_mm.size() << " values",
                   Where(source, "spacing_mm"));
  for (double s : m.spacing_mm)
    CARDIOTWIN_CHECK(std::isfinite(s) && s > 0, InvalidInput, "bad model spacing", "> 0 mm", s,
                     Where(source, "spacing_mm"));
  m.patch_size = get_field<std::vector<std::int64_t>>(j, "patch_size", source);
  CARDIOTWIN_CHECK(m.patch_size.size() == 2, InvalidInput, "bad patch size", "2 values",
                   m.patch_size.size() << " values", Where(source, "patch_size"));
  for (auto p : m.patch_size)
    CARDIOTWIN_CHECK(p >= 4 && p <= 4096, InvalidInput, "bad patch size", "4..4096 voxels", p,
                     Where(source, "patch_size"));

  if (j.contains("normalisation")) {
    const json& n = j.at("normalisation");
    CARDIOTWIN_CHECK(n.is_object(), InvalidInput, "bad normalisation", "an object", n.dump(),
                     Where(source, "normalisation"));
    m.normalisation = n.value("method", std::string("percentile_zscore"));
    CARDIOTWIN_CHECK(m.normalisation == "percentile_zscore" || m.normalisation == "zscore" ||
                         m.normalisation == "none",
                     InvalidInput, "unknown normalisation", "percentile_zscore, zscore or none",
                     "'" << m.normalisation << "'", Where(source, "normalisation.method"));
    if (n.contains("percentiles")) {
      const auto p = get_field<std::vector<double>>(n, "percentiles", source);
      CARDIOTWIN_CHECK(p.size() == 2 && p[0] >= 0 && p[0] < p[1] && p[1] <= 100, InvalidInput,
                       "bad normalisation percentiles", "[low, high] with 0 <= low < high <= 100",
                       n.at("percentiles").dump(), Where(source, "normalisation.percentiles"));
      m.percentile_low = p[0];
      m.percentile_high = p[1];
    }
  }
  return m;
}

ModelInfo ModelInfo::read(const std::string& path) {
  std::ifstream f(path);
  CARDIOTWIN_CHECK(f.good(), FileIOError, "cannot open model metadata", "a readable file",
                   "no such file or no permission", Where(path));
  std::stringstream ss;
  ss << f.rdbuf();
  return from_json(ss.str(), path);
}

int ModelInfo::channel_label(std::size_t c) const {
  for (const auto& [name, v] : labels)
    if (name == output_channels.at(c)) return v;
  return 0;  // unreachable for validated metadata
}

// ---------------------------------------------------------------------------- options

std::string SegmentOptions::to_json() const {
  json j = {{"version", version},          {"overlap", overlap},
            {"gaussian_sigma", gaussian_sigma}, {"mirror", mirror},
            {"largest_component", largest_component}, {"fill_holes", fill_holes},
            {"min_volume", min_volume},
            {"threads", threads},          {"batch", batch}};
  return j.dump();
}

SegmentOptions SegmentOptions::from_json(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    CARDIOTWIN_CHECK(false, InvalidInput, "segment options are not valid JSON", "JSON text",
                     e.what(), Where({}, "options"));
  }
  SegmentOptions o;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    try {
      if (k == "version") o.version = it->get<int>();
      else if (k == "overlap") o.overlap = it->get<double>();
      else if (k == "gaussian_sigma") o.gaussian_sigma = it->get<double>();
      else if (k == "mirror") o.mirror = it->get<bool>();
      else if (k == "largest_component") o.largest_component = it->get<bool>();
      else if (k == "fill_holes") o.fill_holes = it->get<bool>();
      else if (k == "min_volume") o.min_volume = it->get<bool>();
      else if (k == "threads") o.threads = it->get<int>();
      else if (k == "batch") o.batch = it->get<int>();
      else
        CARDIOTWIN_CHECK(false, InvalidInput, "unknown segment option",
                         "version, overlap, gaussian_sigma, mirror, largest_component, "
                         "fill_holes, min_volume, threads, batch",
                         "'" << k << "'", Where({}, k));
    } catch (const json::exception& e) {
      CARDIOTWIN_CHECK(false, InvalidInput, "bad segment option", "a value of the right type",
                       it->dump(), Where({}, k));
    }
  }
  CARDIOTWIN_CHECK(o.version == 1, InvalidInput, "unsupported segment options version", 1,
                   o.version, Where({}, "version"));
  return o;
}

namespace {

void validate(const SegmentOptions& o) {
  CARDIOTWIN_CHECK(o.overlap >= 0 && o.overlap <= 0.95, InvalidInput, "bad window overlap",
                   "0 <= overlap <= 0.95", o.overlap, Where({}, "overlap"));
  CARDIOTWIN_CHECK(o.gaussian_sigma > 0 && std::isfinite(o.gaussian_sigma), InvalidInput,
                   "bad Gaussian sigma", "> 0 (fraction of the patch)", o.gaussian_sigma,
                   Where({}, "gaussian_sigma"));
  CARDIOTWIN_CHECK(o.threads >= 0, InvalidInput, "bad thread count", ">= 0 (0 keeps libtorch's)",
                   o.threads, Where({}, "threads"));
  CARDIOTWIN_CHECK(o.batch >= 1, InvalidInput, "bad batch size", ">= 1", o.batch,
                   Where({}, "batch"));
}

std::vector<std::int64_t> window_starts(std::int64_t n, std::int64_t p, std::int64_t step) {
  if (n <= p) return {0};
  std::vector<std::int64_t> s;
  for (std::int64_t a = 0; a + p <= n; a += step) s.push_back(a);
  if (s.back() != n - p) s.push_back(n - p);
  return s;
}

/// Bilinear sample of an (n0 x n1) row-major array at continuous (x0, x1), clamped to the border.
inline double bilinear(const float* a, std::int64_t n0, std::int64_t n1, double x0, double x1) {
  x0 = std::clamp(x0, 0.0, static_cast<double>(n0 - 1));
  x1 = std::clamp(x1, 0.0, static_cast<double>(n1 - 1));
  const auto i0 = static_cast<std::int64_t>(std::floor(x0));
  const auto j0 = static_cast<std::int64_t>(std::floor(x1));
  const std::int64_t i1 = std::min(i0 + 1, n0 - 1), j1 = std::min(j0 + 1, n1 - 1);
  const double f0 = x0 - static_cast<double>(i0), f1 = x1 - static_cast<double>(j0);
  return (1 - f0) * ((1 - f1) * a[i0 * n1 + j0] + f1 * a[i0 * n1 + j1]) +
         f0 * ((1 - f1) * a[i1 * n1 + j0] + f1 * a[i1 * n1 + j1]);
}

}  // namespace

// ---------------------------------------------------------------------------- building blocks

int slice_axis(const Image<float>& image, const ModelInfo& info) {
  if (info.slice_axis == "i") return 0;
  if (info.slice_axis == "j") return 1;
  if (info.slice_axis == "k") return 2;
  const auto& sh = image.shape();
  int flat = -1, n_flat = 0;
  for (int a = 0; a < 3; ++a)
    if (sh[a] == 1) flat = a, ++n_flat;
  if (n_flat == 1) return flat;  // a single slice
  int best = 2;
  for (int a = 1; a >= 0; --a)  // ties (within 1 %) go to the later axis
    if (image.spacing()[a] > image.spacing()[best] * 1.01) best = a;
  return best;
}

std::vector<float> normalise(const Image<float>& image, const ModelInfo& info) {
  const auto& v = image.values();
  for (std::size_t i = 0; i < v.size(); ++i)
    CARDIOTWIN_CHECK(std::isfinite(v[i]), InvalidInput, "image has non-finite values",
                     "finite intensities", v[i], Where({}, "image", static_cast<std::int64_t>(i)));
  std::vector<double> x(v.begin(), v.end());
  if (info.normalisation == "none") return {v.begin(), v.end()};
  if (info.normalisation == "percentile_zscore" && x.size() > 1) {
    std::vector<double> s = x;
    auto pct = [&](double p) {  // numpy's default (linear) percentile
      const double pos = p / 100.0 * static_cast<double>(s.size() - 1);
      const auto lo = static_cast<std::size_t>(std::floor(pos));
      const std::size_t hi = std::min(lo + 1, s.size() - 1);
      std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(lo), s.end());
      const double a = s[lo];
      const double b = hi == lo ? a : *std::min_element(s.begin() + static_cast<std::ptrdiff_t>(hi), s.end());
      return a + (pos - static_cast<double>(lo)) * (b - a);
    };
    const double lo = pct(info.percentile_low), hi = pct(info.percentile_high);
    for (double& t : x) t = std::clamp(t, lo, hi);
  }
  double mean = 0;
  for (double t : x) mean += t;
  mean /= static_cast<double>(x.size());
  double var = 0;
  for (double t : x) var += (t - mean) * (t - mean);
  double sd = std::sqrt(var / static_cast<double>(x.size()));
  if (!(sd > 0)) sd = 1;
  std::vector<float> out(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) out[i] = static_cast<float>((x[i] - mean) / sd);
  return out;
}

namespace {

/// 26-connected components of the voxels equal to `value`: component id per voxel (-1 elsewhere)
/// and the size of each component.
std::vector<std::int64_t> components(const LabelMap& labels, int value, std::vector<std::int32_t>& comp) {
  const auto& sh = labels.shape();
  const auto& v = labels.values();
  comp.assign(v.size(), -1);
  std::vector<std::int64_t> sizes, stack;
  for (std::int64_t start = 0; start < labels.size(); ++start) {
    if (v[static_cast<std::size_t>(start)] != value || comp[static_cast<std::size_t>(start)] >= 0) continue;
    const auto id = static_cast<std::int32_t>(sizes.size());
    std::int64_t count = 0;
    stack.assign(1, start);
    comp[static_cast<std::size_t>(start)] = id;
    while (!stack.empty()) {
      const std::int64_t o = stack.back();
      stack.pop_back();
      ++count;
      const std::int64_t i = o % sh[0], j = (o / sh[0]) % sh[1], k = o / (sh[0] * sh[1]);
      for (std::int64_t dk = -1; dk <= 1; ++dk)
        for (std::int64_t dj = -1; dj <= 1; ++dj)
          for (std::int64_t di = -1; di <= 1; ++di) {
            const std::int64_t a = i + di, b = j + dj, c = k + dk;
            if (a < 0 || b < 0 || c < 0 || a >= sh[0] || b >= sh[1] || c >= sh[2]) continue;
            const auto q = static_cast<std::size_t>(labels.offset(a, b, c));
            if (v[q] == value && comp[q] < 0) {
              comp[q] = id;
              stack.push_back(static_cast<std::int64_t>(q));
            }
          }
    }
    sizes.push_back(count);
  }
  return sizes;
}

}  // namespace

std::int64_t keep_largest_components(LabelMap& labels) {
  auto& v = labels.values();
  std::array<bool, 256> present{};
  for (auto x : v) present[x] = true;
  std::int64_t removed = 0;
  std::vector<std::int32_t> comp;
  for (int lab = 1; lab < 256; ++lab) {
    if (!present[static_cast<std::size_t>(lab)]) continue;
    const std::vector<std::int64_t> sizes = components(labels, lab, comp);
    if (sizes.size() <= 1) continue;
    const auto keep = static_cast<std::int32_t>(
        std::max_element(sizes.begin(), sizes.end()) - sizes.begin());
    for (std::size_t q = 0; q < v.size(); ++q)
      if (v[q] == lab && comp[q] != keep) {
        v[q] = 0;
        ++removed;
      }
  }
  return removed;
}


std::int64_t select_enclosed(LabelMap& labels, int inner, int outer, int axis) {
  CARDIOTWIN_CHECK(axis >= 0 && axis <= 2, InvalidInput, "bad slice axis", "0, 1 or 2", axis,
                   Where({}, "axis"));
  const auto& sh = labels.shape();
  auto& v = labels.values();
  std::vector<std::int32_t> comp;
  const std::vector<std::int64_t> sizes = components(labels, inner, comp);
  if (sizes.empty()) return 0;
  std::vector<std::int64_t> boundary(sizes.size(), 0), walled(sizes.size(), 0);
  const int a0 = axis == 0 ? 1 : 0, a1 = axis == 2 ? 1 : 2;
  for (std::int64_t k = 0; k < sh[2]; ++k)
    for (std::int64_t j = 0; j < sh[1]; ++j)
      for (std::int64_t i = 0; i < sh[0]; ++i) {
        const auto q = static_cast<std::size_t>(labels.offset(i, j, k));
        if (comp[q] < 0) continue;
        for (int a : {a0, a1})
          for (int d : {-1, 1}) {
            std::array<std::int64_t, 3> n{i, j, k};
            n[static_cast<std::size_t>(a)] += d;
            if (n[static_cast<std::size_t>(a)] < 0 || n[static_cast<std::size_t>(a)] >= sh[a]) {
              ++boundary[static_cast<std::size_t>(comp[q])];
              continue;
            }
            const auto p = static_cast<std::size_t>(labels.offset(n[0], n[1], n[2]));
            if (comp[p] == comp[q]) continue;
            ++boundary[static_cast<std::size_t>(comp[q])];
            if (v[p] == outer) ++walled[static_cast<std::size_t>(comp[q])];
          }
      }
  std::size_t best = 0;
  double best_score = -1;
  for (std::size_t c = 0; c < sizes.size(); ++c) {
    const double f = boundary[c] ? static_cast<double>(walled[c]) / static_cast<double>(boundary[c]) : 0.0;
    const double score = static_cast<double>(sizes[c]) * f * f * f * f;
    if (score > best_score) best_score = score, best = c;
  }
  std::int64_t removed = 0;
  for (std::size_t q = 0; q < v.size(); ++q)
    if (comp[q] >= 0 && static_cast<std::size_t>(comp[q]) != best) {
      v[q] = 0;
      ++removed;
    }
  // the wall: only components of `outer` that touch the kept structure
  std::vector<std::int32_t> ocomp;
  const std::vector<std::int64_t> osizes = components(labels, outer, ocomp);
  std::vector<bool> touches(osizes.size(), false);
  for (std::int64_t k = 0; k < sh[2]; ++k)
    for (std::int64_t j = 0; j < sh[1]; ++j)
      for (std::int64_t i = 0; i < sh[0]; ++i) {
        const auto q = static_cast<std::size_t>(labels.offset(i, j, k));
        if (ocomp[q] < 0) continue;
        for (int a = 0; a < 3; ++a)
          for (int d : {-1, 1}) {
            std::array<std::int64_t, 3> n{i, j, k};
            n[static_cast<std::size_t>(a)] += d;
            if (n[static_cast<std::size_t>(a)] < 0 || n[static_cast<std::size_t>(a)] >= sh[a]) continue;
            if (v[static_cast<std::size_t>(labels.offset(n[0], n[1], n[2]))] == inner)
              touches[static_cast<std::size_t>(ocomp[q])] = true;
          }
      }
  for (std::size_t q = 0; q < v.size(); ++q)
    if (ocomp[q] >= 0 && !touches[static_cast<std::size_t>(ocomp[q])]) {
      v[q] = 0;
      ++removed;
    }
  return removed;
}

std::int64_t fill_holes(LabelMap& labels, int axis) {
  CARDIOTWIN_CHECK(axis >= 0 && axis <= 2, InvalidInput, "bad slice axis", "0, 1 or 2", axis,
                   Where({}, "axis"));
  const auto& sh = labels.shape();
  const int a0 = axis == 0 ? 1 : 0, a1 = axis == 2 ? 1 : 2;
  const std::int64_t n0 = sh[a0], n1 = sh[a1];
  std::int64_t filled = 0;
  std::vector<std::uint8_t> s(static_cast<std::size_t>(n0 * n1));
  std::vector<std::int8_t> state(s.size());  // 0 unvisited, 1 outside, 2 hole
  std::vector<std::int64_t> stack, region;
  auto off = [&](std::int64_t u, std::int64_t w, std::int64_t k) {
    std::array<std::int64_t, 3> idx{};
    idx[static_cast<std::size_t>(a0)] = u;
    idx[static_cast<std::size_t>(a1)] = w;
    idx[static_cast<std::size_t>(axis)] = k;
    return labels.offset(idx[0], idx[1], idx[2]);
  };
  for (std::int64_t k = 0; k < sh[axis]; ++k) {
    for (std::int64_t u = 0; u < n0; ++u)
      for (std::int64_t w = 0; w < n1; ++w)
        s[static_cast<std::size_t>(u * n1 + w)] = labels.values()[static_cast<std::size_t>(off(u, w, k))];
    std::fill(state.begin(), state.end(), 0);
    // flood the background from the slice border
    stack.clear();
    for (std::int64_t u = 0; u < n0; ++u)
      for (std::int64_t w = 0; w < n1; ++w)
        if ((u == 0 || w == 0 || u == n0 - 1 || w == n1 - 1) && s[static_cast<std::size_t>(u * n1 + w)] == 0) {
          state[static_cast<std::size_t>(u * n1 + w)] = 1;
          stack.push_back(u * n1 + w);
        }
    const std::int64_t du[4] = {-1, 1, 0, 0}, dw[4] = {0, 0, -1, 1};
    while (!stack.empty()) {
      const std::int64_t p = stack.back();
      stack.pop_back();
      const std::int64_t u = p / n1, w = p % n1;
      for (int d = 0; d < 4; ++d) {
        const std::int64_t uu = u + du[d], ww = w + dw[d];
        if (uu < 0 || ww < 0 || uu >= n0 || ww >= n1) continue;
        const auto q = static_cast<std::size_t>(uu * n1 + ww);
        if (s[q] == 0 && state[q] == 0) {
          state[q] = 1;
          stack.push_back(uu * n1 + ww);
        }
      }
    }
    // every remaining background region is a hole: give it the most frequent neighbouring label
    for (std::int64_t p0 = 0; p0 < n0 * n1; ++p0) {
      if (s[static_cast<std::size_t>(p0)] != 0 || state[static_cast<std::size_t>(p0)] != 0) continue;
      std::array<std::int64_t, 256> votes{};
      region.clear();
      stack.assign(1, p0);
      state[static_cast<std::size_t>(p0)] = 2;
      while (!stack.empty()) {
        const std::int64_t p = stack.back();
        stack.pop_back();
        region.push_back(p);
        const std::int64_t u = p / n1, w = p % n1;
        for (int d = 0; d < 4; ++d) {
          const std::int64_t uu = u + du[d], ww = w + dw[d];
          const auto q = static_cast<std::size_t>(uu * n1 + ww);  // holes never touch the border
          if (s[q] != 0) {
            ++votes[s[q]];
          } else if (state[q] == 0) {
            state[q] = 2;
            stack.push_back(uu * n1 + ww);
          }
        }
      }
      const auto best = static_cast<std::uint8_t>(
          std::max_element(votes.begin() + 1, votes.end()) - votes.begin());
      for (std::int64_t p : region)
        labels.values()[static_cast<std::size_t>(off(p / n1, p % n1, k))] = best;
      filled += static_cast<std::int64_t>(region.size());
    }
  }
  return filled;
}

// ---------------------------------------------------------------------------- Model

Model::Model(ModelInfo info, ForwardFn forward)
    : info_(std::make_shared<const ModelInfo>(std::move(info))), forward_(std::move(forward)) {
  CARDIOTWIN_CHECK(static_cast<bool>(forward_), InvalidInput, "segmentation model has no network",
                   "a callable", "an empty function", Where({}, "forward"));
}

std::vector<Image<float>> Model::probabilities(const Image<float>& image,
                                               const SegmentOptions& options) const {
  validate(options);
  if (options.threads > 0) set_num_threads(options.threads);
  const ModelInfo& info = *info_;
  const int axis = slice_axis(image, info);
  const int a0 = axis == 0 ? 1 : 0, a1 = axis == 2 ? 1 : 2;
  const auto& sh = image.shape();
  const std::int64_t n0 = sh[a0], n1 = sh[a1], ns = sh[axis];
  CARDIOTWIN_CHECK(n0 >= 2 && n1 >= 2, InvalidInput, "image too small for a 2-D model",
                   "slices of at least 2 x 2 voxels", n0 << " x " << n1 << " (slice axis " << axis << ")",
                   Where({}, "image"));
  const double s0 = image.spacing()[a0], s1 = image.spacing()[a1];
  const double t0 = info.spacing_mm[0], t1 = info.spacing_mm[1];
  const std::int64_t p0 = info.patch_size[0], p1 = info.patch_size[1];
  // model grid: model index u <-> input index u * t / s (voxel 0 stays in place)
  const std::int64_t m0 = static_cast<std::int64_t>(std::floor(static_cast<double>(n0 - 1) * s0 / t0 + 1e-6)) + 1;
  const std::int64_t m1 = static_cast<std::int64_t>(std::floor(static_cast<double>(n1 - 1) * s1 / t1 + 1e-6)) + 1;
  CARDIOTWIN_CHECK(m0 * m1 <= (std::int64_t{1} << 26), InvalidInput,
                   "slice too large at the model spacing", "at most 2^26 model voxels per slice",
                   m0 << " x " << m1, Where({}, "image"));
  const std::int64_t q0 = std::max(m0, p0), q1 = std::max(m1, p1);  // padded with zeros
  const std::size_t nc = info.output_channels.size();

  const std::vector<float> norm = normalise(image, info);
  // Gaussian window weights, floored so that window borders still count
  std::vector<float> weight(static_cast<std::size_t>(p0 * p1));
  for (std::int64_t u = 0; u < p0; ++u)
    for (std::int64_t w = 0; w < p1; ++w) {
      const double du = (static_cast<double>(u) - static_cast<double>(p0 - 1) / 2) / (options.gaussian_sigma * static_cast<double>(p0));
      const double dw = (static_cast<double>(w) - static_cast<double>(p1 - 1) / 2) / (options.gaussian_sigma * static_cast<double>(p1));
      weight[static_cast<std::size_t>(u * p1 + w)] = static_cast<float>(std::max(std::exp(-0.5 * (du * du + dw * dw)), 1e-3));
    }
  const auto step0 = std::max<std::int64_t>(1, std::llround(static_cast<double>(p0) * (1 - options.overlap)));
  const auto step1 = std::max<std::int64_t>(1, std::llround(static_cast<double>(p1) * (1 - options.overlap)));
  std::vector<std::pair<std::int64_t, std::int64_t>> windows;
  for (auto a : window_starts(q0, p0, step0))
    for (auto b : window_starts(q1, p1, step1)) windows.emplace_back(a, b);
  const int n_views = options.mirror ? 3 : 1;

  std::vector<Image<float>> out;
  for (std::size_t c = 0; c < nc; ++c) out.push_back(image.like<float>(0.0f));
  std::vector<float> slice(static_cast<std::size_t>(n0 * n1)), model_slice(static_cast<std::size_t>(q0 * q1));
  std::vector<float> acc(nc * static_cast<std::size_t>(q0 * q1)), wsum(static_cast<std::size_t>(q0 * q1));
  std::vector<float> batch_in, batch_out, prob(nc * static_cast<std::size_t>(m0 * m1));
  std::array<std::int64_t, 3> idx{};
  auto voxel = [&](std::int64_t u, std::int64_t w, std::int64_t k) {
    idx[static_cast<std::size_t>(a0)] = u;
    idx[static_cast<std::size_t>(a1)] = w;
    idx[static_cast<std::size_t>(axis)] = k;
    return static_cast<std::size_t>(image.offset(idx[0], idx[1], idx[2]));
  };
  const std::size_t psz = static_cast<std::size_t>(p0 * p1);
  for (std::int64_t k = 0; k < ns; ++k) {
    for (std::int64_t u = 0; u < n0; ++u)
      for (std::int64_t w = 0; w < n1; ++w) slice[static_cast<std::size_t>(u * n1 + w)] = norm[voxel(u, w, k)];
    std::fill(model_slice.begin(), model_slice.end(), 0.0f);
    for (std::int64_t u = 0; u < m0; ++u)
      for (std::int64_t w = 0; w < m1; ++w)
        model_slice[static_cast<std::size_t>(u * q1 + w)] = static_cast<float>(
            bilinear(slice.data(), n0, n1, static_cast<double>(u) * t0 / s0, static_cast<double>(w) * t1 / s1));
    std::fill(acc.begin(), acc.end(), 0.0f);
    std::fill(wsum.begin(), wsum.end(), 0.0f);
    const std::size_t per_call = static_cast<std::size_t>(std::max(1, options.batch / n_views));
    for (std::size_t first = 0; first < windows.size(); first += per_call) {
      const std::size_t nw = std::min(per_call, windows.size() - first);
      const std::size_t nb = nw * static_cast<std::size_t>(n_views);
      batch_in.assign(nb * psz, 0.0f);
      for (std::size_t b = 0; b < nw; ++b) {
        const auto [wa, wb] = windows[first + b];
        for (int view = 0; view < n_views; ++view) {
          float* dst = batch_in.data() + (b * static_cast<std::size_t>(n_views) + static_cast<std::size_t>(view)) * psz;
          for (std::int64_t u = 0; u < p0; ++u)
            for (std::int64_t w = 0; w < p1; ++w) {
              const std::int64_t su = view == 1 ? p0 - 1 - u : u, sw = view == 2 ? p1 - 1 - w : w;
              dst[u * p1 + w] = model_slice[static_cast<std::size_t>((wa + su) * q1 + wb + sw)];
            }
        }
      }
      std::int64_t out_ch = 0;
      forward_(batch_in, static_cast<std::int64_t>(nb), p0, p1, batch_out, out_ch);
      CARDIOTWIN_CHECK(out_ch == static_cast<std::int64_t>(nc), InvalidInput,
                       "model output channels do not match its labels",
                       nc << " channels (metadata 'output_channels')", out_ch << " channels",
                       Where({}, "output_channels"));
      CARDIOTWIN_CHECK(batch_out.size() == nb * nc * psz, InvalidInput, "bad model output size",
                       nb * nc * psz << " values", batch_out.size() << " values", Where({}, "model"));
      for (std::size_t b = 0; b < nw; ++b) {
        const auto [wa, wb] = windows[first + b];
        for (int view = 0; view < n_views; ++view) {
          const float* lg = batch_out.data() + (b * static_cast<std::size_t>(n_views) + static_cast<std::size_t>(view)) * nc * psz;
          for (std::int64_t u = 0; u < p0; ++u)
            for (std::int64_t w = 0; w < p1; ++w) {
              const std::size_t pix = static_cast<std::size_t>(u * p1 + w);
              float mx = lg[pix];
              for (std::size_t c = 1; c < nc; ++c) mx = std::max(mx, lg[c * psz + pix]);
              double z = 0;
              for (std::size_t c = 0; c < nc; ++c) z += std::exp(static_cast<double>(lg[c * psz + pix] - mx));
              const std::int64_t tu = view == 1 ? p0 - 1 - u : u, tw = view == 2 ? p1 - 1 - w : w;
              const std::size_t dst = static_cast<std::size_t>((wa + tu) * q1 + wb + tw);
              const float wgt = weight[static_cast<std::size_t>(tu * p1 + tw)] / static_cast<float>(n_views);
              for (std::size_t c = 0; c < nc; ++c)
                acc[c * static_cast<std::size_t>(q0 * q1) + dst] +=
                    wgt * static_cast<float>(std::exp(static_cast<double>(lg[c * psz + pix] - mx)) / z);
              wsum[dst] += wgt;
            }
        }
      }
    }
    for (std::size_t c = 0; c < nc; ++c)
      for (std::int64_t u = 0; u < m0; ++u)
        for (std::int64_t w = 0; w < m1; ++w) {
          const std::size_t src = static_cast<std::size_t>(u * q1 + w);
          prob[c * static_cast<std::size_t>(m0 * m1) + static_cast<std::size_t>(u * m1 + w)] =
              acc[c * static_cast<std::size_t>(q0 * q1) + src] / std::max(wsum[src], 1e-12f);
        }
    // back onto the input grid (bilinear, clamped at the border)
    for (std::size_t c = 0; c < nc; ++c) {
      const float* pc = prob.data() + c * static_cast<std::size_t>(m0 * m1);
      for (std::int64_t u = 0; u < n0; ++u)
        for (std::int64_t w = 0; w < n1; ++w)
          out[c].values()[voxel(u, w, k)] = static_cast<float>(
              bilinear(pc, m0, m1, static_cast<double>(u) * s0 / t0, static_cast<double>(w) * s1 / t1));
    }
  }
  return out;
}

SegmentResult Model::segment(const Image<float>& image, const SegmentOptions& options) const {
  const ModelInfo& info = *info_;
  const std::vector<Image<float>> prob = probabilities(image, options);
  SegmentResult r;
  r.labels = image.like<std::uint8_t>(0);
  auto& lv = r.labels.values();
  for (std::size_t q = 0; q < lv.size(); ++q) {
    std::size_t best = 0;
    for (std::size_t c = 1; c < prob.size(); ++c)
      if (prob[c].values()[q] > prob[best].values()[q]) best = c;
    lv[q] = static_cast<std::uint8_t>(info.channel_label(best));
  }
  if (options.largest_component) {
    for (const auto& [inner, outer] : info.enclosed_by)
      select_enclosed(r.labels, inner, outer, slice_axis(image, info));
    keep_largest_components(r.labels);
  }
  if (options.fill_holes) fill_holes(r.labels, slice_axis(image, info));
  const double voxel_ml = image.spacing().prod() / 1000.0;
  std::array<std::int64_t, 256> counts{};
  for (auto v : lv) ++counts[v];
  if (options.min_volume) {
    for (std::size_t l = 0; l < info.labels.size() && l < info.min_volume_ml.size(); ++l) {
      const auto v = static_cast<std::size_t>(info.labels[l].second);
      const double ml = static_cast<double>(counts[v]) * voxel_ml;
      if (v == 0 || counts[v] == 0 || ml >= info.min_volume_ml[l]) continue;
      for (auto& x : lv)
        if (x == static_cast<std::uint8_t>(v)) x = 0;
      counts[0] += counts[v];
      counts[v] = 0;
      std::ostringstream w;
      w << "label '" << info.labels[l].first << "' removed: " << ml << " mL is below the model's "
        << "plausible minimum of " << info.min_volume_ml[l] << " mL (min_volume_ml)";
      r.warnings.push_back(w.str());
    }
  }
  std::int64_t fg = 0;
  for (const auto& [name, v] : info.labels) {
    r.voxel_counts.push_back(counts[static_cast<std::size_t>(v)]);
    r.volumes_ml.push_back(static_cast<double>(counts[static_cast<std::size_t>(v)]) * voxel_ml);
    if (v != 0) {
      fg += counts[static_cast<std::size_t>(v)];
      if (counts[static_cast<std::size_t>(v)] == 0)
        r.warnings.push_back("label '" + name + "' (" + std::to_string(v) + ") was not found");
    }
  }
  r.empty = fg == 0;
  if (r.empty)
    r.warnings.insert(r.warnings.begin(),
                      "empty segmentation: no voxel was labelled (the image may not show the "
                      "structures this model was trained on, '" + info.name + "')");
  return r;
}

}  // namespace cardiotwin::segment
