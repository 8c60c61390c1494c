/// @file image.hpp
/// @brief `Image<T>`: a 3-D voxel array with physical geometry (spacing, origin, direction).
#pragma once

#include <Eigen/Core>
#include <Eigen/LU>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "cardiotwin/core/error.hpp"

namespace cardiotwin {

/// A 3-D image on a regular grid in world coordinates.
///
/// Voxels are stored with **i (x) varying fastest**, as on disk in NIfTI and in ITK, so that the
/// numpy view has shape `(nx, ny, nz)` in Fortran order and indexes like `nibabel`'s
/// `img.dataobj`.
///
/// Geometry follows NIfTI's RAS+ world frame (the frame of nibabel's `affine`), in mm:
/// `world = origin + direction * diag(spacing) * (i, j, k)`. `direction` holds the unit vectors
/// of the i, j and k axes as **columns**; they are normally orthogonal (qform) but may be sheared
/// (a general sform), which is kept exactly.
template <class T>
class Image {
 public:
  using value_type = T;
  using Shape = std::array<std::int64_t, 3>;

  Image() = default;
  /// An image of `shape` voxels filled with `fill`.
  explicit Image(const Shape& shape, const Eigen::Vector3d& spacing = Eigen::Vector3d::Ones(),
                 const Eigen::Vector3d& origin = Eigen::Vector3d::Zero(),
                 const Eigen::Matrix3d& direction = Eigen::Matrix3d::Identity(), T fill = T{})
      : shape_(shape) {
    for (int a = 0; a < 3; ++a)
      CARDIOTWIN_CHECK(shape[a] >= 1, InvalidInput, "bad image shape", "every dimension >= 1",
                       shape[0] << " x " << shape[1] << " x " << shape[2], Where({}, "shape", a));
    data_.assign(static_cast<std::size_t>(shape[0] * shape[1] * shape[2]), fill);
    set_geometry(spacing, origin, direction);
  }

  /// Number of voxels along i, j, k.
  const Shape& shape() const noexcept { return shape_; }
  /// Total number of voxels.
  std::int64_t size() const noexcept { return static_cast<std::int64_t>(data_.size()); }
  /// Voxel size along i, j, k in mm.
  const Eigen::Vector3d& spacing() const noexcept { return spacing_; }
  /// World position of voxel (0, 0, 0) in mm.
  const Eigen::Vector3d& origin() const noexcept { return origin_; }
  /// Unit axis directions as columns.
  const Eigen::Matrix3d& direction() const noexcept { return direction_; }

  /// Set spacing (mm, > 0), origin (mm) and direction (columns normalised; must be non-singular).
  void set_geometry(const Eigen::Vector3d& spacing, const Eigen::Vector3d& origin,
                    const Eigen::Matrix3d& direction) {
    for (int a = 0; a < 3; ++a)
      CARDIOTWIN_CHECK(std::isfinite(spacing[a]) && spacing[a] > 0, InvalidInput,
                       "bad image spacing", "a finite spacing > 0 mm", spacing[a],
                       Where({}, "spacing", a));
    CARDIOTWIN_CHECK(origin.allFinite(), InvalidInput, "bad image origin", "finite values",
                     origin.transpose(), Where({}, "origin"));
    Eigen::Matrix3d d = direction;
    for (int a = 0; a < 3; ++a) {
      const double n = d.col(a).norm();
      CARDIOTWIN_CHECK(std::isfinite(n) && n > 1e-12, InvalidInput, "bad image direction",
                       "a finite non-zero axis vector", d.col(a).transpose(),
                       Where({}, "direction", a));
      d.col(a) /= n;
    }
    CARDIOTWIN_CHECK(std::abs(d.determinant()) > 1e-9, InvalidInput, "bad image direction",
                     "three independent axes", "a singular matrix (det " << d.determinant() << ")",
                     Where({}, "direction"));
    spacing_ = spacing;
    origin_ = origin;
    direction_ = d;
  }

  /// The 4x4 voxel-index-to-world matrix (NIfTI/nibabel `affine`).
  Eigen::Matrix4d affine() const {
    Eigen::Matrix4d a = Eigen::Matrix4d::Identity();
    a.topLeftCorner<3, 3>() = direction_ * spacing_.asDiagonal();
    a.topRightCorner<3, 1>() = origin_;
    return a;
  }
  /// Set the geometry from a 4x4 affine; spacing is the column norms of its 3x3 block.
  void set_affine(const Eigen::Matrix4d& a) {
    const Eigen::Matrix3d m = a.topLeftCorner<3, 3>();
    Eigen::Vector3d s(m.col(0).norm(), m.col(1).norm(), m.col(2).norm());
    set_geometry(s, a.topRightCorner<3, 1>(), m);
  }

  /// World position (mm) of continuous voxel index `ijk`.
  Eigen::Vector3d index_to_world(const Eigen::Vector3d& ijk) const {
    return origin_ + direction_ * spacing_.cwiseProduct(ijk);
  }
  /// Continuous voxel index of world position `xyz` (mm).
  Eigen::Vector3d world_to_index(const Eigen::Vector3d& xyz) const {
    return (direction_.lu().solve(xyz - origin_)).cwiseQuotient(spacing_);
  }

  /// Linear offset of voxel (i, j, k) (i fastest).
  std::int64_t offset(std::int64_t i, std::int64_t j, std::int64_t k) const noexcept {
    return i + shape_[0] * (j + shape_[1] * k);
  }
  T& operator()(std::int64_t i, std::int64_t j, std::int64_t k) noexcept {
    return data_[static_cast<std::size_t>(offset(i, j, k))];
  }
  const T& operator()(std::int64_t i, std::int64_t j, std::int64_t k) const noexcept {
    return data_[static_cast<std::size_t>(offset(i, j, k))];
  }
  T* data() noexcept { return data_.data(); }
  const T* data() const noexcept { return data_.data(); }
  /// The voxel storage (i fastest). Resizing it breaks the image; assign values only.
  std::vector<T>& values() noexcept { return data_; }
  const std::vector<T>& values() const noexcept { return data_; }

  /// Same geometry and shape, voxel type `U`, filled with `fill`.
  template <class U>
  Image<U> like(U fill = U{}) const {
    return Image<U>(shape_, spacing_, origin_, direction_, fill);
  }

 private:
  Shape shape_{{0, 0, 0}};
  Eigen::Vector3d spacing_ = Eigen::Vector3d::Ones();
  Eigen::Vector3d origin_ = Eigen::Vector3d::Zero();
  Eigen::Matrix3d direction_ = Eigen::Matrix3d::Identity();
  std::vector<T> data_;
};

/// A label map: one unsigned 8-bit label per voxel (0 is background).
using LabelMap = Image<std::uint8_t>;

}  // namespace cardiotwin
