// ten Tusscher & Panfilov 2006: human ventricular myocyte (epicardial, endocardial, M cell).
//
// KHWJ ten Tusscher, AV Panfilov. Alternans and spiral breakup in a human ventricular tissue
// model. Am J Physiol Heart Circ Physiol 291:H1088-H1100 (2006). Equations and parameter values
// from the paper and its CellML encoding; this is our own implementation.
//
// Parameters (per cell): g_Na, g_K1, g_to, g_Kr, g_Ks, g_CaL are absolute conductances whose
// defaults depend on the cell type (g_to: epi/M 0.294, endo 0.073 nS/pF; g_Ks: epi/endo 0.392,
// M 0.098 nS/pF); g_X_scale (default 1) multiplies them. The current uses g_X * g_X_scale, so
// heterogeneity and drug block are best given as scales, which keep the per-type defaults.
// The endocardial cell also has its own s-gate kinetics (paper, eqs. for s_inf and tau_s).
//
// Numerics
// - Gates (Xr1, Xr2, Xs, m, h, j, d, f, f2, fCass, s, r) by Rush-Larsen: y <- y_inf + (y - y_inf) e^(-dt/tau).
// - R' and the ion concentrations by forward Euler. Calcium is buffered instantaneously; as in
//   ten Tusscher's own code, the *total* (free + buffered) calcium of each compartment is advanced
//   and the free concentration recovered from the buffer equilibrium, a quadratic solved in
//   closed form (the "analytic buffering" of TP06).
// - Everything that depends on Vm alone (gate steady states, exp(-dt/tau), the Vm factors of
//   I_CaL, I_NaCa, I_NaK, I_pK) comes from a table over Vm in [-100, 100] mV, 0.02 mV apart,
//   linearly interpolated (built on first use of a dt; two dt values are cached, so alternating
//   sub-steps do not rebuild; concurrent step() calls must use the same dt). x_K1 depends on
//   Vm - E_K only and has its own table over [-150, 250] mV. Outside the table ranges, and with
//   the option {"lookup_tables": false}, the formulas are evaluated exactly. The h and j rates of
//   the paper jump at Vm = -40 mV; the table interpolates across that jump within 0.02 mV of it.
//   Tables change APD90 and the peak by < 1e-4 ms / mV (tests: < 0.5).
// - The cell loop works on 2 (SSE2) or, on CPUs with AVX2 and FMA, 4 cells at a time with our own
//   vectorised log (reversal potentials) and exp (fCass), accurate to a few ulp; results agree
//   between the two kernels to rounding (~1e-12 relative). Requires GCC or Clang (vector types).
//   About 50 ns per cell-step with tables on a 2.8 GHz Xeon (Ice Lake) with the AVX2 kernel,
//   about 80 ns with the SSE2 one, ~500 ns exact.
//
// Deviations from the paper
// - The stimulus current is not added to dK_i/dt (the model does not see the stimulus; the
//   effect is ~0.006 mM of K_i per 52 mV/ms x 1 ms stimulus).
// - The initial state is the CellML epicardial one (Niederer 2011 reference) for every cell type;
//   the paper gives no per-type initial states (the M cell drifts to its own paced state).
// - The algebra of a few calcium fluxes is rearranged to save divisions (same values).
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "soa_model.hpp"

#if !defined(__GNUC__)
#error "tp06.cpp uses GCC/Clang vector extensions"
#endif

// CT_INLINE forces inlining into the kernels. CT_AVX2_KERNEL: also build a 4-wide kernel for
// x86-64-v3 (AVX2, FMA), chosen at run time (GCC/Clang on x86-64; define CARDIOTWIN_NO_AVX2_KERNEL to omit).
#if defined(__GNUC__)
#define CT_INLINE inline __attribute__((always_inline))
#else
#define CT_INLINE inline
#endif
// Internal functions pass 32-byte vectors to each other; no ABI is exposed.
#if defined(__clang__)
#if __has_warning("-Wpsabi")
#pragma clang diagnostic ignored "-Wpsabi"
#endif
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
#if defined(__GNUC__) && defined(__x86_64__) && !defined(CARDIOTWIN_NO_AVX2_KERNEL)
#define CT_AVX2_KERNEL 1
#else
#define CT_AVX2_KERNEL 0
#endif

namespace cardiotwin::ep::models {
namespace {

// ---- constants (paper Table 1; units: mV, ms, mM, pF-normalised currents) ----------------------
constexpr double kR = 8314.472;       // J/(kmol K)
constexpr double kT = 310.0;          // K
constexpr double kF = 96485.3415;     // C/mol
constexpr double kRTF = kR * kT / kF;  // mV
constexpr double kFRT = 1.0 / kRTF;    // 1/mV
constexpr double kCm = 0.185;         // uF
// Volumes (cytoplasm, SR, subspace) as in the paper's code (V_c = 16404 um^3); only the ratios
// Cm / (V F) and V / V' enter the equations.
constexpr double kVc = 0.016404;
constexpr double kVsr = 0.001094;
constexpr double kVss = 0.00005468;
constexpr double kKo = 5.4, kNao = 140.0, kCao = 2.0;  // mM
constexpr double kSqrtKo54 = 1.0;                     // sqrt(Ko / 5.4) with Ko = 5.4
constexpr double kPKNa = 0.03;
constexpr double kGbNa = 0.00029, kGbCa = 0.000592, kGpCa = 0.1238, kKpCa = 0.0005, kGpK = 0.0146;
constexpr double kPNaK = 2.724, kKmK = 1.0, kKmNa = 40.0;
constexpr double kKNaCa = 1000.0, kKsat = 0.1, kAlpha = 2.5, kGamma = 0.35, kKmCa = 1.38, kKmNai = 87.5;
constexpr double kK1p = 0.15, kK2p = 0.045, kK3 = 0.06, kK4 = 0.005, kEC = 1.5, kMaxSR = 2.5, kMinSR = 1.0;
constexpr double kVrel = 0.102, kVxfer = 0.0038, kKup = 0.00025, kVleak = 0.00036, kVmaxUp = 0.006375;
constexpr double kBufC = 0.2, kKBufC = 0.001, kBufSR = 10.0, kKBufSR = 0.3, kBufSS = 0.4, kKBufSS = 0.00025;

constexpr double kCmOverVcF = kCm / (kVc * kF);
constexpr double kCmOver2VcF = kCm / (2.0 * kVc * kF);
constexpr double kCmOver2VssF = kCm / (2.0 * kVss * kF);

// ---- states, parameters --------------------------------------------------------------------------
enum State {
  sXr1, sXr2, sXs, sM, sH, sJ, sD, sF, sF2, sFCass, sS, sR, sCai, sRprime, sCaSR, sCaSS, sNai, sKi, kNumStates
};
// CellML / Niederer 2011 epicardial initial state (V = -85.23 mV).
constexpr double kInitialVm = -85.23;
constexpr std::array<double, kNumStates> kInitialState = {
    0.00621, 0.4712, 0.0095, 0.00172, 0.7444, 0.7045, 3.373e-5, 0.7888, 0.9755,
    0.9953,  0.999998, 2.42e-8, 0.000126, 0.9073, 3.64, 0.00036, 8.604, 136.89};

enum CellType { kEpi = 0, kEndo = 1, kMcell = 2 };
constexpr int kNumConductances = 6;
enum Param { pNa, pK1, pTo, pKr, pKs, pCaL };
// Defaults per cell type {epi, endo, mcell}; g_CaL in cm^3/(uF s), the rest in nS/pF.
constexpr double kDefaults[kNumConductances][3] = {
    {14.838, 14.838, 14.838},   // g_Na
    {5.405, 5.405, 5.405},      // g_K1
    {0.294, 0.073, 0.294},      // g_to
    {0.153, 0.153, 0.153},      // g_Kr
    {0.392, 0.392, 0.098},      // g_Ks
    {3.98e-5, 3.98e-5, 3.98e-5}  // g_CaL
};

const IonicModelInfo& tp06_info() {
  static const IonicModelInfo info = {
      "tp06",
      "ten Tusscher & Panfilov 2006 human ventricular myocyte (Am J Physiol Heart 291:H1088); "
      "parameters g_X are absolute conductances (defaults per cell type), g_X_scale multiply them; "
      "option lookup_tables (default true)",
      {"epi", "endo", "mcell"},
      {"Xr1", "Xr2", "Xs", "m", "h", "j", "d", "f", "f2", "fCass", "s", "r", "Ca_i", "R_prime", "Ca_SR", "Ca_ss",
       "Na_i", "K_i"},
      {"g_Na", "g_K1", "g_to", "g_Kr", "g_Ks", "g_CaL", "g_Na_scale", "g_K1_scale", "g_to_scale", "g_Kr_scale",
       "g_Ks_scale", "g_CaL_scale"}};
  return info;
}

// ---- Vm-only functions: gate steady states and time constants, current factors --------------------
// Columns of one table row: (steady state, exp(-dt/tau)) per gate, then the Vm factors of currents.
// j shares h's steady state. s has two variants: epi/M cell (S0) and endo (S1).
enum Col {
  cXr1, cXr1E, cXr2, cXr2E, cXs, cXsE, cM, cME, cH, cHE, cJE, cD, cDE, cF, cFE, cF2, cF2E, cR, cRE,
  cS0, cS0E, cS1, cS1E,
  cCaLA,   // I_CaL = g d f f2 fCass (cCaLA Ca_ss - cCaLB)
  cCaLB,
  cNaCaA,  // I_NaCa = cNaCaA Na_i^3 - cNaCaB Ca_i
  cNaCaB,
  cNaK,    // I_NaK = cNaK Na_i / (Na_i + K_mNa)
  cPK,     // I_pK = cPK (V - E_K)
  kNumCols
};

inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(x)); }
/// x / (e^x - 1), continuous at 0.
inline double x_over_expm1(double x) { return std::abs(x) < 1e-9 ? 1.0 - 0.5 * x : x / std::expm1(x); }

void fill_row(double V, double dt, double* c) {
  auto gate = [&](int col, double inf, double tau) {
    c[col] = inf;
    c[col + 1] = std::exp(-dt / tau);
  };
  // I_Kr
  gate(cXr1, sigmoid((-26.0 - V) / 7.0), 450.0 * sigmoid((-45.0 - V) / 10.0) * 6.0 * sigmoid((V + 30.0) / 11.5));
  gate(cXr2, sigmoid((V + 88.0) / 24.0), 3.0 * sigmoid((-60.0 - V) / 20.0) * 1.12 * sigmoid((V - 60.0) / 20.0));
  // I_Ks
  gate(cXs, sigmoid((-5.0 - V) / 14.0),
       1400.0 / std::sqrt(1.0 + std::exp((5.0 - V) / 6.0)) * sigmoid((V - 35.0) / 15.0) + 80.0);
  // I_Na
  const double m_s = sigmoid((-56.86 - V) / 9.03);
  gate(cM, m_s * m_s,
       sigmoid((-60.0 - V) / 5.0) * (0.1 * sigmoid((V + 35.0) / 5.0) + 0.1 * sigmoid((V - 50.0) / 200.0)));
  const double h_s = sigmoid((V + 71.55) / 7.43);
  double alpha_h, beta_h, alpha_j, beta_j;
  if (V < -40.0) {
    alpha_h = 0.057 * std::exp(-(V + 80.0) / 6.8);
    beta_h = 2.7 * std::exp(0.079 * V) + 3.1e5 * std::exp(0.3485 * V);
    alpha_j = (-2.5428e4 * std::exp(0.2444 * V) - 6.948e-6 * std::exp(-0.04391 * V)) * (V + 37.78) /
              (1.0 + std::exp(0.311 * (V + 79.23)));
    beta_j = 0.02424 * std::exp(-0.01052 * V) / (1.0 + std::exp(-0.1378 * (V + 40.14)));
  } else {
    alpha_h = 0.0;
    beta_h = 0.77 / (0.13 * (1.0 + std::exp(-(V + 10.66) / 11.1)));
    alpha_j = 0.0;
    beta_j = 0.6 * std::exp(0.057 * V) / (1.0 + std::exp(-0.1 * (V + 32.0)));
  }
  gate(cH, h_s * h_s, 1.0 / (alpha_h + beta_h));
  c[cJE] = std::exp(-dt * (alpha_j + beta_j));
  // I_CaL
  gate(cD, sigmoid((-8.0 - V) / 7.5),
       (1.4 * sigmoid((-35.0 - V) / 13.0) + 0.25) * 1.4 * sigmoid((V + 5.0) / 5.0) + sigmoid((50.0 - V) / 20.0));
  gate(cF, sigmoid((V + 20.0) / 7.0),
       1102.5 * std::exp(-(V + 27.0) * (V + 27.0) / 225.0) + 200.0 * sigmoid((13.0 - V) / 10.0) +
           180.0 * sigmoid((V + 30.0) / 10.0) + 20.0);
  gate(cF2, 0.67 * sigmoid((V + 35.0) / 7.0) + 0.33,
       562.0 * std::exp(-(V + 27.0) * (V + 27.0) / 240.0) + 31.0 * sigmoid((25.0 - V) / 10.0) +
           80.0 * sigmoid((V + 30.0) / 10.0));
  // I_to
  gate(cR, sigmoid((20.0 - V) / 6.0), 9.5 * std::exp(-(V + 40.0) * (V + 40.0) / 1800.0) + 0.8);
  gate(cS0, sigmoid((V + 20.0) / 5.0),
       85.0 * std::exp(-(V + 45.0) * (V + 45.0) / 320.0) + 5.0 * sigmoid((V - 20.0) / 5.0) + 3.0);
  gate(cS1, sigmoid((V + 28.0) / 5.0), 1000.0 * std::exp(-(V + 67.0) * (V + 67.0) / 1000.0) + 8.0);
  // I_CaL driving factor: 4 (V-15) F^2/(RT) (0.25 Ca_ss e^x - Ca_o) / (e^x - 1), x = 2 (V-15) F/RT
  const double x = 2.0 * (V - 15.0) * kFRT;
  const double ghk = 2.0 * kF * x_over_expm1(x);
  c[cCaLA] = ghk * 0.25 * std::exp(x);
  c[cCaLB] = ghk * kCao;
  // I_NaCa
  const double u = V * kFRT;
  const double e_down = std::exp((kGamma - 1.0) * u);
  const double naca =
      kKNaCa / ((kKmNai * kKmNai * kKmNai + kNao * kNao * kNao) * (kKmCa + kCao) * (1.0 + kKsat * e_down));
  c[cNaCaA] = naca * std::exp(kGamma * u) * kCao;
  c[cNaCaB] = naca * e_down * kNao * kNao * kNao * kAlpha;
  // I_NaK, I_pK
  c[cNaK] = kPNaK * kKo / (kKo + kKmK) / (1.0 + 0.1245 * std::exp(-0.1 * u) + 0.0353 * std::exp(-u));
  c[cPK] = kGpK * sigmoid((25.0 - V) / 5.98);
}

/// Steady state of the I_K1 rectification gate, a function of u = V - E_K.
inline double xk1_inf(double u) {
  const double a = 0.1 / (1.0 + std::exp(0.06 * (u - 200.0)));
  const double b = (3.0 * std::exp(0.0002 * (u + 100.0)) + std::exp(0.1 * (u - 10.0))) / (1.0 + std::exp(-0.5 * u));
  return a / (a + b);
}

// ---- lookup tables -----------------------------------------------------------------------------
constexpr double kVmMin = -100.0, kVmMax = 100.0, kTableStep = 0.02;
constexpr int kVmRows = 10001;                    // (kVmMax - kVmMin) / kTableStep + 1
constexpr double kK1Min = -150.0, kK1Max = 250.0;  // u = V - E_K
constexpr int kK1Rows = 20001;

// ---- the kernel: W cells at a time -------------------------------------------------------------
// Written with GCC/Clang vector types, since compilers do not vectorise a loop with log, sqrt and
// selects without -ffast-math. The baseline kernel works on 2 cells (one SSE2 register); on x86-64
// a 4-cell kernel compiled for x86-64-v3 (AVX2, FMA) is chosen at run time when the CPU has it.
template <int W>
struct Simd;
template <>
struct Simd<2> {
  using Pack = double __attribute__((vector_size(16)));
  using Bits = std::uint64_t __attribute__((vector_size(16)));
  using Mask = std::int64_t __attribute__((vector_size(16)));
};
template <>
struct Simd<4> {
  using Pack = double __attribute__((vector_size(32)));
  using Bits = std::uint64_t __attribute__((vector_size(32)));
  using Mask = std::int64_t __attribute__((vector_size(32)));
};

template <class P>
CT_INLINE P load(const double* p) {
  P v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class P>
CT_INLINE void store(double* p, P v) {
  std::memcpy(p, &v, sizeof v);
}
template <class P>
constexpr int lanes() {
  return static_cast<int>(sizeof(P) / sizeof(double));
}
template <class P>
using BitsOf = typename Simd<lanes<P>()>::Bits;
template <class P>
using MaskOf = typename Simd<lanes<P>()>::Mask;
template <class P>
CT_INLINE BitsOf<P> bits_of(std::uint64_t u) {
  return BitsOf<P>{} + u;
}
template <class P>
CT_INLINE P select(MaskOf<P> m, P a, P b) {
  using B = BitsOf<P>;
  return (P)(((B)a & (B)m) | ((B)b & ~(B)m));
}

template <class P>
CT_INLINE P vsqrt(P x) {
  double t[lanes<P>()];
  std::memcpy(t, &x, sizeof x);
#if defined(__SSE2__)
  for (int l = 0; l < lanes<P>(); l += 2) _mm_storeu_pd(t + l, _mm_sqrt_pd(_mm_loadu_pd(t + l)));
#else
  for (double& v : t) v = std::sqrt(v);
#endif
  return load<P>(t);
}

/// Natural logarithms of two positive normal numbers, to about 2 ulp: x = 2^e m with m in
/// [sqrt(1/2), sqrt(2)), log m = 2 atanh(s), s = (m - 1)/(m + 1), |s| < 0.172, by its series.
/// (Two at once share one division.)
template <class P>
CT_INLINE void vlog2(P x1, P x2, P& log1, P& log2) {
  P m[2], e[2];
  const P x[2] = {x1, x2};
  for (int k = 0; k < 2; ++k) {
    const auto bits = (BitsOf<P>)x[k];
    // exponent field as a double, without an int64 -> double conversion (absent before AVX-512)
    const P ef = (P)((bits >> 52) | bits_of<P>(0x4330000000000000ULL)) - 4503599627370496.0;
    m[k] = (P)((bits & bits_of<P>(0x000FFFFFFFFFFFFFULL)) | bits_of<P>(0x3FF0000000000000ULL));
    const auto big = m[k] > 1.4142135623730951;
    m[k] = select<P>(big, 0.5 * m[k], m[k]);
    e[k] = ef - select<P>(big, P{} + 1022.0, P{} + 1023.0);
  }
  const P f1 = m[0] - 1.0, f2 = m[1] - 1.0;
  const P inv = 1.0 / ((2.0 + f1) * (2.0 + f2));
  const P s[2] = {f1 * (2.0 + f2) * inv, f2 * (2.0 + f1) * inv};
  P out[2];
  for (int k = 0; k < 2; ++k) {
    const P z = s[k] * s[k];
    P p = (1.0 / 19) * z + 1.0 / 17;
    p = p * z + 1.0 / 15;
    p = p * z + 1.0 / 13;
    p = p * z + 1.0 / 11;
    p = p * z + 1.0 / 9;
    p = p * z + 1.0 / 7;
    p = p * z + 1.0 / 5;
    p = p * z + 1.0 / 3;
    const P log_m = 2.0 * s[k] + 2.0 * s[k] * (z * p);
    out[k] = e[k] * 6.93147180369123816490e-01 + (log_m + e[k] * 1.90821492927058770002e-10);  // ln 2 = hi + lo
  }
  log1 = out[0];
  log2 = out[1];
}

/// e^x for x in [-700, 700], to about 1 ulp: x = n ln2 + r, |r| <= ln2 / 2, e^r by Taylor series.
template <class P>
CT_INLINE P vexp(P x) {
  constexpr double kShift = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer
  const P t = x * 1.4426950408889634 + kShift;
  const P n = t - kShift;
  const P r = (x - n * 6.93147180369123816490e-01) - n * 1.90821492927058770002e-10;
  P p = (1.0 / 479001600) * r + 1.0 / 39916800;  // 1/12!, 1/11!, ...
  p = p * r + 1.0 / 3628800;
  p = p * r + 1.0 / 362880;
  p = p * r + 1.0 / 40320;
  p = p * r + 1.0 / 5040;
  p = p * r + 1.0 / 720;
  p = p * r + 1.0 / 120;
  p = p * r + 1.0 / 24;
  p = p * r + 1.0 / 6;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  const auto ni = (MaskOf<P>)t - static_cast<std::int64_t>(0x4338000000000000LL);  // n as an integer
  return p * (P)((ni + 1023) << 52);
}

/// Free concentration c with c + B c / (c + K) = total: the positive root of
/// c^2 + (B + K - total) c - K total = 0, in the form without cancellation for either sign of b.
template <class P>
CT_INLINE P free_calcium(P total, double buf, double k) {
  const P b = buf + k - total;
  const P cc = k * total;
  const P s = vsqrt(b * b + 4.0 * cc);
  return select<P>(b >= 0.0, 2.0 * cc / (s + b), 0.5 * (s - b));
}

const double kLogKo = std::log(kKo), kLogNao = std::log(kNao), kLogCao = std::log(kCao);
const double kLogKsOut = std::log(kKo + kPKNa * kNao);

/// W table rows (one per cell of a pack) and the interpolation weights between row and row + 1.
template <int W>
struct Rows {
  using P = typename Simd<W>::Pack;
  const double* lo[W];
  const double* hi[W];
  int s_shift[W];  ///< column offset of the s gate variant of each cell
  double w[W];
  /// Column k (+ s_shift[cell] if `s`), interpolated.
  CT_INLINE P col(int k, bool s = false) const {
    const int k0 = s ? k + s_shift[0] : k, k1 = s ? k + s_shift[1] : k;
    if constexpr (W == 2) {
      const P a = {lo[0][k0], lo[1][k1]};
      const P b = {hi[0][k0], hi[1][k1]};
      return a + P{w[0], w[1]} * (b - a);
    } else {
      const int k2 = s ? k + s_shift[2] : k, k3 = s ? k + s_shift[3] : k;
      const P a = {lo[0][k0], lo[1][k1], lo[2][k2], lo[3][k3]};
      const P b = {hi[0][k0], hi[1][k1], hi[2][k2], hi[3][k3]};
      return a + P{w[0], w[1], w[2], w[3]} * (b - a);
    }
  }
};

/// Rush-Larsen update of a gate y stored at `out`.
template <class P>
CT_INLINE void rush_larsen(double* out, P y, P inf, P decay) {
  store(out, inf + (y - inf) * decay);
}

/// Pointers to the per-cell arrays of one step call.
struct Cells {
  double* s[kNumStates];
  const double* g[kNumConductances];
  /// Every cell has the same conductances (one cell type, no parameter fields): `g_value` is used
  /// and the per-cell arrays are not read (48 bytes less memory traffic per cell and step).
  bool g_uniform = false;
  double g_value[kNumConductances] = {};
  const std::uint8_t* type;
  const double* vm;
  double* iion;
};

/// Conductance k of cells [i, i + W).
template <class P, bool kUniformG>
CT_INLINE P gload(const Cells& cells, int k, std::int64_t i) {
  if constexpr (kUniformG) return P{} + cells.g_value[k];
  else return load<P>(cells.g[k] + i);
}

/// Advance cells [i, i + W).
template <int W, bool kTables, bool kUniformG>
CT_INLINE void step_pack(const Cells& cells, std::int64_t i, double dt, const double* vm_table,
                         const double* k1_table) {
  using P = typename Simd<W>::Pack;

  constexpr double kInvStep = 1.0 / kTableStep;
  const P V = load<P>(cells.vm + i);

  // Vm-dependent coefficients: interpolated table rows (or exact rows with weight 0)
  Rows<W> rows;
  double exact[W][kNumCols];
  for (int l = 0; l < W; ++l) {
    const double v = V[l];
    rows.s_shift[l] = cells.type[i + l] == kEndo ? cS1 - cS0 : 0;
    if (l > 0 && v == V[l - 1]) {  // e.g. the padding of a partial pack: reuse the row
      rows.w[l] = rows.w[l - 1];
      rows.lo[l] = rows.lo[l - 1];
      rows.hi[l] = rows.hi[l - 1];
    } else if (kTables && v >= kVmMin && v <= kVmMax) {
      const double x = (v - kVmMin) * kInvStep;
      const int row = std::min(static_cast<int>(x), kVmRows - 2);
      rows.w[l] = x - row;
      rows.lo[l] = vm_table + std::size_t(row) * kNumCols;
      rows.hi[l] = rows.lo[l] + kNumCols;
    } else {
      fill_row(v, dt, exact[l]);
      rows.w[l] = 0.0;
      rows.lo[l] = rows.hi[l] = exact[l];
    }
  }

  double* const* st = cells.s;
  const P cai = load<P>(st[sCai] + i), casr = load<P>(st[sCaSR] + i), cass = load<P>(st[sCaSS] + i);
  const P nai = load<P>(st[sNai] + i), ki = load<P>(st[sKi] + i), rp = load<P>(st[sRprime] + i);

  // Reversal potentials
  P log_ki, log_nai, log_ks, log_cai;
  vlog2(ki, nai, log_ki, log_nai);
  vlog2(ki + kPKNa * nai, cai, log_ks, log_cai);
  const P EK = kRTF * (kLogKo - log_ki);
  const P ENa = kRTF * (kLogNao - log_nai);
  const P EKs = kRTF * (kLogKsOut - log_ks);
  const P ECa = (0.5 * kRTF) * (kLogCao - log_cai);

  // I_K1 rectification: a function of V - E_K
  const P uK = V - EK;
  double xk1_lanes[W];
  for (int l = 0; l < W; ++l) {
    const double u = uK[l];
    if (kTables && u >= kK1Min && u <= kK1Max) {
      const double x = (u - kK1Min) * kInvStep;
      const int row = std::min(static_cast<int>(x), kK1Rows - 2);
      xk1_lanes[l] = k1_table[row] + (x - row) * (k1_table[row + 1] - k1_table[row]);
    } else {
      xk1_lanes[l] = xk1_inf(u);
    }
  }
  const P xk1 = load<P>(xk1_lanes);

  // Currents (uA/uF)
  const P m = load<P>(st[sM] + i), h = load<P>(st[sH] + i), j = load<P>(st[sJ] + i);
  const P xr1 = load<P>(st[sXr1] + i), xr2 = load<P>(st[sXr2] + i), xs = load<P>(st[sXs] + i);
  const P d = load<P>(st[sD] + i), f = load<P>(st[sF] + i), f2 = load<P>(st[sF2] + i);
  const P fcass = load<P>(st[sFCass] + i), r = load<P>(st[sR] + i), s = load<P>(st[sS] + i);
  const P iK1 = gload<P, kUniformG>(cells, pK1, i) * kSqrtKo54 * xk1 * uK;
  const P iKr = gload<P, kUniformG>(cells, pKr, i) * kSqrtKo54 * xr1 * xr2 * uK;
  const P iKs = gload<P, kUniformG>(cells, pKs, i) * xs * xs * (V - EKs);
  const P iNa = gload<P, kUniformG>(cells, pNa, i) * m * m * m * h * j * (V - ENa);
  const P iCaL = gload<P, kUniformG>(cells, pCaL, i) * d * f * f2 * fcass * (rows.col(cCaLA) * cass - rows.col(cCaLB));
  const P iTo = gload<P, kUniformG>(cells, pTo, i) * r * s * uK;
  const P iNaCa = rows.col(cNaCaA) * nai * nai * nai - rows.col(cNaCaB) * cai;
  const P iNaK = rows.col(cNaK) * nai / (nai + kKmNa);
  const P iPCa = kGpCa * cai / (cai + kKpCa);
  const P iPK = rows.col(cPK) * uK;
  const P iBNa = kGbNa * (V - ENa);
  const P iBCa = kGbCa * (V - ECa);
  store(cells.iion + i, iK1 + iTo + iKr + iKs + iCaL + iNaK + iNa + iBNa + iNaCa + iBCa + iPK + iPCa);

  // Calcium handling: fluxes at the start of the step (the paper's expressions, rearranged to
  // divide less: k1 = k1'/kcasr, (EC/Ca_SR)^2 and (K_up/Ca_i)^2 cleared of fractions)
  const P casr2 = casr * casr, cass2 = cass * cass, cai2 = cai * cai;
  const P kcasr = kMaxSR - (kMaxSR - kMinSR) * casr2 / (casr2 + kEC * kEC);
  const P open = kK1p * cass2 * rp / (kK3 * kcasr + kK1p * cass2);
  const P iRel = kVrel * open * (casr - cass);
  const P iUp = kVmaxUp * cai2 / (cai2 + kKup * kKup);
  const P iLeak = kVleak * (casr - cai);
  const P iXfer = kVxfer * (cass - cai);
  store(st[sRprime] + i, rp + dt * (kK4 * (1.0 - rp) - kK2p * kcasr * cass * rp));
  const P casr_total = casr + kBufSR * casr / (casr + kKBufSR) + dt * (iUp - iRel - iLeak);
  const P cass_total = cass + kBufSS * cass / (cass + kKBufSS) +
                       dt * (-iCaL * kCmOver2VssF + iRel * (kVsr / kVss) - iXfer * (kVc / kVss));
  const P cai_total = cai + kBufC * cai / (cai + kKBufC) +
                      dt * (-(iBCa + iPCa - 2.0 * iNaCa) * kCmOver2VcF - (iUp - iLeak) * (kVsr / kVc) + iXfer);
  store(st[sCaSR] + i, free_calcium(casr_total, kBufSR, kKBufSR));
  store(st[sCaSS] + i, free_calcium(cass_total, kBufSS, kKBufSS));
  store(st[sCai] + i, free_calcium(cai_total, kBufC, kKBufC));
  store(st[sNai] + i, nai - dt * kCmOverVcF * (iNa + iBNa + 3.0 * iNaK + 3.0 * iNaCa));
  store(st[sKi] + i, ki - dt * kCmOverVcF * (iK1 + iTo + iKr + iKs + iPK - 2.0 * iNaK));

  // Gates by Rush-Larsen; fCass depends on Ca_ss, not on Vm
  rush_larsen(st[sXr1] + i, xr1, rows.col(cXr1), rows.col(cXr1E));
  rush_larsen(st[sXr2] + i, xr2, rows.col(cXr2), rows.col(cXr2E));
  rush_larsen(st[sXs] + i, xs, rows.col(cXs), rows.col(cXsE));
  rush_larsen(st[sM] + i, m, rows.col(cM), rows.col(cME));
  const P h_inf = rows.col(cH);
  rush_larsen(st[sH] + i, h, h_inf, rows.col(cHE));
  rush_larsen(st[sJ] + i, j, h_inf, rows.col(cJE));
  rush_larsen(st[sD] + i, d, rows.col(cD), rows.col(cDE));
  rush_larsen(st[sF] + i, f, rows.col(cF), rows.col(cFE));
  rush_larsen(st[sF2] + i, f2, rows.col(cF2), rows.col(cF2E));
  rush_larsen(st[sR] + i, r, rows.col(cR), rows.col(cRE));
  rush_larsen(st[sS] + i, s, rows.col(cS0, true), rows.col(cS0E, true));
  const P q = 0.0025 / (0.0025 + cass2);  // 1 / (1 + (Ca_ss / 0.05)^2)
  rush_larsen(st[sFCass] + i, fcass, 0.6 * q + 0.4, vexp(-dt / (80.0 * q + 2.0)));
}

/// Advance cells [begin, end): whole packs, then the remainder through W-wide copies.
template <int W, bool kTables, bool kUniformG>
CT_INLINE void step_range(const Cells& cells, std::int64_t begin, std::int64_t end, double dt, const double* vm_table,
                          const double* k1_table) {
  std::int64_t i = begin;
  for (; i + W <= end; i += W) step_pack<W, kTables, kUniformG>(cells, i, dt, vm_table, k1_table);
  if (i == end) return;
  const int n = static_cast<int>(end - i);
  double st[kNumStates][W], g[kNumConductances][W], vm[W], iion[W];
  std::uint8_t type[W];
  Cells tail;
  for (int l = 0; l < W; ++l) {
    const std::int64_t src = i + std::min(l, n - 1);  // pad with copies of the last cell
    for (int k = 0; k < kNumStates; ++k) st[k][l] = cells.s[k][src];
    if constexpr (!kUniformG)
      for (int k = 0; k < kNumConductances; ++k) g[k][l] = cells.g[k][src];
    vm[l] = cells.vm[src];
    type[l] = cells.type[src];
  }
  for (int k = 0; k < kNumStates; ++k) tail.s[k] = st[k];
  for (int k = 0; k < kNumConductances; ++k) tail.g[k] = g[k], tail.g_value[k] = cells.g_value[k];
  tail.g_uniform = cells.g_uniform;
  tail.type = type;
  tail.vm = vm;
  tail.iion = iion;
  step_pack<W, kTables, kUniformG>(tail, 0, dt, vm_table, k1_table);
  for (int l = 0; l < n; ++l) {
    for (int k = 0; k < kNumStates; ++k) cells.s[k][i + l] = st[k][l];
    cells.iion[i + l] = iion[l];
  }
}

/// The kernels: `vm_table` null = exact formulas.
void step_baseline(const Cells& cells, std::int64_t begin, std::int64_t end, double dt, const double* vm_table,
                   const double* k1_table) {
  if (vm_table && cells.g_uniform) step_range<2, true, true>(cells, begin, end, dt, vm_table, k1_table);
  else if (vm_table) step_range<2, true, false>(cells, begin, end, dt, vm_table, k1_table);
  else step_range<2, false, false>(cells, begin, end, dt, nullptr, nullptr);
}
#if CT_AVX2_KERNEL
__attribute__((target("arch=x86-64-v3"))) void step_avx2(const Cells& cells, std::int64_t begin, std::int64_t end,
                                                         double dt, const double* vm_table, const double* k1_table) {
  if (vm_table && cells.g_uniform) step_range<4, true, true>(cells, begin, end, dt, vm_table, k1_table);
  else if (vm_table) step_range<4, true, false>(cells, begin, end, dt, vm_table, k1_table);
  else step_range<4, false, false>(cells, begin, end, dt, nullptr, nullptr);
}
bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif
void step_cells(const Cells& cells, std::int64_t begin, std::int64_t end, double dt, const double* vm_table,
                const double* k1_table) {
#if CT_AVX2_KERNEL
  static const bool avx2 = cpu_has_avx2();
  if (avx2) return step_avx2(cells, begin, end, dt, vm_table, k1_table);
#endif
  step_baseline(cells, begin, end, dt, vm_table, k1_table);
}

/// One Vm table for one dt: kVmRows rows of kNumCols values.
struct VmTable {
  std::atomic<double> dt{-1.0};
  std::vector<double> data;
};

class Tp06 final : public detail::SoAModel {
 public:
  explicit Tp06(const nlohmann::json& options)
      : SoAModel(tp06_info(), bounds(), options, {"lookup_tables"}, 1006.0) {
    read_switch(options, "lookup_tables", use_tables_);
    if (use_tables_) {
      k1_table_.resize(kK1Rows);
      for (int r = 0; r < kK1Rows; ++r) k1_table_[r] = xk1_inf(kK1Min + r * kTableStep);
    }
  }

  double initial_vm(int cell_type) const override {
    CARDIOTWIN_CHECK(cell_type >= 0 && cell_type < 3, InvalidInput, "bad cell type code of model 'tp06'",
                     "0..2 (epi, endo, mcell)", cell_type, Where({}, "cell_type"));
    return kInitialVm;
  }

  void step(double dt, const double* vm, double* iion, std::int64_t begin, std::int64_t end) override {
    check_step_range(dt, begin, end);
    if (begin == end) return;
    Cells c = cells();
    c.vm = vm;
    c.iion = iion;
    if (use_tables_) step_cells(c, begin, end, dt, table_for(dt), k1_table_.data());
    else step_cells(c, begin, end, dt, nullptr, nullptr);
  }

 protected:
  double default_parameter(int p, int cell_type) const override {
    return p < kNumConductances ? kDefaults[p][cell_type] : 1.0;
  }
  double initial_state(int k, int /*cell_type*/) const override { return kInitialState[k]; }
  void parameters_changed(int p) override {
    const std::size_t n = static_cast<std::size_t>(num_cells_);
    for (int g = 0; g < kNumConductances; ++g) {
      if (p >= 0 && p != g && p != g + kNumConductances) continue;
      auto& e = effective_[g];
      e.resize(n);
      const auto& abs = params_[g];
      const auto& scale = params_[g + kNumConductances];
      for (std::size_t i = 0; i < n; ++i) e[i] = abs[i] * scale[i];
    }
    uniform_ = n > 0;
    for (int g = 0; g < kNumConductances && uniform_; ++g) {
      const auto& e = effective_[g];
      uniform_ = e.size() == n && std::all_of(e.begin(), e.end(), [&](double v) { return v == e[0]; });
    }
  }

 private:
  static std::vector<detail::ParameterBound> bounds() {
    return std::vector<detail::ParameterBound>(2 * kNumConductances, detail::ParameterBound{0.0, false});
  }

  /// The Vm table for `dt`, built on its first use (~5 ms). Concurrent callers must use the same dt;
  /// a third dt value replaces the least recently built table.
  const double* table_for(double dt) {
    for (auto& t : vm_tables_)
      if (t.dt.load(std::memory_order_acquire) == dt) return t.data.data();
    std::lock_guard<std::mutex> lock(table_mutex_);
    for (auto& t : vm_tables_)
      if (t.dt.load(std::memory_order_acquire) == dt) return t.data.data();
    VmTable& t = vm_tables_[next_table_];
    next_table_ = (next_table_ + 1) % vm_tables_.size();
    t.dt.store(-1.0, std::memory_order_release);
    t.data.resize(std::size_t(kVmRows) * kNumCols);  // allocated once, at the first use of the slot
    for (int r = 0; r < kVmRows; ++r) fill_row(kVmMin + r * kTableStep, dt, &t.data[std::size_t(r) * kNumCols]);
    t.dt.store(dt, std::memory_order_release);
    return t.data.data();
  }

  Cells cells() {
    Cells c;
    for (int k = 0; k < kNumStates; ++k) c.s[k] = states_[k].data();
    for (int k = 0; k < kNumConductances; ++k) c.g[k] = effective_[k].data();
    c.g_uniform = uniform_;
    if (uniform_)
      for (int k = 0; k < kNumConductances; ++k) c.g_value[k] = effective_[k][0];
    c.type = cell_type_.data();
    return c;
  }
  bool use_tables_ = true;
  std::array<std::vector<double>, kNumConductances> effective_;  ///< g_X * g_X_scale per cell
  bool uniform_ = false;  ///< every cell has the same effective conductances
  std::vector<double> k1_table_;
  std::array<VmTable, 2> vm_tables_;
  std::size_t next_table_ = 0;
  std::mutex table_mutex_;
};

}  // namespace

const IonicModelInfo& info_tp06() { return tp06_info(); }
std::unique_ptr<IonicModel> make_tp06(const nlohmann::json& options) { return std::make_unique<Tp06>(options); }

}  // namespace cardiotwin::ep::models
