#include "cardiotwin/anatomy/laplace.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>

#include <Eigen/IterativeLinearSolvers>
#include <Eigen/SparseCore>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/ep/fem.hpp"

namespace cardiotwin::anatomy {

using RowMatrix = Eigen::SparseMatrix<double, Eigen::RowMajor>;
using IcCg = Eigen::ConjugateGradient<RowMatrix, Eigen::Lower | Eigen::Upper, Eigen::IncompleteCholesky<double>>;

struct LaplaceSolver::Impl {
  const TetMesh* mesh = nullptr;
  ep::TetGeometry geo;
  ep::CsrMatrix stiffness;
  std::vector<char> used;
  int iterations = 0;
  // The eliminated matrix and its preconditioner depend only on which nodes are fixed: reused
  // while the fixed set stays the same (transmural, phi_lv and phi_rv share one).
  std::vector<char> cached_fixed;
  RowMatrix matrix;
  std::unique_ptr<IcCg> cg;
};

LaplaceSolver::LaplaceSolver(const TetMesh& mesh) : impl_(new Impl) {
  validate_mesh(mesh, "mesh");
  impl_->mesh = &mesh;
  impl_->geo = ep::tet_geometry(mesh);
  ep::TensorField identity = ep::TensorField::Zero(mesh.num_tets(), 6);
  identity.leftCols<3>().setOnes();
  impl_->stiffness = ep::assemble_stiffness(mesh, impl_->geo, identity, ep::p1_sparsity(mesh));
  impl_->used.assign(static_cast<std::size_t>(mesh.num_points()), 0);
  for (std::int64_t t = 0; t < mesh.num_tets(); ++t)
    for (int a = 0; a < 4; ++a) impl_->used[mesh.tets(t, a)] = 1;
}

LaplaceSolver::~LaplaceSolver() { delete impl_; }
LaplaceSolver::LaplaceSolver(LaplaceSolver&& o) noexcept : impl_(o.impl_) { o.impl_ = nullptr; }
LaplaceSolver& LaplaceSolver::operator=(LaplaceSolver&& o) noexcept {
  std::swap(impl_, o.impl_);
  return *this;
}
int LaplaceSolver::last_iterations() const noexcept { return impl_->iterations; }

Eigen::VectorXd LaplaceSolver::solve(const Dirichlet& bc, const LaplaceOptions& options) {
  const ep::CsrMatrix& K = impl_->stiffness;
  const std::int32_t n = K.n;
  CARDIOTWIN_CHECK(bc.nodes.size() == bc.values.size(), InvalidInput, "Dirichlet size mismatch",
                   bc.nodes.size() << " values", bc.values.size(), Where({}, "values"));
  CARDIOTWIN_CHECK(!bc.nodes.empty(), InvalidInput, "no Dirichlet nodes", "at least two node sets with different values",
                   "none (is a surface tag missing?)", Where({}, "nodes"));
  std::vector<char> fixed(static_cast<std::size_t>(n), 0);
  Eigen::VectorXd u = Eigen::VectorXd::Zero(n);
  std::set<double> distinct;
  for (std::size_t i = 0; i < bc.nodes.size(); ++i) {
    const Index v = bc.nodes[i];
    CARDIOTWIN_CHECK(v >= 0 && v < n, InvalidInput, "Dirichlet node out of range", "a node in [0, " << n << ")", v,
                     Where({}, "nodes", static_cast<std::int64_t>(i)));
    CARDIOTWIN_CHECK(std::isfinite(bc.values[i]), InvalidInput, "bad Dirichlet value", "a finite value", bc.values[i],
                     Where({}, "values", static_cast<std::int64_t>(i)));
    fixed[v] = 1;
    u[v] = bc.values[i];
  }
  for (std::int32_t v = 0; v < n; ++v)
    if (fixed[v]) distinct.insert(u[v]);
  CARDIOTWIN_CHECK(distinct.size() >= 2, InvalidInput, "Dirichlet values are all equal",
                   "at least two different values (e.g. 0 on the endocardium, 1 on the epicardium)",
                   "only " << *distinct.begin(), Where({}, "values"));
  // Symmetric elimination: rows and columns of fixed (and unused) nodes become identity, their
  // known values move to the right-hand side.
  const bool reuse = impl_->cg && impl_->cached_fixed == fixed;
  ep::CsrMatrix A = K;
  Eigen::VectorXd b = Eigen::VectorXd::Zero(n);
  for (std::int32_t i = 0; i < n; ++i) {
    const bool keep_row = !fixed[i] && impl_->used[i];
    for (std::int32_t k = A.row[i]; k < A.row[i + 1]; ++k) {
      const std::int32_t j = A.col[k];
      if (!keep_row) {
        A.val[k] = i == j ? 1.0 : 0.0;
      } else if (fixed[j]) {
        b[i] -= A.val[k] * u[j];
        A.val[k] = 0.0;
      }
    }
    if (!keep_row) b[i] = u[i];
  }
  // Start from the mean of the fixed values (closer than 0 for 0/1 problems).
  double mean = 0;
  for (const double d : distinct) mean += d;
  mean /= double(distinct.size());
  for (std::int32_t i = 0; i < n; ++i)
    if (!fixed[i] && impl_->used[i]) u[i] = mean;
  const int max_iter = options.max_iterations > 0 ? options.max_iterations : 10 * std::max<std::int32_t>(n, 100);
  // Incomplete-Cholesky CG: single-threaded and deterministic, and far fewer iterations than the
  // Jacobi PCG of ep (whose per-iteration thread barriers cost more than they save on small,
  // shared machines: 10 s instead of 0.05 s for a 20k-node mesh on 2 busy cores).
  if (!reuse) {
    impl_->matrix = A.eigen();
    impl_->cg = std::make_unique<IcCg>();
    impl_->cg->compute(impl_->matrix);
    impl_->cached_fixed = fixed;
  }
  IcCg& cg = *impl_->cg;
  cg.setTolerance(options.rel_tol);
  cg.setMaxIterations(max_iter);
  CARDIOTWIN_CHECK(cg.info() == Eigen::Success, SolverDiverged, "Laplace preconditioner failed",
                   "an incomplete Cholesky factor of the stiffness matrix", "a breakdown", Where({}, "laplace"));
  Eigen::VectorXd x = cg.solveWithGuess(b, u);
  impl_->iterations = static_cast<int>(cg.iterations());
  CARDIOTWIN_CHECK(cg.info() == Eigen::Success && x.allFinite(), SolverDiverged, "Laplace solve did not converge",
                   "relative residual <= " << options.rel_tol << " within " << max_iter << " iterations",
                   "residual " << cg.error() << " after " << cg.iterations() << " iterations", Where({}, "laplace"));
  return x;
}

Eigen::Matrix<double, Eigen::Dynamic, 3, Eigen::RowMajor> LaplaceSolver::gradient(const Eigen::VectorXd& u) const {
  const TetMesh& m = *impl_->mesh;
  CARDIOTWIN_CHECK(u.size() == m.num_points(), InvalidInput, "field size mismatch", m.num_points() << " node values",
                   u.size(), Where({}, "u"));
  Eigen::Matrix<double, Eigen::Dynamic, 3, Eigen::RowMajor> g(m.num_tets(), 3);
  for (std::int64_t t = 0; t < m.num_tets(); ++t) {
    Eigen::RowVector3d s = Eigen::RowVector3d::Zero();
    for (int a = 0; a < 4; ++a) s += u[m.tets(t, a)] * impl_->geo.grad[static_cast<std::size_t>(t)].row(a);
    g.row(t) = s;
  }
  return g;
}

Eigen::VectorXd solve_laplace(const TetMesh& mesh, const Dirichlet& bc, const LaplaceOptions& options) {
  return LaplaceSolver(mesh).solve(bc, options);
}

}  // namespace cardiotwin::anatomy
