/// @file opencarp.hpp
/// @brief openCARP meshes: `.pts` (points in um), `.elem` (elements with tags), `.lon` (fibres).
///
/// Lengths are um on disk and mm in memory (divided by 1000 on read, multiplied on write).
/// Only tetrahedra (`Tt`) are accepted; a file with other element types is rejected with a count
/// of each type. The region tag of an element is optional (0 when absent) and goes to
/// `TetMesh::region`. Node order is kept as in the file (see `check_mesh` / `fix_orientation`).
///
/// `.lon` holds 1 direction (fibre) or 2 (fibre, sheet) per element after a header line with 1 or
/// 2; header-less files (3 or 6 values per line) are accepted too. Directions are normalised on
/// read; zero-length ones (which openCARP allows for non-myocardial elements) are rejected with
/// the element named, as `TetMesh` directions must be unit vectors. With 2 directions the normal
/// is completed as normalise(fibre x sheet); the sheet itself is not re-orthogonalised.
///
/// Blank lines and "\r\n" line ends are accepted. Errors are `FileFormatError`s naming the file
/// and line. Numbers are written in shortest round-trip form; point and cell fields are not
/// stored.
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
/// sheets). Each file is written atomically, after `validate_mesh`. When the mesh has no fibres an
/// existing `basename.lon` is removed, so that `read_opencarp` cannot pair it with this mesh.
void write_opencarp(const std::string& basename, const TetMesh& mesh);

}  // namespace cardiotwin::io
