"""The ``cardiotwin`` command line.

``cardiotwin info`` prints the build (version, components, CMake folder) as JSON;
``cardiotwin convert IN OUT`` converts images, tet meshes and surfaces between the formats of
:mod:`cardiotwin.io`, chosen by extension.

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


#: Subcommand registrars, in the order `--help` lists them.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_add_info, _add_convert]


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
