#include "cardiotwin/ecg/forward.hpp"

#include <omp.h>

#include <Eigen/Geometry>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/core/json.hpp"
#include "cardiotwin/ep/eikonal.hpp"
#include "cardiotwin/ep/fem.hpp"
#include "cardiotwin/io/vtk.hpp"

namespace cardiotwin::ecg {

namespace {

constexpr double kPi = 3.14159265358979323846;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

nlohmann::json vec_json(const Eigen::Vector3d& v) { return nlohmann::json::array({v[0], v[1], v[2]}); }

Eigen::Vector3d json_vec(const nlohmann::json& j, const std::string& where) {
  CARDIOTWIN_CHECK(j.is_array() && j.size() == 3 && j[0].is_number() && j[1].is_number() && j[2].is_number(),
                   InvalidInput, "bad option", "an array of 3 numbers (sigma along fibre, sheet, normal)",
                   j.dump(), Where({}, where));
  return {j[0].get<double>(), j[1].get<double>(), j[2].get<double>()};
}

}  // namespace

// ---- ElectrodeWeights ---------------------------------------------------------------------------

Eigen::VectorXd ElectrodeWeights::potentials(const Eigen::Ref<const Eigen::VectorXd>& vm) const {
  CARDIOTWIN_CHECK(vm.size() == weights.cols(), InvalidInput, "Vm does not match the ECG weights",
                   weights.cols() << " values (one per heart node)", vm.size() << " values", Where({}, "vm"));
  return weights * vm;
}

namespace {

constexpr int kGroup = 16;          // electrodes per pass (accumulators in registers)
constexpr Eigen::Index kNodeBlock = 1024;  // nodes per work item: the weights block stays in L1/L2

// out[f * stride + e] += sum over the block's nodes i of w[i * kGroup + e] * x_f[i], for every
// frame f. The node block of the weights is reused for all frames, so each frame value is read
// once from memory and the weights once per block. Compiled for AVX2+FMA too (chosen at run time).
using Pack4 = double __attribute__((vector_size(32)));  // 4 doubles: one AVX register, or two SSE2
// The same, for loads from addresses aligned to a double only.
using Pack4u = double __attribute__((vector_size(32), aligned(8), may_alias));

__attribute__((target_clones("arch=x86-64-v3", "default"))) void accumulate_block(
    const double* w, Eigen::Index m, const double* frames, Eigen::Index frame_stride, Eigen::Index num_frames,
    double* out, Eigen::Index out_stride) {
  static_assert(kGroup == 16, "the kernel holds 16 electrodes in four packs");
  for (Eigen::Index f = 0; f < num_frames; ++f) {
    const double* x = frames + f * frame_stride;
    // Two nodes per iteration into separate accumulators: eight independent FMA chains.
    Pack4 a0{}, a1{}, a2{}, a3{}, b0{}, b1{}, b2{}, b3{};
    Eigen::Index i = 0;
    for (; i + 1 < m; i += 2) {
      const double* wi = w + i * kGroup;
      const Pack4 xa = Pack4{} + x[i], xb = Pack4{} + x[i + 1];
      a0 += *reinterpret_cast<const Pack4u*>(wi) * xa;
      a1 += *reinterpret_cast<const Pack4u*>(wi + 4) * xa;
      a2 += *reinterpret_cast<const Pack4u*>(wi + 8) * xa;
      a3 += *reinterpret_cast<const Pack4u*>(wi + 12) * xa;
      b0 += *reinterpret_cast<const Pack4u*>(wi + 16) * xb;
      b1 += *reinterpret_cast<const Pack4u*>(wi + 20) * xb;
      b2 += *reinterpret_cast<const Pack4u*>(wi + 24) * xb;
      b3 += *reinterpret_cast<const Pack4u*>(wi + 28) * xb;
    }
    if (i < m) {
      const double* wi = w + i * kGroup;
      const Pack4 xa = Pack4{} + x[i];
      a0 += *reinterpret_cast<const Pack4u*>(wi) * xa;
      a1 += *reinterpret_cast<const Pack4u*>(wi + 4) * xa;
      a2 += *reinterpret_cast<const Pack4u*>(wi + 8) * xa;
      a3 += *reinterpret_cast<const Pack4u*>(wi + 12) * xa;
    }
    const Pack4 sum[4] = {a0 + b0, a1 + b1, a2 + b2, a3 + b3};
    double* o = out + f * out_stride;
    for (int k = 0; k < 4; ++k)
      for (int e = 0; e < 4; ++e) o[4 * k + e] += sum[k][e];
  }
}

}  // namespace

namespace {

// Frames of a node block: fills (or points to) Vm of nodes [lo, lo + m) for frames [f0, f0 + nf),
// frame f at ptr[(f - f0) * stride + i]; `scratch` holds kNodeBlock * nf values if needed.
using BlockFrames = std::function<const double*(Eigen::Index lo, Eigen::Index m, Eigen::Index f0, Eigen::Index nf,
                                                double* scratch, Eigen::Index& stride)>;

Signals apply_blocks(const ElectrodeWeights& ew, const Eigen::Ref<const Eigen::VectorXd>& time_ms,
                     Eigen::Index frame_chunk, const BlockFrames& frames) {
  const Eigen::Index num_frames = time_ms.size(), n = ew.weights.cols(), ne = ew.weights.rows();
  const Eigen::Index groups = (ne + kGroup - 1) / kGroup, padded = groups * kGroup;
  const Eigen::Index blocks = (n + kNodeBlock - 1) / kNodeBlock;
  frame_chunk = std::max<Eigen::Index>(1, std::min(frame_chunk, num_frames));
  // Threads split the node blocks (static, so the sums are deterministic for a thread count);
  // each accumulates all frames in its own buffer, added in thread order at the end.
  const int nt = static_cast<int>(std::max<Eigen::Index>(1, std::min<Eigen::Index>(omp_get_max_threads(), blocks)));
  std::vector<std::vector<double>> partial(static_cast<std::size_t>(nt));
#pragma omp parallel num_threads(nt)
  {
    auto& acc = partial[static_cast<std::size_t>(omp_get_thread_num())];
    acc.assign(static_cast<std::size_t>(num_frames * padded), 0.0);
    std::vector<double> w(static_cast<std::size_t>(kNodeBlock * kGroup));
    std::vector<double> scratch;
#pragma omp for schedule(static)
    for (Eigen::Index b = 0; b < blocks; ++b) {
      const Eigen::Index lo = b * kNodeBlock, m = std::min(kNodeBlock, n - lo);
      for (Eigen::Index f0 = 0; f0 < num_frames; f0 += frame_chunk) {
        const Eigen::Index nf = std::min(frame_chunk, num_frames - f0);
        Eigen::Index stride = 0;
        if (scratch.size() < static_cast<std::size_t>(kNodeBlock * nf))
          scratch.resize(static_cast<std::size_t>(kNodeBlock * nf));
        const double* x = frames(lo, m, f0, nf, scratch.data(), stride);
        for (Eigen::Index g = 0; g < groups; ++g) {
          if (f0 == 0 || groups > 1)
            for (int e = 0; e < kGroup; ++e) {
              const Eigen::Index row = g * kGroup + e;
              for (Eigen::Index i = 0; i < m; ++i)
                w[static_cast<std::size_t>(i * kGroup + e)] = row < ne ? ew.weights(row, lo + i) : 0.0;
            }
          accumulate_block(w.data(), m, x, stride, nf, acc.data() + f0 * padded + g * kGroup, padded);
        }
      }
    }
  }
  Signals s;
  s.time_ms = time_ms;
  s.names = ew.names;
  s.values = Field::Zero(num_frames, ne);
  for (const auto& acc : partial)
    for (Eigen::Index f = 0; f < num_frames; ++f)
      for (Eigen::Index e = 0; e < ne; ++e) s.values(f, e) += acc[static_cast<std::size_t>(f * padded + e)];
  s.units = "mV";
  s.metadata = ew.metadata;
  validate_signals(s);
  return s;
}

}  // namespace

Signals ElectrodeWeights::apply(const Eigen::Ref<const Eigen::VectorXd>& time_ms,
                                const Eigen::Ref<const Field>& vm_frames) const {
  CARDIOTWIN_CHECK(vm_frames.cols() == weights.cols(), InvalidInput, "Vm frames do not match the ECG weights",
                   weights.cols() << " columns (one per heart node)", vm_frames.cols() << " columns",
                   Where({}, "vm_frames"));
  CARDIOTWIN_CHECK(vm_frames.rows() == time_ms.size(), InvalidInput, "mismatched time axis",
                   time_ms.size() << " frames (one per time)", vm_frames.rows() << " frames", Where({}, "vm_frames"));
  // The frames are read in place: all of them per node block.
  return apply_blocks(*this, time_ms, time_ms.size(),
                      [&](Eigen::Index lo, Eigen::Index, Eigen::Index f0, Eigen::Index, double*, Eigen::Index& stride) {
                        stride = vm_frames.outerStride();
                        return vm_frames.data() + f0 * stride + lo;
                      });
}

Signals ElectrodeWeights::apply(const Eigen::Ref<const Eigen::VectorXd>& time_ms, const ep::EikonalModel& model) const {
  CARDIOTWIN_CHECK(model.num_nodes() == weights.cols(), InvalidInput, "model does not match the ECG weights",
                   weights.cols() << " nodes", model.num_nodes() << " nodes", Where({}, "model"));
  for (Eigen::Index k = 0; k < time_ms.size(); ++k)
    CARDIOTWIN_CHECK(std::isfinite(time_ms[k]), InvalidInput, "bad time", "finite times in ms", time_ms[k],
                     Where({}, "time_ms", k));
  // Vm is computed per node block and chunk of frames, used while in cache, and dropped.
  constexpr Eigen::Index kFrames = 64;
  return apply_blocks(*this, time_ms, kFrames,
                      [&](Eigen::Index lo, Eigen::Index m, Eigen::Index f0, Eigen::Index nf, double* scratch,
                          Eigen::Index& stride) {
                        stride = kNodeBlock;
                        model.vm_block(time_ms.data() + f0, nf, lo, m, scratch, stride);
                        return static_cast<const double*>(scratch);
                      });
}

// ---- options ------------------------------------------------------------------------------------

nlohmann::json PseudoEcgOptions::to_json() const {
  nlohmann::json regions = nlohmann::json::object();
  for (const auto& [tag, s] : region_sigma_i) regions[std::to_string(tag)] = vec_json(s);
  return {{"version", kVersion},           {"sigma_i", vec_json(sigma_i)},
          {"region_sigma_i", regions},     {"sigma_bath", sigma_bath},
          {"near_field_factor", near_field_factor}, {"min_distance_mm", min_distance_mm},
          {"threads", threads}};
}

PseudoEcgOptions PseudoEcgOptions::from_json(const nlohmann::json& j) {
  PseudoEcgOptions o;
  JsonReader r(j, "pseudo_ecg");
  int version = kVersion;
  r.get("version", version);
  CARDIOTWIN_CHECK(version == kVersion, InvalidInput, "unsupported options version", kVersion, version,
                   Where({}, "pseudo_ecg.version"));
  if (const auto* s = r.raw("sigma_i")) o.sigma_i = json_vec(*s, "pseudo_ecg.sigma_i");
  if (const auto* reg = r.raw("region_sigma_i")) {
    CARDIOTWIN_CHECK(reg->is_object(), InvalidInput, "bad option", "an object {tag: [sl, st, sn]}", reg->dump(),
                     Where({}, "pseudo_ecg.region_sigma_i"));
    for (const auto& [key, value] : reg->items()) {
      Index tag = 0;
      try {
        std::size_t used = 0;
        tag = static_cast<Index>(std::stoi(key, &used));
        if (used != key.size()) throw std::invalid_argument(key);
      } catch (const std::exception&) {
        CARDIOTWIN_CHECK(false, InvalidInput, "bad region tag", "an integer", "'" << key << "'",
                         Where({}, "pseudo_ecg.region_sigma_i"));
      }
      o.region_sigma_i[tag] = json_vec(value, "pseudo_ecg.region_sigma_i." + key);
    }
  }
  r.get("sigma_bath", o.sigma_bath);
  r.get("near_field_factor", o.near_field_factor);
  r.get("min_distance_mm", o.min_distance_mm);
  r.get("threads", o.threads);
  r.finish();
  o.validate();
  return o;
}

void PseudoEcgOptions::validate() const {
  auto check_sigma = [](const Eigen::Vector3d& s, const std::string& where) {
    CARDIOTWIN_CHECK(s.allFinite() && s.minCoeff() > 0, InvalidInput, "bad conductivity", "positive values (S/m)",
                     s.transpose(), Where({}, where));
  };
  check_sigma(sigma_i, "sigma_i");
  for (const auto& [tag, s] : region_sigma_i) check_sigma(s, "region_sigma_i." + std::to_string(tag));
  CARDIOTWIN_CHECK(std::isfinite(sigma_bath) && sigma_bath > 0, InvalidInput, "bad conductivity", "> 0 S/m",
                   sigma_bath, Where({}, "sigma_bath"));
  CARDIOTWIN_CHECK(std::isfinite(near_field_factor) && near_field_factor >= 0, InvalidInput, "bad option", ">= 0",
                   near_field_factor, Where({}, "near_field_factor"));
  CARDIOTWIN_CHECK(std::isfinite(min_distance_mm) && min_distance_mm >= 0, InvalidInput, "bad option", ">= 0 mm",
                   min_distance_mm, Where({}, "min_distance_mm"));
  CARDIOTWIN_CHECK(threads >= 0, InvalidInput, "bad option", ">= 0", threads, Where({}, "threads"));
}

// ---- closed-form integrals ----------------------------------------------------------------------

double triangle_inverse_distance_integral(const Eigen::Vector3d& a, const Eigen::Vector3d& b,
                                          const Eigen::Vector3d& c, const Eigen::Vector3d& p) {
  // Wilton et al. 1984: with rho the projection of p on the plane, d its height, and per edge the
  // outward in-plane normal m, the signed distance t0 of rho to the edge line and the coordinates
  // l-/l+ of the edge ends along it:
  //   I = sum t0 ln((R+ + l+) / (R- + l-)) - |d| sum [atan(t0 l+ / (R0^2 + |d| R+)) - atan(t0 l- / (R0^2 + |d| R-))].
  Eigen::Vector3d n = (b - a).cross(c - a);
  const double twice_area = n.norm();
  if (!(twice_area > 0)) return 0;
  n /= twice_area;
  const double d = (p - a).dot(n), ad = std::abs(d);
  const Eigen::Vector3d rho = p - d * n;
  const Eigen::Vector3d v[3] = {a, b, c};
  double sum = 0;
  for (int i = 0; i < 3; ++i) {
    const Eigen::Vector3d& A = v[i];
    const Eigen::Vector3d& B = v[(i + 1) % 3];
    Eigen::Vector3d s = B - A;
    const double len = s.norm();
    s /= len;
    const Eigen::Vector3d m = s.cross(n);
    const double t0 = (A - rho).dot(m);
    if (std::abs(t0) <= 1e-14 * len) continue;  // the edge's terms carry a factor t0
    const double lm = (A - rho).dot(s), lp = (B - rho).dot(s);
    const double Rm = (p - A).norm(), Rp = (p - B).norm();
    const double R02 = t0 * t0 + d * d;
    // ln(R + l) without cancellation for l < 0: (R + l)(R - l) = R0^2.
    auto log_rl = [R02](double l, double R) { return l >= 0 ? std::log(R + l) : std::log(R02 / (R - l)); };
    sum += t0 * (log_rl(lp, Rp) - log_rl(lm, Rm));
    if (ad > 0) sum -= ad * (std::atan(t0 * lp / (R02 + ad * Rp)) - std::atan(t0 * lm / (R02 + ad * Rm)));
  }
  return sum;
}

Eigen::Vector3d tet_inverse_distance_gradient_integral(const Eigen::Vector3d& a, const Eigen::Vector3d& b,
                                                       const Eigen::Vector3d& c, const Eigen::Vector3d& d,
                                                       const Eigen::Vector3d& p) {
  // Divergence theorem: integral over the tet of grad f = sum over faces of n_out integral of f.
  const Eigen::Vector3d v[4] = {a, b, c, d};
  Eigen::Vector3d g = Eigen::Vector3d::Zero();
  for (int k = 0; k < 4; ++k) {
    const Eigen::Vector3d& q0 = v[(k + 1) % 4];
    const Eigen::Vector3d& q1 = v[(k + 2) % 4];
    const Eigen::Vector3d& q2 = v[(k + 3) % 4];
    Eigen::Vector3d n = (q1 - q0).cross(q2 - q0);
    const double nn = n.norm();
    if (!(nn > 0)) continue;
    n /= nn;
    if (n.dot(v[k] - q0) > 0) n = -n;  // away from the opposite vertex
    g += n * triangle_inverse_distance_integral(q0, q1, q2, p);
  }
  return g;
}

// ---- pseudo-ECG ---------------------------------------------------------------------------------

ElectrodeWeights pseudo_ecg_weights(const TetMesh& heart, const Electrodes& electrodes,
                                    const PseudoEcgOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  options.validate();
  validate_electrodes(electrodes);
  CARDIOTWIN_CHECK(heart.num_tets() > 0, InvalidInput, "empty heart mesh", "tets", "none", Where({}, "heart"));
  const ep::TetGeometry geo = ep::tet_geometry(heart);
  const ep::TensorField sigma = ep::conductivity_tensors(heart, options.sigma_i, options.region_sigma_i);
  const std::int64_t m = heart.num_tets(), n = heart.num_points(), ne = electrodes.size();

  // Per tet: centroid, longest edge.
  Points centroid(m, 3);
  Eigen::VectorXd hmax(m);
  for (std::int64_t e = 0; e < m; ++e) {
    Eigen::Vector3d v[4];
    for (int a = 0; a < 4; ++a) v[a] = heart.points.row(heart.tets(e, a)).transpose();
    centroid.row(e) = 0.25 * (v[0] + v[1] + v[2] + v[3]).transpose();
    double h2 = 0;
    for (int a = 0; a < 4; ++a)
      for (int b = a + 1; b < 4; ++b) h2 = std::max(h2, (v[a] - v[b]).squaredNorm());
    hmax[e] = std::sqrt(h2);
  }

  // Electrodes inside (or on) the heart: barycentric coordinates lambda_a = 1/4 + g_a . (x - c).
  for (std::int64_t k = 0; k < ne; ++k) {
    const Eigen::Vector3d x = electrodes.positions.row(k).transpose();
    for (std::int64_t e = 0; e < m; ++e) {
      const Eigen::Vector3d d = x - centroid.row(e).transpose();
      if (d.norm() > hmax[e] + options.min_distance_mm) continue;
      bool inside = true;
      for (int a = 0; a < 4 && inside; ++a) {
        const Eigen::Vector3d g = geo.grad[e].row(a).transpose();
        inside = 0.25 + g.dot(d) >= -1e-12 - options.min_distance_mm * g.norm();
      }
      CARDIOTWIN_CHECK(!inside, InvalidInput, "electrode inside the heart",
                       "electrodes outside the heart mesh" << (options.min_distance_mm > 0 ? " by at least " : "")
                                                           << (options.min_distance_mm > 0 ? std::to_string(options.min_distance_mm) + " mm" : ""),
                       "electrode '" << electrodes.names[k] << "' at (" << x.transpose() << ") mm inside tet " << e,
                       Where({}, electrodes.names[k], k));
    }
  }

  ElectrodeWeights w;
  w.names = electrodes.names;
  w.weights = Field::Zero(ne, n);
  const double scale = -1.0 / (4 * kPi * options.sigma_bath);
  std::vector<std::int64_t> near_count(ne, 0);
  const int nt = options.threads > 0 ? options.threads : std::max(1, std::min<int>(omp_get_max_threads(), static_cast<int>(ne)));
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
  for (std::int64_t k = 0; k < ne; ++k) {
    const Eigen::Vector3d x = electrodes.positions.row(k).transpose();
    double* row = w.weights.row(k).data();
    std::int64_t nnear = 0;
    for (std::int64_t e = 0; e < m; ++e) {
      const Eigen::Vector3d c = centroid.row(e).transpose();
      const Eigen::Vector3d r = c - x;
      const double rn = r.norm();
      Eigen::Vector3d G;
      if (rn < options.near_field_factor * hmax[e]) {
        G = tet_inverse_distance_gradient_integral(heart.points.row(heart.tets(e, 0)).transpose(),
                                                   heart.points.row(heart.tets(e, 1)).transpose(),
                                                   heart.points.row(heart.tets(e, 2)).transpose(),
                                                   heart.points.row(heart.tets(e, 3)).transpose(), x);
        ++nnear;
      } else {
        G = -geo.volume[e] / (rn * rn * rn) * r;  // grad_x 1/|x - x'| at the centroid times the volume
      }
      const auto s = sigma.row(e);
      const Eigen::Vector3d q(s[0] * G[0] + s[3] * G[1] + s[5] * G[2], s[3] * G[0] + s[1] * G[1] + s[4] * G[2],
                              s[5] * G[0] + s[4] * G[1] + s[2] * G[2]);
      for (int a = 0; a < 4; ++a) row[heart.tets(e, a)] += scale * geo.grad[e].row(a).dot(q);
    }
    near_count[k] = nnear;
  }
  w.metadata = {{"model", "pseudo_ecg"},
                {"options", options.to_json()},
                {"electrodes", electrodes.to_json()},
                {"num_nodes", n},
                {"num_tets", m},
                {"exact_tets_per_electrode", near_count},
                {"weights_s", seconds_since(t0)}};
  return w;
}

// ---- Vm series ----------------------------------------------------------------------------------

Signals apply_to_pvd(const ElectrodeWeights& weights, const std::string& pvd_path, const std::string& vm_array) {
  const auto entries = io::read_pvd(pvd_path);
  CARDIOTWIN_CHECK(!entries.empty(), FileFormatError, "no frames in the Vm series", "at least one DataSet",
                   "none", Where(pvd_path, "Collection"));
  const std::filesystem::path dir = std::filesystem::path(pvd_path).parent_path();
  Signals s;
  s.names = weights.names;
  s.time_ms.resize(static_cast<Eigen::Index>(entries.size()));
  s.values.resize(static_cast<Eigen::Index>(entries.size()), weights.num_electrodes());
  for (std::size_t f = 0; f < entries.size(); ++f) {
    const std::string file = (dir / entries[f].file).string();
    const TetMesh frame = io::read_vtu(file);
    const auto it = frame.point_data.find(vm_array);
    CARDIOTWIN_CHECK(it != frame.point_data.end() && it->second.cols() == 1, FileFormatError,
                     "no Vm in the snapshot", "a scalar point array '" << vm_array << "'",
                     (it == frame.point_data.end() ? std::string("none") : std::to_string(it->second.cols()) + " components"),
                     Where(file, vm_array));
    CARDIOTWIN_CHECK(frame.num_points() == weights.num_nodes(), InvalidInput, "snapshot does not match the ECG weights",
                     weights.num_nodes() << " points", frame.num_points() << " points", Where(file, "points"));
    s.time_ms[static_cast<Eigen::Index>(f)] = entries[f].time;
    s.values.row(static_cast<Eigen::Index>(f)) = (weights.weights * it->second.col(0)).transpose();
  }
  s.units = "mV";
  s.metadata = weights.metadata;
  s.metadata["source"] = pvd_path;
  validate_signals(s);
  return s;
}

}  // namespace cardiotwin::ecg
