/// @file fem.hpp
/// @brief P1 finite elements on tetrahedra: sparsity, stiffness and mass matrices, gradients.
///
/// Shared by the monodomain solver, the Laplace solves of the anatomy stage and the ECG forward
/// models. Matrices are CSR (row-major) with int32 indices so that they map onto
/// `Eigen::SparseMatrix<double, Eigen::RowMajor, int>` without copies.
#pragma once

#include <Eigen/Core>
#include <Eigen/SparseCore>
#include <cstdint>
#include <map>
#include <vector>

#include "cardiotwin/core/mesh.hpp"

namespace cardiotwin::ep {

/// A square sparse matrix in compressed sparse row form, rows sorted by column.
struct CsrMatrix {
  std::int32_t n = 0;              ///< number of rows = columns
  std::vector<std::int32_t> row;   ///< `n + 1` offsets into `col`/`val`
  std::vector<std::int32_t> col;   ///< column of each stored entry
  std::vector<double> val;         ///< value of each stored entry

  std::int64_t nnz() const noexcept { return static_cast<std::int64_t>(col.size()); }
  /// Zero-copy Eigen view (valid while this object lives and is not resized).
  Eigen::Map<const Eigen::SparseMatrix<double, Eigen::RowMajor, std::int32_t>> eigen() const {
    return {n, n, static_cast<std::int32_t>(nnz()), row.data(), col.data(), val.data()};
  }
  /// Same sparsity, values set to `v`.
  CsrMatrix with_values(double v) const {
    CsrMatrix m = *this;
    std::fill(m.val.begin(), m.val.end(), v);
    return m;
  }
  /// Index into `val` of entry (i, j); -1 when not stored.
  std::int64_t find(std::int32_t i, std::int32_t j) const noexcept;
  /// y = A x (threaded over rows).
  void multiply(const double* x, double* y) const;
  /// Diagonal entries.
  Eigen::VectorXd diagonal() const;
};

/// The node-to-node sparsity of P1 elements on `mesh` (every pair of nodes sharing a tet), values 0.
CsrMatrix p1_sparsity(const TetMesh& mesh);

/// Per-tet geometry: basis-function gradients and volume.
struct TetGeometry {
  /// `#tets` blocks of 4 x 3: row a is grad(phi_a) in 1/mm.
  std::vector<Eigen::Matrix<double, 4, 3>> grad;
  Eigen::VectorXd volume;  ///< `#tets` volumes in mm^3 (positive for valid meshes)
};
/// Gradients and volumes of every tet. Throws `InvalidInput` naming the first tet with zero or
/// negative volume.
TetGeometry tet_geometry(const TetMesh& mesh);

/// Per-tet symmetric conductivity tensors, `#tets` x 6 in the order xx, yy, zz, xy, yz, xz.
using TensorField = Eigen::Matrix<double, Eigen::Dynamic, 6, Eigen::RowMajor>;

/// sigma = sigma_l f f^T + sigma_t s s^T + sigma_n n n^T per tet (S/m) from the mesh's fibre,
/// sheet and normal. Without sheets (transversely isotropic) sigma = sigma_t I + (sigma_l -
/// sigma_t) f f^T, which needs sigma_n == sigma_t. `sigma_lsn` = (sigma_l, sigma_t, sigma_n) for
/// every tet, overridden per region tag by `per_region`. Throws `InvalidInput` for missing fibres
/// (unless the values are isotropic) or non-positive conductivities.
TensorField conductivity_tensors(const TetMesh& mesh, const Eigen::Vector3d& sigma_lsn,
                                 const std::map<Index, Eigen::Vector3d>& per_region = {});

/// Stiffness matrix K_ij = sum_e vol_e grad(phi_i)^T sigma_e grad(phi_j), on `pattern`'s sparsity.
/// `sigma` is a TensorField (`#tets` x 6).
CsrMatrix assemble_stiffness(const TetMesh& mesh, const TetGeometry& geo, const TensorField& sigma,
                             const CsrMatrix& pattern);
/// Mass matrix: consistent (vol/20 (1 + delta_ij)) or lumped (vol/4 on the diagonal, stored in
/// the same sparsity so that matrices can be combined entry by entry).
CsrMatrix assemble_mass(const TetMesh& mesh, const TetGeometry& geo, const CsrMatrix& pattern, bool lumped);

/// Solve A x = b with Jacobi-preconditioned conjugate gradients, starting from `x` (warm start).
/// Stops when ||r|| <= rel_tol ||b|| (or ||b|| = 0). Threaded; deterministic for a fixed thread
/// count. Returns iterations used; throws `SolverDiverged` when `max_iter` is exceeded or the
/// residual becomes NaN.
struct CgWorkspace {
  Eigen::VectorXd r, z, p, q, inv_diag;
  /// Multiply with a float32 copy of the matrix values (vectors stay float64): a third less memory
  /// traffic per iteration; the solve is then exact for a matrix perturbed by ~1e-7 relative.
  bool single_precision_matrix = false;
  std::vector<float> val32;
};
int conjugate_gradient(const CsrMatrix& A, const double* b, double* x, double rel_tol, int max_iter,
                       CgWorkspace& ws);
/// The same for b = f - C v, with C in A's sparsity pattern and with zero row sums (a stiffness
/// matrix): C v is formed inside the first pass over A (one fewer pass over a matrix per solve) as
/// sum_k c_ik (v_k - v_i), so a uniform v gives exactly 0 whatever the rounding of C's values.
/// `c_offdiag`: C's values as float with the diagonal set to 0 (`zero_row_sum_offdiagonal`);
/// null means b = f.
int conjugate_gradient(const CsrMatrix& A, const float* c_offdiag, const double* v, const double* f, double* x,
                       double rel_tol, int max_iter, CgWorkspace& ws);
/// C's values as float with a zero diagonal, for the call above; empty when some row of C does not
/// sum to zero within `rel_tol` times its largest entry.
std::vector<float> zero_row_sum_offdiagonal(const CsrMatrix& C, double rel_tol = 1e-10);

/// Number of threads cardiotwin's parallel loops use (OpenMP); `set_num_threads(0)` restores the
/// default (all cores).
int num_threads();
void set_num_threads(int n);

}  // namespace cardiotwin::ep
