"""A fast parameterised twin for populations and calibration: parameters in, ECG features out.

:class:`TwinModel` wraps the fast path of the pipeline (reaction-Eikonal activation from the
default root sites with a fast sub-endocardial layer, pseudo-ECG, features) around an idealised
biventricular heart (or a heart of your own with ventricular coordinates and fibres), and caches
everything that does not depend on the EP parameters: the mesh, coordinates, fibres and root
nodes once per process, the scaled geometry and ECG weights per heart size. One evaluation then
costs one Eikonal solve, one Vm series and one matrix product (about 0.2-0.4 s at the default
3 mm mesh on one core; see ``tests/benchmarks/cohort.py``).

Parameters (names of :data:`PARAMETERS`, units in the names):

=========================  =========  ====================================================
name                       default    meaning
=========================  =========  ====================================================
``scale``                  1.0        every length of the heart multiplied (about its centre)
``cv_fibre_mm_per_ms``     0.6        conduction velocity along fibres (mm/ms = m/s)
``cv_cross_mm_per_ms``     0.3        across fibres (sheet and normal directions)
``fast_layer_mm_per_ms``   2.0        isotropic speed of the sub-endocardial fast layer
                                      (a stand-in for the Purkinje network)
``fast_layer_depth``       0.15       transmural depth of that layer (0 endo, 1 epi)
``rv_delay_ms``            5.0        RV root sites fire this much after the LV septal site
``lv_anterior_delay_ms``   0.0        LV anterior paraseptal root, relative to the septal one
``lv_posterior_delay_ms``  0.0        LV posterior paraseptal root, relative to the septal one
``apd_ms``                 280.0      mean action potential duration
``apd_gradient_ms``        20.0       endocardial minus epicardial APD (linear transmurally)
``apd_apicobasal_ms``      80.0       apical minus basal APD (linear apex to base); with
                                      the default, lateral T waves are upright and V1's
                                      inverted, as in a normal ECG
=========================  =========  ====================================================

Heart size works by scaling the points of one mesh (about the heart's centroid): ventricular
coordinates and fibre directions do not change under a uniform scaling, so they are reused, and
the discretisation is the same at every size. The ECG electrodes stay where they are for the
unscaled heart (the same chest; see ``examples/python/size_experiment.py``), so a bigger heart is
closer to them.

:meth:`TwinModel.simulate` is the vectorised form that calibration and emulator training call:
``simulate(X, names) -> (n, k)`` features, with a row of NaN (and a warning) for a parameter set
whose run failed or whose ECG could not be delineated.
"""
from __future__ import annotations

import math
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_FEATURES",
    "PARAMETERS",
    "TwinModel",
    "TwinModelWarning",
    "TwinResult",
    "default_parameters",
    "parameter_bounds",
]

FAST_LAYER_REGION = 90  # same tag as the pipeline's fast layer
MYOCARDIUM_DENSITY_G_PER_ML = 1.05  # the value CMR LV mass measurements use

#: name -> (default, (lower, upper) admissible bounds, description)
PARAMETERS: dict[str, tuple[float, tuple[float, float], str]] = {
    "scale": (1.0, (0.5, 1.6), "every length of the heart multiplied"),
    "cv_fibre_mm_per_ms": (0.6, (0.1, 2.0), "conduction velocity along fibres (mm/ms)"),
    "cv_cross_mm_per_ms": (0.3, (0.05, 1.5), "conduction velocity across fibres (mm/ms)"),
    "fast_layer_mm_per_ms": (2.0, (0.2, 8.0), "speed of the sub-endocardial fast layer (mm/ms)"),
    "fast_layer_depth": (0.15, (0.0, 0.6), "transmural depth of the fast layer (0 endo .. 1 epi)"),
    "rv_delay_ms": (5.0, (-30.0, 60.0), "RV root sites after the LV septal site (ms)"),
    "lv_anterior_delay_ms": (0.0, (-30.0, 60.0), "LV anterior root after the septal site (ms)"),
    "lv_posterior_delay_ms": (0.0, (-30.0, 60.0), "LV posterior root after the septal site (ms)"),
    "apd_ms": (280.0, (120.0, 500.0), "mean action potential duration (ms)"),
    "apd_gradient_ms": (20.0, (-80.0, 120.0), "endocardial minus epicardial APD (ms)"),
    "apd_apicobasal_ms": (80.0, (-100.0, 160.0), "apical minus basal APD (ms)"),
}

#: Features :meth:`TwinModel.simulate` returns by default (columns, in this order).
DEFAULT_FEATURES: tuple[str, ...] = (
    "qrs_duration_ms", "qt_ms", "total_activation_ms", "axis_deg",
    "r_mv_I", "s_mv_I", "r_mv_II", "s_mv_II", "r_mv_V1", "s_mv_V1", "r_mv_V2", "s_mv_V2",
    "r_mv_V4", "s_mv_V4", "r_mv_V6", "s_mv_V6", "t_mv_II", "t_mv_V5",
)

_ANATOMY_KEYS = ("scale",)


class TwinModelWarning(UserWarning):
    """A parameter set failed (its row is NaN) or gave a feature that could not be measured."""


def default_parameters() -> dict[str, float]:
    """Every parameter of :data:`PARAMETERS` with its default value."""
    return {k: v[0] for k, v in PARAMETERS.items()}


def parameter_bounds(names: Sequence[str]) -> np.ndarray:
    """The admissible (lower, upper) bounds of `names` as a (k, 2) array."""
    _check_names(names)
    return np.array([PARAMETERS[n][1] for n in names], dtype=float)


def _check_names(names: Sequence[str]) -> None:
    for n in names:
        if n not in PARAMETERS:
            raise ValueError(f"unknown twin parameter '{n}': expected one of {sorted(PARAMETERS)}")


def _check_value(name: str, value: float) -> float:
    v = float(value)
    lo, hi = PARAMETERS[name][1]
    if not (math.isfinite(v) and lo <= v <= hi):
        raise ValueError(f"twin parameter '{name}' = {value!r} is outside its admissible range "
                         f"[{lo:g}, {hi:g}] ({PARAMETERS[name][2]})")
    return v


@dataclass
class TwinResult:
    """One evaluated twin: its parameters, features, ECG and activation."""

    parameters: dict[str, float]
    features: dict[str, float]
    ecg: Any  # cardiotwin.Signals, 12 leads
    activation_ms: np.ndarray
    anatomy: dict[str, float]
    seconds: float
    raw_features: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class _Base:
    heart: Any              # TetMesh with coordinates (point data) and fibres
    centre: np.ndarray
    tet_transmural: np.ndarray
    node_transmural: np.ndarray   # clipped to [0, 1]
    node_apicobasal: np.ndarray   # clipped to [0, 1]
    root_nodes: dict[str, int]
    electrodes: Any
    lv_mass_g: float        # at scale 1
    lv_cavity_ml: float     # at scale 1 (nan when unknown)
    myocardium_ml: float    # at scale 1


@dataclass
class _Scaled:
    heart: Any
    weights: Any            # twelve-lead weights
    anatomy: dict[str, float]


def _biventricular_options(s: float) -> dict[str, Any]:
    """The idealised biventricular geometry (as in the size experiment) with lengths x s."""
    lv = {"endo_short_radius_mm": 7 * s, "endo_long_radius_mm": 17 * s,
          "epi_short_radius_mm": 10 * s, "epi_long_radius_mm": 20 * s, "base_z_mm": 5 * s}
    return {"lv": lv, "rv_short_radius_mm": 13 * s, "rv_depth_radius_mm": 7 * s,
            "rv_long_radius_mm": 16 * s, "rv_centre_x_mm": 8 * s, "rv_wall_mm": 3 * s}


# Per-process cache of base anatomies (a Dask worker builds each once).
_BASE_CACHE: dict[tuple, _Base] = {}
_BASE_LOCK = threading.Lock()


class TwinModel:
    """Parameters -> reaction-Eikonal activation -> 12-lead pseudo-ECG -> features.

    Parameters
    ----------
    mesh_size_mm:
        element size of the idealised heart (3 mm: ~6k nodes, fast; 2 mm: ~20k nodes).
    base_scale:
        size of the ``scale = 1`` heart relative to the default idealised geometry (3.0 gives an
        LV mass of about 90 g; see :attr:`reference_anatomy`).
    heart:
        instead of the idealised heart, a TetMesh with fibres and the point fields
        ``transmural``, ``apicobasal``, ``rotational`` and ``lv_rv`` (as the pipeline's
        ``heart.vtu``); region 1 is taken as LV myocardium for the LV mass.
    fixed:
        values for parameters that are not varied (default :func:`default_parameters`).
    features:
        feature names returned by :meth:`simulate` (default :data:`DEFAULT_FEATURES`).
    duration_ms, sample_ms, rr_ms:
        simulated ECG length and sampling, and the RR interval used for QTc.
    threads:
        threads of the Eikonal solve and Vm series (1 in cohort workers; 0 = automatic).
    """

    def __init__(self, *, mesh_size_mm: float = 3.0, base_scale: float = 3.0, heart: Any = None,
                 fixed: Mapping[str, float] | None = None, features: Sequence[str] | None = None,
                 duration_ms: float = 450.0, sample_ms: float = 1.0, rr_ms: float = 1000.0,
                 threads: int = 1, cache_size: int = 8):
        if not (0.5 <= float(mesh_size_mm) <= 10):
            raise ValueError(f"mesh_size_mm: expected 0.5 to 10 mm, found {mesh_size_mm!r}")
        if not (0.2 <= float(base_scale) <= 10):
            raise ValueError(f"base_scale: expected 0.2 to 10, found {base_scale!r}")
        if not (100 < float(duration_ms) <= 2000) or not (0 < float(sample_ms) <= 10):
            raise ValueError("duration_ms must be in (100, 2000] ms and sample_ms in (0, 10] ms")
        self.mesh_size_mm = float(mesh_size_mm)
        self.base_scale = float(base_scale)
        self.duration_ms = float(duration_ms)
        self.sample_ms = float(sample_ms)
        self.rr_ms = float(rr_ms)
        self.threads = int(threads)
        self._user_heart = heart
        self.fixed = default_parameters()
        for k, v in (fixed or {}).items():
            _check_names([k])
            self.fixed[k] = _check_value(k, v)
        self.feature_names = tuple(features) if features is not None else DEFAULT_FEATURES
        for f in self.feature_names:
            if not self._known_feature(f):
                raise ValueError(f"unknown feature '{f}': expected a global feature "
                                 "(qrs_duration_ms, qt_ms, qtc_bazett_ms, axis_deg, "
                                 "total_activation_ms, ...) or r_mv_LEAD / s_mv_LEAD / t_mv_LEAD / "
                                 "qrs_area_LEAD / rs_ratio_LEAD / t_rel_LEAD with a lead of the 12-lead ECG")
        self._scaled: OrderedDict[float, _Scaled] = OrderedDict()
        self._cache_size = max(1, int(cache_size))
        self._base: _Base | None = None

    # ---- anatomy -------------------------------------------------------------------------------

    @staticmethod
    def _known_feature(name: str) -> bool:
        leads = {"I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"}
        if name in ("qrs_duration_ms", "qt_ms", "qtc_bazett_ms", "qtc_fridericia_ms", "axis_deg",
                    "total_activation_ms", "t_peak_ms", "qrs_onset_ms", "qrs_offset_ms"):
            return True
        for prefix in ("r_mv_", "s_mv_", "t_mv_", "qrs_area_", "rs_ratio_", "t_rel_"):
            if name.startswith(prefix) and name[len(prefix):] in leads:
                return True
        return False

    def _base_anatomy(self) -> _Base:
        if self._base is not None:
            return self._base
        key = ("idealised", self.mesh_size_mm, self.base_scale) if self._user_heart is None \
            else ("user", id(self._user_heart))
        with _BASE_LOCK:
            base = _BASE_CACHE.get(key)
            if base is None:
                base = self._build_base()
                if self._user_heart is None:
                    _BASE_CACHE[key] = base
        self._base = base
        return base

    def _build_base(self) -> _Base:
        from . import anatomy, ecg, ep, mesh

        lv_cavity_ml = float("nan")
        if self._user_heart is None:
            opts = _biventricular_options(self.base_scale)
            voxel = self.mesh_size_mm / 3
            tagged = mesh.biventricular_mesh(self.mesh_size_mm, **opts, voxel_mm=voxel)
            heart = anatomy.fibres(tagged, coordinate_options={"rv_regions": [2]})
            labels = mesh.biventricular_label_map(**opts, voxel_mm=voxel)
            lab = np.asarray(labels.array)
            lv_cavity_ml = float((lab == 3).sum()) * float(np.prod(labels.spacing)) / 1000.0
        else:
            heart = self._user_heart.copy()
            for f in ("transmural", "apicobasal", "rotational", "lv_rv"):
                if f not in heart.point_data:
                    raise ValueError(f"heart: point field '{f}' missing (run cardiotwin.anatomy.fibres "
                                     "or use the pipeline's heart.vtu)")
        points = np.asarray(heart.points)
        centre = points.mean(axis=0)
        tets = np.asarray(heart.tets)
        tr = np.asarray(heart.point_data["transmural"], dtype=float).ravel()
        vols = np.asarray(heart.volumes())
        region = np.asarray(heart.region)
        lv = region == 1
        lv_mass = float(vols[lv].sum()) / 1000.0 * MYOCARDIUM_DENSITY_G_PER_ML
        roots = ep.default_ventricular_roots(heart)
        root_nodes = {r["name"]: int(r["node"]) for r in roots}
        electrodes = ecg.standard_electrodes(ecg.body_frame(heart))
        ab = np.asarray(heart.point_data["apicobasal"], dtype=float).ravel()
        return _Base(heart=heart, centre=centre, tet_transmural=tr[tets].mean(axis=1),
                     node_transmural=np.clip(tr, 0, 1), node_apicobasal=np.clip(ab, 0, 1),
                     root_nodes=root_nodes, electrodes=electrodes, lv_mass_g=lv_mass,
                     lv_cavity_ml=lv_cavity_ml, myocardium_ml=float(vols.sum()) / 1000.0)

    @property
    def reference_anatomy(self) -> dict[str, float]:
        """LV mass (g), LV cavity volume (mL) and myocardial volume (mL) of the scale-1 heart."""
        b = self._base_anatomy()
        return {"lv_mass_g": b.lv_mass_g, "lv_cavity_ml": b.lv_cavity_ml,
                "myocardium_ml": b.myocardium_ml, "nodes": int(b.heart.num_points),
                "tets": int(b.heart.num_tets)}

    def scale_for_lv_mass(self, lv_mass_g: float | np.ndarray) -> float | np.ndarray:
        """The ``scale`` whose LV mass is `lv_mass_g` (mass grows with the cube of the scale)."""
        m = np.asarray(lv_mass_g, dtype=float)
        if np.any(~np.isfinite(m)) or np.any(m <= 0):
            raise ValueError("lv_mass_g must be positive and finite")
        s = np.cbrt(m / self._base_anatomy().lv_mass_g)
        return float(s) if s.ndim == 0 else s

    def anatomy_at(self, scale: float) -> dict[str, float]:
        """LV mass, LV cavity and myocardial volumes of the heart at `scale`."""
        b = self._base_anatomy()
        s3 = float(scale) ** 3
        return {"scale": float(scale), "lv_mass_g": b.lv_mass_g * s3, "lv_cavity_ml": b.lv_cavity_ml * s3,
                "myocardium_ml": b.myocardium_ml * s3}

    def _scaled_anatomy(self, scale: float) -> _Scaled:
        from . import ecg

        key = round(float(scale), 9)
        hit = self._scaled.get(key)
        if hit is not None:
            self._scaled.move_to_end(key)
            return hit
        b = self._base_anatomy()
        heart = b.heart.copy()
        heart.points = b.centre + (np.asarray(b.heart.points) - b.centre) * key
        weights = ecg.twelve_lead_weights(ecg.pseudo_ecg_weights(heart, b.electrodes))
        scaled = _Scaled(heart=heart, weights=weights, anatomy=self.anatomy_at(key))
        self._scaled[key] = scaled
        while len(self._scaled) > self._cache_size:
            self._scaled.popitem(last=False)
        return scaled

    # ---- evaluation ----------------------------------------------------------------------------

    def parameters(self, values: Mapping[str, float] | None = None) -> dict[str, float]:
        """`values` over the fixed parameters, validated against their admissible ranges."""
        p = dict(self.fixed)
        for k, v in (values or {}).items():
            _check_names([k])
            p[k] = _check_value(k, v)
        return p

    def run(self, values: Mapping[str, float] | None = None) -> TwinResult:
        """Evaluate one twin: its ECG, activation and features (``NaN`` where not measurable)."""
        from . import ecg, ep

        t0 = time.perf_counter()
        p = self.parameters(values)
        sc = self._scaled_anatomy(p["scale"])
        b = self._base_anatomy()
        heart = sc.heart
        region = np.asarray(b.heart.region).copy()
        if p["fast_layer_depth"] > 0:
            region[b.tet_transmural < p["fast_layer_depth"]] = FAST_LAYER_REGION
        heart.region = region
        offsets = {"lv_septal": 0.0, "lv_anterior": p["lv_anterior_delay_ms"],
                   "lv_posterior": p["lv_posterior_delay_ms"], "rv_septal": p["rv_delay_ms"],
                   "rv_free_wall": p["rv_delay_ms"]}
        t_first = min(offsets[n] for n in b.root_nodes)
        roots = [{"node": node, "time_ms": offsets[name] - t_first, "name": name}
                 for name, node in b.root_nodes.items()]
        cross = p["cv_cross_mm_per_ms"]
        v = p["fast_layer_mm_per_ms"]
        apd, grad, ab = p["apd_ms"], p["apd_gradient_ms"], p["apd_apicobasal_ms"]
        if apd - (abs(grad) + abs(ab)) / 2 < 80:
            raise ValueError("apd_ms - (|apd_gradient_ms| + |apd_apicobasal_ms|) / 2 must be at least 80 ms, "
                             f"found {apd - (abs(grad) + abs(ab)) / 2:g}")
        # APD linear in the transmural and apicobasal coordinates, centred on apd_ms
        heart.point_data["twin_apd_ms"] = (apd + grad * (0.5 - b.node_transmural)
                                           + ab * (0.5 - b.node_apicobasal))
        options: dict[str, Any] = {
            "model": "reaction-eikonal",
            "velocity": {"fibre": p["cv_fibre_mm_per_ms"], "sheet": cross, "normal": cross},
            "region_velocity": {str(FAST_LAYER_REGION): {"fibre": v, "sheet": v, "normal": v}},
            "roots": roots, "t_end_ms": self.duration_ms, "threads": self.threads,
            "template": {"apd_ms": apd}, "apd_field": "twin_apd_ms",
        }
        solver = ep.make_solver(heart, options)
        act = np.asarray(solver.result().activation_ms)
        times = np.arange(0.0, self.duration_ms + 1e-9, self.sample_ms)
        signals = sc.weights.apply(times, solver)  # fused: no (times x nodes) Vm array
        raw = ecg.features(signals, filter=False, rr_ms=self.rr_ms)
        raw.pop("beat", None)
        feats = self._flatten(raw, act)
        return TwinResult(parameters=p, features=feats, ecg=signals, activation_ms=act,
                          anatomy=dict(sc.anatomy), seconds=time.perf_counter() - t0, raw_features=raw)

    @staticmethod
    def _flatten(raw: Mapping[str, Any], act: np.ndarray) -> dict[str, float]:
        def num(x: Any) -> float:
            try:
                f = float(x)
            except (TypeError, ValueError):
                return float("nan")
            return f if math.isfinite(f) else float("nan")

        out = {k: num(raw.get(k)) for k in ("qrs_duration_ms", "qt_ms", "qtc_bazett_ms", "qtc_fridericia_ms",
                                            "axis_deg", "t_peak_ms", "qrs_onset_ms", "qrs_offset_ms")}
        finite = act[np.isfinite(act)]
        out["total_activation_ms"] = float(finite.max() - finite.min()) if finite.size else float("nan")
        out["unreached_nodes"] = float(act.size - finite.size)
        for lead, lf in (raw.get("leads") or {}).items():
            out[f"r_mv_{lead}"] = num(lf.get("r_amplitude_mv"))
            out[f"s_mv_{lead}"] = num(lf.get("s_amplitude_mv"))
            out[f"t_mv_{lead}"] = num(lf.get("t_amplitude_mv"))
            out[f"qrs_area_{lead}"] = num(lf.get("qrs_area_mv_ms"))
            r, s = out[f"r_mv_{lead}"], out[f"s_mv_{lead}"]
            # R / (R + |S|): QRS morphology without the amplitude scale, which the pseudo-ECG in
            # an infinite medium does not get right (no torso)
            out[f"rs_ratio_{lead}"] = r / (r + abs(s)) if r + abs(s) > 0 else float("nan")
            # T amplitude relative to the QRS's peak-to-peak amplitude (polarity and size of T)
            out[f"t_rel_{lead}"] = out[f"t_mv_{lead}"] / (r + abs(s)) if r + abs(s) > 0 else float("nan")
        return out

    def measured_features(self, signals: Any, **options: Any) -> dict[str, float]:
        """The features of a measured ECG (a Signals or a file), named as :meth:`run` names them
        (the median beat of a rhythm; ``total_activation_ms`` is NaN). `options` go to
        :func:`cardiotwin.ecg.features`."""
        from . import ecg

        raw = ecg.features(signals, **options)
        raw.pop("beat", None)
        return self._flatten(raw, np.array([]))

    def evaluate(self, values: Mapping[str, float] | None = None) -> dict[str, float]:
        """The features (all of them, not only :attr:`feature_names`) of one twin."""
        return self.run(values).features

    def simulate(self, X: Any, names: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Features of many parameter sets: `X` is (n, len(names)); returns (n, k) with the
        columns of :attr:`feature_names`. A parameter set that fails (out of range, solver
        error, ECG without a delineable QRS) gives a row of NaN and a :class:`TwinModelWarning`;
        single unmeasurable features are NaN."""
        names = list(names)
        _check_names(names)
        X = np.atleast_2d(np.asarray(X, dtype=float))
        if X.ndim != 2 or X.shape[1] != len(names):
            raise ValueError(f"X must be (n, {len(names)}) for names {names}, found shape {X.shape}")
        Y = np.full((X.shape[0], len(self.feature_names)), np.nan)
        order = np.argsort(X[:, names.index("scale")], kind="stable") if "scale" in names \
            else np.arange(X.shape[0])  # runs of one size reuse its ECG weights
        failed = 0
        for count, i in enumerate(order):
            try:
                f = self.run(dict(zip(names, X[i])), ).features
                row = np.array([f.get(n, np.nan) for n in self.feature_names])
                if not math.isfinite(f.get("qrs_duration_ms", float("nan"))):
                    raise RuntimeError("no QRS complex could be delineated in the simulated ECG")
                Y[i] = row
            except Exception as e:  # noqa: BLE001 - one failed twin must not stop the batch
                failed += 1
                warnings.warn(f"twin {i} ({dict(zip(names, X[i].round(4)))}) failed: "
                              f"{type(e).__name__}: {e}", TwinModelWarning, stacklevel=2)
            if progress and (count + 1) % 10 == 0:
                import sys

                print(f"simulate: {count + 1}/{X.shape[0]}", file=sys.stderr, flush=True)
        return Y

    __call__ = simulate
