"""The ``cardiotwin mesh`` and ``cardiotwin fibres`` subcommands (registered in :mod:`cardiotwin.cli`).

``cardiotwin mesh INPUT -o OUT.vtu`` meshes a label map (``.nii``/``.nii.gz``, CGAL) or a closed
surface (``.vtp``/``.stl``, TetGen) and prints the quality report as JSON. With surface tagging
options it also writes the tagged boundary surface (``OUT.surface.vtp`` by default), which
``cardiotwin fibres OUT.vtu -o FIBRES.vtu`` reads to compute coordinates and fibres.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from typing import Any


def _surface_path(mesh_path: str) -> str:
    root = mesh_path[: -len(".vtu")] if mesh_path.lower().endswith(".vtu") else mesh_path
    return root + ".surface.vtp"


def _options_arg(text: str | None) -> dict[str, Any]:
    from cardiotwin import _core, io

    if not text:
        return {}
    try:
        if os.path.exists(text):
            with open(text, encoding="utf-8") as f:
                value = json.load(f)
        else:
            value = json.loads(text)
    except json.JSONDecodeError as e:
        raise io._error(_core.InvalidInput, f"--options is neither a JSON file nor JSON: {e.msg}",
                        expected="a JSON object or a file holding one", found=text) from None
    if not isinstance(value, dict):
        raise io._error(_core.InvalidInput, "--options must be a JSON object", expected="a JSON object",
                        found=type(value).__name__)
    return value


def _tag_map(items: list[str]) -> dict[int, int]:
    from cardiotwin import _core, io, mesh

    out: dict[int, int] = {}
    for item in items:
        key, sep, value = item.partition(":")
        try:
            if not sep:
                raise ValueError(item)
            out[int(key)] = mesh.surface_tag(value if not value.lstrip("-").isdigit() else int(value))
        except ValueError:
            raise io._error(_core.InvalidInput, f"bad --tag-map entry '{item}'",
                            expected="IN:OUT with OUT a tag number or lv_endo, rv_endo, epi, base",
                            found=item) from None
    return out


def _write_surface(path: str, surface: Any) -> None:
    from cardiotwin import io, mesh

    io.write_surface(path, mesh.extract_faces(surface))


def _mesh(args: argparse.Namespace) -> int:
    from cardiotwin import io, mesh

    kind = io.file_kind(args.input)
    report: dict[str, Any] = {"input": args.input, "output": args.output}
    t0 = time.perf_counter()
    tagged = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", mesh.MeshingWarning)
        if kind == "image":
            labels = io.read_image(args.input, dtype="uint8")
            options = _options_arg(args.options)
            if args.rv_wall_from is not None:
                options.update(wall_source_label=args.rv_wall_from, wall_label=args.rv_wall_label,
                               wall_thickness_mm=args.rv_wall_mm)
            result = mesh.mesh_label_map(labels, args.labels, args.size_mm, **options)
            tet = result.mesh
            details = result.to_dict()
            report["kind"] = "label map"
            report["labels"] = details["labels"]
            report["label_volume_mm3"] = details["label_volume_mm3"]
            report["interpolation"] = details["interpolation"]
            report["islands"] = details["islands"]
            report["seconds_prepare"] = details["seconds_prepare"]
            report["seconds_mesh"] = details["seconds_mesh"]
            if args.lv_blood is not None or args.base_labels or args.base_direction is not None:
                meshed = list(details["labels"])
                tagged = mesh.tag_ventricles(tet, result.prepared, lv_blood=args.lv_blood, rv_blood=args.rv_blood,
                                             base_labels=args.base_labels or (), meshed_labels=meshed,
                                             base_direction=_base_direction(args, result.prepared),
                                             base_depth_mm=max(args.size_mm, 1.0))
        elif kind == "surface":
            surface = io.read_surface(args.input, tag_array=args.tag_array)
            if args.tag_map:
                mapping = _tag_map(args.tag_map)
                for f in range(surface.num_triangles):
                    surface.tags[f] = mapping.get(int(surface.tags[f]), int(surface.tags[f]))
            size = args.size_mm
            max_volume = size ** 3 / (6 * math.sqrt(2)) if size > 0 else 0.0  # a regular tet of edge `size`
            tagged = mesh.tetrahedralize_tagged(surface, max_radius_edge_ratio=args.max_radius_edge_ratio,
                                                max_volume_mm3=max_volume,
                                                check_self_intersections=not args.no_intersection_check)
            tet = tagged.mesh
            report["kind"] = "surface"
            report["tetgen"] = {"max_radius_edge_ratio": args.max_radius_edge_ratio, "max_volume_mm3": max_volume}
            oriented = surface.copy()
            mesh.orient_outward(oriented)
            report["surface_volume_mm3"] = mesh.check_manifold(oriented)["signed_volume_mm3"]
        else:
            raise io._unsupported(args.input, "label map or surface")
    report["warnings"] = [str(w.message) for w in caught if issubclass(w.category, mesh.MeshingWarning)]
    for message in report["warnings"]:
        print(f"cardiotwin mesh: warning: {message}", file=sys.stderr)
    report["seconds"] = round(time.perf_counter() - t0, 3)
    io.write_mesh(args.output, tet)
    if tagged is not None:
        surface_out = args.surface or _surface_path(args.output)
        _write_surface(surface_out, tagged.surface)
        report["surface"] = surface_out
        report["surface_tags"] = mesh.check_surface_tags(tagged.surface, [])["tags"]
    if args.stl:
        io.write_surface(args.stl, mesh.printable_surface(tet))
        report["stl"] = args.stl
    report["quality"] = mesh.quality_report(tet).to_dict()
    print(json.dumps(report, indent=None if args.compact else 2))
    return 0


def _base_direction(args: argparse.Namespace, labels: Any) -> Any:
    import numpy as np

    if args.base_direction is not None:
        return np.asarray(args.base_direction, dtype=float)
    if args.base_axis is not None:
        axis, sign = args.base_axis.lstrip("+-"), -1.0 if args.base_axis.startswith("-") else 1.0
        return sign * np.asarray(labels.direction)[:, "ijk".index(axis)]
    return None


def _add_mesh(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "mesh", help="mesh a label map (CGAL) or a closed surface (TetGen); print the quality as JSON",
        description="Mesh INPUT, a label map (.nii/.nii.gz) or a closed surface (.vtp/.stl), to a tet "
        "mesh OUT (.vtu or openCARP). Prints a JSON report (quality: element count, dihedral angles, "
        "radius-edge ratios, volume per region). Label maps: --labels chooses the labels (region tag = "
        "label), thick slices are interpolated, islands removed (with a warning). Surface tags "
        "(--lv-blood, --rv-blood, --base-labels, --base-axis) write the tagged boundary surface for "
        "'cardiotwin fibres'.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("input", help="label map (.nii, .nii.gz) or closed surface (.vtp, .stl)")
    p.add_argument("-o", "--output", required=True, help="tet mesh to write (.vtu or openCARP basename)")
    p.add_argument("--labels", type=int, nargs="+", default=None, metavar="L",
                   help="labels to mesh (default: every non-zero label)")
    p.add_argument("--size-mm", type=float, default=1.0, metavar="S", help="target edge length in mm")
    p.add_argument("--options", default=None, metavar="JSON",
                   help="more label-map meshing options as JSON or a JSON file "
                   "(see cardiotwin.mesh.label_mesh_options())")
    p.add_argument("--rv-wall-from", type=int, default=None, metavar="L",
                   help="grow an RV free wall around the blood pool label L")
    p.add_argument("--rv-wall-label", type=int, default=8, metavar="L", help="label of the grown wall")
    p.add_argument("--rv-wall-mm", type=float, default=3.0, help="thickness of the grown wall")
    p.add_argument("--lv-blood", type=int, default=None, metavar="L", help="LV blood label (faces facing it: lv_endo)")
    p.add_argument("--rv-blood", type=int, default=None, metavar="L", help="RV blood label (faces facing it: rv_endo)")
    p.add_argument("--base-labels", type=int, nargs="+", default=None, metavar="L",
                   help="labels whose faces are the base (atria, aorta, pulmonary artery)")
    p.add_argument("--base-axis", default=None, choices=["+i", "-i", "+j", "-j", "+k", "-k", "i", "j", "k"],
                   help="voxel axis pointing from apex to base; its end cap becomes the base (a cut, e.g. "
                   "the last short-axis slice)")
    p.add_argument("--base-direction", type=float, nargs=3, default=None, metavar=("X", "Y", "Z"),
                   help="world direction from apex to base (instead of --base-axis)")
    p.add_argument("--surface", default=None, help="tagged boundary surface to write (default OUT.surface.vtp)")
    p.add_argument("--stl", default=None, help="also write the watertight boundary as STL (for 3-D printing)")
    p.add_argument("--tag-array", default="tag", help="cell array of a .vtp input with the face tags")
    p.add_argument("--tag-map", nargs="+", default=None, metavar="IN:OUT",
                   help="renumber input face tags, e.g. 1:lv_endo 2:epi 3:base 4:base")
    p.add_argument("--max-radius-edge-ratio", type=float, default=1.4,
                   help="TetGen quality bound for surfaces (0: no refinement)")
    p.add_argument("--no-intersection-check", action="store_true",
                   help="skip TetGen's self-intersection check of a surface known to be clean (faster)")
    p.add_argument("--compact", action="store_true", help="one line of JSON")
    p.set_defaults(func=_mesh)


def _fibres(args: argparse.Namespace) -> int:
    import numpy as np

    from cardiotwin import SurfaceMesh, _core, anatomy, io

    t0 = time.perf_counter()
    tet = io.read_mesh(args.mesh)
    surface_path = args.surface or _surface_path(args.mesh)
    if not os.path.exists(surface_path):
        raise io._error(_core.FileIOError, f"the tagged surface '{surface_path}' does not exist; write it with "
                        "'cardiotwin mesh ... --lv-blood L ...' or pass --surface",
                        expected="a .vtp with face tags lv_endo, epi, base (and rv_endo)", found="nothing",
                        file=surface_path)
    faces = io.read_surface(surface_path)
    tri = np.asarray(faces.triangles)
    if "node" in faces.point_data:
        node = np.asarray(faces.point_data["node"]).reshape(-1).astype(np.int64)
    else:  # match points by position
        lookup = {tuple(p): i for i, p in enumerate(np.asarray(tet.points))}
        try:
            node = np.array([lookup[tuple(p)] for p in np.asarray(faces.points)], dtype=np.int64)
        except KeyError:
            raise io._error(_core.InvalidInput, f"the points of '{surface_path}' are not nodes of '{args.mesh}'",
                            expected="the boundary surface of this mesh", found="other points",
                            file=surface_path) from None
    if node.size and (node.min() < 0 or node.max() >= tet.num_points):
        raise io._error(_core.InvalidInput, f"'{surface_path}' names nodes beyond the mesh's {tet.num_points}",
                        expected=f"node ids below {tet.num_points}", found=str(int(node.max())), file=surface_path)
    surface = SurfaceMesh(np.asarray(tet.points), node[tri].astype(np.int32), np.asarray(faces.tags))
    coord_options: dict[str, Any] = {}
    if args.rv_regions:
        coord_options["rv_regions"] = args.rv_regions
    out = anatomy.fibres(tet, surface, coordinate_options=coord_options, alpha_endo_deg=args.alpha_endo,
                         alpha_epi_deg=args.alpha_epi, beta_endo_deg=args.beta_endo, beta_epi_deg=args.beta_epi)
    io.write_mesh(args.output, out)
    helix = np.asarray(out.cell_data["helix_deg"]).reshape(-1)
    report = {
        "mesh": args.mesh, "surface": surface_path, "output": args.output,
        "nodes": int(out.num_points), "tets": int(out.num_tets),
        "helix_deg": {"min": float(helix.min()), "max": float(helix.max()), "mean": float(helix.mean())},
        "fields": sorted(out.point_data.keys()) + sorted(out.cell_data.keys()),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    print(json.dumps(report, indent=None if args.compact else 2))
    return 0


def _add_fibres(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "fibres", help="ventricular coordinates and rule-based fibres for a tagged mesh",
        description="Compute Laplace-based coordinates (transmural, apicobasal, rotational, LV/RV) and "
        "rule-based fibres, sheets and normals (helix angle alpha_endo at the endocardium to alpha_epi at "
        "the epicardium) for MESH, whose tagged boundary surface is MESH.surface.vtp (as written by "
        "'cardiotwin mesh') or --surface. Writes OUT with all fields; prints a JSON summary.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("mesh", help="tet mesh (.vtu or openCARP)")
    p.add_argument("-o", "--output", required=True, help="mesh to write with coordinates and fibres (.vtu/openCARP)")
    p.add_argument("--surface", default=None, help="tagged boundary surface (.vtp; default MESH.surface.vtp)")
    p.add_argument("--alpha-endo", type=float, default=60.0, help="helix angle at the endocardium (deg)")
    p.add_argument("--alpha-epi", type=float, default=-60.0, help="helix angle at the epicardium (deg)")
    p.add_argument("--beta-endo", type=float, default=0.0, help="sheet angle at the endocardium (deg)")
    p.add_argument("--beta-epi", type=float, default=0.0, help="sheet angle at the epicardium (deg)")
    p.add_argument("--rv-regions", type=int, nargs="+", default=None, metavar="R",
                   help="region tags of RV tissue (the septum then counts as LV in 'ventricle')")
    p.add_argument("--compact", action="store_true", help="one line of JSON")
    p.set_defaults(func=_fibres)
