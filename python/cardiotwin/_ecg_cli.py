"""The ``cardiotwin ecg`` and ``cardiotwin ecg-features`` subcommands (registered in
:mod:`cardiotwin.cli`). Only argparse is imported at start-up; the work happens in
:mod:`cardiotwin.ecg`."""
from __future__ import annotations

import argparse
import json
import math
from typing import Any


def _vector(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y,Z, found '{text}'") from None
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"expected X,Y,Z, found '{text}'")
    return values


def _json_arg(text: str | None, what: str) -> dict[str, Any]:
    """A JSON object given inline or as a path to a .json file."""
    import os

    from cardiotwin import _core, io

    if not text:
        return {}
    source = text
    if os.path.isfile(text):
        with open(text, encoding="utf-8") as f:
            source = f.read()
    try:
        value = json.loads(source)
    except json.JSONDecodeError as e:
        raise io._error(_core.InvalidInput, f"{what} is not valid JSON: {e.msg}",
                        expected="a JSON object or a path to one", found=text, field=what) from None
    if not isinstance(value, dict):
        raise io._error(_core.InvalidInput, f"{what} must be a JSON object",
                        expected="a JSON object", found=text, field=what)
    return value


def _clean(value: Any) -> Any:
    """NaN/inf as null, recursively (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _ecg(args: argparse.Namespace) -> int:
    import os

    from cardiotwin import ecg

    frame = None
    if args.long_axis is not None or args.rv_direction is not None:
        pvd = ecg.find_vm_series(args.simulation)
        heart, _ = ecg._heart_mesh(pvd, args.mesh)
        frame = ecg.body_frame(heart, centre=args.centre, long_axis=args.long_axis,
                               rv_direction=args.rv_direction)
    signals = ecg.ecg_from_simulation(
        args.simulation, mesh=args.mesh, frame=frame,
        placement=_json_arg(args.placement, "--placement"),
        options=_json_arg(args.options, "--options"), leads=not args.electrodes,
        electrodes_out=args.electrodes_out, model=args.model,
        torso_options=_json_arg(args.torso, "--torso"))
    ecg.write_ecg(args.output, signals)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        fig = ecg.plot_12lead(signals, [os.path.basename(os.path.normpath(args.simulation))])
        fig.savefig(args.plot, dpi=150)
    if not args.quiet:
        t = signals.time_ms
        print(f"{args.simulation} -> {args.output}: {signals.num_channels} "
              f"{'electrodes' if args.electrodes else 'leads'} x {signals.num_samples} samples, "
              f"{t[0]:g}..{t[-1]:g} ms")
    return 0


def add_ecg(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "ecg", help="12-lead ECG of a simulation from its Vm snapshots",
        description="Compute the 12-lead pseudo-ECG (infinite homogeneous conductor) of a "
        "simulation from its Vm snapshots (vm.pvd, as written with snapshot_every_ms > 0) and "
        "write it as CSV (time_ms + leads) or WFDB (.hea). Electrodes are placed at the standard "
        "positions around the heart: the heart's frame comes from --long-axis/--rv-direction or "
        "from the mesh's principal axes.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("simulation", help="simulation folder (with vm.pvd or vm/vm.pvd) or a .pvd file")
    p.add_argument("-o", "--output", required=True, help="ECG file to write (.csv or .hea)")
    p.add_argument("--mesh", default=None,
                   help="heart mesh with fibres (default: activation.vtu of the simulation, else "
                   "the first snapshot, geometry only)")
    p.add_argument("--long-axis", type=_vector, default=None, metavar="X,Y,Z",
                   help="heart long axis, base to apex, in mesh coordinates")
    p.add_argument("--rv-direction", type=_vector, default=None, metavar="X,Y,Z",
                   help="direction from the LV to the RV in mesh coordinates")
    p.add_argument("--centre", type=_vector, default=None, metavar="X,Y,Z",
                   help="heart centre in mm (default: mean of the mesh points)")
    p.add_argument("--placement", default=None,
                   help="electrode placement options as JSON or a .json file (e.g. '{\"scale\": 1.1}')")
    p.add_argument("--options", default=None,
                   help="forward-model options as JSON or a .json file (sigma_i, sigma_bath, ...)")
    p.add_argument("--model", choices=["pseudo", "lead-field"], default="pseudo",
                   help="forward model: infinite homogeneous conductor, or lead fields in a "
                   "procedural ellipsoidal torso (needs TetGen)")
    p.add_argument("--torso", default=None,
                   help="torso options for --model lead-field, as JSON or a .json file")
    p.add_argument("--electrodes", action="store_true",
                   help="write the electrode potentials instead of the 12 leads")
    p.add_argument("--electrodes-out", default=None, metavar="VTP",
                   help="also write electrode markers (.vtp + .json) for ParaView")
    p.add_argument("--plot", default=None, metavar="PNG", help="also plot the 12 leads")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=_ecg)


def _ecg_features(args: argparse.Namespace) -> int:
    from cardiotwin import ecg

    options = _json_arg(args.options, "--options")
    if args.no_filter:
        options["filter"] = False
    if args.rr_ms is not None:
        options["rr_ms"] = args.rr_ms
    result = ecg.features(args.record, options)
    if args.global_only:
        result.pop("leads", None)
    print(json.dumps(_clean(result), indent=None if args.compact else 2))
    return 0


def add_ecg_features(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "ecg-features", help="print the features of an ECG as JSON",
        description="Print QRS onset/offset/duration, QT, QTc (Bazett, Fridericia), T peak/end, "
        "R/S amplitudes per lead and the electrical axis of an ECG as JSON (null where undefined). "
        "RECORD is a WFDB record (.hea, .dat/.mat, or the record name) or our CSV.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("record", help="WFDB record or ECG CSV")
    p.add_argument("--no-filter", action="store_true",
                   help="skip the baseline and noise filters (simulated ECGs)")
    p.add_argument("--rr-ms", type=float, default=None,
                   help="RR interval for QTc of a single-beat record")
    p.add_argument("--options", default=None, help="feature options as JSON or a .json file")
    p.add_argument("--global-only", action="store_true", help="leave out the per-lead features")
    p.add_argument("--compact", action="store_true", help="one line of JSON")
    p.set_defaults(func=_ecg_features)
