// libFuzzer target for the VTK XML readers (.vtu, .vtp, .pvd) and the XML tokenizer under them.
//
// Every input is given to all three parsers. Only cardiotwin::Error may escape them; anything else
// (another exception, a crash, a sanitizer report, a hang) is a bug. What a parser accepts must be
// consistent: node indices in range and per-cell / per-point arrays of the right length.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/io/vtk.hpp"

namespace {

template <class Mesh, class Cells>
void check_consistent(const Mesh& mesh, const Cells& cells) {
  const auto n = mesh.num_points();
  for (Eigen::Index c = 0; c < cells.rows(); ++c)
    for (Eigen::Index k = 0; k < cells.cols(); ++k)
      if (cells(c, k) < 0 || cells(c, k) >= n) __builtin_trap();
  for (const auto& [name, f] : mesh.point_data)
    if (f.rows() != n || f.cols() < 1) __builtin_trap();
  for (const auto& [name, f] : mesh.cell_data)
    if (f.rows() != cells.rows() || f.cols() < 1) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const cardiotwin::TetMesh mesh = cardiotwin::io::parse_vtu(bytes, "fuzz.vtu");
    check_consistent(mesh, mesh.tets);
    const auto m = mesh.num_tets();
    if (mesh.region.size() != 0 && mesh.region.size() != m) __builtin_trap();
    for (const auto* d : {&mesh.fibre, &mesh.sheet, &mesh.normal})
      if (d->rows() != 0 && d->rows() != m) __builtin_trap();
  } catch (const cardiotwin::Error&) {
    // Rejecting malformed input with a cardiotwin error is the expected outcome.
  }
  try {
    const cardiotwin::SurfaceMesh surface = cardiotwin::io::parse_vtp(bytes, "fuzz.vtp");
    check_consistent(surface, surface.triangles);
    if (surface.tags.size() != 0 && surface.tags.size() != surface.num_triangles()) __builtin_trap();
  } catch (const cardiotwin::Error&) {
  }
  try {
    for (const auto& entry : cardiotwin::io::parse_pvd(bytes, "fuzz.pvd"))
      if (entry.file.empty()) __builtin_trap();
  } catch (const cardiotwin::Error&) {
  }
  return 0;
}
