#!/usr/bin/env python3
"""Emulator prediction time and the wall time of calibrating one twin.

Prints one JSON object:
{"emulator": {"training_runs", "parameters", "outputs", "fit_s", "batch_points",
              "ms_per_point_batch", "ms_per_point_single_call", "single_calls"},
 "calibration": {"mesh_size_mm", "simulations", "wall_s", "seconds_per_simulation",
                 "errors_pct_of_range": {parameter: %}, "best_implausibility"},
 "targets": {"prediction_ms": 1, "calibration_s": 600}, "cpu_count"}

Usage: calibration.py [--mesh-size-mm 3] [--training 60] [--quick]

The emulator is cardiotwin.emulate.GaussianProcess (Matern 5/2, linear mean) fitted to
`--training` twin-model runs (4 EP parameters -> 6 ECG features). Prediction time is given for a
batch of 10 000 parameter sets (the way history matching uses it) and for one parameter set per
call (latency, mean and variance). The calibration is the synthetic problem of
examples/python/calibrate_ecg.py: history matching (4 waves) to an ECG simulated at known
parameters, the best candidates checked with the simulator; its wall time counts everything
(simulations, emulator fits, candidate screening). Issue 9 targets: under 1 ms per prediction,
under 10 minutes per calibrated twin.
"""
from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np

from cardiotwin import calibrate, emulate
from cardiotwin.twin_model import TwinModel, TwinModelWarning

FEATURES = ["qrs_duration_ms", "qt_ms", "axis_deg", "rs_ratio_I", "rs_ratio_V4", "rs_ratio_V6"]
BOUNDS = {"cv_cross_mm_per_ms": (0.15, 0.45), "fast_layer_mm_per_ms": (0.8, 3.0),
          "rv_delay_ms": (-5.0, 20.0), "apd_ms": (220.0, 340.0)}
TRUTH = np.array([0.28, 1.6, 8.0, 290.0])
OBS_SD = np.array([1.5, 3.0, 3.0, 0.03, 0.03, 0.03])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mesh-size-mm", type=float, default=3.0)
    ap.add_argument("--training", type=int, default=60)
    ap.add_argument("--quick", action="store_true", help="4 mm mesh, 30 training runs, 2 waves")
    args = ap.parse_args()
    if args.quick:
        args.mesh_size_mm, args.training = 4.0, 30
    names = list(BOUNDS)
    model = TwinModel(mesh_size_mm=args.mesh_size_mm, features=FEATURES, threads=1)

    def simulate(X: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TwinModelWarning)
            return model.simulate(X, names)

    # ---- emulator
    X = emulate.latin_hypercube(args.training, BOUNDS, seed=0, maximin_candidates=10)
    Y = simulate(X)
    ok = np.isfinite(Y).all(1)
    t0 = time.perf_counter()
    gp = emulate.GaussianProcess(kernel="matern52", mean="linear", restarts=1, seed=0, threads=1).fit(X[ok], Y[ok])
    fit_s = time.perf_counter() - t0
    Xb = emulate.sobol(10000, BOUNDS, seed=1)
    gp.predict(Xb[:10])
    t0 = time.perf_counter()
    gp.predict(Xb)
    batch = (time.perf_counter() - t0) / len(Xb)
    calls = 2000
    t0 = time.perf_counter()
    for i in range(calls):
        gp.predict(Xb[i:i + 1])
    single = (time.perf_counter() - t0) / calls
    em = {"training_runs": int(ok.sum()), "parameters": len(names), "outputs": len(FEATURES),
          "fit_s": round(fit_s, 3), "batch_points": len(Xb), "ms_per_point_batch": round(1000 * batch, 5),
          "ms_per_point_single_call": round(1000 * single, 4), "single_calls": calls}

    # ---- one calibration
    observed = simulate(TRUTH[None])[0]
    d = len(names)
    t0 = time.perf_counter()
    res = calibrate.history_match(
        simulate, BOUNDS, observed, observation_variance=OBS_SD ** 2,
        n_initial=(6 if args.quick else 10) * d, n_per_wave=(4 if args.quick else 8) * d,
        n_waves=2 if args.quick else 4, n_candidates=20000, output_names=FEATURES, seed=1, progress=False,
        emulator_factory=lambda: emulate.GaussianProcess(kernel="matern52", mean="linear", restarts=1, seed=1,
                                                         threads=1))
    wall = time.perf_counter() - t0
    lo = np.array([b[0] for b in BOUNDS.values()])
    hi = np.array([b[1] for b in BOUNDS.values()])
    cal = {"mesh_size_mm": args.mesh_size_mm, "simulations": int(len(res.X)), "wall_s": round(wall, 2),
           "seconds_per_simulation": round(wall / max(1, len(res.X)), 3),
           "errors_pct_of_range": {n: round(float(100 * abs(res.best[i] - TRUTH[i]) / (hi[i] - lo[i])), 2)
                                   for i, n in enumerate(names)},
           "best_implausibility": round(float(res.best_implausibility), 3)}
    print(json.dumps({"emulator": em, "calibration": cal, "targets": {"prediction_ms": 1, "calibration_s": 600},
                      "cpu_count": os.cpu_count()}, indent=1))


if __name__ == "__main__":
    main()
