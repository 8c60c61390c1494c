#include "cardiotwin/io/stl.hpp"

#include <Eigen/Geometry>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <ostream>
#include <vector>

#include "cardiotwin/core/atomic_file.hpp"
#include "cardiotwin/core/error.hpp"

namespace cardiotwin::io {
namespace {

constexpr std::size_t kHeaderBytes = 80;
constexpr std::size_t kPreambleBytes = 84;  // header + uint32 facet count
constexpr std::size_t kFacetBytes = 50;     // normal, 3 vertices (12 float32), uint16 attribute
// Vertex indices are int32; three fresh vertices per facet.
constexpr std::uint64_t kMaxFacets =
    static_cast<std::uint64_t>(std::numeric_limits<Index>::max()) / 3;

std::uint32_t load_u32_le(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return static_cast<std::uint32_t>(b[0]) | static_cast<std::uint32_t>(b[1]) << 8 |
         static_cast<std::uint32_t>(b[2]) << 16 | static_cast<std::uint32_t>(b[3]) << 24;
}
float load_f32_le(const char* p) {
  const std::uint32_t u = load_u32_le(p);
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
void store_u32_le(char* p, std::uint32_t u) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((u >> (8 * i)) & 0xffu);
}
void store_f32_le(char* p, float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  store_u32_le(p, u);
}

/// Merges exactly coincident vertices in O(1) per vertex: an open-addressing hash table keyed on
/// the coordinates' bit patterns (with -0 folded into +0, which compares equal).
class VertexWelder {
 public:
  explicit VertexWelder(std::size_t expected_vertices) {
    std::size_t cap = 64;
    while (cap < 2 * expected_vertices) cap *= 2;
    slots_.assign(cap, -1);
    coords_.reserve(3 * expected_vertices);
  }

  Index insert(double x, double y, double z) {
    const double key[3] = {x + 0.0, y + 0.0, z + 0.0};  // -0.0 + 0.0 == +0.0
    std::uint64_t bits[3];
    std::memcpy(bits, key, sizeof bits);
    std::size_t mask = slots_.size() - 1;
    std::size_t i = hash(bits) & mask;
    while (slots_[i] >= 0) {
      const double* c = &coords_[3 * static_cast<std::size_t>(slots_[i])];
      if (std::memcmp(c, key, sizeof key) == 0) return slots_[i];
      i = (i + 1) & mask;
    }
    const auto id = static_cast<Index>(coords_.size() / 3);
    coords_.insert(coords_.end(), key, key + 3);
    slots_[i] = id;
    if (2 * coords_.size() / 3 > slots_.size()) grow();
    return id;
  }

  Points points() const {
    Points p(static_cast<Eigen::Index>(coords_.size() / 3), 3);
    if (!coords_.empty()) std::memcpy(p.data(), coords_.data(), coords_.size() * sizeof(double));
    return p;
  }

 private:
  static std::size_t hash(const std::uint64_t* b) {
    std::uint64_t h = b[0] * 0x9E3779B97F4A7C15ull;
    h = (h ^ (h >> 29) ^ b[1]) * 0xBF58476D1CE4E5B9ull;
    h = (h ^ (h >> 31) ^ b[2]) * 0x94D049BB133111EBull;
    return static_cast<std::size_t>(h ^ (h >> 32));
  }
  void grow() {
    std::vector<Index> bigger(2 * slots_.size(), -1);
    const std::size_t mask = bigger.size() - 1;
    for (std::size_t v = 0; v < coords_.size() / 3; ++v) {
      std::uint64_t bits[3];
      std::memcpy(bits, &coords_[3 * v], sizeof bits);
      std::size_t i = hash(bits) & mask;
      while (bigger[i] >= 0) i = (i + 1) & mask;
      bigger[i] = static_cast<Index>(v);
    }
    slots_.swap(bigger);
  }

  std::vector<Index> slots_;
  std::vector<double> coords_;
};

SurfaceMesh parse_binary(std::string_view bytes, std::uint64_t n, const std::string& source) {
  CARDIOTWIN_CHECK(n <= kMaxFacets, FileFormatError, "too many facets", "at most " << kMaxFacets,
                   n, Where(source, "facet count"));
  VertexWelder welder(static_cast<std::size_t>(n) * 3 / 2);  // closed surfaces: ~n/2 vertices
  SurfaceMesh mesh;
  mesh.triangles.resize(static_cast<Eigen::Index>(n), 3);
  mesh.tags.setZero(static_cast<Eigen::Index>(n));
  for (std::uint64_t f = 0; f < n; ++f) {
    const char* p = bytes.data() + kPreambleBytes + f * kFacetBytes + 12;  // skip the normal
    for (int v = 0; v < 3; ++v) {
      double c[3];
      for (int k = 0; k < 3; ++k) {
        c[k] = load_f32_le(p + 12 * v + 4 * k);
        CARDIOTWIN_CHECK(std::isfinite(c[k]), FileFormatError,
                         "non-finite vertex coordinate in facet " + std::to_string(f),
                         "finite numbers", c[k],
                         Where(source, "facet", static_cast<std::int64_t>(f)));
      }
      mesh.triangles(static_cast<Eigen::Index>(f), v) = welder.insert(c[0], c[1], c[2]);
    }
  }
  mesh.points = welder.points();
  return mesh;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

/// A token as shown in messages: quoted, at most 40 characters, non-printable bytes as '?'
/// (a corrupt file may hold megabytes of binary junk without a space).
std::string shown(std::string_view token) {
  std::string s = "'";
  for (std::size_t i = 0; i < token.size() && i < 40; ++i)
    s += (token[i] >= 0x20 && token[i] < 0x7f) ? token[i] : '?';
  return s + (token.size() > 40 ? "...'" : "'");
}

/// The file starts (after optional whitespace) with the keyword "solid".
bool starts_with_solid(std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size() && is_space(bytes[i])) ++i;
  if (bytes.size() - i < 5 || !iequals(bytes.substr(i, 5), "solid")) return false;
  return bytes.size() - i == 5 || is_space(bytes[i + 5]);
}

/// Whitespace-separated tokens of an ASCII STL with line numbers for messages.
class AsciiReader {
 public:
  AsciiReader(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  bool next(std::string_view& token) {
    while (pos_ < text_.size() && is_space(text_[pos_])) {
      if (text_[pos_] == '\n') ++line_;
      ++pos_;
    }
    if (pos_ == text_.size()) return false;
    const std::size_t start = pos_;
    while (pos_ < text_.size() && !is_space(text_[pos_])) ++pos_;
    token = text_.substr(start, pos_ - start);
    return true;
  }
  /// Solid names run to the end of their line.
  void skip_line() {
    while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
  }
  void expect(const char* keyword, const char* context) {
    std::string_view tok;
    CARDIOTWIN_CHECK(next(tok), FileFormatError, "ASCII STL ends early",
                     "'" << keyword << "' " << context, "end of file", where());
    CARDIOTWIN_CHECK(iequals(tok, keyword), FileFormatError, "unexpected ASCII STL keyword",
                     "'" << keyword << "' " << context, shown(tok), where());
  }
  double number(const char* what) {
    std::string_view tok;
    CARDIOTWIN_CHECK(next(tok), FileFormatError, "ASCII STL ends early", what, "end of file",
                     where());
    std::string_view t = tok;
    if (t.size() > 1 && t[0] == '+' && t[1] != '-' && t[1] != '+') t.remove_prefix(1);
    double value = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
    CARDIOTWIN_CHECK(ec == std::errc() && end == t.data() + t.size(), FileFormatError,
                     "not a number", what, shown(tok), where());
    return value;
  }
  Where where() const { return Where(source_, "line", line_); }

 private:
  std::string_view text_;
  const std::string& source_;
  std::size_t pos_ = 0;
  std::int64_t line_ = 1;
};

SurfaceMesh parse_ascii(std::string_view text, const std::string& source) {
  AsciiReader in(text, source);
  // An ASCII facet takes well over 100 bytes; this only avoids early rehashing.
  VertexWelder welder(text.size() / 200);
  std::vector<Index> tris;
  std::vector<Index> tags;
  std::string_view tok;
  Index solid = 0;
  while (in.next(tok)) {
    CARDIOTWIN_CHECK(iequals(tok, "solid"), FileFormatError, "unexpected ASCII STL keyword",
                     "'solid' or the end of the file", shown(tok), in.where());
    in.skip_line();
    for (;;) {
      CARDIOTWIN_CHECK(in.next(tok), FileFormatError, "ASCII STL ends early",
                       "'facet' or 'endsolid' in solid " << solid, "end of file", in.where());
      if (iequals(tok, "endsolid")) {
        in.skip_line();
        break;
      }
      CARDIOTWIN_CHECK(iequals(tok, "facet"), FileFormatError, "unexpected ASCII STL keyword",
                       "'facet' or 'endsolid' in solid " << solid, shown(tok), in.where());
      const auto facet = static_cast<std::int64_t>(tags.size());
      CARDIOTWIN_CHECK(static_cast<std::uint64_t>(facet) < kMaxFacets, FileFormatError,
                       "too many facets", "at most " << kMaxFacets, "more", in.where());
      in.expect("normal", "after 'facet'");
      // Normals are recomputed from the vertex order, so their values are not checked
      // (some writers put NaN or platform-specific text there).
      for (int k = 0; k < 3; ++k)
        CARDIOTWIN_CHECK(in.next(tok), FileFormatError, "ASCII STL ends early",
                         "3 normal components", "end of file", in.where());
      in.expect("outer", "after the facet normal");
      in.expect("loop", "after 'outer'");
      for (int v = 0; v < 3; ++v) {
        in.expect("vertex", "(3 per facet)");
        double c[3];
        for (int k = 0; k < 3; ++k) {
          c[k] = in.number("a vertex coordinate");
          CARDIOTWIN_CHECK(std::isfinite(c[k]), FileFormatError,
                           "non-finite vertex coordinate in facet " + std::to_string(facet),
                           "finite numbers", c[k], in.where());
        }
        tris.push_back(welder.insert(c[0], c[1], c[2]));
      }
      in.expect("endloop", "after 3 vertices");
      in.expect("endfacet", "after 'endloop'");
      tags.push_back(solid);
    }
    ++solid;
  }
  CARDIOTWIN_CHECK(solid > 0, FileFormatError, "ASCII STL without a solid", "'solid'",
                   "only whitespace", Where(source));
  SurfaceMesh mesh;
  mesh.points = welder.points();
  const auto nt = static_cast<Eigen::Index>(tags.size());
  mesh.triangles = Eigen::Map<const Triangles>(tris.data(), nt, 3);
  mesh.tags = Eigen::Map<const Tags>(tags.data(), nt);
  return mesh;
}

/// Unit normal of facet `t` from its vertex order (zero for a degenerate facet).
Eigen::RowVector3d facet_normal(const SurfaceMesh& mesh, Eigen::Index t) {
  const Eigen::RowVector3d a = mesh.points.row(mesh.triangles(t, 0));
  const Eigen::RowVector3d b = mesh.points.row(mesh.triangles(t, 1));
  const Eigen::RowVector3d c = mesh.points.row(mesh.triangles(t, 2));
  const Eigen::RowVector3d n = (b - a).cross(c - a);
  const double len = n.norm();
  return len > 0 && std::isfinite(len) ? Eigen::RowVector3d(n / len) : Eigen::RowVector3d::Zero();
}

void append_number(std::string& buf, double v) {
  char tmp[64];
  const auto [end, ec] = std::to_chars(tmp, tmp + sizeof tmp, v);
  (void)ec;  // 64 chars hold any double
  buf.append(tmp, end);
}

}  // namespace

SurfaceMesh parse_stl(std::string_view bytes, const std::string& source) {
  const std::size_t size = bytes.size();
  std::uint64_t count = 0, binary_size = 0;
  if (size >= kPreambleBytes) {
    count = load_u32_le(bytes.data() + kHeaderBytes);
    binary_size = kPreambleBytes + kFacetBytes * count;
    // The size decides, not the header: many binary writers start the header with "solid".
    if (binary_size == size) return parse_binary(bytes, count, source);
  }
  const std::string binary_note =
      size >= kPreambleBytes
          ? " (nor is it binary STL: its header announces " + std::to_string(count) +
                " facets, i.e. 84 + 50 x " + std::to_string(count) + " = " +
                std::to_string(binary_size) + " bytes, but the file has " + std::to_string(size) +
                ")"
          : std::string();
  if (starts_with_solid(bytes)) {
    try {
      return parse_ascii(bytes, source);
    } catch (const FileFormatError& e) {
      if (binary_note.empty()) throw;
      throw FileFormatError(e.description() + binary_note, e.expected(), e.found(), e.where(),
                            __FILE__, __LINE__);
    }
  }
  CARDIOTWIN_CHECK(size >= kPreambleBytes, FileFormatError, "not an STL file",
                   "an ASCII STL starting with 'solid' or a binary STL of at least 84 bytes",
                   size << " bytes not starting with 'solid'", Where(source));
  CARDIOTWIN_CHECK(false, FileFormatError, "binary STL has the wrong size",
                   "84 + 50 x " << count << " (the facet count in its header) = " << binary_size
                                << " bytes",
                   size << " bytes (truncated or not an STL file)", Where(source, "facet count"));
  return {};  // unreachable
}

SurfaceMesh read_stl(const std::string& path) { return parse_stl(read_file_bytes(path), path); }

void write_stl(const std::string& path, const SurfaceMesh& mesh, bool binary) {
  // Not validate_mesh: degenerate facets are common in STL files and read_stl keeps them, so
  // writing back what was read must work. Only what would make an unreadable file is refused.
  const Eigen::Index np = mesh.points.rows(), nt = mesh.triangles.rows();
  for (Eigen::Index t = 0; t < nt; ++t)
    for (int k = 0; k < 3; ++k) {
      const Index v = mesh.triangles(t, k);
      CARDIOTWIN_CHECK(v >= 0 && v < np, InvalidInput, "node index out of range",
                       "an index in [0, " << np << ")", v, Where(path, "triangles", t));
    }
  const double limit =
      binary ? std::numeric_limits<float>::max() : std::numeric_limits<double>::max();
  for (Eigen::Index i = 0; i < np; ++i)
    for (int k = 0; k < 3; ++k)
      CARDIOTWIN_CHECK(std::abs(mesh.points(i, k)) <= limit, InvalidInput,
                       "point coordinate cannot be written to STL",
                       (binary ? "a finite value within float32 range" : "a finite value"),
                       mesh.points(i, k), Where(path, "points", i));
  constexpr std::uint64_t kMaxBinaryFacets = std::numeric_limits<std::uint32_t>::max();
  CARDIOTWIN_CHECK(!binary || static_cast<std::uint64_t>(nt) <= kMaxBinaryFacets, InvalidInput,
                   "too many triangles for binary STL", "at most 2^32 - 1", nt,
                   Where(path, "triangles"));

  write_atomically(path, [&](std::ostream& os) {
    std::string buf;
    constexpr std::size_t kBlock = 1 << 20;
    buf.reserve(kBlock + 1024);
    auto flush = [&] {
      os.write(buf.data(), static_cast<std::streamsize>(buf.size()));
      buf.clear();
    };
    if (binary) {
      char pre[kPreambleBytes];
      std::memset(pre, ' ', kHeaderBytes);
      // Deliberately not "solid ...", which naive readers take for ASCII.
      const char title[] = "binary STL written by cardiotwin; units mm";
      std::memcpy(pre, title, sizeof title - 1);
      store_u32_le(pre + kHeaderBytes, static_cast<std::uint32_t>(nt));
      buf.append(pre, kPreambleBytes);
      char rec[kFacetBytes];
      for (Eigen::Index t = 0; t < nt; ++t) {
        const Eigen::RowVector3d n = facet_normal(mesh, t);
        for (int k = 0; k < 3; ++k) store_f32_le(rec + 4 * k, static_cast<float>(n[k]));
        for (int v = 0; v < 3; ++v)
          for (int k = 0; k < 3; ++k)
            store_f32_le(rec + 12 + 12 * v + 4 * k,
                         static_cast<float>(mesh.points(mesh.triangles(t, v), k)));
        rec[48] = rec[49] = 0;  // attribute byte count
        buf.append(rec, kFacetBytes);
        if (buf.size() >= kBlock) flush();
      }
    } else {
      buf += "solid cardiotwin\n";
      for (Eigen::Index t = 0; t < nt; ++t) {
        const Eigen::RowVector3d n = facet_normal(mesh, t);
        buf += "  facet normal";
        for (int k = 0; k < 3; ++k) {
          buf += ' ';
          append_number(buf, n[k]);
        }
        buf += "\n    outer loop\n";
        for (int v = 0; v < 3; ++v) {
          buf += "      vertex";
          for (int k = 0; k < 3; ++k) {
            buf += ' ';
            append_number(buf, mesh.points(mesh.triangles(t, v), k));
          }
          buf += '\n';
        }
        buf += "    endloop\n  endfacet\n";
        if (buf.size() >= kBlock) flush();
      }
      buf += "endsolid cardiotwin\n";
    }
    flush();
  });
}

}  // namespace cardiotwin::io
