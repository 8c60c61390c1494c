/// @file cgal.hpp
/// @brief Label map to tetrahedral mesh with CGAL Mesh_3 (component `cardiotwin::mesh_cgal`, GPL).
///
/// This header speaks only cardiotwin types; CGAL is included in src/mesh/cgal.cpp alone.
///
/// The pipeline of `mesh_label_map`: check the labels; optionally grow a wall around a blood pool;
/// crop to the labels' bounding box; interpolate thick slices through signed distances
/// (`interpolate_slices`); remove small islands (with a warning saying how much); compute smooth
/// label weights; mesh the chosen labels with Mesh_3 (initial points on every connected component
/// of every label, Delaunay refinement, sliver perturbation and exudation); map the points back to
/// world coordinates. Every tet's region tag is the label it lies in.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cardiotwin/core/image.hpp"
#include "cardiotwin/core/mesh.hpp"
#include "cardiotwin/mesh/label_map.hpp"
#include "cardiotwin/mesh/procedural.hpp"
#include "cardiotwin/mesh/quality.hpp"
#include "cardiotwin/mesh/surface.hpp"

namespace cardiotwin::mesh {

/// Options of `mesh_label_map`. Sizes in mm; defaults give a ~1 mm mesh of good quality.
struct LabelMeshOptions {
  /// Labels that form the mesh (region tag = label). Empty: every non-zero label present.
  std::vector<int> labels;
  /// Target edge length. Mesh_3's facet and cell size bounds are set to 0.75 x this (the bound
  /// is a radius; the mean edge length ends up close to `size_mm`).
  double size_mm = 1.0;
  /// Upper bound on the distance between a surface facet and the labels' boundary; 0: size_mm / 4.
  double facet_distance_mm = 0;
  /// Lower bound on surface facet angles (deg, at most 30 for guaranteed termination).
  double facet_angle_deg = 30;
  /// Upper bound on the radius-edge ratio of tets (>= 2 for guaranteed termination).
  double cell_radius_edge_ratio = 3;
  /// Smooth the boundary with Gaussian label weights; sigma 0 means the largest voxel size
  /// (after slice interpolation).
  bool smooth = true;
  double smooth_sigma_mm = 0;
  /// Slice interpolation: an axis whose spacing is above `max_anisotropy` x the finest one is
  /// resampled to `interpolated_spacing_mm` (0: the finest spacing). `interpolate` false: never.
  bool interpolate = true;
  double max_anisotropy = 2.0;
  double interpolated_spacing_mm = 0;
  /// Components of a label smaller than this fraction of its largest component are removed.
  double min_island_fraction = 0.05;
  /// Crop to the bounding box of the meshed labels (plus a margin) before meshing.
  bool crop = true;
  /// Grow a wall of `wall_thickness_mm` (label `wall_label`) into background around label
  /// `wall_source_label` (e.g. an RV free wall around an RV blood pool); 0 means no wall. The
  /// wall label is meshed too.
  int wall_source_label = 0;
  int wall_label = 0;
  double wall_thickness_mm = 3.0;
  /// Refine until the boundary surface is a manifold (no edge or vertex where the surface
  /// touches itself), as STL export needs: "on", "off", or "auto" = on when a single label is
  /// meshed. With several labels Mesh_3's manifold criterion does not terminate where three
  /// labels meet, so "auto" leaves it off there.
  std::string manifold = "auto";
  /// Sliver removal after refinement (time limits in s, 0 = none). Exudation works on tets whose
  /// smallest dihedral angle is below `exude_sliver_bound_deg`; 0 means every tet, which on
  /// Debian's CGAL 5.5 takes ~10x the refinement time for ~1 deg more mean angle.
  bool perturb = true, exude = true;
  double perturb_time_limit_s = 0, exude_time_limit_s = 0;
  double exude_sliver_bound_deg = 15;
  /// Seed of CGAL's random generator: the same input and options give the same mesh.
  std::uint32_t seed = 0;
  /// Mesh with CGAL's TBB-parallel Mesh_3 (all cores; 2-4x faster on 2 cores), which is not
  /// deterministic: tet counts vary by ~0.3% from run to run. Off by default; `MissingComponent`
  /// when cardiotwin was built without TBB.
  bool parallel = false;

  nlohmann::json to_json() const;
  /// Read options from JSON; unknown keys raise `InvalidInput` listing the known ones.
  static LabelMeshOptions from_json(const nlohmann::json& j);
};

/// What `mesh_label_map` returns besides the mesh.
struct LabelMeshResult {
  TetMesh mesh;                 ///< points in world mm, region = label, positively oriented
  LabelMap prepared;            ///< the label map that was meshed (cropped / interpolated / cleaned, all labels kept)
  std::vector<int> labels;      ///< labels meshed
  std::map<int, double> label_volume_mm3;  ///< voxel volume of each meshed label in `prepared`
  std::vector<IslandRemoval> islands;
  SliceInterpolation interpolation;
  std::int64_t wall_voxels = 0;  ///< voxels added by wall growth
  QualityReport quality;
  std::vector<std::string> warnings;  ///< e.g. islands removed, a label lost in meshing
  double seconds_prepare = 0, seconds_mesh = 0;  ///< preparation; meshing including extraction
  double seconds_initialise = 0, seconds_refine = 0, seconds_perturb = 0, seconds_exude = 0;
  /// Options, timings, islands, interpolation, volumes, quality and warnings.
  nlohmann::json to_json() const;
};

/// Mesh the labels of `labels` with CGAL Mesh_3 (see the file doc for the steps).
///
/// Throws `InvalidInput` for an empty map, an absent or out-of-range label, bad options, or when
/// the mesher produces no tetrahedra; `MissingComponent` never (this function exists only when
/// the component is built).
LabelMeshResult mesh_label_map(const LabelMap& labels, const LabelMeshOptions& options = {});

/// An idealised biventricular heart (`biventricular_label_map`) meshed with Mesh_3 (regions 1 LV
/// myocardium and septum, 2 RV free wall) and its surface tagged by label adjacency: `kLvEndo`,
/// `kRvEndo`, `kEpi`, and `kBase` at the cut plane.
TaggedMesh biventricular_mesh(const BiventricularOptions& options = {}, double size_mm = 1.0);

}  // namespace cardiotwin::mesh
