/// @file torso.hpp
/// @brief A procedural ellipsoidal torso around a heart, meshed with TetGen (component
/// `cardiotwin::ecg_tetgen`, AGPL through TetGen; this header speaks only cardiotwin types).
#pragma once

#include "cardiotwin/ecg/electrodes.hpp"
#include "cardiotwin/ecg/lead_field.hpp"

namespace cardiotwin::ecg {

/// The heart embedded in an ellipsoidal torso (`TorsoOptions`, in the body frame `frame`):
/// the torso surface and the heart's boundary are filled with tets by TetGen keeping both
/// surfaces (switch Y) and grading from the heart's element size to `surface_size_mm`; the
/// heart's own tets and nodes come first. Throws `InvalidInput` when the torso does not contain
/// the heart. `refine_points` (e.g. electrodes inside the torso) get a fine mesh around them
/// (see `torso_plc`).
TorsoMesh ellipsoidal_torso(const TetMesh& heart, const BodyFrame& frame, const TorsoOptions& options = {},
                            const Points& refine_points = Points(), double refine_radius_mm = 3.0);

}  // namespace cardiotwin::ecg
