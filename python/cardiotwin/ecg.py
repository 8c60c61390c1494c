"""ECG: 12-lead ECGs from simulated hearts, ECG files, features, comparisons and plots.

The numerics live in the compiled module (``cardiotwin._core.ecg``); this module adds:

- :func:`pseudo_ecg_weights` / :func:`twelve_lead_weights`: the forward model as a linear map
  from Vm at the heart's nodes to electrode or lead potentials (one dot product per frame);
- :func:`torso` and :func:`lead_field_weights`: the heart embedded in a procedural ellipsoidal
  torso (TetGen) and the lead-field forward model (one elliptic solve per electrode, reusable for
  every simulation on that anatomy);
- :func:`ecg_from_simulation`: the 12-lead ECG of a monodomain run from its Vm snapshots
  (``vm.pvd``), with electrodes placed around the heart;
- :func:`read_ecg` / :func:`write_ecg`: WFDB records (``.hea`` with ``.dat`` or ``.mat``) and CSV;
- :func:`features` and :func:`compare`: QRS, QT/QTc, T wave, R/S amplitudes, axis, and per-lead
  correlation/RMSE after alignment, as plain dicts (``None`` where a value is undefined);
- :func:`plot_12lead`: the clinical 3 x 4 layout with a rhythm strip on ECG paper, for one or
  several ECGs (overlaid or side by side); matplotlib is imported lazily and the Agg backend works.

Units: time ms, potential mV, length mm, conductivity S/m.

Example::

    from cardiotwin import ecg
    measured = ecg.read_ecg("HR06004.hea")
    print(ecg.features(measured)["qrs_duration_ms"])
    fig = ecg.plot_12lead(measured)
"""
from __future__ import annotations

import glob
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from ._core import FileIOError, InvalidInput
from ._core import ecg as _e
from .core import Signals, TetMesh

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

PathLike = Union[str, "os.PathLike[str]"]

Electrodes = _e.Electrodes
BodyFrame = _e.BodyFrame
ElectrodeWeights = _e.ElectrodeWeights
standard_electrode_names = _e.standard_electrode_names
default_electrode_placement = _e.default_electrode_placement
default_pseudo_ecg_options = _e.default_pseudo_ecg_options
default_feature_options = _e.default_feature_options
electrode_markers = _e.electrode_markers
twelve_lead_names = _e.twelve_lead_names
twelve_leads = _e.twelve_leads
twelve_lead_weights = _e.twelve_lead_weights
twelve_lead_matrix = _e.twelve_lead_matrix
apply_to_pvd = _e.apply_to_pvd
TorsoMesh = _e.TorsoMesh
default_torso_options = _e.default_torso_options
default_lead_field_options = _e.default_lead_field_options
embed_heart = _e.embed_heart
torso_plc = _e.torso_plc
ellipsoid_torso_surface = _e.ellipsoid_torso_surface
read_wfdb = _e.read_wfdb
lowpass = _e.lowpass
highpass = _e.highpass
remove_baseline = _e.remove_baseline
resample = _e.resample
interpolate = _e.interpolate
select_channels = _e.select_channels

#: The clinical 3 x 4 layout: rows of (limb, augmented, chest, chest) leads.
CLINICAL_LAYOUT = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))

__all__ = [
    "BodyFrame", "CLINICAL_LAYOUT", "TorsoMesh", "default_lead_field_options",
    "default_torso_options", "embed_heart", "ellipsoid_torso_surface", "lead_field_weights", "torso",
    "torso_plc", "ElectrodeWeights", "Electrodes", "apply_to_pvd", "body_frame",
    "compare", "default_electrode_placement", "default_feature_options",
    "default_pseudo_ecg_options", "ecg_from_simulation", "electrode_markers", "features",
    "find_vm_series", "highpass", "interpolate", "lowpass", "plot_12lead", "pseudo_ecg_weights",
    "read_ecg", "read_wfdb", "remove_baseline", "resample", "select_channels",
    "standard_electrode_names", "standard_electrodes", "twelve_lead_matrix", "twelve_lead_names",
    "twelve_lead_weights", "twelve_leads", "write_ecg", "write_electrodes", "write_wfdb",
]


def _invalid(cls: type, message: str, *, expected: str = "", found: str = "", file: str = "",
             field: str = "") -> Exception:
    err = cls(message)
    for name, value in (("description", message), ("expected", expected), ("found", found),
                        ("file", file), ("field", field), ("element", None)):
        try:
            setattr(err, name, value)
        except AttributeError:  # pragma: no cover
            pass
    return err


# ---- files ---------------------------------------------------------------------------------------

def read_ecg(path: PathLike) -> Signals:
    """Read an ECG: ``.csv`` (``time_ms`` + one column per lead) or a WFDB record (``.hea``,
    ``.dat``/``.mat`` beside their ``.hea``, or the record path without extension)."""
    return _e.read_ecg(os.fspath(path))


def write_ecg(path: PathLike, ecg: Signals) -> None:
    """Write ``.csv``, or a WFDB record (format 16) for ``.hea``/``.dat``/no extension."""
    _e.write_ecg(os.fspath(path), ecg)


def write_wfdb(path: PathLike, ecg: Signals, gain: float = 0.0,
               comments: Sequence[str] = ()) -> None:
    """Write a WFDB record in format 16 (`gain` ADC units per mV; 0 picks one that fits)."""
    _e.write_wfdb(os.fspath(path), ecg, gain, list(comments))


def write_electrodes(path: PathLike, electrodes: Electrodes, radius_mm: float = 4.0) -> None:
    """Write electrode markers to a ``.vtp`` (face tag = electrode index + 1) and their names to a
    ``.json`` beside it, for a visual check in ParaView."""
    _e.write_electrodes(os.fspath(path), electrodes, radius_mm)


# ---- electrodes and forward model ------------------------------------------------------------------

def body_frame(heart: TetMesh | None = None, *, centre: Sequence[float] | None = None,
               long_axis: Sequence[float] | None = None,
               rv_direction: Sequence[float] | None = None) -> BodyFrame:
    """The patient's frame around the heart.

    With `long_axis` (base to apex) and `rv_direction` (LV to RV) in mesh coordinates, the heart
    is turned into its usual position in the chest; `centre` defaults to the mesh's centroid.
    Without them the axes are estimated from the mesh's principal axes.
    """
    if long_axis is None and rv_direction is None:
        if heart is None:
            raise _invalid(InvalidInput, "a heart mesh or its axes are needed for the body frame",
                           expected="heart or long_axis and rv_direction", found="neither")
        return BodyFrame.from_principal_axes(heart)
    if long_axis is None or rv_direction is None:
        raise _invalid(InvalidInput, "long_axis and rv_direction go together",
                       expected="both", found="one of them", field="long_axis")
    if centre is None:
        if heart is None:
            raise _invalid(InvalidInput, "the heart centre is needed", expected="centre or heart",
                           found="neither", field="centre")
        centre = np.asarray(heart.points).mean(axis=0)
    return BodyFrame.from_heart_axes(np.asarray(centre, float), np.asarray(long_axis, float),
                                     np.asarray(rv_direction, float))


def standard_electrodes(frame: BodyFrame, placement: Mapping[str, Any] | None = None,
                        **overrides: Any) -> Electrodes:
    """RA, LA, LL, RL (Mason-Likar) and V1-V6 on an idealised chest around the heart.
    `placement` / keyword overrides: see :func:`default_electrode_placement` (e.g. ``scale=1.1``)."""
    opts = dict(placement or {})
    opts.update(overrides)
    return _e.standard_electrodes(frame, opts)


def pseudo_ecg_weights(heart: TetMesh, electrodes: Electrodes,
                       options: Mapping[str, Any] | None = None, **overrides: Any) -> ElectrodeWeights:
    """Pseudo-ECG weights (infinite homogeneous conductor) of `electrodes` for Vm on `heart`'s
    nodes; see :func:`default_pseudo_ecg_options` (``sigma_i`` needs the mesh's fibres unless
    isotropic). Raises ``InvalidInput`` naming any electrode inside the heart."""
    opts = dict(options or {})
    opts.update(overrides)
    return _e.pseudo_ecg_weights(heart, electrodes, opts)


def torso(heart: TetMesh, frame: BodyFrame, options: Mapping[str, Any] | None = None, *,
          refine_points: Any = None, refine_radius_mm: float = 3.0, **overrides: Any) -> TorsoMesh:
    """The heart embedded in a procedural ellipsoidal torso (see :func:`default_torso_options`),
    meshed with TetGen; `refine_points` (N, 3) get a fine mesh around them (electrodes inside
    the torso). Raises ``MissingComponent`` when TetGen was not built."""
    from . import MissingComponent

    if not hasattr(_e, "ellipsoidal_torso"):
        raise _invalid(MissingComponent, "the procedural torso needs TetGen (component ecg_tetgen)",
                       expected="a build with CARDIOTWIN_WITH_TETGEN", found="none")
    opts = dict(options or {})
    opts.update(overrides)
    points = np.zeros((0, 3)) if refine_points is None else np.asarray(refine_points, float)
    return _e.ellipsoidal_torso(heart, frame, opts, points, refine_radius_mm)


def lead_field_weights(heart: TetMesh, electrodes: Electrodes, torso_mesh: TorsoMesh,
                       options: Mapping[str, Any] | None = None, **overrides: Any) -> ElectrodeWeights:
    """Lead-field weights of `electrodes` (projected onto the torso surface by default) for Vm on
    `heart`'s nodes, the heart embedded in `torso_mesh` (see :func:`torso`); options: see
    :func:`default_lead_field_options` (conductivities, reference electrode, solver)."""
    opts = dict(options or {})
    opts.update(overrides)
    return _e.lead_field_weights(heart, torso_mesh, electrodes, opts)


def find_vm_series(simulation: PathLike) -> str:
    """The Vm snapshot series (``.pvd``) of a simulation: `simulation` itself when it is a
    ``.pvd``, else ``vm.pvd`` or ``vm/vm.pvd`` inside it, else the only ``.pvd`` below it."""
    path = os.fspath(simulation)
    if os.path.isfile(path) and path.lower().endswith(".pvd"):
        return path
    if not os.path.isdir(path):
        raise _invalid(FileIOError, f"the simulation '{path}' does not exist",
                       expected="a simulation folder or a .pvd file", found="nothing", file=path)
    for candidate in ("vm.pvd", os.path.join("vm", "vm.pvd")):
        if os.path.isfile(os.path.join(path, candidate)):
            return os.path.join(path, candidate)
    found = sorted(glob.glob(os.path.join(path, "**", "*.pvd"), recursive=True))
    if len(found) == 1:
        return found[0]
    raise _invalid(FileIOError,
                   f"no Vm snapshots in '{path}'" if not found else
                   f"several .pvd series in '{path}': {', '.join(found)}; pass one of them",
                   expected="one .pvd series (run the simulation with snapshot_every_ms > 0)",
                   found=f"{len(found)} .pvd files", file=path)


def _heart_mesh(pvd: str, mesh: TetMesh | PathLike | None) -> tuple[TetMesh, str]:
    from . import io

    if isinstance(mesh, TetMesh):
        return mesh, "given mesh"
    if mesh is not None:
        return io.read_mesh(mesh), os.fspath(mesh)
    entries = io.read_pvd(pvd)
    if not entries:
        raise _invalid(FileIOError, f"no frames in '{pvd}'", expected="at least one DataSet",
                       found="none", file=pvd)
    first = io.read_vtu(os.path.join(os.path.dirname(pvd), entries[0][1]))
    # The simulate command writes the full mesh (with fibres) as activation.vtu beside vm/.
    for candidate in (os.path.join(os.path.dirname(pvd), "activation.vtu"),
                      os.path.join(os.path.dirname(os.path.dirname(pvd)), "activation.vtu")):
        if os.path.isfile(candidate):
            full = io.read_vtu(candidate)
            if full.num_points == first.num_points and full.num_tets == first.num_tets:
                return full, candidate
    return first, entries[0][1]


def ecg_from_simulation(simulation: PathLike, *, mesh: TetMesh | PathLike | None = None,
                        frame: BodyFrame | None = None, placement: Mapping[str, Any] | None = None,
                        options: Mapping[str, Any] | None = None, leads: bool = True,
                        electrodes_out: PathLike | None = None, model: str = "pseudo",
                        torso_options: Mapping[str, Any] | None = None) -> Signals:
    """The ECG of a simulation from its Vm snapshots.

    simulation:
        A simulation folder (with ``vm.pvd`` or ``vm/vm.pvd``) or the ``.pvd`` itself.
    mesh:
        The heart mesh (for its fibres); default the ``activation.vtu`` the simulate command
        writes, else the first snapshot (geometry only: then ``sigma_i`` is made isotropic,
        the mean of the given values, with a note on stderr).
    frame, placement:
        Where the electrodes go (default: the mesh's principal axes, standard placement).
    options:
        Options of the forward model (:func:`default_pseudo_ecg_options` or
        :func:`default_lead_field_options`).
    model:
        ``"pseudo"`` (infinite homogeneous conductor) or ``"lead-field"`` (the heart in a
        procedural ellipsoidal torso, `torso_options`; electrodes projected onto its surface).
    leads:
        True: the 12 leads; False: the electrode potentials.
    electrodes_out:
        Also write the electrode markers (``.vtp`` + ``.json``) here.
    """
    pvd = find_vm_series(simulation)
    heart, source = _heart_mesh(pvd, mesh)
    opts = dict(options or {})
    defaults = default_lead_field_options() if model == "lead-field" else default_pseudo_ecg_options()
    sigma_i = np.asarray(opts.get("sigma_i", defaults["sigma_i"]), float)
    if heart.fibre.shape[0] == 0 and not np.allclose(sigma_i, sigma_i[0]):
        iso = float(sigma_i.mean())
        print(f"cardiotwin ecg: note: the mesh from {source} has no fibres; using an isotropic "
              f"sigma_i = {iso:.4g} S/m", file=sys.stderr)
        opts["sigma_i"] = [iso, iso, iso]
        if model == "lead-field":
            bulk = np.asarray(opts.get("sigma_heart", defaults["sigma_heart"]), float)
            opts["sigma_heart"] = [float(bulk.mean())] * 3
    if frame is None:
        frame = body_frame(heart)
    electrodes = standard_electrodes(frame, placement)
    if electrodes_out is not None:
        write_electrodes(electrodes_out, electrodes)
    if model == "pseudo":
        weights = pseudo_ecg_weights(heart, electrodes, opts)
    elif model == "lead-field":
        weights = lead_field_weights(heart, electrodes, torso(heart, frame, torso_options), opts)
    else:
        raise _invalid(InvalidInput, f"unknown ECG model '{model}'",
                       expected="'pseudo' or 'lead-field'", found=model, field="model")
    if leads:
        weights = twelve_lead_weights(weights)
    ecg = apply_to_pvd(weights, pvd)
    meta = dict(ecg.metadata)
    meta.update({"body_frame": frame.to_dict(), "mesh": source, "vm_series": pvd, "ecg_model": model})
    ecg.metadata = meta
    return ecg


# ---- features and comparison -----------------------------------------------------------------------

def features(ecg: Signals | PathLike, options: Mapping[str, Any] | None = None, *,
             beat: bool = False, **overrides: Any) -> dict[str, Any]:
    """Global and per-lead features of an ECG (or of the file at `ecg`), as a dict.

    Keys: ``num_beats``, ``beat_times_ms``, ``rr_ms``, ``heart_rate_bpm``, ``qrs_onset_ms``,
    ``qrs_offset_ms``, ``qrs_duration_ms``, ``t_peak_ms``, ``t_end_ms``, ``qt_ms``,
    ``qtc_bazett_ms``, ``qtc_fridericia_ms``, ``axis_deg`` and ``leads`` (per lead: baseline,
    QRS onset/offset/duration, R and S amplitudes, QRS area, T peak/amplitude/end, QT). Times are
    on the time axis of the delineated beat (the median beat of a rhythm, centred on its QRS; the
    record itself for a single beat). With ``beat=True`` the delineated beat is included as
    ``"beat"`` (:class:`~cardiotwin.Signals`). Options: see :func:`default_feature_options`;
    simulated single beats usually want ``filter=False`` and an ``rr_ms`` for QTc.
    """
    if not isinstance(ecg, Signals):
        ecg = read_ecg(ecg)
    opts = dict(options or {})
    opts.update(overrides)
    result = _e.ecg_features(ecg, opts)
    if not beat:
        result.pop("beat", None)
    return result


def compare(reference: Signals, other: Signals, max_shift_ms: float = 100.0,
            step_ms: float = 1.0) -> dict[str, Any]:
    """Per-lead correlation and RMSE (mV) of `other` against `reference` after the time shift
    (within +-`max_shift_ms`) that maximises the mean correlation; leads matched by name."""
    return _e.compare_ecgs(reference, other, max_shift_ms, step_ms)


# ---- plots -------------------------------------------------------------------------------------------

_PAPER_MM_PER_MS = 25.0 / 1000.0   # 25 mm/s
_PAPER_MM_PER_MV = 10.0            # 10 mm/mV
_ROW_MM = 30.0                     # height of one row of leads


def _lead(ecg: Signals, name: str) -> np.ndarray | None:
    lower = [n.lower() for n in ecg.names]
    if name.lower() in lower:
        return np.asarray(ecg.values)[:, lower.index(name.lower())]
    return None


def _draw_paper(ax: Any, width_mm: float, height_mm: float) -> None:
    from matplotlib.collections import LineCollection

    for major in (False, True):
        xs = [x for x in np.arange(0.0, width_mm + 1e-9, 1.0) if (round(x) % 5 == 0) == major]
        ys = [y for y in np.arange(0.0, height_mm + 1e-9, 1.0) if (round(y) % 5 == 0) == major]
        segs = [[(x, 0.0), (x, height_mm)] for x in xs] + [[(0.0, y), (width_mm, y)] for y in ys]
        ax.add_collection(LineCollection(segs, colors="#e88a8a" if major else "#f6c7c7",
                                         linewidths=0.6 if major else 0.3, zorder=0))
    ax.set_xlim(0, width_mm)
    ax.set_ylim(0, height_mm)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def _draw_ecg(ax: Any, ecgs: Sequence[Signals], colors: Sequence[str], segment_ms: float,
              rhythm_lead: str, starts: Sequence[float], partition: bool) -> tuple[float, float]:
    cal_mm = 5.0                        # calibration pulse (1 mV, 200 ms) at the start of each row
    col_mm = segment_ms * _PAPER_MM_PER_MS
    width = cal_mm + 4 * col_mm
    height = 4 * _ROW_MM
    _draw_paper(ax, width, height)
    for row in range(4):
        base = height - (row + 0.5) * _ROW_MM
        ax.plot([0.5, 1.5, 1.5, 3.5, 3.5, 4.5], [base, base, base + 10, base + 10, base, base],
                color="k", lw=0.8)
    for ecg, color, start in zip(ecgs, colors, starts):
        t = np.asarray(ecg.time_ms) - start
        for r, row in enumerate(CLINICAL_LAYOUT):
            base = height - (r + 0.5) * _ROW_MM
            for c, name in enumerate(row):
                v = _lead(ecg, name)
                if v is None:
                    continue
                # Clinical: column c shows the c-th segment of the record; a short record (a
                # beat) shows whole in every column.
                shift = c * segment_ms if partition else 0.0
                m = (t >= shift) & (t <= shift + segment_ms)
                x = cal_mm + (t[m] - shift + c * segment_ms) * _PAPER_MM_PER_MS
                ax.plot(x, base + v[m] * _PAPER_MM_PER_MV, color=color, lw=0.8)
        v = _lead(ecg, rhythm_lead)
        if v is not None:
            m = t <= 4 * segment_ms
            ax.plot(cal_mm + t[m] * _PAPER_MM_PER_MS, 0.5 * _ROW_MM + v[m] * _PAPER_MM_PER_MV,
                    color=color, lw=0.8)
    for r, row in enumerate(CLINICAL_LAYOUT):
        for c, name in enumerate(row):
            ax.text(cal_mm + c * col_mm + 1.0, height - r * _ROW_MM - 4.0, name, fontsize=8)
            if c > 0:
                y0 = height - (r + 0.5) * _ROW_MM
                ax.plot([cal_mm + c * col_mm] * 2, [y0 - 3, y0 + 3], color="k", lw=0.8)
    ax.text(cal_mm + 1.0, _ROW_MM - 4.0, rhythm_lead, fontsize=8)
    return width, height


def plot_12lead(ecgs: Signals | Sequence[Signals], labels: Sequence[str] | None = None, *,
                overlay: bool = False, rhythm_lead: str = "II", segment_ms: float | None = None,
                title: str | None = None, colors: Sequence[str] | None = None,
                mm_per_inch: float = 25.4) -> Figure:
    """A 12-lead ECG on ECG paper (25 mm/s, 10 mm/mV, 1 mm / 5 mm grid) in the clinical layout:
    3 rows of 4 leads (I aVR V1 V4 / II aVL V2 V5 / III aVF V3 V6), each column showing the
    next `segment_ms` of the record, and a rhythm strip of `rhythm_lead` across the bottom.
    A record shorter than 4 `segment_ms` (a beat) shows whole in every column instead.

    Several ECGs (e.g. simulated and measured) are drawn side by side, one paper each, or on one
    paper in different colours with ``overlay=True``. `segment_ms` defaults to a quarter of the
    longest record when it lasts at least 4 s (the clinical 2.5 s for a 10 s record), else to the
    whole record, so that a simulated single beat shows in every lead. Each ECG starts at its
    first sample. Returns the matplotlib Figure (works with the Agg backend).
    """
    import matplotlib.pyplot as plt

    items = [ecgs] if isinstance(ecgs, Signals) else list(ecgs)
    if not items:
        raise _invalid(InvalidInput, "nothing to plot", expected="at least one ECG", found="none")
    labels = list(labels) if labels is not None else [
        str(e.metadata.get("record") or e.metadata.get("source") or f"ECG {i + 1}")
        if isinstance(e.metadata, dict) else f"ECG {i + 1}" for i, e in enumerate(items)]
    colors = list(colors) if colors is not None else ["k", "tab:red", "tab:blue", "tab:green"]
    durations = [float(e.time_ms[-1] - e.time_ms[0]) if e.num_samples else 0.0 for e in items]
    longest = max(durations)
    if segment_ms is None:
        segment_ms = longest / 4 if longest >= 4000 else longest
    segment_ms = max(float(segment_ms), 1.0)
    partition = 4 * segment_ms <= longest * (1 + 1e-9)
    starts = [float(e.time_ms[0]) if e.num_samples else 0.0 for e in items]
    width_mm = 5.0 + 4 * segment_ms * _PAPER_MM_PER_MS
    height_mm = 4 * _ROW_MM
    panels = 1 if overlay else len(items)
    scale = 1.0 / mm_per_inch * 1.6
    fig, axes = plt.subplots(1, panels, figsize=(max(4.0, width_mm * scale) * panels,
                                                 max(3.0, height_mm * scale) + 0.6), squeeze=False)
    if overlay:
        _draw_ecg(axes[0][0], items, colors[:len(items)], segment_ms, rhythm_lead, starts, partition)
        from matplotlib.lines import Line2D

        axes[0][0].legend([Line2D([0], [0], color=c) for c in colors[:len(items)]], labels,
                          loc="upper right", fontsize=8, framealpha=0.9)
    else:
        for i, (ecg, label) in enumerate(zip(items, labels)):
            ax = axes[0][i]
            _draw_ecg(ax, [ecg], [colors[0]], segment_ms, rhythm_lead, [starts[i]], partition)
            ax.set_title(label, fontsize=10)
    if title:
        fig.suptitle(title)
    fig.text(0.01, 0.005, f"25 mm/s, 10 mm/mV, {segment_ms:.0f} ms per column", fontsize=7)
    fig.tight_layout()
    return fig
