/// @file stl.hpp
/// @brief STL surfaces, binary and ASCII. Coincident vertices are merged on read.
///
/// STL has no units; cardiotwin reads and writes mm. Vertices are merged when their coordinates
/// are bit-for-bit equal (with -0 equal to +0); nearby but different vertices stay apart.
/// Tags: binary files give all 0; ASCII files with several `solid ... endsolid` blocks (e.g. one
/// per chamber) give each facet the index of its solid (0, 1, ...). Tags are not written.
/// Binary coordinates are float32; ASCII ones are read and written as doubles (exact round trip).
#pragma once

#include <string>
#include <string_view>

#include "cardiotwin/core/mesh.hpp"

namespace cardiotwin::io {

/// Parse STL bytes; binary or ASCII is detected from the content (not the "solid" keyword alone:
/// a binary file whose size is 84 + 50 n is binary). Degenerate facets are kept. Facet normals in
/// the file are ignored. `source` names the data in messages. Throws `FileFormatError`.
SurfaceMesh parse_stl(std::string_view bytes, const std::string& source);
SurfaceMesh read_stl(const std::string& path);
/// Write `mesh` as STL (facet normals from the vertex order, zero for degenerate facets; units
/// mm). Written atomically. Degenerate facets are allowed (they round-trip); out-of-range indices
/// and non-finite (or, for binary, beyond float32) coordinates throw `InvalidInput`.
void write_stl(const std::string& path, const SurfaceMesh& mesh, bool binary = true);

}  // namespace cardiotwin::io
