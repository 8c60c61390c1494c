#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <vector>

#include "cardiotwin/core/atomic_file.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/io/stl.hpp"
#include "../test_util.hpp"

using namespace cardiotwin;
using Catch::Contains;

namespace {

using Facet = std::array<float, 9>;  // 3 vertices

// An axis-aligned cube of side 2.5 (exact in float32), 12 outward-facing triangles.
SurfaceMesh cube() {
  SurfaceMesh m;
  m.points.resize(8, 3);
  m.points << 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1;
  m.points *= 2.5;
  m.triangles.resize(12, 3);
  m.triangles << 0, 2, 1, 0, 3, 2, 4, 5, 6, 4, 6, 7, 0, 1, 5, 0, 5, 4, 3, 7, 6, 3, 6, 2, 0, 4, 7,
      0, 7, 3, 1, 2, 6, 1, 6, 5;
  return m;
}

std::vector<Facet> soup(const SurfaceMesh& m) {
  std::vector<Facet> f;
  for (Eigen::Index t = 0; t < m.triangles.rows(); ++t) {
    Facet x{};
    for (int v = 0; v < 3; ++v)
      for (int k = 0; k < 3; ++k) x[3 * v + k] = static_cast<float>(m.points(m.triangles(t, v), k));
    f.push_back(x);
  }
  return f;
}

void put_u32(std::string& s, std::uint32_t u) {
  for (int i = 0; i < 4; ++i) s += static_cast<char>((u >> (8 * i)) & 0xffu);
}
void put_f32(std::string& s, float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  put_u32(s, u);
}
float get_f32(const std::string& s, std::size_t at) {
  std::uint32_t u = 0;
  for (std::size_t i = 0; i < 4; ++i)
    u |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// A binary STL built by hand (little-endian), normals zero, attributes zero.
std::string binary_stl(const std::vector<Facet>& facets, const std::string& header = "test") {
  std::string s = header;
  s.resize(80, '\0');
  put_u32(s, static_cast<std::uint32_t>(facets.size()));
  for (const Facet& f : facets) {
    for (int k = 0; k < 3; ++k) put_f32(s, 0.0f);
    for (float x : f) put_f32(s, x);
    s += std::string(2, '\0');
  }
  return s;
}

std::string ascii_facet(const std::string& a, const std::string& b, const std::string& c) {
  return "facet normal 0 0 0\n outer loop\n  vertex " + a + "\n  vertex " + b + "\n  vertex " + c +
         "\n endloop\nendfacet\n";
}

// Every triangle of `r` has the same corner coordinates as the same triangle of `m`.
void check_same_triangles(const SurfaceMesh& r, const SurfaceMesh& m) {
  REQUIRE(r.num_triangles() == m.num_triangles());
  for (Eigen::Index t = 0; t < m.triangles.rows(); ++t)
    for (int v = 0; v < 3; ++v)
      CHECK(r.points.row(r.triangles(t, v)) == m.points.row(m.triangles(t, v)));
}

}  // namespace

TEST_CASE("STL binary and ASCII round trips merge the cube to 8 vertices", "[io][stl]") {
  test::TempDir dir;
  const SurfaceMesh m = cube();
  for (const bool binary : {true, false}) {
    CAPTURE(binary);
    const std::string path = dir.file(binary ? "cube_bin.stl" : "cube_ascii.stl");
    io::write_stl(path, m, binary);
    const SurfaceMesh r = io::read_stl(path);
    CHECK(r.num_points() == 8);
    check_same_triangles(r, m);
    CHECK(r.tags.size() == 12);
    CHECK(r.tags.maxCoeff() == 0);
    CHECK(check_mesh(r).ok());
  }
  const std::string bin = read_file_bytes(dir.file("cube_bin.stl"));
  REQUIRE(bin.size() == 84 + 50 * 12);
  CHECK(bin.compare(0, 5, "solid") != 0);
  // Facet normals from the vertex order: facet 0 is the bottom (-z), facet 2 the top (+z).
  CHECK(get_f32(bin, 84 + 0) == 0.0f);
  CHECK(get_f32(bin, 84 + 8) == -1.0f);
  CHECK(get_f32(bin, 84 + 100 + 8) == 1.0f);
  const std::string text = read_file_bytes(dir.file("cube_ascii.stl"));
  CHECK(text.rfind("solid ", 0) == 0);
  CHECK(text.find("facet normal 0 0 -1\n") != std::string::npos);
  CHECK(text.find("vertex 2.5 2.5 2.5\n") != std::string::npos);
}

TEST_CASE("STL precision: ASCII round-trips doubles, binary stores float32", "[io][stl]") {
  test::TempDir dir;
  SurfaceMesh m;
  m.points.resize(3, 3);
  m.points << 0.1, 0.2, 0.3, 1.0 / 3.0, 0, 0, 0, 1e-7, 12345.678901234;
  m.triangles.resize(1, 3);
  m.triangles << 0, 1, 2;
  io::write_stl(dir.file("a.stl"), m, false);
  CHECK(io::read_stl(dir.file("a.stl")).points == m.points);
  io::write_stl(dir.file("b.stl"), m, true);
  const SurfaceMesh b = io::read_stl(dir.file("b.stl"));
  CHECK(b.points == m.points.cast<float>().cast<double>());
}

TEST_CASE("STL triangle soups are welded on exactly equal coordinates", "[io][stl]") {
  std::vector<Facet> f = soup(cube());
  SurfaceMesh r = io::parse_stl(binary_stl(f), "soup.stl");
  CHECK(r.num_points() == 8);
  CHECK(r.num_triangles() == 12);
  check_same_triangles(r, cube());

  // -0 and +0 are the same vertex; a vertex off by one float ulp is not.
  f[0][0] = -0.0f;
  f[1][0] = std::nextafter(0.0f, 1.0f);
  r = io::parse_stl(binary_stl(f), "soup.stl");
  CHECK(r.num_points() == 9);
  CHECK_FALSE(std::signbit(r.points(r.triangles(0, 0), 0)));
}

TEST_CASE("STL detection: the size decides, not the 'solid' keyword", "[io][stl]") {
  // A binary file whose header starts with "solid" (SolidWorks and others write this).
  const std::string bin = binary_stl(soup(cube()), "solid cube exported as binary");
  const SurfaceMesh b = io::parse_stl(bin, "b.stl");
  CHECK(b.num_triangles() == 12);
  CHECK(b.num_points() == 8);

  // An ASCII file that starts with "solid", padded to a binary-looking size 84 + 50 k: the count
  // field (bytes 80..83, here text) does not match, so it is read as ASCII.
  std::string text = "solid one\n" + ascii_facet("0 0 0", "1 0 0", "0 1 0") + "endsolid one\n";
  while ((text.size() < 84) || (text.size() - 84) % 50 != 0) text += ' ';
  const SurfaceMesh a = io::parse_stl(text, "a.stl");
  CHECK(a.num_triangles() == 1);
  CHECK(a.num_points() == 3);

  // Empty meshes.
  CHECK(io::parse_stl(binary_stl({}), "e.stl").num_triangles() == 0);
  CHECK(io::parse_stl("solid\nendsolid\n", "e.stl").num_triangles() == 0);
}

TEST_CASE("ASCII STL with several solids, CRLF and upper case gives tags per solid", "[io][stl]") {
  const std::string text =
      "solid LV endocardium\r\n" + ascii_facet("0 0 0", "1 0 0", "0 1 0") +
      ascii_facet("1 0 0", "1 1 0", "0 1 0") + "endsolid LV endocardium\r\n" +
      "SOLID rv\r\n  FACET NORMAL 0 0 1\r\n OUTER LOOP\r\n VERTEX 0 0 0\r\n VERTEX +1.0 0 0\r\n "
      "VERTEX 0 0 1e0\r\n ENDLOOP\r\n ENDFACET\r\nENDSOLID rv\r\n";
  const SurfaceMesh m = io::parse_stl(text, "chambers.stl");
  REQUIRE(m.num_triangles() == 3);
  CHECK(m.num_points() == 5);  // (0,0,0) and (1,0,0) shared across solids
  CHECK(m.tags[0] == 0);
  CHECK(m.tags[1] == 0);
  CHECK(m.tags[2] == 1);
  CHECK(m.points.row(m.triangles(2, 2)) == Eigen::RowVector3d(0, 0, 1));
}

TEST_CASE("malformed STL files give clear messages", "[io][stl]") {
  const std::string bin = binary_stl(soup(cube()));
  // Truncated binary file: sizes are named.
  CHECK_THROWS_WITH(io::parse_stl(bin.substr(0, bin.size() - 7), "t.stl"),
                    Contains("binary STL has the wrong size") && Contains("84 + 50 x 12") &&
                        Contains("684 bytes") && Contains("677 bytes") && Contains("t.stl"));
  // A huge facet count is refused without allocating (the size does not match).
  std::string huge = bin;
  huge[83] = '\x7f';
  CHECK_THROWS_WITH(io::parse_stl(huge, "h.stl"), Contains("wrong size"));
  CHECK_THROWS_WITH(io::parse_stl("hello", "x.stl"),
                    Contains("not an STL file") && Contains("5 bytes") && Contains("x.stl"));
  CHECK_THROWS_WITH(io::parse_stl("", "x.stl"), Contains("not an STL file"));

  // Non-finite binary coordinates name the facet.
  std::vector<Facet> f = soup(cube());
  f[5][4] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(io::parse_stl(binary_stl(f), "n.stl"),
                    Contains("non-finite vertex coordinate in facet 5") &&
                        Contains("file 'n.stl', field 'facet', element 5"));

  const std::string head = "solid s\n" + ascii_facet("0 0 0", "1 0 0", "0 1 0");
  CHECK_THROWS_WITH(io::parse_stl(head + ascii_facet("0 0 0", "1 inf 0", "0 1 0") + "endsolid\n",
                                  "a.stl"),
                    Contains("non-finite vertex coordinate in facet 1") &&
                        Contains("file 'a.stl', field 'line', element 12"));
  CHECK_THROWS_WITH(io::parse_stl(head + ascii_facet("0 0 0", "1 x 0", "0 1 0"), "a.stl"),
                    Contains("not a number") && Contains("'x'") && Contains("element 12"));
  CHECK_THROWS_WITH(io::parse_stl(head + "facet normal 0 0 1\n outer loop\n vertex 0 0 0\n "
                                         "vertex 1 0 0\n endloop\n",
                                  "a.stl"),
                    Contains("unexpected ASCII STL keyword") && Contains("'vertex'") &&
                        Contains("'endloop'") && Contains("element 13"));
  CHECK_THROWS_WITH(io::parse_stl(head, "a.stl"),
                    Contains("ASCII STL ends early") && Contains("'endsolid'"));
  CHECK_THROWS_WITH(io::parse_stl(head + "endsolid s\nsolid t\nfacet\n", "a.stl"),
                    Contains("ends early") && Contains("'normal'"));
  CHECK_THROWS_WITH(io::parse_stl(head + "endsolid s\ngarbage\n", "a.stl"),
                    Contains("'solid' or the end of the file") && Contains("'garbage'"));
  // Junk is shown shortened in messages.
  try {
    io::parse_stl("solid x\n" + std::string(100000, 'A') + "\n", "j.stl");
    FAIL("no exception");
  } catch (const FileFormatError& e) {
    CHECK(std::string(e.what()).size() < 400);
    CHECK_THAT(e.what(), Contains("'AAAAAAAAAA") && Contains("...'"));
  }
  // Starts with "solid", is not valid ASCII, and is not binary-sized either: both are said.
  CHECK_THROWS_WITH(io::parse_stl(head + "facet normal 0 0 1 outer loop vertex 0 0", "a.stl"),
                    Contains("nor is it binary STL") && Contains("ends early"));
}

TEST_CASE("write_stl refuses what it cannot write and keeps degenerate facets", "[io][stl]") {
  test::TempDir dir;
  SurfaceMesh m = cube();
  m.triangles(3, 1) = 8;
  CHECK_THROWS_WITH(io::write_stl(dir.file("bad.stl"), m),
                    Contains("node index out of range") && Contains("element 3"));
  CHECK_FALSE(test::exists(dir.file("bad.stl")));
  m = cube();
  m.points(2, 1) = 1e300;
  CHECK_THROWS_AS(io::write_stl(dir.file("bad.stl"), m, true), InvalidInput);
  CHECK_NOTHROW(io::write_stl(dir.file("big.stl"), m, false));
  m.points(2, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(io::write_stl(dir.file("bad.stl"), m, false), InvalidInput);

  m = cube();
  m.triangles.conservativeResize(13, 3);
  m.triangles.row(12) << 0, 1, 1;  // degenerate
  io::write_stl(dir.file("deg.stl"), m);
  const SurfaceMesh r = io::read_stl(dir.file("deg.stl"));
  CHECK(r.num_triangles() == 13);
  CHECK(r.triangles(12, 1) == r.triangles(12, 2));
  const std::string bin = read_file_bytes(dir.file("deg.stl"));
  CHECK(get_f32(bin, 84 + 12 * 50 + 8) == 0.0f);
}
