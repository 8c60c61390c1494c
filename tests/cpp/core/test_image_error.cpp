#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "../test_util.hpp"
#include "cardiotwin/core/atomic_file.hpp"
#include "cardiotwin/core/image.hpp"
#include "cardiotwin/core/signals.hpp"

using namespace cardiotwin;

TEST_CASE("image geometry maps indices to world and back", "[core][image]") {
  Eigen::Matrix3d dir;
  dir << 0, -1, 0, 1, 0, 0, 0, 0, 1;  // 90 degree rotation about z
  Image<float> img({4, 5, 6}, Eigen::Vector3d(0.5, 2.0, 3.0), Eigen::Vector3d(10, 20, 30), dir);
  CHECK(img.size() == 120);
  const Eigen::Vector3d w = img.index_to_world(Eigen::Vector3d(1, 2, 3));
  CHECK(w.isApprox(Eigen::Vector3d(10 - 4.0, 20 + 0.5, 30 + 9.0)));
  CHECK(img.world_to_index(w).isApprox(Eigen::Vector3d(1, 2, 3)));
  Image<float> copy;
  copy.set_affine(img.affine());
  CHECK(copy.spacing().isApprox(img.spacing()));
  CHECK(copy.direction().isApprox(dir));
  img(3, 4, 5) = 7.0f;
  CHECK(img.values().back() == 7.0f);  // i fastest: the last voxel is the last value
  CHECK(img.offset(1, 0, 0) == 1);
  CHECK(img.offset(0, 1, 0) == 4);
}

TEST_CASE("bad image geometry is rejected with the field named", "[core][image][errors]") {
  CHECK_THROWS_WITH(Image<float>({4, 0, 6}), Catch::Contains("shape") && Catch::Contains("element 1"));
  CHECK_THROWS_WITH(Image<float>({2, 2, 2}, Eigen::Vector3d(1, -1, 1)),
                    Catch::Contains("spacing") && Catch::Contains("found -1"));
  Eigen::Matrix3d singular = Eigen::Matrix3d::Identity();
  singular.col(2) = singular.col(0);
  CHECK_THROWS_AS(Image<float>({2, 2, 2}, Eigen::Vector3d::Ones(), Eigen::Vector3d::Zero(), singular),
                  InvalidInput);
}

TEST_CASE("errors carry expected, found and where", "[core][errors]") {
  try {
    CARDIOTWIN_CHECK(1 + 1 == 3, FileFormatError, "bad header", 348, "x" << 2, Where("a.nii", "sizeof_hdr", 7));
    FAIL("no throw");
  } catch (const FileFormatError& e) {
    CHECK(e.expected() == "348");
    CHECK(e.found() == "x2");
    CHECK(e.where().field == "sizeof_hdr");
    CHECK(std::string(e.what()) ==
          "bad header: expected 348, found x2 (in file 'a.nii', field 'sizeof_hdr', element 7)");
  }
}

TEST_CASE("atomic writes leave no partial file behind", "[core][io]") {
  test::TempDir dir;
  const std::string path = dir.file("out.txt");
  write_atomically(path, [](std::ostream& os) { os << "first"; });
  CHECK(read_file_bytes(path) == "first");
  CHECK_THROWS_AS(write_atomically(path, [](std::ostream& os) {
                    os << "partial";
                    throw InvalidInput("writer failed");
                  }),
                  InvalidInput);
  CHECK(read_file_bytes(path) == "first");  // old content kept
  int files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++files;
  CHECK(files == 1);  // temporary removed
  CHECK_THROWS_AS(write_atomically(dir.file("missing/dir/x.txt"), [](std::ostream&) {}), FileIOError);
  CHECK_THROWS_WITH(read_file_bytes(dir.file("nope.nii")), Catch::Contains("no such file"));
  CHECK(file_extension("/a/b/Heart.NII.GZ") == ".nii.gz");
  CHECK(file_extension("mesh.vtu") == ".vtu");
  CHECK(file_extension("noext") == "");
}

TEST_CASE("signals validate their time axis and channel names", "[core][signals]") {
  Signals s;
  s.time_ms = Eigen::VectorXd::LinSpaced(5, 0, 4);
  s.names = {"I", "II"};
  s.values = Field::Zero(5, 2);
  CHECK_NOTHROW(validate_signals(s));
  CHECK(s.channel_index("II") == 1);
  CHECK_THROWS_WITH(s.channel("V7"), Catch::Contains("I, II") && Catch::Contains("'V7'"));
  s.time_ms[3] = 1.0;
  CHECK_THROWS_WITH(validate_signals(s), Catch::Contains("strictly increasing") && Catch::Contains("element 3"));
  s.time_ms[3] = 3.0;
  s.names = {"I", "I"};
  CHECK_THROWS_WITH(validate_signals(s), Catch::Contains("unique"));
}
