"""Meshing: procedural shapes, label maps to tetrahedra (CGAL), closed surfaces to tetrahedra
(TetGen), surface tags, quality reports and watertight surfaces for 3-D printing.

Surface tags (``SurfaceMesh.tags``): ``LV_ENDO`` 1, ``RV_ENDO`` 2, ``EPI`` 3, ``BASE`` 4, 0 untagged.
A :class:`TaggedMesh` holds a tet mesh and its boundary surface in the mesh's node numbering.
Functions of components that were not built raise ``cardiotwin.MissingComponent``. Lengths mm.
"""
from __future__ import annotations

import warnings as _warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as _np

from ._core import mesh as _m
from .core import LabelMap, SurfaceMesh, TetMesh

UNTAGGED: int = _m.UNTAGGED
LV_ENDO: int = _m.LV_ENDO
RV_ENDO: int = _m.RV_ENDO
EPI: int = _m.EPI
BASE: int = _m.BASE

TaggedMesh = _m.TaggedMesh
QualityReport = _m.QualityReport

box_mesh = _m.box_mesh
niederer_slab = _m.niederer_slab
tetrahedralize = _m.tetrahedralize
tetrahedralize_tagged = _m.tetrahedralize_tagged
boundary_surface = _m.boundary_surface
extract_faces = _m.extract_faces
face_normals = _m.face_normals
face_areas = _m.face_areas
merge_small_patches = _m.merge_small_patches
check_surface_tags = _m.check_surface_tags
check_manifold = _m.check_manifold
orient_outward = _m.orient_outward
printable_surface = _m.printable_surface
quality_report = _m.quality_report
surface_tag_name = _m.surface_tag_name
label_volumes_mm3 = _m.label_volumes_mm3
crop_to_labels = _m.crop_to_labels
interpolate_slices = _m.interpolate_slices
remove_islands = _m.remove_islands
grow_wall = _m.grow_wall


class MeshingWarning(UserWarning):
    """Something was changed or lost while meshing (islands removed, a label without tets...)."""


def surface_tag(tag: int | str) -> int:
    """The integer tag of ``tag``: an int, or a name ``'lv_endo'``, ``'rv_endo'``, ``'epi'``, ``'base'``
    (any case)."""
    if isinstance(tag, str):
        return int(_m.surface_tag_from_name(tag.lower()))
    return int(tag)


def _label_map(labels: Any, spacing: Sequence[float] | None) -> LabelMap:
    if isinstance(labels, LabelMap):
        if spacing is not None:
            raise TypeError("spacing is taken from the LabelMap; do not pass it as well")
        return labels
    from . import _core

    if spacing is None:
        raise _core.InvalidInput(
            "an image without geometry: a bare array has no voxel size. Pass a cardiotwin.LabelMap "
            "(e.g. from cardiotwin.io.read_image(path, dtype='uint8')) or give spacing=(dx, dy, dz) in mm")
    arr = _np.asarray(labels)
    if arr.ndim != 3:
        raise _core.InvalidInput(f"a label map must be 3-D, found {arr.ndim} dimensions")
    return LabelMap(arr, [float(x) for x in spacing])


def mesh_label_map(label_map: Any, labels: Iterable[int] | None = None, size_mm: float = 1.0, *,
                   spacing: Sequence[float] | None = None, **options: Any) -> Any:
    """Mesh the ``labels`` of ``label_map`` with CGAL Mesh_3 (every non-zero label when None).

    ``label_map`` is a :class:`cardiotwin.LabelMap` (or a 3-D integer array with ``spacing`` in
    mm). ``options`` are those of ``cardiotwin::mesh::LabelMeshOptions`` (see
    :func:`label_mesh_options`), e.g. ``wall_source_label=5, wall_label=8, wall_thickness_mm=3``
    to grow an RV free wall around an RV blood pool, ``smooth=False``, ``interpolate=False``.
    Returns a ``LabelMeshResult`` with ``.mesh`` (region tag = label), ``.prepared`` (the label
    map that was meshed), ``.quality`` and ``.to_dict()``; each of its warnings (islands removed,
    a label lost) is also issued as a :class:`MeshingWarning`.
    """
    lm = _label_map(label_map, spacing)
    opts = dict(options)
    opts["labels"] = [int(x) for x in labels] if labels is not None else []
    opts["size_mm"] = float(size_mm)
    result = _m.mesh_label_map(lm, opts)
    for w in result.warnings:
        _warnings.warn(w, MeshingWarning, stacklevel=2)
    return result


def label_mesh_options(**options: Any) -> dict[str, Any]:
    """The options of :func:`mesh_label_map` with defaults filled in (unknown keys raise)."""
    return _m.label_mesh_options(options)


def ellipsoidal_lv(size_mm: float = 1.0, **options: Any) -> TaggedMesh:
    """Truncated ellipsoidal LV (Land et al. 2015 benchmark sizes by default), tagged LV_ENDO, EPI, BASE.

    ``options``: ``endo_short_radius_mm`` (7), ``endo_long_radius_mm`` (17),
    ``epi_short_radius_mm`` (10), ``epi_long_radius_mm`` (20), ``base_z_mm`` (5). Long axis +z.
    """
    return _m.ellipsoidal_lv(dict(options, size_mm=float(size_mm)))


def ellipsoidal_lv_volumes(**options: Any) -> tuple[float, float]:
    """(wall, cavity) volumes in mm^3 of the exact truncated ellipsoids."""
    return _m.ellipsoidal_lv_volumes(options)


def biventricular_label_map(**options: Any) -> LabelMap:
    """Label map of an idealised biventricular heart: 1 LV myocardium (with septum), 2 RV free
    wall, 3 LV blood, 4 RV blood (options: ``rv_short_radius_mm``, ``rv_wall_mm``, ``voxel_mm``,
    ``lv={...}``, ...)."""
    return _m.biventricular_label_map(options)


def biventricular_mesh(size_mm: float = 1.0, **options: Any) -> TaggedMesh:
    """The idealised biventricular heart meshed with CGAL (regions 1 LV, 2 RV), tagged
    LV_ENDO, RV_ENDO, EPI and BASE."""
    return _m.biventricular_mesh(options, float(size_mm))


def tag_from_labels(surface: SurfaceMesh, labels: LabelMap, label_to_tag: Mapping[int, int | str], *,
                    default_tag: int | str = EPI, meshed_labels: Iterable[int] = (),
                    max_distance_mm: float = 0.0) -> dict[int, int]:
    """Tag each face of ``surface`` (in place) by the label just outside it.

    ``label_to_tag`` maps labels to tags (ints or names), e.g. ``{3: 'lv_endo', 5: 'rv_endo',
    0: 'epi', 2: 'base'}``; other labels give ``default_tag``. ``meshed_labels``: labels of the
    mesh itself (default: the surface's ``region`` cell field). Returns faces per tag.
    """
    mapping = {int(k): surface_tag(v) for k, v in label_to_tag.items()}
    return _m.tag_from_labels(surface, labels, mapping, surface_tag(default_tag),
                              [int(x) for x in meshed_labels], float(max_distance_mm))


def tag_cap(surface: SurfaceMesh, direction: Sequence[float], max_angle_deg: float = 30.0,
            depth_mm: float = 1.0, tag: int | str = BASE) -> int:
    """Tag the end cap of ``surface`` along ``direction`` (a cut base); returns the face count."""
    return _m.tag_cap(surface, _np.asarray(direction, dtype=float), float(max_angle_deg), float(depth_mm),
                      surface_tag(tag))


def tag_ventricles(mesh: TetMesh, labels: LabelMap, *, lv_blood: int | None = None,
                   rv_blood: int | None = None, base_labels: Iterable[int] = (),
                   base_direction: Sequence[float] | None = None, base_depth_mm: float = 1.0,
                   meshed_labels: Iterable[int] = (), min_patch_fraction: float = 0.1,
                   check: bool = True) -> TaggedMesh:
    """Boundary surface of a ventricular ``mesh`` tagged from the label map it was meshed from.

    Faces facing ``lv_blood`` become LV_ENDO, facing ``rv_blood`` RV_ENDO, facing any of
    ``base_labels`` (atria, great vessels) BASE, anything else EPI; with ``base_direction`` the
    end cap along it (a basal cut, e.g. the last short-axis slice) becomes BASE too. Small stray
    patches are merged into their neighbours. With ``check`` an ``InvalidInput`` is raised unless
    LV_ENDO, EPI, BASE (and RV_ENDO when ``rv_blood`` is given) are each present and connected.
    """
    surface = boundary_surface(mesh)
    mapping: dict[int, int | str] = {int(x): BASE for x in base_labels}
    if lv_blood is not None:
        mapping[int(lv_blood)] = LV_ENDO
    if rv_blood is not None:
        mapping[int(rv_blood)] = RV_ENDO
    mapping.setdefault(0, EPI)
    tag_from_labels(surface, labels, mapping, meshed_labels=meshed_labels)
    if base_direction is not None:
        tag_cap(surface, base_direction, 30.0, base_depth_mm, BASE)
    if min_patch_fraction > 0:
        merge_small_patches(surface, float(min_patch_fraction))
    if check:
        expected = [LV_ENDO, EPI, BASE] + ([RV_ENDO] if rv_blood is not None else [])
        report = check_surface_tags(surface, expected)
        if not report["ok"]:
            from . import _core

            parts = [f"{name} missing" for name in report["missing"]]
            parts += [f"{name} in {report['tags'][name]['components']} patches" for name in report["disconnected"]]
            raise _core.InvalidInput("surface tags are incomplete: " + "; ".join(parts) +
                                     " (each of " + ", ".join(surface_tag_name(t) for t in expected) +
                                     " must be one connected patch)")
    return TaggedMesh(mesh, surface)


__all__ = [
    "UNTAGGED", "LV_ENDO", "RV_ENDO", "EPI", "BASE", "TaggedMesh", "QualityReport", "MeshingWarning",
    "box_mesh", "niederer_slab", "tetrahedralize", "tetrahedralize_tagged", "boundary_surface",
    "extract_faces", "face_normals", "face_areas", "merge_small_patches", "check_surface_tags",
    "check_manifold", "orient_outward", "printable_surface", "quality_report", "surface_tag_name",
    "surface_tag", "label_volumes_mm3", "crop_to_labels", "interpolate_slices", "remove_islands",
    "grow_wall", "mesh_label_map", "label_mesh_options", "ellipsoidal_lv", "ellipsoidal_lv_volumes",
    "biventricular_label_map", "biventricular_mesh", "tag_from_labels", "tag_cap", "tag_ventricles",
]
