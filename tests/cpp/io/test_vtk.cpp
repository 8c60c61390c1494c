#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <random>

#include "../test_util.hpp"
#include "cardiotwin/core/atomic_file.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/io/gzip.hpp"
#include "cardiotwin/io/vtk.hpp"

using namespace cardiotwin;

namespace {

// A box of n^3 cubes, each cut into 6 tets (Kuhn subdivision), positively oriented.
TetMesh box_mesh(int n, double h = 1.0) {
  TetMesh m;
  const int p = n + 1;
  m.points.resize(p * p * p, 3);
  auto id = [p](int i, int j, int k) { return static_cast<Index>(i + p * (j + p * k)); };
  for (int k = 0; k < p; ++k)
    for (int j = 0; j < p; ++j)
      for (int i = 0; i < p; ++i) m.points.row(id(i, j, k)) << i * h, j * h, k * h;
  m.tets.resize(6 * n * n * n, 4);
  const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  Eigen::Index t = 0;
  for (int k = 0; k < n; ++k)
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < n; ++i)
        for (const auto& perm : perms) {
          int c[3] = {i, j, k};
          Index v[4];
          v[0] = id(c[0], c[1], c[2]);
          for (int s = 0; s < 3; ++s) {
            ++c[perm[s]];
            v[s + 1] = id(c[0], c[1], c[2]);
          }
          m.tets.row(t++) << v[0], v[1], v[2], v[3];
        }
  fix_orientation(m);
  return m;
}

// The box with every kind of data our files carry.
TetMesh decorated_mesh(int n) {
  TetMesh m = box_mesh(n, 0.7);
  const auto nt = m.num_tets(), np = m.num_points();
  m.region.resize(nt);
  m.fibre.resize(nt, 3);
  m.sheet.resize(nt, 3);
  m.normal.resize(nt, 3);
  for (Eigen::Index e = 0; e < nt; ++e) {
    const double a = 0.1 * static_cast<double>(e);
    m.region[e] = static_cast<Index>(e % 3) - 1;
    m.fibre.row(e) << std::cos(a), std::sin(a), 0;
    m.sheet.row(e) << -std::sin(a), std::cos(a), 0;
    m.normal.row(e) << 0, 0, 1;
  }
  Field phi(np, 1), disp(np, 3), stress(nt, 6);
  for (Eigen::Index i = 0; i < np; ++i) {
    phi(i, 0) = std::sin(0.37 * static_cast<double>(i)) * 1e-7;
    disp.row(i) << 1.0 / 3.0 * static_cast<double>(i), -1e300, 5e-320;  // extremes and a subnormal
  }
  for (Eigen::Index e = 0; e < nt; ++e)
    for (int c = 0; c < 6; ++c) stress(e, c) = 0.1 * static_cast<double>(c) + static_cast<double>(e);
  m.point_data["phi"] = phi;
  m.point_data["displacement & <more>"] = disp;  // a name that needs escaping
  m.cell_data["stress"] = stress;
  return m;
}

void check_same(const TetMesh& a, const TetMesh& b) {
  CHECK(a.points == b.points);
  CHECK(a.tets == b.tets);
  CHECK(a.region == b.region);
  CHECK(a.fibre == b.fibre);
  CHECK(a.sheet == b.sheet);
  CHECK(a.normal == b.normal);
  REQUIRE(a.point_data.size() == b.point_data.size());
  REQUIRE(a.cell_data.size() == b.cell_data.size());
  for (const auto& [k, f] : a.point_data) {
    REQUIRE(b.point_data.count(k));
    CHECK(f == b.point_data.at(k));
  }
  for (const auto& [k, f] : a.cell_data) {
    REQUIRE(b.cell_data.count(k));
    CHECK(f == b.cell_data.at(k));
  }
}

SurfaceMesh square_surface() {
  SurfaceMesh s;
  s.points.resize(5, 3);
  s.points << 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0.5, 0.5, 0.25;
  s.triangles.resize(4, 3);
  s.triangles << 0, 1, 4, 1, 2, 4, 2, 3, 4, 3, 0, 4;
  s.tags.resize(4);
  s.tags << 1, 2, 2, 7;
  Field t(5, 1);
  t << 1, 2, 3, 4, 5.5;
  s.point_data["temperature"] = t;
  Field q(4, 2);
  q << 1, 2, 3, 4, 5, 6, 7, 8;
  s.cell_data["quality"] = q;
  return s;
}

// ---- hand-made binary documents, to read the forms our writer does not produce ----------------

std::string b64(std::string_view in) {
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (unsigned(static_cast<unsigned char>(in[i])) << 16) |
                       (unsigned(static_cast<unsigned char>(in[i + 1])) << 8) | static_cast<unsigned char>(in[i + 2]);
    out += abc[v >> 18];
    out += abc[(v >> 12) & 63];
    out += abc[(v >> 6) & 63];
    out += abc[v & 63];
  }
  if (i < in.size()) {
    unsigned v = unsigned(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) v |= unsigned(static_cast<unsigned char>(in[i + 1])) << 8;
    out += abc[v >> 18];
    out += abc[(v >> 12) & 63];
    out += i + 1 < in.size() ? abc[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

struct BinaryForm {
  bool header64 = false;
  bool compressed = false;
  bool big_endian = false;
  bool separate = true;  // base64 of header and data encoded separately
  int where = 0;         // 0 inline, 1 appended raw, 2 appended base64
};

template <class T>
std::string bytes_of(const std::vector<T>& v, bool big) {
  std::string s(v.size() * sizeof(T), '\0');
  if (!v.empty()) std::memcpy(s.data(), v.data(), s.size());
  if (big)
    for (std::size_t i = 0; i < s.size(); i += sizeof(T)) std::reverse(s.begin() + i, s.begin() + i + sizeof(T));
  return s;
}

std::string word(std::uint64_t w, const BinaryForm& f) {
  if (f.header64) return bytes_of(std::vector<std::uint64_t>{w}, f.big_endian);
  return bytes_of(std::vector<std::uint32_t>{static_cast<std::uint32_t>(w)}, f.big_endian);
}

class BinaryDoc {
 public:
  explicit BinaryDoc(BinaryForm f) : f_(f) {}

  template <class T>
  std::string array(const char* type, const char* name, int ncomp, const std::vector<T>& values) {
    const std::string data = bytes_of(values, f_.big_endian);
    std::string header, body;
    if (!f_.compressed) {
      header = word(data.size(), f_);
      body = data;
    } else {
      const std::size_t block = 20;  // small, so that arrays span several blocks
      const std::size_t nb = (data.size() + block - 1) / block;
      std::vector<std::string> z;
      for (std::size_t b = 0; b < nb; ++b) z.push_back(io::zlib_deflate(data.substr(b * block, block)));
      header = word(nb, f_) + word(block, f_) + word(nb ? data.size() - (nb - 1) * block : 0, f_);
      for (const auto& c : z) header += word(c.size(), f_), body += c;
    }
    std::string el = std::string("<DataArray type=\"") + type + "\" Name=\"" + name + "\" NumberOfComponents=\"" +
                     std::to_string(ncomp) + "\" ";
    const std::string encoded = f_.separate ? b64(header) + b64(body) : b64(header + body);
    if (f_.where == 0) return el + "format=\"binary\">\n  " + encoded + "\n</DataArray>\n";
    el += "format=\"appended\" offset=\"" + std::to_string(appended_.size()) + "\"/>\n";
    appended_ += f_.where == 1 ? header + body : encoded;
    return el;
  }

  std::string document(const std::string& body) const {
    std::string s = "<?xml version=\"1.0\"?>\n<!-- hand made -->\n"
                    "<VTKFile type=\"UnstructuredGrid\" version=\"1.0\" byte_order=\"";
    s += f_.big_endian ? "BigEndian" : "LittleEndian";
    s += "\" header_type=\"";
    s += f_.header64 ? "UInt64" : "UInt32";
    s += "\"";
    if (f_.compressed) s += " compressor=\"vtkZLibDataCompressor\"";
    s += ">\n<UnstructuredGrid>\n" + body + "</UnstructuredGrid>\n";
    if (f_.where != 0)
      s += std::string("<AppendedData encoding=\"") + (f_.where == 1 ? "raw" : "base64") + "\">\n  _" + appended_ +
           "\n</AppendedData>\n";
    return s + "</VTKFile>\n";
  }

 private:
  BinaryForm f_;
  std::string appended_;
};

std::string handmade_vtu(const BinaryForm& f) {
  BinaryDoc d(f);
  std::string body = "<Piece NumberOfPoints=\"5\" NumberOfCells=\"2\">\n<PointData>\n";
  body += d.array("UInt16", "temp", 1, std::vector<std::uint16_t>{1, 2, 3, 65535, 5});
  body += d.array("Float64", "pair", 2, std::vector<double>{0.5, 1, 2, 3, 4, 5, 6, 7, 8, -9.25});
  body += "</PointData>\n<CellData>\n";
  body += d.array("Int16", "region", 1, std::vector<std::int16_t>{-3, 300});
  body += "</CellData>\n<Points>\n";
  body += d.array("Float32", "Points", 3, std::vector<float>{0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1.5f, 1, 1});
  body += "</Points>\n<Cells>\n";
  body += d.array("Int64", "connectivity", 1, std::vector<std::int64_t>{0, 1, 2, 3, 1, 2, 3, 4});
  body += d.array("Int32", "offsets", 1, std::vector<std::int32_t>{4, 8});
  body += d.array("UInt8", "types", 1, std::vector<std::uint8_t>{10, 10});
  body += "</Cells>\n</Piece>\n";
  return d.document(body);
}

// A small ASCII .vtu whose parts can be broken one at a time.
struct MiniVtu {
  std::string file_type = "UnstructuredGrid";
  std::string num_points = "5";
  std::string num_cells = "2";
  std::string points = "0 0 0  1 0 0  0 1 0  0 0 1  1 1 1";
  std::string points_type = "Float64";
  std::string connectivity = "0 1 2 3  1 2 3 4";
  std::string offsets = "4 8";
  std::string types = "10 10";
  std::string cell_data = "<DataArray type=\"Int32\" Name=\"region\" format=\"ascii\">1 2</DataArray>";
  bool with_points = true;

  std::string str() const {
    std::string s = "<?xml version=\"1.0\"?>\n<VTKFile type=\"" + file_type + "\" version=\"0.1\">\n<UnstructuredGrid>\n";
    s += "<Piece NumberOfPoints=\"" + num_points + "\" NumberOfCells=\"" + num_cells + "\">\n";
    s += "<CellData>" + cell_data + "</CellData>\n";
    if (with_points)
      s += "<Points><DataArray type=\"" + points_type + "\" NumberOfComponents=\"3\" format=\"ascii\">" + points +
           "</DataArray></Points>\n";
    s += "<Cells>\n<DataArray type=\"Int32\" Name=\"connectivity\" format=\"ascii\">" + connectivity + "</DataArray>\n";
    s += "<DataArray type=\"Int32\" Name=\"offsets\" format=\"ascii\">" + offsets + "</DataArray>\n";
    s += "<DataArray type=\"UInt8\" Name=\"types\" format=\"ascii\">" + types + "</DataArray>\n";
    s += "</Cells>\n</Piece>\n</UnstructuredGrid>\n</VTKFile>\n";
    return s;
  }
};

std::string replace_once(std::string s, const std::string& from, const std::string& to) {
  const auto p = s.find(from);
  REQUIRE(p != std::string::npos);
  return s.replace(p, from.size(), to);
}

}  // namespace

TEST_CASE("vtu round-trips in every encoding", "[io][vtk]") {
  const TetMesh mesh = decorated_mesh(3);
  test::TempDir dir;
  for (auto enc : {io::VtkEncoding::ascii, io::VtkEncoding::binary, io::VtkEncoding::binary_compressed}) {
    CAPTURE(static_cast<int>(enc));
    const std::string text = io::vtu_string(mesh, enc);
    check_same(mesh, io::parse_vtu(text, "mem.vtu"));
    const std::string path = dir.file("m" + std::to_string(static_cast<int>(enc)) + ".vtu");
    io::write_vtu(path, mesh, enc);
    CHECK(read_file_bytes(path) == text);
    check_same(mesh, io::read_vtu(path));
  }
  // Compression pays off on smooth data, and the plain mesh round-trips too.
  CHECK(io::vtu_string(box_mesh(6), io::VtkEncoding::binary_compressed).size() <
        io::vtu_string(box_mesh(6), io::VtkEncoding::binary).size() / 2);
  check_same(box_mesh(2), io::parse_vtu(io::vtu_string(box_mesh(2)), "plain"));
  // An empty mesh is a valid file.
  check_same(TetMesh(), io::parse_vtu(io::vtu_string(TetMesh(), io::VtkEncoding::binary_compressed), "empty"));
}

TEST_CASE("writing refuses invalid meshes and leaves no file", "[io][vtk]") {
  test::TempDir dir;
  TetMesh bad = box_mesh(1);
  bad.tets(0, 0) = 99;
  CHECK_THROWS_AS(io::write_vtu(dir.file("bad.vtu"), bad), InvalidInput);
  CHECK_FALSE(test::exists(dir.file("bad.vtu")));
  TetMesh short_region = box_mesh(1);
  short_region.region.resize(2);
  CHECK_THROWS_AS(io::vtu_string(short_region), InvalidInput);
}

TEST_CASE("vtp and pvd round-trip", "[io][vtk]") {
  const SurfaceMesh s = square_surface();
  test::TempDir dir;
  for (auto enc : {io::VtkEncoding::ascii, io::VtkEncoding::binary, io::VtkEncoding::binary_compressed}) {
    io::write_vtp(dir.file("s.vtp"), s, enc);
    const SurfaceMesh r = io::read_vtp(dir.file("s.vtp"));
    CHECK(r.points == s.points);
    CHECK(r.triangles == s.triangles);
    CHECK(r.tags == s.tags);
    CHECK(r.point_data.at("temperature") == s.point_data.at("temperature"));
    CHECK(r.cell_data.at("quality") == s.cell_data.at("quality"));
    // The tag array also stays a cell field; writing it back does not duplicate it.
    CHECK(r.cell_data.at("tag").col(0).cast<Index>() == s.tags);
    const std::string again = io::vtp_string(r, enc);
    CHECK(again.find("Name=\"tag\"") == again.rfind("Name=\"tag\""));
  }
  const std::vector<io::PvdEntry> entries = {{0.0, "frame_0.vtu", 0}, {0.1, "frames/a&b 1.vtu", 2}, {1e-9, "x.vtu", 0}};
  io::write_pvd(dir.file("series.pvd"), entries);
  const auto back = io::read_pvd(dir.file("series.pvd"));
  REQUIRE(back.size() == entries.size());
  for (std::size_t i = 0; i < back.size(); ++i) {
    CHECK(back[i].time == entries[i].time);
    CHECK(back[i].file == entries[i].file);
    CHECK(back[i].part == entries[i].part);
  }
  CHECK_THROWS_AS(io::write_pvd(dir.file("bad.pvd"), {{0.0, "", 0}}), InvalidInput);
  CHECK_THROWS_WITH(io::parse_pvd("<VTKFile type=\"Collection\"><Collection><DataSet timestep=\"x\" file=\"a\"/>"
                                  "</Collection></VTKFile>", "t.pvd"),
                    Catch::Contains("bad timestep") && Catch::Contains("t.pvd"));
  CHECK_THROWS_WITH(io::parse_pvd("<VTKFile type=\"Collection\"><Collection><DataSet timestep=\"1\"/>"
                                  "</Collection></VTKFile>", "t.pvd"),
                    Catch::Contains("without file"));
  const auto minimal = io::parse_pvd("<?xml version='1.0'?><VTKFile type='Collection'><Collection>"
                                     "<DataSet file='a.vtu'/></Collection></VTKFile>", "m.pvd");
  REQUIRE(minimal.size() == 1);
  CHECK(minimal[0].time == 0.0);
}

TEST_CASE("binary forms VTK and others write are read", "[io][vtk]") {
  for (int bits = 0; bits < 48; ++bits) {
    BinaryForm f;
    f.header64 = bits & 1;
    f.compressed = bits & 2;
    f.big_endian = bits & 4;
    f.separate = bits & 8;
    f.where = bits / 16;
    CAPTURE(f.header64, f.compressed, f.big_endian, f.separate, f.where);
    const TetMesh m = io::parse_vtu(handmade_vtu(f), "hand.vtu");
    REQUIRE(m.num_points() == 5);
    CHECK(m.points(4, 0) == 1.5);
    CHECK(m.points(3, 2) == 1.0);
    REQUIRE(m.num_tets() == 2);
    CHECK(m.tets.row(1) == Eigen::RowVector4i(1, 2, 3, 4));
    REQUIRE(m.region.size() == 2);
    CHECK(m.region[0] == -3);
    CHECK(m.region[1] == 300);
    CHECK(m.point_data.at("temp")(3, 0) == 65535.0);
    CHECK(m.point_data.at("pair").cols() == 2);
    CHECK(m.point_data.at("pair")(4, 1) == -9.25);
  }
}

TEST_CASE("several pieces are merged", "[io][vtk]") {
  MiniVtu a;
  std::string one = a.str();
  const auto begin = one.find("<Piece"), end = one.find("</Piece>") + 8;
  const std::string piece = one.substr(begin, end - begin);
  const std::string two = one.insert(end, "\n" + piece);
  const TetMesh m = io::parse_vtu(two, "two.vtu");
  CHECK(m.num_points() == 10);
  REQUIRE(m.num_tets() == 4);
  CHECK(m.tets.row(3) == Eigen::RowVector4i(6, 7, 8, 9));
  CHECK(m.region == (Tags(4) << 1, 2, 1, 2).finished());
  // A piece without the region array cannot be merged silently.
  const std::string mixed = replace_once(two, "Name=\"region\"", "Name=\"other\"");
  CHECK_THROWS_WITH(io::parse_vtu(mixed, "mixed.vtu"), Catch::Contains("some pieces only") && Catch::Contains("region") &&
                                                         Catch::Contains("Piece 0"));
}

TEST_CASE("Rodero LV surface (zlib-compressed VTK file) is read", "[io][vtk][data]") {
  const std::string path = test::test_data("rodero/rodero01_lv_surface.vtp");
  if (!test::exists(path)) {
    WARN("skipped: " << path << " is missing");
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const SurfaceMesh s = io::read_vtp(path, "surface-id");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(seconds < 2.0);
  CHECK(s.num_points() == 50162);
  CHECK(s.num_triangles() == 100324);
  std::map<Index, int> counts;
  for (Eigen::Index i = 0; i < s.tags.size(); ++i) ++counts[s.tags[i]];
  CHECK(counts == std::map<Index, int>{{1, 35339}, {2, 63265}, {3, 839}, {4, 881}});
  const Eigen::RowVector3d size = s.points.colwise().maxCoeff() - s.points.colwise().minCoeff();
  CHECK(size[0] == Approx(85.7).margin(0.05));
  CHECK(size[1] == Approx(93.4).margin(0.05));
  CHECK(size[2] == Approx(94.7).margin(0.05));
  CHECK(s.cell_data.count("surface-id") == 1);
  CHECK(s.point_data.count("vtkOriginalPointIds") == 1);
  CHECK(s.point_data.at("vtkOriginalPointIds")(50161, 0) == 49413.0);  // checked with Python zlib
  // And it survives our writer.
  test::TempDir dir;
  io::write_vtp(dir.file("lv.vtp"), s, io::VtkEncoding::binary_compressed);
  const SurfaceMesh r = io::read_vtp(dir.file("lv.vtp"));
  CHECK(r.points == s.points);
  CHECK(r.triangles == s.triangles);
  CHECK(r.tags == s.tags);
}

TEST_CASE("malformed VTK files raise FileFormatError naming the problem", "[io][vtk][errors]") {
  const MiniVtu good;
  REQUIRE(io::parse_vtu(good.str(), "ok.vtu").num_tets() == 2);
  const auto fails = [](const std::string& text) { return io::parse_vtu(text, "bad.vtu"); };

  SECTION("truncated XML") {
    const std::string t = good.str();
    CHECK_THROWS_WITH(fails(t.substr(0, t.size() / 2)), Catch::Contains("truncated") && Catch::Contains("bad.vtu"));
    CHECK_THROWS_WITH(fails(t.substr(0, t.find("<Piece") + 8)), Catch::Contains("malformed XML"));
    CHECK_THROWS_WITH(fails(""), Catch::Contains("no XML root"));
    CHECK_THROWS_WITH(fails(replace_once(t, "</Cells>", "</Cell>")),
                      Catch::Contains("mismatched closing tag") && Catch::Contains("</Cells>"));
    CHECK_THROWS_WITH(fails(replace_once(t, "version=\"0.1\"", "version=0.1")), Catch::Contains("quoted value"));
    CHECK_THROWS_WITH(fails(replace_once(t, "Name=\"offsets\"", "Name=\"a&b;\"")), Catch::Contains("unknown entity"));
    CHECK_THROWS_WITH(fails(t + "<more/>"), Catch::Contains("more than one root"));
    CHECK_THROWS_WITH(fails(replace_once(t, "version=\"0.1\"", "version=\"0.1\" version=\"1.0\"")),
                      Catch::Contains("duplicate attribute") && Catch::Contains("'version' twice"));
    std::string deep;
    for (int i = 0; i < 100000; ++i) deep += "<a>";
    CHECK_THROWS_WITH(fails(deep), Catch::Contains("nested too deeply"));
  }
  SECTION("wrong type attribute") {
    MiniVtu m = good;
    m.file_type = "PolyData";
    CHECK_THROWS_WITH(fails(m.str()), Catch::Contains("wrong VTK file type") && Catch::Contains("UnstructuredGrid") &&
                                          Catch::Contains("PolyData"));
    CHECK_THROWS_WITH(io::parse_vtp(good.str(), "x.vtp"), Catch::Contains("wrong VTK file type"));
    CHECK_THROWS_WITH(fails("<root/>"), Catch::Contains("not a VTK XML file"));
  }
  SECTION("missing Points") {
    MiniVtu m = good;
    m.with_points = false;
    CHECK_THROWS_WITH(fails(m.str()), Catch::Contains("missing Points"));
  }
  SECTION("connectivity out of range") {
    MiniVtu m = good;
    m.connectivity = "0 1 2 3  1 2 5 4";
    CHECK_THROWS_WITH(fails(m.str()), Catch::Contains("connectivity index out of range") &&
                                          Catch::Contains("DataArray 'connectivity'") && Catch::Contains("element 6") &&
                                          Catch::Contains("[0, 5)"));
    m.connectivity = "0 1 2 3  1 2 -1 4";
    CHECK_THROWS_WITH(fails(m.str()), Catch::Contains("out of range"));
    m.connectivity = "0 1 2 3  1 2 3";
    CHECK_THROWS_WITH(fails(m.str()), Catch::Contains("wrong array length") && Catch::Contains("connectivity"));
  }
  SECTION("wrong cell type") {
    MiniVtu m = good;
    m.types = "10 12";
    CHECK_THROWS_WITH(fails(m.str()), Catch::Contains("unsupported cell types") && Catch::Contains("hexahedron: 1") &&
                                          Catch::Contains("tetra: 1"));
    m.types = "5 5";
    CHECK_THROWS_WITH(fails(m.str()), Catch::Contains("triangle: 2"));
    m.types = "10 300";
    CHECK_THROWS_WITH(fails(m.str()), Catch::Contains("bad number") && Catch::Contains("UInt8"));
  }
  SECTION("offsets not increasing or not tets") {
    MiniVtu m = good;
    m.offsets = "8 4";
    CHECK_THROWS_WITH(fails(m.str()), Catch::Contains("offsets not increasing") && Catch::Contains("element 1"));
    m.offsets = "3 8";
    CHECK_THROWS_WITH(fails(m.str()), Catch::Contains("without 4 nodes"));
  }
  SECTION("NumberOfPoints lying") {
    MiniVtu m = good;
    m.num_points = "6";
    CHECK_THROWS_WITH(fails(m.str()), Catch::Contains("wrong array length") && Catch::Contains("NumberOfPoints=6") &&
                                          Catch::Contains("DataArray 'Points'") && Catch::Contains("18 values") &&
                                          Catch::Contains("found 15 values"));
    m.num_points = "-1";
    CHECK_THROWS_WITH(fails(m.str()), Catch::Contains("NumberOfPoints"));
    m.num_points = "99999999999999999999999";
    CHECK_THROWS_WITH(fails(m.str()), Catch::Contains("NumberOfPoints"));
    m.num_points = "4611686018427387904";
    CHECK_THROWS_AS(fails(m.str()), FileFormatError);
    // The same in binary form: the header disagrees with the count.
    const std::string bin = io::vtu_string(box_mesh(2));
    const std::string n = "NumberOfPoints=\"27\"";
    CHECK_THROWS_WITH(fails(replace_once(bin, n, "NumberOfPoints=\"28\"")),
                      Catch::Contains("wrong array length") && Catch::Contains("84 values"));
    CHECK_THROWS_WITH(fails(replace_once(bin, n, "NumberOfPoints=\"100000000000\"")),
                      Catch::Contains("too many points"));
  }
  SECTION("bad values and attributes") {
    MiniVtu m = good;
    m.points = "0 0 0  1 0 0  0 1 0  0 0 1  1 1 x";
    CHECK_THROWS_WITH(fails(m.str()), Catch::Contains("bad number") && Catch::Contains("'x'") &&
                                          Catch::Contains("element 14"));
    m = good;
    m.points_type = "Float16";
    CHECK_THROWS_WITH(fails(m.str()), Catch::Contains("unsupported data type") && Catch::Contains("Float16"));
    m = good;
    m.cell_data = "<DataArray type=\"Float32\" Name=\"region\" format=\"ascii\">1 2.5</DataArray>";
    CHECK_THROWS_WITH(fails(m.str()), Catch::Contains("not a 32-bit integer") && Catch::Contains("region"));
    m.cell_data = "<DataArray type=\"Float32\" Name=\"fibre\" format=\"ascii\">1 0</DataArray>";
    CHECK_THROWS_WITH(fails(m.str()), Catch::Contains("3 components"));
    m.cell_data = "<DataArray type=\"Int32\" Name=\"f\" format=\"hex\">1 0</DataArray>";
    CHECK_THROWS_WITH(fails(m.str()), Catch::Contains("unknown DataArray format"));
    m.cell_data = "<DataArray type=\"Int32\" Name=\"f\" format=\"appended\" offset=\"0\"/>";
    CHECK_THROWS_WITH(fails(m.str()), Catch::Contains("appended data missing"));
    const std::string t = good.str();
    CHECK_THROWS_WITH(fails(replace_once(t, "Name=\"types\"", "Name=\"typo\"")),
                      Catch::Contains("missing types array"));
    CHECK_THROWS_WITH(fails(replace_once(t, "version=\"0.1\"", "version=\"0.1\" compressor=\"vtkLZ4DataCompressor\"")),
                      Catch::Contains("unsupported compressor"));
    CHECK_THROWS_WITH(fails(replace_once(t, "version=\"0.1\"", "version=\"0.1\" header_type=\"UInt16\"")),
                      Catch::Contains("header_type"));
  }
  SECTION("appended arrays sharing data") {
    std::string t = io::vtu_string(box_mesh(2));
    const std::string key = "Name=\"types\" format=\"appended\" offset=\"";
    const auto p = t.find(key) + key.size();
    t.replace(p, t.find('"', p) - p, "8");  // inside the Points data
    CHECK_THROWS_WITH(fails(t), Catch::Contains("overlap") && Catch::Contains("'types'"));
  }
  SECTION("bad base64") {
    BinaryForm f;
    std::string t = handmade_vtu(f);
    const auto p = t.find("format=\"binary\">\n  ") + 22;
    t[p] = '!';
    CHECK_THROWS_WITH(fails(t), Catch::Contains("invalid base64") && Catch::Contains("DataArray 'temp'"));
    std::string u = handmade_vtu(f);
    const auto q = u.find("</DataArray>");
    u.erase(q - 6, 4);  // cut the data short
    CHECK_THROWS_WITH(fails(u), Catch::Contains("truncated") && Catch::Contains("'temp'"));
  }
  SECTION("bad zlib") {
    std::string t = io::vtu_string(box_mesh(3), io::VtkEncoding::binary_compressed);
    const auto data = t.find("_", t.find("<AppendedData")) + 1;
    std::uint64_t nblocks = 0;  // of the first array, whose zlib stream follows its header
    std::memcpy(&nblocks, t.data() + data, 8);
    const auto z = data + 8 * (3 + nblocks);
    REQUIRE(static_cast<unsigned char>(t[z]) == 0x78);  // zlib stream header
    for (int i = 2; i < 12; ++i) t[z + i] = static_cast<char>(0xff);
    CHECK_THROWS_WITH(fails(t), Catch::Contains("corrupt zlib") && Catch::Contains("DataArray"));
    // A header that promises far more data than the file could hold is refused before allocating.
    BinaryForm f;
    f.compressed = true;
    f.header64 = true;
    std::string h = replace_once(handmade_vtu(f), "NumberOfPoints=\"5\"", "NumberOfPoints=\"500000000\"");
    const auto p = h.find("format=\"binary\">\n  ", h.find("Name=\"Points\"")) + 19;
    const std::string fake = b64(word(1, f) + word(6000000000, f) + word(0, f) + word(4, f));
    h.replace(p, fake.size(), fake);
    CHECK_THROWS_WITH(fails(h), Catch::Contains("larger than the file can hold") && Catch::Contains("'Points'"));
  }
  SECTION("surfaces: only triangles") {
    const SurfaceMesh s = square_surface();
    const std::string t = io::vtp_string(s, io::VtkEncoding::ascii);
    CHECK(io::parse_vtp(t, "ok.vtp").num_triangles() == 4);
    CHECK_THROWS_WITH(io::parse_vtp(replace_once(t, "NumberOfLines=\"0\"", "NumberOfLines=\"2\""), "l.vtp"),
                      Catch::Contains("Lines") && Catch::Contains("NumberOfLines=2"));
    const std::string quads =
        replace_once(replace_once(t, "NumberOfPolys=\"4\"", "NumberOfPolys=\"3\""), "3 6 9 12", "4 8 12");
    CHECK_THROWS_WITH(io::parse_vtp(quads, "q.vtp"), Catch::Contains("not triangles") && Catch::Contains("3 of 3"));
  }
}

TEST_CASE("garbage never crashes the parsers", "[io][vtk][errors]") {
  std::vector<std::string> docs = {io::vtu_string(decorated_mesh(1), io::VtkEncoding::ascii),
                                   io::vtu_string(decorated_mesh(1), io::VtkEncoding::binary),
                                   io::vtu_string(decorated_mesh(1), io::VtkEncoding::binary_compressed),
                                   handmade_vtu(BinaryForm{true, true, true, true, 2}),
                                   handmade_vtu(BinaryForm{false, true, false, false, 0})};
  std::mt19937 rng(7);
  int parsed = 0, rejected = 0;
  for (const auto& doc : docs) {
    for (std::size_t cut = 0; cut < doc.size(); cut += 1 + doc.size() / 300) {
      try {
        io::parse_vtu(doc.substr(0, cut), "cut");
        ++parsed;
      } catch (const Error&) {
        ++rejected;
      }
    }
    for (int trial = 0; trial < 300; ++trial) {
      std::string d = doc;
      for (int k = 0; k < 3; ++k) d[rng() % d.size()] = static_cast<char>(rng() & 0xff);
      try {
        io::parse_vtu(d, "flip");
        ++parsed;
      } catch (const Error&) {
        ++rejected;
      }
    }
  }
  CHECK(rejected > 0);
  CHECK(parsed + rejected > 1500);
}

TEST_CASE("1M-tet mesh: binary write and read are fast", "[.][vtk-perf]") {
  TetMesh m = box_mesh(56);  // 1,053,696 tets
  m.region = Tags::Zero(m.num_tets());
  test::TempDir dir;
  for (auto enc : {io::VtkEncoding::binary, io::VtkEncoding::binary_compressed, io::VtkEncoding::ascii}) {
    const auto t0 = std::chrono::steady_clock::now();
    io::write_vtu(dir.file("big.vtu"), m, enc);
    const auto t1 = std::chrono::steady_clock::now();
    const TetMesh r = io::read_vtu(dir.file("big.vtu"));
    const auto t2 = std::chrono::steady_clock::now();
    CHECK(r.tets == m.tets);
    WARN("encoding " << static_cast<int>(enc) << ": " << read_file_bytes(dir.file("big.vtu")).size()
                     << " bytes, write " << std::chrono::duration<double>(t1 - t0).count()
                     << " s, read " << std::chrono::duration<double>(t2 - t1).count() << " s");
  }
}
