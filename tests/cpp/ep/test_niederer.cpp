// Verification against the Niederer et al. 2011 N-version benchmark (TP06 epicardial slab) at
// dx = 0.5 mm for the three benchmark time steps, compared with the consistent-mass P1 FEM
// reference values in shared/reference/niederer2011.md; and bit-identical restarts.
#include <catch2/catch.hpp>
#include <cmath>

#include "../test_util.hpp"
#include "cardiotwin/core/atomic_file.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/ep/monodomain.hpp"
#include "cardiotwin/mesh/procedural.hpp"

using namespace cardiotwin;
using namespace cardiotwin::ep;

namespace {
MonodomainOptions niederer(double dt) {
  return MonodomainOptions::from_json({
      {"dt_ms", dt},
      {"ionic_model", "tp06"},
      {"cell_type", "epi"},
      {"chi_per_mm", 140.0},
      {"cm_uf_per_cm2", 1.0},
      {"conductivity",
       {{"intra", {{"sigma_l", 0.17}, {"sigma_t", 0.019}}}, {"extra", {{"sigma_l", 0.62}, {"sigma_t", 0.24}}}}},
      {"stimuli", nlohmann::json::array({{{"shape", "box"},
                                          {"min", {0, 0, 0}},
                                          {"max", {1.5, 1.5, 1.5}},
                                          {"start_ms", 0.0},
                                          {"duration_ms", 2.0},
                                          {"strength", 50000.0},
                                          {"unit", "uA/cm^3"}}})},
      {"probes", {{0, 0, 0}, {20, 7, 3}, {10, 3.5, 1.5}}},
  });
}
std::int64_t nearest(const TetMesh& m, const Eigen::Vector3d& p) {
  Eigen::Index i = 0;
  (m.points.rowwise() - p.transpose()).rowwise().squaredNorm().minCoeff(&i);
  return i;
}
}  // namespace

TEST_CASE("Niederer 2011 slab at dx 0.5 mm matches the consistent-mass FEM reference", "[ep][monodomain][niederer]") {
  const TetMesh m = mesh::niederer_slab(0.5);
  REQUIRE(m.num_points() == 4305);
  const std::int64_t p1 = nearest(m, {0, 0, 0}), p8 = nearest(m, {20, 7, 3}), p9 = nearest(m, {10, 3.5, 1.5});
  // Reference P8 (ms) for dt = 0.05, 0.01, 0.005 at dx = 0.5 mm.
  const std::pair<double, double> cases[] = {{0.05, 56.7}, {0.01, 55.9}, {0.005, 55.8}};
  for (const auto& [dt, p8_ref] : cases) {
    Monodomain solver(m, niederer(dt));
    solver.run(70.0);
    const EPResult r = solver.result();
    INFO("dt " << dt << ": P1 " << r.activation_ms[p1] << ", P8 " << r.activation_ms[p8] << ", P9 "
               << r.activation_ms[p9]);
    CHECK(std::abs(r.activation_ms[p8] - p8_ref) < 1.0);
    CHECK(r.activation_ms[p1] > 0.5);
    CHECK(r.activation_ms[p1] < 2.0);
    // Activation spreads monotonically away from the stimulus: the centre lies between.
    CHECK(r.activation_ms[p9] > r.activation_ms[p1]);
    CHECK(r.activation_ms[p9] < r.activation_ms[p8]);
    CHECK((r.activation_ms.array() == r.activation_ms.array()).all());  // every node activated
    // Probe traces: an action potential at the far corner, upstroke after P8's activation.
    REQUIRE(r.probes.num_channels() == 3);
    CHECK(r.probes.values.col(1).maxCoeff() > 20.0);
    CHECK(r.probes.values(0, 1) < -80.0);
  }
}

TEST_CASE("the unsplit theta scheme (ionic current as an explicit source) matches the reference and Godunov",
          "[ep][monodomain][niederer]") {
  const TetMesh m = mesh::niederer_slab(0.5);
  const std::int64_t p8 = nearest(m, {20, 7, 3});
  auto p8_of = [&](double dt, const std::string& splitting, double theta) {
    MonodomainOptions o = niederer(dt);
    o.splitting = splitting;
    o.theta = theta;
    Monodomain s(m, o);
    s.run(70.0);
    return std::pair{s.result().activation_ms[p8], Eigen::VectorXd(s.vm())};
  };
  // Crank-Nicolson: within 1 ms of the reference, and closer to Godunov as dt shrinks (both
  // converge to the same solution, at first order in dt).
  const auto [n05, vn05] = p8_of(0.05, "none", 0.5);
  const auto [g05, vg05] = p8_of(0.05, "godunov", 0.5);
  const auto [n01, vn01] = p8_of(0.01, "none", 0.5);
  const auto [g01, vg01] = p8_of(0.01, "godunov", 0.5);
  INFO("P8 unsplit " << n05 << " / " << n01 << ", Godunov " << g05 << " / " << g01);
  CHECK(std::abs(n05 - 56.7) < 1.0);
  CHECK(std::abs(n01 - 55.9) < 1.0);
  CHECK(n05 > g05);  // holding back half the ionic increment delays the front
  CHECK(std::abs(n01 - g01) < 0.4 * std::abs(n05 - g05));
  // Backward Euler: the unsplit scheme and Godunov splitting are the same scheme.
  const auto [n1, vn1] = p8_of(0.05, "none", 1.0);
  const auto [g1, vg1] = p8_of(0.05, "godunov", 1.0);
  CHECK(n1 == Approx(g1).margin(1e-9));
  CHECK((vn1 - vg1).cwiseAbs().maxCoeff() < 1e-8);
}

TEST_CASE("a run restarted from a checkpoint continues bit-identically", "[ep][monodomain][checkpoint]") {
  test::TempDir dir;
  const TetMesh m = mesh::niederer_slab(0.5);
  MonodomainOptions o = niederer(0.05);
  Monodomain a(m, o);
  a.run(10.0);
  a.save_checkpoint(dir.file("state.ckpt"));
  a.run(25.0);

  Monodomain b(m, o);
  b.load_checkpoint(dir.file("state.ckpt"));
  CHECK(b.time_ms() == Approx(10.0));
  b.run(25.0);
  CHECK(b.time_ms() == a.time_ms());
  CHECK((a.vm().array() == b.vm().array()).all());
  const EPResult ra = a.result(), rb = b.result();
  CHECK(((ra.activation_ms.array() == rb.activation_ms.array()) ||
         (ra.activation_ms.array().isNaN() && rb.activation_ms.array().isNaN()))
            .all());
  CHECK(ra.probes.values == rb.probes.values);

  // A checkpoint of another mesh or a damaged file is refused clearly.
  Monodomain c(mesh::niederer_slab(1.0), o);
  CHECK_THROWS_WITH(c.load_checkpoint(dir.file("state.ckpt")), Catch::Contains("another mesh"));
  {
    std::string bytes = read_file_bytes(dir.file("state.ckpt"));
    write_atomically(dir.file("cut.ckpt"), [&](std::ostream& os) { os << bytes.substr(0, bytes.size() / 2); });
  }
  CHECK_THROWS_AS(b.load_checkpoint(dir.file("cut.ckpt")), FileFormatError);
}

TEST_CASE("snapshots are written as a ParaView series and progress can cancel", "[ep][monodomain][output]") {
  test::TempDir dir;
  const TetMesh m = mesh::niederer_slab(1.0);
  MonodomainOptions o = niederer(0.05);
  o.snapshot_every_ms = 2.0;
  o.output_dir = dir.file("vm");
  Monodomain s(m, o);
  int calls = 0;
  s.run(10.0, [&](double t, double t_end) {
    ++calls;
    CHECK(t <= t_end);
    return t < 6.0;  // cancel after 6 ms
  });
  CHECK(calls > 10);
  CHECK(s.time_ms() >= 6.0);
  CHECK(s.time_ms() < 6.2);
  const EPResult r = s.result();
  REQUIRE(test::exists(r.snapshots_pvd));
  CHECK(test::exists(dir.file("vm/vm_000003.vtu")));  // t = 0, 2, 4, 6
}
