// libFuzzer target for the openCARP parser (.pts, .elem, .lon).
//
// The input holds the three files separated by the first two NUL bytes: "pts\0elem\0lon"; with
// fewer NULs the missing parts are empty. Only cardiotwin::Error may escape the parser; anything
// else (another exception, a crash, a sanitizer report) is a bug.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/io/opencarp.hpp"

namespace {
/// Split off the text before the next NUL (or the rest when there is none).
std::string_view take_part(std::string_view& rest) {
  const auto nul = rest.find('\0');
  const std::string_view part = rest.substr(0, nul);
  rest = nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);
  return part;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view pts = take_part(rest);
  const std::string_view elem = take_part(rest);
  const std::string_view lon = rest;
  try {
    const cardiotwin::TetMesh mesh = cardiotwin::io::parse_opencarp(pts, elem, lon, "fuzz");
    // What the parser accepts must be consistent: indices in range, one tag per tet,
    // unit directions.
    const auto n = mesh.num_points();
    for (std::int64_t e = 0; e < mesh.num_tets(); ++e)
      for (int k = 0; k < 4; ++k)
        if (mesh.tets(e, k) < 0 || mesh.tets(e, k) >= n) __builtin_trap();
    if (mesh.region.size() != mesh.num_tets()) __builtin_trap();
    for (std::int64_t e = 0; e < mesh.fibre.rows(); ++e)
      if (!(std::abs(mesh.fibre.row(e).norm() - 1.0) < 1e-9)) __builtin_trap();
  } catch (const cardiotwin::Error&) {
    // Rejecting malformed input with a cardiotwin error is the expected outcome.
  }
  return 0;
}
