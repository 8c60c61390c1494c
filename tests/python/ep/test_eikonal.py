"""The Eikonal and reaction-Eikonal models from Python and the CLI."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
from cardiotwin import InvalidInput, ep, io
from cardiotwin import mesh as cm
from cardiotwin.cli import main
from ep_cases import nearest


def test_solve_eikonal_point_source_matches_the_ellipsoid():
    box = cm.box_mesh([8.0, 4.0, 2.0], 0.25)  # fibres along x
    vel = {"fibre": 0.6, "sheet": 0.3, "normal": 0.2}
    sol = ep.solve_eikonal(box, roots=[{"point": [4.0, 2.0, 1.0], "time_ms": 1.0}], velocity=vel)
    t = np.asarray(sol["activation_ms"])
    p = np.asarray(box.points) - [4.0, 2.0, 1.0]
    exact = 1.0 + np.sqrt((p[:, 0] / 0.6) ** 2 + (p[:, 1] / 0.3) ** 2 + (p[:, 2] / 0.2) ** 2)
    assert sol["unreached"] == 0 and len(sol["root_nodes"]) == 1
    err = t - exact
    assert err.min() > -1e-3  # never earlier than the exact arrival
    # A point source: errors of O(h log 1/h) spread from the singularity (C++ tests measure rates).
    assert np.abs(err).mean() < 0.6 and np.abs(err).max() < 1.2
    assert sol["local_solves"] > box.num_tets
    assert 0 < sol["setup_seconds"] <= sol["seconds"]


def test_simulate_reaction_eikonal_gives_an_epresult(tmp_path):
    slab = cm.niederer_slab(1.0)
    config = {"model": "reaction-eikonal", "velocity": {"fibre": 0.6, "sheet": 0.2},
              "roots": [{"shape": "box", "min": [0, 0, 0], "max": [1, 7, 3], "time_ms": 0.0}],
              "template": {"apd_ms": 200.0}, "t_end_ms": 260.0,
              "probes": [[20.0, 3.0, 1.0]], "probe_every_ms": 1.0, "snapshot_every_ms": 50.0}
    r = ep.simulate(slab, config, progress=False, output_dir=tmp_path / "vm")
    act = np.asarray(r.activation_ms)
    far = nearest(slab, [20.0, 3.0, 1.0])
    assert act[far] == pytest.approx(19.0 / 0.6, abs=1e-6)  # plane wave from the x <= 1 face
    assert np.asarray(r.apd_ms) == pytest.approx(200.0, abs=1.0)  # the parametric template's APD
    assert r.metadata["model"] == "reaction-eikonal" and r.metadata["eikonal"]["unreached"] == 0
    trace = np.asarray(r.probes.values)[:, 0]
    assert trace.max() > 10 and trace[0] < -80 and trace[-1] < -80  # a full action potential
    assert len(io.read_pvd(r.snapshots_pvd)) == 6  # 0, 50, ..., 250
    # The model object: Vm at any time without moving the clock, a series in one call.
    model = ep.EikonalModel(slab, dict(config, snapshot_every_ms=0.0))
    v = np.asarray(model.vm_at(act[far] + 100.0))
    assert v[far] > -20 and model.time_ms == 0.0
    series = np.asarray(model.vm_series(np.array([0.0, 10.0, 400.0])))
    assert series.shape == (3, slab.num_points)
    assert (series[2] < -80).all()
    tmpl = ep.ap_template(apd_ms=200.0)
    assert tmpl["apd_ms"] == pytest.approx(200.0, abs=0.5)
    assert np.interp(0.0, tmpl["time_ms"], tmpl["vm_mv"]) == pytest.approx(0.0, abs=1e-6)


def test_make_solver_dispatches_and_monodomain_configs_still_work():
    slab = cm.niederer_slab(1.0)
    assert isinstance(ep.make_solver(slab, {"model": "eikonal", "roots": [{"node": 0}]}),
                      ep.EikonalModel)
    assert isinstance(ep.make_solver(slab, {"t_end_ms": 1.0}), ep.Monodomain)
    assert isinstance(ep.make_solver(slab, {"model": "monodomain"}), ep.Monodomain)
    with pytest.raises(InvalidInput, match="reaction-eikonal"):
        ep.make_solver(slab, {"model": "eikonl"})


def test_bad_input_is_refused():
    slab = cm.niederer_slab(1.0)
    with pytest.raises(InvalidInput, match="non-positive conduction velocity"):
        ep.solve_eikonal(slab, roots=[{"node": 0}], velocity={"fibre": 0.0})
    with pytest.raises(InvalidInput, match="root point outside the mesh"):
        ep.solve_eikonal(slab, roots=[{"point": [50.0, 0.0, 0.0]}])
    with pytest.raises(InvalidInput, match="velocty"):
        ep.solve_eikonal(slab, roots=[{"node": 0}], velocty={"fibre": 1.0})
    with pytest.raises(InvalidInput, match="no root nodes"):
        ep.EikonalModel(slab, {"model": "eikonal"})


def test_default_ventricular_roots_from_coordinates():
    box = cm.box_mesh([10.0, 10.0, 10.0], 1.0)
    x, y, z = np.asarray(box.points).T
    coords = SimpleNamespace(transmural=np.where((x < 0.5) | (x > 9.5), 0.0, 0.5),
                             apicobasal=z / 10.0, rotational=(y - 5.0) / 5.0 * math.pi,
                             lv_rv=np.where(x > 9.5, 1.0, 0.0))
    roots = ep.default_ventricular_roots(box, coords, rv_delay_ms=8.0)
    assert [r["name"] for r in roots] == ["lv_septal", "lv_anterior", "lv_posterior", "rv_septal",
                                          "rv_free_wall"]
    assert roots[0]["time_ms"] == 0.0 and roots[3]["time_ms"] == 8.0
    assert list(np.asarray(box.points)[roots[0]["node"]]) == [0.0, 5.0, 5.0]
    sol = ep.solve_eikonal(box, roots=roots, velocity={"fibre": 0.5, "sheet": 0.5})
    assert sol["unreached"] == 0
    with pytest.raises(InvalidInput, match="ventricular coordinate missing"):
        ep.default_ventricular_roots(box)


def test_cli_simulate_eikonal(tmp_path, capsys):
    config = tmp_path / "eik.json"
    config.write_text(json.dumps({
        "model": "reaction-eikonal", "velocity": {"fibre": 0.6, "sheet": 0.2},
        "roots": [{"point": [0, 0, 0]}], "t_end_ms": 300.0, "snapshot_every_ms": 100.0}))
    out = tmp_path / "run"
    assert main(["simulate", "slab:1.0", str(config), "-o", str(out), "--no-plot", "-q"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["model"] == "reaction-eikonal"
    assert summary["activated_nodes"] == summary["nodes"]
    assert summary["apd_ms"]["min"] == pytest.approx(280.0, abs=1.0)  # the default template
    mesh = io.read_vtu(out / "activation.vtu")
    act = np.asarray(mesh.point_data["activation_ms"]).ravel()
    assert act.max() == pytest.approx(summary["activation_ms"]["max"])
    assert len(io.read_pvd(out / "vm" / "vm.pvd")) == 4
    result = json.loads((out / "result.json").read_text())
    assert result["metadata"]["eikonal"]["unreached"] == 0
    # A bad Eikonal config fails with the key named, before anything runs.
    config.write_text(json.dumps({"model": "eikonal", "roots": [{"node": 0}],
                                  "velocity": {"fibre": -1}}))
    assert main(["simulate", "slab:1.0", str(config), "-o", str(tmp_path / "bad"), "-q"]) != 0
    assert "non-positive conduction velocity" in capsys.readouterr().err
