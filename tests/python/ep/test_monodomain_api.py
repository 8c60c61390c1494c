"""cardiotwin.ep from Python: simulate, options validation, progress and cancellation,
checkpoints, results on the mesh and on disk."""

from __future__ import annotations

import csv
import json
import math

import cardiotwin
import numpy as np
import pytest
from cardiotwin import ep, io
from ep_cases import P1, P8, P9, nearest, plane_wave_options, plane_wave_result, slab


def test_plane_wave_on_the_coarse_slab():
    mesh, result = slab(1.0), plane_wave_result()
    act = np.asarray(result.activation_ms)
    assert act.shape == (mesh.num_points,) and act.dtype == np.float64
    assert np.isfinite(act).all(), "every node activates within 50 ms"
    pts = np.asarray(mesh.points)
    # Activation increases away from the stimulated face along every fibre line.
    for y in np.unique(pts[:, 1]):
        for z in np.unique(pts[:, 2]):
            line = np.flatnonzero((pts[:, 1] == y) & (pts[:, 2] == z))
            a = act[line[np.argsort(pts[line, 0])]]
            assert np.all(np.diff(a) >= -1e-9), (y, z, a)
    # Stimulated nodes activate first, the far face last; a conduction velocity along the
    # fibres of roughly 0.4-0.6 m/s (= mm/ms) on this coarse grid.
    assert act[nearest(mesh, P1)] < 3.0
    assert 30.0 < act[nearest(mesh, P8)] < 55.0
    assert act[nearest(mesh, P1)] < act[nearest(mesh, P9)] < act[nearest(mesh, P8)]
    speed = 19.0 / (act[nearest(mesh, P8)] - act[nearest(mesh, (1.0, 7.0, 3.0))])
    assert 0.3 < speed < 0.8
    # Nothing repolarises within 50 ms (TP06 APD is ~300 ms).
    assert np.isnan(np.asarray(result.repolarisation_ms)).all()
    assert np.isnan(np.asarray(result.apd_ms)).all()


def test_result_metadata_and_probes():
    result = plane_wave_result()
    md = result.metadata
    assert md["model"] == "monodomain" and md["num_points"] == slab(1.0).num_points
    assert md["time_ms"] == pytest.approx(50.0)
    assert md["units"]["time"] == "ms" and md["options"]["ionic_model"] == "tp06"
    assert md["timings"]["steps"] == 1000
    probes = result.probes
    assert list(probes.names) == ["probe0", "probe1", "probe2"] and probes.units == "mV"
    t = np.asarray(probes.time_ms)
    assert t[0] == 0.0 and t[-1] == pytest.approx(50.0)
    v = np.asarray(probes.values)
    assert v.shape == (len(t), 3)
    assert v[0] == pytest.approx([-85.23] * 3)
    assert v[:, 1].max() > 20.0  # P8 fired
    assert "activated" in repr(result)


def test_niederer_corner_stimulus_at_half_mm():
    """The benchmark itself at dx 0.5 mm, dt 0.05 ms: P8 near the consistent-mass FEM
    reference (56.7 ms; shared/reference/niederer2011.md)."""
    mesh = slab(0.5)
    result = ep.simulate(mesh, ep.niederer_options(dt_ms=0.05, threads=0), t_end_ms=62.0,
                         progress=False)
    act = np.asarray(result.activation_ms)
    assert act[nearest(mesh, P8)] == pytest.approx(56.7, abs=1.5)
    assert act[nearest(mesh, P1)] < 2.0
    assert 20.0 < act[nearest(mesh, P9)] < 35.0
    assert np.isfinite(act).all()


def test_unknown_option_names_the_key():
    mesh = slab(1.0)
    with pytest.raises(cardiotwin.InvalidInput, match="dt_msx"):
        ep.Monodomain(mesh, {"dt_msx": 0.1})
    with pytest.raises(cardiotwin.InvalidInput, match="dt_msx") as info:
        ep.simulate(mesh, {"dt_msx": 0.1}, progress=False)
    assert "dt_ms" in str(info.value)  # the known keys are listed
    with pytest.raises(cardiotwin.InvalidInput, match="strenght"):
        ep.validate_monodomain_options({"stimuli": [{"shape": "box", "min": [0, 0, 0],
                                                     "max": [1, 1, 1], "strenght": 1.0}]})
    with pytest.raises(cardiotwin.InvalidInput, match="dt_ms"):
        ep.validate_monodomain_options({"dt_ms": -1.0})
    with pytest.raises(cardiotwin.InvalidInput, match="mass"):
        ep.validate_monodomain_options({"mass": "heavy"})


def test_defaults_round_trip_through_validation():
    defaults = ep.default_monodomain_options()
    assert defaults["dt_ms"] > 0 and defaults["ionic_model"] == "tp06"
    assert ep.validate_monodomain_options(defaults) == defaults
    assert ep.validate_monodomain_options(None) == defaults
    filled = ep.validate_monodomain_options({"dt_ms": 0.02})
    assert filled["dt_ms"] == 0.02 and filled["theta"] == defaults["theta"]


def test_unknown_ionic_model_lists_the_models():
    names = ep.ionic_model_names()
    assert {"tp06", "mitchell_schaeffer", "aliev_panfilov"} <= set(names)
    for call in (lambda: ep.Monodomain(slab(1.0), {"ionic_model": "hodgkin_huxley"}),
                 lambda: ep.ionic_model_info("hodgkin_huxley")):
        with pytest.raises(cardiotwin.InvalidInput) as info:
            call()
        message = str(info.value)
        assert "hodgkin_huxley" in message
        assert all(name in message for name in names), message
    tp06 = ep.ionic_model_info("tp06")
    assert tp06["cell_types"] == ["epi", "endo", "mcell"] and len(tp06["state_names"]) == 18


def test_progress_callback_and_cancellation():
    mesh = slab(1.0)
    calls = []

    def progress(t, t_end):
        calls.append((t, t_end))
        return t < 10.0  # stop once 10 ms are reached

    result = ep.simulate(mesh, plane_wave_options(), t_end_ms=40.0, progress=progress)
    assert len(calls) >= 2
    times = [t for t, _ in calls]
    assert times == sorted(times) and all(te == 40.0 for _, te in calls)
    stopped = result.metadata["time_ms"]
    assert 10.0 <= stopped < 40.0
    assert calls[-1][0] == pytest.approx(stopped)
    # A solver stopped early continues when run again; None keeps going.
    solver = ep.Monodomain(mesh, plane_wave_options())
    solver.run(20.0, progress=lambda t, te: False)
    assert 0.0 < solver.time_ms < 20.0
    solver.run(20.0, progress=lambda t, te: None)
    assert solver.time_ms == pytest.approx(20.0)


@pytest.mark.parametrize("exc", [KeyboardInterrupt, ValueError])
def test_exception_in_callback_propagates(exc):
    solver = ep.Monodomain(slab(1.0), plane_wave_options())

    def progress(t, t_end):
        if t >= 5.0:
            raise exc("stop here")
        return True

    with pytest.raises(exc, match="stop here"):
        solver.run(30.0, progress=progress)
    assert 5.0 <= solver.time_ms < 30.0
    solver.run(30.0)  # the solver is still usable
    assert solver.time_ms == pytest.approx(30.0)


def test_progress_line_without_tqdm(monkeypatch, capsys):
    monkeypatch.setitem(__import__("sys").modules, "tqdm.auto", None)  # import fails
    ep.simulate(slab(1.0), plane_wave_options(), t_end_ms=2.0, progress=True)
    err = capsys.readouterr().err
    assert "2.0/2.0 ms" in err and "100%" in err
    ep.simulate(slab(1.0), plane_wave_options(), t_end_ms=1.0, progress=False)
    assert capsys.readouterr().err == ""


def test_progress_bar_with_tqdm(capsys):
    pytest.importorskip("tqdm")
    ep.simulate(slab(1.0), plane_wave_options(), t_end_ms=2.0)
    assert "2.0/2.0 ms" in capsys.readouterr().err


def test_checkpoint_restart_is_bit_identical(tmp_path):
    mesh = slab(1.0)
    options = plane_wave_options(probes=[list(P8)])
    reference = ep.Monodomain(mesh, options)
    reference.run(12.0)
    path = tmp_path / "state.ckpt"
    reference.save_checkpoint(str(path))
    reference.run(30.0)

    restarted = ep.Monodomain(mesh, options)
    restarted.load_checkpoint(str(path))
    assert restarted.time_ms == pytest.approx(12.0)
    restarted.run(30.0)
    np.testing.assert_array_equal(np.asarray(restarted.vm), np.asarray(reference.vm))
    a, b = restarted.result(), reference.result()
    np.testing.assert_array_equal(np.asarray(a.activation_ms), np.asarray(b.activation_ms))
    np.testing.assert_array_equal(np.asarray(a.probes.values), np.asarray(b.probes.values))
    np.testing.assert_array_equal(np.asarray(a.probes.time_ms), np.asarray(b.probes.time_ms))
    # A checkpoint of another mesh is refused.
    with pytest.raises(cardiotwin.Error):
        ep.Monodomain(slab(2.0), options).load_checkpoint(str(path))


def test_vm_view_and_set_vm():
    solver = ep.Monodomain(slab(1.0), plane_wave_options())
    vm = solver.vm
    assert vm.shape == (slab(1.0).num_points,)
    assert not vm.flags.writeable
    solver.set_vm(np.full(vm.shape, -80.0))
    assert np.all(np.asarray(solver.vm) == -80.0)
    with pytest.raises((cardiotwin.InvalidInput, ValueError, TypeError)):
        solver.set_vm(np.zeros(3))


def test_activation_to_mesh_and_save_result(tmp_path):
    mesh, result = slab(1.0), plane_wave_result()
    with_fields = ep.activation_to_mesh(mesh, result)
    assert "activation_ms" not in mesh.point_data  # the input is not modified
    for name in ("activation_ms", "repolarisation_ms", "apd_ms"):
        np.testing.assert_array_equal(np.asarray(with_fields.point_data[name]).ravel(),
                                      np.asarray(getattr(result, name)))
    with pytest.raises(cardiotwin.InvalidInput, match="points"):
        ep.activation_to_mesh(slab(2.0), result)

    paths = ep.save_result(tmp_path / "out", mesh, result)
    assert sorted(paths) == ["activation.vtu", "probes.csv", "result.json"]
    back = io.read_vtu(paths["activation.vtu"])
    np.testing.assert_array_equal(np.asarray(back.point_data["activation_ms"]).ravel(),
                                  np.asarray(result.activation_ms))
    assert np.isnan(np.asarray(back.point_data["apd_ms"])).all()
    with open(paths["probes.csv"], newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["time_ms", "probe0_mV", "probe1_mV", "probe2_mV"]
    assert len(rows) - 1 == result.probes.num_samples
    assert float(rows[-1][0]) == pytest.approx(50.0)
    with open(paths["result.json"]) as f:
        doc = json.load(f, parse_constant=lambda c: pytest.fail(f"{c} in result.json"))
    assert doc["summary"]["activated_nodes"] == mesh.num_points
    assert doc["summary"]["apd_ms"] is None
    assert math.isclose(doc["summary"]["activation_ms"]["max"],
                        float(np.nanmax(result.activation_ms)))
    assert doc["metadata"]["options"]["dt_ms"] == 0.05
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_snapshots_to_output_dir(tmp_path):
    options = plane_wave_options(snapshot_every_ms=2.0)
    result = ep.simulate(slab(1.0), options, t_end_ms=4.0, progress=False,
                         output_dir=tmp_path / "vm")
    assert result.snapshots_pvd
    frames = io.read_pvd(result.snapshots_pvd)
    assert [t for t, _, _ in frames] == pytest.approx([0.0, 2.0, 4.0])
    first = io.read_vtu(tmp_path / "vm" / frames[-1][1])
    assert first.num_points == slab(1.0).num_points


@pytest.mark.parametrize("progress", [None, "simulate"])
def test_ctrl_c_stops_a_run(progress):
    """SIGINT (Ctrl-C) during a run raises KeyboardInterrupt promptly, with or without a
    progress callback (the solver checks for signals at each progress report)."""
    import _thread
    import threading

    solver = ep.Monodomain(slab(1.0), plane_wave_options())
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            if progress is None:
                solver.run(2000.0)
            else:
                ep.simulate(slab(1.0), plane_wave_options(), t_end_ms=2000.0, progress=True)
    finally:
        timer.cancel()
    if progress is None:
        assert solver.time_ms < 2000.0
