"""The size experiment example (examples/python/size_experiment.py) at a coarse resolution: the
same heart scaled up activates later and gives larger QRS complexes, with the same conduction."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

import cardiotwin
from conftest import REPO

pytestmark = pytest.mark.skipif(not cardiotwin.has_cgal, reason="built without the CGAL component")


def _load_example():
    spec = importlib.util.spec_from_file_location("size_experiment", REPO / "examples" / "python" / "size_experiment.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_size_experiment_scales_activation_and_amplitude(capsys, tmp_path):
    example = _load_example()
    png = tmp_path / "size.png"
    rc = example.main(["--scales", "0.85", "1.15", "--base-scale", "1.5", "--size-mm", "2.5",
                       "--dt-ms", "0.1", "--t-end-ms", "110", "--png", str(png), "--out", str(tmp_path)])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    small, large = out["rows"]
    # Geometry scaled by 1.15 / 0.85: the volume by its cube (up to the meshing of a different size).
    assert large["myocardial_volume_ml"] / small["myocardial_volume_ml"] == pytest.approx((1.15 / 0.85) ** 3, rel=0.1)
    assert small["unactivated_nodes"] == 0 and large["unactivated_nodes"] == 0
    # Same conduction, longer paths: activation takes longer, roughly in proportion to the scale.
    ratio = large["total_activation_ms"] / small["total_activation_ms"]
    assert 1.15 < ratio < 1.6
    # The QRS duration our feature extractor finds tracks the total activation time.
    for row in (small, large):
        assert row["qrs_duration_ms"] == pytest.approx(row["total_activation_ms"], abs=5)
    # More tissue depolarising at once: larger QRS complexes.
    assert large["max_qrs_amplitude_mv"] > 1.2 * small["max_qrs_amplitude_mv"]
    assert png.stat().st_size > 10_000
    ecg_csv = tmp_path / "ecg_scale_1.15.csv"
    from cardiotwin import ecg

    signals = ecg.read_ecg(str(ecg_csv))
    assert signals.num_channels == 12
    assert np.abs(np.asarray(signals.values)).max() == pytest.approx(large["max_qrs_amplitude_mv"], rel=1e-3)
