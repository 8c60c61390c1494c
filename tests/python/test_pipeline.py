"""The twin pipeline (cardiotwin.pipeline, 'cardiotwin run'): a real label map to a 12-lead ECG,
resumable stages, clear errors for bad configs."""

from __future__ import annotations

import json
import os

import pytest

import cardiotwin
from cardiotwin import cli, pipeline
from cardiotwin import ecg as ecg_module
from conftest import SUNNYBROOK_ED_LABELS

pytestmark = pytest.mark.skipif(not cardiotwin.has_cgal, reason="built without the CGAL component")


def _config(tmp_path, **overrides):
    cfg = {"input": {"labels": str(SUNNYBROOK_ED_LABELS)}, "mesh": {"size_mm": 3.0}}
    cfg.update(overrides)
    path = tmp_path / "twin.json"
    path.write_text(json.dumps(cfg))
    return path


def test_run_label_map_to_ecg_and_resume(tmp_path, capsys):
    cfg = _config(tmp_path)
    out = tmp_path / "out"
    assert cli.main(["run", str(cfg), "-o", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    for name in ("mesh.vtu", "mesh.surface.vtp", "heart.vtu", "activation.vtu", "ecg.csv", "ecg.png",
                 "ecg_features.json", "summary.json", "stages.json", "electrodes.vtp"):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    # Sunnybrook SCD0000101 ED: 112.2 mL of labelled myocardium; a 3 mm mesh of the smoothed label.
    assert summary["mesh"]["volume_ml"] == pytest.approx(112.2, rel=0.08)
    assert summary["activation"]["unreached_nodes"] == 0
    # A fast sub-endocardial layer activates a normal-sized LV within a normal QRS.
    qrs = summary["ecg"]["qrs_duration_ms"]
    assert 40 < qrs < 120
    assert qrs == pytest.approx(summary["activation"]["total_activation_ms"], abs=8)
    assert printed["ecg"]["qrs_duration_ms"] == qrs
    assert ecg_module.read_ecg(str(out / "ecg.csv")).num_channels == 12

    # Run again: every stage is up to date and skipped; files untouched.
    stamp = os.stat(out / "mesh.vtu").st_mtime_ns
    assert cli.main(["run", str(cfg), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.count("up to date, skipped") == 4
    assert os.stat(out / "mesh.vtu").st_mtime_ns == stamp

    # A change to the ECG options reruns only the ECG stage.
    cfg2 = _config(tmp_path, ecg={"duration_ms": 400.0})
    assert cli.main(["run", str(cfg2), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.count("up to date, skipped") == 3 and "[ecg] running" in err
    assert os.stat(out / "mesh.vtu").st_mtime_ns == stamp


def test_failed_stage_keeps_earlier_ones(tmp_path, capsys):
    out = tmp_path / "out"
    bad = _config(tmp_path, activation={"velocity_mm_per_ms": {"fibre": 0.6, "sheet": 0.4, "normal": 0.2},
                                         "model": "no-such-model"})
    assert cli.main(["run", str(bad), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "stage 'activation' failed" in err and "no-such-model" in err
    assert (out / "heart.vtu").exists() and not (out / "activation.vtu").exists()
    good = _config(tmp_path)
    assert cli.main(["run", str(good), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "[mesh] up to date" in err and "[anatomy] up to date" in err and "[activation] running" in err


@pytest.mark.parametrize("change, message", [
    ({"mesh": {"size_mm": 1500}}, "mesh.size_mm"),                      # um instead of mm
    ({"mesh": {"size_mn": 2}}, "unknown option 'mesh.size_mn'"),
    ({"input": {"labels": "missing.nii.gz"}}, "input.labels: file not found"),
    ({"version": 7}, "unsupported twin config version"),
    ({"activation": {"velocity_mm_per_ms": {"fibre": 600}}}, "activation.velocity_mm_per_ms.fibre"),
])
def test_bad_configs_fail_early(tmp_path, capsys, change, message):
    cfg = {"input": {"labels": str(SUNNYBROOK_ED_LABELS)}}
    for key, value in change.items():
        cfg[key] = value
    path = tmp_path / "twin.json"
    path.write_text(json.dumps(cfg))
    with pytest.raises((ValueError, FileNotFoundError), match=message.replace(".", r"\.")):
        pipeline.load_config(path)
    assert cli.main(["run", str(path), "-o", str(tmp_path / "out")]) != 0
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out" / "stages.json").exists()


def test_print_defaults(capsys):
    assert cli.main(["run", "--print-defaults"]) == 0
    defaults = json.loads(capsys.readouterr().out)
    assert defaults == pipeline.default_config()
    assert defaults["version"] == pipeline.SCHEMA_VERSION
