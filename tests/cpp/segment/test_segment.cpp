#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/io/nifti.hpp"
#include "cardiotwin/segment/segment.hpp"

using namespace cardiotwin;
using namespace cardiotwin::segment;

namespace {

const std::string kMeta = R"({
  "format_version": 1, "name": "test", "dimensions": 2,
  "labels": {"background": 0, "disk": 1},
  "output_channels": ["background", "disk"],
  "spacing_mm": [1.5, 1.5], "patch_size": [32, 32],
  "normalisation": {"method": "zscore"}
})";

ModelInfo meta_with(const std::string& key, const nlohmann::json& value) {
  auto j = nlohmann::json::parse(kMeta);
  if (value.is_null())
    j.erase(key);
  else
    j[key] = value;
  return ModelInfo::from_json(j.dump(), "meta.json");
}

// A "network" that says: voxels brighter than the mean are the disk (logit = 4 * intensity).
ForwardFn threshold_net(std::int64_t channels = 2, int* calls = nullptr) {
  return [channels, calls](const std::vector<float>& in, std::int64_t n, std::int64_t h, std::int64_t w,
                           std::vector<float>& out, std::int64_t& oc) {
    if (calls) ++*calls;
    oc = channels;
    out.assign(static_cast<std::size_t>(n * channels * h * w), 0.0f);
    for (std::int64_t b = 0; b < n; ++b)
      for (std::int64_t p = 0; p < h * w; ++p)
        out[static_cast<std::size_t>((b * channels + 1) * h * w + p)] = 4.0f * in[static_cast<std::size_t>(b * h * w + p)];
  };
}

// A bright disk of radius r (mm) around (cx, cy) mm in every slice, plus a bright dot far away.
Image<float> disk_image(std::int64_t nx, std::int64_t ny, std::int64_t nz, Eigen::Vector3d sp, double r,
                        double cx, double cy) {
  Image<float> im({nx, ny, nz}, sp, Eigen::Vector3d(10, -5, 3));
  for (std::int64_t k = 0; k < nz; ++k)
    for (std::int64_t j = 0; j < ny; ++j)
      for (std::int64_t i = 0; i < nx; ++i) {
        const double x = double(i) * sp[0] - cx, y = double(j) * sp[1] - cy;
        im(i, j, k) = (x * x + y * y <= r * r) ? 100.0f : 10.0f;
      }
  return im;
}

double dice(const LabelMap& a, const LabelMap& b, std::uint8_t l, std::int64_t k0 = 0, std::int64_t k1 = -1) {
  if (k1 < 0) k1 = a.shape()[2] - 1;
  std::int64_t ab = 0, na = 0, nb = 0;
  for (std::int64_t k = k0; k <= k1; ++k)
    for (std::int64_t j = 0; j < a.shape()[1]; ++j)
      for (std::int64_t i = 0; i < a.shape()[0]; ++i) {
        const bool x = a(i, j, k) == l, y = b(i, j, k) == l;
        ab += x && y;
        na += x;
        nb += y;
      }
  return na + nb ? 2.0 * double(ab) / double(na + nb) : 1.0;
}

const std::string kModelDir =
    std::string(CARDIOTWIN_TEST_DATA) + "/../../python/cardiotwin/models/sunnybrook_lv";

}  // namespace

TEST_CASE("model metadata is validated with clear errors", "[segment][metadata]") {
  const ModelInfo m = ModelInfo::from_json(kMeta, "meta.json");
  CHECK(m.labels.size() == 2);
  CHECK(m.channel_label(1) == 1);
  CHECK(m.patch_size == std::vector<std::int64_t>{32, 32});
  CHECK(m.normalisation == "zscore");
  CHECK_THROWS_AS(meta_with("dimensions", 3), InvalidInput);
  CHECK_THROWS_AS(meta_with("spacing_mm", nullptr), InvalidInput);
  CHECK_THROWS_AS(meta_with("spacing_mm", {1.0}), InvalidInput);
  CHECK_THROWS_AS(meta_with("spacing_mm", {1.0, -1.0}), InvalidInput);
  CHECK_THROWS_AS(meta_with("patch_size", {32, 2}), InvalidInput);
  CHECK_THROWS_AS(meta_with("output_channels", {"background", "rv"}), InvalidInput);
  CHECK_THROWS_AS(meta_with("labels", {{"disk", 1}}), InvalidInput);
  CHECK_THROWS_AS(meta_with("slice_axis", "z"), InvalidInput);
  CHECK_THROWS_AS(ModelInfo::from_json("{not json", "m.json"), FileFormatError);
  CHECK_THROWS_AS(ModelInfo::read("/nonexistent/metadata.json"), FileIOError);
  try {
    meta_with("output_channels", {"background", "rv"});
  } catch (const InvalidInput& e) {
    CHECK_THAT(e.what(), Catch::Contains("rv") && Catch::Contains("meta.json"));
  }
}

TEST_CASE("segment options round-trip JSON and reject bad values", "[segment][options]") {
  SegmentOptions o;
  o.overlap = 0.25;
  o.mirror = false;
  o.threads = 2;
  const SegmentOptions p = SegmentOptions::from_json(o.to_json());
  CHECK(p.overlap == 0.25);
  CHECK_FALSE(p.mirror);
  CHECK(p.threads == 2);
  CHECK_THROWS_AS(SegmentOptions::from_json(R"({"overlapp": 0.5})"), InvalidInput);
  CHECK_THROWS_AS(SegmentOptions::from_json(R"({"mirror": "yes"})"), InvalidInput);
  Model model(ModelInfo::from_json(kMeta), threshold_net());
  SegmentOptions bad;
  bad.overlap = 0.99;
  CHECK_THROWS_AS(model.segment(disk_image(20, 20, 1, {1, 1, 1}, 5, 10, 10), bad), InvalidInput);
}

TEST_CASE("largest component per label and hole filling", "[segment][postprocess]") {
  LabelMap m({12, 12, 3}, Eigen::Vector3d(1, 1, 5));
  for (std::int64_t k = 0; k < 3; ++k)
    for (std::int64_t j = 2; j < 9; ++j)
      for (std::int64_t i = 2; i < 9; ++i) m(i, j, k) = 1;
  m(5, 5, 1) = 0;    // a hole in label 1
  m(11, 11, 0) = 1;  // an island of label 1
  m(0, 11, 2) = 2;   // label 2: two islands, sizes 1 and 2
  m(11, 0, 2) = 2;
  m(10, 0, 2) = 2;
  CHECK(keep_largest_components(m) == 2);
  CHECK(m(11, 11, 0) == 0);
  CHECK(m(0, 11, 2) == 0);
  CHECK(m(11, 0, 2) == 2);
  CHECK(fill_holes(m, 2) == 1);
  CHECK(m(5, 5, 1) == 1);
  // background touching the border is never filled, even when surrounded on three sides
  CHECK(fill_holes(m, 2) == 0);
  CHECK_THROWS_AS(fill_holes(m, 3), InvalidInput);
}

TEST_CASE("the walled component wins over a larger look-alike", "[segment][postprocess]") {
  LabelMap m({40, 20, 2}, Eigen::Vector3d(1, 1, 8));
  for (std::int64_t k = 0; k < 2; ++k) {
    for (std::int64_t j = 2; j < 11; ++j)  // 'LV': 5 x 5 blood inside a wall of 2
      for (std::int64_t i = 2; i < 11; ++i) m(i, j, k) = (i >= 4 && i < 9 && j >= 4 && j < 9) ? 1 : 2;
    for (std::int64_t j = 2; j < 14; ++j)  // a larger blob of 'blood' with a wall on one side only
      for (std::int64_t i = 20; i < 32; ++i) m(i, j, k) = 1;
    for (std::int64_t j = 2; j < 14; ++j) m(32, j, k) = 2;
  }
  const std::int64_t removed = select_enclosed(m, 1, 2, 2);
  CHECK(removed == 2 * (12 * 12 + 12));
  CHECK(m(6, 6, 0) == 1);
  CHECK(m(2, 2, 1) == 2);
  CHECK(m(25, 5, 0) == 0);
  CHECK(m(32, 5, 0) == 0);
  CHECK_THROWS_AS(meta_with("enclosed_by", {{"disk", "disk"}}), InvalidInput);
  CHECK(meta_with("enclosed_by", {{"disk", "background"}}).enclosed_by.size() == 1);
}

TEST_CASE("normalisation: z-score and percentile clipping", "[segment][preprocess]") {
  Image<float> im({10, 10, 2});
  for (std::int64_t q = 0; q < im.size(); ++q) im.values()[std::size_t(q)] = float(q);
  im.values()[0] = 1e6f;  // an outlier clipped by the percentiles
  ModelInfo info = ModelInfo::from_json(kMeta);
  auto z = normalise(im, info);
  double mean = 0;
  for (float v : z) mean += v;
  CHECK(std::abs(mean / double(z.size())) < 1e-5);
  info.normalisation = "percentile_zscore";
  info.percentile_low = 1;
  info.percentile_high = 99;
  auto p = normalise(im, info);
  CHECK(p[0] == Approx(p[199]));  // the outlier is clipped to the 99th percentile
  im.values()[3] = std::nanf("");
  CHECK_THROWS_AS(normalise(im, info), InvalidInput);
}

TEST_CASE("sliding-window segmentation lands on the input geometry", "[segment][inference]") {
  // anisotropic in-plane spacing, slices along k (largest spacing), several windows per slice
  const Eigen::Vector3d sp(0.9, 1.3, 8.0);
  Image<float> im = disk_image(150, 90, 4, sp, 25.0, 70.0, 55.0);
  int calls = 0;
  Model model(ModelInfo::from_json(kMeta), threshold_net(2, &calls));
  SegmentOptions o;
  o.batch = 4;
  const SegmentResult r = model.segment(im, o);
  CHECK(calls > 4);
  CHECK_FALSE(r.empty);
  CHECK(r.warnings.empty());
  REQUIRE(r.labels.shape() == im.shape());
  CHECK(r.labels.spacing().isApprox(im.spacing()));
  CHECK(r.labels.origin().isApprox(im.origin()));
  LabelMap truth = im.like<std::uint8_t>(0);
  for (std::int64_t q = 0; q < im.size(); ++q) truth.values()[std::size_t(q)] = im.values()[std::size_t(q)] > 50;
  CHECK(dice(r.labels, truth, 1) > 0.97);
  const double disk_ml = M_PI * 25.0 * 25.0 * 8.0 * 4 / 1000.0;
  REQUIRE(r.volumes_ml.size() == 2);
  CHECK(r.volumes_ml[1] == Approx(disk_ml).epsilon(0.05));

  // the slice axis follows the largest spacing: the same disk stacked along i
  Image<float> t({4, 150, 90}, Eigen::Vector3d(8.0, 0.9, 1.3));
  for (std::int64_t k = 0; k < 90; ++k)
    for (std::int64_t j = 0; j < 150; ++j)
      for (std::int64_t i = 0; i < 4; ++i) t(i, j, k) = im(j, k, i);
  CHECK(slice_axis(t, model.info()) == 0);
  const SegmentResult rt = model.segment(t, o);
  CHECK(rt.volumes_ml[1] == Approx(r.volumes_ml[1]).epsilon(0.01));

  // a single slice smaller than the patch is padded
  const SegmentResult small = model.segment(disk_image(20, 24, 1, {1, 1, 1}, 6, 10, 12));
  CHECK(small.voxel_counts[1] > 90);
}

TEST_CASE("bad models and empty results are reported, never crash", "[segment][errors]") {
  Image<float> im = disk_image(40, 40, 2, {1.5, 1.5, 8}, 10, 30, 30);
  Model wrong(ModelInfo::from_json(kMeta), threshold_net(3));
  try {
    wrong.segment(im);
    FAIL("no error for 3 output channels with 2 labels");
  } catch (const InvalidInput& e) {
    CHECK_THAT(e.what(), Catch::Contains("output channels"));
  }
  // a constant image: nothing is brighter than the mean, so nothing is labelled
  Image<float> flat({40, 40, 2}, Eigen::Vector3d(1.5, 1.5, 8), Eigen::Vector3d::Zero(),
                    Eigen::Matrix3d::Identity(), 7.0f);
  const SegmentResult r = Model(ModelInfo::from_json(kMeta), threshold_net()).segment(flat);
  CHECK(r.empty);
  REQUIRE_FALSE(r.warnings.empty());
  CHECK_THAT(r.warnings[0], Catch::Contains("empty segmentation"));
  // a structure below the model's plausible minimum volume is removed, with a warning
  auto j = nlohmann::json::parse(kMeta);
  j["min_volume_ml"] = {{"disk", 50.0}};  // the disk is 2 x 8 mm x pi x 10^2 mm^2 = 5 mL
  const Model strict(ModelInfo::from_json(j.dump()), threshold_net());
  const SegmentResult small = strict.segment(im);
  CHECK(small.empty);
  bool said_why = false;
  for (const auto& w : small.warnings) said_why = said_why || w.find("min_volume_ml") != std::string::npos;
  CHECK(said_why);
  SegmentOptions keep;
  keep.min_volume = false;
  CHECK_FALSE(strict.segment(im, keep).empty);
  j["min_volume_ml"] = {{"ventricle", 5.0}};
  CHECK_THROWS_AS(ModelInfo::from_json(j.dump()), InvalidInput);
  CHECK_THROWS_AS(Model::load("/nonexistent/model"), FileIOError);
  // a file that is not TorchScript
  const auto dir = std::filesystem::temp_directory_path() / "cardiotwin_bad_model";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "model.pt") << "not a model";
  std::ofstream(dir / "metadata.json") << kMeta;
  CHECK_THROWS_AS(Model::load(dir.string()), FileFormatError);
  std::filesystem::remove_all(dir);
}

TEST_CASE("shipped Sunnybrook model on the bundled short-axis stack", "[segment][model][sunnybrook]") {
  REQUIRE(std::filesystem::exists(kModelDir + "/model.pt"));
  const Model model = Model::load(kModelDir);
  CHECK(model.info().labels.size() == 3);
  const auto image = io::read_nifti<float>(std::string(CARDIOTWIN_TEST_DATA) + "/sunnybrook/SCD0000101_ED.nii.gz");
  const auto truth = io::read_nifti<std::uint8_t>(std::string(CARDIOTWIN_TEST_DATA) + "/sunnybrook/SCD0000101_ED_gt.nii.gz");
  SegmentOptions o;
  o.threads = 2;
  o.mirror = false;  // 3x faster; the mirrored result is checked by the Python tests
  const SegmentResult r = model.segment(image, o);
  REQUIRE(r.labels.shape() == image.shape());
  // this patient is in the training set of the shipped model: a regression check, not a benchmark
  // (the leave-one-patient-out numbers are in the model folder's lopo.json)
  const double d1 = dice(r.labels, truth, 1, 1, 9), d2 = dice(r.labels, truth, 2, 1, 9);
  INFO("Dice blood pool " << d1 << ", myocardium " << d2);
  CHECK(d1 > 0.85);
  CHECK(d2 > 0.65);
}
