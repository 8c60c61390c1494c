"""Paths to the test data and small meshes shared by the Python tests.

Bundled data lives in ``tests/data`` (always present). Larger data is read from the shared data
folder beside the repository (``../shared/data``); tests that need it skip, saying why, when it
is absent.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
SHARED_DATA = REPO.parent / "shared" / "data"

SUNNYBROOK = DATA / "sunnybrook"
SUNNYBROOK_ED = SUNNYBROOK / "SCD0000101_ED.nii.gz"
SUNNYBROOK_ED_LABELS = SUNNYBROOK / "SCD0000101_ED_gt.nii.gz"
SUNNYBROOK_JSON = SUNNYBROOK / "SCD0000101.json"
SUNNYBROOK_DICOM = SUNNYBROOK / "dicom_SCD0000101_ED"
RODERO_VTP = DATA / "rodero" / "rodero01_lv_surface.vtp"
WHOLE_HEART_LABELS = SHARED_DATA / "labelmaps" / "heartdeformnets_wh.nii.gz"
WHOLE_HEART_JSON = SHARED_DATA / "labelmaps" / "labels.json"


def require(path: Path) -> Path:
    """`path`, or skip the test when it does not exist."""
    if not path.exists():
        where = "bundled test data" if DATA in path.parents else "shared data (../shared/data)"
        pytest.skip(f"{path} is absent ({where} not available here)")
    return path


@pytest.fixture
def whole_heart_labels() -> Path:
    return require(WHOLE_HEART_LABELS)


# Kuhn split of the unit cube into 6 tets along the diagonal 000 -> 111: one tet per order in
# which the three axes are walked. Corner c has offset (c & 1, c >> 1 & 1, c >> 2 & 1).
def _kuhn_tets() -> list[tuple[int, int, int, int]]:
    tets = []
    for perm in itertools.permutations(range(3)):
        corners, c = [0], 0
        for axis in perm:
            c |= 1 << axis
            corners.append(c)
        # det[e_a, e_b, e_c] is the sign of the permutation: swap two nodes of odd ones.
        odd = sum(perm[i] > perm[j] for i in range(3) for j in range(i + 1, 3)) % 2
        if odd:
            corners[2], corners[3] = corners[3], corners[2]
        tets.append(tuple(corners))
    return tets


KUHN_TETS = _kuhn_tets()


def box_mesh_arrays(n: tuple[int, int, int] = (2, 2, 2), h: float = 1.5):
    """Points ``((n+1)^3, 3)`` and positively oriented tets ``(6 * n^3, 4)`` of a box of
    ``n`` cubes of edge `h` mm, and a region tag per tet (1 for x < half, else 2)."""
    nx, ny, nz = n
    ii, jj, kk = np.meshgrid(np.arange(nx + 1), np.arange(ny + 1), np.arange(nz + 1),
                             indexing="ij")
    points = np.column_stack([ii.ravel(order="F"), jj.ravel(order="F"),
                              kk.ravel(order="F")]).astype(np.float64) * h

    def node(i, j, k):
        return i + (nx + 1) * (j + (ny + 1) * k)

    tets, region = [], []
    for k in range(nz):
        for j in range(ny):
            for i in range(nx):
                corner = [node(i + (c & 1), j + (c >> 1 & 1), k + (c >> 2 & 1)) for c in range(8)]
                for t in KUHN_TETS:
                    tets.append([corner[c] for c in t])
                    region.append(1 if i < nx / 2 else 2)
    return points, np.array(tets, dtype=np.int32), np.array(region, dtype=np.int32)


@pytest.fixture
def box_mesh():
    """A 2 x 2 x 2-cube tet mesh (48 tets, 27 points) with regions, fibres and two fields."""
    import cardiotwin

    points, tets, region = box_mesh_arrays()
    mesh = cardiotwin.TetMesh(points=points, tets=tets, region=region)
    m = len(tets)
    angle = np.linspace(0.0, np.pi / 3, m)
    mesh.fibre = np.column_stack([np.cos(angle), np.sin(angle), np.zeros(m)])
    mesh.sheet = np.column_stack([-np.sin(angle), np.cos(angle), np.zeros(m)])
    mesh.normal = np.tile([0.0, 0.0, 1.0], (m, 1))
    mesh.point_data["phi"] = points[:, 0] / points[:, 0].max()
    mesh.cell_data["gradient"] = np.column_stack([np.arange(m), -np.arange(m), np.ones(m)]) * 0.5
    return mesh


@pytest.fixture
def square_surface():
    """The closed surface of a 2 mm cube as 12 triangles (outward normals), tags 1..6 per side."""
    import cardiotwin

    points = np.array([[x, y, z] for z in (0, 2) for y in (0, 2) for x in (0, 2)], dtype=float)
    quads = [(0, 2, 3, 1), (4, 5, 7, 6), (0, 1, 5, 4), (2, 6, 7, 3), (0, 4, 6, 2), (1, 3, 7, 5)]
    tris, tags = [], []
    for side, (a, b, c, d) in enumerate(quads, start=1):
        tris += [(a, b, c), (a, c, d)]
        tags += [side, side]
    surface = cardiotwin.SurfaceMesh(points=points, triangles=np.array(tris, dtype=np.int32),
                                     tags=np.array(tags, dtype=np.int32))
    surface.point_data["height"] = points[:, 2]
    return surface
