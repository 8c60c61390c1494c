"""The ``cardiotwin segment`` subcommand (registered in :mod:`cardiotwin.cli`).

``cardiotwin segment IMAGE -o LABELS.nii.gz [--model DIR]`` segments an image (NIfTI or a DICOM
folder) with the bundled model or a model folder, writes the label map on the input geometry,
an overlay PNG for checking by eye (``LABELS.png`` unless ``--no-overlay``; needs matplotlib) and
prints a JSON report (volumes per label, warnings, time).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings


def _png_path(out: str) -> str:
    for ext in (".nii.gz", ".nii"):
        if out.lower().endswith(ext):
            return out[: -len(ext)] + ".png"
    return out + ".png"


def _segment(args: argparse.Namespace) -> int:
    from cardiotwin import io
    from cardiotwin import segment as seg

    options = {"mirror": bool(args.mirror), "overlap": args.overlap}
    if args.threads:
        options["threads"] = args.threads
    t0 = time.perf_counter()
    model = seg.load_model(args.model) if args.model else seg.default_model()
    image = io.read_image(args.image, dtype="float32")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", seg.SegmentationWarning)
        result = seg.segment_with_report(image, model, **options)
    io.write_image(args.output, result.labels)
    info = model.info
    names = sorted(info["labels"], key=lambda n: info["labels"][n])
    report = {
        "input": os.fspath(args.image),
        "output": os.fspath(args.output),
        "model": info["name"],
        "labels": {n: info["labels"][n] for n in names},
        "volumes_ml": {n: round(v, 2) for n, v in zip(names, result.volumes_ml) if info["labels"][n] != 0},
        "empty": bool(result.empty),
        "warnings": [str(w.message) for w in caught],
        "seconds": round(time.perf_counter() - t0, 2),
    }
    if not args.no_overlay:
        png = args.overlay or _png_path(args.output)
        try:
            report["overlay"] = seg.overlay_png(image, result.labels, png)
        except ImportError:
            report["warnings"].append("overlay PNG skipped: matplotlib is not installed")
    for w in report["warnings"]:
        print(f"cardiotwin segment: warning: {w}", file=sys.stderr)
    print(json.dumps(report, indent=None if args.compact else 2))
    return 0


def add_segment(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "segment", help="segment a cardiac image into a label map (libtorch)",
        description="Segment IMAGE (.nii/.nii.gz or a DICOM folder) with the bundled short-axis LV "
        "model (1 LV blood pool, 2 LV myocardium) or a model folder (--model: model.pt + "
        "metadata.json). Writes the label map on the input geometry, an overlay PNG, and prints "
        "volumes as JSON. An empty result is reported as a warning.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("image", help="image to segment (.nii, .nii.gz or a DICOM folder)")
    p.add_argument("-o", "--output", required=True, help="label map to write (.nii or .nii.gz)")
    p.add_argument("--model", default=None, metavar="DIR", help="model folder (default: bundled model)")
    p.add_argument("--overlay", default=None, metavar="PNG", help="overlay PNG (default: OUTPUT with .png)")
    p.add_argument("--no-overlay", action="store_true", help="do not write the overlay PNG")
    p.add_argument("--mirror", action="store_true", help="average with mirrored predictions (3x slower)")
    p.add_argument("--no-mirror", action="store_false", dest="mirror", help="no mirrored predictions (the default)")
    p.add_argument("--overlap", type=float, default=0.25, help="sliding-window overlap fraction")
    p.add_argument("--threads", type=int, default=0, help="libtorch threads (0: libtorch's default)")
    p.add_argument("--compact", action="store_true", help="one line of JSON")
    p.set_defaults(func=_segment)
