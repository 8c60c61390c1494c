#include "cardiotwin/ecg/lead_field.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <map>
#include <unordered_map>
#include <vector>

#include <omp.h>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/core/json.hpp"
#include "cardiotwin/ep/fem.hpp"

namespace cardiotwin::ecg {

namespace {

constexpr Index kBloodRegion = kTorsoRegion + 1;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

nlohmann::json vec_json(const Eigen::Vector3d& v) { return nlohmann::json::array({v[0], v[1], v[2]}); }

Eigen::Vector3d json_vec(const nlohmann::json& j, const std::string& where) {
  CARDIOTWIN_CHECK(j.is_array() && j.size() == 3 && j[0].is_number() && j[1].is_number() && j[2].is_number(),
                   InvalidInput, "bad option", "an array of 3 numbers (fibre, sheet, normal)", j.dump(), Where({}, where));
  return {j[0].get<double>(), j[1].get<double>(), j[2].get<double>()};
}

Eigen::Vector3d pt(const Points& p, std::int64_t i) { return p.row(i).transpose(); }

// 63-bit key of a sorted node triple (nodes < 2^21).
std::uint64_t face_key(Index a, Index b, Index c) {
  if (a > b) std::swap(a, b);
  if (b > c) std::swap(b, c);
  if (a > b) std::swap(a, b);
  return static_cast<std::uint64_t>(a) | (static_cast<std::uint64_t>(b) << 21) | (static_cast<std::uint64_t>(c) << 42);
}

// Closest point of triangle (a, b, c) to p (Ericson, Real-Time Collision Detection, 5.1.5).
Eigen::Vector3d closest_on_triangle(const Eigen::Vector3d& p, const Eigen::Vector3d& a, const Eigen::Vector3d& b,
                                    const Eigen::Vector3d& c) {
  const Eigen::Vector3d ab = b - a, ac = c - a, ap = p - a;
  const double d1 = ab.dot(ap), d2 = ac.dot(ap);
  if (d1 <= 0 && d2 <= 0) return a;
  const Eigen::Vector3d bp = p - b;
  const double d3 = ab.dot(bp), d4 = ac.dot(bp);
  if (d3 >= 0 && d4 <= d3) return b;
  const double vc = d1 * d4 - d3 * d2;
  if (vc <= 0 && d1 >= 0 && d3 <= 0) return a + d1 / (d1 - d3) * ab;
  const Eigen::Vector3d cp = p - c;
  const double d5 = ab.dot(cp), d6 = ac.dot(cp);
  if (d6 >= 0 && d5 <= d6) return c;
  const double vb = d5 * d2 - d1 * d6;
  if (vb <= 0 && d2 >= 0 && d6 <= 0) return a + d2 / (d2 - d6) * ac;
  const double va = d3 * d6 - d5 * d4;
  if (va <= 0 && (d4 - d3) >= 0 && (d5 - d6) >= 0) return b + (d4 - d3) / ((d4 - d3) + (d5 - d6)) * (c - b);
  const double den = 1 / (va + vb + vc);
  return a + ab * (vb * den) + ac * (vc * den);
}

// Number of crossings of the ray p + s d (s > 0) with the triangles (Moller-Trumbore).
int ray_crossings(const SurfaceMesh& s, const Eigen::Vector3d& p, const Eigen::Vector3d& d) {
  int n = 0;
  for (std::int64_t f = 0; f < s.num_triangles(); ++f) {
    const Eigen::Vector3d a = pt(s.points, s.triangles(f, 0)), b = pt(s.points, s.triangles(f, 1)),
                          c = pt(s.points, s.triangles(f, 2));
    const Eigen::Vector3d e1 = b - a, e2 = c - a, h = d.cross(e2);
    const double det = e1.dot(h);
    if (std::abs(det) < 1e-14) continue;
    const Eigen::Vector3d q = p - a;
    const double u = q.dot(h) / det;
    if (u < 0 || u > 1) continue;
    const Eigen::Vector3d r = q.cross(e1);
    const double v = d.dot(r) / det;
    if (v < 0 || u + v > 1) continue;
    if (e2.dot(r) / det > 0) ++n;
  }
  return n;
}

}  // namespace

// ---- options ------------------------------------------------------------------------------------

nlohmann::json TorsoOptions::to_json() const {
  return {{"version", kVersion},
          {"half_width_mm", half_width_mm},
          {"half_depth_mm", half_depth_mm},
          {"half_height_mm", half_height_mm},
          {"centre_left_mm", centre_left_mm},
          {"centre_anterior_mm", centre_anterior_mm},
          {"centre_superior_mm", centre_superior_mm},
          {"scale", scale},
          {"surface_size_mm", surface_size_mm},
          {"max_radius_edge_ratio", max_radius_edge_ratio},
          {"max_volume_mm3", max_volume_mm3}};
}

TorsoOptions TorsoOptions::from_json(const nlohmann::json& j) {
  TorsoOptions o;
  JsonReader r(j, "torso");
  int version = kVersion;
  r.get("version", version);
  CARDIOTWIN_CHECK(version == kVersion, InvalidInput, "unsupported options version", kVersion, version,
                   Where({}, "torso.version"));
  r.get("half_width_mm", o.half_width_mm);
  r.get("half_depth_mm", o.half_depth_mm);
  r.get("half_height_mm", o.half_height_mm);
  r.get("centre_left_mm", o.centre_left_mm);
  r.get("centre_anterior_mm", o.centre_anterior_mm);
  r.get("centre_superior_mm", o.centre_superior_mm);
  r.get("scale", o.scale);
  r.get("surface_size_mm", o.surface_size_mm);
  r.get("max_radius_edge_ratio", o.max_radius_edge_ratio);
  r.get("max_volume_mm3", o.max_volume_mm3);
  r.finish();
  o.validate();
  return o;
}

void TorsoOptions::validate() const {
  CARDIOTWIN_CHECK(half_width_mm > 0 && half_depth_mm > 0 && half_height_mm > 0 && scale > 0 && surface_size_mm > 0,
                   InvalidInput, "bad torso options", "positive semi-axes, scale and surface_size_mm",
                   half_width_mm << ", " << half_depth_mm << ", " << half_height_mm << ", " << scale << ", "
                                 << surface_size_mm,
                   Where({}, "torso"));
  CARDIOTWIN_CHECK(std::isfinite(centre_left_mm) && std::isfinite(centre_anterior_mm) && std::isfinite(centre_superior_mm),
                   InvalidInput, "bad torso options", "a finite centre", centre_left_mm, Where({}, "torso.centre_left_mm"));
  CARDIOTWIN_CHECK(max_radius_edge_ratio == 0 || max_radius_edge_ratio >= 1.1, InvalidInput, "bad torso options",
                   "max_radius_edge_ratio 0 (off) or >= 1.1", max_radius_edge_ratio, Where({}, "max_radius_edge_ratio"));
}

nlohmann::json LeadFieldOptions::to_json() const {
  nlohmann::json regions = nlohmann::json::object();
  for (const auto& [tag, s] : region_sigma) regions[std::to_string(tag)] = s;
  return {{"version", kVersion},
          {"sigma_i", vec_json(sigma_i)},
          {"sigma_heart", vec_json(sigma_heart)},
          {"sigma_torso", sigma_torso},
          {"region_sigma", regions},
          {"reference", reference},
          {"project_to_surface", project_to_surface},
          {"cg_tolerance", cg_tolerance},
          {"cg_max_iterations", cg_max_iterations},
          {"threads", threads}};
}

LeadFieldOptions LeadFieldOptions::from_json(const nlohmann::json& j) {
  LeadFieldOptions o;
  JsonReader r(j, "lead_field");
  int version = kVersion;
  r.get("version", version);
  CARDIOTWIN_CHECK(version == kVersion, InvalidInput, "unsupported options version", kVersion, version,
                   Where({}, "lead_field.version"));
  if (const auto* s = r.raw("sigma_i")) o.sigma_i = json_vec(*s, "lead_field.sigma_i");
  if (const auto* s = r.raw("sigma_heart")) o.sigma_heart = json_vec(*s, "lead_field.sigma_heart");
  r.get("sigma_torso", o.sigma_torso);
  if (const auto* reg = r.raw("region_sigma")) {
    CARDIOTWIN_CHECK(reg->is_object(), InvalidInput, "bad option", "an object {tag: sigma}", reg->dump(),
                     Where({}, "lead_field.region_sigma"));
    for (const auto& [key, value] : reg->items()) {
      CARDIOTWIN_CHECK(value.is_number() && !key.empty() && key.find_first_not_of("0123456789") == std::string::npos,
                       InvalidInput, "bad option", "{integer tag: conductivity}", key << ": " << value.dump(),
                       Where({}, "lead_field.region_sigma"));
      o.region_sigma[static_cast<Index>(std::stoi(key))] = value.get<double>();
    }
  }
  r.get("reference", o.reference);
  r.get("project_to_surface", o.project_to_surface);
  r.get("cg_tolerance", o.cg_tolerance);
  r.get("cg_max_iterations", o.cg_max_iterations);
  r.get("threads", o.threads);
  r.finish();
  o.validate();
  return o;
}

void LeadFieldOptions::validate() const {
  CARDIOTWIN_CHECK(sigma_i.allFinite() && sigma_i.minCoeff() > 0 && sigma_heart.allFinite() && sigma_heart.minCoeff() > 0,
                   InvalidInput, "bad conductivity", "positive sigma_i and sigma_heart (S/m)",
                   sigma_i.transpose() << " / " << sigma_heart.transpose(), Where({}, "sigma_heart"));
  CARDIOTWIN_CHECK(std::isfinite(sigma_torso) && sigma_torso > 0, InvalidInput, "bad conductivity", "> 0 S/m",
                   sigma_torso, Where({}, "sigma_torso"));
  for (const auto& [tag, s] : region_sigma)
    CARDIOTWIN_CHECK(std::isfinite(s) && s > 0, InvalidInput, "bad conductivity", "> 0 S/m", s,
                     Where({}, "region_sigma." + std::to_string(tag)));
  CARDIOTWIN_CHECK(cg_tolerance > 0 && cg_tolerance < 1 && cg_max_iterations > 0, InvalidInput, "bad solver options",
                   "0 < cg_tolerance < 1, cg_max_iterations > 0", cg_tolerance << ", " << cg_max_iterations,
                   Where({}, "cg_tolerance"));
  CARDIOTWIN_CHECK(threads >= 0, InvalidInput, "bad option", ">= 0 (0 = automatic)", threads, Where({}, "threads"));
}

// ---- geometry -----------------------------------------------------------------------------------

SurfaceMesh ellipsoid_torso_surface(const BodyFrame& frame, const TorsoOptions& o) {
  o.validate();
  const double t = (1 + std::sqrt(5.0)) / 2;
  std::vector<Eigen::Vector3d> v = {{-1, t, 0}, {1, t, 0}, {-1, -t, 0}, {1, -t, 0}, {0, -1, t}, {0, 1, t},
                                    {0, -1, -t}, {0, 1, -t}, {t, 0, -1}, {t, 0, 1}, {-t, 0, -1}, {-t, 0, 1}};
  for (auto& p : v) p.normalize();
  std::vector<std::array<Index, 3>> f = {{0, 11, 5}, {0, 5, 1},  {0, 1, 7},   {0, 7, 10}, {0, 10, 11},
                                         {1, 5, 9},  {5, 11, 4}, {11, 10, 2}, {10, 7, 6}, {7, 1, 8},
                                         {3, 9, 4},  {3, 4, 2},  {3, 2, 6},   {3, 6, 8},  {3, 8, 9},
                                         {4, 9, 5},  {2, 4, 11}, {6, 2, 10},  {8, 6, 7},  {9, 8, 1}};
  const double a = o.half_width_mm * o.scale, b = o.half_depth_mm * o.scale, c = o.half_height_mm * o.scale;
  const double rmax = std::max({a, b, c});
  // The icosahedron's edge on the unit sphere is about 1.05; halve it until it is small enough.
  int levels = 0;
  while (levels < 7 && 1.05 / std::pow(2.0, levels) * rmax > o.surface_size_mm) ++levels;
  for (int l = 0; l < levels; ++l) {
    std::map<std::pair<Index, Index>, Index> mid;
    auto midpoint = [&](Index i, Index j) {
      const auto key = std::minmax(i, j);
      const auto it = mid.find(key);
      if (it != mid.end()) return it->second;
      v.push_back((v[static_cast<std::size_t>(i)] + v[static_cast<std::size_t>(j)]).normalized());
      const auto id = static_cast<Index>(v.size() - 1);
      mid.emplace(key, id);
      return id;
    };
    std::vector<std::array<Index, 3>> g;
    for (const auto& tri : f) {
      const Index ab = midpoint(tri[0], tri[1]), bc = midpoint(tri[1], tri[2]), ca = midpoint(tri[2], tri[0]);
      g.push_back({tri[0], ab, ca});
      g.push_back({tri[1], bc, ab});
      g.push_back({tri[2], ca, bc});
      g.push_back({ab, bc, ca});
    }
    f.swap(g);
  }
  SurfaceMesh s;
  s.points.resize(static_cast<Eigen::Index>(v.size()), 3);
  for (std::size_t i = 0; i < v.size(); ++i) {
    const Eigen::Vector3d body(o.centre_left_mm * o.scale + a * v[i][0], o.centre_anterior_mm * o.scale + b * v[i][1],
                               o.centre_superior_mm * o.scale + c * v[i][2]);
    s.points.row(static_cast<Eigen::Index>(i)) = frame.to_mesh(body).transpose();
  }
  s.triangles.resize(static_cast<Eigen::Index>(f.size()), 3);
  double vol = 0;
  for (std::size_t k = 0; k < f.size(); ++k) {
    for (int j = 0; j < 3; ++j) s.triangles(static_cast<Eigen::Index>(k), j) = f[k][static_cast<std::size_t>(j)];
    vol += pt(s.points, f[k][0]).dot(pt(s.points, f[k][1]).cross(pt(s.points, f[k][2])));
  }
  if (vol < 0) s.triangles.col(1).swap(s.triangles.col(2));
  s.tags = Tags::Ones(s.num_triangles());
  return s;
}

SurfaceMesh heart_boundary(const TetMesh& heart) {
  CARDIOTWIN_CHECK(heart.num_points() < (1 << 21), InvalidInput, "heart mesh too large for the torso builder",
                   "< 2^21 nodes", heart.num_points(), Where({}, "heart"));
  std::unordered_map<std::uint64_t, std::pair<int, std::array<Index, 3>>> faces;
  faces.reserve(static_cast<std::size_t>(2 * heart.num_tets()));
  for (std::int64_t e = 0; e < heart.num_tets(); ++e)
    for (int k = 0; k < 4; ++k) {
      std::array<Index, 3> tri = {heart.tets(e, (k + 1) % 4), heart.tets(e, (k + 2) % 4), heart.tets(e, (k + 3) % 4)};
      const Eigen::Vector3d n = (pt(heart.points, tri[1]) - pt(heart.points, tri[0]))
                                    .cross(pt(heart.points, tri[2]) - pt(heart.points, tri[0]));
      if (n.dot(pt(heart.points, heart.tets(e, k)) - pt(heart.points, tri[0])) > 0) std::swap(tri[1], tri[2]);
      auto& slot = faces[face_key(tri[0], tri[1], tri[2])];
      if (slot.first++ == 0) slot.second = tri;
    }
  std::vector<std::array<Index, 3>> out;
  for (const auto& [key, slot] : faces)
    if (slot.first == 1) out.push_back(slot.second);
  std::sort(out.begin(), out.end());
  SurfaceMesh s;
  s.points = heart.points;
  s.triangles.resize(static_cast<Eigen::Index>(out.size()), 3);
  for (std::size_t k = 0; k < out.size(); ++k)
    for (int j = 0; j < 3; ++j) s.triangles(static_cast<Eigen::Index>(k), j) = out[k][static_cast<std::size_t>(j)];
  s.tags = Tags::Zero(s.num_triangles());
  return s;
}

SurfaceMesh torso_plc(const TetMesh& heart, const SurfaceMesh& torso, const Points& refine_points,
                      double refine_radius_mm) {
  validate_mesh(heart, "heart");
  const SurfaceMesh hb = heart_boundary(heart);
  // Every heart boundary node must lie inside the torso surface (odd number of ray crossings).
  const Eigen::Vector3d dir = Eigen::Vector3d(0.5773, 0.5774, 0.5775).normalized();
  std::vector<char> used(static_cast<std::size_t>(heart.num_points()), 0);
  for (std::int64_t f = 0; f < hb.num_triangles(); ++f)
    for (int j = 0; j < 3; ++j) used[static_cast<std::size_t>(hb.triangles(f, j))] = 1;
  std::vector<Index> nodes;
  for (std::int64_t i = 0; i < heart.num_points(); ++i)
    if (used[static_cast<std::size_t>(i)]) nodes.push_back(static_cast<Index>(i));
  // Check a spread of boundary nodes (every one for small hearts).
  const std::size_t stride = std::max<std::size_t>(1, nodes.size() / 400);
  for (std::size_t k = 0; k < nodes.size(); k += stride) {
    const Eigen::Vector3d p = pt(heart.points, nodes[k]);
    CARDIOTWIN_CHECK(ray_crossings(torso, p, dir) % 2 == 1, InvalidInput, "the torso does not contain the heart",
                     "every heart node inside the torso surface",
                     "heart node " << nodes[k] << " at (" << p.transpose() << ") mm outside", Where({}, "torso", nodes[k]));
  }
  SurfaceMesh plc;
  const auto nt = torso.num_points(), nb = static_cast<std::int64_t>(nodes.size());
  plc.points.resize(nt + nb, 3);
  plc.points.topRows(nt) = torso.points;
  std::vector<Index> plc_of(static_cast<std::size_t>(heart.num_points()), -1);
  for (std::int64_t k = 0; k < nb; ++k) {
    plc.points.row(nt + k) = heart.points.row(nodes[static_cast<std::size_t>(k)]);
    plc_of[static_cast<std::size_t>(nodes[static_cast<std::size_t>(k)])] = static_cast<Index>(nt + k);
  }
  plc.triangles.resize(torso.num_triangles() + hb.num_triangles(), 3);
  plc.triangles.topRows(torso.num_triangles()) = torso.triangles;
  for (std::int64_t f = 0; f < hb.num_triangles(); ++f)
    for (int j = 0; j < 3; ++j)
      plc.triangles(torso.num_triangles() + f, j) = plc_of[static_cast<std::size_t>(hb.triangles(f, j))];
  plc.tags.resize(plc.num_triangles());
  plc.tags.head(torso.num_triangles()).setConstant(1);
  plc.tags.tail(hb.num_triangles()).setConstant(2);
  // Refinement shells: icosahedra of radius r, away from the heart (>= 2 r) and the torso surface.
  if (refine_points.rows() > 0) {
    CARDIOTWIN_CHECK(refine_radius_mm > 0, InvalidInput, "bad refinement radius", "> 0 mm", refine_radius_mm,
                     Where({}, "refine_radius_mm"));
    const double t = (1 + std::sqrt(5.0)) / 2;
    const double ico_v[12][3] = {{-1, t, 0}, {1, t, 0}, {-1, -t, 0}, {1, -t, 0}, {0, -1, t}, {0, 1, t},
                                 {0, -1, -t}, {0, 1, -t}, {t, 0, -1}, {t, 0, 1}, {-t, 0, -1}, {-t, 0, 1}};
    const int ico_f[20][3] = {{0, 11, 5}, {0, 5, 1},  {0, 1, 7},   {0, 7, 10}, {0, 10, 11}, {1, 5, 9},  {5, 11, 4},
                              {11, 10, 2}, {10, 7, 6}, {7, 1, 8},  {3, 9, 4},  {3, 4, 2},   {3, 2, 6},  {3, 6, 8},
                              {3, 8, 9},  {4, 9, 5},  {2, 4, 11}, {6, 2, 10}, {8, 6, 7},   {9, 8, 1}};
    const double r = refine_radius_mm;
    for (Eigen::Index k = 0; k < refine_points.rows(); ++k) {
      const Eigen::Vector3d c = refine_points.row(k).transpose();
      const double dh = (heart.points.rowwise() - c.transpose()).rowwise().norm().minCoeff();
      CARDIOTWIN_CHECK(dh >= 2 * r, InvalidInput, "refinement point too close to the heart",
                       ">= " << 2 * r << " mm from every heart node", dh << " mm", Where({}, "refine_points", k));
      double ds = 1e300;
      for (std::int64_t f = 0; f < torso.num_triangles(); ++f)
        ds = std::min(ds, (closest_on_triangle(c, pt(torso.points, torso.triangles(f, 0)), pt(torso.points, torso.triangles(f, 1)),
                                               pt(torso.points, torso.triangles(f, 2))) - c).norm());
      CARDIOTWIN_CHECK(ds >= 2 * r && ray_crossings(torso, c, dir) % 2 == 1, InvalidInput,
                       "refinement point not inside the torso", ">= " << 2 * r << " mm inside the torso surface",
                       "(" << c.transpose() << ") mm, " << ds << " mm from the surface", Where({}, "refine_points", k));
      const auto p0 = plc.points.rows(), f0 = plc.triangles.rows();
      plc.points.conservativeResize(p0 + 12, 3);
      plc.triangles.conservativeResize(f0 + 20, 3);
      plc.tags.conservativeResize(f0 + 20);
      for (int v = 0; v < 12; ++v)
        plc.points.row(p0 + v) = (c + r * Eigen::Vector3d(ico_v[v][0], ico_v[v][1], ico_v[v][2]).normalized()).transpose();
      for (int f = 0; f < 20; ++f) {
        for (int j = 0; j < 3; ++j) plc.triangles(f0 + f, j) = static_cast<Index>(p0 + ico_f[f][j]);
        plc.tags[f0 + f] = 3;
      }
    }
  }
  Field heart_node(plc.num_points(), 1);
  heart_node.setConstant(-1);
  for (std::int64_t k = 0; k < nb; ++k) heart_node(nt + k, 0) = nodes[static_cast<std::size_t>(k)];
  plc.point_data["heart_node"] = heart_node;
  return plc;
}

TorsoMesh embed_heart(const TetMesh& heart, const SurfaceMesh& plc, const TetMesh& filled) {
  const auto hn_it = plc.point_data.find("heart_node");
  CARDIOTWIN_CHECK(hn_it != plc.point_data.end(), InvalidInput, "not a torso PLC", "point field 'heart_node' (from torso_plc)",
                   "none", Where({}, "plc"));
  const Field& heart_node = hn_it->second;
  CARDIOTWIN_CHECK(filled.num_points() < (1 << 21), InvalidInput, "torso mesh too large", "< 2^21 nodes",
                   filled.num_points(), Where({}, "filled"));
  // PLC points in the filled mesh, by exact coordinates (mesh generators copy input points).
  std::map<std::array<double, 3>, Index> where;
  for (std::int64_t i = 0; i < filled.num_points(); ++i)
    where[{filled.points(i, 0), filled.points(i, 1), filled.points(i, 2)}] = static_cast<Index>(i);
  std::vector<Index> filled_of(static_cast<std::size_t>(plc.num_points()));
  for (std::int64_t i = 0; i < plc.num_points(); ++i) {
    const auto it = where.find({plc.points(i, 0), plc.points(i, 1), plc.points(i, 2)});
    CARDIOTWIN_CHECK(it != where.end(), InvalidInput, "the torso mesh lost an input point",
                     "every surface point kept (mesh with TetGen switch Y)", "point " << i << " missing",
                     Where({}, "filled", i));
    filled_of[static_cast<std::size_t>(i)] = it->second;
  }
  std::vector<Index> heart_of(static_cast<std::size_t>(filled.num_points()), -1);  // filled node -> heart node
  std::vector<char> torso_surface_node(static_cast<std::size_t>(filled.num_points()), 0);
  for (std::int64_t i = 0; i < plc.num_points(); ++i)
    if (heart_node(i, 0) >= 0) heart_of[static_cast<std::size_t>(filled_of[static_cast<std::size_t>(i)])] = static_cast<Index>(heart_node(i, 0));
  for (std::int64_t f = 0; f < plc.num_triangles(); ++f)
    if (plc.tags[f] == 1)
      for (int j = 0; j < 3; ++j) torso_surface_node[static_cast<std::size_t>(filled_of[static_cast<std::size_t>(plc.triangles(f, j))])] = 1;
  std::unordered_map<std::uint64_t, char> heart_faces;
  for (std::int64_t f = 0; f < plc.num_triangles(); ++f)
    if (plc.tags[f] == 2)
      heart_faces[face_key(filled_of[static_cast<std::size_t>(plc.triangles(f, 0))], filled_of[static_cast<std::size_t>(plc.triangles(f, 1))],
                           filled_of[static_cast<std::size_t>(plc.triangles(f, 2))])] = 0;
  // Face adjacency of the filled tets.
  const std::int64_t m = filled.num_tets();
  std::unordered_map<std::uint64_t, std::int64_t> first;
  first.reserve(static_cast<std::size_t>(2 * m));
  std::vector<std::array<std::int64_t, 4>> nbr(static_cast<std::size_t>(m), {-1, -1, -1, -1});
  std::vector<std::array<char, 4>> blocked(static_cast<std::size_t>(m), {0, 0, 0, 0});
  for (std::int64_t e = 0; e < m; ++e)
    for (int k = 0; k < 4; ++k) {
      const auto key = face_key(filled.tets(e, (k + 1) % 4), filled.tets(e, (k + 2) % 4), filled.tets(e, (k + 3) % 4));
      const auto hf = heart_faces.find(key);
      if (hf != heart_faces.end()) {
        blocked[static_cast<std::size_t>(e)][static_cast<std::size_t>(k)] = 1;
        ++hf->second;
      }
      const auto [it, inserted] = first.emplace(key, e * 4 + k);
      if (!inserted) {
        const std::int64_t o = it->second;
        nbr[static_cast<std::size_t>(e)][static_cast<std::size_t>(k)] = o / 4;
        nbr[static_cast<std::size_t>(o / 4)][static_cast<std::size_t>(o % 4)] = e;
      }
    }
  for (const auto& [key, count] : heart_faces)
    CARDIOTWIN_CHECK(count == 2, InvalidInput, "the heart surface is not a surface of the torso mesh",
                     "each heart boundary face shared by two tets (mesh with TetGen switch Y)",
                     "a heart face in " << int(count) << " tets", Where({}, "filled"));
  // Components separated by the heart surface.
  std::vector<int> comp(static_cast<std::size_t>(m), -1);
  std::vector<double> comp_volume;
  std::vector<char> comp_outer;
  const Eigen::VectorXd vol = tet_volumes(filled);
  for (std::int64_t s = 0; s < m; ++s) {
    if (comp[static_cast<std::size_t>(s)] >= 0) continue;
    const int id = static_cast<int>(comp_volume.size());
    comp_volume.push_back(0);
    comp_outer.push_back(0);
    std::vector<std::int64_t> stack = {s};
    comp[static_cast<std::size_t>(s)] = id;
    while (!stack.empty()) {
      const std::int64_t e = stack.back();
      stack.pop_back();
      comp_volume[static_cast<std::size_t>(id)] += vol[e];
      for (int a = 0; a < 4; ++a)
        if (torso_surface_node[static_cast<std::size_t>(filled.tets(e, a))]) comp_outer[static_cast<std::size_t>(id)] = 1;
      for (int k = 0; k < 4; ++k) {
        const std::int64_t n = nbr[static_cast<std::size_t>(e)][static_cast<std::size_t>(k)];
        if (n < 0 || blocked[static_cast<std::size_t>(e)][static_cast<std::size_t>(k)] || comp[static_cast<std::size_t>(n)] >= 0) continue;
        comp[static_cast<std::size_t>(n)] = id;
        stack.push_back(n);
      }
    }
  }
  // A component is heart tissue when its first tet's centroid lies in a heart tet.
  const ep::TetGeometry hgeo = ep::tet_geometry(heart);
  auto in_heart = [&](const Eigen::Vector3d& x) {
    for (std::int64_t e = 0; e < heart.num_tets(); ++e) {
      bool inside = true;
      const Eigen::Vector3d d = x - pt(heart.points, heart.tets(e, 0));
      for (int a = 1; a < 4 && inside; ++a) inside = hgeo.grad[static_cast<std::size_t>(e)].row(a).dot(d) >= -1e-9;
      double l0 = 1;
      for (int a = 1; a < 4; ++a) l0 -= hgeo.grad[static_cast<std::size_t>(e)].row(a).dot(d);
      if (inside && l0 >= -1e-9) return true;
    }
    return false;
  };
  std::vector<char> comp_heart(comp_volume.size(), 0);
  double heart_part = 0;
  for (std::size_t c = 0; c < comp_volume.size(); ++c) {
    if (comp_outer[c]) continue;
    std::int64_t e0 = 0;
    while (comp[static_cast<std::size_t>(e0)] != static_cast<int>(c)) ++e0;
    Eigen::Vector3d x = Eigen::Vector3d::Zero();
    for (int a = 0; a < 4; ++a) x += pt(filled.points, filled.tets(e0, a)) / 4;
    comp_heart[c] = in_heart(x);
    if (comp_heart[c]) heart_part += comp_volume[c];
  }
  const double heart_volume = tet_volumes(heart).sum();
  CARDIOTWIN_CHECK(std::abs(heart_part - heart_volume) <= 1e-6 * heart_volume, InvalidInput,
                   "the torso mesh does not contain the heart", "the heart's volume " << heart_volume << " mm^3 enclosed",
                   heart_part << " mm^3 inside the heart surface", Where({}, "filled"));

  TorsoMesh t;
  const std::int64_t nh = heart.num_points(), mh = heart.num_tets();
  if (heart.region.size())
    for (std::int64_t e = 0; e < mh; ++e)
      CARDIOTWIN_CHECK(heart.region[e] != kTorsoRegion && heart.region[e] != kBloodRegion, InvalidInput,
                       "heart region tag reserved for the torso", "tags other than 100 and 101", heart.region[e],
                       Where({}, "region", e));
  std::vector<Index> new_id(static_cast<std::size_t>(filled.num_points()), -1);
  std::vector<std::int64_t> kept;
  for (std::int64_t e = 0; e < m; ++e)
    if (!comp_heart[static_cast<std::size_t>(comp[static_cast<std::size_t>(e)])]) kept.push_back(e);
  std::int64_t next = nh;
  for (const auto e : kept)
    for (int a = 0; a < 4; ++a) {
      const Index v = filled.tets(e, a);
      if (new_id[static_cast<std::size_t>(v)] >= 0) continue;
      new_id[static_cast<std::size_t>(v)] = heart_of[static_cast<std::size_t>(v)] >= 0 ? heart_of[static_cast<std::size_t>(v)]
                                                                                      : static_cast<Index>(next++);
    }
  t.mesh.points.resize(next, 3);
  t.mesh.points.topRows(nh) = heart.points;
  for (std::int64_t i = 0; i < filled.num_points(); ++i)
    if (new_id[static_cast<std::size_t>(i)] >= nh) t.mesh.points.row(new_id[static_cast<std::size_t>(i)]) = filled.points.row(i);
  const std::int64_t mt = mh + static_cast<std::int64_t>(kept.size());
  t.mesh.tets.resize(mt, 4);
  t.mesh.tets.topRows(mh) = heart.tets;
  t.mesh.region.resize(mt);
  if (heart.region.size()) t.mesh.region.head(mh) = heart.region;
  else t.mesh.region.head(mh).setOnes();
  for (std::size_t k = 0; k < kept.size(); ++k) {
    const auto e = kept[k];
    for (int a = 0; a < 4; ++a) t.mesh.tets(mh + static_cast<std::int64_t>(k), a) = new_id[static_cast<std::size_t>(filled.tets(e, a))];
    t.mesh.region[mh + static_cast<std::int64_t>(k)] = comp_outer[static_cast<std::size_t>(comp[static_cast<std::size_t>(e)])] ? kTorsoRegion : kBloodRegion;
  }
  auto extend = [&](const Directions& d, const Eigen::RowVector3d& fill) {
    Directions out(mt, 3);
    out.topRows(mh) = d;
    out.bottomRows(mt - mh).rowwise() = fill;
    return out;
  };
  if (heart.fibre.rows()) t.mesh.fibre = extend(heart.fibre, Eigen::RowVector3d(1, 0, 0));
  if (heart.sheet.rows()) t.mesh.sheet = extend(heart.sheet, Eigen::RowVector3d(0, 1, 0));
  if (heart.normal.rows()) t.mesh.normal = extend(heart.normal, Eigen::RowVector3d(0, 0, 1));
  t.num_heart_nodes = nh;
  t.num_heart_tets = mh;
  // Outer surface: the PLC's torso triangles.
  std::int64_t ntri = 0;
  for (std::int64_t f = 0; f < plc.num_triangles(); ++f) ntri += plc.tags[f] == 1;
  t.surface.points = t.mesh.points;
  t.surface.triangles.resize(ntri, 3);
  t.surface.tags = Tags::Ones(ntri);
  std::int64_t k = 0;
  for (std::int64_t f = 0; f < plc.num_triangles(); ++f)
    if (plc.tags[f] == 1) {
      for (int j = 0; j < 3; ++j)
        t.surface.triangles(k, j) = new_id[static_cast<std::size_t>(filled_of[static_cast<std::size_t>(plc.triangles(f, j))])];
      ++k;
    }
  return t;
}

// ---- lead field ---------------------------------------------------------------------------------

ElectrodeWeights lead_field_weights(const TetMesh& heart, const TorsoMesh& torso, const Electrodes& electrodes,
                                    const LeadFieldOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  o.validate();
  validate_electrodes(electrodes);
  const TetMesh& T = torso.mesh;
  const std::int64_t nh = heart.num_points(), mh = heart.num_tets();
  CARDIOTWIN_CHECK(torso.num_heart_nodes == nh && torso.num_heart_tets == mh && T.num_points() >= nh && T.num_tets() >= mh,
                   InvalidInput, "the torso was not built around this heart",
                   nh << " heart nodes and " << mh << " heart tets first",
                   torso.num_heart_nodes << " and " << torso.num_heart_tets, Where({}, "torso"));
  CARDIOTWIN_CHECK((T.tets.topRows(mh).array() == heart.tets.array()).all() &&
                       (T.points.topRows(nh) - heart.points).cwiseAbs().maxCoeff() == 0,
                   InvalidInput, "the torso was not built around this heart", "the heart's nodes and tets first",
                   "different nodes or tets", Where({}, "torso"));
  const std::int64_t ref = electrodes.index(o.reference);
  // Small systems run faster on one thread (and do not suffer from busy cores).
  struct ThreadScope {
    int saved;
    explicit ThreadScope(int n) : saved(omp_get_max_threads()) { omp_set_num_threads(n); }
    ~ThreadScope() { omp_set_num_threads(saved); }
  } scope(o.threads > 0 ? o.threads
                        : std::max(1, std::min(omp_get_num_procs(), static_cast<int>(T.num_points() / 100000) + 1)));

  const ep::TetGeometry geo = ep::tet_geometry(T);
  // Conductivities: bulk in the heart (with its fibres), isotropic per region elsewhere.
  ep::TensorField sigma(T.num_tets(), 6);
  sigma.topRows(mh) = ep::conductivity_tensors(heart, o.sigma_heart);
  for (std::int64_t e = mh; e < T.num_tets(); ++e) {
    const Index tag = T.region_of(e);
    const auto it = o.region_sigma.find(tag);
    const double s = it != o.region_sigma.end() ? it->second : o.sigma_torso;
    sigma.row(e) << s, s, s, 0, 0, 0;
  }
  const ep::CsrMatrix pattern = ep::p1_sparsity(T);
  ep::CsrMatrix A = ep::assemble_stiffness(T, geo, sigma, pattern);
  const double assembly_s = seconds_since(t0);

  // Electrode positions (projected onto the torso surface) and their containing tets.
  Points used(electrodes.size(), 3);
  std::vector<std::int64_t> tet_of(static_cast<std::size_t>(electrodes.size()));
  std::vector<Eigen::Vector4d> bary(static_cast<std::size_t>(electrodes.size()));
  for (std::int64_t k = 0; k < electrodes.size(); ++k) {
    Eigen::Vector3d x = electrodes.positions.row(k).transpose();
    if (o.project_to_surface) {
      double best = 1e300;
      Eigen::Vector3d bp = x;
      for (std::int64_t f = 0; f < torso.surface.num_triangles(); ++f) {
        const Eigen::Vector3d q = closest_on_triangle(x, pt(T.points, torso.surface.triangles(f, 0)),
                                                      pt(T.points, torso.surface.triangles(f, 1)),
                                                      pt(T.points, torso.surface.triangles(f, 2)));
        const double d = (q - x).squaredNorm();
        if (d < best) best = d, bp = q;
      }
      x = bp;
    }
    used.row(k) = x.transpose();
    double best_min = -1e300;
    std::int64_t best_tet = -1;
    Eigen::Vector4d best_l;
    for (std::int64_t e = 0; e < T.num_tets(); ++e) {
      const Eigen::Vector3d d = x - pt(T.points, T.tets(e, 0));
      Eigen::Vector4d l;
      for (int a = 1; a < 4; ++a) l[a] = geo.grad[static_cast<std::size_t>(e)].row(a).dot(d);
      l[0] = 1 - l[1] - l[2] - l[3];
      if (l.minCoeff() > best_min) best_min = l.minCoeff(), best_tet = e, best_l = l;
    }
    CARDIOTWIN_CHECK(best_min >= -1e-6, InvalidInput, "electrode outside the torso", "electrodes inside or on the torso",
                     "electrode '" << electrodes.names[static_cast<std::size_t>(k)] << "' at (" << x.transpose() << ") mm",
                     Where({}, electrodes.names[static_cast<std::size_t>(k)], k));
    CARDIOTWIN_CHECK(best_tet >= mh, InvalidInput, "electrode inside the heart", "electrodes outside the heart mesh",
                     "electrode '" << electrodes.names[static_cast<std::size_t>(k)] << "' at (" << x.transpose()
                                   << ") mm in heart tet " << best_tet,
                     Where({}, electrodes.names[static_cast<std::size_t>(k)], k));
    tet_of[static_cast<std::size_t>(k)] = best_tet;
    bary[static_cast<std::size_t>(k)] = best_l.cwiseMax(0.0) / best_l.cwiseMax(0.0).sum();
  }

  // Pin one node of the reference electrode (the system is singular up to a constant; the
  // right-hand sides sum to zero, so pinning keeps every other equation exact).
  Eigen::Index amax = 0;
  bary[static_cast<std::size_t>(ref)].maxCoeff(&amax);
  const Index pin = T.tets(tet_of[static_cast<std::size_t>(ref)], amax);
  for (std::int32_t i = 0; i < A.n; ++i)
    for (std::int32_t q = A.row[i]; q < A.row[i + 1]; ++q)
      if (i == pin || A.col[q] == pin) A.val[q] = (i == pin && A.col[q] == pin) ? 1.0 : 0.0;

  ElectrodeWeights w;
  w.names = electrodes.names;
  w.weights = Field::Zero(electrodes.size(), nh);
  std::vector<int> iterations(static_cast<std::size_t>(electrodes.size()), 0);
  ep::CgWorkspace ws;
  Eigen::VectorXd b(T.num_points()), z(T.num_points());
  const ep::TensorField sigma_i = ep::conductivity_tensors(heart, o.sigma_i);
  const auto t1 = std::chrono::steady_clock::now();
  for (std::int64_t k = 0; k < electrodes.size(); ++k) {
    if (k == ref) continue;
    b.setZero();
    for (int a = 0; a < 4; ++a) {
      b[T.tets(tet_of[static_cast<std::size_t>(k)], a)] += bary[static_cast<std::size_t>(k)][a];
      b[T.tets(tet_of[static_cast<std::size_t>(ref)], a)] -= bary[static_cast<std::size_t>(ref)][a];
    }
    b[pin] = 0;
    z.setZero();
    iterations[static_cast<std::size_t>(k)] =
        ep::conjugate_gradient(A, b.data(), z.data(), o.cg_tolerance, o.cg_max_iterations, ws);
    double* row = w.weights.row(k).data();
    for (std::int64_t e = 0; e < mh; ++e) {
      const auto& g = geo.grad[static_cast<std::size_t>(e)];
      Eigen::Vector3d G = Eigen::Vector3d::Zero();
      for (int a = 0; a < 4; ++a) G += z[T.tets(e, a)] * g.row(a).transpose();
      const auto s = sigma_i.row(e);
      const Eigen::Vector3d q(s[0] * G[0] + s[3] * G[1] + s[5] * G[2], s[3] * G[0] + s[1] * G[1] + s[4] * G[2],
                              s[5] * G[0] + s[4] * G[1] + s[2] * G[2]);
      for (int a = 0; a < 4; ++a) row[heart.tets(e, a)] -= geo.volume[e] * g.row(a).dot(q);
    }
  }
  Electrodes at;
  at.names = electrodes.names;
  at.positions = used;
  w.metadata = {{"model", "lead_field"},
                {"options", o.to_json()},
                {"electrodes", at.to_json()},
                {"num_heart_nodes", nh},
                {"num_torso_nodes", T.num_points()},
                {"num_torso_tets", T.num_tets()},
                {"cg_iterations", iterations},
                {"assembly_s", assembly_s},
                {"solve_s", seconds_since(t1)},
                {"weights_s", seconds_since(t0)}};
  return w;
}

}  // namespace cardiotwin::ecg
