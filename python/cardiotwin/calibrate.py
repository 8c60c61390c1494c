"""Calibration of a twin's parameters to measured outputs with emulators.

- :func:`history_match`: Bayesian history matching in waves (Craig et al. 1997; Vernon et al.
  2010; in cardiac modelling Coveney & Clayton 2018). A parameter set x is *implausible* for
  output j when
  ``I_j(x) = |z_j - E[f_j(x)]| / sqrt(Var_em[f_j(x)] + V_obs,j + V_disc,j)`` exceeds a cut-off
  (3, by Pukelsheim's three-sigma rule), z the observation, V_obs its variance and V_disc the
  model discrepancy. Each wave fits an emulator to all simulations so far, discards the
  implausible part of the space (largest, or second largest, I_j over outputs), and spends the
  next simulations inside what remains (the "not ruled out yet" space, NROY). The final NROY
  sample is a cheap stand-in for the posterior; the best point is confirmed with the simulator.
- :func:`abc_rejection` and :func:`abc_smc`: approximate Bayesian computation on the emulator
  mean (Beaumont et al. 2009 for the sequential Monte Carlo weights), for a weighted posterior
  sample under a uniform prior within the bounds.

The simulator is any callable ``simulate(X) -> Y`` mapping a batch ``(n, d)`` of parameter sets
to ``(n, k)`` outputs; rows of NaN mark failed runs, which are dropped with a warning. Progress
goes to stderr.

Example::

    from cardiotwin import calibrate
    res = calibrate.history_match(simulate, bounds, observed=[95.0, 390.0],
                                  observation_variance=[4.0, 25.0], discrepancy_variance=[4.0, 25.0])
    print(res.non_implausible_fraction, res.best, res.best_outputs)
"""
from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import emulate
from ._core import InvalidInput
from .io import _error

__all__ = [
    "AbcResult", "HistoryMatchResult", "Wave", "abc_rejection", "abc_smc", "history_match", "implausibility",
]


# ---- implausibility -----------------------------------------------------------------------------

def implausibility(mean: np.ndarray, variance: np.ndarray | float, observed: Any, observation_variance: Any,
                   discrepancy_variance: Any = 0.0) -> np.ndarray:
    """``(m, k)`` implausibility ``|z - mean| / sqrt(variance + V_obs + V_disc)`` per point and output."""
    mean = np.atleast_2d(np.asarray(mean, dtype=np.float64))
    total = np.asarray(variance, dtype=np.float64) + np.asarray(observation_variance, dtype=np.float64) \
        + np.asarray(discrepancy_variance, dtype=np.float64)
    return np.abs(np.asarray(observed, dtype=np.float64) - mean) / np.sqrt(np.maximum(total, 1e-300))


def _criterion(imp: np.ndarray, second_max: bool) -> np.ndarray:
    """Largest (or second largest) implausibility over outputs, per point."""
    if second_max and imp.shape[1] >= 2:
        return np.sort(imp, axis=1)[:, -2]
    return imp.max(axis=1)


# ---- results ------------------------------------------------------------------------------------

@dataclass
class Wave:
    """One wave of history matching."""
    index: int
    emulator: Any                      #: fitted on every simulation before this wave's new runs
    n_training: int                    #: simulations the emulator saw
    non_implausible_fraction: float    #: of the original parameter space
    n_non_implausible: int             #: candidates kept (the NROY sample of this wave)
    n_runs: int = 0                    #: new simulations run in this wave
    n_failed: int = 0                  #: of which failed (NaN) and were dropped
    max_emulator_sd_ratio: float = np.nan  #: max over NROY/outputs of sd_em / sqrt(V_obs + V_disc)


@dataclass
class HistoryMatchResult:
    """What :func:`history_match` found."""
    parameter_names: list[str]
    output_names: list[str]
    waves: list[Wave]
    posterior_sample: np.ndarray       #: (m, d) final non-implausible sample
    X: np.ndarray                      #: (n, d) every successful simulation's parameters
    Y: np.ndarray                      #: (n, k) and outputs
    best: np.ndarray                   #: (d,) simulated parameter set closest to the observation
    best_outputs: np.ndarray           #: (k,) its simulated outputs
    best_implausibility: float         #: its largest implausibility (simulator, no emulator variance)
    emulator: Any                      #: the last wave's emulator
    n_failed: int = 0                  #: simulations that failed over all waves
    observed: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def non_implausible_fraction(self) -> list[float]:
        """Non-implausible fraction of the original space after each wave."""
        return [w.non_implausible_fraction for w in self.waves]

    def summary(self) -> dict[str, Any]:
        """Plain numbers (JSON-ready)."""
        return {
            "parameter_names": self.parameter_names,
            "output_names": self.output_names,
            "non_implausible_fraction": self.non_implausible_fraction,
            "runs_per_wave": [w.n_runs for w in self.waves],
            "simulations": len(self.X),
            "failed": int(self.n_failed),
            "best": dict(zip(self.parameter_names, map(float, self.best))),
            "best_outputs": dict(zip(self.output_names, map(float, self.best_outputs))),
            "observed": dict(zip(self.output_names, map(float, self.observed))),
            "best_implausibility": float(self.best_implausibility),
            "posterior_mean": dict(zip(self.parameter_names, map(float, self.posterior_sample.mean(0))))
            if len(self.posterior_sample) else {},
            "posterior_sd": dict(zip(self.parameter_names, map(float, self.posterior_sample.std(0))))
            if len(self.posterior_sample) else {},
        }


@dataclass
class AbcResult:
    """A weighted posterior sample from ABC."""
    parameter_names: list[str]
    sample: np.ndarray                 #: (m, d)
    weights: np.ndarray                #: (m,), summing to 1
    distances: np.ndarray              #: (m,)
    tolerances: list[float]            #: per generation (one for rejection ABC)
    n_evaluations: int                 #: emulator evaluations

    def mean(self) -> np.ndarray:
        return self.weights @ self.sample

    def sd(self) -> np.ndarray:
        return np.sqrt(self.weights @ (self.sample - self.mean()) ** 2)


# ---- helpers ------------------------------------------------------------------------------------

def _log(progress: bool, message: str) -> None:
    if progress:
        print(f"[cardiotwin.calibrate] {message}", file=sys.stderr, flush=True)


def _run(simulate: Callable[[np.ndarray], Any], x: np.ndarray, k: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    """Simulate `x`, drop failed (non-finite) rows with a warning; (x_ok, y_ok, n_failed)."""
    y = np.asarray(simulate(np.ascontiguousarray(x)), dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None] if len(y) == len(x) else y[None, :]
    if y.shape[0] != len(x) or (k is not None and y.shape[1] != k):
        raise _error(InvalidInput, "simulator returned the wrong shape",
                     expected=f"({len(x)}, {k if k is not None else 'k'})", found=str(y.shape), field="simulate")
    ok = np.isfinite(y).all(axis=1)
    failed = int((~ok).sum())
    if failed:
        warnings.warn(f"{failed} of {len(x)} simulations failed (non-finite outputs); dropped", RuntimeWarning,
                      stacklevel=3)
    return x[ok], y[ok], failed


def _spread_subset(points: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """`m` rows of `points` chosen greedily far apart (farthest-point sampling, unit-scaled)."""
    if len(points) <= m:
        return points
    pool = points[rng.choice(len(points), size=min(len(points), 4000), replace=False)]
    lo, hi = pool.min(0), pool.max(0)
    u = (pool - lo) / np.where(hi > lo, hi - lo, 1.0)
    chosen = [int(rng.integers(len(u)))]
    dist = ((u - u[chosen[0]]) ** 2).sum(1)
    for _ in range(m - 1):
        i = int(np.argmax(dist))
        chosen.append(i)
        dist = np.minimum(dist, ((u - u[i]) ** 2).sum(1))
    return pool[chosen]


def _padded_box(sample: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounding box of `sample`, padded by 10 % of its span (at least 2 % of the range), within lo/hi."""
    span = sample.max(0) - sample.min(0)
    pad = np.maximum(0.1 * span, 0.02 * (hi - lo))
    return np.maximum(lo, sample.min(0) - pad), np.minimum(hi, sample.max(0) + pad)


def _as_vector(v: Any, k: int, name: str) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    if a.ndim == 0:
        a = np.full(k, float(a))
    if a.shape != (k,):
        raise _error(InvalidInput, f"bad {name}", expected=f"a number or {k} numbers (one per output)",
                     found=f"shape {a.shape}", field=name)
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise _error(InvalidInput, f"bad {name}", expected="finite numbers >= 0", found=str(a.tolist()), field=name)
    return a


# ---- history matching ---------------------------------------------------------------------------

def history_match(simulate: Callable[[np.ndarray], Any], bounds: emulate.BoundsLike, observed: Any,
                  observation_variance: Any, discrepancy_variance: Any = 0.0, *,
                  emulator_factory: Callable[[], Any] | None = None, n_initial: int | None = None,
                  n_per_wave: int | None = None, n_waves: int = 4, n_candidates: int = 20000,
                  threshold: float = 3.0, second_max: bool = False, n_check: int = 5, min_sample: int = 500,
                  output_names: Sequence[str] | None = None, seed: int = 0, progress: bool = True,
                  X_initial: np.ndarray | None = None, Y_initial: np.ndarray | None = None) -> HistoryMatchResult:
    """Bayesian history matching in waves.

    `simulate` maps ``(n, d)`` parameter sets to ``(n, k)`` outputs (NaN rows: failed runs);
    `observed` ``(k,)``; `observation_variance` and `discrepancy_variance` numbers or ``(k,)``.
    `emulator_factory()` returns an unfitted emulator with ``fit(X, Y)`` and ``predict(X) ->
    (mean, var)`` (default: :class:`~cardiotwin.emulate.GaussianProcess` seeded with `seed`).
    The first design is a maximin Latin hypercube of `n_initial` (default ``10 d``) points (or the
    given `X_initial`/`Y_initial`); each later wave adds `n_per_wave` (default `n_initial`)
    space-filling simulations drawn from the current non-implausible sample. Candidates: `n_candidates`
    uniform points in the padded bounding box of the previous wave's non-implausible sample, kept
    when every wave's emulator finds them non-implausible (criterion: largest implausibility over
    outputs, or the second largest with `second_max`, below `threshold`); a sample smaller than
    `min_sample` is refined inside its own padded bounding box. Stops early when the
    space is empty or the emulator's uncertainty is below a tenth of the observation's. Finally the
    `n_check` least implausible candidates are simulated and the best simulation (smallest largest
    implausibility without emulator variance) is returned with the last sample as the posterior
    sample.
    """
    blist = emulate.bounds_list(bounds)
    names = [b[0] for b in blist]
    d = len(blist)
    lo = np.array([b[1] for b in blist])
    hi = np.array([b[2] for b in blist])
    z = np.asarray(observed, dtype=np.float64).ravel()
    k = len(z)
    if not np.all(np.isfinite(z)):
        raise _error(InvalidInput, "non-finite observation", expected="finite observed outputs",
                     found=str(z.tolist()), field="observed")
    v_obs = _as_vector(observation_variance, k, "observation_variance")
    v_disc = _as_vector(discrepancy_variance, k, "discrepancy_variance")
    if not np.all(v_obs + v_disc > 0):
        raise _error(InvalidInput, "zero observation and discrepancy variance",
                     expected="observation_variance + discrepancy_variance > 0 for every output",
                     found=str((v_obs + v_disc).tolist()), field="observation_variance")
    n_initial = int(n_initial or 10 * d)
    n_per_wave = int(n_per_wave or n_initial)
    if n_initial < d + 2:
        raise _error(InvalidInput, "too few initial simulations", expected=f">= {d + 2} (parameters + 2)",
                     found=str(n_initial), field="n_initial")
    rng = np.random.default_rng(seed)
    factory = emulator_factory or (lambda: emulate.GaussianProcess(seed=seed))
    out_names = list(output_names or [f"y{i}" for i in range(k)])

    def nonimplausible(emulators: list[Any], x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        keep = np.ones(len(x), dtype=bool)
        crit = np.zeros(len(x))
        sd_ratio = np.zeros(len(x))
        for j, em in enumerate(emulators):
            idx = np.flatnonzero(keep)
            if not len(idx):
                break
            mean, var = em.predict(x[idx])
            mean = np.asarray(mean).reshape(len(idx), -1)
            var = np.asarray(var).reshape(len(idx), -1)
            c = _criterion(implausibility(mean, var, z, v_obs, v_disc), second_max)
            keep[idx] = c < threshold
            if j == len(emulators) - 1:
                crit[idx] = c
                sd_ratio[idx] = (np.sqrt(var) / np.sqrt(v_obs + v_disc)).max(1)
        return keep, crit, sd_ratio

    # Wave 0: the initial design.
    if X_initial is not None:
        X = np.asarray(X_initial, dtype=np.float64)
        if Y_initial is None:
            X, Y, failed = _run(simulate, X, k)
        else:
            Y = np.asarray(Y_initial, dtype=np.float64).reshape(len(X), k)
            ok = np.isfinite(Y).all(1)
            failed = int((~ok).sum())
            X, Y = X[ok], Y[ok]
    else:
        X0 = emulate.latin_hypercube(n_initial, blist, seed=seed, maximin_candidates=10)
        X, Y, failed = _run(simulate, X0, k)
    n_failed = failed
    _log(progress, f"initial design: {len(X)} simulations ({failed} failed)")

    emulators: list[Any] = []
    waves: list[Wave] = []
    box_lo, box_hi = lo.copy(), hi.copy()
    sample = np.zeros((0, d))
    for w in range(1, int(n_waves) + 1):
        if len(X) < d + 2:
            raise _error(InvalidInput, "too few successful simulations to fit an emulator",
                         expected=f">= {d + 2}", found=str(len(X)), field="simulate")
        em = factory().fit(X, Y, input_names=names, output_names=out_names)
        emulators.append(em)
        cand = box_lo + (box_hi - box_lo) * emulate.sobol(n_candidates, [(f"u{i}", 0.0, 1.0) for i in range(d)],
                                                          seed=seed + w)
        keep, crit, sd_ratio = nonimplausible(emulators, cand)
        box_fraction = float(np.prod((box_hi - box_lo) / (hi - lo)))
        fraction = float(keep.mean()) * box_fraction
        wave = Wave(index=w, emulator=em, n_training=len(X), non_implausible_fraction=fraction,
                    n_non_implausible=int(keep.sum()),
                    max_emulator_sd_ratio=float(sd_ratio[keep].max()) if keep.any() else np.nan)
        waves.append(wave)
        if not keep.any():
            _log(progress, f"wave {w}: no non-implausible candidates left; stopping (check the observation, "
                           "its variance and the model discrepancy)")
            break
        sample = cand[keep]
        best_crit = crit[keep]
        hits = int(keep.sum())
        # A small non-implausible region gets few candidates: refine within its padded bounding box
        # until the sample has `min_sample` points. The fraction estimate with the most hits is
        # kept (it assumes the region lies inside the padded box).
        refined = False
        for r in range(11):
            # Refine while the sample is small; once, at the end, estimate the fraction again in
            # the padded box of the whole refined sample (the box most likely to contain the region).
            if len(sample) >= min_sample and (refined or r == 0):
                if not refined:
                    break
                last = True
            else:
                last = False
            rlo, rhi = _padded_box(sample, lo, hi)
            cand = rlo + (rhi - rlo) * emulate.sobol(n_candidates, [(f"u{i}", 0.0, 1.0) for i in range(d)],
                                                     seed=seed + 1000 * w + r + 1)
            keep_r, crit_r, _ = nonimplausible(emulators, cand)
            if last or keep_r.sum() > hits:
                hits = int(keep_r.sum())
                fraction = float(keep_r.mean()) * float(np.prod((rhi - rlo) / (hi - lo)))
            sample = np.vstack([sample, cand[keep_r]])
            best_crit = np.concatenate([best_crit, crit_r[keep_r]])
            refined = True
            if last:
                break
        wave.non_implausible_fraction = fraction
        wave.n_non_implausible = len(sample)
        _log(progress, f"wave {w}: {100 * fraction:.3g} % of the space non-implausible "
                       f"({len(sample)} points sampled, emulator on {len(X)} runs)")
        # Next wave samples within the padded bounding box of this sample.
        box_lo, box_hi = _padded_box(sample, lo, hi)
        if w == int(n_waves) or wave.max_emulator_sd_ratio < 0.1:
            if wave.max_emulator_sd_ratio < 0.1:
                _log(progress, f"wave {w}: emulator uncertainty below a tenth of the observation's; stopping")
            break
        new = _spread_subset(sample, n_per_wave, rng)
        xn, yn, failed = _run(simulate, new, k)
        wave.n_runs, wave.n_failed = len(new), failed
        n_failed += failed
        X, Y = np.vstack([X, xn]), np.vstack([Y, yn])

    # Check the most promising candidates with the simulator.
    if len(sample) and n_check > 0:
        order = np.argsort(best_crit)[: int(n_check)]
        xc, yc, failed = _run(simulate, sample[order], k)
        n_failed += failed
        if waves:
            waves[-1].n_runs += len(order)
            waves[-1].n_failed += failed
        X, Y = np.vstack([X, xc]), np.vstack([Y, yc])
    sim_imp = implausibility(Y, 0.0, z, v_obs, v_disc)
    sim_crit = sim_imp.max(1)
    ib = int(np.argmin(sim_crit))
    _log(progress, f"best simulation: largest implausibility {sim_crit[ib]:.3g} at "
                   + ", ".join(f"{n}={v:.4g}" for n, v in zip(names, X[ib])))
    return HistoryMatchResult(parameter_names=names, output_names=out_names, waves=waves, posterior_sample=sample,
                              X=X, Y=Y, best=X[ib].copy(), best_outputs=Y[ib].copy(),
                              best_implausibility=float(sim_crit[ib]),
                              emulator=emulators[-1] if emulators else None, n_failed=n_failed, observed=z)


# ---- ABC ----------------------------------------------------------------------------------------

def _distance_fn(emulator: Any, observed: Any, observation_variance: Any, discrepancy_variance: Any,
                 use_emulator_variance: bool) -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    z = np.asarray(observed, dtype=np.float64).ravel()
    k = len(z)
    v = _as_vector(observation_variance, k, "observation_variance") + \
        _as_vector(discrepancy_variance, k, "discrepancy_variance")
    if not np.all(v > 0):
        raise _error(InvalidInput, "zero observation and discrepancy variance",
                     expected="observation_variance + discrepancy_variance > 0", found=str(v.tolist()),
                     field="observation_variance")

    def dist(x: np.ndarray) -> np.ndarray:
        mean, var = emulator.predict(x)
        mean = np.asarray(mean).reshape(len(x), k)
        tot = v + (np.asarray(var).reshape(len(x), k) if use_emulator_variance else 0.0)
        return np.sqrt((((mean - z) ** 2) / tot).mean(1))

    return dist, k


def abc_rejection(emulator: Any, bounds: emulate.BoundsLike, observed: Any, observation_variance: Any,
                  discrepancy_variance: Any = 0.0, *, n: int = 100000, keep: int = 1000,
                  use_emulator_variance: bool = True, seed: int = 0) -> AbcResult:
    """Rejection ABC on the emulator: `n` draws from the uniform prior within `bounds`, the `keep`
    with the smallest distance ``sqrt(mean_j (mean_j - z_j)^2 / (V_obs + V_disc + Var_em))`` kept
    (equal weights)."""
    blist = emulate.bounds_list(bounds)
    dist, _ = _distance_fn(emulator, observed, observation_variance, discrepancy_variance, use_emulator_variance)
    x = emulate.sobol(int(n), blist, seed=seed)
    dd = dist(x)
    order = np.argsort(dd)[: int(keep)]
    return AbcResult(parameter_names=[b[0] for b in blist], sample=x[order], weights=np.full(len(order), 1 / len(order)),
                     distances=dd[order], tolerances=[float(dd[order[-1]])], n_evaluations=int(n))


def abc_smc(emulator: Any, bounds: emulate.BoundsLike, observed: Any, observation_variance: Any,
            discrepancy_variance: Any = 0.0, *, n_particles: int = 1000, n_generations: int = 10,
            quantile: float = 0.5, final_tolerance: float = 1.0, use_emulator_variance: bool = True,
            max_evaluations: int = 2_000_000, seed: int = 0, progress: bool = False) -> AbcResult:
    """ABC-SMC on the emulator (Beaumont et al. 2009): a uniform prior within `bounds`; each
    generation's tolerance is the `quantile` of the previous generation's distances (not below
    `final_tolerance`, 1: within the observation's and discrepancy's standard deviation, where it
    stops); particles are resampled by weight and moved with a Gaussian kernel of twice
    the weighted covariance; weights = prior / sum_j w_j K(x | x_j). Stops after `n_generations` or
    when `max_evaluations` emulator evaluations are spent."""
    blist = emulate.bounds_list(bounds)
    d = len(blist)
    lo = np.array([b[1] for b in blist])
    hi = np.array([b[2] for b in blist])
    dist, _ = _distance_fn(emulator, observed, observation_variance, discrepancy_variance, use_emulator_variance)
    rng = np.random.default_rng(seed)
    n_particles = int(n_particles)
    # Generation 0: the prior.
    x = lo + (hi - lo) * rng.random((n_particles, d))
    dd = dist(x)
    w = np.full(n_particles, 1 / n_particles)
    evals = n_particles
    tolerances: list[float] = [float(np.inf)]
    for g in range(1, int(n_generations) + 1):
        eps = max(float(np.quantile(dd, quantile)), float(final_tolerance))
        mean = w @ x
        cov = 2 * ((x - mean).T * w) @ (x - mean) + 1e-12 * np.diag((hi - lo) ** 2)
        chol = np.linalg.cholesky(cov)
        inv_chol = np.linalg.inv(chol)
        new_x = np.zeros((0, d))
        new_d = np.zeros(0)
        while len(new_x) < n_particles and evals < max_evaluations:
            m = max(2 * (n_particles - len(new_x)), 256)
            parents = x[rng.choice(len(x), size=m, p=w)]
            prop = parents + rng.standard_normal((m, d)) @ chol.T
            prop = prop[np.all((prop >= lo) & (prop <= hi), axis=1)]
            if not len(prop):
                continue
            pd = dist(prop)
            evals += len(prop)
            acc = pd <= eps
            new_x = np.vstack([new_x, prop[acc]])
            new_d = np.concatenate([new_d, pd[acc]])
        if len(new_x) < n_particles // 10:
            _log(progress, f"ABC-SMC generation {g}: too few acceptances; stopping")
            break
        new_x, new_d = new_x[:n_particles], new_d[:n_particles]
        # Importance weights under the uniform prior: 1 / sum_j w_j K(x | x_j).
        a, b = new_x @ inv_chol.T, x @ inv_chol.T  # Mahalanobis distances through the Cholesky factor
        d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
        kern = np.exp(-0.5 * np.maximum(d2, 0.0))
        nw = 1 / np.maximum(kern @ w, 1e-300)
        w = nw / nw.sum()
        x, dd = new_x, new_d
        tolerances.append(eps)
        _log(progress, f"ABC-SMC generation {g}: tolerance {eps:.3g}, {evals} emulator evaluations")
        if evals >= max_evaluations or eps <= final_tolerance:
            break
    return AbcResult(parameter_names=[b[0] for b in blist], sample=x, weights=w, distances=dd,
                     tolerances=tolerances, n_evaluations=int(evals))
