"""The twin pipeline: from a label map (or a mesh) to a heart with fibres, its activation and its
12-lead ECG, in stages that can be resumed.

A twin is described by a JSON object (see :func:`default_config`); every key is optional but
``input``. :func:`run_twin` runs the stages in order, writing into one output folder:

==========  ===============================================  =====================================
stage       what it does                                     files
==========  ===============================================  =====================================
mesh        label map -> tet mesh (CGAL), surfaces tagged    ``mesh.vtu``, ``mesh.surface.vtp``
anatomy     ventricular coordinates and rule-based fibres    ``heart.vtu``
activation  reaction-Eikonal from default root sites, with   ``activation.vtu``
            a fast sub-endocardial layer for the Purkinje
            system
ecg         pseudo-ECG, 12 leads, features (and the          ``ecg.csv``, ``ecg.png``,
            measured ECG beside it when given)               ``ecg_features.json``
==========  ===============================================  =====================================

``summary.json`` collects volumes, mesh statistics, QRS and QT, timings per stage and the
versions and options used. Each stage records a fingerprint of its options and inputs in
``stages.json``; a stage whose fingerprint and files are unchanged is skipped, so a run that was
interrupted (or re-run with options that only touch later stages) continues where it stopped.
Files are written atomically: an interrupted run never leaves a half-written file.

Still missing (see the issues): segmentation of a raw image inside the pipeline, monodomain and
lead-field options, the HTML report and renders.
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
    "input": {"labels": None, "mesh": None, "ecg": None},
    "labels": {"myocardium": [2], "lv_blood": 1, "rv_blood": None, "base_labels": [], "base_axis": "+k"},
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
}


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


def load_config(config: Mapping[str, Any] | str | os.PathLike, base_dir: str | None = None) -> dict[str, Any]:
    """Validate a twin config (a dict or a JSON file) against the defaults: unknown keys, a wrong
    version, missing input files or bad values raise ``ValueError`` naming the key. Input paths
    are resolved relative to the config file (or `base_dir`)."""
    if not isinstance(config, Mapping):
        path = Path(config)
        if not path.is_file():
            raise FileNotFoundError(f"twin config not found: {path}")
        try:
            config = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"twin config {path} is not valid JSON: {e}") from None
        base_dir = base_dir or str(path.parent)
    if not isinstance(config, Mapping):
        raise ValueError(f"a twin config must be a JSON object, found {type(config).__name__}")
    version = config.get("version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise ValueError(f"unsupported twin config version: expected {SCHEMA_VERSION}, found {version!r}")
    cfg = _merge(_DEFAULTS, config, "")
    inputs = cfg["input"]
    for key in ("labels", "mesh", "ecg"):
        if inputs[key] is not None:
            p = Path(inputs[key])
            if not p.is_absolute() and base_dir:
                p = Path(base_dir) / p
            if not p.exists():
                raise FileNotFoundError(f"input.{key}: file not found: {p}")
            inputs[key] = str(p.resolve())
    if (inputs["labels"] is None) == (inputs["mesh"] is None):
        raise ValueError("input: give exactly one of 'labels' (a label map .nii/.nii.gz) or 'mesh' "
                         "(a tagged .vtu with its .surface.vtp, as 'cardiotwin mesh' writes)")
    size = cfg["mesh"]["size_mm"]
    if not (isinstance(size, (int, float)) and 0.2 <= size <= 20):
        raise ValueError(f"mesh.size_mm: expected a size between 0.2 and 20 mm, found {size!r} "
                         "(values far outside suggest um or m instead of mm)")
    for name, v in cfg["activation"]["velocity_mm_per_ms"].items():
        if not (isinstance(v, (int, float)) and 0 < v < 10):
            raise ValueError(f"activation.velocity_mm_per_ms.{name}: expected 0 < v < 10 mm/ms (= m/s), found {v!r}")
    if cfg["ecg"]["duration_ms"] <= 100 or cfg["ecg"]["sample_ms"] <= 0:
        raise ValueError("ecg: duration_ms must exceed 100 ms and sample_ms be positive")
    return cfg


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


def run_twin(config: Mapping[str, Any] | str | os.PathLike, outdir: str | os.PathLike,
             log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run (or resume) the twin described by `config` into `outdir`; returns the summary."""
    from . import anatomy, ecg, ep, io, mesh

    log = log or (lambda msg: print(f"cardiotwin run: {msg}", file=sys.stderr, flush=True))
    cfg = load_config(config)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    _atomic_write_text(str(out / "twin.json"), json.dumps(cfg, indent=1) + "\n")
    stages = _Stages(out, log)
    inputs = cfg["input"]

    # ---- mesh ------------------------------------------------------------------------------
    fp_mesh = _fingerprint(cfg["labels"], cfg["mesh"], _file_stamp(inputs["labels"]), _file_stamp(inputs["mesh"]))

    def do_mesh() -> dict[str, Any]:
        if inputs["mesh"] is not None:
            tet = io.read_mesh(inputs["mesh"])
            surface_path = str(Path(inputs["mesh"]).with_suffix("")) + ".surface.vtp"
            if not os.path.exists(surface_path):
                raise FileNotFoundError(f"the tagged surface of {inputs['mesh']} is missing: {surface_path}")
            surface = io.read_surface(surface_path)
        else:
            labels = io.read_image(inputs["labels"], dtype="uint8")
            lab = cfg["labels"]
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
        q = mesh.quality_report(tet).to_dict()
        return {"points": int(tet.num_points), "tets": int(tet.num_tets),
                "volume_ml": float(q["total_volume_mm3"]) / 1000, "min_dihedral_deg": q["min_dihedral_deg"]}

    info_mesh = stages.run("mesh", fp_mesh, ["mesh.vtu", "mesh.surface.vtp"], do_mesh)

    # ---- anatomy -----------------------------------------------------------------------------
    fp_anatomy = _fingerprint(fp_mesh, cfg["fibres"])

    def do_anatomy() -> dict[str, Any]:
        tet = io.read_mesh(out / "mesh.vtu")
        surface = io.read_surface(out / "mesh.surface.vtp")
        heart = anatomy.fibres(mesh.TaggedMesh(tet, surface), **cfg["fibres"])
        io.write_mesh(out / "heart.vtu", heart)
        return {"fields": sorted(heart.point_data.keys())}

    stages.run("anatomy", fp_anatomy, ["heart.vtu"], do_anatomy)

    # ---- activation --------------------------------------------------------------------------
    act_cfg = cfg["activation"]
    fp_act = _fingerprint(fp_anatomy, act_cfg)

    def build_solver(heart: Any) -> Any:
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
        return ep.make_solver(heart, options)

    def do_activation() -> dict[str, Any]:
        heart = io.read_mesh(out / "heart.vtu")
        solver = build_solver(heart)
        result = solver.result()
        act = np.asarray(result.activation_ms)
        heart.point_data["activation_ms"] = act
        heart.point_data["repolarisation_ms"] = np.asarray(result.repolarisation_ms)
        io.write_mesh(out / "activation.vtu", heart)
        return {"total_activation_ms": float(np.nanmax(act)), "unreached_nodes": int(np.isnan(act).sum()),
                "roots": [r.get("name") for r in solver.options["roots"]]}

    info_act = stages.run("activation", fp_act, ["activation.vtu"], do_activation)

    # ---- ECG ---------------------------------------------------------------------------------
    ecg_cfg = cfg["ecg"]
    fp_ecg = _fingerprint(fp_act, ecg_cfg, _file_stamp(inputs["ecg"]))

    def do_ecg() -> dict[str, Any]:
        heart = io.read_mesh(out / "heart.vtu")
        solver = build_solver(heart)
        times = np.arange(0.0, float(ecg_cfg["duration_ms"]) + 1e-9, float(ecg_cfg["sample_ms"]))
        vm = solver.vm_series(times)
        frame = ecg.body_frame(heart)
        electrodes = ecg.standard_electrodes(frame)
        ecg.write_electrodes(out / "electrodes.vtp", electrodes)
        weights = ecg.twelve_lead_weights(ecg.pseudo_ecg_weights(heart, electrodes))
        signals = weights.apply(times, vm)
        ecg.write_ecg(out / "ecg.csv", signals)
        feats = ecg.features(signals, filter=False, rr_ms=float(ecg_cfg["rr_ms"]))
        feats.pop("beat", None)
        result: dict[str, Any] = {"simulated": feats}
        ecgs, labels = [signals], ["twin"]
        if inputs["ecg"] is not None:
            measured = ecg.read_ecg(inputs["ecg"])
            result["measured"] = ecg.features(measured)
            result["comparison"] = ecg.compare(measured, signals)
            ecgs.append(measured)
            labels.append("measured")
        _atomic_write_text(str(out / "ecg_features.json"), json.dumps(result, indent=1, default=float) + "\n")
        import matplotlib

        matplotlib.use("Agg")
        fig = ecg.plot_12lead(ecgs, labels)
        tmp = out / ".ecg.png.tmp.png"
        fig.savefig(tmp, dpi=100)
        os.replace(tmp, out / "ecg.png")
        return {k: feats.get(k) for k in ("qrs_duration_ms", "qt_ms", "qtc_bazett_ms", "axis_deg")}

    info_ecg = stages.run("ecg", fp_ecg, ["ecg.csv", "ecg.png", "ecg_features.json", "electrodes.vtp"], do_ecg)

    summary = {
        "cardiotwin": __version__, "config": cfg, "mesh": info_mesh, "activation": info_act, "ecg": info_ecg,
        "seconds": {name: s.get("seconds") for name, s in stages.state.items()},
        "files": sorted(f for s in stages.state.values() for f in s.get("files", [])),
    }
    _atomic_write_text(str(out / "summary.json"), json.dumps(summary, indent=1, default=float) + "\n")
    log(f"summary: {out / 'summary.json'}")
    return summary


__all__ = ["PipelineError", "SCHEMA_VERSION", "default_config", "load_config", "run_twin"]
