// Shapes shared by the ECG tests.
#pragma once

#include "cardiotwin/core/mesh.hpp"
#include "cardiotwin/mesh/procedural.hpp"

namespace cardiotwin::test {

/// A heart-sized stand-in: a box 40 x 40 x 60 mm centred at the origin whose cross-section
/// shrinks towards z = -30 (the "apex") to 35 % of the base, so that its long axis is z and the
/// apex at -z. Fibres along x (as the box), region 1.
inline TetMesh tapered_heart(double dx) {
  TetMesh m = mesh::box_mesh(Eigen::Vector3d(40, 40, 60), dx);
  for (Eigen::Index i = 0; i < m.points.rows(); ++i) {
    const double z = m.points(i, 2);
    const double s = 0.35 + 0.65 * z / 60;
    m.points(i, 0) = (m.points(i, 0) - 20) * s;
    m.points(i, 1) = (m.points(i, 1) - 20) * s;
    m.points(i, 2) = z - 30;
  }
  return m;
}

}  // namespace cardiotwin::test
