"""The population experiment and the ECG calibration examples at their quick sizes."""
from __future__ import annotations

import importlib.util
import json

import pytest

import cardiotwin
from conftest import REPO

pytestmark = pytest.mark.skipif(not cardiotwin.has_cgal, reason="the idealised heart needs the CGAL component")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "examples" / "python" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_population_quick(tmp_path, capsys):
    example = _load("population")
    assert example.main(["--quick", "--n", "30", "--workers", "0", "--out", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_ok"] == 30
    qrs = report["qrs_duration_ms"]
    # men have the larger hearts, hence the longer QRS; LV mass explains it
    assert report["lv_mass_g_by_sex"]["M"][0] > report["lv_mass_g_by_sex"]["F"][0]
    assert qrs["crude"]["terms"]["male"]["coef"] > 0
    assert qrs["adjusted"]["terms"]["lv_mass_g"]["coef"] > 0
    assert (tmp_path / "population.png").stat().st_size > 10000
    assert json.loads((tmp_path / "population.json").read_text())["n"] == 30


def test_calibrate_synthetic_quick(tmp_path, capsys):
    pytest.importorskip("cardiotwin.calibrate")
    example = _load("calibrate_ecg")
    assert example.main(["--quick", "--part", "synthetic", "--out", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)["synthetic"]
    errors = {n: p["error_best_pct_of_range"] for n, p in report["parameters"].items()}
    assert all(e < 20 for e in errors.values()), errors
    assert report["parameters"]["apd_ms"]["error_best_pct_of_range"] < 5
    assert (tmp_path / "calibration.json").is_file()
