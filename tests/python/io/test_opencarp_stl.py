"""openCARP (.pts/.elem/.lon, um on disk) and STL files."""

from __future__ import annotations

import struct

import cardiotwin
import meshio
import numpy as np
import pytest
from cardiotwin import io
from conftest import RODERO_VTP, box_mesh_arrays

# ---- openCARP --------------------------------------------------------------------------------


def _write_text(path, lines):
    path.write_text("\n".join(lines) + "\n")


def test_round_trip_and_units(tmp_path, box_mesh):
    base = tmp_path / "box"
    io.write_mesh(base, box_mesh)
    for ext in (".pts", ".elem", ".lon"):
        assert (tmp_path / f"box{ext}").is_file()
    pts = (tmp_path / "box.pts").read_text().split("\n")
    assert int(pts[0]) == box_mesh.num_points
    np.testing.assert_allclose(np.array(pts[1].split(), dtype=float),
                               box_mesh.points[0] * 1000.0)  # um on disk
    elem = (tmp_path / "box.elem").read_text().split("\n")
    assert int(elem[0]) == box_mesh.num_tets
    first = elem[1].split()
    assert first[0] == "Tt"
    assert [int(x) for x in first[1:5]] == box_mesh.tets[0].tolist()
    assert int(first[5]) == box_mesh.region[0]
    lon = (tmp_path / "box.lon").read_text().split("\n")
    assert int(lon[0]) == 2  # fibre and sheet
    np.testing.assert_allclose(np.array(lon[1].split(), dtype=float),
                               np.concatenate([box_mesh.fibre[0], box_mesh.sheet[0]]), atol=1e-6)

    back = io.read_mesh(base)
    np.testing.assert_allclose(back.points, box_mesh.points, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(back.tets, box_mesh.tets)
    np.testing.assert_array_equal(back.region, box_mesh.region)
    np.testing.assert_allclose(back.fibre, box_mesh.fibre, atol=1e-6)
    np.testing.assert_allclose(back.sheet, box_mesh.sheet, atol=1e-6)
    np.testing.assert_allclose(back.normal, np.cross(box_mesh.fibre, box_mesh.sheet), atol=1e-6)


@pytest.mark.parametrize("name", ["m", "m.pts", "m.elem", "m.lon"])
def test_any_of_the_files_names_the_mesh(tmp_path, box_mesh, name):
    io.write_mesh(tmp_path / "m.elem", box_mesh)
    mesh = io.read_mesh(tmp_path / name)
    assert mesh.num_tets == box_mesh.num_tets


def test_hand_written_files(tmp_path):
    _write_text(tmp_path / "t.pts", ["4", "0 0 0", "1000 0 0", "0 2000 0", "0 0 500"])
    _write_text(tmp_path / "t.elem", ["1", "Tt 0 1 2 3 7"])
    _write_text(tmp_path / "t.lon", ["1", "1 0 0"])
    mesh = io.read_mesh(tmp_path / "t")
    np.testing.assert_allclose(mesh.points, [[0, 0, 0], [1, 0, 0], [0, 2, 0], [0, 0, 0.5]])
    np.testing.assert_array_equal(mesh.tets, [[0, 1, 2, 3]])
    np.testing.assert_array_equal(mesh.region, [7])
    np.testing.assert_allclose(mesh.fibre, [[1, 0, 0]])
    assert mesh.check().total_measure == pytest.approx(1 * 2 * 0.5 / 6)


def test_mesh_without_fibres_writes_no_lon(tmp_path):
    points, tets, region = box_mesh_arrays((1, 1, 1))
    io.write_mesh(tmp_path / "plain.pts", cardiotwin.TetMesh(points=points, tets=tets,
                                                              region=region))
    assert not (tmp_path / "plain.lon").exists()
    mesh = io.read_mesh(tmp_path / "plain")
    assert mesh.fibre.shape == (0, 3)


@pytest.mark.parametrize("elem, word", [
    (["1", "Hx 0 1 2 3 4 5 6 7 1"], "Hx"),      # hexahedra are not tetrahedra
    (["2", "Tt 0 1 2 3 1"], ""),                 # fewer elements than announced
    (["1", "Tt 0 1 2 one 1"], ""),               # not a number
])
def test_malformed_elem_raises_file_format_error(tmp_path, elem, word):
    _write_text(tmp_path / "b.pts", ["4", "0 0 0", "1000 0 0", "0 1000 0", "0 0 1000"])
    _write_text(tmp_path / "b.elem", elem)
    with pytest.raises(cardiotwin.FileFormatError) as info:
        io.read_mesh(tmp_path / "b")
    assert "b.elem" in str(info.value) or "b.elem" in info.value.file
    assert word in str(info.value)


def test_malformed_pts_raises_file_format_error(tmp_path):
    _write_text(tmp_path / "b.pts", ["5", "0 0 0", "1000 0 0"])
    _write_text(tmp_path / "b.elem", ["1", "Tt 0 1 2 3 1"])
    with pytest.raises(cardiotwin.FileFormatError) as info:
        io.read_mesh(tmp_path / "b")
    assert "b.pts" in str(info.value) or "b.pts" in info.value.file


def test_missing_elem_raises_file_io_error(tmp_path):
    _write_text(tmp_path / "lonely.pts", ["1", "0 0 0"])
    with pytest.raises(cardiotwin.FileIOError) as info:
        io.read_mesh(tmp_path / "lonely")
    assert "lonely" in str(info.value)


# ---- STL -------------------------------------------------------------------------------------


def _triangle_set(points, triangles):
    """Triangles as a set of coordinate triples, independent of the point numbering."""
    return {tuple(map(tuple, np.round(points[t], 6))) for t in triangles}


# meshio's own binary/ASCII guess overflows a small integer on ASCII files (harmless).
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("encoding", ["binary", "ascii"])
def test_our_stl_reads_in_meshio_and_back(tmp_path, square_surface, encoding):
    path = tmp_path / "cube.stl"
    io.write_surface(path, square_surface, encoding=encoding)
    head = path.read_bytes()[:5]
    assert (head == b"solid") == (encoding == "ascii")
    if encoding == "binary":
        assert path.stat().st_size == 84 + 50 * 12
        assert struct.unpack("<I", path.read_bytes()[80:84])[0] == 12
    m = meshio.read(path)
    expected = _triangle_set(np.asarray(square_surface.points), square_surface.triangles)
    assert _triangle_set(m.points, m.cells[0].data) == expected
    back = io.read_surface(path)
    assert back.num_points == 8  # coincident vertices merged
    assert back.num_triangles == 12
    assert _triangle_set(np.asarray(back.points), back.triangles) == expected
    assert back.check().total_measure == pytest.approx(24.0)


@pytest.mark.parametrize("binary", [True, False])
def test_meshio_written_stl_reads_with_ours(tmp_path, binary):
    surface = io.read_surface(RODERO_VTP, tag_array="surface-id")
    tris = surface.triangles[:2000]
    m = meshio.Mesh(np.asarray(surface.points, dtype=np.float64), [("triangle", tris)])
    meshio.write(tmp_path / "part.stl", m, binary=binary)
    ours = io.read_surface(tmp_path / "part.stl")
    assert ours.num_triangles == 2000
    assert ours.num_points == len(np.unique(tris))
    expected = _triangle_set(np.asarray(surface.points, dtype=np.float32).astype(float), tris)
    assert _triangle_set(np.asarray(ours.points), ours.triangles) == expected


def test_binary_stl_starting_with_solid_is_binary(tmp_path, square_surface):
    path = tmp_path / "tricky.stl"
    io.write_stl(str(path), square_surface, binary=True)
    data = bytearray(path.read_bytes())
    data[:5] = b"solid"  # some exporters write this into the binary header
    path.write_bytes(bytes(data))
    assert io.read_surface(path).num_triangles == 12


@pytest.mark.parametrize("content", [b"solid x\n  facet normal 0 0 1\n  outer loop\n",
                                     b"\x00" * 84 + b"\x01\x02",
                                     b"\x00" * 80 + struct.pack("<I", 5) + b"\x00" * 50])
def test_malformed_stl_raises_file_format_error(tmp_path, content):
    path = tmp_path / "bad.stl"
    path.write_bytes(content)
    with pytest.raises(cardiotwin.FileFormatError) as info:
        io.read_surface(path)
    assert "bad.stl" in str(info.value) or "bad.stl" in info.value.file
