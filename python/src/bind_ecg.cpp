// Bindings of the ECG module: forward models (electrode weights), electrodes and body frames,
// 12 leads, ECG files, filters and features. Options travel as dicts validated by the C++
// parsers; results with many numbers (features, comparisons) come back as dicts.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/ecg/electrodes.hpp"
#include "cardiotwin/ecg/features.hpp"
#include "cardiotwin/ecg/forward.hpp"
#include "cardiotwin/ecg/lead_field.hpp"
#include "cardiotwin/ep/eikonal.hpp"
#include "cardiotwin/ecg/leads.hpp"
#include "cardiotwin/ecg/processing.hpp"
#include "cardiotwin/ecg/wfdb.hpp"
#if CARDIOTWIN_HAS_TETGEN
#include "cardiotwin/ecg/torso.hpp"
#endif

namespace cardiotwin::python {
namespace {

nlohmann::json to_json(const py::handle& obj) {
  return obj.is_none() ? nlohmann::json::object() : nlohmann::json::parse(python_to_json(obj));
}
py::object from_json(const nlohmann::json& j) { return json_to_python(j.dump()); }

}  // namespace

void bind_ecg(py::module_& m) {
  using namespace cardiotwin::ecg;

  py::class_<Electrodes>(m, "Electrodes", "Named electrode positions (mm, mesh coordinates).")
      .def(py::init([](std::vector<std::string> names, const Points& positions) {
             Electrodes e;
             e.names = std::move(names);
             e.positions = positions;
             validate_electrodes(e);
             return e;
           }),
           py::arg("names"), py::arg("positions"))
      .def_readwrite("names", &Electrodes::names)
      .def_property(
          "positions", [](Electrodes& e) -> Points& { return e.positions; },
          [](Electrodes& e, const Points& p) { e.positions = p; }, py::return_value_policy::reference_internal,
          "(N, 3) positions in mm (view).")
      .def("position", &Electrodes::position, py::arg("name"))
      .def("__len__", &Electrodes::size)
      .def("to_dict", [](const Electrodes& e) { return from_json(e.to_json()); })
      .def_static("from_dict", [](const py::object& d) { return Electrodes::from_json(to_json(d)); }, py::arg("d"))
      .def("__repr__", [](const Electrodes& e) {
        std::string s = "<cardiotwin.ecg.Electrodes";
        for (const auto& n : e.names) s += " " + n;
        return s + ">";
      });

  py::class_<BodyFrame>(m, "BodyFrame",
                        "The patient's left/anterior/superior directions in mesh coordinates, centred on the heart.")
      .def(py::init([](const Eigen::Vector3d& o, const Eigen::Vector3d& l, const Eigen::Vector3d& a) {
             return BodyFrame::from_axes(o, l, a);
           }),
           py::arg("origin") = Eigen::Vector3d::Zero().eval(), py::arg("left") = Eigen::Vector3d::UnitX().eval(),
           py::arg("anterior") = Eigen::Vector3d::UnitY().eval())
      .def_readonly("origin", &BodyFrame::origin)
      .def_readonly("left", &BodyFrame::left)
      .def_readonly("anterior", &BodyFrame::anterior)
      .def_property_readonly("superior", &BodyFrame::superior)
      .def("to_mesh", &BodyFrame::to_mesh, py::arg("body"))
      .def("to_body", &BodyFrame::to_body, py::arg("point"))
      .def_static("from_heart_axes", &BodyFrame::from_heart_axes, py::arg("centre"), py::arg("long_axis"),
                  py::arg("rv_direction"), py::arg("apex_body") = BodyFrame::default_apex_body(),
                  py::arg("rv_body") = BodyFrame::default_rv_body(),
                  "Frame from the heart's centre, long axis (base to apex) and LV-to-RV direction.")
      .def_static("from_principal_axes", &BodyFrame::from_principal_axes, py::arg("heart"),
                  py::call_guard<py::gil_scoped_release>(), "Frame estimated from the mesh's principal axes.")
      .def("to_dict", [](const BodyFrame& f) { return from_json(f.to_json()); })
      .def_static("from_dict", [](const py::object& d) { return BodyFrame::from_json(to_json(d)); }, py::arg("d"))
      .def("__repr__", [](const BodyFrame& f) { return "<cardiotwin.ecg.BodyFrame " + f.to_json().dump() + ">"; });

  m.def("standard_electrode_names", &standard_electrode_names);
  m.def("default_electrode_placement", [] { return from_json(ElectrodePlacementOptions().to_json()); },
        "Every electrode placement option with its default (mm, body frame).");
  m.def(
      "standard_electrodes",
      [](const BodyFrame& f, const py::object& placement) {
        return standard_electrodes(f, ElectrodePlacementOptions::from_json(to_json(placement)));
      },
      py::arg("frame"), py::arg("placement") = py::none(),
      "RA, LA, LL, RL, V1-V6 on an idealised chest around the heart (see default_electrode_placement()).");
  m.def("electrode_markers", &electrode_markers, py::arg("electrodes"), py::arg("radius_mm") = 4.0,
        "Octahedra marking the electrodes (face tag = index + 1).");
  m.def("write_electrodes", &write_electrodes, py::arg("vtp_path"), py::arg("electrodes"), py::arg("radius_mm") = 4.0,
        "Write the markers (.vtp) and the names (.json beside it).");

  py::class_<ElectrodeWeights>(m, "ElectrodeWeights",
                               "A linear map from nodal Vm (mV) to electrode (or lead) potentials (mV).")
      .def(py::init([](std::vector<std::string> names, const Field& w, const py::object& metadata) {
             CARDIOTWIN_CHECK(w.rows() == static_cast<Eigen::Index>(names.size()), InvalidInput,
                              "weights do not match the names", names.size() << " rows", w.rows(), Where({}, "weights"));
             ElectrodeWeights e;
             e.names = std::move(names);
             e.weights = w;
             if (!metadata.is_none()) e.metadata = to_json(metadata);
             return e;
           }),
           py::arg("names"), py::arg("weights"), py::arg("metadata") = py::none())
      .def_readonly("names", &ElectrodeWeights::names)
      .def_property_readonly(
          "weights", [](ElectrodeWeights& e) -> Field& { return e.weights; }, py::return_value_policy::reference_internal,
          "(E, N) weights (view).")
      .def_property_readonly("metadata", [](const ElectrodeWeights& e) { return from_json(e.metadata); })
      .def_property_readonly("num_nodes", &ElectrodeWeights::num_nodes)
      .def("potentials", &ElectrodeWeights::potentials, py::arg("vm"), "Potentials of one Vm frame.")
      .def("apply",
           py::overload_cast<const Eigen::Ref<const Eigen::VectorXd>&, const ep::EikonalModel&>(
               &ElectrodeWeights::apply, py::const_),
           py::arg("time_ms"), py::arg("model"), py::call_guard<py::gil_scoped_release>(),
           "Signals of an Eikonal / reaction-Eikonal model at time_ms, fused (no Vm frames array is formed).")
      .def("apply",
           py::overload_cast<const Eigen::Ref<const Eigen::VectorXd>&, const Eigen::Ref<const Field>&>(
               &ElectrodeWeights::apply, py::const_),
           py::arg("time_ms"), py::arg("vm_frames"), py::call_guard<py::gil_scoped_release>(),
           "Signals from (T, N) Vm frames.")
      .def("__repr__", [](const ElectrodeWeights& e) {
        return "<cardiotwin.ecg.ElectrodeWeights " + std::to_string(e.num_electrodes()) + " x " +
               std::to_string(e.num_nodes()) + " nodes>";
      });

  m.def("default_pseudo_ecg_options", [] { return from_json(PseudoEcgOptions().to_json()); });
  m.def(
      "pseudo_ecg_weights",
      [](const TetMesh& heart, const Electrodes& e, const py::object& options) {
        const PseudoEcgOptions o = PseudoEcgOptions::from_json(to_json(options));
        py::gil_scoped_release release;
        return pseudo_ecg_weights(heart, e, o);
      },
      py::arg("heart"), py::arg("electrodes"), py::arg("options") = py::none(),
      "Pseudo-ECG weights (infinite homogeneous conductor); options: see default_pseudo_ecg_options().");
  m.def("apply_to_pvd", &apply_to_pvd, py::arg("weights"), py::arg("pvd_path"), py::arg("vm_array") = "Vm",
        py::call_guard<py::gil_scoped_release>(), "Apply weights to a .pvd series of Vm snapshots.");

  py::class_<TorsoMesh>(m, "TorsoMesh",
                        "A torso tet mesh with the heart embedded (heart nodes and tets first) and its outer surface.")
      .def(py::init<>())
      .def_readwrite("mesh", &TorsoMesh::mesh)
      .def_readwrite("surface", &TorsoMesh::surface)
      .def_readwrite("num_heart_nodes", &TorsoMesh::num_heart_nodes)
      .def_readwrite("num_heart_tets", &TorsoMesh::num_heart_tets)
      .def("__repr__", [](const TorsoMesh& t) {
        return "<cardiotwin.ecg.TorsoMesh " + std::to_string(t.mesh.num_points()) + " nodes (" +
               std::to_string(t.num_heart_nodes) + " heart), " + std::to_string(t.mesh.num_tets()) + " tets>";
      });
  m.attr("torso_region") = kTorsoRegion;
  m.def("default_torso_options", [] { return from_json(TorsoOptions().to_json()); });
  m.def("default_lead_field_options", [] { return from_json(LeadFieldOptions().to_json()); });
  m.def(
      "ellipsoid_torso_surface",
      [](const BodyFrame& f, const py::object& o) { return ellipsoid_torso_surface(f, TorsoOptions::from_json(to_json(o))); },
      py::arg("frame"), py::arg("options") = py::none());
  m.def("heart_boundary", &heart_boundary, py::arg("heart"));
  m.def("torso_plc", &torso_plc, py::arg("heart"), py::arg("torso_surface"), py::arg("refine_points") = Points(),
        py::arg("refine_radius_mm") = 3.0);
  m.def("embed_heart", &embed_heart, py::arg("heart"), py::arg("plc"), py::arg("filled"),
        py::call_guard<py::gil_scoped_release>());
#if CARDIOTWIN_HAS_TETGEN
  m.def(
      "ellipsoidal_torso",
      [](const TetMesh& heart, const BodyFrame& f, const py::object& o, const Points& refine, double radius) {
        const TorsoOptions opt = TorsoOptions::from_json(to_json(o));
        py::gil_scoped_release release;
        return ellipsoidal_torso(heart, f, opt, refine, radius);
      },
      py::arg("heart"), py::arg("frame"), py::arg("options") = py::none(), py::arg("refine_points") = Points(),
      py::arg("refine_radius_mm") = 3.0, "The heart embedded in a procedural ellipsoidal torso (TetGen).");
#endif
  m.def(
      "lead_field_weights",
      [](const TetMesh& heart, const TorsoMesh& torso, const Electrodes& e, const py::object& o) {
        const LeadFieldOptions opt = LeadFieldOptions::from_json(to_json(o));
        py::gil_scoped_release release;
        return lead_field_weights(heart, torso, e, opt);
      },
      py::arg("heart"), py::arg("torso"), py::arg("electrodes"), py::arg("options") = py::none(),
      "Lead-field weights (one elliptic solve per electrode); options: see default_lead_field_options().");

  m.def("twelve_lead_names", &twelve_lead_names);
  m.def("twelve_leads", &twelve_leads, py::arg("electrode_potentials"),
        "I, II, III, aVR, aVL, aVF, V1-V6 from RA, LA, LL, V1-V6 potentials (Wilson central terminal).");
  m.def("twelve_lead_weights", &twelve_lead_weights, py::arg("electrode_weights"));
  m.def("twelve_lead_matrix", &twelve_lead_matrix, py::arg("electrode_names"));

  m.def("read_wfdb", &read_wfdb, py::arg("path"), py::arg("verify") = true);
  m.def(
      "write_wfdb",
      [](const std::string& path, const Signals& s, double gain, std::vector<std::string> comments) {
        WfdbWriteOptions o;
        o.gain = gain;
        o.comments = std::move(comments);
        write_wfdb(path, s, o);
      },
      py::arg("path"), py::arg("signals"), py::arg("gain") = 0.0, py::arg("comments") = std::vector<std::string>{});
  m.def("read_ecg_csv", &read_ecg_csv, py::arg("path"));
  m.def("write_ecg_csv", &write_ecg_csv, py::arg("path"), py::arg("signals"));
  m.def("read_ecg", &read_ecg, py::arg("path"), "Read .csv or WFDB (.hea/.dat/.mat or record name).");
  m.def("write_ecg", &write_ecg, py::arg("path"), py::arg("signals"), "Write .csv, or WFDB (.hea/.dat/no extension).");

  m.def("lowpass", &lowpass, py::arg("signals"), py::arg("cutoff_hz"), py::arg("order") = 4);
  m.def("highpass", &highpass, py::arg("signals"), py::arg("cutoff_hz"), py::arg("order") = 2);
  m.def("remove_baseline", &remove_baseline, py::arg("signals"), py::arg("cutoff_hz") = 0.5);
  m.def("resample", &resample, py::arg("signals"), py::arg("rate_hz"));
  m.def("interpolate", &interpolate, py::arg("signals"), py::arg("time_ms"));
  m.def("select_channels", &select_channels, py::arg("signals"), py::arg("names"));

  m.def("default_feature_options", [] { return from_json(FeatureOptions().to_json()); });
  m.def(
      "ecg_features",
      [](const Signals& s, const py::object& options) {
        const FeatureOptions o = FeatureOptions::from_json(to_json(options));
        EcgFeatures f;
        {
          py::gil_scoped_release release;
          f = ecg_features(s, o);
        }
        py::dict d = from_json(f.to_json());
        d["beat"] = py::cast(std::move(f.beat));
        return d;
      },
      py::arg("signals"), py::arg("options") = py::none(),
      "Features as a dict (NaN as None); 'beat' is the delineated (median) beat as Signals.");
  m.def(
      "compare_ecgs",
      [](const Signals& a, const Signals& b, double max_shift_ms, double step_ms) {
        return from_json(compare_ecgs(a, b, max_shift_ms, step_ms).to_json());
      },
      py::arg("reference"), py::arg("other"), py::arg("max_shift_ms") = 100.0, py::arg("step_ms") = 1.0);
}

}  // namespace cardiotwin::python
