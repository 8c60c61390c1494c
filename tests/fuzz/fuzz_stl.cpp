// libFuzzer target for the STL parser (binary and ASCII, detected from the bytes).
//
// Only cardiotwin::Error may escape the parser; anything else (another exception, a crash, a
// sanitizer report) is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/io/stl.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    const cardiotwin::SurfaceMesh mesh = cardiotwin::io::parse_stl(bytes, "fuzz");
    // What the parser accepts must be consistent: indices in range, one tag per triangle.
    const auto n = mesh.num_points();
    for (std::int64_t t = 0; t < mesh.num_triangles(); ++t)
      for (int k = 0; k < 3; ++k)
        if (mesh.triangles(t, k) < 0 || mesh.triangles(t, k) >= n) __builtin_trap();
    if (mesh.tags.size() != mesh.num_triangles()) __builtin_trap();
  } catch (const cardiotwin::Error&) {
    // Rejecting malformed input with a cardiotwin error is the expected outcome.
  }
  return 0;
}
