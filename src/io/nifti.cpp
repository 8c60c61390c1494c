#include "cardiotwin/io/nifti.hpp"

#include <zlib.h>

#include <Eigen/Geometry>
#include <Eigen/SVD>
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <limits>
#include <memory>
#include <sstream>
#include <type_traits>

#include "cardiotwin/core/atomic_file.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/io/gzip.hpp"

namespace cardiotwin::io {
namespace {

// ---- layout of the 348-byte NIfTI-1 header (byte offsets) -----------------------------------
constexpr std::size_t kHeaderSize = 348;
constexpr std::size_t kMinVoxOffset = 352;  // header + the 4-byte extension flag
constexpr std::size_t kOffDim = 40, kOffDatatype = 70, kOffBitpix = 72, kOffPixdim = 76,
                      kOffVoxOffset = 108, kOffSclSlope = 112, kOffSclInter = 116,
                      kOffXyztUnits = 123, kOffDescrip = 148, kOffQformCode = 252,
                      kOffSformCode = 254, kOffQuatern = 256, kOffQoffset = 268, kOffSrow = 280,
                      kOffMagic = 344;
// A header claiming more data than this is corrupt, whatever the file holds (NIfTI-1 dims are
// 16-bit, so products of seven of them would otherwise overflow).
constexpr double kMaxDataBytes = 1099511627776.0;  // 1 TiB

bool host_is_big_endian() noexcept {
  const std::uint16_t one = 1;
  unsigned char first = 0;
  std::memcpy(&first, &one, 1);
  return first == 0;
}

template <class U>
U byteswap_unsigned(U v) noexcept {
  if constexpr (sizeof(U) == 1) {
    return v;
  } else {
#if defined(__GNUC__) || defined(__clang__)
    if constexpr (sizeof(U) == 2) return static_cast<U>(__builtin_bswap16(v));
    if constexpr (sizeof(U) == 4) return static_cast<U>(__builtin_bswap32(v));
    if constexpr (sizeof(U) == 8) return static_cast<U>(__builtin_bswap64(v));
#else
    U r = 0;
    for (std::size_t b = 0; b < sizeof(U); ++b) r = static_cast<U>((r << 8) | ((v >> (8 * b)) & 0xff));
    return r;
#endif
  }
}

template <std::size_t N>
struct UnsignedOfSize;
template <> struct UnsignedOfSize<1> { using type = std::uint8_t; };
template <> struct UnsignedOfSize<2> { using type = std::uint16_t; };
template <> struct UnsignedOfSize<4> { using type = std::uint32_t; };
template <> struct UnsignedOfSize<8> { using type = std::uint64_t; };

/// The value of type `V` stored at `p`, byte-reversed when `swap`.
template <class V, bool Swap>
V load(const char* p) noexcept {
  using U = typename UnsignedOfSize<sizeof(V)>::type;
  U u;
  std::memcpy(&u, p, sizeof(V));
  if constexpr (Swap) u = byteswap_unsigned(u);
  V v;
  std::memcpy(&v, &u, sizeof(V));
  return v;
}
template <class V>
V load(const char* p, bool swap) noexcept {
  return swap ? load<V, true>(p) : load<V, false>(p);
}
/// Store `v` little-endian at `p`.
template <class V>
void store_le(char* p, V v) noexcept {
  using U = typename UnsignedOfSize<sizeof(V)>::type;
  U u;
  std::memcpy(&u, &v, sizeof(V));
  if (host_is_big_endian()) u = byteswap_unsigned(u);
  std::memcpy(p, &u, sizeof(V));
}

std::string format_double(double v) {
  std::ostringstream s;
  s << std::setprecision(std::numeric_limits<double>::max_digits10) << v;
  return s.str();
}

// ---- datatypes ---------------------------------------------------------------------------------
struct TypeDesc {
  NiftiType type;
  int bytes;
  const char* name;
};
constexpr TypeDesc kSupportedTypes[] = {
    {NiftiType::uint8, 1, "uint8"},     {NiftiType::int16, 2, "int16"},
    {NiftiType::int32, 4, "int32"},     {NiftiType::float32, 4, "float32"},
    {NiftiType::float64, 8, "float64"}, {NiftiType::int8, 1, "int8"},
    {NiftiType::uint16, 2, "uint16"},   {NiftiType::uint32, 4, "uint32"},
    {NiftiType::int64, 8, "int64"},     {NiftiType::uint64, 8, "uint64"}};

const TypeDesc* find_type(int code) noexcept {
  for (const TypeDesc& t : kSupportedTypes)
    if (static_cast<int>(t.type) == code) return &t;
  return nullptr;
}

std::string supported_types_list() {
  std::string s = "one of";
  for (const TypeDesc& t : kSupportedTypes)
    s += std::string(s.back() == 'f' ? " " : ", ") + std::to_string(static_cast<int>(t.type)) + " (" +
         t.name + ")";
  return s;
}

/// Names of the NIfTI-1 datatypes we know of but do not read, for clearer messages.
std::string datatype_code_name(int code) {
  switch (code) {
    case 0: return "0 (unknown)";
    case 1: return "1 (binary)";
    case 32: return "32 (complex64)";
    case 128: return "128 (rgb24)";
    case 1536: return "1536 (float128)";
    case 1792: return "1792 (complex128)";
    case 2048: return "2048 (complex256)";
    case 2304: return "2304 (rgba32)";
    default: return std::to_string(code);
  }
}

template <class T> struct NiftiTypeOf;
template <> struct NiftiTypeOf<std::uint8_t> { static constexpr NiftiType value = NiftiType::uint8; };
template <> struct NiftiTypeOf<std::int8_t> { static constexpr NiftiType value = NiftiType::int8; };
template <> struct NiftiTypeOf<std::int16_t> { static constexpr NiftiType value = NiftiType::int16; };
template <> struct NiftiTypeOf<std::uint16_t> { static constexpr NiftiType value = NiftiType::uint16; };
template <> struct NiftiTypeOf<std::int32_t> { static constexpr NiftiType value = NiftiType::int32; };
template <> struct NiftiTypeOf<std::uint32_t> { static constexpr NiftiType value = NiftiType::uint32; };
template <> struct NiftiTypeOf<std::int64_t> { static constexpr NiftiType value = NiftiType::int64; };
template <> struct NiftiTypeOf<std::uint64_t> { static constexpr NiftiType value = NiftiType::uint64; };
template <> struct NiftiTypeOf<float> { static constexpr NiftiType value = NiftiType::float32; };
template <> struct NiftiTypeOf<double> { static constexpr NiftiType value = NiftiType::float64; };

template <class T>
const char* type_name() noexcept {
  return find_type(static_cast<int>(NiftiTypeOf<T>::value))->name;
}

// ---- gzip ------------------------------------------------------------------------------------

/// Decompress the gzip stream `data` (members may be concatenated), keeping only the output bytes
/// [begin, begin + length) in `kept`; returns how many bytes were decompressed. Without `to_end`
/// it stops as soon as those bytes are kept (to read a header without inflating the data);
/// with it, the whole stream is inflated and checked, keeping memory to the requested range.
/// Unlike `gunzip`, the header's claimed size never decides an allocation on its own.
std::uint64_t inflate_range(std::string_view data, const std::string& source, std::uint64_t begin,
                            std::uint64_t length, bool to_end, std::string& kept) {
  kept.clear();
  const std::uint64_t end = begin + length;
  // Reserve what the compressed size makes plausible; the string grows if the data really is there.
  kept.reserve(static_cast<std::size_t>(
      std::min<std::uint64_t>(length, std::max<std::uint64_t>(std::uint64_t(data.size()) * 8, 1 << 20))));
  z_stream zs{};
  CARDIOTWIN_CHECK(inflateInit2(&zs, 15 + 16) == Z_OK, Error, "zlib initialisation failed", "", "",
                   Where(source));
  const std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&zs, inflateEnd);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  std::size_t remaining = data.size();
  std::uint64_t total = 0;
  std::unique_ptr<char[]> buf(new char[1 << 16]);
  constexpr uInt kBufSize = 1 << 16;
  int ret = Z_OK;
  for (;;) {
    if (zs.avail_in == 0 && remaining > 0) {
      const auto chunk = static_cast<uInt>(std::min<std::size_t>(remaining, std::numeric_limits<uInt>::max()));
      zs.avail_in = chunk;
      remaining -= chunk;
    }
    zs.next_out = reinterpret_cast<Bytef*>(buf.get());
    zs.avail_out = kBufSize;
    ret = inflate(&zs, Z_NO_FLUSH);
    if (ret != Z_OK && ret != Z_STREAM_END) break;
    const std::uint64_t produced = kBufSize - zs.avail_out;
    const std::uint64_t lo = std::max(total, begin), hi = std::min(total + produced, end);
    if (lo < hi) kept.append(buf.get() + (lo - total), static_cast<std::size_t>(hi - lo));
    total += produced;
    if (!to_end && total >= end) return total;
    if (ret == Z_STREAM_END) {
      if (zs.avail_in == 0 && remaining == 0) return total;
      if (inflateReset(&zs) != Z_OK) break;  // another gzip member follows (`cat a.gz b.gz`)
      continue;
    }
    if (zs.avail_in == 0 && remaining == 0 && produced == 0) {
      ret = Z_BUF_ERROR;
      break;
    }
  }
  const std::string msg =
      ret == Z_BUF_ERROR ? "a truncated stream" : (zs.msg ? zs.msg : "zlib error " + std::to_string(ret));
  CARDIOTWIN_CHECK(false, FileFormatError, "corrupt gzip data", "a complete gzip stream", msg,
                   Where(source));
  return total;  // not reached
}

// ---- header ----------------------------------------------------------------------------------

/// The header, validated, with what is needed to find and convert the data.
struct Header {
  NiftiInfo info;
  bool swap = false;                 ///< file byte order differs from the host's
  int bytes_per_voxel = 1;
  std::uint64_t vox_offset = kMinVoxOffset;
  std::uint64_t voxels_per_volume = 1;
  std::uint64_t data_bytes = 0;      ///< all volumes
  const char* affine_field = "srow_x";  ///< header field the affine came from, for messages
};

/// nibabel's fix for spatial voxel sizes: zero becomes 1, negative becomes its magnitude.
double fixed_voxel_size(double p) noexcept { return p == 0 ? 1.0 : std::abs(p); }

/// The qform matrix (file units), as nibabel computes it: a from b, c, d; qfac = pixdim[0]
/// when that is -1, else 1; voxel sizes pixdim[1..3].
Eigen::Matrix4d qform_matrix(const double quat[3], const double qoffset[3], const double pixdim[4],
                             const std::string& source) {
  static const char* const names[3] = {"quatern_b", "quatern_c", "quatern_d"};
  static const char* const off_names[3] = {"qoffset_x", "qoffset_y", "qoffset_z"};
  for (int a = 0; a < 3; ++a) {
    CARDIOTWIN_CHECK(std::isfinite(quat[a]), FileFormatError, "bad qform quaternion",
                     "a finite value", quat[a], Where(source, names[a]));
    CARDIOTWIN_CHECK(std::isfinite(qoffset[a]), FileFormatError, "bad qform offset",
                     "a finite value", qoffset[a], Where(source, off_names[a]));
  }
  const double b = quat[0], c = quat[1], d = quat[2];
  const double w2 = 1.0 - (b * b + c * c + d * d);
  double a = 0;
  // Within rounding of float32 storage, |(b, c, d)| = 1 means a = 0 (a 180 degree rotation).
  if (std::abs(w2) >= 3 * static_cast<double>(FLT_EPSILON)) {
    CARDIOTWIN_CHECK(w2 > 0, FileFormatError, "bad qform quaternion",
                     "quatern_b^2 + quatern_c^2 + quatern_d^2 <= 1", format_double(1.0 - w2),
                     Where(source, "quatern_b"));
    a = std::sqrt(w2);
  }
  // Normalising by the quaternion's norm absorbs the float32 rounding of b, c, d.
  const double s = 2.0 / (a * a + b * b + c * c + d * d);
  const double X = b * s, Y = c * s, Z = d * s;
  Eigen::Matrix3d r;
  r << 1.0 - (c * Y + d * Z), b * Y - a * Z, b * Z + a * Y,  //
      b * Y + a * Z, 1.0 - (b * X + d * Z), c * Z - a * X,   //
      b * Z - a * Y, c * Z + a * X, 1.0 - (b * X + c * Y);
  const double qfac = pixdim[0] == -1 ? -1.0 : 1.0;
  const Eigen::Vector3d vox(fixed_voxel_size(pixdim[1]), fixed_voxel_size(pixdim[2]),
                            qfac * fixed_voxel_size(pixdim[3]));
  Eigen::Matrix4d m = Eigen::Matrix4d::Identity();
  m.topLeftCorner<3, 3>() = r * vox.asDiagonal();
  m.topRightCorner<3, 1>() = Eigen::Vector3d(qoffset[0], qoffset[1], qoffset[2]);
  return m;
}

Header parse_header(std::string_view b, const std::string& source) {
  CARDIOTWIN_CHECK(b.size() >= kHeaderSize, FileFormatError, "truncated NIfTI header",
                   "at least " << kHeaderSize << " bytes", b.size() << " bytes", Where(source, "header"));
  Header h;
  // Byte order: sizeof_hdr is 348 when read in the file's order.
  const std::int32_t size_le = load<std::int32_t>(b.data(), host_is_big_endian());
  const std::int32_t size_be = load<std::int32_t>(b.data(), !host_is_big_endian());
  CARDIOTWIN_CHECK(!(size_le == 540 || size_be == 540), FileFormatError, "NIfTI-2 is not supported",
                   "a NIfTI-1 header (sizeof_hdr 348)", "a NIfTI-2 header (sizeof_hdr 540)",
                   Where(source, "sizeof_hdr"));
  CARDIOTWIN_CHECK(size_le == 348 || size_be == 348, FileFormatError, "not a NIfTI-1 file",
                   "sizeof_hdr 348 (in either byte order)", size_le, Where(source, "sizeof_hdr"));
  h.info.big_endian = size_le != 348;
  h.swap = h.info.big_endian != host_is_big_endian();
  const bool swap = h.swap;
  auto i16 = [&](std::size_t off) { return load<std::int16_t>(b.data() + off, swap); };
  auto f32 = [&](std::size_t off) { return static_cast<double>(load<float>(b.data() + off, swap)); };

  const std::string_view magic = b.substr(kOffMagic, 4);
  CARDIOTWIN_CHECK(magic != std::string_view("ni1\0", 4), FileFormatError,
                   "two-file NIfTI (.hdr/.img) is not supported",
                   "a single-file NIfTI-1 (magic 'n+1')", "magic 'ni1' (header and image in separate files)",
                   Where(source, "magic"));
  if (magic != std::string_view("n+1\0", 4)) {
    std::string shown;
    for (const char ch : magic) {
      const auto u = static_cast<unsigned char>(ch);
      if (u >= 32 && u < 127) {
        shown += ch;
      } else {
        static const char hex[] = "0123456789abcdef";
        shown += std::string("\\x") + hex[u >> 4] + hex[u & 15];
      }
    }
    CARDIOTWIN_CHECK(false, FileFormatError, "bad NIfTI-1 magic", "'n+1\\x00'",
                     "'" << shown << "'" << (magic == std::string_view("\0\0\0\0", 4) ? " (an ANALYZE 7.5 header?)" : ""),
                     Where(source, "magic"));
  }

  // ---- dimensions
  std::int16_t dim[8];
  for (int a = 0; a < 8; ++a) dim[a] = i16(kOffDim + 2 * static_cast<std::size_t>(a));
  CARDIOTWIN_CHECK(dim[0] >= 1 && dim[0] <= 7, FileFormatError, "bad number of dimensions",
                   "dim[0] in 1..7", dim[0], Where(source, "dim", 0));
  for (int a = 1; a <= dim[0]; ++a)
    CARDIOTWIN_CHECK(dim[a] >= 1, FileFormatError, "bad image dimension",
                     "dim[" << a << "] >= 1", dim[a], Where(source, "dim", a));
  for (int a = 0; a < 3; ++a) h.info.shape[static_cast<std::size_t>(a)] = a + 1 <= dim[0] ? dim[a + 1] : 1;
  double volumes = 1;
  for (int a = 4; a <= dim[0]; ++a) volumes *= dim[a];

  // ---- datatype
  const int code = i16(kOffDatatype);
  const TypeDesc* type = find_type(code);
  CARDIOTWIN_CHECK(type != nullptr, FileFormatError, "unsupported NIfTI datatype",
                   supported_types_list(), datatype_code_name(code), Where(source, "datatype"));
  h.info.datatype = type->type;
  h.bytes_per_voxel = type->bytes;
  const int bitpix = i16(kOffBitpix);
  CARDIOTWIN_CHECK(bitpix == 8 * type->bytes, FileFormatError, "bitpix does not match datatype",
                   8 * type->bytes << " for " << type->name, bitpix, Where(source, "bitpix"));

  h.voxels_per_volume = static_cast<std::uint64_t>(h.info.shape[0]) *
                        static_cast<std::uint64_t>(h.info.shape[1]) *
                        static_cast<std::uint64_t>(h.info.shape[2]);
  const double total_bytes = static_cast<double>(h.voxels_per_volume) * volumes * type->bytes;
  CARDIOTWIN_CHECK(total_bytes <= kMaxDataBytes, FileFormatError, "absurd NIfTI image size",
                   "at most 1 TiB of data",
                   total_bytes << " bytes (dim " << dim[1] << " x " << dim[2] << " x ... of "
                               << type->name << ")",
                   Where(source, "dim"));
  h.info.num_volumes = static_cast<std::int64_t>(volumes);
  h.data_bytes = static_cast<std::uint64_t>(total_bytes);

  // ---- data offset
  const double vox_offset = f32(kOffVoxOffset);
  CARDIOTWIN_CHECK(std::isfinite(vox_offset) && vox_offset >= kMinVoxOffset && vox_offset <= kMaxDataBytes &&
                       vox_offset == std::floor(vox_offset),
                   FileFormatError, "bad data offset",
                   "a whole number >= " << kMinVoxOffset << " for a single-file NIfTI-1", vox_offset,
                   Where(source, "vox_offset"));
  h.vox_offset = static_cast<std::uint64_t>(vox_offset);

  // ---- voxel sizes
  double pixdim[4];
  for (int a = 0; a < 4; ++a) pixdim[a] = f32(kOffPixdim + 4 * static_cast<std::size_t>(a));
  for (int a = 1; a < 4; ++a)
    CARDIOTWIN_CHECK(std::isfinite(pixdim[a]), FileFormatError, "bad voxel size", "a finite value",
                     pixdim[a], Where(source, "pixdim", a));

  // ---- value scaling (as nibabel: a zero or non-finite slope means none)
  const double slope = f32(kOffSclSlope), inter = f32(kOffSclInter);
  if (slope != 0 && std::isfinite(slope)) {
    CARDIOTWIN_CHECK(std::isfinite(inter), FileFormatError, "bad scaling intercept",
                     "a finite scl_inter with scl_slope " << slope, inter, Where(source, "scl_inter"));
    h.info.scl_slope = slope;
    h.info.scl_inter = inter;
  }

  // ---- units
  switch (static_cast<unsigned char>(b[kOffXyztUnits]) & 7) {
    case 1: h.info.spatial_unit_to_mm = 1000.0; break;  // metre
    case 3: h.info.spatial_unit_to_mm = 1e-3; break;    // micron
    default: h.info.spatial_unit_to_mm = 1.0; break;    // mm, or unknown
  }

  // ---- description
  const std::string_view descrip = b.substr(kOffDescrip, 80);
  h.info.description = std::string(descrip.substr(0, std::min(descrip.find('\0'), descrip.size())));

  // ---- geometry
  h.info.qform_code = i16(kOffQformCode);
  h.info.sform_code = i16(kOffSformCode);
  if (h.info.sform_code > 0) {
    static const char* const rows[3] = {"srow_x", "srow_y", "srow_z"};
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 4; ++c) {
        const double v = f32(kOffSrow + 16 * static_cast<std::size_t>(r) + 4 * static_cast<std::size_t>(c));
        CARDIOTWIN_CHECK(std::isfinite(v), FileFormatError, "bad sform", "finite values", v,
                         Where(source, rows[r], c));
        h.info.sform(r, c) = v;
      }
  }
  if (h.info.qform_code > 0) {
    double quat[3], qoffset[3];
    for (int a = 0; a < 3; ++a) {
      quat[a] = f32(kOffQuatern + 4 * static_cast<std::size_t>(a));
      qoffset[a] = f32(kOffQoffset + 4 * static_cast<std::size_t>(a));
    }
    // A broken qform only matters when it is the one used.
    if (h.info.sform_code > 0) {
      try {
        h.info.qform = qform_matrix(quat, qoffset, pixdim, source);
      } catch (const FileFormatError&) {
        h.info.qform.setIdentity();
      }
    } else {
      h.info.qform = qform_matrix(quat, qoffset, pixdim, source);
    }
  }
  if (h.info.sform_code > 0) {
    h.info.affine = h.info.sform;
    h.affine_field = "srow_x";
  } else if (h.info.qform_code > 0) {
    h.info.affine = h.info.qform;
    h.affine_field = "quatern_b";
  } else {
    h.info.affine.setIdentity();
    for (int a = 0; a < 3; ++a) h.info.affine(a, a) = fixed_voxel_size(pixdim[a + 1]);
    h.affine_field = "pixdim";
  }
  h.info.affine.topRows<3>() *= h.info.spatial_unit_to_mm;
  return h;
}

/// Set `image`'s geometry from the header, reporting a degenerate affine as a format error.
template <class T>
void apply_geometry(Image<T>& image, const Header& h, const std::string& source) {
  try {
    image.set_affine(h.info.affine);
  } catch (const InvalidInput& e) {
    CARDIOTWIN_CHECK(false, FileFormatError, "unusable NIfTI geometry (" + e.description() + ")",
                     "a non-singular voxel-to-world matrix", e.found(),
                     Where(source, h.affine_field));
  }
}

/// The decompressed header bytes of `bytes` (a view of `bytes` itself when not gzipped).
std::string_view header_bytes(std::string_view bytes, const std::string& source, std::string& storage) {
  if (!is_gzip(bytes)) return bytes;
  inflate_range(bytes, source, 0, kMinVoxOffset, false, storage);
  return storage;
}

// ---- voxel conversion ------------------------------------------------------------------------

struct ConvertContext {
  const std::string* source;
  std::array<std::int64_t, 3> shape;
  std::int64_t volume, num_volumes;
};

template <class T>
[[noreturn]] void value_does_not_fit(const ConvertContext& ctx, std::size_t index, const std::string& value,
                                     bool scaled) {
  const auto n = static_cast<std::int64_t>(index);
  const std::int64_t nx = ctx.shape[0], ny = ctx.shape[1];
  std::ostringstream voxel;
  voxel << "voxel (" << n % nx << ", " << (n / nx) % ny << ", " << n / (nx * ny) << ")";
  if (ctx.num_volumes > 1) voxel << " of volume " << ctx.volume;
  CARDIOTWIN_CHECK(false, FileFormatError, std::string("voxel value does not fit ") + type_name<T>(),
                   "an integer in [" << +std::numeric_limits<T>::min() << ", "
                                     << +std::numeric_limits<T>::max() << "]",
                   value << (scaled ? " (after scl_slope/scl_inter)" : ""), Where(*ctx.source, voxel.str()));
  std::abort();  // not reached
}

/// True if integer `x` is representable in integer type `R`.
template <class R, class S>
constexpr bool integer_fits(S x) noexcept {
  using LR = std::numeric_limits<R>;
  using LS = std::numeric_limits<S>;
  if constexpr (LS::is_signed == LR::is_signed) {
    if constexpr (LS::digits <= LR::digits) return true;
    else return x >= static_cast<S>(LR::min()) && x <= static_cast<S>(LR::max());
  } else if constexpr (LS::is_signed) {  // signed into unsigned
    if (x < 0) return false;
    if constexpr (LS::digits <= LR::digits) return true;
    else return x <= static_cast<S>(LR::max());
  } else {  // unsigned into signed
    if constexpr (LS::digits <= LR::digits) return true;
    else return x <= static_cast<S>(LR::max());
  }
}

/// True if `v` is an integer representable in integer type `R`.
template <class R>
bool double_fits(double v) noexcept {
  using L = std::numeric_limits<R>;
  // Powers of two, so exact in double: [min, 2^digits).
  constexpr double lo = static_cast<double>(L::min());
  constexpr double hi = static_cast<double>(L::max() / 2 + 1) * 2.0;
  return v >= lo && v < hi;
}

/// Floating-point `v` as `T`, overflow of float giving infinity (rather than undefined behaviour).
template <class T>
T to_real(double v) noexcept {
  if constexpr (std::is_same_v<T, float>) {
    if (v > static_cast<double>(FLT_MAX)) return std::numeric_limits<float>::infinity();
    if (v < -static_cast<double>(FLT_MAX)) return -std::numeric_limits<float>::infinity();
  }
  return static_cast<T>(v);
}

/// Convert `n` voxels of on-disk type `S` at `raw` into `out`, scaling when `scaled`.
template <class S, class T, bool Swap>
void convert(const char* raw, std::size_t n, bool scaled, double slope, double inter, T* out,
             const ConvertContext& ctx) {
  if (!scaled) {
    if constexpr (std::is_same_v<S, T> && !Swap) {
      std::memcpy(out, raw, n * sizeof(T));
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        const S x = load<S, Swap>(raw + i * sizeof(S));
        if constexpr (std::is_integral_v<T>) {
          if constexpr (std::is_integral_v<S>) {
            if (!integer_fits<T>(x)) value_does_not_fit<T>(ctx, i, std::to_string(x), false);
            out[i] = static_cast<T>(x);
          } else {
            const auto v = static_cast<double>(x);
            if (!(v == std::trunc(v) && double_fits<T>(v))) value_does_not_fit<T>(ctx, i, format_double(v), false);
            out[i] = static_cast<T>(v);
          }
        } else if constexpr (std::is_floating_point_v<S>) {
          out[i] = to_real<T>(static_cast<double>(x));
        } else {
          out[i] = static_cast<T>(x);
        }
      }
    }
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const double x = static_cast<double>(load<S, Swap>(raw + i * sizeof(S)));
    const double v = x * slope + inter;
    if constexpr (std::is_integral_v<T>) {
      // Slope and intercept are float32, so allow their rounding before calling v non-integer.
      const double r = std::round(v);
      const double tol = std::min(0.01, 1e-6 * (std::abs(x * slope) + std::abs(inter) + 1.0));
      if (!(std::abs(v - r) <= tol && double_fits<T>(r))) value_does_not_fit<T>(ctx, i, format_double(v), true);
      out[i] = static_cast<T>(r);
    } else {
      out[i] = to_real<T>(v);
    }
  }
}

template <class T, bool Swap>
void convert_from(NiftiType type, const char* raw, std::size_t n, bool scaled, double slope, double inter,
                  T* out, const ConvertContext& ctx) {
  switch (type) {
    case NiftiType::uint8: return convert<std::uint8_t, T, Swap>(raw, n, scaled, slope, inter, out, ctx);
    case NiftiType::int8: return convert<std::int8_t, T, Swap>(raw, n, scaled, slope, inter, out, ctx);
    case NiftiType::int16: return convert<std::int16_t, T, Swap>(raw, n, scaled, slope, inter, out, ctx);
    case NiftiType::uint16: return convert<std::uint16_t, T, Swap>(raw, n, scaled, slope, inter, out, ctx);
    case NiftiType::int32: return convert<std::int32_t, T, Swap>(raw, n, scaled, slope, inter, out, ctx);
    case NiftiType::uint32: return convert<std::uint32_t, T, Swap>(raw, n, scaled, slope, inter, out, ctx);
    case NiftiType::int64: return convert<std::int64_t, T, Swap>(raw, n, scaled, slope, inter, out, ctx);
    case NiftiType::uint64: return convert<std::uint64_t, T, Swap>(raw, n, scaled, slope, inter, out, ctx);
    case NiftiType::float32: return convert<float, T, Swap>(raw, n, scaled, slope, inter, out, ctx);
    case NiftiType::float64: return convert<double, T, Swap>(raw, n, scaled, slope, inter, out, ctx);
  }
}

}  // namespace

bool NiftiInfo::is_integer() const noexcept {
  return datatype != NiftiType::float32 && datatype != NiftiType::float64 && !has_scaling();
}

NiftiInfo parse_nifti_info(std::string_view bytes, const std::string& source) {
  std::string storage;
  return parse_header(header_bytes(bytes, source, storage), source).info;
}

NiftiInfo read_nifti_info(const std::string& path) { return parse_nifti_info(read_file_bytes(path), path); }

template <class T>
Image<T> parse_nifti(std::string_view bytes, const std::string& source, std::int64_t volume) {
  std::string header_storage;
  const Header h = parse_header(header_bytes(bytes, source, header_storage), source);
  CARDIOTWIN_CHECK(volume >= 0 && volume < h.info.num_volumes, InvalidInput, "volume out of range",
                   "a volume index in [0, " << h.info.num_volumes << ")", volume, Where(source, "volume"));
  const std::uint64_t volume_bytes = h.voxels_per_volume * static_cast<std::uint64_t>(h.bytes_per_voxel);
  const std::uint64_t begin = h.vox_offset + static_cast<std::uint64_t>(volume) * volume_bytes;
  const std::uint64_t needed = h.vox_offset + h.data_bytes;

  // Check that the file holds all the data the header claims before allocating the image.
  std::string inflated;
  std::string_view raw;
  std::uint64_t available = bytes.size();
  if (is_gzip(bytes)) {
    available = inflate_range(bytes, source, begin, volume_bytes, true, inflated);
    raw = inflated;
  }
  CARDIOTWIN_CHECK(available >= needed, FileFormatError, "NIfTI file too short for its data",
                   needed << " bytes (vox_offset " << h.vox_offset << " + " << h.data_bytes << " bytes for "
                          << h.info.shape[0] << " x " << h.info.shape[1] << " x " << h.info.shape[2]
                          << " x " << h.info.num_volumes << " voxels of "
                          << find_type(static_cast<int>(h.info.datatype))->name << ")",
                   available << " bytes" << (is_gzip(bytes) ? " after decompression" : ""),
                   Where(source, "dim"));
  if (!is_gzip(bytes)) raw = bytes.substr(static_cast<std::size_t>(begin), static_cast<std::size_t>(volume_bytes));

  Image<T> image(h.info.shape);
  apply_geometry(image, h, source);
  const ConvertContext ctx{&source, h.info.shape, volume, h.info.num_volumes};
  const bool scaled = h.info.has_scaling();
  const auto n = static_cast<std::size_t>(h.voxels_per_volume);
  if (h.swap)
    convert_from<T, true>(h.info.datatype, raw.data(), n, scaled, h.info.scl_slope, h.info.scl_inter,
                          image.data(), ctx);
  else
    convert_from<T, false>(h.info.datatype, raw.data(), n, scaled, h.info.scl_slope, h.info.scl_inter,
                           image.data(), ctx);
  return image;
}

template <class T>
Image<T> read_nifti(const std::string& path, std::int64_t volume) {
  return parse_nifti<T>(read_file_bytes(path), path, volume);
}

template <class T>
std::string nifti_bytes(const Image<T>& image) {
  const auto& shape = image.shape();
  for (int a = 0; a < 3; ++a)
    CARDIOTWIN_CHECK(shape[static_cast<std::size_t>(a)] >= 1 && shape[static_cast<std::size_t>(a)] <= 32767,
                     InvalidInput, "image shape does not fit NIfTI-1", "1..32767 voxels along each axis",
                     shape[static_cast<std::size_t>(a)], Where({}, "shape", a));
  std::string out(kMinVoxOffset + static_cast<std::size_t>(image.size()) * sizeof(T), '\0');
  char* p = out.data();
  store_le<std::int32_t>(p, static_cast<std::int32_t>(kHeaderSize));
  p[38] = 'r';  // "regular", as ANALYZE readers expect
  const std::int16_t dim[8] = {3, static_cast<std::int16_t>(shape[0]), static_cast<std::int16_t>(shape[1]),
                               static_cast<std::int16_t>(shape[2]), 1, 1, 1, 1};
  for (std::size_t a = 0; a < 8; ++a) store_le<std::int16_t>(p + kOffDim + 2 * a, dim[a]);
  store_le<std::int16_t>(p + kOffDatatype, static_cast<std::int16_t>(NiftiTypeOf<T>::value));
  store_le<std::int16_t>(p + kOffBitpix, static_cast<std::int16_t>(8 * sizeof(T)));

  // qform: the rotation nearest the (possibly sheared) direction, with the handedness in qfac.
  Eigen::Matrix3d rot = image.direction();
  float qfac = 1;
  if (rot.determinant() < 0) {
    qfac = -1;
    rot.col(2) *= -1;
  }
  const Eigen::JacobiSVD<Eigen::Matrix3d> svd(rot, Eigen::ComputeFullU | Eigen::ComputeFullV);
  rot = svd.matrixU() * svd.matrixV().transpose();
  Eigen::Quaterniond q(rot);
  q.normalize();
  if (q.w() < 0) q.coeffs() *= -1;  // NIfTI stores b, c, d and takes a >= 0

  const float pixdim[8] = {qfac, static_cast<float>(image.spacing()[0]), static_cast<float>(image.spacing()[1]),
                           static_cast<float>(image.spacing()[2]), 1, 1, 1, 1};
  for (std::size_t a = 0; a < 8; ++a) store_le<float>(p + kOffPixdim + 4 * a, pixdim[a]);
  store_le<float>(p + kOffVoxOffset, static_cast<float>(kMinVoxOffset));
  store_le<float>(p + kOffSclSlope, 0.0f);
  store_le<float>(p + kOffSclInter, 0.0f);
  p[kOffXyztUnits] = 2 | 16;  // mm, ms
  const char descrip[] = "cardiotwin";
  std::memcpy(p + kOffDescrip, descrip, sizeof(descrip) - 1);
  store_le<std::int16_t>(p + kOffQformCode, 1);
  store_le<std::int16_t>(p + kOffSformCode, 1);
  const double quat[3] = {q.x(), q.y(), q.z()};
  const Eigen::Vector3d& origin = image.origin();
  for (std::size_t a = 0; a < 3; ++a) {
    store_le<float>(p + kOffQuatern + 4 * a, static_cast<float>(quat[a]));
    store_le<float>(p + kOffQoffset + 4 * a, static_cast<float>(origin[static_cast<Eigen::Index>(a)]));
  }
  const Eigen::Matrix4d affine = image.affine();
  for (std::size_t r = 0; r < 3; ++r)
    for (std::size_t c = 0; c < 4; ++c)
      store_le<float>(p + kOffSrow + 16 * r + 4 * c,
                      static_cast<float>(affine(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c))));
  std::memcpy(p + kOffMagic, "n+1\0", 4);
  // Bytes 348..351 stay zero: no extensions.

  char* data = p + kMinVoxOffset;
  if (host_is_big_endian() && sizeof(T) > 1) {
    for (std::int64_t i = 0; i < image.size(); ++i)
      store_le<T>(data + static_cast<std::size_t>(i) * sizeof(T), image.data()[i]);
  } else {
    std::memcpy(data, image.data(), static_cast<std::size_t>(image.size()) * sizeof(T));
  }
  return out;
}

template <class T>
void write_nifti(const std::string& path, const Image<T>& image) {
  std::string bytes = nifti_bytes(image);
  const std::string ext = file_extension(path);
  if (ext.size() >= 3 && ext.compare(ext.size() - 3, 3, ".gz") == 0) bytes = gzip(bytes);
  write_atomically(path, [&bytes](std::ostream& os) {
    os.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  });
}

#define CARDIOTWIN_NIFTI_INSTANTIATE(T)                                                          \
  template Image<T> parse_nifti<T>(std::string_view, const std::string&, std::int64_t);        \
  template Image<T> read_nifti<T>(const std::string&, std::int64_t);                            \
  template void write_nifti<T>(const std::string&, const Image<T>&);                            \
  template std::string nifti_bytes<T>(const Image<T>&);
CARDIOTWIN_NIFTI_INSTANTIATE(std::uint8_t)
CARDIOTWIN_NIFTI_INSTANTIATE(std::int16_t)
CARDIOTWIN_NIFTI_INSTANTIATE(std::int32_t)
CARDIOTWIN_NIFTI_INSTANTIATE(float)
CARDIOTWIN_NIFTI_INSTANTIATE(double)
#undef CARDIOTWIN_NIFTI_INSTANTIATE

}  // namespace cardiotwin::io
