"""cardiotwin.anatomy: Laplace coordinates and rule-based fibres, and the mesh/fibres CLI."""

from __future__ import annotations

import json

import cardiotwin
import numpy as np
import pytest
from cardiotwin import anatomy, io, mesh
from cardiotwin.cli import main
from conftest import SUNNYBROOK_ED_LABELS, require


def test_fibres_of_the_ellipsoidal_lv():
    lv = mesh.ellipsoidal_lv(size_mm=1.5)
    c = anatomy.ventricular_coordinates(lv)
    assert not c.has_rv
    assert np.asarray(c.transmural).min() == pytest.approx(0, abs=1e-9)
    assert np.asarray(c.transmural).max() == pytest.approx(1, abs=1e-9)
    assert np.allclose(c.long_axis, [0, 0, 1], atol=1e-6)
    out = anatomy.fibres(lv)
    out.validate()
    f, s, n = (np.asarray(a) for a in (out.fibre, out.sheet, out.normal))
    assert np.allclose(np.einsum("ij,ij->i", f, s), 0, atol=1e-9)
    assert np.allclose(np.einsum("ij,ij->i", np.cross(f, s), n), 1)
    assert {"transmural", "apicobasal", "rotational", "lv_rv"} <= set(out.point_data.keys())
    # Helix angle against an independent frame at the equator: +60 near the endocardium.
    pts = np.asarray(out.points)[np.asarray(out.tets)].mean(axis=1)
    r = np.hypot(pts[:, 0], pts[:, 1])
    band = (np.abs(pts[:, 2]) < 3) & (r < 7.4)
    for e in np.flatnonzero(band)[:50]:
        t = np.array([pts[e, 0], pts[e, 1], 0]) / r[e]
        assert anatomy.helix_angle_deg(f[e], [0, 0, 1], t) > 35
    custom = anatomy.compute_fibres(out, c, alpha_endo_deg=30, alpha_epi_deg=-30)
    # The helix angle is linear in the wall depth: halving both angles halves it everywhere.
    assert np.allclose(custom["helix_deg"], 0.5 * np.asarray(out.cell_data["helix_deg"]).reshape(-1))
    assert 15 < custom["helix_deg"].max() <= 30
    with pytest.raises(cardiotwin.InvalidInput, match=r"\[-90, 90\]"):
        anatomy.compute_fibres(out, c, alpha_endo_deg=100)


def test_laplace_slab():
    box = mesh.box_mesh([2.0, 1.0, 1.0], 0.25)
    x = np.asarray(box.points)[:, 0]
    left, right = np.flatnonzero(x < 1e-9), np.flatnonzero(x > 2 - 1e-9)
    u = anatomy.solve_laplace(box, list(left) + list(right), [0.0] * len(left) + [1.0] * len(right))
    assert np.allclose(u, x / 2, atol=1e-6)


@pytest.mark.skipif(not cardiotwin.has_cgal, reason="built without the CGAL component")
def test_cli_mesh_then_fibres(tmp_path, capsys):
    labels = require(SUNNYBROOK_ED_LABELS)
    out = tmp_path / "lv.vtu"
    assert main(["mesh", str(labels), "-o", str(out), "--labels", "2", "--size-mm", "3",
                 "--lv-blood", "1", "--base-axis", "+k", "--stl", str(tmp_path / "lv.stl"), "--compact"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["quality"]["num_tets"] > 1000
    assert report["quality"]["total_volume_mm3"] == pytest.approx(112.2e3, rel=0.06)
    assert report["interpolation"]["axis"] == 2
    assert set(report["surface_tags"]) == {"lv_endo", "epi", "base"}
    assert (tmp_path / "lv.surface.vtp").exists()
    assert mesh.check_manifold(io.read_surface(tmp_path / "lv.stl"))["watertight"]
    fib = tmp_path / "fibres.vtu"
    assert main(["fibres", str(out), "-o", str(fib), "--compact"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert 30 < summary["helix_deg"]["max"] <= 60
    assert -60 <= summary["helix_deg"]["min"] < -30
    m = io.read_mesh(fib)
    assert m.fibre.shape == (m.num_tets, 3)
    assert "transmural" in m.point_data.keys()


def test_cli_errors(tmp_path, capsys):
    assert main(["fibres", str(tmp_path / "missing.vtu"), "-o", str(tmp_path / "x.vtu")]) == 2
    assert "error" in capsys.readouterr().err
    lv = mesh.ellipsoidal_lv(size_mm=2.0)
    io.write_mesh(tmp_path / "lv.vtu", lv.mesh)
    assert main(["fibres", str(tmp_path / "lv.vtu"), "-o", str(tmp_path / "x.vtu")]) == 2
    assert "tagged surface" in capsys.readouterr().err
    io.write_surface(tmp_path / "lv.surface.vtp", mesh.extract_faces(lv.surface))
    assert main(["fibres", str(tmp_path / "lv.vtu"), "-o", str(tmp_path / "x.vtu"), "--compact"]) == 0
