#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <random>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/ecg/electrodes.hpp"
#include "cardiotwin/ecg/forward.hpp"
#include "cardiotwin/ecg/leads.hpp"
#include "cardiotwin/ep/eikonal.hpp"
#include "cardiotwin/io/vtk.hpp"
#include "cardiotwin/mesh/procedural.hpp"
#include "../test_util.hpp"

using namespace cardiotwin;
using namespace cardiotwin::ecg;

namespace {

constexpr double kPi = 3.14159265358979323846;

// Degree-5 seven-point rule on triangles (Dunavant), on 4^levels sub-triangles: an independent
// check of the closed form.
double brute_force_triangle(const Eigen::Vector3d& a, const Eigen::Vector3d& b, const Eigen::Vector3d& c,
                            const Eigen::Vector3d& p, int levels) {
  if (levels > 0) {
    const Eigen::Vector3d ab = 0.5 * (a + b), bc = 0.5 * (b + c), ca = 0.5 * (c + a);
    return brute_force_triangle(a, ab, ca, p, levels - 1) + brute_force_triangle(ab, b, bc, p, levels - 1) +
           brute_force_triangle(ca, bc, c, p, levels - 1) + brute_force_triangle(ab, bc, ca, p, levels - 1);
  }
  const double area = 0.5 * (b - a).cross(c - a).norm();
  const double w0 = 0.225, w1 = 0.132394152788506, w2 = 0.125939180544827;
  const double a1 = 0.059715871789770, b1 = 0.470142064105115, a2 = 0.797426985353087, b2 = 0.101286507323456;
  auto f = [&](double l0, double l1, double l2) { return 1.0 / (l0 * a + l1 * b + l2 * c - p).norm(); };
  const double s = w0 * f(1.0 / 3, 1.0 / 3, 1.0 / 3) + w1 * (f(a1, b1, b1) + f(b1, a1, b1) + f(b1, b1, a1)) +
                   w2 * (f(a2, b2, b2) + f(b2, a2, b2) + f(b2, b2, a2));
  return area * s;
}

// Gauss-Legendre on [0, 1], 8 points.
const double kGx[8] = {0.019855071751231856, 0.10166676129318664, 0.2372337950418355, 0.4082826787521751,
                       0.5917173212478249,   0.7627662049581645,  0.8983332387068134, 0.9801449282487681};
const double kGw[8] = {0.050614268145188129, 0.11119051722668724, 0.15685332293894364, 0.18134189168918099,
                       0.18134189168918099,  0.15685332293894364, 0.11119051722668724, 0.050614268145188129};

// Potential (times 4 pi sigma_b) of a cube [-h, h]^3 with uniform dipole density m (per mm^3): the
// bound surface charge m . n on its faces, integrated by tensor Gauss rules on panels.
double cube_potential(double h, const Eigen::Vector3d& m, const Eigen::Vector3d& x, int panels) {
  double phi = 0;
  for (int axis = 0; axis < 3; ++axis)
    for (int side : {-1, 1}) {
      const int u = (axis + 1) % 3, v = (axis + 2) % 3;
      const double charge = m[axis] * side;
      const double ph = 2 * h / panels;
      double integral = 0;
      for (int i = 0; i < panels; ++i)
        for (int j = 0; j < panels; ++j)
          for (int qi = 0; qi < 8; ++qi)
            for (int qj = 0; qj < 8; ++qj) {
              Eigen::Vector3d y;
              y[axis] = side * h;
              y[u] = -h + (i + kGx[qi]) * ph;
              y[v] = -h + (j + kGx[qj]) * ph;
              integral += kGw[qi] * kGw[qj] * ph * ph / (y - x).norm();
            }
      phi += charge * integral;
    }
  return phi;
}

TetMesh centred_cube(double side, double dx) {
  TetMesh m = mesh::box_mesh(Eigen::Vector3d::Constant(side), dx);
  m.points.rowwise() -= Eigen::RowVector3d::Constant(side / 2);
  return m;
}

Electrodes one_electrode(const Eigen::Vector3d& x, const std::string& name = "E") {
  Electrodes e;
  e.names = {name};
  e.positions = x.transpose();
  return e;
}

}  // namespace

TEST_CASE("closed-form 1/r integral over triangles matches quadrature", "[ecg][forward]") {
  const Eigen::Vector3d a(0.3, -0.2, 0.1), b(2.1, 0.4, -0.3), c(0.7, 1.8, 0.5);
  const Eigen::Vector3d centre = (a + b + c) / 3, n = (b - a).cross(c - a).normalized();
  const std::vector<Eigen::Vector3d> points = {
      centre + 0.5 * n,                        // above the inside
      centre - 1.3 * n,                        // below the inside
      a + 1.5 * (a - centre),                  // in the plane, outside
      0.5 * (a + b) + 0.4 * n,                 // above an edge
      b + 2.0 * (b - a) + 0.3 * n,             // on the extension of an edge line, off the plane
      b + 2.0 * (b - a),                       // on the extension of an edge line, in the plane
      centre + Eigen::Vector3d(40, -30, 25),   // far away
  };
  for (const auto& p : points) {
    const double exact = triangle_inverse_distance_integral(a, b, c, p);
    const double quad = brute_force_triangle(a, b, c, p, 5);
    CHECK(exact == Approx(quad).epsilon(1e-7));
    // Independent of the vertex order.
    CHECK(triangle_inverse_distance_integral(c, b, a, p) == Approx(exact).epsilon(1e-12));
  }
  // Far field: area / distance.
  const Eigen::Vector3d far = centre + Eigen::Vector3d(1e4, 0, 0);
  CHECK(triangle_inverse_distance_integral(a, b, c, far) ==
        Approx(0.5 * (b - a).cross(c - a).norm() / (far - centre).norm()).epsilon(1e-6));
}

TEST_CASE("pseudo-ECG of a uniformly polarised cube equals the analytic potential", "[ecg][forward]") {
  // Vm linear in a cube: grad Vm = g everywhere, so the impressed dipole density is -sigma_i g,
  // and the potential is that of the bound charges on the faces (near) and of a point dipole
  // (far). Vm has a constant offset, which must not matter.
  const double side = 10, h = side / 2;
  const TetMesh cube = centred_cube(side, 1.0);  // fibres along x, sheets y, normals z
  const Eigen::Vector3d g(1.0, -2.0, 0.5);       // mV/mm
  Eigen::VectorXd vm = (cube.points * g).array() - 80.0;
  PseudoEcgOptions opt;
  opt.sigma_i = Eigen::Vector3d(0.17, 0.019, 0.04);
  opt.sigma_bath = 0.2;
  const Eigen::Vector3d m = -(opt.sigma_i.asDiagonal() * g);  // dipole density (S/m mV/mm)
  const double V = side * side * side;

  SECTION("near the surface: bound surface charge, exact integration") {
    opt.near_field_factor = 1e9;  // every tet exact
    const std::vector<Eigen::Vector3d> xs = {{h + 1.0, 0.3, -0.7}, {-h - 2.0, h + 0.5, 1.0}, {0.4, 0.2, h + 0.25}};
    Electrodes e;
    for (std::size_t k = 0; k < xs.size(); ++k) {
      e.names.push_back("E" + std::to_string(k));
      e.positions.conservativeResize(static_cast<Eigen::Index>(k + 1), 3);
      e.positions.row(static_cast<Eigen::Index>(k)) = xs[k].transpose();
    }
    const ElectrodeWeights w = pseudo_ecg_weights(cube, e, opt);
    const Eigen::VectorXd phi = w.potentials(vm);
    for (std::size_t k = 0; k < xs.size(); ++k) {
      const double exact = cube_potential(h, m, xs[k], 16) / (4 * kPi * opt.sigma_bath);
      CHECK(phi[static_cast<Eigen::Index>(k)] == Approx(exact).epsilon(1e-6));
    }
    // A uniform Vm gives zero.
    CHECK(w.potentials(Eigen::VectorXd::Constant(vm.size(), -85.0)).cwiseAbs().maxCoeff() < 1e-12);
  }

  SECTION("far away: point dipole, default (mixed) integration") {
    std::mt19937 rng(7);
    std::normal_distribution<double> normal;
    for (double R : {60.0, 150.0}) {
      for (int k = 0; k < 4; ++k) {
        const Eigen::Vector3d dir = Eigen::Vector3d(normal(rng), normal(rng), normal(rng)).normalized();
        const Eigen::Vector3d x = R * dir;
        const double dipole = V * m.dot(x) / (4 * kPi * opt.sigma_bath * R * R * R);
        const double scale = V * m.norm() / (4 * kPi * opt.sigma_bath * R * R);
        const double phi = pseudo_ecg_weights(cube, one_electrode(x), opt).potentials(vm)[0];
        // Cube: no quadrupole, so the multipole error is O((side / R)^4); the centroid rule adds O((h / R)^2).
        CHECK(std::abs(phi - dipole) < 2e-3 * scale);
      }
    }
  }
}

TEST_CASE("mixed integration converges to exact as the near field grows", "[ecg][forward]") {
  const TetMesh cube = centred_cube(8, 1.0);
  const Eigen::VectorXd vm = (cube.points.col(0).array() * 2.0 + cube.points.col(2).array()).matrix();
  const Electrodes e = one_electrode(Eigen::Vector3d(9, 3, -2));
  PseudoEcgOptions opt;
  opt.near_field_factor = 1e9;
  const double exact = pseudo_ecg_weights(cube, e, opt).potentials(vm)[0];
  double last = 1e300;
  for (double f : {0.0, 3.0, 10.0}) {
    opt.near_field_factor = f;
    const double err = std::abs(pseudo_ecg_weights(cube, e, opt).potentials(vm)[0] - exact);
    CHECK(err <= last);
    last = err;
  }
  CHECK(last < 2e-3 * std::abs(exact));
}

TEST_CASE("electrodes inside the heart and bad options are clear errors", "[ecg][forward]") {
  const TetMesh cube = centred_cube(4, 1.0);
  Electrodes e;
  e.names = {"V1", "V2"};
  e.positions.resize(2, 3);
  e.positions << 10, 0, 0, 0.3, -0.2, 0.1;
  CHECK_THROWS_AS(pseudo_ecg_weights(cube, e), InvalidInput);
  CHECK_THROWS_WITH(pseudo_ecg_weights(cube, e), Catch::Contains("inside the heart") && Catch::Contains("'V2'"));
  // On the surface is inside too; within min_distance_mm as well.
  e.positions.row(1) << 2.0, 0.5, 0.5;
  CHECK_THROWS_WITH(pseudo_ecg_weights(cube, e), Catch::Contains("'V2'"));
  e.positions.row(1) << 2.5, 0.5, 0.5;
  CHECK_NOTHROW(pseudo_ecg_weights(cube, e));
  PseudoEcgOptions opt;
  opt.min_distance_mm = 1.0;
  CHECK_THROWS_WITH(pseudo_ecg_weights(cube, e, opt), Catch::Contains("'V2'"));
  opt.min_distance_mm = 0.0;
  opt.sigma_bath = 0;
  CHECK_THROWS_WITH(pseudo_ecg_weights(cube, e, opt), Catch::Contains("sigma_bath"));
  CHECK_THROWS_WITH(PseudoEcgOptions::from_json({{"sigma_bth", 0.2}}), Catch::Contains("unknown option"));
  const PseudoEcgOptions back = PseudoEcgOptions::from_json({{"sigma_i", {0.2, 0.1, 0.1}}, {"region_sigma_i", {{"2", {0.3, 0.1, 0.1}}}}});
  CHECK(back.region_sigma_i.at(2)[0] == 0.3);
  CHECK(PseudoEcgOptions::from_json(back.to_json()).to_json() == back.to_json());
  // Vm of the wrong size.
  const ElectrodeWeights w = pseudo_ecg_weights(cube, e);
  CHECK_THROWS_WITH(w.potentials(Eigen::VectorXd::Zero(3)), Catch::Contains("one per heart node"));
  CHECK_THROWS_WITH(w.apply(Eigen::VectorXd::LinSpaced(3, 0, 2), Field::Zero(2, cube.num_points())),
                    Catch::Contains("mismatched time axis"));
}

TEST_CASE("ECG from a series of Vm snapshots (.pvd of .vtu, as the monodomain writes)", "[ecg][forward]") {
  const TetMesh cube = centred_cube(6, 1.0);
  const ElectrodeWeights w = pseudo_ecg_weights(cube, one_electrode(Eigen::Vector3d(30, 5, -4), "V1"));
  test::TempDir dir;
  std::vector<io::PvdEntry> entries;
  Field frames(5, cube.num_points());
  for (int k = 0; k < 5; ++k) {
    TetMesh m = cube;
    const Eigen::VectorXd vm = (cube.points.col(0).array() * (k + 1.0) - 80.0).matrix();
    frames.row(k) = vm.transpose();
    m.point_data["Vm"] = vm;
    const std::string name = "vm_" + std::to_string(k) + ".vtu";
    io::write_vtu(dir.file(name), m);
    entries.push_back({2.0 * k, name, 0});
  }
  io::write_pvd(dir.file("vm.pvd"), entries);
  const Signals s = apply_to_pvd(w, dir.file("vm.pvd"));
  const Signals ref = w.apply(Eigen::VectorXd::LinSpaced(5, 0, 8), frames);
  CHECK(s.names == std::vector<std::string>{"V1"});
  CHECK((s.time_ms - ref.time_ms).norm() == 0);
  CHECK((s.values - ref.values).cwiseAbs().maxCoeff() < 1e-12 * ref.values.cwiseAbs().maxCoeff());
  // A snapshot of another mesh, or without Vm, is an error naming the file.
  TetMesh other = centred_cube(6, 2.0);
  other.point_data["Vm"] = Eigen::VectorXd::Zero(other.num_points());
  io::write_vtu(dir.file("vm_2.vtu"), other);
  CHECK_THROWS_WITH(apply_to_pvd(w, dir.file("vm.pvd")), Catch::Contains("vm_2.vtu") && Catch::Contains("points"));
  io::write_vtu(dir.file("vm_2.vtu"), cube);
  CHECK_THROWS_WITH(apply_to_pvd(w, dir.file("vm.pvd")), Catch::Contains("no Vm"));
}

TEST_CASE("batched apply equals one dot product per frame and electrode", "[ecg][forward]") {
  // 21 rows (two electrode groups, one partial) and 2500 nodes (three node blocks, one partial).
  ElectrodeWeights w;
  w.weights = Field::Random(21, 2500);
  for (int e = 0; e < 21; ++e) w.names.push_back("e" + std::to_string(e));
  const Field frames = Field::Random(7, 2500);
  const Eigen::VectorXd t = Eigen::VectorXd::LinSpaced(7, 0, 6);
  const Signals s = w.apply(t, frames);
  REQUIRE(s.values.rows() == 7);
  REQUIRE(s.values.cols() == 21);
  for (int f = 0; f < 7; ++f) {
    const Eigen::VectorXd ref = w.weights * frames.row(f).transpose();
    for (int e = 0; e < 21; ++e) CHECK(s.values(f, e) == Approx(ref[e]).margin(1e-9));
  }
  // A column block of a bigger array (a strided view) works as well.
  const Field wide = Field::Random(7, 2600);
  const Signals v = w.apply(t, wide.leftCols(2500));
  CHECK((v.values - Field(wide.leftCols(2500)) * w.weights.transpose()).cwiseAbs().maxCoeff() < 1e-9);
  CHECK_THROWS_WITH(w.apply(t.head(6), frames), Catch::Contains("mismatched time axis"));
  CHECK_THROWS_WITH(w.apply(t, wide), Catch::Contains("do not match the ECG weights"));
}

TEST_CASE("fused apply of a reaction-Eikonal model equals apply of its Vm frames", "[ecg][forward][eikonal]") {
  // 2 x 1 x 1 mm box at 0.1 mm: 2541 nodes (three node blocks, one partial); 150 frames (three
  // chunks of the fused path, one partial); 21 rows (two electrode groups).
  const TetMesh box = mesh::box_mesh(Eigen::Vector3d(2, 1, 1), 0.1);
  const ep::EikonalModel model(
      box, ep::EikonalModelOptions::from_json(
               {{"roots", {{{"point", {0.0, 0.0, 0.0}}}}}, {"velocity", {{"fibre", 0.05}, {"sheet", 0.05}}},
                {"template", {{"apd_ms", 60.0}}}},
               true));
  ElectrodeWeights w;
  w.weights = Field::Random(21, box.num_points());
  for (int e = 0; e < 21; ++e) w.names.push_back("e" + std::to_string(e));
  const Eigen::VectorXd t = Eigen::VectorXd::LinSpaced(150, -5.0, 144.0);
  Field frames(t.size(), box.num_points());
  for (Eigen::Index k = 0; k < t.size(); ++k) frames.row(k) = model.vm_at(t[k]).transpose();
  // The frames change over time (the wave crosses the box), so the comparison is not trivial.
  REQUIRE((frames.row(0) - frames.row(30)).cwiseAbs().maxCoeff() > 50);
  const Signals ref = w.apply(t, frames);
  const Signals fused = w.apply(t, model);
  REQUIRE(fused.values.rows() == 150);
  REQUIRE(fused.names == ref.names);
  CHECK((fused.values - ref.values).cwiseAbs().maxCoeff() < 1e-9 * ref.values.cwiseAbs().maxCoeff());
  CHECK(fused.time_ms == t);

  ElectrodeWeights small;
  small.weights = Field::Random(2, 10);
  small.names = {"a", "b"};
  CHECK_THROWS_WITH(small.apply(t, model), Catch::Contains("model does not match the ECG weights"));
  Eigen::VectorXd bad = t;
  bad[3] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(w.apply(bad, model), Catch::Contains("bad time"));
}
