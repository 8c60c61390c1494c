#include "cardiotwin/io/vtk.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <ostream>
#include <type_traits>

#include "cardiotwin/core/atomic_file.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/io/gzip.hpp"
#include "xml.hpp"

// Facts about the format (from the VTK file-format documentation):
// - Binary data, inline (base64) or appended, start with a header of unsigned integers of
//   `header_type` (UInt32 unless stated). Uncompressed: one word, the byte count of the data.
//   vtkZLibDataCompressor: [#blocks][block size][last block size (0 = full)][compressed size]*#blocks,
//   followed by the zlib streams of the blocks.
// - Inline base64: VTK's writer encodes the header and the data as separate base64 runs when
//   compressing (so '=' padding can occur in the middle), and other writers do the same for
//   uncompressed data; decoding base64 quantum by quantum, each run ending at its own padding,
//   reads both forms and the "encoded together" form alike.
// - Appended data start after the '_' inside <AppendedData>; a DataArray's `offset` counts bytes
//   (encoding="raw") or base64 characters (encoding="base64") from there.
// - Cells of an unstructured grid: "connectivity", "offsets" (end of each cell), "types".

namespace cardiotwin::io {
namespace {

using xml::Element;
using std::int64_t;
using std::uint64_t;

constexpr std::size_t kBlockSize = 32768;  // uncompressed bytes per zlib block when writing
constexpr int kZlibLevel = 1;  // 7x faster than 6 on mesh data, and files within 1%
constexpr uint64_t kMaxInflateRatio = 1032;  // deflate cannot expand more than this per input byte

// ---- scalar types ---------------------------------------------------------------------------

enum class Scalar { int8, uint8, int16, uint16, int32, uint32, int64, uint64, float32, float64 };

struct ScalarType {
  const char* name;
  Scalar id;
  std::size_t size;
  bool is_float;
};

constexpr ScalarType kScalarTypes[] = {
    {"Int8", Scalar::int8, 1, false},     {"UInt8", Scalar::uint8, 1, false},
    {"Int16", Scalar::int16, 2, false},   {"UInt16", Scalar::uint16, 2, false},
    {"Int32", Scalar::int32, 4, false},   {"UInt32", Scalar::uint32, 4, false},
    {"Int64", Scalar::int64, 8, false},   {"UInt64", Scalar::uint64, 8, false},
    {"Float32", Scalar::float32, 4, true}, {"Float64", Scalar::float64, 8, true}};

const ScalarType* find_scalar(std::string_view name) {
  for (const auto& t : kScalarTypes)
    if (name == t.name) return &t;
  return nullptr;
}

bool host_is_big_endian() noexcept {
  const std::uint16_t one = 1;
  unsigned char first = 0;
  std::memcpy(&first, &one, 1);
  return first == 0;
}

void swap_words(char* p, std::size_t nbytes, std::size_t word) noexcept {
  if (word < 2) return;
  for (std::size_t i = 0; i + word <= nbytes; i += word) std::reverse(p + i, p + i + word);
}

constexpr bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// A short printable excerpt of user data for messages.
std::string excerpt(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 40)) out += (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) ? c : '?';
  if (s.size() > 40) out += "...";
  return "'" + out + "'";
}

// ---- per-file state -------------------------------------------------------------------------

struct Context {
  std::string source;
  std::string prefix;  // "Piece 2: " when a file has several pieces
  bool swap = false;   // file byte order differs from ours
  std::size_t header_size = 4;
  bool compressed = false;
  bool has_appended = false;
  bool appended_base64 = false;
  std::string_view appended;     // content after the '_' marker
  std::map<uint64_t, uint64_t> appended_used;  // [begin, end) of appended data read so far
  uint64_t decode_budget = 0;    // bytes binary arrays may still decode to (guards zip bombs)

  Where at(const std::string& field, int64_t element = -1) const {
    return Where(source, prefix + field, element);
  }
};

uint64_t checked_mul(uint64_t a, uint64_t b, const Context& ctx, const std::string& field) {
  CARDIOTWIN_CHECK(b == 0 || a <= (uint64_t(1) << 60) / b, FileFormatError, "array too large",
                   "at most 2^60 values", a << " x " << b, ctx.at(field));
  return a * b;
}

// A non-negative integer attribute; `fallback` is used when it is absent (required if none).
uint64_t count_attribute(const Context& ctx, const Element& e, const char* attr,
                         std::optional<uint64_t> fallback, const std::string& field) {
  const std::string* v = e.attribute(attr);
  if (v == nullptr) {
    CARDIOTWIN_CHECK(fallback.has_value(), FileFormatError, std::string("missing attribute ") + attr,
                     "attribute '" << attr << "' on <" << e.name << ">", "none", ctx.at(field));
    return *fallback;
  }
  const std::string_view s = trim(*v);
  uint64_t x = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), x);
  CARDIOTWIN_CHECK(!s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size(), FileFormatError,
                   std::string("bad attribute ") + attr, "a non-negative integer", excerpt(*v),
                   ctx.at(field));
  return x;
}

// ---- byte sources: raw bytes or base64 text -------------------------------------------------

class ByteStream {
 public:
  ByteStream(std::string_view data, bool base64, const Context& ctx, const std::string& field)
      : data_(data), base64_(base64), ctx_(ctx), field_(field) {}

  /// Bytes (raw) or characters (base64) of the input consumed so far.
  uint64_t consumed() const noexcept { return pos_; }

  /// An upper bound on the bytes left (exact for raw data).
  uint64_t available() const noexcept {
    const uint64_t left = data_.size() - pos_;
    return base64_ ? left / 4 * 3 + 3 + (npending_ - pending_pos_) : left;
  }

  /// The next `n` bytes; the view is valid until the next call.
  std::string_view take(uint64_t n) {
    CARDIOTWIN_CHECK(n <= available(), FileFormatError, "truncated binary data", n << " more bytes",
                     (base64_ ? "at most " : "") << available() << " bytes", ctx_.at(field_));
    if (!base64_) {
      const std::string_view out = data_.substr(pos_, static_cast<std::size_t>(n));
      pos_ += static_cast<std::size_t>(n);
      return out;
    }
    buf_.resize(static_cast<std::size_t>(n));
    std::size_t out = 0;
    while (out < n && pending_pos_ < npending_) buf_[out++] = static_cast<char>(pending_[pending_pos_++]);
    while (out < n) {
      unsigned char b[3];
      const int got = quantum(b, out, n);
      int k = 0;
      for (; k < got && out < n; ++k) buf_[out++] = static_cast<char>(b[k]);
      npending_ = pending_pos_ = 0;
      for (; k < got; ++k) pending_[npending_++] = b[k];
    }
    return buf_;
  }

 private:
  // Decode one 4-character quantum (whitespace skipped) into `b`; returns the byte count (1-3).
  int quantum(unsigned char* b, std::size_t have, uint64_t want) {
    static const auto table = [] {
      std::array<signed char, 256> t{};
      t.fill(-1);
      for (int i = 0; i < 26; ++i) t['A' + i] = static_cast<signed char>(i), t['a' + i] = static_cast<signed char>(26 + i);
      for (int i = 0; i < 10; ++i) t['0' + i] = static_cast<signed char>(52 + i);
      t['+'] = 62, t['/'] = 63, t['='] = -2;
      t[' '] = t['\t'] = t['\n'] = t['\r'] = -3;
      return t;
    }();
    unsigned v[4] = {0, 0, 0, 0};
    int got = 0, pad = 0;
    while (got < 4 && pos_ < data_.size()) {
      const auto c = static_cast<unsigned char>(data_[pos_++]);
      const int t = table[c];
      if (t == -3) continue;
      CARDIOTWIN_CHECK(t != -1, FileFormatError, "invalid base64 data", "characters A-Z a-z 0-9 + / =",
                       "byte " << int(c) << " at character " << pos_ - 1, ctx_.at(field_));
      if (t == -2) {
        CARDIOTWIN_CHECK(got >= 2, FileFormatError, "invalid base64 data", "'=' only as padding",
                         "'=' at character " << pos_ - 1, ctx_.at(field_));
        ++pad;
        ++got;
        continue;
      }
      CARDIOTWIN_CHECK(pad == 0, FileFormatError, "invalid base64 data", "nothing between '=' padding",
                       "data at character " << pos_ - 1, ctx_.at(field_));
      v[got++] = static_cast<unsigned>(t);
    }
    if (got < 4) {  // end of text: accept a quantum whose padding was left out
      CARDIOTWIN_CHECK(got >= 2 && pad == 0, FileFormatError, "truncated base64 data", want << " bytes",
                       have << " bytes", ctx_.at(field_));
      pad = 4 - got;
    }
    b[0] = static_cast<unsigned char>((v[0] << 2) | (v[1] >> 4));
    b[1] = static_cast<unsigned char>(((v[1] & 15) << 4) | (v[2] >> 2));
    b[2] = static_cast<unsigned char>(((v[2] & 3) << 6) | v[3]);
    return 3 - pad;
  }

  std::string_view data_;
  std::size_t pos_ = 0;
  bool base64_;
  const Context& ctx_;
  const std::string& field_;
  unsigned char pending_[3] = {0, 0, 0};
  int npending_ = 0, pending_pos_ = 0;
  std::string buf_;
};

uint64_t header_word(const Context& ctx, ByteStream& in) {
  const std::string_view w = in.take(ctx.header_size);
  unsigned char b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::memcpy(b, w.data(), ctx.header_size);
  if (ctx.swap) std::reverse(b, b + ctx.header_size);
  if (ctx.header_size == 4) {
    std::uint32_t v = 0;
    std::memcpy(&v, b, 4);
    return v;
  }
  uint64_t v = 0;
  std::memcpy(&v, b, 8);
  return v;
}

// The bytes of one binary DataArray (header removed, blocks inflated) in host byte order.
// `storage` holds them when they are not a view into the input.
std::string_view read_payload(Context& ctx, ByteStream& in, const ScalarType& type,
                              std::optional<uint64_t> expected_values, const std::string& why,
                              const std::string& field, std::string& storage) {
  const auto check_length = [&](uint64_t nbytes) {
    CARDIOTWIN_CHECK(nbytes % type.size == 0, FileFormatError, "binary data size is not a whole number of values",
                     "a multiple of " << type.size << " bytes (" << type.name << ")", nbytes << " bytes",
                     ctx.at(field));
    if (expected_values)
      CARDIOTWIN_CHECK(nbytes / type.size == *expected_values, FileFormatError, "wrong array length",
                       *expected_values << " values" << why, nbytes / type.size << " values", ctx.at(field));
    CARDIOTWIN_CHECK(nbytes <= ctx.decode_budget, FileFormatError, "binary data larger than the file can hold",
                     "at most " << ctx.decode_budget << " more decoded bytes", nbytes, ctx.at(field));
    ctx.decode_budget -= nbytes;
  };
  std::string_view bytes;
  if (!ctx.compressed) {
    const uint64_t nbytes = header_word(ctx, in);
    check_length(nbytes);
    CARDIOTWIN_CHECK(nbytes <= in.available(), FileFormatError, "truncated binary data",
                     nbytes << " bytes (from the data header)", "at most " << in.available() << " bytes",
                     ctx.at(field));
    bytes = in.take(nbytes);
  } else {
    const uint64_t nblocks = header_word(ctx, in);
    const uint64_t block = header_word(ctx, in);
    const uint64_t last = header_word(ctx, in);
    CARDIOTWIN_CHECK(nblocks <= in.available() / ctx.header_size, FileFormatError,
                     "bad compression header", "a block count the data can hold", nblocks << " blocks",
                     ctx.at(field));
    std::vector<uint64_t> csize(static_cast<std::size_t>(nblocks));
    for (auto& c : csize) c = header_word(ctx, in);
    uint64_t total = 0;
    const uint64_t last_size = last == 0 ? block : last;
    if (nblocks > 0) {
      CARDIOTWIN_CHECK(block > 0 && last_size <= block, FileFormatError, "bad compression header",
                       "last block size <= block size " << block, "last block size " << last,
                       ctx.at(field));
      CARDIOTWIN_CHECK(nblocks - 1 <= (std::numeric_limits<uint64_t>::max() - last_size) / block,
                       FileFormatError, "bad compression header", "a representable size",
                       nblocks << " blocks of " << block << " bytes", ctx.at(field));
      total = (nblocks - 1) * block + last_size;
    }
    check_length(total);
    uint64_t csum = 0;
    for (std::size_t i = 0; i < csize.size(); ++i) {
      const uint64_t usize = i + 1 < csize.size() ? block : last_size;
      CARDIOTWIN_CHECK(csize[i] <= in.available() - std::min(csum, in.available()), FileFormatError,
                       "truncated compressed data", "compressed block sizes the data can hold",
                       "block " << i << " of " << csize[i] << " bytes beyond the end", ctx.at(field, int64_t(i)));
      CARDIOTWIN_CHECK(usize <= csize[i] * kMaxInflateRatio + kMaxInflateRatio, FileFormatError,
                       "bad compression header", "a compressed block able to hold " << usize << " bytes",
                       csize[i] << " compressed bytes", ctx.at(field, int64_t(i)));
      csum += csize[i];
    }
    storage.clear();
    storage.reserve(static_cast<std::size_t>(total));
    for (std::size_t i = 0; i < csize.size(); ++i) {
      const uint64_t usize = i + 1 < csize.size() ? block : last_size;
      const std::string_view z = in.take(csize[i]);
      try {
        storage += zlib_inflate(z, static_cast<std::size_t>(usize), ctx.source);
      } catch (const FileFormatError& e) {
        CARDIOTWIN_CHECK(false, FileFormatError, "corrupt zlib block", "a zlib stream of " << usize << " bytes",
                         e.description() << (e.found().empty() ? "" : ": ") << e.found(),
                         ctx.at(field, int64_t(i)));
      }
    }
    bytes = storage;
  }
  if (ctx.swap && type.size > 1) {
    if (bytes.data() != storage.data()) storage.assign(bytes.data(), bytes.size());
    swap_words(storage.data(), storage.size(), type.size);
    bytes = storage;
  }
  return bytes;
}

// ---- values -----------------------------------------------------------------------------------

template <class S, class T>
void convert_as(std::string_view bytes, T* out, std::size_t n) {
  const char* p = bytes.data();
  for (std::size_t i = 0; i < n; ++i) {
    S s;
    std::memcpy(&s, p + i * sizeof(S), sizeof(S));
    out[i] = static_cast<T>(s);
  }
}

// Binary values of `type` into `out` (T = double, or int64 for integer types only).
template <class T>
void convert(std::string_view bytes, const ScalarType& type, std::vector<T>& out, const Context& ctx,
             const std::string& field) {
  const std::size_t n = bytes.size() / type.size;
  out.resize(n);
  T* o = out.data();
  switch (type.id) {
    case Scalar::int8: convert_as<std::int8_t>(bytes, o, n); break;
    case Scalar::uint8: convert_as<std::uint8_t>(bytes, o, n); break;
    case Scalar::int16: convert_as<std::int16_t>(bytes, o, n); break;
    case Scalar::uint16: convert_as<std::uint16_t>(bytes, o, n); break;
    case Scalar::int32: convert_as<std::int32_t>(bytes, o, n); break;
    case Scalar::uint32: convert_as<std::uint32_t>(bytes, o, n); break;
    case Scalar::int64: convert_as<std::int64_t>(bytes, o, n); break;
    case Scalar::uint64:
      for (std::size_t i = 0; i < n; ++i) {
        uint64_t v;
        std::memcpy(&v, bytes.data() + i * 8, 8);
        if constexpr (std::is_integral_v<T>)
          CARDIOTWIN_CHECK(v <= uint64_t(std::numeric_limits<int64_t>::max()), FileFormatError,
                           "value out of range", "at most 2^63-1", v, ctx.at(field, int64_t(i)));
        o[i] = static_cast<T>(v);
      }
      break;
    case Scalar::float32:
      if constexpr (std::is_floating_point_v<T>) convert_as<float>(bytes, o, n);
      break;
    case Scalar::float64:
      if constexpr (std::is_floating_point_v<T>) convert_as<double>(bytes, o, n);
      break;
  }
}

template <class T>
T parse_number(const char* b, const char* e, const ScalarType& type, const Context& ctx,
               const std::string& field, std::size_t index) {
  const char* start = (b < e && *b == '+') ? b + 1 : b;
  bool ok = false;
  T value{};
  if (type.is_float) {
    double d = 0;
    const auto r = std::from_chars(start, e, d);
    ok = r.ec == std::errc() && r.ptr == e;
    value = static_cast<T>(d);
  } else if (type.id == Scalar::uint64) {
    uint64_t u = 0;
    const auto r = std::from_chars(start, e, u);
    ok = r.ec == std::errc() && r.ptr == e &&
         (std::is_floating_point_v<T> || u <= uint64_t(std::numeric_limits<int64_t>::max()));
    value = static_cast<T>(u);
  } else {
    int64_t i = 0;
    const auto r = std::from_chars(start, e, i);
    ok = r.ec == std::errc() && r.ptr == e;
    if (ok) {
      const int bits = static_cast<int>(type.size * 8);
      const bool is_signed = type.id == Scalar::int8 || type.id == Scalar::int16 || type.id == Scalar::int32 ||
                             type.id == Scalar::int64;
      if (bits < 64)
        ok = is_signed ? (i >= -(int64_t(1) << (bits - 1)) && i < (int64_t(1) << (bits - 1)))
                       : (i >= 0 && i < (int64_t(1) << bits));
      else
        ok = is_signed || i >= 0;
    }
    value = static_cast<T>(i);
  }
  CARDIOTWIN_CHECK(ok, FileFormatError, "bad number in ASCII data", "a " << type.name << " value",
                   excerpt(std::string_view(b, static_cast<std::size_t>(e - b))),
                   ctx.at(field, static_cast<int64_t>(index)));
  return value;
}

template <class T>
void parse_ascii(std::string_view text, const ScalarType& type, std::optional<uint64_t> expected,
                 const std::string& why, std::vector<T>& out, const Context& ctx, const std::string& field) {
  out.clear();
  if (expected) out.reserve(static_cast<std::size_t>(std::min<uint64_t>(*expected, text.size() / 2 + 1)));
  const char* p = text.data();
  const char* end = p + text.size();
  for (;;) {
    while (p < end && is_space(*p)) ++p;
    if (p == end) break;
    const char* tok = p;
    while (p < end && !is_space(*p)) ++p;
    if (expected)
      CARDIOTWIN_CHECK(out.size() < *expected, FileFormatError, "wrong array length",
                       *expected << " values" << why, "more values", ctx.at(field));
    out.push_back(parse_number<T>(tok, p, type, ctx, field, out.size()));
  }
  if (expected)
    CARDIOTWIN_CHECK(out.size() == *expected, FileFormatError, "wrong array length", *expected << " values" << why,
                     out.size() << " values", ctx.at(field));
}

// ---- DataArray --------------------------------------------------------------------------------

struct ArrayInfo {
  const Element* element = nullptr;
  std::string name;
  std::string field;  // for messages: "DataArray 'Points'"
  const ScalarType* type = nullptr;
  uint64_t ncomp = 1;
};

ArrayInfo array_info(const Context& ctx, const Element& e, const std::string& fallback_name,
                     const std::string& group = {}) {
  ArrayInfo a;
  a.element = &e;
  const std::string* name = e.attribute("Name");
  a.name = name ? *name : fallback_name;
  a.field = (group.empty() ? "" : group + " ") + "DataArray '" + a.name + "'";
  const std::string* type = e.attribute("type");
  CARDIOTWIN_CHECK(type != nullptr, FileFormatError, "missing attribute type", "a type attribute", "none",
                   ctx.at(a.field));
  a.type = find_scalar(*type);
  CARDIOTWIN_CHECK(a.type != nullptr, FileFormatError, "unsupported data type",
                   "one of Int8, UInt8, Int16, UInt16, Int32, UInt32, Int64, UInt64, Float32, Float64",
                   excerpt(*type), ctx.at(a.field));
  a.ncomp = count_attribute(ctx, e, "NumberOfComponents", 1, a.field);
  CARDIOTWIN_CHECK(a.ncomp >= 1 && a.ncomp <= (1u << 20), FileFormatError, "bad NumberOfComponents",
                   "1 to 2^20", a.ncomp, ctx.at(a.field));
  return a;
}

// The values of array `a` (T = double, or int64 for integer arrays). `expected` is the value count
// the file's counts imply (`why` explains it in messages), if known.
template <class T>
std::vector<T> read_values(Context& ctx, const ArrayInfo& a, std::optional<uint64_t> expected,
                           const std::string& why = {}) {
  if constexpr (std::is_integral_v<T>)
    CARDIOTWIN_CHECK(!a.type->is_float, FileFormatError, "integer array expected", "an integer type",
                     a.type->name, ctx.at(a.field));
  const std::string* format_attr = a.element->attribute("format");
  const std::string format = format_attr ? *format_attr : "ascii";
  std::vector<T> out;
  if (format == "ascii") {
    parse_ascii(a.element->text(), *a.type, expected, why, out, ctx, a.field);
    return out;
  }
  std::string_view data;
  bool base64 = true;
  std::optional<uint64_t> offset;
  if (format == "binary") {
    data = a.element->text();
  } else if (format == "appended") {
    CARDIOTWIN_CHECK(ctx.has_appended, FileFormatError, "appended data missing",
                     "an <AppendedData> element in <VTKFile>", "none", ctx.at(a.field));
    offset = count_attribute(ctx, *a.element, "offset", std::nullopt, a.field);
    CARDIOTWIN_CHECK(*offset <= ctx.appended.size(), FileFormatError, "appended data offset out of range",
                     "at most " << ctx.appended.size(), *offset, ctx.at(a.field));
    // Arrays never share appended data; refusing overlaps keeps a small file from making many
    // arrays decode the same (possibly highly compressed) bytes.
    const auto next = ctx.appended_used.upper_bound(*offset);
    if (next != ctx.appended_used.begin())
      CARDIOTWIN_CHECK(*offset >= std::prev(next)->second, FileFormatError, "appended data of two arrays overlap",
                       "an offset >= " << std::prev(next)->second << " (end of the array at offset "
                                       << std::prev(next)->first << ")",
                       *offset, ctx.at(a.field));
    data = ctx.appended.substr(static_cast<std::size_t>(*offset));
    base64 = ctx.appended_base64;
  } else {
    CARDIOTWIN_CHECK(false, FileFormatError, "unknown DataArray format", "ascii, binary or appended",
                     excerpt(format), ctx.at(a.field));
  }
  ByteStream in(data, base64, ctx, a.field);
  std::string storage;
  const std::string_view bytes = read_payload(ctx, in, *a.type, expected, why, a.field, storage);
  if (offset) {
    const uint64_t end = *offset + in.consumed();
    const auto next = ctx.appended_used.upper_bound(*offset);
    CARDIOTWIN_CHECK(next == ctx.appended_used.end() || end <= next->first, FileFormatError,
                     "appended data of two arrays overlap", "data ending by offset " << next->first,
                     "data up to offset " << end, ctx.at(a.field));
    ctx.appended_used.emplace(*offset, end);
  }
  convert(bytes, *a.type, out, ctx, a.field);
  return out;
}

const Element* find_array(const xml::Document& doc, const Element& parent, std::string_view name) {
  for (const Element* e : doc.children(parent, "DataArray")) {
    const std::string* n = e->attribute("Name");
    if (n && *n == name) return e;
  }
  return nullptr;
}

Field to_field(const std::vector<double>& v, uint64_t rows, uint64_t cols) {
  Field f(static_cast<Eigen::Index>(rows), static_cast<Eigen::Index>(cols));
  if (!v.empty()) std::memcpy(f.data(), v.data(), v.size() * sizeof(double));
  return f;
}

// All DataArrays of <group> ("PointData" / "CellData") of `piece`, `ntuples` rows each.
FieldMap read_fields(Context& ctx, const xml::Document& doc, const Element& piece, const char* group,
                     uint64_t ntuples, const char* count_name) {
  FieldMap out;
  const Element* g = doc.first_child(piece, group);
  if (g == nullptr) return out;
  std::size_t k = 0;
  for (const Element* e : doc.children(*g, "DataArray")) {
    const ArrayInfo a = array_info(ctx, *e, "unnamed" + std::to_string(k++), group);
    CARDIOTWIN_CHECK(out.count(a.name) == 0, FileFormatError, "duplicate array name",
                     "each name once in <" << group << ">", "'" << a.name << "' twice", ctx.at(a.field));
    const std::string why = " (" + std::string(count_name) + "=" + std::to_string(ntuples) + " x " +
                            std::to_string(a.ncomp) + " components)";
    const auto v = read_values<double>(ctx, a, checked_mul(ntuples, a.ncomp, ctx, a.field), why);
    out.emplace(a.name, to_field(v, ntuples, a.ncomp));
  }
  return out;
}

Points read_points(Context& ctx, const xml::Document& doc, const Element& piece, uint64_t np) {
  const Element* pts = doc.first_child(piece, "Points");
  const Element* da = pts ? doc.first_child(*pts, "DataArray") : nullptr;
  if (da == nullptr) {
    CARDIOTWIN_CHECK(np == 0, FileFormatError, "missing Points",
                     "a <Points> element with a DataArray of " << np << " points", "none", ctx.at("Piece"));
    return Points(0, 3);
  }
  const ArrayInfo a = array_info(ctx, *da, "Points");
  CARDIOTWIN_CHECK(a.ncomp == 3, FileFormatError, "points must have 3 components", 3, a.ncomp, ctx.at(a.field));
  const auto v = read_values<double>(ctx, a, checked_mul(np, 3, ctx, a.field),
                                     " (NumberOfPoints=" + std::to_string(np) + " x 3 components)");
  Points p(static_cast<Eigen::Index>(np), 3);
  if (!v.empty()) std::memcpy(p.data(), v.data(), v.size() * sizeof(double));
  return p;
}

// Cell end offsets of a block of `ncells` cells (checked: non-decreasing, from 0).
std::vector<int64_t> read_offsets(Context& ctx, const ArrayInfo& a, uint64_t ncells, const char* count_name) {
  auto offsets = read_values<int64_t>(ctx, a, ncells, " (" + std::string(count_name) + "=" + std::to_string(ncells) + ")");
  int64_t prev = 0;
  for (std::size_t i = 0; i < offsets.size(); ++i) {
    CARDIOTWIN_CHECK(offsets[i] >= prev, FileFormatError, "cell offsets not increasing",
                     "an offset >= " << prev, offsets[i], ctx.at(a.field, int64_t(i)));
    prev = offsets[i];
  }
  return offsets;
}

// Node indices of cells with `nodes` nodes each into `out` (row-major, `ncells` rows).
template <class Cells>
void read_connectivity(Context& ctx, const ArrayInfo& a, const std::vector<int64_t>& offsets, uint64_t np,
                       Cells& out) {
  const uint64_t n = offsets.empty() ? 0 : static_cast<uint64_t>(offsets.back());
  const auto conn = read_values<int64_t>(ctx, a, n, " (the last cell offset)");
  out.resize(static_cast<Eigen::Index>(offsets.size()), Eigen::NoChange);
  Index* o = out.data();
  for (std::size_t i = 0; i < conn.size(); ++i) {
    const int64_t v = conn[i];
    CARDIOTWIN_CHECK(v >= 0 && static_cast<uint64_t>(v) < np, FileFormatError, "connectivity index out of range",
                     "a point index in [0, " << np << ")", v, ctx.at(a.field, int64_t(i)));
    o[i] = static_cast<Index>(v);
  }
}

ArrayInfo required_array(const Context& ctx, const xml::Document& doc, const Element& parent, const char* name) {
  const Element* e = find_array(doc, parent, name);
  CARDIOTWIN_CHECK(e != nullptr, FileFormatError, std::string("missing ") + name + " array",
                   "DataArray '" << name << "' in <" << parent.name << ">", "none", ctx.at(parent.name));
  ArrayInfo a = array_info(ctx, *e, name);
  CARDIOTWIN_CHECK(a.ncomp == 1, FileFormatError, "bad NumberOfComponents", 1, a.ncomp, ctx.at(a.field));
  return a;
}

const char* vtk_cell_name(int64_t type) {
  switch (type) {
    case 1: return "vertex";
    case 2: return "poly_vertex";
    case 3: return "line";
    case 4: return "poly_line";
    case 5: return "triangle";
    case 6: return "triangle_strip";
    case 7: return "polygon";
    case 8: return "pixel";
    case 9: return "quad";
    case 10: return "tetra";
    case 11: return "voxel";
    case 12: return "hexahedron";
    case 13: return "wedge";
    case 14: return "pyramid";
    case 15: return "pentagonal_prism";
    case 16: return "hexagonal_prism";
    case 21: return "quadratic_edge";
    case 22: return "quadratic_triangle";
    case 23: return "quadratic_quad";
    case 24: return "quadratic_tetra";
    case 25: return "quadratic_hexahedron";
    case 42: return "polyhedron";
    default: return nullptr;
  }
}

Tags to_tags(const Field& f, const Context& ctx, const std::string& field) {
  CARDIOTWIN_CHECK(f.cols() == 1, FileFormatError, "tag array must have 1 component", 1, f.cols(), ctx.at(field));
  Tags t(f.rows());
  for (Eigen::Index i = 0; i < f.rows(); ++i) {
    const double v = f(i, 0);
    CARDIOTWIN_CHECK(std::isfinite(v) && v == std::floor(v) && v >= std::numeric_limits<Index>::min() &&
                         v <= std::numeric_limits<Index>::max(),
                     FileFormatError, "tag is not a 32-bit integer", "an integer value", v, ctx.at(field, i));
    t[i] = static_cast<Index>(v);
  }
  return t;
}

Directions to_directions(const Field& f, const Context& ctx, const std::string& field) {
  CARDIOTWIN_CHECK(f.cols() == 3, FileFormatError, "direction array must have 3 components", 3, f.cols(),
                   ctx.at(field));
  return f;
}

// ---- documents ------------------------------------------------------------------------------

// Parse the document and read the <VTKFile> attributes and appended data.
Context open_document(const xml::Document& doc, std::string_view text, const std::string& source,
                      const char* expected_type) {
  Context ctx;
  ctx.source = source;
  ctx.decode_budget = (uint64_t(text.size()) + 1024) * kMaxInflateRatio;
  const Element& root = doc.root();
  CARDIOTWIN_CHECK(root.name == "VTKFile", FileFormatError, "not a VTK XML file", "root element <VTKFile>",
                   "<" << root.name << ">", Where(source, "root element"));
  const std::string* type = root.attribute("type");
  CARDIOTWIN_CHECK(type != nullptr && *type == expected_type, FileFormatError, "wrong VTK file type",
                   "type=\"" << expected_type << "\"", (type ? "type=\"" + *type + "\"" : "no type attribute"),
                   Where(source, "VTKFile"));
  const std::string* order = root.attribute("byte_order");
  const std::string byte_order = order ? *order : "LittleEndian";
  CARDIOTWIN_CHECK(byte_order == "LittleEndian" || byte_order == "BigEndian", FileFormatError, "bad byte_order",
                   "LittleEndian or BigEndian", excerpt(byte_order), Where(source, "VTKFile byte_order"));
  ctx.swap = (byte_order == "BigEndian") != host_is_big_endian();
  const std::string* header = root.attribute("header_type");
  const std::string header_type = header ? *header : "UInt32";
  CARDIOTWIN_CHECK(header_type == "UInt32" || header_type == "UInt64", FileFormatError, "bad header_type",
                   "UInt32 or UInt64", excerpt(header_type), Where(source, "VTKFile header_type"));
  ctx.header_size = header_type == "UInt64" ? 8 : 4;
  const std::string* compressor = root.attribute("compressor");
  if (compressor != nullptr && !trim(*compressor).empty()) {
    CARDIOTWIN_CHECK(trim(*compressor) == "vtkZLibDataCompressor", FileFormatError, "unsupported compressor",
                     "vtkZLibDataCompressor or none", excerpt(*compressor), Where(source, "VTKFile compressor"));
    ctx.compressed = true;
  }
  if (const Element* app = doc.first_child(root, "AppendedData")) {
    const std::string* enc = app->attribute("encoding");
    const std::string encoding = enc ? *enc : "raw";
    CARDIOTWIN_CHECK(encoding == "raw" || encoding == "base64", FileFormatError, "bad AppendedData encoding",
                     "raw or base64", excerpt(encoding), Where(source, "AppendedData"));
    ctx.appended_base64 = encoding == "base64";
    const std::string_view content = app->text();
    std::size_t p = 0;
    while (p < content.size() && is_space(content[p])) ++p;
    if (p < content.size()) {
      CARDIOTWIN_CHECK(content[p] == '_', FileFormatError, "bad AppendedData", "'_' before the data",
                       excerpt(content.substr(p, 8)), Where(source, "AppendedData"));
      ctx.appended = content.substr(p + 1);
      ctx.has_appended = true;
    }
  }
  return ctx;
}

xml::Document parse_xml(std::string_view text, const std::string& source) {
  xml::ParseOptions options;
  options.opaque_elements = {"AppendedData"};
  return xml::parse(text, source, options);
}

std::vector<const Element*> pieces_of(const xml::Document& doc, const Context& ctx, const char* dataset) {
  const Element* grid = doc.first_child(doc.root(), dataset);
  CARDIOTWIN_CHECK(grid != nullptr, FileFormatError, std::string("missing <") + dataset + ">",
                   "a <" << dataset << "> element in <VTKFile>", "none", Where(ctx.source, "VTKFile"));
  auto pieces = doc.children(*grid, "Piece");
  CARDIOTWIN_CHECK(!pieces.empty(), FileFormatError, "no Piece", "at least one <Piece>", "none",
                   Where(ctx.source, dataset));
  return pieces;
}

TetMesh read_vtu_piece(Context& ctx, const xml::Document& doc, const Element& piece) {
  TetMesh mesh;
  const uint64_t np = count_attribute(ctx, piece, "NumberOfPoints", std::nullopt, "Piece");
  const uint64_t nc = count_attribute(ctx, piece, "NumberOfCells", std::nullopt, "Piece");
  CARDIOTWIN_CHECK(np <= uint64_t(std::numeric_limits<Index>::max()), FileFormatError, "too many points",
                   "at most 2^31-1", np, ctx.at("Piece"));
  mesh.points = read_points(ctx, doc, piece, np);
  const Element* cells = doc.first_child(piece, "Cells");
  if (cells == nullptr) {
    CARDIOTWIN_CHECK(nc == 0, FileFormatError, "missing Cells", "a <Cells> element for " << nc << " cells",
                     "none", ctx.at("Piece"));
  } else {
    const ArrayInfo types_a = required_array(ctx, doc, *cells, "types");
    const ArrayInfo offsets_a = required_array(ctx, doc, *cells, "offsets");
    const ArrayInfo conn_a = required_array(ctx, doc, *cells, "connectivity");
    const auto types = read_values<int64_t>(ctx, types_a, nc, " (NumberOfCells=" + std::to_string(nc) + ")");
    std::map<int64_t, uint64_t> counts;
    for (int64_t t : types) ++counts[t];
    if (!(counts.empty() || (counts.size() == 1 && counts.begin()->first == 10))) {
      std::string found;
      for (const auto& [t, n] : counts) {
        const char* name = vtk_cell_name(t);
        found += (found.empty() ? "" : ", ") + (name ? std::string(name) : "type " + std::to_string(t)) + ": " +
                 std::to_string(n);
      }
      CARDIOTWIN_CHECK(false, FileFormatError, "unsupported cell types (only tetrahedra are read)",
                       "only tetra (VTK type 10)", found, ctx.at(types_a.field));
    }
    const auto offsets = read_offsets(ctx, offsets_a, nc, "NumberOfCells");
    for (std::size_t i = 0; i < offsets.size(); ++i) {
      const int64_t nodes = offsets[i] - (i ? offsets[i - 1] : 0);
      CARDIOTWIN_CHECK(nodes == 4, FileFormatError, "tetrahedron without 4 nodes", "4 nodes (offset " <<
                       (i ? offsets[i - 1] : 0) + 4 << ")", nodes << " nodes (offset " << offsets[i] << ")",
                       ctx.at(offsets_a.field, int64_t(i)));
    }
    read_connectivity(ctx, conn_a, offsets, np, mesh.tets);
  }
  mesh.point_data = read_fields(ctx, doc, piece, "PointData", np, "NumberOfPoints");
  mesh.cell_data = read_fields(ctx, doc, piece, "CellData", nc, "NumberOfCells");
  if (auto it = mesh.cell_data.find("region"); it != mesh.cell_data.end()) {
    mesh.region = to_tags(it->second, ctx, "CellData DataArray 'region'");
    mesh.cell_data.erase(it);
  }
  const std::pair<const char*, Directions*> dirs[] = {
      {"fibre", &mesh.fibre}, {"sheet", &mesh.sheet}, {"normal", &mesh.normal}};
  for (const auto& [name, d] : dirs) {
    if (auto it = mesh.cell_data.find(name); it != mesh.cell_data.end()) {
      *d = to_directions(it->second, ctx, std::string("CellData DataArray '") + name + "'");
      mesh.cell_data.erase(it);
    }
  }
  return mesh;
}

SurfaceMesh read_vtp_piece(Context& ctx, const xml::Document& doc, const Element& piece, const std::string& tag_array) {
  SurfaceMesh mesh;
  const uint64_t np = count_attribute(ctx, piece, "NumberOfPoints", std::nullopt, "Piece");
  const uint64_t npolys = count_attribute(ctx, piece, "NumberOfPolys", 0, "Piece");
  CARDIOTWIN_CHECK(np <= uint64_t(std::numeric_limits<Index>::max()), FileFormatError, "too many points",
                   "at most 2^31-1", np, ctx.at("Piece"));
  const std::pair<const char*, const char*> others[] = {
      {"Verts", "NumberOfVerts"}, {"Lines", "NumberOfLines"}, {"Strips", "NumberOfStrips"}};
  for (const auto& [elem, attr] : others) {
    const uint64_t n = count_attribute(ctx, piece, attr, 0, "Piece");
    CARDIOTWIN_CHECK(n == 0, FileFormatError, std::string("unsupported cells: ") + elem + " (only triangle polys are read)",
                     attr << "=0", attr << "=" << n, ctx.at("Piece"));
    if (const Element* block = doc.first_child(piece, elem))  // present but declared empty: check it is
      if (const Element* off = find_array(doc, *block, "offsets"))
        read_values<int64_t>(ctx, array_info(ctx, *off, "offsets", elem), 0, " (" + std::string(attr) + "=0)");
  }
  mesh.points = read_points(ctx, doc, piece, np);
  const Element* polys = doc.first_child(piece, "Polys");
  if (polys == nullptr) {
    CARDIOTWIN_CHECK(npolys == 0, FileFormatError, "missing Polys", "a <Polys> element for " << npolys << " polygons",
                     "none", ctx.at("Piece"));
  } else {
    const ArrayInfo offsets_a = required_array(ctx, doc, *polys, "offsets");
    const ArrayInfo conn_a = required_array(ctx, doc, *polys, "connectivity");
    const auto offsets = read_offsets(ctx, offsets_a, npolys, "NumberOfPolys");
    int64_t bad = 0, first_bad = -1, first_nodes = 0;
    for (std::size_t i = 0; i < offsets.size(); ++i) {
      const int64_t nodes = offsets[i] - (i ? offsets[i - 1] : 0);
      if (nodes != 3 && bad++ == 0) first_bad = int64_t(i), first_nodes = nodes;
    }
    CARDIOTWIN_CHECK(bad == 0, FileFormatError, "polygons that are not triangles (only triangles are read)",
                     "3 nodes per polygon", bad << " of " << offsets.size() << " polygons differ, the first with "
                     << first_nodes << " nodes", ctx.at(offsets_a.field, first_bad));
    read_connectivity(ctx, conn_a, offsets, np, mesh.triangles);
  }
  mesh.point_data = read_fields(ctx, doc, piece, "PointData", np, "NumberOfPoints");
  mesh.cell_data = read_fields(ctx, doc, piece, "CellData", npolys, "NumberOfPolys");
  if (auto it = mesh.cell_data.find(tag_array); it != mesh.cell_data.end())
    mesh.tags = to_tags(it->second, ctx, "CellData DataArray '" + tag_array + "'");
  return mesh;
}

// ---- merging pieces -------------------------------------------------------------------------

template <class M>
M concat_rows(const std::vector<const M*>& parts) {
  Eigen::Index rows = 0;
  for (const M* p : parts) rows += p->rows();
  M out(rows, parts.front()->cols());
  Eigen::Index r = 0;
  for (const M* p : parts) {
    if (p->rows() > 0) out.middleRows(r, p->rows()) = *p;
    r += p->rows();
  }
  return out;
}

std::string key_list(const FieldMap& m) {
  std::string s;
  for (const auto& [k, f] : m) s += (s.empty() ? "" : ", ") + k + " (" + std::to_string(f.cols()) + ")";
  return s.empty() ? "none" : s;
}

template <class Mesh>
FieldMap merge_fields(const std::vector<Mesh>& parts, FieldMap Mesh::*member, const char* group,
                      const std::string& source) {
  const FieldMap& first = parts.front().*member;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const FieldMap& m = parts[i].*member;
    bool same = m.size() == first.size();
    for (auto a = m.begin(), b = first.begin(); same && a != m.end(); ++a, ++b)
      same = a->first == b->first && a->second.cols() == b->second.cols();
    CARDIOTWIN_CHECK(same, FileFormatError, std::string("pieces have different ") + group + " arrays",
                     "as in piece 0: " << key_list(first), key_list(m), Where(source, "Piece " + std::to_string(i)));
  }
  FieldMap out;
  for (const auto& [name, f] : first) {
    std::vector<const Field*> fs;
    for (const auto& p : parts) fs.push_back(&(p.*member).at(name));
    out.emplace(name, concat_rows(fs));
  }
  return out;
}

// A per-cell member (region, tags, directions) that pieces must either all have or none.
template <class Mesh, class M, class CountFn>
M merge_optional(const std::vector<Mesh>& parts, M Mesh::*member, CountFn count, const char* name,
                 const std::string& source) {
  bool any = false;
  for (const auto& p : parts) any = any || (p.*member).rows() > 0;
  if (!any) return M();
  std::vector<const M*> ms;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    CARDIOTWIN_CHECK((parts[i].*member).rows() == count(parts[i]), FileFormatError,
                     "cell array present in some pieces only", "'" << name << "' in every piece", "none",
                     Where(source, "Piece " + std::to_string(i)));
    ms.push_back(&(parts[i].*member));
  }
  return concat_rows(ms);
}

template <class Mesh, class Cells>
void merge_geometry(const std::vector<Mesh>& parts, Cells Mesh::*cells, Mesh& out, const std::string& source) {
  std::vector<const Points*> pts;
  std::vector<const Cells*> cs;
  for (const auto& p : parts) pts.push_back(&p.points), cs.push_back(&(p.*cells));
  out.points = concat_rows(pts);
  CARDIOTWIN_CHECK(out.points.rows() <= std::numeric_limits<Index>::max(), FileFormatError, "too many points",
                   "at most 2^31-1 in all pieces", out.points.rows(), Where(source));
  out.*cells = concat_rows(cs);
  Eigen::Index row = 0;
  Index shift = 0;
  for (const auto& p : parts) {
    const Eigen::Index n = (p.*cells).rows();
    if (n > 0) (out.*cells).middleRows(row, n).array() += shift;
    row += n;
    shift += static_cast<Index>(p.points.rows());
  }
}

TetMesh merge(std::vector<TetMesh>&& parts, const std::string& source) {
  if (parts.size() == 1) return std::move(parts.front());
  TetMesh out;
  merge_geometry(parts, &TetMesh::tets, out, source);
  const auto ncells = [](const TetMesh& m) { return m.tets.rows(); };
  out.region = merge_optional(parts, &TetMesh::region, ncells, "region", source);
  out.fibre = merge_optional(parts, &TetMesh::fibre, ncells, "fibre", source);
  out.sheet = merge_optional(parts, &TetMesh::sheet, ncells, "sheet", source);
  out.normal = merge_optional(parts, &TetMesh::normal, ncells, "normal", source);
  out.point_data = merge_fields(parts, &TetMesh::point_data, "PointData", source);
  out.cell_data = merge_fields(parts, &TetMesh::cell_data, "CellData", source);
  return out;
}

SurfaceMesh merge(std::vector<SurfaceMesh>&& parts, const std::string& source) {
  if (parts.size() == 1) return std::move(parts.front());
  SurfaceMesh out;
  merge_geometry(parts, &SurfaceMesh::triangles, out, source);
  const auto ncells = [](const SurfaceMesh& m) { return m.triangles.rows(); };
  out.tags = merge_optional(parts, &SurfaceMesh::tags, ncells, "tags", source);
  out.point_data = merge_fields(parts, &SurfaceMesh::point_data, "PointData", source);
  out.cell_data = merge_fields(parts, &SurfaceMesh::cell_data, "CellData", source);
  return out;
}

// ---- writing --------------------------------------------------------------------------------

template <class T>
constexpr const char* vtk_type_name() {
  if constexpr (std::is_same_v<T, double>) return "Float64";
  else if constexpr (std::is_same_v<T, std::int32_t>) return "Int32";
  else if constexpr (std::is_same_v<T, std::int64_t>) return "Int64";
  else return "UInt8";
}

template <class T>
void append_number(std::string& out, T v) {
  char buf[32];
  std::to_chars_result r;
  if constexpr (std::is_same_v<T, std::uint8_t>) r = std::to_chars(buf, buf + sizeof(buf), unsigned(v));
  else r = std::to_chars(buf, buf + sizeof(buf), v);  // doubles: shortest round-trip form
  out.append(buf, r.ptr);
}

void append_u64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }

// Writes DataArray elements and collects their appended data.
class ArrayWriter {
 public:
  explicit ArrayWriter(VtkEncoding encoding) : encoding_(encoding) {}

  template <class T>
  void add(std::string& xml, std::string_view indent, std::string_view name, Eigen::Index ncomp, const T* data,
           std::size_t count, std::size_t per_line = 0) {
    xml += indent;
    xml += "<DataArray type=\"";
    xml += vtk_type_name<T>();
    xml += "\" Name=\"";
    xml += xml::escape(name);
    xml += '"';
    if (ncomp != 1) xml += " NumberOfComponents=\"" + std::to_string(ncomp) + "\"";
    if (encoding_ == VtkEncoding::ascii) {
      xml += " format=\"ascii\">\n";
      if (per_line == 0) per_line = ncomp > 1 ? static_cast<std::size_t>(ncomp) : 8;
      for (std::size_t i = 0; i < count; ++i) {
        if (i % per_line == 0) {
          if (i) xml += '\n';
          xml += indent;
          xml += "  ";
        } else {
          xml += ' ';
        }
        append_number(xml, data[i]);
      }
      if (count) xml += '\n';
      xml += indent;
      xml += "</DataArray>\n";
      return;
    }
    xml += " format=\"appended\" offset=\"" + std::to_string(appended_.size()) + "\"/>\n";
    blob(reinterpret_cast<const char*>(data), count * sizeof(T));
  }

  bool has_appended() const noexcept { return encoding_ != VtkEncoding::ascii; }
  std::string take_appended() noexcept { return std::move(appended_); }

 private:
  void blob(const char* p, std::size_t n) {
    if (encoding_ == VtkEncoding::binary) {
      append_u64(appended_, n);
      appended_.append(p, n);
      return;
    }
    const std::size_t nblocks = (n + kBlockSize - 1) / kBlockSize;
    std::vector<std::string> blocks(nblocks);
    for (std::size_t b = 0; b < nblocks; ++b)
      blocks[b] = zlib_deflate(std::string_view(p + b * kBlockSize, std::min(kBlockSize, n - b * kBlockSize)),
                               kZlibLevel);
    append_u64(appended_, nblocks);
    append_u64(appended_, kBlockSize);
    append_u64(appended_, nblocks ? n - (nblocks - 1) * kBlockSize : 0);
    for (const auto& z : blocks) append_u64(appended_, z.size());
    for (const auto& z : blocks) appended_ += z;
  }

  VtkEncoding encoding_;
  std::string appended_;
};

// The document in two parts, so that files can be written without joining them.
struct Document {
  std::string xml;       // everything up to the appended data
  std::string appended;  // raw appended bytes (may be empty)
  std::string tail;      // closing tags after them
};

std::string file_header(const char* type, VtkEncoding encoding) {
  std::string s = "<?xml version=\"1.0\"?>\n<VTKFile type=\"";
  s += type;
  s += "\" version=\"1.0\" byte_order=\"";
  s += host_is_big_endian() ? "BigEndian" : "LittleEndian";
  s += "\" header_type=\"UInt64\"";
  if (encoding == VtkEncoding::binary_compressed) s += " compressor=\"vtkZLibDataCompressor\"";
  s += ">\n";
  return s;
}

void finish(Document& doc, const char* dataset, ArrayWriter& w) {
  doc.xml += "    </Piece>\n  </";
  doc.xml += dataset;
  doc.xml += ">\n";
  if (w.has_appended()) {
    doc.xml += "  <AppendedData encoding=\"raw\">\n   _";
    doc.appended = w.take_appended();
    doc.tail = "\n  </AppendedData>\n";
  }
  doc.tail += "</VTKFile>\n";
}

void write_fields(std::string& xml, ArrayWriter& w, const FieldMap& fields, const std::vector<std::string>& skip) {
  for (const auto& [name, f] : fields) {
    if (std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
    w.add(xml, "        ", name, f.cols(), f.data(), static_cast<std::size_t>(f.size()));
  }
}

template <class Cells>
void write_cells(std::string& xml, ArrayWriter& w, const char* element, const Cells& cells, bool with_types) {
  const auto n = static_cast<std::size_t>(cells.rows());
  const auto k = static_cast<std::int64_t>(cells.cols());
  std::vector<std::int64_t> offsets(n);
  for (std::size_t i = 0; i < n; ++i) offsets[i] = static_cast<std::int64_t>(i + 1) * k;
  xml += "      <";
  xml += element;
  xml += ">\n";
  w.add(xml, "        ", "connectivity", 1, cells.data(), static_cast<std::size_t>(cells.size()),
        static_cast<std::size_t>(k));
  w.add(xml, "        ", "offsets", 1, offsets.data(), n);
  if (with_types) {
    const std::vector<std::uint8_t> types(n, 10);
    w.add(xml, "        ", "types", 1, types.data(), n);
  }
  xml += "      </";
  xml += element;
  xml += ">\n";
}

Document build_vtu(const TetMesh& mesh, VtkEncoding encoding) {
  Document doc;
  ArrayWriter w(encoding);
  std::string& x = doc.xml;
  x = file_header("UnstructuredGrid", encoding);
  x += "  <UnstructuredGrid>\n    <Piece NumberOfPoints=\"" + std::to_string(mesh.points.rows()) +
       "\" NumberOfCells=\"" + std::to_string(mesh.tets.rows()) + "\">\n";
  x += "      <PointData>\n";
  write_fields(x, w, mesh.point_data, {});
  x += "      </PointData>\n      <CellData>\n";
  std::vector<std::string> written;
  if (mesh.region.size() > 0) {
    w.add(x, "        ", "region", 1, mesh.region.data(), static_cast<std::size_t>(mesh.region.size()));
    written.push_back("region");
  }
  const std::pair<const char*, const Directions*> dirs[] = {
      {"fibre", &mesh.fibre}, {"sheet", &mesh.sheet}, {"normal", &mesh.normal}};
  for (const auto& [name, d] : dirs) {
    if (d->rows() == 0) continue;
    w.add(x, "        ", name, 3, d->data(), static_cast<std::size_t>(d->size()));
    written.push_back(name);
  }
  write_fields(x, w, mesh.cell_data, written);
  x += "      </CellData>\n      <Points>\n";
  w.add(x, "        ", "Points", 3, mesh.points.data(), static_cast<std::size_t>(mesh.points.size()));
  x += "      </Points>\n";
  write_cells(x, w, "Cells", mesh.tets, true);
  finish(doc, "UnstructuredGrid", w);
  return doc;
}

Document build_vtp(const SurfaceMesh& mesh, VtkEncoding encoding) {
  Document doc;
  ArrayWriter w(encoding);
  std::string& x = doc.xml;
  x = file_header("PolyData", encoding);
  x += "  <PolyData>\n    <Piece NumberOfPoints=\"" + std::to_string(mesh.points.rows()) +
       "\" NumberOfVerts=\"0\" NumberOfLines=\"0\" NumberOfStrips=\"0\" NumberOfPolys=\"" +
       std::to_string(mesh.triangles.rows()) + "\">\n";
  x += "      <PointData>\n";
  write_fields(x, w, mesh.point_data, {});
  x += "      </PointData>\n      <CellData>\n";
  std::vector<std::string> written;
  if (mesh.tags.size() > 0) {
    w.add(x, "        ", "tag", 1, mesh.tags.data(), static_cast<std::size_t>(mesh.tags.size()));
    written.push_back("tag");
  }
  write_fields(x, w, mesh.cell_data, written);
  x += "      </CellData>\n      <Points>\n";
  w.add(x, "        ", "Points", 3, mesh.points.data(), static_cast<std::size_t>(mesh.points.size()));
  x += "      </Points>\n";
  write_cells(x, w, "Polys", mesh.triangles, false);
  finish(doc, "PolyData", w);
  return doc;
}

std::string join(const Document& doc) {
  std::string s;
  s.reserve(doc.xml.size() + doc.appended.size() + doc.tail.size());
  s += doc.xml;
  s += doc.appended;
  s += doc.tail;
  return s;
}

void write_document(const std::string& path, const Document& doc) {
  write_atomically(path, [&](std::ostream& os) {
    os.write(doc.xml.data(), static_cast<std::streamsize>(doc.xml.size()));
    os.write(doc.appended.data(), static_cast<std::streamsize>(doc.appended.size()));
    os.write(doc.tail.data(), static_cast<std::streamsize>(doc.tail.size()));
  });
}

}  // namespace

// ---- public API -------------------------------------------------------------------------------

TetMesh parse_vtu(std::string_view text, const std::string& source) {
  const xml::Document doc = parse_xml(text, source);
  Context ctx = open_document(doc, text, source, "UnstructuredGrid");
  const auto pieces = pieces_of(doc, ctx, "UnstructuredGrid");
  std::vector<TetMesh> parts;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    ctx.prefix = pieces.size() > 1 ? "Piece " + std::to_string(i) + ": " : "";
    parts.push_back(read_vtu_piece(ctx, doc, *pieces[i]));
  }
  return merge(std::move(parts), source);
}

TetMesh read_vtu(const std::string& path) { return parse_vtu(read_file_bytes(path), path); }

std::string vtu_string(const TetMesh& mesh, VtkEncoding encoding) {
  validate_mesh(mesh, "mesh");
  return join(build_vtu(mesh, encoding));
}

void write_vtu(const std::string& path, const TetMesh& mesh, VtkEncoding encoding) {
  validate_mesh(mesh, path);
  write_document(path, build_vtu(mesh, encoding));
}

SurfaceMesh parse_vtp(std::string_view text, const std::string& source, const std::string& tag_array) {
  const xml::Document doc = parse_xml(text, source);
  Context ctx = open_document(doc, text, source, "PolyData");
  const auto pieces = pieces_of(doc, ctx, "PolyData");
  std::vector<SurfaceMesh> parts;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    ctx.prefix = pieces.size() > 1 ? "Piece " + std::to_string(i) + ": " : "";
    parts.push_back(read_vtp_piece(ctx, doc, *pieces[i], tag_array));
  }
  return merge(std::move(parts), source);
}

SurfaceMesh read_vtp(const std::string& path, const std::string& tag_array) {
  return parse_vtp(read_file_bytes(path), path, tag_array);
}

std::string vtp_string(const SurfaceMesh& mesh, VtkEncoding encoding) {
  validate_mesh(mesh, "surface");
  return join(build_vtp(mesh, encoding));
}

void write_vtp(const std::string& path, const SurfaceMesh& mesh, VtkEncoding encoding) {
  validate_mesh(mesh, path);
  write_document(path, build_vtp(mesh, encoding));
}

std::vector<PvdEntry> parse_pvd(std::string_view text, const std::string& source) {
  const xml::Document doc = xml::parse(text, source);
  const Element& root = doc.root();
  CARDIOTWIN_CHECK(root.name == "VTKFile", FileFormatError, "not a VTK XML file", "root element <VTKFile>",
                   "<" << root.name << ">", Where(source, "root element"));
  const std::string* type = root.attribute("type");
  CARDIOTWIN_CHECK(type != nullptr && *type == "Collection", FileFormatError, "wrong VTK file type",
                   "type=\"Collection\"", (type ? "type=\"" + *type + "\"" : "no type attribute"),
                   Where(source, "VTKFile"));
  const Element* coll = doc.first_child(root, "Collection");
  CARDIOTWIN_CHECK(coll != nullptr, FileFormatError, "missing <Collection>", "a <Collection> element", "none",
                   Where(source, "VTKFile"));
  std::vector<PvdEntry> entries;
  for (const Element* ds : doc.children(*coll, "DataSet")) {
    const auto index = static_cast<int64_t>(entries.size());
    PvdEntry entry;
    const std::string* file = ds->attribute("file");
    CARDIOTWIN_CHECK(file != nullptr && !trim(*file).empty(), FileFormatError, "DataSet without file",
                     "a non-empty file attribute", "none", Where(source, "DataSet", index));
    entry.file = *file;
    if (const std::string* t = ds->attribute("timestep")) {
      const std::string_view s = trim(*t);
      const char* b = (!s.empty() && s[0] == '+') ? s.data() + 1 : s.data();
      const auto r = std::from_chars(b, s.data() + s.size(), entry.time);
      CARDIOTWIN_CHECK(!s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(entry.time),
                       FileFormatError, "bad timestep", "a finite number", excerpt(*t),
                       Where(source, "DataSet timestep", index));
    }
    if (const std::string* p = ds->attribute("part")) {
      const std::string_view s = trim(*p);
      const auto r = std::from_chars(s.data(), s.data() + s.size(), entry.part);
      CARDIOTWIN_CHECK(!s.empty() && r.ec == std::errc() && r.ptr == s.data() + s.size(), FileFormatError,
                       "bad part", "an integer", excerpt(*p), Where(source, "DataSet part", index));
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::vector<PvdEntry> read_pvd(const std::string& path) { return parse_pvd(read_file_bytes(path), path); }

void write_pvd(const std::string& path, const std::vector<PvdEntry>& entries) {
  std::string x = "<?xml version=\"1.0\"?>\n<VTKFile type=\"Collection\" version=\"0.1\" byte_order=\"";
  x += host_is_big_endian() ? "BigEndian" : "LittleEndian";
  x += "\">\n  <Collection>\n";
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const PvdEntry& e = entries[i];
    CARDIOTWIN_CHECK(!e.file.empty(), InvalidInput, "pvd entry without file", "a file name", "empty",
                     Where(path, "file", static_cast<int64_t>(i)));
    CARDIOTWIN_CHECK(std::isfinite(e.time), InvalidInput, "pvd entry time is not finite", "a finite time",
                     e.time, Where(path, "time", static_cast<int64_t>(i)));
    x += "    <DataSet timestep=\"";
    append_number(x, e.time);
    x += "\" group=\"\" part=\"" + std::to_string(e.part) + "\" file=\"" + xml::escape(e.file) + "\"/>\n";
  }
  x += "  </Collection>\n</VTKFile>\n";
  write_atomically(path, [&](std::ostream& os) { os.write(x.data(), static_cast<std::streamsize>(x.size())); });
}

}  // namespace cardiotwin::io
