#include <catch2/catch.hpp>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/core/mesh.hpp"

using namespace cardiotwin;

namespace {
// Unit cube split into 6 positively oriented tets around the main diagonal 0-6.
TetMesh cube() {
  TetMesh m;
  m.points.resize(8, 3);
  m.points << 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1;
  m.tets.resize(6, 4);
  m.tets << 0, 1, 2, 6, 0, 2, 3, 6, 0, 3, 7, 6, 0, 7, 4, 6, 0, 4, 5, 6, 0, 5, 1, 6;
  fix_orientation(m);
  return m;
}
}  // namespace

TEST_CASE("a valid cube mesh passes every check", "[core][mesh]") {
  TetMesh m = cube();
  const MeshCheck r = check_mesh(m);
  CHECK(r.ok());
  CHECK(r.inverted == 0);
  CHECK(r.unused_points == 0);
  CHECK(r.total_measure == Approx(1.0));
  CHECK(tet_volumes(m).minCoeff() > 0);
  CHECK_NOTHROW(validate_mesh(m));
}

TEST_CASE("inverted, degenerate and out-of-range tets are found and named", "[core][mesh]") {
  TetMesh m = cube();
  std::swap(m.tets(2, 0), m.tets(2, 1));  // invert tet 2
  MeshCheck r = check_mesh(m);
  CHECK(r.inverted == 1);
  CHECK(r.first_bad_cell == 2);
  CHECK_THROWS_WITH(validate_mesh(m, "heart.vtu"),
                    Catch::Contains("1 inverted") && Catch::Contains("element 2") &&
                        Catch::Contains("heart.vtu"));
  CHECK(fix_orientation(m) == 1);
  CHECK(check_mesh(m).ok());

  m.points.row(7) = m.points.row(0);  // tets using 0 and 7 collapse
  r = check_mesh(m);
  CHECK(r.degenerate == 2);

  m = cube();
  m.tets(5, 3) = 8;
  r = check_mesh(m);
  CHECK(r.out_of_range == 1);
  CHECK_THROWS_AS(validate_mesh(m), InvalidInput);

  m = cube();
  m.tets(1, 1) = m.tets(1, 0);
  CHECK(check_mesh(m).repeated_nodes == 1);
}

TEST_CASE("unused points are counted and removed with their fields", "[core][mesh]") {
  TetMesh m = cube();
  m.points.conservativeResize(9, 3);
  m.points.row(8) << 5, 5, 5;
  Field f(9, 1);
  for (int i = 0; i < 9; ++i) f(i, 0) = i;
  m.point_data["id"] = f;
  CHECK(check_mesh(m).unused_points == 1);
  CHECK(check_mesh(m).ok());  // reported, not an error
  CHECK(remove_unused_points(m) == 1);
  CHECK(m.points.rows() == 8);
  CHECK(m.point_data["id"].rows() == 8);
  CHECK(check_mesh(m).unused_points == 0);
}

TEST_CASE("array sizes that disagree are named", "[core][mesh]") {
  TetMesh m = cube();
  m.region.resize(5);
  CHECK_THROWS_WITH(validate_mesh(m), Catch::Contains("region") && Catch::Contains("6 (one per tet)"));
  m = cube();
  m.fibre = Directions::Zero(6, 3);
  m.fibre.col(0).setOnes();
  m.fibre(4, 0) = 2.0;
  CHECK_THROWS_WITH(validate_mesh(m), Catch::Contains("fibre") && Catch::Contains("element 4"));
  m = cube();
  m.cell_data["x"] = Field::Zero(3, 1);
  CHECK_THROWS_WITH(validate_mesh(m), Catch::Contains("'x'") && Catch::Contains("6 rows"));
}
