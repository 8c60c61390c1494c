"""Emulators: designs of experiments, Gaussian-process and neural-network emulators, validation and
global sensitivity.

An emulator is a cheap statistical stand-in for the simulator: trained on a few hundred simulations
at parameter sets from a space-filling design, it predicts the outputs (ECG features such as QRS
duration and QT, or downsampled leads) at any other parameter set, with an uncertainty, in well
under a millisecond. That makes calibration (:mod:`cardiotwin.calibrate`) and Sobol sensitivity
analysis affordable.

- :func:`latin_hypercube`, :func:`sobol`: designs over named parameters with bounds, given as a
  dict ``{name: (lower, upper)}`` whose order is the column order;
- :class:`GaussianProcess`: the C++ Gaussian-process emulator (ARD squared-exponential or Matern
  5/2 kernel, constant or linear mean, hyperparameters by maximum marginal likelihood), one
  independent GP per output; save/load as JSON (also readable from C++);
- :class:`NeuralNetEmulator`: a small deep ensemble of PyTorch MLPs (torch imported lazily), saved
  as TorchScript (``.pt``) plus JSON metadata so that libtorch can run it from C++;
- :func:`validate`: R^2, RMSE and the coverage of 95 % predictive intervals on held-out runs;
- :func:`sobol_indices`: first-order and total Sobol indices of the emulator mean (Saltelli 2010
  and Jansen 1999 estimators);
- :func:`load`: either kind of emulator from its JSON file.

Example::

    from cardiotwin import emulate
    bounds = {"cv_fibre": (0.4, 0.8), "apd_scale": (0.8, 1.2)}
    X = emulate.latin_hypercube(100, bounds, seed=0)
    Y = run_simulations(X)                                  # (100, k)
    gp = emulate.GaussianProcess(kernel="matern52", seed=0).fit(X, Y, output_names=["qrs", "qt"])
    mean, var = gp.predict(X_new)
"""
from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Union

import numpy as np

from ._core import FileFormatError, FileIOError, InvalidInput, MissingComponent
from ._core import emulate as _em
from .io import _error

PathLike = Union[str, "os.PathLike[str]"]
BoundsLike = Union[Mapping[str, Sequence[float]], Sequence[Sequence[Any]]]

__all__ = [
    "GaussianProcess",
    "NeuralNetEmulator",
    "bounds_list",
    "default_gp_options",
    "l2_star_discrepancy",
    "latin_hypercube",
    "load",
    "scale_to_bounds",
    "scale_to_unit",
    "sobol",
    "sobol_indices",
    "sobol_max_dimension",
    "validate",
]

default_gp_options = _em.default_gp_options
sobol_max_dimension = _em.sobol_max_dimension
l2_star_discrepancy = _em.l2_star_discrepancy

_NN_FORMAT = "cardiotwin.emulate.NeuralNetEmulator"
_GP_FORMAT = "cardiotwin.emulate.GaussianProcess"


# ---- designs ------------------------------------------------------------------------------------

def bounds_list(bounds: BoundsLike) -> list[tuple[str, float, float]]:
    """``[(name, lower, upper), ...]`` from a dict ``{name: (lower, upper)}`` (order kept) or from
    such a list. Raises `InvalidInput` for a malformed entry, repeated names or ``lower >= upper``."""
    items: list[tuple[str, float, float]] = []
    if isinstance(bounds, Mapping):
        entries = [(name, *tuple(lh)) for name, lh in bounds.items()]
    else:
        entries = [tuple(e) for e in bounds]
    for i, e in enumerate(entries):
        if len(e) != 3:
            raise _error(InvalidInput, "bad parameter bounds", expected="name: (lower, upper)",
                         found=repr(e), field="bounds", element=i)
        try:
            items.append((str(e[0]), float(e[1]), float(e[2])))
        except (TypeError, ValueError):
            raise _error(InvalidInput, "bad parameter bounds", expected="numeric lower and upper bounds",
                         found=repr(e), field="bounds", element=i) from None
    _em.validate_bounds(items)
    return items


def _names(bounds: BoundsLike) -> list[str]:
    return [b[0] for b in bounds_list(bounds)]


def latin_hypercube(n: int, bounds: BoundsLike, seed: int = 0, maximin_candidates: int = 1) -> np.ndarray:
    """``(n, d)`` Latin hypercube within `bounds` (float64, the parameters' own units).

    Every parameter's range is cut into `n` equal strata holding one point each. With
    ``maximin_candidates > 1`` the most spread-out of that many hypercubes is returned."""
    return _em.latin_hypercube(int(n), bounds_list(bounds), int(seed), int(maximin_candidates))


def sobol(n: int, bounds: BoundsLike, seed: int = 0, scramble: bool = True, skip: int = 0) -> np.ndarray:
    """``(n, d)`` Sobol points within `bounds` (Joe & Kuo 2008 direction numbers, up to
    :func:`sobol_max_dimension` parameters). `scramble` applies a seeded linear matrix scramble
    and digital shift; use ``n`` a power of two for the best balance."""
    return _em.sobol(int(n), bounds_list(bounds), int(seed), bool(scramble), int(skip))


def scale_to_bounds(unit: np.ndarray, bounds: BoundsLike) -> np.ndarray:
    """Map unit-cube points to the bounds."""
    return _em.scale_to_bounds(np.asarray(unit, dtype=np.float64), bounds_list(bounds))


def scale_to_unit(x: np.ndarray, bounds: BoundsLike) -> np.ndarray:
    """Map points in the parameters' units to the unit cube."""
    return _em.scale_to_unit(np.asarray(x, dtype=np.float64), bounds_list(bounds))


# ---- shared helpers -----------------------------------------------------------------------------

def _as_inputs(x: Any, what: str = "X") -> tuple[np.ndarray, list[str] | None]:
    names = [str(c) for c in x.columns] if hasattr(x, "columns") else None
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise _error(InvalidInput, f"bad {what}", expected="a 2-D array (points, parameters)",
                     found=f"an array of shape {a.shape}", field=what)
    return np.ascontiguousarray(a), names


def _as_outputs(y: Any) -> tuple[np.ndarray, list[str] | None, bool]:
    names = [str(c) for c in y.columns] if hasattr(y, "columns") else None
    if names is None and hasattr(y, "name") and getattr(y, "ndim", 0) == 1 and y.name is not None:
        names = [str(y.name)]
    a = np.asarray(y, dtype=np.float64)
    one_d = a.ndim == 1
    if one_d:
        a = a[:, None]
    if a.ndim != 2:
        raise _error(InvalidInput, "bad Y", expected="a 1-D or 2-D array (points[, outputs])",
                     found=f"an array of shape {a.shape}", field="Y")
    return np.ascontiguousarray(a), names, one_d


def _write_text(path: PathLike, text: str) -> None:
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


# ---- Gaussian process ---------------------------------------------------------------------------

class GaussianProcess:
    """Gaussian-process emulator (C++), one independent GP per output.

    Parameters: `kernel` ``"matern52"`` or ``"squared_exponential"``; `mean` ``"linear"`` or
    ``"constant"``; `noise_variance` ``None`` to fit the noise (nugget) or a number to hold it
    fixed (relative to the standardised output, variance 1); `restarts` random starts of the
    marginal-likelihood optimisation besides the default one; `seed` seeds them; `threads` OpenMP
    threads (0: all). Further C++ options (see :func:`default_gp_options`) via `options`.
    """

    def __init__(self, kernel: str = "matern52", mean: str = "linear", *, noise_variance: float | None = None,
                 restarts: int = 2, seed: int = 0, threads: int = 0, options: Mapping[str, Any] | None = None):
        opts: dict[str, Any] = {"kernel": kernel, "mean": mean, "restarts": int(restarts), "seed": int(seed),
                                "threads": int(threads)}
        if noise_variance is not None:
            opts.update(fit_noise=False, noise_variance=float(noise_variance))
        opts.update(dict(options or {}))
        self._gp = _em.GaussianProcess(opts)
        self._one_d = False

    # -- fitting and prediction
    def fit(self, X: Any, Y: Any, input_names: Sequence[str] | None = None,
            output_names: Sequence[str] | None = None) -> GaussianProcess:
        """Fit to `X` ``(n, d)`` and `Y` ``(n,)`` or ``(n, k)``; returns self. Names default to
        DataFrame columns, else ``x0, x1, ...`` / ``y0, ...``. Raises `InvalidInput` for NaN (drop
        failed runs first), mismatched shapes or fewer than ``d + 1`` points."""
        x, xnames = _as_inputs(X)
        y, ynames, one_d = _as_outputs(Y)
        self._gp.fit(x, y, list(input_names or xnames or []), list(output_names or ynames or []))
        self._one_d = one_d
        return self

    def predict(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, variance)`` at `X` ``(m, d)``: each ``(m, k)``, or ``(m,)`` when fitted with 1-D
        `Y`. The variance is that of the emulated function (add :attr:`noise_variance` for a new
        noisy observation)."""
        x, _ = _as_inputs(X)
        mean, var = self._gp.predict(x)
        if self._one_d:
            return mean[:, 0], var[:, 0]
        return mean, var

    def predict_mean(self, X: Any) -> np.ndarray:
        """Predictive mean only (cheaper)."""
        x, _ = _as_inputs(X)
        mean = self._gp.predict_mean(x)
        return mean[:, 0] if self._one_d else mean

    __call__ = predict_mean

    # -- introspection
    @property
    def input_names(self) -> list[str]:
        return list(self._gp.input_names)

    @property
    def output_names(self) -> list[str]:
        return list(self._gp.output_names)

    @property
    def fitted(self) -> bool:
        return bool(self._gp.fitted)

    @property
    def options(self) -> dict[str, Any]:
        return dict(self._gp.options)

    @property
    def noise_variance(self) -> np.ndarray:
        """Fitted observation-noise variance per output, in the outputs' units squared."""
        return np.asarray(self._gp.noise_variance)

    def hyperparameters(self, output: int | str = 0) -> dict[str, Any]:
        """Length scales (unit cube and parameter units), signal and noise variance (standardised),
        jitter and log marginal likelihood of one output (index or name)."""
        if isinstance(output, str):
            output = self.output_names.index(output)
        return dict(self._gp.hyperparameters(int(output)))

    def training_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The training inputs and outputs in their own units."""
        return self._gp.training_inputs(), self._gp.training_outputs()

    @property
    def core(self) -> Any:
        """The underlying ``cardiotwin._core.emulate.GaussianProcess``."""
        return self._gp

    # -- files
    def to_json(self) -> str:
        d = json.loads(self._gp.to_json())
        d["python"] = {"y_ndim": 1 if self._one_d else 2}
        return json.dumps(d)

    @classmethod
    def from_json(cls, text: str) -> GaussianProcess:
        d = json.loads(text)
        self = cls.__new__(cls)
        self._gp = _em.GaussianProcess.from_json(text)
        self._one_d = isinstance(d, dict) and d.get("python", {}).get("y_ndim") == 1
        return self

    def save(self, path: PathLike) -> None:
        """Write the emulator as JSON (format ``cardiotwin.emulate.GaussianProcess``, version 1;
        C++ ``GaussianProcess::load`` reads it). Loading gives bit-identical predictions."""
        _write_text(path, self.to_json())

    @classmethod
    def load(cls, path: PathLike) -> GaussianProcess:
        em = load(path)
        if not isinstance(em, GaussianProcess):
            raise _error(FileFormatError, "not a Gaussian-process emulator", expected=_GP_FORMAT,
                         found=_NN_FORMAT, file=path, field="format")
        return em

    def __getstate__(self) -> dict[str, Any]:  # pickling (e.g. to Dask workers) through JSON
        return {"json": self.to_json() if self.fitted else None, "options": self.options}

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state["json"] is not None:
            other = GaussianProcess.from_json(state["json"])
            self._gp, self._one_d = other._gp, other._one_d
        else:
            self._gp, self._one_d = _em.GaussianProcess(state["options"]), False

    def __repr__(self) -> str:
        return repr(self._gp)


# ---- neural network -----------------------------------------------------------------------------

def _torch() -> Any:
    try:
        import torch
    except ImportError as e:
        raise _error(MissingComponent, f"NeuralNetEmulator needs PyTorch, which is not installed ({e})",
                     expected="the torch package (pip install torch)", found="no torch") from None
    return torch


def _ensemble_module(torch: Any, members: list[Any], x_lower: np.ndarray, x_scale: np.ndarray,
                     y_mean: np.ndarray, y_scale: np.ndarray, noise: np.ndarray) -> Any:
    """A module mapping physical inputs (m, d) to (mean, variance) (m, k) in physical units."""

    class Ensemble(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.members = torch.nn.ModuleList(members)
            self.register_buffer("x_lower", torch.as_tensor(x_lower, dtype=torch.float64))
            self.register_buffer("x_scale", torch.as_tensor(x_scale, dtype=torch.float64))
            self.register_buffer("y_mean", torch.as_tensor(y_mean, dtype=torch.float64))
            self.register_buffer("y_scale", torch.as_tensor(y_scale, dtype=torch.float64))
            self.register_buffer("noise", torch.as_tensor(noise, dtype=torch.float64))

        def forward(self, x: Any) -> tuple[Any, Any]:
            u = ((x.to(torch.float64) - self.x_lower) / self.x_scale).to(torch.float32)
            outs = torch.stack([m(u) for m in self.members]).to(torch.float64)
            mean = outs.mean(0)
            var = outs.var(0, unbiased=False) + self.noise
            return self.y_mean + self.y_scale * mean, var * self.y_scale * self.y_scale

    return Ensemble()


class NeuralNetEmulator:
    """A deep ensemble (Lakshminarayanan et al. 2017) of small PyTorch MLPs.

    Each of `ensemble` members (different seeded initialisations) is a ``tanh`` MLP with the
    given `hidden` widths, trained full-batch with Adam on the mean squared error of standardised
    outputs (inputs scaled to the unit cube). The predictive mean is the members' mean; the variance
    is their spread plus the training residual variance. Training uses `threads` torch threads (1 is
    fastest for small networks; 0 keeps torch's setting), restored afterwards. Needs ``torch`` (imported lazily;
    `MissingComponent` without it). Saved as TorchScript (``<name>.pt``, runnable from libtorch:
    input ``(m, d)`` float64 in parameter units, output ``(mean, variance)``) plus JSON metadata.
    """

    def __init__(self, hidden: Sequence[int] = (64, 64), epochs: int = 2000, lr: float = 3e-3,
                 weight_decay: float = 1e-6, ensemble: int = 5, seed: int = 0, threads: int = 1):
        _torch()
        self.threads = int(threads)
        self.hidden = tuple(int(h) for h in hidden)
        self.epochs, self.lr, self.weight_decay = int(epochs), float(lr), float(weight_decay)
        self.ensemble, self.seed = int(ensemble), int(seed)
        if self.ensemble < 1 or self.epochs < 1 or not self.hidden or min(self.hidden) < 1:
            raise _error(InvalidInput, "bad neural-network emulator options",
                         expected="ensemble >= 1, epochs >= 1, hidden widths >= 1",
                         found=f"ensemble {ensemble}, epochs {epochs}, hidden {hidden}")
        self._module: Any = None
        self._one_d = False
        self.input_names: list[str] = []
        self.output_names: list[str] = []

    def fit(self, X: Any, Y: Any, input_names: Sequence[str] | None = None,
            output_names: Sequence[str] | None = None) -> NeuralNetEmulator:
        torch = _torch()
        x, xnames = _as_inputs(X)
        y, ynames, one_d = _as_outputs(Y)
        n, d = x.shape
        if y.shape[0] != n:
            raise _error(InvalidInput, "training inputs and outputs disagree", expected=f"{n} rows of Y",
                         found=f"{y.shape[0]} rows", field="Y")
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise _error(InvalidInput, "non-finite training data", expected="finite numbers (drop failed runs first)",
                         found="NaN or infinity", field="X/Y")
        if n < d + 1:
            raise _error(InvalidInput, "too few training points", expected=f">= #inputs + 1 = {d + 1} rows",
                         found=f"{n} rows", field="X")
        x_lower = x.min(0)
        x_scale = x.max(0) - x_lower
        if np.any(x_scale <= 0):
            raise _error(InvalidInput, "constant training input", expected="at least two distinct values",
                         found=f"column {int(np.argmax(x_scale <= 0))} constant", field="X")
        y_mean = y.mean(0)
        y_scale = y.std(0)
        y_scale[~(y_scale > 0)] = 1.0
        u = torch.as_tensor((x - x_lower) / x_scale, dtype=torch.float32)
        t = torch.as_tensor((y - y_mean) / y_scale, dtype=torch.float32)
        members = []
        residual = np.zeros(y.shape[1])
        # Small networks train fastest on one thread (thread synchronisation dominates otherwise).
        previous_threads = torch.get_num_threads()
        if self.threads > 0:
            torch.set_num_threads(self.threads)
        try:
            self._train(torch, members, residual, u, t, d, y.shape[1])
        finally:
            torch.set_num_threads(previous_threads)
        module = _ensemble_module(torch, members, x_lower, x_scale, y_mean, y_scale, residual)
        module.eval()
        with warnings.catch_warnings():  # TorchScript is deprecated in torch 2.x but libtorch loads it
            warnings.simplefilter("ignore", DeprecationWarning)
            self._module = torch.jit.trace(module, torch.as_tensor(x[: min(n, 4)], dtype=torch.float64))
        self._one_d = one_d
        self.input_names = list(input_names or xnames or [f"x{i}" for i in range(d)])
        self.output_names = list(output_names or ynames or [f"y{i}" for i in range(y.shape[1])])
        if len(self.input_names) != d or len(self.output_names) != y.shape[1]:
            raise _error(InvalidInput, "wrong number of names", expected=f"{d} input and {y.shape[1]} output names",
                         found=f"{len(self.input_names)} and {len(self.output_names)}")
        return self

    def _train(self, torch: Any, members: list[Any], residual: np.ndarray, u: Any, t: Any, d: int,
               k: int) -> None:
        """Train the ensemble members on unit-cube inputs `u` and standardised outputs `t`."""
        for member in range(self.ensemble):
            torch.manual_seed(self.seed * 1000 + member)
            layers: list[Any] = []
            width = d
            for h in self.hidden:
                layers += [torch.nn.Linear(width, h), torch.nn.Tanh()]
                width = h
            layers.append(torch.nn.Linear(width, k))
            net = torch.nn.Sequential(*layers)
            opt = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.epochs)
            for _ in range(self.epochs):
                opt.zero_grad()
                loss = torch.mean((net(u) - t) ** 2)
                loss.backward()
                opt.step()
                sched.step()
            net.eval()
            with torch.no_grad():
                residual += ((net(u) - t) ** 2).mean(0).double().numpy() / self.ensemble
            members.append(net)

    @property
    def fitted(self) -> bool:
        return self._module is not None

    def predict(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, variance)``, each ``(m, k)`` (``(m,)`` when fitted with 1-D `Y`)."""
        torch = _torch()
        if self._module is None:
            raise _error(InvalidInput, "emulator not fitted", expected="fit() or load() first",
                         found="an empty emulator")
        x, _ = _as_inputs(X)
        if x.shape[1] != len(self.input_names):
            raise _error(InvalidInput, "wrong number of inputs", expected=f"{len(self.input_names)} columns",
                         found=f"{x.shape[1]} columns", field="X")
        with torch.no_grad():
            mean, var = self._module(torch.as_tensor(x, dtype=torch.float64))
        mean, var = mean.numpy(), var.numpy()
        return (mean[:, 0], var[:, 0]) if self._one_d else (mean, var)

    def predict_mean(self, X: Any) -> np.ndarray:
        return self.predict(X)[0]

    __call__ = predict_mean

    def save(self, path: PathLike) -> None:
        """Write ``path`` (JSON metadata) and the TorchScript module beside it (same name, ``.pt``)."""
        if self._module is None:
            raise _error(InvalidInput, "emulator not fitted", expected="fit() first", found="an empty emulator")
        path = os.fspath(path)
        pt = os.path.splitext(path)[0] + ".pt"
        self._module.save(pt)
        meta = {"format": _NN_FORMAT, "version": 1, "torchscript": os.path.basename(pt),
                "input_names": self.input_names, "output_names": self.output_names,
                "hidden": list(self.hidden), "epochs": self.epochs, "lr": self.lr,
                "weight_decay": self.weight_decay, "ensemble": self.ensemble, "seed": self.seed,
                "python": {"y_ndim": 1 if self._one_d else 2},
                "io": "forward(x: (m, d) float64 in parameter units) -> (mean (m, k), variance (m, k))"}
        _write_text(path, json.dumps(meta, indent=1))

    @classmethod
    def _from_metadata(cls, meta: dict[str, Any], path: str) -> NeuralNetEmulator:
        torch = _torch()
        try:
            self = cls(hidden=meta["hidden"], epochs=meta["epochs"], lr=meta["lr"],
                       weight_decay=meta["weight_decay"], ensemble=meta["ensemble"], seed=meta["seed"])
            self.input_names = list(meta["input_names"])
            self.output_names = list(meta["output_names"])
            pt = os.path.join(os.path.dirname(os.path.abspath(path)), meta["torchscript"])
        except (KeyError, TypeError) as e:
            raise _error(FileFormatError, "corrupt neural-network emulator file",
                         expected="the fields written by NeuralNetEmulator.save", found=f"missing {e}",
                         file=path) from None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                self._module = torch.jit.load(pt)
        except (RuntimeError, ValueError, OSError) as e:  # missing or corrupt TorchScript file
            raise _error(FileFormatError, f"cannot load the TorchScript module {pt}: {e}",
                         expected="a TorchScript file written by NeuralNetEmulator.save", found=str(e),
                         file=pt) from None
        self._one_d = meta.get("python", {}).get("y_ndim") == 1
        return self

    @classmethod
    def load(cls, path: PathLike) -> NeuralNetEmulator:
        em = load(path)
        if not isinstance(em, NeuralNetEmulator):
            raise _error(FileFormatError, "not a neural-network emulator", expected=_NN_FORMAT,
                         found=_GP_FORMAT, file=path, field="format")
        return em


# ---- files --------------------------------------------------------------------------------------

def load(path: PathLike) -> GaussianProcess | NeuralNetEmulator:
    """An emulator saved by :meth:`GaussianProcess.save` or :meth:`NeuralNetEmulator.save`.
    Raises `FileIOError` (unreadable) or `FileFormatError` (not JSON, another format, corrupt)."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        cls = FileIOError if isinstance(e, OSError) else FileFormatError
        raise _error(cls, f"cannot read emulator file {path}: {e}", expected="a readable JSON file",
                     found=str(e), file=path) from None
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as e:
        raise _error(FileFormatError, f"emulator file is not valid JSON: {e.msg} (line {e.lineno})",
                     expected="a JSON file written by an emulator's save()", found=f"{e.msg}", file=path) from None
    fmt = meta.get("format") if isinstance(meta, dict) else None
    if fmt == _NN_FORMAT:
        return NeuralNetEmulator._from_metadata(meta, path)
    if fmt != _GP_FORMAT:
        raise _error(FileFormatError, "not a cardiotwin emulator file", expected=f"format {_GP_FORMAT} or {_NN_FORMAT}",
                     found=repr(fmt) if fmt is not None else "no format field", file=path, field="format")
    try:
        return GaussianProcess.from_json(text)
    except FileFormatError as e:
        raise _error(FileFormatError, f"{path}: {e}", expected=getattr(e, "expected", ""),
                     found=getattr(e, "found", ""), file=path, field=getattr(e, "field", "")) from None


# ---- validation and sensitivity -----------------------------------------------------------------

def _predict2d(em: Any, x: np.ndarray, variance: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    if not variance and hasattr(em, "predict_mean"):
        m = np.asarray(em.predict_mean(x), dtype=np.float64)
        return m.reshape(len(x), -1), None
    m, v = em.predict(x)
    m = np.asarray(m, dtype=np.float64).reshape(len(x), -1)
    return m, np.asarray(v, dtype=np.float64).reshape(len(x), -1)


def validate(em: Any, X_test: Any, Y_test: Any, include_noise: bool = False) -> dict[str, Any]:
    """Held-out validation: per output ``r2`` (1 - SS_res / SS_tot), ``rmse``, ``coverage_95``
    (fraction of test outputs within mean +- 1.96 sd), ``mean_std_error`` (mean standardised error,
    ~0) and ``std_std_error`` (~1 for calibrated variances), as arrays ``(k,)``; plus
    ``output_names`` and ``n``. Rows of `Y_test` with NaN are ignored. With `include_noise` (for
    a stochastic simulator) the emulator's fitted noise variance is added to the predictive
    variance, since each test run carries its own noise."""
    x, _ = _as_inputs(X_test, "X_test")
    y, _, _ = _as_outputs(Y_test)
    if y.shape[0] != x.shape[0]:
        raise _error(InvalidInput, "test inputs and outputs disagree", expected=f"{x.shape[0]} rows of Y_test",
                     found=f"{y.shape[0]} rows", field="Y_test")
    ok = np.isfinite(y).all(1)
    x, y = x[ok], y[ok]
    mean, var = _predict2d(em, x)
    assert var is not None
    if include_noise and hasattr(em, "noise_variance"):
        var = var + np.asarray(em.noise_variance, dtype=np.float64).reshape(1, -1)
    err = y - mean
    sd = np.sqrt(np.maximum(var, 1e-300))
    ss_tot = ((y - y.mean(0)) ** 2).sum(0)
    z = err / sd
    names = getattr(em, "output_names", None) or [f"y{i}" for i in range(y.shape[1])]
    return {
        "r2": 1 - (err ** 2).sum(0) / np.where(ss_tot > 0, ss_tot, np.nan),
        "rmse": np.sqrt((err ** 2).mean(0)),
        "coverage_95": (np.abs(err) <= 1.959963984540054 * sd).mean(0),
        "mean_std_error": z.mean(0),
        "std_std_error": z.std(0),
        "output_names": list(names),
        "n": len(y),
    }


def sobol_indices(em: Any, bounds: BoundsLike, n: int = 4096, seed: int = 0) -> dict[str, Any]:
    """First-order and total Sobol indices of the emulator mean over uniform `bounds`.

    Two independent ``(n, d)`` samples A and B (one scrambled Sobol design in 2d dimensions, or a
    Latin hypercube beyond its dimension limit) and the d matrices AB_i (A with column i from B):
    ``n (d + 2)`` emulator evaluations. First order (Saltelli et al. 2010)
    ``S_i = mean(f(B) (f(AB_i) - f(A))) / V``, total (Jansen 1999)
    ``ST_i = mean((f(A) - f(AB_i))^2) / (2 V)``, V the variance of f over A and B.
    Returns ``first`` and ``total`` ``(d, k)``, ``names`` (parameters), ``output_names`` and
    ``variance`` ``(k,)``."""
    blist = bounds_list(bounds)
    d = len(blist)
    n = int(n)
    if n < 2:
        raise _error(InvalidInput, "too few samples", expected="n >= 2", found=str(n), field="n")
    doubled = [(f"{name}#{r}", lo, hi) for r in range(2) for name, lo, hi in blist]
    if 2 * d <= sobol_max_dimension():
        ab = _em.sobol(n, doubled, int(seed), True, 0)
    else:
        ab = _em.latin_hypercube(n, doubled, int(seed), 1)
    a, b = ab[:, :d], ab[:, d:]
    xs = [a, b] + [np.where(np.arange(d) == i, b, a) for i in range(d)]
    f_all, _ = _predict2d(em, np.ascontiguousarray(np.vstack(xs)), variance=False)
    f = f_all.reshape(d + 2, n, -1)
    fa, fb, fab = f[0], f[1], f[2:]
    var = np.concatenate([fa, fb]).var(0)
    safe = np.where(var > 0, var, np.nan)
    first = (fb[None] * (fab - fa[None])).mean(1) / safe
    total = 0.5 * ((fa[None] - fab) ** 2).mean(1) / safe
    names = getattr(em, "output_names", None) or [f"y{i}" for i in range(f.shape[2])]
    return {"first": first, "total": total, "names": [b_[0] for b_ in blist], "output_names": list(names),
            "variance": var}
