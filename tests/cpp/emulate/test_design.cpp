#include <catch2/catch.hpp>
#include <cmath>
#include <set>

#include "cardiotwin/core/error.hpp"
#include "cardiotwin/emulate/design.hpp"

using namespace cardiotwin;
using namespace cardiotwin::emulate;

TEST_CASE("Latin hypercube puts one point in each stratum of every parameter", "[emulate][design]") {
  const std::int64_t n = 37;
  const int d = 6;
  const Matrix x = latin_hypercube_unit(n, d, 42);
  REQUIRE(x.rows() == n);
  REQUIRE(x.cols() == d);
  for (int j = 0; j < d; ++j) {
    std::set<std::int64_t> strata;
    for (std::int64_t i = 0; i < n; ++i) {
      REQUIRE(x(i, j) >= 0);
      REQUIRE(x(i, j) < 1);
      strata.insert(static_cast<std::int64_t>(std::floor(x(i, j) * static_cast<double>(n))));
    }
    CHECK(strata.size() == static_cast<std::size_t>(n));
  }
  // Seeded: the same seed gives the same design, another seed another one.
  CHECK(latin_hypercube_unit(n, d, 42) == x);
  CHECK(latin_hypercube_unit(n, d, 43) != x);
  // Maximin: the first candidate is the plain design, so the best of several is at least as spread.
  const Matrix best = latin_hypercube_unit(n, d, 42, 20);
  CHECK(min_pairwise_distance(best) >= min_pairwise_distance(x));
}

TEST_CASE("Latin hypercube is scaled to named bounds", "[emulate][design]") {
  const Bounds b{{"cv_fibre", 0.4, 0.8}, {"apd_scale", 0.8, 1.2}, {"root_ms", -10, 10}};
  const Matrix x = latin_hypercube(50, b, 1);
  for (int j = 0; j < 3; ++j) {
    CHECK(x.col(j).minCoeff() >= b[static_cast<std::size_t>(j)].lower);
    CHECK(x.col(j).maxCoeff() <= b[static_cast<std::size_t>(j)].upper);
  }
  const Matrix u = scale_to_unit(x, b);
  CHECK((scale_to_bounds(u, b) - x).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("Sobol sequence starts with the known points", "[emulate][design]") {
  // Joe & Kuo direction numbers in Gray-code order (as in their sobol.cc and scipy.stats.qmc).
  const double expected[8][3] = {{0, 0, 0},           {0.5, 0.5, 0.5},       {0.75, 0.25, 0.25},
                                 {0.25, 0.75, 0.75},  {0.375, 0.375, 0.625}, {0.875, 0.875, 0.125},
                                 {0.625, 0.125, 0.875}, {0.125, 0.625, 0.375}};
  const Matrix x = sobol_unit(8, 3, 0, false);
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 3; ++j) CHECK(x(i, j) == expected[i][j]);
  // Skipping continues the same sequence.
  const Matrix tail = sobol_unit(5, 3, 0, false, 3);
  CHECK(tail.topRows(5) == x.block(3, 0, 5, 3));
}

TEST_CASE("Sobol points are stratified in every dimension and in 2-D elementary boxes", "[emulate][design]") {
  const int d = sobol_max_dimension();
  REQUIRE(d >= 20);
  const std::int64_t n = 256;
  for (bool scramble : {false, true}) {
    const Matrix x = sobol_unit(n, d, 7, scramble);
    for (int j = 0; j < d; ++j) {
      std::set<std::int64_t> strata;
      for (std::int64_t i = 0; i < n; ++i) strata.insert(static_cast<std::int64_t>(std::floor(x(i, j) * 256)));
      INFO("dimension " << j << (scramble ? " scrambled" : ""));
      CHECK(strata.size() == 256u);
    }
    // Dimensions 1 and 2 form a (0, m, 2)-net: each 1/16 x 1/16 box holds exactly one point.
    std::set<std::int64_t> boxes;
    for (std::int64_t i = 0; i < n; ++i)
      boxes.insert(static_cast<std::int64_t>(std::floor(x(i, 0) * 16)) * 16 +
                   static_cast<std::int64_t>(std::floor(x(i, 1) * 16)));
    CHECK(boxes.size() == 256u);
  }
  CHECK(sobol_unit(n, 4, 1, true) != sobol_unit(n, 4, 2, true));
  CHECK(sobol_unit(n, 4, 1, true) == sobol_unit(n, 4, 1, true));
}

TEST_CASE("Sobol and Latin hypercube designs are more uniform than random points", "[emulate][design]") {
  const std::int64_t n = 256;
  const int d = 5;
  Random rng(3);
  double random_disc = 0;
  for (int r = 0; r < 5; ++r) {
    Matrix u(n, d);
    for (Eigen::Index i = 0; i < u.size(); ++i) u.data()[i] = rng.uniform();
    random_disc += l2_star_discrepancy(u) / 5;
  }
  const double sobol_disc = l2_star_discrepancy(sobol_unit(n, d, 0, true));
  const double lhs_disc = l2_star_discrepancy(latin_hypercube_unit(n, d, 0));
  CHECK(sobol_disc < 0.5 * random_disc);
  CHECK(lhs_disc < random_disc);
}

TEST_CASE("Designs reject bad bounds and sizes with clear errors", "[emulate][design]") {
  CHECK_THROWS_AS(latin_hypercube(10, Bounds{{"a", 1.0, 1.0}}, 0), InvalidInput);
  CHECK_THROWS_AS(latin_hypercube(10, Bounds{{"a", 2.0, 1.0}}, 0), InvalidInput);
  CHECK_THROWS_AS(sobol(10, Bounds{{"a", 0.0, 1.0}, {"a", 0.0, 2.0}}, 0), InvalidInput);
  CHECK_THROWS_AS(sobol(10, Bounds{}, 0), InvalidInput);
  CHECK_THROWS_AS(sobol_unit(10, sobol_max_dimension() + 1), InvalidInput);
  CHECK_THROWS_AS(latin_hypercube_unit(0, 2), InvalidInput);
  try {
    latin_hypercube(10, Bounds{{"cv", 0.8, 0.4}}, 0);
    FAIL("no error");
  } catch (const InvalidInput& e) {
    CHECK(e.expected() == "lower < upper");
    CHECK(std::string(e.found()).find("'cv': (0.8, 0.4)") != std::string::npos);
  }
}
