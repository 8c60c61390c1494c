#include "cardiotwin/ecg/electrodes.hpp"

#include <Eigen/Eigenvalues>
#include <Eigen/Geometry>
#include <cmath>
#include <filesystem>
#include <set>

#include "cardiotwin/core/atomic_file.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/core/json.hpp"
#include "cardiotwin/io/vtk.hpp"

namespace cardiotwin::ecg {

namespace {

Eigen::Vector3d unit(const Eigen::Vector3d& v, const char* what) {
  const double n = v.norm();
  CARDIOTWIN_CHECK(std::isfinite(n) && n > 0, InvalidInput, "bad direction", "a non-zero finite vector",
                   "(" << v.transpose() << ")", Where({}, what));
  return v / n;
}

// `v` made orthogonal to the unit vector `u`, normalised.
Eigen::Vector3d orthogonal_unit(const Eigen::Vector3d& v, const Eigen::Vector3d& u, const char* what) {
  const Eigen::Vector3d w = v - v.dot(u) * u;
  CARDIOTWIN_CHECK(w.norm() > 1e-6 * v.norm(), InvalidInput, "bad direction",
                   "a vector not parallel to the first axis", "(" << v.transpose() << ")", Where({}, what));
  return w.normalized();
}

nlohmann::json vec_json(const Eigen::Vector3d& v) { return nlohmann::json::array({v[0], v[1], v[2]}); }

Eigen::Vector3d json_vec(const nlohmann::json* j, const std::string& where) {
  CARDIOTWIN_CHECK(j && j->is_array() && j->size() == 3, InvalidInput, "bad vector", "an array of 3 numbers",
                   (j ? j->dump() : std::string("nothing")), Where({}, where));
  Eigen::Vector3d v;
  for (int k = 0; k < 3; ++k) {
    CARDIOTWIN_CHECK((*j)[k].is_number(), InvalidInput, "bad vector", "an array of 3 numbers", j->dump(),
                     Where({}, where));
    v[k] = (*j)[k].get<double>();
  }
  return v;
}

}  // namespace

std::int64_t Electrodes::index(const std::string& name) const {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<std::int64_t>(i);
  std::string avail;
  for (const auto& n : names) avail += (avail.empty() ? "" : ", ") + n;
  CARDIOTWIN_CHECK(false, InvalidInput, "unknown electrode", "one of: " << avail, "'" << name << "'",
                   Where({}, "electrodes"));
  return -1;
}

nlohmann::json Electrodes::to_json() const {
  nlohmann::json pos = nlohmann::json::array();
  for (Eigen::Index i = 0; i < positions.rows(); ++i) pos.push_back(vec_json(positions.row(i).transpose()));
  return {{"names", names}, {"positions_mm", pos}};
}

Electrodes Electrodes::from_json(const nlohmann::json& j) {
  JsonReader r(j, "electrodes");
  Electrodes e;
  r.require("names", e.names);
  const auto* pos = r.raw("positions_mm");
  CARDIOTWIN_CHECK(pos && pos->is_array() && pos->size() == e.names.size(), InvalidInput, "bad electrodes",
                   e.names.size() << " positions (one per name)", (pos ? pos->dump() : std::string("none")),
                   Where({}, "electrodes.positions_mm"));
  e.positions.resize(static_cast<Eigen::Index>(e.names.size()), 3);
  for (std::size_t i = 0; i < e.names.size(); ++i)
    e.positions.row(static_cast<Eigen::Index>(i)) = json_vec(&(*pos)[i], "electrodes.positions_mm").transpose();
  r.finish();
  validate_electrodes(e);
  return e;
}

void validate_electrodes(const Electrodes& e) {
  CARDIOTWIN_CHECK(e.positions.rows() == e.size(), InvalidInput, "electrodes size mismatch",
                   e.size() << " positions (one per name)", e.positions.rows(), Where({}, "positions"));
  std::set<std::string> seen;
  for (std::int64_t i = 0; i < e.size(); ++i) {
    CARDIOTWIN_CHECK(seen.insert(e.names[i]).second, InvalidInput, "repeated electrode name", "unique names",
                     "'" << e.names[i] << "' twice", Where({}, "names", i));
    CARDIOTWIN_CHECK(e.positions.row(i).allFinite(), InvalidInput, "bad electrode position", "finite coordinates",
                     e.positions.row(i), Where({}, e.names[i], i));
  }
}

const std::vector<std::string>& standard_electrode_names() {
  static const std::vector<std::string> names = {"RA", "LA", "LL", "RL", "V1", "V2", "V3", "V4", "V5", "V6"};
  return names;
}

// ---- body frame ---------------------------------------------------------------------------------

BodyFrame BodyFrame::from_axes(const Eigen::Vector3d& origin, const Eigen::Vector3d& left,
                               const Eigen::Vector3d& anterior) {
  CARDIOTWIN_CHECK(origin.allFinite(), InvalidInput, "bad body frame", "a finite origin", origin.transpose(),
                   Where({}, "origin"));
  BodyFrame f;
  f.origin = origin;
  f.left = unit(left, "left");
  f.anterior = orthogonal_unit(anterior, f.left, "anterior");
  return f;
}

Eigen::Vector3d BodyFrame::default_apex_body() {
  const double pi = 3.14159265358979323846, frontal = 45 * pi / 180, forward = 30 * pi / 180;
  return {std::sin(frontal) * std::cos(forward), std::sin(forward), -std::cos(frontal) * std::cos(forward)};
}

Eigen::Vector3d BodyFrame::default_rv_body() { return {-1, 1, 0}; }

BodyFrame BodyFrame::from_heart_axes(const Eigen::Vector3d& centre, const Eigen::Vector3d& long_axis,
                                     const Eigen::Vector3d& rv_direction, const Eigen::Vector3d& apex_body,
                                     const Eigen::Vector3d& rv_body) {
  Eigen::Matrix3d H, B;  // columns: apex, RV, apex x RV, in mesh (H) and body (B) coordinates
  H.col(0) = unit(long_axis, "long_axis");
  H.col(1) = orthogonal_unit(rv_direction, H.col(0), "rv_direction");
  H.col(2) = H.col(0).cross(H.col(1));
  B.col(0) = unit(apex_body, "apex_body");
  B.col(1) = orthogonal_unit(rv_body, B.col(0), "rv_body");
  B.col(2) = B.col(0).cross(B.col(1));
  const Eigen::Matrix3d R = H * B.transpose();  // body coordinates -> mesh directions
  return from_axes(centre, R.col(0), R.col(1));
}

BodyFrame BodyFrame::from_principal_axes(const TetMesh& heart) {
  CARDIOTWIN_CHECK(heart.num_tets() > 0, InvalidInput, "cannot find the heart's axes", "a mesh with tets",
                   "an empty mesh", Where({}, "heart"));
  const Eigen::VectorXd vol = tet_volumes(heart);
  Eigen::Vector3d c = Eigen::Vector3d::Zero();
  double V = 0;
  for (std::int64_t e = 0; e < heart.num_tets(); ++e) {
    Eigen::Vector3d m = Eigen::Vector3d::Zero();
    for (int a = 0; a < 4; ++a) m += heart.points.row(heart.tets(e, a)).transpose();
    c += std::abs(vol[e]) * m / 4;
    V += std::abs(vol[e]);
  }
  CARDIOTWIN_CHECK(V > 0, InvalidInput, "cannot find the heart's axes", "tets with volume", "zero total volume",
                   Where({}, "heart"));
  c /= V;
  Eigen::Matrix3d C = Eigen::Matrix3d::Zero();
  for (std::int64_t e = 0; e < heart.num_tets(); ++e) {
    Eigen::Vector3d m = Eigen::Vector3d::Zero();
    for (int a = 0; a < 4; ++a) m += heart.points.row(heart.tets(e, a)).transpose();
    const Eigen::Vector3d d = m / 4 - c;
    C += std::abs(vol[e]) * d * d.transpose();
  }
  Eigen::SelfAdjointEigenSolver<Eigen::Matrix3d> eig(C / V);
  Eigen::Vector3d axis = eig.eigenvectors().col(2), rv = eig.eigenvectors().col(1);
  // Orient each axis towards the end farther from the centroid.
  auto orient = [&](Eigen::Vector3d& u) {
    double lo = 0, hi = 0;
    for (std::int64_t i = 0; i < heart.num_points(); ++i) {
      const double s = (heart.points.row(i).transpose() - c).dot(u);
      lo = std::min(lo, s);
      hi = std::max(hi, s);
    }
    if (-lo > hi) u = -u;
  };
  orient(axis);
  orient(rv);
  return from_heart_axes(c, axis, rv);
}

nlohmann::json BodyFrame::to_json() const {
  return {{"origin_mm", vec_json(origin)}, {"left", vec_json(left)}, {"anterior", vec_json(anterior)}};
}

BodyFrame BodyFrame::from_json(const nlohmann::json& j) {
  JsonReader r(j, "body_frame");
  const Eigen::Vector3d o = json_vec(r.raw("origin_mm"), "body_frame.origin_mm");
  const Eigen::Vector3d l = json_vec(r.raw("left"), "body_frame.left");
  const Eigen::Vector3d a = json_vec(r.raw("anterior"), "body_frame.anterior");
  r.finish();
  return from_axes(o, l, a);
}

// ---- placement ----------------------------------------------------------------------------------

#define CT_PLACEMENT_FIELDS(X)                                                                          \
  X(scale) X(torso_half_width_mm) X(torso_half_depth_mm) X(torso_centre_left_mm) X(torso_centre_anterior_mm) \
  X(sternal_half_width_mm) X(midclavicular_mm) X(anterior_axillary_mm) X(v12_height_mm) X(v46_height_mm) \
  X(arm_height_mm) X(arm_from_midline_mm) X(leg_height_mm) X(leg_from_midline_mm)

nlohmann::json ElectrodePlacementOptions::to_json() const {
  nlohmann::json j = {{"version", kVersion}};
#define X(f) j[#f] = f;
  CT_PLACEMENT_FIELDS(X)
#undef X
  return j;
}

ElectrodePlacementOptions ElectrodePlacementOptions::from_json(const nlohmann::json& j) {
  ElectrodePlacementOptions o;
  JsonReader r(j, "electrode_placement");
  int version = kVersion;
  r.get("version", version);
  CARDIOTWIN_CHECK(version == kVersion, InvalidInput, "unsupported options version", kVersion, version,
                   Where({}, "electrode_placement.version"));
#define X(f) r.get(#f, o.f);
  CT_PLACEMENT_FIELDS(X)
#undef X
  r.finish();
  o.validate();
  return o;
}

void ElectrodePlacementOptions::validate() const {
#define X(f) \
  CARDIOTWIN_CHECK(std::isfinite(f), InvalidInput, "bad electrode placement", "a finite value", f, Where({}, #f));
  CT_PLACEMENT_FIELDS(X)
#undef X
  CARDIOTWIN_CHECK(scale > 0, InvalidInput, "bad electrode placement", "> 0", scale, Where({}, "scale"));
  CARDIOTWIN_CHECK(torso_half_width_mm > 0 && torso_half_depth_mm > 0, InvalidInput, "bad electrode placement",
                   "positive torso semi-axes", torso_half_width_mm << ", " << torso_half_depth_mm,
                   Where({}, "torso_half_width_mm"));
  for (double x : {sternal_half_width_mm, midclavicular_mm, anterior_axillary_mm, arm_from_midline_mm,
                   leg_from_midline_mm})
    CARDIOTWIN_CHECK(x >= 0 && x <= torso_half_width_mm, InvalidInput, "bad electrode placement",
                     "distances from the midline in [0, torso_half_width_mm]", x, Where({}, "electrode_placement"));
  // The heart centre must lie inside the chest.
  const double u = torso_centre_left_mm / torso_half_width_mm, v = torso_centre_anterior_mm / torso_half_depth_mm;
  CARDIOTWIN_CHECK(u * u + v * v < 1, InvalidInput, "bad electrode placement", "the heart centre inside the chest",
                   "torso centre offset (" << torso_centre_left_mm << ", " << torso_centre_anterior_mm << ") mm",
                   Where({}, "torso_centre_left_mm"));
}

#undef CT_PLACEMENT_FIELDS

Points standard_electrode_body_positions(const ElectrodePlacementOptions& o) {
  o.validate();
  const double a = o.torso_half_width_mm, b = o.torso_half_depth_mm, xc = o.torso_centre_left_mm,
               yc = o.torso_centre_anterior_mm;
  // A point on the front of the chest at signed distance `x` left of the midline.
  auto front = [&](double x, double z) {
    const double u = std::min(1.0, std::abs(x) / a);
    return Eigen::Vector3d(xc + x, yc + b * std::sqrt(1 - u * u), z);
  };
  const Eigen::Vector3d v2 = front(o.sternal_half_width_mm, o.v12_height_mm);
  const Eigen::Vector3d v4 = front(o.midclavicular_mm, o.v46_height_mm);
  const Eigen::Vector3d v3 = front(0.5 * (o.sternal_half_width_mm + o.midclavicular_mm),
                                   0.5 * (o.v12_height_mm + o.v46_height_mm));
  Points p(10, 3);
  p.row(0) = front(-o.arm_from_midline_mm, o.arm_height_mm);
  p.row(1) = front(o.arm_from_midline_mm, o.arm_height_mm);
  p.row(2) = front(o.leg_from_midline_mm, o.leg_height_mm);
  p.row(3) = front(-o.leg_from_midline_mm, o.leg_height_mm);
  p.row(4) = front(-o.sternal_half_width_mm, o.v12_height_mm);
  p.row(5) = v2;
  p.row(6) = v3;
  p.row(7) = v4;
  p.row(8) = front(o.anterior_axillary_mm, o.v46_height_mm);
  p.row(9) = Eigen::Vector3d(xc + a, yc, o.v46_height_mm);  // mid-axillary line
  return p * o.scale;
}

Electrodes standard_electrodes(const BodyFrame& frame, const ElectrodePlacementOptions& options) {
  const Points body = standard_electrode_body_positions(options);
  Electrodes e;
  e.names = standard_electrode_names();
  e.positions.resize(body.rows(), 3);
  for (Eigen::Index i = 0; i < body.rows(); ++i) e.positions.row(i) = frame.to_mesh(body.row(i).transpose()).transpose();
  return e;
}

SurfaceMesh electrode_markers(const Electrodes& electrodes, double radius_mm) {
  validate_electrodes(electrodes);
  CARDIOTWIN_CHECK(radius_mm > 0, InvalidInput, "bad marker size", "> 0 mm", radius_mm, Where({}, "radius_mm"));
  static const int faces[8][3] = {{0, 2, 4}, {2, 1, 4}, {1, 3, 4}, {3, 0, 4},
                                  {2, 0, 5}, {1, 2, 5}, {3, 1, 5}, {0, 3, 5}};
  const auto n = electrodes.size();
  SurfaceMesh s;
  s.points.resize(6 * n, 3);
  s.triangles.resize(8 * n, 3);
  s.tags.resize(8 * n);
  Field id(6 * n, 1);
  for (std::int64_t i = 0; i < n; ++i) {
    const Eigen::RowVector3d c = electrodes.positions.row(i);
    for (int k = 0; k < 6; ++k) {
      Eigen::RowVector3d d = Eigen::RowVector3d::Zero();
      d[k / 2] = (k % 2 ? -radius_mm : radius_mm);
      s.points.row(6 * i + k) = c + d;
      id(6 * i + k, 0) = static_cast<double>(i + 1);
    }
    for (int f = 0; f < 8; ++f) {
      for (int k = 0; k < 3; ++k) s.triangles(8 * i + f, k) = static_cast<Index>(6 * i + faces[f][k]);
      s.tags[8 * i + f] = static_cast<Index>(i + 1);
    }
  }
  s.point_data["electrode"] = id;
  return s;
}

void write_electrodes(const std::string& vtp_path, const Electrodes& electrodes, double radius_mm) {
  const SurfaceMesh s = electrode_markers(electrodes, radius_mm);
  io::write_vtp(vtp_path, s);
  nlohmann::json j = electrodes.to_json();
  j["tag_of_electrode"] = nlohmann::json::object();
  for (std::int64_t i = 0; i < electrodes.size(); ++i) j["tag_of_electrode"][electrodes.names[i]] = i + 1;
  const std::string json_path = std::filesystem::path(vtp_path).replace_extension(".json").string();
  write_atomically(json_path, [&](std::ostream& os) { os << j.dump(2) << "\n"; }, false);
}

}  // namespace cardiotwin::ecg
