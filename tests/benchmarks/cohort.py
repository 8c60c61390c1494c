#!/usr/bin/env python3
"""Twin model and cohort throughput.

Prints one JSON object:
{"twin_model": {"mesh_size_mm", "nodes", "tets", "anatomy_build_s", "evaluations",
                "seconds_per_evaluation", "cpu_seconds_per_evaluation", "seconds_per_evaluation_new_size"},
 "cohort": {"twins", "mesh_size_mm", "runs": [{"workers", "wall_s", "twins_per_hour", "ok"}]},
 "cpu_count"}

Usage: cohort.py [--twins 40] [--mesh-size-mm 3] [--evaluations 20] [--workers 1 2]

"seconds_per_evaluation" (wall; "cpu_seconds_..." the process CPU time, less sensitive to the
machine's load) is one parameter set on an anatomy already built (Eikonal solve, Vm
series, ECG, features); "..._new_size" adds re-scaling the heart and its ECG weights. Cohort
wall times include starting the LocalCluster and each worker building its anatomy once, so
they are the throughput a user sees for a cohort of this size; on a shared machine they depend
on its load. Issue 9 asks for the twins/hour with 1 and 2 workers.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np

from cardiotwin import cohort
from cardiotwin.twin_model import TwinModel, parameter_bounds


def bench_model(size: float, n: int) -> dict:
    t0 = time.perf_counter()
    m = TwinModel(mesh_size_mm=size)
    ref = m.reference_anatomy
    build = time.perf_counter() - t0
    names = ["cv_fibre_mm_per_ms", "cv_cross_mm_per_ms", "fast_layer_mm_per_ms", "apd_ms"]
    X = cohort.latin_hypercube(n, [[0.4, 0.8], [0.2, 0.4], [1.0, 3.0], [250, 320]], seed=0)
    m.run({})  # warm caches
    t0, c0 = time.perf_counter(), time.process_time()
    Y = m.simulate(X, names)
    same = (time.perf_counter() - t0) / n
    cpu = (time.process_time() - c0) / n
    scales = np.linspace(0.9, 1.1, n)
    t0 = time.perf_counter()
    Y2 = m.simulate(np.column_stack([scales, X]), ["scale"] + names)
    new = (time.perf_counter() - t0) / n
    assert parameter_bounds(names).shape == (4, 2)
    return {"mesh_size_mm": size, "nodes": ref["nodes"], "tets": ref["tets"],
            "anatomy_build_s": round(build, 3), "evaluations": n,
            "seconds_per_evaluation": round(same, 4), "cpu_seconds_per_evaluation": round(cpu, 4),
            "seconds_per_evaluation_new_size": round(new, 4),
            "failed": int(np.isnan(Y[:, 0]).sum() + np.isnan(Y2[:, 0]).sum())}


def bench_cohort(twins: int, size: float, workers: list[int]) -> dict:
    spec = {"name": "bench", "model": {"mesh_size_mm": size},
            "anatomies": [{"name": "a0", "scale": 0.9}, {"name": "a1", "scale": 1.1}],
            "parameters": {"design": {"n": max(1, twins // 2), "seed": 0,
                                      "bounds": {"cv_fibre_mm_per_ms": [0.4, 0.8], "apd_ms": [250, 320]}}}}
    runs = []
    for w in workers:
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            s = cohort.run_cohort(spec, d, workers=w, quiet=True)
            wall = time.perf_counter() - t0
            runs.append({"workers": w, "wall_s": round(wall, 2),
                         "twins_per_hour": round(s["ran"] / wall * 3600), "ok": s["ok_this_run"]})
    return {"twins": 2 * max(1, twins // 2), "mesh_size_mm": size, "runs": runs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--twins", type=int, default=40)
    ap.add_argument("--mesh-size-mm", type=float, default=3.0)
    ap.add_argument("--evaluations", type=int, default=20)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    out = {"twin_model": bench_model(args.mesh_size_mm, args.evaluations),
           "cohort": bench_cohort(args.twins, args.mesh_size_mm, args.workers),
           "cpu_count": os.cpu_count()}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
