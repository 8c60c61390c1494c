/// @file stl.hpp
/// @brief STL surfaces, binary and ASCII. Coincident vertices are merged on read.
#pragma once

#include <string>
#include <string_view>

#include "cardiotwin/core/mesh.hpp"

namespace cardiotwin::io {

/// Parse STL bytes; binary or ASCII is detected from the content (not the "solid" keyword alone:
/// a binary file whose size is 84 + 50 n is binary). Degenerate facets are kept.
SurfaceMesh parse_stl(std::string_view bytes, const std::string& source);
SurfaceMesh read_stl(const std::string& path);
/// Write `mesh` as STL (facet normals from the vertex order; units mm). Written atomically.
void write_stl(const std::string& path, const SurfaceMesh& mesh, bool binary = true);

}  // namespace cardiotwin::io
