"""Activation maps, probe traces and single-cell plots render to PNG with the Agg backend."""

from __future__ import annotations

import cardiotwin
import numpy as np
import pytest
from ep_cases import plane_wave_result, slab

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from cardiotwin import ep

PNG = b"\x89PNG\r\n\x1a\n"


def _save(ax, path):
    ax.figure.savefig(path, dpi=60)
    plt.close(ax.figure)
    data = path.read_bytes()
    assert data[:8] == PNG and len(data) > 2000
    return data


def test_surface_map(tmp_path):
    ax = ep.plot_activation(slab(1.0), plane_wave_result())
    assert ax.name == "3d"
    assert "Activation time" in ax.get_title() and "ms" in ax.get_title()
    colorbar_axes = [a for a in ax.figure.axes if a is not ax]
    assert colorbar_axes and "ms" in colorbar_axes[0].get_ylabel()
    assert ax.get_xlabel() == "x (mm)"
    _save(ax, tmp_path / "surface.png")


def test_boundary_faces_point_out_and_hidden_ones_are_culled():
    mesh = slab(1.0)
    points, tets = np.asarray(mesh.points), np.asarray(mesh.tets)
    tris = ep._boundary_triangles(tets, points)
    a, b, c = points[tris[:, 0]], points[tris[:, 1]], points[tris[:, 2]]
    normals = np.cross(b - a, c - a)
    outward = (a + b + c) / 3 - points.mean(axis=0)
    assert (np.einsum("ij,ij->i", normals, outward) > 0).all()
    # the closed surface encloses the slab's volume (divergence theorem)
    volume = np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6
    assert volume == pytest.approx(20 * 7 * 3, rel=1e-9)
    full = ep.plot_activation(mesh, plane_wave_result(), cull=False)
    culled = ep.plot_activation(mesh, plane_wave_result())
    n_full = len(full.collections[0].get_facecolors())
    n_culled = len(culled.collections[0].get_facecolors())
    assert 0.3 * n_full < n_culled < 0.7 * n_full
    plt.close("all")


def test_slice_map_with_never_activated_nodes(tmp_path):
    mesh = slab(1.0)
    act = np.asarray(plane_wave_result().activation_ms).copy()
    act[np.asarray(mesh.points)[:, 0] > 15] = np.nan
    _, axes = plt.subplots(1, 2)
    ep.plot_activation(mesh, act, ax=axes[0], kind="slice", axis="z", at=1.5)
    ep.plot_activation(mesh, act, ax=axes[1], kind="slice", axis="x", at=4.2, colorbar=False)
    assert "grey" in axes[0].get_title() and "z = 1.5 mm" in axes[0].get_title()
    assert axes[1].get_xlabel() == "y (mm)"
    _save(axes[0], tmp_path / "slices.png")


def test_slice_interpolates_linearly():
    # A linear field is reproduced exactly on any cut.
    mesh = slab(1.0)
    pts = np.asarray(mesh.points)
    field = 2.0 * pts[:, 0] + 3.0 * pts[:, 1] - pts[:, 2]
    xy, tri, v = ep._slice_triangles(pts, np.asarray(mesh.tets, dtype=np.int64), field, 2, 1.3)
    assert len(tri) > 0
    np.testing.assert_allclose(v, 2.0 * xy[:, 0] + 3.0 * xy[:, 1] - 1.3, atol=1e-12)
    e1, e2 = xy[tri[:, 1]] - xy[tri[:, 0]], xy[tri[:, 2]] - xy[tri[:, 0]]
    area = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    assert area.sum() == pytest.approx(20.0 * 7.0)


def test_repolarisation_and_bad_arguments():
    mesh, result = slab(1.0), plane_wave_result()
    ax = ep.plot_activation(mesh, result, quantity="apd", kind="slice")  # all NaN: grey
    assert "Action potential duration" in ax.get_title()
    plt.close(ax.figure)
    with pytest.raises(cardiotwin.InvalidInput, match="quantity"):
        ep.plot_activation(mesh, result, quantity="speed")
    with pytest.raises(cardiotwin.InvalidInput, match="3-D"):
        ep.plot_activation(mesh, result, ax=plt.figure().add_subplot(111))
    with pytest.raises(cardiotwin.InvalidInput, match="misses the mesh"):
        ep.plot_activation(mesh, result, kind="slice", axis="z", at=10.0)
    with pytest.raises(cardiotwin.InvalidInput, match="points"):
        ep.plot_activation(mesh, np.zeros(5))
    plt.close("all")


def test_traces(tmp_path):
    ax = ep.plot_traces(plane_wave_result())
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[1] == "probe1 (20, 7, 3) mm"
    assert ax.get_xlabel() == "time (ms)" and ax.get_ylabel() == "Vm (mV)"
    _save(ax, tmp_path / "traces.png")
    with pytest.raises(cardiotwin.InvalidInput, match="probe7"):
        ep.plot_traces(plane_wave_result(), names=["probe7"])
