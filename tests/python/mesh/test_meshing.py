"""cardiotwin.mesh: label maps (CGAL), surfaces (TetGen), procedural shapes, tags, quality."""

from __future__ import annotations

import math

import cardiotwin
import numpy as np
import pytest
from cardiotwin import io, mesh
from conftest import RODERO_VTP, SUNNYBROOK_ED_LABELS, require

cgal = pytest.mark.skipif(not cardiotwin.has_cgal, reason="built without the CGAL component")
tetgen = pytest.mark.skipif(not cardiotwin.has_tetgen, reason="built without the TetGen component")


def ball_labels(n=36, h=0.5, r1=4.0, l1=3, r2=7.5, l2=1):
    c = 0.5 * h * (n - 1)
    x = np.arange(n) * h - c
    r = np.sqrt(x[:, None, None] ** 2 + x[None, :, None] ** 2 + x[None, None, :] ** 2)
    a = np.where(r <= r1, l1, np.where(r <= r2, l2, 0)).astype(np.uint8)
    return cardiotwin.LabelMap(a, [h, h, h], [5.0, 6.0, 7.0])


@cgal
def test_label_map_to_mesh_volumes_tags_quality():
    labels = ball_labels()
    result = mesh.mesh_label_map(labels, [1], size_mm=1.5)
    m = result.mesh
    assert m.check().ok
    assert set(np.unique(m.region)) == {1}
    q = result.quality
    shell = 4 / 3 * math.pi * (7.5 ** 3 - 4.0 ** 3)
    assert q.total_volume_mm3 == pytest.approx(shell, rel=0.04)
    assert q.min_dihedral_deg > 5
    d = result.to_dict()
    assert d["labels"] == [1]
    assert d["quality"]["num_tets"] == m.num_tets
    assert result.prepared.shape[0] < labels.shape[0] + 1
    # Both labels, region tags kept.
    both = mesh.mesh_label_map(labels, None, size_mm=1.5)
    assert set(np.unique(both.mesh.region)) == {1, 3}
    assert both.quality.region_volume_mm3[3] == pytest.approx(4 / 3 * math.pi * 4.0 ** 3, rel=0.1)


@cgal
def test_islands_warn_and_bad_input_raises():
    labels = ball_labels()
    a = np.array(labels.array)
    a[1, 1, 1] = 1
    speck = cardiotwin.LabelMap(a, [0.5] * 3)
    with pytest.warns(mesh.MeshingWarning, match=r"removed 1 of 2 connected components, 1 voxels"):
        mesh.mesh_label_map(speck, [1], size_mm=1.5)
    with pytest.raises(cardiotwin.InvalidInput, match="label absent.*present: label 1"):
        mesh.mesh_label_map(labels, [4])
    with pytest.raises(cardiotwin.InvalidInput, match="label map is empty"):
        mesh.mesh_label_map(cardiotwin.LabelMap(np.zeros((8, 8, 8), np.uint8)))
    with pytest.raises(cardiotwin.InvalidInput, match="without geometry"):
        mesh.mesh_label_map(np.zeros((8, 8, 8), np.uint8))
    with pytest.raises(cardiotwin.InvalidInput, match="unknown option"):
        mesh.mesh_label_map(labels, [1], size_mm=1.5, sise=2)
    assert mesh.label_mesh_options()["size_mm"] == 1.0


@cgal
def test_sunnybrook_thick_slices():
    labels = io.read_image(require(SUNNYBROOK_ED_LABELS), dtype="uint8")
    fine, info = mesh.interpolate_slices(mesh.crop_to_labels(labels, [1, 2], 3))
    assert info["axis"] == 2 and info["factor"] == 8
    assert mesh.label_volumes_mm3(fine)[2] == pytest.approx(112.2e3, rel=0.02)
    result = mesh.mesh_label_map(labels, [2], size_mm=2.5)
    assert result.quality.total_volume_mm3 == pytest.approx(112.2e3, rel=0.05)
    tagged = mesh.tag_ventricles(result.mesh, result.prepared, lv_blood=1, base_direction=labels.direction[:, 2],
                                 base_depth_mm=2.5, meshed_labels=[2])
    report = mesh.check_surface_tags(tagged.surface, [mesh.LV_ENDO, mesh.EPI, mesh.BASE])
    assert report["ok"], report


def test_ellipsoidal_lv_and_tags():
    lv = mesh.ellipsoidal_lv(size_mm=1.5)
    wall, cavity = mesh.ellipsoidal_lv_volumes()
    assert lv.mesh.volumes().sum() == pytest.approx(wall, rel=0.03)
    assert cavity > 0
    tags = np.asarray(lv.surface.tags)
    assert set(np.unique(tags)) == {mesh.LV_ENDO, mesh.EPI, mesh.BASE}
    assert mesh.check_surface_tags(lv.surface, [1, 3, 4])["ok"]
    assert mesh.surface_tag("base") == mesh.BASE == 4
    q = mesh.quality_report(lv.mesh).to_dict()
    assert q["inverted"] == 0 and q["min_dihedral_deg"] > 5
    stl = mesh.printable_surface(lv.mesh)
    assert mesh.check_manifold(stl)["watertight"]
    with pytest.raises(cardiotwin.InvalidInput, match="unknown option"):
        mesh.ellipsoidal_lv(radius=3)


@tetgen
def test_surface_tags_survive_tetgen(square_surface):
    t = mesh.tetrahedralize_tagged(square_surface, max_volume_mm3=0.1)
    assert t.mesh.volumes().sum() == pytest.approx(8.0)
    assert set(np.unique(t.surface.tags)) == {1, 2, 3, 4, 5, 6}
    areas = mesh.face_areas(t.surface)
    for tag in range(1, 7):
        assert areas[np.asarray(t.surface.tags) == tag].sum() == pytest.approx(4.0)


@tetgen
def test_rodero_surface_volume():
    surface = io.read_surface(require(RODERO_VTP), tag_array="surface-id")
    oriented = surface.copy()
    mesh.orient_outward(oriented)
    enclosed = mesh.check_manifold(oriented)["signed_volume_mm3"]
    assert enclosed == pytest.approx(163.3e3, rel=1e-3)
    t = mesh.tetrahedralize_tagged(surface, max_radius_edge_ratio=0, check_self_intersections=False)
    assert t.mesh.volumes().sum() == pytest.approx(enclosed, rel=1e-6)
    assert mesh.check_surface_tags(t.surface, [1, 2, 3, 4])["tags"]["lv_endo"]["faces"] == 35339


@tetgen
def test_bad_surfaces_raise(square_surface):
    opened = cardiotwin.SurfaceMesh(np.asarray(square_surface.points), np.asarray(square_surface.triangles)[:-1])
    with pytest.raises(cardiotwin.InvalidInput, match="surface is not closed"):
        mesh.tetrahedralize(opened)
    pts = np.asarray(square_surface.points)
    tri = np.asarray(square_surface.triangles)
    twice = cardiotwin.SurfaceMesh(np.vstack([pts, pts + [1.0, 0.7, 0.6]]), np.vstack([tri, tri + len(pts)]))
    with pytest.raises(cardiotwin.InvalidInput, match="surface intersects itself"):
        mesh.tetrahedralize(twice)


def test_label_map_tools():
    labels = ball_labels(n=24, r1=3.0, l1=5, r2=0, l2=0)
    assert mesh.grow_wall(labels, 5, 2.0, 9) > 0
    v = mesh.label_volumes_mm3(labels)
    assert v[9] == pytest.approx(4 / 3 * math.pi * (5 ** 3 - 3 ** 3), rel=0.15)
    report = mesh.remove_islands(labels, [9], 0.05)
    assert report[0]["components"] == 1
