/// @file laplace.hpp
/// @brief Laplace problems on tet meshes with Dirichlet values on node sets (P1 elements).
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "cardiotwin/core/mesh.hpp"

namespace cardiotwin::anatomy {

/// Dirichlet data: `nodes[i]` is held at `values[i]`. Later entries win for repeated nodes.
struct Dirichlet {
  std::vector<Index> nodes;
  std::vector<double> values;
  /// Append every node of `node_set` with value `v`.
  void add(const std::vector<Index>& node_set, double v) {
    nodes.insert(nodes.end(), node_set.begin(), node_set.end());
    values.insert(values.end(), node_set.size(), v);
  }
};

/// Options of the iterative solve (conjugate gradients with an incomplete-Cholesky preconditioner;
/// the matrix is assembled with the P1 routines of `ep/fem.hpp`).
struct LaplaceOptions {
  double rel_tol = 1e-8;     ///< stop when ||r|| <= rel_tol ||b||
  int max_iterations = 0;    ///< 0: 10 x #nodes
};

/// Solves -div(grad u) = 0 on a tet mesh (unit conductivity) with Dirichlet values on node sets
/// and zero flux elsewhere. The stiffness matrix is assembled once; each `solve` eliminates its
/// own Dirichlet nodes. Nodes used by no tet are left at their initial value (0). The solver
/// keeps a reference to `mesh`, which must outlive it.
class LaplaceSolver {
 public:
  /// Throws `InvalidInput` for invalid meshes (inverted or degenerate tets).
  explicit LaplaceSolver(const TetMesh& mesh);
  ~LaplaceSolver();
  LaplaceSolver(LaplaceSolver&&) noexcept;
  LaplaceSolver& operator=(LaplaceSolver&&) noexcept;

  /// Node values (`#points`). Throws `InvalidInput` when `bc` is empty, names a node out of range,
  /// or holds only one value (the solution would be constant), and `SolverDiverged` when CG fails.
  Eigen::VectorXd solve(const Dirichlet& bc, const LaplaceOptions& options = {});
  /// CG iterations of the last solve.
  int last_iterations() const noexcept;
  /// Per-tet constant gradient of node field `u` (`#tets by 3`, 1/mm x unit of u).
  Eigen::Matrix<double, Eigen::Dynamic, 3, Eigen::RowMajor> gradient(const Eigen::VectorXd& u) const;

 private:
  struct Impl;
  Impl* impl_;
};

/// One-off solve: `LaplaceSolver(mesh).solve(bc, options)`.
Eigen::VectorXd solve_laplace(const TetMesh& mesh, const Dirichlet& bc, const LaplaceOptions& options = {});

}  // namespace cardiotwin::anatomy
