// Bindings of the emulate module: designs of experiments and the Gaussian-process emulator.
// Bounds travel as lists of (name, lower, upper); options as dicts validated by the C++ parser.
// The Python layer (cardiotwin/emulate.py) adds the dict-of-bounds API and 1-D outputs.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <tuple>

#include "bindings.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/emulate/design.hpp"
#include "cardiotwin/emulate/gp.hpp"

namespace cardiotwin::python {
namespace {

using emulate::Matrix;
using BoundsList = std::vector<std::tuple<std::string, double, double>>;

emulate::Bounds to_bounds(const BoundsList& list) {
  emulate::Bounds b;
  for (const auto& [name, lo, hi] : list) b.push_back({name, lo, hi});
  return b;
}

nlohmann::json to_json(const py::handle& obj) {
  return obj.is_none() ? nlohmann::json::object() : nlohmann::json::parse(python_to_json(obj));
}
py::object from_json(const nlohmann::json& j) { return json_to_python(j.dump()); }

py::dict hyper_dict(const emulate::GaussianProcess& gp, int k) {
  const auto& h = gp.hyperparameters(k);
  py::dict d;
  d["lengthscales_unit"] = h.lengthscales;
  d["lengthscales"] = gp.lengthscales(k);
  d["signal_variance"] = h.signal_variance;
  d["noise_variance"] = h.noise_variance;
  d["jitter"] = h.jitter;
  d["log_marginal_likelihood"] = h.log_marginal_likelihood;
  return d;
}

}  // namespace

void bind_emulate(py::module_& m) {
  using namespace cardiotwin::emulate;

  m.def("latin_hypercube_unit", &latin_hypercube_unit, py::arg("n"), py::arg("d"), py::arg("seed") = 0,
        py::arg("maximin_candidates") = 1, "(n, d) Latin hypercube in [0, 1)^d.");
  m.def("sobol_unit", &sobol_unit, py::arg("n"), py::arg("d"), py::arg("seed") = 0, py::arg("scramble") = true,
        py::arg("skip") = 0, "(n, d) Sobol points in [0, 1)^d (Joe-Kuo direction numbers, Gray-code order).");
  m.def("sobol_max_dimension", &sobol_max_dimension);
  m.def(
      "latin_hypercube",
      [](std::int64_t n, const BoundsList& b, std::uint64_t seed, int candidates) {
        return latin_hypercube(n, to_bounds(b), seed, candidates);
      },
      py::arg("n"), py::arg("bounds"), py::arg("seed") = 0, py::arg("maximin_candidates") = 1,
      "(n, d) Latin hypercube within bounds [(name, lower, upper), ...].");
  m.def(
      "sobol",
      [](std::int64_t n, const BoundsList& b, std::uint64_t seed, bool scramble, std::int64_t skip) {
        return sobol(n, to_bounds(b), seed, scramble, skip);
      },
      py::arg("n"), py::arg("bounds"), py::arg("seed") = 0, py::arg("scramble") = true, py::arg("skip") = 0,
      "(n, d) Sobol points within bounds [(name, lower, upper), ...].");
  m.def(
      "validate_bounds", [](const BoundsList& b) { validate_bounds(to_bounds(b)); }, py::arg("bounds"));
  m.def(
      "scale_to_bounds", [](const Matrix& u, const BoundsList& b) { return scale_to_bounds(u, to_bounds(b)); },
      py::arg("unit"), py::arg("bounds"));
  m.def(
      "scale_to_unit", [](const Matrix& x, const BoundsList& b) { return scale_to_unit(x, to_bounds(b)); },
      py::arg("x"), py::arg("bounds"));
  m.def("l2_star_discrepancy", &l2_star_discrepancy, py::arg("unit"), "L2-star discrepancy (Warnock).");
  m.def("min_pairwise_distance", &min_pairwise_distance, py::arg("points"));
  m.def("default_gp_options", [] { return from_json(GaussianProcessOptions().to_json()); });
  m.def(
      "gp_log_marginal_likelihood",
      [](const Matrix& u, const Eigen::VectorXd& y, const py::object& options, const Eigen::VectorXd& p) {
        Eigen::VectorXd g;
        const double l = gp_log_marginal_likelihood(u, y, GaussianProcessOptions::from_json(to_json(options)), p, &g);
        return py::make_tuple(l, g);
      },
      py::arg("x_unit"), py::arg("y"), py::arg("options"), py::arg("log_params"),
      "(log marginal likelihood, gradient) of standardised outputs at unit-cube inputs.");

  py::class_<GaussianProcess>(m, "GaussianProcess",
                              "Gaussian-process emulator with independent outputs (ARD kernel, GLS mean).")
      .def(py::init([](const py::object& options) {
             return GaussianProcess(GaussianProcessOptions::from_json(to_json(options)));
           }),
           py::arg("options") = py::none())
      .def(
          "fit",
          [](GaussianProcess& gp, const Matrix& x, const Matrix& y, std::vector<std::string> in,
             std::vector<std::string> out) -> GaussianProcess& {
            py::gil_scoped_release release;
            return gp.fit(x, y, std::move(in), std::move(out));
          },
          py::arg("x"), py::arg("y"), py::arg("input_names") = std::vector<std::string>{},
          py::arg("output_names") = std::vector<std::string>{}, py::return_value_policy::reference_internal)
      .def(
          "predict",
          [](const GaussianProcess& gp, const Matrix& x) {
            Prediction p;
            {
              py::gil_scoped_release release;
              p = gp.predict(x);
            }
            return py::make_tuple(std::move(p.mean), std::move(p.variance));
          },
          py::arg("x"), "(mean, variance), each (m, k).")
      .def("predict_mean", &GaussianProcess::predict_mean, py::arg("x"), py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("fitted", &GaussianProcess::fitted)
      .def_property_readonly("num_inputs", &GaussianProcess::num_inputs)
      .def_property_readonly("num_outputs", &GaussianProcess::num_outputs)
      .def_property_readonly("num_training_points", &GaussianProcess::num_training_points)
      .def_property_readonly("input_names", &GaussianProcess::input_names)
      .def_property_readonly("output_names", &GaussianProcess::output_names)
      .def_property_readonly("options", [](const GaussianProcess& gp) { return from_json(gp.options().to_json()); })
      .def("hyperparameters", &hyper_dict, py::arg("output"))
      .def("lengthscales", &GaussianProcess::lengthscales, py::arg("output"))
      .def_property_readonly("noise_variance", &GaussianProcess::noise_variance)
      .def("training_inputs", &GaussianProcess::training_inputs)
      .def("training_outputs", &GaussianProcess::training_outputs)
      .def("to_json", [](const GaussianProcess& gp) { return gp.to_json().dump(); }, "The emulator as a JSON string.")
      .def_static(
          "from_json", [](const std::string& s) { return GaussianProcess::from_json(nlohmann::json::parse(s)); },
          py::arg("text"))
      .def("save", &GaussianProcess::save, py::arg("path"))
      .def_static("load", &GaussianProcess::load, py::arg("path"))
      .def("__repr__", [](const GaussianProcess& gp) {
        if (!gp.fitted()) return std::string("<cardiotwin.emulate.GaussianProcess (not fitted)>");
        return "<cardiotwin.emulate.GaussianProcess " + to_string(gp.options().kernel) + ", " +
               std::to_string(gp.num_training_points()) + " points, " + std::to_string(gp.num_inputs()) +
               " inputs, " + std::to_string(gp.num_outputs()) + " outputs>";
      });
}

}  // namespace cardiotwin::python
