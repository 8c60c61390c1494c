/// @file gp.hpp
/// @brief Gaussian-process emulator: ARD kernels, hyperparameters by maximum marginal likelihood.
///
/// Each output is an independent Gaussian process (Rasmussen & Williams 2006, ch. 2 and 5)
///   y(x) = h(x)^T beta + f(x) + eps,  f ~ GP(0, k),  eps ~ N(0, sigma_n^2),
/// on inputs scaled to the unit cube by the training data's range and outputs standardised to
/// zero mean and unit variance. h(x) is 1 (constant mean) or (1, x) (linear mean); beta is the
/// generalised least-squares estimate for the current kernel, and its uncertainty enters the
/// predictive variance (R&W eq. 2.42). Kernels with one length scale l_j per input (ARD):
///   squared exponential  k = sigma_f^2 exp(-r^2 / 2),
///   Matern 5/2           k = sigma_f^2 (1 + sqrt5 r + 5 r^2 / 3) exp(-sqrt5 r),
/// with r^2 = sum_j (x_j - x'_j)^2 / l_j^2. The hyperparameters theta = log(l_1..l_d, sigma_f^2,
/// sigma_n^2) maximise the log marginal likelihood
///   log p(y | theta) = -1/2 r^T K^-1 r - 1/2 log|K| - n/2 log 2 pi,  r = y - H beta,
/// whose gradient is 1/2 tr((alpha alpha^T - K^-1) dK/dtheta), alpha = K^-1 r (beta's own
/// dependence on theta drops out at the GLS optimum). L-BFGS in log space from a default start
/// and `restarts` seeded random starts; the box bounds of the options enter as a quadratic
/// penalty. The Cholesky factorisation adds escalating jitter when K is numerically singular.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cardiotwin/emulate/design.hpp"

namespace cardiotwin::emulate {

/// Covariance function.
enum class Kernel { SquaredExponential, Matern52 };
/// Regression part of the mean.
enum class MeanFunction { Constant, Linear };

/// "squared_exponential" / "matern52" (also accepts "se", "rbf", "sqexp", "matern"); throws `InvalidInput`.
Kernel kernel_from_string(const std::string& name);
std::string to_string(Kernel k);
/// "constant" / "linear"; throws `InvalidInput`.
MeanFunction mean_from_string(const std::string& name);
std::string to_string(MeanFunction m);

/// Options of `GaussianProcess` (defaults in one place; JSON with validation and a version).
/// Variances are relative to the standardised output (variance 1); length scales are in the
/// unit cube spanned by the training inputs.
struct GaussianProcessOptions {
  static constexpr int kVersion = 1;
  Kernel kernel = Kernel::Matern52;
  MeanFunction mean = MeanFunction::Linear;
  bool fit_noise = true;             ///< fit sigma_n^2; otherwise hold it at `noise_variance`
  double noise_variance = 1e-4;      ///< start (or fixed value) of sigma_n^2
  double min_noise_variance = 1e-8;  ///< lower bound of sigma_n^2 (the nugget)
  double max_noise_variance = 1.0;
  double min_lengthscale = 1e-2, max_lengthscale = 1e2;
  double min_signal_variance = 1e-4, max_signal_variance = 1e4;
  int restarts = 2;                  ///< random starts besides the default one
  int max_iterations = 200;          ///< L-BFGS iterations per start
  double tolerance = 1e-6;           ///< stop when -log likelihood falls by less than this x (1 + |value|) twice
  std::uint64_t seed = 0;            ///< seeds the random starts
  int threads = 0;                   ///< OpenMP threads over outputs x starts; 0: OpenMP's default

  nlohmann::json to_json() const;
  static GaussianProcessOptions from_json(const nlohmann::json& j);
  void validate() const;
};

/// Predictive mean and variance, `#points x #outputs` each, in the outputs' units. The variance
/// is that of the latent function (add `GaussianProcess::noise_variance` for a new observation).
struct Prediction {
  Matrix mean;
  Matrix variance;
};

/// Fitted hyperparameters of one output (natural units of the standardised problem).
struct GpHyperparameters {
  Eigen::VectorXd lengthscales;  ///< per input, unit-cube scale
  double signal_variance = 1;    ///< sigma_f^2 (standardised output)
  double noise_variance = 1e-4;  ///< sigma_n^2 (standardised output)
  double jitter = 0;             ///< added to the diagonal to factorise K (0 if none was needed)
  double log_marginal_likelihood = 0;  ///< of the standardised outputs
};

/// A Gaussian-process emulator with independent outputs (see the file comment for the model).
class GaussianProcess {
 public:
  explicit GaussianProcess(GaussianProcessOptions options = {});

  /// Fit to `x` (`n x d`, parameter sets) and `y` (`n x k`, outputs). Throws `InvalidInput` for
  /// mismatched rows, non-finite values, n < d + 1, a constant input column, or names whose
  /// number does not match; empty names become "x0", "x1", ... / "y0", ...
  GaussianProcess& fit(const Matrix& x, const Matrix& y, std::vector<std::string> input_names = {},
                       std::vector<std::string> output_names = {});

  /// Predictive mean and variance at `x` (`m x d`); threaded over outputs.
  Prediction predict(const Matrix& x) const;
  /// Predictive mean only (cheaper: no triangular solves).
  Matrix predict_mean(const Matrix& x) const;

  bool fitted() const { return !outputs_.empty(); }
  int num_inputs() const { return static_cast<int>(x_lower_.size()); }
  int num_outputs() const { return static_cast<int>(outputs_.size()); }
  std::int64_t num_training_points() const { return static_cast<std::int64_t>(x_unit_.rows()); }
  const GaussianProcessOptions& options() const { return options_; }
  const std::vector<std::string>& input_names() const { return input_names_; }
  const std::vector<std::string>& output_names() const { return output_names_; }
  /// Hyperparameters of output `k`.
  const GpHyperparameters& hyperparameters(int k) const;
  /// Length scales of output `k` in the inputs' own units.
  Eigen::VectorXd lengthscales(int k) const;
  /// Observation noise variance sigma_n^2 per output, in the outputs' units squared.
  Eigen::VectorXd noise_variance() const;
  /// Training inputs in their own units.
  Matrix training_inputs() const;
  /// Training outputs in their own units.
  Matrix training_outputs() const;

  /// Everything needed to predict again: options, names, scalings, training data and
  /// hyperparameters ("format": "cardiotwin.emulate.GaussianProcess", "version": 1). Loading
  /// refactorises K from these, so predictions are identical to the fitted emulator's.
  nlohmann::json to_json() const;
  /// Throws `FileFormatError` for a wrong format, version or inconsistent content.
  static GaussianProcess from_json(const nlohmann::json& j, const std::string& file = {});
  /// Write JSON atomically; throws `FileIOError`.
  void save(const std::string& path) const;
  /// Throws `FileIOError` (unreadable) or `FileFormatError` (not JSON, not an emulator, corrupt).
  static GaussianProcess load(const std::string& path);

  static constexpr int kFormatVersion = 1;
  static constexpr const char* kFormatName = "cardiotwin.emulate.GaussianProcess";

 private:
  struct Output {
    GpHyperparameters hyper;
    Eigen::VectorXd y;  // standardised training outputs
    double y_mean = 0, y_scale = 1;
    // Derived by factorise():
    Eigen::LLT<Eigen::MatrixXd> llt;
    Eigen::MatrixXd linv;        // L^-1 (lower), for batched variances through matrix products
    Eigen::MatrixXd xs;          // training inputs divided by the length scales
    Eigen::VectorXd xs_norm2;    // their squared norms
    Eigen::VectorXd alpha;       // K^-1 (y - H beta)
    Eigen::VectorXd beta;        // GLS mean coefficients
    Eigen::MatrixXd kinv_h;      // K^-1 H
    Eigen::LLT<Eigen::MatrixXd> hkh;  // H^T K^-1 H
  };
  void factorise(Output& out) const;
  Matrix to_unit(const Matrix& x) const;
  void predict_output(const Matrix& u, const Output& out, bool variance, double* mean, double* var,
                      Eigen::Index stride) const;

  GaussianProcessOptions options_;
  std::vector<std::string> input_names_, output_names_;
  Eigen::VectorXd x_lower_, x_scale_;
  Matrix x_unit_;  // n x d training inputs in the unit cube
  std::vector<Output> outputs_;
};

/// Log marginal likelihood of standardised outputs `y` at unit-cube inputs `x_unit` for the
/// log hyperparameters `log_params` = (log l_1..log l_d, log sigma_f^2[, log sigma_n^2]) (the
/// last only when `options.fit_noise`), with its gradient with respect to `log_params` when
/// `gradient` is not null. Returns -infinity when K cannot be factorised. Exposed for tests and
/// diagnostics.
double gp_log_marginal_likelihood(const Matrix& x_unit, const Eigen::VectorXd& y, const GaussianProcessOptions& options,
                                  const Eigen::VectorXd& log_params, Eigen::VectorXd* gradient = nullptr);

/// Kernel matrix between unit-cube points `a` (`m x d`) and `b` (`n x d`).
Eigen::MatrixXd gp_kernel_matrix(Kernel kernel, const Matrix& a, const Matrix& b, const Eigen::VectorXd& lengthscales,
                                 double signal_variance);

}  // namespace cardiotwin::emulate
