#include "cardiotwin/io/opencarp.hpp"

#include <Eigen/Geometry>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <algorithm>
#include <ostream>
#include <sstream>

#include "cardiotwin/core/atomic_file.hpp"
#include "cardiotwin/core/error.hpp"

namespace cardiotwin::io {
namespace {

// ---- reading -----------------------------------------------------------------------------------

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/// A token as shown in messages: quoted, at most 40 characters, non-printable bytes as '?'
/// (a corrupt file may hold megabytes of binary junk without a space).
std::string shown(std::string_view token) {
  std::string s = "'";
  for (std::size_t i = 0; i < token.size() && i < 40; ++i)
    s += (token[i] >= 0x20 && token[i] < 0x7f) ? token[i] : '?';
  return s + (token.size() > 40 ? "...'" : "'");
}

/// Non-blank lines of a text with their 1-based line numbers. openCARP's own reader skips any
/// whitespace, so blank lines are skipped too; "\r\n" endings are accepted.
class LineReader {
 public:
  LineReader(std::string_view text, std::string file) : text_(text), file_(std::move(file)) {}

  /// Next non-blank line (without its end-of-line characters); false at end of text.
  bool next(std::string_view& line) {
    while (pos_ < text_.size()) {
      const char* begin = text_.data() + pos_;
      const void* nl = std::memchr(begin, '\n', text_.size() - pos_);
      const std::size_t len =
          nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - begin) : text_.size() - pos_;
      pos_ += len + (nl ? 1 : 0);
      ++line_no_;
      line = std::string_view(begin, len);
      for (char c : line)
        if (!is_space(c)) return true;
    }
    return false;
  }
  std::int64_t line_no() const noexcept { return line_no_; }
  /// Bytes not read yet (bounds counts in headers before anything is allocated).
  std::size_t remaining() const noexcept { return text_.size() - pos_; }
  const std::string& file() const noexcept { return file_; }
  Where where() const { return Where(file_, "line", line_no_); }

 private:
  std::string_view text_;
  std::string file_;
  std::size_t pos_ = 0;
  std::int64_t line_no_ = 0;
};

/// Whitespace-separated tokens of one line: the first `kMax` are kept, all are counted.
struct Tokens {
  static constexpr int kMax = 8;
  std::array<std::string_view, kMax> tok{};
  int count = 0;

  explicit Tokens(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && is_space(line[i])) ++i;
      if (i == line.size()) break;
      const std::size_t start = i;
      while (i < line.size() && !is_space(line[i])) ++i;
      if (count < kMax) tok[static_cast<std::size_t>(count)] = line.substr(start, i - start);
      ++count;
    }
  }
  std::string_view operator[](int i) const { return tok[static_cast<std::size_t>(i)]; }
};

/// Parse a whole token as a number of type T (from_chars: locale-free and fast). A leading '+'
/// is accepted, as printf-style writers may emit one.
template <class T>
T parse_number(std::string_view token, const char* what, const LineReader& in) {
  std::string_view t = token;
  if (t.size() > 1 && t[0] == '+' && t[1] != '-' && t[1] != '+') t.remove_prefix(1);
  T value{};
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  CARDIOTWIN_CHECK(ec != std::errc::result_out_of_range, FileFormatError, "number out of range",
                   what << " within the range of "
                        << (std::is_integral_v<T> ? "a 64-bit integer" : "a double"),
                   shown(token), in.where());
  CARDIOTWIN_CHECK(ec == std::errc() && end == t.data() + t.size(), FileFormatError,
                   "not a number", what, shown(token), in.where());
  return value;
}

/// The header line: a single non-negative count.
std::int64_t read_count(LineReader& in, const char* items) {
  std::string_view line;
  CARDIOTWIN_CHECK(in.next(line), FileFormatError, "empty file",
                   "a header line with the number of " << items, "no content", Where(in.file()));
  const Tokens t(line);
  CARDIOTWIN_CHECK(t.count == 1, FileFormatError, "bad header line",
                   "a single number (the number of " << items << ")", t.count << " values",
                   in.where());
  const auto n = parse_number<std::int64_t>(t[0], "an integer count", in);
  CARDIOTWIN_CHECK(n >= 0 && n <= std::numeric_limits<Index>::max(), FileFormatError,
                   "bad header count", "a number of " << items << " in [0, 2^31)", n, in.where());
  return n;
}

/// Rows to allocate for `n` records: no more than the rest of the file can hold at
/// `min_line_bytes` per record (newline included), so that a corrupt header cannot make us
/// allocate gigabytes. When the header overstates, reading stops with "file ends early" before
/// the allocated rows run out.
std::int64_t rows_to_allocate(const LineReader& in, std::int64_t n, std::size_t min_line_bytes) {
  const auto capacity = static_cast<std::int64_t>((in.remaining() + 1) / min_line_bytes);
  return std::min(n, capacity);
}

/// Next data line; throws when the file ends before the header's count.
std::string_view next_record(LineReader& in, std::int64_t i, std::int64_t n, const char* items) {
  std::string_view line;
  CARDIOTWIN_CHECK(in.next(line), FileFormatError, "file ends early",
                   n << " " << items << " (the header count)",
                   "only " << i << " before the end of the file at line " << in.line_no(),
                   Where(in.file(), "line", in.line_no()));
  return line;
}

/// Throws when non-blank lines follow the last record the header announced.
void expect_end(LineReader& in, std::int64_t n, const char* items) {
  std::string_view line;
  CARDIOTWIN_CHECK(!in.next(line), FileFormatError, "more lines than the header count",
                   n << " " << items << " (the header count)", "another line", in.where());
}

Points parse_pts(std::string_view text, const std::string& file) {
  LineReader in(text, file);
  const std::int64_t n = read_count(in, "points");
  Points points(rows_to_allocate(in, n, 6), 3);  // "0 0 0\n"
  for (std::int64_t i = 0; i < n; ++i) {
    const Tokens t(next_record(in, i, n, "points"));
    // Cannot fail (see rows_to_allocate); kept so that a logic error cannot write out of bounds.
    CARDIOTWIN_CHECK(i < points.rows(), FileFormatError, "more points than the file can hold",
                     points.rows(), i + 1, in.where());
    CARDIOTWIN_CHECK(t.count == 3, FileFormatError, "wrong number of values on a point line",
                     "3 coordinates (x y z in um)", t.count << " values", in.where());
    for (int k = 0; k < 3; ++k) {
      const double um = parse_number<double>(t[k], "a coordinate in um", in);
      CARDIOTWIN_CHECK(std::isfinite(um), FileFormatError, "non-finite coordinate",
                       "a finite number", shown(t[k]), in.where());
      points(i, k) = um / 1000.0;  // um on disk, mm in memory
    }
  }
  expect_end(in, n, "points");
  return points;
}

/// openCARP's element types (only tetrahedra are read; the others are named in messages).
constexpr std::string_view kElementTypes[] = {"Tt", "Tr", "Qd", "Hx", "Py", "Pr", "Ln"};
constexpr int kNumElementTypes = sizeof kElementTypes / sizeof kElementTypes[0];

/// Index of `type` in kElementTypes, or -1.
int element_type(std::string_view type) {
  for (int i = 0; i < kNumElementTypes; ++i)
    if (kElementTypes[i] == type) return i;
  return -1;
}

/// Called on the first element that is not a tetrahedron: counts the element types of the whole
/// file so the message tells the user what the mesh holds, then throws.
[[noreturn]] void reject_element_types(LineReader& in, std::string_view first_line,
                                       std::int64_t tets_before) {
  const std::int64_t first_bad = in.line_no();
  std::int64_t counts[kNumElementTypes] = {};
  counts[0] = tets_before;
  std::string_view line = first_line;
  do {
    const Tokens t(line);
    const int type = element_type(t[0]);
    CARDIOTWIN_CHECK(type >= 0, FileFormatError, "unknown element type",
                     "one of Tt, Tr, Qd, Hx, Py, Pr, Ln", shown(t[0]), in.where());
    ++counts[type];
  } while (in.next(line));
  std::ostringstream found;
  for (int i = 0; i < kNumElementTypes; ++i)
    if (counts[i] > 0)
      found << (found.tellp() > 0 ? ", " : "") << counts[i] << " " << kElementTypes[i];
  found << " (first non-tetrahedron on line " << first_bad << ")";
  throw FileFormatError("unsupported element types", "only tetrahedra (Tt)", found.str(),
                        Where(in.file(), "line", first_bad), __FILE__, __LINE__);
}

void parse_elem(std::string_view text, const std::string& file, std::int64_t num_points,
                TetMesh& mesh) {
  LineReader in(text, file);
  const std::int64_t m = read_count(in, "elements");
  const std::int64_t rows = rows_to_allocate(in, m, 7);  // "Ln 0 0\n", the shortest element
  mesh.tets.resize(rows, 4);
  mesh.region.resize(rows);
  for (std::int64_t e = 0; e < m; ++e) {
    const std::string_view line = next_record(in, e, m, "elements");
    const Tokens t(line);
    if (t[0] != "Tt") reject_element_types(in, line, e);
    CARDIOTWIN_CHECK(e < rows, FileFormatError, "more elements than the file can hold", rows,
                     e + 1, in.where());  // cannot fail (see rows_to_allocate)
    CARDIOTWIN_CHECK(t.count == 5 || t.count == 6, FileFormatError,
                     "wrong number of values on a tetrahedron line",
                     "'Tt n0 n1 n2 n3' and an optional region tag (5 or 6 values)",
                     t.count << " values", in.where());
    for (int k = 0; k < 4; ++k) {
      const auto v = parse_number<std::int64_t>(t[k + 1], "a node index", in);
      CARDIOTWIN_CHECK(v >= 0 && v < num_points, FileFormatError, "node index out of range",
                       "an index in [0, " << num_points << ") (the .pts count)", v, in.where());
      mesh.tets(e, k) = static_cast<Index>(v);
    }
    Index tag = 0;
    if (t.count == 6) {
      const auto r = parse_number<std::int64_t>(t[5], "an integer region tag", in);
      constexpr auto lo = std::numeric_limits<Index>::min(), hi = std::numeric_limits<Index>::max();
      CARDIOTWIN_CHECK(r >= lo && r <= hi, FileFormatError, "region tag out of range",
                       "a 32-bit integer", r, in.where());
      tag = static_cast<Index>(r);
    }
    mesh.region[e] = tag;
  }
  expect_end(in, m, "elements");
}

/// Read 3 numbers starting at token `first` as a direction and normalise it. openCARP writes
/// zero vectors for non-myocardial elements, but a TetMesh direction must be a unit vector, so
/// those are rejected with the element named.
Eigen::RowVector3d read_direction(const Tokens& t, int first, const char* what, std::int64_t e,
                                  const LineReader& in) {
  Eigen::RowVector3d d;
  for (int k = 0; k < 3; ++k) {
    d[k] = parse_number<double>(t[first + k], "a direction component", in);
    CARDIOTWIN_CHECK(std::isfinite(d[k]), FileFormatError, "non-finite direction component",
                     "a finite number", shown(t[first + k]), in.where());
  }
  const double len = d.norm();
  CARDIOTWIN_CHECK(len > 1e-6, FileFormatError,
                   std::string("zero-length ") + what + " direction of element " +
                       std::to_string(e),
                   "a non-zero vector (directions are needed for every element)",
                   "length " << len, in.where());
  return d / len;
}

void parse_lon(std::string_view text, const std::string& file, TetMesh& mesh) {
  LineReader in(text, file);
  const std::int64_t m = mesh.tets.rows();
  std::string_view line;
  if (!in.next(line)) return;  // blank file: no fibres
  // Header "1" or "2"; older files have no header and start with the first element's 3 or 6 values.
  int dirs = 0;
  bool have_line = false;
  {
    const Tokens t(line);
    if (t.count == 1) {
      const auto d = parse_number<std::int64_t>(t[0], "the number of directions (1 or 2)", in);
      CARDIOTWIN_CHECK(d == 1 || d == 2, FileFormatError, "bad number of fibre directions",
                       "1 (fibre) or 2 (fibre and sheet)", d, in.where());
      dirs = static_cast<int>(d);
    } else {
      CARDIOTWIN_CHECK(t.count == 3 || t.count == 6, FileFormatError, "bad .lon header",
                       "a header line with 1 or 2, or (without header) 3 or 6 values per element",
                       t.count << " values", in.where());
      dirs = t.count / 3;
      have_line = true;
    }
  }
  // m was bounded by the size of the .elem file, so allocating m rows is safe.
  mesh.fibre.resize(m, 3);
  if (dirs == 2) {
    mesh.sheet.resize(m, 3);
    mesh.normal.resize(m, 3);
  }
  const char* items = "direction lines (one per element in the .elem file)";
  for (std::int64_t e = 0; e < m; ++e) {
    if (!have_line) {
      CARDIOTWIN_CHECK(in.next(line), FileFormatError, "file ends early", m << " " << items,
                       "only " << e << " before the end of the file at line " << in.line_no(),
                       Where(file, "line", in.line_no()));
    }
    have_line = false;
    const Tokens t(line);
    CARDIOTWIN_CHECK(t.count == 3 * dirs, FileFormatError, "wrong number of values on a fibre line",
                     3 * dirs << " (" << (dirs == 1 ? "fibre x y z" : "fibre x y z, sheet x y z")
                              << ")",
                     t.count << " values", in.where());
    const Eigen::RowVector3d f = read_direction(t, 0, "fibre", e, in);
    mesh.fibre.row(e) = f;
    if (dirs == 2) {
      const Eigen::RowVector3d s = read_direction(t, 3, "sheet", e, in);
      const Eigen::RowVector3d n = f.cross(s);
      const double len = n.norm();
      CARDIOTWIN_CHECK(len > 1e-6, FileFormatError,
                       "sheet direction parallel to fibre direction in element " +
                           std::to_string(e),
                       "a sheet direction orthogonal to the fibre", "|fibre x sheet| = " << len,
                       in.where());
      mesh.sheet.row(e) = s;
      mesh.normal.row(e) = n / len;
    }
  }
  // have_line is still set only for a header-less file of a mesh without elements.
  CARDIOTWIN_CHECK(!have_line && !in.next(line), FileFormatError, "more lines than elements",
                   m << " " << items, "another line", in.where());
}

// ---- writing -----------------------------------------------------------------------------------

/// Formats numbers with to_chars (shortest round-trip form, locale-free) into a buffer that is
/// handed to the stream in large blocks.
class TextWriter {
 public:
  explicit TextWriter(std::ostream& out) : out_(out) { buf_.reserve(kBlock + 256); }
  ~TextWriter() = default;

  template <class T>
  TextWriter& num(T value) {
    char tmp[64];
    const auto [end, ec] = std::to_chars(tmp, tmp + sizeof tmp, value);
    (void)ec;  // 64 chars hold any double or 64-bit integer
    buf_.append(tmp, end);
    return *this;
  }
  TextWriter& text(std::string_view s) {
    buf_.append(s);
    return *this;
  }
  TextWriter& ch(char c) {
    buf_.push_back(c);
    return *this;
  }
  /// Call at the end of each line.
  void end_line() {
    buf_.push_back('\n');
    if (buf_.size() >= kBlock) flush();
  }
  void flush() {
    out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    buf_.clear();
  }

 private:
  static constexpr std::size_t kBlock = 1 << 20;
  std::ostream& out_;
  std::string buf_;
};

/// `heart.pts` -> `heart`; other extensions are part of the name.
std::string strip_opencarp_extension(const std::string& path) {
  const std::string ext = file_extension(path);
  if (ext == ".pts" || ext == ".elem" || ext == ".lon")
    return path.substr(0, path.size() - ext.size());
  return path;
}

}  // namespace

TetMesh parse_opencarp(std::string_view pts, std::string_view elem, std::string_view lon,
                       const std::string& basename) {
  TetMesh mesh;
  mesh.points = parse_pts(pts, basename + ".pts");
  parse_elem(elem, basename + ".elem", mesh.points.rows(), mesh);
  if (!lon.empty()) parse_lon(lon, basename + ".lon", mesh);
  return mesh;
}

TetMesh read_opencarp(const std::string& basename) {
  const std::string base = strip_opencarp_extension(basename);
  const std::string pts = read_file_bytes(base + ".pts");
  const std::string elem = read_file_bytes(base + ".elem");
  std::error_code ec;
  const std::string lon =
      std::filesystem::exists(base + ".lon", ec) ? read_file_bytes(base + ".lon") : std::string();
  return parse_opencarp(pts, elem, lon, base);
}

void write_opencarp(const std::string& basename, const TetMesh& mesh) {
  const std::string base = strip_opencarp_extension(basename);
  validate_mesh(mesh, base);
  CARDIOTWIN_CHECK(mesh.sheet.rows() == 0 || mesh.fibre.rows() != 0, InvalidInput,
                   "sheet directions without fibre directions cannot be written to .lon",
                   "fibre directions when sheet directions are set", "no fibre directions",
                   Where(base, "fibre"));

  write_atomically(base + ".pts", [&](std::ostream& os) {
    TextWriter w(os);
    w.num(mesh.points.rows()).end_line();
    for (std::int64_t i = 0; i < mesh.points.rows(); ++i) {
      w.num(mesh.points(i, 0) * 1000.0).ch(' ');  // mm in memory, um on disk
      w.num(mesh.points(i, 1) * 1000.0).ch(' ');
      w.num(mesh.points(i, 2) * 1000.0).end_line();
    }
    w.flush();
  });

  write_atomically(base + ".elem", [&](std::ostream& os) {
    TextWriter w(os);
    w.num(mesh.tets.rows()).end_line();
    for (std::int64_t e = 0; e < mesh.tets.rows(); ++e) {
      w.text("Tt");
      for (int k = 0; k < 4; ++k) w.ch(' ').num(mesh.tets(e, k));
      w.ch(' ').num(mesh.region_of(e)).end_line();
    }
    w.flush();
  });

  const std::string lon_path = base + ".lon";
  if (mesh.fibre.rows() == 0) {
    // A .lon left from an earlier mesh would be paired with this one by read_opencarp.
    std::error_code ec;
    if (std::filesystem::exists(lon_path, ec)) {
      std::filesystem::remove(lon_path, ec);
      CARDIOTWIN_CHECK(!ec, FileIOError, "cannot remove stale fibre file",
                       "a removable file (the mesh has no fibres)", ec.message(), Where(lon_path));
    }
    return;
  }
  const bool with_sheet = mesh.sheet.rows() != 0;
  write_atomically(lon_path, [&](std::ostream& os) {
    TextWriter w(os);
    w.num(with_sheet ? 2 : 1).end_line();
    for (std::int64_t e = 0; e < mesh.fibre.rows(); ++e) {
      w.num(mesh.fibre(e, 0)).ch(' ').num(mesh.fibre(e, 1)).ch(' ').num(mesh.fibre(e, 2));
      if (with_sheet)
        w.ch(' ').num(mesh.sheet(e, 0)).ch(' ').num(mesh.sheet(e, 1)).ch(' ').num(mesh.sheet(e, 2));
      w.end_line();
    }
    w.flush();
  });
}

}  // namespace cardiotwin::io
