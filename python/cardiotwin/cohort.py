"""Cohorts: many twins (anatomies x parameter sets) run as one job, one Dask task per twin.

A cohort is described by a JSON object (see :func:`load_cohort` for the schema and
``docs/cohorts.md``); :func:`run_cohort` runs it into an output folder:

- ``OUTDIR/cohort.json``: the validated description, with every twin listed;
- ``OUTDIR/twins/<id>.json``: one record per finished twin (parameters, covariates, anatomy,
  features, seconds, status ``ok`` or ``failed`` with the error), written by the worker itself,
  atomically (temporary file + ``os.replace``), so a killed worker or a killed client loses no
  finished twin and no reader ever sees half a record; ``<id>.ecg.csv`` beside it when
  ``save_ecg`` is true;
- ``OUTDIR/results.parquet``: the consolidated table (one row per record), rebuilt atomically
  while the cohort runs and at its end.

A failed twin is recorded with its error and does not stop the others. A restarted cohort skips
every twin whose record exists for the same specification (failed ones too, unless
``retry_failed``). Twins run on a :class:`distributed.LocalCluster` (processes, one thread each,
``OMP_NUM_THREADS=1``) by default, on an existing scheduler when given its address, or in this
process with ``workers=0``.

The twin simulator is :class:`cardiotwin.twin_model.TwinModel`; each worker process builds an
anatomy once and reuses it for every twin it runs.

:func:`ols` fits ordinary least squares with standard errors and p-values (numpy only), for
the population analyses.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .twin_model import DEFAULT_FEATURES, PARAMETERS, TwinModel

__all__ = [
    "SCHEMA_VERSION",
    "OLSResult",
    "latin_hypercube",
    "load_cohort",
    "ols",
    "read_records",
    "read_table",
    "run_cohort",
    "twin_record_path",
    "write_table",
]

SCHEMA_VERSION = 1

_TOP_KEYS = {"version", "name", "model", "anatomies", "parameters", "twins", "save_ecg"}
_MODEL_KEYS = {"mesh_size_mm", "base_scale", "duration_ms", "sample_ms", "rr_ms", "features"}
_ANATOMY_KEYS = {"name", "scale", "lv_mass_g", "mesh", "covariates"}
_PARAM_KEYS = {"fixed", "sets", "design"}
_DESIGN_KEYS = {"kind", "n", "seed", "bounds"}
_TWIN_KEYS = {"id", "anatomy", "parameters", "covariates"}
_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


# ---- designs ----------------------------------------------------------------------------------------


def latin_hypercube(n: int, bounds: Any, seed: int | None = 0) -> np.ndarray:
    """A Latin hypercube of `n` points in the box `bounds` ((k, 2) lower/upper): each parameter's
    range is cut into `n` equal strata, each stratum gets one point (uniform within it), and the
    strata are paired at random across parameters. Uses ``cardiotwin.emulate.latin_hypercube``
    when that module provides one."""
    b = np.asarray(bounds, dtype=float)
    if b.ndim != 2 or b.shape[1] != 2 or np.any(~np.isfinite(b)) or np.any(b[:, 1] <= b[:, 0]):
        raise ValueError(f"bounds must be (k, 2) finite [lower, upper] with lower < upper, found {b.tolist()}")
    if int(n) < 1:
        raise ValueError(f"n must be at least 1, found {n}")
    try:
        from . import emulate  # the emulators' designs, when that component is built

        lhs = getattr(emulate, "latin_hypercube", None)
    except (ImportError, AttributeError):
        lhs = None
    if lhs is not None:
        named = [(f"x{i}", float(lo), float(hi)) for i, (lo, hi) in enumerate(b)]
        return np.asarray(lhs(int(n), named, seed=int(seed or 0)), dtype=float)
    rng = np.random.default_rng(seed)
    k = b.shape[0]
    u = (np.argsort(rng.random((int(n), k)), axis=0) + rng.random((int(n), k))) / int(n)
    return b[:, 0] + u * (b[:, 1] - b[:, 0])


# ---- the cohort description -----------------------------------------------------------------------


def _unknown(given: Mapping[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(given) - allowed)
    if extra:
        raise ValueError(f"unknown key '{where}{extra[0]}' in the cohort: expected one of {sorted(allowed)}")


def _number(value: Any, where: str, lo: float | None = None, hi: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise ValueError(f"{where}: expected a finite number, found {value!r}")
    v = float(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ValueError(f"{where}: {v:g} is outside the admissible range [{lo:g}, {hi:g}]")
    return v


def _param_value(name: str, value: Any, where: str) -> float:
    if name not in PARAMETERS:
        raise ValueError(f"unknown twin parameter '{where}': expected one of {sorted(PARAMETERS)}")
    lo, hi = PARAMETERS[name][1]
    return _number(value, where, lo, hi)


def _check_id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value or not set(value) <= _ID_CHARS or value.startswith("."):
        raise ValueError(f"{where}: expected a name of letters, digits, '_', '-', '.' (not starting "
                         f"with '.'), found {value!r}")
    return value


def _covariates(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected an object of name -> number or string")
    out = {}
    for k, v in value.items():
        if k in PARAMETERS or k in ("twin_id", "status", "error", "seconds", "anatomy"):
            raise ValueError(f"{where}.{k}: a covariate may not reuse a parameter or column name")
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            raise ValueError(f"{where}.{k}: expected a number or a string, found {v!r}")
        out[str(k)] = v
    return out


def _anatomy(a: Any, where: str, base_dir: Path | None) -> dict[str, Any]:
    if not isinstance(a, Mapping):
        raise ValueError(f"{where}: expected an object with 'name' and one of 'scale', 'lv_mass_g', 'mesh'")
    _unknown(a, _ANATOMY_KEYS, f"{where}.")
    if "name" not in a:
        raise ValueError(f"{where}.name: missing (each anatomy needs a name)")
    out: dict[str, Any] = {"name": _check_id(a["name"], f"{where}.name")}
    if "scale" in a and "lv_mass_g" in a:
        raise ValueError(f"{where}: give 'scale' or 'lv_mass_g', not both")
    if "scale" in a:
        out["scale"] = _param_value("scale", a["scale"], f"{where}.scale")
    if "lv_mass_g" in a:
        out["lv_mass_g"] = _number(a["lv_mass_g"], f"{where}.lv_mass_g", 10.0, 1000.0)
    if "mesh" in a:
        if not isinstance(a["mesh"], str):
            raise ValueError(f"{where}.mesh: expected a file name, found {a['mesh']!r}")
        p = Path(a["mesh"])
        if not p.is_absolute() and base_dir is not None:
            p = base_dir / p
        if not p.is_file():
            raise ValueError(f"{where}.mesh: file not found: {p}")
        out["mesh"] = str(p.resolve())
        if "lv_mass_g" in out:
            raise ValueError(f"{where}: 'lv_mass_g' needs the idealised heart; with 'mesh' use 'scale'")
    out["covariates"] = _covariates(a.get("covariates"), f"{where}.covariates")
    return out


def _param_set(s: Any, where: str) -> dict[str, Any]:
    if not isinstance(s, Mapping):
        raise ValueError(f"{where}: expected an object of parameter -> value (and an optional 'name')")
    out: dict[str, Any] = {"values": {}, "covariates": {}}
    for k, v in s.items():
        if k == "name":
            out["name"] = _check_id(v, f"{where}.name")
        elif k == "covariates":
            out["covariates"] = _covariates(v, f"{where}.covariates")
        elif k == "scale":
            raise ValueError(f"{where}.scale: the heart size belongs to the anatomy, not to a parameter set")
        else:
            out["values"][k] = _param_value(k, v, f"{where}.{k}")
    return out


def _design(d: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(d, Mapping):
        raise ValueError(f"{where}: expected an object with kind, n, seed, bounds")
    _unknown(d, _DESIGN_KEYS, f"{where}.")
    kind = d.get("kind", "latin_hypercube")
    if kind != "latin_hypercube":
        raise ValueError(f"{where}.kind: expected 'latin_hypercube', found {kind!r}")
    n = d.get("n")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1 or n > 1_000_000:
        raise ValueError(f"{where}.n: expected a whole number of parameter sets >= 1, found {n!r}")
    seed = d.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"{where}.seed: expected an integer, found {seed!r}")
    bounds = d.get("bounds")
    if not isinstance(bounds, Mapping) or not bounds:
        raise ValueError(f"{where}.bounds: expected an object of parameter -> [lower, upper]")
    names = []
    rows = []
    for k, b in bounds.items():
        w = f"{where}.bounds.{k}"
        if k == "scale":
            raise ValueError(f"{w}: the heart size belongs to the anatomies, not to the design")
        if k not in PARAMETERS:
            raise ValueError(f"unknown twin parameter '{w}': expected one of {sorted(PARAMETERS)}")
        if not isinstance(b, Sequence) or isinstance(b, str) or len(b) != 2:
            raise ValueError(f"{w}: expected [lower, upper], found {b!r}")
        lo, hi = (_param_value(k, x, w) for x in b)
        if not lo < hi:
            raise ValueError(f"{w}: lower bound {lo:g} must be below the upper bound {hi:g}")
        names.append(k)
        rows.append([lo, hi])
    X = latin_hypercube(n, np.array(rows), seed=seed)
    width = len(str(n - 1))
    return [{"name": f"p{i:0{width}d}", "values": dict(zip(names, map(float, x))), "covariates": {}}
            for i, x in enumerate(X)]


def load_cohort(cohort: Mapping[str, Any] | str | os.PathLike, base_dir: str | os.PathLike | None = None
                ) -> dict[str, Any]:
    """Validate a cohort description (a dict or a JSON file) and expand it into its twins.

    Keys (all but one of ``anatomies``/``twins`` optional):

    - ``version`` (1), ``name``, ``save_ecg`` (false);
    - ``model``: options of :class:`~cardiotwin.twin_model.TwinModel`: ``mesh_size_mm`` (3),
      ``base_scale`` (3), ``duration_ms`` (450), ``sample_ms`` (1), ``rr_ms`` (1000),
      ``features`` (a list of feature names);
    - ``anatomies``: a list of ``{"name", "scale" | "lv_mass_g" | "mesh", "covariates"}``
      (``mesh``: a heart with coordinates and fibres, as the pipeline's ``heart.vtu``);
    - ``parameters``: ``{"fixed": {...}, "sets": [{"name", param: value, "covariates"}, ...]}``
      or ``{"fixed": ..., "design": {"kind": "latin_hypercube", "n", "seed", "bounds":
      {param: [lower, upper]}}}``; twins are every anatomy with every set;
    - ``twins``: instead of (or besides) the product, explicit twins
      ``{"id", "anatomy": {...}, "parameters": {...}, "covariates": {...}}``.

    Unknown keys, values outside a parameter's admissible range, bad bounds, duplicate names
    and missing files raise ``ValueError`` naming the key. Returns the description with the
    list of twins (``id``, ``anatomy``, ``parameters``, ``covariates``, ``fingerprint``).
    """
    if not isinstance(cohort, Mapping):
        from .pipeline import read_json_object

        base_dir = base_dir or Path(cohort).parent
        cohort = read_json_object(cohort, "cohort description", missing=ValueError)
    if not isinstance(cohort, Mapping):
        raise ValueError(f"a cohort description must be a JSON object, found {type(cohort).__name__}")
    base = Path(base_dir) if base_dir is not None else None
    _unknown(cohort, _TOP_KEYS, "")
    version = cohort.get("version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise ValueError(f"version: expected {SCHEMA_VERSION}, found {version!r}")
    name = cohort.get("name", "cohort")
    if not isinstance(name, str):
        raise ValueError(f"name: expected a string, found {name!r}")
    save_ecg = cohort.get("save_ecg", False)
    if not isinstance(save_ecg, bool):
        raise ValueError(f"save_ecg: expected true or false, found {save_ecg!r}")

    model_in = cohort.get("model", {})
    if not isinstance(model_in, Mapping):
        raise ValueError("model: expected an object of twin-model options")
    _unknown(model_in, _MODEL_KEYS, "model.")
    model: dict[str, Any] = {"mesh_size_mm": 3.0, "base_scale": 3.0, "duration_ms": 450.0, "sample_ms": 1.0,
                             "rr_ms": 1000.0, "features": list(DEFAULT_FEATURES)}
    ranges = {"mesh_size_mm": (0.5, 10.0), "base_scale": (0.2, 10.0), "duration_ms": (101.0, 2000.0),
              "sample_ms": (0.01, 10.0), "rr_ms": (200.0, 3000.0)}
    for k, (lo, hi) in ranges.items():
        if k in model_in:
            model[k] = _number(model_in[k], f"model.{k}", lo, hi)
    if "features" in model_in:
        feats = model_in["features"]
        if not isinstance(feats, list) or not feats or not all(isinstance(f, str) for f in feats):
            raise ValueError("model.features: expected a non-empty list of feature names")
        for f in feats:
            if not TwinModel._known_feature(f):
                raise ValueError(f"model.features: unknown feature '{f}'")
        model["features"] = list(feats)

    params_in = cohort.get("parameters", {})
    if not isinstance(params_in, Mapping):
        raise ValueError("parameters: expected an object with 'fixed' and 'sets' or 'design'")
    _unknown(params_in, _PARAM_KEYS, "parameters.")
    fixed_in = params_in.get("fixed", {})
    if not isinstance(fixed_in, Mapping):
        raise ValueError("parameters.fixed: expected an object of parameter -> value")
    fixed = {}
    for k, v in fixed_in.items():
        if k == "scale":
            raise ValueError("parameters.fixed.scale: the heart size belongs to the anatomies")
        fixed[k] = _param_value(k, v, f"parameters.fixed.{k}")
    if "sets" in params_in and "design" in params_in:
        raise ValueError("parameters: give 'sets' or 'design', not both")
    if "sets" in params_in:
        if not isinstance(params_in["sets"], list) or not params_in["sets"]:
            raise ValueError("parameters.sets: expected a non-empty list of parameter sets")
        sets = [_param_set(s, f"parameters.sets[{i}]") for i, s in enumerate(params_in["sets"])]
        for i, s in enumerate(sets):
            s.setdefault("name", f"p{i}")
    elif "design" in params_in:
        sets = _design(params_in["design"], "parameters.design")
    else:
        sets = [{"name": "default", "values": {}, "covariates": {}}]
    _unique([s["name"] for s in sets], "parameters.sets name")

    anatomies_in = cohort.get("anatomies")
    twins_in = cohort.get("twins")
    if anatomies_in is None and twins_in is None:
        raise ValueError("anatomies: missing (give 'anatomies', or explicit 'twins')")
    twins: list[dict[str, Any]] = []
    if anatomies_in is not None:
        if not isinstance(anatomies_in, list) or not anatomies_in:
            raise ValueError("anatomies: expected a non-empty list of anatomies")
        anatomies = [_anatomy(a, f"anatomies[{i}]", base) for i, a in enumerate(anatomies_in)]
        _unique([a["name"] for a in anatomies], "anatomies name")
        for a in anatomies:
            for s in sets:
                twins.append({"id": f"{a['name']}__{s['name']}", "anatomy": a,
                              "parameters": dict(fixed, **s["values"]),
                              "covariates": dict(a["covariates"], **s["covariates"])})
    if twins_in is not None:
        if not isinstance(twins_in, list) or not twins_in:
            raise ValueError("twins: expected a non-empty list of twins")
        for i, t in enumerate(twins_in):
            where = f"twins[{i}]"
            if not isinstance(t, Mapping):
                raise ValueError(f"{where}: expected an object with id, anatomy, parameters")
            _unknown(t, _TWIN_KEYS, f"{where}.")
            if "id" not in t:
                raise ValueError(f"{where}.id: missing")
            a = _anatomy(dict(t.get("anatomy", {}), name=t["id"]) if isinstance(t.get("anatomy", {}), Mapping)
                         else t.get("anatomy"), f"{where}.anatomy", base)
            s = _param_set(t.get("parameters", {}), f"{where}.parameters")
            twins.append({"id": _check_id(t["id"], f"{where}.id"), "anatomy": a,
                          "parameters": dict(fixed, **s["values"]),
                          "covariates": dict(a["covariates"], **_covariates(t.get("covariates"), f"{where}.covariates"))})
    _unique([t["id"] for t in twins], "twin id")
    for t in twins:
        a = t["anatomy"]
        apd, grad, ab = (t["parameters"].get(k, PARAMETERS[k][0])
                         for k in ("apd_ms", "apd_gradient_ms", "apd_apicobasal_ms"))
        if apd - (abs(grad) + abs(ab)) / 2 < 80:
            raise ValueError(f"twin '{t['id']}': apd_ms - (|apd_gradient_ms| + |apd_apicobasal_ms|) / 2 "
                             "must be at least 80 ms")
        t["fingerprint"] = _fingerprint(model, a, t["parameters"], save_ecg)
    return {"version": SCHEMA_VERSION, "name": name, "save_ecg": save_ecg, "model": model,
            "parameters": {"fixed": fixed}, "twins": twins}


def _unique(names: list[str], what: str) -> None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise ValueError(f"duplicate {what} '{n}'")
        seen.add(n)


def _fingerprint(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


# ---- one twin (runs in a worker) --------------------------------------------------------------------

_MODELS: dict[str, TwinModel] = {}


def _model_for(model: Mapping[str, Any], anatomy: Mapping[str, Any]) -> TwinModel:
    key = json.dumps([model, anatomy.get("mesh")], sort_keys=True)
    m = _MODELS.get(key)
    if m is None:
        heart = None
        if anatomy.get("mesh"):
            from . import io

            heart = io.read_mesh(anatomy["mesh"])
        m = TwinModel(mesh_size_mm=model["mesh_size_mm"], base_scale=model["base_scale"], heart=heart,
                      duration_ms=model["duration_ms"], sample_ms=model["sample_ms"], rr_ms=model["rr_ms"],
                      features=model["features"], threads=1)
        if len(_MODELS) > 16:
            _MODELS.clear()
        _MODELS[key] = m
    return m


def twin_record_path(outdir: str | os.PathLike, twin_id: str) -> Path:
    """Where the record of `twin_id` lives."""
    return Path(outdir) / "twins" / f"{twin_id}.json"


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _json_number(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def run_twin_task(twin: Mapping[str, Any], model: Mapping[str, Any], outdir: str, save_ecg: bool = False
                  ) -> dict[str, Any]:
    """Run one twin and write its record atomically (also the failure, with its error); returns
    the record. This is what one Dask task does."""
    t0 = time.perf_counter()
    record: dict[str, Any] = {"twin_id": twin["id"], "fingerprint": twin["fingerprint"],
                              "anatomy": twin["anatomy"]["name"], "parameters": dict(twin["parameters"]),
                              "covariates": dict(twin["covariates"]), "host": os.uname().nodename,
                              "pid": os.getpid()}
    folder = Path(outdir) / "twins"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        a = twin["anatomy"]
        m = _model_for(model, a)
        values = dict(twin["parameters"])
        if "lv_mass_g" in a:
            values["scale"] = float(m.scale_for_lv_mass(a["lv_mass_g"]))
        elif "scale" in a:
            values["scale"] = a["scale"]
        result = m.run(values)
        feats = result.features
        record.update(status="ok", error=None, scale=values.get("scale", 1.0),
                      anatomy_values={k: _json_number(v) for k, v in result.anatomy.items() if k != "scale"},
                      features={k: _json_number(feats.get(k, float("nan"))) for k in model["features"]},
                      all_features={k: _json_number(v) for k, v in feats.items()})
        if not math.isfinite(feats.get("qrs_duration_ms", float("nan"))):
            record.update(status="failed", error="no QRS complex could be delineated in the simulated ECG")
        if save_ecg:
            from . import ecg

            target = folder / f"{twin['id']}.ecg.csv"
            tmp = folder / f".{twin['id']}.{uuid.uuid4().hex}.tmp.csv"
            try:
                ecg.write_ecg(tmp, result.ecg)
                os.replace(tmp, target)
            finally:
                if tmp.exists():
                    tmp.unlink()
    except Exception as e:  # noqa: BLE001 - recorded; one failed twin must not stop the cohort
        record.update(status="failed", error=f"{type(e).__name__}: {e}",
                      traceback=traceback.format_exc(limit=8))
    record["seconds"] = round(time.perf_counter() - t0, 4)
    _atomic_write(twin_record_path(outdir, twin["id"]), json.dumps(record, indent=1) + "\n")
    return record


# ---- records and the table --------------------------------------------------------------------------


def read_records(outdir: str | os.PathLike) -> list[dict[str, Any]]:
    """Every twin record in `outdir` (unreadable files are skipped with a note on stderr)."""
    folder = Path(outdir) / "twins"
    out = []
    if not folder.is_dir():
        return out
    for p in sorted(folder.glob("*.json")):
        if p.name.startswith("."):
            continue
        try:
            out.append(json.loads(p.read_text()))
        except (OSError, json.JSONDecodeError) as e:
            print(f"cohort: skipping unreadable record {p}: {e}", file=sys.stderr)
    return out


def _columns(records: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Flat columns: ids and status, covariates, parameters, anatomy values, features."""
    def keys(field: str) -> list[str]:
        seen: dict[str, None] = {}
        for r in records:
            for k in (r.get(field) or {}):
                seen.setdefault(k, None)
        return list(seen)

    cols: dict[str, list[Any]] = {
        "twin_id": [r.get("twin_id") for r in records],
        "status": [r.get("status") for r in records],
        "error": [r.get("error") for r in records],
        "seconds": [r.get("seconds") for r in records],
        "anatomy": [r.get("anatomy") for r in records],
        "scale": [r.get("scale") for r in records],
    }
    for k in keys("covariates"):
        cols[k] = [(r.get("covariates") or {}).get(k) for r in records]
    for k in keys("parameters"):
        cols[k] = [(r.get("parameters") or {}).get(k) for r in records]
    for k in keys("anatomy_values"):
        cols[k] = [(r.get("anatomy_values") or {}).get(k) for r in records]
    for k in keys("features"):
        cols[k] = [(r.get("features") or {}).get(k) for r in records]
    return cols


def write_table(outdir: str | os.PathLike, records: Sequence[Mapping[str, Any]] | None = None) -> Path:
    """Rebuild ``results.parquet`` from the records, atomically; returns its path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if records is None:
        records = read_records(outdir)
    cols = _columns(records)
    arrays = {}
    for k, v in cols.items():
        if all(x is None or (isinstance(x, (int, float)) and not isinstance(x, bool)) for x in v):
            arrays[k] = pa.array([np.nan if x is None else float(x) for x in v], type=pa.float64())
        else:
            arrays[k] = pa.array([None if x is None else str(x) for x in v], type=pa.string())
    table = pa.table(arrays) if arrays else pa.table({"twin_id": pa.array([], pa.string())})
    path = Path(outdir) / "results.parquet"
    tmp = Path(outdir) / f".results.{uuid.uuid4().hex}.tmp.parquet"
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def read_table(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """``results.parquet`` (or the folder holding it) as a dict of numpy columns."""
    import pyarrow.parquet as pq

    p = Path(path)
    if p.is_dir():
        p = p / "results.parquet"
    t = pq.read_table(p)
    return {name: t.column(name).to_numpy(zero_copy_only=False) for name in t.column_names}


# ---- running -----------------------------------------------------------------------------------------


class _Progress:
    def __init__(self, total: int, initial: int, quiet: bool):
        self.quiet = quiet
        self.total = total
        self.done = initial
        self.failed = 0
        self.t0 = time.perf_counter()
        self.last = 0.0
        self.bar = None
        if not quiet:
            try:
                from tqdm.auto import tqdm

                self.bar = tqdm(total=total, initial=initial, desc="cohort", unit="twin")
            except ImportError:
                self.bar = None

    def update(self, ok: bool) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(failed=self.failed)
            return
        now = time.perf_counter()
        if now - self.last > 2.0 or self.done == self.total:
            self.last = now
            print(f"cohort: {self.done}/{self.total} twins ({self.failed} failed this run, "
                  f"{now - self.t0:.0f} s)", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _finished(outdir: Path, twins: Sequence[Mapping[str, Any]], retry_failed: bool) -> set[str]:
    done = set()
    for t in twins:
        p = twin_record_path(outdir, t["id"])
        if not p.exists():
            continue
        try:
            r = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if r.get("fingerprint") == t["fingerprint"] and (r.get("status") == "ok" or not retry_failed):
            done.add(t["id"])
    return done


def run_cohort(cohort: Mapping[str, Any] | str | os.PathLike, outdir: str | os.PathLike, *,
               scheduler: str | None = None, workers: int = 2, retry_failed: bool = False,
               quiet: bool = False, table_every_s: float = 10.0,
               log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run (or resume) a cohort into `outdir`; returns a summary (counts, seconds, twins/hour).

    `scheduler`: address of a running Dask scheduler; else a ``LocalCluster`` with `workers`
    processes (one thread each), or, with ``workers=0``, every twin in this process.
    """
    log = log or (lambda msg: print(f"cohort: {msg}", file=sys.stderr, flush=True))
    spec = load_cohort(cohort)
    out = Path(outdir)
    (out / "twins").mkdir(parents=True, exist_ok=True)
    # temporary files of writes that a killed run left behind (records themselves are whole)
    for stale in list((out / "twins").glob(".*.tmp*")) + list(out.glob(".results.*.tmp.parquet")):
        stale.unlink(missing_ok=True)
    _atomic_write(out / "cohort.json", json.dumps(spec, indent=1) + "\n")
    twins = spec["twins"]
    done = _finished(out, twins, retry_failed)
    todo = [t for t in twins if t["id"] not in done]
    if done and not quiet:
        log(f"{len(done)} of {len(twins)} twins already finished, skipped")
    progress = _Progress(len(twins), len(done), quiet)
    t0 = time.perf_counter()
    last_table = time.perf_counter()
    ok = failed = 0
    model, save_ecg = spec["model"], spec["save_ecg"]
    try:
        if todo and workers == 0 and scheduler is None:
            for t in todo:
                r = run_twin_task(t, model, str(out), save_ecg)
                good = r["status"] == "ok"
                ok += good
                failed += not good
                progress.update(good)
                if time.perf_counter() - last_table > table_every_s:
                    write_table(out)
                    last_table = time.perf_counter()
        elif todo:
            ok, failed = _run_dask(todo, model, str(out), save_ecg, scheduler, workers, progress,
                                   table_every_s, log)
    finally:
        progress.close()
        write_table(out)
    wall = time.perf_counter() - t0
    records = read_records(out)
    summary = {
        "name": spec["name"], "twins": len(twins), "ran": len(todo), "skipped": len(done),
        "ok_this_run": ok, "failed_this_run": failed,
        "ok_total": sum(r.get("status") == "ok" for r in records),
        "failed_total": sum(r.get("status") == "failed" for r in records),
        "wall_s": round(wall, 3),
        "twins_per_hour": round(len(todo) / wall * 3600, 1) if todo and wall > 0 else None,
        "table": str(out / "results.parquet"),
    }
    _atomic_write(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    return summary


def _run_dask(todo: list[dict[str, Any]], model: Mapping[str, Any], outdir: str, save_ecg: bool,
              scheduler: str | None, workers: int, progress: _Progress, table_every_s: float,
              log: Callable[[str], None]) -> tuple[int, int]:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        if workers < 1:
            raise ValueError(f"workers: expected at least 1 (or 0 to run in this process), found {workers}")
        # Workers inherit the environment: one OpenMP thread each, so N workers use N cores.
        os.environ["OMP_NUM_THREADS"] = "1"
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40, env={"OMP_NUM_THREADS": "1"})
        client = Client(cluster)
    else:
        client = Client(scheduler)
    ok = failed = 0
    last_table = time.perf_counter()
    try:
        futures = {client.submit(run_twin_task, t, dict(model), outdir, save_ecg, key=f"twin-{t['id']}-"
                                 f"{t['fingerprint']}", pure=False): t for t in todo}
        for fut in as_completed(futures):
            t = futures[fut]
            try:
                r = fut.result()
                good = r.get("status") == "ok"
            except Exception as e:  # noqa: BLE001 - e.g. KilledWorker: the task itself never wrote
                good = False
                rec = {"twin_id": t["id"], "fingerprint": t["fingerprint"], "anatomy": t["anatomy"]["name"],
                       "parameters": dict(t["parameters"]), "covariates": dict(t["covariates"]),
                       "status": "failed", "error": f"{type(e).__name__}: {e}", "seconds": None}
                if not twin_record_path(outdir, t["id"]).exists():
                    _atomic_write(twin_record_path(outdir, t["id"]), json.dumps(rec, indent=1) + "\n")
            ok += good
            failed += not good
            progress.update(good)
            fut.release()
            if time.perf_counter() - last_table > table_every_s:
                write_table(outdir)
                last_table = time.perf_counter()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return ok, failed


# ---- regression ----------------------------------------------------------------------------------------


class OLSResult:
    """Coefficients, standard errors, t statistics and two-sided p-values of an OLS fit."""

    def __init__(self, names: list[str], coef: np.ndarray, se: np.ndarray, dof: int, r2: float, n: int):
        self.names = names
        self.coef = coef
        self.se = se
        self.t = coef / se
        self.p = np.array([_t_two_sided_p(abs(t), dof) for t in self.t])
        self.dof = dof
        self.r2 = r2
        self.n = n

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "dof": self.dof, "r2": self.r2,
                "terms": {n: {"coef": float(c), "se": float(s), "t": float(t), "p": float(p)}
                          for n, c, s, t, p in zip(self.names, self.coef, self.se, self.t, self.p)}}

    def table(self, title: str = "") -> str:
        lines = [title] if title else []
        lines.append(f"{'term':<24}{'coef':>12}{'SE':>10}{'t':>9}{'p':>11}")
        for n, c, s, t, p in zip(self.names, self.coef, self.se, self.t, self.p):
            lines.append(f"{n:<24}{c:>12.4g}{s:>10.3g}{t:>9.2f}{p:>11.3g}")
        lines.append(f"n = {self.n}, R^2 = {self.r2:.3f}")
        return "\n".join(lines)


def ols(y: Any, X: Any, names: Sequence[str], intercept: bool = True) -> OLSResult:
    """Ordinary least squares of `y` on the columns of `X` (named `names`), with an intercept
    first when `intercept`; classical (homoscedastic) standard errors, t-distribution p-values."""
    y = np.asarray(y, dtype=float).ravel()
    A = np.asarray(X, dtype=float)
    if A.ndim == 1:
        A = A[:, None]
    names = list(names)
    if A.shape[0] != y.size or A.shape[1] != len(names):
        raise ValueError(f"X must be ({y.size}, {len(names)}), found {A.shape}")
    if intercept:
        A = np.column_stack([np.ones(y.size), A])
        names = ["intercept"] + names
    keep = np.isfinite(y) & np.all(np.isfinite(A), axis=1)
    y, A = y[keep], A[keep]
    n, k = A.shape
    if n <= k:
        raise ValueError(f"OLS needs more observations ({n}) than terms ({k})")
    coef, _, rank, _ = np.linalg.lstsq(A, y, rcond=None)
    if rank < k:
        raise ValueError("OLS: the design matrix is rank deficient (collinear terms)")
    resid = y - A @ coef
    dof = n - k
    sigma2 = float(resid @ resid) / dof
    cov = sigma2 * np.linalg.inv(A.T @ A)
    se = np.sqrt(np.diag(cov))
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(resid @ resid) / ss_tot if ss_tot > 0 else float("nan")
    return OLSResult(names, coef, se, dof, r2, n)


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * _betacf(b, a, 1.0 - x) / b


def _t_two_sided_p(t: float, dof: int) -> float:
    """P(|T| > t) for Student's t with `dof` degrees of freedom."""
    if not math.isfinite(t):
        return 0.0 if t > 0 else float("nan")
    return _betainc(dof / 2.0, 0.5, dof / (dof + t * t))

