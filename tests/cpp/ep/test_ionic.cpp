// Ionic models (TP06, Mitchell-Schaeffer, Aliev-Panfilov), the registry and single-cell pacing.
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <ctime>
#include <iostream>
#include <thread>

#include "../test_util.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/ep/ionic_model.hpp"
#include "cardiotwin/ep/single_cell.hpp"

using namespace cardiotwin;
using namespace cardiotwin::ep;
using Catch::Contains;

namespace {

/// Pace one cell at 1 Hz and return the measures of the last beat.
BeatMeasures pace(const std::string& model, const std::string& cell_type, int beats, double dt_ms = 0.02,
                  const nlohmann::json& options = {}) {
  auto m = make_ionic_model(model, options);
  PacingProtocol p;
  p.num_beats = beats;
  p.dt_ms = dt_ms;
  p.cell_type = cell_type;
  const auto r = simulate_single_cell(*m, p);
  REQUIRE(r.beats.size() == static_cast<std::size_t>(beats));
  return r.beats.back();
}

std::string describe(const BeatMeasures& b) { return b.to_json().dump(); }

/// Vm of n cells stimulated together (52 mV/ms for 1 ms at t = 5 ms), forward Euler; returns for each
/// cell the time of the first downward crossing of -70 mV after the upstroke.
std::vector<double> repolarisation_times(IonicModel& m, double dt, double t_end) {
  const auto n = m.num_cells();
  std::vector<double> vm(n), iion(n), t_rep(n, NAN);
  std::vector<bool> up(n, false);
  for (std::int64_t i = 0; i < n; ++i) vm[i] = m.initial_vm(0);
  const auto steps = static_cast<std::int64_t>(std::llround(t_end / dt));
  for (std::int64_t k = 0; k < steps; ++k) {
    const double t = k * dt;
    const double stim = (t >= 5.0 && t < 6.0) ? 52.0 : 0.0;
    m.step(dt, vm.data(), iion.data(), 0, n);
    for (std::int64_t i = 0; i < n; ++i) {
      const double v = vm[i] - dt * (iion[i] - stim);
      if (v > 0) up[i] = true;
      if (up[i] && std::isnan(t_rep[i]) && vm[i] >= -70 && v < -70) t_rep[i] = t + dt;
      vm[i] = v;
    }
  }
  return t_rep;
}

}  // namespace

TEST_CASE("TP06 epicardial cell paced at 1 Hz", "[ep][ionic][tp06]") {
  const auto b = pace("tp06", "epi", 4);
  INFO(describe(b));
  CHECK(b.resting_vm_mv == Approx(-85.4).margin(1.0));
  // +39.3 mV at dt 0.005 ms; forward Euler on Vm at 0.02 ms overshoots the peak by ~1.7 mV
  CHECK(b.peak_vm_mv > 35.0);
  CHECK(b.peak_vm_mv < 42.0);
  CHECK(b.apd90_ms == Approx(300).margin(20));
  CHECK(b.apd50_ms > 0.8 * b.apd90_ms);  // TP06's spike-and-dome plateau: APD50 close to APD90
  CHECK(b.apd50_ms < b.apd90_ms);
  CHECK(b.dvdt_max_mv_per_ms > 250.0);
  CHECK(b.dvdt_max_mv_per_ms < 450.0);
  CHECK(b.activation_time_ms == Approx(3010 + 1).margin(1.0));
}

TEST_CASE("TP06 cell types: endo like epi, M cell longer", "[ep][ionic][tp06]") {
  const auto epi = pace("tp06", "epi", 3);
  const auto endo = pace("tp06", "endo", 3);
  const auto mcell = pace("tp06", "mcell", 3);
  INFO("epi " << describe(epi) << "\nendo " << describe(endo) << "\nmcell " << describe(mcell));
  CHECK(endo.apd90_ms == Approx(epi.apd90_ms).margin(20));
  CHECK(endo.resting_vm_mv == Approx(-85.4).margin(1.0));
  CHECK(mcell.apd90_ms == Approx(400).margin(40));
  CHECK(mcell.apd90_ms > epi.apd90_ms + 60);
  CHECK(mcell.peak_vm_mv > 35.0);
}

TEST_CASE("TP06 lookup tables agree with the exact formulas", "[ep][ionic][tp06]") {
  for (const std::string type : {"epi", "mcell"}) {
    const auto lut = pace("tp06", type, 2, 0.02, {{"lookup_tables", true}});
    const auto exact = pace("tp06", type, 2, 0.02, {{"lookup_tables", false}});
    INFO(type << "\nlut " << describe(lut) << "\nexact " << describe(exact));
    CHECK(lut.apd90_ms == Approx(exact.apd90_ms).margin(0.5));
    CHECK(lut.apd50_ms == Approx(exact.apd50_ms).margin(0.5));
    CHECK(lut.peak_vm_mv == Approx(exact.peak_vm_mv).margin(0.5));
    CHECK(lut.resting_vm_mv == Approx(exact.resting_vm_mv).margin(0.05));
    CHECK(lut.dvdt_max_mv_per_ms == Approx(exact.dvdt_max_mv_per_ms).epsilon(0.01));
  }
}

TEST_CASE("TP06 Rush-Larsen converges in dt", "[ep][ionic][tp06]") {
  const auto coarse = pace("tp06", "epi", 2, 0.02);
  const auto fine = pace("tp06", "epi", 2, 0.005);
  INFO("dt 0.02 " << describe(coarse) << "\ndt 0.005 " << describe(fine));
  CHECK(coarse.apd90_ms == Approx(fine.apd90_ms).margin(1.0));
  CHECK(coarse.resting_vm_mv == Approx(fine.resting_vm_mv).margin(0.1));
}

TEST_CASE("TP06 lookup tables follow dt changes and fall back outside their range", "[ep][ionic][tp06]") {
  auto lut = make_ionic_model("tp06");
  auto exact = make_ionic_model("tp06", {{"lookup_tables", false}});
  const std::vector<std::uint8_t> types = {0, 1, 2, 0, 1, 2, 0};
  lut->init(7, types);
  exact->init(7, types);
  // in range, and beyond the table's [-100, 100] mV on both sides. (Not within 0.02 mV of -40 mV,
  // where the h and j rates jump and the table interpolates across the jump.)
  std::vector<double> vm = {-85, -40.05, 0.0, 20.0, 99.99, 130.0, -140.0}, i_lut(7), i_exact(7);
  for (double dt : {0.05, 0.02, 0.01, 0.02}) {  // three dt values: the 2-entry table cache is recycled
    for (int k = 0; k < 20; ++k) {
      lut->step(dt, vm.data(), i_lut.data(), 0, 7);
      exact->step(dt, vm.data(), i_exact.data(), 0, 7);
    }
    for (int s = 0; s < 18; ++s)
      for (int i = 0; i < 7; ++i) {
        INFO("dt " << dt << " state " << lut->info().state_names[s] << " cell " << i);
        CHECK(lut->state(s)[i] == Approx(exact->state(s)[i]).epsilon(1e-5).margin(1e-9));
      }
    for (int i = 0; i < 7; ++i) CHECK(i_lut[i] == Approx(i_exact[i]).epsilon(1e-5).margin(1e-6));
  }
}

TEST_CASE("TP06 results do not depend on how cells are split into ranges", "[ep][ionic][tp06]") {
  for (bool tables : {true, false}) {
    auto a = make_ionic_model("tp06", {{"lookup_tables", tables}});
    auto b = make_ionic_model("tp06", {{"lookup_tables", tables}});
    const std::vector<std::uint8_t> types = {0, 1, 2, 2, 1, 0, 1};
    a->init(7, types);
    b->init(7, types);
    std::vector<double> vm = {-85, -60, -20, 10, 30, -80, 5}, ia(7), ib(7);
    for (int k = 0; k < 50; ++k) {
      a->step(0.02, vm.data(), ia.data(), 0, 7);
      b->step(0.02, vm.data(), ib.data(), 0, 1);
      b->step(0.02, vm.data(), ib.data(), 1, 6);
      b->step(0.02, vm.data(), ib.data(), 6, 7);
    }
    for (int s = 0; s < 18; ++s)
      for (int i = 0; i < 7; ++i) CHECK(a->state(s)[i] == b->state(s)[i]);
    CHECK(ia == ib);
  }
}

TEST_CASE("TP06 with uniform conductances (scalar path) equals the per-cell path", "[ep][ionic][tp06]") {
  // Model a: every cell epi with default conductances (the scalar path). Model b: the same plus one
  // extra cell with another g_Kr, so the per-cell arrays are read. The shared cells must agree
  // bit for bit.
  const int n = 9;
  auto a = make_ionic_model("tp06");
  auto b = make_ionic_model("tp06");
  a->init(n, std::vector<std::uint8_t>(n, 0));
  b->init(n + 1, std::vector<std::uint8_t>(n + 1, 0));
  std::vector<double> scale(n + 1, 1.0);
  scale[n] = 1.5;
  b->set_parameter("g_Kr_scale", scale);
  std::vector<double> vm(n + 1), ia(n), ib(n + 1);
  for (int i = 0; i <= n; ++i) vm[i] = -86 + 12.0 * i;
  for (int k = 0; k < 200; ++k) {
    a->step(0.02, vm.data(), ia.data(), 0, n);
    b->step(0.02, vm.data(), ib.data(), 0, n + 1);
  }
  for (int s = 0; s < 18; ++s)
    for (int i = 0; i < n; ++i) CHECK(a->state(s)[i] == b->state(s)[i]);
  for (int i = 0; i < n; ++i) CHECK(ia[i] == ib[i]);
  // The odd cell did see its own g_Kr.
  auto c = make_ionic_model("tp06");
  c->init(n + 1, std::vector<std::uint8_t>(n + 1, 0));
  std::vector<double> ic(n + 1);
  for (int k = 0; k < 200; ++k) c->step(0.02, vm.data(), ic.data(), 0, n + 1);
  CHECK(ic[n] != ib[n]);
}

TEST_CASE("TP06 steps disjoint ranges from several threads", "[ep][ionic][tp06]") {
  const int n = 1003;
  std::vector<std::uint8_t> types(n);
  std::vector<double> vm(n);
  for (int i = 0; i < n; ++i) {
    types[i] = static_cast<std::uint8_t>(i % 3);
    vm[i] = -90 + 130.0 * i / n;
  }
  auto serial = make_ionic_model("tp06");
  auto threaded = make_ionic_model("tp06");
  serial->init(n, types);
  threaded->init(n, types);
  std::vector<double> is(n), it(n);
  for (double dt : {0.01, 0.025}) {  // each first call builds the table for dt, from both threads at once
    for (int k = 0; k < 10; ++k) {
      serial->step(dt, vm.data(), is.data(), 0, n);
      std::thread other([&] { threaded->step(dt, vm.data(), it.data(), 500, n); });
      threaded->step(dt, vm.data(), it.data(), 0, 500);
      other.join();
    }
  }
  CHECK(is == it);
  CHECK(serial->save() == threaded->save());
}

TEST_CASE("Mitchell-Schaeffer and Aliev-Panfilov give action potentials", "[ep][ionic][ms][ap]") {
  const auto ms = pace("mitchell_schaeffer", "", 3);
  INFO("mitchell_schaeffer " << describe(ms));
  CHECK(ms.resting_vm_mv == Approx(-85).margin(0.01));
  CHECK(ms.peak_vm_mv > 20);
  CHECK(ms.peak_vm_mv <= 40);
  CHECK(ms.apd90_ms == Approx(285).margin(25));  // about tau_close ln(...): see mitchell_schaeffer.cpp

  const auto ap = pace("aliev_panfilov", "", 3);
  INFO("aliev_panfilov " << describe(ap));
  CHECK(ap.resting_vm_mv == Approx(-85).margin(0.01));
  CHECK(ap.peak_vm_mv > 30);
  CHECK(ap.peak_vm_mv <= 40);
  CHECK(ap.apd90_ms == Approx(265).margin(25));
  // the time scale stretches the action potential: APD90 ~ 300 ms at 1 Hz with time_scale_ms 15.2
  const auto ap300 = pace("aliev_panfilov", "", 3, 0.02, {{"time_scale_ms", 15.2}});
  INFO("aliev_panfilov, time_scale_ms 15.2 " << describe(ap300));
  CHECK(ap300.apd90_ms == Approx(300).margin(10));

  // mV mapping: V_rest and V_peak are parameters
  const auto shifted = pace("mitchell_schaeffer", "", 1, 0.02, {{"V_rest", -80.0}, {"V_peak", 20.0}});
  CHECK(shifted.resting_vm_mv == Approx(-80).margin(0.01));
  CHECK(shifted.peak_vm_mv < 20);
}

TEST_CASE("ionic model registry", "[ep][ionic][registry]") {
  const auto names = ionic_model_names();
  for (const std::string n : {"tp06", "mitchell_schaeffer", "aliev_panfilov"}) {
    CHECK(std::find(names.begin(), names.end(), n) != names.end());
    const auto& info = ionic_model_info(n);
    CHECK(info.name == n);
    CHECK(!info.description.empty());
    CHECK(!info.cell_types.empty());
    auto m = make_ionic_model(n);
    CHECK(m->name() == n);
  }
  const auto& tp06 = ionic_model_info("tp06");
  CHECK(tp06.state_names.size() == 18);
  CHECK(tp06.cell_types == std::vector<std::string>{"epi", "endo", "mcell"});
  CHECK_THROWS_AS(make_ionic_model("tp07"), InvalidInput);
  CHECK_THROWS_WITH(make_ionic_model("tp07"), Contains("tp07") && Contains("tp06") &&
                                                  Contains("mitchell_schaeffer") && Contains("aliev_panfilov"));
  CHECK_THROWS_WITH(ionic_model_info("luo_rudy"), Contains("tp06"));
}

TEST_CASE("ionic model parameters and options are checked", "[ep][ionic][registry]") {
  CHECK_THROWS_WITH(make_ionic_model("tp06", {{"g_KR", 0.1}}),
                    Contains("g_KR") && Contains("g_Kr") && Contains("g_CaL_scale") && Contains("lookup_tables"));
  CHECK_THROWS_WITH(make_ionic_model("tp06", {{"g_Kr", "big"}}), Contains("a number"));
  CHECK_THROWS_WITH(make_ionic_model("tp06", {{"lookup_tables", 1}}), Contains("boolean"));
  CHECK_THROWS_WITH(make_ionic_model("tp06", {{"g_Kr", -1.0}}), Contains(">= 0"));
  CHECK_THROWS_AS(make_ionic_model("tp06", nlohmann::json::array({1, 2})), InvalidInput);
  CHECK_THROWS_WITH(make_ionic_model("mitchell_schaeffer", {{"tau_close", 0.0}}), Contains("> 0"));
  CHECK_THROWS_WITH(make_ionic_model("aliev_panfilov", {{"V_peak", -90.0}}), Contains("V_peak > V_rest"));

  auto m = make_ionic_model("tp06", {{"g_Kr_scale", 0.5}});
  m->init(3, {0, 1, 2});
  CHECK(m->parameter("g_Kr_scale", 2) == 0.5);
  CHECK(m->parameter("g_Kr", 2) == Approx(0.153));
  CHECK(m->parameter("g_Ks", 0) == Approx(0.392));
  CHECK(m->parameter("g_Ks", 2) == Approx(0.098));  // M cell
  CHECK(m->parameter("g_to", 0) == Approx(0.294));
  CHECK(m->parameter("g_to", 1) == Approx(0.073));  // endo
  CHECK_THROWS_WITH(m->set_parameter("gKr", 1.0), Contains("gKr") && Contains("g_Kr") && Contains("g_Na_scale"));
  CHECK_THROWS_WITH(m->parameter("GNa"), Contains("g_Na"));
  CHECK_THROWS_WITH(m->set_parameter("g_Kr", std::vector<double>{1.0, 2.0}), Contains("3 values"));
  CHECK_THROWS_WITH(m->set_parameter("g_Kr", std::vector<double>{1.0, NAN, 2.0}), Contains("element 1"));
  CHECK_THROWS_AS(m->parameter("g_Kr", 3), InvalidInput);
  m->set_parameter("g_Kr", 0.2);
  CHECK(m->parameter("g_Kr", 1) == 0.2);
  CHECK_THROWS_AS(m->init(2, {0, 3}), InvalidInput);
  CHECK_THROWS_AS(m->init(2, {0}), InvalidInput);
  CHECK_THROWS_AS(m->initial_vm(3), InvalidInput);

  auto ms = make_ionic_model("mitchell_schaeffer");
  ms->init(2);
  CHECK_THROWS_WITH(ms->set_parameter("V_rest", std::vector<double>{-85.0, 50.0}), Contains("V_peak > V_rest"));
  CHECK(ms->parameter("V_rest", 1) == -85.0);  // the failed change was undone
  std::vector<double> vm = {-85, -85}, iion(2);
  CHECK_THROWS_AS(ms->step(0.0, vm.data(), iion.data(), 0, 2), InvalidInput);
  CHECK_THROWS_AS(ms->step(0.01, vm.data(), iion.data(), 1, 3), InvalidInput);
}

TEST_CASE("save and restore continue bit-identically", "[ep][ionic][checkpoint]") {
  for (const std::string name : {"tp06", "mitchell_schaeffer", "aliev_panfilov"}) {
    INFO(name);
    const int n = 9;
    const auto ntypes = ionic_model_info(name).cell_types.size();
    std::vector<std::uint8_t> types(n);
    for (int i = 0; i < n; ++i) types[i] = static_cast<std::uint8_t>(i % ntypes);
    auto a = make_ionic_model(name);
    a->init(n, types);
    a->set_parameter(ionic_model_info(name).parameter_names[0], std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9});
    std::vector<double> vm(n), iion(n);
    auto drive = [&](IonicModel& m, int first, int count) {
      for (int k = first; k < first + count; ++k) {
        for (int i = 0; i < n; ++i) vm[i] = -85 + 60 * std::sin(0.01 * k + i);
        m.step(0.02, vm.data(), iion.data(), 0, n);
      }
    };
    drive(*a, 0, 500);
    const auto saved = a->save();
    drive(*a, 500, 300);
    const std::vector<double> iion_a = iion;
    const std::vector<double> end_a = a->save();

    auto b = make_ionic_model(name);
    b->init(n, types);
    b->restore(saved);
    drive(*b, 500, 300);
    CHECK(iion == iion_a);
    CHECK(b->save() == end_a);
    a->restore(saved);  // into the same instance
    drive(*a, 500, 300);
    CHECK(a->save() == end_a);

    auto c = make_ionic_model(name);
    c->init(n + 1);
    CHECK_THROWS_WITH(c->restore(saved), Contains("cells"));
  }
  auto tp = make_ionic_model("tp06");
  tp->init(1);
  auto ms = make_ionic_model("mitchell_schaeffer");
  ms->init(1);
  CHECK_THROWS_WITH(ms->restore(tp->save()), Contains("not from this ionic model"));
  auto tp3 = make_ionic_model("tp06");
  tp3->init(1, {2});
  CHECK_THROWS_WITH(tp3->restore(tp->save()), Contains("cell types"));
}

TEST_CASE("per-cell conductances change the action potential of that cell", "[ep][ionic][tp06]") {
  auto m = make_ionic_model("tp06");
  m->init(4);
  m->set_parameter("g_Kr_scale", std::vector<double>{1.0, 0.5, 1.0, 1.0});
  m->set_parameter("g_Ks", std::vector<double>{0.392, 0.392, 0.392, 0.392 * 0.25});
  m->set_parameter("g_CaL_scale", std::vector<double>{1.0, 1.0, 0.5, 1.0});
  const auto t = repolarisation_times(*m, 0.02, 600);
  INFO("repolarisation times (ms): " << t[0] << " " << t[1] << " " << t[2] << " " << t[3]);
  CHECK(t[1] > t[0] + 20);  // less I_Kr: longer
  CHECK(t[2] < t[0] - 20);  // less I_CaL: shorter
  CHECK(t[3] > t[0] + 5);   // less I_Ks: longer
}

TEST_CASE("single-cell pacing protocol: JSON and validation", "[ep][ionic][single_cell]") {
  PacingProtocol p;
  p.cycle_length_ms = 500;
  p.num_beats = 3;
  p.cell_type = "mcell";
  p.record_states = true;
  const auto q = PacingProtocol::from_json(p.to_json());
  CHECK(q.to_json() == p.to_json());
  CHECK(PacingProtocol::from_json(nlohmann::json::object()).to_json() == PacingProtocol{}.to_json());

  CHECK_THROWS_WITH(PacingProtocol::from_json({{"dt", 0.01}}),
                    Contains("'dt'") && Contains("dt_ms") && Contains("cycle_length_ms") && Contains("stim_amplitude"));
  CHECK_THROWS_WITH(PacingProtocol::from_json({{"num_beats", "two"}}), Contains("integer"));
  CHECK_THROWS_WITH(PacingProtocol::from_json({{"version", 7}}), Contains("version"));
  CHECK_THROWS_WITH(PacingProtocol::from_json({{"dt_ms", 0.0}}), Contains("dt_ms"));
  CHECK_THROWS_WITH(PacingProtocol::from_json({{"dt_ms", -0.01}}), Contains("dt_ms > 0"));
  CHECK_THROWS_WITH(PacingProtocol::from_json({{"dt_ms", 2.0}, {"stim_duration_ms", 1.0}}),
                    Contains("dt_ms <= stim_duration_ms"));
  CHECK_THROWS_WITH(PacingProtocol::from_json({{"cycle_length_ms", 0.5}}), Contains("cycle_length_ms"));
  CHECK_THROWS_WITH(PacingProtocol::from_json({{"num_beats", 0}}), Contains("num_beats"));

  auto m = make_ionic_model("tp06");
  PacingProtocol bad;
  bad.dt_ms = 0;
  CHECK_THROWS_AS(simulate_single_cell(*m, bad), InvalidInput);
  PacingProtocol wrong_type;
  wrong_type.cell_type = "purkinje";
  CHECK_THROWS_WITH(simulate_single_cell(*m, wrong_type), Contains("purkinje") && Contains("mcell"));
}

TEST_CASE("single-cell blow-up is reported with the time", "[ep][ionic][single_cell]") {
  auto m = make_ionic_model("mitchell_schaeffer");
  PacingProtocol p;
  p.dt_ms = 1.0;
  p.stim_duration_ms = 1.0;
  p.stim_amplitude = 200;
  CHECK_THROWS_AS(simulate_single_cell(*m, p), SolverDiverged);
  CHECK_THROWS_WITH(simulate_single_cell(*m, p), Contains("t = ") && Contains("dt_ms"));
}

TEST_CASE("single-cell trace", "[ep][ionic][single_cell]") {
  auto m = make_ionic_model("tp06");
  PacingProtocol p;
  p.cycle_length_ms = 400;
  p.num_beats = 2;
  p.record_every_ms = 0.5;
  p.record_states = true;
  p.cell_type = "endo";
  const auto r = simulate_single_cell(*m, p);
  const auto& tr = r.trace;
  CHECK_NOTHROW(validate_signals(tr));
  CHECK(tr.num_channels() == 19);
  CHECK(tr.names[0] == "Vm");
  CHECK(tr.names[13] == "Ca_i");
  CHECK(tr.time_ms[0] == 0.0);
  CHECK(tr.time_ms[tr.num_samples() - 1] == Approx(810.0));
  CHECK(tr.num_samples() == 1621);
  CHECK(tr.values(0, 0) == Approx(-85.23));
  CHECK(tr.values(tr.num_samples() - 1, 0) == r.final_vm_mv);
  CHECK(tr.metadata["cell_type"] == "endo");
  CHECK(r.beats.size() == 2);
  CHECK(r.beats[1].stim_time_ms == Approx(410.0));
  CHECK(r.measures_to_json().size() == 2);
  // final state continues the run: restore into a 1-cell model of the same type
  auto again = make_ionic_model("tp06");
  again->init(1, {1});
  CHECK_NOTHROW(again->restore(r.final_state));
  CHECK(again->state(13)[0] == tr.values(tr.num_samples() - 1, 14));
}

// Timing only (no assertions): ./test_ep "[ionic_benchmark]"
TEST_CASE("ionic model speed", "[.][ionic_benchmark]") {
  auto cpu_seconds = [] { return static_cast<double>(std::clock()) / CLOCKS_PER_SEC; };
  const std::int64_t n = 20000;
  const int steps = 200;
  for (const std::string name : {"tp06", "mitchell_schaeffer", "aliev_panfilov"}) {
    for (bool tables : {true, false}) {
      if (name != "tp06" && !tables) continue;
      auto m = make_ionic_model(name, name == "tp06" ? nlohmann::json{{"lookup_tables", tables}} : nlohmann::json{});
      std::vector<std::uint8_t> types(n);
      for (std::int64_t i = 0; i < n; ++i) types[i] = static_cast<std::uint8_t>(i % m->info().cell_types.size());
      m->init(n, types);
      std::vector<double> vm(n), iion(n);
      for (std::int64_t i = 0; i < n; ++i) vm[i] = -85 + 120.0 * static_cast<double>(i) / n;  // rest to plateau
      m->step(0.01, vm.data(), iion.data(), 0, n);
      const double t0 = cpu_seconds();
      for (int s = 0; s < steps; ++s) m->step(0.01, vm.data(), iion.data(), 0, n);
      const double ns = 1e9 * (cpu_seconds() - t0) / (static_cast<double>(n) * steps);
      std::cout << name << (tables ? "" : " (exact)") << ": " << ns << " ns per cell-step\n";
    }
  }
}
