/// @file segment.hpp
/// @brief Image segmentation with TorchScript models (component `cardiotwin::segment`, libtorch).
///
/// A model is a folder with `model.pt` (TorchScript) and `metadata.json` (labels, input spacing,
/// normalisation, patch size; see docs/segmentation.md). Inference: orientation to the model's
/// convention (2-D models see slices across the voxel axis with the largest spacing), in-plane
/// resampling to the model spacing, intensity normalisation, sliding windows with Gaussian
/// weighting (optionally mirrored), probabilities resampled back onto the input grid, argmax,
/// largest connected component per label and hole filling. The result is a `LabelMap` on the
/// input image's geometry. This header speaks only cardiotwin types; libtorch stays in the .cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cardiotwin/core/image.hpp"

namespace cardiotwin::segment {

/// What `metadata.json` says about a model. All lengths mm.
struct ModelInfo {
  int format_version = 1;          ///< metadata format version (1)
  std::string name;                ///< short model name, e.g. "sunnybrook_lv"
  std::string description;         ///< free text (training data, licence, citation)
  int dimensions = 2;              ///< 2: slice-wise model (3-D models are not supported yet)
  int input_channels = 1;          ///< image channels the network takes (1)
  /// Label names and values, ordered by value (0 = background).
  std::vector<std::pair<std::string, int>> labels;
  /// The label name of each output channel of the network (its size = output channels).
  std::vector<std::string> output_channels;
  std::string slice_axis = "largest_spacing";  ///< "largest_spacing", "i", "j" or "k"
  std::vector<double> spacing_mm;              ///< in-plane model spacing (2 values)
  std::vector<std::int64_t> patch_size;        ///< network input size (2 values), model voxels
  std::string normalisation = "percentile_zscore";  ///< "percentile_zscore", "zscore" or "none"
  double percentile_low = 0.5;    ///< lower clipping percentile (percentile_zscore)
  double percentile_high = 99.5;  ///< upper clipping percentile (percentile_zscore)
  /// Smallest plausible volume (mL) per label, indexed like `labels` (0: no limit). A label whose
  /// segmented volume is smaller is removed with a warning: networks hallucinate small blobs on
  /// images without the structure. From the optional metadata object `min_volume_ml` {name: mL}.
  std::vector<double> min_volume_ml;
  /// (inner, outer) label values where the outer structure surrounds the inner one (the LV
  /// myocardium around the LV blood pool), from the optional metadata object `enclosed_by`
  /// {inner name: outer name}. Used by `select_enclosed` to find the right component.
  std::vector<std::pair<int, int>> enclosed_by;

  /// Parse and validate metadata JSON text; `source` names the file in error messages.
  static ModelInfo from_json(const std::string& text, const std::string& source = {});
  /// Read and validate a metadata file.
  static ModelInfo read(const std::string& path);
  /// Label value of output channel `c`.
  int channel_label(std::size_t c) const;
};

/// Options of `Model::segment`; defaults are the recommended settings.
struct SegmentOptions {
  int version = 1;            ///< options format version
  /// Fraction of a patch shared by neighbouring windows, [0, 0.95]. 0.25: 9 windows of 96 x 96 per
  /// 233 x 233 slice instead of 16 at 0.5, 1.8x faster with the same Dice on the bundled case.
  double overlap = 0.25;
  double gaussian_sigma = 0.125;  ///< window weight sigma as a fraction of the patch size
  bool mirror = false;        ///< average with the predictions of both in-plane flips (3x slower)
  bool largest_component = true;  ///< keep the largest 3-D connected component (26-neighbours) per label
  bool fill_holes = true;     ///< fill enclosed background regions per slice with the surrounding label
  bool min_volume = true;     ///< remove labels smaller than the model's `min_volume_ml`
  int threads = 0;            ///< libtorch intra-op threads (> 0 sets it process-wide; 0 keeps it)
  int batch = 16;             ///< windows per network call

  /// JSON text of these options.
  std::string to_json() const;
  /// Options from JSON text (unknown keys and bad values throw `InvalidInput`).
  static SegmentOptions from_json(const std::string& text);
};

/// The outcome of a segmentation: labels on the input geometry and what happened on the way.
struct SegmentResult {
  LabelMap labels;                          ///< same shape/geometry as the input image
  std::vector<std::int64_t> voxel_counts;   ///< voxels per label, indexed like `ModelInfo::labels`
  std::vector<double> volumes_ml;           ///< the same in mL
  std::vector<std::string> warnings;        ///< e.g. "no foreground found" (never silent)
  bool empty = false;                       ///< no voxel got a non-background label
};

/// Network forward pass: `input` is (n, channels, h, w) float32 C-contiguous; writes
/// (n, out_channels, h, w) logits to `output` (resized by the callee).
using ForwardFn = std::function<void(const std::vector<float>& input, std::int64_t n,
                                     std::int64_t h, std::int64_t w, std::vector<float>& output,
                                     std::int64_t& out_channels)>;

/// A loaded segmentation model (TorchScript + metadata). Cheap to copy (shared state).
class Model {
 public:
  /// Load `model.pt` and `metadata.json` from folder `dir`.
  static Model load(const std::string& dir);
  /// Load from explicit file paths.
  static Model load(const std::string& model_path, const std::string& metadata_path);
  /// A model whose network is any callable (tests, non-TorchScript back ends).
  Model(ModelInfo info, ForwardFn forward);

  const ModelInfo& info() const noexcept { return *info_; }

  /// Segment `image` (any intensities; 3-D, a single slice is shape (nx, ny, 1)).
  SegmentResult segment(const Image<float>& image, const SegmentOptions& options = {}) const;

  /// Class probabilities on the input grid, (channels) images, before argmax/postprocessing.
  std::vector<Image<float>> probabilities(const Image<float>& image,
                                          const SegmentOptions& options = {}) const;

 private:
  std::shared_ptr<const ModelInfo> info_;
  ForwardFn forward_;
};

// ---- building blocks (exposed for tests and for users who bring their own network) ----------

/// Voxel axis (0, 1, 2) across which a 2-D model sees slices, per `info.slice_axis`.
int slice_axis(const Image<float>& image, const ModelInfo& info);

/// Normalised copy of the voxel values per `info.normalisation`.
std::vector<float> normalise(const Image<float>& image, const ModelInfo& info);

/// Keep only the largest 26-connected component of each non-zero label value in `labels`
/// (other voxels of that label become 0). Returns the number of voxels removed.
std::int64_t keep_largest_components(LabelMap& labels);

/// Keep the component (26-connected) of label `inner` that is best surrounded by label `outer`
/// in its slices (score: size x (fraction of its in-slice boundary touching `outer`)^4), and of
/// `outer` only the components touching it. Networks trained on few cases label look-alikes
/// (other blood pools, fat) elsewhere; the one with a wall around it is the structure. Returns
/// the number of voxels removed.
std::int64_t select_enclosed(LabelMap& labels, int inner, int outer, int axis = 2);

/// Per slice across `axis`: background (0) regions that do not touch the slice border
/// (4-connected) get the most frequent label around them. Returns the number of voxels filled.
std::int64_t fill_holes(LabelMap& labels, int axis = 2);

/// Set the number of libtorch intra-op threads (process-wide).
void set_num_threads(int threads);

}  // namespace cardiotwin::segment
