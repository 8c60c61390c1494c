"""Core data types: images, label maps, meshes, signals, and mesh checks.

All arrays are numpy views into C++ memory (no copies); assigning an array copies it in after a
shape check. Layouts: points ``(N, 3)`` float64 in mm, tets ``(M, 4)`` int32, image voxels
``(nx, ny, nz)`` in Fortran order (indexed like nibabel's ``dataobj``).
"""
from __future__ import annotations

from ._core import core as _c

FieldMap = _c.FieldMap
Image = _c.Image
LabelMap = _c.LabelMap
MeshCheck = _c.MeshCheck
Signals = _c.Signals
SurfaceMesh = _c.SurfaceMesh
TetMesh = _c.TetMesh
check_mesh = _c.check_mesh
validate_mesh = _c.validate_mesh

__all__ = [
    "FieldMap", "Image", "LabelMap", "MeshCheck", "Signals", "SurfaceMesh", "TetMesh",
    "check_mesh", "validate_mesh",
]
