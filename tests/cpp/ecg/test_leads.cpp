#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/ecg/electrodes.hpp"
#include "cardiotwin/ecg/forward.hpp"
#include "cardiotwin/ecg/leads.hpp"
#include "cardiotwin/io/vtk.hpp"
#include "cardiotwin/mesh/procedural.hpp"
#include "../test_util.hpp"
#include "ecg_test_util.hpp"

using namespace cardiotwin;
using namespace cardiotwin::ecg;

TEST_CASE("12 leads: Einthoven's law and aVR + aVL + aVF = 0 to rounding", "[ecg][leads]") {
  Signals p;
  p.names = standard_electrode_names();
  p.time_ms = Eigen::VectorXd::LinSpaced(200, 0, 199);
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(-5, 5);
  p.values.resize(200, 10);
  for (Eigen::Index i = 0; i < p.values.size(); ++i) p.values.data()[i] = u(rng);
  const Signals s = twelve_leads(p);
  REQUIRE(s.names == twelve_lead_names());
  const auto I = s.channel("I"), II = s.channel("II"), III = s.channel("III");
  const double scale = p.values.cwiseAbs().maxCoeff();
  CHECK((II - I - III).cwiseAbs().maxCoeff() <= 4 * std::numeric_limits<double>::epsilon() * scale);
  CHECK((s.channel("aVR") + s.channel("aVL") + s.channel("aVF")).cwiseAbs().maxCoeff() <=
        8 * std::numeric_limits<double>::epsilon() * scale);
  // Definitions.
  const auto ra = p.channel("RA"), la = p.channel("LA"), ll = p.channel("LL");
  const Eigen::VectorXd wct = (ra + la + ll) / 3;
  CHECK((s.channel("aVL") - 1.5 * (la - wct)).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((s.channel("V3") - (p.channel("V3") - wct)).cwiseAbs().maxCoeff() < 1e-12);
  // RL enters no lead.
  Signals q = p;
  q.values.col(q.channel_index("RL")).setConstant(100);
  CHECK((twelve_leads(q).values - s.values).cwiseAbs().maxCoeff() == 0);
  // Missing electrodes are named.
  q.names[q.channel_index("V4")] = "X";
  CHECK_THROWS_WITH(twelve_leads(q), Catch::Contains("no V4"));
  CHECK(find_lead(s, "avr") == 3);
  CHECK(find_lead(s, "V7") == -1);
}

TEST_CASE("standard electrodes in a heart-centred frame", "[ecg][electrodes]") {
  // Heart with its long axis along -z (apex down) and the RV along +x, as the procedural LV.
  const BodyFrame f = BodyFrame::from_heart_axes(Eigen::Vector3d(1, 2, 3), Eigen::Vector3d(0, 0, -1),
                                                 Eigen::Vector3d(1, 0, 0));
  CHECK(f.left.norm() == Approx(1));
  CHECK(std::abs(f.left.dot(f.anterior)) < 1e-12);
  // The apex points left, anterior, inferior in body coordinates.
  const Eigen::Vector3d apex_body = f.to_body(f.origin + Eigen::Vector3d(0, 0, -1));
  CHECK((apex_body - BodyFrame::default_apex_body().normalized()).norm() < 1e-12);
  const Eigen::Vector3d p(4, -5, 6);
  CHECK((f.to_mesh(f.to_body(p)) - p).norm() < 1e-12);

  const Electrodes e = standard_electrodes(f);
  REQUIRE(e.names == standard_electrode_names());
  // In body coordinates: V1 right of V2, ... V6 farthest left; arms above, legs below.
  Points b(e.size(), 3);
  for (std::int64_t i = 0; i < e.size(); ++i) b.row(i) = f.to_body(e.positions.row(i).transpose()).transpose();
  for (int i = 5; i < 10; ++i) CHECK(b(i, 0) > b(i - 1, 0));
  CHECK(b(e.index("RA"), 2) > 100);
  CHECK(b(e.index("LL"), 2) < -200);
  CHECK(b(e.index("RA"), 0) < 0);
  CHECK(b(e.index("LA"), 0) > 0);
  // Scaling the placement scales the distances from the heart centre.
  ElectrodePlacementOptions o;
  o.scale = 1.15;
  const Electrodes e2 = standard_electrodes(f, o);
  CHECK((e2.position("V4") - f.origin).norm() == Approx(1.15 * (e.position("V4") - f.origin).norm()));
  CHECK(ElectrodePlacementOptions::from_json(o.to_json()).scale == 1.15);
  CHECK_THROWS_WITH(ElectrodePlacementOptions::from_json({{"scal", 1}}), Catch::Contains("unknown option"));
  CHECK_THROWS_WITH(BodyFrame::from_axes(Eigen::Vector3d::Zero(), Eigen::Vector3d(1, 0, 0), Eigen::Vector3d(2, 0, 0)),
                    Catch::Contains("not parallel"));
  // JSON round trips.
  const Electrodes back = Electrodes::from_json(e.to_json());
  CHECK((back.positions - e.positions).norm() == 0);
  CHECK((BodyFrame::from_json(f.to_json()).left - f.left).norm() < 1e-15);
}

TEST_CASE("body frame from the principal axes of a tapered heart", "[ecg][electrodes]") {
  const TetMesh lv = test::tapered_heart(5.0);
  const BodyFrame f = BodyFrame::from_principal_axes(lv);
  // Apex at -z: the body-frame apex direction maps to -z in mesh coordinates.
  const Eigen::Vector3d a = BodyFrame::default_apex_body().normalized();
  const Eigen::Vector3d apex_mesh = a[0] * f.left + a[1] * f.anterior + a[2] * f.superior();
  CHECK(apex_mesh.z() < -0.99);
  // Every standard electrode lies outside this small heart, and the weights work.
  const Electrodes e = standard_electrodes(f);
  const ElectrodeWeights w = pseudo_ecg_weights(lv, e);
  CHECK(w.weights.rows() == 10);
  CHECK(w.weights.allFinite());
}

TEST_CASE("electrode markers are written for visual checking", "[ecg][electrodes]") {
  const Electrodes e = standard_electrodes(BodyFrame{});
  test::TempDir dir;
  write_electrodes(dir.file("electrodes.vtp"), e, 3.0);
  const SurfaceMesh s = io::read_vtp(dir.file("electrodes.vtp"));
  CHECK(s.num_triangles() == 8 * e.size());
  CHECK(s.tags.maxCoeff() == e.size());
  CHECK(test::exists(dir.file("electrodes.json")));
  // The marker's centre is the electrode.
  const Eigen::RowVector3d c = s.points.block(6 * 4, 0, 6, 3).colwise().mean();
  CHECK((c - e.positions.row(4)).norm() < 1e-9);
}

TEST_CASE("12-lead weights give the same ECG as leads of the electrode potentials", "[ecg][leads]") {
  const TetMesh lv = test::tapered_heart(5.0);
  const ElectrodeWeights ew = pseudo_ecg_weights(
      lv, standard_electrodes(BodyFrame::from_heart_axes(Eigen::Vector3d(0, 0, 0), Eigen::Vector3d(0, 0, -1),
                                                         Eigen::Vector3d(1, 0, 0))));
  const ElectrodeWeights lw = twelve_lead_weights(ew);
  // A plane wave front along the long axis.
  const Eigen::VectorXd t = Eigen::VectorXd::LinSpaced(20, 0, 38);
  Field frames(t.size(), lv.num_points());
  for (Eigen::Index k = 0; k < t.size(); ++k)
    for (Eigen::Index i = 0; i < lv.num_points(); ++i)
      frames(k, i) = -85 + 105 / (1 + std::exp((lv.points(i, 2) + 30 - 1.5 * t[k]) / 1.0));
  const Signals a = twelve_leads(ew.apply(t, frames));
  const Signals b = lw.apply(t, frames);
  CHECK((a.values - b.values).cwiseAbs().maxCoeff() < 1e-9 * a.values.cwiseAbs().maxCoeff());
  CHECK(a.values.cwiseAbs().maxCoeff() > 0);
}
