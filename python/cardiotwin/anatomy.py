"""Anatomy: ventricular coordinates from Laplace solves and rule-based fibres (after Bayer et al.
2012), on a tet mesh whose boundary surface is tagged (see :mod:`cardiotwin.mesh`).

Fibre angle convention (also in ``cardiotwin/anatomy/fibres.hpp``): in each element the frame is
t (transmural, from the wall's endocardium outwards), l (apex to base, orthogonal to t) and
c = l x t (counterclockwise seen from the base). The fibre is ``cos(alpha) c + sin(alpha) l``
with the helix angle alpha going linearly through the wall from ``alpha_endo_deg`` (+60) to
``alpha_epi_deg`` (-60); positive alpha is a right-handed helix. The sheet is t rotated about the
fibre by the sheet angle beta; the normal completes a right-handed frame.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as _np

from ._core import anatomy as _a
from .core import SurfaceMesh, TetMesh

VentricularCoordinates = _a.VentricularCoordinates
helix_angle_deg = _a.helix_angle_deg


def _mesh_and_surface(mesh: Any, surface: SurfaceMesh | None) -> tuple[TetMesh, SurfaceMesh]:
    if surface is None:
        if not hasattr(mesh, "surface"):
            raise TypeError("pass a TaggedMesh, or a TetMesh and its tagged boundary surface")
        return mesh.mesh, mesh.surface
    return mesh, surface


def ventricular_coordinates(mesh: Any, surface: SurfaceMesh | None = None, *, apex_radius_mm: float = 0.0,
                            rotational_reference: Sequence[float] | None = None,
                            rv_regions: Iterable[int] = (), rel_tol: float = 1e-8) -> Any:
    """Transmural (0 endo -> 1 epi), apicobasal (0 apex -> 1 base), rotational (rad, 0 towards
    ``rotational_reference`` or the RV), phi_lv, phi_rv, lv_rv and ventricle (-1 LV, +1 RV) node
    fields. ``mesh`` is a :class:`cardiotwin.mesh.TaggedMesh`, or a TetMesh with its tagged
    ``surface`` in the same node numbering. ``rv_regions``: region tags of RV tissue, so that
    the whole septum counts as LV."""
    m, s = _mesh_and_surface(mesh, surface)
    options: dict[str, Any] = {"apex_radius_mm": float(apex_radius_mm), "rel_tol": float(rel_tol),
                               "rv_regions": [int(r) for r in rv_regions]}
    if rotational_reference is not None:
        options["rotational_reference"] = [float(x) for x in rotational_reference]
    return _a.ventricular_coordinates(m, s, options)


def compute_fibres(mesh: TetMesh, coordinates: Any, *, alpha_endo_deg: float = 60.0, alpha_epi_deg: float = -60.0,
                   beta_endo_deg: float = 0.0, beta_epi_deg: float = 0.0) -> dict[str, _np.ndarray]:
    """Per-element ``fibre``, ``sheet``, ``normal`` (M x 3), ``helix_deg`` and ``depth`` arrays."""
    return _a.compute_fibres(mesh, coordinates, {"alpha_endo_deg": alpha_endo_deg, "alpha_epi_deg": alpha_epi_deg,
                                                 "beta_endo_deg": beta_endo_deg, "beta_epi_deg": beta_epi_deg})


def assign_fibres(mesh: TetMesh, coordinates: Any, **angles: float) -> TetMesh:
    """Set ``mesh.fibre``, ``sheet``, ``normal`` and cell fields ``helix_deg``, ``wall_depth`` in
    place (angles as in :func:`compute_fibres`); returns ``mesh``."""
    _a.assign_fibres(mesh, coordinates, dict(angles))
    return mesh


def fibres(mesh: Any, surface: SurfaceMesh | None = None, *, coordinate_options: dict[str, Any] | None = None,
           **angles: float) -> TetMesh:
    """One call: a copy of the mesh with the coordinates as point data and fibres, sheets and
    normals per element."""
    m, s = _mesh_and_surface(mesh, surface)
    out = m.copy()
    c = ventricular_coordinates(out, s, **(coordinate_options or {}))
    c.add_to(out)
    return assign_fibres(out, c, **angles)


def solve_laplace(mesh: TetMesh, nodes: Iterable[int], values: Iterable[float], rel_tol: float = 1e-8) -> _np.ndarray:
    """Laplace on ``mesh`` with ``u[nodes] = values`` and zero flux elsewhere; node values."""
    return _a.solve_laplace(mesh, [int(n) for n in nodes], [float(v) for v in values], float(rel_tol))


__all__ = ["VentricularCoordinates", "helix_angle_deg", "ventricular_coordinates", "compute_fibres",
           "assign_fibres", "fibres", "solve_laplace"]
