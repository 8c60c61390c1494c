"""The ``cardiotwin`` command line.

``cardiotwin info`` prints the build (version, components, CMake folder) as JSON;
``cardiotwin convert IN OUT`` converts images, tet meshes and surfaces between the formats of
:mod:`cardiotwin.io`, chosen by extension; ``cardiotwin simulate MESH CONFIG.json -o OUTDIR``
runs the monodomain model and writes activation maps, probe traces and a summary.

Each subcommand is one ``_add_<name>(subparsers)`` function that declares its arguments and sets
``func``, listed in ``COMMANDS``; a later stage adds its own the same way. ``func(args)`` returns
the exit status. Errors in the user's input (``cardiotwin.Error``, ``OSError``, a missing optional
package) print one line to stderr and exit with status 2; ``--verbose`` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import traceback
from collections.abc import Sequence
from typing import Any, Callable

from . import _ecg_cli

EXIT_USAGE = 2


def _info(args: argparse.Namespace) -> int:
    import numpy

    import cardiotwin

    try:
        cmake_dir: str | None = str(cardiotwin.get_cmake_dir())
    except Exception:  # noqa: BLE001 - an uninstalled build has no CMake package
        cmake_dir = None
    info = {
        "version": cardiotwin.__version__,
        "components": list(cardiotwin.components),
        "has_cgal": bool(cardiotwin.has_cgal),
        "has_tetgen": bool(cardiotwin.has_tetgen),
        "has_torch": bool(cardiotwin.has_torch),
        "cmake_dir": cmake_dir,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
    }
    print(json.dumps(info, indent=None if args.compact else 2))
    return 0


def _add_info(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("info", help="print version, components and paths as JSON",
                              description="Print the version, the optional components that were "
                              "built, the CMake package folder and the Python/numpy versions as "
                              "JSON.")
    p.add_argument("--compact", action="store_true", help="one line of JSON")
    p.set_defaults(func=_info)


def _describe(obj: object) -> str:
    if hasattr(obj, "tets"):
        return f"tet mesh, {obj.num_points} points, {obj.num_tets} tets"  # type: ignore[attr-defined]
    if hasattr(obj, "triangles"):
        return (f"surface, {obj.num_points} points, "  # type: ignore[attr-defined]
                f"{obj.num_triangles} triangles")  # type: ignore[attr-defined]
    shape = " x ".join(str(n) for n in obj.shape)  # type: ignore[attr-defined]
    return f"{type(obj).__name__} {shape}"


def _convert(args: argparse.Namespace) -> int:
    from cardiotwin import _core, io

    kind_in = io.file_kind(args.input)
    if kind_in is None:
        if not os.path.exists(args.input):
            raise io._error(_core.FileIOError, f"'{args.input}' does not exist",
                            expected="an existing file, openCARP basename or DICOM folder",
                            found="nothing", file=args.input)
        raise io._unsupported(args.input, "any")
    kind_out = io.file_kind(args.output, writing=True)
    if kind_out is None:
        raise io._unsupported(args.output, kind_in, writing=True)
    if kind_out != kind_in:
        raise io._error(_core.InvalidInput,
                        f"cannot convert {kind_in} '{args.input}' to {kind_out} '{args.output}'; "
                        f"supported {io._supported(kind_in)}", expected=f"a {kind_in} output",
                        found=f"a {kind_out} extension", file=args.output)

    if kind_in == "image":
        options: dict[str, Any] = {}
        if args.series_uid is not None:
            options["series_uid"] = args.series_uid
        if args.phase is not None:
            options["phase"] = args.phase
        image = io.read_image(args.input, dtype=args.dtype, **options)
        io.write_image(args.output, image)
        what = _describe(image)
    elif kind_in == "mesh":
        mesh = io.read_mesh(args.input)
        io.write_mesh(args.output, mesh, encoding=args.encoding)
        what = _describe(mesh)
    else:
        surface = io.read_surface(args.input, tag_array=args.tag_array)
        io.write_surface(args.output, surface, encoding=args.encoding)
        what = _describe(surface)
    if not args.quiet:
        print(f"{args.input} -> {args.output}: {what}")
    return 0


def _add_convert(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "convert", help="convert an image, tet mesh or surface to another format",
        description="Convert by extension: images .nii/.nii.gz (or a DICOM folder as input); tet "
        "meshes .vtu or openCARP (a basename, or .pts/.elem/.lon); surfaces .vtp/.stl.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("input", help="file, openCARP basename or DICOM folder to read")
    p.add_argument("output", help="file or openCARP basename to write")
    p.add_argument("--encoding", choices=["binary", "ascii", "compressed"], default="binary",
                   help="data encoding of .vtu/.vtp output (ascii also selects ASCII STL)")
    p.add_argument("--dtype", choices=["auto", "float32", "uint8"], default="auto",
                   help="voxel type of images: uint8 reads a label map")
    p.add_argument("--series-uid", default=None,
                   help="SeriesInstanceUID to read from a DICOM folder with several series")
    p.add_argument("--phase", type=int, default=None,
                   help="0-based phase (by TriggerTime) of a DICOM series with several images "
                   "per position")
    p.add_argument("--tag-array", default="tag",
                   help="cell array of a .vtp input that holds the face tags")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=_convert)


def _read_mesh_arg(spec: str) -> tuple[Any, str]:
    """The mesh named by `spec`: a file of any format :func:`cardiotwin.io.read_mesh` reads, or
    ``slab:DX`` (the Niederer 2011 slab, 20 x 7 x 3 mm, at spacing DX mm) or
    ``box:LX,LY,LZ:DX`` (a box with fibres along x). Returns the mesh and a description."""
    from cardiotwin import _core, io

    if spec.startswith(("slab:", "box:")):
        kind, _, rest = spec.partition(":")
        try:
            if kind == "slab":
                dx = float(rest)
                size = None
            else:
                lengths, _, dx_text = rest.partition(":")
                size = [float(v) for v in lengths.split(",")]
                dx = float(dx_text)
                if len(size) != 3:
                    raise ValueError(lengths)
        except ValueError:
            form = "slab:DX" if kind == "slab" else "box:LX,LY,LZ:DX"
            raise io._error(_core.InvalidInput, f"cannot read the mesh '{spec}'; expected "
                            f"{form} with lengths in mm (e.g. slab:0.5, box:10,5,2:0.5)",
                            expected=form, found=spec, field="MESH") from None
        if kind == "slab":
            return _core.mesh.niederer_slab(dx), f"Niederer slab 20 x 7 x 3 mm at dx {dx:g} mm"
        lengths_text = " x ".join(f"{v:g}" for v in size)
        return _core.mesh.box_mesh(size, dx), f"box {lengths_text} mm at dx {dx:g} mm"
    if io.file_kind(spec) != "mesh":
        if not os.path.exists(spec):
            raise io._error(_core.FileIOError, f"the mesh '{spec}' does not exist",
                            expected=("a mesh file, openCARP basename, slab:DX or "
                                      "box:LX,LY,LZ:DX"), found="nothing", file=spec)
        raise io._unsupported(spec, "mesh")
    return io.read_mesh(spec), spec


def _read_config(path: str) -> dict[str, Any]:
    from cardiotwin import _core, io

    if not os.path.exists(path):
        raise io._error(_core.FileIOError, f"the config '{path}' does not exist",
                        expected="a JSON file of monodomain options", found="nothing", file=path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        config = json.loads(text)
    except json.JSONDecodeError as e:
        raise io._error(_core.InvalidInput, f"'{path}' is not valid JSON: {e.msg} at line "
                        f"{e.lineno} column {e.colno}", expected="a JSON object",
                        found="invalid JSON", file=path) from None
    if not isinstance(config, dict):
        raise io._error(_core.InvalidInput, f"'{path}' must hold a JSON object of monodomain "
                        f"options, found a {type(config).__name__}", expected="a JSON object",
                        found=type(config).__name__, file=path)
    return config


def _simulate(args: argparse.Namespace) -> int:
    import time

    from cardiotwin import ep

    config = _read_config(args.config)
    mesh, what = _read_mesh_arg(args.mesh)
    if args.t_end is not None:
        config["t_end_ms"] = args.t_end
    if args.threads is not None:
        config["threads"] = args.threads
    outdir = args.output
    os.makedirs(outdir, exist_ok=True)
    snapshots = float(config.get("snapshot_every_ms", 0) or 0) > 0
    snapshot_dir = os.path.join(outdir, "vm") if snapshots else None
    if not snapshots:
        config.pop("output_dir", None)
    else:  # the CLI keeps everything it writes under OUTDIR
        config["output_dir"] = snapshot_dir
    model = config.get("model", "monodomain")
    eikonal = model in ("eikonal", "reaction-eikonal")
    if not eikonal:
        # Validate (raises InvalidInput naming the key) before telling the user anything started.
        options = ep.validate_monodomain_options({k: v for k, v in config.items() if k != "model"})
        if model != "monodomain":
            ep.make_solver(mesh, config)  # raises InvalidInput listing the models
    else:
        default_end = ep.default_eikonal_options()["t_end_ms"]
        options = {"t_end_ms": float(config.get("t_end_ms", default_end))}
    if not args.quiet:
        if eikonal:
            print(f"cardiotwin simulate: {what}: {mesh.num_points} nodes, {mesh.num_tets} tets; "
                  f"{model} to {options['t_end_ms']:g} ms", file=sys.stderr)
        else:
            print(f"cardiotwin simulate: {what}: {mesh.num_points} nodes, {mesh.num_tets} tets; "
                  f"{options['ionic_model']} to {options['t_end_ms']:g} ms at dt "
                  f"{options['dt_ms']:g} ms", file=sys.stderr)
    if snapshot_dir is not None:
        os.makedirs(snapshot_dir, exist_ok=True)
    t0 = time.perf_counter()
    solver = ep.make_solver(mesh, config)
    setup_s = time.perf_counter() - t0
    reporter = ep._progress_reporter(not args.quiet, "simulate")
    t1 = time.perf_counter()
    try:
        solver.run(None, progress=reporter)
    finally:
        if reporter is not None:
            reporter.close()
    wall_s = time.perf_counter() - t1
    result = solver.result()
    outputs = ep.save_result(outdir, mesh, result)
    if not args.no_plot:
        png = os.path.join(outdir, "activation.png")
        try:
            _save_activation_png(png, mesh, result)
            outputs["activation.png"] = png
        except ImportError as e:
            print(f"cardiotwin simulate: no activation.png ({e})", file=sys.stderr)
    if result.snapshots_pvd:
        outputs["vm.pvd"] = result.snapshots_pvd
    summary = ep.summarize(result)
    timings = result.metadata.get("timings", {}) if eikonal else solver.timings
    steps = int(timings.get("steps", 0))
    report = {
        "mesh": what,
        "nodes": int(mesh.num_points),
        "tets": int(mesh.num_tets),
        "t_end_ms": float(options["t_end_ms"]),
        "time_ms": float(solver.time_ms),
        "activated_nodes": summary["activated_nodes"],
        "activation_ms": summary["activation_ms"],
        "apd_ms": summary["apd_ms"],
        "wall_s": round(wall_s, 3),
        "setup_s": round(setup_s, 3),
        "model": model,
        "node_steps_per_s": (round(mesh.num_points * steps / wall_s)
                             if wall_s > 0 and steps else None),
        "threads": result.metadata.get("threads"),
        "timings": timings,
        "outputs": outputs,
    }
    print(json.dumps(ep._json_safe(report), indent=None if args.compact else 2))
    return 0


def _save_activation_png(path: str, mesh: Any, result: Any) -> None:
    """activation.png without pyplot (no GUI backend, no global figure state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from cardiotwin import ep

    fig = Figure(figsize=(8.0, 5.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(111, projection="3d")
    ep.plot_activation(mesh, result, ax=ax)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".activation.{os.getpid()}.png")
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _add_simulate(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "simulate", help="run a monodomain simulation and write activation maps",
        description="Run the monodomain model on MESH with the options in CONFIG (a JSON object "
        "of monodomain options, see cardiotwin._core.ep.default_monodomain_options(); "
        "with \"model\": \"eikonal\" or \"reaction-eikonal\" the Eikonal models, options of "
        "cardiotwin.ep.default_eikonal_options(); "
        "\"t_end_ms\" sets the end time). Writes OUTDIR/activation.vtu (activation_ms, "
        "repolarisation_ms, apd_ms per node), probes.csv, result.json, activation.png and, "
        "with \"snapshot_every_ms\", Vm snapshots in OUTDIR/vm (vm.pvd for ParaView). "
        "Progress goes to stderr; a JSON summary to stdout.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("mesh", help="tet mesh file (.vtu, openCARP basename/.pts/.elem), or "
                   "slab:DX (Niederer slab at DX mm), or box:LX,LY,LZ:DX")
    p.add_argument("config", help="JSON file of monodomain options")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                   help="folder for the results (created if missing)")
    p.add_argument("--t-end", type=float, default=None, metavar="MS",
                   help="end time in ms (overrides the config's t_end_ms)")
    p.add_argument("--threads", type=int, default=None,
                   help="thread count (overrides the config; 0 = automatic)")
    p.add_argument("--no-plot", action="store_true", help="do not write activation.png")
    p.add_argument("--compact", action="store_true", help="one line of JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=_simulate)


from ._mesh_cli import _add_fibres, _add_mesh  # noqa: E402 - the meshing stage's subcommands

#: Subcommand registrars, in the order `--help` lists them.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_info, _add_convert,
                                                                 _add_simulate, _add_mesh, _add_fibres]
COMMANDS += [_ecg_cli.add_ecg, _ecg_cli.add_ecg_features]
from ._segment_cli import add_segment  # noqa: E402 - the segmentation stage's subcommand

COMMANDS += [add_segment]
from ._run_cli import add_run  # noqa: E402 - the whole pipeline

COMMANDS += [add_run]
from ._cohort_cli import add_cohort  # noqa: E402 - many twins on Dask

COMMANDS += [add_cohort]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand of ``COMMANDS``."""
    parser = argparse.ArgumentParser(
        prog="cardiotwin", description="Cardiac digital twins: image to mesh to heartbeat to ECG.")
    parser.add_argument("-V", "--version", action="store_true", help="print the version and exit")
    verbose = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand without the flag must not reset one given before the subcommand.
    verbose.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                         help="show the full traceback of an error")
    parser.add_argument("-v", "--verbose", action="store_true", default=False,
                        help="show the full traceback of an error")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    original_add = subparsers.add_parser

    def add_parser(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs.setdefault("parents", [verbose])
        return original_add(name, **kwargs)

    subparsers.add_parser = add_parser  # type: ignore[method-assign]
    for register in COMMANDS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        import cardiotwin

        print(cardiotwin.__version__)
        return 0
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        import cardiotwin

        try:
            return int(args.func(args))
        except (cardiotwin.Error, OSError, ImportError) as e:
            if args.verbose:
                traceback.print_exc()
            message = " ".join(str(e).split()) or type(e).__name__
            print(f"cardiotwin {args.command}: error: {message}", file=sys.stderr)
            return EXIT_USAGE
    except KeyboardInterrupt:
        print("cardiotwin: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
