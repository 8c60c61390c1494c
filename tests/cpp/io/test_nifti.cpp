#include <Eigen/Geometry>
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "../test_util.hpp"
#include "cardiotwin/core/atomic_file.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/io/gzip.hpp"
#include "cardiotwin/io/nifti.hpp"

using namespace cardiotwin;
using Catch::Contains;

namespace {

// Byte offsets of NIfTI-1 header fields, for building headers by hand.
constexpr std::size_t kDim = 40, kDatatype = 70, kBitpix = 72, kPixdim = 76, kVoxOffset = 108,
                      kSclSlope = 112, kSclInter = 116, kXyztUnits = 123, kQformCode = 252,
                      kSformCode = 254, kQuatern = 256, kQoffset = 268, kSrow = 280, kMagic = 344;

// The tests build headers with the host's byte order and assume it is little endian (as on every
// platform we build for); the big-endian test swaps explicitly.
template <class V>
void put(std::string& b, std::size_t off, V v) {
  std::memcpy(&b[off], &v, sizeof(V));
}
template <class V>
V get(const std::string& b, std::size_t off) {
  V v;
  std::memcpy(&v, &b[off], sizeof(V));
  return v;
}

/// `le` (a little-endian file) with every header field and voxel byte-reversed.
std::string to_big_endian(std::string le, std::size_t voxel_bytes) {
  struct Field {
    std::size_t offset, size, count;
  };
  const Field fields[] = {{0, 4, 1},   {32, 4, 1},   {36, 2, 1},  {40, 2, 8},  {56, 4, 3},
                          {68, 2, 4},  {76, 4, 8},   {108, 4, 3}, {120, 2, 1}, {124, 4, 4},
                          {140, 4, 2}, {252, 2, 2},  {256, 4, 6}, {280, 4, 12}};
  for (const Field& f : fields)
    for (std::size_t i = 0; i < f.count; ++i)
      std::reverse(le.begin() + static_cast<std::ptrdiff_t>(f.offset + i * f.size),
                   le.begin() + static_cast<std::ptrdiff_t>(f.offset + (i + 1) * f.size));
  for (std::size_t off = 352; off + voxel_bytes <= le.size(); off += voxel_bytes)
    std::reverse(le.begin() + static_cast<std::ptrdiff_t>(off),
                 le.begin() + static_cast<std::ptrdiff_t>(off + voxel_bytes));
  return le;
}

Eigen::Matrix3d oblique_rotation() {
  return (Eigen::AngleAxisd(0.3, Eigen::Vector3d::UnitZ()) * Eigen::AngleAxisd(-0.7, Eigen::Vector3d::UnitY()) *
          Eigen::AngleAxisd(1.1, Eigen::Vector3d::UnitX()))
      .toRotationMatrix();
}

template <class T>
Image<T> test_image(const Eigen::Matrix3d& direction = oblique_rotation()) {
  Image<T> img({5, 4, 3}, Eigen::Vector3d(0.5, 1.25, 2.5), Eigen::Vector3d(-10.5, 20.25, 3.75), direction);
  for (std::int64_t n = 0; n < img.size(); ++n) {
    const auto v = static_cast<double>((n * 37) % 101) - (std::numeric_limits<T>::is_signed ? 50 : 0);
    img.values()[static_cast<std::size_t>(n)] = static_cast<T>(std::is_integral_v<T> ? v : v * 0.25);
  }
  return img;
}

bool near(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, double tol) {
  return (a - b).cwiseAbs().maxCoeff() <= tol;
}

template <class T>
void check_round_trip(const test::TempDir& dir, const std::string& name) {
  const Image<T> img = test_image<T>();
  const std::string path = dir.file(name);
  io::write_nifti(path, img);
  const std::string on_disk = read_file_bytes(path);
  CHECK(io::is_gzip(on_disk) == (file_extension(path) == ".nii.gz"));
  CHECK(io::nifti_bytes(img).size() == 352 + static_cast<std::size_t>(img.size()) * sizeof(T));
  const Image<T> back = io::read_nifti<T>(path);
  CHECK(back.shape() == img.shape());
  CHECK(back.values() == img.values());
  // The header stores float32, so geometry round-trips to float precision.
  CHECK(near(back.affine(), img.affine(), 1e-5));
  const io::NiftiInfo info = io::read_nifti_info(path);
  CHECK(info.sform_code == 1);
  CHECK(info.qform_code == 1);
  CHECK(info.is_integer() == std::is_integral_v<T>);
  CHECK(!info.has_scaling());
  CHECK(info.num_volumes == 1);
  CHECK(near(info.qform, info.sform, 1e-5));  // an orthonormal direction is a pure qform
  // Any other voxel type reads the same values.
  const Image<double> as_double = io::read_nifti<double>(path);
  for (std::int64_t n = 0; n < img.size(); ++n)
    CHECK(as_double.values()[static_cast<std::size_t>(n)] == static_cast<double>(img.values()[static_cast<std::size_t>(n)]));
}

}  // namespace

TEST_CASE("NIfTI round-trips every written voxel type, plain and gzipped", "[io][nifti]") {
  const test::TempDir dir;
  for (const char* ext : {".nii", ".nii.gz"}) {
    SECTION(std::string("extension ") + ext) {
      check_round_trip<std::uint8_t>(dir, std::string("u8") + ext);
      check_round_trip<std::int16_t>(dir, std::string("i16") + ext);
      check_round_trip<std::int32_t>(dir, std::string("i32") + ext);
      check_round_trip<float>(dir, std::string("f32") + ext);
      check_round_trip<double>(dir, std::string("f64") + ext);
    }
  }
  const io::NiftiInfo info = io::parse_nifti_info(io::nifti_bytes(test_image<float>()), "mem");
  CHECK(info.datatype == io::NiftiType::float32);
  CHECK(info.description == "cardiotwin");
  CHECK(info.spatial_unit_to_mm == 1);
  CHECK(info.shape == Image<float>::Shape{{5, 4, 3}});
}

TEST_CASE("NIfTI writer fills the header as documented", "[io][nifti]") {
  const std::string b = io::nifti_bytes(test_image<std::int16_t>());
  CHECK(get<std::int32_t>(b, 0) == 348);
  CHECK(b.compare(kMagic, 4, std::string("n+1\0", 4)) == 0);
  CHECK(get<float>(b, kVoxOffset) == 352.0f);
  CHECK(get<std::int32_t>(b, 348) == 0);  // no extensions
  CHECK(get<std::int16_t>(b, kDatatype) == 4);
  CHECK(get<std::int16_t>(b, kBitpix) == 16);
  CHECK(get<std::int16_t>(b, kDim) == 3);
  CHECK(get<float>(b, kSclSlope) == 0.0f);
  CHECK(static_cast<int>(b[kXyztUnits]) == 18);
  CHECK(get<float>(b, kPixdim) == 1.0f);  // right-handed rotation: qfac 1
  CHECK(get<float>(b, kPixdim + 8) == 1.25f);

  // A left-handed direction stores qfac = -1 and still round-trips through the qform alone.
  Eigen::Matrix3d flipped = oblique_rotation();
  flipped.col(0) *= -1;
  std::string l = io::nifti_bytes(test_image<float>(flipped));
  CHECK(get<float>(l, kPixdim) == -1.0f);
  put<std::int16_t>(l, kSformCode, 0);
  CHECK(near(io::parse_nifti<float>(l, "mem").affine(), test_image<float>(flipped).affine(), 1e-5));
}

TEST_CASE("NIfTI keeps sheared sforms exactly and writes the nearest rotation as qform", "[io][nifti]") {
  Eigen::Matrix3d sheared;
  sheared << 1, 0.25, 0.125, 0, 1, -0.5, 0.0625, 0, 1;
  const Image<float> img = test_image<float>(sheared);
  const std::string b = io::nifti_bytes(img);
  const Image<float> back = io::parse_nifti<float>(b, "mem");
  CHECK(near(back.affine(), img.affine(), 1e-6));
  CHECK(near(back.direction(), img.direction(), 1e-6));

  const io::NiftiInfo info = io::parse_nifti_info(b, "mem");
  Eigen::Matrix3d rot = img.direction();
  const Eigen::JacobiSVD<Eigen::Matrix3d> svd(rot, Eigen::ComputeFullU | Eigen::ComputeFullV);
  rot = svd.matrixU() * svd.matrixV().transpose();
  const Eigen::Matrix3d expected_q = rot * img.spacing().asDiagonal();
  CHECK(near(info.qform.topLeftCorner<3, 3>(), expected_q, 1e-5));
  CHECK(near(info.qform.topRightCorner<3, 1>(), img.origin(), 1e-5));
  CHECK(near(info.affine, info.sform, 0));
}

TEST_CASE("NIfTI qform-only headers follow the quaternion, qfac and pixdim", "[io][nifti]") {
  std::string b = io::nifti_bytes(test_image<float>(Eigen::Matrix3d::Identity()));
  put<std::int16_t>(b, kSformCode, 0);
  for (int i = 0; i < 12; ++i) put<float>(b, kSrow + 4 * static_cast<std::size_t>(i), 99.0f);  // ignored
  const Eigen::Quaterniond q = Eigen::Quaterniond(0.6, 0.2, -0.5, 0.3).normalized();
  put<float>(b, kQuatern, static_cast<float>(q.x()));
  put<float>(b, kQuatern + 4, static_cast<float>(q.y()));
  put<float>(b, kQuatern + 8, static_cast<float>(q.z()));
  put<float>(b, kQoffset, 7.5f);
  put<float>(b, kQoffset + 4, -3.0f);
  put<float>(b, kQoffset + 8, 100.0f);
  const Eigen::Vector3d vox(0.5, 1.25, 2.5);
  for (const float qfac : {1.0f, -1.0f, 0.0f}) {
    put<float>(b, kPixdim, qfac);
    Eigen::Matrix4d expected = Eigen::Matrix4d::Identity();
    expected.topLeftCorner<3, 3>() =
        q.toRotationMatrix() * Eigen::Vector3d(vox[0], vox[1], (qfac == -1 ? -1 : 1) * vox[2]).asDiagonal();
    expected.topRightCorner<3, 1>() = Eigen::Vector3d(7.5, -3, 100);
    const io::NiftiInfo info = io::parse_nifti_info(b, "mem");
    CHECK(info.sform_code == 0);
    CHECK(near(info.affine, expected, 1e-6));
    CHECK(near(io::parse_nifti<float>(b, "mem").affine(), expected, 1e-6));
  }
  // A 180 degree rotation (a = 0) and the LAS orientation of many CT files.
  put<float>(b, kQuatern, 0.0f);
  put<float>(b, kQuatern + 4, 1.0f);
  put<float>(b, kQuatern + 8, 0.0f);
  put<float>(b, kPixdim, -1.0f);
  const Image<float> las = io::parse_nifti<float>(b, "mem");
  CHECK(near(las.direction(), Eigen::Vector3d(-1, 1, 1).asDiagonal().toDenseMatrix(), 1e-12));
  CHECK(near(las.spacing(), vox, 1e-7));
  // |(b, c, d)| > 1 has no valid a.
  put<float>(b, kQuatern, 0.8f);
  put<float>(b, kQuatern + 4, 0.8f);
  CHECK_THROWS_WITH(io::parse_nifti<float>(b, "q.nii"), Contains("quatern_b") && Contains("q.nii"));
  // ...which does not matter when the sform is used.
  put<std::int16_t>(b, kSformCode, 2);
  for (std::size_t r = 0; r < 3; ++r)
    for (std::size_t c = 0; c < 4; ++c) put<float>(b, kSrow + 16 * r + 4 * c, r == c ? 2.0f : 0.0f);
  CHECK_NOTHROW(io::parse_nifti<float>(b, "q.nii"));
}

TEST_CASE("NIfTI without qform and sform falls back to the voxel sizes", "[io][nifti]") {
  std::string b = io::nifti_bytes(test_image<std::uint8_t>());
  put<std::int16_t>(b, kSformCode, 0);
  put<std::int16_t>(b, kQformCode, 0);
  const Image<std::uint8_t> img = io::parse_nifti<std::uint8_t>(b, "mem");
  CHECK(near(img.affine(), Eigen::Vector4d(0.5, 1.25, 2.5, 1).asDiagonal().toDenseMatrix(), 1e-12));
  // Zero and negative voxel sizes are fixed as nibabel does (1 and magnitude).
  put<float>(b, kPixdim + 4, 0.0f);
  put<float>(b, kPixdim + 8, -2.0f);
  CHECK(near(io::parse_nifti<std::uint8_t>(b, "mem").spacing(), Eigen::Vector3d(1, 2, 2.5), 1e-12));
  put<float>(b, kPixdim + 8, std::numeric_limits<float>::quiet_NaN());
  CHECK_THROWS_WITH(io::parse_nifti<std::uint8_t>(b, "a.nii"), Contains("pixdim") && Contains("element 2"));
}

TEST_CASE("NIfTI spatial units are converted to mm", "[io][nifti]") {
  const Image<float> img = test_image<float>();
  std::string b = io::nifti_bytes(img);
  b[kXyztUnits] = 1 | 8;  // metre, second
  Image<float> m = io::parse_nifti<float>(b, "mem");
  CHECK(near(m.affine().topRows<3>(), 1000 * img.affine().topRows<3>(), 1e-2));
  CHECK(io::parse_nifti_info(b, "mem").spatial_unit_to_mm == 1000);
  b[kXyztUnits] = 3;  // micron
  m = io::parse_nifti<float>(b, "mem");
  CHECK(near(m.affine().topRows<3>(), 1e-3 * img.affine().topRows<3>(), 1e-8));
  b[kXyztUnits] = 0;  // unknown: mm assumed
  CHECK(near(io::parse_nifti<float>(b, "mem").affine(), img.affine(), 1e-5));
}

TEST_CASE("NIfTI reads big-endian files", "[io][nifti]") {
  const Image<std::int16_t> i16 = test_image<std::int16_t>();
  const std::string be = to_big_endian(io::nifti_bytes(i16), 2);
  CHECK(io::parse_nifti_info(be, "be.nii").big_endian);
  const Image<std::int16_t> back = io::parse_nifti<std::int16_t>(be, "be.nii");
  CHECK(back.values() == i16.values());
  CHECK(near(back.affine(), i16.affine(), 1e-5));

  const Image<double> f64 = test_image<double>();
  const std::string be64 = io::gzip(to_big_endian(io::nifti_bytes(f64), 8));
  CHECK(io::parse_nifti<double>(be64, "be.nii.gz").values() == f64.values());
  CHECK_FALSE(io::parse_nifti_info(io::nifti_bytes(f64), "le.nii").big_endian);
}

TEST_CASE("NIfTI applies scl_slope and scl_inter", "[io][nifti]") {
  Image<std::int16_t> raw({3, 2, 2});
  for (std::int64_t n = 0; n < raw.size(); ++n) raw.values()[static_cast<std::size_t>(n)] = static_cast<std::int16_t>(n - 4);
  std::string b = io::nifti_bytes(raw);
  put<float>(b, kSclSlope, 2.0f);
  put<float>(b, kSclInter, -10.0f);
  const io::NiftiInfo info = io::parse_nifti_info(b, "s.nii");
  CHECK(info.has_scaling());
  CHECK_FALSE(info.is_integer());
  const Image<float> f = io::parse_nifti<float>(b, "s.nii");
  const Image<std::int32_t> i = io::parse_nifti<std::int32_t>(b, "s.nii");
  for (std::int64_t n = 0; n < raw.size(); ++n) {
    CHECK(f.values()[static_cast<std::size_t>(n)] == static_cast<float>(2 * (n - 4) - 10));
    CHECK(i.values()[static_cast<std::size_t>(n)] == 2 * (n - 4) - 10);
  }
  // Negative values do not fit uint8.
  CHECK_THROWS_WITH(io::parse_nifti<std::uint8_t>(b, "s.nii"),
                    Contains("uint8") && Contains("voxel (0, 0, 0)") && Contains("scl_slope"));
  // Float32 slopes such as 0.1 still give integers within their rounding.
  put<float>(b, kSclSlope, 0.1f);
  put<float>(b, kSclInter, 0.0f);
  for (std::int64_t n = 0; n < raw.size(); ++n) raw.values()[static_cast<std::size_t>(n)] = static_cast<std::int16_t>(10 * n);
  std::memcpy(&b[352], raw.data(), static_cast<std::size_t>(raw.size()) * 2);
  const Image<std::int16_t> tenth = io::parse_nifti<std::int16_t>(b, "s.nii");
  for (std::int64_t n = 0; n < raw.size(); ++n) CHECK(tenth.values()[static_cast<std::size_t>(n)] == n);
  // A slope of 0.05 on 10, 20, ... gives 0.5, 1, 1.5, ...: not all integers.
  put<float>(b, kSclSlope, 0.05f);
  CHECK_THROWS_WITH(io::parse_nifti<std::int16_t>(b, "s.nii"),
                    Contains("int16") && Contains("voxel (1, 0, 0)") && Contains("found 0.5"));
  // Non-finite or zero slopes, and (1, 0), mean no scaling, as in nibabel.
  for (const float slope : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), 0.0f, 1.0f}) {
    put<float>(b, kSclSlope, slope);
    CHECK_FALSE(io::parse_nifti_info(b, "s.nii").has_scaling());
    CHECK(io::parse_nifti<std::int16_t>(b, "s.nii").values() == raw.values());
  }
  put<float>(b, kSclSlope, 2.0f);
  put<float>(b, kSclInter, std::numeric_limits<float>::quiet_NaN());
  CHECK_THROWS_WITH(io::parse_nifti<float>(b, "s.nii"), Contains("scl_inter"));
}

TEST_CASE("NIfTI integer voxel types reject values they cannot hold", "[io][nifti]") {
  Image<float> img({4, 3, 5}, Eigen::Vector3d::Ones(), Eigen::Vector3d::Zero(), Eigen::Matrix3d::Identity(), 1.0f);
  img(1, 2, 3) = 1.5f;
  CHECK_THROWS_WITH(io::parse_nifti<std::uint8_t>(io::nifti_bytes(img), "f.nii"),
                    Contains("uint8") && Contains("voxel (1, 2, 3)") && Contains("1.5") && Contains("f.nii"));
  img(1, 2, 3) = 300.0f;
  CHECK_THROWS_WITH(io::parse_nifti<std::uint8_t>(io::nifti_bytes(img), "f.nii"),
                    Contains("[0, 255]") && Contains("300"));
  CHECK(io::parse_nifti<std::int16_t>(io::nifti_bytes(img), "f.nii")(1, 2, 3) == 300);
  img(1, 2, 3) = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(io::parse_nifti<std::int32_t>(io::nifti_bytes(img), "f.nii"), FileFormatError);
  img(1, 2, 3) = 3e9f;
  CHECK_THROWS_WITH(io::parse_nifti<std::int32_t>(io::nifti_bytes(img), "f.nii"), Contains("int32"));
  CHECK(io::parse_nifti<double>(io::nifti_bytes(img), "f.nii")(1, 2, 3) == 3e9f);

  Image<std::int16_t> s({2, 2, 2});
  s(1, 1, 1) = -1;
  CHECK_THROWS_WITH(io::parse_nifti<std::uint8_t>(io::nifti_bytes(s), "s.nii"),
                    Contains("voxel (1, 1, 1)") && Contains("-1"));
  Image<std::int32_t> big({2, 2, 2});
  big(0, 1, 0) = 40000;
  CHECK_THROWS_WITH(io::parse_nifti<std::int16_t>(io::nifti_bytes(big), "s.nii"), Contains("voxel (0, 1, 0)"));
  CHECK(io::parse_nifti<float>(io::nifti_bytes(big), "s.nii")(0, 1, 0) == 40000.0f);
  // Double values beyond float's range become infinities, not undefined behaviour.
  Image<double> huge({1, 1, 1}, Eigen::Vector3d::Ones(), Eigen::Vector3d::Zero(), Eigen::Matrix3d::Identity(), 1e300);
  CHECK(std::isinf(io::parse_nifti<float>(io::nifti_bytes(huge), "h.nii")(0, 0, 0)));
}

TEST_CASE("NIfTI reads one volume of 4-D and 5-D files, and 2-D files", "[io][nifti]") {
  const Image<float> vol = test_image<float>();
  std::string b = io::nifti_bytes(vol);
  const std::string data = b.substr(352);
  std::string four = b;
  put<std::int16_t>(four, kDim, 4);
  put<std::int16_t>(four, kDim + 8, 3);
  for (int v = 1; v < 3; ++v) {
    std::string more = data;
    for (std::size_t n = 0; n < more.size(); n += 4) put<float>(more, n, get<float>(more, n) + 1000.0f * static_cast<float>(v));
    four += more;
  }
  CHECK(io::parse_nifti_info(four, "4d.nii").num_volumes == 3);
  for (int v = 0; v < 3; ++v) {
    const Image<float> img = io::parse_nifti<float>(io::gzip(four), "4d.nii.gz", v);
    CHECK(img.shape() == vol.shape());
    CHECK(img(2, 1, 1) == vol(2, 1, 1) + 1000.0f * static_cast<float>(v));
    CHECK(io::parse_nifti<float>(four, "4d.nii", v).values() == img.values());
  }
  CHECK_THROWS_AS(io::parse_nifti<float>(four, "4d.nii", 3), InvalidInput);
  CHECK_THROWS_AS(io::parse_nifti<float>(four, "4d.nii", -1), InvalidInput);
  // Missing last volume.
  CHECK_THROWS_WITH(io::parse_nifti<float>(four.substr(0, four.size() - 4), "4d.nii", 0),
                    Contains("too short") && Contains("dim"));
  // dim[4] x dim[5] volumes.
  put<std::int16_t>(four, kDim, 5);
  put<std::int16_t>(four, kDim + 8, 1);
  put<std::int16_t>(four, kDim + 10, 3);
  CHECK(io::parse_nifti_info(four, "5d.nii").num_volumes == 3);
  CHECK(io::parse_nifti<float>(four, "5d.nii", 2)(2, 1, 1) == vol(2, 1, 1) + 2000.0f);

  // 2-D: dim[0] = 2 ignores dim[3].
  std::string two = b;
  put<std::int16_t>(two, kDim, 2);
  const Image<float> flat = io::parse_nifti<float>(two, "2d.nii");
  CHECK(flat.shape() == Image<float>::Shape{{5, 4, 1}});
  CHECK(flat(3, 2, 0) == vol(3, 2, 0));
}

TEST_CASE("NIfTI rejects malformed files with clear messages", "[io][nifti]") {
  const std::string good = io::nifti_bytes(test_image<float>());
  auto modified = [&good](auto change) {
    std::string b = good;
    change(b);
    return b;
  };
  const std::string src = "bad.nii";
  CHECK_THROWS_WITH(io::parse_nifti<float>(good.substr(0, 100), src),
                    Contains("truncated NIfTI header") && Contains("348") && Contains("100 bytes") &&
                        Contains("bad.nii"));
  CHECK_THROWS_AS(io::parse_nifti<float>(std::string(), src), FileFormatError);
  CHECK_THROWS_WITH(io::parse_nifti<float>(modified([](std::string& b) { b[345] = 'X'; }), src),
                    Contains("magic") && Contains("nX1"));
  CHECK_THROWS_WITH(io::parse_nifti<float>(modified([](std::string& b) { b.replace(344, 4, std::string("ni1\0", 4)); }), src),
                    Contains("magic") && Contains(".hdr/.img"));
  CHECK_THROWS_WITH(io::parse_nifti<float>(modified([](std::string& b) { put<std::int32_t>(b, 0, 349); }), src),
                    Contains("sizeof_hdr") && Contains("348") && Contains("349"));
  CHECK_THROWS_WITH(io::parse_nifti<float>(modified([](std::string& b) { put<std::int32_t>(b, 0, 540); }), src),
                    Contains("NIfTI-2"));
  CHECK_THROWS_WITH(io::parse_nifti<float>(modified([](std::string& b) { put<std::int16_t>(b, kDim + 2, 0); }), src),
                    Contains("field 'dim', element 1") && Contains("found 0"));
  CHECK_THROWS_WITH(io::parse_nifti<float>(modified([](std::string& b) { put<std::int16_t>(b, kDim + 6, -3); }), src),
                    Contains("field 'dim', element 3"));
  CHECK_THROWS_WITH(io::parse_nifti<float>(modified([](std::string& b) { put<std::int16_t>(b, kDim, 8); }), src),
                    Contains("field 'dim', element 0"));
  CHECK_THROWS_WITH(io::parse_nifti<float>(modified([](std::string& b) { put<std::int16_t>(b, kDatatype, 32); }), src),
                    Contains("datatype") && Contains("complex64") && Contains("16 (float32)") &&
                        Contains("1280 (uint64)"));
  CHECK_THROWS_WITH(io::parse_nifti<float>(modified([](std::string& b) { put<std::int16_t>(b, kBitpix, 16); }), src),
                    Contains("bitpix") && Contains("32"));
  CHECK_THROWS_WITH(io::parse_nifti<float>(modified([](std::string& b) { put<float>(b, kVoxOffset, 100.0f); }), src),
                    Contains("vox_offset") && Contains("352"));
  CHECK_THROWS_WITH(io::parse_nifti<float>(modified([](std::string& b) { put<float>(b, kVoxOffset, 352.5f); }), src),
                    Contains("vox_offset"));
  CHECK_THROWS_WITH(io::parse_nifti<float>(modified([](std::string& b) { put<float>(b, kVoxOffset, 1e30f); }), src),
                    Contains("vox_offset"));
  CHECK_THROWS_WITH(io::parse_nifti<float>(modified([](std::string& b) {
                      put<float>(b, kSrow + 4, std::numeric_limits<float>::infinity());
                    }), src),
                    Contains("srow_x") && Contains("finite"));
  CHECK_THROWS_WITH(io::parse_nifti<float>(modified([](std::string& b) {
                      for (std::size_t c = 0; c < 4; ++c) put<float>(b, kSrow + 32 + 4 * c, 0.0f);
                    }), src),
                    Contains("geometry") && Contains("srow_x"));
  CHECK_THROWS_WITH(io::parse_nifti<float>(modified([](std::string& b) {
                      put<float>(b, kPixdim + 4, std::numeric_limits<float>::quiet_NaN());
                    }), src),
                    Contains("pixdim") && Contains("element 1"));
  // Data shorter than the header claims: say how much was expected and found.
  CHECK_THROWS_WITH(io::parse_nifti<float>(good.substr(0, good.size() - 1), src),
                    Contains(std::to_string(good.size()) + " bytes") &&
                        Contains("found " + std::to_string(good.size() - 1) + " bytes") && Contains("dim"));
  // Huge claimed dimensions fail on the size check before any allocation.
  const std::string huge = modified([](std::string& b) {
    for (std::size_t a = 1; a <= 2; ++a) put<std::int16_t>(b, kDim + 2 * a, 32767);
  });
  CHECK_THROWS_WITH(io::parse_nifti<double>(huge, src), Contains("too short"));
  CHECK_THROWS_WITH(io::parse_nifti<double>(io::gzip(huge), src), Contains("too short") && Contains("decompression"));
  const std::string absurd = modified([](std::string& b) {
    put<std::int16_t>(b, kDim, 7);
    for (std::size_t a = 1; a <= 7; ++a) put<std::int16_t>(b, kDim + 2 * a, 32767);
  });
  CHECK_THROWS_WITH(io::parse_nifti_info(absurd, src), Contains("absurd") && Contains("dim"));
  // Corrupt and truncated gzip.
  const std::string gz = io::gzip(good);
  CHECK_THROWS_WITH(io::parse_nifti<float>(gz.substr(0, gz.size() / 2), "bad.nii.gz"),
                    Contains("corrupt gzip") && Contains("bad.nii.gz"));
  std::string flipped = gz;
  flipped[gz.size() - 6] = static_cast<char>(flipped[gz.size() - 6] ^ 0x55);  // CRC
  CHECK_THROWS_WITH(io::parse_nifti<float>(flipped, "bad.nii.gz"), Contains("corrupt gzip"));
  CHECK_THROWS_WITH(io::parse_nifti<float>(std::string("\x1f\x8b garbage", 10), "bad.nii.gz"),
                    Contains("corrupt gzip"));
  // Missing files are I/O errors.
  CHECK_THROWS_AS(io::read_nifti<float>("/nonexistent/x.nii.gz"), FileIOError);
  CHECK_THROWS_AS(io::read_nifti_info("/nonexistent/x.nii"), FileIOError);
  // The header alone parses even when the data is missing.
  CHECK(io::parse_nifti_info(io::gzip(good.substr(0, 360)), "h.nii.gz").shape == Image<float>::Shape{{5, 4, 3}});
}

TEST_CASE("NIfTI writer rejects images it cannot store", "[io][nifti]") {
  const Image<std::uint8_t> wide({40000, 1, 1});
  CHECK_THROWS_AS(io::nifti_bytes(wide), InvalidInput);
  const Image<std::uint8_t> empty;
  CHECK_THROWS_AS(io::nifti_bytes(empty), InvalidInput);
}

TEST_CASE("NIfTI reads the Sunnybrook cine MRI and its label map", "[io][nifti][data]") {
  const std::string image_path = test::test_data("sunnybrook/SCD0000101_ED.nii.gz");
  const std::string labels_path = test::test_data("sunnybrook/SCD0000101_ED_gt.nii.gz");
  std::ifstream meta_file(test::test_data("sunnybrook/SCD0000101.json"));
  REQUIRE(meta_file);
  const nlohmann::json meta = nlohmann::json::parse(meta_file);
  Eigen::Matrix4d affine;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) affine(r, c) = meta["affine_ras"][static_cast<std::size_t>(r)][static_cast<std::size_t>(c)].get<double>();

  const io::NiftiInfo info = io::read_nifti_info(image_path);
  CHECK(info.datatype == io::NiftiType::int16);
  CHECK(info.sform_code > 0);
  const Image<std::int16_t> mri = io::read_nifti<std::int16_t>(image_path);
  CHECK(mri.shape() == Image<std::int16_t>::Shape{{256, 256, 12}});
  CHECK(mri.spacing()[0] == Approx(1.3672).margin(1e-4));
  CHECK(mri.spacing()[1] == Approx(1.3672).margin(1e-4));
  CHECK(mri.spacing()[2] == Approx(10.0).margin(1e-3));
  CHECK(near(mri.affine(), affine, 1e-3));
  const auto [lo, hi] = std::minmax_element(mri.values().begin(), mri.values().end());
  CHECK(*lo == meta["phases"]["ED"]["image_range"][0].get<int>());
  CHECK(*hi == meta["phases"]["ED"]["image_range"][1].get<int>());
  CHECK(io::read_nifti<float>(image_path)(128, 100, 5) == static_cast<float>(mri(128, 100, 5)));

  const LabelMap labels = io::read_nifti<std::uint8_t>(labels_path);
  CHECK(labels.shape() == mri.shape());
  CHECK(near(labels.affine(), mri.affine(), 0));
  std::map<int, std::int64_t> counts;
  for (const std::uint8_t v : labels.values()) ++counts[v];
  CHECK(counts.size() == 3);
  CHECK(counts[1] == 10407);
  CHECK(counts[2] == 6003);
  for (const auto& [label, count] : meta["phases"]["ED"]["label_voxels"].items())
    CHECK(counts[std::stoi(label)] == count.get<std::int64_t>());

  // And survives our writer.
  const test::TempDir dir;
  io::write_nifti(dir.file("labels.nii.gz"), labels);
  const LabelMap again = io::read_nifti<std::uint8_t>(dir.file("labels.nii.gz"));
  CHECK(again.values() == labels.values());
  CHECK(near(again.affine(), labels.affine(), 1e-5));
}

TEST_CASE("NIfTI reads the HeartDeformNets whole-heart label map (qform only, LAS)", "[io][nifti][data]") {
  const std::string path = test::shared_data("labelmaps/heartdeformnets_wh.nii.gz");
  const std::string meta_path = test::shared_data("labelmaps/labels.json");
  if (!test::exists(path) || !test::exists(meta_path)) {
    WARN("skipped: " << path << " not found");
    return;
  }
  std::ifstream meta_file(meta_path);
  const nlohmann::json meta = nlohmann::json::parse(meta_file);
  const io::NiftiInfo info = io::read_nifti_info(path);
  CHECK(info.sform_code == 0);
  CHECK(info.qform_code > 0);
  CHECK(info.datatype == io::NiftiType::int16);
  const Image<std::int16_t> img = io::read_nifti<std::int16_t>(path);
  CHECK(img.shape() == Image<std::int16_t>::Shape{{512, 512, 248}});
  for (int a = 0; a < 3; ++a)
    CHECK(img.spacing()[a] == Approx(meta["spacing_mm"][static_cast<std::size_t>(a)].get<double>()).margin(1e-5));
  CHECK(img.spacing()[0] == Approx(0.4883).margin(1e-4));
  CHECK(img.spacing()[2] == Approx(0.625).margin(1e-6));
  // LAS: i points left (-x in RAS), j anterior, k superior.
  CHECK(near(img.direction(), Eigen::Vector3d(-1, 1, 1).asDiagonal().toDenseMatrix(), 1e-12));
  CHECK(near(img.origin(), info.qform.topRightCorner<3, 1>(), 0));
  std::map<int, std::int64_t> counts;
  for (const std::int16_t v : img.values()) ++counts[v];
  CHECK(counts.size() == meta["voxel_count"].size());
  for (const auto& [label, count] : meta["voxel_count"].items())
    CHECK(counts[std::stoi(label)] == count.get<std::int64_t>());
  // Labels 0..7 also fit a LabelMap.
  const LabelMap lm = io::read_nifti<std::uint8_t>(path);
  CHECK(lm(256, 256, 124) == img(256, 256, 124));
}
