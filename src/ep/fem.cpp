#include "cardiotwin/ep/fem.hpp"

#include <omp.h>

#include <Eigen/Geometry>
#include <Eigen/LU>
#include <algorithm>
#include <cmath>

#include "cardiotwin/core/error.hpp"

namespace cardiotwin::ep {

int num_threads() { return omp_get_max_threads(); }
void set_num_threads(int n) {
  CARDIOTWIN_CHECK(n >= 0, InvalidInput, "bad thread count", ">= 0 (0 = all cores)", n, Where({}, "threads"));
  omp_set_num_threads(n > 0 ? n : omp_get_num_procs());
}

std::int64_t CsrMatrix::find(std::int32_t i, std::int32_t j) const noexcept {
  const auto b = col.begin() + row[i], e = col.begin() + row[i + 1];
  const auto it = std::lower_bound(b, e, j);
  return (it != e && *it == j) ? static_cast<std::int64_t>(it - col.begin()) : -1;
}

void CsrMatrix::multiply(const double* x, double* y) const {
#pragma omp parallel for schedule(static)
  for (std::int32_t i = 0; i < n; ++i) {
    double s = 0;
    for (std::int32_t k = row[i]; k < row[i + 1]; ++k) s += val[k] * x[col[k]];
    y[i] = s;
  }
}

Eigen::VectorXd CsrMatrix::diagonal() const {
  Eigen::VectorXd d = Eigen::VectorXd::Zero(n);
  for (std::int32_t i = 0; i < n; ++i) {
    const auto k = find(i, i);
    if (k >= 0) d[i] = val[k];
  }
  return d;
}

CsrMatrix p1_sparsity(const TetMesh& mesh) {
  const std::int64_t n = mesh.num_points(), m = mesh.num_tets();
  CARDIOTWIN_CHECK(n < (std::int64_t(1) << 31), InvalidInput, "mesh too large", "< 2^31 points", n, Where({}, "points"));
  // node -> tets (CSR), then each node's neighbour set from its tets.
  std::vector<std::int64_t> start(n + 1, 0);
  for (std::int64_t e = 0; e < m; ++e)
    for (int a = 0; a < 4; ++a) ++start[mesh.tets(e, a) + 1];
  for (std::int64_t i = 0; i < n; ++i) start[i + 1] += start[i];
  std::vector<std::int32_t> node_tets(start[n]);
  {
    std::vector<std::int64_t> fill(start.begin(), start.end() - 1);
    for (std::int64_t e = 0; e < m; ++e)
      for (int a = 0; a < 4; ++a) node_tets[fill[mesh.tets(e, a)]++] = static_cast<std::int32_t>(e);
  }
  CsrMatrix A;
  A.n = static_cast<std::int32_t>(n);
  A.row.assign(n + 1, 0);
  std::vector<std::vector<std::int32_t>> rows(n);
#pragma omp parallel for schedule(dynamic, 1024)
  for (std::int64_t i = 0; i < n; ++i) {
    auto& r = rows[i];
    r.reserve(static_cast<std::size_t>(4 * (start[i + 1] - start[i]) + 1));
    r.push_back(static_cast<std::int32_t>(i));
    for (std::int64_t k = start[i]; k < start[i + 1]; ++k)
      for (int a = 0; a < 4; ++a) r.push_back(mesh.tets(node_tets[k], a));
    std::sort(r.begin(), r.end());
    r.erase(std::unique(r.begin(), r.end()), r.end());
  }
  std::int64_t nnz = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    nnz += static_cast<std::int64_t>(rows[i].size());
    CARDIOTWIN_CHECK(nnz < (std::int64_t(1) << 31), InvalidInput, "mesh too large", "< 2^31 matrix entries", nnz,
                     Where({}, "tets"));
    A.row[i + 1] = static_cast<std::int32_t>(nnz);
  }
  A.col.resize(nnz);
  A.val.assign(nnz, 0.0);
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) std::copy(rows[i].begin(), rows[i].end(), A.col.begin() + A.row[i]);
  return A;
}

TetGeometry tet_geometry(const TetMesh& mesh) {
  const std::int64_t m = mesh.num_tets();
  TetGeometry g;
  g.grad.resize(m);
  g.volume.resize(m);
  std::int64_t bad = -1;
#pragma omp parallel for schedule(static)
  for (std::int64_t e = 0; e < m; ++e) {
    const Eigen::RowVector3d p0 = mesh.points.row(mesh.tets(e, 0));
    Eigen::Matrix3d J;  // rows: edges from node 0
    for (int a = 0; a < 3; ++a) J.row(a) = mesh.points.row(mesh.tets(e, a + 1)) - p0;
    const double det = J.determinant();
    g.volume[e] = det / 6.0;
    if (!(det > 0)) {
#pragma omp critical
      bad = (bad < 0 || e < bad) ? e : bad;
      continue;
    }
    // grad(phi_{a+1}) are the columns of J^{-1} (J maps reference to physical edges).
    const Eigen::Matrix3d Jinv = J.inverse();
    for (int a = 0; a < 3; ++a) g.grad[e].row(a + 1) = Jinv.col(a).transpose();
    g.grad[e].row(0) = -(g.grad[e].row(1) + g.grad[e].row(2) + g.grad[e].row(3));
  }
  CARDIOTWIN_CHECK(bad < 0, InvalidInput, "tetrahedron with zero or negative volume",
                   "positively oriented tets of positive volume (see TetMesh.fix_orientation)",
                   "volume " << g.volume[bad] << " mm^3", Where("mesh", "tets", bad));
  return g;
}

TensorField conductivity_tensors(const TetMesh& mesh, const Eigen::Vector3d& sigma_lsn,
                                 const std::map<Index, Eigen::Vector3d>& per_region) {
  const std::int64_t m = mesh.num_tets();
  auto check_positive = [](const Eigen::Vector3d& s, const std::string& where) {
    for (int a = 0; a < 3; ++a)
      CARDIOTWIN_CHECK(std::isfinite(s[a]) && s[a] > 0, InvalidInput, "non-positive conductivity",
                       "sigma > 0 S/m", s[a], Where({}, where, a));
  };
  check_positive(sigma_lsn, "conductivity");
  bool anisotropic = !(sigma_lsn[0] == sigma_lsn[1] && sigma_lsn[1] == sigma_lsn[2]);
  for (const auto& [tag, s] : per_region) {
    check_positive(s, "conductivity.region " + std::to_string(tag));
    anisotropic |= !(s[0] == s[1] && s[1] == s[2]);
  }
  const bool has_fibre = mesh.fibre.rows() == m && m > 0;
  const bool has_sheet = has_fibre && mesh.sheet.rows() == m;
  CARDIOTWIN_CHECK(has_fibre || !anisotropic, InvalidInput, "anisotropic conductivity needs fibres",
                   "a fibre direction per tet (TetMesh.fibre)", "no fibres", Where("mesh", "fibre"));
  TensorField T(m, 6);
  for (std::int64_t e = 0; e < m; ++e) {
    Eigen::Vector3d s = sigma_lsn;
    if (!per_region.empty()) {
      const auto it = per_region.find(mesh.region_of(e));
      if (it != per_region.end()) s = it->second;
    }
    Eigen::Matrix3d S;
    if (s[0] == s[1] && s[1] == s[2]) {
      S = s[0] * Eigen::Matrix3d::Identity();
    } else if (has_sheet) {
      const Eigen::Vector3d f = mesh.fibre.row(e), sh = mesh.sheet.row(e);
      const Eigen::Vector3d nn = mesh.normal.rows() == m ? Eigen::Vector3d(mesh.normal.row(e)) : f.cross(sh);
      S = s[0] * f * f.transpose() + s[1] * sh * sh.transpose() + s[2] * nn * nn.transpose();
    } else {
      CARDIOTWIN_CHECK(s[1] == s[2], InvalidInput, "orthotropic conductivity needs sheets",
                       "sigma_t == sigma_n without sheet directions, or TetMesh.sheet",
                       "sigma_t " << s[1] << ", sigma_n " << s[2], Where("mesh", "sheet", e));
      const Eigen::Vector3d f = mesh.fibre.row(e);
      S = s[1] * Eigen::Matrix3d::Identity() + (s[0] - s[1]) * f * f.transpose();
    }
    T.row(e) << S(0, 0), S(1, 1), S(2, 2), S(0, 1), S(1, 2), S(0, 2);
  }
  return T;
}

namespace {
// Scatter a 4x4 element matrix into `A` (rows of a tet's nodes are searched once per entry).
inline void scatter(CsrMatrix& A, const Index* nodes, const Eigen::Matrix4d& Ke) {
  for (int a = 0; a < 4; ++a) {
    const std::int32_t i = nodes[a];
    const auto b = A.col.begin() + A.row[i], e = A.col.begin() + A.row[i + 1];
    for (int c = 0; c < 4; ++c) {
      const auto it = std::lower_bound(b, e, nodes[c]);
      A.val[static_cast<std::size_t>(it - A.col.begin())] += Ke(a, c);
    }
  }
}
}  // namespace

CsrMatrix assemble_stiffness(const TetMesh& mesh, const TetGeometry& geo, const TensorField& sigma,
                             const CsrMatrix& pattern) {
  CARDIOTWIN_CHECK(sigma.rows() == mesh.num_tets(), InvalidInput, "conductivity size mismatch",
                   mesh.num_tets() << " tensors", sigma.rows(), Where({}, "sigma"));
  CsrMatrix K = pattern.with_values(0.0);
  for (std::int64_t e = 0; e < mesh.num_tets(); ++e) {
    Eigen::Matrix3d S;
    const auto t = sigma.row(e);
    S << t[0], t[3], t[5], t[3], t[1], t[4], t[5], t[4], t[2];
    const Eigen::Matrix<double, 4, 3>& G = geo.grad[e];
    const Eigen::Matrix4d Ke = geo.volume[e] * (G * S * G.transpose());
    scatter(K, &mesh.tets(e, 0), Ke);
  }
  return K;
}

CsrMatrix assemble_mass(const TetMesh& mesh, const TetGeometry& geo, const CsrMatrix& pattern, bool lumped) {
  CsrMatrix M = pattern.with_values(0.0);
  Eigen::Matrix4d ref = lumped ? Eigen::Matrix4d(5.0 * Eigen::Matrix4d::Identity())
                               : Eigen::Matrix4d(Eigen::Matrix4d::Ones() + Eigen::Matrix4d::Identity());
  for (std::int64_t e = 0; e < mesh.num_tets(); ++e) scatter(M, &mesh.tets(e, 0), (geo.volume[e] / 20.0) * ref);
  return M;
}

namespace {
// b = f - C v when `cv` is given (C's values with a zero diagonal, in A's pattern), formed in the
// first pass over A; otherwise b = f.
template <class Value>
int pcg(const CsrMatrix& A, const Value* val, const double* f, const float* cv, const double* v, double* x,
        double rel_tol, int max_iter, CgWorkspace& ws) {
  const std::int32_t n = A.n;
  if (ws.inv_diag.size() != n) {
    ws.inv_diag = A.diagonal().cwiseInverse();
    ws.r.resize(n);
    ws.z.resize(n);
    ws.p.resize(n);
    ws.q.resize(n);
  }
  double* r = ws.r.data();
  double* z = ws.z.data();
  double* p = ws.p.data();
  double* q = ws.q.data();
  const double* dinv = ws.inv_diag.data();
  const std::int32_t* row = A.row.data();
  const std::int32_t* col = A.col.data();
  const int nt = omp_get_max_threads();
  // One parallel region for the whole solve, rows split as OpenMP's static schedule would, and
  // three barriers per iteration (after the matrix product, after the updates, after the new
  // direction) instead of a fork/join and singles per loop: on a busy machine every barrier can
  // cost a scheduler time slice. Reductions are deterministic: per-thread partial sums, added in
  // thread order by every thread (two slot sets, so a set is never rewritten while being read).
  std::vector<double> part(static_cast<std::size_t>(6 * nt), 0.0);
  auto sum = [&](int k) {
    double s = 0;
    for (int t = 0; t < nt; ++t) s += part[static_cast<std::size_t>(6 * t + k)];
    return s;
  };
  int iterations = 0;
  bool zero_rhs = false, broke_down = false, converged = false;
  double final_rr = 0, bnorm2 = 0;
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num();
    const int threads = omp_get_num_threads();
    const std::int32_t chunk = (n + threads - 1) / threads;
    const std::int32_t lo = std::min<std::int32_t>(n, t * chunk), hi = std::min<std::int32_t>(n, lo + chunk);
    double* my = &part[static_cast<std::size_t>(6 * t)];
    double sb = 0, srz = 0, srr = 0;
    for (std::int32_t i = lo; i < hi; ++i) {
      double s = 0, bi = f[i];
      if (cv) {
        // sum_k c_ik (v_k - v_i) = (C v)_i for zero row sums, and exactly 0 for a uniform v
        // whatever the rounding of the float values.
        const double vi = v[i];
        double sc = 0;
        for (std::int32_t k = row[i]; k < row[i + 1]; ++k) {
          s += static_cast<double>(val[k]) * x[col[k]];
          sc += static_cast<double>(cv[k]) * (v[col[k]] - vi);
        }
        bi -= sc;
      } else {
        for (std::int32_t k = row[i]; k < row[i + 1]; ++k) s += static_cast<double>(val[k]) * x[col[k]];
      }
      r[i] = bi - s;
      z[i] = dinv[i] * r[i];
      p[i] = z[i];
      sb += bi * bi;
      srz += r[i] * z[i];
      srr += r[i] * r[i];
    }
    my[0] = sb;
    my[1] = srz;
    my[2] = srr;
#pragma omp barrier
    const double bn2 = sum(0);
    double rz = sum(1), rr = sum(2);
    const double tol2 = rel_tol * rel_tol * bn2;
    bool done = bn2 == 0 || rr <= tol2;
    int it = 0;
    while (!done && it < max_iter) {
      ++it;
      double s_pq = 0;
      for (std::int32_t i = lo; i < hi; ++i) {
        double s = 0;
        for (std::int32_t k = row[i]; k < row[i + 1]; ++k) s += static_cast<double>(val[k]) * p[col[k]];
        q[i] = s;
        s_pq += p[i] * s;
      }
      my[3] = s_pq;
#pragma omp barrier
      const double alpha = rz / sum(3);
      double s_rz = 0, s_rr = 0;
      for (std::int32_t i = lo; i < hi; ++i) {
        x[i] += alpha * p[i];
        r[i] -= alpha * q[i];
        z[i] = dinv[i] * r[i];
        s_rz += r[i] * z[i];
        s_rr += r[i] * r[i];
      }
      my[4] = s_rz;
      my[5] = s_rr;
#pragma omp barrier
      const double rz_new = sum(4);
      rr = sum(5);
      if (!std::isfinite(rr) || rr <= tol2) {
        done = true;  // every thread sees the same sums, so all leave together
        break;
      }
      const double beta = rz_new / rz;
      rz = rz_new;
      for (std::int32_t i = lo; i < hi; ++i) p[i] = z[i] + beta * p[i];
#pragma omp barrier
    }
    if (t == 0) {
      iterations = it;
      bnorm2 = bn2;
      final_rr = rr;
      zero_rhs = bn2 == 0;
      broke_down = !std::isfinite(rr);
      converged = done && !broke_down;
    }
  }
  if (zero_rhs) {
    std::fill(x, x + n, 0.0);
    return 0;
  }
  CARDIOTWIN_CHECK(!broke_down, SolverDiverged, "conjugate gradients broke down", "a finite residual",
                   "NaN/Inf at iteration " << iterations, Where({}, "linear_solver"));
  CARDIOTWIN_CHECK(converged, SolverDiverged, "conjugate gradients did not converge",
                   "relative residual <= " << rel_tol << " within " << max_iter << " iterations",
                   "relative residual " << std::sqrt(final_rr / bnorm2), Where({}, "linear_solver"));
  return iterations;
}

}  // namespace

int conjugate_gradient(const CsrMatrix& A, const double* b, double* x, double rel_tol, int max_iter,
                       CgWorkspace& ws) {
  return conjugate_gradient(A, nullptr, nullptr, b, x, rel_tol, max_iter, ws);
}

int conjugate_gradient(const CsrMatrix& A, const float* c_offdiag, const double* v, const double* f, double* x,
                       double rel_tol, int max_iter, CgWorkspace& ws) {
  if (ws.single_precision_matrix) {
    if (ws.val32.size() != A.val.size()) ws.val32.assign(A.val.begin(), A.val.end());
    return pcg(A, ws.val32.data(), f, c_offdiag, v, x, rel_tol, max_iter, ws);
  }
  return pcg(A, A.val.data(), f, c_offdiag, v, x, rel_tol, max_iter, ws);
}

std::vector<float> zero_row_sum_offdiagonal(const CsrMatrix& C, double rel_tol) {
  std::vector<float> out(C.val.size());
  for (std::int32_t i = 0; i < C.n; ++i) {
    double sum = 0, scale = 0;
    for (std::int32_t k = C.row[i]; k < C.row[i + 1]; ++k) {
      sum += C.val[k];
      scale = std::max(scale, std::abs(C.val[k]));
      out[k] = C.col[k] == i ? 0.0f : static_cast<float>(C.val[k]);
    }
    if (std::abs(sum) > rel_tol * scale) return {};
  }
  return out;
}

}  // namespace cardiotwin::ep
