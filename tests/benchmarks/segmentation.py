"""Segmentation benchmark: the bundled model on the bundled Sunnybrook stack; prints one JSON object.

    python tests/benchmarks/segmentation.py [--threads 2] [--repeat 3] [--model DIR]

Times ``cardiotwin.segment`` (C++ libtorch inference: resampling, sliding windows, postprocessing)
on the 256 x 256 x 12 short-axis stack with the default options (window overlap 0.25, no
mirroring) and with overlap 0.5 and/or mirroring, and reports Dice and volumes
against the expert labels on the contoured slices (this case is in the shipped model's training
set, so Dice here is a sanity check; leave-one-patient-out numbers are in the model's lopo.json).
Target: under 2 s per stack on this 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "sunnybrook"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--model", default=None)
    args = ap.parse_args(argv)

    import cardiotwin
    from cardiotwin import io
    from cardiotwin import segment as seg

    if not cardiotwin.has_torch:
        print(json.dumps({"skipped": "cardiotwin built without libtorch"}))
        return 0
    image = io.read_image(DATA / "SCD0000101_ED.nii.gz", dtype="float32")
    truth = np.asarray(io.read_image(DATA / "SCD0000101_ED_gt.nii.gz").array)
    ks = json.loads((DATA / "SCD0000101.json").read_text())["phases"]["ED"]["endo_slices"]
    t0 = time.perf_counter()
    model = seg.load_model(args.model) if args.model else seg.default_model()
    load_s = time.perf_counter() - t0
    out = {"benchmark": "segmentation", "image": list(image.shape), "threads": args.threads,
           "model": model.info["name"], "load_s": round(load_s, 3),
           "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
           "runs": {}}
    runs = {"default": {}, "overlap_0.5": {"overlap": 0.5}, "mirror": {"mirror": True},
            "mirror_overlap_0.5": {"mirror": True, "overlap": 0.5}}
    for run, options in runs.items():
        times, labels = [], None
        for _ in range(args.repeat):
            t = time.perf_counter()
            labels = seg.segment(image, model, threads=args.threads, **options)
            times.append(time.perf_counter() - t)
        a = np.asarray(labels.array)
        dice = {}
        for name, v in (("lv_blood_pool", 1), ("lv_myocardium", 2)):
            p, g = a[:, :, ks] == v, truth[:, :, ks] == v
            dice[name] = round(2 * float((p & g).sum()) / max(1, int(p.sum() + g.sum())), 4)
        out["runs"][run] = {"options": options,
            "seconds_min": round(min(times), 3), "seconds_all": [round(t, 3) for t in times],
            "dice": dice, "volumes_ml": {k: round(v, 1) for k, v in seg.volumes_ml(labels, model).items()},
            "target_s": 2.0, "meets_target": min(times) < 2.0}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
