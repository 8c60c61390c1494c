"""``cardiotwin cohort COHORT.json -o OUTDIR``: many twins on Dask (see :mod:`cardiotwin.cohort`)."""
from __future__ import annotations

import argparse
import json
import sys


def _cohort(args: argparse.Namespace) -> int:
    from . import cohort

    if args.workers is not None and args.workers < 0:
        print("cardiotwin cohort: error: --workers must be 0 (in this process) or more", file=sys.stderr)
        return 2
    if args.check:
        try:
            spec = cohort.load_cohort(args.config)
        except ValueError as e:
            print(f"cardiotwin cohort: error: {e}", file=sys.stderr)
            return 2
        print(json.dumps({"name": spec["name"], "twins": len(spec["twins"]),
                          "ids": [t["id"] for t in spec["twins"][:10]]}, indent=1))
        return 0
    if not args.output:
        print("cardiotwin cohort: error: give -o OUTDIR (or --check)", file=sys.stderr)
        return 2
    try:
        summary = cohort.run_cohort(args.config, args.output, scheduler=args.scheduler,
                                    workers=2 if args.workers is None else args.workers,
                                    retry_failed=args.retry_failed, quiet=args.quiet)
    except ValueError as e:
        print(f"cardiotwin cohort: error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=1))
    return 0 if summary["failed_this_run"] == 0 else 1


def add_cohort(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "cohort", help="run many twins (anatomies x parameter sets) in parallel on Dask",
        description="Run every twin of COHORT.json (anatomies x parameter sets, or a Latin "
        "hypercube design) with the fast reaction-Eikonal twin model, one Dask task per twin, on a "
        "LocalCluster (default) or the scheduler at --scheduler. Each finished twin is written "
        "atomically to OUTDIR/twins/<id>.json (failed twins with their error); OUTDIR/results.parquet "
        "collects them. A restarted cohort skips finished twins. Exit status 1 when a twin failed.")
    p.add_argument("config", help="cohort description (JSON); file paths relative to it")
    p.add_argument("-o", "--output", help="output folder (created if missing)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="address of a running Dask scheduler (e.g. tcp://host:8786)")
    p.add_argument("--workers", type=int, default=None,
                   help="LocalCluster worker processes, one thread each (default 2; 0 = in this process)")
    p.add_argument("--retry-failed", action="store_true", help="run failed twins again on restart")
    p.add_argument("--check", action="store_true", help="validate COHORT.json, print the twin count, exit")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=_cohort)
