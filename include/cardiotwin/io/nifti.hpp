/// @file nifti.hpp
/// @brief NIfTI-1 images (`.nii`, `.nii.gz`; single-file only).
///
/// Geometry: the sform is used when sform_code > 0, else the qform when qform_code > 0 (as nibabel
/// and ITK do), else the voxel sizes alone, `diag(pixdim[1..3])` with the origin at voxel 0
/// ("method 1" of the NIfTI-1 standard, as niftilib and ITK do; nibabel instead flips x and
/// centres the image there). Lengths in metres or microns (`xyzt_units`) are converted to mm.
/// Values are scaled by scl_slope/scl_inter when scl_slope is finite, non-zero and not (1, 0),
/// as nibabel does.
#pragma once

#include <Eigen/Core>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "cardiotwin/core/image.hpp"

namespace cardiotwin::io {

/// NIfTI-1 datatype codes we read (we write uint8, int16, int32, float32, float64).
enum class NiftiType : std::int16_t {
  uint8 = 2, int16 = 4, int32 = 8, float32 = 16, float64 = 64,
  int8 = 256, uint16 = 512, uint32 = 768, int64 = 1024, uint64 = 1280
};

/// The header fields that matter for geometry and values.
struct NiftiInfo {
  std::array<std::int64_t, 3> shape{{0, 0, 0}};
  std::int64_t num_volumes = 1;   ///< product of dim[4..7]
  NiftiType datatype = NiftiType::uint8;
  /// Value scaling; both 0 when the file's slope is 0 or not finite (no scaling).
  double scl_slope = 0, scl_inter = 0;
  int qform_code = 0, sform_code = 0;
  /// The matrices as stored, in the file's spatial units (identity when their code is 0).
  Eigen::Matrix4d qform = Eigen::Matrix4d::Identity(), sform = Eigen::Matrix4d::Identity();
  /// The voxel-to-world matrix used (see file doc), in mm.
  Eigen::Matrix4d affine = Eigen::Matrix4d::Identity();
  double spatial_unit_to_mm = 1;  ///< from xyzt_units (mm assumed when unknown)
  std::string description;        ///< `descrip`
  bool big_endian = false;
  bool has_scaling() const noexcept {
    return scl_slope != 0 && !(scl_slope == 1 && scl_inter == 0);
  }
  /// True for integer on-disk types without scaling.
  bool is_integer() const noexcept;
};

/// Parse a NIfTI-1 header from the file's bytes (gzip detected by magic; only the header is
/// decompressed). The data is not read, so a file whose data is truncated still parses here.
/// `source` names the data in error messages.
NiftiInfo parse_nifti_info(std::string_view bytes, const std::string& source);
/// Read only the header of `path` (decompressing `.gz` as needed).
NiftiInfo read_nifti_info(const std::string& path);

/// Parse a whole NIfTI-1 file from bytes (gzip detected by magic) into voxel type `T`.
/// Values are converted with scaling. For integer `T`, a value that is not an integer or does not
/// fit `T` throws `FileFormatError` naming the voxel. `volume` selects one volume of a 4-D file.
template <class T>
Image<T> parse_nifti(std::string_view bytes, const std::string& source, std::int64_t volume = 0);
/// Read `path` (`.nii` or `.nii.gz`) into voxel type `T`; see `parse_nifti`.
template <class T>
Image<T> read_nifti(const std::string& path, std::int64_t volume = 0);

/// Write `image` to `path` (gzip when it ends in `.gz`) with both sform and qform set (code 1,
/// scanner), the datatype of `T`, units mm. Written atomically.
template <class T>
void write_nifti(const std::string& path, const Image<T>& image);
/// The file bytes `write_nifti` would write (uncompressed).
template <class T>
std::string nifti_bytes(const Image<T>& image);

// Instantiated for std::uint8_t, std::int16_t, std::int32_t, float, double.

}  // namespace cardiotwin::io
