#!/usr/bin/env python3
"""ECG forward-model timings: weights once per anatomy, then one dot product per frame.

Prints one JSON object:
{"nodes", "tets", "frames", "weights_s" (pseudo-ECG, 10 electrodes), "lead_weights_s",
 "apply_s" (12 leads x frames x nodes, batched), "apply_per_frame_s" (one frame at a time),
 "nodes_frames_per_s", "threads", "lead_field": {...} (with --lead-field: torso mesh and solves)}

Usage: ecg.py [--nodes 500000] [--frames 600] [--lead-field] [--torso-size 20]
The target of the ECG stage: a 600 ms ECG (600 frames at 1 ms) from Vm on a 500k-node mesh in
under 1 s once the weights exist. Vm frames are synthetic (a plane wave); the box mesh stands in
for a heart of the same size.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from cardiotwin import _core, ecg


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=500_000, help="approximate number of mesh nodes")
    ap.add_argument("--frames", type=int, default=600, help="Vm frames (1 ms apart)")
    ap.add_argument("--lead-field", action="store_true", help="also time the torso and lead-field solves")
    ap.add_argument("--torso-size", type=float, default=20.0, help="torso surface element size (mm)")
    args = ap.parse_args()

    # A 40 x 40 x 60 mm box at the spacing that gives about --nodes nodes.
    dx = (40 * 40 * 60 / args.nodes) ** (1 / 3)
    mesh = _core.mesh.box_mesh([40.0, 40.0, 60.0], dx)
    p = np.array(mesh.points)
    p -= p.mean(axis=0)
    mesh.points = p
    frame = ecg.body_frame(mesh, long_axis=[0, 0, -1], rv_direction=[1, 0, 0])
    electrodes = ecg.standard_electrodes(frame)

    t0 = time.perf_counter()
    weights = ecg.pseudo_ecg_weights(mesh, electrodes)
    weights_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    leads = ecg.twelve_lead_weights(weights)
    lead_weights_s = time.perf_counter() - t0

    z = p[:, 2]
    t = np.arange(args.frames, dtype=float)
    vm = np.empty((args.frames, mesh.num_points))
    for k in range(args.frames):
        vm[k] = -85 + 105 / (1 + np.exp((z + 30 - 0.5 * (k % 200)) / 1.0))
    t0 = time.perf_counter()
    signals = leads.apply(t, vm)
    apply_s = time.perf_counter() - t0
    n_single = min(args.frames, 50)
    t0 = time.perf_counter()
    for k in range(n_single):
        leads.potentials(vm[k])
    per_frame_s = (time.perf_counter() - t0) / n_single

    out = {
        "nodes": int(mesh.num_points), "tets": int(mesh.num_tets), "frames": args.frames,
        "weights_s": weights_s, "lead_weights_s": lead_weights_s, "apply_s": apply_s,
        "apply_per_frame_s": per_frame_s,
        "nodes_frames_per_s": mesh.num_points * args.frames / apply_s,
        "peak_mv": float(np.abs(signals.values).max()),
        "threads": os.cpu_count(),
    }
    if args.lead_field:
        t0 = time.perf_counter()
        torso = ecg.torso(mesh, frame, surface_size_mm=args.torso_size)
        torso_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        lf = ecg.lead_field_weights(mesh, electrodes, torso)
        out["lead_field"] = {"torso_nodes": int(torso.mesh.num_points), "torso_tets": int(torso.mesh.num_tets),
                             "torso_s": torso_s, "weights_s": time.perf_counter() - t0,
                             "cg_iterations": lf.metadata["cg_iterations"]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
