/// @file opencarp.hpp
/// @brief openCARP meshes: `.pts` (points in um), `.elem` (elements with tags), `.lon` (fibres).
///
/// Lengths are um on disk and mm in memory (divided by 1000 on read, multiplied on write).
/// Only tetrahedra (`Tt`) are accepted. `.lon` holds 1 direction (fibre) or 2 (fibre, sheet)
/// per element; the normal is then completed as fibre x sheet.
#pragma once

#include <string>
#include <string_view>

#include "cardiotwin/core/mesh.hpp"

namespace cardiotwin::io {

/// Parse from the three files' contents; `lon` may be empty (no fibres). `basename` names the
/// mesh in messages.
TetMesh parse_opencarp(std::string_view pts, std::string_view elem, std::string_view lon,
                       const std::string& basename);
/// Read `basename.pts`, `basename.elem` and, if it exists, `basename.lon`. `basename` may also
/// be given with any of those extensions.
TetMesh read_opencarp(const std::string& basename);
/// Write `basename.pts/.elem` and, when the mesh has fibres, `.lon` (2 directions when it has
/// sheets). Each file is written atomically.
void write_opencarp(const std::string& basename, const TetMesh& mesh);

}  // namespace cardiotwin::io
