"""``cardiotwin run TWIN.json -o OUTDIR``: the whole twin pipeline (see :mod:`cardiotwin.pipeline`)."""
from __future__ import annotations

import argparse
import json
import os
import sys


def _run(args: argparse.Namespace) -> int:
    from . import pipeline

    if args.print_defaults:
        print(json.dumps(pipeline.default_config(), indent=1))
        return 0
    if not args.config or not args.output:
        print("cardiotwin run: error: give TWIN.json and -o OUTDIR (or --print-defaults)", file=sys.stderr)
        return 2
    try:
        summary = pipeline.run_twin(args.config, args.output, until=args.until)
    except (pipeline.PipelineError, ValueError) as e:
        print(f"cardiotwin run: error: {e}", file=sys.stderr)
        return 1
    shown = {"output": args.output}
    shown.update({k: summary[k] for k in ("segment", "mesh", "activation", "ecg", "seconds") if k in summary})
    print(json.dumps(shown, indent=1, default=float))
    report = os.path.join(args.output, "report.html")
    if os.path.exists(report) and summary.get("ecg") is not None:
        print(f"cardiotwin run: open the report: {os.path.abspath(report)}", file=sys.stderr)
    return 0


def add_run(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run", help="run a whole twin (image, label map or mesh -> fibres -> activation -> 12-lead ECG)",
        description="Run the twin described by TWIN.json into OUTDIR, stage by stage (segment when the "
        "input is an image, mesh, anatomy, activation, ecg, report). Stages already done with the same "
        "options and inputs are skipped, so an interrupted run resumes. Writes report.html, summary.json, "
        "the label map, meshes, activation maps, a Vm series and the 12-lead ECG. "
        "See --print-defaults for every option.")
    p.add_argument("config", nargs="?", help="twin config (JSON); input paths relative to it")
    p.add_argument("-o", "--output", help="output folder (created if missing)")
    p.add_argument("--print-defaults", action="store_true", help="print the default config and exit")
    p.add_argument("--until", metavar="STAGE", help="stop after this stage (segment, mesh, anatomy, activation, "
                   "ecg, report)")
    p.set_defaults(func=_run)
