#!/usr/bin/env python3
"""Gaussian-process emulator: fit time, prediction time per parameter set, accuracy.

Prints one JSON object with, per number of inputs d: {"training_runs", "outputs", "fit_s",
"ms_per_set_batch", "ms_per_set_single_call", "r2_min", "coverage_95_mean"}, plus "cpu_count".
The test function has `outputs` smooth outputs sin(2 x W_k) + x0 x1 of d inputs in [0, 1]^d;
accuracy on 2000 held-out Latin-hypercube points. Issue 9 target: under 1 ms per parameter set.

Usage: emulator.py [--runs 300] [--outputs 10] [--inputs 5 10] [--restarts 2]
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
from cardiotwin import emulate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--outputs", type=int, default=10)
    ap.add_argument("--inputs", type=int, nargs="+", default=[5, 10])
    ap.add_argument("--restarts", type=int, default=2)
    a = ap.parse_args()
    out: dict[str, object] = {"cpu_count": os.cpu_count()}
    for d in a.inputs:
        bounds = {f"p{i}": (0.0, 1.0) for i in range(d)}
        w = np.random.default_rng(0).normal(size=(d, a.outputs)) / np.sqrt(d)

        def f(x: np.ndarray, w: np.ndarray = w) -> np.ndarray:
            return np.sin(2 * x @ w) + x[:, :1] * x[:, 1:2]

        x = emulate.latin_hypercube(a.runs, bounds, seed=0)
        t = time.perf_counter()
        gp = emulate.GaussianProcess(seed=0, restarts=a.restarts).fit(x, f(x))
        fit_s = time.perf_counter() - t
        xt = emulate.latin_hypercube(2000, bounds, seed=1)
        gp.predict(xt[:5])
        t = time.perf_counter()
        gp.predict(xt)
        batch = (time.perf_counter() - t) / len(xt)
        t = time.perf_counter()
        for i in range(200):
            gp.predict(xt[i : i + 1])
        single = (time.perf_counter() - t) / 200
        r = emulate.validate(gp, xt, f(xt))
        out[f"inputs_{d}"] = {"training_runs": a.runs, "outputs": a.outputs, "fit_s": round(fit_s, 2),
                              "ms_per_set_batch": round(1e3 * batch, 4),
                              "ms_per_set_single_call": round(1e3 * single, 4),
                              "r2_min": round(float(r["r2"].min()), 4),
                              "coverage_95_mean": round(float(r["coverage_95"].mean()), 3)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
