#include "cardiotwin/mesh/label_map.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <set>
#include <sstream>

#include "cardiotwin/core/error.hpp"

namespace cardiotwin::mesh {

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

double voxel_volume(const LabelMap& m) { return m.spacing().prod() * std::abs(m.direction().determinant()); }

// Offsets of the voxel lines along `axis`: the first voxel of every line and the stride.
struct Lines {
  std::vector<std::int64_t> starts;
  std::int64_t stride = 1, length = 1;
};
Lines lines_along(const LabelMap::Shape& shape, int axis) {
  Lines l;
  const std::int64_t nx = shape[0], ny = shape[1], nz = shape[2];
  l.length = shape[axis];
  l.stride = axis == 0 ? 1 : axis == 1 ? nx : nx * ny;
  if (axis == 0) {
    for (std::int64_t k = 0; k < nz; ++k)
      for (std::int64_t j = 0; j < ny; ++j) l.starts.push_back(nx * (j + ny * k));
  } else if (axis == 1) {
    for (std::int64_t k = 0; k < nz; ++k)
      for (std::int64_t i = 0; i < nx; ++i) l.starts.push_back(i + nx * ny * k);
  } else {
    for (std::int64_t j = 0; j < ny; ++j)
      for (std::int64_t i = 0; i < nx; ++i) l.starts.push_back(i + nx * j);
  }
  return l;
}

// One-dimensional squared distance transform of sampled function f (spacing h) by the lower
// envelope of parabolas. Infinite samples never contribute; all-infinite input stays infinite.
void distance_1d(const double* f, double* d, std::int64_t n, double h, std::vector<std::int64_t>& v,
                 std::vector<double>& z) {
  v.resize(static_cast<std::size_t>(n));
  z.resize(static_cast<std::size_t>(n) + 1);
  std::int64_t k = -1;
  for (std::int64_t q = 0; q < n; ++q) {
    if (!std::isfinite(f[q])) continue;
    const double xq = q * h, fq = f[q] + xq * xq;
    double s = 0;
    while (k >= 0) {
      const double xv = v[k] * h;
      s = (fq - (f[v[k]] + xv * xv)) / (2 * (xq - xv));
      if (s > z[k]) break;
      --k;
    }
    ++k;
    v[k] = q;
    z[k] = k == 0 ? -std::numeric_limits<double>::infinity() : s;
    z[k + 1] = std::numeric_limits<double>::infinity();
  }
  if (k < 0) {
    std::fill(d, d + n, std::numeric_limits<double>::infinity());
    return;
  }
  std::int64_t j = 0;
  for (std::int64_t q = 0; q < n; ++q) {
    const double x = q * h;
    while (z[j + 1] < x) ++j;
    const double dx = x - v[j] * h;
    d[q] = dx * dx + f[v[j]];
  }
}

// Add to `mask` the pixels of each slice (perpendicular to `axis`) that are enclosed by it: those
// not reachable from the slice border through unmasked pixels (4-connectivity).
void fill_holes_in_slices(std::vector<char>& mask, const LabelMap::Shape& s, int axis) {
  const int b = axis == 0 ? 1 : 0, c = axis == 2 ? 1 : 2;
  const std::int64_t stride[3] = {1, s[0], s[0] * s[1]};
  const std::int64_t nb = s[b], nc = s[c];
  std::vector<char> outside(static_cast<std::size_t>(nb * nc));
  std::vector<std::int64_t> stack;
  for (std::int64_t k = 0; k < s[axis]; ++k) {
    auto at = [&](std::int64_t p, std::int64_t q) { return k * stride[axis] + p * stride[b] + q * stride[c]; };
    std::fill(outside.begin(), outside.end(), 0);
    stack.clear();
    auto push = [&](std::int64_t p, std::int64_t q) {
      if (p < 0 || q < 0 || p >= nb || q >= nc) return;
      const std::int64_t id = p + nb * q;
      if (outside[id] || mask[at(p, q)]) return;
      outside[id] = 1;
      stack.push_back(id);
    };
    for (std::int64_t p = 0; p < nb; ++p) push(p, 0), push(p, nc - 1);
    for (std::int64_t q = 0; q < nc; ++q) push(0, q), push(nb - 1, q);
    while (!stack.empty()) {
      const std::int64_t id = stack.back();
      stack.pop_back();
      const std::int64_t p = id % nb, q = id / nb;
      push(p - 1, q), push(p + 1, q), push(p, q - 1), push(p, q + 1);
    }
    for (std::int64_t q = 0; q < nc; ++q)
      for (std::int64_t p = 0; p < nb; ++p)
        if (!outside[p + nb * q]) mask[at(p, q)] = 1;
  }
}

}  // namespace

std::array<std::int64_t, 256> label_counts(const LabelMap& labels) {
  std::array<std::int64_t, 256> c{};
  for (const std::uint8_t v : labels.values()) ++c[v];
  return c;
}

std::map<int, double> label_volumes_mm3(const LabelMap& labels) {
  const auto c = label_counts(labels);
  const double vv = voxel_volume(labels);
  std::map<int, double> out;
  for (int l = 1; l < 256; ++l)
    if (c[l]) out[l] = c[l] * vv;
  return out;
}

std::string describe_labels(const LabelMap& labels) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(1);
  bool first = true;
  for (const auto& [l, v] : label_volumes_mm3(labels)) {
    s << (first ? "" : ", ") << "label " << l << " (" << v / 1000.0 << " mL)";
    first = false;
  }
  return first ? std::string("no non-zero label (the map is empty)") : s.str();
}

std::vector<int> check_labels_present(const LabelMap& labels, const std::vector<int>& wanted, const std::string& where) {
  const auto c = label_counts(labels);
  std::vector<int> out;
  if (wanted.empty()) {
    for (int l = 1; l < 256; ++l)
      if (c[l]) out.push_back(l);
    CARDIOTWIN_CHECK(!out.empty(), InvalidInput, "label map is empty", "at least one voxel with a non-zero label",
                     "only background (0)", Where({}, where));
    return out;
  }
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    const int l = wanted[i];
    CARDIOTWIN_CHECK(l >= 1 && l <= 255, InvalidInput, "bad label", "a label in 1..255 (0 is background)", l,
                     Where({}, where, static_cast<std::int64_t>(i)));
    CARDIOTWIN_CHECK(c[l] > 0, InvalidInput, "label absent from the label map", "voxels with label " << l,
                     "none; present: " << describe_labels(labels), Where({}, where, static_cast<std::int64_t>(i)));
    out.push_back(l);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

VoxelBox label_bounding_box(const LabelMap& labels, const std::vector<int>& wanted) {
  std::array<bool, 256> in{};
  for (const int l : wanted)
    if (l >= 0 && l < 256) in[l] = true;
  const auto& s = labels.shape();
  VoxelBox b;
  b.begin = {s[0], s[1], s[2]};
  b.end = {0, 0, 0};
  for (std::int64_t k = 0; k < s[2]; ++k)
    for (std::int64_t j = 0; j < s[1]; ++j) {
      const std::uint8_t* row = labels.data() + labels.offset(0, j, k);
      for (std::int64_t i = 0; i < s[0]; ++i)
        if (in[row[i]]) {
          const std::int64_t idx[3] = {i, j, k};
          for (int a = 0; a < 3; ++a) {
            b.begin[a] = std::min(b.begin[a], idx[a]);
            b.end[a] = std::max(b.end[a], idx[a] + 1);
          }
        }
    }
  if (b.empty()) b = VoxelBox{};
  return b;
}

LabelMap crop(const LabelMap& labels, VoxelBox box, std::int64_t margin) {
  CARDIOTWIN_CHECK(!box.empty(), InvalidInput, "empty crop box", "a box with at least one voxel", "an empty box",
                   Where({}, "box"));
  const auto& s = labels.shape();
  for (int a = 0; a < 3; ++a) {
    box.begin[a] = std::max<std::int64_t>(0, box.begin[a] - margin);
    box.end[a] = std::min<std::int64_t>(s[a], box.end[a] + margin);
  }
  CARDIOTWIN_CHECK(!box.empty(), InvalidInput, "crop box outside the image", "a box overlapping the image",
                   "no overlap", Where({}, "box"));
  const Eigen::Vector3d origin =
      labels.index_to_world(Eigen::Vector3d(double(box.begin[0]), double(box.begin[1]), double(box.begin[2])));
  LabelMap out({box.extent(0), box.extent(1), box.extent(2)}, labels.spacing(), origin, labels.direction());
  for (std::int64_t k = 0; k < box.extent(2); ++k)
    for (std::int64_t j = 0; j < box.extent(1); ++j) {
      const std::uint8_t* src = labels.data() + labels.offset(box.begin[0], box.begin[1] + j, box.begin[2] + k);
      std::copy(src, src + box.extent(0), out.data() + out.offset(0, j, k));
    }
  return out;
}

std::vector<float> squared_distance_transform(const LabelMap& labels, const std::vector<char>& inside,
                                              const std::vector<int>& axes) {
  CARDIOTWIN_CHECK(static_cast<std::int64_t>(inside.size()) == labels.size(), InvalidInput, "mask size mismatch",
                   labels.size() << " voxels", inside.size(), Where({}, "inside"));
  std::vector<float> g(inside.size());
  for (std::size_t v = 0; v < inside.size(); ++v) g[v] = inside[v] ? 0.0f : kInf;
  std::vector<double> f, d;
  std::vector<std::int64_t> env;
  std::vector<double> z;
  for (const int axis : axes) {
    CARDIOTWIN_CHECK(axis >= 0 && axis < 3, InvalidInput, "bad axis", "0, 1 or 2", axis, Where({}, "axes"));
    const Lines l = lines_along(labels.shape(), axis);
    f.resize(static_cast<std::size_t>(l.length));
    d.resize(static_cast<std::size_t>(l.length));
    for (const std::int64_t start : l.starts) {
      for (std::int64_t q = 0; q < l.length; ++q) f[q] = g[start + q * l.stride];
      distance_1d(f.data(), d.data(), l.length, labels.spacing()[axis], env, z);
      for (std::int64_t q = 0; q < l.length; ++q) g[start + q * l.stride] = static_cast<float>(d[q]);
    }
  }
  return g;
}

LabelMap interpolate_slices(const LabelMap& labels, double max_anisotropy, double target_spacing_mm,
                            SliceInterpolation* info) {
  CARDIOTWIN_CHECK(max_anisotropy >= 1, InvalidInput, "bad anisotropy threshold", ">= 1", max_anisotropy,
                   Where({}, "max_anisotropy"));
  const Eigen::Vector3d& sp = labels.spacing();
  int axis = 0;
  for (int a = 1; a < 3; ++a)
    if (sp[a] > sp[axis]) axis = a;
  const double finest = sp.minCoeff();
  SliceInterpolation meta;
  meta.spacing_before_mm = meta.spacing_after_mm = sp[axis];
  if (info) *info = meta;
  if (sp[axis] <= max_anisotropy * finest * (1 + 1e-9)) return labels;
  const double target = target_spacing_mm > 0 ? target_spacing_mm : finest;
  const std::int64_t n = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(sp[axis] / target - 1e-9)));
  if (n == 1) return labels;
  meta.axis = axis;
  meta.factor = n;
  meta.spacing_after_mm = sp[axis] / n;
  if (info) *info = meta;

  const auto& s = labels.shape();
  const int b = axis == 0 ? 1 : 0, c = axis == 2 ? 1 : 2;  // in-plane axes
  LabelMap::Shape new_shape = s;
  new_shape[axis] = s[axis] * n;
  Eigen::Vector3d new_spacing = sp;
  new_spacing[axis] = sp[axis] / n;
  Eigen::Vector3d first = Eigen::Vector3d::Zero();
  first[axis] = -0.5 + 0.5 / double(n);  // new voxels tile each original slab
  LabelMap out(new_shape, new_spacing, labels.index_to_world(first), labels.direction(), 0);
  std::vector<float> best(static_cast<std::size_t>(out.size()), 0.0f);

  const std::int64_t stride[3] = {1, s[0], s[0] * s[1]};
  const std::int64_t out_stride[3] = {1, new_shape[0], new_shape[0] * new_shape[1]};
  const auto counts = label_counts(labels);
  std::vector<int> present_labels;
  for (int l = 1; l < 256; ++l)
    if (counts[l]) present_labels.push_back(l);
  // Filled shapes, and how deep each label is nested: label A lies inside label B when most of A's
  // voxels are in B's holes. A deeper label wins where shapes overlap after interpolation.
  std::vector<std::vector<char>> filled(present_labels.size());
  for (std::size_t a = 0; a < present_labels.size(); ++a) {
    auto& f = filled[a];
    f.resize(static_cast<std::size_t>(labels.size()));
    for (std::size_t v = 0; v < f.size(); ++v) f[v] = labels.values()[v] == present_labels[a];
    fill_holes_in_slices(f, s, axis);
  }
  std::vector<int> depth(present_labels.size(), 0);
  for (std::size_t a = 0; a < present_labels.size(); ++a)
    for (std::size_t bb = 0; bb < present_labels.size(); ++bb) {
      if (a == bb) continue;
      std::int64_t inside = 0;
      for (std::size_t v = 0; v < filled[bb].size(); ++v)
        inside += filled[bb][v] && labels.values()[v] == present_labels[a];
      if (2 * inside > counts[present_labels[a]]) ++depth[a];
    }
  std::vector<std::int8_t> best_depth(best.size(), -1);
  for (std::size_t a = 0; a < present_labels.size(); ++a) {
    const int l = present_labels[a];
    std::vector<char>& in = filled[a];
    const std::vector<float> d_out = squared_distance_transform(labels, in, {b, c});
    for (auto& x : in) x = !x;
    const std::vector<float> d_in = squared_distance_transform(labels, in, {b, c});
    std::vector<float> phi(in.size());
    // Finite stand-in for "no such voxel in this slice" so that 0 * distance stays 0.
    const float far = static_cast<float>(1e3 * (sp.maxCoeff() * double(s[0] + s[1] + s[2])));
    std::vector<char> present(static_cast<std::size_t>(s[axis]), 0);
    for (std::size_t v = 0; v < phi.size(); ++v) {
      phi[v] = std::min(std::sqrt(d_out[v]), far) - std::min(std::sqrt(d_in[v]), far);
      if (!in[v]) present[(static_cast<std::int64_t>(v) / stride[axis]) % s[axis]] = 1;  // `in` now holds the complement
    }
    std::vector<char>().swap(in);
    const auto dl = static_cast<std::int8_t>(std::min(depth[a], 127));
    for (std::int64_t kk = 0; kk < new_shape[axis]; ++kk) {
      const double u = (kk + 0.5) / double(n) - 0.5;  // position in original slice units
      const std::int64_t k0 = static_cast<std::int64_t>(std::floor(u));
      const double t = u - k0;
      const bool has0 = k0 >= 0 && present[k0], has1 = k0 + 1 < s[axis] && present[k0 + 1];
      if (!has0 && !has1) continue;
      for (std::int64_t q = 0; q < s[c]; ++q)
        for (std::int64_t p = 0; p < s[b]; ++p) {
          const std::int64_t in_plane = p * stride[b] + q * stride[c];
          double value;
          if (has0 && has1)
            value = (1 - t) * phi[in_plane + k0 * stride[axis]] + t * phi[in_plane + (k0 + 1) * stride[axis]];
          else if (has0)  // extrude slice k0 and cap it half a slice past its centre
            value = std::max<double>(phi[in_plane + k0 * stride[axis]], (t - 0.5) * sp[axis]);
          else
            value = std::max<double>(phi[in_plane + (k0 + 1) * stride[axis]], (0.5 - t) * sp[axis]);
          const std::int64_t o = p * out_stride[b] + q * out_stride[c] + kk * out_stride[axis];
          // The deepest shape containing the voxel wins; among equally deep ones the one it is
          // deepest inside.
          if (value < 0 && (dl > best_depth[o] || (dl == best_depth[o] && value < best[o]))) {
            best[o] = static_cast<float>(value);
            best_depth[o] = dl;
            out.values()[o] = static_cast<std::uint8_t>(l);
          }
        }
    }
  }
  return out;
}

nlohmann::json IslandRemoval::to_json() const {
  return {{"label", label},
          {"components", components},
          {"removed_components", removed_components},
          {"removed_voxels", removed_voxels},
          {"removed_volume_mm3", removed_volume_mm3},
          {"removed_fraction", removed_fraction}};
}

std::string IslandRemoval::message() const {
  std::ostringstream s;
  s << "label " << label << ": removed " << removed_components << " of " << components
    << " connected components, " << removed_voxels << " voxels (" << std::setprecision(3)
    << removed_volume_mm3 / 1000.0 << " mL, " << 100.0 * removed_fraction << "% of the label)";
  return s.str();
}

std::vector<IslandRemoval> remove_islands(LabelMap& labels, const std::vector<int>& wanted, double min_fraction) {
  CARDIOTWIN_CHECK(min_fraction >= 0 && min_fraction <= 1, InvalidInput, "bad island threshold",
                   "a fraction in [0, 1]", min_fraction, Where({}, "min_island_fraction"));
  const auto& s = labels.shape();
  const std::int64_t nx = s[0], ny = s[1], nz = s[2];
  std::vector<IslandRemoval> report;
  std::vector<char> seen(static_cast<std::size_t>(labels.size()), 0);
  auto& v = labels.values();
  auto neighbours = [&](std::int64_t o, auto&& visit) {
    const std::int64_t i = o % nx, j = (o / nx) % ny, k = o / (nx * ny);
    if (i > 0) visit(o - 1);
    if (i + 1 < nx) visit(o + 1);
    if (j > 0) visit(o - nx);
    if (j + 1 < ny) visit(o + nx);
    if (k > 0) visit(o - nx * ny);
    if (k + 1 < nz) visit(o + nx * ny);
  };
  const double vv = voxel_volume(labels);
  for (const int l : wanted) {
    IslandRemoval r;
    r.label = l;
    std::vector<std::vector<std::int64_t>> comps;
    std::int64_t total = 0;
    for (std::int64_t o = 0; o < labels.size(); ++o) {
      if (v[o] != l || seen[o]) continue;
      std::vector<std::int64_t> comp{o};
      seen[o] = 1;
      for (std::size_t h = 0; h < comp.size(); ++h)
        neighbours(comp[h], [&](std::int64_t q) {
          if (v[q] == l && !seen[q]) {
            seen[q] = 1;
            comp.push_back(q);
          }
        });
      total += static_cast<std::int64_t>(comp.size());
      comps.push_back(std::move(comp));
    }
    r.components = static_cast<std::int64_t>(comps.size());
    std::size_t largest = 0;
    for (const auto& comp : comps) largest = std::max(largest, comp.size());
    for (auto& comp : comps) {
      if (static_cast<double>(comp.size()) >= min_fraction * static_cast<double>(largest)) continue;
      std::array<std::int64_t, 256> around{};
      for (const std::int64_t o : comp)
        neighbours(o, [&](std::int64_t q) {
          if (v[q] != l) ++around[v[q]];
        });
      const int fill = static_cast<int>(std::max_element(around.begin(), around.end()) - around.begin());
      for (const std::int64_t o : comp) v[o] = static_cast<std::uint8_t>(fill);
      ++r.removed_components;
      r.removed_voxels += static_cast<std::int64_t>(comp.size());
    }
    r.removed_volume_mm3 = r.removed_voxels * vv;
    r.removed_fraction = total ? double(r.removed_voxels) / double(total) : 0.0;
    report.push_back(r);
  }
  return report;
}

std::int64_t grow_wall(LabelMap& labels, int source_label, double thickness_mm, int new_label,
                       const std::vector<int>& into) {
  CARDIOTWIN_CHECK(std::isfinite(thickness_mm) && thickness_mm > 0, InvalidInput, "bad wall thickness", "> 0 mm",
                   thickness_mm, Where({}, "thickness_mm"));
  CARDIOTWIN_CHECK(new_label >= 1 && new_label <= 255, InvalidInput, "bad wall label", "a label in 1..255",
                   new_label, Where({}, "new_label"));
  check_labels_present(labels, {source_label}, "source_label");
  std::array<bool, 256> target{};
  for (const int l : into)
    if (l >= 0 && l < 256) target[l] = true;
  std::vector<char> inside(static_cast<std::size_t>(labels.size()));
  for (std::size_t o = 0; o < inside.size(); ++o) inside[o] = labels.values()[o] == source_label;
  const std::vector<float> d2 = squared_distance_transform(labels, inside);
  const double t2 = thickness_mm * thickness_mm;
  std::int64_t changed = 0;
  for (std::size_t o = 0; o < inside.size(); ++o)
    if (target[labels.values()[o]] && !inside[o] && d2[o] <= t2) {
      labels.values()[o] = static_cast<std::uint8_t>(new_label);
      ++changed;
    }
  return changed;
}

namespace {
// Separable Gaussian blur in place (replicated borders); sigma in voxels per axis.
void gaussian_blur(std::vector<float>& f, const LabelMap::Shape& shape, const Eigen::Vector3d& sigma_vox) {
  std::vector<float> line, outl;
  for (int axis = 0; axis < 3; ++axis) {
    const double sg = sigma_vox[axis];
    if (sg < 0.1 || shape[axis] < 2) continue;
    const int r = static_cast<int>(std::ceil(3 * sg));
    std::vector<float> w(2 * r + 1);
    double sum = 0;
    for (int i = -r; i <= r; ++i) sum += (w[i + r] = static_cast<float>(std::exp(-0.5 * i * i / (sg * sg))));
    for (auto& x : w) x = static_cast<float>(x / sum);
    const Lines l = lines_along(shape, axis);
    line.resize(static_cast<std::size_t>(l.length));
    outl.resize(line.size());
    const std::int64_t n = l.length;
    for (const std::int64_t start : l.starts) {
      for (std::int64_t q = 0; q < n; ++q) line[q] = f[start + q * l.stride];
      for (std::int64_t q = 0; q < n; ++q) {
        float acc = 0;
        for (int i = -r; i <= r; ++i) acc += w[i + r] * line[std::clamp<std::int64_t>(q + i, 0, n - 1)];
        outl[q] = acc;
      }
      for (std::int64_t q = 0; q < n; ++q) f[start + q * l.stride] = outl[q];
    }
  }
}
}  // namespace

Image<std::uint8_t> label_weights(const LabelMap& labels, const std::vector<int>& wanted, double sigma_mm) {
  CARDIOTWIN_CHECK(std::isfinite(sigma_mm) && sigma_mm >= 0, InvalidInput, "bad smoothing sigma", ">= 0 mm",
                   sigma_mm, Where({}, "smooth_sigma_mm"));
  Image<std::uint8_t> out = labels.like<std::uint8_t>(255);
  std::array<int, 256> cls{};  // 0 = background class, i + 1 = wanted[i]
  for (std::size_t i = 0; i < wanted.size(); ++i)
    if (wanted[i] > 0 && wanted[i] < 256) cls[wanted[i]] = static_cast<int>(i) + 1;
  const Eigen::Vector3d sigma_vox = Eigen::Vector3d::Constant(sigma_mm).cwiseQuotient(labels.spacing());
  std::vector<float> f(static_cast<std::size_t>(labels.size())), best(f.size(), 0.0f);
  const int classes = static_cast<int>(wanted.size()) + 1;
  for (int c = 0; c < classes; ++c) {
    if (classes == 2 && c == 1) {  // two classes: the other blurred indicator is 255 minus this one
      for (std::size_t o = 0; o < f.size(); ++o) best[o] = std::max(best[o], 255.0f - f[o]);
      break;
    }
    for (std::size_t o = 0; o < f.size(); ++o) f[o] = cls[labels.values()[o]] == c ? 255.0f : 0.0f;
    gaussian_blur(f, labels.shape(), sigma_vox);
    for (std::size_t o = 0; o < f.size(); ++o) best[o] = std::max(best[o], f[o]);
  }
  for (std::size_t o = 0; o < f.size(); ++o)
    out.values()[o] = static_cast<std::uint8_t>(std::clamp(std::lround(best[o]), 0L, 255L));
  return out;
}

}  // namespace cardiotwin::mesh
