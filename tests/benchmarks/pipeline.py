#!/usr/bin/env python3
"""Time per stage of the default twin, from the bundled Sunnybrook MRI to its 12-lead ECG.

Prints one JSON object:
{"config", "input", "seconds": {"segment", "mesh", "anatomy", "activation", "ecg"},
 "scan_to_ecg_s", "total_s", "nodes", "tets", "qrs_ms", "qt_ms", "threads"}

Usage: pipeline.py [--config examples/configs/twin_sunnybrook_mri.json] [--size-mm 2.0] [--keep DIR]
Runs in a fresh temporary folder each time (no stage is skipped). "scan_to_ecg_s" is the sum of
the stages from the image to the ECG (segment + mesh + anatomy + activation + ecg); "total_s"
adds reading the config, the report and the summary. Target (issue 8): scan to 12-lead
ECG in under 60 s on a 2-core machine with the fast activation model. Without the libtorch
component the default config's segmentation stage fails; pass the expert-label config
(examples/configs/twin_sunnybrook.json) instead, and "segment" is then absent.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--config", default=str(REPO / "examples" / "configs" / "twin_sunnybrook_mri.json"))
    ap.add_argument("--size-mm", type=float, default=None, help="override mesh.size_mm")
    ap.add_argument("--keep", default=None, help="write the twin here instead of a temporary folder")
    args = ap.parse_args()

    from cardiotwin import pipeline

    cfg = pipeline.load_config(args.config)
    if args.size_mm is not None:
        cfg["mesh"]["size_mm"] = args.size_mm
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.keep) if args.keep else Path(tmp) / "twin"
        summary = pipeline.run_twin(cfg, out, log=lambda msg: None)
        stages = json.loads((out / "stages.json").read_text())
    total = time.perf_counter() - t0
    seconds = {name: s["seconds"] for name, s in stages.items()}
    scan_to_ecg = sum(seconds.get(k, 0.0) for k in ("segment", "mesh", "anatomy", "activation", "ecg"))
    print(json.dumps({
        "config": os.path.relpath(args.config, REPO), "input": cfg["input"]["image"] or cfg["input"]["labels"],
        "mesh_size_mm": cfg["mesh"]["size_mm"], "seconds": seconds,
        "scan_to_ecg_s": round(scan_to_ecg, 2), "total_s": round(total, 2),
        "nodes": summary["mesh"]["points"], "tets": summary["mesh"]["tets"],
        "qrs_ms": summary["ecg"]["qrs_duration_ms"], "qt_ms": summary["ecg"]["qt_ms"],
        "threads": os.cpu_count(), "target_s": 60,
    }, default=float))


if __name__ == "__main__":
    main()
