#include "cardiotwin/emulate/design.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>

#include "cardiotwin/core/error.hpp"

namespace cardiotwin::emulate {

namespace {

// Primitive polynomials and initial direction numbers of Joe & Kuo (2008), file
// new-joe-kuo-6.21201, dimensions 2 ... 32: degree s, coefficient bits a, then m_1 ... m_s.
// Dimension 1 is the van der Corput sequence (all m = 1).
struct SobolPoly {
  int s;
  unsigned a;
  unsigned m[7];
};
constexpr SobolPoly kSobolPolys[] = {
    {1, 0, {1}},
    {2, 1, {1, 3}},
    {3, 1, {1, 3, 1}},
    {3, 2, {1, 1, 1}},
    {4, 1, {1, 1, 3, 3}},
    {4, 4, {1, 3, 5, 13}},
    {5, 2, {1, 1, 5, 5, 17}},
    {5, 4, {1, 1, 5, 5, 5}},
    {5, 7, {1, 1, 7, 11, 19}},
    {5, 11, {1, 1, 5, 1, 1}},
    {5, 13, {1, 1, 1, 3, 11}},
    {5, 14, {1, 3, 5, 5, 31}},
    {6, 1, {1, 3, 3, 9, 7, 49}},
    {6, 13, {1, 1, 1, 15, 21, 21}},
    {6, 16, {1, 3, 1, 13, 27, 49}},
    {6, 19, {1, 1, 1, 15, 7, 5}},
    {6, 22, {1, 3, 1, 15, 13, 25}},
    {6, 25, {1, 1, 5, 5, 19, 61}},
    {7, 1, {1, 3, 7, 11, 23, 15, 103}},
    {7, 4, {1, 3, 7, 13, 13, 15, 69}},
    {7, 7, {1, 1, 3, 13, 7, 35, 63}},
    {7, 8, {1, 3, 5, 9, 1, 25, 53}},
    {7, 14, {1, 3, 1, 13, 9, 35, 107}},
    {7, 19, {1, 3, 1, 5, 27, 61, 31}},
    {7, 21, {1, 1, 5, 11, 19, 41, 61}},
    {7, 28, {1, 3, 5, 3, 3, 13, 69}},
    {7, 31, {1, 1, 7, 13, 1, 19, 1}},
    {7, 32, {1, 3, 7, 5, 13, 19, 59}},
    {7, 37, {1, 1, 3, 9, 25, 29, 41}},
    {7, 41, {1, 3, 5, 13, 23, 1, 55}},
    {7, 42, {1, 3, 7, 3, 13, 59, 17}},
};
constexpr int kSobolBits = 32;
constexpr int kSobolMaxDim = 1 + static_cast<int>(sizeof(kSobolPolys) / sizeof(kSobolPolys[0]));

// Direction numbers v_1 ... v_32 of dimension `dim` (0-based), scaled by 2^32.
std::vector<std::uint32_t> direction_numbers(int dim) {
  std::vector<std::uint32_t> v(kSobolBits);
  if (dim == 0) {
    for (int k = 0; k < kSobolBits; ++k) v[static_cast<std::size_t>(k)] = 1u << (kSobolBits - 1 - k);
    return v;
  }
  const SobolPoly& p = kSobolPolys[dim - 1];
  const int s = p.s;
  for (int k = 0; k < std::min(s, kSobolBits); ++k)
    v[static_cast<std::size_t>(k)] = p.m[k] << (kSobolBits - 1 - k);
  // Recurrence: v_k = a_1 v_{k-1} ^ ... ^ a_{s-1} v_{k-s+1} ^ v_{k-s} ^ (v_{k-s} >> s).
  for (int k = s; k < kSobolBits; ++k) {
    std::uint32_t x = v[static_cast<std::size_t>(k - s)] ^ (v[static_cast<std::size_t>(k - s)] >> s);
    for (int i = 1; i < s; ++i)
      if ((p.a >> (s - 1 - i)) & 1u) x ^= v[static_cast<std::size_t>(k - i)];
    v[static_cast<std::size_t>(k)] = x;
  }
  return v;
}

int parity(std::uint32_t x) {
  x ^= x >> 16;
  x ^= x >> 8;
  x ^= x >> 4;
  x ^= x >> 2;
  x ^= x >> 1;
  return static_cast<int>(x & 1u);
}

// Left-multiply the digit vector of every direction number by a random lower-triangular binary
// matrix with unit diagonal: output digit k (bit 31 - k) is the parity of the input digits 0..k
// selected by row k. Digit 0 is the most significant.
void linear_matrix_scramble(std::vector<std::uint32_t>& v, Random& rng) {
  std::uint32_t rows[kSobolBits];
  for (int k = 0; k < kSobolBits; ++k) {
    const std::uint32_t keep_above = (k == kSobolBits - 1) ? 0xFFFFFFFFu : ~((1u << (kSobolBits - 1 - k)) - 1u);
    const std::uint32_t diag = 1u << (kSobolBits - 1 - k);
    rows[k] = ((static_cast<std::uint32_t>(rng.bits() >> 32)) & keep_above) | diag;
  }
  for (auto& x : v) {
    std::uint32_t y = 0;
    for (int k = 0; k < kSobolBits; ++k)
      if (parity(x & rows[k])) y |= 1u << (kSobolBits - 1 - k);
    x = y;
  }
}

std::string fmt_bound(const Parameter& p) {
  std::ostringstream s;
  s << "'" << p.name << "': (" << p.lower << ", " << p.upper << ")";
  return s.str();
}

}  // namespace

std::uint64_t Random::below(std::uint64_t n) {
  // Lemire's method would do; rejection keeps it simple and unbiased.
  const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % n;
  std::uint64_t x = bits();
  while (x >= limit) x = bits();
  return x % n;
}

void validate_bounds(const Bounds& bounds) {
  CARDIOTWIN_CHECK(!bounds.empty(), InvalidInput, "no parameters", "at least one named parameter with bounds",
                   "an empty list", Where({}, "bounds"));
  std::set<std::string> names;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    const auto& p = bounds[i];
    const Where w({}, "bounds", static_cast<std::int64_t>(i));
    CARDIOTWIN_CHECK(!p.name.empty(), InvalidInput, "parameter without a name", "a non-empty name", "''", w);
    CARDIOTWIN_CHECK(names.insert(p.name).second, InvalidInput, "repeated parameter name", "distinct names",
                     "'" << p.name << "' twice", w);
    CARDIOTWIN_CHECK(std::isfinite(p.lower) && std::isfinite(p.upper), InvalidInput, "non-finite parameter bound",
                     "finite lower and upper bounds", fmt_bound(p), w);
    CARDIOTWIN_CHECK(p.lower < p.upper, InvalidInput, "empty parameter range", "lower < upper", fmt_bound(p), w);
  }
}

Matrix latin_hypercube_unit(std::int64_t n, int d, std::uint64_t seed, int maximin_candidates) {
  CARDIOTWIN_CHECK(n >= 1, InvalidInput, "bad number of points", ">= 1", n, Where({}, "n"));
  CARDIOTWIN_CHECK(d >= 1, InvalidInput, "bad number of parameters", ">= 1", d, Where({}, "d"));
  CARDIOTWIN_CHECK(maximin_candidates >= 1, InvalidInput, "bad option", "maximin_candidates >= 1",
                   maximin_candidates, Where({}, "maximin_candidates"));
  Random rng(seed ^ 0x6C68735F64657369ULL);  // distinct stream from other users of the seed
  Matrix best;
  double best_dist = -1;
  std::vector<std::int64_t> perm(static_cast<std::size_t>(n));
  for (int c = 0; c < maximin_candidates; ++c) {
    Matrix x(n, d);
    for (int j = 0; j < d; ++j) {
      std::iota(perm.begin(), perm.end(), std::int64_t{0});
      for (std::int64_t i = n - 1; i > 0; --i)  // Fisher-Yates
        std::swap(perm[static_cast<std::size_t>(i)],
                  perm[static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(i + 1)))]);
      for (std::int64_t i = 0; i < n; ++i)
        x(i, j) = (static_cast<double>(perm[static_cast<std::size_t>(i)]) + rng.uniform()) / static_cast<double>(n);
    }
    if (maximin_candidates == 1) return x;
    const double dist = min_pairwise_distance(x);
    if (dist > best_dist) {
      best_dist = dist;
      best = std::move(x);
    }
  }
  return best;
}

int sobol_max_dimension() { return kSobolMaxDim; }

Matrix sobol_unit(std::int64_t n, int d, std::uint64_t seed, bool scramble, std::int64_t skip) {
  CARDIOTWIN_CHECK(n >= 1, InvalidInput, "bad number of points", ">= 1", n, Where({}, "n"));
  CARDIOTWIN_CHECK(d >= 1 && d <= kSobolMaxDim, InvalidInput, "unsupported Sobol dimension",
                   "1 ... " << kSobolMaxDim << " parameters", d, Where({}, "d"));
  CARDIOTWIN_CHECK(skip >= 0, InvalidInput, "bad skip", ">= 0", skip, Where({}, "skip"));
  CARDIOTWIN_CHECK(n + skip <= (std::int64_t{1} << kSobolBits), InvalidInput, "too many Sobol points",
                   "n + skip <= 2^" << kSobolBits, n + skip, Where({}, "n"));
  Random rng(seed ^ 0x736F626F6C736372ULL);
  Matrix x(n, d);
  for (int j = 0; j < d; ++j) {
    auto v = direction_numbers(j);
    std::uint32_t shift = 0;
    if (scramble) {
      linear_matrix_scramble(v, rng);
      shift = static_cast<std::uint32_t>(rng.bits() >> 32);
    }
    // Point i in Gray-code order is the XOR of v_k over the set bits k of gray(i) = i ^ (i >> 1).
    const auto gray = [](std::uint64_t i) { return i ^ (i >> 1); };
    std::uint32_t value = shift;
    const std::uint64_t g0 = gray(static_cast<std::uint64_t>(skip));
    for (int k = 0; k < kSobolBits; ++k)
      if ((g0 >> k) & 1u) value ^= v[static_cast<std::size_t>(k)];
    for (std::int64_t i = 0; i < n; ++i) {
      // Random fraction below the 32 digits would only matter for n > 2^32; a half-ulp offset of
      // the last digit keeps scrambled points off exact grid values.
      x(i, j) = (static_cast<double>(value) + (scramble ? 0.5 : 0.0)) * 0x1.0p-32;
      // Next point: flip the direction number of the lowest zero bit of the current index.
      std::uint64_t idx = static_cast<std::uint64_t>(skip + i);
      int c = 0;
      while (idx & 1u) {
        idx >>= 1;
        ++c;
      }
      if (c < kSobolBits) value ^= v[static_cast<std::size_t>(c)];
    }
  }
  return x;
}

Matrix scale_to_bounds(const Matrix& unit, const Bounds& bounds) {
  validate_bounds(bounds);
  CARDIOTWIN_CHECK(unit.cols() == static_cast<Eigen::Index>(bounds.size()), InvalidInput,
                   "design and bounds disagree", bounds.size() << " columns (one per parameter)",
                   unit.cols() << " columns", Where({}, "unit"));
  Matrix x(unit.rows(), unit.cols());
  for (Eigen::Index j = 0; j < unit.cols(); ++j) {
    const auto& p = bounds[static_cast<std::size_t>(j)];
    x.col(j) = (p.lower + (p.upper - p.lower) * unit.col(j).array()).matrix();
  }
  return x;
}

Matrix scale_to_unit(const Matrix& x, const Bounds& bounds) {
  validate_bounds(bounds);
  CARDIOTWIN_CHECK(x.cols() == static_cast<Eigen::Index>(bounds.size()), InvalidInput,
                   "points and bounds disagree", bounds.size() << " columns (one per parameter)",
                   x.cols() << " columns", Where({}, "x"));
  Matrix u(x.rows(), x.cols());
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    const auto& p = bounds[static_cast<std::size_t>(j)];
    u.col(j) = ((x.col(j).array() - p.lower) / (p.upper - p.lower)).matrix();
  }
  return u;
}

Matrix latin_hypercube(std::int64_t n, const Bounds& bounds, std::uint64_t seed, int maximin_candidates) {
  validate_bounds(bounds);
  return scale_to_bounds(latin_hypercube_unit(n, static_cast<int>(bounds.size()), seed, maximin_candidates), bounds);
}

Matrix sobol(std::int64_t n, const Bounds& bounds, std::uint64_t seed, bool scramble, std::int64_t skip) {
  validate_bounds(bounds);
  return scale_to_bounds(sobol_unit(n, static_cast<int>(bounds.size()), seed, scramble, skip), bounds);
}

double l2_star_discrepancy(const Matrix& u) {
  // Warnock (1972): D^2 = 3^-d - 2^(1-d)/n sum_i prod_k (1 - u_ik^2)
  //                       + 1/n^2 sum_i sum_j prod_k (1 - max(u_ik, u_jk)).
  const Eigen::Index n = u.rows(), d = u.cols();
  CARDIOTWIN_CHECK(n >= 1, InvalidInput, "no points", ">= 1 row", n, Where({}, "points"));
  double s1 = 0, s2 = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    double p = 1;
    for (Eigen::Index k = 0; k < d; ++k) p *= 1 - u(i, k) * u(i, k);
    s1 += p;
    for (Eigen::Index j = 0; j < n; ++j) {
      double q = 1;
      for (Eigen::Index k = 0; k < d; ++k) q *= 1 - std::max(u(i, k), u(j, k));
      s2 += q;
    }
  }
  const double nn = static_cast<double>(n), dd = static_cast<double>(d);
  const double d2 = std::pow(3.0, -dd) - std::pow(2.0, 1 - dd) / nn * s1 + s2 / (nn * nn);
  return std::sqrt(std::max(0.0, d2));
}

double min_pairwise_distance(const Matrix& x) {
  double best = std::numeric_limits<double>::infinity();
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    for (Eigen::Index j = i + 1; j < x.rows(); ++j) best = std::min(best, (x.row(i) - x.row(j)).squaredNorm());
  return std::sqrt(best);
}

}  // namespace cardiotwin::emulate
