"""Electrophysiology: the monodomain solver, single-cell pacing, results, plots.

The solver lives in the compiled module (:class:`Monodomain`, options as a dict validated by C++;
see :func:`default_monodomain_options`). This module adds what a Python user reaches for:

- :func:`simulate` runs a mesh to an end time with a progress bar (tqdm when installed) and
  returns the :class:`EPResult` (numpy arrays of activation, repolarisation and APD per node,
  probe traces as :class:`~cardiotwin.Signals`, metadata with the options and timings);
- :func:`single_cell` paces one cell of an ionic model and measures its action potentials;
- :func:`activation_to_mesh` and :func:`save_result` put results on the mesh and on disk
  (``activation.vtu`` for ParaView, ``probes.csv``, ``result.json``);
- :func:`plot_activation`, :func:`plot_traces` and :meth:`SingleCellResult.plot` draw them with
  matplotlib (imported lazily; every function takes an ``ax`` and works with the Agg backend).

Units: length mm, time ms, potential mV, conductivity S/m. Activation is the first upward crossing
of 0 mV, repolarisation the first downward crossing of -70 mV after it (both interpolated in time,
both NaN where they did not happen).

Example::

    from cardiotwin import ep, mesh as ctmesh
    mesh = ctmesh.niederer_slab(0.5)
    result = ep.simulate(mesh, ep.niederer_options(dt_ms=0.05), t_end_ms=100)
    ep.plot_activation(mesh, result)
"""
from __future__ import annotations

import csv
import json
import math
import os
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

import numpy as np

from ._core import InvalidInput
from ._core import ep as _ep
from .core import Signals, TetMesh

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

PathLike = Union[str, "os.PathLike[str]"]
#: progress(t_ms, t_end_ms) -> False to stop, or True/None to go on.
ProgressCallback = Callable[[float, float], Optional[bool]]

Monodomain = _ep.Monodomain
EPResult = _ep.EPResult
ionic_model_names = _ep.ionic_model_names
ionic_model_info = _ep.ionic_model_info
default_monodomain_options = _ep.default_monodomain_options
validate_monodomain_options = _ep.validate_monodomain_options
num_threads = _ep.num_threads
set_num_threads = _ep.set_num_threads
EikonalModel = _ep.EikonalModel
default_eikonal_options = _ep.default_eikonal_options

__all__ = [
    "EPResult", "EikonalModel", "Monodomain", "ap_template", "default_eikonal_options",
    "default_ventricular_roots", "make_solver", "solve_eikonal", "SingleCellResult",
    "activation_to_mesh",
    "default_monodomain_options", "default_pacing_protocol", "ionic_model_info",
    "ionic_model_names", "niederer_options", "num_threads", "plot_activation", "plot_single_cell",
    "plot_traces", "save_result", "set_num_threads", "simulate", "single_cell", "summarize",
    "validate_monodomain_options",
]

_QUANTITIES = {
    "activation": ("activation_ms", "Activation time", "activation time (ms)"),
    "repolarisation": ("repolarisation_ms", "Repolarisation time", "repolarisation time (ms)"),
    "apd": ("apd_ms", "Action potential duration", "APD (ms)"),
}


def _invalid(message: str, *, expected: str = "", found: str = "", field: str = "") -> Exception:
    err = InvalidInput(message)
    for name, value in (("description", message), ("expected", expected), ("found", found),
                        ("file", ""), ("field", field), ("element", None)):
        try:
            setattr(err, name, value)
        except AttributeError:  # pragma: no cover - depends on how the class was bound
            pass
    return err


# ---- options ---------------------------------------------------------------------------------


def niederer_options(dt_ms: float = 0.01, t_end_ms: float = 100.0, **overrides: Any) -> dict:
    """Monodomain options of the Niederer et al. 2011 benchmark (TP06 epicardial cells,
    harmonic-mean conductivities, the 1.5 mm corner stimulus of 50 000 uA/cm^3 for 2 ms, probes
    at P1, P8 and P9). Pair with ``cardiotwin.mesh.niederer_slab(dx)``; `overrides` replace keys.
    """
    options: dict[str, Any] = {
        "dt_ms": dt_ms,
        "t_end_ms": t_end_ms,
        "ionic_model": "tp06",
        "cell_type": "epi",
        "chi_per_mm": 140.0,
        "cm_uf_per_cm2": 1.0,
        "conductivity": {"intra": {"sigma_l": 0.17, "sigma_t": 0.019},
                         "extra": {"sigma_l": 0.62, "sigma_t": 0.24}},
        "stimuli": [{"shape": "box", "min": [0.0, 0.0, 0.0], "max": [1.5, 1.5, 1.5],
                     "start_ms": 0.0, "duration_ms": 2.0, "strength": 50000.0,
                     "unit": "uA/cm^3"}],
        "probes": [[0.0, 0.0, 0.0], [20.0, 7.0, 3.0], [10.0, 3.5, 1.5]],
    }
    options.update(overrides)
    return options


# ---- running ---------------------------------------------------------------------------------


class _StderrProgress:
    """A one-line progress report on stderr for when tqdm is not installed: rewritten in place
    on a terminal, one line per 10 % otherwise (logs)."""

    def __init__(self, desc: str, stream: Any = None):
        self.desc = desc
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self.last_decile = -1
        self.shown = False

    def __call__(self, t: float, t_end: float) -> bool:
        frac = min(max(t / t_end, 0.0), 1.0) if t_end > 0 else 1.0
        elapsed = time.perf_counter() - self.start
        line = f"{self.desc}: {t:.1f}/{t_end:.1f} ms ({100 * frac:3.0f}%) {elapsed:.1f} s"
        if self.tty:
            self.stream.write("\r" + line)
            self.stream.flush()
            self.shown = True
        elif int(10 * frac) > self.last_decile:
            self.last_decile = int(10 * frac)
            self.stream.write(line + "\n")
            self.stream.flush()
        return True

    def close(self) -> None:
        if self.tty and self.shown:
            self.stream.write("\n")
            self.stream.flush()


class _TqdmProgress:
    """tqdm bar over simulated time (ms)."""

    def __init__(self, desc: str, tqdm: Any):
        self.bar = None
        self.tqdm = tqdm
        self.desc = desc
        self.done = 0.0

    def __call__(self, t: float, t_end: float) -> bool:
        if self.bar is None:
            self.bar = self.tqdm(total=round(t_end, 6), desc=self.desc, unit="ms",
                                 bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} ms "
                                 "[{elapsed}<{remaining}]")
            self.done = 0.0
        step = t - self.done
        if step > 0:
            self.bar.update(step)
            self.done = t
        return True

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _progress_reporter(progress: bool | ProgressCallback | None, desc: str) -> Any:
    """A callable(t, t_end) with ``close()``, or None for a silent run."""
    if progress is None or progress is False:
        return None
    if callable(progress):
        return progress
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _StderrProgress(desc)
    return _TqdmProgress(desc, tqdm)


def simulate(mesh: TetMesh, options: Mapping[str, Any] | None = None,
             t_end_ms: float | None = None, progress: bool | ProgressCallback | None = True,
             output_dir: PathLike | None = None) -> EPResult:
    """Run a tissue simulation on `mesh` and return its :class:`EPResult`: the monodomain
    model, or with ``options["model"]`` "eikonal" / "reaction-eikonal" the Eikonal models
    (options of :func:`default_eikonal_options`).

    Parameters
    ----------
    mesh:
        Tetrahedral mesh in mm, with fibres unless the conductivity is isotropic.
    options:
        Monodomain options (see :func:`default_monodomain_options`; unknown keys or bad values
        raise ``InvalidInput`` naming the key). Missing keys take their defaults.
    t_end_ms:
        End time; default ``options["t_end_ms"]`` (100 ms).
    progress:
        True: a tqdm bar when tqdm is installed, else a progress line on stderr. False or None:
        silent. A callable ``progress(t_ms, t_end_ms)`` is called about every 1 % of the way;
        returning False stops early (the result then covers the time reached,
        ``result.metadata["time_ms"]``). An exception it raises (KeyboardInterrupt included)
        stops the run and propagates.
    output_dir:
        Folder for the Vm snapshots (``vm.pvd`` and ``.vtu`` files) when
        ``options["snapshot_every_ms"] > 0``; created if missing. Overrides
        ``options["output_dir"]``.
    """
    opts = dict(options or {})
    if output_dir is not None:
        opts["output_dir"] = os.fspath(output_dir)
    if opts.get("output_dir") and float(opts.get("snapshot_every_ms", 0) or 0) > 0:
        os.makedirs(opts["output_dir"], exist_ok=True)
    solver = make_solver(mesh, opts)
    reporter = _progress_reporter(progress, str(opts.get("model", "monodomain")))
    try:
        solver.run(t_end_ms, progress=reporter)
    finally:
        if reporter is not None and reporter is not progress:  # ours: close the bar / line
            reporter.close()
    return solver.result()


# ---- Eikonal models -----------------------------------------------------------------------------

_EIKONAL_MODELS = ("eikonal", "reaction-eikonal")


def make_solver(mesh: TetMesh, options: Mapping[str, Any] | None = None) -> Any:
    """The solver a config asks for: ``options["model"]`` "monodomain" (default) gives a
    :class:`Monodomain`, "eikonal" or "reaction-eikonal" an :class:`EikonalModel` (activation
    times are solved here)."""
    opts = dict(options or {})
    model = opts.pop("model", "monodomain")
    if model in _EIKONAL_MODELS:
        return EikonalModel(mesh, dict(opts, model=model))
    if model != "monodomain":
        raise _invalid(f"unknown model '{model}' (expected 'monodomain', 'eikonal' or "
                       "'reaction-eikonal')", expected="'monodomain', 'eikonal' or "
                       "'reaction-eikonal'", found=f"'{model}'", field="model")
    return Monodomain(mesh, opts)


def solve_eikonal(mesh: TetMesh, roots: Sequence[Mapping[str, Any]] | None = None,
                  velocity: Mapping[str, float] | None = None, **options: Any) -> dict[str, Any]:
    """Anisotropic Eikonal activation times on `mesh`.

    `roots` is a list of dicts ``{"node": i}``, ``{"nodes": [...]}``, ``{"point": [x, y, z]}``
    or ``{"shape": "box" | "sphere" | "region", ...}``, each with an optional ``"time_ms"``;
    `velocity` ``{"fibre", "sheet", "normal"}`` in mm/ms (= m/s). Further options:
    ``region_velocity`` ({tag: velocity}), ``threads``, ``tolerance_ms``,
    ``root_snap_tolerance_mm``. Returns a dict with ``activation_ms`` (numpy, +inf where no root
    reaches), ``unreached``, ``root_nodes``, ``iterations``, ``local_solves``, ``seconds``.
    """
    opts = dict(options)
    if roots is not None:
        opts["roots"] = [dict(r) for r in roots]
    if velocity is not None:
        opts["velocity"] = dict(velocity)
    return _ep.solve_eikonal(mesh, opts)


def ap_template(activation_mv: float = 0.0, repolarisation_mv: float = -70.0,
                **options: Any) -> dict[str, Any]:
    """The reaction-Eikonal action potential (``options`` as the config's "template": source
    "parametric" or "ionic", ...): ``{"time_ms", "vm_mv", "apd_ms", "upstroke_end_ms"}`` with
    time 0 at activation."""
    return _ep.ap_template(options, activation_mv, repolarisation_mv)


def default_ventricular_roots(mesh: TetMesh, coordinates: Any = None,
                              **options: Any) -> list[dict[str, Any]]:
    """Root nodes for normal ventricular activation (LV mid-septal, anterior and posterior
    paraseptal at ``start_ms``; RV septal and free wall ``rv_delay_ms`` later) from ventricular
    coordinates: a ``cardiotwin.anatomy.VentricularCoordinates`` (or anything with
    ``transmural``, ``apicobasal``, ``rotational`` and ``lv_rv``), or, when None, the mesh's
    point fields of those names. Returns root dicts for the config's ``"roots"``."""
    if coordinates is None:
        return _ep.default_ventricular_roots(mesh, options)
    return _ep.default_ventricular_roots(
        mesh, options, transmural=np.asarray(coordinates.transmural, dtype=float),
        apicobasal=np.asarray(coordinates.apicobasal, dtype=float),
        rotational=np.asarray(coordinates.rotational, dtype=float),
        lv_rv=np.asarray(coordinates.lv_rv, dtype=float))


# ---- single cell -----------------------------------------------------------------------------


def default_pacing_protocol() -> dict:
    """Every option of :func:`single_cell`'s pacing protocol with its default value."""
    return _ep.default_pacing_protocol()


@dataclass
class SingleCellResult:
    """Result of :func:`single_cell`.

    ``trace`` holds channel ``"Vm"`` (mV) against ``time_ms`` (and every state variable with
    ``record_states=True``); ``beats`` has one dict of measures per beat (``stim_time_ms``,
    ``resting_vm_mv``, ``peak_vm_mv``, ``dvdt_max_mv_per_ms``, ``activation_time_ms``,
    ``apd50_ms``, ``apd90_ms``; NaN where not measurable); ``final_state`` the model's state at
    the end (to start from a paced steady state).
    """

    model: str
    trace: Signals
    beats: list[dict[str, float]]
    final_vm_mv: float
    final_state: np.ndarray = field(repr=False)

    @property
    def time_ms(self) -> np.ndarray:
        """``(T,)`` sample times (ms)."""
        return np.asarray(self.trace.time_ms)

    @property
    def vm(self) -> np.ndarray:
        """``(T,)`` Vm samples (mV)."""
        return np.asarray(self.trace.channel("Vm"))

    @property
    def measures(self) -> dict[str, float]:
        """Measures of the last beat (the closest to steady state)."""
        return dict(self.beats[-1]) if self.beats else {}

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Plot the Vm trace with APD90 marked; see :func:`plot_single_cell`."""
        return plot_single_cell(self, ax=ax, **kwargs)


def single_cell(model: str = "tp06", protocol: Mapping[str, Any] | None = None,
                ionic_options: Mapping[str, Any] | None = None,
                **protocol_options: Any) -> SingleCellResult:
    """Pace one cell of ionic `model` and measure its action potentials.

    `protocol` and the keyword arguments are the pacing protocol (see
    :func:`default_pacing_protocol`: ``cycle_length_ms``, ``num_beats``, ``stim_start_ms``,
    ``stim_duration_ms``, ``stim_amplitude`` in mV/ms, ``dt_ms``, ``record_every_ms``,
    ``cell_type``, ``record_states``); `ionic_options` the model's parameters (e.g.
    ``{"g_Ks_scale": 0.5}``). Unknown names raise ``InvalidInput`` listing the known ones.

    >>> r = single_cell("tp06", cell_type="epi", num_beats=2)   # doctest: +SKIP
    >>> r.measures["apd90_ms"]                                  # doctest: +SKIP
    """
    proto = dict(protocol or {})
    proto.update(protocol_options)
    raw = _ep.simulate_single_cell(model, proto, dict(ionic_options or {}))
    beats = [{k: (float("nan") if v is None else v) for k, v in b.items()} for b in raw["beats"]]
    return SingleCellResult(model=model, trace=raw["trace"], beats=beats,
                            final_vm_mv=float(raw["final_vm_mv"]),
                            final_state=np.asarray(raw["final_state"]))


# ---- results on the mesh and on disk ---------------------------------------------------------


def _values(result: Any, quantity: str) -> np.ndarray:
    if quantity not in _QUANTITIES:
        raise _invalid(f"unknown quantity '{quantity}'; expected one of "
                       f"{', '.join(_QUANTITIES)}", expected=", ".join(_QUANTITIES),
                       found=str(quantity), field="quantity")
    if hasattr(result, "activation_ms"):
        return np.asarray(getattr(result, _QUANTITIES[quantity][0]), dtype=float)
    return np.asarray(result, dtype=float).reshape(-1)


def _check_size(mesh: TetMesh, values: np.ndarray, what: str) -> None:
    if values.shape != (mesh.num_points,):
        raise _invalid(f"{what} has {values.size} values but the mesh has {mesh.num_points} "
                       "points; was the result computed on another mesh?",
                       expected=f"{mesh.num_points} values", found=str(values.size), field=what)


def activation_to_mesh(mesh: TetMesh, result: EPResult) -> TetMesh:
    """A copy of `mesh` with point fields ``activation_ms``, ``repolarisation_ms`` and
    ``apd_ms`` (NaN where not activated / not repolarised)."""
    out = mesh.copy()
    for name in ("activation_ms", "repolarisation_ms", "apd_ms"):
        values = np.asarray(getattr(result, name), dtype=float)
        _check_size(mesh, values, name)
        out.point_data[name] = values
    return out


def _atomic_write_text(path: str, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path` (readers see
    the old file or the new one, never a part)."""
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8", newline="") as f:  # "x": mode follows the umask
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _json_safe(obj: Any) -> Any:
    """Replace NaN/Inf (not JSON) by None, recursively."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        return _json_safe(obj.item())
    return obj


def summarize(result: EPResult) -> dict[str, Any]:
    """Counts and ranges of a result: nodes, activated and repolarised nodes, activation and
    APD ranges (ms; None when nothing activated)."""
    act = np.asarray(result.activation_ms, dtype=float)
    apd = np.asarray(result.apd_ms, dtype=float)

    def rng(a: np.ndarray) -> dict[str, float] | None:
        a = a[np.isfinite(a)]
        return {"min": float(a.min()), "max": float(a.max())} if a.size else None

    return {
        "nodes": int(act.size),
        "activated_nodes": int(np.isfinite(act).sum()),
        "repolarised_nodes": int(np.isfinite(np.asarray(result.repolarisation_ms)).sum()),
        "activation_ms": rng(act),
        "apd_ms": rng(apd),
    }


def _probes_csv(probes: Signals) -> str:
    import io as _io

    buf = _io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    names = list(probes.names)
    w.writerow(["time_ms"] + [f"{n}_mV" if probes.units == "mV" else n for n in names])
    t = np.asarray(probes.time_ms)
    v = np.asarray(probes.values).reshape(len(t), len(names))
    for i in range(len(t)):
        w.writerow([repr(float(t[i]))] + [repr(float(x)) for x in v[i]])
    return buf.getvalue()


def save_result(outdir: PathLike, mesh: TetMesh, result: EPResult) -> dict[str, str]:
    """Write `result` to folder `outdir` (created if missing); every file is written atomically.

    - ``activation.vtu``: the mesh with point fields ``activation_ms``, ``repolarisation_ms``,
      ``apd_ms`` (open in ParaView);
    - ``probes.csv``: column ``time_ms`` then one column of Vm (mV) per probe;
    - ``result.json``: a summary (see :func:`summarize`), the snapshot series and the metadata
      (model, options, timings, units); NaN is written as null.

    Returns the paths written, by name.
    """
    from .io import write_vtu

    out = os.fspath(outdir)
    os.makedirs(out, exist_ok=True)
    paths = {name: os.path.join(out, name)
             for name in ("activation.vtu", "probes.csv", "result.json")}
    # write_vtu itself writes a temporary file and renames it.
    write_vtu(paths["activation.vtu"], activation_to_mesh(mesh, result))
    _atomic_write_text(paths["probes.csv"], _probes_csv(result.probes))
    doc = {"summary": summarize(result), "snapshots_pvd": result.snapshots_pvd or None,
           "probes": {"names": list(result.probes.names),
                      "metadata": result.probes.metadata},
           "metadata": result.metadata}
    _atomic_write_text(paths["result.json"], json.dumps(_json_safe(doc), indent=2) + "\n")
    return paths


# ---- plots -----------------------------------------------------------------------------------


def _boundary_triangles(tets: np.ndarray, points: np.ndarray | None = None) -> np.ndarray:
    """``(K, 3)`` faces that belong to exactly one tet; with `points`, oriented so that their
    normals ``(b - a) x (c - a)`` point out of the mesh."""
    m = len(tets)
    faces = np.concatenate([tets[:, [0, 1, 2]], tets[:, [0, 1, 3]], tets[:, [0, 2, 3]],
                            tets[:, [1, 2, 3]]]).astype(np.int64)
    key = np.sort(faces, axis=1)
    n = int(key.max()) + 1 if len(key) else 1
    code = (key[:, 0] * n + key[:, 1]) * n + key[:, 2] if n < 2_000_000 else None
    if code is not None:  # one int64 per face: much faster than unique over rows
        _, idx, counts = np.unique(code, return_index=True, return_counts=True)
    else:
        _, idx, counts = np.unique(key, axis=0, return_index=True, return_counts=True)
    idx = idx[counts == 1]
    tris = faces[idx]
    if points is not None and len(tris):
        opposite = np.array([3, 2, 1, 0])[idx // m]  # the tet vertex not on the face
        inside = points[tets[idx % m, opposite]]
        a, b, c = points[tris[:, 0]], points[tris[:, 1]], points[tris[:, 2]]
        flip = np.einsum("ij,ij->i", np.cross(b - a, c - a), inside - a) > 0
        tris[flip] = tris[flip][:, [0, 2, 1]]
    return tris


_TET_EDGES = np.array([(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)])


def _slice_triangles(points: np.ndarray, tets: np.ndarray, values: np.ndarray, axis: int,
                     at: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut the P1 field `values` with the plane ``x[axis] = at``: 2-D points ``(K, 2)`` (the
    other two coordinates), triangles ``(T, 3)`` and linearly interpolated values ``(K,)``."""
    d = points[:, axis] - at
    dt = d[tets]                                   # (M, 4)
    above = dt >= 0
    n_above = above.sum(axis=1)
    cut = (n_above > 0) & (n_above < 4)
    tets, dt, above = tets[cut], dt[cut], above[cut]
    other = [a for a in range(3) if a != axis]
    xy_list, val_list, tri_list = [], [], []
    base = 0
    for count in (1, 2, 3):
        sel = above.sum(axis=1) == count
        if not sel.any():
            continue
        t, dd, ab = tets[sel], dt[sel], above[sel]
        # Order nodes so the "above" ones come first (stable), then cut the edges between sides.
        order = np.argsort(~ab, axis=1, kind="stable")
        t = np.take_along_axis(t, order, axis=1)
        dd = np.take_along_axis(dd, order, axis=1)
        if count == 2:  # a, b above; c, d below: the cut is the quad ac, ad, bd, bc
            edges = [(0, 2), (0, 3), (1, 3), (1, 2)]
        elif count == 1:  # a above: triangle ab, ac, ad
            edges = [(0, 1), (0, 2), (0, 3)]
        else:  # d below: triangle ad, bd, cd
            edges = [(0, 3), (1, 3), (2, 3)]
        pts, vals = [], []
        for i, j in edges:
            di, dj = dd[:, i], dd[:, j]
            s = di / (di - dj)
            pi, pj = points[t[:, i]], points[t[:, j]]
            pts.append(pi + s[:, None] * (pj - pi))
            vi, vj = values[t[:, i]], values[t[:, j]]
            vals.append(vi + s * (vj - vi))
        n = len(t)
        k = len(edges)
        p = np.stack(pts, axis=1).reshape(-1, 3)[:, other]
        v = np.stack(vals, axis=1).reshape(-1)
        idx = base + np.arange(n)[:, None] * k
        if k == 3:
            tri = idx + np.array([0, 1, 2])
        else:
            tri = np.concatenate([idx + np.array([0, 1, 2]), idx + np.array([0, 2, 3])])
        xy_list.append(p)
        val_list.append(v)
        tri_list.append(tri)
        base += n * k
    if not xy_list:
        return np.zeros((0, 2)), np.zeros((0, 3), dtype=np.int64), np.zeros(0)
    return np.concatenate(xy_list), np.concatenate(tri_list), np.concatenate(val_list)


def _new_axes(projection: str | None, figsize: tuple[float, float]) -> Axes:
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=figsize)
    return fig.add_subplot(111, projection=projection) if projection else fig.add_subplot(111)


def plot_activation(mesh: TetMesh, result_or_array: Any, ax: Axes | None = None, *,
                    quantity: str = "activation", kind: str = "surface", axis: str = "z",
                    at: float | None = None, cmap: Any = "turbo_r", vmin: float | None = None,
                    vmax: float | None = None, title: str | None = None,
                    colorbar: bool = True, elev: float = 25.0, azim: float = -60.0,
                    cull: bool = True) -> Axes:
    """Draw an activation map (or repolarisation/APD map) of `mesh`.

    Parameters
    ----------
    result_or_array:
        An :class:`EPResult` or one value per mesh point (ms).
    quantity:
        ``"activation"``, ``"repolarisation"`` or ``"apd"`` (with an EPResult).
    kind:
        ``"surface"``: the boundary of the mesh in 3-D, each face coloured by the mean of its
        nodes (grey where a node never activated); needs a 3-D `ax`
        (``projection="3d"``) or none. ``"slice"``: the field cut by the plane
        ``axis = at`` (default: the middle of the mesh), linearly interpolated, drawn in 2-D.
    ax:
        Axes to draw into; default a new figure.
    elev, azim:
        View angles (degrees) of the 3-D surface.
    cull:
        Leave out the surface faces turned away from the view (hidden anyway; about twice as
        fast). Set False to rotate the figure interactively afterwards.

    Returns the Axes (``ax.figure`` is the figure). Never activated regions are grey.
    """
    import matplotlib.colors as mcolors

    values = _values(result_or_array, quantity)
    _check_size(mesh, values, quantity)
    if kind not in ("surface", "slice"):
        raise _invalid(f"unknown kind '{kind}'; expected surface or slice",
                       expected="surface, slice", found=str(kind), field="kind")
    points = np.asarray(mesh.points, dtype=float)
    tets = np.asarray(mesh.tets, dtype=np.int64)
    finite = values[np.isfinite(values)]
    lo = vmin if vmin is not None else (float(finite.min()) if finite.size else 0.0)
    hi = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
    if hi <= lo:
        hi = lo + 1.0
    norm = mcolors.Normalize(vmin=lo, vmax=hi)
    label_title, label_cbar = _QUANTITIES[quantity][1:]
    if not hasattr(result_or_array, "activation_ms") and quantity == "activation":
        label_title, label_cbar = "Time", "time (ms)"
    grey = (0.75, 0.75, 0.75, 1.0)
    import matplotlib.cm as mcm

    cm = _colormap(cmap)

    if kind == "surface":
        from mpl_toolkits.mplot3d.art3d import Poly3DCollection

        if ax is None:
            ax = _new_axes("3d", (7.0, 5.0))
        elif getattr(ax, "name", "") != "3d":
            raise _invalid("kind='surface' needs 3-D axes (add_subplot(projection='3d')) or "
                           "ax=None; use kind='slice' for 2-D axes", field="ax",
                           expected="3-D axes", found=getattr(ax, "name", type(ax).__name__))
        tris = _boundary_triangles(tets, points)
        if cull:  # a closed surface's faces turned away from the eye are hidden by the others
            e, a = np.radians(elev), np.radians(azim)
            eye = np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])
            p0, p1, p2 = points[tris[:, 0]], points[tris[:, 1]], points[tris[:, 2]]
            tris = tris[np.cross(p1 - p0, p2 - p0) @ eye > 0]
        face_values = values[tris].mean(axis=1)
        colors = np.array(cm(norm(np.nan_to_num(face_values, nan=lo))))
        colors[~np.isfinite(face_values)] = grey
        # Edges in the face colour hide the hairline seams between adjacent triangles.
        poly = Poly3DCollection(points[tris], facecolors=colors, edgecolors=colors,
                                linewidths=0.2)
        ax.add_collection3d(poly)
        pmin, pmax = points.min(axis=0), points.max(axis=0)
        ax.set_xlim(pmin[0], pmax[0])
        ax.set_ylim(pmin[1], pmax[1])
        ax.set_zlim(pmin[2], pmax[2])
        extent = np.maximum(pmax - pmin, 1e-9 * max(float((pmax - pmin).max()), 1.0))
        if hasattr(ax, "set_box_aspect"):  # matplotlib >= 3.3
            ax.set_box_aspect(tuple(extent))
        ax.view_init(elev=elev, azim=azim)
        from matplotlib.ticker import MaxNLocator

        for axis_obj, size in zip((ax.xaxis, ax.yaxis, ax.zaxis), extent):
            # Fewer ticks along the short sides of thin shapes, which would crowd otherwise.
            axis_obj.set_major_locator(MaxNLocator(nbins=max(2, int(6 * size / extent.max()))))
        ax.set_xlabel("x (mm)")
        ax.set_ylabel("y (mm)")
        ax.set_zlabel("z (mm)")
        where = "surface"
    else:
        axes_names = {"x": 0, "y": 1, "z": 2}
        if axis not in axes_names:
            raise _invalid(f"unknown axis '{axis}'; expected x, y or z", field="axis",
                           expected="x, y, z", found=str(axis))
        a = axes_names[axis]
        position = float(at) if at is not None else float(
            0.5 * (points[:, a].min() + points[:, a].max()))
        xy, tri, v = _slice_triangles(points, tets, values, a, position)
        if len(tri) == 0:
            raise _invalid(f"the plane {axis} = {position:g} mm misses the mesh (it spans "
                           f"{points[:, a].min():g}..{points[:, a].max():g} mm)", field="at",
                           expected="a position inside the mesh", found=f"{position:g}")
        if ax is None:
            ax = _new_axes(None, (7.0, 4.5))
        import matplotlib.tri as mtri

        nan_tri = ~np.isfinite(v[tri]).all(axis=1)
        if nan_tri.any():
            ax.add_collection(_polys(xy[tri[nan_tri]], grey))
        if (~nan_tri).any():
            tr = mtri.Triangulation(xy[:, 0], xy[:, 1], tri[~nan_tri])
            ax.tripcolor(tr, np.nan_to_num(v, nan=lo), shading="gouraud", cmap=cm, norm=norm)
        ax.set_xlim(xy[:, 0].min(), xy[:, 0].max())
        ax.set_ylim(xy[:, 1].min(), xy[:, 1].max())
        ax.set_aspect("equal")
        other = [n for n in "xyz" if n != axis]
        ax.set_xlabel(f"{other[0]} (mm)")
        ax.set_ylabel(f"{other[1]} (mm)")
        where = f"{axis} = {position:g} mm"
    if colorbar:
        sm = mcm.ScalarMappable(norm=norm, cmap=cm)
        sm.set_array(np.array([]))
        ax.figure.colorbar(sm, ax=ax, label=label_cbar, shrink=0.8,
                          pad=0.12 if kind == "surface" else 0.04)
    if title is None:
        n_act, n = int(np.isfinite(values).sum()), values.size
        rng = f"{lo:.1f}-{hi:.1f} ms" if finite.size else "none"
        title = f"{label_title} ({where}): {rng}"
        if n_act < n:
            title += f"\n{n_act} of {n} nodes (grey: none)"
    ax.set_title(title)
    return ax


def _colormap(cmap: Any) -> Any:
    import matplotlib

    if not isinstance(cmap, str):
        return cmap
    registry = getattr(matplotlib, "colormaps", None)
    if registry is not None:
        return registry[cmap]
    import matplotlib.cm as mcm  # matplotlib < 3.5

    return mcm.get_cmap(cmap)


def _polys(verts: np.ndarray, color: Any) -> Any:
    from matplotlib.collections import PolyCollection

    return PolyCollection(verts, facecolors=[color], edgecolors="none")


def plot_traces(result: Any, ax: Axes | None = None, names: Sequence[str] | None = None,
                title: str | None = "Probe traces") -> Axes:
    """Vm (mV) against time (ms) of the probes of an :class:`EPResult` (or a
    :class:`~cardiotwin.Signals`), one line per probe labelled with its position; `names`
    picks probes."""
    signals = result.probes if hasattr(result, "probes") else result
    if ax is None:
        ax = _new_axes(None, (7.0, 4.0))
    all_names = list(signals.names)
    positions: list[Any] = []
    metadata = getattr(result, "metadata", None)
    if isinstance(metadata, dict):
        positions = list(metadata.get("options", {}).get("probes", []))
    chosen = list(names) if names is not None else all_names
    t = np.asarray(signals.time_ms)
    values = np.asarray(signals.values).reshape(len(t), len(all_names))
    for name in chosen:
        if name not in all_names:
            raise _invalid(f"no probe '{name}'; the result has {', '.join(all_names) or 'none'}",
                           field="names", expected=", ".join(all_names), found=name)
        i = all_names.index(name)
        label = name
        if i < len(positions):
            label += " (" + ", ".join(f"{float(c):g}" for c in positions[i]) + ") mm"
        ax.plot(t, values[:, i], label=label, lw=1.2)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"Vm ({signals.units or 'mV'})")
    if chosen:
        ax.legend(fontsize="small", loc="best")
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    return ax


def plot_single_cell(result: SingleCellResult, ax: Axes | None = None,
                     title: str | None = None, mark_apd: bool = True) -> Axes:
    """The Vm trace of a :func:`single_cell` run, with APD90 of each beat marked."""
    if ax is None:
        ax = _new_axes(None, (7.0, 4.0))
    ax.plot(result.time_ms, result.vm, lw=1.2, color="C0", label="Vm")
    if mark_apd:
        for i, b in enumerate(result.beats):
            act, apd90 = b.get("activation_time_ms"), b.get("apd90_ms")
            peak, rest = b.get("peak_vm_mv"), b.get("resting_vm_mv")
            if None in (act, apd90, peak, rest) or not np.isfinite([act, apd90, peak, rest]).all():
                continue
            level = peak - 0.9 * (peak - rest)
            ax.plot([act, act + apd90], [level, level], color="C3", lw=1,
                    label="APD90" if i == 0 else None)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("Vm (mV)")
    if title is None:
        m = result.measures
        cell = result.trace.metadata.get("cell_type", "")
        title = f"{result.model} {cell}".strip()
        if m and np.isfinite(m.get("apd90_ms", np.nan)):
            title += (f": APD90 {m['apd90_ms']:.0f} ms, rest {m['resting_vm_mv']:.1f} mV, "
                      f"peak {m['peak_vm_mv']:.1f} mV")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if mark_apd and result.beats:
        ax.legend(fontsize="small", loc="best")
    return ax
