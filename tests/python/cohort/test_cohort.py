"""Cohorts: description validation, a tiny cohort on a LocalCluster with a failing twin, restart,
atomic records, the twin model's simulate() and the OLS helper."""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import cardiotwin
from cardiotwin import cli, cohort
from cardiotwin.twin_model import DEFAULT_FEATURES, TwinModel, TwinModelWarning

needs_cgal = pytest.mark.skipif(not cardiotwin.has_cgal, reason="the idealised heart needs the CGAL component")

SIZE_MM = 5.0  # a very coarse heart: ~1.5k nodes, a fraction of a second per twin


def _base(tmp_path: Path, **extra) -> dict:
    spec = {"name": "t", "model": {"mesh_size_mm": SIZE_MM},
            "anatomies": [{"name": "a", "scale": 0.9}, {"name": "b", "scale": 1.1}],
            "parameters": {"sets": [{"name": "s0", "cv_fibre_mm_per_ms": 0.5}]}}
    spec.update(extra)
    return spec


@pytest.mark.parametrize("mutate, key", [
    (lambda s: s.update(bogus=1), "bogus"),
    (lambda s: s["model"].update(mesh_size=3), "model.mesh_size"),
    (lambda s: s["anatomies"][0].update(scale=7.0), "anatomies[0].scale"),
    (lambda s: s["anatomies"][1].update(mesh="nowhere.vtu"), "anatomies[1].mesh"),
    (lambda s: s["parameters"]["sets"][0].update(cv_fibre=0.5), "parameters.sets[0].cv_fibre"),
    (lambda s: s["parameters"]["sets"][0].update(cv_fibre_mm_per_ms=-1), "parameters.sets[0].cv_fibre_mm_per_ms"),
    (lambda s: s.update(parameters={"design": {"n": 4, "bounds": {"apd_ms": [300, 200]}}}),
     "parameters.design.bounds.apd_ms"),
    (lambda s: s.update(parameters={"design": {"n": 0, "bounds": {"apd_ms": [200, 300]}}}), "parameters.design.n"),
    (lambda s: s.update(parameters={"design": {"n": 4, "bounds": {"apd_ms": [200]}}}),
     "parameters.design.bounds.apd_ms"),
    (lambda s: s["anatomies"].append({"name": "a", "scale": 1.0}), "duplicate anatomies name 'a'"),
    (lambda s: s.update(version=9), "version"),
    (lambda s: s.pop("anatomies"), "anatomies"),
])
def test_validation_names_the_key(tmp_path, mutate, key):
    spec = _base(tmp_path)
    mutate(spec)
    with pytest.raises(ValueError, match=key.replace("[", r"\[").replace("]", r"\]")):
        cohort.load_cohort(spec, base_dir=tmp_path)


def test_design_expands_to_anatomies_times_sets(tmp_path):
    spec = _base(tmp_path, parameters={"fixed": {"apd_ms": 260},
                                       "design": {"n": 5, "seed": 3,
                                                  "bounds": {"cv_fibre_mm_per_ms": [0.4, 0.8]}}})
    c = cohort.load_cohort(spec)
    assert len(c["twins"]) == 10
    cv = sorted(t["parameters"]["cv_fibre_mm_per_ms"] for t in c["twins"][:5])
    # one point per stratum of the Latin hypercube
    assert [int((v - 0.4) / 0.08) for v in cv] == [0, 1, 2, 3, 4]
    assert all(t["parameters"]["apd_ms"] == 260 for t in c["twins"])
    # reproducible ids and fingerprints
    assert [t["fingerprint"] for t in cohort.load_cohort(spec)["twins"]] == [t["fingerprint"] for t in c["twins"]]


def test_latin_hypercube_strata():
    X = cohort.latin_hypercube(20, [[0, 1], [10, 30]], seed=1)
    assert X.shape == (20, 2)
    for j, (lo, hi) in enumerate([(0, 1), (10, 30)]):
        strata = np.floor((X[:, j] - lo) / (hi - lo) * 20).astype(int)
        assert sorted(strata) == list(range(20))


@needs_cgal
def test_tiny_cohort_on_local_cluster_with_failure_and_restart(tmp_path):
    (tmp_path / "broken.vtu").write_text("not a mesh")
    spec = _base(tmp_path, save_ecg=True)
    spec["anatomies"].append({"name": "broken", "mesh": "broken.vtu"})
    spec["parameters"]["sets"].append({"name": "s1", "cv_fibre_mm_per_ms": 0.7, "covariates": {"group": "x"}})
    path = tmp_path / "cohort.json"
    path.write_text(json.dumps(spec))
    out = tmp_path / "out"
    summary = cohort.run_cohort(path, out, workers=2, quiet=True)
    assert summary["twins"] == 6 and summary["ok_this_run"] == 4 and summary["failed_this_run"] == 2
    recs = {r["twin_id"]: r for r in cohort.read_records(out)}
    assert set(recs) == {"a__s0", "a__s1", "b__s0", "b__s1", "broken__s0", "broken__s1"}
    assert recs["broken__s0"]["status"] == "failed" and "broken.vtu" in recs["broken__s0"]["error"]
    ok = [r for r in recs.values() if r["status"] == "ok"]
    assert all(math.isfinite(r["features"]["qrs_duration_ms"]) for r in ok)
    # bigger heart, same conduction: longer QRS
    assert recs["b__s0"]["features"]["qrs_duration_ms"] > recs["a__s0"]["features"]["qrs_duration_ms"]
    assert (out / "twins" / "a__s0.ecg.csv").is_file()
    # no temporary or partial files anywhere
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]
    for p in (out / "twins").glob("*.json"):
        json.loads(p.read_text())
    table = cohort.read_table(out)
    assert len(table["twin_id"]) == 6
    assert set(table["status"]) == {"ok", "failed"}
    assert list(table["group"]).count("x") == 3
    stamp = {p.name: p.stat().st_mtime_ns for p in (out / "twins").glob("*.json")}

    # restart: everything is finished, nothing runs again (in-process runner: no cluster needed)
    again = cohort.run_cohort(path, out, workers=0, quiet=True)
    assert again["ran"] == 0 and again["skipped"] == 6
    assert stamp == {p.name: p.stat().st_mtime_ns for p in (out / "twins").glob("*.json")}

    # a lost record (as if its worker died before writing) is the only twin run again
    (out / "twins" / "b__s1.json").unlink()
    third = cohort.run_cohort(path, out, workers=0, quiet=True)
    assert third["ran"] == 1 and third["ok_this_run"] == 1
    # retry_failed runs the failed twins again (and they fail again)
    fourth = cohort.run_cohort(path, out, workers=0, quiet=True, retry_failed=True)
    assert fourth["ran"] == 2 and fourth["failed_this_run"] == 2


@needs_cgal
def test_changed_parameters_rerun(tmp_path):
    spec = _base(tmp_path)
    out = tmp_path / "out"
    assert cohort.run_cohort(spec, out, workers=0, quiet=True)["ran"] == 2
    spec["parameters"]["sets"][0]["cv_fibre_mm_per_ms"] = 0.55
    assert cohort.run_cohort(spec, out, workers=0, quiet=True)["ran"] == 2


@needs_cgal
def test_cli(tmp_path, capsys):
    spec = _base(tmp_path)
    path = tmp_path / "c.json"
    path.write_text(json.dumps(spec))
    assert cli.main(["cohort", str(path), "--check"]) == 0
    assert json.loads(capsys.readouterr().out)["twins"] == 2
    assert cli.main(["cohort", str(path), "-o", str(tmp_path / "o"), "--workers", "0", "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["ok_total"] == 2
    spec["bad_key"] = 1
    path.write_text(json.dumps(spec))
    assert cli.main(["cohort", str(path), "-o", str(tmp_path / "o")]) == 2
    assert "bad_key" in capsys.readouterr().err


@needs_cgal
def test_simulate_shape_and_nan_rows():
    m = TwinModel(mesh_size_mm=SIZE_MM)
    names = ["scale", "cv_fibre_mm_per_ms", "apd_ms"]
    X = np.array([[1.0, 0.6, 280], [1.1, 0.4, 300], [1.0, 50.0, 280], [1.0, 0.6, 280]])
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        Y = m.simulate(X, names)
    assert Y.shape == (4, len(DEFAULT_FEATURES))
    assert np.isnan(Y[2]).all() and np.isfinite(Y[[0, 1, 3], 0]).all()
    assert any(issubclass(x.category, TwinModelWarning) and "twin 2" in str(x.message) for x in w)
    np.testing.assert_array_equal(Y[0], Y[3])  # deterministic
    qrs, qt = DEFAULT_FEATURES.index("qrs_duration_ms"), DEFAULT_FEATURES.index("qt_ms")
    assert Y[1, qrs] > Y[0, qrs]  # bigger and slower
    assert Y[1, qt] > Y[0, qt]  # longer APD
    with pytest.raises(ValueError, match="unknown twin parameter 'cv'"):
        m.simulate(X[:, :1], ["cv"])
    with pytest.raises(ValueError, match="X must be"):
        m.simulate(X, names[:2])
    assert m.scale_for_lv_mass(m.reference_anatomy["lv_mass_g"] * 8) == pytest.approx(2.0)


def test_ols_recovers_a_known_linear_model():
    rng = np.random.default_rng(0)
    n = 400
    x1 = rng.normal(size=n)
    x2 = rng.integers(0, 2, size=n).astype(float)
    y = 2.0 + 1.5 * x1 + 0.0 * x2 + rng.normal(scale=0.5, size=n)
    r = cohort.ols(y, np.column_stack([x1, x2]), ["x1", "x2"])
    assert r.names == ["intercept", "x1", "x2"]
    np.testing.assert_allclose(r.coef, [2.0, 1.5, 0.0], atol=4 * r.se.max())
    # classical SE of a slope: sigma / sqrt(sum (x - mean)^2)
    assert r.se[1] == pytest.approx(0.5 / np.sqrt(((x1 - x1.mean()) ** 2).sum()), rel=0.1)
    assert r.p[1] < 1e-50 and r.p[2] > 0.01
    assert 0.8 < r.r2 < 1
    # t-distribution p-values against known quantiles: t(10) = 2.228 -> p = 0.05; t(3) = 3.182 -> 0.05
    assert cohort._t_two_sided_p(2.228139, 10) == pytest.approx(0.05, abs=1e-5)
    assert cohort._t_two_sided_p(3.182446, 3) == pytest.approx(0.05, abs=1e-5)
    assert cohort._t_two_sided_p(0.0, 5) == pytest.approx(1.0)
    assert "x1" in r.table()
    with pytest.raises(ValueError, match="rank deficient"):
        cohort.ols(y, np.column_stack([x1, x1]), ["a", "b"])


@needs_cgal
def test_killed_run_loses_no_finished_twin(tmp_path):
    """SIGKILL a cohort run midway: every record on disk is whole JSON, and the restart runs
    exactly the twins that have no record."""
    import os
    import signal
    import subprocess
    import sys
    import time

    spec = _base(tmp_path, parameters={"design": {"n": 30, "seed": 0,
                                                  "bounds": {"cv_fibre_mm_per_ms": [0.4, 0.8]}}})
    path = tmp_path / "c.json"
    path.write_text(json.dumps(spec))
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-m", "cardiotwin", "cohort", str(path), "-o", str(out),
                             "--workers", "0", "-q"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 180  # generous: a loaded machine
        while time.time() < deadline and proc.poll() is None and len(list((out / "twins").glob("*.json"))) < 5:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate()
    records = list((out / "twins").glob("*.json"))
    assert 5 <= len(records) < 60, (len(records), proc.returncode, err.decode()[-2000:])
    for p in records:
        r = json.loads(p.read_text())
        assert r["status"] == "ok", r
    summary = cohort.run_cohort(path, out, workers=0, quiet=True)
    assert summary["skipped"] == len(records) and summary["ran"] == 60 - len(records), (summary, len(records))
    assert summary["ok_total"] == 60, summary
    leftovers = [p for p in out.rglob("*") if p.name.startswith(".")]
    assert not leftovers, leftovers


@needs_cgal
def test_runs_on_a_scheduler_address(tmp_path):
    """--scheduler: the twins go to an existing cluster (here a one-worker LocalCluster)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cluster:
        summary = cohort.run_cohort(_base(tmp_path), tmp_path / "out", scheduler=cluster.scheduler_address,
                                    quiet=True)
    assert summary["ok_this_run"] == 2
    assert {r["pid"] for r in cohort.read_records(tmp_path / "out")} != {__import__("os").getpid()}


def test_mesh_anatomy_from_a_file(tmp_path):
    """An anatomy given as a heart mesh with coordinates and fibres (as the pipeline writes it):
    here the procedural ellipsoidal LV, at two sizes; strict JSON records (no NaN literals)."""
    from cardiotwin import anatomy, io, mesh

    heart = anatomy.fibres(mesh.ellipsoidal_lv(2.5))
    io.write_mesh(tmp_path / "heart.vtu", heart)
    spec = {"anatomies": [{"name": "lv", "mesh": "heart.vtu"}, {"name": "big", "mesh": "heart.vtu", "scale": 1.3}],
            "parameters": {"sets": [{"name": "a", "cv_fibre_mm_per_ms": 0.5}]}}
    (tmp_path / "c.json").write_text(json.dumps(spec))
    summary = cohort.run_cohort(tmp_path / "c.json", tmp_path / "out", workers=0, quiet=True)
    assert summary["ok_this_run"] == 2
    recs = {r["twin_id"]: r for r in cohort.read_records(tmp_path / "out")}
    assert recs["big__a"]["anatomy_values"]["lv_mass_g"] == pytest.approx(
        1.3 ** 3 * recs["lv__a"]["anatomy_values"]["lv_mass_g"])
    assert recs["big__a"]["features"]["total_activation_ms"] > recs["lv__a"]["features"]["total_activation_ms"]
    for p in (tmp_path / "out" / "twins").glob("*.json"):
        json.loads(p.read_text(), parse_constant=lambda c, p=p: pytest.fail(f"{p.name} holds {c}"))
    bare = mesh.ellipsoidal_lv(2.5).mesh
    io.write_mesh(tmp_path / "bare.vtu", bare)
    spec["anatomies"] = [{"name": "bare", "mesh": "bare.vtu"}]
    (tmp_path / "c.json").write_text(json.dumps(spec))
    cohort.run_cohort(tmp_path / "c.json", tmp_path / "out2", workers=0, quiet=True)
    (rec,) = cohort.read_records(tmp_path / "out2")
    assert rec["status"] == "failed" and "transmural" in rec["error"]


def test_bundled_example_description_is_valid(capsys):
    from conftest import REPO

    assert cli.main(["cohort", str(REPO / "examples" / "configs" / "cohort_demo.json"), "--check"]) == 0
    assert json.loads(capsys.readouterr().out)["twins"] == 20
