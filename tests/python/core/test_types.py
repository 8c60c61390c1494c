"""The bound core types: zero-copy arrays, geometry, meshes, signals, errors, build info."""

from __future__ import annotations

import gc
from pathlib import Path

import cardiotwin
import nibabel as nib
import numpy as np
import pytest
from cardiotwin import io
from conftest import box_mesh_arrays


def _sheared_geometry():
    spacing = np.array([0.8, 1.25, 3.0])
    direction = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # i -> +y, j -> -x
    c, s = np.cos(0.3), np.sin(0.3)
    direction = np.array([[1, 0, 0], [0, c, -s], [0, s, c]]) @ direction
    origin = np.array([-10.0, 22.5, 7.25])
    return spacing, origin, direction


# ---- Image / LabelMap ------------------------------------------------------------------------


def test_image_array_is_fortran_view_with_nibabel_indexing():
    data = np.arange(4 * 3 * 2, dtype=np.float32).reshape((4, 3, 2), order="F")
    image = cardiotwin.Image(data)
    assert image.shape == (4, 3, 2)
    a = image.array
    assert a.shape == (4, 3, 2) and a.dtype == np.float32
    assert a.flags.f_contiguous
    np.testing.assert_array_equal(a, data)
    # i varies fastest in memory, as in a NIfTI file.
    np.testing.assert_array_equal(np.ravel(a, order="K"), np.arange(24, dtype=np.float32))


def test_image_accepts_c_order_and_other_dtypes():
    data = np.arange(60, dtype=np.int16).reshape(5, 4, 3)  # C order
    image = cardiotwin.Image(data)
    np.testing.assert_array_equal(image.array, data.astype(np.float32))
    labels = cardiotwin.LabelMap(np.ones((2, 3, 4), dtype=np.uint8) * 7)
    assert labels.array.dtype == np.uint8 and labels.shape == (2, 3, 4)
    assert int(labels.array.sum()) == 7 * 24


def test_image_array_is_zero_copy_and_writable():
    image = cardiotwin.Image(np.zeros((3, 4, 5), dtype=np.float32))
    a = image.array
    b = image.array
    assert np.shares_memory(a, b)
    a[1, 2, 3] = 42.0
    assert image.array[1, 2, 3] == 42.0
    image.array[:, :, 0] = -1.0
    assert a[2, 3, 0] == -1.0


def test_views_keep_their_owner_alive():
    a = cardiotwin.Image(np.full((8, 8, 8), 3.5, dtype=np.float32)).array
    points = cardiotwin.TetMesh(*box_mesh_arrays()).points
    gc.collect()
    _ = [np.zeros(10000) for _ in range(20)]  # reuse freed memory, if it had been freed
    assert np.all(a == 3.5)
    np.testing.assert_array_equal(points, box_mesh_arrays()[0])
    image = cardiotwin.Image(np.zeros((2, 2, 2), dtype=np.float32))
    view = image.array
    del image
    gc.collect()
    view[0, 0, 0] = 1.0  # still valid memory
    assert view.sum() == 1.0


def test_image_geometry_and_affine_like_nibabel():
    spacing, origin, direction = _sheared_geometry()
    image = cardiotwin.Image(np.zeros((5, 6, 7), dtype=np.float32), spacing=spacing,
                             origin=origin, direction=direction)
    np.testing.assert_allclose(image.spacing, spacing)
    np.testing.assert_allclose(image.origin, origin)
    np.testing.assert_allclose(image.direction, direction, atol=1e-15)
    expected = np.eye(4)
    expected[:3, :3] = direction * spacing
    expected[:3, 3] = origin
    np.testing.assert_allclose(image.affine, expected, atol=1e-12)
    ijk = np.array([1.0, 2.5, 6.0])
    world = nib.affines.apply_affine(expected, ijk)
    np.testing.assert_allclose(image.index_to_world(ijk), world, atol=1e-12)
    np.testing.assert_allclose(image.world_to_index(world), ijk, atol=1e-12)


def test_image_default_geometry_and_set_geometry():
    image = cardiotwin.Image(np.zeros((2, 2, 2), dtype=np.float32))
    np.testing.assert_array_equal(image.affine, np.eye(4))
    image.set_geometry([2.0, 2.0, 4.0], [1.0, 2.0, 3.0], 2 * np.eye(3))  # columns are normalised
    np.testing.assert_allclose(image.direction, np.eye(3))
    np.testing.assert_allclose(image.affine, [[2, 0, 0, 1], [0, 2, 0, 2], [0, 0, 4, 3],
                                              [0, 0, 0, 1]])


def test_affine_setter_keeps_shear():
    image = cardiotwin.LabelMap(np.zeros((2, 2, 2), dtype=np.uint8))
    affine = np.array([[0.0, 1.0, 0.3, -5.0], [-2.0, 0.0, 0.0, 4.0], [0.0, 0.2, 3.0, 1.0],
                       [0.0, 0.0, 0.0, 1.0]])
    image.affine = affine
    np.testing.assert_allclose(image.affine, affine, atol=1e-12)
    np.testing.assert_allclose(image.spacing, np.linalg.norm(affine[:3, :3], axis=0))


@pytest.mark.parametrize("spacing", [(0.0, 1.0, 1.0), (1.0, -2.0, 1.0), (1.0, 1.0, np.nan)])
def test_bad_spacing_raises_invalid_input(spacing):
    with pytest.raises(cardiotwin.InvalidInput) as info:
        cardiotwin.Image(np.zeros((2, 2, 2), dtype=np.float32), spacing=spacing)
    assert isinstance(info.value, ValueError)
    assert "spacing" in str(info.value)


def test_singular_direction_raises_invalid_input():
    image = cardiotwin.Image(np.zeros((2, 2, 2), dtype=np.float32))
    with pytest.raises(cardiotwin.InvalidInput, match="direction"):
        image.set_geometry([1, 1, 1], [0, 0, 0], [[1, 0, 0], [0, 1, 0], [1, 1, 0]])


# ---- TetMesh / SurfaceMesh -------------------------------------------------------------------


def test_tet_mesh_arrays_and_dtypes(box_mesh):
    assert box_mesh.num_points == 27 and box_mesh.num_tets == 48
    assert box_mesh.points.shape == (27, 3) and box_mesh.points.dtype == np.float64
    assert box_mesh.tets.shape == (48, 4) and box_mesh.tets.dtype == np.int32
    assert box_mesh.region.shape == (48,) and box_mesh.region.dtype == np.int32
    assert set(np.unique(box_mesh.region)) == {1, 2}
    for name in ("fibre", "sheet", "normal"):
        assert getattr(box_mesh, name).shape == (48, 3)


def test_tet_mesh_views_are_zero_copy(box_mesh):
    p = box_mesh.points
    assert np.shares_memory(p, box_mesh.points)
    p[0] = [-1.0, -2.0, -3.0]
    np.testing.assert_array_equal(box_mesh.points[0], [-1.0, -2.0, -3.0])
    box_mesh.region[:] = 9
    assert np.all(box_mesh.region == 9)
    f = box_mesh.fibre
    f[3] = [0.0, 0.0, 1.0]
    np.testing.assert_array_equal(box_mesh.fibre[3], [0.0, 0.0, 1.0])


def test_empty_tet_mesh_has_empty_directions():
    mesh = cardiotwin.TetMesh()
    assert mesh.num_points == 0 and mesh.num_tets == 0
    assert mesh.fibre.shape == (0, 3) and mesh.sheet.shape == (0, 3)
    points, tets, _ = box_mesh_arrays((1, 1, 1))
    mesh = cardiotwin.TetMesh(points=points, tets=tets)
    assert mesh.fibre.shape == (0, 3)
    assert len(mesh.region) in (0, mesh.num_tets)


def test_fields_are_two_dimensional(box_mesh):
    phi = box_mesh.point_data["phi"]
    assert phi.shape == (27, 1) and phi.dtype == np.float64
    assert box_mesh.cell_data["gradient"].shape == (48, 3)
    assert "phi" in box_mesh.point_data and "nothing" not in box_mesh.point_data
    assert set(box_mesh.point_data.keys()) == {"phi"}
    box_mesh.cell_data["ones"] = np.ones(48)
    assert box_mesh.cell_data["ones"].shape == (48, 1)


def test_check_reports_volume_and_problems(box_mesh):
    check = box_mesh.check()
    assert check.ok
    assert check.num_points == 27 and check.num_cells == 48
    assert check.inverted == 0 and check.degenerate == 0 and check.out_of_range == 0
    assert check.total_measure == pytest.approx(3.0**3)  # 2 x 2 x 2 cubes of 1.5 mm
    assert check.min_measure == pytest.approx(1.5**3 / 6)
    assert check.first_bad_cell == -1
    d = check.to_dict()
    assert d["total_measure"] == pytest.approx(27.0)
    box_mesh.validate()

    tets = box_mesh.tets
    tets[5, [2, 3]] = tets[5, [3, 2]]  # invert one tet, through the view
    check = box_mesh.check()
    assert not check.ok and check.inverted == 1 and check.first_bad_cell == 5
    with pytest.raises(cardiotwin.InvalidInput):
        box_mesh.validate(name="box")


def test_check_out_of_range_and_repeated_nodes():
    points, tets, _ = box_mesh_arrays((1, 1, 1))
    bad = tets.copy()
    bad[0, 0] = 99
    bad[1, 1] = bad[1, 0]
    check = cardiotwin.TetMesh(points=points, tets=bad).check()
    assert check.out_of_range == 1 and check.repeated_nodes == 1 and not check.ok


def test_assigning_arrays(box_mesh):
    points, tets, _ = box_mesh_arrays((1, 1, 1))
    mesh = cardiotwin.TetMesh()
    mesh.points = points
    mesh.tets = tets.astype(np.int64)
    mesh.region = np.full(len(tets), 3)
    assert mesh.tets.dtype == np.int32 and mesh.num_tets == 6
    assert np.all(mesh.region == 3)
    mesh.fibre = np.tile([1.0, 0.0, 0.0], (6, 1))
    assert mesh.fibre.shape == (6, 3)
    assert mesh.check().total_measure == pytest.approx(1.5**3)


def test_surface_mesh(square_surface):
    s = square_surface
    assert s.num_points == 8 and s.num_triangles == 12
    assert s.triangles.dtype == np.int32 and s.tags.dtype == np.int32
    assert sorted(np.unique(s.tags)) == [1, 2, 3, 4, 5, 6]
    check = s.check()
    assert check.ok and check.total_measure == pytest.approx(24.0)  # area of a 2 mm cube
    s.validate()
    t = s.triangles
    assert np.shares_memory(t, s.triangles)
    assert s.point_data["height"].shape == (8, 1)


# ---- Signals ---------------------------------------------------------------------------------


def test_signals():
    t = np.arange(5) * 2.0
    values = np.column_stack([np.sin(t), np.cos(t)])
    sig = cardiotwin.Signals(t, ["I", "II"], values, metadata={"source": "test"})
    assert sig.units == "mV"
    assert list(sig.names) == ["I", "II"]
    np.testing.assert_array_equal(sig.time_ms, t)
    np.testing.assert_array_equal(sig.values, values)
    np.testing.assert_array_equal(sig.channel("II"), np.cos(t))
    assert sig.metadata["source"] == "test"
    with pytest.raises(cardiotwin.InvalidInput, match="II"):
        sig.channel("V7")


# ---- errors and build information ------------------------------------------------------------


def test_exception_hierarchy():
    assert issubclass(cardiotwin.FileFormatError, cardiotwin.Error)
    assert issubclass(cardiotwin.FileFormatError, ValueError)
    assert issubclass(cardiotwin.FileIOError, OSError)
    assert issubclass(cardiotwin.InvalidInput, ValueError)
    assert issubclass(cardiotwin.SolverDiverged, RuntimeError)
    assert issubclass(cardiotwin.MissingComponent, ImportError)
    for cls in (cardiotwin.FileIOError, cardiotwin.InvalidInput, cardiotwin.SolverDiverged,
                cardiotwin.MissingComponent):
        assert issubclass(cls, cardiotwin.Error)


def test_errors_from_cpp_carry_where(tmp_path):
    bad = tmp_path / "bad.nii"
    bad.write_bytes(b"\x00" * 400)
    with pytest.raises(cardiotwin.FileFormatError) as info:
        io.read_nifti(str(bad))
    err = info.value
    for attr in ("expected", "found", "file", "field", "element"):
        assert hasattr(err, attr)
    assert "bad.nii" in err.file or "bad.nii" in str(err)


def test_build_information():
    assert isinstance(cardiotwin.__version__, str) and cardiotwin.__version__
    for flag in (cardiotwin.has_cgal, cardiotwin.has_tetgen, cardiotwin.has_torch):
        assert isinstance(flag, bool)
    assert "core" in cardiotwin.components and "io" in cardiotwin.components
    assert ("mesh_cgal" in cardiotwin.components) == cardiotwin.has_cgal
    assert ("mesh_tetgen" in cardiotwin.components) == cardiotwin.has_tetgen
    cmake_dir = Path(cardiotwin.get_cmake_dir())
    assert (cmake_dir / "cardiotwinConfig.cmake").is_file()
