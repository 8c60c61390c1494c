#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>

#include "cardiotwin/core/atomic_file.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/ecg/leads.hpp"
#include "cardiotwin/ecg/wfdb.hpp"
#include "../test_util.hpp"

using namespace cardiotwin;
using namespace cardiotwin::ecg;

namespace {

void write_text(const std::string& path, const std::string& text, bool binary = false) {
  std::ofstream f(path, binary ? std::ios::binary : std::ios::out);
  f << text;
}

}  // namespace

TEST_CASE("WFDB: the PTB-XL records (.mat, format 16 with offset) read with checksums", "[ecg][wfdb]") {
  for (const std::string rec : {"HR06004", "HR06007"}) {
    const Signals s = read_wfdb(test::test_data("ecg/ptbxl/" + rec + ".hea"));
    REQUIRE(s.names == twelve_lead_names());
    CHECK(s.num_samples() == 5000);
    CHECK(s.time_ms[1] == Approx(2.0));
    CHECK(s.units == "mV");
    CHECK(s.metadata.at("sampling_frequency_hz") == 500.0);
    CHECK(s.metadata.at("comments").size() == 6);
    // The record name without extension and the .mat path find the same record.
    CHECK((read_ecg(test::test_data("ecg/ptbxl/" + rec)).values - s.values).norm() == 0);
    CHECK((read_ecg(test::test_data("ecg/ptbxl/" + rec + ".mat")).values - s.values).norm() == 0);
  }
  const Signals s = read_wfdb(test::test_data("ecg/ptbxl/HR06004"));
  CHECK(s.values(0, 0) == Approx(0.170));  // initial values from the header / 1000
  CHECK(s.values(0, 1) == Approx(0.275));
  CHECK(s.values(0, 6) == Approx(-0.395));
  // README: lead II of HR06004 spans -0.25 ... 1.18 mV.
  CHECK(s.channel("II").minCoeff() == Approx(-0.25).margin(0.02));
  CHECK(s.channel("II").maxCoeff() == Approx(1.18).margin(0.02));
}

TEST_CASE("WFDB: format 212, several files, gains and baselines, round trip of format 16", "[ecg][wfdb]") {
  test::TempDir dir;
  // Two signals in one 212 file: samples (a, b) per frame, 12-bit two's complement.
  const std::vector<std::pair<int, int>> frames = {{100, -200}, {-2047, 2047}, {5, -1}};
  std::string bytes;
  for (const auto& [a, b] : frames) {
    const unsigned ua = static_cast<unsigned>(a) & 0xFFF, ub = static_cast<unsigned>(b) & 0xFFF;
    bytes += static_cast<char>(ua & 0xFF);
    bytes += static_cast<char>(((ua >> 8) & 0x0F) | ((ub >> 8) << 4));
    bytes += static_cast<char>(ub & 0xFF);
  }
  write_text(dir.file("r.dat"), bytes, true);
  // A third signal in its own format-16 file.
  std::string b16;
  for (int v : {10, 20, -30}) {
    b16 += static_cast<char>(v & 0xFF);
    b16 += static_cast<char>((v >> 8) & 0xFF);
  }
  write_text(dir.file("s.dat"), b16, true);
  const int sum0 = 100 - 2047 + 5, sum1 = -200 + 2047 - 1;
  write_text(dir.file("r.hea"), "# a comment before the record line\n"
                                "r 3 250 3\n"
                                "r.dat 212 200(100)/mV 12 0 100 " + std::to_string(sum0) + " 0 lead one\n"
                                "r.dat 212 0 12 0 -200 " + std::to_string(sum1) + " 0 II\n"
                                "s.dat 16 1000/uV 16 0 10 0 0 V1\n"
                                "# age: 50\n");
  const Signals s = read_wfdb(dir.file("r"));
  REQUIRE(s.names == std::vector<std::string>{"lead one", "II", "V1"});
  CHECK(s.time_ms[2] == Approx(8.0));
  CHECK(s.values(0, 0) == Approx(0.0));              // (100 - 100) / 200
  CHECK(s.values(1, 0) == Approx((-2047 - 100) / 200.0));
  CHECK(s.values(1, 1) == Approx(2047 / 200.0));     // gain 0 means 200, baseline = ADC zero
  CHECK(s.values(2, 2) == Approx(-0.030 * 1e-3));    // 1000 per uV: -30 -> -0.03 uV -> mV
  CHECK(s.metadata.at("comments")[1] == "age: 50");

  // Writing: format 16, gain picked so the values fit; reading back to the ADC resolution.
  Signals w;
  w.names = {"I", "II"};
  w.time_ms = Eigen::VectorXd::LinSpaced(50, 10, 59);
  w.values.resize(50, 2);
  for (int i = 0; i < 50; ++i) w.values.row(i) << std::sin(i * 0.3), 45.0 * std::cos(i * 0.1);
  w.values(7, 0) = std::numeric_limits<double>::quiet_NaN();
  write_wfdb(dir.file("out"), w);
  const Signals r = read_wfdb(dir.file("out.hea"));
  CHECK(r.names == w.names);
  CHECK((r.time_ms - w.time_ms).cwiseAbs().maxCoeff() < 1e-9);  // t0 kept in a comment
  CHECK(std::isnan(r.values(7, 0)));
  const double gain = r.metadata.at("signals")[0].at("gain").get<double>();
  CHECK(gain < 1000);
  CHECK(45.0 * gain <= 32767);
  for (int i = 0; i < 50; ++i)
    if (i != 7) CHECK(std::abs(r.values(i, 0) - w.values(i, 0)) <= 0.5 / gain + 1e-12);
  // Non-uniform time axes cannot be written.
  w.time_ms[3] += 0.5;
  CHECK_THROWS_WITH(write_wfdb(dir.file("bad"), w), Catch::Contains("uniform time axis"));
}

TEST_CASE("WFDB: unreadable headers and corrupt data are clear errors", "[ecg][wfdb]") {
  test::TempDir dir;
  write_text(dir.file("x.dat"), std::string(8, '\0'), true);
  auto header_error = [&](const std::string& text) {
    write_text(dir.file("x.hea"), text);
    try {
      read_wfdb(dir.file("x.hea"));
    } catch (const FileFormatError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(header_error("x two 250\n"), Catch::Contains("x.hea") && Catch::Contains("line 1") && Catch::Contains("'two'"));
  CHECK_THAT(header_error("x 1 250 4\nx.dat 16 1000/mV 16 0 0 0 0 I\nx.dat 16 1000/mV 16 0 0 0 0 II\n"),
             Catch::Contains("line 3") && Catch::Contains("1 signal lines"));
  CHECK_THAT(header_error("x 2 250 4\nx.dat 16 1000/mV 16 0 0 0 0 I\n"), Catch::Contains("2 signal lines"));
  CHECK_THAT(header_error("# only a comment\n"), Catch::Contains("a record line"));
  CHECK_THAT(header_error("x 1 250 4\nx.dat 311 1000/mV 16 0 0 0 0 I\n"),
             Catch::Contains("unsupported WFDB sample format") && Catch::Contains("line 2"));
  CHECK_THAT(header_error("x 1 250 4\nx.dat 16x2 1000/mV 16 0 0 0 0 I\n"), Catch::Contains("samples per frame"));
  CHECK_THAT(header_error("x 1 250 4\nx.dat 16 1000(a)/mV 16 0 0 0 0 I\n"), Catch::Contains("line 2, gain"));
  CHECK_THAT(header_error("x 1 250 4\nx.dat 16 1000/mV 16 zero 0 0 0 I\n"), Catch::Contains("line 2, ADC zero"));
  CHECK_THAT(header_error("x/2 1 250 4\n"), Catch::Contains("multi-segment"));
  CHECK_THAT(header_error("x 1 -5 4\n"), Catch::Contains("sampling frequency"));
  CHECK_THAT(header_error("x 1 250 9\nx.dat 16 1000/mV 16 0 0 0 0 I\n"), Catch::Contains("truncated"));
  CHECK_THAT(header_error("x 1 250 4\nx.dat 16 1000/mV 16 0 0 7 0 I\n"), Catch::Contains("checksum mismatch"));
  CHECK_THAT(header_error("x 1 250 4\nx.dat 16 1000/mV 16 0 3 0 0 I\n"), Catch::Contains("initial value mismatch"));
  // Corrupting one sample of a real record breaks its checksum (unless verification is off).
  std::string mat = read_file_bytes(test::test_data("ecg/ptbxl/HR06004.mat"));
  mat[1000] = static_cast<char>(mat[1000] + 1);
  write_text(dir.file("HR06004.mat"), mat, true);
  write_text(dir.file("HR06004.hea"), read_file_bytes(test::test_data("ecg/ptbxl/HR06004.hea")));
  CHECK_THROWS_WITH(read_wfdb(dir.file("HR06004")), Catch::Contains("checksum mismatch"));
  CHECK_NOTHROW(read_wfdb(dir.file("HR06004"), false));
  CHECK_THROWS_AS(read_ecg(dir.file("missing.hea")), FileIOError);
}

TEST_CASE("ECG CSV: round trip and errors naming the line", "[ecg][wfdb]") {
  test::TempDir dir;
  Signals s;
  s.names = twelve_lead_names();
  s.time_ms = Eigen::VectorXd::LinSpaced(30, 0, 29) * 0.5;
  s.values = Field::Random(30, 12);
  write_ecg(dir.file("e.csv"), s);
  const Signals r = read_ecg(dir.file("e.csv"));
  CHECK(r.names == s.names);
  CHECK((r.values - s.values).cwiseAbs().maxCoeff() < 1e-8);
  CHECK((r.time_ms - s.time_ms).cwiseAbs().maxCoeff() < 1e-12);
  write_ecg(dir.file("e.hea"), s);
  CHECK((read_ecg(dir.file("e")).values - s.values).cwiseAbs().maxCoeff() <= 0.5e-3 + 1e-12);

  write_text(dir.file("b.csv"), "time_ms,I,II\n0,1,2\n1,1\n");
  CHECK_THROWS_WITH(read_ecg_csv(dir.file("b.csv")), Catch::Contains("line 3") && Catch::Contains("3 comma-separated"));
  write_text(dir.file("b.csv"), "time_ms,I\n0,1\n1,x\n");
  CHECK_THROWS_WITH(read_ecg_csv(dir.file("b.csv")), Catch::Contains("line 3, column 'I'"));
  write_text(dir.file("b.csv"), "t,I\n0,1\n");
  CHECK_THROWS_WITH(read_ecg_csv(dir.file("b.csv")), Catch::Contains("time_ms"));
  write_text(dir.file("b.csv"), "time_ms,I\n0,1\n0,1\n");
  CHECK_THROWS_AS(read_ecg_csv(dir.file("b.csv")), FileFormatError);
  write_text(dir.file("b.csv"), "time_s,I\n0,1\n0.002,1\n");
  CHECK(read_ecg_csv(dir.file("b.csv")).time_ms[1] == Approx(2.0));
}
