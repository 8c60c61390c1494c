#include "cardiotwin/mesh/procedural.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/core/json.hpp"

namespace cardiotwin::mesh {

TetMesh box_mesh(const Eigen::Vector3d& size, double dx) {
  CARDIOTWIN_CHECK(std::isfinite(dx) && dx > 0, InvalidInput, "bad grid spacing", "dx > 0 mm", dx, Where({}, "dx"));
  std::int64_t cells[3], np[3];
  for (int a = 0; a < 3; ++a) {
    CARDIOTWIN_CHECK(std::isfinite(size[a]) && size[a] > 0, InvalidInput, "bad box size", "> 0 mm", size[a],
                     Where({}, "size", a));
    cells[a] = std::max<std::int64_t>(1, std::llround(size[a] / dx));
    np[a] = cells[a] + 1;
  }
  const std::int64_t num_points = np[0] * np[1] * np[2], num_tets = 6 * cells[0] * cells[1] * cells[2];
  CARDIOTWIN_CHECK(num_points < (std::int64_t(1) << 31) && num_tets < (std::int64_t(1) << 31), InvalidInput,
                   "box mesh too large", "< 2^31 points and tets", num_points << " points, " << num_tets << " tets",
                   Where({}, "dx"));
  TetMesh m;
  m.points.resize(num_points, 3);
  for (std::int64_t k = 0; k < np[2]; ++k)
    for (std::int64_t j = 0; j < np[1]; ++j)
      for (std::int64_t i = 0; i < np[0]; ++i)
        m.points.row(i + np[0] * (j + np[1] * k)) << size[0] * i / cells[0], size[1] * j / cells[1],
            size[2] * k / cells[2];
  // Cube corners c = x + 2y + 4z; six tets share the diagonal 0-7 (Kuhn subdivision), listed so
  // that every tet is positively oriented.
  static const int kTets[6][4] = {{0, 1, 3, 7}, {0, 3, 2, 7}, {0, 2, 6, 7}, {0, 6, 4, 7}, {0, 4, 5, 7}, {0, 5, 1, 7}};
  m.tets.resize(num_tets, 4);
  std::int64_t t = 0;
  for (std::int64_t k = 0; k < cells[2]; ++k)
    for (std::int64_t j = 0; j < cells[1]; ++j)
      for (std::int64_t i = 0; i < cells[0]; ++i) {
        Index v[8];
        for (int c = 0; c < 8; ++c)
          v[c] = static_cast<Index>((i + (c & 1)) + np[0] * ((j + ((c >> 1) & 1)) + np[1] * (k + ((c >> 2) & 1))));
        for (const auto& tet : kTets) {
          m.tets.row(t) << v[tet[0]], v[tet[1]], v[tet[2]], v[tet[3]];
          ++t;
        }
      }
  fix_orientation(m);  // orientation depends on the corner table's handedness; make it positive
  m.region = Tags::Ones(num_tets);
  m.fibre = Directions::Zero(num_tets, 3);
  m.sheet = Directions::Zero(num_tets, 3);
  m.normal = Directions::Zero(num_tets, 3);
  m.fibre.col(0).setOnes();
  m.sheet.col(1).setOnes();
  m.normal.col(2).setOnes();
  return m;
}

namespace {

constexpr double kPi = 3.14159265358979323846;

// Volume of the solid ellipsoid of revolution (radii r across, l along z, centred at 0) below z = zb.
double ellipsoid_cap_volume(double r, double l, double zb) {
  zb = std::clamp(zb, -l, l);
  return kPi * r * r * ((zb + l) - (zb * zb * zb + l * l * l) / (3 * l * l));
}

void check_positive(double v, const char* name) {
  CARDIOTWIN_CHECK(std::isfinite(v) && v > 0, InvalidInput, "bad geometry option", "a finite value > 0", v,
                   Where({}, name));
}

void check_lv(const EllipsoidLvOptions& o) {
  check_positive(o.endo_short_radius_mm, "endo_short_radius_mm");
  check_positive(o.endo_long_radius_mm, "endo_long_radius_mm");
  check_positive(o.epi_short_radius_mm, "epi_short_radius_mm");
  check_positive(o.epi_long_radius_mm, "epi_long_radius_mm");
  check_positive(o.size_mm, "size_mm");
  CARDIOTWIN_CHECK(o.epi_short_radius_mm > o.endo_short_radius_mm && o.epi_long_radius_mm > o.endo_long_radius_mm,
                   InvalidInput, "epicardium inside endocardium", "epi radii larger than endo radii",
                   "epi " << o.epi_short_radius_mm << "/" << o.epi_long_radius_mm << ", endo " << o.endo_short_radius_mm
                          << "/" << o.endo_long_radius_mm,
                   Where({}, "epi_short_radius_mm"));
  CARDIOTWIN_CHECK(std::isfinite(o.base_z_mm) && std::abs(o.base_z_mm) < o.endo_long_radius_mm, InvalidInput,
                   "bad base plane", "|base_z_mm| < endo_long_radius_mm (" << o.endo_long_radius_mm << ")", o.base_z_mm,
                   Where({}, "base_z_mm"));
}

}  // namespace

nlohmann::json EllipsoidLvOptions::to_json() const {
  return {{"endo_short_radius_mm", endo_short_radius_mm}, {"endo_long_radius_mm", endo_long_radius_mm},
          {"epi_short_radius_mm", epi_short_radius_mm},   {"epi_long_radius_mm", epi_long_radius_mm},
          {"base_z_mm", base_z_mm},                       {"size_mm", size_mm}};
}

EllipsoidLvOptions EllipsoidLvOptions::from_json(const nlohmann::json& j) {
  EllipsoidLvOptions o;
  JsonReader r(j, "ellipsoidal_lv");
  r.get("endo_short_radius_mm", o.endo_short_radius_mm);
  r.get("endo_long_radius_mm", o.endo_long_radius_mm);
  r.get("epi_short_radius_mm", o.epi_short_radius_mm);
  r.get("epi_long_radius_mm", o.epi_long_radius_mm);
  r.get("base_z_mm", o.base_z_mm);
  r.get("size_mm", o.size_mm);
  r.finish();
  return o;
}

double EllipsoidLvOptions::wall_volume_mm3() const {
  return ellipsoid_cap_volume(epi_short_radius_mm, epi_long_radius_mm, base_z_mm) - cavity_volume_mm3();
}
double EllipsoidLvOptions::cavity_volume_mm3() const {
  return ellipsoid_cap_volume(endo_short_radius_mm, endo_long_radius_mm, base_z_mm);
}

TaggedMesh ellipsoidal_lv(const EllipsoidLvOptions& o) {
  check_lv(o);
  const double h = o.size_mm;
  // A triangulated parameter disc (apex, then rings along the meridian, each with about as many
  // nodes as fit its mid-wall circumference) is extruded through the wall in `nt` layers and the
  // prisms are split into tets. Along each layer (t from 0 at the endocardium to 1 at the
  // epicardium) the meridian angle runs from 0 at the apex to where that ellipsoid meets the base
  // plane, so the base is exactly flat.
  const double rs_mid = 0.5 * (o.endo_short_radius_mm + o.epi_short_radius_mm);
  const double rl_mid = 0.5 * (o.endo_long_radius_mm + o.epi_long_radius_mm);
  const double v_mid = std::acos(-o.base_z_mm / rl_mid);
  const std::int64_t nt = std::max<std::int64_t>(1, std::llround((o.epi_short_radius_mm - o.endo_short_radius_mm) / h));
  const std::int64_t nv = std::max<std::int64_t>(2, std::llround(v_mid * 0.5 * (rs_mid + rl_mid) / h));
  std::vector<std::int64_t> ring_size(static_cast<std::size_t>(nv) + 1, 1), ring_first(ring_size.size(), 0);
  std::int64_t per_layer = 1;
  for (std::int64_t is = 1; is <= nv; ++is) {
    const double rho = rs_mid * std::sin(v_mid * double(is) / double(nv));
    ring_size[is] = std::max<std::int64_t>(6, std::llround(2 * kPi * rho / h));
    ring_first[is] = per_layer;
    per_layer += ring_size[is];
  }
  const std::int64_t num_points = (nt + 1) * per_layer;
  CARDIOTWIN_CHECK(num_points < (std::int64_t(1) << 31) / 8, InvalidInput, "mesh too large", "a coarser size_mm",
                   num_points << " points", Where({}, "size_mm"));
  // Surface triangulation of one layer, in layer-local node numbers.
  std::vector<std::array<std::int64_t, 3>> disc;
  for (std::int64_t k = 0; k < ring_size[1]; ++k) disc.push_back({0, ring_first[1] + k, ring_first[1] + (k + 1) % ring_size[1]});
  for (std::int64_t is = 1; is < nv; ++is) {
    // Zip ring `is` (a) to ring `is + 1` (b), advancing on the ring whose next node comes first.
    const std::int64_t na = ring_size[is], nb = ring_size[is + 1], fa = ring_first[is], fb = ring_first[is + 1];
    std::int64_t i = 0, j = 0;
    while (i < na || j < nb) {
      const double next_a = double(i + 1) / double(na), next_b = double(j + 1) / double(nb);
      if (i < na && (j == nb || next_a <= next_b)) {
        disc.push_back({fa + i % na, fa + (i + 1) % na, fb + j % nb});
        ++i;
      } else {
        disc.push_back({fa + i % na, fb + (j + 1) % nb, fb + j % nb});
        ++j;
      }
    }
  }
  TaggedMesh out;
  TetMesh& m = out.mesh;
  m.points.resize(num_points, 3);
  for (std::int64_t it = 0; it <= nt; ++it) {
    const double t = double(it) / double(nt);
    const double rs = o.endo_short_radius_mm + t * (o.epi_short_radius_mm - o.endo_short_radius_mm);
    const double rl = o.endo_long_radius_mm + t * (o.epi_long_radius_mm - o.endo_long_radius_mm);
    const double v_base = std::acos(-o.base_z_mm / rl);
    m.points.row(it * per_layer) << 0, 0, -rl;
    for (std::int64_t is = 1; is <= nv; ++is) {
      const double v = v_base * double(is) / double(nv);
      for (std::int64_t k = 0; k < ring_size[is]; ++k) {
        const double th = 2 * kPi * double(k) / double(ring_size[is]);
        m.points.row(it * per_layer + ring_first[is] + k) << rs * std::sin(v) * std::cos(th),
            rs * std::sin(v) * std::sin(th), is == nv ? o.base_z_mm : -rl * std::cos(v);
      }
    }
  }
  // Each prism (triangle a < b < c extruded one layer, primes on the layer above) becomes the
  // tets (a b c c') (a b b' c') (a a' b' c'): every quad face is split from its smaller bottom
  // node to the top of the larger one, so neighbouring prisms conform.
  m.tets.resize(static_cast<std::int64_t>(disc.size()) * nt * 3, 4);
  std::int64_t e = 0;
  for (std::int64_t it = 0; it < nt; ++it)
    for (auto tri : disc) {
      std::sort(tri.begin(), tri.end());
      const auto lo = [&](std::int64_t x) { return static_cast<Index>(it * per_layer + x); };
      const auto up = [&](std::int64_t x) { return static_cast<Index>((it + 1) * per_layer + x); };
      const std::int64_t a = tri[0], b = tri[1], c = tri[2];
      m.tets.row(e++) << lo(a), lo(b), lo(c), up(c);
      m.tets.row(e++) << lo(a), lo(b), up(b), up(c);
      m.tets.row(e++) << lo(a), up(a), up(b), up(c);
    }
  fix_orientation(m);
  m.region = Tags::Ones(m.num_tets());
  SurfaceMesh& s = out.surface;
  s = boundary_surface(m);
  for (std::int64_t f = 0; f < s.num_triangles(); ++f) {
    bool endo = true, epi = true, base = true;
    for (int a = 0; a < 3; ++a) {
      const std::int64_t p = s.triangles(f, a);
      endo = endo && p / per_layer == 0;
      epi = epi && p / per_layer == nt;
      base = base && p % per_layer >= ring_first[nv];
    }
    s.tags[f] = base ? kBase : endo ? kLvEndo : epi ? kEpi : kUntagged;
  }
  return out;
}

nlohmann::json BiventricularOptions::to_json() const {
  return {{"lv", lv.to_json()},
          {"rv_short_radius_mm", rv_short_radius_mm},
          {"rv_depth_radius_mm", rv_depth_radius_mm},
          {"rv_long_radius_mm", rv_long_radius_mm},
          {"rv_centre_x_mm", rv_centre_x_mm},
          {"rv_wall_mm", rv_wall_mm},
          {"voxel_mm", voxel_mm}};
}

BiventricularOptions BiventricularOptions::from_json(const nlohmann::json& j) {
  BiventricularOptions o;
  JsonReader r(j, "biventricular");
  if (const auto* lv = r.raw("lv")) o.lv = EllipsoidLvOptions::from_json(*lv);
  r.get("rv_short_radius_mm", o.rv_short_radius_mm);
  r.get("rv_depth_radius_mm", o.rv_depth_radius_mm);
  r.get("rv_long_radius_mm", o.rv_long_radius_mm);
  r.get("rv_centre_x_mm", o.rv_centre_x_mm);
  r.get("rv_wall_mm", o.rv_wall_mm);
  r.get("voxel_mm", o.voxel_mm);
  r.finish();
  return o;
}

LabelMap biventricular_label_map(const BiventricularOptions& o) {
  check_lv(o.lv);
  check_positive(o.rv_short_radius_mm, "rv_short_radius_mm");
  check_positive(o.rv_depth_radius_mm, "rv_depth_radius_mm");
  check_positive(o.rv_long_radius_mm, "rv_long_radius_mm");
  check_positive(o.rv_wall_mm, "rv_wall_mm");
  check_positive(o.voxel_mm, "voxel_mm");
  const auto& lv = o.lv;
  const double margin = 2 * o.voxel_mm + 1;
  const Eigen::Vector3d lo(std::min(-lv.epi_short_radius_mm, o.rv_centre_x_mm - o.rv_short_radius_mm - o.rv_wall_mm) - margin,
                           -std::max(lv.epi_short_radius_mm, o.rv_depth_radius_mm + o.rv_wall_mm) - margin,
                           -std::max(lv.epi_long_radius_mm, o.rv_long_radius_mm + o.rv_wall_mm) - margin);
  const Eigen::Vector3d hi(std::max(lv.epi_short_radius_mm, o.rv_centre_x_mm + o.rv_short_radius_mm + o.rv_wall_mm) + margin,
                           -lo[1], lv.base_z_mm + margin);
  LabelMap::Shape shape;
  for (int a = 0; a < 3; ++a) shape[a] = static_cast<std::int64_t>(std::ceil((hi[a] - lo[a]) / o.voxel_mm)) + 1;
  CARDIOTWIN_CHECK(shape[0] * shape[1] * shape[2] < (std::int64_t(1) << 30), InvalidInput, "label map too large",
                   "a coarser voxel_mm", shape[0] << " x " << shape[1] << " x " << shape[2], Where({}, "voxel_mm"));
  LabelMap m(shape, Eigen::Vector3d::Constant(o.voxel_mm), lo, Eigen::Matrix3d::Identity(), 0);
  auto inside = [](double x, double y, double z, double a, double b, double c) {
    return (x * x) / (a * a) + (y * y) / (b * b) + (z * z) / (c * c) <= 1.0;
  };
  for (std::int64_t k = 0; k < shape[2]; ++k)
    for (std::int64_t j = 0; j < shape[1]; ++j)
      for (std::int64_t i = 0; i < shape[0]; ++i) {
        const Eigen::Vector3d x = m.index_to_world(Eigen::Vector3d(double(i), double(j), double(k)));
        if (x[2] > lv.base_z_mm) continue;
        const bool lv_endo = inside(x[0], x[1], x[2], lv.endo_short_radius_mm, lv.endo_short_radius_mm, lv.endo_long_radius_mm);
        const bool lv_epi = inside(x[0], x[1], x[2], lv.epi_short_radius_mm, lv.epi_short_radius_mm, lv.epi_long_radius_mm);
        const double rx = x[0] - o.rv_centre_x_mm;
        const bool rv_in = inside(rx, x[1], x[2], o.rv_short_radius_mm, o.rv_depth_radius_mm, o.rv_long_radius_mm);
        const bool rv_out = inside(rx, x[1], x[2], o.rv_short_radius_mm + o.rv_wall_mm, o.rv_depth_radius_mm + o.rv_wall_mm,
                                   o.rv_long_radius_mm + o.rv_wall_mm);
        std::uint8_t l = 0;
        if (lv_endo) l = kBivLvBlood;
        else if (lv_epi) l = kBivLvMyo;
        else if (rv_in) l = kBivRvBlood;
        else if (rv_out) l = kBivRvMyo;
        m(i, j, k) = l;
      }
  return m;
}

}  // namespace cardiotwin::mesh
