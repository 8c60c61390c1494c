"""Meshing benchmark: real label maps and surfaces to tet meshes; prints one JSON object.

    python tests/benchmarks/meshing.py [--quick] [--cases ct_lv ct_ventricles sunnybrook rodero ellipsoid]
                                       [--size-mm 1.0] [--png DIR] [--out DIR]

For every case: input, elements, seconds, quality (dihedral angles, radius-edge ratio, volume per
region) and the mesh volume against the label (or enclosed surface) volume. ``--png DIR`` renders
each boundary surface coloured by tag (or region) for a visual check; ``--out DIR`` keeps the
meshes (.vtu) and tagged surfaces. Target: the 512 x 512 x 248 CT label map to a ~1 mm
ventricular mesh in under 60 s on a 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
SHARED = REPO.parent / "shared" / "data"
CT = SHARED / "labelmaps" / "heartdeformnets_wh.nii.gz"
SUNNYBROOK = DATA / "sunnybrook" / "SCD0000101_ED_gt.nii.gz"
RODERO = DATA / "rodero" / "rodero01_lv_surface.vtp"


def render(path: Path, surface, title: str, colour_by: str = "tags", max_faces: int = 60000) -> None:
    """A PNG of `surface` from two sides, faces coloured by tag (or the 'region' cell field)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    pts = np.asarray(surface.points)
    tri = np.asarray(surface.triangles)
    values = (np.asarray(surface.tags) if colour_by == "tags"
              else np.asarray(surface.cell_data[colour_by]).reshape(-1))
    if len(tri) > max_faces:
        keep = np.random.default_rng(0).choice(len(tri), max_faces, replace=False)
        tri, values = tri[keep], values[keep]
    from matplotlib.colors import to_rgb

    palette = {0: "#999999", 1: "#d62728", 2: "#1f77b4", 3: "#f2c14e", 4: "#2ca02c", 8: "#9467bd"}
    base = np.array([to_rgb(palette.get(int(v), "#8c564b")) for v in values])
    # Lambert shading towards a light above the viewer, so that the shape reads.
    n = np.cross(pts[tri[:, 1]] - pts[tri[:, 0]], pts[tri[:, 2]] - pts[tri[:, 0]])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    light = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])
    colours = base * (0.35 + 0.65 * np.abs(n @ light))[:, None]
    fig = Figure(figsize=(11, 5.5))
    FigureCanvasAgg(fig)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre, half = (lo + hi) / 2, (hi - lo).max() / 2
    for k, (elev, azim) in enumerate([(20, -60), (20, 120)]):
        ax = fig.add_subplot(1, 2, k + 1, projection="3d")
        ax.add_collection3d(Poly3DCollection(pts[tri], facecolors=colours, edgecolor="none", linewidths=0))
        for a, setter in enumerate([ax.set_xlim, ax.set_ylim, ax.set_zlim]):
            setter(centre[a] - half, centre[a] + half)
        ax.view_init(elev, azim)
        ax.set_xlabel("x (mm)")
        ax.set_ylabel("y (mm)")
        ax.set_zlabel("z (mm)")
    fig.suptitle(title + "  (red LV endo, blue RV endo, yellow epi, green base)" if colour_by == "tags" else title)
    fig.savefig(path, dpi=90)


def quality_summary(q: dict) -> dict:
    keys = ["num_points", "num_tets", "inverted", "min_dihedral_deg", "mean_dihedral_deg", "max_dihedral_deg",
            "dihedral_below_10", "max_radius_edge_ratio", "mean_radius_edge_ratio", "mean_edge_mm",
            "total_volume_mm3", "region_volume_mm3"]
    return {k: q[k] for k in keys}


def label_case(name: str, path: Path, labels: list[int], size: float, tags: dict, args, **options) -> dict:
    import cardiotwin
    from cardiotwin import io, mesh

    t0 = time.perf_counter()
    lm = io.read_image(path, dtype="uint8")
    t_read = time.perf_counter() - t0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if args.parallel:
            options = dict(options, parallel=True)
        t1 = time.perf_counter()
        result = mesh.mesh_label_map(lm, labels, size, **options)
        seconds = time.perf_counter() - t1
    d = result.to_dict()
    q = d["quality"]
    input_volumes = {str(k): v for k, v in mesh.label_volumes_mm3(lm).items()}
    case = {
        "case": name, "input": str(path), "shape": list(lm.shape), "spacing_mm": list(map(float, lm.spacing)),
        "labels": d["labels"], "size_mm": size, "options": options,
        "seconds": round(seconds, 2), "seconds_read": round(t_read, 2),
        "seconds_steps": {k: round(d[k], 2) for k in d if k.startswith("seconds")},
        "prepared_shape": d["prepared_shape"], "interpolation": d["interpolation"],
        "label_volume_input_mm3": {str(l): input_volumes.get(str(l)) for l in d["labels"]},
        "label_volume_prepared_mm3": d["label_volume_mm3"], "wall_voxels": d["wall_voxels"],
        "quality": quality_summary(q), "warnings": [str(w.message) for w in caught],
    }
    case["volume_vs_label"] = {
        str(l): (q["region_volume_mm3"].get(str(l), 0.0) / v - 1.0) if v else None
        for l, v in ((l, input_volumes.get(str(l)) or d["label_volume_mm3"].get(str(l))) for l in d["labels"])
    }
    if tags:
        t2 = time.perf_counter()
        tagged = mesh.tag_ventricles(result.mesh, result.prepared, meshed_labels=d["labels"], check=False,
                                     base_depth_mm=max(size, 1.0), **tags)
        from cardiotwin import anatomy

        coords = anatomy.ventricular_coordinates(tagged, rv_regions=[l for l in d["labels"] if l != labels[0]])
        fib = anatomy.compute_fibres(tagged.mesh, coords)
        case["tags"] = mesh.check_surface_tags(tagged.surface, [1, 3, 4] + ([2] if "rv_blood" in tags else []))
        case["seconds_tags_coordinates_fibres"] = round(time.perf_counter() - t2, 2)
        case["laplace_iterations"] = coords.iterations
        case["helix_deg_range"] = [float(fib["helix_deg"].min()), float(fib["helix_deg"].max())]
        if args.png:
            render(Path(args.png) / f"{name}.png", tagged.surface, f"{name}: {q['num_tets']} tets")
        if args.out:
            io.write_surface(Path(args.out) / f"{name}.surface.vtp", mesh.extract_faces(tagged.surface))
    elif args.png:
        render(Path(args.png) / f"{name}.png", mesh.boundary_surface(result.mesh), f"{name}: {q['num_tets']} tets",
               colour_by="region")
    if args.out:
        io.write_mesh(Path(args.out) / f"{name}.vtu", result.mesh)
    del cardiotwin
    return case


def rodero_case(args, refine: bool) -> dict:
    from cardiotwin import io, mesh

    surface = io.read_surface(RODERO, tag_array="surface-id")
    oriented = surface.copy()
    flipped = mesh.orient_outward(oriented)
    manifold = mesh.check_manifold(oriented)
    t0 = time.perf_counter()
    t = mesh.tetrahedralize_tagged(surface, max_radius_edge_ratio=1.4 if refine else 0.0,
                                   check_self_intersections=refine)  # the quality run includes the check
    seconds = time.perf_counter() - t0
    q = mesh.quality_report(t.mesh).to_dict()
    name = "rodero_tetgen_q1.4" if refine else "rodero_tetgen_plc"
    if args.png:
        s = t.surface
        tags = np.asarray(s.tags)
        s.tags = np.select([tags == 1, tags == 2], [1, 3], 4).astype(np.int32)
        render(Path(args.png) / f"{name}.png", s, f"{name}: {q['num_tets']} tets")
    return {
        "case": name, "input": str(RODERO), "triangles": int(surface.num_triangles),
        "tetgen": {"max_radius_edge_ratio": 1.4 if refine else 0.0, "check_self_intersections": refine},
        "seconds": round(seconds, 2), "quality": quality_summary(q),
        "faces_flipped_to_orient": int(flipped), "surface": manifold,
        "volume_vs_surface": q["total_volume_mm3"] / manifold["signed_volume_mm3"] - 1.0,
        "readme_volume_mm3": 187.1e3,
    }


def ellipsoid_case(args, size: float) -> dict:
    from cardiotwin import anatomy, mesh

    t0 = time.perf_counter()
    lv = mesh.ellipsoidal_lv(size_mm=size)
    t_mesh = time.perf_counter() - t0
    wall, _ = mesh.ellipsoidal_lv_volumes()
    out = anatomy.fibres(lv)
    q = mesh.quality_report(lv.mesh).to_dict()
    if args.png:
        render(Path(args.png) / "ellipsoid.png", lv.surface, f"ellipsoidal LV: {q['num_tets']} tets")
    return {"case": "ellipsoidal_lv", "size_mm": size, "seconds": round(t_mesh, 3),
            "seconds_with_fibres": round(time.perf_counter() - t0, 3), "quality": quality_summary(q),
            "volume_vs_exact": q["total_volume_mm3"] / wall - 1.0, "fields": sorted(out.point_data.keys())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="coarse sizes (a smoke test)")
    parser.add_argument("--size-mm", type=float, default=1.0, help="target edge length of the CT cases")
    parser.add_argument("--cases", nargs="+", default=["ct_lv", "ct_ventricles", "sunnybrook", "rodero", "ellipsoid"])
    parser.add_argument("--parallel", action="store_true", help="TBB-parallel Mesh_3 (not deterministic)")
    parser.add_argument("--png", default=None, help="folder for renderings")
    parser.add_argument("--out", default=None, help="folder for meshes and surfaces")
    args = parser.parse_args(argv)
    for folder in (args.png, args.out):
        if folder:
            os.makedirs(folder, exist_ok=True)
    import cardiotwin

    size = 3.0 if args.quick else args.size_mm
    cases = []
    if "ct_lv" in args.cases and CT.exists():
        cases.append(label_case("ct_lv", CT, [1], size, {}, args))
    if "ct_ventricles" in args.cases and CT.exists():
        cases.append(label_case("ct_ventricles", CT, [1], size,
                                {"lv_blood": 3, "rv_blood": 5, "base_labels": [2, 4, 6, 7]}, args,
                                wall_source_label=5, wall_label=8, wall_thickness_mm=3.0))
    if "sunnybrook" in args.cases and SUNNYBROOK.exists():
        from cardiotwin import io

        k_axis = np.asarray(io.read_image(SUNNYBROOK, dtype="uint8").direction)[:, 2]
        cases.append(label_case("sunnybrook", SUNNYBROOK, [2], 2.5 if args.quick else 1.0,
                                {"lv_blood": 1, "base_direction": k_axis}, args))
    if "rodero" in args.cases and RODERO.exists():
        cases.append(rodero_case(args, refine=False))
        if not args.quick:
            cases.append(rodero_case(args, refine=True))
    if "ellipsoid" in args.cases:
        cases.append(ellipsoid_case(args, 2.0 if args.quick else 1.0))
    print(json.dumps({"benchmark": "meshing", "machine": platform.node(), "cpus": os.cpu_count(),
                      "version": cardiotwin.__version__, "cases": cases}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
