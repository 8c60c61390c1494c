"""Segmentation of cardiac images with TorchScript models (the libtorch component ``segment``).

``segment(image)`` runs the bundled model (:func:`default_model`, a 2-D U-Net trained on three
Sunnybrook short-axis cine MRI cases: LV blood pool 1, LV myocardium 2) and returns a
:class:`~cardiotwin.core.LabelMap` on the input image's geometry. Bring your own network with
``load_model(folder)``: a folder with ``model.pt`` (TorchScript) and ``metadata.json``
(see ``docs/segmentation.md``).

When cardiotwin was built without libtorch every function here raises
``cardiotwin.MissingComponent``. Lengths mm, volumes mL.
"""
from __future__ import annotations

import os
import warnings as _warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, Union

import numpy as _np

from . import _core
from .core import Image, LabelMap

PathLike = Union[str, "os.PathLike[str]"]

#: Folder of the model shipped inside the package.
DEFAULT_MODEL_DIR: Path = Path(__file__).resolve().parent / "models" / "sunnybrook_lv"

_s = _core.segment
has_torch: bool = bool(_core.has_torch)


class SegmentationWarning(UserWarning):
    """The segmentation is suspicious: empty, or a structure of the model was not found."""


def _require_torch() -> None:
    if not has_torch:
        from .io import _error

        raise _error(_core.MissingComponent,
                     "segmentation needs the libtorch component 'segment', which this build of "
                     "cardiotwin lacks: rebuild with -DCARDIOTWIN_WITH_TORCH=ON after "
                     "pip install torch==2.13.0",
                     expected="cardiotwin built with -DCARDIOTWIN_WITH_TORCH=ON "
                     "(pip install torch==2.13.0 before building)",
                     found="a build without it")


def load_model(path: PathLike) -> Any:
    """Load a segmentation model from a folder holding ``model.pt`` and ``metadata.json``."""
    _require_torch()
    return _s.Model.load(os.fspath(path))


@lru_cache(maxsize=1)
def default_model() -> Any:
    """The bundled Sunnybrook LV model (loaded once per process)."""
    return load_model(DEFAULT_MODEL_DIR)


def default_options() -> dict[str, Any]:
    """Default inference options (overlap, gaussian_sigma, mirror, largest_component, fill_holes,
    threads, batch)."""
    _require_torch()
    return dict(_s.default_options())


def _as_image(image: Any, spacing: Any = None) -> Image:
    if isinstance(image, LabelMap):
        image = Image(_np.asarray(image.array, dtype=_np.float32), image.spacing, image.origin,
                      image.direction)
    if isinstance(image, Image):
        return image
    if isinstance(image, (str, os.PathLike)):
        from .io import read_image

        return read_image(image, dtype="float32")
    a = _np.asarray(image)
    if a.ndim != 3:
        from .io import _error

        raise _error(_core.InvalidInput,
                     f"segmentation needs a 3-D image (nx, ny, nz); got a {a.ndim}-D array of shape "
                     f"{a.shape}. For a single 2-D slice pass array[:, :, None] with its spacing",
                     expected="a 3-D array", found=f"{a.ndim}-D {a.shape}", field="image")
    return Image(a.astype(_np.float32), spacing if spacing is not None else (1.0, 1.0, 1.0))


def segment_with_report(image: Any, model: Any = None, *, spacing: Any = None,
                        **options: Any) -> Any:
    """Like :func:`segment`, but returns the full ``SegmentResult`` (labels, voxel_counts,
    volumes_ml, warnings, empty)."""
    _require_torch()
    if model is None:
        model = default_model()
    elif isinstance(model, (str, os.PathLike)):
        model = load_model(model)
    result = model.segment(_as_image(image, spacing), options or None)
    for w in result.warnings:
        _warnings.warn(w, SegmentationWarning, stacklevel=3)
    return result


def segment(image: Any, model: Any = None, *, spacing: Any = None, **options: Any) -> LabelMap:
    """Segment `image` (an ``Image``, a path to NIfTI/DICOM, or a 3-D array with `spacing` in mm)
    with `model` (a loaded model, a model folder, or None for :func:`default_model`).

    Returns a ``LabelMap`` on the input geometry (values from the model's metadata; the default
    model: 1 LV blood pool, 2 LV myocardium). An empty result or a missing structure is reported
    with a :class:`SegmentationWarning`. `options` are passed to the C++ inference (e.g.
    ``mirror=False`` for 3x faster inference, ``threads=2``).
    """
    return segment_with_report(image, model, spacing=spacing, **options).labels


def volumes_ml(labels: LabelMap, model: Any = None) -> dict[str, float]:
    """Volume in mL of every non-background label of `model` (default model) in `labels`."""
    info = (default_model() if model is None else model).info
    a = _np.asarray(labels.array)
    voxel_ml = float(_np.prod(labels.spacing)) / 1000.0
    return {name: float((a == v).sum()) * voxel_ml for name, v in info["labels"].items() if v != 0}


def overlay_png(image: Any, labels: LabelMap, path: PathLike, *, max_slices: int = 16) -> str:
    """Write a PNG montage of the slices (along the axis of largest spacing) with the label
    boundaries drawn over the image, for checking a segmentation by eye. Needs matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    img = _as_image(image)
    a = _np.asarray(img.array, dtype=_np.float32)
    lab = _np.asarray(labels.array)
    axis = int(_np.argmax(_np.asarray(img.spacing) * (_np.asarray(a.shape) > 1)))
    a = _np.moveaxis(a, axis, 2)
    lab = _np.moveaxis(lab, axis, 2)
    nz = a.shape[2]
    ks = _np.unique(_np.linspace(0, nz - 1, min(nz, max_slices)).round().astype(int))
    cols = min(4, len(ks))
    rows = (len(ks) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3 * rows), squeeze=False)
    lo, hi = _np.percentile(a, [0.5, 99.5])
    colors = ["#ff3030", "#ffd000", "#30a0ff", "#30ff60", "#ff30ff"]
    for ax in axes.ravel():
        ax.axis("off")
    for n, k in enumerate(ks):
        ax = axes.ravel()[n]
        ax.imshow(a[:, :, k].T, cmap="gray", vmin=lo, vmax=hi, origin="upper")
        for c, v in enumerate(v for v in _np.unique(lab) if v != 0):
            m = (lab[:, :, k] == v).T.astype(float)
            if m.any():
                ax.contour(m, levels=[0.5], colors=colors[c % len(colors)], linewidths=0.8)
        ax.set_title(f"slice {k}", fontsize=8)
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=90)
    plt.close(fig)
    return os.fspath(path)


__all__ = [
    "DEFAULT_MODEL_DIR", "SegmentationWarning", "default_model", "default_options", "has_torch",
    "load_model", "overlay_png", "segment", "segment_with_report", "volumes_ml",
]
