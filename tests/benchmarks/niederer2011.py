#!/usr/bin/env python3
"""Niederer et al. 2011 N-version benchmark: TP06 epicardial slab, activation times at P1..P9.

Prints one JSON object:
{"dx_mm", "dt_ms", "nodes", "activation_ms": {"P1".."P9"}, "wall_s", "node_steps_per_s", "threads", ...}

Usage: niederer2011.py --dx 0.5 --dt 0.05 [--t-end 100] [--threads N] [--lumped] [--splitting strang]
The reference values are in shared/reference/niederer2011.md (P8 55.8 ms at 0.5 mm / 0.005 ms,
38.2 at 0.2 / 0.01, 37.9 at 0.1 / 0.005 for consistent-mass P1 FEM).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

import cardiotwin as ct
from cardiotwin import _core

# Measurement points (mm). P1 stimulus corner, P8 far corner, P9 centre; P2-P7 other corners.
POINTS = {
    "P1": (0, 0, 0), "P2": (0, 7, 0), "P3": (20, 0, 0), "P4": (20, 7, 0),
    "P5": (0, 0, 3), "P6": (0, 7, 3), "P7": (20, 0, 3), "P8": (20, 7, 3), "P9": (10, 3.5, 1.5),
}


def niederer_options(dt: float, t_end: float, lumped: bool = False, splitting: str = "godunov",
                     theta: float = 0.5, threads: int = 0) -> dict:
    """The benchmark's monodomain options (conductivities are the harmonic means it specifies)."""
    return {
        "dt_ms": dt,
        "t_end_ms": t_end,
        "ionic_model": "tp06",
        "cell_type": "epi",
        "chi_per_mm": 140.0,
        "cm_uf_per_cm2": 1.0,
        "conductivity": {"intra": {"sigma_l": 0.17, "sigma_t": 0.019},
                         "extra": {"sigma_l": 0.62, "sigma_t": 0.24}},
        "mass": "lumped" if lumped else "consistent",
        "splitting": splitting,
        "theta": theta,
        "threads": threads,
        "stimuli": [{"shape": "box", "min": [0, 0, 0], "max": [1.5, 1.5, 1.5], "start_ms": 0.0,
                     "duration_ms": 2.0, "strength": 50000.0, "unit": "uA/cm^3"}],
    }


def run(dx: float, dt: float, t_end: float, lumped: bool = False, splitting: str = "godunov",
        theta: float = 0.5, threads: int = 0) -> dict:
    mesh = _core.mesh.niederer_slab(dx)
    opts = niederer_options(dt, t_end, lumped, splitting, theta, threads)
    t0 = time.perf_counter()
    solver = _core.ep.Monodomain(mesh, opts)
    setup = time.perf_counter() - t0
    t1 = time.perf_counter()
    solver.run(t_end)
    wall = time.perf_counter() - t1
    act = solver.result().activation_ms
    pts = mesh.points
    out = {}
    for name, p in POINTS.items():
        i = int(np.argmin(((pts - np.asarray(p)) ** 2).sum(axis=1)))
        out[name] = None if np.isnan(act[i]) else round(float(act[i]), 3)
    steps = round(t_end / dt)
    tm = solver.timings
    return {
        "dx_mm": dx, "dt_ms": dt, "t_end_ms": t_end, "nodes": int(mesh.num_points),
        "mass": opts["mass"], "splitting": splitting, "theta": theta,
        "activation_ms": out, "wall_s": round(wall, 3), "setup_s": round(setup, 3),
        "node_steps_per_s": round(mesh.num_points * steps / wall),
        "ionic_s": round(tm["ionic_s"], 3), "diffusion_s": round(tm["diffusion_s"], 3),
        "cg_iterations_per_step": round(tm["cg_iterations_per_step"], 2),
        "threads": solver.result().metadata["threads"],
        "cardiotwin": ct.__version__,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dx", type=float, required=True, help="grid spacing in mm (0.5, 0.2, 0.1)")
    ap.add_argument("--dt", type=float, required=True, help="time step in ms (0.05, 0.01, 0.005)")
    ap.add_argument("--t-end", type=float, default=None, help="end time in ms (default 100, 150 at dx 0.5)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--lumped", action="store_true", help="lumped mass matrix")
    ap.add_argument("--splitting", default="godunov", choices=["godunov", "strang", "none"])
    ap.add_argument("--theta", type=float, default=0.5, help="0.5 Crank-Nicolson, 1 backward Euler")
    a = ap.parse_args(argv)
    t_end = a.t_end if a.t_end is not None else (150.0 if a.dx >= 0.5 or a.lumped else 100.0)
    print(json.dumps(run(a.dx, a.dt, t_end, a.lumped, a.splitting, a.theta, a.threads)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
