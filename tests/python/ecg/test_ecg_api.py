"""cardiotwin.ecg: files, features, forward model and leads from Python."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

import cardiotwin
from cardiotwin import _core, ecg, io

from conftest import DATA

PTBXL = DATA / "ecg" / "ptbxl"


def tapered_heart(dx: float) -> cardiotwin.TetMesh:
    """A 40 x 40 x 60 mm box narrowing to 35 % towards z = -30 (the apex), centred on the axis."""
    mesh = _core.mesh.box_mesh([40.0, 40.0, 60.0], dx)
    p = np.array(mesh.points)
    s = 0.35 + 0.65 * p[:, 2] / 60
    p[:, 0] = (p[:, 0] - 20) * s
    p[:, 1] = (p[:, 1] - 20) * s
    p[:, 2] -= 30
    mesh.points = p
    return mesh


@pytest.mark.parametrize("record, bpm", [("HR06004", 71), ("HR06007", 54)])
def test_ptbxl_features_in_normal_range(record, bpm):
    signals = ecg.read_ecg(PTBXL / f"{record}.hea")
    assert signals.names == ecg.twelve_lead_names()
    assert signals.num_samples == 5000
    f = ecg.features(signals)
    assert f["num_beats"] >= 8
    assert f["heart_rate_bpm"] == pytest.approx(bpm, abs=2)
    assert 69 <= f["qrs_duration_ms"] <= 109          # Mason et al. 2007, 2nd-98th percentile
    assert -30 <= f["axis_deg"] <= 100
    assert 340 <= f["qtc_bazett_ms"] <= 457
    assert f["leads"]["II"]["r_amplitude_mv"] > 0.8
    json.dumps(f)  # plain JSON types only
    with_beat = ecg.features(signals, beat=True)
    assert isinstance(with_beat["beat"], cardiotwin.Signals)


def test_wfdb_and_csv_round_trip(tmp_path):
    signals = ecg.read_ecg(PTBXL / "HR06007")
    ecg.write_ecg(tmp_path / "copy.hea", signals)
    back = ecg.read_ecg(tmp_path / "copy")
    np.testing.assert_allclose(back.values, signals.values, atol=0.5e-3 + 1e-12)
    ecg.write_ecg(tmp_path / "copy.csv", signals)
    csv = ecg.read_ecg(tmp_path / "copy.csv")
    np.testing.assert_allclose(csv.values, signals.values, atol=1e-8)
    text = (tmp_path / "copy.csv").read_text().splitlines()[0]
    assert text == "time_ms," + ",".join(ecg.twelve_lead_names())
    (tmp_path / "bad.hea").write_text("bad 1 500 10\nbad.dat 16 1000/mV 16 0 0 0 0 I\n")
    with pytest.raises(cardiotwin.FileIOError, match="bad.dat"):
        ecg.read_ecg(tmp_path / "bad.hea")
    (tmp_path / "bad.dat").write_bytes(b"\0" * 6)
    with pytest.raises(cardiotwin.FileFormatError, match="truncated"):
        ecg.read_ecg(tmp_path / "bad.hea")
    (tmp_path / "bad.hea").write_text("bad x 500\n")
    with pytest.raises(cardiotwin.FileFormatError, match="line 1"):
        ecg.read_ecg(tmp_path / "bad.hea")


def test_filters_resample_and_compare():
    signals = ecg.read_ecg(PTBXL / "HR06004")
    clean = ecg.lowpass(ecg.remove_baseline(signals), 40)
    assert clean.num_samples == signals.num_samples
    down = ecg.resample(clean, 250)
    assert down.num_samples == 2500
    c = ecg.compare(clean, down)
    assert c["shift_ms"] == 0
    assert c["mean_correlation"] > 0.99
    shifted = cardiotwin.Signals(np.asarray(clean.time_ms) + 12.0, clean.names, clean.values)
    c = ecg.compare(clean, shifted)
    assert c["shift_ms"] == pytest.approx(12.0)
    assert c["leads"]["V2"]["correlation"] == pytest.approx(1.0)
    other = cardiotwin.Signals(np.asarray(clean.time_ms) + 60000.0, clean.names, clean.values)
    with pytest.raises(cardiotwin.InvalidInput, match="mismatched time axes"):
        ecg.compare(clean, other)


def test_pseudo_ecg_and_twelve_leads():
    heart = tapered_heart(5.0)
    frame = ecg.body_frame(heart, long_axis=[0, 0, -1], rv_direction=[1, 0, 0])
    electrodes = ecg.standard_electrodes(frame)
    assert list(electrodes.names) == ecg.standard_electrode_names()
    weights = ecg.pseudo_ecg_weights(heart, electrodes, sigma_bath=0.25)
    assert weights.weights.shape == (10, heart.num_points)
    # A front moving up from the apex, sampled every 2 ms.
    z = np.asarray(heart.points)[:, 2]
    t = np.arange(0.0, 80.0, 2.0)
    frames = -85 + 105 / (1 + np.exp((z[None, :] + 30 - 0.8 * t[:, None]) / 1.0))
    potentials = weights.apply(t, frames)
    leads = ecg.twelve_leads(potentials)
    v = {n: leads.channel(n) for n in leads.names}
    scale = np.abs(potentials.values).max()
    assert np.abs(v["II"] - v["I"] - v["III"]).max() <= 1e-14 * scale
    assert np.abs(v["aVR"] + v["aVL"] + v["aVF"]).max() <= 1e-14 * scale
    direct = ecg.twelve_lead_weights(weights).apply(t, frames)
    np.testing.assert_allclose(direct.values, leads.values, atol=1e-9 * scale)
    # Apex-to-base activation: the heart vector points to the base (right, up): negative II.
    assert v["II"][10:30].mean() < 0
    # Electrodes inside the heart are named.
    inside = ecg.Electrodes(["V1", "Vx"], np.array([[0.0, 0.0, 100.0], [0.0, 0.0, 0.0]]))
    with pytest.raises(cardiotwin.InvalidInput, match="'Vx'"):
        ecg.pseudo_ecg_weights(heart, inside)
    with pytest.raises(cardiotwin.InvalidInput, match="unknown option"):
        ecg.pseudo_ecg_weights(heart, electrodes, sigma_bth=0.2)


def test_apply_to_a_reaction_eikonal_model_is_fused_and_equal():
    from cardiotwin import ep

    heart = tapered_heart(5.0)
    z = np.asarray(heart.points)[:, 2]
    model = ep.EikonalModel(heart, {"model": "reaction-eikonal", "velocity": {"fibre": 0.5, "sheet": 0.5},
                                    "roots": [{"nodes": np.flatnonzero(z == z.min()).tolist()}]})
    frame = ecg.body_frame(heart, long_axis=[0, 0, -1], rv_direction=[1, 0, 0])
    leads = ecg.twelve_lead_weights(ecg.pseudo_ecg_weights(heart, ecg.standard_electrodes(frame)))
    t = np.arange(0.0, 400.0, 1.0)
    from_frames = leads.apply(t, np.asarray(model.vm_series(t)))
    fused = leads.apply(t, model)
    assert fused.names == from_frames.names
    scale = np.abs(from_frames.values).max()
    assert scale > 0
    np.testing.assert_allclose(fused.values, from_frames.values, atol=1e-12 * scale)
    with pytest.raises(cardiotwin.InvalidInput, match="model does not match"):
        ecg.twelve_lead_weights(ecg.pseudo_ecg_weights(tapered_heart(10.0), ecg.standard_electrodes(frame))).apply(
            t, model)


def test_electrodes_export_and_frames(tmp_path):
    heart = tapered_heart(5.0)
    frame = ecg.body_frame(heart)
    assert math.isclose(float(np.linalg.norm(frame.left)), 1.0)
    electrodes = ecg.standard_electrodes(frame, scale=1.2)
    ecg.write_electrodes(tmp_path / "el.vtp", electrodes)
    surface = io.read_vtp(tmp_path / "el.vtp")
    assert int(np.asarray(surface.tags).max()) == 10
    names = json.loads((tmp_path / "el.json").read_text())
    assert names["tag_of_electrode"]["V6"] == 10
    assert ecg.Electrodes.from_dict(electrodes.to_dict()).names == electrodes.names
    with pytest.raises(cardiotwin.InvalidInput, match="go together"):
        ecg.body_frame(heart, long_axis=[0, 0, 1])


def test_lead_field_on_a_torso():
    if "ecg_tetgen" not in cardiotwin.components:
        pytest.skip("the procedural torso needs TetGen (component ecg_tetgen)")
    heart = tapered_heart(8.0)
    frame = ecg.body_frame(heart, long_axis=[0, 0, -1], rv_direction=[1, 0, 0])
    electrodes = ecg.standard_electrodes(frame)
    torso = ecg.torso(heart, frame, surface_size_mm=40)
    assert torso.num_heart_nodes == heart.num_points
    assert set(np.unique(np.asarray(torso.mesh.region))) >= {1, _core.ecg.torso_region}
    weights = ecg.lead_field_weights(heart, electrodes, torso, sigma_torso=0.25)
    assert weights.metadata["model"] == "lead_field"
    assert np.abs(np.asarray(weights.weights)[electrodes.names.index("RL")]).max() == 0
    leads = ecg.twelve_lead_weights(weights)
    z = np.asarray(heart.points)[:, 2]
    frames = -85 + 105 / (1 + np.exp((z[None, :] + 30 - 3.0 * np.arange(25)[:, None]) / 1.0))
    ii = leads.apply(np.arange(25) * 2.0, frames).channel("II")
    assert ii.min() < 0 < -ii.min()
    with pytest.raises(cardiotwin.InvalidInput, match="unknown electrode"):
        ecg.lead_field_weights(heart, electrodes, torso, reference="XX")
