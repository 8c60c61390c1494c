// Bindings of the electrophysiology module. Options travel as Python dicts (JSON), validated by
// the C++ parser so that Python and the CLI share one schema. Long runs release the GIL and call
// the Python progress callback with it held.
#include <pybind11/eigen.h>
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <optional>

#include "bindings.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/core/json.hpp"
#include "cardiotwin/ep/eikonal.hpp"
#include "cardiotwin/ep/fem.hpp"
#include "cardiotwin/ep/ionic_model.hpp"
#include "cardiotwin/ep/monodomain.hpp"
#include "cardiotwin/ep/single_cell.hpp"

namespace cardiotwin::python {
namespace {

nlohmann::json to_json(const py::handle& obj) {
  return obj.is_none() ? nlohmann::json::object() : nlohmann::json::parse(python_to_json(obj));
}
py::object from_json(const nlohmann::json& j) { return json_to_python(j.dump()); }

// Runs `fn` without the GIL; `progress` (a Python callable or None) is called with the GIL.
// A Python exception in the callback (including KeyboardInterrupt) stops the run and is re-raised.
void run_with_progress(ep::EPSolver& solver, double t_end, const py::object& progress) {
  std::optional<py::error_already_set> error;
  ep::ProgressCallback cb;
  if (!progress.is_none()) {
    cb = [&](double t, double t_end_ms) {
      py::gil_scoped_acquire gil;
      try {
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        const py::object r = progress(t, t_end_ms);
        return r.is_none() || r.cast<bool>();
      } catch (py::error_already_set& e) {
        error.emplace(std::move(e));
        return false;
      }
    };
  } else {
    cb = [](double, double) {
      py::gil_scoped_acquire gil;
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
      return true;
    };
  }
  {
    py::gil_scoped_release release;
    solver.run(t_end, cb);
  }
  if (error) throw std::move(*error);
}


ep::EikonalModelOptions eikonal_model_options(const py::object& config) {
  nlohmann::json j = to_json(config);
  std::string model = "reaction-eikonal";
  if (j.contains("model")) {
    CARDIOTWIN_CHECK(j["model"].is_string(), InvalidInput, "bad model", "a string", j["model"].dump(),
                     Where({}, "config.model"));
    model = j["model"].get<std::string>();
    j.erase("model");
  }
  check_choice(model, {"eikonal", "reaction-eikonal"}, "config.model");
  return ep::EikonalModelOptions::from_json(j, model == "reaction-eikonal");
}

py::dict solution_dict(const ep::EikonalSolution& s) {
  py::dict d = from_json(s.to_json());
  d["activation_ms"] = py::cast(s.activation_ms);
  return d;
}

py::list roots_list(const std::vector<ep::EikonalRoot>& roots) {
  py::list l;
  for (const auto& r : roots) l.append(from_json(r.to_json()));
  return l;
}

void bind_eikonal(py::module_& m) {
  m.def(
      "default_eikonal_options",
      [](bool reaction) {
        ep::EikonalModelOptions o;
        o.reaction = reaction;
        return from_json(o.to_json());
      },
      py::arg("reaction") = true,
      "Every option of the (reaction-)Eikonal model with its default (roots are empty: at least one is needed).");
  m.def(
      "solve_eikonal",
      [](const TetMesh& mesh, const py::object& options) {
        const ep::EikonalOptions o = ep::EikonalOptions::from_json(to_json(options));
        ep::EikonalSolution s;
        {
          py::gil_scoped_release release;
          s = ep::solve_eikonal(mesh, o);
        }
        return solution_dict(s);
      },
      py::arg("mesh"), py::arg("options"),
      "Anisotropic Eikonal activation times. `options`: {'velocity': {'fibre', 'sheet', 'normal'} (mm/ms), "
      "'region_velocity': {tag: {...}}, 'roots': [{'node' | 'nodes' | 'point' | 'shape': ..., 'time_ms'}], "
      "'threads', 'tolerance_ms', 'root_snap_tolerance_mm'}. Returns a dict with 'activation_ms' (inf where "
      "unreached), 'unreached', 'root_nodes', 'iterations', 'local_solves', 'seconds', 'setup_seconds', 'threads'.");
  m.def(
      "ap_template",
      [](const py::object& options, double activation_mv, double repolarisation_mv) {
        const ep::ApTemplateOptions o = ep::ApTemplateOptions::from_json(to_json(options));
        ep::ApTemplate t;
        {
          py::gil_scoped_release release;
          t = ep::make_ap_template(o, activation_mv, repolarisation_mv);
        }
        py::dict d;
        const auto n = static_cast<Eigen::Index>(t.vm_mv.size());
        d["time_ms"] = py::cast(Eigen::VectorXd(
            Eigen::VectorXd::LinSpaced(n, t.t0_ms, t.t0_ms + t.dt_ms * static_cast<double>(n - 1))));
        d["vm_mv"] = py::cast(Eigen::VectorXd(Eigen::Map<const Eigen::VectorXd>(t.vm_mv.data(), n)));
        d["apd_ms"] = t.apd_ms;
        d["upstroke_end_ms"] = t.upstroke_end_ms;
        return d;
      },
      py::arg("options") = py::none(), py::arg("activation_mv") = 0.0, py::arg("repolarisation_mv") = -70.0,
      "The reaction-Eikonal action potential template (time 0 = activation): {'time_ms', 'vm_mv', 'apd_ms', "
      "'upstroke_end_ms'}.");
  m.def(
      "default_ventricular_roots",
      [](const TetMesh& mesh, const py::object& options, std::optional<Eigen::VectorXd> transmural,
         std::optional<Eigen::VectorXd> apicobasal, std::optional<Eigen::VectorXd> rotational,
         std::optional<Eigen::VectorXd> lv_rv) {
        const auto o = ep::VentricularRootOptions::from_json(to_json(options));
        if (transmural || apicobasal || rotational || lv_rv) {
          CARDIOTWIN_CHECK(transmural && apicobasal && rotational && lv_rv, InvalidInput, "incomplete coordinates",
                           "all of transmural, apicobasal, rotational, lv_rv (or none: read from point data)",
                           "some missing", Where({}, "default_ventricular_roots"));
          return roots_list(ep::default_ventricular_roots(mesh, *transmural, *apicobasal, *rotational, *lv_rv, o));
        }
        return roots_list(ep::default_ventricular_roots(mesh, o));
      },
      py::arg("mesh"), py::arg("options") = py::none(), py::kw_only(), py::arg("transmural") = py::none(),
      py::arg("apicobasal") = py::none(), py::arg("rotational") = py::none(), py::arg("lv_rv") = py::none(),
      "Root nodes for normal ventricular activation (LV septal, anterior, posterior; RV septal and free wall "
      "delayed) from ventricular coordinates (given, or the mesh's point data); a list of root dicts.");

  py::class_<ep::EikonalModel>(m, "EikonalModel",
                               "Eikonal or reaction-Eikonal tissue model; `config` is a dict with 'model' "
                               "('eikonal' or 'reaction-eikonal', the default) and the options of "
                               "default_eikonal_options(). Activation times are solved on construction.")
      .def(py::init([](const TetMesh& mesh, const py::object& config) {
             ep::EikonalModelOptions o = eikonal_model_options(config);
             py::gil_scoped_release release;
             return std::make_unique<ep::EikonalModel>(mesh, std::move(o));
           }),
           py::arg("mesh"), py::arg("config"))
      .def(
          "run",
          [](ep::EikonalModel& s, std::optional<double> t_end, const py::object& progress) {
            run_with_progress(s, t_end.value_or(s.options().t_end_ms), progress);
          },
          py::arg("t_end_ms") = py::none(), py::arg("progress") = py::none(),
          "Advance the clock to t_end_ms, writing probes and snapshots; progress as for Monodomain.run.")
      .def_property_readonly("time_ms", &ep::EikonalModel::time_ms)
      .def_property_readonly(
          "vm", [](const ep::EikonalModel& s) -> const Eigen::VectorXd& { return s.vm(); },
          py::return_value_policy::reference_internal, "Vm per node at the current time (mV).")
      .def(
          "vm_at", [](const ep::EikonalModel& s, double t) { return s.vm_at(t); }, py::arg("t_ms"),
          py::call_guard<py::gil_scoped_release>(), "Vm per node at time t_ms (does not move the clock).")
      .def(
          "vm_series",
          [](const ep::EikonalModel& s, const Eigen::VectorXd& times) {
            Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> out(times.size(),
                                                                                         s.solution().activation_ms.size());
            {
              py::gil_scoped_release release;
              Eigen::VectorXd v;
              for (Eigen::Index k = 0; k < times.size(); ++k) {
                s.vm_at(times[k], v);
                out.row(k) = v.transpose();
              }
            }
            return out;
          },
          py::arg("times_ms"), "Vm at each of `times_ms`: #times by #nodes (mV).")
      .def("result", &ep::EikonalModel::result)
      .def_property_readonly("apd_ms", &ep::EikonalModel::apd_ms, "Per-node APD used (ms).")
      .def_property_readonly("solution", [](const ep::EikonalModel& s) { return solution_dict(s.solution()); })
      .def_property_readonly("options", [](const ep::EikonalModel& s) { return from_json(s.options().to_json()); })
      .def("__repr__", [](const ep::EikonalModel& s) {
        return std::string("<cardiotwin.ep.EikonalModel ") + (s.options().reaction ? "reaction-eikonal" : "eikonal") +
               ", " + std::to_string(s.solution().activation_ms.size()) + " nodes, t = " + std::to_string(s.time_ms()) +
               " ms>";
      });
}

}  // namespace

void bind_ep(py::module_& m) {
  m.def("ionic_model_names", &ep::ionic_model_names, "Names of the registered ionic models.");
  m.def(
      "ionic_model_info",
      [](const std::string& name) {
        const auto& i = ep::ionic_model_info(name);
        py::dict d;
        d["name"] = i.name;
        d["description"] = i.description;
        d["cell_types"] = i.cell_types;
        d["state_names"] = i.state_names;
        d["parameter_names"] = i.parameter_names;
        return d;
      },
      py::arg("name"), "Description, cell types, states and parameters of an ionic model.");
  m.def("default_monodomain_options", [] { return from_json(ep::MonodomainOptions().to_json()); },
        "Every monodomain option with its default value.");
  m.def("validate_monodomain_options",
        [](const py::object& o) { return from_json(ep::MonodomainOptions::from_json(to_json(o)).to_json()); },
        py::arg("options"), "Validate options (raises InvalidInput); returns them with defaults filled in.");
  m.def("default_pacing_protocol", [] { return from_json(ep::PacingProtocol().to_json()); },
        "Every single-cell pacing protocol option with its default value.");
  m.def(
      "simulate_single_cell",
      [](const std::string& model_name, const py::object& protocol, const py::object& ionic_options) {
        const ep::PacingProtocol p = ep::PacingProtocol::from_json(to_json(protocol));
        const std::unique_ptr<ep::IonicModel> model = ep::make_ionic_model(model_name, to_json(ionic_options));
        ep::SingleCellResult r;
        {
          py::gil_scoped_release release;
          r = ep::simulate_single_cell(*model, p);
        }
        py::dict d;
        d["trace"] = py::cast(std::move(r.trace));
        d["beats"] = from_json(r.measures_to_json());
        d["final_vm_mv"] = r.final_vm_mv;
        d["final_state"] = py::array_t<double>(static_cast<py::ssize_t>(r.final_state.size()), r.final_state.data());
        return d;
      },
      py::arg("model_name"), py::arg("protocol") = py::none(), py::arg("ionic_options") = py::none(),
      "Pace one cell of ionic model `model_name` with `protocol` (a dict, see default_pacing_protocol()); "
      "`ionic_options` are model parameters. Returns {'trace': Signals (Vm in mV, ms), 'beats': [per-beat "
      "measures], 'final_vm_mv': float, 'final_state': array}.");
  m.def("num_threads", &ep::num_threads, "Threads used by parallel loops.");
  m.def("set_num_threads", &ep::set_num_threads, py::arg("n"), "Set the thread count (0 = all cores).");

  py::class_<ep::EPResult>(m, "EPResult", "Activation, repolarisation, probes and metadata of a tissue simulation.")
      .def_readonly("activation_ms", &ep::EPResult::activation_ms, "Per-node activation time (NaN: never).")
      .def_readonly("repolarisation_ms", &ep::EPResult::repolarisation_ms, "Per-node repolarisation time (NaN: none).")
      .def_property_readonly("apd_ms", &ep::EPResult::apd_ms, "Per-node action potential duration.")
      .def_readonly("probes", &ep::EPResult::probes, "Vm traces at the probe points (Signals).")
      .def_readonly("snapshots_pvd", &ep::EPResult::snapshots_pvd, "Path of the Vm .pvd series, or ''.")
      .def_property_readonly("metadata", [](const ep::EPResult& r) { return from_json(r.metadata); })
      .def("__repr__", [](const ep::EPResult& r) {
        const auto& a = r.activation_ms;
        const auto activated = (a.array() == a.array()).count();
        std::string s = "<cardiotwin.ep.EPResult " + std::to_string(a.size()) + " nodes, " + std::to_string(activated) +
                        " activated";
        if (activated) {
          double lo = 1e300, hi = -1e300;
          for (Eigen::Index i = 0; i < a.size(); ++i)
            if (a[i] == a[i]) lo = std::min(lo, a[i]), hi = std::max(hi, a[i]);
          s += ", activation " + std::to_string(lo).substr(0, 6) + ".." + std::to_string(hi).substr(0, 6) + " ms";
        }
        return s + ">";
      });

  py::class_<ep::Monodomain>(m, "Monodomain",
                             "Monodomain P1-FEM solver. `options` is a dict of MonodomainOptions (see "
                             "default_monodomain_options()); matrices are assembled on construction.")
      .def(py::init([](const TetMesh& mesh, const py::object& options) {
             ep::MonodomainOptions o = ep::MonodomainOptions::from_json(to_json(options));
             py::gil_scoped_release release;
             return std::make_unique<ep::Monodomain>(mesh, std::move(o));
           }),
           py::arg("mesh"), py::arg("options") = py::none())
      .def(
          "run",
          [](ep::Monodomain& s, std::optional<double> t_end, const py::object& progress) {
            run_with_progress(s, t_end.value_or(s.options().t_end_ms), progress);
          },
          py::arg("t_end_ms") = py::none(), py::arg("progress") = py::none(),
          "Advance to t_end_ms (default: options['t_end_ms']). progress(t, t_end) is called about every 1%; "
          "returning False stops early.")
      .def("step", &ep::Monodomain::step, py::call_guard<py::gil_scoped_release>(), "One time step.")
      .def_property_readonly("time_ms", &ep::Monodomain::time_ms)
      .def_property_readonly(
          "vm", [](const ep::Monodomain& s) -> const Eigen::VectorXd& { return s.vm(); },
          py::return_value_policy::reference_internal, "Current Vm per node (read-only view, mV).")
      .def("set_vm", &ep::Monodomain::set_vm, py::arg("vm"), "Replace Vm (one value per node).")
      .def("result", &ep::Monodomain::result)
      .def_property_readonly("options", [](const ep::Monodomain& s) { return from_json(s.options().to_json()); })
      .def_property_readonly("timings", [](const ep::Monodomain& s) { return from_json(s.timings().to_json()); })
      .def_property_readonly("stimulus_nodes", &ep::Monodomain::stimulus_nodes)
      .def("save_checkpoint", &ep::Monodomain::save_checkpoint, py::arg("path"),
           py::call_guard<py::gil_scoped_release>(), "Write the whole state atomically.")
      .def("load_checkpoint", &ep::Monodomain::load_checkpoint, py::arg("path"),
           py::call_guard<py::gil_scoped_release>(), "Continue from a checkpoint (bit-identical).")
      .def("__repr__", [](const ep::Monodomain& s) {
        return "<cardiotwin.ep.Monodomain " + std::to_string(s.vm().size()) + " nodes, t = " +
               std::to_string(s.time_ms()) + " ms, model " + s.options().ionic_model + ">";
      });

  bind_eikonal(m);
}

}  // namespace cardiotwin::python
