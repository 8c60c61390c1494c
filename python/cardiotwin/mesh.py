"""Meshing: closed surfaces to tetrahedral meshes (TetGen component).

More (label maps to meshes with CGAL, procedural geometries, surface tagging) arrives with the
meshing stage. Functions of components that were not built raise ``cardiotwin.MissingComponent``.
"""
from __future__ import annotations

from ._core import mesh as _m

tetrahedralize = _m.tetrahedralize

__all__ = ["tetrahedralize"]
