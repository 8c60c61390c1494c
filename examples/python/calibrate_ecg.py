#!/usr/bin/env python3
"""Calibrate a twin to a 12-lead ECG: first a synthetic ECG with known parameters, then real ones.

The twin is :class:`cardiotwin.twin_model.TwinModel` (idealised biventricular heart, reaction-
Eikonal activation with a fast sub-endocardial layer, pseudo-ECG). The calibration is Bayesian
history matching in waves (:func:`cardiotwin.calibrate.history_match`) with Gaussian-process
emulators (:class:`cardiotwin.emulate.GaussianProcess`) of the ECG features, the best
candidates checked with the simulator.

(a) Synthetic: an ECG simulated at known parameters (heart size known, as from imaging) is the
    observation; the script reports each parameter's error (best simulated twin and the mean of
    the final non-implausible sample) relative to its prior range, and whether the truth stayed
    non-implausible.
(b) Real: the PTB-XL records bundled in tests/data/ecg/ptbxl (heart size unknown, so the scale is
    calibrated too). The fit is reported as the best twin's QRS, QT and axis against the measured
    ones and the per-lead correlation of the best twin's ECG with the measured median beat
    (:func:`cardiotwin.ecg.compare`, after the best alignment); ``calibrate_<record>.png`` shows
    both ECGs.

Features: QRS duration, QT, electrical axis and R/(R+|S|) in leads I, V4 and V6 (morphology
without amplitudes, which the pseudo-ECG without a torso does not reproduce); for the real ECGs
also the T amplitude relative to the QRS in II and V5, with the apex-to-base APD difference
calibrated.

Usage:
    python examples/python/calibrate_ecg.py [--quick] [--part synthetic|real|both]
        [--records HR06004 HR06007] [--mesh-size-mm 3] [--out DIR]

Prints one JSON object. --quick: a 4 mm mesh and fewer simulations (about a minute).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from cardiotwin import calibrate, ecg, emulate
from cardiotwin.twin_model import TwinModel, TwinModelWarning

REPO = Path(__file__).resolve().parents[2]
PTBXL = REPO / "tests" / "data" / "ecg" / "ptbxl"

FEATURES = ["qrs_duration_ms", "qt_ms", "axis_deg", "rs_ratio_I", "rs_ratio_V4", "rs_ratio_V6"]

# Synthetic problem: anatomy known (scale 1), four EP parameters unknown.
SYNTHETIC_BOUNDS = {"cv_cross_mm_per_ms": (0.15, 0.45), "fast_layer_mm_per_ms": (0.8, 3.0),
                    "rv_delay_ms": (-5.0, 20.0), "apd_ms": (220.0, 340.0)}
SYNTHETIC_TRUTH = {"cv_cross_mm_per_ms": 0.28, "fast_layer_mm_per_ms": 1.6, "rv_delay_ms": 8.0, "apd_ms": 290.0}
# Observation error of the features of a simulated ECG sampled at 1 ms (delineation on 1 ms
# samples, small-amplitude ratios), as standard deviations.
SYNTHETIC_OBS_SD = [1.5, 3.0, 3.0, 0.03, 0.03, 0.03]

# Real problem: heart size unknown too.
REAL_BOUNDS = {"scale": (0.85, 1.3), "cv_cross_mm_per_ms": (0.15, 0.45), "fast_layer_mm_per_ms": (0.5, 3.0),
               "rv_delay_ms": (-10.0, 25.0), "apd_ms": (200.0, 360.0), "apd_apicobasal_ms": (-40.0, 160.0)}
# The real ECGs also constrain the T wave: its amplitude relative to the QRS in II and V5.
REAL_FEATURES = FEATURES + ["t_rel_II", "t_rel_V5"]
# Measurement error of a clinical ECG's delineation (a few ms on intervals, ~10 deg on the axis)
# and model discrepancy (an idealised heart and a pseudo-ECG cannot match a patient's morphology).
REAL_OBS_SD = [5.0, 10.0, 10.0, 0.05, 0.05, 0.05, 0.05, 0.05]
REAL_DISC_SD = [5.0, 15.0, 15.0, 0.1, 0.1, 0.1, 0.15, 0.15]


def simulator(model: TwinModel, names: list[str]) -> Any:
    def simulate(X: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TwinModelWarning)  # failed runs are NaN rows, counted by the caller
            return model.simulate(X, names)
    return simulate


def run_history_matching(model: TwinModel, bounds: dict, observed: np.ndarray, obs_sd: list[float],
                         disc_sd: list[float] | None, quick: bool, seed: int) -> tuple[Any, float]:
    """History matching of `model`'s features (its ``feature_names``) to `observed`."""
    names = list(bounds)
    d = len(names)
    t0 = time.perf_counter()
    res = calibrate.history_match(
        simulator(model, names), bounds, observed,
        observation_variance=np.square(obs_sd),
        discrepancy_variance=np.square(disc_sd) if disc_sd is not None else 0.0,
        n_initial=(6 if quick else 10) * d, n_per_wave=(4 if quick else 8) * d,
        n_waves=3 if quick else 4, n_candidates=10000 if quick else 20000, n_check=5,
        output_names=list(model.feature_names), seed=seed, progress=True,
        emulator_factory=lambda: emulate.GaussianProcess(kernel="matern52", mean="linear", restarts=1,
                                                         seed=seed, threads=1))
    return res, time.perf_counter() - t0


def synthetic(args: argparse.Namespace, model: TwinModel) -> dict[str, Any]:
    names = list(SYNTHETIC_BOUNDS)
    truth = np.array([SYNTHETIC_TRUTH[n] for n in names])
    observed = model.simulate(truth[None], names)[0]
    if not np.isfinite(observed).all():
        raise RuntimeError("the synthetic ECG has unmeasurable features")
    res, wall = run_history_matching(model, SYNTHETIC_BOUNDS, observed, SYNTHETIC_OBS_SD, None, args.quick, args.seed)
    lo = np.array([b[0] for b in SYNTHETIC_BOUNDS.values()])
    hi = np.array([b[1] for b in SYNTHETIC_BOUNDS.values()])
    post = res.posterior_sample
    mean = post.mean(0) if len(post) else np.full(len(names), np.nan)
    sd = post.std(0) if len(post) else np.full(len(names), np.nan)
    inside = bool(len(post)) and bool(np.all((truth >= post.min(0)) & (truth <= post.max(0))))
    params = {}
    for i, n in enumerate(names):
        params[n] = {"truth": float(truth[i]), "best": float(res.best[i]), "posterior_mean": float(mean[i]),
                     "posterior_sd": float(sd[i]),
                     "error_best": float(res.best[i] - truth[i]),
                     "error_best_pct_of_range": float(100 * abs(res.best[i] - truth[i]) / (hi[i] - lo[i])),
                     "error_mean_pct_of_range": float(100 * abs(mean[i] - truth[i]) / (hi[i] - lo[i]))}
    # Global sensitivity of the features to the parameters over the prior box, from the last
    # wave's emulator (its training runs cover the box coarsely and the truth's region densely).
    sobol = emulate.sobol_indices(res.emulator, SYNTHETIC_BOUNDS, n=4096, seed=args.seed)
    total = {f: {n: round(float(sobol["total"][i, j]), 3) for i, n in enumerate(names)}
             for j, f in enumerate(FEATURES)}
    return {"parameters": params, "observed": dict(zip(FEATURES, map(float, observed))),
            "sobol_total": total,
            "best_outputs": dict(zip(FEATURES, map(float, res.best_outputs))),
            "truth_inside_posterior_box": inside, "history_matching": res.summary(),
            "simulations": int(len(res.X)), "wall_s": round(wall, 1)}


def real(args: argparse.Namespace, model: TwinModel, record: str, out: Path) -> dict[str, Any]:
    path = PTBXL / f"{record}.hea"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found (the bundled PTB-XL records are HR06004 and HR06007)")
    measured = ecg.read_ecg(path)
    mf = model.measured_features(measured)
    observed = np.array([mf[f] for f in REAL_FEATURES])
    if not np.isfinite(observed).all():
        raise RuntimeError(f"{record}: unmeasurable features {dict(zip(REAL_FEATURES, observed))}")
    res, wall = run_history_matching(model, REAL_BOUNDS, observed, REAL_OBS_SD, REAL_DISC_SD, args.quick, args.seed)
    names = list(REAL_BOUNDS)
    best = model.run(dict(zip(names, res.best)))
    beat = ecg.features(measured, beat=True)["beat"]
    cmp = ecg.compare(beat, best.ecg)
    import matplotlib

    matplotlib.use("Agg")
    fig = ecg.plot_12lead([beat, best.ecg], [f"PTB-XL {record} (median beat)", "best twin"])
    png = out / f"calibrate_{record}.png"
    tmp = out / f".calibrate_{record}.tmp.png"
    fig.savefig(tmp, dpi=90)
    os.replace(tmp, png)
    fit = {f: {"measured": float(mf[f]), "twin": float(best.features[f])} for f in REAL_FEATURES}
    return {"record": record, "fit": fit,
            "qrs_error_ms": float(best.features["qrs_duration_ms"] - mf["qrs_duration_ms"]),
            "qt_error_ms": float(best.features["qt_ms"] - mf["qt_ms"]),
            "lead_correlation": {k: round(v["correlation"], 3) for k, v in cmp["leads"].items()},
            "mean_correlation": float(cmp["mean_correlation"]), "shift_ms": float(cmp["shift_ms"]),
            "best_parameters": dict(zip(names, map(float, res.best))),
            "best_implausibility": float(res.best_implausibility),
            "history_matching": res.summary(), "simulations": int(len(res.X)), "wall_s": round(wall, 1),
            "plot": str(png)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="4 mm mesh, fewer simulations")
    ap.add_argument("--part", choices=["synthetic", "real", "both"], default="both")
    ap.add_argument("--records", nargs="+", default=["HR06004", "HR06007"])
    ap.add_argument("--mesh-size-mm", type=float, default=None, help="default 3 (4 with --quick)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=None, help="folder for the plots and calibration.json")
    args = ap.parse_args(argv)
    size = args.mesh_size_mm or (4.0 if args.quick else 3.0)
    out = Path(args.out or tempfile.mkdtemp(prefix="cardiotwin_calibrate_"))
    out.mkdir(parents=True, exist_ok=True)
    model = TwinModel(mesh_size_mm=size, features=FEATURES, threads=1)
    real_model = TwinModel(mesh_size_mm=size, features=REAL_FEATURES, threads=1)  # same cached anatomy
    report: dict[str, Any] = {"mesh_size_mm": size, "features": {"synthetic": FEATURES, "real": REAL_FEATURES},
                              "quick": args.quick, "model": model.reference_anatomy}
    t0 = time.perf_counter()
    if args.part in ("synthetic", "both"):
        print("calibrate_ecg: synthetic ECG ...", file=sys.stderr, flush=True)
        report["synthetic"] = synthetic(args, model)
    if args.part in ("real", "both"):
        report["real"] = []
        for r in args.records:
            print(f"calibrate_ecg: PTB-XL {r} ...", file=sys.stderr, flush=True)
            report["real"].append(real(args, real_model, r, out))
    report["wall_s"] = round(time.perf_counter() - t0, 1)
    text = json.dumps(report, indent=1, default=float)
    print(text)
    tmp = out / ".calibration.json.tmp"
    tmp.write_text(text + "\n")
    os.replace(tmp, out / "calibration.json")
    print(f"calibrate_ecg: wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
