#!/usr/bin/env python3
"""Monodomain throughput: TP06 on the Niederer slab at 0.2 and 0.1 mm with 1 and 2 threads.

Prints ONE JSON object:
{"dt_ms", "t_end_ms", "cases": [{"dx_mm", "nodes", "threads", "steps", "wall_s", "setup_s",
  "node_steps_per_s", "ionic_s", "diffusion_s", "output_s", "ionic_fraction",
  "ionic_node_steps_per_s", "diffusion_node_steps_per_s", "cg_iterations_per_step"}, ...],
 "cardiotwin", "cpu_count"}

node_steps_per_s = nodes x steps / wall time of run(); the ionic/diffusion split comes from the
solver's own timers (solver.timings). Runs are short (default 5 ms of simulated time from the
Niederer corner stimulus, so the wavefront is in the domain): enough to measure a rate, far from
a full 100 ms run. The 0.1 mm slab has 442k nodes; on a 2-core machine expect minutes per case
at --t-end 5. Timings on a shared machine are noisy: compare runs made back to back.

On a machine with more runnable threads than cores, OpenMP threads that spin at barriers slow
the diffusion solve (many short parallel loops per CG iteration) by up to 10x; compare with
OMP_WAIT_POLICY=passive. The JSON records the setting in use.

Usage: monodomain_throughput.py [--t-end 5] [--dt 0.01] [--dx 0.2 0.1] [--threads 1 2]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import cardiotwin as ct
from cardiotwin import _core, ep


def run_case(dx: float, threads: int, dt: float, t_end: float) -> dict:
    mesh = _core.mesh.niederer_slab(dx)
    options = ep.niederer_options(dt_ms=dt, t_end_ms=t_end, threads=threads, probes=[])
    t0 = time.perf_counter()
    solver = ep.Monodomain(mesh, options)
    setup = time.perf_counter() - t0
    t1 = time.perf_counter()
    solver.run(t_end)
    wall = time.perf_counter() - t1
    tm = solver.timings
    n = int(mesh.num_points)
    steps = int(tm["steps"])
    ionic, diffusion = float(tm["ionic_s"]), float(tm["diffusion_s"])

    def rate(seconds: float) -> int | None:
        return round(n * steps / seconds) if seconds > 0 else None

    return {
        "dx_mm": dx, "nodes": n, "tets": int(mesh.num_tets),
        "threads": int(solver.result().metadata["threads"]),
        "steps": steps, "wall_s": round(wall, 3), "setup_s": round(setup, 3),
        "node_steps_per_s": rate(wall),
        "ionic_s": round(ionic, 3), "diffusion_s": round(diffusion, 3),
        "output_s": round(float(tm["output_s"]), 3),
        "other_s": round(wall - ionic - diffusion - float(tm["output_s"]), 3),
        "ionic_fraction": round(ionic / wall, 3) if wall > 0 else None,
        "ionic_node_steps_per_s": rate(ionic),
        "diffusion_node_steps_per_s": rate(diffusion),
        "cg_iterations_per_step": round(float(tm["cg_iterations_per_step"]), 2),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--t-end", type=float, default=5.0, help="simulated time per case (ms)")
    ap.add_argument("--dt", type=float, default=0.01, help="time step (ms)")
    ap.add_argument("--dx", type=float, nargs="+", default=[0.2, 0.1],
                    help="slab spacings (mm)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts")
    a = ap.parse_args(argv)
    cases = []
    for dx in a.dx:
        for threads in a.threads:
            print(f"monodomain_throughput: dx {dx} mm, {threads} thread(s), {a.t_end} ms ...",
                  file=sys.stderr, flush=True)
            cases.append(run_case(dx, threads, a.dt, a.t_end))
    print(json.dumps({"benchmark": "monodomain_throughput", "ionic_model": "tp06",
                      "dt_ms": a.dt, "t_end_ms": a.t_end, "cases": cases,
                      "cardiotwin": ct.__version__, "cpu_count": os.cpu_count(),
                      "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                      "load_average": [round(x, 2) for x in os.getloadavg()]
                      if hasattr(os, "getloadavg") else None}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
