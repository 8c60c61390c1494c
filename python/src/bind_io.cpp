// Bindings of the file formats. File work releases the GIL.
#include <pybind11/eigen.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/io/nifti.hpp"
#include "cardiotwin/io/opencarp.hpp"
#include "cardiotwin/io/stl.hpp"
#include "cardiotwin/io/vtk.hpp"

namespace cardiotwin::python {
namespace {

io::VtkEncoding parse_encoding(const std::string& e) {
  if (e == "binary") return io::VtkEncoding::binary;
  if (e == "ascii") return io::VtkEncoding::ascii;
  if (e == "compressed") return io::VtkEncoding::binary_compressed;
  CARDIOTWIN_CHECK(false, InvalidInput, "unknown VTK encoding", "'binary', 'compressed' or 'ascii'",
                   "'" << e << "'", Where({}, "encoding"));
  return io::VtkEncoding::binary;
}

const char* datatype_name(io::NiftiType t) {
  switch (t) {
    case io::NiftiType::uint8: return "uint8";
    case io::NiftiType::int8: return "int8";
    case io::NiftiType::int16: return "int16";
    case io::NiftiType::uint16: return "uint16";
    case io::NiftiType::int32: return "int32";
    case io::NiftiType::uint32: return "uint32";
    case io::NiftiType::int64: return "int64";
    case io::NiftiType::uint64: return "uint64";
    case io::NiftiType::float32: return "float32";
    case io::NiftiType::float64: return "float64";
  }
  return "unknown";
}

using gil_release = py::call_guard<py::gil_scoped_release>;

}  // namespace

void bind_io(py::module_& m) {
  m.def("read_nifti_info",
        [](const std::string& path) {
          const io::NiftiInfo info = [&] {
            py::gil_scoped_release release;
            return io::read_nifti_info(path);
          }();
          py::dict d;
          d["shape"] = py::make_tuple(info.shape[0], info.shape[1], info.shape[2]);
          d["num_volumes"] = info.num_volumes;
          d["datatype"] = datatype_name(info.datatype);
          d["scl_slope"] = info.scl_slope;
          d["scl_inter"] = info.scl_inter;
          d["qform_code"] = info.qform_code;
          d["sform_code"] = info.sform_code;
          d["qform"] = Eigen::Matrix4d(info.qform);
          d["sform"] = Eigen::Matrix4d(info.sform);
          d["affine"] = Eigen::Matrix4d(info.affine);
          d["description"] = info.description;
          d["big_endian"] = info.big_endian;
          return d;
        },
        py::arg("path"), "Header of a NIfTI-1 file as a dict (geometry, datatype, scaling).");

  m.def("read_nifti",
        [](const std::string& path, const std::string& dtype, std::int64_t volume) -> py::object {
          std::string kind = dtype;
          if (kind == "auto") {
            py::gil_scoped_release release;
            const auto info = io::read_nifti_info(path);
            kind = (info.datatype == io::NiftiType::uint8 && !info.has_scaling()) ? "uint8" : "float32";
          }
          if (kind == "uint8") {
            LabelMap img = [&] {
              py::gil_scoped_release release;
              return io::read_nifti<std::uint8_t>(path, volume);
            }();
            return py::cast(std::move(img));
          }
          CARDIOTWIN_CHECK(kind == "float32", InvalidInput, "unknown dtype", "'auto', 'float32' or 'uint8'",
                           "'" << dtype << "'", Where({}, "dtype"));
          Image<float> img = [&] {
            py::gil_scoped_release release;
            return io::read_nifti<float>(path, volume);
          }();
          return py::cast(std::move(img));
        },
        py::arg("path"), py::arg("dtype") = "auto", py::arg("volume") = 0,
        "Read a NIfTI-1 image (.nii/.nii.gz). dtype 'auto' gives a LabelMap for unscaled uint8 files, "
        "else an Image (float32, scaling applied).");
  m.def("read_labels", [](const std::string& path, std::int64_t volume) { return io::read_nifti<std::uint8_t>(path, volume); },
        py::arg("path"), py::arg("volume") = 0, gil_release(),
        "Read a NIfTI label map of any integer type whose values are in 0..255 as a LabelMap.");
  m.def("write_nifti", &io::write_nifti<float>, py::arg("path"), py::arg("image"), gil_release(),
        "Write an Image as float32 NIfTI (.nii.gz compresses); atomic.");
  m.def("write_nifti", &io::write_nifti<std::uint8_t>, py::arg("path"), py::arg("image"), gil_release(),
        "Write a LabelMap as uint8 NIfTI (.nii.gz compresses); atomic.");

  m.def("read_vtu", &io::read_vtu, py::arg("path"), gil_release(), "Read a VTK XML unstructured grid of tetrahedra.");
  m.def("write_vtu",
        [](const std::string& path, const TetMesh& mesh, const std::string& enc) {
          const auto e = parse_encoding(enc);
          py::gil_scoped_release release;
          io::write_vtu(path, mesh, e);
        },
        py::arg("path"), py::arg("mesh"), py::arg("encoding") = "binary",
        "Write a TetMesh as .vtu ('binary' raw appended, 'compressed' zlib, or 'ascii'); atomic.");
  m.def("read_vtp", &io::read_vtp, py::arg("path"), py::arg("tag_array") = "tag", gil_release(),
        "Read a VTK XML polydata surface of triangles; `tag_array` names the cell array used as face tags.");
  m.def("write_vtp",
        [](const std::string& path, const SurfaceMesh& mesh, const std::string& enc) {
          const auto e = parse_encoding(enc);
          py::gil_scoped_release release;
          io::write_vtp(path, mesh, e);
        },
        py::arg("path"), py::arg("surface"), py::arg("encoding") = "binary", "Write a SurfaceMesh as .vtp; atomic.");
  m.def("read_pvd",
        [](const std::string& path) {
          std::vector<std::tuple<double, std::string, int>> out;
          for (const auto& e : io::read_pvd(path)) out.emplace_back(e.time, e.file, e.part);
          return out;
        },
        py::arg("path"), "Read a ParaView .pvd collection as a list of (time_ms, file, part).");
  m.def("write_pvd",
        [](const std::string& path, const std::vector<std::tuple<double, std::string, int>>& entries) {
          std::vector<io::PvdEntry> es;
          for (const auto& [t, f, p] : entries) es.push_back({t, f, p});
          io::write_pvd(path, es);
        },
        py::arg("path"), py::arg("entries"), "Write a .pvd collection from (time_ms, file, part) tuples; atomic.");

  m.def("read_opencarp", &io::read_opencarp, py::arg("basename"), gil_release(),
        "Read openCARP .pts/.elem[/.lon] (um on disk) into a TetMesh in mm.");
  m.def("write_opencarp", &io::write_opencarp, py::arg("basename"), py::arg("mesh"), gil_release(),
        "Write openCARP .pts/.elem[/.lon] (um on disk); atomic per file.");
  m.def("read_stl", &io::read_stl, py::arg("path"), gil_release(), "Read a binary or ASCII STL (vertices merged).");
  m.def("write_stl", &io::write_stl, py::arg("path"), py::arg("surface"), py::arg("binary") = true, gil_release(),
        "Write a SurfaceMesh as STL; atomic.");
}

}  // namespace cardiotwin::python
