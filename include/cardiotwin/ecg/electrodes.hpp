/// @file electrodes.hpp
/// @brief ECG electrodes: standard 12-lead positions in a heart-centred body frame.
///
/// A `BodyFrame` says where the patient's left, anterior and superior directions point in the
/// mesh's coordinates and where the heart's centre is. Standard electrodes are defined in that
/// frame on an idealised elliptic-cylinder chest (`ElectrodePlacementOptions`), so that the same
/// placement works for any heart mesh once its frame is known: given explicitly, derived from the
/// heart's long axis and the direction of the right ventricle, or estimated from the mesh's
/// principal axes.
#pragma once

#include <Eigen/Core>
#include <Eigen/Geometry>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cardiotwin/core/mesh.hpp"

namespace cardiotwin::ecg {

/// Named electrode positions in mesh coordinates (mm).
struct Electrodes {
  std::vector<std::string> names;  ///< `#electrodes` unique names (e.g. "RA", "V1")
  Points positions;                ///< `#electrodes by 3`, mm, mesh coordinates

  std::int64_t size() const noexcept { return static_cast<std::int64_t>(names.size()); }
  /// Row of electrode `name`; throws `InvalidInput` listing the known names.
  std::int64_t index(const std::string& name) const;
  Eigen::Vector3d position(const std::string& name) const { return positions.row(index(name)); }
  /// {"names": [...], "positions_mm": [[x, y, z], ...]}
  nlohmann::json to_json() const;
  static Electrodes from_json(const nlohmann::json& j);
};

/// Throw `InvalidInput` if sizes disagree, names repeat or positions are not finite.
void validate_electrodes(const Electrodes& e);

/// The electrodes of the standard 12-lead ECG: limb (Mason-Likar torso positions) "RA", "LA",
/// "LL", "RL" and chest "V1" ... "V6", in this order.
const std::vector<std::string>& standard_electrode_names();

/// The patient's anatomical directions in mesh coordinates, centred on the heart.
struct BodyFrame {
  Eigen::Vector3d origin = Eigen::Vector3d::Zero();     ///< heart centre (mm)
  Eigen::Vector3d left = Eigen::Vector3d::UnitX();      ///< unit vector to the patient's left
  Eigen::Vector3d anterior = Eigen::Vector3d::UnitY();  ///< unit vector to the patient's front
  /// Unit vector to the head: left x anterior (a right-handed frame).
  Eigen::Vector3d superior() const { return left.cross(anterior); }
  /// Mesh coordinates of a point given in body coordinates (mm along left, anterior, superior).
  Eigen::Vector3d to_mesh(const Eigen::Vector3d& body) const {
    return origin + body[0] * left + body[1] * anterior + body[2] * superior();
  }
  /// Body coordinates of a point given in mesh coordinates.
  Eigen::Vector3d to_body(const Eigen::Vector3d& p) const {
    const Eigen::Vector3d d = p - origin;
    return {d.dot(left), d.dot(anterior), d.dot(superior())};
  }

  /// A frame from two directions (orthonormalised: `anterior` is made orthogonal to `left`).
  /// Throws `InvalidInput` for zero or parallel vectors.
  static BodyFrame from_axes(const Eigen::Vector3d& origin, const Eigen::Vector3d& left,
                             const Eigen::Vector3d& anterior);

  /// A frame from the heart's anatomy in mesh coordinates: `long_axis` points from base to apex,
  /// `rv_direction` from the LV towards the RV (only its part orthogonal to the long axis counts).
  /// The heart is then turned into its usual place in the chest: the apex points along
  /// `apex_body` and the RV along `rv_body` (body coordinates; the defaults put the apex left,
  /// anterior and inferior, and the RV right-anterior of the LV).
  static BodyFrame from_heart_axes(const Eigen::Vector3d& centre, const Eigen::Vector3d& long_axis,
                                   const Eigen::Vector3d& rv_direction,
                                   const Eigen::Vector3d& apex_body = default_apex_body(),
                                   const Eigen::Vector3d& rv_body = default_rv_body());

  /// Estimate the frame from the mesh's principal axes: the centre is the volume centroid, the
  /// long axis the axis of largest spread, pointing to the end farther from the centroid (the
  /// tapered apex), the RV direction the axis of second-largest spread, pointing to the side
  /// farther from the centroid. Good for LV and biventricular shapes; when the sign of the RV
  /// direction matters, pass it with `from_heart_axes`.
  static BodyFrame from_principal_axes(const TetMesh& heart);

  /// Apex direction in body coordinates: 45 degrees to the left of vertical in the frontal plane,
  /// tilted 30 degrees forward.
  static Eigen::Vector3d default_apex_body();
  /// LV-to-RV direction in body coordinates: right-anterior (before orthogonalisation).
  static Eigen::Vector3d default_rv_body();

  nlohmann::json to_json() const;
  static BodyFrame from_json(const nlohmann::json& j);
};

/// Where the standard electrodes lie, in body coordinates relative to the heart centre (mm).
///
/// The chest is an elliptic cylinder about the vertical axis through (`torso_centre_left_mm`,
/// `torso_centre_anterior_mm`) with semi-axes `torso_half_width_mm` (left-right) and
/// `torso_half_depth_mm` (front-back). Chest electrodes are put on its surface at the standard
/// landmarks: V1/V2 at the right/left sternal border, V4 on the mid-clavicular line, V5 on the
/// anterior axillary line, V6 on the mid-axillary line, V3 midway between V2 and V4. Limb
/// electrodes follow Mason-Likar: RA/LA in the infraclavicular fossae, LL in the left iliac fossa,
/// RL in the right lower abdomen. Every length is multiplied by `scale`.
struct ElectrodePlacementOptions {
  static constexpr int kVersion = 1;
  double scale = 1.0;                      ///< multiplies every length below
  double torso_half_width_mm = 160;        ///< chest semi-axis left-right
  double torso_half_depth_mm = 110;        ///< chest semi-axis front-back
  double torso_centre_left_mm = -30;       ///< chest axis relative to the heart centre (heart is left of the midline)
  double torso_centre_anterior_mm = -50;   ///< chest axis relative to the heart centre (heart is anterior)
  double sternal_half_width_mm = 20;       ///< V1/V2 distance from the midline
  double midclavicular_mm = 85;            ///< V4 distance from the midline
  double anterior_axillary_mm = 130;       ///< V5 distance from the midline
  double v12_height_mm = 25;               ///< height of V1/V2 (4th intercostal space) above the heart centre
  double v46_height_mm = -15;              ///< height of V4-V6 (5th intercostal space)
  double arm_height_mm = 150;              ///< height of RA/LA (infraclavicular fossae)
  double arm_from_midline_mm = 100;        ///< RA/LA distance from the midline
  double leg_height_mm = -250;             ///< height of LL/RL (iliac fossae)
  double leg_from_midline_mm = 90;         ///< LL/RL distance from the midline

  nlohmann::json to_json() const;
  /// Unknown keys and non-positive sizes raise `InvalidInput`.
  static ElectrodePlacementOptions from_json(const nlohmann::json& j);
  void validate() const;
};

/// Body coordinates (mm, relative to the heart centre) of the standard electrodes, in the order of
/// `standard_electrode_names()`.
Points standard_electrode_body_positions(const ElectrodePlacementOptions& options = {});

/// The standard electrodes in mesh coordinates.
Electrodes standard_electrodes(const BodyFrame& frame, const ElectrodePlacementOptions& options = {});

/// Markers for visual checking: a small octahedron of radius `radius_mm` per electrode; face tag
/// and point field "electrode" = index + 1 in `electrodes.names` order.
SurfaceMesh electrode_markers(const Electrodes& electrodes, double radius_mm = 4.0);

/// Write `electrode_markers` to a `.vtp` file and the names to a `.json` file beside it
/// (same path with the extension replaced), so a viewer shows where each electrode is.
void write_electrodes(const std::string& vtp_path, const Electrodes& electrodes, double radius_mm = 4.0);

}  // namespace cardiotwin::ecg
