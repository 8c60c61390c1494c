#include <catch2/catch.hpp>

#include <Eigen/Geometry>
#include <cmath>
#include <fstream>
#include <random>

#include "cardiotwin/core/atomic_file.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/io/opencarp.hpp"
#include "../test_util.hpp"

using namespace cardiotwin;
using Catch::Contains;

namespace {

// A cube of side 1.5 mm split into 6 tets, with region tags and an orthonormal fibre frame.
TetMesh tagged_cube(bool fibres, bool sheets) {
  TetMesh m;
  m.points.resize(8, 3);
  m.points << 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1;
  m.points *= 1.5;
  m.points.row(6) << 1.5, 1.5, 1.234567890123;  // needs all 17 digits to round-trip
  m.tets.resize(6, 4);
  m.tets << 0, 1, 2, 6, 0, 2, 3, 6, 0, 3, 7, 6, 0, 7, 4, 6, 0, 4, 5, 6, 0, 5, 1, 6;
  fix_orientation(m);
  m.region.resize(6);
  m.region << 1, 1, 2, 2, -3, 70000;
  if (fibres) {
    m.fibre.resize(6, 3);
    m.sheet.resize(6, 3);
    m.normal.resize(6, 3);
    for (int e = 0; e < 6; ++e) {
      const double a = 0.3 * e;
      m.fibre.row(e) << std::cos(a), std::sin(a), 0;
      m.sheet.row(e) << -std::sin(a), std::cos(a), 0;
      m.normal.row(e) = m.fibre.row(e).cross(m.sheet.row(e));
    }
    if (!sheets) {
      m.sheet.resize(0, 3);
      m.normal.resize(0, 3);
    }
  }
  return m;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

const std::string kPts = "4\n0 0 0\n1000 0 0\n0 1000 0\n0 0 1000\n";
const std::string kElem = "1\nTt 0 1 2 3 5\n";

TetMesh parse(const std::string& pts, const std::string& elem, const std::string& lon = {}) {
  return io::parse_opencarp(pts, elem, lon, "heart");
}

}  // namespace

TEST_CASE("openCARP round trip keeps points, tets, tags, fibres and sheets", "[io][opencarp]") {
  test::TempDir dir;
  const std::string base = dir.file("heart");
  const TetMesh m = tagged_cube(true, true);
  io::write_opencarp(base, m);

  // um on disk: the point at 1.5 mm is written as 1500.
  const std::string pts = read_file_bytes(base + ".pts");
  CHECK(pts.rfind("8\n0 0 0\n1500 0 0\n1500 1500 0\n", 0) == 0);
  const std::string elem = read_file_bytes(base + ".elem");
  CHECK(elem.rfind("6\nTt ", 0) == 0);
  CHECK(elem.find(" 70000\n") != std::string::npos);
  CHECK(read_file_bytes(base + ".lon").rfind("2\n1 0 0 -0 1 0\n", 0) == 0);

  for (const std::string& name : {base, base + ".pts", base + ".elem", base + ".lon"}) {
    CAPTURE(name);
    const TetMesh r = io::read_opencarp(name);
    REQUIRE(r.num_points() == 8);
    REQUIRE(r.num_tets() == 6);
    for (int i = 0; i < 8; ++i)
      for (int k = 0; k < 3; ++k) CHECK(r.points(i, k) == Approx(m.points(i, k)).epsilon(1e-15));
    CHECK(r.points(1, 0) == 1.5);
    CHECK(r.tets == m.tets);
    CHECK(r.region == m.region);
    REQUIRE(r.fibre.rows() == 6);
    REQUIRE(r.sheet.rows() == 6);
    REQUIRE(r.normal.rows() == 6);
    CHECK((r.fibre - m.fibre).cwiseAbs().maxCoeff() < 1e-15);
    CHECK((r.sheet - m.sheet).cwiseAbs().maxCoeff() < 1e-15);
    CHECK((r.normal - m.normal).cwiseAbs().maxCoeff() < 1e-15);
    CHECK_NOTHROW(validate_mesh(r));
  }
}

TEST_CASE("openCARP fibres only, no fibres, and a stale .lon", "[io][opencarp]") {
  test::TempDir dir;
  const std::string base = dir.file("heart");
  io::write_opencarp(base, tagged_cube(true, false));
  CHECK(read_file_bytes(base + ".lon").rfind("1\n1 0 0\n", 0) == 0);
  TetMesh r = io::read_opencarp(base);
  CHECK(r.fibre.rows() == 6);
  CHECK(r.sheet.rows() == 0);
  CHECK(r.normal.rows() == 0);

  // Writing a mesh without fibres removes the old .lon instead of leaving it to be paired.
  io::write_opencarp(base, tagged_cube(false, false));
  CHECK_FALSE(test::exists(base + ".lon"));
  r = io::read_opencarp(base);
  CHECK(r.fibre.rows() == 0);
  CHECK(r.region.size() == 6);

  TetMesh bad = tagged_cube(true, true);
  bad.fibre.resize(0, 3);
  CHECK_THROWS_AS(io::write_opencarp(base, bad), InvalidInput);
}

TEST_CASE("openCARP random points round-trip to the last bit or one rounding", "[io][opencarp]") {
  test::TempDir dir;
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(-80.0, 80.0);
  TetMesh m;
  m.points.resize(2000, 3);
  for (Eigen::Index i = 0; i < m.points.size(); ++i) m.points.data()[i] = u(rng);
  m.tets.resize(1, 4);
  m.tets << 0, 1, 2, 3;
  fix_orientation(m);
  io::write_opencarp(dir.file("r"), m);
  const TetMesh r = io::read_opencarp(dir.file("r.pts"));
  // x -> x*1000 -> shortest text -> /1000: at most a couple of roundings from x.
  CHECK((r.points - m.points).cwiseAbs().maxCoeff() <= 2 * 80.0 * 1.2e-16);
}

TEST_CASE("openCARP parsing tolerates CRLF, blank lines, tabs and missing tags", "[io][opencarp]") {
  const TetMesh m = parse("4\r\n0 0 0\r\n\r\n  1000\t0 0  \r\n0 1e3 0\r\n0 0 +1000\r\n\r\n",
                          "2\r\nTt 0 1 2 3\r\nTt 0 1 2 3 7\r\n", "1\r\n2 0 0\r\n0 0 0.5\r\n");
  REQUIRE(m.num_points() == 4);
  CHECK(m.points(1, 0) == 1.0);
  CHECK(m.points(2, 1) == 1.0);
  CHECK(m.points(3, 2) == 1.0);
  CHECK(m.region[0] == 0);
  CHECK(m.region[1] == 7);
  // Non-unit directions are normalised.
  CHECK(m.fibre.row(0) == Eigen::RowVector3d(1, 0, 0));
  CHECK(m.fibre.row(1) == Eigen::RowVector3d(0, 0, 1));
  CHECK(m.sheet.rows() == 0);
}

TEST_CASE("openCARP .lon with sheets completes the normal; header-less .lon", "[io][opencarp]") {
  TetMesh m = parse(kPts, kElem, "2\n0 0 3 0 2 0\n");
  CHECK(m.fibre.row(0) == Eigen::RowVector3d(0, 0, 1));
  CHECK(m.sheet.row(0) == Eigen::RowVector3d(0, 1, 0));
  CHECK(m.normal.row(0) == Eigen::RowVector3d(-1, 0, 0));  // fibre x sheet
  m = parse(kPts, kElem, "1 0 0 0 1 0\n");
  CHECK(m.normal.row(0) == Eigen::RowVector3d(0, 0, 1));
  m = parse(kPts, kElem, "0 1 0");
  CHECK(m.fibre.row(0) == Eigen::RowVector3d(0, 1, 0));
  CHECK(m.sheet.rows() == 0);
  m = parse(kPts, kElem, "  \n");
  CHECK(m.fibre.rows() == 0);
}

TEST_CASE("malformed .pts files name the file and line", "[io][opencarp]") {
  CHECK_THROWS_WITH(parse("3\n0 0 0\n1 1 1\n", kElem),
                    Contains("file ends early") && Contains("3 points") && Contains("only 2") &&
                        Contains("heart.pts"));
  CHECK_THROWS_WITH(parse("1\n0 0 0\n1 1 1\n", kElem),
                    Contains("more lines than the header count") &&
                        Contains("file 'heart.pts', field 'line', element 3"));
  CHECK_THROWS_WITH(parse("4\n0 0 0\n1 abc 1\n0 1 0\n0 0 1\n", kElem),
                    Contains("not a number") && Contains("'abc'") &&
                        Contains("file 'heart.pts', field 'line', element 3"));
  CHECK_THROWS_WITH(parse("4\n0 0 0\n1 1\n0 1 0\n0 0 1\n", kElem),
                    Contains("wrong number of values") && Contains("2 values") &&
                        Contains("heart.pts") && Contains("element 3"));
  CHECK_THROWS_WITH(parse("4\n0 0 0\n1 0 0 5\n0 1 0\n0 0 1\n", kElem),
                    Contains("4 values") && Contains("element 3"));
  CHECK_THROWS_WITH(parse("4\n0 0 0\n1 nan 0\n0 1 0\n0 0 1\n", kElem),
                    Contains("non-finite") && Contains("element 3"));
  CHECK_THROWS_WITH(parse("four\n0 0 0\n", kElem),
                    Contains("not a number") && Contains("'four'") && Contains("element 1"));
  CHECK_THROWS_WITH(parse("-1\n", kElem), Contains("bad header count") && Contains("-1"));
  CHECK_THROWS_WITH(parse("4 3\n", kElem), Contains("bad header line") && Contains("element 1"));
  CHECK_THROWS_WITH(parse("", kElem), Contains("empty file") && Contains("heart.pts"));
  // A huge count allocates no more than the file can hold, then reports the short file.
  CHECK_THROWS_WITH(parse("2000000000\n0 0 0\n", kElem),
                    Contains("file ends early") && Contains("2000000000 points") &&
                        Contains("only 1") && Contains("heart.pts"));
  CHECK_THROWS_WITH(parse("3000000000\n", kElem), Contains("bad header count"));
  CHECK_THROWS_WITH(parse("99999999999999999999\n", kElem), Contains("out of range"));
  CHECK_THROWS_AS(parse("1\n0 0 0\n", kElem), FileFormatError);  // index 3 out of range
}

TEST_CASE("malformed .elem files name the file and line", "[io][opencarp]") {
  CHECK_THROWS_WITH(parse(kPts, "1\nTt 0 1 2 4 1\n"),
                    Contains("node index out of range") && Contains("[0, 4)") &&
                        Contains("found 4") &&
                        Contains("file 'heart.elem', field 'line', element 2"));
  CHECK_THROWS_WITH(parse(kPts, "1\nTt 0 -1 2 3 1\n"),
                    Contains("node index out of range") && Contains("found -1") &&
                        Contains("element 2"));
  CHECK_THROWS_WITH(parse(kPts, "1\nTt 0 1.5 2 3 1\n"),
                    Contains("not a number") && Contains("'1.5'") && Contains("element 2"));
  CHECK_THROWS_WITH(parse(kPts, "1\nTt 0 1 2\n"),
                    Contains("wrong number of values") && Contains("4 values"));
  CHECK_THROWS_WITH(parse(kPts, "1\nTt 0 1 2 3 1 9\n"), Contains("7 values"));
  CHECK_THROWS_WITH(parse(kPts, "1\nTt 0 1 2 3 3000000000\n"),
                    Contains("region tag out of range"));
  CHECK_THROWS_WITH(parse(kPts, "2\nTt 0 1 2 3 1\n"),
                    Contains("file ends early") && Contains("2 elements") &&
                        Contains("heart.elem"));
  CHECK_THROWS_WITH(parse(kPts, "1\nTt 0 1 2 3 1\nTt 0 1 2 3 1\n"),
                    Contains("more lines") && Contains("element 3"));
  // Other element types are counted over the whole file.
  CHECK_THROWS_WITH(
      parse(kPts, "5\nTt 0 1 2 3 1\nTr 0 1 2 1\nTr 0 1 3\nHx 0 1 2 3 0 1 2 3\nTr 1 2 3\n"),
      Contains("unsupported element types") && Contains("only tetrahedra (Tt)") &&
          Contains("1 Tt, 3 Tr, 1 Hx") && Contains("first non-tetrahedron on line 3") &&
          Contains("heart.elem"));
  CHECK_THROWS_WITH(parse(kPts, "1\nXy 0 1 2 3\n"),
                    Contains("unknown element type") && Contains("'Xy'") && Contains("element 2"));
  CHECK_THROWS_WITH(parse(kPts, "1\n0 1 2 3 1\n"), Contains("unknown element type"));
}

TEST_CASE("malformed .lon files name the file, line and element", "[io][opencarp]") {
  CHECK_THROWS_WITH(parse(kPts, kElem, "1\n0 0 0\n"),
                    Contains("zero-length fibre direction of element 0") &&
                        Contains("file 'heart.lon', field 'line', element 2"));
  CHECK_THROWS_WITH(parse(kPts, kElem, "2\n1 0 0 0 0 0\n"),
                    Contains("zero-length sheet direction of element 0"));
  CHECK_THROWS_WITH(parse(kPts, kElem, "2\n1 0 0 2 0 0\n"),
                    Contains("sheet direction parallel to fibre direction in element 0"));
  CHECK_THROWS_WITH(parse(kPts, kElem, "3\n1 0 0\n"),
                    Contains("bad number of fibre directions") && Contains("found 3"));
  CHECK_THROWS_WITH(parse(kPts, kElem, "1\n1 0 0 0 1 0\n"),
                    Contains("wrong number of values") && Contains("6 values") &&
                        Contains("element 2"));
  CHECK_THROWS_WITH(parse(kPts, kElem, "1\n1 0 0\n0 1 0\n"),
                    Contains("more lines than elements") && Contains("element 3"));
  CHECK_THROWS_WITH(parse(kPts, kElem, "1\n"),
                    Contains("file ends early") && Contains("only 0") && Contains("heart.lon"));
  CHECK_THROWS_WITH(parse(kPts, kElem, "1 0\n"), Contains("bad .lon header"));
  CHECK_THROWS_WITH(parse(kPts, kElem, "1\n1 0 x\n"),
                    Contains("not a number") && Contains("'x'") && Contains("heart.lon"));
  CHECK_THROWS_WITH(parse(kPts, "0\n", "1 0 0\n"), Contains("more lines than elements"));
}

TEST_CASE("openCARP read/write errors: missing files, invalid meshes", "[io][opencarp]") {
  test::TempDir dir;
  CHECK_THROWS_AS(io::read_opencarp(dir.file("nothing")), FileIOError);
  write_text(dir.file("m.pts"), kPts);
  write_text(dir.file("m.elem"), "1\nTt 0 1 2 3 1\n");
  CHECK(io::read_opencarp(dir.file("m")).fibre.rows() == 0);
  write_text(dir.file("m.lon"), "1\n0 0 0\n");
  CHECK_THROWS_WITH(io::read_opencarp(dir.file("m.elem")),
                    Contains(dir.file("m.lon")) && Contains("element 0"));

  // An inverted tet is refused before anything is written.
  TetMesh m = tagged_cube(false, false);
  std::swap(m.tets(0, 0), m.tets(0, 1));
  CHECK_THROWS_AS(io::write_opencarp(dir.file("bad"), m), InvalidInput);
  CHECK_FALSE(test::exists(dir.file("bad.pts")));
}
