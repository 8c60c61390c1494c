"""``cardiotwin.Twin``: the twin pipeline driven step by step from a notebook.

A :class:`Twin` is a config plus an output folder. :meth:`Twin.run` runs (or resumes) the stages
of :mod:`cardiotwin.pipeline` up to the one you name; the properties read what the stages wrote,
and the ``plot_*`` methods draw it::

    import cardiotwin as ct
    twin = ct.Twin(image="scan.nii.gz", outdir="twin", mesh={"size_mm": 2.0})
    twin.run(until="mesh").plot_segmentation()
    twin.run()                       # the remaining stages; finished ones are skipped
    twin.plot_activation(); twin.plot_ecg()
    twin.summary["ecg"]["qrs_duration_ms"]

In Jupyter a twin shows itself as a table of its stages and key numbers.
"""
from __future__ import annotations

import copy
import html
import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping

from . import pipeline


def _update(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _update(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


class Twin:
    """A cardiac digital twin in a folder.

    Parameters
    ----------
    config:
        A twin config (dict or JSON file, see :func:`cardiotwin.pipeline.default_config`); may be
        omitted when an input is given by keyword.
    outdir:
        Folder for every output (created if missing); reopening a folder continues its twin.
    image, labels, mesh, ecg:
        Inputs (paths), overriding the config's ``input`` section. A dict for `mesh` or `ecg`
        sets the options of that section instead (``mesh={"size_mm": 3.0}``).
    log:
        Called with each progress message (default: printed).
    **options:
        Config sections to override, e.g. ``mesh={"size_mm": 3.0}``.
    """

    def __init__(self, config: Mapping[str, Any] | str | os.PathLike | None = None,
                 outdir: str | os.PathLike = "twin", *, image: str | None = None, labels: str | None = None,
                 mesh: str | Mapping[str, Any] | None = None, ecg: str | Mapping[str, Any] | None = None,
                 log: Callable[[str], None] | None = print, **options: Any):
        base_dir = None
        if config is None:
            cfg: dict[str, Any] = {}
        elif isinstance(config, Mapping):
            cfg = copy.deepcopy(dict(config))
        else:
            cfg = pipeline.read_json_object(config, "twin config")
            base_dir = str(Path(config).parent)
        for key, value in (("mesh", mesh), ("ecg", ecg)):  # a dict: that section's options
            if isinstance(value, Mapping):
                options[key] = value
        given = {k: os.fspath(v) for k, v in (("image", image), ("labels", labels), ("mesh", mesh), ("ecg", ecg))
                 if v is not None and not isinstance(v, Mapping)}
        if given:
            cfg.setdefault("input", {})
            if {"image", "labels", "mesh"} & given.keys():  # a new input replaces the config's
                for k in ("image", "labels", "mesh"):
                    cfg["input"].pop(k, None)
            cfg["input"].update(given)
        _update(cfg, options)
        self.config: dict[str, Any] = pipeline.load_config(cfg, base_dir=base_dir)
        self.outdir = Path(outdir)
        self.log = log or (lambda msg: None)
        self._summary: dict[str, Any] | None = None

    # ---- running -------------------------------------------------------------------------------
    def run(self, until: str | None = None) -> "Twin":
        """Run the stages up to `until` (default: all, see :data:`cardiotwin.pipeline.STAGES`);
        stages already done with the same options are skipped. Returns the twin."""
        self._summary = pipeline.run_twin(self.config, self.outdir, log=self.log, until=until)
        return self

    @property
    def stages(self) -> dict[str, Any]:
        """What each finished stage recorded (seconds, files, key numbers), from ``stages.json``."""
        path = self.outdir / "stages.json"
        return json.loads(path.read_text()) if path.exists() else {}

    @property
    def summary(self) -> dict[str, Any]:
        """The summary of the last run (``summary.json``)."""
        if self._summary is None:
            path = self.outdir / "summary.json"
            if not path.exists():
                raise RuntimeError(f"the twin in {self.outdir} has not run yet: call run()")
            self._summary = json.loads(path.read_text())
        return self._summary

    def _need(self, name: str, stage: str) -> Path:
        path = self.outdir / name
        if not path.exists():
            raise RuntimeError(f"{name} is missing in {self.outdir}: run the '{stage}' stage first "
                               f"(twin.run(until='{stage}'))")
        return path

    # ---- results -------------------------------------------------------------------------------
    @property
    def labels(self) -> Any:
        """The label map the mesh was made from (segmented, or the input's)."""
        from . import io

        given = self.config["input"]["labels"]
        return io.read_image(given if given else self._need("labels.nii.gz", "segment"), dtype="uint8")

    @property
    def heart(self) -> Any:
        """The heart mesh with coordinates and fibres, and activation and repolarisation times
        (``point_data``) once the activation stage has run."""
        from . import io

        act = self.outdir / "activation.vtu"
        return io.read_mesh(act if act.exists() else self._need("heart.vtu", "anatomy"))

    @property
    def ecg(self) -> Any:
        """The simulated 12-lead ECG (:class:`cardiotwin.Signals`)."""
        from . import ecg

        return ecg.read_ecg(self._need("ecg.csv", "ecg"))

    @property
    def features(self) -> dict[str, Any]:
        """ECG features of the twin (and of the measured ECG, with their comparison, when given)."""
        return json.loads(self._need("ecg_features.json", "ecg").read_text())

    # ---- pictures ------------------------------------------------------------------------------
    def plot_segmentation(self, max_slices: int = 12) -> Any:
        """The label boundaries over the image, slice by slice (needs an image input)."""
        import matplotlib.pyplot as plt

        from . import io, segment

        image = self.config["input"]["image"]
        if image is None:
            raise RuntimeError("this twin has no image input to draw the labels on")
        tmp = self.outdir / ".plot_segmentation.png"
        segment.overlay_png(io.read_image(image), self.labels, tmp, max_slices=max_slices)
        picture = plt.imread(tmp)
        tmp.unlink()
        fig, ax = plt.subplots(figsize=(10, 10 * picture.shape[0] / picture.shape[1]))
        ax.imshow(picture)
        ax.axis("off")
        return ax

    def plot_activation(self, quantity: str = "activation", **kwargs: Any) -> Any:
        """Activation (or ``"repolarisation"``) times on the heart's surface (see
        :func:`cardiotwin.ep.plot_activation` for the keywords)."""
        from . import ep

        heart = self.heart
        key = {"activation": "activation_ms", "repolarisation": "repolarisation_ms"}.get(quantity)
        if key is None or key not in heart.point_data:
            raise RuntimeError(f"no {quantity} times yet: run the 'activation' stage first")
        kwargs.setdefault("title", f"{quantity} time (ms)")
        return ep.plot_activation(heart, heart.point_data[key].ravel(), **kwargs)

    def plot_ecg(self, **kwargs: Any) -> Any:
        """The 12-lead ECG on ECG paper, beside the measured one when the twin has it."""
        from . import ecg

        ecgs, labels = [self.ecg], ["twin"]
        if self.config["input"]["ecg"]:
            ecgs.append(ecg.read_ecg(self.config["input"]["ecg"]))
            labels.append("measured")
        return ecg.plot_12lead(ecgs, labels, **kwargs)

    # ---- display -------------------------------------------------------------------------------
    def __repr__(self) -> str:
        done = ", ".join(self.stages) or "nothing yet"
        return f"Twin({self.outdir}, done: {done})"

    def _repr_html_(self) -> str:
        rows = []
        for name in pipeline.STAGES:
            s = self.stages.get(name)
            if s is None:
                rows.append(f"<tr><td>{name}</td><td>–</td><td></td></tr>")
                continue
            info = s.get("info", {})
            keys = [k for k in ("volumes_ml", "points", "volume_ml", "total_activation_ms", "qrs_duration_ms",
                                "qt_ms") if k in info]
            shown = "; ".join(f"{k} = {info[k] if not isinstance(info[k], float) else round(info[k], 1)}"
                              for k in keys)
            rows.append(f"<tr><td>{name}</td><td>{s.get('seconds', 0):.1f} s</td><td>{html.escape(shown)}</td></tr>")
        return (f"<b>Twin</b> in <code>{html.escape(str(self.outdir))}</code>"
                "<table><tr><th>stage</th><th>time</th><th>results</th></tr>" + "".join(rows) + "</table>")


__all__ = ["Twin"]
