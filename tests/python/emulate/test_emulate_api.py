"""Designs, the Gaussian-process emulator, validation and Sobol indices (cardiotwin.emulate)."""
from __future__ import annotations

import json
import pickle
import time

import numpy as np
import pytest
from cardiotwin import FileFormatError, FileIOError, InvalidInput, emulate

BOUNDS = {"cv_fibre": (0.4, 0.8), "apd_scale": (0.8, 1.2)}


def branin(x: np.ndarray) -> np.ndarray:
    x1, x2 = x[:, 0], x[:, 1]
    b, c, t = 5.1 / (4 * np.pi ** 2), 5 / np.pi, 1 / (8 * np.pi)
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * np.cos(x1) + 10


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_latin_hypercube_is_stratified_and_seeded():
    x = emulate.latin_hypercube(20, BOUNDS, seed=3)
    assert x.shape == (20, 2) and x.dtype == np.float64
    for j, (lo, hi) in enumerate(BOUNDS.values()):
        strata = np.floor((x[:, j] - lo) / (hi - lo) * 20).astype(int)
        assert sorted(strata) == list(range(20))
    np.testing.assert_array_equal(x, emulate.latin_hypercube(20, BOUNDS, seed=3))
    assert not np.array_equal(x, emulate.latin_hypercube(20, BOUNDS, seed=4))
    # A list of (name, lower, upper) works too, in the same order.
    np.testing.assert_array_equal(x, emulate.latin_hypercube(20, [(n, *b) for n, b in BOUNDS.items()], seed=3))


def test_sobol_known_points_and_uniformity():
    x = emulate.sobol(4, {"a": (0, 1), "b": (0, 1), "c": (0, 1)}, scramble=False)
    np.testing.assert_array_equal(x, [[0, 0, 0], [0.5, 0.5, 0.5], [0.75, 0.25, 0.25], [0.25, 0.75, 0.75]])
    assert emulate.sobol_max_dimension() >= 20
    d = 20
    b = {f"p{i}": (0.0, 1.0) for i in range(d)}
    s = emulate.sobol(128, b, seed=1)
    r = np.random.default_rng(0).random((128, d))
    assert emulate.l2_star_discrepancy(s) < emulate.l2_star_discrepancy(r)
    # Scaled to the bounds.
    xs = emulate.sobol(64, BOUNDS, seed=2)
    assert xs[:, 0].min() >= 0.4 and xs[:, 0].max() <= 0.8


@pytest.mark.parametrize("bad", [{"a": (1.0, 1.0)}, {"a": (2.0, 1.0)}, {"a": (0.0,)}, {}, {"a": ("x", 1)}])
def test_bad_bounds_are_clear_errors(bad):
    with pytest.raises(InvalidInput):
        emulate.latin_hypercube(5, bad)


def test_gp_recovers_branin_with_calibrated_intervals():
    bounds = {"x1": (-5, 10), "x2": (0, 15)}
    x = emulate.latin_hypercube(60, bounds, seed=1, maximin_candidates=10)
    xt = emulate.sobol(512, bounds, seed=2)
    gp = emulate.GaussianProcess(kernel="matern52", mean="linear", seed=0).fit(x, branin(x))
    mean, var = gp.predict(xt)
    assert mean.shape == (512,) and var.shape == (512,)
    report = emulate.validate(gp, xt, branin(xt))
    assert report["r2"][0] > 0.99, report
    assert 0.85 <= report["coverage_95"][0] <= 1.0, report
    assert report["n"] == 512 and report["output_names"] == ["y0"]


def test_gp_intervals_are_calibrated_on_noisy_data():
    # y = f(x) + N(0, 0.1^2): the fitted noise matches, and 95 % intervals for new noisy runs hold 95 %.
    bounds = {"a": (0.0, 1.0), "b": (0.0, 1.0), "c": (0.0, 1.0)}
    rng = np.random.default_rng(0)

    def f(x):
        return np.sin(4 * x[:, 0]) + x[:, 1] ** 2 - 0.5 * x[:, 2]

    x = emulate.latin_hypercube(150, bounds, seed=0)
    xt = emulate.sobol(1024, bounds, seed=10)
    gp = emulate.GaussianProcess(seed=0).fit(x, f(x) + 0.1 * rng.standard_normal(len(x)))
    assert np.sqrt(gp.noise_variance[0]) == pytest.approx(0.1, rel=0.2)
    report = emulate.validate(gp, xt, f(xt) + 0.1 * rng.standard_normal(len(xt)), include_noise=True)
    assert 0.92 <= report["coverage_95"][0] <= 0.98, report
    assert 0.9 <= report["std_std_error"][0] <= 1.1, report


def test_gp_multi_output_names_and_shapes():
    x = emulate.latin_hypercube(40, BOUNDS, seed=0)
    y = np.column_stack([80 / x[:, 0], 300 * x[:, 1] + 10 * x[:, 0]])
    gp = emulate.GaussianProcess(kernel="squared_exponential", mean="constant").fit(
        x, y, input_names=list(BOUNDS), output_names=["qrs_ms", "qt_ms"])
    mean, var = gp.predict(x[:5])
    assert mean.shape == (5, 2) and var.shape == (5, 2)
    np.testing.assert_allclose(mean, y[:5], rtol=1e-3)
    assert gp.input_names == list(BOUNDS) and gp.output_names == ["qrs_ms", "qt_ms"]
    h = gp.hyperparameters("qt_ms")
    assert h["lengthscales"].shape == (2,) and h["signal_variance"] > 0
    # One point as a 1-D array.
    m1, _ = gp.predict(x[0])
    assert m1.shape == (1, 2)


def test_gp_save_load_is_bit_identical_and_pickles(tmp_path):
    x = emulate.latin_hypercube(30, BOUNDS, seed=5)
    y = np.sin(5 * x[:, 0]) + x[:, 1]
    gp = emulate.GaussianProcess(seed=1).fit(x, y)
    xt = emulate.latin_hypercube(50, BOUNDS, seed=6)
    path = tmp_path / "em.json"
    gp.save(path)
    gp2 = emulate.load(path)
    assert isinstance(gp2, emulate.GaussianProcess)
    for a, b in zip(gp.predict(xt), gp2.predict(xt)):
        assert a.shape == (50,)
        np.testing.assert_array_equal(a, b)
    # The file is the C++ format (the Python-only "python" key is ignored there).
    from cardiotwin._core import emulate as core

    np.testing.assert_array_equal(core.GaussianProcess.load(str(path)).predict(xt)[0][:, 0], gp.predict(xt)[0])
    gp3 = pickle.loads(pickle.dumps(gp))
    np.testing.assert_array_equal(gp.predict(xt)[0], gp3.predict(xt)[0])
    assert json.loads(path.read_text())["format"] == "cardiotwin.emulate.GaussianProcess"


def test_gp_load_errors(tmp_path):
    with pytest.raises(FileIOError):
        emulate.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(FileFormatError):
        emulate.load(bad)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "something"}))
    with pytest.raises(FileFormatError, match="not a cardiotwin emulator"):
        emulate.load(other)
    x = emulate.latin_hypercube(10, BOUNDS, seed=0)
    gp = emulate.GaussianProcess().fit(x, x[:, 0] + x[:, 1])
    d = json.loads(gp.to_json())
    d["outputs"][0]["y"] = d["outputs"][0]["y"][:-1]
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text(json.dumps(d))
    with pytest.raises(FileFormatError, match="inconsistent"):
        emulate.load(corrupt)


def test_gp_bad_training_data():
    x = emulate.latin_hypercube(10, BOUNDS, seed=0)
    y = x[:, 0].copy()
    gp = emulate.GaussianProcess()
    with pytest.raises(InvalidInput, match="disagree"):
        gp.fit(x, y[:9])
    y[4] = np.nan
    with pytest.raises(InvalidInput, match="non-finite") as err:
        gp.fit(x, y)
    assert err.value.element == 4
    with pytest.raises(InvalidInput, match="too few"):
        gp.fit(x[:2], x[:2, 0])
    with pytest.raises(InvalidInput):
        emulate.GaussianProcess(kernel="cubic")
    with pytest.raises(InvalidInput, match="not fitted"):
        gp.predict(x)


def test_log_marginal_likelihood_gradient():
    from cardiotwin._core import emulate as core

    u = emulate.latin_hypercube(20, {"a": (0, 1), "b": (0, 1)}, seed=1)
    y = np.sin(4 * u[:, 0]) + u[:, 1]
    y = (y - y.mean()) / y.std()
    p = np.log([0.4, 0.8, 1.2, 1e-2])
    opts = emulate.default_gp_options()
    _, g = core.gp_log_marginal_likelihood(u, y, opts, p)
    for i in range(4):
        e = np.zeros(4)
        e[i] = 1e-5
        fd = (core.gp_log_marginal_likelihood(u, y, opts, p + e)[0]
              - core.gp_log_marginal_likelihood(u, y, opts, p - e)[0]) / 2e-5
        assert g[i] == pytest.approx(fd, rel=1e-5, abs=1e-6)


def test_prediction_is_fast_enough():
    d, k, n = 8, 10, 300
    bounds = {f"p{i}": (0.0, 1.0) for i in range(d)}
    x = emulate.latin_hypercube(n, bounds, seed=0)
    w = np.random.default_rng(0).normal(size=(d, k))
    y = np.sin(x @ w)
    gp = emulate.GaussianProcess(restarts=0, options={"max_iterations": 30}).fit(x, y)
    xt = emulate.latin_hypercube(1000, bounds, seed=1)
    gp.predict(xt[:10])
    t0 = time.perf_counter()
    gp.predict(xt)
    per_point = (time.perf_counter() - t0) / len(xt)
    assert per_point < 1e-3, f"{1e3 * per_point:.3f} ms per parameter set"


def test_sobol_indices_of_ishigami():
    # Analytic values for a = 7, b = 0.1 on [-pi, pi]^3: S = (0.314, 0.442, 0), ST = (0.558, 0.442, 0.244).
    bounds = {"x1": (-np.pi, np.pi), "x2": (-np.pi, np.pi), "x3": (-np.pi, np.pi)}

    class Exact:
        output_names = ("f",)

        def predict(self, x):
            f = ishigami(np.asarray(x))
            return f, np.zeros_like(f)

    s = emulate.sobol_indices(Exact(), bounds, n=8192, seed=0)
    assert s["first"].shape == (3, 1) and s["names"] == list(bounds)
    np.testing.assert_allclose(s["first"][:, 0], [0.314, 0.442, 0.0], atol=0.03)
    np.testing.assert_allclose(s["total"][:, 0], [0.558, 0.442, 0.244], atol=0.03)
    # On a GP emulator of it.
    x = emulate.latin_hypercube(200, bounds, seed=2, maximin_candidates=5)
    gp = emulate.GaussianProcess(kernel="squared_exponential", seed=0).fit(x, ishigami(x))
    s = emulate.sobol_indices(gp, bounds, n=4096, seed=1)
    np.testing.assert_allclose(s["first"][:, 0], [0.314, 0.442, 0.0], atol=0.06)
    np.testing.assert_allclose(s["total"][:, 0], [0.558, 0.442, 0.244], atol=0.06)
