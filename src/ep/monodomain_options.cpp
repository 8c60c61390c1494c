// JSON (de)serialisation and validation of the monodomain options.
#include <cmath>

#include "cardiotwin/core/json.hpp"
#include "cardiotwin/ep/ionic_model.hpp"
#include "cardiotwin/ep/monodomain.hpp"

namespace cardiotwin::ep {

Conductivity Conductivity::harmonic_mean(const Conductivity& i, const Conductivity& e) {
  auto hm = [](double a, double b) { return a * b / (a + b); };
  return {hm(i.sigma_l, e.sigma_l), hm(i.sigma_t, e.sigma_t), hm(i.sigma_n, e.sigma_n)};
}

nlohmann::json Conductivity::to_json() const {
  return {{"sigma_l", sigma_l}, {"sigma_t", sigma_t}, {"sigma_n", sigma_n}};
}

Conductivity Conductivity::from_json(const nlohmann::json& j, const std::string& where) {
  JsonReader r(j, where);
  Conductivity c;
  if (const auto* intra = r.raw("intra")) {
    const auto* extra = r.raw("extra");
    CARDIOTWIN_CHECK(extra, InvalidInput, "intracellular conductivity without extracellular",
                     "both 'intra' and 'extra' (their harmonic mean is used)", "only 'intra'", Where({}, where));
    r.finish();
    return harmonic_mean(from_json(*intra, where + ".intra"), from_json(*extra, where + ".extra"));
  }
  CARDIOTWIN_CHECK(!r.raw("extra"), InvalidInput, "extracellular conductivity without intracellular",
                   "both 'intra' and 'extra'", "only 'extra'", Where({}, where));
  r.get("sigma_l", c.sigma_l);
  r.get("sigma_t", c.sigma_t);
  c.sigma_n = c.sigma_t;  // transversely isotropic unless given
  r.get("sigma_n", c.sigma_n);
  r.finish();
  const double v[3] = {c.sigma_l, c.sigma_t, c.sigma_n};
  const char* names[3] = {"sigma_l", "sigma_t", "sigma_n"};
  for (int a = 0; a < 3; ++a)
    CARDIOTWIN_CHECK(std::isfinite(v[a]) && v[a] > 0, InvalidInput, "non-positive conductivity", "sigma > 0 S/m",
                     v[a], Where({}, where + "." + names[a]));
  return c;
}

nlohmann::json MonodomainTimings::to_json() const {
  return {{"assembly_s", assembly_s}, {"ionic_s", ionic_s},   {"diffusion_s", diffusion_s},
          {"output_s", output_s},     {"steps", steps},       {"cg_iterations", cg_iterations},
          {"cg_iterations_per_step", steps ? double(cg_iterations) / double(steps) : 0.0}};
}

nlohmann::json MonodomainOptions::to_json() const {
  nlohmann::json j = {{"version", kVersion},
                      {"dt_ms", dt_ms},
                      {"t_end_ms", t_end_ms},
                      {"ionic_model", ionic_model},
                      {"ionic_options", ionic_options},
                      {"cell_type", cell_type},
                      {"cell_type_field", cell_type_field},
                      {"ionic_parameter_fields", ionic_parameter_fields},
                      {"ionic_substeps", ionic_substeps},
                      {"chi_per_mm", chi_per_mm},
                      {"cm_uf_per_cm2", cm_uf_per_cm2},
                      {"conductivity", conductivity.to_json()},
                      {"mass", mass},
                      {"splitting", splitting},
                      {"theta", theta},
                      {"cg_tolerance", cg_tolerance},
                      {"cg_max_iterations", cg_max_iterations},
                      {"linear_solver", linear_solver},
                      {"single_precision_matrix", single_precision_matrix},
                      {"threads", threads},
                      {"activation_threshold_mv", activation_threshold_mv},
                      {"repolarisation_threshold_mv", repolarisation_threshold_mv},
                      {"vm_bound_mv", vm_bound_mv},
                      {"probe_every_ms", probe_every_ms},
                      {"snapshot_every_ms", snapshot_every_ms},
                      {"output_dir", output_dir}};
  nlohmann::json rc = nlohmann::json::object();
  for (const auto& [tag, c] : region_conductivity) rc[std::to_string(tag)] = c.to_json();
  j["region_conductivity"] = rc;
  j["stimuli"] = nlohmann::json::array();
  for (const auto& s : stimuli) j["stimuli"].push_back(s.to_json());
  j["probes"] = nlohmann::json::array();
  for (const auto& p : probes) j["probes"].push_back({p[0], p[1], p[2]});
  return j;
}

MonodomainOptions MonodomainOptions::from_json(const nlohmann::json& j) {
  JsonReader r(j, "monodomain");
  MonodomainOptions o;
  int version = kVersion;
  r.get("version", version);
  CARDIOTWIN_CHECK(version == kVersion, InvalidInput, "unsupported options version", kVersion, version,
                   Where({}, "monodomain.version"));
  r.get("dt_ms", o.dt_ms);
  r.get("t_end_ms", o.t_end_ms);
  r.get("ionic_model", o.ionic_model);
  if (const auto* io = r.raw("ionic_options")) o.ionic_options = *io;
  r.get("cell_type", o.cell_type);
  r.get("cell_type_field", o.cell_type_field);
  r.get("ionic_parameter_fields", o.ionic_parameter_fields);
  r.get("ionic_substeps", o.ionic_substeps);
  r.get("chi_per_mm", o.chi_per_mm);
  r.get("cm_uf_per_cm2", o.cm_uf_per_cm2);
  if (const auto* c = r.raw("conductivity")) o.conductivity = Conductivity::from_json(*c, "monodomain.conductivity");
  if (const auto* rc = r.raw("region_conductivity")) {
    CARDIOTWIN_CHECK(rc->is_object(), InvalidInput, "bad region conductivities",
                     "an object {\"<region tag>\": {\"sigma_l\": ...}}", rc->type_name(),
                     Where({}, "monodomain.region_conductivity"));
    for (const auto& [key, value] : rc->items()) {
      int tag = 0;
      try {
        std::size_t used = 0;
        tag = std::stoi(key, &used);
        if (used != key.size()) throw std::invalid_argument(key);
      } catch (const std::exception&) {
        CARDIOTWIN_CHECK(false, InvalidInput, "bad region tag", "an integer key", "'" << key << "'",
                         Where({}, "monodomain.region_conductivity"));
      }
      o.region_conductivity[tag] = Conductivity::from_json(value, "monodomain.region_conductivity." + key);
    }
  }
  r.get("mass", o.mass);
  r.get("splitting", o.splitting);
  r.get("theta", o.theta);
  r.get("cg_tolerance", o.cg_tolerance);
  r.get("cg_max_iterations", o.cg_max_iterations);
  r.get("linear_solver", o.linear_solver);
  r.get("single_precision_matrix", o.single_precision_matrix);
  r.get("threads", o.threads);
  if (const auto* st = r.raw("stimuli")) {
    CARDIOTWIN_CHECK(st->is_array(), InvalidInput, "bad stimuli", "a list of stimulus objects", st->type_name(),
                     Where({}, "monodomain.stimuli"));
    for (std::size_t k = 0; k < st->size(); ++k)
      o.stimuli.push_back(Stimulus::from_json((*st)[k], "monodomain.stimuli[" + std::to_string(k) + "]"));
  }
  r.get("activation_threshold_mv", o.activation_threshold_mv);
  r.get("repolarisation_threshold_mv", o.repolarisation_threshold_mv);
  r.get("vm_bound_mv", o.vm_bound_mv);
  std::vector<std::vector<double>> probes;
  if (r.get("probes", probes)) {
    for (std::size_t k = 0; k < probes.size(); ++k) {
      CARDIOTWIN_CHECK(probes[k].size() == 3, InvalidInput, "bad probe point", "[x, y, z] in mm",
                       nlohmann::json(probes[k]).dump(), Where({}, "monodomain.probes", static_cast<std::int64_t>(k)));
      o.probes.emplace_back(probes[k][0], probes[k][1], probes[k][2]);
    }
  }
  r.get("probe_every_ms", o.probe_every_ms);
  r.get("snapshot_every_ms", o.snapshot_every_ms);
  r.get("output_dir", o.output_dir);
  r.finish();
  o.validate();
  return o;
}

void MonodomainOptions::validate() const {
  auto positive = [](double v, const char* key, const char* unit) {
    CARDIOTWIN_CHECK(std::isfinite(v) && v > 0, InvalidInput, "bad option", "> 0 " << unit, v,
                     Where({}, std::string("monodomain.") + key));
  };
  positive(dt_ms, "dt_ms", "ms");
  positive(t_end_ms, "t_end_ms", "ms");
  positive(chi_per_mm, "chi_per_mm", "1/mm");
  positive(cm_uf_per_cm2, "cm_uf_per_cm2", "uF/cm^2");
  positive(cg_tolerance, "cg_tolerance", "");
  positive(vm_bound_mv, "vm_bound_mv", "mV");
  positive(probe_every_ms, "probe_every_ms", "ms");
  CARDIOTWIN_CHECK(dt_ms <= 1.0, InvalidInput, "time step too large", "dt_ms <= 1 ms (typically 0.005-0.05)", dt_ms,
                   Where({}, "monodomain.dt_ms"));
  CARDIOTWIN_CHECK(theta >= 0.5 && theta <= 1.0, InvalidInput, "bad theta",
                   "0.5 (Crank-Nicolson) to 1 (backward Euler); below 0.5 is not unconditionally stable", theta,
                   Where({}, "monodomain.theta"));
  CARDIOTWIN_CHECK(ionic_substeps >= 1, InvalidInput, "bad ionic sub-step count", ">= 1", ionic_substeps,
                   Where({}, "monodomain.ionic_substeps"));
  CARDIOTWIN_CHECK(cg_max_iterations >= 1, InvalidInput, "bad iteration limit", ">= 1", cg_max_iterations,
                   Where({}, "monodomain.cg_max_iterations"));
  CARDIOTWIN_CHECK(threads >= 0, InvalidInput, "bad thread count", ">= 0 (0 = all cores)", threads,
                   Where({}, "monodomain.threads"));
  CARDIOTWIN_CHECK(snapshot_every_ms >= 0, InvalidInput, "bad snapshot interval", ">= 0 ms (0 = none)",
                   snapshot_every_ms, Where({}, "monodomain.snapshot_every_ms"));
  CARDIOTWIN_CHECK(snapshot_every_ms == 0 || !output_dir.empty(), InvalidInput, "snapshots need a folder",
                   "output_dir set when snapshot_every_ms > 0", "no output_dir", Where({}, "monodomain.output_dir"));
  check_choice(mass, {"consistent", "lumped"}, "monodomain.mass");
  check_choice(splitting, {"godunov", "strang", "none"}, "monodomain.splitting");
  check_choice(linear_solver, {"cg", "cholesky"}, "monodomain.linear_solver");
  const auto& info = ionic_model_info(ionic_model);  // throws listing the models
  if (cell_type_field.empty()) check_choice(cell_type, info.cell_types, "monodomain.cell_type");
}

}  // namespace cardiotwin::ep
