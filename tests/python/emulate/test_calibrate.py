"""History matching and ABC recover known parameters of an analytic simulator (cardiotwin.calibrate)."""
from __future__ import annotations

import numpy as np
import pytest
from cardiotwin import InvalidInput, calibrate, emulate

BOUNDS = {"cv": (0.3, 1.0), "apd_scale": (0.8, 1.2), "root_ms": (0.0, 20.0)}
TRUE = np.array([0.6, 1.05, 8.0])
RANGE = np.array([hi - lo for lo, hi in BOUNDS.values()])


def simulate(x: np.ndarray) -> np.ndarray:
    """Stand-in for a twin: QRS, QT and an amplitude from conduction velocity, APD scaling and a
    root-node delay. Runs with cv < 0.33 'fail' (NaN), like a simulation that did not propagate."""
    x = np.atleast_2d(x)
    cv, apd, root = x[:, 0], x[:, 1], x[:, 2]
    y = np.column_stack([40 / cv + 0.8 * root + 4 * np.sin(12 * cv * apd), 320 * apd + 20 / cv + 0.1 * root ** 2,
                         2.0 * cv + 0.05 * root + 0.3 * np.cos(0.4 * root), root + 10 * apd])
    y[cv < 0.33] = np.nan
    return y


OBS = simulate(TRUE)[0]
V_OBS = np.array([1.0, 4.0, 0.001, 0.25])


def test_history_matching_recovers_known_parameters(capsys):
    with pytest.warns(RuntimeWarning, match="failed"):
        res = calibrate.history_match(simulate, BOUNDS, OBS, V_OBS, 0.0, n_initial=30, n_per_wave=20, n_waves=4,
                                      n_candidates=8192, seed=0, output_names=["qrs", "qt", "amp", "x"])
    frac = res.non_implausible_fraction
    assert 1 <= len(frac) <= 4
    assert len(frac) >= 2 and frac[-1] < 0.01  # a second wave ran; the space shrank a hundredfold
    err = np.abs(res.best - TRUE) / RANGE
    print("history matching: relative errors of the best simulation", err, "fractions", frac)
    assert np.all(err < 0.03), (res.best, TRUE)
    assert res.best_implausibility < 3
    post = res.posterior_sample
    assert len(post) >= 500
    assert np.all(np.abs(post.mean(0) - TRUE) < 3 * post.std(0) + 0.01 * RANGE)
    assert np.all((post.min(0) <= TRUE + 0.01 * RANGE) & (post.max(0) >= TRUE - 0.01 * RANGE))
    assert res.n_failed > 0 and np.isfinite(res.Y).all()
    s = res.summary()
    assert s["best"].keys() == set(BOUNDS) and s["output_names"] == ["qrs", "qt", "amp", "x"]
    assert "wave 1" in capsys.readouterr().err


def test_abc_on_the_emulator_recovers_known_parameters():
    x = emulate.latin_hypercube(120, BOUNDS, seed=1, maximin_candidates=5)
    x = x[x[:, 0] >= 0.33]
    gp = emulate.GaussianProcess(seed=0).fit(x, simulate(x))
    rej = calibrate.abc_rejection(gp, BOUNDS, OBS, V_OBS, n=20000, keep=200, seed=0)
    assert rej.sample.shape == (200, 3)
    assert np.all(np.abs(rej.mean() - TRUE) / RANGE < 0.05), rej.mean()
    smc = calibrate.abc_smc(gp, BOUNDS, OBS, V_OBS, n_particles=400, seed=0)
    err = np.abs(smc.mean() - TRUE) / RANGE
    print("ABC-SMC: relative errors of the posterior mean", err, "sd", smc.sd() / RANGE)
    assert np.all(err < 0.03), smc.mean()
    assert smc.tolerances[-1] < smc.tolerances[1]
    assert np.isclose(smc.weights.sum(), 1)


def test_implausibility_and_bad_inputs():
    imp = calibrate.implausibility(np.array([[1.0, 2.0]]), np.array([[0.0, 3.0]]), [2.0, 2.0], [1.0, 1.0])
    np.testing.assert_allclose(imp, [[1.0, 0.0]])
    with pytest.raises(InvalidInput):
        calibrate.history_match(simulate, BOUNDS, OBS, [1.0, 2.0], n_initial=10, progress=False)
    with pytest.raises(InvalidInput):
        calibrate.history_match(simulate, BOUNDS, OBS, 0.0, 0.0, n_initial=10, progress=False)
