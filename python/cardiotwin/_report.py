"""``report.html``: one self-contained page (pictures embedded) that shows a twin's outputs."""
from __future__ import annotations

import base64
import datetime as _dt
import html
import json
from pathlib import Path
from typing import Any, Mapping

from .ep import _atomic_write_text

_CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px;
       color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.1em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ddd; margin-top: 1.6em; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; border: 1px solid #eee; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { background: #f6f8fa; border-radius: 6px; padding: 8px 14px; min-width: 130px; }
.card .v { font-size: 1.4em; font-weight: 600; } .card .k { color: #666; font-size: 0.85em; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.warn { color: #a15c00; }
"""


def _img(path: Path, alt: str) -> str:
    if not path.exists():
        return f'<p class="warn">({html.escape(path.name)} was not produced)</p>'
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _fmt(v: Any, unit: str = "", digits: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}{unit}"
    return f"{v}{unit}"


def _card(label: str, value: str) -> str:
    return f'<div class="card"><div class="v">{html.escape(value)}</div><div class="k">{html.escape(label)}</div></div>'


def _table(rows: list[tuple[str, str]], head: tuple[str, str] | None = None) -> str:
    out = ["<table>"]
    if head:
        out.append(f"<tr><th>{html.escape(head[0])}</th><th>{html.escape(head[1])}</th></tr>")
    for k, v in rows:
        out.append(f'<tr><td>{html.escape(k)}</td><td class="num">{html.escape(v)}</td></tr>')
    out.append("</table>")
    return "\n".join(out)


def write_report(outdir: str | Path, summary: Mapping[str, Any]) -> str:
    """Write ``report.html`` into `outdir` from the pipeline's `summary` and the pictures the
    stages wrote (``overlay.png``, ``activation.png``, ``ecg.png``). Atomic; returns its path."""
    out = Path(outdir)
    cfg = summary.get("config", {})
    mesh = summary.get("mesh", {}) or {}
    act = summary.get("activation", {}) or {}
    ecg = summary.get("ecg", {}) or {}
    seg = summary.get("segment")
    inputs = cfg.get("input", {})
    source = inputs.get("image") or inputs.get("labels") or inputs.get("mesh") or "?"

    cards = [
        _card("myocardium", _fmt(mesh.get("volume_ml"), " mL")),
        _card("mesh nodes", f"{mesh.get('points', 0):,}"),
        _card("total activation", _fmt(act.get("total_activation_ms"), " ms")),
        _card("QRS", _fmt(ecg.get("qrs_duration_ms"), " ms")),
        _card("QT", _fmt(ecg.get("qt_ms"), " ms")),
        _card("QTc (Bazett)", _fmt(ecg.get("qtc_bazett_ms"), " ms")),
    ]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>cardiotwin report: {html.escape(out.name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Cardiac digital twin: {html.escape(out.name)}</h1>",
        f'<p class="sub">from <code>{html.escape(str(source))}</code> · cardiotwin '
        f'{html.escape(str(summary.get("cardiotwin", "")))} · '
        f'{_dt.datetime.now().strftime("%Y-%m-%d %H:%M")}</p>',
        f'<div class="cards">{"".join(cards)}</div>',
    ]
    if seg is not None or (out / "overlay.png").exists():
        parts.append("<h2>Segmentation</h2>")
        if seg is not None:
            vols = seg.get("volumes_ml", {})
            parts.append(_table([(k.replace("_", " "), _fmt(v, " mL")) for k, v in vols.items()],
                                ("structure", "volume")))
            for w in seg.get("warnings", []):
                parts.append(f'<p class="warn">warning: {html.escape(w)}</p>')
        parts.append("<p>Label boundaries over the image, slice by slice (check by eye).</p>")
        parts.append(_img(out / "overlay.png", "segmentation overlay"))

    parts.append("<h2>Mesh</h2>")
    parts.append(_table([
        ("nodes", f"{mesh.get('points', 0):,}"), ("tetrahedra", f"{mesh.get('tets', 0):,}"),
        ("myocardial volume", _fmt(mesh.get("volume_ml"), " mL")),
        ("smallest dihedral angle", _fmt(mesh.get("min_dihedral_deg"), " deg")),
        ("target element size", _fmt(cfg.get("mesh", {}).get("size_mm"), " mm")),
    ]))
    parts.append("<p>Files: <code>mesh.vtu</code> (tags), <code>heart.vtu</code> (ventricular coordinates and "
                 "fibres), <code>heart.stl</code> (surface for 3-D printing). Open the <code>.vtu</code> files "
                 "in ParaView.</p>")

    parts.append("<h2>Activation and repolarisation</h2>")
    a = cfg.get("activation", {})
    parts.append(_table([
        ("model", str(a.get("model"))),
        ("conduction velocity fibre / sheet / normal",
         " / ".join(_fmt(float(v), "", 2) for v in a.get("velocity_mm_per_ms", {}).values()) + " m/s"),
        ("fast sub-endocardial layer", _fmt((a.get("fast_layer") or {}).get("velocity_mm_per_ms"), " m/s", 2)),
        ("total activation time", _fmt(act.get("total_activation_ms"), " ms")),
        ("repolarisation", " – ".join(_fmt(v, " ms") for v in act.get("repolarisation_range_ms") or [])),
        ("root sites", ", ".join(str(r) for r in act.get("roots", []))),
        ("nodes never activated", str(act.get("unreached_nodes", "–"))),
    ]))
    parts.append(_img(out / "activation.png", "activation and repolarisation maps"))
    if (out / "vm" / "vm.pvd").exists():
        parts.append("<p>Transmembrane potential over time: open <code>vm/vm.pvd</code> in ParaView.</p>")

    parts.append("<h2>12-lead ECG</h2>")
    rows = [("QRS duration", _fmt(ecg.get("qrs_duration_ms"), " ms")), ("QT", _fmt(ecg.get("qt_ms"), " ms")),
            ("QTc (Bazett)", _fmt(ecg.get("qtc_bazett_ms"), " ms")), ("QRS axis", _fmt(ecg.get("axis_deg"), " deg"))]
    parts.append(_table(rows))
    comparison = ecg.get("comparison")
    if comparison:
        rows = [(lead, f"{_fmt(v.get('correlation'), '', 2)} / {_fmt(v.get('rmse_mv'), ' mV', 3)}")
                for lead, v in (comparison.get("leads") or {}).items()]
        parts.append("<p>Against the measured ECG's median beat, QRS onsets aligned (best shift "
                     f"{_fmt(comparison.get('shift_ms'), ' ms')}; mean correlation "
                     f"{_fmt(comparison.get('mean_correlation'), '', 2)}):</p>")
        parts.append(_table(rows, ("lead", "correlation / RMS difference")))
    parts.append(_img(out / "ecg.png", "12-lead ECG"))
    parts.append("<p>Pseudo-ECG of the heart in an infinite homogeneous medium, with electrodes placed from the "
                 "heart's principal axes; samples in <code>ecg.csv</code>, features in "
                 "<code>ecg_features.json</code>.</p>")

    seconds = summary.get("seconds", {}) or {}
    parts.append("<h2>Timings</h2>")
    parts.append(_table([(k, _fmt(v, " s", 2)) for k, v in seconds.items()] +
                        [("total", _fmt(float(sum(v for v in seconds.values() if v)), " s", 2))],
                        ("stage", "seconds (when it last ran)")))
    parts.append("<h2>Files</h2><ul>")
    for f in summary.get("files", []):
        parts.append(f'<li><a href="{html.escape(f)}">{html.escape(f)}</a></li>')
    parts.append("</ul>")
    parts.append("<h2>Options</h2><details><summary>the twin's full configuration</summary>"
                 f"<pre>{html.escape(json.dumps(cfg, indent=1))}</pre></details>")
    parts.append("<h2>How to cite</h2><p>The methods are described in the cardiotwin documentation "
                 "(<code>docs/</code>); cite the data you used (the bundled Sunnybrook images: Radau P. et al., "
                 "Evaluation Framework for Algorithms Segmenting Short Axis Cardiac MRI, The MIDAS Journal, 2009).</p>")
    parts.append("</body></html>\n")
    path = out / "report.html"
    _atomic_write_text(str(path), "\n".join(parts))
    return str(path)
