/// @file procedural.hpp
/// @brief Procedural geometries for tests, benchmarks and teaching.
#pragma once

#include <Eigen/Core>

#include <nlohmann/json.hpp>

#include "cardiotwin/core/image.hpp"
#include "cardiotwin/core/mesh.hpp"
#include "cardiotwin/mesh/surface.hpp"

namespace cardiotwin::mesh {

/// A box [0, size.x] x [0, size.y] x [0, size.z] (mm) on a regular grid of about `dx` mm: the
/// number of cells per axis is round(size / dx) (at least 1), each cube split into 6 positively
/// oriented tets around its main diagonal. Points are numbered x fastest. Fibres along x, sheets
/// along y, normals along z; region 1.
TetMesh box_mesh(const Eigen::Vector3d& size, double dx);

/// The Niederer et al. 2011 benchmark slab, 20 x 7 x 3 mm, at spacing `dx` mm.
inline TetMesh niederer_slab(double dx) { return box_mesh(Eigen::Vector3d(20, 7, 3), dx); }

/// A truncated ellipsoidal left ventricle: the region between two confocal-free ellipsoids of
/// revolution about the z axis (long axis, apex at -z, base at +z), cut by the plane z = `base_z_mm`.
/// Defaults are the idealised LV of the Land et al. 2015 mechanics benchmark (mm).
struct EllipsoidLvOptions {
  double endo_short_radius_mm = 7, endo_long_radius_mm = 17;
  double epi_short_radius_mm = 10, epi_long_radius_mm = 20;
  double base_z_mm = 5;  ///< truncation plane; must lie in (-endo_long_radius_mm, endo_long_radius_mm)
  double size_mm = 1.0;  ///< target edge length

  nlohmann::json to_json() const;
  /// Unknown keys raise `InvalidInput` listing the known ones.
  static EllipsoidLvOptions from_json(const nlohmann::json& j);
  /// Exact volume (mm^3) of the wall (the mesh converges to it as `size_mm` decreases).
  double wall_volume_mm3() const;
  /// Exact volume (mm^3) of the cavity below the base plane.
  double cavity_volume_mm3() const;
};

/// Structured tet mesh of the truncated ellipsoidal LV (region 1), with surface tags `kLvEndo`
/// (inner ellipsoid), `kEpi` (outer) and `kBase` (the cut). Nodes are placed on the ellipsoids
/// and the base plane exactly; every tet is positively oriented.
TaggedMesh ellipsoidal_lv(const EllipsoidLvOptions& options = {});

/// Options of `biventricular_label_map`: an idealised biventricular heart built from ellipsoids
/// of revolution about z (apex at -z, base cut at z = `base_z_mm`), mm.
struct BiventricularOptions {
  EllipsoidLvOptions lv;                   ///< the LV (its `size_mm` is not used here)
  double rv_short_radius_mm = 13;          ///< RV cavity semi-axis across (x direction)
  double rv_depth_radius_mm = 7;           ///< RV cavity semi-axis front-to-back (y direction)
  double rv_long_radius_mm = 16;           ///< RV cavity semi-axis along z
  double rv_centre_x_mm = 8;               ///< RV centre on the +x side of the LV axis
  double rv_wall_mm = 3;                   ///< RV free-wall thickness
  double voxel_mm = 0.5;                   ///< label-map voxel size

  nlohmann::json to_json() const;
  static BiventricularOptions from_json(const nlohmann::json& j);
};
/// Labels of `biventricular_label_map`.
enum BiventricularLabel : std::uint8_t { kBivLvMyo = 1, kBivRvMyo = 2, kBivLvBlood = 3, kBivRvBlood = 4 };
/// Label map of an idealised biventricular heart (1 LV myocardium incl. septum, 2 RV free wall,
/// 3 LV blood, 4 RV blood, 0 outside; the blood pools are open at the base), to be meshed with
/// `mesh_label_map` (CGAL) and tagged by label adjacency.
LabelMap biventricular_label_map(const BiventricularOptions& options = {});

}  // namespace cardiotwin::mesh
