#include "cardiotwin/ep/stimulus.hpp"

#include <algorithm>
#include <cmath>

#include "cardiotwin/core/json.hpp"

namespace cardiotwin::ep {

nlohmann::json Stimulus::to_json() const {
  nlohmann::json j = {{"shape", shape},       {"start_ms", start_ms},
                      {"duration_ms", duration_ms}, {"strength", strength},
                      {"unit", unit},         {"cycle_length_ms", cycle_length_ms},
                      {"count", count}};
  if (shape == "box") {
    j["min"] = {box_min[0], box_min[1], box_min[2]};
    j["max"] = {box_max[0], box_max[1], box_max[2]};
  } else if (shape == "sphere") {
    j["center"] = {center[0], center[1], center[2]};
    j["radius_mm"] = radius_mm;
  } else if (shape == "nodes") {
    j["nodes"] = nodes;
  } else {
    j["region"] = region;
  }
  return j;
}

namespace {
Eigen::Vector3d read_point(JsonReader& r, const std::string& key, bool required) {
  std::vector<double> v;
  if (required) r.require(key, v);
  else if (!r.get(key, v)) return Eigen::Vector3d::Zero();
  CARDIOTWIN_CHECK(v.size() == 3 && std::isfinite(v[0]) && std::isfinite(v[1]) && std::isfinite(v[2]),
                   InvalidInput, "bad point", "[x, y, z] in mm", nlohmann::json(v).dump(), Where({}, r.path(key)));
  return {v[0], v[1], v[2]};
}
}  // namespace

Stimulus Stimulus::from_json(const nlohmann::json& j, const std::string& where) {
  JsonReader r(j, where);
  Stimulus s;
  r.get("shape", s.shape);
  check_choice(s.shape, {"box", "sphere", "nodes", "region"}, r.path("shape"));
  if (s.shape == "box") {
    s.box_min = read_point(r, "min", true);
    s.box_max = read_point(r, "max", true);
    for (int a = 0; a < 3; ++a)
      CARDIOTWIN_CHECK(s.box_min[a] <= s.box_max[a], InvalidInput, "bad stimulus box", "min <= max on every axis",
                       "min " << s.box_min[a] << " > max " << s.box_max[a], Where({}, r.path("min"), a));
  } else if (s.shape == "sphere") {
    s.center = read_point(r, "center", true);
    r.require("radius_mm", s.radius_mm);
    CARDIOTWIN_CHECK(s.radius_mm > 0, InvalidInput, "bad stimulus radius", "> 0 mm", s.radius_mm,
                     Where({}, r.path("radius_mm")));
  } else if (s.shape == "nodes") {
    r.require("nodes", s.nodes);
  } else {
    r.require("region", s.region);
  }
  r.get("start_ms", s.start_ms);
  r.get("duration_ms", s.duration_ms);
  r.get("strength", s.strength);
  r.get("unit", s.unit);
  r.get("cycle_length_ms", s.cycle_length_ms);
  r.get("count", s.count);
  r.finish();
  check_choice(s.unit, {"uA/cm^3", "uA/cm^2", "mV/ms"}, r.path("unit"));
  CARDIOTWIN_CHECK(std::isfinite(s.start_ms), InvalidInput, "bad stimulus start", "a finite time in ms", s.start_ms,
                   Where({}, r.path("start_ms")));
  CARDIOTWIN_CHECK(s.duration_ms > 0, InvalidInput, "bad stimulus duration", "> 0 ms", s.duration_ms,
                   Where({}, r.path("duration_ms")));
  CARDIOTWIN_CHECK(std::isfinite(s.strength), InvalidInput, "bad stimulus strength", "a finite number",
                   s.strength, Where({}, r.path("strength")));
  CARDIOTWIN_CHECK(s.cycle_length_ms >= 0, InvalidInput, "bad cycle length", ">= 0 ms (0 = single pulse)",
                   s.cycle_length_ms, Where({}, r.path("cycle_length_ms")));
  CARDIOTWIN_CHECK(s.cycle_length_ms == 0 || s.cycle_length_ms > s.duration_ms, InvalidInput, "bad cycle length",
                   "longer than the pulse (" << s.duration_ms << " ms)", s.cycle_length_ms,
                   Where({}, r.path("cycle_length_ms")));
  CARDIOTWIN_CHECK(s.count >= 1, InvalidInput, "bad pulse count", ">= 1", s.count, Where({}, r.path("count")));
  return s;
}

std::vector<std::int64_t> Stimulus::select_nodes(const TetMesh& mesh) const {
  std::vector<std::int64_t> out;
  const std::int64_t n = mesh.num_points();
  // Inclusive bounds with a tolerance of a millionth of the mesh size, so that nodes exactly on a
  // box face (as in the Niederer benchmark) are included despite rounding.
  const double tol = 1e-9 * std::max(1.0, (mesh.points.colwise().maxCoeff() - mesh.points.colwise().minCoeff()).norm());
  if (shape == "box") {
    for (std::int64_t i = 0; i < n; ++i) {
      const Eigen::Vector3d p = mesh.points.row(i);
      if ((p.array() >= box_min.array() - tol).all() && (p.array() <= box_max.array() + tol).all()) out.push_back(i);
    }
  } else if (shape == "sphere") {
    for (std::int64_t i = 0; i < n; ++i)
      if ((Eigen::Vector3d(mesh.points.row(i)) - center).norm() <= radius_mm + tol) out.push_back(i);
  } else if (shape == "nodes") {
    for (std::size_t k = 0; k < nodes.size(); ++k)
      CARDIOTWIN_CHECK(nodes[k] >= 0 && nodes[k] < n, InvalidInput, "stimulus node out of range",
                       "an index in [0, " << n << ")", nodes[k], Where({}, "stimuli.nodes", static_cast<std::int64_t>(k)));
    out = nodes;
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  } else {
    std::vector<char> mark(static_cast<std::size_t>(n), 0);
    for (std::int64_t e = 0; e < mesh.num_tets(); ++e)
      if (mesh.region_of(e) == region)
        for (int a = 0; a < 4; ++a) mark[static_cast<std::size_t>(mesh.tets(e, a))] = 1;
    for (std::int64_t i = 0; i < n; ++i)
      if (mark[static_cast<std::size_t>(i)]) out.push_back(i);
  }
  CARDIOTWIN_CHECK(!out.empty(), InvalidInput, "stimulus selects no node", "at least one mesh node in the region",
                   "none (" << to_json().dump() << ")", Where({}, "stimuli"));
  return out;
}

bool Stimulus::active(double t) const {
  if (t < start_ms) return false;
  if (cycle_length_ms <= 0) return t < start_ms + duration_ms;
  const double k = std::floor((t - start_ms) / cycle_length_ms);
  if (k >= count) return false;
  return t - (start_ms + k * cycle_length_ms) < duration_ms;
}

double Stimulus::dvdt(double chi_per_mm, double cm) const {
  if (unit == "mV/ms") return strength;
  if (unit == "uA/cm^2") return strength / cm;  // uA/cm^2 / (uF/cm^2) = mV/ms
  // uA/cm^3 / (chi [1/cm] * Cm [uF/cm^2]); chi in 1/mm is 10x smaller in 1/cm units.
  return strength / (chi_per_mm * 10.0 * cm);
}

}  // namespace cardiotwin::ep
