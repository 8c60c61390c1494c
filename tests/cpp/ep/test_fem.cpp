#include <Eigen/SparseCholesky>
#include <catch2/catch.hpp>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/ep/fem.hpp"
#include "cardiotwin/mesh/procedural.hpp"

using namespace cardiotwin;
using namespace cardiotwin::ep;

TEST_CASE("P1 matrices: constants in the kernel, mass sums to the volume, energy of linear fields", "[ep][fem]") {
  const TetMesh m = mesh::box_mesh(Eigen::Vector3d(2.0, 1.0, 1.5), 0.25);
  const TetGeometry geo = tet_geometry(m);
  CHECK(geo.volume.sum() == Approx(3.0));
  const CsrMatrix P = p1_sparsity(m);
  CHECK(P.n == m.num_points());
  CHECK(P.find(0, 0) >= 0);
  const double sl = 0.3, st = 0.05, sn = 0.02;
  const CsrMatrix K = assemble_stiffness(m, geo, conductivity_tensors(m, {sl, st, sn}), P);
  Eigen::VectorXd ones = Eigen::VectorXd::Ones(P.n), y(P.n);
  K.multiply(ones.data(), y.data());
  CHECK(y.cwiseAbs().maxCoeff() < 1e-12);
  // u = x (along the fibres), y (sheets), z (normals): u^T K u = sigma * volume.
  for (int axis = 0; axis < 3; ++axis) {
    const Eigen::VectorXd u = m.points.col(axis);
    K.multiply(u.data(), y.data());
    const double expected = (axis == 0 ? sl : axis == 1 ? st : sn) * 3.0;
    CHECK(u.dot(y) == Approx(expected).epsilon(1e-12));
  }
  for (bool lumped : {false, true}) {
    const CsrMatrix M = assemble_mass(m, geo, P, lumped);
    M.multiply(ones.data(), y.data());
    CHECK(y.sum() == Approx(3.0));
    // Consistent mass integrates x^2 exactly for P1-interpolated x... only to O(h^2); check x.x ~ int x^2.
    const Eigen::VectorXd u = m.points.col(0);
    M.multiply(u.data(), y.data());
    CHECK(u.dot(y) == Approx(1.5 * 8.0 / 3.0).epsilon(lumped ? 2e-2 : 1e-2));
  }
}

TEST_CASE("conductivity tensors from fibres, harmonic means and errors", "[ep][fem]") {
  TetMesh m = mesh::box_mesh(Eigen::Vector3d(1, 1, 1), 0.5);
  // Rotate fibres to 45 degrees in the xy plane: sigma_xy = (sl - st) / 2.
  m.fibre.col(0).setConstant(std::sqrt(0.5));
  m.fibre.col(1).setConstant(std::sqrt(0.5));
  m.sheet.col(0).setConstant(-std::sqrt(0.5));
  m.sheet.col(1).setConstant(std::sqrt(0.5));
  const TensorField T = conductivity_tensors(m, {0.3, 0.1, 0.1});
  CHECK(T(0, 0) == Approx(0.2));
  CHECK(T(0, 3) == Approx(0.1));
  CHECK(T(0, 2) == Approx(0.1));
  m.fibre.resize(0, 3);
  m.sheet.resize(0, 3);
  m.normal.resize(0, 3);
  CHECK_THROWS_WITH(conductivity_tensors(m, {0.3, 0.1, 0.1}), Catch::Contains("needs fibres"));
  CHECK_NOTHROW(conductivity_tensors(m, {0.2, 0.2, 0.2}));  // isotropic needs none
  CHECK_THROWS_WITH(conductivity_tensors(m, {0.2, 0.0, 0.2}), Catch::Contains("non-positive conductivity"));
}

TEST_CASE("zero-volume tets are rejected by name", "[ep][fem]") {
  TetMesh m = mesh::box_mesh(Eigen::Vector3d(1, 1, 1), 0.5);
  std::swap(m.tets(3, 0), m.tets(3, 1));
  CHECK_THROWS_WITH(tet_geometry(m), Catch::Contains("element 3") && Catch::Contains("negative volume"));
}

TEST_CASE("conjugate gradients agree with a direct solve and warm starts save iterations", "[ep][fem]") {
  const TetMesh m = mesh::box_mesh(Eigen::Vector3d(2, 1, 1), 0.1);
  const TetGeometry geo = tet_geometry(m);
  const CsrMatrix P = p1_sparsity(m);
  const CsrMatrix K = assemble_stiffness(m, geo, conductivity_tensors(m, {1, 1, 1}), P);
  CsrMatrix A = assemble_mass(m, geo, P, false);
  for (std::size_t k = 0; k < A.val.size(); ++k) A.val[k] += 0.05 * K.val[k];
  Eigen::VectorXd b = Eigen::VectorXd::Random(A.n), x = Eigen::VectorXd::Zero(A.n);
  CgWorkspace ws;
  const int iters = conjugate_gradient(A, b.data(), x.data(), 1e-10, 1000, ws);
  Eigen::SparseMatrix<double> As = A.eigen();
  Eigen::SimplicialLDLT<Eigen::SparseMatrix<double>> ldlt(As);
  const Eigen::VectorXd xd = ldlt.solve(b);
  CHECK((x - xd).norm() <= 1e-8 * xd.norm());
  CHECK(iters > 3);
  Eigen::VectorXd x2 = xd + 1e-6 * Eigen::VectorXd::Random(A.n);
  CHECK(conjugate_gradient(A, b.data(), x2.data(), 1e-10, 1000, ws) < iters);
  CHECK_THROWS_AS(conjugate_gradient(A, b.data(), x.setZero().data(), 1e-14, 2, ws), SolverDiverged);
}

TEST_CASE("CG with the right-hand side f - C v formed in its first pass", "[ep][fem]") {
  const TetMesh m = mesh::box_mesh(Eigen::Vector3d(2, 1, 1), 0.1);
  const TetGeometry geo = tet_geometry(m);
  const CsrMatrix P = p1_sparsity(m);
  CsrMatrix C = assemble_stiffness(m, geo, conductivity_tensors(m, {1, 1, 1}), P);
  for (double& v : C.val) v *= 0.05;
  CsrMatrix A = assemble_mass(m, geo, P, false);
  for (std::size_t k = 0; k < A.val.size(); ++k) A.val[k] += 0.5 * C.val[k];
  const std::vector<float> c32 = zero_row_sum_offdiagonal(C);
  REQUIRE(c32.size() == C.val.size());
  const Eigen::VectorXd v = Eigen::VectorXd::Random(A.n) * 50, f = Eigen::VectorXd::Random(A.n);
  Eigen::VectorXd cv(A.n);
  C.multiply(v.data(), cv.data());
  const Eigen::VectorXd b = f - cv;
  CgWorkspace ws;
  ws.single_precision_matrix = true;
  Eigen::VectorXd x1 = Eigen::VectorXd::Zero(A.n), x2 = Eigen::VectorXd::Zero(A.n);
  const int i1 = conjugate_gradient(A, b.data(), x1.data(), 1e-10, 1000, ws);
  const int i2 = conjugate_gradient(A, c32.data(), v.data(), f.data(), x2.data(), 1e-10, 1000, ws);
  CHECK((x1 - x2).norm() <= 1e-6 * x1.norm());  // C's values in float: ~1e-7 relative
  CHECK(std::abs(i1 - i2) <= 1);
  // A uniform v contributes exactly nothing: the solution is A^-1 f bit for bit.
  const Eigen::VectorXd u = Eigen::VectorXd::Constant(A.n, -85.0);
  Eigen::VectorXd x3 = Eigen::VectorXd::Zero(A.n), x4 = Eigen::VectorXd::Zero(A.n);
  conjugate_gradient(A, f.data(), x3.data(), 1e-10, 1000, ws);
  conjugate_gradient(A, c32.data(), u.data(), f.data(), x4.data(), 1e-10, 1000, ws);
  CHECK(x3 == x4);
  // A matrix whose rows do not sum to zero is refused (the caller falls back to C v).
  CHECK(zero_row_sum_offdiagonal(A).empty());
}
