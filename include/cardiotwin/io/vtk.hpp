/// @file vtk.hpp
/// @brief VTK XML files: `.vtu` (tet meshes), `.vtp` (surfaces), `.pvd` (time series).
///
/// Reading accepts ASCII, inline base64 binary and appended data (raw or base64), UInt32 or
/// UInt64 headers, and zlib compression (vtkZLibDataCompressor). Writing produces ASCII or raw
/// appended binary (optionally zlib-compressed), little-endian, UInt64 headers.
///
/// Conventions of our files: cell array "region" holds `TetMesh::region`, cell arrays "fibre",
/// "sheet", "normal" the directions; for surfaces cell array "tag" holds `SurfaceMesh::tags`.
/// Every other array becomes a named field (values converted to double). When writing, these
/// members take precedence over a `cell_data` field of the same name, which is then not written.
/// Files with several `<Piece>`s are read as one mesh (point indices offset per piece); the
/// pieces must carry the same arrays. Every malformed input raises `FileFormatError` naming the
/// file, the element or array, and what was expected and found.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cardiotwin/core/mesh.hpp"

namespace cardiotwin::io {

/// How data arrays are stored in written files.
enum class VtkEncoding { ascii, binary, binary_compressed };

/// Parse a `.vtu` document. Only tetrahedra (VTK type 10) are accepted; other cell types raise
/// `FileFormatError` with their counts. `source` names the data in messages. "region", "fibre",
/// "sheet" and "normal" are moved out of `cell_data` into their members.
TetMesh parse_vtu(std::string_view xml, const std::string& source);
TetMesh read_vtu(const std::string& path);
std::string vtu_string(const TetMesh& mesh, VtkEncoding encoding = VtkEncoding::binary);
void write_vtu(const std::string& path, const TetMesh& mesh, VtkEncoding encoding = VtkEncoding::binary);

/// Parse a `.vtp` document. Polygons must be triangles. `tag_array` names the integer cell array
/// that becomes `SurfaceMesh::tags` (if present; it stays in `cell_data` too).
SurfaceMesh parse_vtp(std::string_view xml, const std::string& source,
                      const std::string& tag_array = "tag");
SurfaceMesh read_vtp(const std::string& path, const std::string& tag_array = "tag");
std::string vtp_string(const SurfaceMesh& mesh, VtkEncoding encoding = VtkEncoding::binary);
void write_vtp(const std::string& path, const SurfaceMesh& mesh,
               VtkEncoding encoding = VtkEncoding::binary);

/// One frame of a ParaView `.pvd` collection.
struct PvdEntry {
  double time = 0;   ///< in ms (our unit), written as the `timestep` attribute
  std::string file;  ///< path relative to the `.pvd` file
  int part = 0;
};
std::vector<PvdEntry> parse_pvd(std::string_view xml, const std::string& source);
std::vector<PvdEntry> read_pvd(const std::string& path);
void write_pvd(const std::string& path, const std::vector<PvdEntry>& entries);

}  // namespace cardiotwin::io
