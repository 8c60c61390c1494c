// Bindings of cardiotwin::segment (libtorch). Without the component the functions still exist and
// raise MissingComponent naming the CMake option. Options travel as dicts (JSON) validated by C++.
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/core/image.hpp"
#if CARDIOTWIN_HAS_TORCH
#include "cardiotwin/segment/segment.hpp"
#endif

namespace cardiotwin::python {
namespace {

[[noreturn, maybe_unused]] void missing_torch() {
  throw MissingComponent("segmentation needs the libtorch component 'segment'",
                         "cardiotwin built with -DCARDIOTWIN_WITH_TORCH=ON (pip install torch==2.13.0 "
                         "before building)",
                         "a build without it");
}

#if CARDIOTWIN_HAS_TORCH
segment::SegmentOptions options_from(const py::handle& obj) {
  if (obj.is_none()) return {};
  return segment::SegmentOptions::from_json(python_to_json(obj));
}

py::dict info_dict(const segment::ModelInfo& m) {
  py::dict d;
  d["name"] = m.name;
  d["description"] = m.description;
  d["dimensions"] = m.dimensions;
  py::dict labels;
  for (const auto& [name, v] : m.labels) labels[py::str(name)] = v;
  d["labels"] = labels;
  d["output_channels"] = m.output_channels;
  d["slice_axis"] = m.slice_axis;
  d["spacing_mm"] = m.spacing_mm;
  d["patch_size"] = m.patch_size;
  py::dict norm;
  norm["method"] = m.normalisation;
  norm["percentiles"] = py::make_tuple(m.percentile_low, m.percentile_high);
  d["normalisation"] = norm;
  return d;
}
#endif

}  // namespace

void bind_segment(py::module_& m) {
#if CARDIOTWIN_HAS_TORCH
  using segment::Model;
  using segment::SegmentResult;
  py::class_<SegmentResult>(m, "SegmentResult", "Labels on the input geometry and what happened.")
      .def_readonly("labels", &SegmentResult::labels, "LabelMap on the input image's geometry.")
      .def_readonly("voxel_counts", &SegmentResult::voxel_counts, "Voxels per model label (ordered by value).")
      .def_readonly("volumes_ml", &SegmentResult::volumes_ml, "Volume per model label in mL.")
      .def_readonly("warnings", &SegmentResult::warnings, "Warnings (empty result, missing labels).")
      .def_readonly("empty", &SegmentResult::empty, "True when no voxel got a foreground label.");
  py::class_<Model>(m, "Model", "A TorchScript segmentation model with its metadata.")
      .def_static("load", py::overload_cast<const std::string&>(&Model::load), py::arg("path"),
                  py::call_guard<py::gil_scoped_release>(),
                  "Load model.pt and metadata.json from the folder `path`.")
      .def_static("load_files", py::overload_cast<const std::string&, const std::string&>(&Model::load),
                  py::arg("model_path"), py::arg("metadata_path"), py::call_guard<py::gil_scoped_release>(),
                  "Load a TorchScript file and a metadata JSON file.")
      .def_property_readonly("info", [](const Model& self) { return info_dict(self.info()); },
                             "The metadata as a dict (labels, spacing_mm, patch_size, ...).")
      .def(
          "segment",
          [](const Model& self, const Image<float>& image, const py::object& options) {
            const auto o = options_from(options);
            py::gil_scoped_release release;
            return self.segment(image, o);
          },
          py::arg("image"), py::arg("options") = py::none(),
          "Segment a float32 Image; options: overlap, gaussian_sigma, mirror, largest_component, "
          "fill_holes, threads, batch.")
      .def(
          "probabilities",
          [](const Model& self, const Image<float>& image, const py::object& options) {
            const auto o = options_from(options);
            py::gil_scoped_release release;
            return self.probabilities(image, o);
          },
          py::arg("image"), py::arg("options") = py::none(),
          "Class probabilities on the input grid, one Image per output channel.");
  m.def("keep_largest_components", &segment::keep_largest_components, py::arg("labels"),
        "Keep the largest 26-connected component of every label in place; returns voxels removed.");
  m.def("fill_holes", &segment::fill_holes, py::arg("labels"), py::arg("axis") = 2,
        "Fill enclosed background regions per slice across `axis` in place; returns voxels filled.");
  m.def("default_options", [] { return json_to_python(segment::SegmentOptions{}.to_json()); },
        "The default segmentation options as a dict.");
  m.def("set_num_threads", &segment::set_num_threads, py::arg("threads"),
        "Set libtorch's intra-op thread count (process-wide).");
#else
  m.def("load_model", [](const py::args&, const py::kwargs&) { missing_torch(); },
        "Unavailable: cardiotwin was built without libtorch.");
#endif
}

}  // namespace cardiotwin::python
