/// @file design.hpp
/// @brief Designs of experiments: Latin hypercubes and Sobol sequences over named parameters.
///
/// A design is an `n x d` row-major matrix, one parameter set per row. The `_unit` functions work
/// on the unit cube [0, 1)^d; the others scale to the physical bounds of named parameters (the
/// units of each parameter are the caller's; e.g. conduction velocity in m/s, APD scaling 1).
///
/// - Latin hypercube (McKay, Beckman & Conover 1979): each of the n equal strata of every
///   parameter holds exactly one point; with `maximin_candidates > 1` the candidate with the
///   largest smallest pairwise distance is kept (Johnson, Moore & Ylvisaker 1990).
/// - Sobol sequence (Sobol' 1967) with the direction numbers of Joe & Kuo (2008,
///   "new-joe-kuo-6.21201"), points generated in Gray-code order (Antonov & Saleev 1979); up to
///   `sobol_max_dimension()` parameters. Optional scrambling: a random linear matrix scramble plus
///   a random digital shift (Matousek 1998), which keeps the net properties and makes the points
///   an unbiased randomised QMC design. Balance properties hold for n a power of two.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

namespace cardiotwin::emulate {

/// A design or a batch of parameter sets: `#points x #parameters`, row-major (numpy's layout).
using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// One named parameter with its range, in the parameter's own units.
struct Parameter {
  std::string name;
  double lower = 0;  ///< smallest value
  double upper = 1;  ///< largest value (> lower)
};
/// Named parameters, in the order of the design's columns.
using Bounds = std::vector<Parameter>;

/// Throws `InvalidInput` for an empty list, an empty or repeated name, a non-finite bound or
/// `lower >= upper` (naming the parameter).
void validate_bounds(const Bounds& bounds);

/// Latin hypercube of `n` points in [0, 1)^d, seeded (the same seed gives the same design on
/// every platform). With `maximin_candidates > 1`, that many hypercubes are drawn and the one
/// with the largest minimum pairwise distance is returned.
Matrix latin_hypercube_unit(std::int64_t n, int d, std::uint64_t seed = 0, int maximin_candidates = 1);

/// Largest dimension `sobol_unit` supports.
int sobol_max_dimension();

/// The first `n` points of the `d`-dimensional Sobol sequence after skipping `skip` points. The
/// unscrambled sequence starts with the origin; with `scramble`, each dimension gets a seeded
/// random linear matrix scramble and digital shift, so no point lies on the cube's faces
/// except by chance.
Matrix sobol_unit(std::int64_t n, int d, std::uint64_t seed = 0, bool scramble = true, std::int64_t skip = 0);

/// Map unit-cube points (`n x d`) to the bounds: x = lower + u (upper - lower).
Matrix scale_to_bounds(const Matrix& unit, const Bounds& bounds);
/// Map points in physical units to the unit cube (the inverse of `scale_to_bounds`).
Matrix scale_to_unit(const Matrix& x, const Bounds& bounds);

/// Latin hypercube of `n` points within `bounds` (see `latin_hypercube_unit`).
Matrix latin_hypercube(std::int64_t n, const Bounds& bounds, std::uint64_t seed = 0, int maximin_candidates = 1);
/// Sobol points within `bounds` (see `sobol_unit`).
Matrix sobol(std::int64_t n, const Bounds& bounds, std::uint64_t seed = 0, bool scramble = true,
             std::int64_t skip = 0);

/// L2-star discrepancy of points in [0, 1]^d (Warnock's formula; O(n^2 d)). Lower means more
/// uniform; a quality measure of a design.
double l2_star_discrepancy(const Matrix& unit);

/// Smallest Euclidean distance between two rows (infinity for fewer than two rows).
double min_pairwise_distance(const Matrix& points);

/// A small seeded pseudo-random generator (SplitMix64) with platform-independent uniform and
/// normal draws, used by the designs and the emulator's restarts.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  /// Next 64 random bits.
  std::uint64_t bits() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1), 53 random bits.
  double uniform() { return static_cast<double>(bits() >> 11) * 0x1.0p-53; }
  /// Uniform in [a, b).
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  /// Uniform integer in [0, n) (n > 0), without modulo bias.
  std::uint64_t below(std::uint64_t n);

 private:
  std::uint64_t state_;
};

}  // namespace cardiotwin::emulate
