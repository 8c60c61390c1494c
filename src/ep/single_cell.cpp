// Paced single-cell simulation and action potential measures.
#include "cardiotwin/ep/single_cell.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/core/json.hpp"

namespace cardiotwin::ep {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const std::string kWhere = "single_cell";
std::string field(const char* name) { return kWhere + "." + name; }
std::int64_t to_steps(double t_ms, double dt_ms) { return static_cast<std::int64_t>(std::llround(t_ms / dt_ms)); }
}  // namespace

nlohmann::json PacingProtocol::to_json() const {
  return {{"version", kVersion},
          {"cycle_length_ms", cycle_length_ms},
          {"num_beats", num_beats},
          {"stim_start_ms", stim_start_ms},
          {"stim_duration_ms", stim_duration_ms},
          {"stim_amplitude", stim_amplitude},
          {"dt_ms", dt_ms},
          {"record_every_ms", record_every_ms},
          {"cell_type", cell_type},
          {"record_states", record_states}};
}

PacingProtocol PacingProtocol::from_json(const nlohmann::json& j) {
  JsonReader r(j, kWhere);
  PacingProtocol p;
  int version = kVersion;
  r.get("version", version);
  CARDIOTWIN_CHECK(version == kVersion, InvalidInput, "unsupported pacing protocol version", kVersion, version,
                   Where({}, field("version")));
  r.get("cycle_length_ms", p.cycle_length_ms);
  r.get("num_beats", p.num_beats);
  r.get("stim_start_ms", p.stim_start_ms);
  r.get("stim_duration_ms", p.stim_duration_ms);
  r.get("stim_amplitude", p.stim_amplitude);
  r.get("dt_ms", p.dt_ms);
  r.get("record_every_ms", p.record_every_ms);
  r.get("cell_type", p.cell_type);
  r.get("record_states", p.record_states);
  r.finish();
  p.validate();
  return p;
}

void PacingProtocol::validate() const {
  CARDIOTWIN_CHECK(std::isfinite(dt_ms) && dt_ms > 0, InvalidInput, "bad time step", "dt_ms > 0", dt_ms,
                   Where({}, field("dt_ms")));
  CARDIOTWIN_CHECK(std::isfinite(stim_duration_ms) && stim_duration_ms > 0, InvalidInput, "bad stimulus duration",
                   "stim_duration_ms > 0", stim_duration_ms, Where({}, field("stim_duration_ms")));
  CARDIOTWIN_CHECK(dt_ms <= stim_duration_ms * (1 + 1e-9), InvalidInput, "time step longer than the stimulus",
                   "dt_ms <= stim_duration_ms (" << stim_duration_ms << " ms)", dt_ms, Where({}, field("dt_ms")));
  CARDIOTWIN_CHECK(std::isfinite(cycle_length_ms) && cycle_length_ms > stim_duration_ms, InvalidInput,
                   "bad cycle length", "cycle_length_ms > stim_duration_ms (" << stim_duration_ms << " ms)",
                   cycle_length_ms, Where({}, field("cycle_length_ms")));
  CARDIOTWIN_CHECK(num_beats >= 1, InvalidInput, "bad number of beats", ">= 1", num_beats,
                   Where({}, field("num_beats")));
  CARDIOTWIN_CHECK(std::isfinite(stim_start_ms) && stim_start_ms >= 0, InvalidInput, "bad stimulus start",
                   "stim_start_ms >= 0", stim_start_ms, Where({}, field("stim_start_ms")));
  CARDIOTWIN_CHECK(std::isfinite(stim_amplitude), InvalidInput, "bad stimulus amplitude", "a finite number (mV/ms)",
                   stim_amplitude, Where({}, field("stim_amplitude")));
  CARDIOTWIN_CHECK(std::isfinite(record_every_ms) && record_every_ms > 0, InvalidInput, "bad recording interval",
                   "record_every_ms > 0", record_every_ms, Where({}, field("record_every_ms")));
}

nlohmann::json BeatMeasures::to_json() const {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  return {{"beat", beat},
          {"stim_time_ms", stim_time_ms},
          {"resting_vm_mv", num(resting_vm_mv)},
          {"peak_vm_mv", num(peak_vm_mv)},
          {"dvdt_max_mv_per_ms", num(dvdt_max_mv_per_ms)},
          {"activation_time_ms", num(activation_time_ms)},
          {"apd50_ms", num(apd50_ms)},
          {"apd90_ms", num(apd90_ms)}};
}

nlohmann::json SingleCellResult::measures_to_json() const {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& b : beats) j.push_back(b.to_json());
  return j;
}

namespace {

/// Measures of one beat from Vm at steps 0..v.size()-1 of the beat (step 0 = stimulus onset).
BeatMeasures measure_beat(const std::vector<double>& v, double t0, double dt) {
  BeatMeasures b;
  b.stim_time_ms = t0;
  b.resting_vm_mv = v.front();
  const auto peak_it = std::max_element(v.begin(), v.end());
  const std::size_t peak = static_cast<std::size_t>(peak_it - v.begin());
  b.peak_vm_mv = *peak_it;
  std::size_t up = 0;
  double dvdt = -std::numeric_limits<double>::infinity();
  for (std::size_t n = 0; n + 1 < v.size(); ++n) {
    const double s = (v[n + 1] - v[n]) / dt;
    if (s > dvdt) {
      dvdt = s;
      up = n;
    }
  }
  b.dvdt_max_mv_per_ms = v.size() > 1 ? dvdt : kNaN;
  b.activation_time_ms = v.size() > 1 ? t0 + (static_cast<double>(up) + 0.5) * dt : kNaN;
  auto apd = [&](double fraction) {
    const double level = b.peak_vm_mv - fraction * (b.peak_vm_mv - b.resting_vm_mv);
    for (std::size_t n = peak; n + 1 < v.size(); ++n)
      if (v[n] >= level && v[n + 1] < level) {
        const double t = t0 + (static_cast<double>(n) + (v[n] - level) / (v[n] - v[n + 1])) * dt;
        return t - b.activation_time_ms;
      }
    return kNaN;
  };
  b.apd50_ms = apd(0.5);
  b.apd90_ms = apd(0.9);
  return b;
}

}  // namespace

SingleCellResult simulate_single_cell(IonicModel& model, const PacingProtocol& protocol) {
  protocol.validate();
  const auto& info = model.info();
  int type = 0;
  if (!protocol.cell_type.empty()) {
    check_choice(protocol.cell_type, info.cell_types, field("cell_type"));
    type = static_cast<int>(std::find(info.cell_types.begin(), info.cell_types.end(), protocol.cell_type) -
                            info.cell_types.begin());
  }
  model.init(1, {static_cast<std::uint8_t>(type)});

  const double dt = protocol.dt_ms;
  const std::int64_t stim_steps = std::max<std::int64_t>(1, to_steps(protocol.stim_duration_ms, dt));
  std::vector<std::int64_t> onset(static_cast<std::size_t>(protocol.num_beats) + 1);
  for (int k = 0; k <= protocol.num_beats; ++k)
    onset[k] = to_steps(protocol.stim_start_ms + k * protocol.cycle_length_ms, dt);
  const std::int64_t num_steps = onset.back();
  const std::int64_t stride = std::max<std::int64_t>(1, to_steps(protocol.record_every_ms, dt));

  const int num_states = protocol.record_states ? static_cast<int>(info.state_names.size()) : 0;
  SingleCellResult res;
  Signals& tr = res.trace;
  tr.names.push_back("Vm");
  for (int k = 0; k < num_states; ++k) tr.names.push_back(info.state_names[k]);
  const std::int64_t num_samples = num_steps / stride + 1 + (num_steps % stride != 0);
  tr.time_ms.resize(num_samples);
  tr.values.resize(num_samples, 1 + num_states);
  tr.units = "mV";
  tr.metadata = {{"model", info.name}, {"cell_type", info.cell_types.at(type)}, {"protocol", protocol.to_json()}};
  if (num_states > 0) tr.metadata["units"] = "Vm in mV; states in the model's units (gates 1, concentrations mM)";
  std::int64_t sample = 0;

  double vm = model.initial_vm(type);
  double iion = 0;
  auto record = [&](std::int64_t n) {
    tr.time_ms[sample] = static_cast<double>(n) * dt;
    tr.values(sample, 0) = vm;
    for (int k = 0; k < num_states; ++k) tr.values(sample, 1 + k) = model.state(k)[0];
    ++sample;
  };

  std::vector<double> beat_vm;  // Vm from the current beat's onset on
  beat_vm.reserve(static_cast<std::size_t>(onset[1] - onset[0] + 1));
  int beat = -1;
  for (std::int64_t n = 0; n < num_steps; ++n) {
    if (n % stride == 0) record(n);
    if (beat + 1 < protocol.num_beats && n == onset[beat + 1]) {
      if (beat >= 0) {
        beat_vm.push_back(vm);
        res.beats.push_back(measure_beat(beat_vm, static_cast<double>(onset[beat]) * dt, dt));
        res.beats.back().beat = beat;
      }
      ++beat;
      beat_vm.clear();
    }
    if (beat >= 0) beat_vm.push_back(vm);
    const bool stim_on = beat >= 0 && n < onset[beat] + stim_steps;
    model.step(dt, &vm, &iion, 0, 1);
    vm -= dt * (iion - (stim_on ? protocol.stim_amplitude : 0.0));
    if (!std::isfinite(vm)) {
      CARDIOTWIN_CHECK(false, SolverDiverged, "single-cell simulation of ionic model '" + info.name + "' blew up",
                       "finite Vm and ionic current (try a smaller dt_ms)",
                       "Vm " << vm << " mV, I_ion " << iion << " mV/ms at t = " << static_cast<double>(n + 1) * dt
                             << " ms (beat " << beat << ")",
                       Where({}, field("dt_ms")));
    }
  }
  beat_vm.push_back(vm);
  res.beats.push_back(measure_beat(beat_vm, static_cast<double>(onset[beat]) * dt, dt));
  res.beats.back().beat = beat;
  record(num_steps);
  tr.time_ms.conservativeResize(sample);
  tr.values.conservativeResize(sample, tr.values.cols());
  res.final_vm_mv = vm;
  res.final_state = model.save();
  return res;
}

}  // namespace cardiotwin::ep
