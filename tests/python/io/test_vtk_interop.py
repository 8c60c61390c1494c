"""VTK XML files (.vtu, .vtp, .pvd) checked against meshio, and the meshio/pyvista conversions."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import cardiotwin
import meshio
import numpy as np
import pytest
from cardiotwin import io
from conftest import RODERO_VTP, box_mesh_arrays

RODERO_TAG_COUNTS = {1: 35339, 2: 63265, 3: 839, 4: 881}


def _meshio_read_vtp(path, tmp_path):
    """Read a triangle ``.vtp`` with meshio, which reads ``.vtu`` only.

    The XML header is rewritten as an UnstructuredGrid (Polys become Cells of VTK type 5,
    triangle; empty Verts/Lines/Strips are dropped). The data arrays, with their encoding,
    compression and any raw appended block, are left as they are, so meshio decodes them itself.
    """
    data = Path(path).read_bytes()
    cut = data.find(b"<AppendedData")
    head, tail = (data, b"") if cut < 0 else (data[:cut], data[cut:])
    text = head.decode("latin-1")
    n = int(re.search(r'NumberOfPolys="(\d+)"', text).group(1))
    for kind in ("Verts", "Lines", "Strips"):
        block = re.search(rf"<{kind}>.*?</{kind}>", text, flags=re.S)
        if block:
            assert re.search(rf'NumberOf{kind}="0"', text), f"{kind} are not empty"
            text = text.replace(block.group(0), "")
    text = re.sub(r'\s*NumberOf(Verts|Lines|Strips)="\d+"', "", text)
    text = text.replace(f'NumberOfPolys="{n}"', f'NumberOfCells="{n}"')
    text = text.replace('type="PolyData"', 'type="UnstructuredGrid"')
    text = text.replace("<PolyData>", "<UnstructuredGrid>")
    text = text.replace("</PolyData>", "</UnstructuredGrid>")
    types = '<DataArray type="UInt8" Name="types" format="ascii">' + " 5" * n + "</DataArray>"
    text = text.replace("<Polys>", "<Cells>").replace("</Polys>", types + "</Cells>")
    out = tmp_path / (Path(path).stem + "_as_vtu.vtu")
    out.write_bytes(text.encode("latin-1") + tail)
    return meshio.read(out)


def _assert_same_mesh(mesh, ref):
    np.testing.assert_allclose(mesh.points, ref.points, rtol=1e-14, atol=0)
    np.testing.assert_array_equal(mesh.tets, ref.tets)
    np.testing.assert_array_equal(mesh.region, ref.region)
    for name in ("fibre", "sheet", "normal"):
        np.testing.assert_allclose(getattr(mesh, name), getattr(ref, name), rtol=1e-14)
    assert set(mesh.point_data.keys()) == set(ref.point_data.keys())
    for name in ref.point_data:
        np.testing.assert_allclose(mesh.point_data[name], ref.point_data[name], rtol=1e-14)
    for name in ref.cell_data:
        np.testing.assert_allclose(mesh.cell_data[name], ref.cell_data[name], rtol=1e-14)


# ---- .vtu ------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["binary", "ascii", "compressed"])
def test_our_vtu_reads_identically_in_meshio(tmp_path, box_mesh, encoding):
    path = tmp_path / f"box_{encoding}.vtu"
    io.write_mesh(path, box_mesh, encoding=encoding)
    m = meshio.read(path)
    np.testing.assert_allclose(m.points, box_mesh.points, rtol=1e-15)
    assert [block.type for block in m.cells] == ["tetra"]
    np.testing.assert_array_equal(m.cells[0].data, box_mesh.tets)
    np.testing.assert_array_equal(np.ravel(m.cell_data["region"][0]), box_mesh.region)
    np.testing.assert_allclose(m.cell_data["fibre"][0], box_mesh.fibre, rtol=1e-15)
    np.testing.assert_allclose(m.cell_data["sheet"][0], box_mesh.sheet, rtol=1e-15)
    np.testing.assert_allclose(np.reshape(m.cell_data["gradient"][0], (-1, 3)),
                               box_mesh.cell_data["gradient"], rtol=1e-15)
    np.testing.assert_allclose(np.ravel(m.point_data["phi"]), box_mesh.point_data["phi"][:, 0],
                               rtol=1e-15)
    # And back through our reader.
    _assert_same_mesh(io.read_mesh(path), box_mesh)


def test_vtu_encodings_differ_on_disk(tmp_path, box_mesh):
    sizes = {}
    for encoding in ("binary", "ascii", "compressed"):
        path = tmp_path / f"{encoding}.vtu"
        io.write_vtu(str(path), box_mesh, encoding=encoding)
        text = path.read_bytes()
        sizes[encoding] = len(text)
        assert text.lstrip().startswith(b"<")
        if encoding == "compressed":
            assert b"vtkZLibDataCompressor" in text
        if encoding == "ascii":
            assert b'format="ascii"' in text
    assert len(set(sizes.values())) == 3


@pytest.mark.parametrize("binary, compression", [(False, None), (True, None), (True, "zlib")])
def test_meshio_written_vtu_reads_with_ours(tmp_path, binary, compression):
    points, tets, region = box_mesh_arrays((3, 2, 1), h=0.75)
    m = len(tets)
    fibre = np.tile([0.0, 1.0, 0.0], (m, 1))
    temperature = np.linspace(0.0, 1.0, len(points))
    velocity = np.column_stack([points[:, 1], -points[:, 0], np.zeros(len(points))])
    mesh = meshio.Mesh(points, [("tetra", tets)],
                       point_data={"temperature": temperature, "velocity": velocity},
                       cell_data={"region": [region], "fibre": [fibre],
                                  "pressure": [np.arange(m, dtype=np.float64)]})
    path = tmp_path / "meshio.vtu"
    meshio.write(path, mesh, binary=binary, compression=compression)
    ours = io.read_mesh(path)
    assert isinstance(ours, cardiotwin.TetMesh)
    rtol = 1e-15 if binary else 1e-10  # meshio writes ASCII with 12 significant digits
    np.testing.assert_allclose(ours.points, points, rtol=rtol)
    np.testing.assert_array_equal(ours.tets, tets)
    np.testing.assert_array_equal(ours.region, region)
    np.testing.assert_allclose(ours.fibre, fibre)
    np.testing.assert_allclose(ours.point_data["temperature"][:, 0], temperature, rtol=rtol)
    np.testing.assert_allclose(ours.point_data["velocity"], velocity, rtol=rtol)
    np.testing.assert_allclose(ours.cell_data["pressure"][:, 0], np.arange(m))
    assert ours.check().ok


def test_vtu_with_other_cell_types_is_rejected(tmp_path):
    points = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0],
                       [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]], dtype=float)
    meshio.write(tmp_path / "hex.vtu", meshio.Mesh(points, [("hexahedron", [list(range(8))])]),
                 binary=False)
    with pytest.raises(cardiotwin.FileFormatError) as info:
        io.read_mesh(tmp_path / "hex.vtu")
    assert "hex.vtu" in str(info.value) or "hex.vtu" in info.value.file


@pytest.mark.parametrize("content", [
    b"",
    b"not xml at all",
    b"<?xml version='1.0'?><VTKFile type='UnstructuredGrid'><UnstructuredGrid>",
    b"<VTKFile type='PolyData'><PolyData></PolyData></VTKFile>",
])
def test_malformed_vtu_raises_file_format_error(tmp_path, content):
    path = tmp_path / "bad.vtu"
    path.write_bytes(content)
    with pytest.raises(cardiotwin.FileFormatError) as info:
        io.read_mesh(path)
    assert "bad.vtu" in str(info.value) or "bad.vtu" in info.value.file


def test_vtu_with_corrupt_binary_data(tmp_path, box_mesh):
    path = tmp_path / "box.vtu"
    io.write_mesh(path, box_mesh, encoding="ascii")
    text = path.read_text()
    start = text.index('Name="connectivity"')
    body = text.index(">", start) + 1
    path.write_text(text[:body] + " 0 1 2 x" + text[body:])  # a non-number in the connectivity
    with pytest.raises(cardiotwin.FileFormatError):
        io.read_mesh(path)


# ---- .vtp ------------------------------------------------------------------------------------


def test_rodero_vtp_matches_meshio(tmp_path):
    ref = _meshio_read_vtp(RODERO_VTP, tmp_path)
    surface = io.read_surface(RODERO_VTP, tag_array="surface-id")
    assert isinstance(surface, cardiotwin.SurfaceMesh)
    assert surface.num_points == 50162 and surface.num_triangles == 100324
    np.testing.assert_array_equal(surface.points, ref.points)
    triangles = np.concatenate([b.data for b in ref.cells if b.type == "triangle"])
    np.testing.assert_array_equal(surface.triangles, triangles)
    ref_tags = np.ravel(ref.cell_data["surface-id"][0])
    np.testing.assert_array_equal(surface.tags, ref_tags)
    assert {int(t): int(n) for t, n in zip(*np.unique(surface.tags, return_counts=True))} \
        == RODERO_TAG_COUNTS
    assert "surface-id" in surface.cell_data  # stays a field too
    extent = surface.points.max(axis=0) - surface.points.min(axis=0)
    np.testing.assert_allclose(extent, [85.7, 93.4, 94.7], atol=0.1)
    assert surface.check().total_measure == pytest.approx(36120.0, rel=1e-3)  # 361.2 cm^2


def test_rodero_vtp_matches_pyvista():
    pv = pytest.importorskip("pyvista", reason="pyvista is optional")
    ref = pv.read(RODERO_VTP)
    surface = io.read_surface(RODERO_VTP, tag_array="surface-id")
    np.testing.assert_array_equal(surface.points, ref.points)
    np.testing.assert_array_equal(surface.triangles, ref.faces.reshape(-1, 4)[:, 1:])
    np.testing.assert_array_equal(surface.tags, ref.cell_data["surface-id"])


def test_rodero_vtp_without_tag_array_has_no_tags():
    surface = io.read_surface(RODERO_VTP)  # default tag array "tag" is absent
    assert len(surface.tags) == 0 or not np.any(surface.tags)


@pytest.mark.parametrize("encoding", ["binary", "ascii", "compressed"])
def test_our_vtp_reads_identically_in_meshio(tmp_path, square_surface, encoding):
    path = tmp_path / "cube.vtp"
    io.write_surface(path, square_surface, encoding=encoding)
    m = _meshio_read_vtp(path, tmp_path)
    np.testing.assert_allclose(m.points, square_surface.points)
    np.testing.assert_array_equal(m.cells[0].data, square_surface.triangles)
    np.testing.assert_array_equal(np.ravel(m.cell_data["tag"][0]), square_surface.tags)
    back = io.read_surface(path)
    np.testing.assert_array_equal(back.tags, square_surface.tags)
    np.testing.assert_allclose(back.point_data["height"], square_surface.point_data["height"])


def test_rodero_round_trip(tmp_path):
    surface = io.read_surface(RODERO_VTP, tag_array="surface-id")
    io.write_surface(tmp_path / "r.vtp", surface, encoding="compressed")
    back = io.read_surface(tmp_path / "r.vtp")
    np.testing.assert_array_equal(back.points, surface.points)
    np.testing.assert_array_equal(back.triangles, surface.triangles)
    np.testing.assert_array_equal(back.tags, surface.tags)


def test_malformed_vtp_raises_file_format_error(tmp_path):
    data = RODERO_VTP.read_bytes()
    (tmp_path / "cut.vtp").write_bytes(data[: len(data) // 3])
    with pytest.raises(cardiotwin.FileFormatError):
        io.read_surface(tmp_path / "cut.vtp")


# ---- .pvd ------------------------------------------------------------------------------------


def test_pvd_round_trip(tmp_path):
    entries = [(0.0, "frames/vm_0000.vtu", 0), (0.5, "frames/vm_0001.vtu", 0),
               (1.25, "frames/vm_0002.vtu", 0)]
    path = tmp_path / "vm.pvd"
    io.write_pvd(str(path), entries)
    root = ET.parse(path).getroot()
    assert root.get("type") == "Collection"
    datasets = root.findall("./Collection/DataSet")
    assert [float(d.get("timestep")) for d in datasets] == [0.0, 0.5, 1.25]
    assert [d.get("file") for d in datasets] == [e[1] for e in entries]
    back = io.read_pvd(str(path))
    assert [(float(t), str(f), int(p)) for t, f, p in back] == entries


# ---- meshio / pyvista conversions ------------------------------------------------------------


def test_to_and_from_meshio(box_mesh):
    m = io.to_meshio(box_mesh)
    assert isinstance(m, meshio.Mesh)
    assert m.cells[0].type == "tetra"
    np.testing.assert_array_equal(m.cell_data["region"][0], box_mesh.region)
    np.testing.assert_allclose(m.cell_data["fibre"][0], box_mesh.fibre)
    assert m.point_data["phi"].shape == (box_mesh.num_points,)
    back = io.from_meshio(m)
    assert isinstance(back, cardiotwin.TetMesh)
    _assert_same_mesh(back, box_mesh)


def test_from_meshio_keeps_tetra_and_maps_gmsh_tags(tmp_path):
    points, tets, region = box_mesh_arrays((1, 1, 1))
    boundary = np.array([[0, 1, 3], [0, 3, 2]])
    m = meshio.Mesh(points, [("triangle", boundary), ("tetra", tets)],
                    cell_data={"gmsh:physical": [np.array([7, 7]), region + 10]})
    with pytest.warns(UserWarning, match="triangle"):
        mesh = io.from_meshio(m)
    assert mesh.num_tets == 6
    np.testing.assert_array_equal(mesh.region, region + 10)


def test_surface_to_and_from_meshio(square_surface):
    m = io.to_meshio(square_surface)
    assert m.cells[0].type == "triangle"
    back = io.from_meshio(m)
    assert isinstance(back, cardiotwin.SurfaceMesh)
    np.testing.assert_array_equal(back.triangles, square_surface.triangles)
    np.testing.assert_array_equal(back.tags, square_surface.tags)


def test_from_meshio_without_usable_cells():
    m = meshio.Mesh(np.zeros((2, 3)), [("line", np.array([[0, 1]]))])
    with pytest.raises(cardiotwin.InvalidInput, match="line"):
        io.from_meshio(m)


def test_pyvista_round_trip(box_mesh, square_surface):
    pv = pytest.importorskip("pyvista", reason="pyvista is optional")
    grid = io.to_pyvista(box_mesh)
    assert isinstance(grid, pv.UnstructuredGrid)
    assert grid.n_cells == box_mesh.num_tets and grid.n_points == box_mesh.num_points
    assert grid.volume == pytest.approx(27.0)
    np.testing.assert_array_equal(grid.cell_data["region"], box_mesh.region)
    _assert_same_mesh(io.from_pyvista(grid), box_mesh)

    poly = io.to_pyvista(square_surface)
    assert isinstance(poly, pv.PolyData) and poly.n_cells == 12
    assert poly.area == pytest.approx(24.0)
    back = io.from_pyvista(poly)
    np.testing.assert_array_equal(back.triangles, square_surface.triangles)
    np.testing.assert_array_equal(back.tags, square_surface.tags)

    with pytest.raises(cardiotwin.InvalidInput, match="VOXEL"):
        io.from_pyvista(pv.ImageData(dimensions=(3, 3, 3)).cast_to_unstructured_grid())


def test_pyvista_missing_gives_install_hint(monkeypatch, box_mesh):
    import sys

    monkeypatch.setitem(sys.modules, "pyvista", None)
    with pytest.raises(ImportError, match="pip install pyvista"):
        io.to_pyvista(box_mesh)


def test_mesh_dispatch_errors(tmp_path, box_mesh, square_surface):
    with pytest.raises(cardiotwin.InvalidInput) as info:
        io.read_mesh(tmp_path / "mesh.msh")
    assert ".vtu" in str(info.value) and ".msh" in str(info.value)
    with pytest.raises(cardiotwin.InvalidInput, match=r"\.vtp"):
        io.write_surface(tmp_path / "s.obj", square_surface)
    with pytest.raises(cardiotwin.InvalidInput, match="encoding"):
        io.write_mesh(tmp_path / "m.vtu", box_mesh, encoding="base64")
    with pytest.raises(cardiotwin.FileIOError):
        io.read_mesh(tmp_path / "missing.vtu")
