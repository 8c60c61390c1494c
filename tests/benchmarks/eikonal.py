#!/usr/bin/env python3
"""Eikonal and reaction-Eikonal timings, and how their ECG compares with the monodomain's.

Prints one JSON object:
{"activation": {"nodes", "tets", "seconds", "setup_s", "iterations", "local_solves", "threads"} (box mesh)
 "reaction_eikonal_ecg": {"nodes", "tets", "eikonal_s", "weights_s", "ecg_s",
                          "total_s", "frames"}                                         (large LV)
 "versus_monodomain": {"nodes", "monodomain_s", "eikonal_s", "speedup", "cv_mm_per_ms",
                       "activation_rms_ms", "lead_correlation": {lead: r},
                       "qrs_ms": {"monodomain", "reaction_eikonal"}}                   (small LV)
 "mesh_source"}

Usage: eikonal.py [--nodes 1000000] [--ecg-nodes 500000] [--small-size 1.5] [--threads 0] [--lead-field]
Wall times on a shared machine depend on its load; the process CPU times ("cpu_s") do less.
Targets (issue 7): activation on a 1M-node mesh in < 2 s; a 12-lead ECG (reaction-Eikonal + ECG
weights) of a ~500k-node ventricle in < 10 s. The ventricle is the procedural ellipsoidal LV
(no CGAL needed) with fibres from the anatomy stage; the ECG is the pseudo-ECG (infinite
homogeneous conductor). The monodomain comparison runs TP06 on a small LV stimulated where the
Eikonal roots are; the Eikonal's isotropic CV is fitted to the monodomain activation map.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from cardiotwin import anatomy, ecg, ep
from cardiotwin import mesh as cm


def _lv(size_mm: float):
    tagged = cm.ellipsoidal_lv(size_mm)
    return tagged


def _lv_size_for(nodes: int) -> float:
    # Node count of the ellipsoidal LV scales about like size^-2.8 (26152 nodes at 0.5 mm).
    ref = cm.ellipsoidal_lv(0.5).mesh.num_points
    return 0.5 * (ref / nodes) ** (1 / 2.8)


def _roots(tagged) -> tuple[list[dict], object]:
    coords = anatomy.ventricular_coordinates(tagged.mesh, tagged.surface)
    return ep.default_ventricular_roots(tagged.mesh, coords), coords


def _ecg(mesh, t, vm):
    frame = ecg.body_frame(mesh, long_axis=[0, 0, -1], rv_direction=[1, 0, 0])
    electrodes = ecg.standard_electrodes(frame)
    t0 = time.perf_counter()
    leads = ecg.twelve_lead_weights(ecg.pseudo_ecg_weights(mesh, electrodes))
    weights_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    signals = leads.apply(t, vm)
    return signals, weights_s, time.perf_counter() - t0


def activation_benchmark(nodes: int, threads: int) -> dict:
    n = max(2, round(nodes ** (1 / 3))) - 1
    box = cm.box_mesh([float(n), float(n), float(n)], 1.0)
    roots = [{"point": [n / 2, n / 2, 0.0]}, {"point": [0.0, 0.0, float(n)], "time_ms": 10.0}]
    c0 = time.process_time()
    sol = ep.solve_eikonal(box, roots=roots, threads=threads,
                           velocity={"fibre": 0.6, "sheet": 0.4, "normal": 0.2})
    cpu_s = time.process_time() - c0
    return {"nodes": int(box.num_points), "tets": int(box.num_tets), "seconds": sol["seconds"],
            "setup_s": sol["setup_seconds"],
            "cpu_s": cpu_s, "local_solves_per_node": sol["local_solves"] / box.num_points,
            "iterations": sol["iterations"], "local_solves": sol["local_solves"],
            "threads": sol["threads"], "unreached": sol["unreached"]}


def ecg_benchmark(nodes: int, threads: int, lead_field: bool = False) -> dict:
    tagged = _lv(_lv_size_for(nodes))
    mesh = tagged.mesh
    t0 = time.perf_counter()
    roots, coords = _roots(tagged)
    coords_s = time.perf_counter() - t0
    anatomy.assign_fibres(mesh, coords)
    frames = np.arange(0.0, 400.0, 1.0)
    t0, c0 = time.perf_counter(), time.process_time()
    model = ep.EikonalModel(mesh, {"model": "reaction-eikonal", "roots": roots,
                                   "threads": threads, "velocity": {"fibre": 0.6, "sheet": 0.3}})
    eikonal_s, eikonal_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    c_all = time.process_time()
    frame = ecg.body_frame(mesh, long_axis=[0, 0, -1], rv_direction=[1, 0, 0])
    t0 = time.perf_counter()
    leads = ecg.twelve_lead_weights(ecg.pseudo_ecg_weights(mesh, ecg.standard_electrodes(frame)))
    weights_s = time.perf_counter() - t0
    # Fused: Vm is computed per node block and used while in cache (no frames x nodes array).
    t0 = time.perf_counter()
    signals = leads.apply(frames, model)
    ecg_s = time.perf_counter() - t0
    peak = float(np.abs(np.asarray(signals.values)).max())
    ecg_cpu_s = time.process_time() - c_all
    lf_out = None
    if lead_field:
        # The same ECG with lead-field weights (procedural torso, one solve per electrode): the
        # weights are computed once per anatomy; the ECG from them costs what the pseudo-ECG's does.
        t0 = time.perf_counter()
        torso = ecg.torso(mesh, frame)
        torso_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        lf = ecg.twelve_lead_weights(ecg.lead_field_weights(mesh, ecg.standard_electrodes(frame), torso))
        lf_weights_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        lf_signals = lf.apply(frames, model)
        lf_out = {"torso_nodes": int(torso.mesh.num_points), "torso_s": torso_s, "weights_s": lf_weights_s,
                  "ecg_s": time.perf_counter() - t0,
                  "peak_mv": float(np.abs(np.asarray(lf_signals.values)).max())}
    return {"nodes": int(mesh.num_points), "tets": int(mesh.num_tets),
            "coordinates_s": coords_s, "eikonal_s": eikonal_s,
            "weights_s": weights_s, "ecg_s": ecg_s, "eikonal_cpu_s": eikonal_cpu_s,
            "local_solves_per_node": model.solution["local_solves"] / mesh.num_points,
            "vm_and_ecg_cpu_s": ecg_cpu_s,
            "total_s": eikonal_s + weights_s + ecg_s, "frames": len(frames),
            "peak_mv": peak, **({"lead_field": lf_out} if lf_out else {})}


def versus_monodomain(size_mm: float, threads: int) -> dict:
    tagged = _lv(size_mm)
    mesh = tagged.mesh
    roots, coords = _roots(tagged)
    anatomy.assign_fibres(mesh, coords)  # the pseudo-ECG's conductivity is anisotropic
    pts = np.asarray(mesh.points)
    # The monodomain is stimulated in 2.5 mm spheres around the root nodes; the Eikonal starts from
    # the same spheres. Isotropic tissue on both sides (no fibres needed).
    spheres = [{"shape": "sphere", "center": pts[r["node"]].tolist(), "radius_mm": 2.5,
                "time_ms": r["time_ms"]} for r in roots]
    stimuli = [{"shape": "sphere", "center": s["center"], "radius_mm": 2.5,
                "start_ms": s["time_ms"], "duration_ms": 2.0, "strength": 50000.0,
                "unit": "uA/cm^3"} for s in spheres]
    t_end, frames = 400.0, np.arange(0.0, 400.0, 1.0)
    mono = ep.Monodomain(mesh, {"dt_ms": 0.02, "ionic_model": "tp06", "cell_type": "epi",
                                "threads": threads, "stimuli": stimuli,
                                "conductivity": {"sigma_l": 0.1334177, "sigma_t": 0.1334177}})
    t0 = time.perf_counter()
    vm_mono = np.empty((len(frames), mesh.num_points))
    for k, t in enumerate(frames):
        mono.run(float(t))
        vm_mono[k] = np.asarray(mono.vm)
    mono.run(t_end)
    mono_s = time.perf_counter() - t0
    act_mono = np.asarray(mono.result().activation_ms)
    # Fit the isotropic CV: Eikonal times scale as 1/v for roots at one time (delays kept).
    unit = ep.solve_eikonal(mesh, roots=[dict(s, time_ms=0.0) for s in spheres],
                            velocity={"fibre": 1.0, "sheet": 1.0})
    d = np.asarray(unit["activation_ms"])
    # act_mono ~ t_root + d / v by least squares over the activated nodes outside the spheres.
    ok = np.isfinite(act_mono) & (d > 0)
    slope, t_root = np.polyfit(d[ok], act_mono[ok], 1)
    cv, t_root = 1.0 / float(slope), float(t_root)
    config = {"model": "reaction-eikonal", "threads": threads,
              "roots": [dict(s, time_ms=s["time_ms"] + t_root) for s in spheres],
              "velocity": {"fibre": cv, "sheet": cv},
              "template": {"source": "ionic", "ionic_model": "tp06", "cell_type": "epi",
                           "beats": 2}}
    t0 = time.perf_counter()
    model = ep.EikonalModel(mesh, config)
    vm_eik = np.asarray(model.vm_series(frames))
    eik_s = time.perf_counter() - t0
    act_eik = np.asarray(model.result().activation_ms)
    s_mono, _, _ = _ecg(mesh, frames, vm_mono)
    s_eik, _, _ = _ecg(mesh, frames, vm_eik)
    corr = {}
    for j, name in enumerate(s_mono.names):
        a, b = np.asarray(s_mono.values)[:, j], np.asarray(s_eik.values)[:, j]
        corr[name] = float(np.corrcoef(a, b)[0, 1])
    qrs = {}
    for key, s in (("monodomain", s_mono), ("reaction_eikonal", s_eik)):
        try:
            qrs[key] = ecg.features(s, filter=False).get("qrs_duration_ms")
        except Exception as e:  # features need a clear QRS; report why not
            qrs[key] = f"n/a ({type(e).__name__})"
    both = np.isfinite(act_mono) & np.isfinite(act_eik)
    rms = float(np.sqrt(np.mean((act_mono[both] - act_eik[both]) ** 2)))
    return {"nodes": int(mesh.num_points), "tets": int(mesh.num_tets), "monodomain_s": mono_s,
            "eikonal_s": eik_s, "speedup": mono_s / eik_s, "cv_mm_per_ms": cv,
            "activation_rms_ms": rms,
            "total_activation_ms": {"monodomain": float(np.nanmax(act_mono)),
                                    "reaction_eikonal": float(np.nanmax(act_eik))},
            "lead_correlation": corr, "qrs_ms": qrs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=1_000_000,
                    help="box mesh nodes for the activation timing")
    ap.add_argument("--ecg-nodes", type=int, default=500_000,
                    help="LV mesh nodes for the ECG timing")
    ap.add_argument("--small-size", type=float, default=1.0,
                    help="LV element size (mm) for the monodomain comparison")
    ap.add_argument("--threads", type=int, default=0, help="threads (0 = automatic)")
    ap.add_argument("--lead-field", action="store_true",
                    help="also build a torso and the ECG from lead-field weights (TetGen component)")
    ap.add_argument("--skip", default="",
                    help="comma-separated parts to skip: activation, ecg, monodomain")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    out = {"mesh_source": "box_mesh (activation), procedural ellipsoidal LV (ECG, monodomain)",
           "cpu_count": os.cpu_count()}
    if "activation" not in skip:
        out["activation"] = activation_benchmark(args.nodes, args.threads)
    if "ecg" not in skip:
        out["reaction_eikonal_ecg"] = ecg_benchmark(args.ecg_nodes, args.threads, args.lead_field)
    if "monodomain" not in skip:
        out["versus_monodomain"] = versus_monodomain(args.small_size, args.threads)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
