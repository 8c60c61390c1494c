#include "cardiotwin/emulate/gp.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <fstream>
#include <limits>

#include "cardiotwin/core/atomic_file.hpp"
#include "cardiotwin/core/error.hpp"
#include "cardiotwin/core/json.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace cardiotwin::emulate {

namespace {

constexpr double kSqrt5 = 2.23606797749978969640;
constexpr double kLog2Pi = 1.83787706640934548356;
constexpr double kInf = std::numeric_limits<double>::infinity();

int team_size(int threads) {
#ifdef _OPENMP
  return threads > 0 ? threads : omp_get_max_threads();
#else
  (void)threads;
  return 1;
#endif
}

// Regression basis h(x): 1, or (1, x).
Eigen::MatrixXd mean_basis(MeanFunction mean, const Matrix& u) {
  const Eigen::Index p = mean == MeanFunction::Linear ? 1 + u.cols() : 1;
  Eigen::MatrixXd h(u.rows(), p);
  h.col(0).setOnes();
  if (mean == MeanFunction::Linear) h.rightCols(u.cols()) = u;
  return h;
}

double kernel_of_r2(Kernel kernel, double r2, double s2) {
  if (kernel == Kernel::SquaredExponential) return s2 * std::exp(-0.5 * r2);
  const double r = std::sqrt(r2);
  return s2 * (1 + kSqrt5 * r + (5.0 / 3.0) * r2) * std::exp(-kSqrt5 * r);
}

// Symmetric training kernel (noise-free), computed pair by pair so that it is exactly symmetric.
Eigen::MatrixXd training_kernel(Kernel kernel, const Matrix& u, const Eigen::VectorXd& inv_l2, double s2) {
  const Eigen::Index n = u.rows(), d = u.cols();
  Eigen::MatrixXd k(n, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    k(i, i) = s2;
    for (Eigen::Index j = i + 1; j < n; ++j) {
      double r2 = 0;
      for (Eigen::Index c = 0; c < d; ++c) {
        const double t = u(i, c) - u(j, c);
        r2 += t * t * inv_l2[c];
      }
      k(i, j) = k(j, i) = kernel_of_r2(kernel, r2, s2);
    }
  }
  return k;
}

// Inverse of a lower-triangular matrix, in place (only the lower triangle is read and written).
// Recursive blocking keeps the work in matrix products: n^3 / 3 flops, a third of solving for
// the identity.
void invert_lower(Eigen::Ref<Eigen::MatrixXd> l) {
  const Eigen::Index n = l.rows();
  if (n <= 32) {
    Eigen::MatrixXd id = Eigen::MatrixXd::Identity(n, n);
    l.triangularView<Eigen::Lower>().solveInPlace(id);
    l.triangularView<Eigen::Lower>() = id;
    return;
  }
  const Eigen::Index h = n / 2;
  invert_lower(l.topLeftCorner(h, h));
  invert_lower(l.bottomRightCorner(n - h, n - h));
  // [A 0; B C]^-1 = [A^-1 0; -C^-1 B A^-1  C^-1]
  const Eigen::MatrixXd t = l.bottomLeftCorner(n - h, h) * l.topLeftCorner(h, h).triangularView<Eigen::Lower>();
  l.bottomLeftCorner(n - h, h).noalias() = -(l.bottomRightCorner(n - h, n - h).triangularView<Eigen::Lower>() * t);
}

// L^-1 (lower triangle, zeros above) of a Cholesky factorisation.
Eigen::MatrixXd inverse_factor(const Eigen::LLT<Eigen::MatrixXd>& llt) {
  Eigen::MatrixXd l = llt.matrixL();
  invert_lower(l);
  return l;
}

struct Box {
  Eigen::VectorXd lo, hi;
};

Box parameter_box(const GaussianProcessOptions& o, Eigen::Index d) {
  const Eigen::Index np = d + 1 + (o.fit_noise ? 1 : 0);
  Box b{Eigen::VectorXd(np), Eigen::VectorXd(np)};
  b.lo.head(d).setConstant(std::log(o.min_lengthscale));
  b.hi.head(d).setConstant(std::log(o.max_lengthscale));
  b.lo[d] = std::log(o.min_signal_variance);
  b.hi[d] = std::log(o.max_signal_variance);
  if (o.fit_noise) {
    b.lo[d + 1] = std::log(o.min_noise_variance);
    b.hi[d + 1] = std::log(o.max_noise_variance);
  }
  return b;
}

// Negative log marginal likelihood plus a quadratic penalty outside the box (log space).
struct Objective {
  const Matrix& u;
  const Eigen::VectorXd& y;
  const GaussianProcessOptions& o;
  Box box;
  double weight;
  double operator()(const Eigen::VectorXd& p, Eigen::VectorXd& g) const {
    const double lml = gp_log_marginal_likelihood(u, y, o, p, &g);
    if (!std::isfinite(lml)) return kInf;
    double f = -lml;
    g = -g;
    for (Eigen::Index i = 0; i < p.size(); ++i) {
      const double below = box.lo[i] - p[i], above = p[i] - box.hi[i];
      if (below > 0) {
        f += 0.5 * weight * below * below;
        g[i] -= weight * below;
      } else if (above > 0) {
        f += 0.5 * weight * above * above;
        g[i] += weight * above;
      }
    }
    return f;
  }
};

// Limited-memory BFGS with a backtracking (Armijo) line search; returns the best objective.
double minimise_lbfgs(const Objective& fun, Eigen::VectorXd& x, int max_iterations, double tolerance) {
  constexpr int kMemory = 8;
  constexpr double kMaxStep = 2.0;  // largest change of any log parameter per iteration
  Eigen::VectorXd g(x.size()), g_new(x.size());
  double f = fun(x, g);
  if (!std::isfinite(f)) return kInf;
  std::vector<Eigen::VectorXd> s_hist, y_hist;
  std::vector<double> rho;
  int small_steps = 0;
  for (int it = 0; it < max_iterations; ++it) {
    // Two-loop recursion for d = -H g.
    Eigen::VectorXd q = g;
    std::vector<double> a(s_hist.size());
    for (std::size_t i = s_hist.size(); i-- > 0;) {
      a[i] = rho[i] * s_hist[i].dot(q);
      q -= a[i] * y_hist[i];
    }
    if (!s_hist.empty()) q *= s_hist.back().dot(y_hist.back()) / y_hist.back().squaredNorm();
    for (std::size_t i = 0; i < s_hist.size(); ++i) {
      const double b = rho[i] * y_hist[i].dot(q);
      q += (a[i] - b) * s_hist[i];
    }
    Eigen::VectorXd d = -q;
    if (!(d.dot(g) < 0)) {  // not a descent direction: restart from steepest descent
      s_hist.clear();
      y_hist.clear();
      rho.clear();
      d = -g;
    }
    const double dmax = d.cwiseAbs().maxCoeff();
    if (!(dmax > 0)) break;
    if (dmax > kMaxStep) d *= kMaxStep / dmax;
    const double slope = d.dot(g);
    double step = 1;
    Eigen::VectorXd x_new;
    double f_new = kInf;
    bool accepted = false;
    for (int ls = 0; ls < 40; ++ls) {
      x_new = x + step * d;
      f_new = fun(x_new, g_new);
      if (std::isfinite(f_new) && f_new <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) {
      if (s_hist.empty()) break;  // even steepest descent fails: at a (numerical) optimum
      s_hist.clear();
      y_hist.clear();
      rho.clear();
      continue;
    }
    const Eigen::VectorXd s = x_new - x, yv = g_new - g;
    const double sy = s.dot(yv);
    if (sy > 1e-12 * s.norm() * yv.norm()) {
      if (static_cast<int>(s_hist.size()) == kMemory) {
        s_hist.erase(s_hist.begin());
        y_hist.erase(y_hist.begin());
        rho.erase(rho.begin());
      }
      s_hist.push_back(s);
      y_hist.push_back(yv);
      rho.push_back(1 / sy);
    }
    const double change = f - f_new;
    x = x_new;
    g = g_new;
    f = f_new;
    if (g.cwiseAbs().maxCoeff() < 1e-6) break;
    small_steps = change < tolerance * (1 + std::abs(f)) ? small_steps + 1 : 0;
    if (small_steps >= 2) break;
  }
  return f;
}

std::vector<double> to_vector(const Eigen::VectorXd& v) { return {v.data(), v.data() + v.size()}; }

[[noreturn]] void bad_file(const std::string& file, const std::string& what, const std::string& expected,
                           const std::string& found, const std::string& field = {}) {
  throw FileFormatError(what, expected, found, Where(file, field));
}

}  // namespace

// ---- names and options ------------------------------------------------------------------------

Kernel kernel_from_string(const std::string& name) {
  if (name == "squared_exponential" || name == "se" || name == "rbf" || name == "sqexp")
    return Kernel::SquaredExponential;
  if (name == "matern52" || name == "matern") return Kernel::Matern52;
  throw InvalidInput("unknown kernel", "'squared_exponential' or 'matern52'", "'" + name + "'", Where({}, "kernel"));
}
std::string to_string(Kernel k) { return k == Kernel::SquaredExponential ? "squared_exponential" : "matern52"; }

MeanFunction mean_from_string(const std::string& name) {
  if (name == "constant") return MeanFunction::Constant;
  if (name == "linear") return MeanFunction::Linear;
  throw InvalidInput("unknown mean function", "'constant' or 'linear'", "'" + name + "'", Where({}, "mean"));
}
std::string to_string(MeanFunction m) { return m == MeanFunction::Constant ? "constant" : "linear"; }

nlohmann::json GaussianProcessOptions::to_json() const {
  return {{"version", kVersion},
          {"kernel", to_string(kernel)},
          {"mean", to_string(mean)},
          {"fit_noise", fit_noise},
          {"noise_variance", noise_variance},
          {"min_noise_variance", min_noise_variance},
          {"max_noise_variance", max_noise_variance},
          {"min_lengthscale", min_lengthscale},
          {"max_lengthscale", max_lengthscale},
          {"min_signal_variance", min_signal_variance},
          {"max_signal_variance", max_signal_variance},
          {"restarts", restarts},
          {"max_iterations", max_iterations},
          {"tolerance", tolerance},
          {"seed", seed},
          {"threads", threads}};
}

GaussianProcessOptions GaussianProcessOptions::from_json(const nlohmann::json& j) {
  GaussianProcessOptions o;
  JsonReader r(j, "gaussian_process");
  int version = kVersion;
  r.get("version", version);
  CARDIOTWIN_CHECK(version == kVersion, InvalidInput, "unsupported options version", kVersion, version,
                   Where({}, "gaussian_process.version"));
  std::string kernel = to_string(o.kernel), mean = to_string(o.mean);
  r.get("kernel", kernel);
  r.get("mean", mean);
  o.kernel = kernel_from_string(kernel);
  o.mean = mean_from_string(mean);
  r.get("fit_noise", o.fit_noise);
  r.get("noise_variance", o.noise_variance);
  r.get("min_noise_variance", o.min_noise_variance);
  r.get("max_noise_variance", o.max_noise_variance);
  r.get("min_lengthscale", o.min_lengthscale);
  r.get("max_lengthscale", o.max_lengthscale);
  r.get("min_signal_variance", o.min_signal_variance);
  r.get("max_signal_variance", o.max_signal_variance);
  r.get("restarts", o.restarts);
  r.get("max_iterations", o.max_iterations);
  r.get("tolerance", o.tolerance);
  r.get("seed", o.seed);
  r.get("threads", o.threads);
  r.finish();
  o.validate();
  return o;
}

void GaussianProcessOptions::validate() const {
  const auto range_ok = [](double lo, double hi) { return std::isfinite(lo) && std::isfinite(hi) && lo > 0 && lo < hi; };
  CARDIOTWIN_CHECK(range_ok(min_noise_variance, max_noise_variance), InvalidInput, "bad noise variance bounds",
                   "0 < min_noise_variance < max_noise_variance", min_noise_variance << ", " << max_noise_variance,
                   Where({}, "min_noise_variance"));
  CARDIOTWIN_CHECK(std::isfinite(noise_variance) && noise_variance >= 0, InvalidInput, "bad option",
                   "noise_variance >= 0", noise_variance, Where({}, "noise_variance"));
  CARDIOTWIN_CHECK(range_ok(min_lengthscale, max_lengthscale), InvalidInput, "bad length-scale bounds",
                   "0 < min_lengthscale < max_lengthscale", min_lengthscale << ", " << max_lengthscale,
                   Where({}, "min_lengthscale"));
  CARDIOTWIN_CHECK(range_ok(min_signal_variance, max_signal_variance), InvalidInput, "bad signal variance bounds",
                   "0 < min_signal_variance < max_signal_variance", min_signal_variance << ", " << max_signal_variance,
                   Where({}, "min_signal_variance"));
  CARDIOTWIN_CHECK(restarts >= 0 && max_iterations >= 0 && threads >= 0, InvalidInput, "bad option",
                   "restarts >= 0, max_iterations >= 0, threads >= 0",
                   restarts << ", " << max_iterations << ", " << threads, Where({}, "gaussian_process"));
  CARDIOTWIN_CHECK(tolerance > 0, InvalidInput, "bad option", "tolerance > 0", tolerance, Where({}, "tolerance"));
}

// ---- kernels and likelihood --------------------------------------------------------------------

Eigen::MatrixXd gp_kernel_matrix(Kernel kernel, const Matrix& a, const Matrix& b, const Eigen::VectorXd& lengthscales,
                                 double signal_variance) {
  CARDIOTWIN_CHECK(a.cols() == b.cols() && a.cols() == lengthscales.size(), InvalidInput,
                   "kernel inputs disagree", lengthscales.size() << " columns", a.cols() << " and " << b.cols(),
                   Where({}, "kernel"));
  const Eigen::RowVectorXd inv_l = lengthscales.cwiseInverse().transpose();
  const Eigen::MatrixXd as = a.array().rowwise() * inv_l.array();
  const Eigen::MatrixXd bs = b.array().rowwise() * inv_l.array();
  Eigen::MatrixXd r2 = -2.0 * as * bs.transpose();
  r2.colwise() += as.rowwise().squaredNorm();
  r2.rowwise() += bs.rowwise().squaredNorm().transpose();
  if (kernel == Kernel::SquaredExponential)
    return signal_variance * (-0.5 * r2.array().max(0.0)).exp().matrix();
  const Eigen::ArrayXXd r = r2.array().max(0.0).sqrt();
  return (signal_variance * (1 + kSqrt5 * r + (5.0 / 3.0) * r.square()) * (-kSqrt5 * r).exp()).matrix();
}

double gp_log_marginal_likelihood(const Matrix& u, const Eigen::VectorXd& y, const GaussianProcessOptions& o,
                                  const Eigen::VectorXd& p, Eigen::VectorXd* gradient) {
  const Eigen::Index n = u.rows(), d = u.cols();
  const Eigen::Index np = d + 1 + (o.fit_noise ? 1 : 0);
  CARDIOTWIN_CHECK(p.size() == np && y.size() == n, InvalidInput, "hyperparameters disagree with the data",
                   np << " log parameters and " << n << " outputs", p.size() << " and " << y.size(),
                   Where({}, "log_params"));
  if (!p.allFinite()) return -kInf;
  const Eigen::VectorXd inv_l2 = (-2.0 * p.head(d)).array().exp();
  const double s2 = std::exp(p[d]);
  const double noise = o.fit_noise ? std::exp(p[d + 1]) : o.noise_variance;
  const Eigen::MatrixXd kf = training_kernel(o.kernel, u, inv_l2, s2);
  Eigen::MatrixXd k = kf;
  k.diagonal().array() += noise;
  const Eigen::LLT<Eigen::MatrixXd> llt(k);
  if (llt.info() != Eigen::Success) return -kInf;
  const Eigen::MatrixXd h = mean_basis(o.mean, u);
  const Eigen::MatrixXd kinv_h = llt.solve(h);
  const Eigen::LLT<Eigen::MatrixXd> hkh(h.transpose() * kinv_h);
  if (hkh.info() != Eigen::Success) return -kInf;
  const Eigen::VectorXd beta = hkh.solve(kinv_h.transpose() * y);
  const Eigen::VectorXd r = y - h * beta;
  const Eigen::VectorXd alpha = llt.solve(r);
  const double logdet = 2 * llt.matrixLLT().diagonal().array().log().sum();
  const double lml = -0.5 * r.dot(alpha) - 0.5 * logdet - 0.5 * static_cast<double>(n) * kLog2Pi;
  if (!std::isfinite(lml)) return -kInf;
  if (gradient) {
    gradient->setZero(np);
    // W = alpha alpha^T - K^-1; dL/dtheta = 1/2 sum_ij W_ij dK_ij/dtheta. K^-1 = L^-T L^-1, lower
    // triangle only (symmetric rank-k update).
    const Eigen::MatrixXd linv = inverse_factor(llt);
    Eigen::MatrixXd kinv = Eigen::MatrixXd::Zero(n, n);
    kinv.selfadjointView<Eigen::Lower>().rankUpdate(linv.transpose());
    const auto w = [&](Eigen::Index i, Eigen::Index j) { return alpha[i] * alpha[j] - kinv(j, i); };  // j >= i
    // dK/dlog l_c = g(r) * (x_c - x'_c)^2 / l_c^2 with g = k (SE) or s2 5/3 (1 + sqrt5 r) e^{-sqrt5 r} (Matern).
    Eigen::VectorXd gl = Eigen::VectorXd::Zero(d);
    double gs = 0;
    for (Eigen::Index i = 0; i < n; ++i) {
      gs += w(i, i) * kf(i, i);
      for (Eigen::Index j = i + 1; j < n; ++j) {
        const double wk = w(i, j);
        gs += 2 * wk * kf(j, i);
        double gfac;
        if (o.kernel == Kernel::SquaredExponential) {
          gfac = kf(j, i);
        } else {
          double r2 = 0;
          for (Eigen::Index c = 0; c < d; ++c) {
            const double t = u(i, c) - u(j, c);
            r2 += t * t * inv_l2[c];
          }
          const double rr = std::sqrt(r2);
          gfac = s2 * (5.0 / 3.0) * (1 + kSqrt5 * rr) * std::exp(-kSqrt5 * rr);
        }
        const double f = 2 * wk * gfac;  // (i, j) and (j, i)
        for (Eigen::Index c = 0; c < d; ++c) {
          const double t = u(i, c) - u(j, c);
          gl[c] += f * t * t * inv_l2[c];
        }
      }
    }
    gradient->head(d) = 0.5 * gl;
    (*gradient)[d] = 0.5 * gs;
    if (o.fit_noise) (*gradient)[d + 1] = 0.5 * noise * (alpha.squaredNorm() - kinv.diagonal().sum());
  }
  return lml;
}

// ---- GaussianProcess ---------------------------------------------------------------------------

GaussianProcess::GaussianProcess(GaussianProcessOptions options) : options_(std::move(options)) {
  options_.validate();
}

GaussianProcess& GaussianProcess::fit(const Matrix& x, const Matrix& y, std::vector<std::string> input_names,
                                      std::vector<std::string> output_names) {
  const Eigen::Index n = x.rows(), d = x.cols(), k = y.cols();
  CARDIOTWIN_CHECK(d >= 1 && k >= 1, InvalidInput, "empty training data", "x with >= 1 column and y with >= 1 column",
                   "x " << n << " x " << d << ", y " << y.rows() << " x " << k, Where({}, "x"));
  CARDIOTWIN_CHECK(y.rows() == n, InvalidInput, "training inputs and outputs disagree",
                   "as many rows of y as of x (" << n << ")", y.rows() << " rows", Where({}, "y"));
  CARDIOTWIN_CHECK(n >= d + 1, InvalidInput, "too few training points", ">= #inputs + 1 = " << d + 1 << " rows",
                   n << " rows", Where({}, "x"));
  for (Eigen::Index i = 0; i < n; ++i) {
    CARDIOTWIN_CHECK(x.row(i).allFinite(), InvalidInput, "non-finite training input", "finite numbers",
                     "NaN or infinity in row " << i, Where({}, "x", i));
    CARDIOTWIN_CHECK(y.row(i).allFinite(), InvalidInput, "non-finite training output",
                     "finite numbers (drop failed runs first)", "NaN or infinity in row " << i, Where({}, "y", i));
  }
  if (input_names.empty())
    for (Eigen::Index c = 0; c < d; ++c) input_names.push_back("x" + std::to_string(c));
  if (output_names.empty())
    for (Eigen::Index c = 0; c < k; ++c) output_names.push_back("y" + std::to_string(c));
  CARDIOTWIN_CHECK(static_cast<Eigen::Index>(input_names.size()) == d, InvalidInput, "wrong number of input names",
                   d << " (one per column of x)", input_names.size(), Where({}, "input_names"));
  CARDIOTWIN_CHECK(static_cast<Eigen::Index>(output_names.size()) == k, InvalidInput, "wrong number of output names",
                   k << " (one per column of y)", output_names.size(), Where({}, "output_names"));

  Eigen::VectorXd lower = x.colwise().minCoeff().transpose();
  Eigen::VectorXd scale = x.colwise().maxCoeff().transpose() - lower;
  for (Eigen::Index c = 0; c < d; ++c)
    CARDIOTWIN_CHECK(scale[c] > 0, InvalidInput, "constant training input", "at least two distinct values",
                     "every row has " << input_names[static_cast<std::size_t>(c)] << " = " << lower[c],
                     Where({}, input_names[static_cast<std::size_t>(c)], c));
  input_names_ = std::move(input_names);
  output_names_ = std::move(output_names);
  x_lower_ = lower;
  x_scale_ = scale;
  x_unit_ = to_unit(x);

  std::vector<Output> outs(static_cast<std::size_t>(k));
  for (Eigen::Index c = 0; c < k; ++c) {
    auto& o = outs[static_cast<std::size_t>(c)];
    o.y_mean = y.col(c).mean();
    const double var = n > 1 ? (y.col(c).array() - o.y_mean).square().sum() / static_cast<double>(n - 1) : 0;
    o.y_scale = var > 0 && std::isfinite(var) ? std::sqrt(var) : 1.0;
    o.y = (y.col(c).array() - o.y_mean) / o.y_scale;
  }

  // One task per (output, start): start 0 is the default, the others are seeded random.
  const int starts = options_.restarts + 1;
  const Eigen::Index np = d + 1 + (options_.fit_noise ? 1 : 0);
  const std::int64_t tasks = static_cast<std::int64_t>(k) * starts;
  std::vector<double> best_f(static_cast<std::size_t>(tasks), kInf);
  std::vector<Eigen::VectorXd> best_p(static_cast<std::size_t>(tasks));
  std::exception_ptr error;
  const int threads = options_.threads;
#pragma omp parallel for schedule(dynamic) num_threads(team_size(threads)) if (tasks > 1)
  for (std::int64_t t = 0; t < tasks; ++t) {
    try {
      const auto c = static_cast<std::size_t>(t / starts);
      const auto s = static_cast<int>(t % starts);
      Eigen::VectorXd p(np);
      const double noise0 = std::clamp(options_.noise_variance, options_.min_noise_variance, options_.max_noise_variance);
      if (s == 0) {
        p.head(d).setConstant(std::log(std::clamp(0.5, options_.min_lengthscale, options_.max_lengthscale)));
        p[d] = 0;
        if (options_.fit_noise) p[d + 1] = std::log(noise0);
      } else {
        Random rng(options_.seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(t) * 0xD1B54A32D192ED03ULL + 1);
        for (Eigen::Index c2 = 0; c2 < d; ++c2) p[c2] = rng.uniform(std::log(0.05), std::log(2.0));
        p[d] = rng.uniform(std::log(0.3), std::log(3.0));
        if (options_.fit_noise)
          p[d + 1] = rng.uniform(std::log(std::max(options_.min_noise_variance, 1e-7)), std::log(1e-1));
      }
      const Objective fun{x_unit_, outs[c].y, options_, parameter_box(options_, d), 100.0 + static_cast<double>(n)};
      const double f = minimise_lbfgs(fun, p, options_.max_iterations, options_.tolerance);
      best_f[static_cast<std::size_t>(t)] = f;
      best_p[static_cast<std::size_t>(t)] = p;
    } catch (...) {
#pragma omp critical(cardiotwin_emulate_fit_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);

  const Box box = parameter_box(options_, d);
  for (Eigen::Index c = 0; c < k; ++c) {
    std::int64_t best = -1;
    for (int s = 0; s < starts; ++s) {
      const std::int64_t t = c * starts + s;
      if (std::isfinite(best_f[static_cast<std::size_t>(t)]) &&
          (best < 0 || best_f[static_cast<std::size_t>(t)] < best_f[static_cast<std::size_t>(best)]))
        best = t;
    }
    CARDIOTWIN_CHECK(best >= 0, SolverDiverged, "Gaussian-process fit failed",
                     "a positive definite covariance matrix for some hyperparameters",
                     "none at any of " << starts << " starts (duplicate inputs with noise fixed at 0?)",
                     Where({}, output_names_[static_cast<std::size_t>(c)], c));
    const Eigen::VectorXd p = best_p[static_cast<std::size_t>(best)].cwiseMax(box.lo).cwiseMin(box.hi);
    auto& o = outs[static_cast<std::size_t>(c)];
    o.hyper.lengthscales = p.head(d).array().exp();
    o.hyper.signal_variance = std::exp(p[d]);
    o.hyper.noise_variance = options_.fit_noise ? std::exp(p[d + 1]) : options_.noise_variance;
    o.hyper.log_marginal_likelihood = gp_log_marginal_likelihood(x_unit_, o.y, options_, p);
  }
  for (auto& o : outs) factorise(o);
  outputs_ = std::move(outs);
  return *this;
}

void GaussianProcess::factorise(Output& out) const {
  const auto& hp = out.hyper;
  const Eigen::VectorXd inv_l2 = hp.lengthscales.array().square().inverse();
  Eigen::MatrixXd k = training_kernel(options_.kernel, x_unit_, inv_l2, hp.signal_variance);
  k.diagonal().array() += hp.noise_variance;
  const double scale = hp.signal_variance + hp.noise_variance;
  double jitter = 0;
  out.llt.compute(k);
  while (out.llt.info() != Eigen::Success) {
    jitter = jitter == 0 ? 1e-10 * scale : jitter * 10;
    CARDIOTWIN_CHECK(jitter <= 1e-2 * scale, SolverDiverged, "covariance matrix is not positive definite",
                     "a Cholesky factorisation with jitter <= 1e-2 x (signal + noise variance)",
                     "failure with jitter " << jitter / 10 << " (duplicate training inputs? raise min_noise_variance)",
                     Where({}, "K"));
    Eigen::MatrixXd kj = k;
    kj.diagonal().array() += jitter;
    out.llt.compute(kj);
  }
  out.hyper.jitter = jitter;
  out.linv = inverse_factor(out.llt);
  out.xs = x_unit_.array().rowwise() * hp.lengthscales.cwiseInverse().transpose().array();
  out.xs_norm2 = out.xs.rowwise().squaredNorm();
  const Eigen::MatrixXd h = mean_basis(options_.mean, x_unit_);
  out.kinv_h = out.llt.solve(h);
  out.hkh.compute(h.transpose() * out.kinv_h);
  CARDIOTWIN_CHECK(out.hkh.info() == Eigen::Success, SolverDiverged, "mean-function regression is singular",
                   "training inputs that determine the " << to_string(options_.mean) << " mean",
                   "a singular H^T K^-1 H (" << h.cols() << " x " << h.cols() << ")", Where({}, "mean"));
  out.beta = out.hkh.solve(out.kinv_h.transpose() * out.y);
  out.alpha = out.llt.solve(out.y - h * out.beta);
}

Matrix GaussianProcess::to_unit(const Matrix& x) const {
  Matrix u(x.rows(), x.cols());
  for (Eigen::Index c = 0; c < x.cols(); ++c) u.col(c) = (x.col(c).array() - x_lower_[c]) / x_scale_[c];
  return u;
}

void GaussianProcess::predict_output(const Matrix& u, const Output& out, bool variance, double* mean, double* var,
                                     Eigen::Index stride) const {
  const Eigen::Index m = u.rows();
  const auto& hp = out.hyper;
  // Cross kernel with the training inputs pre-scaled by the length scales (factorise()).
  const Eigen::RowVectorXd inv_l = hp.lengthscales.cwiseInverse().transpose();
  const Eigen::MatrixXd us = u.array().rowwise() * inv_l.array();
  Eigen::MatrixXd r2 = -2.0 * us * out.xs.transpose();
  r2.colwise() += us.rowwise().squaredNorm();
  r2.rowwise() += out.xs_norm2.transpose();
  Eigen::MatrixXd ks(m, x_unit_.rows());
  if (options_.kernel == Kernel::SquaredExponential) {
    ks = hp.signal_variance * (-0.5 * r2.array().max(0.0)).exp();
  } else {
    const Eigen::ArrayXXd r = r2.array().max(0.0).sqrt();
    ks = hp.signal_variance * (1 + kSqrt5 * r + (5.0 / 3.0) * r.square()) * (-kSqrt5 * r).exp();
  }
  const Eigen::MatrixXd hs = mean_basis(options_.mean, u);
  const Eigen::VectorXd mu = hs * out.beta + ks * out.alpha;
  for (Eigen::Index i = 0; i < m; ++i) mean[i * stride] = out.y_mean + out.y_scale * mu[i];
  if (!variance) return;
  // Latent variance plus the uncertainty of beta: s2 - v^T v + z^T z,
  // v = L^-1 k*, z = L_A^-1 (h* - H^T K^-1 k*), A = H^T K^-1 H.
  Eigen::MatrixXd v(x_unit_.rows(), m);
  if (m <= 8) {  // a few points: triangular matrix-vector products read half of L^-1 once each
    for (Eigen::Index i = 0; i < m; ++i)
      v.col(i).noalias() = out.linv.triangularView<Eigen::Lower>() * ks.row(i).transpose();
  } else {
    v.noalias() = out.linv.triangularView<Eigen::Lower>() * ks.transpose();
  }
  Eigen::MatrixXd rr = hs.transpose() - out.kinv_h.transpose() * ks.transpose();
  const Eigen::MatrixXd z = out.hkh.matrixL().solve(rr);
  const Eigen::VectorXd vv = v.colwise().squaredNorm().transpose();
  const Eigen::VectorXd zz = z.colwise().squaredNorm().transpose();
  const double y2 = out.y_scale * out.y_scale;
  for (Eigen::Index i = 0; i < m; ++i) var[i * stride] = y2 * std::max(0.0, hp.signal_variance - vv[i] + zz[i]);
}

Prediction GaussianProcess::predict(const Matrix& x) const {
  CARDIOTWIN_CHECK(fitted(), InvalidInput, "emulator not fitted", "fit() or load() first", "an empty emulator",
                   Where({}, "GaussianProcess"));
  CARDIOTWIN_CHECK(x.cols() == num_inputs(), InvalidInput, "wrong number of inputs",
                   num_inputs() << " columns (" << input_names_.size() << " parameters)", x.cols() << " columns",
                   Where({}, "x"));
  const Matrix u = to_unit(x);
  const Eigen::Index m = x.rows();
  const int k = num_outputs();
  Prediction p{Matrix(m, k), Matrix(m, k)};
  if (m == 0) return p;
  const int threads = options_.threads;
  const bool parallel = k > 1 && m * x_unit_.rows() > 20000;
#pragma omp parallel for schedule(static) num_threads(team_size(threads)) if (parallel)
  for (int c = 0; c < k; ++c)
    predict_output(u, outputs_[static_cast<std::size_t>(c)], true, p.mean.data() + c, p.variance.data() + c, k);
  return p;
}

Matrix GaussianProcess::predict_mean(const Matrix& x) const {
  CARDIOTWIN_CHECK(fitted(), InvalidInput, "emulator not fitted", "fit() or load() first", "an empty emulator",
                   Where({}, "GaussianProcess"));
  CARDIOTWIN_CHECK(x.cols() == num_inputs(), InvalidInput, "wrong number of inputs", num_inputs() << " columns",
                   x.cols() << " columns", Where({}, "x"));
  const Matrix u = to_unit(x);
  const int k = num_outputs();
  Matrix mean(x.rows(), k);
  if (x.rows() == 0) return mean;
  for (int c = 0; c < k; ++c)
    predict_output(u, outputs_[static_cast<std::size_t>(c)], false, mean.data() + c, nullptr, k);
  return mean;
}

const GpHyperparameters& GaussianProcess::hyperparameters(int k) const {
  CARDIOTWIN_CHECK(k >= 0 && k < num_outputs(), InvalidInput, "output index out of range",
                   "0 ... " << num_outputs() - 1, k, Where({}, "output"));
  return outputs_[static_cast<std::size_t>(k)].hyper;
}

Eigen::VectorXd GaussianProcess::lengthscales(int k) const {
  return hyperparameters(k).lengthscales.cwiseProduct(x_scale_);
}

Eigen::VectorXd GaussianProcess::noise_variance() const {
  Eigen::VectorXd v(num_outputs());
  for (int c = 0; c < num_outputs(); ++c) {
    const auto& o = outputs_[static_cast<std::size_t>(c)];
    v[c] = o.hyper.noise_variance * o.y_scale * o.y_scale;
  }
  return v;
}

Matrix GaussianProcess::training_inputs() const {
  Matrix x(x_unit_.rows(), x_unit_.cols());
  for (Eigen::Index c = 0; c < x.cols(); ++c) x.col(c) = x_lower_[c] + x_scale_[c] * x_unit_.col(c).array();
  return x;
}

Matrix GaussianProcess::training_outputs() const {
  Matrix y(x_unit_.rows(), num_outputs());
  for (int c = 0; c < num_outputs(); ++c) {
    const auto& o = outputs_[static_cast<std::size_t>(c)];
    y.col(c) = o.y_mean + o.y_scale * o.y.array();
  }
  return y;
}

// ---- files -------------------------------------------------------------------------------------

nlohmann::json GaussianProcess::to_json() const {
  CARDIOTWIN_CHECK(fitted(), InvalidInput, "emulator not fitted", "fit() or load() first", "an empty emulator",
                   Where({}, "GaussianProcess"));
  nlohmann::json xs = nlohmann::json::array();
  for (Eigen::Index i = 0; i < x_unit_.rows(); ++i) {
    const Eigen::VectorXd row = x_unit_.row(i).transpose();
    xs.push_back(to_vector(row));
  }
  nlohmann::json outs = nlohmann::json::array();
  for (const auto& o : outputs_)
    outs.push_back({{"y_mean", o.y_mean},
                    {"y_scale", o.y_scale},
                    {"lengthscales", to_vector(o.hyper.lengthscales)},
                    {"signal_variance", o.hyper.signal_variance},
                    {"noise_variance", o.hyper.noise_variance},
                    {"log_marginal_likelihood", o.hyper.log_marginal_likelihood},
                    {"y", to_vector(o.y)}});
  return {{"format", kFormatName},
          {"version", kFormatVersion},
          {"options", options_.to_json()},
          {"input_names", input_names_},
          {"output_names", output_names_},
          {"x_lower", to_vector(x_lower_)},
          {"x_scale", to_vector(x_scale_)},
          {"x_unit", xs},
          {"outputs", outs}};
}

GaussianProcess GaussianProcess::from_json(const nlohmann::json& j, const std::string& file) {
  if (!j.is_object() || !j.contains("format") || j["format"] != kFormatName)
    bad_file(file, "not a cardiotwin Gaussian-process emulator", std::string("\"format\": \"") + kFormatName + "\"",
             j.is_object() && j.contains("format") ? j["format"].dump() : "no format field", "format");
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int>() != kFormatVersion)
    bad_file(file, "unsupported emulator file version", std::to_string(kFormatVersion),
             j.contains("version") ? j["version"].dump() : "none", "version");
  GaussianProcess gp;
  try {
    gp.options_ = GaussianProcessOptions::from_json(j.at("options"));
    gp.input_names_ = j.at("input_names").get<std::vector<std::string>>();
    gp.output_names_ = j.at("output_names").get<std::vector<std::string>>();
    const auto lower = j.at("x_lower").get<std::vector<double>>();
    const auto scale = j.at("x_scale").get<std::vector<double>>();
    const auto xs = j.at("x_unit").get<std::vector<std::vector<double>>>();
    const auto d = static_cast<Eigen::Index>(gp.input_names_.size());
    const auto n = static_cast<Eigen::Index>(xs.size());
    if (d < 1 || static_cast<Eigen::Index>(lower.size()) != d || static_cast<Eigen::Index>(scale.size()) != d)
      bad_file(file, "inconsistent emulator file", std::to_string(d) + " input names, x_lower and x_scale",
               std::to_string(lower.size()) + " x_lower, " + std::to_string(scale.size()) + " x_scale", "x_lower");
    if (n < d + 1) bad_file(file, "inconsistent emulator file", ">= #inputs + 1 training points", std::to_string(n), "x_unit");
    gp.x_lower_ = Eigen::Map<const Eigen::VectorXd>(lower.data(), d);
    gp.x_scale_ = Eigen::Map<const Eigen::VectorXd>(scale.data(), d);
    gp.x_unit_.resize(n, d);
    for (Eigen::Index i = 0; i < n; ++i) {
      if (static_cast<Eigen::Index>(xs[static_cast<std::size_t>(i)].size()) != d)
        bad_file(file, "inconsistent emulator file", std::to_string(d) + " values per row",
                 std::to_string(xs[static_cast<std::size_t>(i)].size()), "x_unit[" + std::to_string(i) + "]");
      for (Eigen::Index c = 0; c < d; ++c) gp.x_unit_(i, c) = xs[static_cast<std::size_t>(i)][static_cast<std::size_t>(c)];
    }
    const auto& outs = j.at("outputs");
    if (!outs.is_array() || outs.size() != gp.output_names_.size() || outs.empty())
      bad_file(file, "inconsistent emulator file", std::to_string(gp.output_names_.size()) + " outputs (one per name)",
               outs.is_array() ? std::to_string(outs.size()) : outs.type_name(), "outputs");
    for (std::size_t c = 0; c < outs.size(); ++c) {
      const auto& oj = outs[c];
      Output o;
      o.y_mean = oj.at("y_mean").get<double>();
      o.y_scale = oj.at("y_scale").get<double>();
      const auto ls = oj.at("lengthscales").get<std::vector<double>>();
      const auto y = oj.at("y").get<std::vector<double>>();
      const std::string field = "outputs[" + std::to_string(c) + "]";
      if (static_cast<Eigen::Index>(ls.size()) != d || static_cast<Eigen::Index>(y.size()) != n)
        bad_file(file, "inconsistent emulator file",
                 std::to_string(d) + " length scales and " + std::to_string(n) + " outputs",
                 std::to_string(ls.size()) + " and " + std::to_string(y.size()), field);
      o.hyper.lengthscales = Eigen::Map<const Eigen::VectorXd>(ls.data(), d);
      o.hyper.signal_variance = oj.at("signal_variance").get<double>();
      o.hyper.noise_variance = oj.at("noise_variance").get<double>();
      o.hyper.log_marginal_likelihood = oj.value("log_marginal_likelihood", 0.0);
      o.y = Eigen::Map<const Eigen::VectorXd>(y.data(), n);
      if (!(o.hyper.lengthscales.array() > 0).all() || !(o.hyper.signal_variance > 0) ||
          !(o.hyper.noise_variance >= 0) || !(o.y_scale > 0) || !o.y.allFinite() || !std::isfinite(o.y_mean))
        bad_file(file, "corrupt emulator file", "positive length scales, variances and scale, finite outputs",
                 "invalid values", field);
      gp.outputs_.push_back(std::move(o));
    }
    if (!gp.x_unit_.allFinite() || !gp.x_lower_.allFinite() || !(gp.x_scale_.array() > 0).all())
      bad_file(file, "corrupt emulator file", "finite inputs and positive input scales", "invalid values", "x_unit");
  } catch (const nlohmann::json::exception& e) {
    bad_file(file, "corrupt emulator file", "the fields of a cardiotwin Gaussian-process emulator", e.what());
  } catch (const InvalidInput& e) {
    bad_file(file, "bad options in emulator file", e.expected(), e.found(), "options");
  }
  for (auto& o : gp.outputs_) gp.factorise(o);
  return gp;
}

void GaussianProcess::save(const std::string& path) const {
  const std::string text = to_json().dump();
  write_atomically(path, [&](std::ostream& os) { os << text << '\n'; }, false);
}

GaussianProcess GaussianProcess::load(const std::string& path) {
  const std::string bytes = read_file_bytes(path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(bytes);
  } catch (const nlohmann::json::parse_error& e) {
    bad_file(path, "emulator file is not valid JSON", "a JSON document written by GaussianProcess::save", e.what());
  }
  return from_json(j, path);
}

}  // namespace cardiotwin::emulate
