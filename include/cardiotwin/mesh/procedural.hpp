/// @file procedural.hpp
/// @brief Procedural geometries for tests, benchmarks and teaching.
#pragma once

#include <Eigen/Core>

#include "cardiotwin/core/mesh.hpp"

namespace cardiotwin::mesh {

/// A box [0, size.x] x [0, size.y] x [0, size.z] (mm) on a regular grid of about `dx` mm: the
/// number of cells per axis is round(size / dx) (at least 1), each cube split into 6 positively
/// oriented tets around its main diagonal. Points are numbered x fastest. Fibres along x, sheets
/// along y, normals along z; region 1.
TetMesh box_mesh(const Eigen::Vector3d& size, double dx);

/// The Niederer et al. 2011 benchmark slab, 20 x 7 x 3 mm, at spacing `dx` mm.
inline TetMesh niederer_slab(double dx) { return box_mesh(Eigen::Vector3d(20, 7, 3), dx); }

}  // namespace cardiotwin::mesh
