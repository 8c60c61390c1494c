// A small cardiac digital twin from C++ alone: a procedural LV (truncated ellipsoids), ventricular
// coordinates and rule-based fibres, reaction-Eikonal activation from the default root sites with
// a fast sub-endocardial layer, and the 12-lead pseudo-ECG with its features.
//
// Usage: twin OUTDIR [SIZE_MM]    writes OUTDIR/heart.vtu (fields, activation) and OUTDIR/ecg.csv,
// and prints a JSON summary on stdout.
#include <cardiotwin/anatomy.hpp>
#include <cardiotwin/ecg.hpp>
#include <cardiotwin/ep.hpp>
#include <cardiotwin/io.hpp>
#include <cardiotwin/mesh.hpp>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace ct = cardiotwin;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: twin OUTDIR [SIZE_MM]\n";
    return 2;
  }
  const std::filesystem::path out = argv[1];
  const double size_mm = argc > 2 ? std::atof(argv[2]) : 2.0;
  try {
    std::filesystem::create_directories(out);
    const auto t0 = std::chrono::steady_clock::now();

    // 1. Anatomy: an adult-sized LV of truncated ellipsoids (cavity 44 mm across, wall 10 mm),
    //    tagged endocardium, epicardium and base.
    ct::mesh::EllipsoidLvOptions lv;
    lv.endo_short_radius_mm = 22;
    lv.endo_long_radius_mm = 55;
    lv.epi_short_radius_mm = 32;
    lv.epi_long_radius_mm = 65;
    lv.base_z_mm = 15;
    lv.size_mm = size_mm;
    ct::mesh::TaggedMesh tagged = ct::mesh::ellipsoidal_lv(lv);
    ct::TetMesh& heart = tagged.mesh;

    // 2. Coordinates and fibres (+60 deg endocardium to -60 deg epicardium).
    const ct::anatomy::VentricularCoordinates coords = ct::anatomy::ventricular_coordinates(heart, tagged.surface);
    coords.add_to(heart);
    ct::anatomy::assign_fibres(heart, coords);

    // 3. Activation: a fast sub-endocardial layer (inner 15 % of the wall, region 90) stands in for
    //    the Purkinje system; roots at the LV septal, anterior and posterior sites.
    constexpr int kFastLayer = 90;
    if (heart.region.size() == 0) heart.region = ct::Tags::Ones(heart.num_tets());
    for (std::int64_t e = 0; e < heart.num_tets(); ++e) {
      double tr = 0;
      for (int k = 0; k < 4; ++k) tr += coords.transmural[heart.tets(e, k)] / 4;
      if (tr < 0.15) heart.region[e] = kFastLayer;
    }
    ct::ep::EikonalModelOptions options;
    options.reaction = true;
    options.eikonal.velocity = {0.6, 0.4, 0.2};
    options.eikonal.region_velocity[kFastLayer] = {2.0, 2.0, 2.0};
    options.eikonal.roots = ct::ep::default_ventricular_roots(heart);
    options.ap_template.apd_ms = 280;
    options.t_end_ms = 450;
    ct::ep::EikonalModel model(heart, options);
    const ct::ep::EPResult result = model.result();
    heart.point_data["activation_ms"] = result.activation_ms;
    heart.point_data["repolarisation_ms"] = result.repolarisation_ms;

    // 4. ECG: electrodes placed from the heart's principal axes, pseudo-ECG weights, 12 leads.
    const ct::ecg::BodyFrame frame = ct::ecg::BodyFrame::from_principal_axes(heart);
    const ct::ecg::Electrodes electrodes = ct::ecg::standard_electrodes(frame);
    const ct::ecg::ElectrodeWeights leads =
        ct::ecg::twelve_lead_weights(ct::ecg::pseudo_ecg_weights(heart, electrodes));
    const Eigen::Index frames = 451;
    const Eigen::VectorXd times = Eigen::VectorXd::LinSpaced(frames, 0.0, 450.0);
    ct::Field vm(frames, heart.num_points());
    Eigen::VectorXd v;
    for (Eigen::Index k = 0; k < frames; ++k) {
      model.vm_at(times[k], v);
      vm.row(k) = v.transpose();
    }
    const ct::Signals ecg = leads.apply(times, vm);
    ct::ecg::FeatureOptions fo;
    fo.filter = false;  // a simulated single beat: no baseline filtering
    fo.rr_ms = 1000;
    const ct::ecg::EcgFeatures features = ct::ecg::ecg_features(ecg, fo);

    ct::io::write_vtu((out / "heart.vtu").string(), heart);
    ct::ecg::write_ecg((out / "ecg.csv").string(), ecg);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    double total_activation = 0;
    for (Eigen::Index i = 0; i < result.activation_ms.size(); ++i)
      if (std::isfinite(result.activation_ms[i])) total_activation = std::max(total_activation, result.activation_ms[i]);
    nlohmann::json summary = {{"nodes", heart.num_points()},
                              {"tets", heart.num_tets()},
                              {"total_activation_ms", total_activation},
                              {"qrs_duration_ms", features.qrs_duration_ms},
                              {"qt_ms", features.qt_ms},
                              {"seconds", seconds},
                              {"outputs", {(out / "heart.vtu").string(), (out / "ecg.csv").string()}}};
    std::cout << summary.dump(1) << "\n";
    if (!(features.qrs_duration_ms > 40 && features.qrs_duration_ms < 150)) {  // a normal-sized LV
      std::cerr << "twin: implausible QRS duration " << features.qrs_duration_ms << " ms\n";
      return 1;
    }
    return 0;
  } catch (const ct::Error& e) {
    std::cerr << "twin: " << e.what() << "\n";
    return 1;
  }
}
