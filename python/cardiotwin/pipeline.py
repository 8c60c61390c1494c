"""The twin pipeline: from a label map (or a mesh) to a heart with fibres, its activation and its
12-lead ECG, in stages that can be resumed.

A twin is described by a JSON object (see :func:`default_config`); every key is optional but
``input``. :func:`run_twin` runs the stages in order, writing into one output folder:

==========  ===============================================  =====================================
stage       what it does                                     files
==========  ===============================================  =====================================
segment     image -> label map with a TorchScript model      ``labels.nii.gz``, ``overlay.png``
            (the bundled Sunnybrook LV model by default);
            only when the input is an image
mesh        label map -> tet mesh (CGAL), surfaces tagged    ``mesh.vtu``, ``mesh.surface.vtp``,
                                                             ``heart.stl``
anatomy     ventricular coordinates and rule-based fibres    ``heart.vtu``
activation  reaction-Eikonal from default root sites, with   ``activation.vtu``,
            a fast sub-endocardial layer for the Purkinje    ``activation.png``,
            system; Vm snapshots for ParaView                ``vm/vm.pvd``
ecg         pseudo-ECG, 12 leads, features (and the          ``ecg.csv``, ``ecg.png``,
            measured ECG beside it when given)               ``ecg_features.json``
report      everything above on one page                     ``report.html``
==========  ===============================================  =====================================

``summary.json`` collects volumes, mesh statistics, QRS and QT, timings per stage and the
versions and options used. Each stage records a fingerprint of its options and inputs in
``stages.json``; a stage whose fingerprint and files are unchanged is skipped, so a run that was
interrupted (or re-run with options that only touch later stages) continues where it stopped.
Files are written atomically: an interrupted run never leaves a half-written file.

Inputs are checked before any stage runs: voxel spacings and mesh extents far from millimetre
values (um or m by mistake), missing files and inconsistent options raise ``ValueError``.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from . import __version__
from .ep import _atomic_write_text

SCHEMA_VERSION = 1
FAST_LAYER_REGION = 90  # region tag given to the sub-endocardial tets of the fast layer

_DEFAULTS: dict[str, Any] = {
    "version": SCHEMA_VERSION,
    "input": {"image": None, "labels": None, "mesh": None, "ecg": None},
    "segmentation": {"model": None, "threads": 0, "mirror": False},
    "labels": {"myocardium": [2], "lv_blood": 1, "rv_blood": None, "base_labels": [], "base_axis": "+k",
               "clean_slices": True},
    "mesh": {"size_mm": 2.0},
    "fibres": {"alpha_endo_deg": 60.0, "alpha_epi_deg": -60.0},
    "activation": {
        "model": "reaction-eikonal",
        "velocity_mm_per_ms": {"fibre": 0.6, "sheet": 0.4, "normal": 0.2},
        "fast_layer": {"transmural_depth": 0.15, "velocity_mm_per_ms": 2.0},
        "rv_delay_ms": 5.0,
        "apd_ms": 280.0,
    },
    "ecg": {"duration_ms": 450.0, "sample_ms": 1.0, "rr_ms": 1000.0},
    "output": {"vm_every_ms": 10.0, "stl": True, "report": True},
}
STAGES = ("segment", "mesh", "anatomy", "activation", "ecg", "report")


class PipelineError(RuntimeError):
    """A stage failed; the message names the stage, and everything before it is kept."""


def default_config() -> dict[str, Any]:
    """Every option of a twin with its default (a deep copy)."""
    return copy.deepcopy(_DEFAULTS)


def _merge(defaults: Mapping[str, Any], given: Mapping[str, Any], where: str) -> dict[str, Any]:
    out = copy.deepcopy(dict(defaults))
    for key, value in given.items():
        if key not in defaults:
            raise ValueError(f"unknown option '{where}{key}': expected one of {sorted(defaults)}")
        if isinstance(defaults[key], dict) and defaults[key] and isinstance(value, Mapping):
            out[key] = _merge(defaults[key], value, f"{where}{key}.")
        else:
            out[key] = value
    return out


def read_json_object(path: str | os.PathLike, what: str, missing: type[Exception] = FileNotFoundError) -> dict[str, Any]:
    """The JSON object in the file at `path`; a missing file raises `missing`, invalid JSON or
    another JSON type ``ValueError``, each naming `what` and the file."""
    path = Path(path)
    if not path.is_file():
        raise missing(f"{what} not found: {path}")
    try:
        value = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{what} {path} is not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what} {path} must hold a JSON object, found {type(value).__name__}")
    return value


def load_config(config: Mapping[str, Any] | str | os.PathLike, base_dir: str | None = None) -> dict[str, Any]:
    """Validate a twin config (a dict or a JSON file) against the defaults: unknown keys, a wrong
    version, missing input files or bad values raise ``ValueError`` naming the key. Input paths
    are resolved relative to the config file (or `base_dir`)."""
    if not isinstance(config, Mapping):
        base_dir = base_dir or str(Path(config).parent)
        config = read_json_object(config, "twin config")
    if not isinstance(config, Mapping):
        raise ValueError(f"a twin config must be a JSON object, found {type(config).__name__}")
    version = config.get("version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise ValueError(f"unsupported twin config version: expected {SCHEMA_VERSION}, found {version!r}")
    cfg = _merge(_DEFAULTS, config, "")
    inputs = cfg["input"]
    for key in ("image", "labels", "mesh", "ecg"):
        if inputs[key] is not None:
            p = Path(inputs[key])
            if not p.is_absolute() and base_dir:
                p = Path(base_dir) / p
            if not p.exists():
                raise FileNotFoundError(f"input.{key}: file not found: {p}")
            inputs[key] = str(p.resolve())
    if inputs["mesh"] is not None and (inputs["labels"] is not None or inputs["image"] is not None):
        raise ValueError("input: give either 'mesh' or an image/label map, not both")
    if inputs["mesh"] is None and inputs["labels"] is None and inputs["image"] is None:
        raise ValueError("input: give one of 'image' (an MRI: .nii/.nii.gz or a DICOM folder; it is "
                         "segmented), 'labels' (a label map .nii/.nii.gz) or 'mesh' (a tagged .vtu with "
                         "its .surface.vtp, as 'cardiotwin mesh' writes)")
    lab = cfg["labels"]
    myo = lab["myocardium"]
    if not (isinstance(myo, list) and myo and all(isinstance(v, int) and 0 < v < 256 for v in myo)):
        raise ValueError(f"labels.myocardium: expected a non-empty list of label values 1..255, found {myo!r}")
    for key in ("lv_blood", "rv_blood"):
        v = lab[key]
        if v is not None and (not isinstance(v, int) or v in myo):
            raise ValueError(f"labels.{key}: expected a label value that is not a myocardium label "
                             f"{myo}, found {v!r}")
    if lab["rv_blood"] is not None and lab["rv_blood"] == lab["lv_blood"]:
        raise ValueError(f"labels.rv_blood and labels.lv_blood are the same label ({lab['lv_blood']})")
    if lab["base_axis"] not in (None, "", "+i", "-i", "+j", "-j", "+k", "-k", "i", "j", "k"):
        raise ValueError(f"labels.base_axis: expected one of +i -i +j -j +k -k (or null), "
                         f"found {lab['base_axis']!r}")
    seg = cfg["segmentation"]
    if seg["model"] is not None:
        p = Path(seg["model"])
        if not p.is_absolute() and base_dir:
            p = Path(base_dir) / p
        if not (p / "metadata.json").is_file():
            raise FileNotFoundError(f"segmentation.model: no model folder with metadata.json at {p}")
        seg["model"] = str(p.resolve())
    act = cfg["activation"]
    if act["model"] not in ("eikonal", "reaction-eikonal"):
        raise ValueError(f"activation.model: expected 'reaction-eikonal' or 'eikonal' (the monodomain "
                         f"model runs with 'cardiotwin simulate'), found {act['model']!r}")
    layer = act["fast_layer"]
    if layer and not (0 <= float(layer.get("transmural_depth", 0)) < 1):
        raise ValueError("activation.fast_layer.transmural_depth: expected a fraction of the wall in [0, 1), "
                         f"found {layer.get('transmural_depth')!r}")
    if not (isinstance(act["apd_ms"], (int, float)) and 50 <= act["apd_ms"] <= 600):
        raise ValueError(f"activation.apd_ms: expected 50..600 ms, found {act['apd_ms']!r}")
    size = cfg["mesh"]["size_mm"]
    if not (isinstance(size, (int, float)) and 0.2 <= size <= 20):
        raise ValueError(f"mesh.size_mm: expected a size between 0.2 and 20 mm, found {size!r} "
                         "(values far outside suggest um or m instead of mm)")
    for name, v in cfg["activation"]["velocity_mm_per_ms"].items():
        if not (isinstance(v, (int, float)) and 0 < v < 10):
            raise ValueError(f"activation.velocity_mm_per_ms.{name}: expected 0 < v < 10 mm/ms (= m/s), found {v!r}")
    e = cfg["ecg"]
    if e["duration_ms"] <= 100 or e["sample_ms"] <= 0:
        raise ValueError("ecg: duration_ms must exceed 100 ms and sample_ms be positive")
    if e["duration_ms"] > e["rr_ms"]:
        raise ValueError(f"ecg.duration_ms ({e['duration_ms']}) exceeds ecg.rr_ms ({e['rr_ms']}): a beat "
                         "cannot last longer than the cycle")
    vm_every = cfg["output"]["vm_every_ms"]
    if not (isinstance(vm_every, (int, float)) and (vm_every == 0 or 0.5 <= vm_every <= e["duration_ms"])):
        raise ValueError(f"output.vm_every_ms: expected 0 (no Vm series) or 0.5..{e['duration_ms']} ms, "
                         f"found {vm_every!r}")
    return cfg


def check_input_units(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Read the input's geometry and fail early when it is not in millimetres: voxel spacings
    outside 0.05-20 mm or a mesh whose extent is outside 10-1000 mm (um or m by mistake).
    Returns what was found (spacing or extent)."""
    from . import io

    inputs = cfg["input"]
    found: dict[str, Any] = {}
    for key in ("image", "labels"):
        if inputs.get(key) is None:
            continue
        img = io.read_image(inputs[key]) if key == "image" else io.read_image(inputs[key], dtype="uint8")
        spacing = [float(v) for v in img.spacing]
        found[f"{key}_spacing_mm"] = spacing
        if min(spacing) < 0.05 or max(spacing) > 20:
            raise ValueError(f"input.{key}: voxel spacing {spacing} is not in millimetres (expected 0.05-20 mm "
                             f"per voxel; um would be ~1000x larger, m ~1000x smaller): {inputs[key]}")
        if np.asarray(img.array).ndim != 3 or min(np.asarray(img.array).shape) < 1:
            raise ValueError(f"input.{key}: expected a 3-D image, found shape {np.asarray(img.array).shape}")
    if inputs.get("mesh") is not None:
        tet = io.read_mesh(inputs["mesh"])
        pts = np.asarray(tet.points)
        extent = float(np.linalg.norm(pts.max(axis=0) - pts.min(axis=0))) if len(pts) else 0.0
        found["mesh_extent_mm"] = extent
        if not 10 <= extent <= 1000:
            raise ValueError(f"input.mesh: the mesh spans {extent:.4g} units; a heart in millimetres spans "
                             f"10-1000 mm (um would be ~1000x larger, m ~1000x smaller): {inputs['mesh']}")
    return found


def clean_lv_slices(labels: Any, myocardium: list[int], lv_blood: int, base_axis: str,
                    max_leak: float = 0.2) -> tuple[Any, dict[str, Any]]:
    """Make an LV label map of short-axis slices meshable as a truncated ellipsoid: slice by slice
    along `base_axis`, measure the fraction of the blood pool's boundary that touches background
    instead of myocardium (the 'leak'). Basal slices that leak more than `max_leak` (the outflow
    tract, where a segmentation is ragged) are cut off, so the base is one plane; apical slices
    that leak (the cavity open at the apex) get their blood pool filled with myocardium, closing
    the apex. Returns a new label map and what was changed."""
    from .core import LabelMap

    a = np.array(labels.array, copy=True)
    axis = "ijk".index(base_axis.lstrip("+-"))
    view = np.moveaxis(a, axis, 2)  # writes go through to `a`
    order = list(range(view.shape[2]))
    if base_axis.startswith("-"):
        order.reverse()  # order[0] is the apical end, order[-1] the base

    def leak(k: int) -> float | None:
        sl = view[:, :, k]
        blood = sl == lv_blood
        if not blood.any():
            return None
        pad = np.pad(sl, 1, constant_values=0)
        bd = np.zeros_like(blood)
        touch_bg = np.zeros_like(blood)
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            nb = pad[1 + dx:pad.shape[0] - 1 + dx, 1 + dy:pad.shape[1] - 1 + dy]
            bd |= blood & (nb != lv_blood)
            touch_bg |= blood & (nb == 0)
        return float(touch_bg.sum()) / max(int(bd.sum()), 1)

    leaks = {k: leak(k) for k in order}
    with_blood = [k for k in order if leaks[k] is not None]
    trimmed, filled = [], []
    # basal end: drop slices while they leak
    for k in reversed(with_blood):
        if leaks[k] is not None and leaks[k] > max_leak:
            trimmed.append(k)
            sl = view[:, :, k]
            sl[np.isin(sl, myocardium) | (sl == lv_blood)] = 0
        else:
            break
    # apical end: close an open cavity
    for k in with_blood:
        if k in trimmed:
            break
        if leaks[k] > max_leak:
            filled.append(k)
            sl = view[:, :, k]
            sl[sl == lv_blood] = myocardium[0]
        else:
            break
    out = (LabelMap(np.asfortranarray(a, dtype=np.uint8), spacing=labels.spacing, origin=labels.origin,
                    direction=labels.direction) if (trimmed or filled) else labels)
    return out, {"trimmed_basal_slices": sorted(trimmed), "closed_apical_slices": sorted(filled)}


def _fingerprint(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def _file_stamp(path: str | None) -> Any:
    if path is None:
        return None
    st = os.stat(path)
    return [os.path.abspath(path), st.st_size, int(st.st_mtime)]


class _Stages:
    """Bookkeeping of ``stages.json``: fingerprints, files and timings per stage."""

    def __init__(self, outdir: Path, log: Callable[[str], None]):
        self.outdir = outdir
        self.path = outdir / "stages.json"
        self.log = log
        self.state: dict[str, Any] = {}
        if self.path.exists():
            try:
                self.state = json.loads(self.path.read_text())
            except (json.JSONDecodeError, OSError):
                self.state = {}

    def up_to_date(self, name: str, fingerprint: str) -> bool:
        s = self.state.get(name)
        return bool(s and s.get("fingerprint") == fingerprint and
                    all((self.outdir / f).exists() for f in s.get("files", [])))

    def run(self, name: str, fingerprint: str, files: list[str], work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        if self.up_to_date(name, fingerprint):
            self.log(f"[{name}] up to date, skipped")
            return self.state[name].get("info", {})
        self.log(f"[{name}] running ...")
        self.state.pop(name, None)
        t0 = time.perf_counter()
        try:
            info = work()
        except Exception as e:  # noqa: BLE001 - re-raised with the stage named
            raise PipelineError(f"stage '{name}' failed: {type(e).__name__}: {e} "
                                f"(earlier stages are kept in {self.outdir})") from e
        seconds = time.perf_counter() - t0
        self.state[name] = {"fingerprint": fingerprint, "files": files, "seconds": round(seconds, 3), "info": info}
        _atomic_write_text(str(self.path), json.dumps(self.state, indent=1) + "\n")
        self.log(f"[{name}] done in {seconds:.1f} s")
        return info


def _savefig(fig: Any, path: Path, dpi: int = 100) -> None:
    """Save a matplotlib figure atomically and close it."""
    import matplotlib.pyplot as plt

    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}.png")
    try:
        fig.savefig(tmp, dpi=dpi)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        if tmp.exists():
            tmp.unlink()


def run_twin(config: Mapping[str, Any] | str | os.PathLike, outdir: str | os.PathLike,
             log: Callable[[str], None] | None = None, until: str | None = None) -> dict[str, Any]:
    """Run (or resume) the twin described by `config` into `outdir`; returns the summary.

    `until` names the last stage to run (one of :data:`STAGES`); later stages are left alone and
    the summary covers the stages done so far."""
    from . import anatomy, ecg, ep, io, mesh

    log = log or (lambda msg: print(f"cardiotwin run: {msg}", file=sys.stderr, flush=True))
    if until is not None and until not in STAGES:
        raise ValueError(f"until: expected one of {list(STAGES)}, found {until!r}")
    cfg = load_config(config)
    input_geometry = check_input_units(cfg)
    import matplotlib

    matplotlib.use("Agg")
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    for folder in (out, out / "vm"):  # temporary files of a run that was killed mid-write
        if folder.is_dir():
            for f in folder.glob(".*tmp*"):
                f.unlink()
    _atomic_write_text(str(out / "twin.json"), json.dumps(cfg, indent=1) + "\n")
    stages = _Stages(out, log)
    inputs = cfg["input"]
    summary: dict[str, Any] = {"cardiotwin": __version__, "config": cfg, "input": input_geometry}

    def finish() -> dict[str, Any]:
        summary["seconds"] = {name: s.get("seconds") for name, s in stages.state.items()}
        summary["files"] = sorted(f for s in stages.state.values() for f in s.get("files", []))
        _atomic_write_text(str(out / "summary.json"), json.dumps(summary, indent=1, default=float) + "\n")
        log(f"summary: {out / 'summary.json'}")
        return summary

    def done(stage: str) -> bool:
        return until == stage

    # ---- segment -----------------------------------------------------------------------------
    labels_path = inputs["labels"]
    if inputs["image"] is not None and labels_path is None:
        fp_seg = _fingerprint(cfg["segmentation"], _file_stamp(inputs["image"]),
                              _file_stamp(str(Path(cfg["segmentation"]["model"]) / "model.pt"))
                              if cfg["segmentation"]["model"] else "bundled")

        def do_segment() -> dict[str, Any]:
            from . import segment

            seg = cfg["segmentation"]
            image = io.read_image(inputs["image"])
            model = segment.load_model(seg["model"]) if seg["model"] else segment.default_model()
            options = {"threads": int(seg["threads"]), "mirror": bool(seg["mirror"])}
            result = segment.segment_with_report(image, model, **options)
            if result.empty:
                raise ValueError(f"the segmentation of {inputs['image']} found no heart (every voxel is "
                                 f"background): {'; '.join(result.warnings)}")
            io.write_image(out / "labels.nii.gz", result.labels)
            tmp = out / f".overlay.png.tmp{os.getpid()}.png"
            segment.overlay_png(image, result.labels, tmp)
            os.replace(tmp, out / "overlay.png")
            return {"volumes_ml": segment.volumes_ml(result.labels, model),
                    "warnings": list(getattr(result, "warnings", []) or [])}

        summary["segment"] = stages.run("segment", fp_seg, ["labels.nii.gz", "overlay.png"], do_segment)
        labels_path = str(out / "labels.nii.gz")
        if done("segment"):
            return finish()
    elif inputs["image"] is not None and not (out / "overlay.png").exists():
        from . import segment

        image = io.read_image(inputs["image"])
        tmp = out / f".overlay.png.tmp{os.getpid()}.png"
        segment.overlay_png(image, io.read_image(labels_path, dtype="uint8"), tmp)
        os.replace(tmp, out / "overlay.png")

    # ---- mesh ------------------------------------------------------------------------------
    seg_fp = stages.state.get("segment", {}).get("fingerprint") if labels_path and inputs["labels"] is None else None
    fp_mesh = _fingerprint(cfg["labels"], cfg["mesh"], cfg["output"]["stl"], seg_fp,
                           _file_stamp(inputs["labels"]), _file_stamp(inputs["mesh"]))
    mesh_files = ["mesh.vtu", "mesh.surface.vtp"] + (["heart.stl"] if cfg["output"]["stl"] else [])

    def do_mesh() -> dict[str, Any]:
        cleaned: dict[str, Any] = {}
        if inputs["mesh"] is not None:
            tet = io.read_mesh(inputs["mesh"])
            surface_path = str(Path(inputs["mesh"]).with_suffix("")) + ".surface.vtp"
            if not os.path.exists(surface_path):
                raise FileNotFoundError(f"the tagged surface of {inputs['mesh']} is missing: {surface_path}")
            surface = io.read_surface(surface_path)
        else:
            labels = io.read_image(labels_path, dtype="uint8")
            lab = cfg["labels"]
            present = set(np.unique(np.asarray(labels.array)).tolist())
            if not present.intersection(lab["myocardium"]):
                raise ValueError(f"the label map {labels_path} has no myocardium label {lab['myocardium']} "
                                 f"(labels present: {sorted(present)}); set labels.myocardium")
            if lab["clean_slices"] and lab["lv_blood"] is not None and lab["rv_blood"] is None and lab["base_axis"]:
                labels, cleaned = clean_lv_slices(labels, list(lab["myocardium"]), int(lab["lv_blood"]),
                                                  lab["base_axis"])
                if cleaned["trimmed_basal_slices"] or cleaned["closed_apical_slices"]:
                    log(f"[mesh] label map cleaned: basal slices {cleaned['trimmed_basal_slices']} cut off, "
                        f"apical slices {cleaned['closed_apical_slices']} closed")
            result = mesh.mesh_label_map(labels, list(lab["myocardium"]), float(cfg["mesh"]["size_mm"]))
            axis = lab["base_axis"]
            base = None
            if axis:
                sign = -1.0 if axis.startswith("-") else 1.0
                base = sign * np.asarray(labels.direction)[:, "ijk".index(axis.lstrip("+-"))]
            tagged = mesh.tag_ventricles(result.mesh, result.prepared, lv_blood=lab["lv_blood"],
                                         rv_blood=lab["rv_blood"], base_labels=lab["base_labels"],
                                         base_direction=base)
            tet, surface = tagged.mesh, tagged.surface
        io.write_mesh(out / "mesh.vtu", tet)
        io.write_surface(out / "mesh.surface.vtp", surface)
        if cfg["output"]["stl"]:
            io.write_surface(out / "heart.stl", surface)
        q = mesh.quality_report(tet).to_dict()
        info = {"points": int(tet.num_points), "tets": int(tet.num_tets),
                "volume_ml": float(q["total_volume_mm3"]) / 1000, "min_dihedral_deg": q["min_dihedral_deg"]}
        if inputs["mesh"] is None and cleaned:
            info["label_cleaning"] = cleaned
        return info

    summary["mesh"] = stages.run("mesh", fp_mesh, mesh_files, do_mesh)
    if done("mesh"):
        return finish()

    # ---- anatomy -----------------------------------------------------------------------------
    fp_anatomy = _fingerprint(fp_mesh, cfg["fibres"])

    def do_anatomy() -> dict[str, Any]:
        tet = io.read_mesh(out / "mesh.vtu")
        surface = io.read_surface(out / "mesh.surface.vtp")
        heart = anatomy.fibres(mesh.TaggedMesh(tet, surface), **cfg["fibres"])
        io.write_mesh(out / "heart.vtu", heart)
        return {"fields": sorted(heart.point_data.keys())}

    summary["anatomy"] = stages.run("anatomy", fp_anatomy, ["heart.vtu"], do_anatomy)
    if done("anatomy"):
        return finish()

    # ---- activation --------------------------------------------------------------------------
    act_cfg = cfg["activation"]
    vm_every = float(cfg["output"]["vm_every_ms"])
    fp_act = _fingerprint(fp_anatomy, act_cfg, vm_every, cfg["ecg"]["duration_ms"])

    def build_solver(heart: Any, **extra: Any) -> Any:
        tr = np.asarray(heart.point_data["transmural"]).ravel()
        tets = np.asarray(heart.tets)
        region = np.asarray(heart.region).copy()
        layer = act_cfg["fast_layer"]
        options: dict[str, Any] = {
            "model": act_cfg["model"], "velocity": dict(act_cfg["velocity_mm_per_ms"]),
            "roots": ep.default_ventricular_roots(heart, rv_delay_ms=float(act_cfg["rv_delay_ms"])),
            "t_end_ms": float(cfg["ecg"]["duration_ms"]),
        }
        if layer and layer.get("transmural_depth", 0) > 0:
            region[tr[tets].mean(axis=1) < float(layer["transmural_depth"])] = FAST_LAYER_REGION
            heart.region = region
            v = float(layer["velocity_mm_per_ms"])
            options["region_velocity"] = {str(FAST_LAYER_REGION): {"fibre": v, "sheet": v, "normal": v}}
        if act_cfg["model"] == "reaction-eikonal":
            options["template"] = {"apd_ms": float(act_cfg["apd_ms"])}
        options.update(extra)
        return ep.make_solver(heart, options)

    act_files = ["activation.vtu", "activation.png"]
    if vm_every > 0 and act_cfg["model"] == "reaction-eikonal":
        act_files.append("vm/vm.pvd")

    def write_vm_series(heart: Any, solver: Any) -> None:
        """Vm on the heart's surface every `vm_every` ms as a .pvd series of compact .vtp frames
        (a volume series of a fine mesh would take hundreds of MB; 'cardiotwin simulate' with
        snapshot_every_ms writes one)."""
        from .core import SurfaceMesh

        surface = io.read_surface(out / "mesh.surface.vtp")
        tris = np.asarray(surface.triangles, dtype=np.int64)
        used, inverse = np.unique(tris, return_inverse=True)
        compact = SurfaceMesh(np.asarray(heart.points)[used], inverse.reshape(tris.shape).astype(np.int64),
                              np.asarray(surface.tags))
        times = np.arange(0.0, float(cfg["ecg"]["duration_ms"]) + 1e-9, vm_every)
        vm = np.asarray(solver.vm_series(times))  # (times, nodes)
        vm_dir = out / "vm"
        vm_dir.mkdir(exist_ok=True)
        for f in vm_dir.iterdir():  # frames of an earlier run with other options
            f.unlink()
        entries = []
        for n, t in enumerate(times):
            compact.point_data["Vm"] = vm[n, used]
            name = f"vm_{n:04d}.vtp"
            io.write_surface(vm_dir / name, compact, encoding="compressed")
            entries.append((float(t), name, 0))
        io.write_pvd(vm_dir / "vm.pvd", entries)

    # The activation stage's heart and solver, reused by the ECG stage when both run in this
    # process (a resumed run whose activation stage was skipped builds them again).
    solved: dict[str, Any] = {}

    def do_activation() -> dict[str, Any]:
        heart = io.read_mesh(out / "heart.vtu")
        solver = build_solver(heart)
        solved.update(heart=heart, solver=solver)
        if "vm/vm.pvd" in act_files:
            write_vm_series(heart, solver)
        result = solver.result()
        act = np.asarray(result.activation_ms)
        rep = np.asarray(result.repolarisation_ms)
        heart.point_data["activation_ms"] = act
        heart.point_data["repolarisation_ms"] = rep
        io.write_mesh(out / "activation.vtu", heart)
        import matplotlib.pyplot as plt

        # look at the heart from the side: along a principal axis across its long axis
        pts = np.asarray(heart.points)
        axes = np.linalg.svd(pts - pts.mean(axis=0), full_matrices=False)[2]
        view = axes[2] if axes[2][2] >= 0 else -axes[2]
        elev = float(np.degrees(np.arcsin(np.clip(view[2], -1, 1))))
        azim = float(np.degrees(np.arctan2(view[1], view[0])))
        fig = plt.figure(figsize=(10, 4.2))
        ax1 = fig.add_subplot(1, 2, 1, projection="3d")
        ep.plot_activation(heart, act, ax1, title="activation time (ms)", elev=elev, azim=azim)
        if np.isfinite(rep).any():
            ax2 = fig.add_subplot(1, 2, 2, projection="3d")
            ep.plot_activation(heart, rep, ax2, title="repolarisation time (ms)", cmap="viridis",
                               elev=elev, azim=azim)
        fig.tight_layout()
        _savefig(fig, out / "activation.png")
        finite = np.isfinite(rep)
        return {"total_activation_ms": float(np.nanmax(act)), "unreached_nodes": int(np.isnan(act).sum()),
                "repolarisation_range_ms": [float(rep[finite].min()), float(rep[finite].max())]
                if finite.any() else None,
                "roots": [r.get("name") for r in solver.options["roots"]]}

    summary["activation"] = stages.run("activation", fp_act, act_files, do_activation)
    if done("activation"):
        return finish()

    # ---- ECG ---------------------------------------------------------------------------------
    ecg_cfg = cfg["ecg"]
    fp_ecg = _fingerprint(fp_act, ecg_cfg, _file_stamp(inputs["ecg"]))

    def do_ecg() -> dict[str, Any]:
        if solved:
            heart, solver = solved["heart"], solved["solver"]
        else:
            heart = io.read_mesh(out / "heart.vtu")
            solver = build_solver(heart)
        times = np.arange(0.0, float(ecg_cfg["duration_ms"]) + 1e-9, float(ecg_cfg["sample_ms"]))
        frame = ecg.body_frame(heart)
        electrodes = ecg.standard_electrodes(frame)
        ecg.write_electrodes(out / "electrodes.vtp", electrodes)
        weights = ecg.twelve_lead_weights(ecg.pseudo_ecg_weights(heart, electrodes))
        signals = weights.apply(times, solver)  # fused: no (times x nodes) Vm array
        ecg.write_ecg(out / "ecg.csv", signals)
        feats = ecg.features(signals, filter=False, rr_ms=float(ecg_cfg["rr_ms"]))
        feats.pop("beat", None)
        result: dict[str, Any] = {"simulated": feats}
        ecgs, labels = [signals], ["twin"]
        if inputs["ecg"] is not None:
            # The measured record's median beat, moved in time so that its QRS onset meets the twin's.
            from .core import Signals

            measured = ecg.features(inputs["ecg"], beat=True)
            beat = measured.pop("beat")
            shift = float(feats["qrs_onset_ms"]) - float(measured["qrs_onset_ms"])
            aligned = Signals(np.asarray(beat.time_ms) + shift, list(beat.names), np.asarray(beat.values),
                              units=beat.units)
            result["measured"] = measured
            result["comparison"] = ecg.compare(aligned, signals, max_shift_ms=40.0)
            ecgs.append(aligned)
            labels.append("measured (median beat)")
        _atomic_write_text(str(out / "ecg_features.json"), json.dumps(result, indent=1, default=float) + "\n")
        _savefig(ecg.plot_12lead(ecgs, labels), out / "ecg.png")
        info = {k: feats.get(k) for k in ("qrs_duration_ms", "qt_ms", "qtc_bazett_ms", "axis_deg")}
        if "comparison" in result:
            info["comparison"] = result["comparison"]
        return info

    summary["ecg"] = stages.run("ecg", fp_ecg, ["ecg.csv", "ecg.png", "ecg_features.json", "electrodes.vtp"],
                                do_ecg)
    if done("ecg") or not cfg["output"]["report"]:
        return finish()

    # ---- report (always rewritten: cheap, and it shows the timings of this run) ---------------
    finish()
    from ._report import write_report

    write_report(out, summary)
    log(f"report: {out / 'report.html'}")
    return summary


__all__ = ["PipelineError", "SCHEMA_VERSION", "STAGES", "check_input_units", "clean_lv_slices", "default_config",
           "read_json_object",
           "load_config", "run_twin"]
