#include "cardiotwin/anatomy/fibres.hpp"

#include <Eigen/Geometry>
#include <cmath>
#include <string>
#include <utility>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/core/json.hpp"
#include "cardiotwin/ep/fem.hpp"

namespace cardiotwin::anatomy {

namespace {
constexpr double kDeg = 3.14159265358979323846 / 180.0;

// Any unit vector orthogonal to `t`.
Eigen::Vector3d any_orthogonal(const Eigen::Vector3d& t) {
  const Eigen::Vector3d a = std::abs(t.x()) < 0.9 ? Eigen::Vector3d::UnitX() : Eigen::Vector3d::UnitY();
  return (a - a.dot(t) * t).normalized();
}
void check_angles(const FibreOptions& o) {
  const std::pair<const char*, double> angles[] = {{"alpha_endo_deg", o.alpha_endo_deg},
                                                   {"alpha_epi_deg", o.alpha_epi_deg},
                                                   {"beta_endo_deg", o.beta_endo_deg},
                                                   {"beta_epi_deg", o.beta_epi_deg}};
  for (const auto& [name, a] : angles)
    CARDIOTWIN_CHECK(std::isfinite(a) && std::abs(a) <= 90, InvalidInput, "bad fibre angle", "in [-90, 90] deg", a,
                     Where({}, std::string("fibres.") + name));
}
}  // namespace

nlohmann::json FibreOptions::to_json() const {
  return {{"alpha_endo_deg", alpha_endo_deg},
          {"alpha_epi_deg", alpha_epi_deg},
          {"beta_endo_deg", beta_endo_deg},
          {"beta_epi_deg", beta_epi_deg}};
}

FibreOptions FibreOptions::from_json(const nlohmann::json& j) {
  FibreOptions o;
  JsonReader r(j, "fibres");
  r.get("alpha_endo_deg", o.alpha_endo_deg);
  r.get("alpha_epi_deg", o.alpha_epi_deg);
  r.get("beta_endo_deg", o.beta_endo_deg);
  r.get("beta_epi_deg", o.beta_epi_deg);
  r.finish();
  check_angles(o);
  return o;
}

double helix_angle_deg(const Eigen::Vector3d& f, const Eigen::Vector3d& l_in, const Eigen::Vector3d& t_in) {
  const Eigen::Vector3d t = t_in.normalized();
  const Eigen::Vector3d l = (l_in - l_in.dot(t) * t).normalized();
  const Eigen::Vector3d c = l.cross(t);
  double a = std::atan2(f.dot(l), f.dot(c)) / kDeg;  // in (-180, 180]
  if (a > 90) a -= 180;   // a fibre is an axis: f and -f are the same
  if (a <= -90) a += 180;
  return a;
}

FibreField compute_fibres(const TetMesh& mesh, const VentricularCoordinates& c, const FibreOptions& o) {
  check_angles(o);
  const std::int64_t np = mesh.num_points(), ne = mesh.num_tets();
  for (const Eigen::VectorXd* v : {&c.apicobasal, &c.phi_lv, &c.phi_rv})
    CARDIOTWIN_CHECK(v->size() == np, InvalidInput, "coordinates do not match the mesh", np << " node values",
                     v->size(), Where({}, "coordinates"));
  const ep::TetGeometry geo = ep::tet_geometry(mesh);
  FibreField out;
  out.fibre.resize(ne, 3);
  out.sheet.resize(ne, 3);
  out.normal.resize(ne, 3);
  out.helix_deg.resize(ne);
  out.depth.resize(ne);
  for (std::int64_t e = 0; e < ne; ++e) {
    Eigen::Vector3d g_ab = Eigen::Vector3d::Zero(), g_lv = Eigen::Vector3d::Zero(), g_rv = Eigen::Vector3d::Zero();
    double lv = 0, rv = 0;
    for (int a = 0; a < 4; ++a) {
      const Index v = mesh.tets(e, a);
      const Eigen::Vector3d g = geo.grad[static_cast<std::size_t>(e)].row(a).transpose();
      g_ab += c.apicobasal[v] * g;
      g_lv += c.phi_lv[v] * g;
      g_rv += c.phi_rv[v] * g;
      lv += 0.25 * c.phi_lv[v];
      rv += 0.25 * c.phi_rv[v];
    }
    const bool in_lv = lv >= rv;
    Eigen::Vector3d t = in_lv ? -g_lv : -g_rv;
    const double d = std::clamp(1.0 - (in_lv ? lv : rv), 0.0, 1.0);
    // Degenerate gradients (e.g. a tet with all nodes on one surface): fall back on the long axis.
    if (t.norm() < 1e-12) t = any_orthogonal(c.long_axis);
    t.normalize();
    Eigen::Vector3d l = g_ab.norm() > 1e-12 ? g_ab : c.long_axis;
    l -= l.dot(t) * t;
    if (l.norm() < 1e-6 * std::max(1.0, g_ab.norm())) {  // apicobasal gradient along t (at the apex): use the long axis
      l = c.long_axis - c.long_axis.dot(t) * t;
      if (l.norm() < 1e-9) l = any_orthogonal(t);
    }
    l.normalize();
    const Eigen::Vector3d circ = l.cross(t);
    const double alpha = (o.alpha_endo_deg + (o.alpha_epi_deg - o.alpha_endo_deg) * d) * kDeg;
    const double beta = (o.beta_endo_deg + (o.beta_epi_deg - o.beta_endo_deg) * d) * kDeg;
    const Eigen::Vector3d f = (std::cos(alpha) * circ + std::sin(alpha) * l).normalized();
    Eigen::Vector3d s = std::cos(beta) * t + std::sin(beta) * f.cross(t);
    s = (s - s.dot(f) * f).normalized();  // exact orthogonality even where l was nearly along t
    const Eigen::Vector3d n = f.cross(s).normalized();
    out.fibre.row(e) = f.transpose();
    out.sheet.row(e) = s.transpose();
    out.normal.row(e) = n.transpose();
    out.helix_deg[e] = alpha / kDeg;
    out.depth[e] = d;
  }
  return out;
}

void assign_fibres(TetMesh& mesh, const VentricularCoordinates& c, const FibreOptions& o) {
  FibreField f = compute_fibres(mesh, c, o);
  mesh.fibre = std::move(f.fibre);
  mesh.sheet = std::move(f.sheet);
  mesh.normal = std::move(f.normal);
  mesh.cell_data["helix_deg"] = f.helix_deg;
  mesh.cell_data["wall_depth"] = f.depth;
}

}  // namespace cardiotwin::anatomy
