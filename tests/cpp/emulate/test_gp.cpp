#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/emulate/design.hpp"
#include "cardiotwin/emulate/gp.hpp"
#include "../test_util.hpp"

using namespace cardiotwin;
using namespace cardiotwin::emulate;

namespace {

constexpr double kPi = 3.14159265358979323846;

// Branin-Hoo on [-5, 10] x [0, 15].
double branin(double x1, double x2) {
  const double b = 5.1 / (4 * kPi * kPi), c = 5 / kPi, t = 1 / (8 * kPi);
  return std::pow(x2 - b * x1 * x1 + c * x1 - 6, 2) + 10 * (1 - t) * std::cos(x1) + 10;
}

// A smooth 5-D test function and a second output.
Matrix sines(const Matrix& x) {
  Matrix y(x.rows(), 2);
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    double s = 0;
    for (Eigen::Index j = 0; j < x.cols(); ++j) s += std::sin((static_cast<double>(j) + 1) * x(i, j) / 2);
    y(i, 0) = s + x(i, 0) * x(i, 1);
    y(i, 1) = 3 * std::exp(-x(i, 2)) + 0.5 * x(i, 3);
  }
  return y;
}

struct Scores {
  double r2, coverage;
};
Scores score(const Prediction& p, const Matrix& y, int c) {
  const double mean = y.col(c).mean();
  double ss_res = 0, ss_tot = 0;
  int inside = 0;
  for (Eigen::Index i = 0; i < y.rows(); ++i) {
    const double e = y(i, c) - p.mean(i, c);
    ss_res += e * e;
    ss_tot += (y(i, c) - mean) * (y(i, c) - mean);
    if (std::abs(e) <= 1.96 * std::sqrt(p.variance(i, c))) ++inside;
  }
  return {1 - ss_res / ss_tot, static_cast<double>(inside) / static_cast<double>(y.rows())};
}

}  // namespace

TEST_CASE("GP interpolates its training points when the noise is small", "[emulate][gp]") {
  const Matrix x = latin_hypercube(25, Bounds{{"a", 0, 1}, {"b", 0, 1}}, 5);
  Matrix y(x.rows(), 1);
  for (Eigen::Index i = 0; i < x.rows(); ++i) y(i, 0) = std::sin(6 * x(i, 0)) + std::cos(4 * x(i, 1));
  for (auto kernel : {Kernel::SquaredExponential, Kernel::Matern52}) {
    GaussianProcessOptions o;
    o.kernel = kernel;
    o.fit_noise = false;
    o.noise_variance = 1e-8;
    GaussianProcess gp(o);
    gp.fit(x, y);
    const Prediction p = gp.predict(x);
    INFO(to_string(kernel));
    CHECK((p.mean - y).cwiseAbs().maxCoeff() < 1e-3);
    CHECK(p.variance.maxCoeff() < 1e-5);
    CHECK(p.variance.minCoeff() >= 0);
  }
}

TEST_CASE("GP recovers the Branin function with calibrated intervals", "[emulate][gp]") {
  const Bounds b{{"x1", -5, 10}, {"x2", 0, 15}};
  const Matrix x = latin_hypercube(60, b, 11, 10);
  const Matrix xt = sobol(400, b, 12, true);
  const auto f = [](const Matrix& xx) {
    Matrix y(xx.rows(), 1);
    for (Eigen::Index i = 0; i < xx.rows(); ++i) y(i, 0) = branin(xx(i, 0), xx(i, 1));
    return y;
  };
  for (auto kernel : {Kernel::SquaredExponential, Kernel::Matern52}) {
    GaussianProcessOptions o;
    o.kernel = kernel;
    o.seed = 1;
    GaussianProcess gp(o);
    gp.fit(x, f(x), {"x1", "x2"}, {"branin"});
    const Scores s = score(gp.predict(xt), f(xt), 0);
    INFO(to_string(kernel) << ": R^2 " << s.r2 << ", coverage " << s.coverage);
    CHECK(s.r2 > 0.99);
    CHECK(s.coverage > 0.85);
    CHECK(gp.input_names()[1] == "x2");
  }
}

TEST_CASE("GP recovers a 5-input, 2-output function", "[emulate][gp]") {
  Bounds b;
  for (int j = 0; j < 5; ++j) b.push_back({"p" + std::to_string(j), -1.0, 2.0});
  const Matrix x = latin_hypercube(160, b, 3, 5);
  const Matrix xt = latin_hypercube(300, b, 4);
  const Matrix y = sines(x), yt = sines(xt);
  GaussianProcess gp;  // Matern 5/2, linear mean
  gp.fit(x, y);
  const Prediction p = gp.predict(xt);
  for (int c = 0; c < 2; ++c) {
    const Scores s = score(p, yt, c);
    INFO("output " << c << ": R^2 " << s.r2 << ", coverage " << s.coverage);
    CHECK(s.r2 > 0.99);
    CHECK(s.coverage > 0.85);
  }
  // The fourth input only enters output 1 linearly, the fifth only output 0: lengths reflect it.
  CHECK(gp.lengthscales(1)[4] > 10 * gp.lengthscales(0)[4]);
  const Matrix mean_only = gp.predict_mean(xt);
  CHECK((mean_only - p.mean).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("Log marginal likelihood gradient matches finite differences", "[emulate][gp]") {
  const Matrix u = latin_hypercube_unit(30, 3, 9);
  Eigen::VectorXd y(30);
  for (Eigen::Index i = 0; i < 30; ++i) y[i] = std::sin(5 * u(i, 0)) + u(i, 1) * u(i, 2) + 0.3 * u(i, 2);
  y = (y.array() - y.mean()) / std::sqrt((y.array() - y.mean()).square().mean());
  for (auto kernel : {Kernel::SquaredExponential, Kernel::Matern52})
    for (auto mean : {MeanFunction::Constant, MeanFunction::Linear})
      for (bool fit_noise : {true, false}) {
        GaussianProcessOptions o;
        o.kernel = kernel;
        o.mean = mean;
        o.fit_noise = fit_noise;
        o.noise_variance = 1e-3;
        Eigen::VectorXd p(fit_noise ? 5 : 4);
        p << std::log(0.3), std::log(0.7), std::log(1.5), std::log(1.3);
        if (fit_noise) p[4] = std::log(0.01);
        Eigen::VectorXd g;
        const double l0 = gp_log_marginal_likelihood(u, y, o, p, &g);
        REQUIRE(std::isfinite(l0));
        for (Eigen::Index i = 0; i < p.size(); ++i) {
          const double h = 1e-5;
          Eigen::VectorXd pp = p, pm = p;
          pp[i] += h;
          pm[i] -= h;
          const double fd = (gp_log_marginal_likelihood(u, y, o, pp) - gp_log_marginal_likelihood(u, y, o, pm)) / (2 * h);
          INFO(to_string(kernel) << " " << to_string(mean) << " noise " << fit_noise << " parameter " << i);
          CHECK(g[i] == Approx(fd).epsilon(1e-5).margin(1e-6));
        }
      }
}

TEST_CASE("GP save and load give bit-identical predictions", "[emulate][gp]") {
  const Matrix x = latin_hypercube(40, Bounds{{"cv", 0.4, 0.8}, {"apd", 0.8, 1.2}, {"k", 1, 3}}, 2);
  Matrix y(x.rows(), 2);
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    y(i, 0) = 80 / x(i, 0) + 5 * x(i, 2);
    y(i, 1) = 300 * x(i, 1) - 2 * x(i, 0);
  }
  GaussianProcessOptions o;
  o.kernel = Kernel::SquaredExponential;
  o.mean = MeanFunction::Constant;
  GaussianProcess gp(o);
  gp.fit(x, y, {"cv", "apd", "k"}, {"qrs_ms", "qt_ms"});
  test::TempDir dir;
  const std::string path = dir.file("em.json");
  gp.save(path);
  const GaussianProcess gp2 = GaussianProcess::load(path);
  const Matrix xt = latin_hypercube(50, Bounds{{"cv", 0.4, 0.8}, {"apd", 0.8, 1.2}, {"k", 1, 3}}, 8);
  const Prediction a = gp.predict(xt), b = gp2.predict(xt);
  CHECK(a.mean == b.mean);
  CHECK(a.variance == b.variance);
  CHECK(gp2.output_names() == gp.output_names());
  CHECK(gp2.options().kernel == Kernel::SquaredExponential);
  CHECK((gp2.training_inputs() - x).cwiseAbs().maxCoeff() < 1e-12);

  // Wrong or corrupt files.
  CHECK_THROWS_AS(GaussianProcess::load(dir.file("missing.json")), FileIOError);
  {
    std::ofstream(dir.file("bad.json")) << "{\"format\": \"cardiotwin.emulate.Gauss";
  }
  CHECK_THROWS_AS(GaussianProcess::load(dir.file("bad.json")), FileFormatError);
  {
    std::ofstream(dir.file("other.json")) << "{\"format\": \"something else\", \"version\": 1}";
  }
  CHECK_THROWS_AS(GaussianProcess::load(dir.file("other.json")), FileFormatError);
  auto j = gp.to_json();
  j["version"] = 99;
  CHECK_THROWS_AS(GaussianProcess::from_json(j), FileFormatError);
  j = gp.to_json();
  j["outputs"][1]["y"].erase(0);
  CHECK_THROWS_AS(GaussianProcess::from_json(j), FileFormatError);
  j = gp.to_json();
  j["outputs"][0]["lengthscales"][0] = -1.0;
  CHECK_THROWS_AS(GaussianProcess::from_json(j), FileFormatError);
}

TEST_CASE("GP rejects bad training data with clear errors", "[emulate][gp]") {
  GaussianProcess gp;
  Matrix x = latin_hypercube_unit(10, 3, 0);
  Matrix y = Matrix::Ones(9, 1);
  CHECK_THROWS_AS(gp.fit(x, y), InvalidInput);  // rows differ
  y = x.col(0);
  y(3, 0) = std::nan("");
  try {
    gp.fit(x, y);
    FAIL("no error");
  } catch (const InvalidInput& e) {
    CHECK(e.where().element == 3);
    CHECK(std::string(e.what()).find("non-finite training output") != std::string::npos);
  }
  CHECK_THROWS_AS(gp.fit(x.topRows(3), x.topRows(3).col(0)), InvalidInput);  // n < d + 1
  Matrix xc = x;
  xc.col(1).setConstant(0.5);
  CHECK_THROWS_AS(gp.fit(xc, x.col(0)), InvalidInput);  // constant input
  CHECK_THROWS_AS(gp.fit(x, x.col(0), {"a", "b"}), InvalidInput);
  CHECK_THROWS_AS(gp.predict(x), InvalidInput);  // not fitted
  gp.fit(x, Matrix(x.col(0) + x.col(1)));
  CHECK_THROWS_AS(gp.predict(Matrix::Zero(2, 2)), InvalidInput);
  GaussianProcessOptions o;
  o.min_noise_variance = 0;
  CHECK_THROWS_AS(GaussianProcess(o), InvalidInput);
  CHECK_THROWS_AS(kernel_from_string("cubic"), InvalidInput);
  CHECK_THROWS_AS(GaussianProcessOptions::from_json({{"kernal", "matern52"}}), InvalidInput);
  CHECK(GaussianProcessOptions::from_json(GaussianProcessOptions().to_json()).to_json() ==
        GaussianProcessOptions().to_json());
}
