#include "cardiotwin/ecg/torso.hpp"

#include "cardiotwin/mesh/tetgen.hpp"

namespace cardiotwin::ecg {

TorsoMesh ellipsoidal_torso(const TetMesh& heart, const BodyFrame& frame, const TorsoOptions& options,
                            const Points& refine_points, double refine_radius_mm) {
  options.validate();
  const SurfaceMesh surface = ellipsoid_torso_surface(frame, options);
  const SurfaceMesh plc = torso_plc(heart, surface, refine_points, refine_radius_mm);
  mesh::TetgenOptions t;
  t.max_radius_edge_ratio = options.max_radius_edge_ratio;
  t.max_volume_mm3 = options.max_volume_mm3;
  t.extra_switches = "Y";  // keep the heart's boundary faces (conforming with the heart mesh)
  const TetMesh filled = mesh::tetrahedralize(plc, t);
  return embed_heart(heart, plc, filled);
}

}  // namespace cardiotwin::ecg
