// Verification of the monodomain diffusion operator and time stepping against an analytic
// solution, and of the solver's error handling, using the passive membrane model.
#include <catch2/catch.hpp>
#include <cmath>

#include "../test_util.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/ep/fem.hpp"
#include "cardiotwin/ep/monodomain.hpp"
#include "cardiotwin/mesh/procedural.hpp"

using namespace cardiotwin;
using namespace cardiotwin::ep;

namespace {
const double kPi = 3.14159265358979323846;

// V = -85 + 10 cos(pi x / Lx) e^{-Dl (pi/Lx)^2 t} + 5 cos(pi y / Ly) e^{-Dt (pi/Ly)^2 t} solves
// dV/dt = Dl Vxx + Dt Vyy with zero flux on the box faces.
struct Analytic {
  double lx = 4, ly = 1, dl, dt;
  double operator()(const Eigen::Vector3d& p, double t) const {
    return -85 + 10 * std::cos(kPi * p[0] / lx) * std::exp(-dl * (kPi / lx) * (kPi / lx) * t) +
           5 * std::cos(kPi * p[1] / ly) * std::exp(-dt * (kPi / ly) * (kPi / ly) * t);
  }
};

double diffusion_error(double dx, double dt, const std::string& mass, double theta) {
  MonodomainOptions o;
  o.ionic_model = "passive";
  o.cell_type = "default";
  o.dt_ms = dt;
  o.mass = mass;
  o.theta = theta;
  o.cg_tolerance = 1e-12;
  const Conductivity c = o.conductivity;
  const double scale = 100.0 / (o.chi_per_mm * o.cm_uf_per_cm2);
  const Analytic exact{4, 1, c.sigma_l * scale, c.sigma_t * scale};
  const TetMesh m = mesh::box_mesh(Eigen::Vector3d(4, 1, 0.5), dx);
  Monodomain solver(m, o);
  Eigen::VectorXd v0(m.num_points());
  for (std::int64_t i = 0; i < m.num_points(); ++i) v0[i] = exact(m.points.row(i), 0.0);
  solver.set_vm(v0);
  const double t_end = 4.0;
  solver.run(t_end);
  REQUIRE(solver.time_ms() == Approx(t_end));
  // Mass-weighted (L2) nodal error.
  double err2 = 0, vol = 0;
  const TetGeometry geo = tet_geometry(m);
  for (std::int64_t e = 0; e < m.num_tets(); ++e)
    for (int a = 0; a < 4; ++a) {
      const auto i = m.tets(e, a);
      const double d = solver.vm()[i] - exact(m.points.row(i), t_end);
      err2 += geo.volume[e] / 4 * d * d;
      vol += geo.volume[e] / 4;
    }
  return std::sqrt(err2 / vol);
}
}  // namespace

TEST_CASE("diffusion converges at second order to the analytic anisotropic solution", "[ep][monodomain][verification]") {
  for (const auto& [mass, theta] : {std::pair<std::string, double>{"consistent", 0.5}, {"lumped", 0.5}}) {
    double prev = 0;
    std::vector<double> rates;
    for (double dx : {0.5, 0.25, 0.125}) {
      const double err = diffusion_error(dx, 0.2 * dx, mass, theta);  // CN: dt ~ dx keeps O(h^2)
      if (prev > 0) rates.push_back(std::log2(prev / err));
      prev = err;
      INFO(mass << " dx " << dx << " L2 error " << err);
      CHECK(err < 2.0 * dx * dx);  // the modes have amplitudes 10 and 5 mV
    }
    INFO(mass << " rates " << rates[0] << ", " << rates[1]);
    CHECK(rates[0] > 1.8);
    CHECK(rates[1] > 1.9);
  }
  // Backward Euler with dt ~ dx^2 is also second order in dx.
  const double e1 = diffusion_error(0.5, 0.1, "consistent", 1.0), e2 = diffusion_error(0.25, 0.025, "consistent", 1.0);
  CHECK(std::log2(e1 / e2) > 1.8);
}

TEST_CASE("bad monodomain input gets clear errors", "[ep][monodomain][errors]") {
  const TetMesh m = mesh::box_mesh(Eigen::Vector3d(2, 1, 1), 0.5);
  MonodomainOptions o;
  o.ionic_model = "no_such_model";
  CHECK_THROWS_WITH(Monodomain(m, o), Catch::Contains("unknown ionic model") && Catch::Contains("passive"));
  o = MonodomainOptions();
  o.ionic_model = "passive";
  o.cell_type = "default";
  TetMesh nofibre = m;
  nofibre.fibre.resize(0, 3);
  nofibre.sheet.resize(0, 3);
  nofibre.normal.resize(0, 3);
  CHECK_THROWS_WITH(Monodomain(nofibre, o), Catch::Contains("needs fibres"));
  o.conductivity.sigma_t = -1;
  CHECK_THROWS_WITH(Monodomain(m, o), Catch::Contains("non-positive conductivity"));
  o.conductivity = Conductivity();
  TetMesh flat = m;
  flat.points.col(2).setZero();
  CHECK_THROWS_AS(Monodomain(flat, o), InvalidInput);
  CHECK_THROWS_WITH(MonodomainOptions::from_json({{"dt_ms", 0.01}, {"dtt", 1}}),
                    Catch::Contains("unknown option") && Catch::Contains("'dtt'") && Catch::Contains("dt_ms"));
  CHECK_THROWS_WITH(MonodomainOptions::from_json({{"dt_ms", "fast"}}), Catch::Contains("wrong type"));
  CHECK_THROWS_WITH(MonodomainOptions::from_json({{"theta", 0.2}}), Catch::Contains("theta"));
  CHECK_THROWS_WITH(MonodomainOptions::from_json({{"mass", "diagonal"}}), Catch::Contains("'lumped'"));
  CHECK_THROWS_WITH(
      MonodomainOptions::from_json({{"ionic_model", "passive"}, {"cell_type", "default"},
                                    {"stimuli", nlohmann::json::array({{{"shape", "box"}, {"min", {0, 0}}, {"max", {1, 1, 1}}}})}}),
      Catch::Contains("stimuli[0].min"));
  o.stimuli.push_back(Stimulus::from_json({{"shape", "sphere"}, {"center", {50, 50, 50}}, {"radius_mm", 1}}));
  CHECK_THROWS_WITH(Monodomain(m, o), Catch::Contains("selects no node"));
}

TEST_CASE("a blow-up stops with the time and node", "[ep][monodomain][errors]") {
  const TetMesh m = mesh::box_mesh(Eigen::Vector3d(2, 1, 1), 0.5);
  MonodomainOptions o = MonodomainOptions::from_json(
      {{"ionic_model", "passive"},
       {"cell_type", "default"},
       {"ionic_options", {{"g_leak", -5.0}}},  // an unstable membrane: deviations grow like e^{5t}
       {"stimuli", nlohmann::json::array({{{"shape", "box"},
                                             {"min", {0, 0, 0}},
                                             {"max", {0.5, 0.5, 0.5}},
                                             {"unit", "mV/ms"},
                                             {"strength", 50}}})}});
  Monodomain solver(m, o);
  CHECK_THROWS_WITH(solver.run(20.0), Catch::Contains("blew up") && Catch::Contains("node") && Catch::Contains("t = "));
}

TEST_CASE("options round-trip through JSON", "[ep][monodomain]") {
  MonodomainOptions o;
  o.dt_ms = 0.02;
  o.region_conductivity[2] = Conductivity{0.5, 0.2, 0.1};
  o.stimuli.push_back(Stimulus::from_json({{"shape", "box"}, {"min", {0, 0, 0}}, {"max", {1.5, 1.5, 1.5}}}));
  o.probes.emplace_back(1, 2, 3);
  const MonodomainOptions back = MonodomainOptions::from_json(o.to_json());
  CHECK(back.to_json() == o.to_json());
  const Conductivity hm = Conductivity::from_json({{"intra", {{"sigma_l", 0.17}, {"sigma_t", 0.019}}},
                                                   {"extra", {{"sigma_l", 0.62}, {"sigma_t", 0.24}}}},
                                                  "conductivity");
  CHECK(hm.sigma_l == Approx(0.1334177).epsilon(1e-6));
  CHECK(hm.sigma_t == Approx(0.0176062).epsilon(1e-5));
  CHECK(hm.sigma_n == Approx(0.0176062).epsilon(1e-5));
}

TEST_CASE("ionic parameters and cell types vary per node through point fields", "[ep][monodomain]") {
  TetMesh m = mesh::box_mesh(Eigen::Vector3d(4, 1, 1), 0.5);
  // A strong leak towards a resting potential that varies along x: Vm relaxes to (nearly) it.
  Field e_rest(m.num_points(), 1);
  for (std::int64_t i = 0; i < m.num_points(); ++i) e_rest(i, 0) = -90.0 + 5.0 * m.points(i, 0);
  m.point_data["erest"] = e_rest;
  MonodomainOptions o = MonodomainOptions::from_json({{"ionic_model", "passive"},
                                                      {"cell_type", "default"},
                                                      {"ionic_options", {{"g_leak", 2.0}}},
                                                      {"ionic_parameter_fields", {{"E_rest", "erest"}}}});
  Monodomain s(m, o);
  s.run(20.0);
  const Eigen::VectorXd target = e_rest.col(0);
  CHECK((s.vm() - target).cwiseAbs().maxCoeff() < 2.0);   // diffusion smooths a little
  CHECK(s.vm().maxCoeff() - s.vm().minCoeff() > 15.0);    // the gradient is kept
  o.ionic_parameter_fields = {{"E_rest", "missing"}};
  CHECK_THROWS_WITH(Monodomain(m, o), Catch::Contains("'missing'"));

  // TP06 cell types from a field: M cells repolarise later than epicardial cells.
  TetMesh slab = mesh::box_mesh(Eigen::Vector3d(4, 0.5, 0.5), 0.5);
  Field types(slab.num_points(), 1);
  for (std::int64_t i = 0; i < slab.num_points(); ++i) types(i, 0) = slab.points(i, 0) < 2.0 ? 0 : 2;  // epi | mcell
  slab.point_data["celltype"] = types;
  MonodomainOptions t = MonodomainOptions::from_json(
      {{"ionic_model", "tp06"},
       {"cell_type_field", "celltype"},
       {"dt_ms", 0.05},
       {"conductivity", {{"sigma_l", 0.001}, {"sigma_t", 0.001}}},  // weak coupling keeps the APDs apart
       {"stimuli", nlohmann::json::array({{{"shape", "region"}, {"region", 1}, {"duration_ms", 1.0},
                                            {"strength", 60}, {"unit", "mV/ms"}}})}});
  Monodomain tissue(slab, t);
  tissue.run(450.0);
  const Eigen::VectorXd apd = tissue.result().apd_ms();
  CHECK(apd[0] > 250.0);
  CHECK(apd[slab.num_points() - 1] > apd[0] + 40.0);
  types(3, 0) = 7;
  slab.point_data["celltype"] = types;
  CHECK_THROWS_WITH(Monodomain(slab, t), Catch::Contains("cell type code") && Catch::Contains("element 3"));
}
