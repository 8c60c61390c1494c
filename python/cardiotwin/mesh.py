"""Meshing: procedural meshes; closed surfaces to tetrahedral meshes (TetGen component).

More (label maps to meshes with CGAL, surface tagging) arrives with the meshing stage. Functions
of components that were not built raise ``cardiotwin.MissingComponent``.
"""
from __future__ import annotations

from ._core import mesh as _m

box_mesh = _m.box_mesh
niederer_slab = _m.niederer_slab
tetrahedralize = _m.tetrahedralize

__all__ = ["box_mesh", "niederer_slab", "tetrahedralize"]
