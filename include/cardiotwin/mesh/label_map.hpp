/// @file label_map.hpp
/// @brief Label-map preparation for meshing: volumes, cropping, slice interpolation, islands,
/// wall growth, distance transforms and smooth label weights.
///
/// These run before a mesher (CGAL Mesh_3 in `cgal.hpp`) and need no third-party mesher. All
/// distances are in mm and respect anisotropic voxel spacing. Geometry (origin, direction) is
/// carried along, so a cropped or resampled map stays at the same place in the world.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cardiotwin/core/image.hpp"

namespace cardiotwin::mesh {

/// A box of voxels `[begin, end)` along i, j, k. Empty when any `end <= begin`.
struct VoxelBox {
  std::array<std::int64_t, 3> begin{{0, 0, 0}};
  std::array<std::int64_t, 3> end{{0, 0, 0}};
  bool empty() const noexcept { return end[0] <= begin[0] || end[1] <= begin[1] || end[2] <= begin[2]; }
  std::int64_t extent(int axis) const noexcept { return end[axis] - begin[axis]; }
};

/// Number of voxels of every label value (index = label, 256 entries).
std::array<std::int64_t, 256> label_counts(const LabelMap& labels);

/// Volume in mm^3 of every non-zero label present (voxel count x voxel volume).
std::map<int, double> label_volumes_mm3(const LabelMap& labels);

/// "label 1 (87.6 mL), label 3 (49.0 mL)": the non-zero labels present, for error messages.
std::string describe_labels(const LabelMap& labels);

/// Check that every label in `wanted` is in 1..255 and present in `labels`; throws `InvalidInput`
/// naming the absent label and listing the present ones. An empty `wanted` means all non-zero
/// labels, which must not be empty. Returns the labels, sorted and unique.
std::vector<int> check_labels_present(const LabelMap& labels, const std::vector<int>& wanted,
                                      const std::string& where = "labels");

/// Smallest box holding every voxel whose label is in `wanted` (empty box if none).
VoxelBox label_bounding_box(const LabelMap& labels, const std::vector<int>& wanted);

/// The sub-image `box` grown by `margin` voxels on every side, clipped to the image. The origin
/// moves so that every kept voxel stays at its world position.
LabelMap crop(const LabelMap& labels, VoxelBox box, std::int64_t margin = 0);

/// Squared Euclidean distance (mm^2) from every voxel centre to the nearest voxel centre where
/// `inside` is true (0 there), with the image spacing (exact, separable; Felzenszwalb and
/// Huttenlocher 2012). `axes` selects the axes the distance is measured along (e.g. {0, 1} for
/// distances within each slice). Voxels with no `inside` voxel reachable get +infinity.
std::vector<float> squared_distance_transform(const LabelMap& labels, const std::vector<char>& inside,
                                              const std::vector<int>& axes = {0, 1, 2});

/// How `interpolate_slices` resampled the map.
struct SliceInterpolation {
  int axis = -1;            ///< axis that was resampled, -1 when none needed it
  std::int64_t factor = 1;  ///< new voxels per original slice along `axis`
  double spacing_before_mm = 0, spacing_after_mm = 0;
};

/// Shape-based interpolation of a label map with thick slices (e.g. short-axis MRI with 10 mm
/// slices and 1.4 mm pixels), so that a mesher sees smooth shapes instead of staircases.
///
/// The axis with the largest spacing is resampled when its spacing exceeds `max_anisotropy` times
/// the smallest one: each slice becomes `factor = ceil(spacing / target)` thinner slices tiling
/// the original slab, with `target` the smallest spacing unless `target_spacing_mm` > 0.
///
/// Each label's shape is first filled in every slice (pixels it encloses in the slice are added,
/// so a myocardial ring becomes the disc of the epicardium), because a thin ring that moves by
/// more than its thickness between slices would vanish under interpolation while a filled disc
/// does not. For every filled shape a signed distance (mm, negative inside) is computed within
/// each slice and interpolated linearly between slice centres. A new voxel takes the label of the
/// most deeply nested shape with a negative interpolated distance there (label A is nested in B
/// when most of A's voxels lie in B's filled holes, e.g. the blood pool in the myocardium), among
/// equally nested ones the most negative, or 0 when no shape contains it. Beyond the last slice
/// holding a label its shape is extruded and capped at the original slab boundary (half a slice
/// past the slice centre), so the first and last slices keep the thickness they had.
/// Returns the input unchanged (and `info->axis == -1`) when no axis needs it.
LabelMap interpolate_slices(const LabelMap& labels, double max_anisotropy = 2.0,
                            double target_spacing_mm = 0, SliceInterpolation* info = nullptr);

/// What `remove_islands` removed for one label.
struct IslandRemoval {
  int label = 0;
  std::int64_t components = 0;       ///< connected components found (6-connectivity)
  std::int64_t removed_components = 0;
  std::int64_t removed_voxels = 0;
  double removed_volume_mm3 = 0;
  double removed_fraction = 0;       ///< removed voxels / all voxels of the label
  nlohmann::json to_json() const;
  /// One sentence, e.g. "label 1: removed 3 of 4 components, 120 voxels (0.04 mL, 0.05%)".
  std::string message() const;
};

/// Remove the connected components (6-connectivity) of each label in `wanted` that have fewer
/// than `min_fraction` times the voxels of that label's largest component. Removed voxels take the
/// most frequent label around the island. Returns one entry per label (also when nothing was
/// removed).
std::vector<IslandRemoval> remove_islands(LabelMap& labels, const std::vector<int>& wanted,
                                          double min_fraction = 0.05);

/// Grow a wall of `thickness_mm` around the voxels of `source_label`: every voxel whose label is
/// in `into` (background by default) and whose centre lies within `thickness_mm` of a
/// `source_label` voxel centre gets `new_label`. Used to give an RV blood pool an RV free wall
/// where a segmentation has none. Returns the number of voxels changed. Throws `InvalidInput` for
/// an absent source label or a non-positive thickness.
std::int64_t grow_wall(LabelMap& labels, int source_label, double thickness_mm, int new_label,
                       const std::vector<int>& into = {0});

/// Smooth label weights for CGAL's weighted labelled-image domain: for every label in `wanted`
/// and for the background (every other value), the indicator x 255 blurred by a Gaussian of
/// `sigma_mm` (per-axis sigma in voxels = sigma_mm / spacing), then the maximum over labels, as
/// an 8-bit image on the same grid. With it the mesh surface follows a smooth iso-surface instead
/// of voxel terraces.
Image<std::uint8_t> label_weights(const LabelMap& labels, const std::vector<int>& wanted, double sigma_mm);

}  // namespace cardiotwin::mesh
