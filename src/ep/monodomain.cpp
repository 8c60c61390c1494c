#include "cardiotwin/ep/monodomain.hpp"

#include <omp.h>

#include <Eigen/SparseCholesky>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "cardiotwin/core/atomic_file.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/core/json.hpp"
#include "cardiotwin/ep/eikonal.hpp"
#include "cardiotwin/ep/fem.hpp"
#include "cardiotwin/ep/ionic_model.hpp"
#include "cardiotwin/io/vtk.hpp"
#include "threads.hpp"

namespace cardiotwin::ep {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::int64_t kBlock = 2048;  // cells per ionic work item (fits L2 with all states)

using detail::effective_threads;
using detail::ThreadScope;

}  // namespace

struct Monodomain::Impl {
  MonodomainOptions opt;
  TetMesh mesh;  // geometry only (for snapshots and probes)
  std::int64_t n = 0;
  CsrMatrix A, C;  // A = M + theta dt K', C = dt K' (so that A - C = M - (1 - theta) dt K')
  std::vector<float> c_offdiag;  // C's off-diagonal values: C V* is formed inside CG (empty: separately)
  Eigen::VectorXd delta;       // last diffusion increment
  Eigen::VectorXd delta_prev;  // the one before: the next solve starts from 2 delta - delta_prev
  CgWorkspace cg;
  std::unique_ptr<Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>>> ldlt;  // linear_solver "cholesky"
  std::unique_ptr<IonicModel> model;
  Eigen::VectorXd vm, vm_old, iion, rhs;
  std::vector<std::vector<std::int64_t>> stim_nodes;
  std::vector<std::vector<double>> stim_weight;  // integral of phi_i over the stimulated tets, mm^3
  std::vector<double> stim_dvdt;
  Eigen::VectorXd act, repol;
  std::int64_t steps = 0;  // time = steps * dt
  // probes
  std::vector<std::int64_t> probe_nodes;
  std::int64_t probe_stride = 1;
  std::vector<double> probe_t, probe_v;
  // snapshots
  std::int64_t snapshot_stride = 0;
  std::vector<io::PvdEntry> pvd;
  MonodomainTimings timings;

  double time() const { return static_cast<double>(steps) * opt.dt_ms; }

  void reaction(double h_total) {
    const int sub = opt.ionic_substeps;
    const double h = h_total / sub;
    const double* v = vm.data();
    for (int s = 0; s < sub; ++s) {
      const std::int64_t blocks = (n + kBlock - 1) / kBlock;
      double* vv = vm.data();
      double* ii = iion.data();
#pragma omp parallel for schedule(static)
      for (std::int64_t b = 0; b < blocks; ++b) {
        const std::int64_t lo = b * kBlock, hi = std::min(n, lo + kBlock);
        model->step(h, v, ii, lo, hi);
        for (std::int64_t i = lo; i < hi; ++i) vv[i] -= h * ii[i];
      }
    }
  }

  // Diffusion step from t0, solved for the increment delta = V^{n+1} - V*:
  //   (M + theta dt K') delta = -dt K' V* + F,
  // where F holds the active stimuli as volume sources dt * dvdt * integral(phi_i) over the
  // stimulated tets (ionic current interpolation). The right-hand side is small away from
  // wavefronts, so the relative tolerance applies to the change, and the previous increment is an
  // excellent first guess because fronts move much less than a cell per step.
  void diffusion(double t0) {
    const bool fused = !ldlt && !c_offdiag.empty();
    if (!fused) {
      C.multiply(vm.data(), rhs.data());
      rhs = -rhs;
    }
    // Stimulus sources; with the fused solve `rhs` holds only these (zero elsewhere).
    for (std::size_t k = 0; k < opt.stimuli.size(); ++k)
      if (opt.stimuli[k].active(t0)) {
        const double a = opt.dt_ms * stim_dvdt[k];
        const auto& w = stim_weight[k];
        const auto& nodes = stim_nodes[k];
        for (std::size_t q = 0; q < nodes.size(); ++q) rhs[nodes[q]] += a * w[q];
      }
    if (ldlt) {
      delta = ldlt->solve(rhs);
    } else {
      // First guess: the increment extrapolated linearly from the last two (fronts move steadily,
      // so this is closer than the last increment alone; measured ~25% fewer iterations).
      double* d = delta.data();
      double* dp = delta_prev.data();
#pragma omp parallel for schedule(static)
      for (std::int64_t i = 0; i < n; ++i) {
        const double g = 2 * d[i] - dp[i];
        dp[i] = d[i];
        d[i] = g;
      }
      // Fused: -C V* is added to the stimulus sources in CG's first pass over A (one matrix pass
      // fewer); then `rhs` is cleared back to zero where the stimuli wrote.
      timings.cg_iterations += conjugate_gradient(A, fused ? c_offdiag.data() : nullptr, vm.data(), rhs.data(),
                                                  delta.data(), opt.cg_tolerance, opt.cg_max_iterations, cg);
      if (fused)
        for (std::size_t k = 0; k < opt.stimuli.size(); ++k)
          if (opt.stimuli[k].active(t0))
            for (const auto i : stim_nodes[k]) rhs[i] = 0;
    }
    vm += delta;
  }

  // Activation/repolarisation crossings between vm_old (time t0) and vm (t0 + dt), and blow-up.
  void detect(double t0) {
    const double dt = opt.dt_ms, thr = opt.activation_threshold_mv, rthr = opt.repolarisation_threshold_mv;
    const double bound = opt.vm_bound_mv;
    std::int64_t bad = std::numeric_limits<std::int64_t>::max();
#pragma omp parallel for schedule(static) reduction(min : bad)
    for (std::int64_t i = 0; i < n; ++i) {
      const double a = vm_old[i], b = vm[i];
      if (!(std::abs(b) <= bound)) {
        bad = std::min(bad, i);
        continue;
      }
      if (std::isnan(act[i])) {
        if (a < thr && b >= thr) act[i] = t0 + dt * (thr - a) / (b - a);
      } else if (std::isnan(repol[i]) && a >= rthr && b < rthr) {
        repol[i] = t0 + dt * (a - rthr) / (a - b);
      }
    }
    if (bad != std::numeric_limits<std::int64_t>::max()) {
      const Eigen::Vector3d p = mesh.points.row(bad);
      CARDIOTWIN_CHECK(false, SolverDiverged, "the simulation blew up",
                       "|Vm| <= " << bound << " mV (vm_bound_mv); try a smaller dt_ms or more ionic_substeps",
                       "Vm = " << vm[bad] << " mV at t = " << t0 + dt << " ms, node " << bad << " at (" << p[0] << ", "
                               << p[1] << ", " << p[2] << ") mm",
                       Where({}, "node", bad));
    }
  }

  void record_probes() {
    if (probe_nodes.empty()) return;
    probe_t.push_back(time());
    for (const auto i : probe_nodes) probe_v.push_back(vm[i]);
  }

  void write_snapshot() {
    const auto t0 = Clock::now();
    char name[64];
    std::snprintf(name, sizeof(name), "vm_%06zu.vtu", pvd.size());
    mesh.point_data["Vm"] = vm;
    io::write_vtu((std::filesystem::path(opt.output_dir) / name).string(), mesh, io::VtkEncoding::binary);
    mesh.point_data.erase("Vm");
    pvd.push_back({time(), name, 0});
    io::write_pvd((std::filesystem::path(opt.output_dir) / "vm.pvd").string(), pvd);
    timings.output_s += seconds_since(t0);
  }

  void after_step() {
    if (steps % probe_stride == 0) record_probes();
    if (snapshot_stride > 0 && steps % snapshot_stride == 0) write_snapshot();
  }

  void step() {
    const double t0 = time(), dt = opt.dt_ms;
    vm_old = vm;
    auto c0 = Clock::now();
    if (opt.splitting == "strang") {
      reaction(0.5 * dt);
      timings.ionic_s += seconds_since(c0);
      c0 = Clock::now();
      diffusion(t0);
      timings.diffusion_s += seconds_since(c0);
      c0 = Clock::now();
      reaction(0.5 * dt);
      timings.ionic_s += seconds_since(c0);
    } else if (opt.splitting == "none") {
      // Not split: the theta scheme with the ionic current of t_n as an explicit source,
      //   (M + theta C) (V' - V) = -C V - dt M I(V) + F,   C = dt K'.
      // Writing V' - V = -dt I + e gives (M + theta C) e = -C (V - theta dt I) + F: the reaction
      // increment is applied in two parts, theta of it before the diffusion solve and the rest
      // after, so the mass matrix never has to be applied to I.
      reaction(dt);
      const double th = opt.theta;
      double* v = vm.data();
      const double* v0 = vm_old.data();
      double* held = iion.data();  // free until the next reaction
#pragma omp parallel for schedule(static)
      for (std::int64_t i = 0; i < n; ++i) {
        const double r = v[i] - v0[i];
        v[i] = v0[i] + th * r;
        held[i] = (1 - th) * r;
      }
      timings.ionic_s += seconds_since(c0);
      c0 = Clock::now();
      diffusion(t0);
      timings.diffusion_s += seconds_since(c0);
      vm += iion;
    } else {
      reaction(dt);
      timings.ionic_s += seconds_since(c0);
      c0 = Clock::now();
      diffusion(t0);
      timings.diffusion_s += seconds_since(c0);
    }
    detect(t0);
    ++steps;
    ++timings.steps;
    after_step();
  }
};

Monodomain::Monodomain(const TetMesh& mesh, MonodomainOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  options.validate();
  s.opt = std::move(options);
  const MonodomainOptions& o = s.opt;
  ThreadScope threads(effective_threads(o.threads, mesh.num_points()));
  const auto t0 = Clock::now();
  validate_mesh(mesh, "mesh");
  CARDIOTWIN_CHECK(mesh.num_tets() > 0, InvalidInput, "empty mesh", "at least one tet", 0, Where("mesh", "tets"));
  s.n = mesh.num_points();
  s.mesh.points = mesh.points;
  s.mesh.tets = mesh.tets;
  s.mesh.region = mesh.region;

  // Matrices: K' = K * 100 / (chi Cm) turns S/m, 1/mm and uF/cm^2 into mm^2/ms.
  const TetGeometry geo = tet_geometry(mesh);
  const CsrMatrix pattern = p1_sparsity(mesh);
  std::map<Index, Eigen::Vector3d> per_region;
  for (const auto& [tag, c] : o.region_conductivity) per_region[tag] = {c.sigma_l, c.sigma_t, c.sigma_n};
  const TensorField sigma = conductivity_tensors(
      mesh, {o.conductivity.sigma_l, o.conductivity.sigma_t, o.conductivity.sigma_n}, per_region);
  const CsrMatrix K = assemble_stiffness(mesh, geo, sigma, pattern);
  const CsrMatrix M = assemble_mass(mesh, geo, pattern, o.mass == "lumped");
  const double scale = 100.0 / (o.chi_per_mm * o.cm_uf_per_cm2);
  s.A = M;
  s.C = K;
  for (std::size_t k = 0; k < M.val.size(); ++k) {
    s.A.val[k] += o.theta * o.dt_ms * scale * K.val[k];
    s.C.val[k] = o.dt_ms * scale * K.val[k];
  }

  // Cells.
  s.model = make_ionic_model(o.ionic_model, o.ionic_options);
  const auto& info = s.model->info();
  std::vector<std::uint8_t> types(static_cast<std::size_t>(s.n), 0);
  if (!o.cell_type_field.empty()) {
    const auto it = mesh.point_data.find(o.cell_type_field);
    CARDIOTWIN_CHECK(it != mesh.point_data.end() && it->second.cols() == 1, InvalidInput, "cell type field missing",
                     "a scalar point field '" << o.cell_type_field << "'", "none", Where("mesh", "point_data"));
    for (std::int64_t i = 0; i < s.n; ++i) {
      const double c = it->second(i, 0);
      CARDIOTWIN_CHECK(c >= 0 && c < static_cast<double>(info.cell_types.size()) && c == std::floor(c), InvalidInput,
                       "bad cell type code", "an integer in [0, " << info.cell_types.size() << ")", c,
                       Where("mesh", o.cell_type_field, i));
      types[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(c);
    }
  } else {
    const auto it = std::find(info.cell_types.begin(), info.cell_types.end(), o.cell_type);
    std::fill(types.begin(), types.end(), static_cast<std::uint8_t>(it - info.cell_types.begin()));
  }
  s.model->init(s.n, types);
  for (const auto& [param, field] : o.ionic_parameter_fields) {
    const auto it = mesh.point_data.find(field);
    CARDIOTWIN_CHECK(it != mesh.point_data.end() && it->second.cols() == 1, InvalidInput,
                     "ionic parameter field missing", "a scalar point field '" << field << "' for " << param,
                     "none", Where("mesh", "point_data"));
    const Eigen::VectorXd col = it->second.col(0);
    CARDIOTWIN_CHECK(col.allFinite(), InvalidInput, "bad ionic parameter field", "finite values", "NaN or Inf",
                     Where("mesh", field));
    s.model->set_parameter(param, std::vector<double>(col.data(), col.data() + col.size()));
  }
  s.vm.resize(s.n);
  for (std::int64_t i = 0; i < s.n; ++i) s.vm[i] = s.model->initial_vm(types[static_cast<std::size_t>(i)]);
  s.vm_old = s.vm;
  s.iion = Eigen::VectorXd::Zero(s.n);
  s.rhs = Eigen::VectorXd::Zero(s.n);
  s.delta = Eigen::VectorXd::Zero(s.n);
  s.delta_prev = Eigen::VectorXd::Zero(s.n);
  s.cg.single_precision_matrix = o.single_precision_matrix;
  if (o.single_precision_matrix && o.linear_solver != "cholesky") s.c_offdiag = zero_row_sum_offdiagonal(s.C);
  if (o.linear_solver == "cholesky") {
    const Eigen::SparseMatrix<double> As = s.A.eigen();
    s.ldlt = std::make_unique<Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>>>(As);
    CARDIOTWIN_CHECK(s.ldlt->info() == Eigen::Success, SolverDiverged, "sparse factorisation failed",
                     "a symmetric positive definite system matrix", "factorisation error", Where({}, "linear_solver"));
  }
  s.act = Eigen::VectorXd::Constant(s.n, kNaN);
  s.repol = Eigen::VectorXd::Constant(s.n, kNaN);

  // Stimuli act on the tets whose four nodes are all selected, so that the stimulated volume is
  // the region's (not a node layer of half a cell more); a region too small to hold a tet
  // stimulates the whole control volume of each selected node instead.
  for (const auto& st : o.stimuli) {
    std::vector<std::int64_t> nodes = st.select_nodes(mesh);
    std::vector<std::int64_t> pos(static_cast<std::size_t>(s.n), -1);
    for (std::size_t q = 0; q < nodes.size(); ++q) pos[static_cast<std::size_t>(nodes[q])] = static_cast<std::int64_t>(q);
    std::vector<double> inside(nodes.size(), 0.0), touching(nodes.size(), 0.0);
    for (std::int64_t e = 0; e < mesh.num_tets(); ++e) {
      int count = 0;
      for (int a = 0; a < 4; ++a) count += pos[static_cast<std::size_t>(mesh.tets(e, a))] >= 0;
      for (int a = 0; a < 4; ++a) {
        const auto q = pos[static_cast<std::size_t>(mesh.tets(e, a))];
        if (q < 0) continue;
        touching[static_cast<std::size_t>(q)] += geo.volume[e] / 4;
        if (count == 4) inside[static_cast<std::size_t>(q)] += geo.volume[e] / 4;
      }
    }
    const bool has_volume = std::any_of(inside.begin(), inside.end(), [](double w) { return w > 0; });
    s.stim_nodes.push_back(std::move(nodes));
    s.stim_weight.push_back(has_volume ? inside : touching);
    s.stim_dvdt.push_back(st.dvdt(o.chi_per_mm, o.cm_uf_per_cm2));
  }
  // Probes: nearest node.
  for (const auto& p : o.probes) {
    Eigen::Index best = 0;
    (mesh.points.rowwise() - p.transpose()).rowwise().squaredNorm().minCoeff(&best);
    s.probe_nodes.push_back(best);
  }
  s.probe_stride = std::max<std::int64_t>(1, std::llround(o.probe_every_ms / o.dt_ms));
  if (o.snapshot_every_ms > 0) {
    s.snapshot_stride = std::max<std::int64_t>(1, std::llround(o.snapshot_every_ms / o.dt_ms));
    std::error_code ec;
    std::filesystem::create_directories(o.output_dir, ec);
    CARDIOTWIN_CHECK(!ec, FileIOError, "cannot create output folder", "a writable folder", ec.message(),
                     Where(o.output_dir));
  }
  s.timings.assembly_s = seconds_since(t0);
  s.after_step();  // probes and snapshot at t = 0
}

Monodomain::~Monodomain() = default;

void Monodomain::step() {
  ThreadScope threads(effective_threads(impl_->opt.threads, impl_->n));
  impl_->step();
}

void Monodomain::run(double t_end_ms, const ProgressCallback& progress) {
  Impl& s = *impl_;
  ThreadScope threads(effective_threads(s.opt.threads, s.n));
  CARDIOTWIN_CHECK(std::isfinite(t_end_ms), InvalidInput, "bad end time", "a finite time in ms", t_end_ms,
                   Where({}, "t_end_ms"));
  const std::int64_t target = std::llround(t_end_ms / s.opt.dt_ms);
  const std::int64_t total = std::max<std::int64_t>(1, target - s.steps);
  const std::int64_t report_every = std::max<std::int64_t>(1, total / 100);
  while (s.steps < target) {
    s.step();
    if (progress && (s.steps % report_every == 0 || s.steps == target))
      if (!progress(s.time(), t_end_ms)) break;
  }
}

double Monodomain::time_ms() const { return impl_->time(); }
const Eigen::VectorXd& Monodomain::vm() const { return impl_->vm; }
void Monodomain::set_vm(const Eigen::VectorXd& vm) {
  CARDIOTWIN_CHECK(vm.size() == impl_->n, InvalidInput, "Vm size mismatch", impl_->n << " values (one per node)",
                   vm.size(), Where({}, "vm"));
  CARDIOTWIN_CHECK(vm.allFinite(), InvalidInput, "bad Vm", "finite values", "NaN or Inf", Where({}, "vm"));
  impl_->vm = vm;
}

const MonodomainOptions& Monodomain::options() const { return impl_->opt; }
const MonodomainTimings& Monodomain::timings() const { return impl_->timings; }
const std::vector<std::vector<std::int64_t>>& Monodomain::stimulus_nodes() const { return impl_->stim_nodes; }

EPResult Monodomain::result() const {
  const Impl& s = *impl_;
  EPResult r;
  r.activation_ms = s.act;
  r.repolarisation_ms = s.repol;
  const std::int64_t np = static_cast<std::int64_t>(s.probe_nodes.size());
  if (np > 0) {
    const std::int64_t nt = static_cast<std::int64_t>(s.probe_t.size());
    r.probes.time_ms = Eigen::Map<const Eigen::VectorXd>(s.probe_t.data(), nt);
    r.probes.values = Eigen::Map<const Field>(s.probe_v.data(), nt, np);
    for (std::int64_t k = 0; k < np; ++k) r.probes.names.push_back("probe" + std::to_string(k));
    r.probes.metadata["nodes"] = s.probe_nodes;
  }
  if (!s.pvd.empty()) r.snapshots_pvd = (std::filesystem::path(s.opt.output_dir) / "vm.pvd").string();
  r.metadata = {{"model", "monodomain"},
                {"options", s.opt.to_json()},
                {"num_points", s.n},
                {"num_tets", s.mesh.num_tets()},
                {"time_ms", s.time()},
                {"threads", effective_threads(s.opt.threads, s.n)},
                {"timings", s.timings.to_json()},
                {"units", {{"time", "ms"}, {"vm", "mV"}, {"length", "mm"}}}};
  return r;
}

// ---- checkpoints -----------------------------------------------------------------------------
namespace {
constexpr char kMagic[8] = {'C', 'T', 'C', 'K', 'P', 'T', '0', '2'};

void put(std::ostream& os, const void* p, std::size_t bytes) { os.write(static_cast<const char*>(p), bytes); }
void put_vec(std::ostream& os, const double* p, std::int64_t count) {
  put(os, &count, sizeof(count));
  put(os, p, static_cast<std::size_t>(count) * sizeof(double));
}
struct Reader {
  const std::string& bytes;
  std::size_t pos;
  const std::string& path;
  void get(void* p, std::size_t n) {
    CARDIOTWIN_CHECK(pos + n <= bytes.size(), FileFormatError, "truncated checkpoint", pos + n << " bytes",
                     bytes.size() << " bytes", Where(path));
    std::memcpy(p, bytes.data() + pos, n);
    pos += n;
  }
  std::vector<double> get_vec() {
    std::int64_t count = 0;
    get(&count, sizeof(count));
    CARDIOTWIN_CHECK(count >= 0 && static_cast<std::size_t>(count) <= (bytes.size() - pos) / sizeof(double),
                     FileFormatError, "corrupt checkpoint", "an array that fits the file", count << " values",
                     Where(path));
    std::vector<double> v(static_cast<std::size_t>(count));
    get(v.data(), v.size() * sizeof(double));
    return v;
  }
};
}  // namespace

void Monodomain::save_checkpoint(const std::string& path) const {
  const Impl& s = *impl_;
  nlohmann::json header = {{"num_points", s.n},
                           {"steps", s.steps},
                           {"dt_ms", s.opt.dt_ms},
                           {"ionic_model", s.opt.ionic_model},
                           {"options", s.opt.to_json()},
                           {"pvd", nlohmann::json::array()}};
  for (const auto& e : s.pvd) header["pvd"].push_back({e.time, e.file, e.part});
  const std::string h = header.dump();
  const std::vector<double> ionic = s.model->save();
  write_atomically(path, [&](std::ostream& os) {
    put(os, kMagic, sizeof(kMagic));
    const std::int64_t hl = static_cast<std::int64_t>(h.size());
    put(os, &hl, sizeof(hl));
    put(os, h.data(), h.size());
    put_vec(os, s.vm.data(), s.n);
    put_vec(os, s.act.data(), s.n);
    put_vec(os, s.repol.data(), s.n);
    put_vec(os, s.delta.data(), s.n);
    put_vec(os, ionic.data(), static_cast<std::int64_t>(ionic.size()));
    put_vec(os, s.probe_t.data(), static_cast<std::int64_t>(s.probe_t.size()));
    put_vec(os, s.probe_v.data(), static_cast<std::int64_t>(s.probe_v.size()));
    put_vec(os, s.delta_prev.data(), s.n);  // appended: older checkpoints end before it
  });
}

void Monodomain::load_checkpoint(const std::string& path) {
  Impl& s = *impl_;
  const std::string bytes = read_file_bytes(path);
  Reader rd{bytes, 0, path};
  char magic[8];
  rd.get(magic, sizeof(magic));
  CARDIOTWIN_CHECK(std::memcmp(magic, kMagic, sizeof(kMagic)) == 0, FileFormatError, "not a cardiotwin checkpoint",
                   "magic CTCKPT02", "other bytes", Where(path));
  std::int64_t hl = 0;
  rd.get(&hl, sizeof(hl));
  CARDIOTWIN_CHECK(hl > 0 && static_cast<std::size_t>(hl) <= bytes.size() - rd.pos, FileFormatError,
                   "corrupt checkpoint", "a header that fits the file", hl << " bytes", Where(path, "header"));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(rd.pos, static_cast<std::size_t>(hl)));
  } catch (const nlohmann::json::exception& e) {
    CARDIOTWIN_CHECK(false, FileFormatError, "corrupt checkpoint header", "valid JSON", e.what(), Where(path, "header"));
  }
  rd.pos += static_cast<std::size_t>(hl);
  CARDIOTWIN_CHECK(header.value("num_points", std::int64_t(-1)) == s.n, InvalidInput,
                   "checkpoint is for another mesh", s.n << " points", header.value("num_points", std::int64_t(-1)),
                   Where(path, "num_points"));
  CARDIOTWIN_CHECK(header.value("dt_ms", 0.0) == s.opt.dt_ms && header.value("ionic_model", "") == s.opt.ionic_model,
                   InvalidInput, "checkpoint made with other options",
                   "dt_ms " << s.opt.dt_ms << ", ionic_model " << s.opt.ionic_model,
                   "dt_ms " << header.value("dt_ms", 0.0) << ", ionic_model " << header.value("ionic_model", ""),
                   Where(path, "options"));
  auto vm = rd.get_vec(), act = rd.get_vec(), repol = rd.get_vec(), delta = rd.get_vec(), ionic = rd.get_vec();
  auto pt = rd.get_vec(), pv = rd.get_vec();
  CARDIOTWIN_CHECK(static_cast<std::int64_t>(vm.size()) == s.n && act.size() == vm.size() && repol.size() == vm.size() &&
                       delta.size() == vm.size(),
                   FileFormatError, "corrupt checkpoint", s.n << " values per array", vm.size(), Where(path));
  s.model->restore(ionic);
  s.vm = Eigen::Map<Eigen::VectorXd>(vm.data(), s.n);
  s.vm_old = s.vm;
  s.act = Eigen::Map<Eigen::VectorXd>(act.data(), s.n);
  s.repol = Eigen::Map<Eigen::VectorXd>(repol.data(), s.n);
  s.delta = Eigen::Map<Eigen::VectorXd>(delta.data(), s.n);
  if (rd.pos < bytes.size()) {
    auto dp = rd.get_vec();
    CARDIOTWIN_CHECK(static_cast<std::int64_t>(dp.size()) == s.n, FileFormatError, "corrupt checkpoint",
                     s.n << " values per array", dp.size(), Where(path, "delta_prev"));
    s.delta_prev = Eigen::Map<Eigen::VectorXd>(dp.data(), s.n);
  } else {
    s.delta_prev = s.delta;  // a checkpoint from before extrapolation: plain warm start once
  }
  s.probe_t = std::move(pt);
  s.probe_v = std::move(pv);
  s.steps = header.at("steps").get<std::int64_t>();
  s.pvd.clear();
  for (const auto& e : header.at("pvd")) s.pvd.push_back({e.at(0).get<double>(), e.at(1).get<std::string>(), e.at(2).get<int>()});
}

std::unique_ptr<EPSolver> make_ep_solver(const TetMesh& mesh, const nlohmann::json& config) {
  CARDIOTWIN_CHECK(config.is_object(), InvalidInput, "bad simulation config", "a JSON object", config.type_name(),
                   Where({}, "config"));
  nlohmann::json rest = config;
  std::string model = "monodomain";
  if (rest.contains("model")) {
    CARDIOTWIN_CHECK(rest["model"].is_string(), InvalidInput, "bad model", "a string", rest["model"].dump(),
                     Where({}, "config.model"));
    model = rest["model"].get<std::string>();
    rest.erase("model");
  }
  check_choice(model, {"monodomain", "eikonal", "reaction-eikonal"}, "config.model");
  if (model == "eikonal" || model == "reaction-eikonal")
    return std::make_unique<EikonalModel>(mesh, EikonalModelOptions::from_json(rest, model == "reaction-eikonal"));
  return std::make_unique<Monodomain>(mesh, MonodomainOptions::from_json(rest));
}

}  // namespace cardiotwin::ep
