#include "cardiotwin/mesh/procedural.hpp"

#include <cmath>

#include "cardiotwin/core/error.hpp"

namespace cardiotwin::mesh {

TetMesh box_mesh(const Eigen::Vector3d& size, double dx) {
  CARDIOTWIN_CHECK(std::isfinite(dx) && dx > 0, InvalidInput, "bad grid spacing", "dx > 0 mm", dx, Where({}, "dx"));
  std::int64_t cells[3], np[3];
  for (int a = 0; a < 3; ++a) {
    CARDIOTWIN_CHECK(std::isfinite(size[a]) && size[a] > 0, InvalidInput, "bad box size", "> 0 mm", size[a],
                     Where({}, "size", a));
    cells[a] = std::max<std::int64_t>(1, std::llround(size[a] / dx));
    np[a] = cells[a] + 1;
  }
  const std::int64_t num_points = np[0] * np[1] * np[2], num_tets = 6 * cells[0] * cells[1] * cells[2];
  CARDIOTWIN_CHECK(num_points < (std::int64_t(1) << 31) && num_tets < (std::int64_t(1) << 31), InvalidInput,
                   "box mesh too large", "< 2^31 points and tets", num_points << " points, " << num_tets << " tets",
                   Where({}, "dx"));
  TetMesh m;
  m.points.resize(num_points, 3);
  for (std::int64_t k = 0; k < np[2]; ++k)
    for (std::int64_t j = 0; j < np[1]; ++j)
      for (std::int64_t i = 0; i < np[0]; ++i)
        m.points.row(i + np[0] * (j + np[1] * k)) << size[0] * i / cells[0], size[1] * j / cells[1],
            size[2] * k / cells[2];
  // Cube corners c = x + 2y + 4z; six tets share the diagonal 0-7 (Kuhn subdivision), listed so
  // that every tet is positively oriented.
  static const int kTets[6][4] = {{0, 1, 3, 7}, {0, 3, 2, 7}, {0, 2, 6, 7}, {0, 6, 4, 7}, {0, 4, 5, 7}, {0, 5, 1, 7}};
  m.tets.resize(num_tets, 4);
  std::int64_t t = 0;
  for (std::int64_t k = 0; k < cells[2]; ++k)
    for (std::int64_t j = 0; j < cells[1]; ++j)
      for (std::int64_t i = 0; i < cells[0]; ++i) {
        Index v[8];
        for (int c = 0; c < 8; ++c)
          v[c] = static_cast<Index>((i + (c & 1)) + np[0] * ((j + ((c >> 1) & 1)) + np[1] * (k + ((c >> 2) & 1))));
        for (const auto& tet : kTets) {
          m.tets.row(t) << v[tet[0]], v[tet[1]], v[tet[2]], v[tet[3]];
          ++t;
        }
      }
  fix_orientation(m);  // orientation depends on the corner table's handedness; make it positive
  m.region = Tags::Ones(num_tets);
  m.fibre = Directions::Zero(num_tets, 3);
  m.sheet = Directions::Zero(num_tets, 3);
  m.normal = Directions::Zero(num_tets, 3);
  m.fibre.col(0).setOnes();
  m.sheet.col(1).setOnes();
  m.normal.col(2).setOnes();
  return m;
}

}  // namespace cardiotwin::mesh
