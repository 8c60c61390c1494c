#include <catch2/catch.hpp>
#include <cmath>

#include "cardiotwin/config.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/ecg/electrodes.hpp"
#include "cardiotwin/ecg/forward.hpp"
#include "cardiotwin/ecg/lead_field.hpp"
#include "cardiotwin/ecg/leads.hpp"
#include "ecg_test_util.hpp"
#if CARDIOTWIN_HAS_MESH_TETGEN
#include "cardiotwin/ecg/torso.hpp"
#endif

using namespace cardiotwin;
using namespace cardiotwin::ecg;

namespace {

constexpr double kPi = 3.14159265358979323846;

BodyFrame standard_frame() {
  return BodyFrame::from_heart_axes(Eigen::Vector3d::Zero(), Eigen::Vector3d(0, 0, -1), Eigen::Vector3d(1, 0, 0));
}

// A front travelling from the apex (z = -30) to the base, sampled every 2 ms.
Field apex_to_base_frames(const TetMesh& heart, int frames) {
  Field f(frames, heart.num_points());
  for (int k = 0; k < frames; ++k)
    for (Eigen::Index i = 0; i < heart.num_points(); ++i)
      f(k, i) = -85 + 105 / (1 + std::exp((heart.points(i, 2) + 30 - 3.0 * k) / 1.0));
  return f;
}

}  // namespace

TEST_CASE("torso geometry: ellipsoid surface, heart boundary, containment", "[ecg][lead_field]") {
  TorsoOptions o;
  o.surface_size_mm = 40;
  const SurfaceMesh s = ellipsoid_torso_surface(standard_frame(), o);
  const MeshCheck c = check_mesh(s);
  CHECK(c.ok());
  // Closed and outward: the divergence theorem gives the enclosed volume, close to 4/3 pi abc.
  double vol = 0;
  for (std::int64_t f = 0; f < s.num_triangles(); ++f)
    vol += s.points.row(s.triangles(f, 0)).dot(s.points.row(s.triangles(f, 1)).cross(s.points.row(s.triangles(f, 2)))) / 6;
  const double exact = 4.0 / 3.0 * kPi * o.half_width_mm * o.half_depth_mm * o.half_height_mm;
  CHECK(vol == Approx(exact).epsilon(0.03));
  CHECK(vol < exact);  // inscribed polyhedron

  const TetMesh heart = test::tapered_heart(10.0);
  const SurfaceMesh hb = heart_boundary(heart);
  CHECK(hb.num_triangles() == 2 * (2 * (4 * 4 + 4 * 6 + 4 * 6)));  // two triangles per boundary square
  double hv = 0;
  for (std::int64_t f = 0; f < hb.num_triangles(); ++f)
    hv += hb.points.row(hb.triangles(f, 0)).dot(hb.points.row(hb.triangles(f, 1)).cross(hb.points.row(hb.triangles(f, 2)))) / 6;
  CHECK(hv == Approx(tet_volumes(heart).sum()).epsilon(1e-12));

  const SurfaceMesh plc = torso_plc(heart, s);
  CHECK(plc.num_points() == s.num_points() + 5 * 5 * 7 - 3 * 3 * 5);  // the heart's boundary nodes
  CHECK((plc.tags.array() == 2).count() == hb.num_triangles());
  // A torso too small for the heart.
  TorsoOptions small = o;
  small.scale = 0.1;
  CHECK_THROWS_WITH(torso_plc(heart, ellipsoid_torso_surface(standard_frame(), small)),
                    Catch::Contains("the torso does not contain the heart"));
  CHECK_THROWS_WITH(TorsoOptions::from_json({{"half_widht_mm", 1}}), Catch::Contains("unknown option"));
  CHECK(LeadFieldOptions::from_json(LeadFieldOptions{}.to_json()).to_json() == LeadFieldOptions{}.to_json());
}

#if CARDIOTWIN_HAS_MESH_TETGEN
TEST_CASE("lead field in a large homogeneous torso agrees with the pseudo-ECG", "[ecg][lead_field]") {
  // Heart and torso of one conductivity, electrodes inside a 1 m sphere (refined around them):
  // the lead field solves the same problem as the pseudo-ECG, up to the P1 discretisation of the
  // lead fields Z_e (it shrinks as TetGen's quality bound tightens) and the torso's boundary
  // (the image of a source at distance r inside an insulated sphere of radius R adds ~2 (r/R)^3).
  const TetMesh heart = test::tapered_heart(5.0);
  const BodyFrame frame = standard_frame();
  const Electrodes el = standard_electrodes(frame);
  TorsoOptions to;
  to.half_width_mm = to.half_depth_mm = to.half_height_mm = 1000;
  to.centre_left_mm = to.centre_anterior_mm = to.centre_superior_mm = 0;
  to.surface_size_mm = 200;
  to.max_radius_edge_ratio = 1.2;
  const TorsoMesh torso = ellipsoidal_torso(heart, frame, to, el.positions, 3.0);
  CHECK(torso.num_heart_nodes == heart.num_points());
  CHECK(torso.mesh.num_tets() > torso.num_heart_tets);
  CHECK(check_mesh(torso.mesh).ok());
  // Torso volume = sphere (inscribed polyhedron) with the heart inside.
  const double total = tet_volumes(torso.mesh).sum();
  CHECK(total == Approx(4.0 / 3.0 * kPi * 1e9).epsilon(0.05));

  LeadFieldOptions lo;
  lo.sigma_heart.setConstant(0.2);
  lo.sigma_torso = 0.2;
  lo.project_to_surface = false;
  const ElectrodeWeights lf = lead_field_weights(heart, torso, el, lo);
  CHECK(lf.weights.row(el.index("RL")).cwiseAbs().maxCoeff() == 0);
  PseudoEcgOptions po;
  po.sigma_bath = 0.2;
  const ElectrodeWeights ps = pseudo_ecg_weights(heart, el, po);
  const Field frames = apex_to_base_frames(heart, 25);
  const Eigen::VectorXd t = Eigen::VectorXd::LinSpaced(25, 0, 48);
  const Signals a = twelve_leads(lf.apply(t, frames)), b = twelve_leads(ps.apply(t, frames));
  const double peak = b.values.cwiseAbs().maxCoeff();
  const double err = (a.values - b.values).cwiseAbs().maxCoeff();
  INFO("12-lead max difference " << err << " mV of a " << peak << " mV peak");
  CHECK(err < 0.03 * peak);
  CHECK((a.channel("II") - a.channel("I") - a.channel("III")).cwiseAbs().maxCoeff() < 1e-12 * peak);
}

TEST_CASE("lead field on the default torso: projected electrodes, heterogeneity, errors", "[ecg][lead_field]") {
  const TetMesh heart = test::tapered_heart(8.0);
  const BodyFrame frame = standard_frame();
  const Electrodes el = standard_electrodes(frame);
  TorsoOptions to;
  to.surface_size_mm = 40;
  const TorsoMesh torso = ellipsoidal_torso(heart, frame, to);
  const ElectrodeWeights lf = lead_field_weights(heart, torso, el);  // anisotropic heart, fibres along x
  // Electrodes moved onto the torso surface: on the ellipsoid (up to the polyhedral approximation).
  const Electrodes used = Electrodes::from_json(lf.metadata.at("electrodes"));
  for (std::int64_t k = 0; k < used.size(); ++k) {
    const Eigen::Vector3d b = frame.to_body(used.positions.row(k).transpose());
    const double u = (b[0] - to.centre_left_mm) / to.half_width_mm, v = (b[1] - to.centre_anterior_mm) / to.half_depth_mm,
                 w = (b[2] - to.centre_superior_mm) / to.half_height_mm;
    CHECK(std::sqrt(u * u + v * v + w * w) == Approx(1.0).margin(0.02));
  }
  CHECK(lf.weights.allFinite());
  const Field frames = apex_to_base_frames(heart, 25);
  const Signals leads = twelve_leads(lf.apply(Eigen::VectorXd::LinSpaced(25, 0, 48), frames));
  // Apex-to-base activation: the heart vector points up and to the right: II negative.
  CHECK(leads.channel("II").minCoeff() < -0.1 * leads.values.cwiseAbs().maxCoeff());
  CHECK(leads.channel("II").maxCoeff() < 0.1 * leads.values.cwiseAbs().maxCoeff());

  LeadFieldOptions bad;
  bad.reference = "X";
  CHECK_THROWS_WITH(lead_field_weights(heart, torso, el, bad), Catch::Contains("unknown electrode"));
  Electrodes far = used;  // on the surface: inside with tolerance
  far.positions.row(4) << 0, 5000, 0;
  LeadFieldOptions inside;
  inside.project_to_surface = false;
  CHECK_THROWS_WITH(lead_field_weights(heart, torso, far, inside), Catch::Contains("outside the torso") && Catch::Contains("'V1'"));
  Electrodes in_heart = used;
  in_heart.positions.row(5) << 1, 1, 1;
  CHECK_THROWS_WITH(lead_field_weights(heart, torso, in_heart, inside), Catch::Contains("inside the heart") && Catch::Contains("'V2'"));
  const TetMesh other = test::tapered_heart(10.0);
  CHECK_THROWS_WITH(lead_field_weights(other, torso, el), Catch::Contains("not built around this heart"));
}
#endif
